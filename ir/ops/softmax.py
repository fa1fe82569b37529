"""SOFTMAX over the last axis of a rank-2 activation (ONNX Softmax, axis -1): attention's
probabilities over the keys. The per-sample input is the scores (queries, keys), stored
(keys, queries); the output has the same shape, uint8 probabilities at scale 2^-8
(`output_encoding`), which MATMUL reads unsigned. Lowering: one SOFTMAX (`features` = keys,
`tokens` = queries). Attribute `heads` h: the keys are h slices (one per attention head),
each normalised on its own by one SOFTMAX."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from seedcc.errors import ModelStructureError
from seedcc.ir.ops.base import OpDef, Shape, require_signed
from seedcc.rtl_models import numerics
from seedcc.rtl_models.hwfacts import SM_OUT_BITS


class Softmax(OpDef):
    name = "softmax"
    onnx = ("Softmax",)
    output_encoding = ("uint8", 2.0 ** -SM_OUT_BITS)

    @staticmethod
    def from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
        view = ctx.head_view(node.input[0], name)
        if view is not None:
            if int(a.get("axis", -1)) not in (-1, 3) or view[2] != "heads":
                raise ModelStructureError(
                    f"{ctx.where}: node {name}: Softmax of the attention heads {node.input[0]!r} is "
                    f"supported only over the last axis of (batch, heads, queries, keys) scores")
            ctx.emit_heads(Softmax, name, [view[0]], node.output[0], view[1])
            return
        x = ctx.src(node.input[0])
        shape = ctx.values[x].shape if x in ctx.values else None
        axis = int(a.get("axis", -1))
        if shape is None or len(shape) != 2 or axis not in (-1, 2):
            raise ModelStructureError(
                f"{ctx.where}: node {name}: Softmax is supported only over the last axis of a "
                f"(batch, tokens, features) activation; it has axis {axis} on the per-sample shape {shape}")
        ctx.emit(Softmax, name, [x], node.output[0], heads=1)

    @staticmethod
    def infer(attrs: Mapping[str, Any], ins: list[Shape]) -> Shape:
        if len(ins[0]) != 2 or ins[0][1] % attrs.get("heads", 1):
            raise ValueError(f"the input must be rank-2 (tokens, heads·features), is {ins[0]}")
        return ins[0]

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        x = ins[0].astype(np.float64)
        x = x.reshape(*x.shape[:2], n.attrs.get("heads", 1), -1)
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return (e / e.sum(axis=-1, keepdims=True)).reshape(ins[0].shape).astype(np.float32)

    @staticmethod
    def lower(n: Any, em: Any) -> None:
        h = n.attrs.get("heads", 1)
        require_signed(n, em.value(n.inputs[0]))
        t, f = em.value(n.inputs[0]).shape
        f //= h
        in_mult, in_shift = numerics.softmax_params(em.value(n.inputs[0]).scale)
        for i in range(h):  # head i's keys: features [i·f, (i+1)·f)
            em.emit("SOFTMAX", in_addr=em.addr(n.inputs[0]) + i * f * t, out_addr=em.addr(n.output) + i * f * t,
                    tokens=t, features=f, in_plane=t, out_plane=t, in_mult=in_mult, in_shift=in_shift)

    @staticmethod
    def cost(n: Any, ins: list[Shape], out: Shape) -> int:
        return 3 * out[0] * out[1]
