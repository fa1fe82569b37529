"""The scale path of graph networks: a folded multicoated GCN on a 2,000-node planted
partition graph (networkx `stochastic_block_model`, 4 blocks of 500, `seedcc.graphs.planted_partition`), trained
semi-supervised from 20 labelled nodes per block on noisy node features, then compiled for
the DEFAULT accelerator: compile time, Â storage in bytes against nodes², cycles, and the
test-node accuracy of torch, onnxruntime and seedcc's float and int8 modes.

    pip install -e ".[torch]"
    python examples/gcn_sbm/gcn_sbm.py [--out DIR] [--nodes N] [--epochs N] [--dynamo]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

from seedcc.api import compile as seedcc_compile
from seedcc.api import run
from seedcc.golden import ort_run
from seedcc.graphs import planted_partition
from seedcc.rtl_models.hwconfig import DEFAULT
from seedcc.torch import export
from seedcc.torch.models import GCN
from seedcc.torch.train import fit_nodes, graph_lines, node_accuracy, size_lines

BLOCKS, FEATURES = 4, 16


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="out/gcn_sbm")
    p.add_argument("--nodes", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--dynamo", action="store_true", help="export with torch's dynamo exporter")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    adj, x, y, train = task = planted_partition(a.nodes, BLOCKS, FEATURES)
    test = task.test
    net = fit_nodes(GCN(adj, FEATURES, 16, BLOCKS, folds=2, coats=3, keep=0.5), x, y, train, epochs=a.epochs)
    path = export(net, torch.from_numpy(x), os.path.join(a.out, "gcn_sbm.onnx"), dynamo=a.dynamo)
    t0 = time.perf_counter()
    program = seedcc_compile(path, calib={"x": x}, config=DEFAULT)
    compile_s = time.perf_counter() - t0
    with torch.no_grad():
        acc = {"torch": node_accuracy(net(torch.from_numpy(x)).numpy(), y, test),
               "onnxruntime": node_accuracy(ort_run(path, {"x": x})["logits"], y, test)}
    runs = {mode: run(program, x, mode=mode) for mode in ("float", "int8")}
    acc.update({f"seedcc {m}": node_accuracy(r.outputs["logits"], y, test) for m, r in runs.items()})
    n = len(y)
    print(f"planted partition GCN, {n} nodes, {int((adj != 0).sum())} adjacency entries ({path}): "
          f"{len(train)} labelled nodes, test accuracy on the other {len(test)}: "
          + ", ".join(f"{k} {100 * v:.1f}%" for k, v in acc.items()))
    c = runs["int8"].counters
    print(f"compiled for DEFAULT in {compile_s:.2f} s: {len(program.instructions)} instructions, "
          f"{runs['int8'].cycles} cycles per inference ({runs['int8'].cycles / DEFAULT.clock_mhz:.0f} us at "
          f"{DEFAULT.clock_mhz:.0f} MHz); DRAM read {c['dram_read_bytes']} bytes")
    print(f"nodes² = {n * n} (int8: {n * n} bytes, float32: {4 * n * n} bytes)")
    print("\n".join(graph_lines(program.manifest)))
    print("\n".join(size_lines(program)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
