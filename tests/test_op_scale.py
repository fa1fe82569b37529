"""SCALE (ONNX Mul/Div by a one-element constant): front end, float and int8 reference
model against independent computations, and the RTL (marked `rtl`)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from seedcc.backends import refsim
from seedcc.backends.rtlrun import run_on_rtl
from seedcc.compiler.frontend import import_onnx
from seedcc.errors import ModelStructureError
from seedcc.flow import compile_model
from seedcc.golden import ort_run
from seedcc.ir import Op
from seedcc.models import ModelBuilder
from seedcc.rtl_models.hwconfig import SMALL

MUL, DIV = 0.25, -2.0  # the second divides: factor -0.5, a sign flip


def scaled_cnn() -> onnx.ModelProto:
    """conv-BN-ReLU, Mul by 0.25, conv-BN, Div by -2, global pool, dense -> logits."""
    b = ModelBuilder("scaled_cnn", seed=3)
    h = b.node("Relu", [b.batchnorm(b.conv("x", 3, 16, 3, "c1"), 16, "bn1")], "relu1")
    h = b.node("Mul", [h, b.init("gain", np.array(MUL, np.float32))], "gain/Mul")
    h = b.batchnorm(b.conv(h, 16, 16, 3, "c2"), 16, "bn2")
    h = b.node("Div", [h, b.init("half", np.array([DIV], np.float32))], "half/Div")
    h = b.node("Flatten", [b.node("GlobalAveragePool", [h], "gap")], "flat")
    w = b.random_weight("fc", (10, 16, 1, 1), "OI")
    b.nodes.append(helper.make_node("Gemm", [h, w], ["logits"], name="fc/Gemm", transB=1))
    return b.build([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
                   [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])])


def inputs(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(seed).standard_normal((n, 3, 8, 8)).astype(np.float32)}


def test_front_end_reads_mul_and_div_by_a_constant_as_scale() -> None:
    g = import_onnx(scaled_cnn())
    assert [(n.name, n.attrs["factor"]) for n in g.ops(Op.SCALE)] == [("gain/Mul", MUL),
                                                                    ("half/Div", 1 / DIV)]


def test_float_mode_matches_onnxruntime_on_every_layer() -> None:
    model, x = scaled_cnn(), inputs(8)
    prog = compile_model(model, config=SMALL).program
    got = refsim.run(prog, x, mode="float", checkpoints=True)
    ref = ort_run(model, x, ["gain/Mul_out", "half/Div_out"])
    for name in ("gain/Mul_out", "half/Div_out", "logits"):
        actual = got.outputs[name] if name == "logits" else got.checkpoints[name]
        err = np.abs(actual - ref[name]).max() / np.abs(ref[name]).max()
        assert err < 1e-5, f"{name}: relative error {err:.2e} (float32 summation order only)"


def test_int8_scale_is_within_one_step_of_the_exact_rescaling() -> None:
    """q_out = rint(q_in · factor · s_in / s_out), saturated; the hardware's 16-bit multiplier
    and rounding shift may differ from that exact value by one step, never more."""
    c = compile_model(scaled_cnn(), config=SMALL)
    got = refsim.run(c.program, inputs(16, seed=1), checkpoints=True).checkpoints
    for node in c.graph.ops(Op.SCALE):
        s_in, s_out = c.graph.values[node.inputs[0]].scale, c.graph.values[node.output].scale
        q_in = np.rint(got[node.inputs[0]] / s_in)
        q_out = np.rint(got[node.output] / s_out)
        exact = np.clip(np.rint(q_in * node.attrs["factor"] * s_in / s_out), -128, 127)
        assert np.abs(q_out - exact).max() <= 1, node.name
        assert np.count_nonzero(q_out) > q_out.size // 4, f"{node.name}: output mostly zero"


@pytest.mark.parametrize("op, operands, match", [
    ("Mul", ["a", "a"], "one-element constant"),  # two activations
    ("Mul", ["a", "vec"], "one-element constant"),  # a per-channel constant
    ("Div", ["one", "a"], "one-element constant divisor"),  # constant / activation
    ("Div", ["a", "zero"], "division by the constant 0"),
])
def test_unsupported_forms_are_named(op: str, operands: list[str], match: str) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
    inits = [helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
             helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
             helper.make_tensor("vec", TensorProto.FLOAT, [4], [1, 2, 3, 4])]
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="r"),
             helper.make_node(op, operands, ["y"], name="the_op")]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ModelStructureError, match=f"node the_op: {op} .*{match}|{match}"):
        import_onnx(model)


@pytest.mark.rtl
def test_scaled_cnn_on_rtl(tmp_path) -> None:
    prog = compile_model(scaled_cnn(), config=SMALL).program
    x = inputs(1, seed=2)
    outcome = run_on_rtl(prog, x, work_dir=tmp_path)
    assert outcome.ok, outcome.summary
    assert outcome.cycles == [refsim.run(prog, x).cycles]
