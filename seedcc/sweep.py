"""Design-space sweeps: one model compiled and run on a grid of hardware configurations.

``seedcc sweep model.onnx --grid sweep.toml -o results/`` (docs/sweep.md). The grid file::

    base = "small"                    # "default", "small" or a HwConfig JSON file
    samples = 1                       # inputs per point for the reference-model run
    synthesise = false                # ask the synthesis hook for each point
    [grid]                            # every combination is one point
    lanes = [1, 2]
    pixels = [4, 8]
    generator = ["xorshift16"]        # optional what-if: regenerate the random layers

Each point compiles the model for its configuration, runs the reference model and
records cycles, energy, PE utilisation, traffic and an *area proxy* (PE count and SRAM
bits: a proxy, not synthesis). A point that fails records its error and the sweep goes on.
Points run on an :class:`Executor`: :class:`SerialExecutor` in this process, or
:class:`~seedcc.sweep_ray.RayExecutor` on a local or existing Ray cluster. Results go to
``sweep.csv`` (one row a point, :data:`COLUMNS`) and ``pareto.png``.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import onnx

from seedcc.backends import refsim
from seedcc.backends.profile import pe_utilisation
from seedcc.errors import BadInputError, SeedccError
from seedcc.files import atomic_write
from seedcc.flow import compile_model
from seedcc.plots import pareto_figure, png_bytes
from seedcc.rtl_models.generators import GENERATORS
from seedcc.rtl_models.hwconfig import DEFAULT, SMALL, HwConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

BASES = {"default": DEFAULT, "small": SMALL}
CONFIG_KEYS = tuple(f.name for f in fields(HwConfig) if f.name != "energy")
AXES = (*CONFIG_KEYS, "generator")
SRAM_BITS = {"act_sram_bytes": 8, "mask_sram_bytes": 8, "param_sram_bytes": 8, "acc_sram_words": 32}
NOT_AVAILABLE = "not available: seedcc has no synthesis flow yet"
#: The CSV columns, in order.
COLUMNS = ("point", *AXES, "status", "error", "pes", "instructions", "image_bytes", "cycles",
           "latency_us", "energy_uj", "pe_utilisation", "dram_bytes", "sram_bytes",
           "area_proxy_pes", "area_proxy_sram_bits", "synthesis", "pareto", "compile_s", "run_s", "worker")

#: A synthesis hook: config -> {"synthesis": text, ...}; None means no flow is installed.
SynthHook = Callable[[HwConfig], Mapping[str, Any]]
Row = dict[str, Any]


@dataclass(frozen=True)
class Grid:
    """A parsed grid file: the base config and the axes whose product gives the points."""

    base: HwConfig
    axes: tuple[tuple[str, tuple[Any, ...]], ...]
    samples: int = 1
    synthesise: bool = False

    def points(self) -> list[dict[str, Any]]:
        names = [name for name, _ in self.axes]
        return [dict(zip(names, combo)) for combo in itertools.product(*(v for _, v in self.axes))]


def _base(value: Any, where: Path) -> HwConfig:
    if value in BASES:
        return BASES[value]
    path = where.parent / str(value)
    try:
        return HwConfig.from_json(path.read_text())
    except (OSError, ValueError, TypeError) as e:
        raise BadInputError(f"{where}: base = {value!r} is not one of {', '.join(BASES)} nor a "
                            f"readable HwConfig JSON file ({e})") from None


def load_grid(path: str | os.PathLike) -> Grid:
    """Parse a grid file; errors name the file, the key and the valid choices."""
    where = Path(path)
    try:
        data = tomllib.loads(where.read_text())
    except OSError as e:
        raise BadInputError(f"cannot read grid file {where} ({e.strerror or e})") from None
    except tomllib.TOMLDecodeError as e:
        raise BadInputError(f"{where} is not valid TOML ({e})") from None
    unknown = sorted(set(data) - {"base", "samples", "synthesise", "grid"})
    if unknown:
        raise BadInputError(f"{where}: unknown top-level key(s) {unknown}; valid: base, samples, "
                            "synthesise, [grid]")
    grid = data.get("grid")
    if not isinstance(grid, dict) or not grid:
        raise BadInputError(f"{where}: needs a [grid] table with at least one axis ({', '.join(AXES)})")
    axes = []
    for name, values in grid.items():
        if name not in AXES:
            raise BadInputError(f"{where}: [grid] key {name!r} is not an axis; valid axes: "
                                f"{', '.join(AXES)}")
        values = tuple(values) if isinstance(values, list) else (values,)
        if not values:
            raise BadInputError(f"{where}: [grid] {name} is an empty list")
        for v in values:
            ok = v in GENERATORS if name == "generator" else (
                isinstance(v, (int, float)) and not isinstance(v, bool))
            if not ok:
                valid = ", ".join(GENERATORS) if name == "generator" else "numbers"
                raise BadInputError(f"{where}: [grid] {name} value {v!r} is not valid ({valid})")
        axes.append((name, values))
    samples = data.get("samples", 1)
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
        raise BadInputError(f"{where}: samples = {samples!r} must be a positive integer")
    return Grid(_base(data.get("base", "small"), where), tuple(axes), samples,
                bool(data.get("synthesise", False)))


def area_proxy(cfg: HwConfig) -> tuple[int, int]:
    """(PEs, SRAM bits): what the area mostly scales with. A proxy, never synthesis."""
    return cfg.pes, sum(getattr(cfg, name) * bits for name, bits in SRAM_BITS.items())


def _config(base: HwConfig, values: Mapping[str, Any]) -> HwConfig:
    changes = {k: v for k, v in values.items() if k in CONFIG_KEYS}
    return replace(base, **changes)


def evaluate(model: bytes, values: Mapping[str, Any], base: HwConfig, samples: int = 1,
             synthesise: bool = False, synth: SynthHook | None = None) -> Row:
    """One point: compile, run, measure. Never raises: a failure is a row with its error."""
    row: Row = dict(values, worker=f"{socket.gethostname()}:{os.getpid()}")
    try:
        cfg = _config(base, values)
        row.update({k: getattr(cfg, k) for k in CONFIG_KEYS})
        t0 = time.perf_counter()
        prog = compile_model(onnx.load_from_string(model), config=cfg,
                             generator=values.get("generator")).program
        row["generator"] = values.get("generator") or ",".join(
            sorted({str(layer.generator) for layer in prog.manifest.layers if layer.generator}))
        t1 = time.perf_counter()
        rng = np.random.default_rng(0)
        x = {d.name: rng.standard_normal((samples, *d.shape)).astype(np.float32)
             for d in prog.manifest.inputs}
        res = refsim.run(prog, x)
        t2 = time.perf_counter()
        c = res.counters
        pes, bits = area_proxy(cfg)
        row.update(status="ok", error="", pes=cfg.pes, instructions=len(prog.instructions),
                   image_bytes=len(prog.image), cycles=res.cycles,
                   latency_us=round(res.cycles / cfg.clock_mhz, 3),
                   energy_uj=round(res.energy_pj / 1e6, 6),
                   pe_utilisation=round(pe_utilisation(c, cfg.pes), 4),
                   dram_bytes=c["dram_read_bytes"] + c["dram_write_bytes"],
                   sram_bytes=c["sram_read_bytes"] + c["sram_write_bytes"],
                   area_proxy_pes=pes, area_proxy_sram_bits=bits,
                   compile_s=round(t1 - t0, 3), run_s=round(t2 - t1, 3))
        row["synthesis"] = "not requested"
        if synthesise:
            row.update(synth(cfg) if synth is not None else {"synthesis": NOT_AVAILABLE})
    except SeedccError as e:
        row.update(status="error", error=f"{type(e).__name__}: {e}")
    except Exception as e:  # noqa: BLE001 - an internal failure of one point must not stop the sweep
        where = traceback.extract_tb(e.__traceback__)[-1]
        row.update(status="error", error=f"internal error {type(e).__name__}: {e} "
                   f"({Path(where.filename).name}:{where.lineno})")
    return row


class Executor(Protocol):
    """Runs ``fn(*args)`` for every item; yields ``(index, result or exception)`` as each
    finishes (any order). Used as a context manager (set-up and tear-down)."""

    name: str
    workers: int

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...

    def map(self, fn: Callable[..., Row], shared: Any,
            items: Sequence[tuple[Any, ...]]) -> Iterator[tuple[int, Row | BaseException]]: ...


class SerialExecutor:
    """Every point in this process, one after the other (no Ray needed)."""

    name = "serial"
    workers = 1

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def map(self, fn: Callable[..., Row], shared: Any,
            items: Sequence[tuple[Any, ...]]) -> Iterator[tuple[int, Row | BaseException]]:
        for i, args in enumerate(items):
            try:
                yield i, fn(shared, *args)
            except Exception as e:  # noqa: BLE001 - recorded as the point's error
                yield i, e


def pareto(rows: list[Row], keys: Sequence[str] = ("cycles", "energy_uj", "area_proxy_pes",
                                                      "area_proxy_sram_bits")) -> list[bool]:
    """Which rows are Pareto-optimal (no other ok row is <= on every key and < on one)."""
    vals = [tuple(float(r[k]) for k in keys) if r.get("status") == "ok" else None for r in rows]
    out = []
    for a in vals:
        out.append(a is not None and not any(
            b is not None and b != a and all(y <= x for x, y in zip(a, b)) for b in vals))
    return out


def csv_text(rows: Iterable[Row]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in COLUMNS})
    return buf.getvalue()


@dataclass
class SweepResult:
    rows: list[Row]
    csv: Path
    wall_s: float
    executor: str
    workers: int

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.rows if r["status"] != "ok"]


def run_sweep(model: str | os.PathLike | onnx.ModelProto, grid: Grid, out_dir: str | os.PathLike,
              executor: Executor, progress: Callable[[str], None] = lambda m: None,
              synth: SynthHook | None = None) -> SweepResult:
    """Evaluate every point of `grid` on `executor`; write ``sweep.csv`` into `out_dir`.
    `progress` is called once per finished point."""
    proto = model if isinstance(model, onnx.ModelProto) else _load_model(model)
    data = proto.SerializeToString()
    points = grid.points()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[Row | None] = [None] * len(points)
    t0 = time.perf_counter()
    with executor:
        items = [(p, grid.base, grid.samples, grid.synthesise, synth) for p in points]
        for i, got in executor.map(evaluate, data, items):
            if isinstance(got, BaseException):
                got = {**points[i], "status": "error",
                       "error": f"worker failed: {type(got).__name__}: {str(got).splitlines()[0]}"}
            rows[i] = {"point": i, **got}
            progress(f"point {i}: {got['status']}")
    done = [r for r in rows if r is not None]
    for r, best in zip(done, pareto(done)):
        r["pareto"] = best
    path = out / "sweep.csv"
    text = csv_text(done)
    atomic_write(path, lambda f: f.write(text.encode()))
    return SweepResult(done, path, time.perf_counter() - t0, executor.name, executor.workers)


def write_plot(result: SweepResult, title: str) -> Path:
    """``pareto.png`` beside the CSV."""
    data = png_bytes(pareto_figure(result.rows, title))
    path = result.csv.with_name("pareto.png")
    atomic_write(path, lambda f: f.write(data))
    return path


def summary(result: SweepResult) -> str:
    ok = [r for r in result.rows if r["status"] == "ok"]
    lines = [(f"{len(result.rows)} points on {result.executor} ({result.workers} worker(s)) in "
              f"{result.wall_s:.1f} s: {len(ok)} ok, {len(result.failed)} failed")]
    best = [r for r in ok if r.get("pareto")]
    for r in best:
        lines.append(f"  pareto point {r['point']}: lanes {r['lanes']} pixels {r['pixels']} -> "
                     f"{r['cycles']} cycles, {r['energy_uj']} uJ, {r['area_proxy_pes']} PEs, "
                     f"{r['area_proxy_sram_bits'] // 8192} KiB SRAM")
    for r in result.failed:
        lines.append(f"  point {r['point']} failed: {r['error']}")
    return "\n".join(lines)


def _load_model(path: str | os.PathLike) -> onnx.ModelProto:
    try:
        return onnx.load(os.fspath(path))
    except Exception as e:  # noqa: BLE001 - onnx raises several unrelated types for bad files
        raise BadInputError(f"cannot read ONNX model {os.fspath(path)!r} ({e})") from None
