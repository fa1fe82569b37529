"""Supermask networks built from `seedcc.torch` layers: the examples' and tests' models.

Every layer gets its own generator seed (`Seeds`), so a record names each random tensor
unambiguously; BatchNorm follows every conv (the accelerator folds it into requantisation).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from seedcc.torch.layers import FoldedBlock, SupermaskConv2d, SupermaskLinear


class Seeds:
    """Hands out generator seeds 1024, 2048, ... (one per layer)."""

    def __init__(self, start: int = 1024, step: int = 1024):
        self.next, self.step = start, step

    def __call__(self) -> int:
        seed, self.next = self.next, self.next + self.step
        return seed


def layer_freeze(freeze: Mapping[str, float] | None, seed: int) -> dict[str, float] | None:
    """A layer's freeze record: the model's shares with a draw of its own (freeze seed
    + the layer's generator seed), so layers do not freeze the same positions."""
    return None if freeze is None else {**freeze, "seed": int(freeze["seed"]) + seed}


class MLP(nn.Module):
    """x (N, 1, 8, 8) -> flatten -> [supermask linear + BatchNorm + ReLU] x 2 -> linear."""

    def __init__(self, features: int = 64, hidden: int = 256, classes: int = 10, keep: float = 0.5,
                 coats: int = 1, freeze: Mapping[str, float] | None = None):
        super().__init__()
        s = Seeds()
        kw = {"keep": keep, "coats": coats, "freeze": freeze}
        self.fc1 = SupermaskLinear(features, hidden, bias=False, seed=s(), **kw)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.fc2 = SupermaskLinear(hidden, hidden, bias=False, seed=s(), **kw)
        self.bn2 = nn.BatchNorm1d(hidden)
        self.fc3 = SupermaskLinear(hidden, classes, bias=False, seed=s(), keep=keep, coats=coats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(x, 1)
        x = F.relu(self.bn1(self.fc1(x)))
        x = F.relu(self.bn2(self.fc2(x)))
        return self.fc3(x)


class ResidualBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); a 1x1 strided conv + BN shortcut
    when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int, seeds: Seeds, keep: float, coats: int = 1,
                 freeze: Mapping[str, float] | None = None):
        super().__init__()
        kw = {"keep": keep, "coats": coats}
        seed = seeds()
        self.conv1 = SupermaskConv2d(cin, cout, 3, stride, 1, bias=False, seed=seed,
                                     freeze=layer_freeze(freeze, seed), **kw)
        self.bn1 = nn.BatchNorm2d(cout)
        seed = seeds()
        self.conv2 = SupermaskConv2d(cout, cout, 3, 1, 1, bias=False, seed=seed,
                                     freeze=layer_freeze(freeze, seed), **kw)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            seed = seeds()
            self.shortcut = nn.Sequential(
                SupermaskConv2d(cin, cout, 1, stride, bias=False, seed=seed, keep=keep,
                                freeze=layer_freeze(freeze, seed)),
                nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class CNN(nn.Module):
    """A small CNN for (N, C, H, W) images: a 3x3 stem, `stages` residual stages (the first
    at stride 1, the others halving the size and doubling the width), each stage one block
    or a hidden fold of one block applied `fold` times, global average pool, linear.
    `freeze` partially freezes every layer (`layer_freeze`)."""

    def __init__(self, in_channels: int = 1, width: int = 16, classes: int = 10, stages: int = 2,
                 fold: int = 1, keep: float = 0.5, coats: int = 1,
                 freeze: Mapping[str, float] | None = None):
        super().__init__()
        s = Seeds()
        seed = s()
        self.stem = SupermaskConv2d(in_channels, width, 3, 1, 1, bias=False, seed=seed, keep=keep,
                                    freeze=layer_freeze(freeze, seed))
        self.bn = nn.BatchNorm2d(width)
        blocks: list[nn.Module] = []
        cin = width
        for k in range(stages):
            cout = width * 2**k
            blocks.append(ResidualBlock(cin, cout, 1 if k == 0 else 2, s, keep, coats, freeze))
            if fold > 1:
                blocks.append(FoldedBlock(ResidualBlock(cout, cout, 1, s, keep, coats, freeze), fold))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        seed = s()
        self.fc = SupermaskLinear(cin, classes, bias=False, seed=seed, keep=keep, freeze=layer_freeze(freeze, seed))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(F.relu(self.bn(self.stem(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class ResNet18(nn.Module):
    """CIFAR ResNet-18 (3x3 stem, four stages of two basic blocks, 1x1 stride-2 shortcuts,
    global average pool, linear) with supermask layers: 11.2M random weights at width 64."""

    def __init__(self, width: int = 64, classes: int = 10, keep: float = 0.5):
        super().__init__()
        s = Seeds()
        self.stem = SupermaskConv2d(3, width, 3, 1, 1, bias=False, seed=s(), keep=keep)
        self.bn = nn.BatchNorm2d(width)
        layers: list[nn.Module] = []
        cin = width
        for stage in range(4):
            cout = width * 2**stage
            for blk in range(2):
                layers.append(ResidualBlock(cin, cout, 2 if stage > 0 and blk == 0 else 1, s, keep))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = SupermaskLinear(cin, classes, bias=False, seed=s(), keep=keep)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(F.relu(self.bn(self.stem(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def randomize_batchnorm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm drawn statistics and affine parameters, as training would leave
    them (an untrained model's are 0 and 1): tests use it to exercise the fold arithmetic."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=g) * 0.4 - 0.2)
                m.running_var.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                    m.bias.copy_(torch.rand(n, generator=g) * 0.4 - 0.2)
    return model
