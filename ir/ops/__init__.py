"""The op table of the IR: one `OpDef` per op, one file per op or op family.

Every module of this package except `base` is imported here, and each `OpDef` subclass in
it registers itself, so the table is exactly the files present: adding an op is adding a
file. `Op` is the enum of registered op names (`Op.CONV.value == "conv"`); `Op.X.spec` is
the op's definition. IR shapes describe one sample (the batch axis is implicit: the
accelerator runs samples one by one); activations are (C, H, W) or (F,) vectors.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from seedcc.ir.ops.base import REGISTRY, OpDef, Shape, as_chw, window_out

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module != "base" and not _module.startswith("_"):
        importlib.import_module(f"{__name__}.{_module}")


class _OpEnum(enum.Enum):
    @property
    def spec(self) -> type[OpDef]:
        """The op's definition."""
        return REGISTRY[self.value]


Op = _OpEnum("Op", [(name.upper(), name) for name in REGISTRY])  # type: ignore[misc]


def infer_shape(op: Op, attrs: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Output shape of `op` given its input shapes; ValueError says what does not fit."""
    return tuple(op.spec.infer(attrs, ins))


def onnx_ops() -> dict[str, Op]:
    """ONNX op type -> the IR op it lowers to, for every op in the table."""
    return {t: Op(name) for name, d in REGISTRY.items() for t in d.onnx}


__all__ = ["Op", "OpDef", "Shape", "as_chw", "infer_shape", "onnx_ops", "window_out"]
