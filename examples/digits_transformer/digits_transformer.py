"""A supermask transformer on real data: scikit-learn's 8x8 digits read as 8 tokens (the
image rows) of 8 pixels: an embedding, a fixed sinusoidal positional encoding (a constant
the accelerator adds), one encoder block (attention, then LayerNorm, the same LayerNorm
written out, or no normalisation at all; GELU FFN), the mean over the tokens and a linear
classifier; trained, exported, compiled onto the attention instructions. Prints the
held-out accuracy of torch, onnxruntime and seedcc (float and int8); --rtl also checks the
Verilog RTL bit for bit.

    pip install -e ".[torch]"
    python examples/digits_transformer/digits_transformer.py [--out DIR] [--epochs N] [--heads H]
        [--norm layer|written|none] [--dynamo] [--rtl]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch
from torch import nn

from seedcc.torch import SupermaskLinear, export
from seedcc.torch.models import NORMS, EncoderBlock, PositionalEncoding, Seeds
from seedcc.torch.train import Split, digits, fit, held_out, size_lines, verify_held_out

D = 32  # model width
TOKENS = 8


class DigitsTransformer(nn.Module):
    def __init__(self, heads: int = 1, norm: str = "layer"):
        super().__init__()
        s = Seeds()
        self.emb = SupermaskLinear(8, D, seed=s())
        self.pos = PositionalEncoding(TOKENS, D)
        self.block = EncoderBlock(D, 2 * D, seeds=s, heads=heads, norm=norm)
        self.fc = SupermaskLinear(D, 10, seed=s())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.block(self.pos(self.emb(x))).mean(1))


def as_tokens(x: np.ndarray) -> np.ndarray:
    """(N, 1, 8, 8) images -> (N, 8, 8): token i is row i's 8 pixels."""
    return np.ascontiguousarray(x[:, 0])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="out/digits_transformer")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--heads", type=int, default=2)
    p.add_argument("--norm", choices=tuple(NORMS), default="layer",
                   help="LayerNorm (layer), the same written out with tensor ops (written), or none")
    p.add_argument("--dynamo", action="store_true", help="export with torch's dynamo exporter")
    p.add_argument("--rtl", action="store_true", help="also run the Verilog RTL (Verilator via cocotb)")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    d = digits()
    data = Split(as_tokens(d.x_train), d.y_train, as_tokens(d.x_test), d.y_test)
    net = fit(DigitsTransformer(a.heads, a.norm), data.x_train, data.y_train, epochs=a.epochs, lr=0.05, log=print)
    path = export(net, torch.from_numpy(data.x_test[:2]), os.path.join(a.out, "digits_transformer.onnx"),
                  dynamo=a.dynamo)
    acc, program = held_out(net, path, data)
    print(f"digits transformer, {a.heads} head(s), norm {a.norm} ({path}): held-out accuracy "
          + ", ".join(f"{k} {100 * v:.1f}%" for k, v in acc.items()))
    print("\n".join(size_lines(program)))
    if a.rtl:
        report = verify_held_out(path, data)
        print(report.format())
        return 0 if report.ok(min_agreement=0.95) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
