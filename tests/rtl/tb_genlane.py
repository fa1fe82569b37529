"""cocotb: one generator lane (seedcc_blocks_tb.u_gen) against the Python generators.

For every generator the RTL implements and several seeds/groups, load the lane with the
group start state, step it 10,000 times and compare each cycle's 16 sign bits with
``Generator.stream``; then check the 64-bit state against ``jump``, that a held lane keeps
its bits, and that ``restart`` replays the stream from the start state.
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

from seedcc.backends.simulator import load_test_args
from seedcc.rtl_models.generators import GENERATORS

SEEDS = (1024, 3072, 0xBEEF)


class LaneDriver:
    def __init__(self, dut) -> None:
        self.dut = dut

    async def idle(self) -> None:
        d = self.dut
        d.gl_load.value = 0
        d.gl_restart.value = 0
        d.gl_step.value = 0
        await RisingEdge(d.clk)

    async def load(self, state: int, gen_id: int) -> None:
        d = self.dut
        d.gl_load_state.value = state
        d.gl_load_gen.value = gen_id
        d.gl_load.value = 1
        await RisingEdge(d.clk)
        d.gl_load.value = 0


class LaneMonitor:
    """Samples the lane's bits in every stepping cycle (before the edge that steps it)."""

    def __init__(self, dut) -> None:
        self.dut = dut

    async def step_and_sample(self, n: int) -> np.ndarray:
        d = self.dut
        out = np.empty(n, dtype=np.uint16)
        d.gl_step.value = 1
        for t in range(n):
            await ReadOnly()
            out[t] = int(d.gl_bits.value)
            await RisingEdge(d.clk)
        d.gl_step.value = 0
        return out


def first_mismatch(got: np.ndarray, exp: np.ndarray) -> str:
    t = int(np.flatnonzero(got != exp)[0])
    return f"step {t + 1}: RTL bits {int(got[t]):#06x}, expected {int(exp[t]):#06x}"


@cocotb.test()
async def generator_lane_streams(dut) -> None:
    args = load_test_args()
    steps = int(args.get("steps", 10_000))
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst_n.value = 0
    drv, mon = LaneDriver(dut), LaneMonitor(dut)
    await drv.idle()
    dut.rst_n.value = 1
    await drv.idle()
    for name in args.get("generators", list(GENERATORS)):
        gen = GENERATORS[name]
        for k, seed in enumerate(SEEDS):
            start = int(gen.group_state(seed, k))
            await drv.load(start, gen.gen_id)
            got = await mon.step_and_sample(steps)
            exp = gen.stream(np.array([start], dtype=np.uint64), steps)[0]
            where = f"{name} seed {seed:#x} group {k} (start {start:#x})"
            assert np.array_equal(got, exp), f"{where}: {first_mismatch(got, exp)}"
            await ReadOnly()
            state = int(dut.gl_state.value)
            want = gen.jump(start, steps)
            assert state == want, f"{where}: state after {steps} steps {state:#x}, not {want:#x}"
            await RisingEdge(dut.clk)  # held (no step): the bits must not move
            await ReadOnly()
            assert int(dut.gl_bits.value) == int(gen.bits(gen.step(gen.jump(start, steps)))), (
                f"{where}: a lane without `step` changed")
            await RisingEdge(dut.clk)
            dut.gl_restart.value = 1
            await RisingEdge(dut.clk)
            dut.gl_restart.value = 0
            again = await mon.step_and_sample(8)
            assert np.array_equal(again, exp[:8]), (
                f"{where}: after restart {first_mismatch(again, exp[:8])}")
            dut._log.info("%s: %d steps match", where, steps)
