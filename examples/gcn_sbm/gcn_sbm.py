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

import torch

from seedcc.graphs import planted_partition
from seedcc.rtl_models.hwconfig import DEFAULT
from seedcc.torch import export
from seedcc.torch.models import GCN
from seedcc.torch.train import fit_nodes, graph_lines, held_out_nodes, size_lines

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
    task = planted_partition(a.nodes, BLOCKS, FEATURES)
    net = fit_nodes(GCN(task.adj, FEATURES, 16, BLOCKS, folds=2, coats=3, keep=0.5), task.x, task.y, task.train,
                    epochs=a.epochs)
    path = export(net, torch.from_numpy(task.x), os.path.join(a.out, "gcn_sbm.onnx"), dynamo=a.dynamo)
    acc, program, int8, compile_s = held_out_nodes(net, path, task, DEFAULT)
    adj, y, train, test = task.adj, task.y, task.train, task.test
    n = len(y)
    print(f"planted partition GCN, {n} nodes, {int((adj != 0).sum())} adjacency entries ({path}): "
          f"{len(train)} labelled nodes, test accuracy on the other {len(test)}: "
          + ", ".join(f"{k} {100 * v:.1f}%" for k, v in acc.items()))
    c = int8.counters
    print(f"compiled for DEFAULT in {compile_s:.2f} s: {len(program.instructions)} instructions, "
          f"{int8.cycles} cycles per inference ({int8.cycles / DEFAULT.clock_mhz:.0f} us at "
          f"{DEFAULT.clock_mhz:.0f} MHz); DRAM read {c['dram_read_bytes']} bytes")
    print(f"nodes² = {n * n} (int8: {n * n} bytes, float32: {4 * n * n} bytes)")
    print("\n".join(graph_lines(program.manifest)))
    print("\n".join(size_lines(program)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
