"""The cycle model: how many clock cycles each instruction takes.

The rule of each instruction is part of the ISA table (``Opcode.cycles`` in
``seedcc.backends.isa``, shown in docs/isa.md "Timing model"); this module adds the issue
cycle (fetch + decode) every instruction pays before it executes. The reference model's
counters use it, and the RTL's FSMs are built to take exactly these cycles (the cocotb
end-to-end tests compare the two).
"""

from __future__ import annotations

from seedcc.backends.isa import BY_NAME, Instruction, ceil_div
from seedcc.rtl_models.hwconfig import HwConfig

__all__ = ["ISSUE", "ceil_div", "cycles", "exec_cycles"]

ISSUE = 1  # fetch + decode


def exec_cycles(ins: Instruction, cfg: HwConfig) -> int:
    """Execute cycles of one instruction (without the issue cycle)."""
    return BY_NAME[ins.op].cycles(ins.fields, cfg)


def cycles(ins: Instruction, cfg: HwConfig) -> int:
    return ISSUE + exec_cycles(ins, cfg)
