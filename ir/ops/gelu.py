"""GELU: x·Φ(x) = x·(1 + erf(x/√2))/2, element-wise (ONNX Gelu with approximate "none")."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from seedcc.errors import ModelStructureError
from seedcc.ir.ops.base import OpDef, Shape

_erf = np.frompyfunc(math.erf, 1, 1)


def gelu(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return (x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64)) / 2).astype(np.float32)


class Gelu(OpDef):
    name = "gelu"
    onnx = ("Gelu",)

    @staticmethod
    def from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
        approx = a.get("approximate", b"none")
        approx = approx.decode() if isinstance(approx, bytes) else str(approx)
        if approx != "none":
            raise ModelStructureError(f"{ctx.where}: node {name}: Gelu with approximate={approx!r} is not "
                                      f"supported; only the erf form (approximate='none')")
        ctx.emit(Gelu, name, node.input[:1], node.output[0])

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        return gelu(ins[0])

    @staticmethod
    def cost(n: Any, ins: list[Shape], out: Shape) -> int:
        return 4 * math.prod(out)
