"""Bring-your-own-RTL launcher (host side): build an accelerator, run seedcc's vectors on it.

:func:`verify_rtl` builds the Verilog sources you name (or seedcc's own RTL) with the
simulator seedcc uses (backends/simulator.py), then runs the cocotb harness
(:mod:`seedcc.backends.harness`) with your adapter class over vector directories written
by :func:`seedcc.backends.vectors.write_vectors`. A failing run is repeated once on a
build with waveforms (unless ``SEEDCC_WAVES=0``), so the failure names the waveform file.
docs/vectors.md describes the vectors and the adapter; ``examples/byo_rtl`` is a worked
example with a differently named top level.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from seedcc.backends import simulator
from seedcc.backends.harness import STATS
from seedcc.backends.rtlrun import dram_size
from seedcc.backends.vectors import load_vectors
from seedcc.errors import SeedccError

HARNESS = "seedcc.backends.harness"
TESTCASE = "verify_adapter"
SEEDCC_ADAPTER = "seedcc.backends.harness:SeedccAdapter"
SEEDCC_TOP = "seedcc_tb"


@dataclass
class HarnessOutcome:
    ok: bool
    message: str  # the failure (first wrong output word, vectors, waveform) or a summary
    waves_file: Path | None
    cycles: list[int]  # the accelerator's cycle counter per vector directory (when ok)


def build_sources(sources: Sequence[Path], top: str, parameters: Mapping[str, int], *,
                  includes: Sequence[Path] = (), sim: str | None = None,
                  waves: bool = False, build_args: Sequence[str] = ()) -> simulator.Build:
    """Build user Verilog ``sources`` with toplevel ``top`` through seedcc's build cache
    (keyed by simulator, top, parameters, waves, ``build_args`` and source contents)."""
    return simulator.build(top, parameters, sim=sim, waves=waves, sources=sources,
                           includes=includes, extra_flags=build_args)


def verify_rtl(vector_dirs: Sequence[str | Path], work_dir: str | Path, *,
               adapter: str = SEEDCC_ADAPTER, sources: Sequence[Path] | None = None,
               top: str = SEEDCC_TOP, parameters: Mapping[str, int] | None = None,
               includes: Sequence[Path] = (), python_path: Sequence[Path] = (),
               sim: str | None = None, build_args: Sequence[str] = ()) -> HarnessOutcome:
    """Run every vector directory through ``adapter`` ("module:Class", importable with
    ``python_path``) on the RTL. ``sources=None`` means seedcc's own RTL (toplevel
    ``seedcc_tb``, parameters from the vectors' config); otherwise ``parameters`` are
    passed to your ``top`` as given and ``build_args`` to the simulator's compiler."""
    dirs = [Path(d).resolve() for d in vector_dirs]
    if not dirs:
        raise SeedccError("verify_rtl needs at least one vector directory")
    work = Path(work_dir).resolve()
    args = {"adapter": adapter, "vectors": [str(d) for d in dirs]}
    if sources is None:
        first = load_vectors(dirs[0])
        params = {**first.config.verilog_params(),
                  "DRAM_BYTES": dram_size(max(len(load_vectors(d).dram) for d in dirs))}
        bld = simulator.build(top, params, sim=sim, public=False)
        outcome = simulator.run_test(bld, HARNESS, work, args=args, testcase=TESTCASE,
                                     python_path=python_path)
    else:
        params = dict(parameters or {})
        bld = build_sources(sources, top, params, includes=includes, sim=sim,
                            build_args=build_args)
        outcome = simulator.run_test(bld, HARNESS, work, args=args, testcase=TESTCASE,
                                     python_path=python_path, rerun_with_waves=False)
        if not outcome.ok and simulator.waves_mode() == "fail":
            wbld = build_sources(sources, top, params, includes=includes, sim=sim, waves=True,
                                 build_args=build_args)
            again = simulator.run_test(wbld, HARNESS, work / "waves", args=args,
                                       testcase=TESTCASE, python_path=python_path,
                                       rerun_with_waves=False)
            outcome = again if not again.ok else outcome
    stats_file = (outcome.results_xml.parent / STATS)
    stats = json.loads(stats_file.read_text()) if outcome.ok and stats_file.exists() else []
    message = (f"{len(dirs)} vector directory(ies) through {adapter}: outputs and cycles as "
               "expected" if outcome.ok else outcome.summary())
    return HarnessOutcome(outcome.ok, message, outcome.waves_file, [s["cycles"] for s in stats])
