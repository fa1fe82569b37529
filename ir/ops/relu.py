"""RELU: max(x, 0) (ONNX Relu). It runs fused: `fuse_epilogues` folds it into the layer or
residual add before it, whose requantisation clamps negatives."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from seedcc.ir.ops.base import OpDef, Shape


class Relu(OpDef):
    name = "relu"
    onnx = ("Relu",)
    transposable = True

    @staticmethod
    def from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
        ctx.emit(Relu, name, node.input[:1], node.output[0])

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        return np.maximum(ins[0], 0)

    @staticmethod
    def cost(n: Any, ins: list[Shape], out: Shape) -> int:
        return int(np.prod(out))
