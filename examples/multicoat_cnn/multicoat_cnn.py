"""Multicoat supermask CNN on real data: three nested top-k masks per layer give every
weight an integer code 0..3 (2 mask bits), trained on scikit-learn's digits, exported with
the TorchScript exporter at its defaults (which materialises R x codes into one
initializer), compiled.

    pip install -e ".[torch]"
    python examples/multicoat_cnn/multicoat_cnn.py [--out DIR] [--epochs N] [--dynamo]
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

from seedcc.torch import export
from seedcc.torch.models import CNN
from seedcc.torch.train import digits, fit, held_out, size_lines


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="out/multicoat_cnn")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--dynamo", action="store_true", help="export with torch's dynamo exporter")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    data = digits()
    net = fit(CNN(width=16, stages=2, coats=3, keep=0.6), data.x_train, data.y_train, epochs=a.epochs)
    path = export(net, torch.from_numpy(data.x_test[:2]), os.path.join(a.out, "multicoat_cnn.onnx"),
                  dynamo=a.dynamo)
    acc, program = held_out(net, path, data)
    print(f"multicoat CNN, 3 coats ({path}): held-out accuracy "
          + ", ".join(f"{k} {100 * v:.1f}%" for k, v in acc.items()))
    print("\n".join(size_lines(program)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
