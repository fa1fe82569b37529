"""Compile time of a GCN on a large planted partition graph, against onnxruntime's session
set-up and one run of the same file (the baseline, measured in the same run).

    python benchmarks/bench_gcn.py [--nodes 2000] [--layers 4] [--repeat 3]

The model (written here with onnx.helper, stored ternary weights): x (1, nodes, 16) ->
[Â @ (h @ W) -> ReLU] x layers, Â the normalised adjacency of `seedcc.graphs.planted_partition`
as a dense float32 initializer (what torch exports). Prints the best-of compile time
(DEFAULT), its ratio to onnxruntime's, Â's CSR bytes against nodes², and the cycles of one
inference. Target: compile <= 10 s for 2,000 nodes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from seedcc.backends import refsim
from seedcc.flow import compile_model
from seedcc.graphs import planted_partition


def gcn(adj: np.ndarray, features: int, layers: int) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    n = adj.shape[0]
    inits = [numpy_helper.from_array(adj, "A")]
    nodes, h = [], "x"
    for k in range(layers):
        w = rng.choice([-0.25, 0.25], (features, features)) * (rng.random((features, features)) < 0.5)
        inits.append(numpy_helper.from_array(w.astype(np.float32), f"W{k}"))
        nodes += [helper.make_node("MatMul", [h, f"W{k}"], [f"hw{k}"]),
                  helper.make_node("MatMul", ["A", f"hw{k}"], [f"a{k}"]),
                  helper.make_node("Relu", [f"a{k}"], [f"h{k}"])]
        h = f"h{k}"
    graph = helper.make_graph(nodes, "gcn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n, features])],
                              [helper.make_tensor_value_info(h, TensorProto.FLOAT, [1, n, features])],
                              initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=2000)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    task = planted_partition(a.nodes, features=16)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "gcn.onnx")
        onnx.save(gcn(task.adj, 16, a.layers), path)
        t_ort, _ = best_of(lambda: ort.InferenceSession(path).run(None, {"x": task.x}), a.repeat)
        t_cc, res = best_of(lambda: compile_model(path, calib={"x": task.x}), a.repeat)
    prog = res.program
    g = prog.manifest.graphs[0]
    n = a.nodes
    print(f"{n} nodes, {g.nnz} adjacency entries, {a.layers} layers; the file holds Â dense, {4 * n * n} B")
    print(f"onnxruntime session + one run: {t_ort:.2f} s; seedcc compile (DEFAULT): {t_cc:.2f} s "
          f"({t_cc / t_ort:.1f}x onnxruntime)")
    print(f"Â stored as CSR: {g.stored_bytes} B = {g.stored_bytes / (n * n):.4f} x nodes² bytes; "
          f"program image {len(prog.image)} B")
    print(f"cycles per inference: {refsim.run(prog, {'x': task.x}).cycles}")


if __name__ == "__main__":
    main()
