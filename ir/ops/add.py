"""ADD: element-wise sum of two activations (ONNX Add), e.g. a residual connection.

Attribute `relu` (after `fuse_epilogues`). An ONNX Add of an activation and a constant that
is the same for every position of a channel is the bias of the layer (or graph aggregation,
PyG's `Â (X W) + b`) right before it (how torch exports Linear) and is folded into it here.
Any other constant of the activation's shape (a transformer's positional encoding, a bias
after a layer that already has one) becomes a CONSTANT value added by an ordinary ADD.
Lowering: one ADD instruction, out = sat8(relu?((a·ma + b·mb) >> shift)), the multipliers
rescaling both operands to the output's scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from seedcc.errors import ModelStructureError
from seedcc.ir.ops.base import (
    REGISTRY,
    OpDef,
    Shape,
    as_chw,
    fused_relu,
    is_unsigned,
    saturating_multiplier,
    to_storage,
)
from seedcc.rtl_models.hwfacts import MULT_MAX


def _per_sample(ctx: Any, name: str, x: str, const: str) -> np.ndarray:
    """The constant `const` broadcast (ONNX rules) to the per-sample shape of activation `x`
    (float32), else a ModelStructureError: it may not change the shape or vary by sample."""
    shape = ctx.values[x].shape
    c = ctx.const(const, name).astype(np.float32)
    lead = c.shape[:max(0, c.ndim - len(shape))]
    if any(d != 1 for d in lead):
        raise ModelStructureError(f"{ctx.where}: node {name}: constant {const!r} of shape {c.shape} "
                                  f"differs along the batch axis; it must be the same for every sample")
    try:
        return np.ascontiguousarray(np.broadcast_to(c.reshape(c.shape[len(lead):]), shape))
    except ValueError:
        raise ModelStructureError(f"{ctx.where}: node {name}: constant {const!r} of shape {c.shape} "
                                  f"does not broadcast to the activation {x!r} (per sample {shape}) "
                                  f"without changing its shape") from None


def _per_channel(data: np.ndarray) -> np.ndarray | None:
    """The per-channel vector of a per-sample constant that is one (a bias), else None."""
    planes = to_storage(data[None], data.shape).reshape(as_chw(data.shape)[0], -1)
    return planes[:, 0].copy() if (planes == planes[:, :1]).all() else None


class Add(OpDef):
    name = "add"
    onnx = ("Add",)
    reads_unsigned = True
    relu_output = staticmethod(fused_relu)
    transposable = True
    arity = 2

    @staticmethod
    def from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
        dyn = [i for i in node.input if not ctx.is_const(i)]
        if len(dyn) == 2:
            ctx.emit(Add, name, node.input, node.output[0])
            return
        const = next(i for i in node.input if ctx.is_const(i))
        x, prod = ctx.src(dyn[0]), ctx.producer(dyn[0])
        data = _per_sample(ctx, name, x, const)
        bias = None
        if prod is not None and prod.op.value in ("conv", "aggregate") and prod.attrs["bias"] is None:
            bias = _per_channel(data)
        if bias is None:  # a constant tensor (a positional encoding): loaded, then an ADD
            value = f"{const}#constant"
            ctx.emit(REGISTRY["constant"], f"{name}#constant", [], value, data=data)
            ctx.values[value] = replace(ctx.values[value], onnx_name=None)  # no ONNX tensor holds it
            ctx.emit(Add, name, [x, value], node.output[0])
            return
        ctx.replace(prod, prod.with_attrs(bias=bias))
        ctx.alias(node.output[0], prod.outputs[0])
        # the layer's output now is the Add's: per-layer checks compare it with that tensor
        ctx.values[prod.outputs[0]] = replace(ctx.values[prod.outputs[0]], onnx_name=node.output[0])

    @staticmethod
    def infer(attrs: Mapping[str, Any], ins: list[Shape]) -> Shape:
        if ins[0] != ins[1]:
            raise ValueError(f"operands have different shapes {ins[0]} and {ins[1]}")
        return ins[0]

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        y = ins[0] + ins[1]
        return np.maximum(y, 0, out=y) if n.attrs.get("relu") else y

    @staticmethod
    def lower(n: Any, em: Any) -> None:
        va, vb, vy = (em.value(v) for v in (*n.inputs, n.output))
        ra, rb = va.scale / vy.scale, vb.scale / vy.scale
        _, shift = saturating_multiplier(max(ra, rb))
        ma, mb = (min(MULT_MAX, int(round(r * 2**shift))) for r in (ra, rb))
        em.emit("ADD", a_addr=em.addr(n.inputs[0]), b_addr=em.addr(n.inputs[1]), out_addr=em.addr(n.output),
                length=math.prod(vy.shape), mult_a=ma, mult_b=mb, shift=shift,
                relu=int(bool(n.attrs.get("relu"))), a_unsigned=is_unsigned(va), b_unsigned=is_unsigned(vb),
                out_unsigned=is_unsigned(vy))

    @staticmethod
    def cost(n: Any, ins: list[Shape], out: Shape) -> int:
        return math.prod(out)
