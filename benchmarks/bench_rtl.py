"""Simulated cycles per wall-clock second of the RTL under Verilator (or SEEDCC_SIM=icarus).

    python benchmarks/bench_rtl.py [--samples 4] [--channels 32] [--size 32]

Compiles a supermask CNN for the SMALL configuration, runs it on the RTL (bit-exact
against the reference model, which also gives the baseline measured in the same run:
the reference model's own wall time for the same samples), and prints cycles per second.
The Verilator build is cached; its time is printed separately.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

import seedcc
from seedcc import models
from seedcc.backends import refsim
from seedcc.backends.rtlrun import accel_build, dram_size, run_on_rtl
from seedcc.rtl_models.hwconfig import SMALL


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--channels", type=int, default=32)
    p.add_argument("--size", type=int, default=32)
    a = p.parse_args()

    program = seedcc.compile(models.small_cnn(channels=a.channels, size=a.size), config=SMALL)
    x = np.random.default_rng(0).standard_normal((a.samples, 3, a.size, a.size)).astype(np.float32)
    t0 = time.perf_counter()
    bld = accel_build(SMALL, dram_size(len(program.image) + 4096))
    t_build = time.perf_counter() - t0

    t0 = time.perf_counter()
    ref = refsim.run(program, {"x": x})
    t_ref = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as work:
        out = run_on_rtl(program, {"x": x}, work_dir=work)
    if not out.ok:
        raise SystemExit(out.summary)
    total = sum(out.cycles)
    print(f"model: small_cnn({a.channels} channels, {a.size}x{a.size}) on SMALL "
          f"({SMALL.lanes} lanes x 16 x {SMALL.pixels} pixels), {a.samples} samples, "
          f"{ref.cycles} cycles each, bit-exact: yes")
    print(f"{bld.sim.name} build (cached after the first run): {t_build:.1f} s")
    print(f"{'RTL simulation':<24} {out.wall_s:8.3f} s  {total / out.wall_s:12,.0f} cycles/s")
    print(f"{'reference model':<24} {t_ref:8.3f} s  {total / t_ref:12,.0f} cycles/s")
    print(f"ratio reference model / RTL speed: {t_ref and out.wall_s / t_ref:.0f}x")


if __name__ == "__main__":
    main()
