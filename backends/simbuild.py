"""Build the RTL in ``rtl_models/`` for a simulator, once per configuration (docs/rtl.md).

Contract: :func:`build` returns a finished :class:`Build` in the cache of
``backends/simcache.py``, building it first if no build with the same key exists; a
failed build is a :class:`SeedccError` with the end of its log. No process state changes:
the simulator's environment (:class:`~seedcc.backends.simfind.Simulator` ``env``) is passed
to each subprocess.

Verilator is run directly (``verilator`` then ``make``), with the flags of cocotb's
Verilator runner (``cocotb_tools/runner.py``) so that the runner's public ``test()`` can run
the model; calling it ourselves lets the build carry its environment and, with
``public=False``, use ``--public-depth 1`` instead of ``--public-flat-rw``. Icarus builds use
the runner's public ``build()`` (``iverilog`` on the process ``PATH``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import cocotb_tools.config
from cocotb_tools.runner import get_runner

import seedcc.rtl_models
from seedcc.backends.simcache import BuildSpec, build_root, locked
from seedcc.backends.simfind import Simulator, find_simulator, verilator_fst_available
from seedcc.errors import SeedccError

WAVES_ENV = "SEEDCC_WAVES"
TIMESCALE = ("1ns", "1ps")
STAMP = "seedcc_build.json"  # written last: its presence marks a finished build
VERILATOR_FLAGS = ("-O3", "--x-assign", "fast", "--x-initial", "fast")

RTL_DIR = Path(seedcc.rtl_models.__file__).resolve().parent


@dataclass(frozen=True)
class Build:
    """A finished build in the cache, ready for ``simrun.run_test``."""

    sim: Simulator
    top: str
    build_dir: Path
    parameters: Mapping[str, int]
    waves: bool
    wave_format: str = "fst"  # "fst" or "vcd" (Verilator without the lz4 library)
    public: bool = True  # every internal signal visible to cocotb (Verilator --public-flat-rw)


def waves_mode() -> str:
    """``SEEDCC_WAVES``: "always" (1), "never" (0), or by default "fail": runs go without a
    waveform (a VCD of the whole array is ~20 kB a cycle) and a failing run is repeated once
    on a waves build so that its failure message can name the waveform file."""
    v = os.environ.get(WAVES_ENV, "fail").strip().lower()
    if v in ("1", "true", "yes", "on", "always"):
        return "always"
    if v in ("0", "false", "no", "off", "never"):
        return "never"
    return "fail"


def rtl_sources() -> list[Path]:
    """Every Verilog file of the RTL (units, accelerator, test harnesses)."""
    files = sorted(RTL_DIR.glob("*.v")) + sorted(RTL_DIR.glob("*.sv"))
    if not files:
        raise SeedccError(f"no Verilog sources in {RTL_DIR}; the seedcc installation is incomplete")
    return files


def build_spec(sim: Simulator, top: str, parameters: Mapping[str, int], waves: bool,
               public: bool = True, sources: Sequence[Path] | None = None,
               includes: Sequence[Path] = (), extra_flags: Sequence[str] = ()) -> BuildSpec:
    """The cache entry for building `top` with these settings: of rtl_models/ by default,
    of the given Verilog `sources` (and `includes` directories) for a user's own RTL."""
    files = tuple(rtl_sources()) if sources is None else tuple(Path(f).resolve() for f in sources)
    for f in files:
        if not f.is_file():
            raise SeedccError(f"Verilog source {f} does not exist")
    # Verilator writes FST when liblz4 (headers + library) is installed, else VCD.
    fmt = "vcd" if sim.name == "verilator" and not verilator_fst_available(sim) else "fst"
    return BuildSpec(
        simulator=sim.name, version=sim.version, executable=str(sim.executable),
        cocotb=f"{metadata.version('cocotb')} {cocotb_tools.config.libs_dir}", top=top,
        parameters=tuple(sorted(parameters.items())), waves=waves, wave_format=fmt,
        public=public or sim.name != "verilator",
        flags=(*(VERILATOR_FLAGS if sim.name == "verilator" else ()), *extra_flags),
        sources=files, headers=tuple(sorted(RTL_DIR.glob("*.vh"))),
        includes=tuple(Path(i).resolve() for i in includes))


def build(top: str, parameters: Mapping[str, int] | None = None, *,
          sim: Simulator | str | None = None, waves: bool | None = None,
          root: Path | None = None, public: bool = True, sources: Sequence[Path] | None = None,
          includes: Sequence[Path] = (), extra_flags: Sequence[str] = ()) -> Build:
    """Build `top` (a module in rtl_models/, or of `sources` with `includes` and
    `extra_flags` for a user's own RTL) once per configuration; reuse the cached build.

    `waves` defaults to whether :func:`waves_mode` is "always"; `root` to
    :func:`simcache.build_root`.
    ``public=False`` (Verilator only) exposes just the top-level ports to cocotb, which is
    all the whole-accelerator testbench needs, and simulates several times faster."""
    if not isinstance(sim, Simulator):
        sim = find_simulator(sim)
    params = dict(parameters or {})
    waves = waves_mode() == "always" if waves is None else waves
    spec = build_spec(sim, top, params, waves, public, sources, includes, extra_flags)
    build_dir = spec.folder(root or build_root())
    with locked(build_dir):
        if not (build_dir / STAMP).exists():
            shutil.rmtree(build_dir, ignore_errors=True)  # a build that stopped half-way
            build_dir.mkdir(parents=True)
            log = build_dir / "build.log"
            try:
                if sim.name == "verilator":
                    _build_verilator(sim, spec, build_dir, log)
                else:
                    _build_icarus(spec, build_dir, log)
            except (RuntimeError, SystemExit, OSError) as exc:
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise SeedccError(
                    f"{sim.name} build of {top} failed ({exc}); log {log}:\n{tail}") from None
            (build_dir / STAMP).write_text(json.dumps(spec.describe(), indent=1))
    return Build(sim, top, build_dir, params, waves, spec.wave_format, spec.public)


def verilator_commands(sim: Simulator, spec: BuildSpec, build_dir: Path,
                       jobs: int | None = None) -> list[list[str]]:
    """The ``verilator`` and ``make`` command lines of a build: those of cocotb's Verilator
    runner (same ``Vtop`` prefix, cocotb main and VPI library, so its ``test()`` runs the
    result), with ``--public-depth 1`` when ``spec.public`` is false."""
    libs = cocotb_tools.config.libs_dir
    main_cpp = cocotb_tools.config.share_dir / "lib" / "verilator" / "verilator.cpp"
    trace = {"fst": ["--trace-fst"], "vcd": ["--trace"]}[spec.wave_format] if spec.waves else []
    visibility = ["--public-flat-rw"] if spec.public else ["--public-depth", "1"]
    verilate = [
        str(sim.executable), "-cc", "--exe", "-Mdir", str(build_dir),
        "--top-module", spec.top, "--vpi", *visibility, "--prefix", "Vtop", "-o", spec.top,
        "-LDFLAGS", f"-Wl,-rpath,{libs} -L{libs} -lcocotbvpi_verilator",
        *trace, *spec.flags, "--timescale", "/".join(TIMESCALE),
        f"-I{RTL_DIR}", *(f"-I{d}" for d in spec.includes),
        *(f"-G{name}={value}" for name, value in spec.parameters),
        str(main_cpp), *(str(p) for p in spec.sources),
    ]
    if jobs is None:  # one job per CPU this process may use
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    make = ["make", "-j", str(jobs or 1), "-C", str(build_dir), "-f", "Vtop.mk",
            f"VM_TRACE={int(spec.waves)}", *sim.make_vars]
    return [verilate, make]


def _build_verilator(sim: Simulator, spec: BuildSpec, build_dir: Path, log: Path) -> None:
    env = dict(sim.env)
    with open(log, "w") as out:
        for cmd in verilator_commands(sim, spec, build_dir):
            out.write(f"$ {' '.join(cmd)}\n")
            out.flush()
            # The executable is looked up on the simulator's PATH, not the process's.
            exe = shutil.which(cmd[0], path=env.get("PATH", "")) or cmd[0]
            done = subprocess.run([exe, *cmd[1:]], cwd=build_dir, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"`{Path(cmd[0]).name}` exited with status {done.returncode}")


def _build_icarus(spec: BuildSpec, build_dir: Path, log: Path) -> None:
    get_runner("icarus").build(
        sources=list(spec.sources), includes=[RTL_DIR, *spec.includes], hdl_toplevel=spec.top,
        parameters=dict(spec.parameters), build_dir=build_dir, waves=spec.waves,
        timescale=TIMESCALE, log_file=log, always=True)
