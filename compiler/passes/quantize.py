"""quantize: post-training int8 calibration.

Every activation value gets a symmetric per-tensor scale s (int8 q = rint(x / s)),
s = max|x| / ACT_MAX (127) over the calibration batch. Values that are the same bytes in memory
(FLATTEN/RESHAPE outputs) and MAXPOOL outputs share their input's scale (`OpDef.same_scale`),
so those ops need no arithmetic. An op with an `output_encoding` (SOFTMAX: uint8 at 2^-8)
gets that instead of a calibrated scale. In a fold region (`form_fold_regions.loop_scales`) the
scales that reach instruction fields (an ADD's) follow one geometric progression over the
iterations, so that every iteration runs the same instructions (only the parameter tables
differ; docs/compiler.md "Fold regions"). The per-channel requantisation constants are derived from these
scales at code generation (seedcc.ir.ops.conv).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from seedcc.compiler.interpret import run_graph
from seedcc.compiler.passes.form_fold_regions import loop_scales
from seedcc.ir import Graph
from seedcc.rtl_models.hwfacts import ACT_MAX

#: the largest scale: every int8 value (-128 included) times it is a finite float32
SCALE_MAX = float(np.finfo(np.float32).max) / 128


def calibration_scale(peak: float) -> float:
    """The int8 scale of a value whose largest magnitude over the calibration batch is `peak`."""
    return min(peak / ACT_MAX, SCALE_MAX) if peak > 0 else 1.0 / ACT_MAX


def value_peaks(g: Graph, calib: dict[str, np.ndarray], chunk: int | None = None) -> dict[str, float]:
    """max |x| of every value of `g` over the calibration batch, run `chunk` samples at a
    time (all at once when None), so memory stays bounded for large inputs."""
    n = max((len(a) for a in calib.values()), default=0)
    step = max(1, chunk or n)
    peaks = dict.fromkeys(g.values, 0.0)
    for i in range(0, n, step):
        env = run_graph(g, {k: a[i:i + step] for k, a in calib.items()})
        for name in g.values:
            if env[name].size:
                v = env[name]  # max and -min: no |x| copy of a large activation
                peaks[name] = max(peaks[name], float(v.max()), -float(v.min()))
    return peaks


def quantize(g: Graph, calib: dict[str, np.ndarray], chunk: int | None = None) -> Graph:
    """Give every value an int8 scale from running `g` (in float) on `calib`, `chunk`
    samples at a time."""
    scales = {name: calibration_scale(peak) for name, peak in value_peaks(g, calib, chunk).items()}
    scales = loop_scales(g, scales)
    for n in g.nodes:  # topological, so the source scale is final when copied
        if n.op.spec.same_scale:
            scales[n.output] = scales[n.inputs[0]]
    dtypes = {k: "int8" for k in g.values}
    for n in g.nodes:
        if n.op.spec.output_encoding is not None:
            dtypes[n.output], scales[n.output] = n.op.spec.output_encoding
    values = {k: replace(v, dtype=dtypes[k], scale=scales[k]) for k, v in g.values.items()}
    return g.with_nodes(g.nodes, values=values)
