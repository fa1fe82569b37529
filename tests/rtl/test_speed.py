"""Simulation speed on a hand-built 62k-cycle convolution (96 -> 32 channels, 16x16):
correct outputs and cycles, and the simulated cycles per wall-clock second it reports
(printed; ~200k/s with Verilator on 2 cores). Marked slow: `pytest -m slow tests/rtl -s`."""

from __future__ import annotations

import json

import pytest
from rtl_programs import case_conv_large
from rtlsupport import DRAM_BYTES, accel_build

from seedcc.backends.rtlrun import TESTBENCH
from seedcc.backends.simulator import run_test
from seedcc.backends.vectors import write_vectors
from seedcc.rtl_models.hwconfig import SMALL

pytestmark = [pytest.mark.rtl, pytest.mark.slow]


def test_simulated_cycles_per_second(tmp_path):
    case = case_conv_large(c=96)
    write_vectors(case.program, case.inputs, tmp_path / "vectors", expected_outputs=case.expected,
                  expected_cycles=case.cycles)
    bld = accel_build()
    outcome = run_test(bld, TESTBENCH, tmp_path / "sim",
                       args={"vectors": [str(tmp_path / "vectors")],
                             "parameters": SMALL.verilog_params(), "dram_bytes": DRAM_BYTES})
    assert outcome.ok, outcome.summary()
    stats = json.loads((tmp_path / "sim" / "seedcc_stats.json").read_text())[0]
    print(f"\n{bld.sim.name}: {stats['cycles']} cycles in {stats['wall_s']:.3f} s = "
          f"{stats['cycles_per_s']:.0f} cycles/s")
