"""`seedcc report --html/--json` (seedcc/report_html.py) and the per-layer profile it uses
(backends/profile.py): the HTML page is self-contained and names every layer, the JSON
adds up, segments sum to the reference model's totals, and a missing matplotlib is one
line naming the extra."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path

import onnx
import pytest
from conftest import float_io

from seedcc import api, models
from seedcc.backends.profile import OUTPUTS, layer_segments
from seedcc.flow import compile_model
from seedcc.models import ModelBuilder
from seedcc.report import format_report, sample_input, segment_lines
from seedcc.report_html import render_html, report_data
from seedcc.rtl_models.generators import freeze_pattern
from seedcc.rtl_models.hwconfig import SMALL

MODELS = {"mlp": models.mlp, "small_cnn": models.small_cnn,
          "small_cnn_codes3": lambda: models.small_cnn(codes=3),
          "hidden_fold_cnn": models.hidden_fold_cnn}
FREEZE = {"seed": 77, "prune": 0.3, "lock": 0.1}


class Links(HTMLParser):
    """Every URL-bearing attribute and every tag of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "srcset", "data", "action")]


@pytest.mark.parametrize("name", list(MODELS))
def test_segments_add_up_to_the_run_totals(name: str) -> None:
    prog = api.compile(MODELS[name](), config=SMALL)
    res = api.run(prog, sample_input(prog))
    segs = layer_segments(prog)
    assert sum(s.cycles for s in segs) == res.cycles
    for key, total in res.counters.items():
        assert sum(s.counters[key] for s in segs) == total, key
    assert segs[0].first == 0 and all(a.last + 1 == b.first for a, b in pairwise(segs))
    checkpoints = {c.onnx or c.name for c in prog.manifest.checkpoints}
    assert {n for s in segs for n in s.name.split("+")} - {OUTPUTS} == checkpoints


def test_cli_html_report_is_self_contained_and_names_every_layer(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    model = tmp_path / "small_cnn.onnx"
    onnx.save(models.small_cnn(), model)
    page, data = tmp_path / "report.html", tmp_path / "report.json"
    run = subprocess.run([sys.executable, "-m", "seedcc.cli", "report", str(model), "--config",
                          "small", "--html", str(page), "--json", str(data), "--quiet"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert "cycles per sample" in run.stdout  # the text report still prints
    text = page.read_text()
    links = Links()
    links.feed(text)
    assert links.urls and all(u.startswith("data:image/png;base64,") for u in links.urls)
    assert not links.tags & {"script", "link", "iframe", "object", "embed"}
    assert "url(" not in text and "@import" not in text
    report = json.loads(data.read_text())
    prog = api.compile(model, config=SMALL)
    for layer in prog.manifest.layers:
        assert layer.name in text
    for ck in prog.manifest.checkpoints:
        assert ck.onnx in text
    assert len(links.urls) == 4  # size, cycles, utilisation + traffic, roofline
    assert sum(s["cycles"] for s in report["segments"]) == report["totals"]["cycles"]
    assert [x["name"] for x in report["layers"]] == [x.name for x in prog.manifest.layers]


def test_size_breakdown_by_code_width_seeds_and_frozen_savings() -> None:
    b = ModelBuilder("frozen", seed=5)
    h = b.node("Relu", [b.conv("x", 4, 16, 3, "conv1", freeze=FREEZE)], "relu1")
    h = b.node("Relu", [b.conv(h, 16, 32, 3, "conv2", codes=3)], "relu2")
    model = b.build([float_io("x", ["N", 4, 6, 6])], [float_io(h, ["N", 32, 6, 6])])
    compiled = compile_model(model, config=SMALL)
    data = report_data(compiled, api.run(compiled.program, sample_input(compiled.program)))
    sz = data["sizes"]
    layers = {x.name: x for x in compiled.program.manifest.layers}
    assert sz["masks_by_code_bits"] == {"1": layers["conv1/Conv"].mask_stored,
                                        "2": layers["conv2/Conv"].mask_stored}
    assert sz["requant_bytes"] == 8 * (16 + 32)
    assert sz["seed_bytes"] == sum(x.param_bytes for x in layers.values()) - sz["requant_bytes"]
    # one 64-bit start state per 16 output channels, one 16-bit freeze state per frozen channel
    assert sz["seed_bytes"] == 8 * (1 + 2) + 2 * 16
    frozen = int((freeze_pattern(77, 0.3, 0.1, (16, 4, 3, 3)) >= 0).sum())
    assert sz["frozen_positions"] == frozen and sz["frozen_savings_bytes"] == frozen // 8
    assert sz["stored_bytes"] == sum(x.mask_stored + x.param_bytes for x in layers.values())
    assert sz["fp32_bytes"] == 4 * (16 * 4 * 9 + 32 * 16 * 9)


def test_fold_groups_count_their_masks_once() -> None:
    compiled = compile_model(models.hidden_fold_cnn(), config=SMALL)
    data = report_data(compiled, api.run(compiled.program, sample_input(compiled.program)))
    layers = compiled.program.manifest.layers
    once = sum(x.mask_stored for x in layers if x.fold is None or x.fold[1] == 0)
    assert sum(data["sizes"]["masks_by_code_bits"].values()) == once
    assert once < sum(x.mask_stored for x in layers)
    pytest.importorskip("matplotlib")
    assert all(x.name in render_html(data) for x in layers)


def test_html_without_matplotlib_names_the_extra(tmp_path: Path) -> None:
    model = tmp_path / "mlp.onnx"
    onnx.save(models.mlp(), model)
    code = ("import sys; sys.modules['matplotlib'] = None; from seedcc.cli import main; "
            f"sys.exit(main(['report', {str(model)!r}, '--html', {str(tmp_path / 'r.html')!r}]))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [(
        "seedcc: error: figures need matplotlib, which is not installed: "
        "pip install 'seedcc[report]'")]
    assert not (tmp_path / "r.html").exists()


def test_reports_show_the_waits_for_background_units() -> None:
    """The JSON segments carry each layer's cycles of waiting for the DMA engine or the REQ
    unit; they add up to the run's `wait_cycles`, which the text report prints too."""
    compiled = compile_model(models.small_cnn(), config=SMALL)
    res = api.run(compiled.program, sample_input(compiled.program))
    data = report_data(compiled, res)
    waits = [s["wait_cycles"] for s in data["segments"]]
    assert sum(waits) == res.counters["wait_cycles"] > 0
    assert "waits" in segment_lines(compiled.program)[0]
    assert f"waiting for background units {res.counters['wait_cycles']}" in format_report(compiled.program, res)
