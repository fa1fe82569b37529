"""TRANSPOSE (ONNX Transpose) of a rank-2 activation: the (1, nodes, features) tensor of a
graph network swapped to (1, features, nodes) and back, as torch writes
`bn(h.transpose(1, 2)).transpose(1, 2)` for a BatchNorm1d over the features.

It never becomes an IR node: the front end records the swapped tensor as a view of the
unswapped value (`OnnxContext.swap`), runs the `transposable` ops that read it (BatchNorm,
Relu, Add) on the unswapped value, and a Transpose back is an alias. Any other reader of a
swapped tensor, or any other permutation, is a ModelStructureError naming the node.
Transposes of attention heads (4-D, after a Reshape that splits the features) are views
too (`HEAD_PERMS`): the per-head MATMUL and SOFTMAX read head slices in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from seedcc.errors import ModelStructureError
from seedcc.ir.ops.base import OpDef


#: (form, perm) -> form of a Transpose of attention heads (`OnnxContext.heads`)
HEAD_PERMS = {("split", (0, 2, 1, 3)): "heads", ("split", (0, 2, 3, 1)): "heads_t",
              ("heads", (0, 1, 3, 2)): "heads_t", ("heads_t", (0, 1, 3, 2)): "heads",
              ("heads", (0, 2, 1, 3)): "merged",
              # (batch·heads, T, d) after a Reshape (dynamo's Kᵀ in scaled_dot_product_attention)
              ("flat", (0, 2, 1)): "flat_t", ("flat_t", (0, 2, 1)): "flat"}


class Transpose(OpDef):
    name = "transpose"
    onnx = ("Transpose",)

    @staticmethod
    def from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
        perm = [int(p) for p in a.get("perm", [])]
        view = ctx.head_view(node.input[0])
        if view is not None:
            value, h, form = view
            new = HEAD_PERMS.get((form, tuple(perm)))
            if new is None:
                raise ModelStructureError(
                    f"{ctx.where}: node {name}: Transpose with perm {perm} of the attention heads "
                    f"{node.input[0]!r} is not supported; heads split by a Reshape take perm "
                    f"[0, 2, 1, 3] (queries, values; and back) or [0, 2, 3, 1] (keys, transposed)")
            ctx.heads[node.output[0]] = (value, h, new)
            if ctx.src(node.input[0]) in ctx.head_scale:
                ctx.head_scale[node.output[0]] = ctx.head_scale[ctx.src(node.input[0])]
            return
        if perm != [0, 2, 1]:
            raise ModelStructureError(
                f"{ctx.where}: node {name}: Transpose with perm {perm or 'reversed'} of an activation "
                f"is not supported; only perm [0, 2, 1] of a (1, nodes, features) tensor")
        ctx.swap(node.output[0], node.input[0], name)

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        return np.swapaxes(ins[0], 1, 2)
