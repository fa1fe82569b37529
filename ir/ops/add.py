"""ADD: element-wise sum of two activations (ONNX Add), e.g. a residual connection.

Attribute `relu` (after `fuse_epilogues`). An ONNX Add of an activation and a constant is
the bias of the layer (or graph aggregation, PyG's `Â (X W) + b`) right before it (how
torch exports Linear) and is folded into it here. Lowering: one ADD instruction, out = sat8(relu?((a·ma + b·mb) >> shift)), the
multipliers rescaling both operands to the output's scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from seedcc.errors import ModelStructureError
from seedcc.ir.ops.base import OpDef, Shape, as_chw, saturating_multiplier
from seedcc.rtl_models.hwfacts import MULT_MAX


class Add(OpDef):
    name = "add"
    onnx = ("Add",)
    transposable = True
    arity = 2

    @staticmethod
    def from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
        dyn = [i for i in node.input if not ctx.is_const(i)]
        if len(dyn) == 2:
            ctx.emit(Add, name, node.input, node.output[0])
            return
        const = next(i for i in node.input if ctx.is_const(i))
        prod = ctx.producer(dyn[0])
        c = ctx.const(const, name).astype(np.float32)
        if prod is None or prod.op.value not in ("conv", "aggregate") or prod.attrs["bias"] is not None:
            raise ModelStructureError(f"{ctx.where}: node {name}: Add of a constant is only supported "
                                      f"as the bias of the Conv/Gemm/MatMul (or graph aggregation) "
                                      f"right before it")
        o = as_chw(ctx.values[prod.outputs[0]].shape)[0]  # output channels (features)
        try:
            bias = np.broadcast_to(c.reshape(-1) if c.size == o else c, (o,)).copy()
        except ValueError:
            raise ModelStructureError(f"{ctx.where}: node {name}: constant {const!r} of shape {c.shape} "
                                      f"is not a per-channel bias of {o} channels") from None
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
        return np.maximum(y, 0) if n.attrs.get("relu") else y

    @staticmethod
    def lower(n: Any, em: Any) -> None:
        va, vb, vy = (em.value(v) for v in (*n.inputs, n.output))
        ra, rb = va.scale / vy.scale, vb.scale / vy.scale
        _, shift = saturating_multiplier(max(ra, rb))
        ma, mb = (min(MULT_MAX, int(round(r * 2**shift))) for r in (ra, rb))
        em.emit("ADD", a_addr=em.addr(n.inputs[0]), b_addr=em.addr(n.inputs[1]), out_addr=em.addr(n.output),
                length=math.prod(vy.shape), mult_a=ma, mult_b=mb, shift=shift,
                relu=int(bool(n.attrs.get("relu"))))

    @staticmethod
    def cost(n: Any, ins: list[Shape], out: Shape) -> int:
        return math.prod(out)
