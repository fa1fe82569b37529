"""SCALE: multiply an activation by a constant scalar (ONNX Mul or Div by a one-element
constant), e.g. attention's 1/sqrt(d) or a fixed gain between layers.

Attribute `factor` (float). Lowering needs no new hardware: the ADD instruction with both
operands at the input and `mult_b = 0` computes sat8(x·m >> shift), m·2^-shift ≈
factor·s_x/s_y; its float-mode coefficients (fa, fb) = (factor, 0) go to the float section.
A scale right after a MatMul of two activations (read by nothing else) is folded into it,
and so is one on an operand's attention heads (`OnnxContext.head_scale`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from seedcc.errors import ModelStructureError
from seedcc.ir.ops.base import OpDef, Shape, is_unsigned, saturating_multiplier


class Scale(OpDef):
    name = "scale"
    onnx = ("Mul", "Div")
    reads_unsigned = True
    attrs = ("factor",)

    @staticmethod
    def from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
        consts = [i for i in node.input if ctx.is_const(i)]
        dyn = [i for i in node.input if not ctx.is_const(i)]
        divisor_ok = node.op_type == "Mul" or (consts and node.input[1] == consts[0])
        if len(dyn) != 1 or not divisor_ok or ctx.const(consts[0], name).size != 1:
            raise ModelStructureError(
                f"{ctx.where}: node {name}: {node.op_type} is supported only between an activation "
                f"and a one-element constant{' divisor' if node.op_type == 'Div' else ''}")
        c = float(ctx.const(consts[0], name).reshape(()))
        if node.op_type == "Div" and c == 0.0:
            raise ModelStructureError(f"{ctx.where}: node {name}: division by the constant 0")
        factor = c if node.op_type == "Mul" else 1.0 / c
        prod = ctx.producer(dyn[0])
        if prod is not None and prod.op.value == "matmul" and ctx.readers(dyn[0]) == 1:
            # attention's 1/sqrt(d) after Q·Kᵀ: part of the product's requantisation
            ctx.replace(prod, prod.with_attrs(factor=prod.attrs["factor"] * factor))
            ctx.alias(node.output[0], prod.outputs[0])
            if ctx.values[prod.outputs[0]].onnx_name is not None:  # None: attention heads
                ctx.values[prod.outputs[0]] = replace(ctx.values[prod.outputs[0]], onnx_name=node.output[0])
            return
        view = ctx.head_view(dyn[0])
        if view is not None and view[2] in ("heads", "heads_t", "flat", "flat_t"):
            # Q or Kᵀ heads times a constant (SDPA's √scale): carried to the MatMul's factor
            ctx.heads[node.output[0]] = view
            ctx.head_scale[node.output[0]] = ctx.head_scale.get(ctx.src(dyn[0]), 1.0) * factor
            return
        ctx.emit(Scale, name, dyn, node.output[0], factor=factor)

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        return ins[0] * np.float32(n.attrs["factor"])

    @staticmethod
    def lower(n: Any, em: Any) -> None:
        x, y = em.value(n.inputs[0]), em.value(n.output)
        mult, shift = saturating_multiplier(n.attrs["factor"] * x.scale / y.scale)
        at = em.addr(n.inputs[0])
        em.emit("ADD", a_addr=at, b_addr=at, out_addr=em.addr(n.output), length=math.prod(y.shape),
                mult_a=mult, mult_b=0, shift=shift, relu=0, a_unsigned=is_unsigned(x),
                b_unsigned=is_unsigned(x), out_unsigned=is_unsigned(y))
        em.float_affine(np.array([n.attrs["factor"]]), np.array([0.0]))

    @staticmethod
    def cost(n: Any, ins: list[Shape], out: Shape) -> int:
        return math.prod(out)
