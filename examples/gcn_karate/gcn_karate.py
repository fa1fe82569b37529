"""Folded multicoated GCN on Zachary's karate club (networkx: 34 members, two clubs after
the split), trained semi-supervised from a few labelled members per club, exported,
compiled for the SMALL accelerator, run on the reference model in float and int8, and
verified bit- and cycle-exact on the RTL.

    pip install -e ".[torch]"
    python examples/gcn_karate/gcn_karate.py [--out DIR] [--epochs N] [--dynamo] [--no-rtl]

The network (`seedcc.torch.models.GCN`): node features are the identity (one-hot member
ids, as in Kipf & Welling's karate demo); an input layer 34 -> 16, one hidden layer 16 -> 16
applied twice with one random tensor and one multicoat mask (codes 0..3, a `FoldedBlock`:
its own BatchNorm per iteration), an output layer 16 -> 2; every layer is
`Â @ (h @ W)` with Â = D^-1/2 (A + I) D^-1/2.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

from seedcc.backends.rtlrun import run_on_rtl
from seedcc.graphs import karate_club
from seedcc.rtl_models.hwconfig import SMALL
from seedcc.sizes import size_breakdown
from seedcc.torch import export
from seedcc.torch.models import GCN
from seedcc.torch.train import fit_nodes, graph_lines, held_out_nodes, size_lines


def paper_accounting(program) -> str:
    """The folded-multicoated-GNN papers' accounting, for comparison: fp32 weights of every
    layer (each fold iteration counted) against mask bits (a fold group once, b-bit codes)
    plus fp32 BatchNorm scale and shift per channel; seedcc's own figure above also counts
    8-byte requantisation records for every REQ (two per GCN layer) and the lane seeds."""
    layers = program.manifest.layers
    unique = [la for la in layers if la.fold is None or la.fold[1] == 0]
    fp32 = 4 * sum(la.weights for la in layers)
    masks = sum(la.code_bits * la.weights for la in unique) / 8
    bn = 2 * 4 * sum(la.shape[0] for la in layers)
    seedcc = size_breakdown(program.manifest).vs_fp32
    return (f"paper-style accounting: {masks:.0f} B of masks + {bn} B of fp32 BatchNorm vs {fp32} B fp32 "
            f"weights: {100 * (1 - (masks + bn) / (fp32 + bn)):.1f}% memory reduction (seedcc as stored: "
            f"{100 * (1 - 1 / seedcc):.1f}%)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="out/gcn_karate")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--dynamo", action="store_true", help="export with torch's dynamo exporter")
    p.add_argument("--no-rtl", action="store_true", help="skip the RTL simulation")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    task = karate_club(labelled_per_club=3)
    net = fit_nodes(GCN(task.adj, 34, 16, 2, folds=2, coats=3, keep=0.5), task.x, task.y, task.train,
                    epochs=a.epochs)
    path = export(net, torch.from_numpy(task.x), os.path.join(a.out, "gcn_karate.onnx"), dynamo=a.dynamo)
    acc, program, int8, compile_s = held_out_nodes(net, path, task, SMALL)
    train, test, x = task.train, task.test, task.x
    print(f"karate club GCN ({path}): {len(train)} labelled members (ids {', '.join(map(str, train))}), "
          f"test accuracy on the other {len(test)}: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in acc.items()))
    print(f"compiled for SMALL in {compile_s:.2f} s: {len(program.instructions)} instructions, "
          f"{int8.cycles} cycles per inference")
    print("\n".join(size_lines(program)))
    print(paper_accounting(program))
    print("\n".join(graph_lines(program.manifest)))
    if not a.no_rtl:
        outcome = run_on_rtl(program, {"x": x})
        print(outcome.summary)
        if not outcome.ok:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
