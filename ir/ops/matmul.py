"""MATMUL: the product of two activations (ONNX MatMul with no constant operand), the
scores Q·Kᵀ and the attention·V of a transformer.

Inputs are rank-2 activations (a per-sample (T, F) value, the ONNX (batch, T, F) tensor):
A (M, K) and B (K, N), or B stored as (N, K) with `trans_b` (torch's
`q @ k.transpose(1, 2)`: the front end sees the Transpose as a swapped view of K and reads
K itself, so no transposed copy exists). Attribute `factor`: a constant scalar the product
is multiplied by (a Mul or Div by a one-element constant right after the MatMul, the
1/sqrt(d) of attention, is folded into it by the front end). The output is (M, N), stored
feature-major like every rank-2 value: the scores (queries, keys) lie as (keys, queries).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from seedcc.errors import ModelStructureError
from seedcc.ir.ops.base import OpDef, Shape, saturating_multiplier


class MatMul(OpDef):
    name = "matmul"
    onnx = ("MatMul",)
    attrs = ("trans_b", "factor")
    arity = 2

    @staticmethod
    def claims(ctx: Any, node: Any) -> bool:
        return not any(ctx.is_const(i) for i in node.input[:2])

    @staticmethod
    def from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
        x, y = (ctx.src(i) for i in node.input[:2])
        if x in ctx.swapped:
            raise ModelStructureError(
                f"{ctx.where}: node {name}: MatMul whose left operand {node.input[0]!r} is a transposed "
                f"activation is not supported; transpose the right operand instead (q @ k.transpose(1, 2))")
        trans_b = y in ctx.swapped
        y = ctx.swapped.get(y, y)
        for t, orig in ((x, node.input[0]), (y, node.input[1])):
            if t not in ctx.values or len(ctx.values[t].shape) != 2:
                shape = ctx.values[t].shape if t in ctx.values else None
                raise ModelStructureError(
                    f"{ctx.where}: node {name}: MatMul of two activations needs both as (batch, tokens, "
                    f"features); {orig!r} has the per-sample shape {shape} (a layer's weight, and a graph "
                    f"network's normalised adjacency, must be constant initializers)")
        ctx.emit(MatMul, name, [x, y], node.output[0], trans_b=trans_b, factor=1.0)

    @staticmethod
    def infer(attrs: Mapping[str, Any], ins: list[Shape]) -> Shape:
        a, b = ins
        if len(a) != 2 or len(b) != 2:
            raise ValueError(f"both operands must be rank-2 (tokens, features), are {a} and {b}")
        k, n = (b[1], b[0]) if attrs["trans_b"] else b
        if a[1] != k:
            raise ValueError(f"inner dimensions differ: {a} times {'the transpose of ' if attrs['trans_b'] else ''}{b}")
        return (a[0], n)

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        a, b = ins
        if n.attrs["trans_b"]:
            b = np.swapaxes(b, 1, 2)
        y = np.matmul(a.astype(np.float64), b.astype(np.float64)) * n.attrs["factor"]
        return y.astype(np.float32)

    @staticmethod
    def lower(n: Any, em: Any) -> None:
        """One MATMUL. With A (M, K) stored (K, M), B (K, N) stored (N, K) (or, `trans_b`,
        the (N, K) value stored (K, N)) and the output (M, N) stored (N, M), the instruction's
        rows are the N output features and its columns the M tokens: X = B, Y = A."""
        a, b, y = em.value(n.inputs[0]), em.value(n.inputs[1]), em.value(n.output)
        m, k = a.shape
        cols = y.shape[1]
        x_row, x_step = (1, cols) if n.attrs["trans_b"] else (k, 1)
        mult, shift = saturating_multiplier(n.attrs["factor"] * a.scale * b.scale / y.scale)
        em.emit("MATMUL", x_addr=em.addr(n.inputs[1]), x_row=x_row, x_step=x_step, y_addr=em.addr(n.inputs[0]),
                y_step=m, out_addr=em.addr(n.output), out_plane=m, rows=cols, cols=m, depth=k, mult=mult,
                shift=shift, x_unsigned=int(b.dtype == "uint8"), y_unsigned=int(a.dtype == "uint8"))
        em.float_affine(np.array([n.attrs["factor"]]), np.array([0.0]))

    @staticmethod
    def cost(n: Any, ins: list[Shape], out: Shape) -> int:
        return out[0] * out[1] * ins[0][1]
