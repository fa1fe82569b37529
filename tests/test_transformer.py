"""Transformer encoder blocks from torch through both ONNX exporters: the front end's IR
(MatMul of two activations with the Transpose of K read in place, the 1/sqrt(d) folded
into it, Softmax, LayerNormalization, Gelu, residual Add) and its float semantics against
onnxruntime; compiled to the attention instructions, in float and int8 on refsim."""

from __future__ import annotations

import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")

from seedcc.api import compile as compile_model  # noqa: E402
from seedcc.api import run as seedcc_run  # noqa: E402
from seedcc.api import verify  # noqa: E402
from seedcc.compiler.frontend import import_onnx  # noqa: E402
from seedcc.compiler.interpret import run_graph  # noqa: E402
from seedcc.errors import ModelStructureError  # noqa: E402
from seedcc.report import attention_lines  # noqa: E402
from seedcc.rtl_models.hwconfig import SMALL  # noqa: E402
from seedcc.torch.export import export  # noqa: E402
from seedcc.torch.layers import SupermaskLinear  # noqa: E402
from seedcc.torch.models import EncoderBlock, Seeds  # noqa: E402


# opset 20 writes Gelu; below it both exporters write GELU's Erf form
@pytest.fixture(scope="module", params=[(False, None), (True, None), (False, 17), (True, 18)],
                ids=["torchscript", "dynamo", "torchscript-opset17-erf", "dynamo-opset18-erf"])
def block_onnx(request, tmp_path_factory):
    dynamo, opset = request.param
    m = EncoderBlock(randomize=3).eval()  # drawn biases and LayerNorm parameters
    path = str(tmp_path_factory.mktemp("tfm") / f"block_{dynamo}_{opset}.onnx")
    export(m, torch.randn(2, 8, 16), path, dynamo=dynamo, opset=opset)
    if opset is not None:
        assert "Erf" in {n.op_type for n in onnx.load(path).graph.node}
    return path


def test_block_lowers_to_attention_ops(block_onnx):
    g = import_onnx(block_onnx)
    ops = [n.op.value for n in g.nodes]
    assert ops == ["conv", "conv", "conv", "matmul", "softmax", "matmul", "conv", "add", "layernorm",
                   "conv", "gelu", "conv", "add", "layernorm"]
    scores, av = (n for n in g.nodes if n.op.value == "matmul")
    assert scores.attrs["trans_b"] and not av.attrs["trans_b"]
    assert scores.attrs["factor"] == pytest.approx(1 / 4)  # the Div by sqrt(16), folded
    assert av.attrs["factor"] == 1.0
    assert g.values[scores.output].shape == (8, 8)
    assert g.values[g.outputs[0]].shape == (8, 16)


def test_block_float_matches_onnxruntime(block_onnx):
    g = import_onnx(block_onnx)
    x = np.random.default_rng(1).standard_normal((4, 8, 16)).astype(np.float32)
    sess = ort.InferenceSession(block_onnx)
    names = [o.name for o in sess.get_outputs()]
    env = run_graph(g, {g.inputs[0]: x})
    for name, ref in zip(names, sess.run(None, {g.inputs[0]: x})):
        got = env[g.outputs[names.index(name)]]
        assert np.abs(got - ref).max() <= 1e-5 * np.abs(ref).max()


def _tiny(nodes, inits, tmp_path):
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["b", 4, 8])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["b", 4, 8])
    g = onnx.helper.make_graph(nodes, "t", [x], [y], initializer=inits)
    m = onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", 20)])
    return m


def test_tanh_gelu_is_refused_naming_the_node(tmp_path):
    m = _tiny([onnx.helper.make_node("Gelu", ["x"], ["y"], name="g", approximate="tanh")], [], tmp_path)
    with pytest.raises(ModelStructureError, match="node g: Gelu with approximate='tanh'"):
        import_onnx(m)


def test_softmax_over_tokens_is_refused(tmp_path):
    m = _tiny([onnx.helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=1)], [], tmp_path)
    with pytest.raises(ModelStructureError, match="node sm: Softmax is supported only over the last axis"):
        import_onnx(m)


def test_matmul_of_activations_without_transpose(tmp_path):
    """(x·xᵀ)·0.5 reads x in place for xᵀ and takes the Mul into the product; then ·x."""
    nodes = [onnx.helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]),
             onnx.helper.make_node("MatMul", ["x", "xt"], ["s"], name="qk"),
             onnx.helper.make_node("Mul", ["s", "c"], ["s2"], name="sc"),
             onnx.helper.make_node("MatMul", ["s2", "x"], ["y"], name="av")]
    c = onnx.numpy_helper.from_array(np.array(0.5, np.float32), "c")
    g = import_onnx(_tiny(nodes, [c], tmp_path))
    assert [(n.op.value, n.attrs["trans_b"], n.attrs["factor"]) for n in g.nodes] == [
        ("matmul", True, 0.5), ("matmul", False, 1.0)]
    x = np.random.default_rng(0).standard_normal((3, 4, 8)).astype(np.float32)
    want = 0.5 * (x @ x.transpose(0, 2, 1)) @ x
    np.testing.assert_allclose(run_graph(g, {"x": x})[g.outputs[0]], want, rtol=1e-5, atol=1e-5)


def test_block_compiles_to_attention_instructions_and_runs(block_onnx):
    """Float refsim within 1e-5 of onnxruntime at every layer; int8 within a few steps."""
    prog = compile_model(block_onnx)
    ops = [i.op for i in prog.instructions]
    assert [o for o in ops if o in ("MATMUL", "SOFTMAX", "LAYERNORM", "GELU")] == [
        "MATMUL", "SOFTMAX", "MATMUL", "LAYERNORM", "GELU", "LAYERNORM"]
    r = verify(block_onnx, samples=16)
    assert r.float_ok
    assert len(r.layers) == 13  # every value but the uint8 probabilities is checked
    assert all(layer.int8_rel_err < 0.1 for layer in r.layers), r.format()


def _erf_gelu(order: str) -> list:
    """x·(1 + erf(x/√2))·0.5 as TorchScript ("x_first") or dynamo ("half_first") write it."""
    nodes = [onnx.helper.make_node("Div", ["x", "r2"], ["s"]), onnx.helper.make_node("Erf", ["s"], ["e"], name="erf"),
             onnx.helper.make_node("Add", ["e", "one"], ["a"])]
    if order == "x_first":
        nodes += [onnx.helper.make_node("Mul", ["x", "a"], ["m"]), onnx.helper.make_node("Mul", ["m", "half"], ["y"])]
    else:
        nodes += [onnx.helper.make_node("Mul", ["half", "a"], ["m"]), onnx.helper.make_node("Mul", ["x", "m"], ["y"])]
    return nodes


ERF_CONSTS = [onnx.numpy_helper.from_array(np.array(v, np.float32), k)
              for k, v in (("r2", np.sqrt(2.0)), ("one", 1.0), ("half", 0.5))]


@pytest.mark.parametrize("order", ["x_first", "half_first"])
def test_erf_form_of_gelu_is_one_gelu(order, tmp_path):
    g = import_onnx(_tiny(_erf_gelu(order), ERF_CONSTS, tmp_path))
    assert [n.op.value for n in g.nodes] == ["gelu"] and g.outputs == ("y",)
    x = np.random.default_rng(0).standard_normal((3, 4, 8)).astype(np.float32) * 3
    ref = ort.InferenceSession(_tiny(_erf_gelu(order), ERF_CONSTS, tmp_path).SerializeToString()).run(None, {"x": x})[0]
    np.testing.assert_allclose(run_graph(g, {"x": x})["y"], ref, rtol=1e-5, atol=1e-6)


def test_erf_outside_gelu_is_refused_naming_the_node(tmp_path):
    nodes = _erf_gelu("x_first")
    nodes[-1] = onnx.helper.make_node("Mul", ["m", "one"], ["y"])  # ·1 instead of ·0.5
    with pytest.raises(ModelStructureError, match="node erf: Erf is supported only as part of GELU"):
        import_onnx(_tiny(nodes, ERF_CONSTS, tmp_path))


@pytest.fixture(scope="module", params=[False, True], ids=["torchscript", "dynamo"])
def two_heads_onnx(request, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("tfm") / f"heads_{request.param}.onnx")
    export(EncoderBlock(randomize=3, heads=2).eval(), torch.randn(2, 8, 16), path, dynamo=request.param)
    return path


def test_two_heads_are_views_and_per_head_instructions(two_heads_onnx):
    """Reshape/Transpose of the heads emit nothing: MATMUL and SOFTMAX run once per head on
    slices of the (tokens, features) values; float and int8 as for one head."""
    g = import_onnx(two_heads_onnx)
    assert [n.op.value for n in g.nodes] == ["conv", "conv", "conv", "matmul", "softmax", "matmul", "conv",
                                             "add", "layernorm", "conv", "gelu", "conv", "add", "layernorm"]
    scores, sm, av = g.nodes[3:6]
    assert (scores.attrs["heads"], scores.attrs["trans_b"], sm.attrs["heads"], av.attrs["heads"]) == (2, True, 2, 2)
    assert scores.attrs["factor"] == pytest.approx(1 / np.sqrt(8))
    assert g.values[scores.output].shape == (8, 16)  # (queries, 2 heads x 8 keys)
    x = np.random.default_rng(1).standard_normal((4, 8, 16)).astype(np.float32)
    ref = ort.InferenceSession(two_heads_onnx).run(None, {g.inputs[0]: x})[0]
    got = run_graph(g, {g.inputs[0]: x})[g.outputs[0]]
    assert np.abs(got - ref).max() <= 1e-5 * np.abs(ref).max()
    ops = [i.op for i in compile_model(two_heads_onnx).instructions]
    assert [o for o in ops if o in ("MATMUL", "SOFTMAX")] == ["MATMUL"] * 2 + ["SOFTMAX"] * 2 + ["MATMUL"] * 2
    r = verify(two_heads_onnx, samples=16)
    assert r.float_ok and all(layer.int8_rel_err < 0.1 for layer in r.layers), r.format()


def test_heads_with_an_unsupported_permutation_are_refused(tmp_path):
    shape = onnx.numpy_helper.from_array(np.array([0, 4, 2, 4], np.int64), "shape")
    nodes = [onnx.helper.make_node("Reshape", ["x", "shape"], ["h"]),
             onnx.helper.make_node("Transpose", ["h"], ["y"], name="tr", perm=[0, 3, 1, 2])]
    m = _tiny(nodes, [shape], tmp_path)
    m.graph.output[0].CopyFrom(onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["b", 4, 4, 2]))
    with pytest.raises(ModelStructureError, match=r"node tr: Transpose with perm \[0, 3, 1, 2\] of the attention heads"):
        import_onnx(m)


class _Pooled(torch.nn.Module):
    """Embedding, encoder block, mean over the tokens (ReduceMean axis 1), classifier."""

    def __init__(self):
        super().__init__()
        self.emb = SupermaskLinear(8, 16, seed=99)
        self.blk = EncoderBlock(randomize=3)
        self.fc = SupermaskLinear(16, 10, seed=98)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.blk(self.emb(x)).mean(1))


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_mean_over_tokens_is_a_global_average(dynamo, tmp_path):
    path = str(tmp_path / "pooled.onnx")
    export(_Pooled().eval(), torch.randn(2, 8, 8), path, dynamo=dynamo)
    g = import_onnx(path)
    assert [n.op.value for n in g.nodes][-3:] == ["globalavgpool", "flatten", "conv"]
    assert g.values[g.outputs[0]].shape == (10,)
    r = verify(path, samples=32)
    assert r.float_ok and r.top1_agreement is not None and r.top1_agreement >= 0.9, r.format()
    # the largest error includes inputs beyond the 64 calibration samples' range (saturated)
    assert all(layer.int8_rel_err < 0.2 for layer in r.layers), r.format()


def test_softmax_of_heads_over_queries_is_refused(tmp_path):
    shape = onnx.numpy_helper.from_array(np.array([0, 4, 2, 4], np.int64), "shape")
    nodes = [onnx.helper.make_node("Reshape", ["x", "shape"], ["h"]),
             onnx.helper.make_node("Transpose", ["h"], ["q"], perm=[0, 2, 1, 3]),
             onnx.helper.make_node("Transpose", ["h"], ["kt"], perm=[0, 2, 3, 1]),
             onnx.helper.make_node("MatMul", ["q", "kt"], ["s"]),
             onnx.helper.make_node("Softmax", ["s"], ["y"], name="sm", axis=2)]
    m = _tiny(nodes, [shape], tmp_path)
    m.graph.output[0].CopyFrom(onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["b", 2, 4, 4]))
    with pytest.raises(ModelStructureError, match="node sm: Softmax of the attention heads"):
        import_onnx(m)


def test_other_ops_on_heads_are_refused(tmp_path):
    shape = onnx.numpy_helper.from_array(np.array([0, 4, 2, 4], np.int64), "shape")
    nodes = [onnx.helper.make_node("Reshape", ["x", "shape"], ["h"]),
             onnx.helper.make_node("Relu", ["h"], ["y"], name="act")]
    m = _tiny(nodes, [shape], tmp_path)
    m.graph.output[0].CopyFrom(onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["b", 4, 2, 4]))
    with pytest.raises(ModelStructureError, match="node act .relu. reads 'h', a tensor of attention heads"):
        import_onnx(m)


class _WrittenNorm(torch.nn.Module):
    """LayerNorm over the features spelled three ways a hand-written model does it."""

    def __init__(self, form: str):
        super().__init__()
        self.form = form
        gen = torch.Generator().manual_seed(5)
        self.register_buffer("g", torch.rand(8, generator=gen) + 0.5)
        self.register_buffer("b", torch.rand(8, generator=gen) - 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(-1, keepdim=True)
        if self.form == "pow":
            return (x - mu) / torch.sqrt(((x - mu) ** 2).mean(-1, keepdim=True) + 1e-5) * self.g + self.b
        if self.form == "var":  # TorchScript: the mean twice, Sub twice, Mul(d, d)
            return (x - mu) / torch.sqrt(x.var(-1, unbiased=False, keepdim=True) + 1e-5) * self.g + self.b
        d = x - mu  # rsqrt: Reciprocal (dynamo) or Div(1, ·) (TorchScript), γ only
        return d * torch.rsqrt(d.pow(2).mean(-1, keepdim=True) + 1e-6) * self.g


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
@pytest.mark.parametrize("form", ["pow", "var", "rsqrt"])
def test_written_out_layernorm_is_one_layernorm(form, dynamo, tmp_path):
    path = export(_WrittenNorm(form), torch.randn(2, 4, 8), str(tmp_path / "ln.onnx"), dynamo=dynamo)
    g = import_onnx(path)
    assert [n.op.value for n in g.nodes] == ["layernorm"]
    ln = g.nodes[0]
    assert ln.attrs["eps"] == pytest.approx(1e-6 if form == "rsqrt" else 1e-5)
    np.testing.assert_allclose(ln.attrs["gamma"], _WrittenNorm(form).g.numpy())
    np.testing.assert_allclose(ln.attrs["beta"], 0.0 if form == "rsqrt" else _WrittenNorm(form).b.numpy())
    x = (np.random.default_rng(2).standard_normal((2, 4, 8)) * 3 + 1).astype(np.float32)
    sess = ort.InferenceSession(path)
    ref = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    got = run_graph(g, {g.inputs[0]: x})[g.outputs[0]]
    assert np.abs(got - ref).max() <= 1e-5 * np.abs(ref).max()


def _ln_nodes(second_reader: bool = False) -> list:
    nodes = [onnx.helper.make_node("ReduceMean", ["x", "ax"], ["mu"], name="mean"),
             onnx.helper.make_node("Sub", ["x", "mu"], ["d"], name="sub"),
             onnx.helper.make_node("Pow", ["d", "two"], ["d2"]),
             onnx.helper.make_node("ReduceMean", ["d2", "ax"], ["var"]),
             onnx.helper.make_node("Add", ["var", "eps"], ["ve"]),
             onnx.helper.make_node("Sqrt", ["ve"], ["sd"]),
             onnx.helper.make_node("Div", ["d", "sd"], ["n" if second_reader else "y"])]
    if second_reader:  # the centred value is read outside the pattern too
        nodes += [onnx.helper.make_node("Add", ["n", "d"], ["y"])]
    return nodes


LN_CONSTS = [onnx.numpy_helper.from_array(np.array(v, dt), k)
             for k, v, dt in (("ax", [-1], np.int64), ("two", 2.0, np.float32), ("eps", 1e-5, np.float32))]


def test_written_out_layernorm_from_onnx_helper(tmp_path):
    g = import_onnx(_tiny(_ln_nodes(), LN_CONSTS, tmp_path))
    assert [(n.op.value, n.inputs, n.outputs) for n in g.nodes] == [("layernorm", ("x",), ("y",))]


def test_layernorm_pattern_read_elsewhere_is_refused(tmp_path):
    with pytest.raises(ModelStructureError, match="node mean: the LayerNorm written out reads 'd' elsewhere"):
        import_onnx(_tiny(_ln_nodes(second_reader=True), LN_CONSTS, tmp_path))


def test_parts_of_a_layernorm_alone_are_refused_naming_the_node(tmp_path):
    nodes = [onnx.helper.make_node("Sub", ["x", "c"], ["y"], name="shift")]
    c = onnx.numpy_helper.from_array(np.ones(8, np.float32), "c")
    with pytest.raises(ModelStructureError, match="node shift: Sub is supported only as part of a LayerNorm"):
        import_onnx(_tiny(nodes, [c], tmp_path))
    nodes = [onnx.helper.make_node("ReduceMean", ["x", "ax"], ["m"], name="mean"),
             onnx.helper.make_node("Sub", ["x", "m"], ["y"])]  # centring only: no division
    with pytest.raises(ModelStructureError, match="node mean: ReduceMean over the features is supported only"):
        import_onnx(_tiny(nodes, LN_CONSTS, tmp_path))


def test_positional_encoding_is_a_constant_added(tmp_path):
    """Add(x, P) with P (1, 4, 8): a CONSTANT value and an ADD; float refsim equals
    onnxruntime and int8 is within a step of P's and x's scales."""
    pe = np.random.default_rng(4).standard_normal((1, 4, 8)).astype(np.float32)
    nodes = [onnx.helper.make_node("Add", ["x", "pe"], ["y"], name="pos")]
    m = _tiny(nodes, [onnx.numpy_helper.from_array(pe, "pe")], tmp_path)
    g = import_onnx(m)
    assert [(n.op.value, n.inputs) for n in g.nodes] == [("constant", ()), ("add", ("x", "pe#constant"))]
    np.testing.assert_array_equal(g.nodes[0].attrs["data"], pe[0])
    prog = compile_model(m)
    loads = [i for i in prog.instructions if i.op == "DMA_LOAD"]
    assert [ld.length for ld in loads] == [32, 32]  # the input, then P
    r = verify(m, samples=8)
    assert r.float_ok and r.layers[-1].int8_err_lsb <= 1.5, r.format()


def test_constant_varying_by_sample_is_refused(tmp_path):
    nodes = [onnx.helper.make_node("Add", ["x", "c"], ["y"], name="pos")]
    m = _tiny(nodes, [onnx.numpy_helper.from_array(np.ones((2, 4, 8), np.float32), "c")], tmp_path)
    for t in (m.graph.input[0], m.graph.output[0]):
        t.type.tensor_type.shape.dim[0].dim_value = 2
    with pytest.raises(ModelStructureError, match=re.escape(
            "node pos: constant 'c' of shape (2, 4, 8) differs along the batch axis")):
        import_onnx(m)


def test_report_has_attention_cycles_kv_bytes_and_fp32_size():
    """The two-head block after a positional encoding (d 16, FFN 32, 8 tokens): K and V are
    8 tokens x 8 features per head, two heads; two LayerNorms of 16 features; an 8 x 16
    constant; six layers of 2048 weights and 112 output channels in all."""
    prog = compile_model("tests/fixtures/encoderpos_written_dynamo.onnx", config=SMALL)
    att, kv, size = attention_lines(prog)
    assert att.startswith("attention: ") and "4 MATMUL" in att and "2 SOFTMAX" in att and "1 GELU" in att
    assert kv.startswith(f"key/value operands: {2 * 2 * 8 * 8} B int8 in the act SRAM over 4 MATMUL(s)")
    assert f"LayerNorm records {2 * 16 * 8}, constant tensors {8 * 16})" in size
    assert f"vs {4 * (2048 + 112 + 2 * 2 * 16 + 8 * 16)} B for fp32" in size
    assert attention_lines(compile_model("tests/fixtures/gcn_dynamo_a_hw.onnx", config=SMALL)) == []


class _Sdpa(torch.nn.Module):
    """Two pre-norm blocks of four heads written with `scaled_dot_product_attention` (Q and Kᵀ
    each multiplied by √scale; dynamo transposes K through a (batch·heads, T, d) Reshape)
    after an embedding and a learned positional parameter."""

    def __init__(self):
        super().__init__()
        s = Seeds()
        self.emb = SupermaskLinear(8, 32, seed=s())
        self.pos = torch.nn.Parameter(torch.randn(1, 8, 32, generator=torch.Generator().manual_seed(1)) * 0.1)
        self.qkvo = torch.nn.ModuleList(SupermaskLinear(32, 32, seed=s()) for _ in range(8))
        self.norms = torch.nn.ModuleList(torch.nn.LayerNorm(32) for _ in range(2))
        self.fc = SupermaskLinear(32, 10, seed=s())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.emb(x) + self.pos
        for blk in range(2):
            q, k, v, o = self.qkvo[4 * blk:4 * blk + 4]
            h = self.norms[blk](x)
            b, t, d = h.shape
            q, k, v = (z.view(b, t, 4, d // 4).transpose(1, 2) for z in (q(h), k(h), v(h)))
            a = torch.nn.functional.scaled_dot_product_attention(q, k, v)
            x = x + o(a.transpose(1, 2).reshape(b, t, d))
        return self.fc(x.mean(1))


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_scaled_dot_product_attention_is_matmul_softmax_matmul(dynamo, tmp_path):
    path = export(_Sdpa().eval(), torch.randn(2, 8, 8), str(tmp_path / "sdpa.onnx"), dynamo=dynamo)
    g = import_onnx(path)
    scores = [n for n in g.nodes if n.op.value == "matmul" and n.attrs["trans_b"]]
    assert len(scores) == 2 and all(n.attrs["heads"] == 4 for n in scores)
    for n in scores:  # √(1/√8) on Q and on Kᵀ: 1/√8 in all
        assert n.attrs["factor"] == pytest.approx(1 / np.sqrt(8), rel=1e-6)
    x = np.random.default_rng(3).standard_normal((4, 8, 8)).astype(np.float32)
    sess = ort.InferenceSession(path)
    ref = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    got = compile_model(path, config=SMALL)
    out = next(iter(seedcc_run(got, x, mode="float").outputs.values()))
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()
