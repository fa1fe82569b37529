"""GELU: x·Φ(x) = x·(1 + erf(x/√2))/2, element-wise (ONNX Gelu with approximate "none").
Lowering: one GELU over the whole tensor (I-BERT's integer erf; `numerics.gelu_params`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from seedcc.errors import ModelStructureError
from seedcc.ir.ops.base import OpDef, Shape
from seedcc.rtl_models import numerics

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
    def lower(n: Any, em: Any) -> None:
        x, y = em.value(n.inputs[0]), em.value(n.output)
        in_mult, in_shift, out_mult, out_shift = numerics.gelu_params(x.scale, y.scale)
        em.emit("GELU", in_addr=em.addr(n.inputs[0]), out_addr=em.addr(n.output), length=math.prod(y.shape),
                in_mult=in_mult, in_shift=in_shift, out_mult=out_mult, out_shift=out_shift)

    @staticmethod
    def cost(n: Any, ins: list[Shape], out: Shape) -> int:
        return 4 * math.prod(out)
