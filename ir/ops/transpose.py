"""TRANSPOSE (ONNX Transpose) of a rank-2 activation: the (1, nodes, features) tensor of a
graph network swapped to (1, features, nodes) and back, as torch writes
`bn(h.transpose(1, 2)).transpose(1, 2)` for a BatchNorm1d over the features.

It never becomes an IR node: the front end records the swapped tensor as a view of the
unswapped value (`OnnxContext.swap`), runs the `transposable` ops that read it (BatchNorm,
Relu, Add) on the unswapped value, and a Transpose back is an alias. Any other reader of a
swapped tensor, or any other permutation, is a ModelStructureError naming the node.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from seedcc.errors import ModelStructureError
from seedcc.ir.ops.base import OpDef


class Transpose(OpDef):
    name = "transpose"
    onnx = ("Transpose",)

    @staticmethod
    def from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
        perm = [int(p) for p in a.get("perm", [])]
        if perm != [0, 2, 1]:
            raise ModelStructureError(
                f"{ctx.where}: node {name}: Transpose with perm {perm or 'reversed'} of an activation "
                f"is not supported; only perm [0, 2, 1] of a (1, nodes, features) tensor")
        ctx.swap(node.output[0], node.input[0], name)

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        return np.swapaxes(ins[0], 1, 2)
