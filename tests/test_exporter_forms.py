"""What torch's exporters write at their default settings, built with onnx.helper (no torch):
a BatchNorm folded into the conv weight (R x codes x a per-channel factor), R x multicoat
codes materialised, ReduceMean as the global pool, shape chains on the batch size, a fixed
batch size. Each compiles and its float mode matches onnxruntime; misuse is one clear error."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import seedcc
from seedcc import cli
from seedcc.backends.simbuild import STAMP
from seedcc.compiler.annotate import LayerSpec, annotate, find_records
from seedcc.compiler.frontend import import_onnx
from seedcc.compiler.records import RECORD_KEY, Codes, decompose
from seedcc.errors import ModelStructureError, RecordMismatchError
from seedcc.golden import ort_run
from seedcc.ir import Op
from seedcc.progress import build_estimate
from seedcc.rtl_models.generators import random_weights
from seedcc.rtl_models.hwconfig import DEFAULT, SMALL

FLOAT_RTOL = 1e-5  # float32 front end vs onnxruntime, relative to the largest output
RNG = np.random.default_rng(3)
C, K, SIZE, CLASSES = 8, 3, 6, 4
SCALE = float(np.float32(np.sqrt(2.0 / (C * K * K))))


def _weights(codes_max: int = 1, channel_factor: bool = False, seed: int = 1024) -> np.ndarray:
    """R (xorshift16, `seed`) x codes (every channel has a code 1) x optionally a factor per channel."""
    r = random_weights("xorshift16", seed, (C, 1, K, K), SCALE)
    codes = RNG.integers(0, codes_max + 1, size=r.shape).astype(np.float32)
    codes[:, 0, 0, 0] = 1
    w = r * codes
    if channel_factor:
        w = w * RNG.uniform(-1.5, 1.5, C).astype(np.float32).reshape(-1, 1, 1, 1)
    return w.astype(np.float32)


def _model(w: np.ndarray, tail: list, inits: list, batch: int | str = "N", record: bool = True,
           pool_out: str = "pooled"):
    """x -> Conv(w, bias) -> Relu -> <tail nodes, which produce `pool_out` (N, C)> -> Gemm -> y."""
    fc = random_weights("xorshift16", 4096, (CLASSES, C, 1, 1), 0.25)[:, :, 0, 0]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["conv"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("Relu", ["conv"], ["relu"], name="relu"), *tail,
             helper.make_node("Gemm", [pool_out, "fc"], ["y"], transB=1, name="fc")]
    init = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(RNG.uniform(-.2, .2, C).astype(np.float32), "b"),
            numpy_helper.from_array(fc, "fc"), *inits]
    g = helper.make_graph(nodes, "forms", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                         [batch, 1, SIZE, SIZE])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, CLASSES])], init)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 8
    if record:
        rec = {"w": {"generator": "xorshift16", "seed": 1024, "scale": SCALE, "layout": "OIHW"},
               "fc": {"generator": "xorshift16", "seed": 4096, "scale": 0.25, "layout": "OI"}}
        helper.set_model_props(m, {RECORD_KEY: json.dumps({"version": 1, "tensors": rec})})
    return m


def _gap(keepdims: int = 0, axes: tuple[int, ...] = (2, 3)) -> tuple[list, list]:
    nodes = [helper.make_node("ReduceMean", ["relu", "axes"], ["mean"], keepdims=keepdims, name="mean")]
    if keepdims:
        nodes.append(helper.make_node("Flatten", ["mean"], ["pooled"], name="flat"))
    else:
        nodes.append(helper.make_node("Identity", ["mean"], ["pooled"], name="same"))
    return nodes, [numpy_helper.from_array(np.array(axes, np.int64), "axes")]


def _float_matches_ort(model) -> None:
    x = RNG.standard_normal((5, 1, SIZE, SIZE)).astype(np.float32)
    got = seedcc.run(seedcc.compile(model, config=SMALL), x, mode="float").outputs["y"]
    want = ort_run(model, {"x": x})["y"]
    assert np.max(np.abs(got - want)) <= FLOAT_RTOL * np.max(np.abs(want))


# -- the decomposition --------------------------------------------------------------------------
def test_decompose_reads_codes_and_one_factor_per_channel():
    r = random_weights("xorshift16", 1024, (C, 1, K, K), SCALE)
    w = _weights(codes_max=3, channel_factor=True)
    found = decompose(w / r, 7)
    assert isinstance(found, Codes)
    np.testing.assert_allclose(r * found.codes * found.factor.reshape(-1, 1, 1, 1), w, rtol=1e-6)


def test_decompose_names_the_first_weight_that_does_not_fit():
    r = random_weights("xorshift16", 1024, (C, 1, K, K), SCALE)
    w = _weights(codes_max=2, channel_factor=True)
    w[3, 0, 1, 2] *= 1.37
    assert decompose(w / r, 7) == (3, 0, 1, 2)


# -- exporter forms compile ---------------------------------------------------------------------------
@pytest.mark.parametrize("codes_max, channel_factor", [(1, True), (3, False), (3, True)],
                         ids=["folded-batchnorm", "multicoat-materialised", "multicoat-folded-batchnorm"])
def test_folded_weights_compile_with_codes_and_per_channel_requantisation(codes_max, channel_factor):
    nodes, inits = _gap()
    model = _model(_weights(codes_max, channel_factor), nodes, inits)
    (conv, _) = import_onnx(model).ops(Op.CONV)
    w = conv.attrs["weight"]
    assert w.regenerated and w.max_code == codes_max
    assert (w.channel_scale is not None) == channel_factor
    _float_matches_ort(model)


def test_a_wrong_seed_on_a_folded_weight_says_what_was_expected():
    nodes, inits = _gap()
    model = _model(_weights(3, True, seed=2048), nodes, inits)
    with pytest.raises(RecordMismatchError, match=r"nor is it the random tensor times integer codes 0\.\.7"):
        import_onnx(model)


@pytest.mark.parametrize("keepdims", [0, 1])
def test_reduce_mean_over_the_spatial_axes_is_the_global_pool(keepdims):
    nodes, inits = _gap(keepdims)
    model = _model(_weights(), nodes, inits)
    assert Op.GLOBALAVGPOOL in {n.op for n in import_onnx(model).nodes}
    _float_matches_ort(model)


def test_reduce_mean_over_one_spatial_axis_is_refused_by_name():
    nodes = [helper.make_node("ReduceMean", ["relu", "axes"], ["mean"], keepdims=1, name="mean"),
             helper.make_node("GlobalAveragePool", ["mean"], ["gap"], name="gap"),
             helper.make_node("Flatten", ["gap"], ["pooled"], name="flat")]
    inits = [numpy_helper.from_array(np.array([2], np.int64), "axes")]
    with pytest.raises(ModelStructureError, match=r"node mean: ReduceMean is supported only over the two spatial"):
        import_onnx(_model(_weights(), nodes, inits))


def _batch_chain(use: str) -> tuple[list, list]:
    """GlobalAveragePool, then a Reshape (or Expand) to [Shape(x)[0], -1] as torch writes it."""
    nodes = [helper.make_node("GlobalAveragePool", ["relu"], ["gap"], name="gap"),
             helper.make_node("Shape", ["x"], ["xs"], name="shape"),
             helper.make_node("Gather", ["xs", "zero"], ["n"], axis=0, name="batch"),
             helper.make_node("Unsqueeze", ["n", "zero1"], ["n1"], name="n1"),
             helper.make_node("Concat", ["n1", "rest"], ["target"], axis=0, name="target")]
    if use == "reshape":
        nodes.append(helper.make_node("Reshape", ["gap", "target"], ["pooled"], name="view"))
    else:  # the batch size as a shape an activation is expanded to
        nodes.append(helper.make_node("Expand", ["gap", "target4"], ["pooled4"], name="expand"))
        nodes.append(helper.make_node("Flatten", ["pooled4"], ["pooled"], name="flat"))
        nodes.insert(-1, helper.make_node("Concat", ["n1", "ones"], ["target4"], axis=0, name="target4"))
    inits = [numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array([0], np.int64), "zero1"),
             numpy_helper.from_array(np.array([-1], np.int64), "rest"),
             numpy_helper.from_array(np.array([C, 1, 1], np.int64), "ones")]
    return nodes, inits


def test_a_shape_chain_on_the_batch_size_is_evaluated_statically():
    nodes, inits = _batch_chain("reshape")
    model = _model(_weights(), nodes, inits)
    _float_matches_ort(model)


def test_an_expand_to_the_batch_size_is_the_same_tensor():
    nodes, inits = _batch_chain("expand")
    g = import_onnx(_model(_weights(), nodes, inits))
    assert "expand" not in {n.name for n in g.nodes}
    _float_matches_ort(_model(_weights(), nodes, inits))


def test_a_batch_size_used_other_than_as_a_reshape_batch_is_refused_by_node():
    nodes, inits = _batch_chain("reshape")
    nodes[-1] = helper.make_node("Reshape", ["gap", "target_last"], ["pooled"], name="view")  # (C, N)
    nodes.insert(-1, helper.make_node("Concat", ["rest", "n1"], ["target_last"], axis=0, name="tl"))
    with pytest.raises(ModelStructureError, match=r"node view \(Reshape\) uses 'target_last', which is "
                                                  r"computed from the runtime batch size"):
        import_onnx(_model(_weights(), nodes, inits))


def test_a_model_with_a_fixed_batch_of_one_verifies_on_any_number_of_samples():
    nodes, inits = _gap()
    rep = seedcc.verify(_model(_weights(), nodes, inits, batch=1), samples=7, config=SMALL)
    assert rep.samples == 7 and rep.float_ok


# -- verify --rtl says what a simulator build costs ----------------------------------------------------
def test_rtl_build_estimate_names_the_cost_and_the_quick_option(tmp_path, monkeypatch):
    monkeypatch.setenv("SEEDCC_SIM_BUILD", str(tmp_path))
    assert "takes about 17 minutes" in build_estimate(DEFAULT) and "--config small" in build_estimate(DEFAULT)
    assert "takes about 1 minute on 2 cores" in build_estimate(SMALL)
    stamp = tmp_path / "verilator-seedcc_tb-0123" / STAMP
    stamp.parent.mkdir()
    stamp.write_text(json.dumps({"parameters": {**SMALL.verilog_params(), "DRAM_BYTES": 65536}}))
    assert "is cached" in build_estimate(SMALL)


# -- records written after export (seedcc annotate) ------------------------------------------------
def _specs(fc_seed: int = 4096) -> list[LayerSpec]:
    return [LayerSpec("conv", "xorshift16", 1024, SCALE, (C, 1, K, K)),
            LayerSpec("fc", "xorshift16", fc_seed, 0.25, (CLASSES, C, 1, 1))]


def test_annotate_finds_a_folded_weight_by_value_and_the_cli_verifies_it(tmp_path, capsys):
    nodes, inits = _gap()
    model = _model(_weights(3, True), nodes, inits, batch=1, record=False)
    assert annotate(model, _specs(), "model") == {
        "w": {"generator": "xorshift16", "seed": 1024, "scale": SCALE, "layout": "OIHW"},
        "fc": {"generator": "xorshift16", "seed": 4096, "scale": 0.25, "layout": "OI"}}
    path = str(tmp_path / "annotated.onnx")
    onnx.save(model, path)
    assert cli.main(["verify", path, "--samples", "5", "--config", "small"]) == 0  # fixed batch of 1
    assert "PASS" in capsys.readouterr().out


def test_annotate_refuses_a_tensor_two_layers_claim():
    nodes, inits = _gap()
    model = _model(_weights(), nodes, inits, record=False)
    twins = [_specs()[0], LayerSpec("conv_again", "xorshift16", 1024, SCALE, (C, 1, K, K))]
    with pytest.raises(ModelStructureError, match="matches both layer conv and layer conv_again"):
        find_records(model, twins, "model")
