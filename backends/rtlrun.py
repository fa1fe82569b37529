"""Run a compiled program on the Verilog RTL (cocotb + Verilator/Icarus) and compare it
with the reference model: every output byte and the cycle counter.

This is what `seedcc verify --rtl` and the end-to-end RTL tests call. The accelerator is
built once per hardware configuration and DRAM size (cached, see backends/simulator.py);
each sample becomes one vector directory (backends/vectors.py) and all samples run in one
simulator process (backends/cocotb_accel.py).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seedcc.backends import simulator
from seedcc.backends.program import Program
from seedcc.backends.vectors import load_vectors, write_vectors
from seedcc.rtl_models.hwconfig import HwConfig

TESTBENCH = "seedcc.backends.cocotb_accel"
TOP = "seedcc_tb"
MIN_DRAM = 1 << 16


@dataclass
class RtlOutcome:
    ok: bool
    samples: int
    cycles: list[int]  # RTL cycle counter at HALT, per sample
    expected_cycles: int  # the reference model's prediction
    wall_s: float
    simulator: str
    message: str  # first mismatch, with the waveform path when one was kept

    @property
    def summary(self) -> str:
        if self.ok:
            rate = sum(self.cycles) / self.wall_s if self.wall_s else 0.0
            return (f"RTL ({self.simulator}): {self.samples} sample(s) bit-identical to the reference "
                    f"model, {self.cycles[0]} cycles = predicted ({rate:,.0f} simulated cycles/s)")
        return f"RTL ({self.simulator}) MISMATCH: {self.message}"


def dram_size(nbytes: int) -> int:
    """The testbench DRAM model size for an image: a power of two, at least 64 KiB."""
    return max(MIN_DRAM, 1 << max(0, (nbytes - 1).bit_length()))


def accel_build(config: HwConfig, dram_bytes: int, sim: str | None = None) -> simulator.Build:
    return simulator.build(TOP, {**config.verilog_params(), "DRAM_BYTES": dram_bytes}, sim=sim,
                           public=False)


def run_vectors(config: HwConfig, vector_dirs: list[Path], work_dir: Path,
                sim: str | None = None) -> tuple[simulator.SimOutcome, list[dict], int]:
    """Run vector directories (written for `config`) on the RTL; (outcome, stats, DRAM size)."""
    dram = dram_size(max(load_vectors(d).dram.__len__() for d in vector_dirs))
    bld = accel_build(config, dram, sim)
    outcome = simulator.run_test(bld, TESTBENCH, work_dir, testcase="run_vectors",
                                 args={"vectors": [str(d) for d in vector_dirs],
                                       "parameters": config.verilog_params(), "dram_bytes": dram})
    stats_file = Path(work_dir) / "seedcc_stats.json"
    if not stats_file.exists() and outcome.waves_file is not None:
        stats_file = Path(work_dir) / "waves" / "seedcc_stats.json"
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else []
    return outcome, stats, dram


def run_on_rtl(program: Program, inputs: dict[str, np.ndarray],
               work_dir: str | Path | None = None, sim: str | None = None) -> RtlOutcome:
    """Run every sample of `inputs` (float32, batch axis first) on the RTL; expectations
    (outputs and cycles) come from the reference model."""
    work = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="seedcc_rtl_"))
    n = len(next(iter(inputs.values())))
    dirs = []
    for i in range(n):
        d = work / f"vectors{i}"
        write_vectors(program, {k: v[i] for k, v in inputs.items()}, d)
        dirs.append(d)
    outcome, stats, _ = run_vectors(program.config, dirs, work / "sim", sim)
    expected_cycles = load_vectors(dirs[0]).expected_cycles
    return RtlOutcome(
        ok=outcome.ok, samples=n, cycles=[s["cycles"] for s in stats], expected_cycles=expected_cycles,
        wall_s=sum(s["wall_s"] for s in stats), simulator=simulator.find_simulator(sim).name,
        message="" if outcome.ok else outcome.summary())
