"""`seedcc report --html/--json`: the report as data, and as one self-contained HTML page.

:func:`report_data` gathers everything as JSON-able data (``--json`` writes it as is):
the size breakdown against fp32 (masks by code width, requantisation parameters, seeds,
and what frozen positions would save), per weight layer facts, per-layer cycles, PE
utilisation, traffic and energy (``backends/profile.py`` segments) and the run totals.
:func:`render_html` turns it into one HTML file with the figures embedded as PNG data
URIs (``seedcc/plots.py``): no external script, style sheet or image.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from seedcc.backends import refsim
from seedcc.backends.profile import layer_segments, pe_occupancy, pe_utilisation
from seedcc.flow import Compiled
from seedcc.plots import (
    cycles_figure,
    png_bytes,
    roofline_figure,
    size_figure,
    utilisation_traffic_figure,
)
from seedcc.sizes import REQ_RECORD_BYTES, size_breakdown

SCHEMA = "seedcc-report"
VERSION = 1


def report_data(compiled: Compiled, result: refsim.RunResult) -> dict[str, Any]:
    """Everything the report shows, JSON-able. `result` is a run of one sample."""
    prog = compiled.program
    cfg = prog.config
    sizes = size_breakdown(prog.manifest)
    layers = []
    for layer in prog.manifest.layers:
        stored_once = layer.fold is None or layer.fold[1] == 0  # fold groups share masks
        layers.append({
            "name": layer.name, "kind": layer.kind, "generator": layer.generator,
            "seed": layer.seed, "shape": list(layer.shape), "weights": layer.weights,
            "nonzero_fraction": layer.nonzero / max(layer.weights, 1),
            "code_bits": layer.code_bits, "mask_bytes": layer.mask_stored if stored_once else 0,
            "requant_bytes": REQ_RECORD_BYTES * layer.shape[0], "seed_bytes": layer.seed_bytes,
            "fp32_bytes": 4 * layer.weights, "frozen_positions": layer.frozen,
            "lane_steps": layer.lane_steps, "regeneration": layer.regen,
            "fold": list(layer.fold) if layer.fold else None})
    segments = []
    for s in layer_segments(prog):
        c = s.counters
        nodes = [n.name for v in s.values if (n := compiled.graph.producer(v)) is not None]
        label = f"{'+'.join(nodes)} -> {s.name}" if nodes else s.name
        segments.append({"name": label, "output": s.name, "nodes": nodes,
                         "first": s.first, "last": s.last,
                         "instructions": s.instructions, "cycles": s.cycles,
                         "pe_occupancy": pe_occupancy(c, cfg.pes),
                         "pe_utilisation": pe_utilisation(c, cfg.pes),
                         "energy_pj": refsim.energy_pj(c, cfg.energy),
                         **{k: c[k] for k in ("mac_cycles", "wait_cycles", "pe_ops", "dram_read_bytes",
                                              "dram_write_bytes", "sram_read_bytes",
                                              "sram_write_bytes")}})
    return {
        "schema": SCHEMA, "version": VERSION, "model": prog.manifest.model,
        "config": json.loads(cfg.to_json()), "pes": cfg.pes,
        "instructions": len(prog.instructions), "image_bytes": len(prog.image),
        "sizes": {"fp32_bytes": sizes.fp32_bytes, "stored_bytes": sizes.stored_bytes,
                  "stored_weights_bytes": sizes.stored_weights_bytes,
                  "masks_by_code_bits": {str(b): n for b, n in sizes.mask_stored_by_width},
                  "mask_stored_bytes": sizes.mask_stored_bytes,
                  "requant_bytes": sizes.param_bytes, "seed_bytes": sizes.seed_bytes,
                  "frozen_positions": sizes.frozen_positions,
                  "frozen_savings_bytes": sizes.frozen_bits // 8, "ratio": sizes.vs_fp32},
        "layers": layers,
        "segments": segments,
        "totals": {"cycles": result.cycles, "latency_us": result.cycles / cfg.clock_mhz,
                   "energy_uj": result.energy_pj / 1e6,
                   "pe_occupancy": pe_occupancy(result.counters, cfg.pes),
                   "pe_utilisation": pe_utilisation(result.counters, cfg.pes),
                   "counters": dict(result.counters)},
        "notes": list(prog.manifest.notes),
    }


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
        return f"{v:,}" if isinstance(v, int) else html.escape(str(v))
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{padding:2px 8px;
border-bottom:1px solid #eee;text-align:right}td:first-child,th:first-child{text-align:left}
img{max-width:100%}.kpi{display:flex;gap:2em;flex-wrap:wrap}.kpi div{background:#f4f6f8;
padding:.6em 1em;border-radius:6px}.kpi b{display:block;font-size:1.3em}.note{color:#666}"""


def render_html(data: Mapping[str, Any]) -> str:
    """One self-contained HTML page: inline style, figures as data URIs, no links out."""
    cfg, t, sz = data["config"], data["totals"], data["sizes"]
    segs = data["segments"]
    kpis = [("cycles per sample", f"{t['cycles']:,}"), ("latency", f"{t['latency_us']:.1f} us"),
            ("energy per sample", f"{t['energy_uj']:.3f} uJ"),
            ("PE occupancy", f"{100 * t['pe_occupancy']:.1f}%"),
            ("PE utilisation", f"{100 * t['pe_utilisation']:.1f}%"),
            ("stored", f"{sz['stored_bytes']:,} B ({sz['ratio']:.1f}x < fp32)")]
    layer_rows = [(x["name"], x["kind"], x["generator"] or "-", x["seed"] if x["seed"] is not None
                   else "-", "x".join(map(str, x["shape"])), x["weights"],
                   f"{100 * x['nonzero_fraction']:.1f}%", x["code_bits"], x["mask_bytes"],
                   x["requant_bytes"], x["seed_bytes"], x["frozen_positions"],
                   x["fp32_bytes"]) for x in data["layers"]]
    seg_rows = [(s["name"], f"{s['first']}-{s['last']}", s["cycles"], s["mac_cycles"], s["wait_cycles"],
                 f"{100 * s['pe_occupancy']:.1f}%", f"{100 * s['pe_utilisation']:.1f}%",
                 s["dram_read_bytes"] + s["dram_write_bytes"],
                 s["sram_read_bytes"] + s["sram_write_bytes"], s["energy_pj"] / 1e3) for s in segs]
    parts = [
        f"<h1>seedcc report: {html.escape(data['model'])}</h1>",
        (f"<p>{cfg['lanes']} lanes x 16 channels x {cfg['pixels']} pixels = {data['pes']} PEs at "
         f"{cfg['clock_mhz']:g} MHz; {data['instructions']} instructions, {data['image_bytes']:,} "
         "byte memory image. Cycles, counters and energy come from the bit-exact reference model "
         "(docs/refsim.md); energy uses its cost table.</p>"),
        '<div class="kpi">' + "".join(f"<div>{html.escape(k)}<b>{html.escape(v)}</b></div>"
                                      for k, v in kpis) + "</div>",
        "<h2>Size against fp32</h2>", _img(png_bytes(size_figure(sz)), "size breakdown"),
        (f'<p class="note">Frozen positions: {sz["frozen_positions"]:,} (the freeze draw fixes '
         f"them and the MAC draws it on chip, so they store no mask code: "
         f'{sz["frozen_savings_bytes"]:,} B saved). Seeds are the lanes\' 64-bit start states '
         "and the freeze registers' 16-bit ones.</p>"),
        "<h2>Weight layers</h2>",
        _table(("layer", "kind", "generator", "seed", "shape", "weights", "nonzero", "code bits",
                "mask B", "requant B", "seed B", "frozen", "fp32 B"), layer_rows),
        "<h2>Cycles per layer</h2>", _img(png_bytes(cycles_figure(segs)), "cycles per layer"),
        _table(("layer -> output tensor", "instructions", "cycles", "MAC cycles", "waits",
                "PE occ.", "PE util.", "DRAM B", "SRAM B", "energy nJ"), seg_rows),
        "<h2>PE utilisation and traffic</h2>",
        _img(png_bytes(utilisation_traffic_figure(segs)), "PE utilisation and traffic"),
        "<h2>Roofline-style view</h2>",
        _img(png_bytes(roofline_figure(segs, data["pes"], cfg["bus_bytes"])), "roofline"),
        ('<p class="note">Layers without off-chip traffic or without PE work are not plotted. '
         "Ops are PE add/subtracts (skipped weights cost none); the bandwidth roof is the DMA "
         "bus width per cycle.</p>"),
    ]
    if data["notes"]:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>"
                                                    for n in data["notes"]) + "</ul>")
    title = html.escape(f"seedcc report: {data['model']}")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")
