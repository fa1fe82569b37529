"""The reference model on the attention instructions (MATMUL, SOFTMAX, LAYERNORM, GELU):
batch execution, counters, the rules it enforces, float mode. Bit-exactness against
independent expectations and the RTL: tests/rtl/test_programs.py (cases of
tests/rtl/rtl_attn_programs.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seedcc.backends import refsim, timing
from seedcc.backends.isa import Instruction, make
from seedcc.backends.manifest import FloatParam, Manifest, TensorIO
from seedcc.backends.program import Program
from seedcc.errors import ProgramFormatError
from seedcc.rtl_models import numerics
from seedcc.rtl_models.hwconfig import SMALL
from seedcc.rtl_models.hwfacts import MM_ROWS, REQ_RECORD

D, T = 12, 6  # features, tokens: x[f][t] at f*T + t
N = D * T
IN, OUT = 0, 4096  # DRAM addresses of the input and output
REC = 8192  # DRAM address of the LayerNorm records


def _records(shift: int = 16) -> np.ndarray:
    rec = np.zeros(D, REQ_RECORD)
    rec["bias"] = np.arange(D) * 1000 - 5000
    rec["mult"] = np.arange(D) * 97 - 400
    rec["shift"] = shift
    return rec


def _program(body: list[Instruction], out_addr: int, out_len: int, rec: np.ndarray | None = None,
             float_params: tuple[FloatParam, ...] = (), float_section: bytes = b"") -> Program:
    image = bytearray(REC + 8 * D)
    image[REC:REC + 8 * D] = (_records() if rec is None else rec).tobytes()
    instrs = [make("DMA_LOAD", space=0, sram_addr=0, dram_addr=IN, length=N),
              make("DMA_LOAD", space=2, sram_addr=0, dram_addr=REC, length=8 * D),
              *body,
              make("DMA_STORE", space=0, sram_addr=out_addr, dram_addr=OUT, length=out_len),
              make("HALT")]
    man = Manifest(model="attn", inputs=(TensorIO("x", (D, 1, T), 0.05, IN),),  # storage order
                   outputs=(TensorIO("y", (out_len,), 1.0, OUT),), float_params=float_params)
    return Program(SMALL, tuple(instrs), bytes(image), float_section, man)


def _chain() -> list[Instruction]:
    """x^T x (T x T scores), softmax over them, x P (D x T), LayerNorm, GELU."""
    return [
        make("MATMUL", x_addr=0, x_row=1, x_step=T, y_addr=0, y_step=T, out_addr=200,
             out_plane=T, rows=T, cols=T, depth=D, mult=300, shift=12),
        make("SOFTMAX", in_addr=200, out_addr=200, tokens=T, features=T, in_plane=T, out_plane=T,
             in_mult=20000, in_shift=9),
        make("MATMUL", x_addr=0, x_row=T, x_step=1, y_addr=200, y_step=T, out_addr=300,
             out_plane=T, rows=D, cols=T, depth=T, mult=100, shift=14, y_unsigned=1),
        make("LAYERNORM", in_addr=300, out_addr=400, tokens=T, features=D, in_plane=T,
             out_plane=T, param_addr=0, eps=1 << 30),
        make("GELU", in_addr=400, out_addr=500, length=N, in_mult=20000, in_shift=9,
             out_mult=16384, out_shift=29),
    ]


def _in(x: np.ndarray) -> np.ndarray:
    """A batch of (D, T) inputs as the program declares them, in storage order (D, 1, T)."""
    return x[:, :, None, :]


def _x(batch: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, (batch, D, T)).astype(np.int8)


def test_batch_equals_samples_one_by_one():
    prog = _program(_chain(), 500, N)
    x = _x(5)
    whole = refsim.run_int(prog, {"x": _in(x)})
    for b in range(5):
        one = refsim.run_int(prog, {"x": _in(x[b:b + 1])})
        assert np.array_equal(one.outputs["y"][0], whole.outputs["y"][b])
        assert one.cycles == whole.cycles


def test_chain_matches_numerics_step_by_step():
    prog = _program(_chain(), 500, N)
    x = _x(1, seed=3)[0].astype(np.int64)
    acc = x.T @ x
    p = numerics.softmax(numerics.matmul_requantize(acc, 300, 12), 20000, 9, axis=0)
    o = numerics.matmul_requantize(x @ p.astype(np.int64), 100, 14)
    rec = _records()
    ln = numerics.layernorm(o, rec["bias"][:, None], rec["mult"][:, None], rec["shift"][:, None],
                            1 << 30, axis=0)
    y = numerics.gelu(ln, 20000, 9, 16384, 29)
    got = refsim.run_int(prog, {"x": _in(x[None].astype(np.int8))}).outputs["y"][0]
    assert np.array_equal(got, y.reshape(-1))


def test_counters_and_cycles():
    prog = _program(_chain(), 500, N)
    res = refsim.run_int(prog, {"x": _in(_x(1))})
    c, p = res.counters, SMALL.pixels
    assert c["mm_macs"] == T * T * D + D * T * T
    assert res.cycles == sum(timing.cycles(i, SMALL) for i in prog.instructions)
    mm = (-(-T // p)) * (-(-T // MM_ROWS) * D + T) + (-(-T // p)) * (-(-D // MM_ROWS) * T + D)
    assert sum(timing.exec_cycles(i, SMALL) for i in prog.instructions if i.op == "MATMUL") == mm
    reads = (D * (-(-T // p) * T + -(-T // MM_ROWS) * T) + T * (-(-T // p) * D + T)  # MATMULs
             + 3 * T * T + 2 * N + N  # SOFTMAX three passes, LAYERNORM two, GELU one
             + N)  # the DMA_STORE
    assert c["act_sram_read_bytes"] == reads
    assert c["param_sram_read_bytes"] == 8 * D * -(-T // p)
    e = SMALL.energy
    assert res.energy_pj == pytest.approx(
        c["pe_ops"] * e.pe_op + c["gen_steps"] * e.gen_step + c["requant_ops"] * e.requant
        + c["alu_ops"] * e.alu_op + c["mm_macs"] * e.mm_mac
        + (c["sram_read_bytes"] + c["sram_write_bytes"]) * e.sram_byte
        + (c["dram_read_bytes"] + c["dram_write_bytes"]) * e.dram_byte)


@pytest.mark.parametrize("ins, message", [
    (make("MATMUL", x_addr=0, x_row=1, x_step=T, y_addr=0, y_step=T, out_addr=10, out_plane=T,
          rows=T, cols=T, depth=D, mult=1), r"instruction 2 \(MATMUL\): the output \[10, 46\) overlaps X"),
    (make("MATMUL", x_addr=0, x_row=1, x_step=T, y_addr=0, y_step=T, out_addr=200, out_plane=3,
          rows=T, cols=T, depth=D, mult=1), r"out_plane=3 < 6 makes output rows overlap"),
    (make("MATMUL", x_addr=0, x_row=1, x_step=T, y_addr=0, y_step=T, out_addr=65530,
          out_plane=T, rows=T, cols=T, depth=D, mult=1), r"output \[65530, 65566\) runs past the act SRAM"),
    (make("SOFTMAX", in_addr=0, out_addr=1, tokens=T, features=D, in_plane=T, out_plane=T,
          in_mult=1), r"instruction 2 \(SOFTMAX\): the output \[1, 73\) overlaps input"),
    (make("LAYERNORM", in_addr=0, out_addr=100, tokens=T, features=D, in_plane=T, out_plane=T,
          param_addr=8152), r"records \[8152, 8248\) runs past the param SRAM"),
    (make("GELU", in_addr=0, out_addr=2, length=N), r"\(GELU\): the output \[2, 74\) overlaps input"),
])
def test_the_model_refuses_what_the_hardware_cannot_do(ins, message):
    with pytest.raises(ProgramFormatError, match=message):
        refsim.run_int(_program([ins], 200, 8), {"x": _in(_x(1))})


def test_in_place_softmax_layernorm_gelu_are_allowed():
    body = [make("SOFTMAX", in_addr=0, out_addr=0, tokens=T, features=D, in_plane=T, out_plane=T,
                 in_mult=9000, in_shift=8),
            make("LAYERNORM", in_addr=0, out_addr=0, tokens=T, features=D, in_plane=T,
                 out_plane=T, param_addr=0),
            make("GELU", in_addr=0, out_addr=0, length=N, in_mult=9000, in_shift=8, out_mult=1,
                 out_shift=15)]
    x = _x(1, seed=4)
    got = refsim.run_int(_program(body, 0, N), {"x": _in(x)}).outputs["y"][0]
    p = numerics.softmax(x[0], 9000, 8, axis=0).view(np.int8)
    rec = _records()
    ln = numerics.layernorm(p, rec["bias"][:, None], rec["mult"][:, None], rec["shift"][:, None],
                            0, axis=0)
    assert np.array_equal(got, numerics.gelu(ln, 9000, 8, 1, 15).reshape(-1))


def test_a_layernorm_record_shift_above_the_limit_is_an_error():
    """The refsim twin of the RTL's err stop (tests/rtl/test_programs.py)."""
    rec = _records()
    rec["shift"][5] = 64
    body = [make("LAYERNORM", in_addr=0, out_addr=100, tokens=T, features=D, in_plane=T,
                 out_plane=T, param_addr=0)]
    with pytest.raises(ProgramFormatError, match=r"record of feature 5 has shift 64 > 63"):
        refsim.run_int(_program(body, 100, N, rec), {"x": _in(_x(1))})


def test_float_mode():
    """MATMUL is a*(X@Y) + b with (a, b) from a one-channel float_params entry; SOFTMAX and
    GELU are the float functions; LAYERNORM takes gamma, beta per feature and epsilon from
    an entry of features + 1 channels."""
    body = _chain()
    gamma, beta, eps = np.linspace(0.5, 1.5, D), np.linspace(-1, 1, D), 1e-3
    mm = np.array([0.01, 0.0], "<f4").tobytes()
    ln = np.concatenate([gamma, [eps], beta, [0.0]]).astype("<f4").tobytes()
    fps = (FloatParam(2, 0, 1), FloatParam(4, 8, 1), FloatParam(5, 16, D + 1))
    prog = _program(body, 500, N, float_params=fps, float_section=mm + mm + ln)
    x = np.random.default_rng(5).normal(0, 1, (2, D, T)).astype(np.float32)
    got = refsim.run(prog, {"x": _in(x)}, mode="float").outputs["y"]
    for b in range(2):
        xb = x[b].astype(np.float64)
        s = 0.01 * (xb.T @ xb)
        e = np.exp(s - s.max(axis=0))
        o = 0.01 * (xb @ (e / e.sum(axis=0)))
        mu, var = o.mean(axis=0), o.var(axis=0)
        f32 = np.float32
        h = (o - mu) / np.sqrt(var + f32(eps)) * gamma.astype(f32)[:, None] + beta.astype(f32)[:, None]
        y = 0.5 * h * (1 + np.array([math.erf(v / math.sqrt(2)) for v in h.reshape(-1)]).reshape(h.shape))
        np.testing.assert_allclose(got[b], y.reshape(-1), rtol=1e-5, atol=1e-5)
