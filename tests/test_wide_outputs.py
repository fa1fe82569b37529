"""Graph outputs left at accumulator precision: int32 with a per-channel float scale
(docs/compiler.md "Activation formats", docs/isa.md REQ `out_wide`).

A graph output that a REQ writes and nothing else reads leaves as (acc + bias)·sign, int32,
worth its channel's accumulator step, so logits are never rounded or saturated to 8 bits.
The RTL side is tests/rtl/rtl_programs.py ``case_wide`` (hand-counted) and every compiled
corpus program.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from seedcc.backends import refsim
from seedcc.compiler.passes.quantize import value_formats
from seedcc.flow import compile_model
from seedcc.models import ModelBuilder, mlp
from seedcc.rtl_models import numerics
from seedcc.rtl_models.hwconfig import SMALL

I32 = (-(2**31), 2**31 - 1)


def test_wide_requantisation_saturates_to_int32_only() -> None:
    acc = np.array([0, 5, -5, I32[1], I32[0], I32[1], I32[0], 1000])
    bias = np.array([0, 10, 10, 1, -1, 0, 0, 24])
    mult = np.array([1, -1, -1, 1, 1, 3, 3, 5])
    shift = np.array([0, 0, 0, 0, 0, 1, 1, 3])
    got = numerics.requantize(acc, bias, mult, shift, False, wide=True)
    assert got.dtype == np.int32
    # (0+0)*1, (5+10)*-1, (-5+10)*-1, beyond +2^31-1, below -2^31, round(3*(2^31-1)/2)
    # saturates, round(3*-2^31/2) too, (1024*5) >> 3 = 640
    assert got.tolist() == [0, -15, -5, I32[1], I32[0], I32[1], I32[0], 640]
    relu = numerics.requantize(acc, bias, mult, shift, True, wide=True)
    assert relu.tolist() == [0, 0, 0, I32[1], 0, I32[1], 0, 640]
    # `unsigned` has no meaning for an int32 result
    np.testing.assert_array_equal(numerics.requantize(acc, bias, mult, shift, True, True, True), relu)


def _head(logits_read_again: bool):
    """x[N, 32] -> Gemm + BN + ReLU -> Gemm -> logits; optionally logits + logits as a second
    output, so the logits have a reader."""
    b = ModelBuilder("head", 5)
    w1 = b.random_weight("fc1", (24, 32, 1, 1), "OI")
    h = b.node("Relu", [b.batchnorm(b.node("Gemm", ["x", w1], "fc1/Gemm", transB=1), 24, "bn1")], "relu1")
    w2 = b.random_weight("fc2", (10, 24, 1, 1), "OI")
    b.nodes.append(helper.make_node("Gemm", [h, w2], ["logits"], name="fc2/Gemm", transB=1))
    outs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])]
    if logits_read_again:
        b.nodes.append(helper.make_node("Add", ["logits", "logits"], ["twice"], name="twice"))
        outs.append(helper.make_tensor_value_info("twice", TensorProto.FLOAT, ["N", 10]))
    return b.build([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 32])], outs)


def calib(n: int = 32, seed: int = 0) -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(seed).standard_normal((n, 32)).astype(np.float32)}


def test_only_a_req_written_output_nothing_else_reads_is_int32() -> None:
    alone = compile_model(_head(False), calib(), config=SMALL).graph
    assert value_formats(alone)["logits"] == "int32"
    read = compile_model(_head(True), calib(), config=SMALL).graph
    formats = value_formats(read)
    (logits,) = [v for v in read.values if read.values[v].onnx_name == "logits"]
    (twice,) = [v for v in read.values if read.values[v].onnx_name == "twice"]
    assert formats[logits] == "int8"  # the ADD reads 8-bit bytes
    assert formats[twice] == "int8"  # an ADD's output: no REQ writes it


def test_the_output_req_writes_int32_words_with_sign_multipliers() -> None:
    prog = compile_model(_head(False), calib(), config=SMALL).program
    (out,) = prog.manifest.outputs
    assert out.wide and len(out.channel_scales) == 10 and min(out.channel_scales) > 0
    reqs = [i for i in prog.instructions if i.op == "REQ"]
    assert [i.out_wide for i in reqs] == [0, 1] and reqs[1].out_unsigned == 0
    (store,) = [i for i in prog.instructions if i.op == "DMA_STORE" and i.dram_addr == out.dram_addr]
    assert store.length == 4 * 10
    # the records the REQ reads: the multiplier is the step's sign, the shift 0
    (load,) = [i for i in prog.instructions if i.op == "DMA_LOAD" and i.space == 2
               and i.sram_addr <= reqs[1].param_addr < i.sram_addr + i.length]
    at = load.dram_addr + reqs[1].param_addr - load.sram_addr
    rec = np.frombuffer(prog.image[at:at + 80], dtype=[("b", "<i4"), ("m", "<i2"), ("s", "u1"), ("z", "u1")])
    assert set(rec["m"].tolist()) <= {-1, 0, 1} and not rec["s"].any()


def test_logits_beyond_the_calibrated_peak_are_not_saturated() -> None:
    """Calibrated on 4 samples, run on 64: many logits exceed what an int8 output at the
    calibrated scale could hold (127 codes), and the int32 outputs still follow the float
    run; rounding them to 8 bits would cost more than the whole integer pipeline does."""
    model = mlp(features=32, hidden=24, classes=10, seed=3)
    prog = compile_model(model, calib(4), config=SMALL).program
    (out,) = prog.manifest.outputs
    assert out.wide
    x = calib(64, seed=1)
    fl = refsim.run(prog, x, mode="float").outputs[out.name]
    q = refsim.run(prog, x).outputs[out.name]
    top = 127 * out.scale  # the largest logit an int8 output could hold
    beyond = np.abs(fl) > top
    assert beyond.sum() >= 10
    err = np.abs(q - fl) / np.abs(fl).max()
    # the hidden layer saturates too on the inputs calibration never saw; the logits do not
    assert np.median(err) <= 0.01 and err.max() <= 0.2
    as_int8 = np.clip(np.rint(q / out.scale), -128, 127) * out.scale  # 8-bit logits, for contrast
    assert np.abs(as_int8 - fl)[beyond].mean() > 3 * np.abs(q - fl)[beyond].mean()


@pytest.mark.parametrize("mode", ["int8", "float"])
def test_run_int_gives_the_words_and_run_dequantises_per_channel(mode: str) -> None:
    prog = compile_model(_head(False), calib(), config=SMALL).program
    (out,) = prog.manifest.outputs
    x = calib(8, seed=2)
    res = refsim.run(prog, x, mode=mode).outputs[out.name]
    assert res.dtype == np.float32 and res.shape == (8, 10)
    if mode == "int8":
        q = {"x": numerics.quantize_input(x["x"], prog.manifest.inputs[0].scale)}
        words = refsim.run_int(prog, q).outputs[out.name]
        assert words.dtype == np.int32
        np.testing.assert_array_equal((words * np.asarray(out.channel_scales)).astype(np.float32), res)
