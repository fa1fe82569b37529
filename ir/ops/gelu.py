"""GELU: x·Φ(x) = x·(1 + erf(x/√2))/2, element-wise (ONNX Gelu with approximate "none",
or its Erf form as exporters write it below opset 20: Div(x, √2) (or Mul by 1/√2), Erf,
Add 1, then Mul by x and by 0.5 in either order; the front end takes the whole chain in).
Lowering: one GELU over the whole tensor (I-BERT's integer erf; `numerics.gelu_params`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from seedcc.errors import ModelStructureError
from seedcc.ir.ops.base import OpDef, Shape, require_signed
from seedcc.rtl_models import numerics

_erf = np.frompyfunc(math.erf, 1, 1)


def gelu(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return (x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64)) / 2).astype(np.float32)


def _scalar(ctx: Any, n: Any, value: float) -> str | None:
    """The non-constant input of `n` when its other input is the one-element constant `value`."""
    consts = [i for i in n.input if ctx.is_const(i)]
    dyn = [i for i in n.input if not ctx.is_const(i)]
    if len(consts) != 1 or len(dyn) != 1:
        return None
    c = np.asarray(ctx.lm.consts[consts[0]], np.float64)
    return dyn[0] if c.size == 1 and abs(float(c.reshape(())) - value) <= 1e-6 * abs(value) else None


def _only(ctx: Any, tensor: str, op: str) -> Any:
    users = ctx.consumers(tensor)
    return users[0] if len(users) == 1 and users[0].op_type == op and ctx.readers(tensor) == 1 else None


def _erf_form(ctx: Any, erf: Any, name: str) -> tuple[str, str, list[Any]]:
    """(x, output tensor, the ONNX nodes after Erf) of x·(1 + erf(x/√2))·0.5, else a
    ModelStructureError naming the node."""
    bad = ModelStructureError(
        f"{ctx.where}: node {name}: Erf is supported only as part of GELU, x·(1 + erf(x/√2))·0.5")
    scale = ctx.producer(erf.input[0])
    if (scale is None or scale.op.value != "scale" or ctx.readers(erf.input[0]) != 1
            or abs(scale.attrs["factor"] * math.sqrt(2.0) - 1.0) > 1e-6):
        raise bad
    x = scale.inputs[0]
    add = _only(ctx, erf.output[0], "Add")
    if add is None or _scalar(ctx, add, 1.0) is None:
        raise bad
    first = _only(ctx, add.output[0], "Mul")
    if first is None:
        raise bad
    if _scalar(ctx, first, 0.5) is not None:  # (1 + erf)·0.5, then ·x
        last = _only(ctx, first.output[0], "Mul")
        others = [] if last is None else [ctx.src(i) for i in last.input if i != first.output[0]]
    else:  # x·(1 + erf), then ·0.5
        others = [ctx.src(i) for i in first.input if i != add.output[0]]
        last = _only(ctx, first.output[0], "Mul")
        if last is None or _scalar(ctx, last, 0.5) is None:
            raise bad
    if others != [x]:
        raise bad
    return x, last.output[0], [add, first, last]


class Gelu(OpDef):
    name = "gelu"
    onnx = ("Gelu", "Erf")

    @staticmethod
    def from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
        if node.op_type == "Erf":
            x, out, chain = _erf_form(ctx, node, name)
            ctx.drop(ctx.producer(node.input[0]))
            ctx.absorb(chain)
            ctx.emit(Gelu, name, [x], out)
            return
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
        require_signed(n, x)
        in_mult, in_shift, out_mult, out_shift = numerics.gelu_params(x.scale, y.scale)
        em.emit("GELU", in_addr=em.addr(n.inputs[0]), out_addr=em.addr(n.output), length=math.prod(y.shape),
                in_mult=in_mult, in_shift=in_shift, out_mult=out_mult, out_shift=out_shift)

    @staticmethod
    def cost(n: Any, ins: list[Shape], out: Shape) -> int:
        return 4 * math.prod(out)
