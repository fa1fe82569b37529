"""cocotb: one PE tile (16 channels x PIXELS pixels, seedcc_blocks_tb.u_tile) against numpy.

Random cycles of load / accumulate / hold: an accumulate cycle gives every channel a sign
bit and a mask code (code widths 1..7, i.e. binary masks and multicoat codes), every pixel
an int8, or a uint8 (0..255, a ReLU's output) on the cycles whose `xu` bit is 1; the model adds sign * code * x into int32 accumulators that wrap like the RTL's.
Every accumulator is compared after every cycle.
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from seedcc.backends.simulator import load_test_args
from seedcc.rtl_models.hwfacts import CODE_BITS_MAX

CODE_W = CODE_BITS_MAX  # width of a code on the tile's port (rtl_models/hwfacts.vh)


class PeModel:
    def __init__(self, pixels: int) -> None:
        self.acc = np.zeros((16, pixels), dtype=np.int64)

    def load(self, values: np.ndarray) -> None:
        self.acc = values.astype(np.int64).copy()

    def mac(self, signs: np.ndarray, codes: np.ndarray, x: np.ndarray) -> None:
        w = np.where(signs == 1, 1, -1) * codes.astype(np.int64)
        self.acc = self.acc + w[:, None] * x[None, :].astype(np.int64)
        self.acc = (self.acc + 2**31) % 2**32 - 2**31  # int32 wrap-around


def pack(values, width: int) -> int:
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & ((1 << width) - 1)) << (i * width)
    return word


def unpack_acc(word: int, pixels: int) -> np.ndarray:
    vals = [(word >> (32 * i)) & 0xFFFFFFFF for i in range(16 * pixels)]
    arr = np.array([v - (1 << 32) if v >> 31 else v for v in vals], dtype=np.int64)
    return arr.reshape(16, pixels)


@cocotb.test()
async def pe_tile_matches_numpy(dut) -> None:
    args = load_test_args()
    pixels = int(args["pixels"])
    cycles = int(args.get("cycles", 400))
    rng = np.random.default_rng(int(args.get("seed", 5)))
    Clock(dut.clk, 10, unit="ns").start()
    model = PeModel(pixels)
    dut.pe_load.value = 0
    dut.pe_en.value = 0
    await RisingEdge(dut.clk)
    for cyc in range(cycles):
        if cyc == 0 or rng.random() < 0.05:
            kind = "load"
        else:
            kind = "mac" if rng.random() < 0.85 else "hold"
        dut.pe_load.value = int(kind == "load")
        dut.pe_en.value = int(kind == "mac")
        if kind == "load":
            big = rng.random() < 0.3  # near the int32 limits, to exercise wrap-around
            lo, hi = (-(2**31), 2**31) if big else (-1000, 1000)
            init = rng.integers(lo, hi, size=(16, pixels), dtype=np.int64)
            dut.pe_load_val.value = pack(init.reshape(-1), 32)
            model.load(init)
        signs = rng.integers(0, 2, 16)
        code_bits = int(rng.integers(1, CODE_W + 1))
        codes = rng.integers(0, 1 << code_bits, 16)
        unsigned = rng.random() < 0.5
        x = rng.integers(0, 256, pixels) if unsigned else rng.integers(-128, 128, pixels)
        dut.pe_signs.value = pack(signs, 1)
        dut.pe_codes.value = pack(codes, CODE_W)
        dut.pe_x.value = pack(x, 8)
        dut.pe_xu.value = int(unsigned)
        if kind == "mac":
            model.mac(signs, codes, x)
        await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)  # settled; inputs for the next cycle may be set from here
        got = unpack_acc(int(dut.pe_acc.value), pixels)
        if not np.array_equal(got, model.acc):
            o, p = map(int, np.argwhere(got != model.acc)[0])
            raise AssertionError(f"cycle {cyc} ({kind}): PE (channel {o}, pixel {p}) holds "
                                 f"{got[o, p]}, expected {model.acc[o, p]}")
    dut._log.info("%d cycles of 16 x %d PEs match", cycles, pixels)
