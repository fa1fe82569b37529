"""The PyTorch SDK (seedcc.torch): layers, export with both torch exporters at their default
settings, the round trip torch == onnxruntime == seedcc float, and the mistakes users make.

Models are tiny and trained for a handful of steps (or not at all, with drawn BatchNorm
statistics): what is checked is the export and the front end, not learning. The digits
test trains a small MLP for real and checks int8 accuracy against float."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch", reason="the SDK tests need the torch extra: pip install -e '.[torch]'")

import seedcc
from seedcc import cli
from seedcc.compiler.annotate import LayerSpec, annotate, find_records
from seedcc.compiler.frontend import import_onnx
from seedcc.compiler.records import RECORD_KEY
from seedcc.errors import BadInputError, ModelStructureError, RecordMismatchError
from seedcc.flow import compile_model
from seedcc.golden import ort_run
from seedcc.ir import Op
from seedcc.rtl_models.generators import freeze_pattern, random_weights
from seedcc.rtl_models.hwconfig import SMALL
from seedcc.torch import (
    ExportError,
    FoldedBlock,
    SupermaskConv2d,
    SupermaskLinear,
    export,
    layer_specs,
    save_layer_specs,
)
from seedcc.torch.models import CNN, MLP, ResNet18, randomize_batchnorm
from seedcc.torch.train import accuracy, digits, fit

FLOAT_RTOL = 1e-5  # seedcc float mode vs onnxruntime, relative to the largest logit
EXPORTERS = {"torchscript": False, "dynamo": True}


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-30))


# -- layers ------------------------------------------------------------------------------
def test_random_weights_are_seedcc_generator_buffers_not_parameters():
    conv = SupermaskConv2d(3, 20, 3, padding=1, seed=1024)
    want = random_weights("xorshift16", 1024, (20, 3, 3, 3), conv.scale)
    assert np.array_equal(conv.weight.numpy().view(np.uint32), want.view(np.uint32))
    assert "weight" in dict(conv.named_buffers()) and "weight" not in dict(conv.named_parameters())
    lin = SupermaskLinear(10, 5, seed=7, generator="ctrhash32")
    assert np.array_equal(lin.weight.numpy(), random_weights("ctrhash32", 7, (5, 10, 1, 1), lin.scale)[:, :, 0, 0])


def test_top_k_mask_keeps_its_share_and_passes_gradients_straight_through():
    lin = SupermaskLinear(40, 30, bias=False, seed=1, keep=0.3)
    m = lin.mask()
    assert set(np.unique(m.detach().numpy())) <= {0.0, 1.0}
    assert int(m.sum()) == round(0.3 * 1200)
    lin(torch.randn(4, 40)).sum().backward()
    assert lin.scores.grad is not None and lin.scores.grad.abs().sum() > 0


def test_multicoat_codes_are_nested_top_k_counts():
    conv = SupermaskConv2d(4, 16, 3, seed=3, keep=0.6, coats=3)
    codes = conv.mask().detach().numpy()
    n = codes.size
    for c in (1, 2, 3):  # coat j keeps keep*(coats-j)/coats of the weights
        assert int((codes >= c).sum()) == round(n * 0.6 * (4 - c) / 3)


def test_frozen_positions_follow_the_freeze_draw():
    fz = {"seed": 77, "prune": 0.3, "lock": 0.2}
    lin = SupermaskLinear(32, 16, seed=5, keep=0.5, freeze=fz)
    m = lin.mask().detach().numpy()[:, :, None, None]
    pattern = freeze_pattern(77, 0.3, 0.2, (16, 32, 1, 1))
    assert (m[pattern == 0] == 0).all() and (m[pattern == 1] >= 1).all()
    assert lin.record()["freeze"] == fz


def test_folded_block_shares_supermask_layers_and_owns_its_batchnorms():
    block = torch.nn.Sequential(SupermaskConv2d(4, 4, 3, padding=1, seed=9), torch.nn.BatchNorm2d(4))
    fold = FoldedBlock(block, 3)
    convs = {id(it[0]) for it in fold.iterations}
    norms = {id(it[1]) for it in fold.iterations}
    assert len(convs) == 1 and len(norms) == 3
    assert len(layer_specs(fold)) == 1


# -- export + compile, every layer kind, both exporters ----------------------------------------
def _kind(kind: str) -> tuple[torch.nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    if kind == "binary-mlp":
        return MLP(hidden=32), torch.randn(6, 1, 8, 8)
    if kind == "frozen-mlp":
        return MLP(hidden=32, freeze={"seed": 99, "prune": 0.3, "lock": 0.1}), torch.randn(6, 1, 8, 8)
    if kind == "multicoat-cnn":
        return CNN(width=8, coats=3), torch.randn(6, 1, 8, 8)
    if kind == "folded-cnn":  # a strided example input (as numpy views give) must not leak into the graph
        return CNN(width=8, stages=1, fold=3), torch.randn(6, 8, 8, 1).permute(0, 3, 1, 2)
    if kind == "folded-multicoat-frozen-cnn":  # two folded stages, codes 0..2, frozen positions
        return (CNN(width=8, stages=2, fold=2, coats=2, freeze={"seed": 5, "prune": 0.3, "lock": 0.1}),
                torch.randn(6, 1, 8, 8))
    raise AssertionError(kind)


KINDS = ("binary-mlp", "frozen-mlp", "multicoat-cnn", "folded-cnn", "folded-multicoat-frozen-cnn")


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_layer_kind_round_trips_through_both_exporters(kind, exporter, tmp_path):
    net, x = _kind(kind)
    randomize_batchnorm(net, seed=1).eval()
    path = export(net, x, tmp_path / "m.onnx", dynamo=EXPORTERS[exporter])
    model = onnx.load(path)
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # symbolic batch axis
    assert any(p.key == RECORD_KEY for p in model.metadata_props)
    compiled = compile_model(path, config=SMALL)
    specs = [n.attrs["weight"] for n in compiled.frontend_graph.ops(Op.CONV)]
    assert all(w.regenerated for w in specs), [w.summary() for w in specs]
    if kind == "multicoat-cnn":
        assert max(w.max_code for w in specs) == 3
    if kind == "frozen-mlp":
        assert sum(w.freeze is not None for w in specs) == 2
    if kind == "folded-cnn":
        assert any("fold group" in n for n in compiled.notes)
    if kind == "folded-multicoat-frozen-cnn":
        assert all(w.freeze is not None for w in specs) and max(w.max_code for w in specs) == 2
        assert [ins.op for ins in compiled.program.instructions].count("LOOP") == 2
    xs = torch.randn(5, *x.shape[1:])
    with torch.no_grad():
        want = net(xs).numpy()
    golden = ort_run(path, {"x": xs.numpy()})["logits"]
    got = seedcc.run(compiled.program, xs.numpy(), mode="float").outputs["logits"]
    assert _rel(golden, want) <= 1e-4, "onnxruntime vs torch"
    assert _rel(got, golden) <= FLOAT_RTOL, "seedcc float vs onnxruntime"


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_resnet18_structure_compiles_from_both_exporters(exporter, tmp_path):
    net = randomize_batchnorm(ResNet18(width=8)).eval()
    x = torch.randn(2, 3, 32, 32)
    path = export(net, x, tmp_path / "r18.onnx", dynamo=EXPORTERS[exporter])
    compiled = compile_model(path, config=SMALL)
    assert len(compiled.frontend_graph.ops(Op.CONV)) == 21
    golden = ort_run(path, {"x": x.numpy()})["logits"]
    assert _rel(seedcc.run(compiled.program, x.numpy(), mode="float").outputs["logits"], golden) <= FLOAT_RTOL


def test_dynamo_without_optimiser_shape_chains_compile(tmp_path):
    """optimize=False leaves Shape/Squeeze/Concat/Expand/CastLike chains on the batch size."""
    net = randomize_batchnorm(CNN(width=8, stages=1)).eval()
    for m in net.modules():
        if isinstance(m, (SupermaskConv2d, SupermaskLinear)):
            m.fix_mask(True)
    path = str(tmp_path / "noopt.onnx")
    torch.onnx.export(net, (torch.randn(2, 1, 8, 8),), path, dynamo=True, optimize=False,
                      dynamic_shapes=({0: torch.export.Dim("N")},), input_names=["x"], verbose=False)
    model = onnx.load(path)
    assert {"Shape", "CastLike"} <= {n.op_type for n in model.graph.node}
    annotate(model, layer_specs(net), path)
    g = import_onnx(model)
    assert all(n.attrs["weight"].regenerated for n in g.ops(Op.CONV))
    x = np.random.default_rng(0).standard_normal((3, 1, 8, 8)).astype(np.float32)
    out = seedcc.run(seedcc.compile(model, config=SMALL), x, mode="float").outputs
    assert _rel(next(iter(out.values())), next(iter(ort_run(model, {"x": x}).values()))) <= FLOAT_RTOL


# -- records written after export -------------------------------------------------------------
def _fixed_batch_export(net: torch.nn.Module, path: str) -> None:
    """TorchScript at its defaults with a fixed batch of 1 and no record."""
    for m in net.modules():
        if isinstance(m, (SupermaskConv2d, SupermaskLinear)):
            m.fix_mask(True)
    torch.onnx.export(net.eval(), (torch.randn(1, 1, 8, 8),), path, dynamo=False,
                      input_names=["x"], output_names=["logits"])


def test_annotate_cli_writes_the_record_and_a_fixed_batch_model_verifies(tmp_path, capsys):
    net = randomize_batchnorm(MLP(hidden=32))
    path = str(tmp_path / "fixed.onnx")
    _fixed_batch_export(net, path)
    spec = save_layer_specs(net, tmp_path / "layers.json")
    assert cli.main(["annotate", path, "--layers", spec]) == 0
    assert "3 random tensor(s) recorded" in capsys.readouterr().out
    rep = seedcc.verify(path, samples=7, config=SMALL)  # batch 1: onnxruntime runs 7 chunks
    assert rep.samples == 7 and rep.float_ok


def test_a_record_naming_no_initializer_lists_the_ones_that_exist(tmp_path):
    net = MLP(hidden=32)
    path = str(tmp_path / "m.onnx")
    _fixed_batch_export(net, path)
    model = onnx.load(path)
    model.metadata_props.add(key=RECORD_KEY, value=json.dumps({"version": 1, "tensors": {
        "fc1.weight": {"generator": "xorshift16", "seed": 1024, "scale": 0.1, "layout": "OI"}}}))
    with pytest.raises(BadInputError, match=r"not an initializer; the model's weight initializers are: onnx::"):
        import_onnx(model)


def test_annotate_names_the_layer_when_no_tensor_matches(tmp_path):
    net = MLP(hidden=32)
    path = str(tmp_path / "m.onnx")
    _fixed_batch_export(net, path)
    wrong = [LayerSpec("fc1", "xorshift16", 999, net.fc1.scale, (32, 64, 1, 1))]
    with pytest.raises(ModelStructureError, match=r"layer fc1: no initializer holds .* shape: onnx::"):
        find_records(onnx.load(path), wrong, path)


def test_a_wrong_seed_in_a_folded_record_says_why(tmp_path):
    net = CNN(width=8, stages=1, coats=2)
    path = export(net, torch.randn(2, 1, 8, 8), tmp_path / "m.onnx")
    model = onnx.load(path)
    prop = next(p for p in model.metadata_props if p.key == RECORD_KEY)
    doc = json.loads(prop.value)
    first = next(iter(doc["tensors"].values()))
    first["seed"] += 1
    prop.value = json.dumps(doc)
    with pytest.raises(RecordMismatchError, match="nor is it the random tensor times integer codes"):
        import_onnx(model)


# -- mistakes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("exporter", EXPORTERS)
def test_an_unsupported_layer_setting_is_named_with_its_module(exporter, tmp_path):
    net = torch.nn.Sequential(SupermaskConv2d(4, 4, 3, seed=1),
                              torch.nn.Sequential(torch.nn.MaxPool2d(2, ceil_mode=True)))
    with pytest.raises(ExportError, match=r"MaxPool with ceil_mode or dilations \(from module 1\.0\)"):
        export(net, torch.randn(2, 4, 7, 7), tmp_path / "m.onnx", dynamo=EXPORTERS[exporter])


def test_an_unsupported_module_is_named_with_its_path(tmp_path):
    net = torch.nn.Sequential(SupermaskLinear(4, 4, seed=1), torch.nn.Tanh())
    with pytest.raises(ExportError, match=r"module 1 \(torch.nn.modules.activation.Tanh\) is not supported"):
        export(net, torch.randn(2, 4), tmp_path / "m.onnx")


class _Sine(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_an_unsupported_op_is_named_with_its_module(exporter, tmp_path):
    net = torch.nn.Sequential(SupermaskLinear(4, 4, seed=1), torch.nn.Sequential(_Sine()))
    with pytest.raises(ExportError, match=r"Sin from module 1\.0"):
        export(net, torch.randn(2, 4), tmp_path / "m.onnx", dynamo=EXPORTERS[exporter])


def test_learned_dense_weights_compile_to_8_bit_stored_codes_with_a_note(tmp_path):
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    with pytest.warns(UserWarning, match=r"module 1 \(torch.nn.Linear\) has learned weights"):
        path = export(net, torch.randn(2, 1, 8, 8), tmp_path / "dense.onnx")
    g = import_onnx(path)
    assert any("1 dense layer" in n for n in g.notes)
    prog = seedcc.compile(path, config=SMALL)
    assert any("8-bit sign-magnitude codes" in n for n in prog.manifest.notes)
    (layer,) = prog.manifest.layers
    assert (layer.kind, layer.code_bits) == ("stored-int8", 7)
    x = np.random.default_rng(0).standard_normal((16, 1, 8, 8)).astype(np.float32)
    ref = net(torch.from_numpy(x)).detach().numpy()
    got = seedcc.run(prog, x, mode="float").outputs[layer_output(prog)]
    # 7-bit magnitudes per output channel: each weight within half a step (max|W|/254)
    w = net[1].weight.detach().numpy()
    bound = np.outer(np.abs(x.reshape(16, -1)).sum(axis=1), np.abs(w).max(axis=1) / 254)
    assert np.all(np.abs(got - ref) <= bound * 1.001 + 1e-5)
    assert np.abs(got - ref).max() > 0  # the quantised weights are what the float mode runs


def layer_output(prog) -> str:
    return prog.manifest.outputs[0].name


def test_the_core_install_never_imports_torch():
    code = "import sys, seedcc, seedcc.api, seedcc.cli, seedcc.flow; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "False"


# -- real data ------------------------------------------------------------------------------------
def test_digits_int8_accuracy_is_within_one_point_of_float(tmp_path):
    d = digits()
    torch.set_num_threads(2)
    net = fit(MLP(hidden=128), d.x_train, d.y_train, epochs=4, lr=0.1)
    path = export(net, torch.from_numpy(d.x_test[:2]), tmp_path / "digits.onnx")
    prog = seedcc.compile(path, calib={"x": d.x_train[:256]}, config=SMALL)
    acc = {mode: accuracy(seedcc.run(prog, d.x_test, mode=mode).outputs["logits"], d.y_test)
           for mode in ("float", "int8")}
    assert acc["float"] > 0.85, acc
    assert acc["int8"] >= acc["float"] - 0.01, acc
