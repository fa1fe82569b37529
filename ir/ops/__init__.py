"""The op table of the IR: one `OpDef` per op, one file per op or op family.

Every module of this package except `base` is imported here, and each `OpDef` subclass in
it registers itself, so the table is exactly the files present: adding an op is adding a
file. `Op` is the enum of registered op names (`Op.CONV.value == "conv"`); `Op.X.spec` is
the op's definition. IR shapes describe one sample (the batch axis is implicit: the
accelerator runs samples one by one); activations are (C, H, W), (F,) vectors or rank-2
(N, F) (graph nodes or tokens by features, stored feature-major: `base.as_chw`).
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from seedcc.ir.ops.base import REGISTRY, OpDef, Shape, as_chw, band_buffer, window_out

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
    """ONNX op type -> the IR op it lowers to, for every op in the table (when several ops
    list a type, the first in table order; `onnx_candidates` has them all)."""
    out: dict[str, Op] = {}
    for name, d in REGISTRY.items():
        for t in d.onnx:
            out.setdefault(t, Op(name))
    return out


def onnx_candidates() -> dict[str, tuple[Op, ...]]:
    """ONNX op type -> every IR op listing it, in table order (`OpDef.claims` chooses)."""
    out: dict[str, tuple[Op, ...]] = {}
    for name, d in REGISTRY.items():
        for t in d.onnx:
            out[t] = out.get(t, ()) + (Op(name),)
    return out


__all__ = ["Op", "OpDef", "Shape", "as_chw", "band_buffer", "infer_shape", "onnx_candidates", "onnx_ops", "window_out"]
