"""Run a cocotb test module on a finished build and report per-test outcomes (docs/rtl.md).

Contract: :func:`run_test` never raises for a failing test or a crashing simulator; it
returns a :class:`SimOutcome` naming each failure (and the waveform file when one was
recorded). The run goes through the public ``test()`` of cocotb's runner
(:func:`cocotb_tools.runner.get_runner`), which starts the simulator in `test_dir` with the
process's environment plus cocotb's own variables, and exports ``sys.path`` as the
simulator's ``PYTHONPATH``.

Arguments reach the cocotb test module as ``seedcc_args.json`` in the test directory (read
with :func:`load_test_args`), including the waveform path for failure messages.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from cocotb_tools.runner import get_runner

from seedcc.backends.simbuild import TIMESCALE, Build, build, waves_mode

ARGS_FILE = "seedcc_args.json"


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


def load_test_args() -> dict[str, Any]:
    """Inside a cocotb test: the arguments :func:`run_test` wrote for this run."""
    path = Path.cwd() / ARGS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def run_test(bld: Build, test_module: str, test_dir: Path, *, args: Mapping[str, Any] | None = None,
             testcase: str | Sequence[str] | None = None, python_path: Sequence[Path] = (),
             seed: int | None = None, rerun_with_waves: bool | None = None) -> SimOutcome:
    """Run the cocotb module `test_module` against a build; never raises for a failing test.

    `test_module` must be importable from ``sys.path``: cocotb's runner hands the simulator
    this process's ``sys.path`` and has no other channel, so directories in `python_path`
    that are not on it yet are appended to it.

    A failing run of a build without waves is repeated on the same configuration built
    with waves (in ``test_dir/waves``), unless ``SEEDCC_WAVES=0`` or `rerun_with_waves` is
    False; the outcome returned is then the rerun's, whose messages name the waveform.
    """
    for p in python_path:
        if str(p) not in sys.path:
            sys.path.append(str(p))
    outcome = _run_once(bld, test_module, test_dir, args, testcase, seed)
    if rerun_with_waves is None:
        rerun_with_waves = waves_mode() == "fail"
    if outcome.ok or bld.waves or not rerun_with_waves:
        return outcome
    wbld = build(bld.top, bld.parameters, sim=bld.sim, waves=True, public=bld.public)
    again = _run_once(wbld, test_module, Path(test_dir) / "waves", args, testcase, seed)
    if again.ok:  # not reproducible with tracing on: report the first run
        outcome.sim_error = (outcome.sim_error or "") + " (passed when rerun with waves)"
        return outcome
    return again


def _run_once(bld: Build, test_module: str, test_dir: Path, args: Mapping[str, Any] | None,
              testcase: str | Sequence[str] | None, seed: int | None) -> SimOutcome:
    test_dir = Path(test_dir).resolve()
    test_dir.mkdir(parents=True, exist_ok=True)
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
        get_runner(bld.sim.name).test(
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
