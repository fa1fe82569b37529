"""A float interpreter of the IR (numpy), for calibration and for checking passes.

`run_graph` evaluates every value of a graph on a batch and returns them all, so a
caller can read any intermediate tensor. Each node runs its op's `reference` semantics
(the op table, `seedcc.ir.ops`); conv layers use their effective weights
(`WeightSpec.effective`), so interpreting the front end's graph reproduces onnxruntime
within float32 tolerance.
"""

from __future__ import annotations

import math

import numpy as np

from seedcc.errors import BadInputError
from seedcc.ir import Graph


def run_graph_bytes(g: Graph, batch: int) -> int:
    """About the peak memory of `run_graph` on `batch` samples: every value (kept to the end)
    and the largest temporaries of one node, float32, and the effective weights of a layer."""
    values = sum(math.prod(v.shape) for v in g.values.values())
    scratch = max((n.op.spec.scratch(n, [g.values[i].shape for i in n.inputs], g.values[n.output].shape)
                   for n in g.nodes), default=0)
    weights = max((math.prod(n.attrs["weight"].shape) for n in g.nodes if "weight" in n.attrs), default=0)
    return 4 * (batch * (values + scratch) + 3 * weights)


def run_graph(g: Graph, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """All values of `g` for a batch of inputs (float32, batch axis first).

    Inputs must be finite. A node whose output is not (float32 overflow, from parameters far
    out of range) raises a BadInputError naming it, instead of passing inf or NaN on."""
    env = {k: np.asarray(v, np.float32) for k, v in inputs.items()}
    for n in g.nodes:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # checked just below
            out = np.asarray(n.op.spec.reference(n, [env[i] for i in n.inputs]), np.float32)
        if not np.isfinite(out).all():
            raise BadInputError(
                f"node {n.name} ({n.op.value}): its output {n.output!r} overflows float32 "
                f"(inf or NaN) on the given inputs; its weights, scale or BatchNorm "
                f"parameters are out of range")
        env[n.output] = out
    return env
