"""Partially frozen supermask MLP on real data: a seeded draw fixes 30% of each hidden
layer's positions to 0 and 10% to 1 (DESIGN §4 freeze draw) and only the rest is learned;
trained on scikit-learn's digits, exported, compiled. The accelerator draws the frozen
positions on chip, so only the free positions' mask bits are stored (the size lines print
both counts); --rtl also checks the Verilog RTL bit for bit.

    pip install -e ".[torch]"
    python examples/frozen_mlp/frozen_mlp.py [--out DIR] [--epochs N] [--dynamo] [--rtl]
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

from seedcc.torch import export
from seedcc.torch.models import MLP
from seedcc.torch.train import digits, fit, held_out, size_lines, verify_held_out

FREEZE = {"seed": 7, "prune": 0.3, "lock": 0.1}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="out/frozen_mlp")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--dynamo", action="store_true", help="export with torch's dynamo exporter")
    p.add_argument("--rtl", action="store_true", help="also run the Verilog RTL (Verilator via cocotb)")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    data = digits()
    net = fit(MLP(hidden=256, freeze=FREEZE), data.x_train, data.y_train, epochs=a.epochs)
    path = export(net, torch.from_numpy(data.x_test[:2]), os.path.join(a.out, "frozen_mlp.onnx"),
                  dynamo=a.dynamo)
    acc, program = held_out(net, path, data)
    print(f"partially frozen MLP (freeze {FREEZE}) ({path}): held-out accuracy "
          + ", ".join(f"{k} {100 * v:.1f}%" for k, v in acc.items()))
    print("\n".join(size_lines(program)))
    if a.rtl:
        report = verify_held_out(path, data)
        print(report.format())
        return 0 if report.ok(min_agreement=0.95) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
