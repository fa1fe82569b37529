"""Hidden-fold CNN on real data: one residual block applied three times with the same random
weights and mask and its own BatchNorm per iteration (`seedcc.torch.FoldedBlock`), trained on
scikit-learn's digits, exported with torch's dynamo exporter at its defaults (its optimiser
folds each iteration's BatchNorm into that iteration's conv weight), compiled: the fold is
found again and its masks are stored once.

    pip install -e ".[torch]"
    python examples/hidden_fold/hidden_fold.py [--out DIR] [--epochs N] [--torchscript]
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
    p.add_argument("--out", default="out/hidden_fold")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--torchscript", action="store_true", help="export with the TorchScript exporter")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    data = digits()
    net = fit(CNN(width=16, stages=1, fold=3), data.x_train, data.y_train, epochs=a.epochs)
    path = export(net, torch.from_numpy(data.x_test[:2]), os.path.join(a.out, "hidden_fold.onnx"),
                  dynamo=not a.torchscript)
    acc, program = held_out(net, path, data)
    print(f"hidden-fold CNN ({path}): held-out accuracy "
          + ", ".join(f"{k} {100 * v:.1f}%" for k, v in acc.items()))
    print("\n".join(size_lines(program)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
