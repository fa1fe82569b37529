"""BATCHNORM: inference batch normalisation (ONNX BatchNormalization).

Attributes `gamma`, `beta`, `mean`, `var` (float64 per channel) and `eps`. It never runs on
its own: `fuse_epilogues` folds it into the layer before it (requantisation absorbs it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from seedcc.errors import ModelStructureError
from seedcc.ir.ops.base import OpDef, Shape, as_chw, channel

F32_MAX = float(np.finfo(np.float32).max)


class BatchNorm(OpDef):
    name = "batchnorm"
    onnx = ("BatchNormalization",)
    transposable = True
    attrs = ("gamma", "beta", "mean", "var", "eps")

    @staticmethod
    def from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
        if a.get("training_mode", 0):
            raise ModelStructureError(f"{ctx.where}: node {name}: training-mode BatchNormalization")
        x = ctx.src(node.input[0])
        if x in ctx.values and len(ctx.values[x].shape) == 2 and len(ctx.lm.shapes.get(node.input[0], ())) == 3:
            raise ModelStructureError(  # ONNX normalises axis 1: the nodes of (1, N, F)
                f"{ctx.where}: node {name}: BatchNormalization of the (1, nodes, features) tensor "
                f"{node.input[0]!r} normalises its node axis; seedcc takes BatchNorm over the features "
                f"(torch: bn(h.transpose(1, 2)).transpose(1, 2) or bn(h.reshape(-1, F)))")
        g, b, m, v = (ctx.const(i, name).astype(np.float64) for i in node.input[1:5])
        eps = float(a.get("epsilon", 1e-5))
        if not (np.isfinite(eps) and eps >= 0):
            raise ModelStructureError(f"{ctx.where}: node {name}: epsilon {eps!r} must be a finite "
                                      f"number >= 0")
        if any(t.ndim != 1 or t.shape != g.shape for t in (b, m, v)) or g.ndim != 1:
            raise ModelStructureError(f"{ctx.where}: node {name}: scale, bias, mean and variance "
                                      f"must be vectors of one length (one entry per channel), are "
                                      f"{', '.join(str(t.shape) for t in (g, b, m, v))}")
        if not (v + eps > 0).all():
            ch = int(np.argmin(v + eps > 0))
            raise ModelStructureError(f"{ctx.where}: node {name}: channel {ch} has variance "
                                      f"{float(v[ch])!r}; variance + epsilon must be positive")
        scale = g / np.sqrt(v + eps)  # float64: no overflow for float32 parameters
        if not ((np.abs(scale) <= F32_MAX) & (np.abs(b - m * scale) <= F32_MAX)).all():
            ch = int(np.argmin((np.abs(scale) <= F32_MAX) & (np.abs(b - m * scale) <= F32_MAX)))
            raise ModelStructureError(f"{ctx.where}: node {name}: channel {ch} has scale "
                                      f"gamma/sqrt(var+eps) = {float(scale[ch]):.3g}, which with its "
                                      f"mean and beta overflows float32; the parameters are out of range")
        ctx.emit(BatchNorm, name, node.input[:1], node.output[0], gamma=g, beta=b, mean=m, var=v,
                 eps=eps)

    @staticmethod
    def infer(attrs: Mapping[str, Any], ins: list[Shape]) -> Shape:
        c = as_chw(ins[0])[0]
        for key in ("gamma", "beta", "mean", "var"):
            if np.ndim(attrs[key]) != 1 or len(attrs[key]) != c:
                raise ValueError(f"{key} has shape {np.shape(attrs[key])}; it needs {c} entries, "
                                 f"one per channel")
        return ins[0]

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        x, a = ins[0], n.attrs
        s = a["gamma"] / np.sqrt(a["var"] + a["eps"])
        return (x - channel(a["mean"], x.ndim)) * channel(s, x.ndim) + channel(a["beta"], x.ndim)

    @staticmethod
    def cost(n: Any, ins: list[Shape], out: Shape) -> int:
        return 2 * int(np.prod(out))
