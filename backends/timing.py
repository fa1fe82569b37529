"""The cycle model: how many clock cycles each instruction takes.

The rule of each instruction is part of the ISA table (``Opcode.cycles`` in
``seedcc.backends.isa``, shown in docs/isa.md "Timing model"); this module adds the issue
cycle (fetch + decode) every instruction pays before it executes, and the waits for the
units that can work in the background (``isa.ENGINES``: the DMA engine, the REQ unit;
docs/isa.md "Background units"): an instruction of such a unit, or one that shares a port
with it (``Opcode.waits_for``: SETGEN, SETFRZ and LAYERNORM read the param SRAM through the
REQ unit's port), issues no earlier than the last cycle of the unit's work in flight, SYNC
and HALT no earlier than the last cycle of every unit's, and work issued with ``background`` set runs on its unit while the next
instructions issue. The reference model's counters use it, and the RTL's FSMs are built
to take exactly these cycles (the cocotb end-to-end tests compare the two).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from seedcc.backends.isa import BY_NAME, ENGINES, Instruction, ceil_div
from seedcc.rtl_models.hwconfig import HwConfig

__all__ = ["ISSUE", "Clock", "Step", "ceil_div", "cycles", "exec_cycles", "timeline"]

ISSUE = 1  # fetch + decode


def exec_cycles(ins: Instruction, cfg: HwConfig) -> int:
    """Execute cycles of one instruction (without the issue cycle); for the work of a unit
    that can run in the background, the cycles the unit works on it, background or not."""
    return BY_NAME[ins.op].cycles(ins.fields, cfg)


def cycles(ins: Instruction, cfg: HwConfig) -> int:
    """Issue and execute cycles of an instruction run on its own (no waits)."""
    return ISSUE + exec_cycles(ins, cfg)


@dataclass(frozen=True)
class Step:
    """One executed instruction on the machine's time line."""

    issue: int
    """Its issue cycle (cycles elapsed before it)."""
    cycles: int
    """Cycles charged to it: the wait for a unit, the issue cycle, and the execute cycles
    the next instruction waits for (none for background work)."""
    wait: int
    """Cycles it waited for a unit before issuing."""
    inflight: tuple[int, ...]
    """Positions (in the trace) of background work still running when it issues: the
    instruction must not touch that work's SRAM bytes."""


class Clock:
    """The time line built one executed instruction at a time (see :func:`timeline`)."""

    def __init__(self, cfg: HwConfig) -> None:
        self.cfg = cfg
        self.now = 0  # the next issue cycle
        self.last = dict.fromkeys(ENGINES, -1)  # each unit's last cycle of its latest work
        self.owner = dict.fromkeys(ENGINES, -1)  # that work's position in the trace
        self.count = 0  # instructions so far

    def idle(self, engine: str) -> bool:
        """Whether work issued now on `engine` would not wait for it."""
        return self.last[engine] <= self.now

    def step(self, ins: Instruction) -> Step:
        spec = BY_NAME[ins.op]
        engines = ENGINES if spec.drains else ((spec.engine,) if spec.engine else ()) + spec.waits_for
        start = max([self.now, *(self.last[e] for e in engines)])
        e = spec.cycles(ins.fields, self.cfg)
        busy = tuple(self.owner[u] for u in ENGINES if u != spec.engine and self.last[u] >= start)
        if spec.engine:
            self.last[spec.engine], self.owner[spec.engine] = start + e, self.count
            end = start + ISSUE + (0 if ins.fields["background"] else e)
        else:
            end = start + ISSUE + e
        step = Step(start, end - self.now, start - self.now, () if spec.drains else busy)
        self.now, self.count = end, self.count + 1
        return step


def timeline(trace: Iterable[Instruction], cfg: HwConfig) -> list[Step]:
    """The time line of instructions as executed (``isa.loop_trace`` order): the sum of
    their ``cycles`` is the cycle counter at HALT."""
    clock = Clock(cfg)
    return [clock.step(ins) for ins in trace]
