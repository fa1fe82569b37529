"""A float interpreter of the IR (numpy), for calibration and for checking passes.

`run_graph` evaluates every value of a graph on a batch and returns them all, so a
caller can read any intermediate tensor. Each node runs its op's `reference` semantics
(the op table, `seedcc.ir.ops`); conv layers use their effective weights
(`WeightSpec.effective`), so interpreting the front end's graph reproduces onnxruntime
within float32 tolerance.
"""

from __future__ import annotations

import numpy as np

from seedcc.ir import Graph


def run_graph(g: Graph, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """All values of `g` for a batch of inputs (float32, batch axis first)."""
    env = {k: np.asarray(v, np.float32) for k, v in inputs.items()}
    for n in g.nodes:
        env[n.output] = np.asarray(n.op.spec.reference(n, [env[i] for i in n.inputs]), np.float32)
    return env
