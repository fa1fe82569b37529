"""The cycle model: how many clock cycles each instruction takes.

The rule of each instruction is part of the ISA table (``Opcode.cycles`` in
``seedcc.backends.isa``, shown in docs/isa.md "Timing model"); this module adds the issue
cycle (fetch + decode) every instruction pays before it executes, and the waits of the
DMA engine (docs/isa.md "Background DMA"): a transfer, SYNC and HALT issue no earlier
than the last cycle of the transfer in flight, and a background transfer's execute cycles
run on the engine while the next instructions issue. The reference model's counters use
it, and the RTL's FSMs are built to take exactly these cycles (the cocotb end-to-end
tests compare the two).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from seedcc.backends.isa import BY_NAME, Instruction, ceil_div
from seedcc.rtl_models.hwconfig import HwConfig

__all__ = ["ISSUE", "Clock", "Step", "ceil_div", "cycles", "exec_cycles", "timeline"]

ISSUE = 1  # fetch + decode


def exec_cycles(ins: Instruction, cfg: HwConfig) -> int:
    """Execute cycles of one instruction (without the issue cycle); for a DMA transfer,
    the cycles the engine works on it, in the background or not."""
    return BY_NAME[ins.op].cycles(ins.fields, cfg)


def cycles(ins: Instruction, cfg: HwConfig) -> int:
    """Issue and execute cycles of an instruction run on its own (no DMA engine waits)."""
    return ISSUE + exec_cycles(ins, cfg)


@dataclass(frozen=True)
class Step:
    """One executed instruction on the machine's time line."""

    issue: int
    """Its issue cycle (cycles elapsed before it)."""
    cycles: int
    """Cycles charged to it: the wait for the DMA engine, the issue cycle, and the execute
    cycles the next instruction waits for (none for a background transfer)."""
    wait: int
    """Cycles it waited for the DMA engine before issuing."""
    inflight: int | None
    """Position (in the trace) of a background transfer still running when it issues, if any:
    the instruction must not touch that transfer's SRAM bytes."""


class Clock:
    """The time line built one executed instruction at a time (see :func:`timeline`)."""

    def __init__(self, cfg: HwConfig) -> None:
        self.cfg = cfg
        self.now = 0  # the next issue cycle
        self.last = -1  # the last cycle of the DMA engine's latest transfer
        self.owner = -1  # that transfer's position in the trace
        self.count = 0  # instructions so far

    def engine_idle(self) -> bool:
        """Whether a transfer issued now would not wait for the engine."""
        return self.last <= self.now

    def step(self, ins: Instruction) -> Step:
        spec = BY_NAME[ins.op]
        waits = spec.engine or spec.drains
        start = max(self.now, self.last) if waits else self.now
        e = spec.cycles(ins.fields, self.cfg)
        if spec.engine:
            inflight, self.last, self.owner = None, start + e, self.count
            end = start + ISSUE + (0 if ins.fields["background"] else e)
        else:
            inflight = self.owner if not waits and self.last >= start else None
            end = start + ISSUE + e
        step = Step(start, end - self.now, start - self.now, inflight)
        self.now, self.count = end, self.count + 1
        return step


def timeline(trace: Iterable[Instruction], cfg: HwConfig) -> list[Step]:
    """The time line of instructions as executed (``isa.loop_trace`` order): the sum of
    their ``cycles`` is the cycle counter at HALT."""
    clock = Clock(cfg)
    return [clock.step(ins) for ins in trace]
