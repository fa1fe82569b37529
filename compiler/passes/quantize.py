"""quantize: post-training 8-bit calibration.

Every activation value gets a per-tensor scale s with zero point 0 and an 8-bit format
(`Value.dtype`): a ReLU's output is uint8, q = rint(x / s) in 0..255 with s = max x / 255,
so no code is spent on a sign it never has; every other value is int8, q in -128..127 with
the symmetric s = max|x| / 127 (over the calibration batch). A ReLU's output is the output
of an op whose `relu_output` says so (a CONV, AGGREGATE or ADD with the ReLU epilogue
fused), and the values that keep its bytes or its format (`same_scale` / `keeps_format`:
FLATTEN/RESHAPE views, MAXPOOL, AVGPOOL, SPILL/RELOAD) inherit it; such a family of values
is one format. It stays int8 when one of its values is a graph output, is read by an op
whose instructions have no unsigned bit (`OpDef.reads_unsigned`: SOFTMAX, LAYERNORM, GELU),
or would give two iterations of a fold region different instructions
(`form_fold_regions.loop_format_pairs`). Graph inputs are int8.

A graph output that a REQ writes (`OpDef.writes_wide`: CONV, AGGREGATE) and nothing else
reads leaves at accumulator precision: int32, (acc + bias)·sign per channel, worth the
channel's accumulator step (`seedcc.ir.ops.conv.affine_records`), so logits are never
saturated to 8 bits. Other graph outputs (an ADD's, a pool's, a view's) are int8.

Values that are the same bytes in memory (FLATTEN/RESHAPE outputs) and MAXPOOL outputs share
their input's scale (`OpDef.same_scale`), so those ops need no arithmetic. An op with an
`output_encoding` (SOFTMAX: uint8 at 2^-8) gets that instead of a calibrated scale. In a fold
region (`form_fold_regions.loop_scales`) the scales that reach instruction fields (an ADD's)
follow one geometric progression over the iterations, so that every iteration runs the same
instructions (only the parameter tables differ; docs/compiler.md "Fold regions"). The
per-channel requantisation constants are derived from these scales at code generation
(seedcc.ir.ops.conv).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from seedcc.compiler.interpret import run_graph
from seedcc.compiler.passes.form_fold_regions import loop_format_pairs, loop_scales
from seedcc.ir import Graph
from seedcc.rtl_models.hwfacts import ACT_MAX, UACT_MAX

#: the largest scale: every int8 value (-128 included) times it is a finite float32 (half of
#: it for uint8, up to 255)
SCALE_MAX = float(np.finfo(np.float32).max) / 128


def calibration_scale(peak: float, unsigned: bool = False) -> float:
    """The scale of a value whose largest magnitude over the calibration batch is `peak`:
    peak / 127 for int8, peak / 255 for uint8 (a ReLU's output), so that `peak` has the
    largest code."""
    top, cap = (UACT_MAX, SCALE_MAX / 2) if unsigned else (ACT_MAX, SCALE_MAX)
    return min(peak / top, cap) if peak > 0 else 1.0 / top


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


def value_formats(g: Graph) -> dict[str, str]:
    """The format ("int8", "uint8" or "int32") of every value of `g` (module docstring)."""
    family = {name: name for name in g.values}  # value -> the value whose format it keeps
    relu = set()
    fixed = {}
    for n in g.nodes:  # topological: an input's family is known before its readers'
        spec = n.op.spec
        if spec.output_encoding is not None:
            fixed[n.output] = spec.output_encoding[0]
        elif spec.same_scale or spec.keeps_format:
            family[n.output] = family[n.inputs[0]]
        elif spec.relu_output(n):
            relu.add(n.output)
    members: dict[str, list[str]] = {}
    for name, root in family.items():
        members.setdefault(root, []).append(name)
    signed = set()  # families that must stay int8
    outputs = set(g.outputs)
    for root in relu:
        for v in members[root]:
            if v in outputs or any(not c.op.spec.reads_unsigned for c in g.consumers(v)):
                signed.add(root)

    def fmt(v: str) -> str:
        if v in fixed:
            return fixed[v]
        return "uint8" if family[v] in relu and family[v] not in signed else "int8"

    # a graph output written by a REQ and read by nothing else stays at accumulator precision
    for v in outputs:
        n = g.producer(v)
        if n is not None and n.op.spec.writes_wide and not g.consumers(v) and "loop" not in n.attrs:
            fixed[v] = "int32"

    pairs = loop_format_pairs(g)
    changed = True
    while changed:  # each round makes a family int8 for good, so this ends
        changed = False
        for a, b in pairs:
            if fmt(a) != fmt(b):
                signed.update(family[v] for v in (a, b) if fmt(v) == "uint8")
                changed = True
    return {v: fmt(v) for v in g.values}


def quantize(g: Graph, calib: dict[str, np.ndarray], chunk: int | None = None) -> Graph:
    """Give every value an 8-bit format and a scale from running `g` (in float) on `calib`,
    `chunk` samples at a time."""
    dtypes = value_formats(g)
    scales = {name: calibration_scale(peak, dtypes[name] == "uint8")
              for name, peak in value_peaks(g, calib, chunk).items()}
    scales = loop_scales(g, scales)
    for n in g.nodes:  # topological, so the source scale is final when copied
        if n.op.spec.same_scale:
            scales[n.output] = scales[n.inputs[0]]
    for n in g.nodes:
        if n.op.spec.output_encoding is not None:
            scales[n.output] = n.op.spec.output_encoding[1]
    values = {k: replace(v, dtype=dtypes[k], scale=scales[k]) for k, v in g.values.items()}
    return g.with_nodes(g.nodes, values=values)
