"""Bring your own RTL: verify npu_top.v (a differently named top level) against seedcc.

    python examples/byo_rtl/run_example.py [--out DIR] [--adapter npu_adapter:NpuAdapter]

1. build the quickstart model and compile it for the SMALL configuration;
2. write the test vectors of two samples (docs/vectors.md);
3. build npu_top.v (plus the seedcc datapath it wraps) and run the vectors through the
   cocotb harness with the adapter in npu_adapter.py; then the same vectors on seedcc's
   own RTL through its adapter, for comparison.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import seedcc
from seedcc import models
from seedcc.backends.byo_rtl import verify_rtl
from seedcc.backends.simulator import RTL_DIR, rtl_sources
from seedcc.backends.vectors import write_vectors
from seedcc.rtl_models.hwconfig import SMALL

HERE = Path(__file__).resolve().parent


def npu_sources() -> list[Path]:
    """npu_top.v and the seedcc modules it instantiates (not seedcc's testbench tops)."""
    return [HERE / "npu_top.v"] + [p for p in rtl_sources() if not p.stem.endswith("_tb")]


def write_example_vectors(out: Path, samples: int = 2) -> list[Path]:
    program = seedcc.compile(models.small_cnn(), config=SMALL)
    x = np.random.default_rng(0).standard_normal((samples, 3, 16, 16)).astype(np.float32)
    dirs = []
    for i in range(samples):
        write_vectors(program, x[i], out / f"vectors{i}")
        dirs.append(out / f"vectors{i}")
    return dirs


def run_npu(dirs: list[Path], work: Path, adapter: str = "npu_adapter:NpuAdapter"):
    return verify_rtl(dirs, work, adapter=adapter, sources=npu_sources(), top="npu_top",
                      parameters={**SMALL.verilog_params(), "MEM_BYTES": 1 << 16},
                      includes=[RTL_DIR], python_path=[HERE])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="out/byo_rtl", type=Path)
    p.add_argument("--adapter", default="npu_adapter:NpuAdapter")
    a = p.parse_args()
    dirs = write_example_vectors(a.out)
    print(f"wrote {len(dirs)} vector directories under {a.out}")
    npu = run_npu(dirs, a.out / "npu", a.adapter)
    print(f"npu_top ({a.adapter}): {'PASS' if npu.ok else 'FAIL'}: {npu.message}")
    own = verify_rtl(dirs, a.out / "seedcc")
    print(f"seedcc_tb (SeedccAdapter): {'PASS' if own.ok else 'FAIL'}: {own.message}")
    return 0 if npu.ok and own.ok else 1


if __name__ == "__main__":
    sys.exit(main())
