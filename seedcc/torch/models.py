"""Supermask networks built from `seedcc.torch` layers: the examples' and tests' models.

Every layer gets its own generator seed (`Seeds`), so a record names each random tensor
unambiguously; BatchNorm follows every conv (the accelerator folds it into requantisation).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
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


class GCNLayer(nn.Module):
    """One graph convolution on node features h (B, nodes, features): `Â @ (h @ W)`
    (`order="A(HW)"`) or `(Â @ h) @ W` (`order="(AH)W"`), then an optional bias, BatchNorm
    over the features and ReLU. Â is a constant buffer; W a supermask linear layer (shared
    between the iterations of a `FoldedBlock`)."""

    def __init__(self, adj: torch.Tensor, lin: SupermaskLinear, *, order: str = "A(HW)",
                 bias: bool = False, bn: bool = True, relu: bool = True, bn_form: str = "transpose"):
        super().__init__()
        if order not in ("A(HW)", "(AH)W"):
            raise ValueError(f"order must be 'A(HW)' or '(AH)W', got {order!r}")
        self.register_buffer("adj", adj)
        self.lin, self.order, self.relu, self.bn_form = lin, order, relu, bn_form
        self.bias = nn.Parameter(torch.zeros(lin.out_features)) if bias else None
        self.bn = nn.BatchNorm1d(lin.out_features) if bn else None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = self.adj @ self.lin(h) if self.order == "A(HW)" else self.lin(self.adj @ h)
        if self.bias is not None:
            h = h + self.bias
        if self.bn is not None:
            if self.bn_form == "transpose":  # BatchNorm1d over (B, features, nodes)
                h = self.bn(h.transpose(1, 2)).transpose(1, 2)
            else:  # "flat": nodes as BatchNorm1d's batch axis
                h = self.bn(h.reshape(-1, h.shape[-1])).reshape(h.shape)
        return F.relu(h) if self.relu else h


class GCN(nn.Module):
    """A folded multicoated GCN on one graph: x (1, nodes, features) -> logits (1, nodes,
    classes). An input layer, `folds` iterations of one shared hidden layer (one random
    tensor and one multicoat mask, its own BatchNorm per iteration: a `FoldedBlock`), and an
    output layer without BatchNorm or ReLU."""

    def __init__(self, adj: np.ndarray, features: int, hidden: int, classes: int, *, folds: int = 2,
                 keep: float = 0.5, coats: int = 3, order: str = "A(HW)", bias: bool = False,
                 bn_form: str = "transpose"):
        super().__init__()
        s = Seeds()
        a = torch.from_numpy(np.ascontiguousarray(adj, np.float32))
        kw = {"keep": keep, "coats": coats}
        lk = {"order": order, "bias": bias, "bn_form": bn_form}
        self.inp = GCNLayer(a, SupermaskLinear(features, hidden, bias=False, seed=s(), **kw), **lk)
        shared = SupermaskLinear(hidden, hidden, bias=False, seed=s(), **kw)
        self.hidden = FoldedBlock(GCNLayer(a, shared, **lk), folds) if folds else nn.Identity()
        self.out = GCNLayer(a, SupermaskLinear(hidden, classes, bias=False, seed=s(), **kw),
                            order=order, bias=bias, bn=False, relu=False)
        for m in self.modules():  # one Â tensor for every layer (FoldedBlock copied it)
            if isinstance(m, GCNLayer):
                m.adj = a

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.hidden(self.inp(x)))


class WrittenLayerNorm(nn.Module):
    """LayerNorm over the last axis written out with tensor ops, as hand-written models do;
    it exports as ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add."""

    def __init__(self, d: int, eps: float = 1e-5):
        super().__init__()
        self.weight, self.bias, self.eps = nn.Parameter(torch.ones(d)), nn.Parameter(torch.zeros(d)), eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x - x.mean(-1, keepdim=True)
        return c / torch.sqrt(c.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight + self.bias


#: EncoderBlock's `norm` choices: the normalisation after each residual Add
NORMS = {"layer": nn.LayerNorm, "written": WrittenLayerNorm, "none": lambda d: nn.Identity()}


def sinusoidal(tokens: int, d: int) -> torch.Tensor:
    """The fixed sine/cosine positional encoding (tokens, d) of Vaswani et al. (2017)."""
    pos = torch.arange(tokens, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(tokens, d)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)[:, : d // 2]
    return pe


class PositionalEncoding(nn.Module):
    """Adds the fixed `sinusoidal` encoding to x (B, tokens, d); it exports as one Add of a
    constant (tokens, d) initializer, which the accelerator loads and adds (a CONSTANT)."""

    def __init__(self, tokens: int, d: int):
        super().__init__()
        self.register_buffer("pe", sinusoidal(tokens, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe


class EncoderBlock(nn.Module):
    """A post-norm transformer encoder block on x (B, tokens, d), single-head
    `h = LN1(x + O(softmax(Q Kᵀ / sqrt(d)) V))` (with `heads` > 1 the features split into
    heads of d/heads, each with its own softmax, as torch's multi-head attention computes), `y = LN2(h + F2(GELU(F1(h))))`, with
    Q, K, V, O (d -> d), F1 (d -> ffn), F2 (ffn -> d) supermask linear layers with biases.
    `norm` picks LN: torch's LayerNorm ("layer"), the same written out ("written"), or no
    normalisation at all ("none"). `randomize` draws the biases and LayerNorm parameters
    from a seeded generator (an untrained block's are 0 and 1), as training would leave them."""

    def __init__(self, d: int = 16, ffn: int = 32, keep: float = 0.5, seeds: Seeds | None = None,
                 randomize: int | None = None, heads: int = 1, norm: str = "layer"):
        super().__init__()
        s = seeds or Seeds()
        self.q, self.k, self.v, self.o = (SupermaskLinear(d, d, seed=s(), keep=keep) for _ in range(4))
        if norm not in NORMS:
            raise ValueError(f"norm {norm!r}: choose one of {', '.join(NORMS)}")
        self.ln1, self.ln2 = NORMS[norm](d), NORMS[norm](d)
        self.f1, self.f2 = SupermaskLinear(d, ffn, seed=s(), keep=keep), SupermaskLinear(ffn, d, seed=s(), keep=keep)
        self.act = nn.GELU()
        self.d, self.heads = d, heads
        if randomize is not None:
            g = torch.Generator().manual_seed(randomize)
            with torch.no_grad():
                for name, p in self.named_parameters():
                    if name.endswith("bias"):
                        p.copy_(torch.rand(p.shape, generator=g) * 0.4 - 0.2)
                    elif name.startswith("ln"):
                        p.copy_(torch.rand(p.shape, generator=g) + 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.q(x), self.k(x), self.v(x)
        if self.heads == 1:
            p = torch.softmax(q @ k.transpose(1, 2) / float(np.sqrt(self.d)), dim=-1)
            a = p @ v
        else:
            b, t, d = x.shape
            q, k, v = (z.reshape(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
            p = torch.softmax(q @ k.transpose(-2, -1) / float(np.sqrt(d // self.heads)), dim=-1)
            a = (p @ v).transpose(1, 2).reshape(b, t, d)
        h = self.ln1(x + self.o(a))
        return self.ln2(h + self.f2(self.act(self.f1(h))))
