"""The adapter for npu_top.v: how seedcc's harness drives this accelerator's ports.

Six coroutines are all a design needs (seedcc.backends.harness.Adapter); the harness loads
the vectors, calls them in order and checks every output word and the cycle counter.
"""

from __future__ import annotations

from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge, with_timeout

from seedcc.backends.harness import Adapter

CLOCK_NS = 10


class NpuAdapter(Adapter):
    def __init__(self, dut) -> None:
        super().__init__(dut)
        self.clock = None

    async def setup(self) -> None:
        d = self.dut
        if self.clock is None:
            self.clock = Clock(d.aclk, CLOCK_NS, unit="ns")
            self.clock.start()
        d.areset.value = 1
        for port in (d.ctrl_go, d.prog_wen, d.prog_index, d.prog_word, d.host_mem_wen,
                     d.host_mem_addr, d.host_mem_wdata):
            port.value = 0
        await ClockCycles(d.aclk, 3)
        d.areset.value = 0
        await RisingEdge(d.aclk)

    async def load_program(self, words: list[int]) -> None:
        d = self.dut
        d.prog_wen.value = 1
        for i, word in enumerate(words):
            d.prog_index.value = i
            d.prog_word.value = word
            await RisingEdge(d.aclk)
        d.prog_wen.value = 0

    async def load_memory(self, image: bytes) -> None:
        d = self.dut
        d.host_mem_wen.value = 1
        for addr, byte in enumerate(image):
            d.host_mem_addr.value = addr
            d.host_mem_wdata.value = byte
            await RisingEdge(d.aclk)
        d.host_mem_wen.value = 0
        await RisingEdge(d.aclk)

    async def start(self) -> None:
        self.dut.ctrl_go.value = 1
        await RisingEdge(self.dut.aclk)
        self.dut.ctrl_go.value = 0

    async def wait_done(self, max_cycles: int) -> None:
        await with_timeout(RisingEdge(self.dut.stat_idle), max_cycles * CLOCK_NS, "ns")
        await RisingEdge(self.dut.aclk)
        assert not int(self.dut.stat_fault.value), "npu_top raised stat_fault"

    async def read_cycles(self) -> int:
        return int(self.dut.perf_cycles.value.to_unsigned())

    async def read_memory(self, addr: int, length: int) -> bytes:
        d = self.dut
        out = bytearray()
        for a in range(addr, addr + length):
            d.host_mem_addr.value = a
            await FallingEdge(d.aclk)  # the read is combinational: sample it mid-cycle
            out.append(int(d.host_mem_rdata.value.to_unsigned()))
        return bytes(out)


class OffByOneAdapter(NpuAdapter):
    """A deliberately broken adapter (for the harness's own test): it reads every output
    one byte too far, a classic address bug. The harness must name the first wrong word."""

    async def read_memory(self, addr: int, length: int) -> bytes:
        return await super().read_memory(addr + 1, length)
