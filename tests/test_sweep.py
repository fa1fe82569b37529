"""Design-space sweeps (seedcc/sweep.py): grid files, point evaluation, failures recorded,
the serial executor, the CSV and plot, the missing-Ray message, and one run on local Ray.

The sweep logic is tested with :class:`SerialExecutor`, which has the Ray executor's
interface; the Ray test runs when the ``sweep`` extra is installed (CI installs it).
"""

from __future__ import annotations

import csv
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import onnx
import pytest

from seedcc import api, models
from seedcc.compiler.frontend import import_onnx
from seedcc.compiler.passes.set_generator import set_generator
from seedcc.errors import BadInputError
from seedcc.ir import Op
from seedcc.report import sample_input
from seedcc.rtl_models.hwconfig import SMALL
from seedcc.sweep import (
    COLUMNS,
    NOT_AVAILABLE,
    SerialExecutor,
    area_proxy,
    load_grid,
    pareto,
    run_sweep,
)

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_GRID = REPO / "examples" / "sweep" / "sweep.toml"
MEASURED = ("cycles", "energy_uj", "pe_utilisation", "dram_bytes", "sram_bytes", "instructions")


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "small_cnn.onnx"
    onnx.save(models.small_cnn(), path)
    return path


def grid_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "grid.toml"
    path.write_text(text)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path) as f:
        return list(csv.DictReader(f))


def test_example_grid_has_eight_points() -> None:
    grid = load_grid(EXAMPLE_GRID)
    assert grid.base == SMALL
    points = grid.points()
    assert len(points) == 8
    assert points[0] == {"lanes": 1, "pixels": 4, "mask_sram_bytes": 512}
    assert len({tuple(sorted(p.items())) for p in points}) == 8


@pytest.mark.parametrize("text, message", [
    ("[grid]\nwidth = [1]\n", "'width' is not an axis; valid axes: lanes, pixels"),
    ("[grid]\ngenerator = ['lfsr']\n", "generator value 'lfsr' is not valid (xorshift16"),
    ("[grid]\nlanes = []\n", "lanes is an empty list"),
    ("base = 'huge'\n[grid]\nlanes = [1]\n", "base = 'huge' is not one of default, small"),
    ("samples = 0\n[grid]\nlanes = [1]\n", "samples = 0 must be a positive integer"),
    ("lanes = [1]\n", "unknown top-level key(s) ['lanes']"),
    ("[grid\n", "is not valid TOML"),
])
def test_bad_grid_files_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(BadInputError) as err:
        load_grid(grid_file(tmp_path, text))
    assert message in str(err.value)
    assert str(tmp_path) in str(err.value)


def test_serial_sweep_writes_csv_and_records_failures(tmp_path: Path, model_path: Path) -> None:
    # bus_bytes = 12 is not a power of two (HwConfig rejects it); instr_words = 8 cannot hold
    # the program (code generation rejects it): both points fail, the others go on.
    grid = load_grid(grid_file(tmp_path, "synthesise = true\n[grid]\nlanes = [1, 2]\n"
                                         "bus_bytes = [8, 12]\ninstr_words = [8, 1024]\n"))
    seen: list[str] = []
    result = run_sweep(model_path, grid, tmp_path / "out", SerialExecutor(), progress=seen.append)
    assert len(seen) == 8
    rows = read_csv(result.csv)
    assert list(rows[0]) == list(COLUMNS)
    assert [int(r["point"]) for r in rows] == list(range(8))
    for r in rows:
        bad = r["bus_bytes"] == "12" or r["instr_words"] == "8"
        assert r["status"] == ("error" if bad else "ok"), r
        if r["bus_bytes"] == "12":
            assert "bus_bytes=12 must be a power of two" in r["error"]
        elif r["instr_words"] == "8":
            assert r["error"].startswith("ProgramTooLongError:") and "instruction memory" in r["error"]
        else:
            assert int(r["cycles"]) > 0 and r["synthesis"] == NOT_AVAILABLE
            assert int(r["area_proxy_pes"]) == int(r["lanes"]) * 16 * SMALL.pixels
    assert len(result.failed) == 6


def test_point_results_match_a_direct_compile(tmp_path: Path, model_path: Path) -> None:
    grid = load_grid(grid_file(tmp_path, "[grid]\nlanes = [1]\npixels = [8]\n"))
    row = run_sweep(model_path, grid, tmp_path, SerialExecutor()).rows[0]
    cfg = replace(SMALL, lanes=1, pixels=8)
    prog = api.compile(model_path, config=cfg)
    res = api.run(prog, sample_input(prog))
    assert row["cycles"] == res.cycles and row["instructions"] == len(prog.instructions)
    assert (row["area_proxy_pes"], row["area_proxy_sram_bits"]) == area_proxy(cfg)


def test_pareto_marks_non_dominated_rows() -> None:
    def row(c: float, e: float, p: int, s: int = 1, status: str = "ok") -> dict:
        return {"cycles": c, "energy_uj": e, "area_proxy_pes": p, "area_proxy_sram_bits": s,
                "status": status}
    rows = [row(10, 1, 64), row(5, 1, 128), row(10, 2, 64), row(20, 1, 32), row(1, 0, 1, 0, "error")]
    assert pareto(rows) == [True, True, False, True, False]


def test_generator_axis_is_a_what_if(tmp_path: Path, model_path: Path) -> None:
    g = set_generator(import_onnx(model_path), "ctrhash32")
    assert {n.attrs["weight"].generator for n in g.ops(Op.CONV)} == {"ctrhash32"}
    assert any("what-if" in note for note in g.notes)
    with pytest.raises(BadInputError, match="valid generators: xorshift16"):
        set_generator(g, "lfsr")
    grid = load_grid(grid_file(tmp_path, "[grid]\ngenerator = ['xorshift16', 'ctrhash32']\n"))
    rows = run_sweep(model_path, grid, tmp_path, SerialExecutor()).rows
    assert [r["generator"] for r in rows] == ["xorshift16", "ctrhash32"]
    # the lanes run any generator at the same speed: costs are equal, weights differ
    assert all(rows[0][k] == rows[1][k] for k in MEASURED)


def test_cli_serial_sweep_writes_csv_and_plot(tmp_path: Path, model_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "results"
    run = subprocess.run([sys.executable, "-m", "seedcc.cli", "sweep", str(model_path), "--grid",
                          str(EXAMPLE_GRID), "-o", str(out), "--serial", "--quiet"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert "8 points on serial" in run.stdout and "8 ok, 0 failed" in run.stdout
    assert len(read_csv(out / "sweep.csv")) == 8
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_without_ray_names_the_extra(tmp_path: Path, model_path: Path) -> None:
    # `ray` made unimportable in a child process: the sweep must stop with one line.
    code = ("import sys; sys.modules['ray'] = None; from seedcc.cli import main; "
            f"sys.exit(main(['sweep', {str(model_path)!r}, '--grid', {str(EXAMPLE_GRID)!r}, "
            f"'-o', {str(tmp_path / 'out')!r}]))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         check=False)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "Ray, which is not installed: pip install 'seedcc[sweep]'" in lines[0]
    assert not (tmp_path / "out").exists()


def test_ray_sweep_runs_points_in_parallel(tmp_path: Path, model_path: Path) -> None:
    pytest.importorskip("ray")
    from seedcc.sweep_ray import RayExecutor

    grid = load_grid(EXAMPLE_GRID)
    ray_rows = run_sweep(model_path, grid, tmp_path / "ray", RayExecutor(num_cpus=2)).rows
    serial_rows = run_sweep(model_path, grid, tmp_path / "serial", SerialExecutor()).rows
    assert [r["status"] for r in ray_rows] == ["ok"] * 8
    for a, b in zip(ray_rows, serial_rows):
        assert {k: a[k] for k in MEASURED} == {k: b[k] for k in MEASURED}
    assert len({r["worker"] for r in ray_rows}) >= 2  # worker processes shared the points
