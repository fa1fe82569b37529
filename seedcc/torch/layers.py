"""Supermask layers for training random-weight networks with PyTorch.

`SupermaskLinear` and `SupermaskConv2d` take torch.nn's positional signature plus
keyword-only extras. Their weights are *not* learned: they are the signed-constant random
tensor of seedcc's own generator registry (`seedcc.rtl_models.generators`), bit-exact
with what the compiler and the accelerator regenerate, held in a buffer. What is learned
is a score per weight (edge-popup, Ramanujan et al. 2020): the forward pass keeps the
top `keep` fraction of scores of the layer (a 0/1 mask) and the backward pass hands the
mask's gradient straight to the scores.

* `coats > 1` (multicoated supermasks): `coats` nested top-k masks with keep fractions
  keep·(coats−j)/coats, summed, give an integer code 0..coats per weight.
* `freeze={"seed", "prune", "lock"}` (partially frozen networks): the DESIGN §4 freeze
  draw fixes some positions to 0 (pruned) or 1 (locked); only the others are learned
  and only those cost mask storage on the chip.

Effective weight = R ⊙ code (plus an optional learned bias, which the accelerator keeps in
its per-channel requantisation). `FoldedBlock` applies one block several times with the
same random weights and scores and a fresh copy of its other modules (BatchNorm) per
iteration: a hidden-fold network.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seedcc.rtl_models.generators import GENERATORS, freeze_pattern, random_weights

MAX_COATS = 7  # the accelerator's largest mask code


class _TopK(torch.autograd.Function):
    """Top-k mask of the scores with a straight-through gradient (edge-popup)."""

    @staticmethod
    def forward(ctx: Any, scores: torch.Tensor, k: int) -> torch.Tensor:
        out = torch.zeros_like(scores)
        if k > 0:
            idx = torch.topk(scores.flatten(), k, sorted=False).indices
            out.view(-1)[idx] = 1.0
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad, None


def he_scale(canon_shape: tuple[int, int, int, int]) -> float:
    """The signed-constant magnitude sqrt(2 / fan_in), as the float32 the generator emits."""
    _, i, kh, kw = canon_shape
    return float(np.float32(math.sqrt(2.0 / (i * kh * kw))))


class _Supermask(nn.Module):
    """What both layer kinds share: the random buffer, the scores, the mask."""

    def _setup(self, canon_shape: tuple[int, int, int, int], torch_shape: tuple[int, ...], *,
               seed: int, generator: str, keep: float, coats: int,
               freeze: Mapping[str, float] | None, scale: float | None) -> None:
        if generator not in GENERATORS:
            raise ValueError(f"generator {generator!r} is not one of {', '.join(GENERATORS)}")
        if not 0.0 < keep <= 1.0:
            raise ValueError(f"keep must be in (0, 1], got {keep}")
        if not 1 <= coats <= MAX_COATS:
            raise ValueError(f"coats must be 1..{MAX_COATS}, got {coats}")
        self.canon_shape = tuple(int(d) for d in canon_shape)
        self.seed, self.generator, self.keep, self.coats = int(seed), generator, float(keep), int(coats)
        self.scale = he_scale(self.canon_shape) if scale is None else float(np.float32(scale))
        self.freeze = None if freeze is None else {"seed": int(freeze["seed"]),
                                                   "prune": float(freeze.get("prune", 0.0)),
                                                   "lock": float(freeze.get("lock", 0.0))}
        r = random_weights(generator, self.seed, self.canon_shape, self.scale).reshape(torch_shape)
        self.register_buffer("weight", torch.from_numpy(np.ascontiguousarray(r)))
        self.scores = nn.Parameter(torch.empty(torch_shape))
        # initial scores drawn from the layer's seed: a model is the same every time it is built
        nn.init.kaiming_uniform_(self.scores, a=math.sqrt(5),
                                 generator=torch.Generator().manual_seed(self.seed))
        if self.freeze is not None:
            f = self.freeze
            pattern = freeze_pattern(f["seed"], f["prune"], f["lock"], self.canon_shape)
            self.register_buffer("frozen", torch.from_numpy(pattern.reshape(torch_shape).copy()))
        else:
            self.frozen = None
        self.fixed_mask: torch.Tensor | None = None  # set while exporting (`fix_mask`)

    def mask(self) -> torch.Tensor:
        """Integer codes 0..coats (as float), straight-through differentiable in the scores."""
        if self.fixed_mask is not None:
            return self.fixed_mask
        s = self.scores.abs()
        free = None
        if self.frozen is not None:
            free = self.frozen == -1
            s = torch.where(free, s, torch.full_like(s, -1.0))  # frozen positions never win
        n = int(free.sum()) if free is not None else s.numel()
        m = sum(_TopK.apply(s, round(n * self.keep * (self.coats - j) / self.coats))
                for j in range(self.coats))
        if self.frozen is not None:
            m = torch.where(self.frozen == 0, torch.zeros_like(m),
                            torch.where(self.frozen == 1, torch.clamp(m.detach(), min=1.0), m))
        return m

    def effective_weight(self) -> torch.Tensor:
        return self.weight * self.mask()

    def fix_mask(self, on: bool) -> None:
        """Freeze the current mask into a constant (export writes `Mul(R, M)`), or release it."""
        self.fixed_mask = self.mask().detach().clone() if on else None

    def record(self) -> dict[str, Any]:
        """The layer's entry of a seedcc layer spec (`seedcc annotate --layers`)."""
        out: dict[str, Any] = {"generator": self.generator, "seed": self.seed, "scale": self.scale,
                               "shape": list(self.canon_shape)}
        if self.freeze is not None:
            out["freeze"] = dict(self.freeze)
        return out

    def extra_repr(self) -> str:
        txt = f"{super().extra_repr()}, seed={self.seed}, generator={self.generator}, keep={self.keep}"
        if self.coats > 1:
            txt += f", coats={self.coats}"
        if self.freeze is not None:
            txt += f", freeze={self.freeze}"
        return txt


class SupermaskLinear(_Supermask):
    """`nn.Linear(in_features, out_features, bias)` whose weight is R ⊙ mask."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, seed: int,
                 generator: str = "xorshift16", keep: float = 0.5, coats: int = 1,
                 freeze: Mapping[str, float] | None = None, scale: float | None = None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self._setup((out_features, in_features, 1, 1), (out_features, in_features), seed=seed,
                    generator=generator, keep=keep, coats=coats, freeze=freeze, scale=scale)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.effective_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


class SupermaskConv2d(_Supermask):
    """`nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias)` whose
    weight is R ⊙ mask (no groups or dilation: the accelerator has neither)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 bias: bool = True, *, seed: int, generator: str = "xorshift16", keep: float = 0.5,
                 coats: int = 1, freeze: Mapping[str, float] | None = None, scale: float | None = None):
        super().__init__()
        kh, kw = _pair(kernel_size)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = (kh, kw), _pair(stride), _pair(padding)
        shape = (out_channels, in_channels, kh, kw)
        self._setup(shape, shape, seed=seed, generator=generator, keep=keep, coats=coats,
                    freeze=freeze, scale=scale)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.effective_weight(), self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}")


def supermask_layers(model: nn.Module) -> dict[str, _Supermask]:
    """Every supermask layer of `model` by module path (a shared layer once)."""
    out: dict[str, _Supermask] = {}
    seen: set[int] = set()
    for path, mod in model.named_modules(remove_duplicate=False):
        if isinstance(mod, _Supermask) and id(mod) not in seen:
            seen.add(id(mod))
            out[path] = mod
    return out


class FoldedBlock(nn.Module):
    """Apply `block` `iterations` times: every iteration shares the block's supermask layers
    (one random tensor and one mask each, stored once on the chip) and has its own copy of
    every other module in it (BatchNorm, which the accelerator folds into requantisation).
    `block` maps a tensor to a tensor of the same shape (e.g. a residual block)."""

    def __init__(self, block: nn.Module, iterations: int):
        super().__init__()
        if iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {iterations}")
        shared = {id(m): m for m in block.modules() if isinstance(m, _Supermask)}
        if not shared:
            raise ValueError("the block has no supermask layer to share between iterations")
        copies = [block] + [copy.deepcopy(block, memo=dict(shared)) for _ in range(iterations - 1)]
        self.iterations = nn.ModuleList(copies)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for blk in self.iterations:
            x = blk(x)
        return x
