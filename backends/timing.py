"""The cycle model: how many clock cycles each instruction takes.

One definition shared by the reference model's counters and the RTL (whose FSM is built
to take exactly these cycles; the cocotb end-to-end tests compare the two). Every
instruction pays one issue cycle (fetch + decode) before it executes. docs/isa.md explains
each term.
"""

from __future__ import annotations

from seedcc.backends.isa import Instruction
from seedcc.rtl_models.hwconfig import HwConfig

ISSUE = 1  # fetch + decode


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def exec_cycles(ins: Instruction, cfg: HwConfig) -> int:
    """Execute cycles of one instruction (without the issue cycle)."""
    f = ins.fields
    op = ins.op
    if op == "HALT":
        return 0
    if op in ("DMA_LOAD", "DMA_STORE"):
        return cfg.dma_latency + ceil_div(f["length"], cfg.bus_bytes)
    if op == "SETGEN":
        return f["count"]
    if op == "MAC":
        tiles = ceil_div(f["pix_count"], cfg.pixels)
        return tiles * (f["in_c"] * f["kh"] * f["kw"] + 2)  # restart + MACs + write-back
    if op == "REQ":
        return f["oc_count"] * ceil_div(f["pix_count"], cfg.pixels)
    if op == "ADD":
        return ceil_div(f["length"], cfg.pixels)
    if op in ("MAXPOOL", "AVGPOOL"):
        return f["channels"] * f["out_h"] * f["out_w"] * (f["kh"] * f["kw"] + 1)
    raise AssertionError(f"no timing for {op}")


def cycles(ins: Instruction, cfg: HwConfig) -> int:
    return ISSUE + exec_cycles(ins, cfg)
