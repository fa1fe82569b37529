"""store_dense: learned (dense) weights become stored 8-bit sign-magnitude codes.

A layer whose weights are neither random nor ternary (no record, e.g. a plain
`nn.Linear` in a supermask model) has no generator to regenerate them. The accelerator's
PEs add, subtract or skip, and multiply by a mask code with shifts and adds (codes
0..`MAX_CODE`, 7 bits), so such a layer is stored as sign bits plus 7-bit magnitudes with
one scale per output channel: W[o] ≈ s_o · sign · code, s_o = max|W[o]| / MAX_CODE, code =
rint(|W| / s_o). The scale s_o moves into the layer's fused affine `a` (requantisation),
like the ±scale of a random layer; the packed rows then carry signs and codes
(`stored_signs`, 7 code bits). This is dense storage: 8 bits a weight. The float mode
computes with the quantised weights, so it differs from onnxruntime by that rounding
(at most s_o/2 a weight); the graph notes say which layers.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from seedcc.ir import Graph, Op
from seedcc.rtl_models.hwfacts import MAX_CODE


def store_dense(g: Graph) -> Graph:
    nodes, stored = [], []
    for n in g.nodes:
        w = n.attrs.get("weight") if n.op is Op.CONV else None
        if w is None or w.dense is None:
            nodes.append(n)
            continue
        dense = np.asarray(w.dense, np.float64) * w.multiplier
        o = w.shape[0]
        peak = np.abs(dense.reshape(o, -1)).max(axis=1)
        step = np.where(peak > 0, peak / MAX_CODE, 1.0)
        codes = np.rint(np.abs(dense) / step.reshape(-1, 1, 1, 1)).astype(np.uint8)
        signs = (dense >= 0).astype(np.uint8)
        a, b = n.attrs["affine"]
        spec = replace(w, scale=1.0, multiplier=1.0, mask=codes, signs=signs, dense=None)
        nodes.append(n.with_attrs(weight=spec, affine=(np.asarray(a, np.float64) * step, b)))
        stored.append(n.name)
    out = g.with_nodes(nodes)
    if stored:
        out = out.add_note(f"learned (dense) weights stored as 8-bit sign-magnitude codes with a scale "
                           f"per output channel in {len(stored)} layer(s): {', '.join(stored)}; float "
                           f"mode computes with these quantised weights")
    return out
