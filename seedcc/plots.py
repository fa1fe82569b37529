"""Figures for sweeps and reports (matplotlib, headless).

matplotlib is optional (extras ``report`` and ``sweep``); :func:`require_matplotlib`
raises a one-line :class:`~seedcc.errors.SeedccError` naming the extra to install. Every
figure function takes plain data (rows, the report's dicts) and returns a Figure;
:func:`png_bytes` renders it.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from seedcc.errors import SeedccError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

AREA_NOTE = "area proxy = PE count and SRAM bits (not synthesis)"


def require_matplotlib(extra: str = "report") -> Any:
    """``matplotlib.pyplot`` on the headless Agg backend; imported on first use so that
    commands without figures do not pay for it."""
    try:
        mpl = importlib.import_module("matplotlib")
    except ImportError:
        raise SeedccError(f"figures need matplotlib, which is not installed: "
                          f"pip install 'seedcc[{extra}]'") from None
    mpl.use("Agg")  # never open a window
    return importlib.import_module("matplotlib.pyplot")


def png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    require_matplotlib().close(fig)
    return buf.getvalue()


def pareto_figure(rows: Sequence[Mapping[str, Any]], title: str) -> Figure:
    """Cycles vs energy (colour: PEs, size: SRAM) and cycles vs PEs; Pareto points ringed."""
    plt = require_matplotlib()
    ok = [r for r in rows if r.get("status") == "ok"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.4))
    if not ok:
        ax1.text(0.5, 0.5, "no point succeeded", ha="center", transform=ax1.transAxes)
        return fig
    cyc = [r["cycles"] for r in ok]
    energy = [r["energy_uj"] for r in ok]
    pes = [r["area_proxy_pes"] for r in ok]
    kib = [r["area_proxy_sram_bits"] / 8192 for r in ok]
    smax = max(kib)
    sizes = [30 + 170 * k / smax for k in kib]
    best = [bool(r.get("pareto")) for r in ok]
    sc = ax1.scatter(cyc, energy, c=pes, s=sizes, cmap="viridis", alpha=0.85)
    ring = [k for k, b in enumerate(best) if b]
    ax1.scatter([cyc[k] for k in ring], [energy[k] for k in ring], s=[sizes[k] + 60 for k in ring],
                facecolors="none", edgecolors="crimson", linewidths=1.8)
    fig.colorbar(sc, ax=ax1, label="PEs (area proxy)")
    order = sorted(range(len(ok)), key=lambda k: best[k])  # Pareto points drawn last, on top
    ax2.scatter([cyc[k] for k in order], [pes[k] for k in order], s=[sizes[k] for k in order],
                c=["crimson" if best[k] else "0.6" for k in order], alpha=0.85)
    _label(ax1, ok, cyc, energy)
    _label(ax2, ok, cyc, pes)
    ax1.set(xlabel="cycles per sample", ylabel="energy per sample (uJ)", title="cycles vs energy")
    ax2.set(xlabel="cycles per sample", ylabel="PEs (area proxy)", title="cycles vs area proxy")
    for ax in (ax1, ax2):
        ax.ticklabel_format(style="plain", useOffset=False)
        ax.grid(True, alpha=0.3)
    failed = len(rows) - len(ok)
    fig.suptitle(f"{title}: {len(ok)} points" + (f", {failed} failed" if failed else "")
                 + "; red = Pareto-optimal in (cycles, energy, PEs, SRAM bits)\n"
                 + f"marker size = SRAM; {AREA_NOTE}", fontsize=9)
    fig.tight_layout()
    return fig


def _label(ax: Any, rows: Sequence[Mapping[str, Any]], xs: Sequence[float],
           ys: Sequence[float]) -> None:
    """Point numbers beside the markers; points at the same place share one label."""
    at: dict[tuple[float, float], list[str]] = {}
    for r, x, y in zip(rows, xs, ys):
        at.setdefault((x, y), []).append(str(r["point"]))
    for (x, y), names in at.items():
        ax.annotate(",".join(names), (x, y), fontsize=7, xytext=(4, 4), textcoords="offset points")


def size_figure(sizes: Mapping[str, Any]) -> Figure:
    """fp32 weights against what seedcc stores, split by kind (masks by code width, ...)."""
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(9, 2.6))
    parts = [(f"masks, {bits}-bit codes", b) for bits, b in sorted(sizes["masks_by_code_bits"].items())]
    parts += [("requantisation parameters", sizes["requant_bytes"]),
              ("seeds (lane and freeze start states)", sizes["seed_bytes"])]
    left = 0
    colours = plt.get_cmap("tab10").colors
    for k, (label, b) in enumerate(parts):
        ax.barh("seedcc", b, left=left, label=f"{label}: {b:,} B", color=colours[k % 10])
        left += b
    ax.barh("fp32", sizes["fp32_bytes"], color="0.7",
            label=f"fp32 weights: {sizes['fp32_bytes']:,} B")
    if sizes["frozen_savings_bytes"]:
        ax.barh("seedcc, frozen positions stored", left + sizes["frozen_savings_bytes"], color="0.45",
                label=f"without the freeze registers: +{sizes['frozen_savings_bytes']:,} B")
    ax.set_xlabel("bytes")
    ax.set_title(f"stored {sizes['stored_bytes']:,} B vs fp32 {sizes['fp32_bytes']:,} B: "
                 f"{sizes['ratio']:.1f}x smaller", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def cycles_figure(segments: Sequence[Mapping[str, Any]]) -> Figure:
    plt = require_matplotlib()
    names = [s["name"] for s in segments]
    fig, ax = plt.subplots(figsize=(9, 0.5 + 0.32 * len(names)))
    mac = [s["mac_cycles"] for s in segments]
    other = [s["cycles"] - s["mac_cycles"] for s in segments]
    ax.barh(names, mac, label="MAC execute cycles")
    ax.barh(names, other, left=mac, label="everything else (DMA, REQ, pools, issue)")
    ax.invert_yaxis()
    ax.set_xlabel("cycles per sample")
    ax.legend(fontsize=8)
    ax.set_title("cycles per layer", fontsize=10)
    fig.tight_layout()
    return fig


def utilisation_traffic_figure(segments: Sequence[Mapping[str, Any]]) -> Figure:
    plt = require_matplotlib()
    names = [s["name"] for s in segments]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 0.8 + 0.32 * len(names)), sharey=True)
    ax1.barh(names, [100 * s["pe_utilisation"] for s in segments], color="tab:green")
    ax1.set(xlabel="PE utilisation during MAC cycles (%)", xlim=(0, 100))
    ax1.invert_yaxis()
    h = 0.4
    ys = range(len(names))
    ax2.barh([y - h / 2 for y in ys], [s["dram_read_bytes"] + s["dram_write_bytes"] for s in segments],
             height=h, label="off-chip (DRAM) bytes", color="tab:red")
    ax2.barh([y + h / 2 for y in ys], [s["sram_read_bytes"] + s["sram_write_bytes"] for s in segments],
             height=h, label="on-chip SRAM bytes", color="tab:blue")
    ax2.set(xlabel="bytes moved per sample", xscale="symlog")
    ax2.legend(fontsize=8)
    fig.suptitle("PE utilisation and traffic per layer", fontsize=10)
    fig.tight_layout()
    return fig


def roofline_figure(segments: Sequence[Mapping[str, Any]], pes: int, bus_bytes: int) -> Figure:
    """PE ops per cycle against PE ops per DRAM byte, under min(PEs, intensity x bus width)."""
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    pts = [s for s in segments if s["pe_ops"] and s["dram_read_bytes"] + s["dram_write_bytes"]]
    xs = [s["pe_ops"] / (s["dram_read_bytes"] + s["dram_write_bytes"]) for s in pts]
    lo = min(xs + [1.0]) / 4
    hi = max(xs + [4.0 * pes / bus_bytes]) * 4
    grid = [lo * (hi / lo) ** (k / 200) for k in range(201)]
    ax.plot(grid, [min(pes, x * bus_bytes) for x in grid], "k-",
            label=f"roof: min({pes} PEs, intensity x {bus_bytes} B/cycle)")
    for s, x in zip(pts, xs):
        y = s["pe_ops"] / s["cycles"]
        ax.scatter([x], [y], zorder=3)
        ax.annotate(s["name"], (x, y), fontsize=7, xytext=(4, 2), textcoords="offset points")
    ax.set(xscale="log", yscale="log", xlabel="arithmetic intensity (PE ops per off-chip byte)",
           ylabel="achieved PE ops per cycle", title="roofline-style view per layer")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
