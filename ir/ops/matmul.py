"""MATMUL: the product of two activations (ONNX MatMul with no constant operand), the
scores Q·Kᵀ and the attention·V of a transformer.

Inputs are rank-2 activations (a per-sample (T, F) value, the ONNX (batch, T, F) tensor):
A (M, K) and B (K, N), or B stored as (N, K) with `trans_b` (torch's
`q @ k.transpose(1, 2)`: the front end sees the Transpose as a swapped view of K and reads
K itself, so no transposed copy exists). Attribute `factor`: a constant scalar the product
is multiplied by (a Mul or Div by a one-element constant right after the MatMul, the
1/sqrt(d) of attention, is folded into it by the front end, as are constant factors on
the operands' head views: `scaled_dot_product_attention` multiplies Q and Kᵀ by √scale). Attribute `heads` h: the
features of A, B and the output are h equal slices, head i's product is slice i of each
(multi-head attention after the front end's head views: no copies). The output is (M, N), stored
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
    reads_unsigned = True
    attrs = ("trans_b", "factor", "heads")
    arity = 2

    @staticmethod
    def claims(ctx: Any, node: Any) -> bool:
        return not any(ctx.is_const(i) for i in node.input[:2])

    @staticmethod
    def from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
        va, vb = (ctx.head_view(i) for i in node.input[:2])
        if va is not None or vb is not None:
            if (va is None or vb is None or va[2] != "heads" or vb[2] not in ("heads", "heads_t")
                    or va[1] != vb[1]):
                raise ModelStructureError(
                    f"{ctx.where}: node {name}: MatMul of attention heads needs both operands as "
                    f"(batch, heads, tokens, d) of the same number of heads, the right one possibly "
                    f"transposed; it has {va and va[1:]} and {vb and vb[1:]}")
            factor = ctx.head_scale.get(ctx.src(node.input[0]), 1.0) * ctx.head_scale.get(ctx.src(node.input[1]), 1.0)
            ctx.emit_heads(MatMul, name, [va[0], vb[0]], node.output[0], va[1], trans_b=vb[2] == "heads_t",
                           factor=factor)
            return
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
        ctx.emit(MatMul, name, [x, y], node.output[0], trans_b=trans_b, factor=1.0, heads=1)

    @staticmethod
    def infer(attrs: Mapping[str, Any], ins: list[Shape]) -> Shape:
        a, b = ins
        h = attrs.get("heads", 1)
        if len(a) != 2 or len(b) != 2:
            raise ValueError(f"both operands must be rank-2 (tokens, features), are {a} and {b}")
        if a[1] % h or b[1] % h:
            raise ValueError(f"{h} heads do not divide the features of {a} and {b}")
        k, n = (b[1] // h, b[0]) if attrs["trans_b"] else (b[0], b[1] // h)
        if a[1] // h != k:
            raise ValueError(f"inner dimensions differ: {a} times {'the transpose of ' if attrs['trans_b'] else ''}"
                             f"{b}{f' in {h} heads' if h > 1 else ''}")
        return (a[0], h * n)

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        a, b = ins
        h = n.attrs.get("heads", 1)
        bsz, m = a.shape[:2]
        a = a.reshape(bsz, m, h, -1).transpose(0, 2, 1, 3)  # (B, h, M, K)
        b = b.reshape(bsz, b.shape[1], h, -1)
        b = b.transpose(0, 2, 3, 1) if n.attrs["trans_b"] else b.transpose(0, 2, 1, 3)  # (B, h, K, N)
        y = np.matmul(a.astype(np.float64), b.astype(np.float64)) * n.attrs["factor"]
        return y.transpose(0, 2, 1, 3).reshape(bsz, m, -1).astype(np.float32)

    @staticmethod
    def lower(n: Any, em: Any) -> None:
        """One MATMUL. With A (M, K) stored (K, M), B (K, N) stored (N, K) (or, `trans_b`,
        the (N, K) value stored (K, N)) and the output (M, N) stored (N, M), the instruction's
        rows are the N output features and its columns the M tokens: X = B, Y = A."""
        a, b, y = em.value(n.inputs[0]), em.value(n.inputs[1]), em.value(n.output)
        h = n.attrs.get("heads", 1)
        m, k = a.shape[0], a.shape[1] // h
        cols = y.shape[1] // h
        x_row, x_step = (1, cols) if n.attrs["trans_b"] else (k, 1)
        mult, shift = saturating_multiplier(n.attrs["factor"] * a.scale * b.scale / y.scale)
        for i in range(h):  # head i: features [i·k, (i+1)·k) of A, its slice of B and the output
            em.emit("MATMUL", x_addr=em.addr(n.inputs[1]) + i * k * cols, x_row=x_row, x_step=x_step,
                    y_addr=em.addr(n.inputs[0]) + i * k * m, y_step=m, out_addr=em.addr(n.output) + i * cols * m,
                    out_plane=m, rows=cols, cols=m, depth=k, mult=mult, shift=shift,
                    x_unsigned=int(b.dtype == "uint8"), y_unsigned=int(a.dtype == "uint8"))
            em.float_affine(np.array([n.attrs["factor"]]), np.array([0.0]))

    @staticmethod
    def cost(n: Any, ins: list[Shape], out: Shape) -> int:
        return out[0] * out[1] * ins[0][1] // n.attrs.get("heads", 1)
