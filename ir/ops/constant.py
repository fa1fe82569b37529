"""CONSTANT: a constant activation, such as a transformer's positional encoding in
`Add(x, P)`, where P (tokens, features) is an initializer. Attribute `data` (float32, the
per-sample shape). It has no inputs and no ONNX op of its own: `Add.from_onnx` makes one
when the constant is not a layer's bias. Its int8 scale is calibrated like any value's (its
peak / 127). Lowering: the int8 codes are stored once in the memory image and one act
DMA_LOAD brings them in before the ADD that reads them; the float mode's DMA_LOAD takes
the float values from the program's float section instead (docs/refsim.md)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from seedcc.ir.ops.base import OpDef, Shape, to_storage
from seedcc.rtl_models import numerics


class Constant(OpDef):
    name = "constant"
    attrs = ("data",)
    arity = 0

    @staticmethod
    def infer(attrs: Mapping[str, Any], ins: list[Shape]) -> Shape:
        return tuple(attrs["data"].shape)

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        return n.attrs["data"][None]  # batch 1: it broadcasts against the batch it is added to

    @staticmethod
    def lower(n: Any, em: Any) -> None:
        v = em.value(n.output)
        data = to_storage(n.attrs["data"][None], v.shape)[0]
        codes = numerics.quantize_input(data, v.scale).astype(np.int8)
        em.load_constant(n.output, codes, data)

    @staticmethod
    def cost(n: Any, ins: list[Shape], out: Shape) -> int:
        return 0

    @staticmethod
    def scratch(n: Any, ins: list[Shape], out: Shape) -> int:
        return math.prod(out)
