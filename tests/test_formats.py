"""Activation formats: uint8 (zero point 0) after a ReLU, int8 elsewhere (DESIGN §5,
docs/compiler.md "Activation formats", docs/isa.md "Activation formats").

The quantiser picks the formats, code generation sets the instructions' unsigned bits, and
the integer run uses the whole 0..255 range for a ReLU's output. The RTL side is
tests/rtl/rtl_programs.py ``case_unsigned`` (hand-counted) and every compiled corpus program.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from seedcc.backends import refsim
from seedcc.compiler.frontend import import_onnx
from seedcc.compiler.passes.quantize import calibration_scale, value_formats, value_peaks
from seedcc.errors import ModelStructureError
from seedcc.flow import compile_model
from seedcc.ir import Op
from seedcc.ir.ops.base import require_signed
from seedcc.ir.ops.conv import Conv
from seedcc.models import ModelBuilder, small_cnn
from seedcc.rtl_models import numerics
from seedcc.rtl_models.hwconfig import SMALL


def calib(shape: tuple[int, ...], n: int = 32, seed: int = 0) -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(seed).standard_normal((n, *shape)).astype(np.float32)}


def test_a_value_calibrated_to_peak_p_has_code_255_at_p() -> None:
    for p in (0.013, 1.0, 3.7, 250.0):
        s = calibration_scale(p, unsigned=True)
        assert s == pytest.approx(p / 255)
        assert int(numerics.quantize_input(np.array(p), s, unsigned=True)) == 255
        assert int(numerics.quantize_input(np.array(p / 2), s, unsigned=True)) in (127, 128)
        # int8 spends a bit on the sign: the same peak is code 127 with twice the step
        assert int(numerics.quantize_input(np.array(p), calibration_scale(p))) == 127


def test_saturation_follows_the_output_format() -> None:
    acc = np.array([-5000, -1, 0, 100, 200, 300, 5000])
    assert list(numerics.requantize(acc, 0, 1, 0, True, True)) == [0, 0, 0, 100, 200, 255, 255]
    assert list(numerics.requantize(acc, 0, 1, 0, True)) == [0, 0, 0, 100, 127, 127, 127]
    assert list(numerics.requantize(acc, 0, 1, 0, False)) == [-128, -1, 0, 100, 127, 127, 127]
    # an ADD reading a uint8 byte 200 (stored as int8 -56) and an int8 -56
    raw = np.array([-56], np.int8)
    u, s = numerics.operand(raw, True), numerics.operand(raw, False)
    assert list(numerics.residual_add(u, s, 1, 1, 0, False)) == [127]  # 200 - 56 saturates
    assert list(numerics.residual_add(u, s, 1, 1, 0, False, True)) == [144]
    assert int(numerics.scale_sum(np.array(4 * 250), 1, 2, True)) == 250  # a uint8 mean


def test_relu_outputs_are_uint8_at_peak_over_255_and_the_rest_int8() -> None:
    model, c = small_cnn(), calib((3, 16, 16))
    comp = compile_model(model, c, config=SMALL)
    g = comp.graph
    peaks = value_peaks(g, c)
    relu = [n for n in g.nodes if n.attrs.get("relu")]
    assert len(relu) >= 3
    for n in relu:
        v = g.values[n.output]
        assert v.dtype == "uint8", n.name
        assert v.scale == pytest.approx(peaks[n.output] / 255, rel=1e-6)
    for n in g.nodes:  # a pool keeps its input's format, MAXPOOL its scale too
        if n.op in (Op.MAXPOOL, Op.GLOBALAVGPOOL, Op.FLATTEN):
            assert g.values[n.output].dtype == g.values[n.inputs[0]].dtype == "uint8", n.name
    plain = [n for n in g.nodes if n.op == Op.CONV and not n.attrs.get("relu") and n.output not in g.outputs]
    assert plain and all(g.values[n.output].dtype == "int8" for n in plain)
    assert all(g.values[v].dtype == "int8" for v in g.inputs)
    # the logits leave at accumulator precision (tests/test_wide_outputs.py)
    assert all(g.values[v].dtype == "int32" for v in g.outputs)
    # code generation sets the unsigned bits from the formats
    ins = comp.program.instructions
    assert any(i.op == "MAC" and i.x_unsigned for i in ins)
    assert any(i.op == "MAC" and not i.x_unsigned for i in ins)  # the stem reads the input
    assert all(i.out_unsigned == i.relu for i in ins if i.op in ("REQ", "ADD"))
    assert all(i.in_unsigned for i in ins if i.op in ("MAXPOOL", "AVGPOOL"))


def test_the_integer_run_uses_the_upper_half_of_uint8() -> None:
    """On its own calibration batch a ReLU output's largest code is 255 (or 254 after the
    integer pipeline's roundings), not 127: the sign bit became resolution."""
    model, c = small_cnn(), calib((3, 16, 16))
    prog = compile_model(model, c, config=SMALL).program
    q = {d.name: numerics.quantize_input(c[d.name], d.scale) for d in prog.manifest.inputs}
    raw = refsim.run_int(prog, q, checkpoints=True)
    unsigned = [ck for ck in prog.manifest.checkpoints if ck.unsigned]
    assert unsigned
    for ck in unsigned:
        assert int(raw.checkpoints[ck.name].view(np.uint8).max()) >= 254, ck.onnx


def _relu_head(output_relu: bool) -> onnx.ModelProto:
    """x[N, 32] -> Gemm + BN + ReLU (h) -> Gemm -> logits; h is a graph output or not."""
    b = ModelBuilder("relu_head", 3)
    w1 = b.random_weight("fc1", (24, 32, 1, 1), "OI")
    h = b.node("Relu", [b.batchnorm(b.node("Gemm", ["x", w1], "fc1/Gemm", transB=1), 24, "bn1")],
               "relu1")
    w2 = b.random_weight("fc2", (10, 24, 1, 1), "OI")
    b.nodes.append(helper.make_node("Gemm", [h, w2], ["logits"], name="fc2/Gemm", transB=1))
    outs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])]
    if output_relu:
        outs.append(helper.make_tensor_value_info(h, TensorProto.FLOAT, ["N", 24]))
    return b.build([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 32])], outs)


@pytest.mark.parametrize("output_relu", [False, True])
def test_a_relu_output_that_leaves_the_graph_stays_int8(output_relu: bool) -> None:
    c = calib((32,))
    comp = compile_model(_relu_head(output_relu), c, config=SMALL)
    g = comp.graph
    (fc1,) = [n for n in g.nodes if n.attrs.get("relu")]
    assert g.values[fc1.output].dtype == ("int8" if output_relu else "uint8")
    x = c["x"][:8]
    fl = refsim.run(comp.program, {"x": x}, mode="float").outputs
    q = refsim.run(comp.program, {"x": x}).outputs
    for k in fl:  # either way the int8 run follows the float one
        assert np.abs(q[k] - fl[k]).max() <= 0.1 * np.abs(fl[k]).max(), k


def test_a_reader_without_unsigned_bits_keeps_its_input_int8(monkeypatch) -> None:
    """The rule SOFTMAX, LAYERNORM and GELU rely on, shown on a CONV that pretends to have
    no unsigned bit: every ReLU output it reads stays int8."""
    g = compile_model(small_cnn(), calib((3, 16, 16)), config=SMALL).graph
    assert "uint8" in value_formats(g).values()
    monkeypatch.setattr(Conv, "reads_unsigned", False)
    formats = value_formats(g)
    for n in g.nodes:
        if n.op == Op.CONV:
            assert formats[n.inputs[0]] == "int8", n.name


def test_an_int8_only_instruction_refuses_a_uint8_input() -> None:
    node = SimpleNamespace(name="attn/softmax")
    require_signed(node, SimpleNamespace(name="s", dtype="int8"))
    with pytest.raises(ModelStructureError, match=r"attn/softmax: its input 's' is uint8"):
        require_signed(node, SimpleNamespace(name="s", dtype="uint8"))


def test_the_front_end_graph_is_unchanged() -> None:
    """Formats are the quantiser's business: the front end's values carry no dtype choice."""
    g = import_onnx(small_cnn())
    assert {v.dtype for v in g.values.values()} == {"float32"}
