"""The op set of the IR and each op's shape rule.

IR shapes describe one sample (the batch axis is implicit: the accelerator runs samples
one by one). Activations are (C, H, W) or (F,) vectors. `infer_shape` is the single
definition of every op's output shape, used by the front end and by the verifier.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import Any

Shape = tuple[int, ...]


class Op(enum.Enum):
    CONV = "conv"  # masked conv / dense layer; attrs: weight, stride, pads, bias, affine, relu
    BATCHNORM = "batchnorm"  # attrs: gamma, beta, mean, var, eps
    RELU = "relu"
    ADD = "add"  # attrs: relu (after fusion)
    MAXPOOL = "maxpool"  # attrs: kernel, stride, pads
    AVGPOOL = "avgpool"  # attrs: kernel, stride, pads
    GLOBALAVGPOOL = "globalavgpool"
    FLATTEN = "flatten"
    RESHAPE = "reshape"  # attrs: shape (one sample)


#: attributes each op must carry (checked by the verifier)
REQUIRED_ATTRS: dict[Op, tuple[str, ...]] = {
    Op.CONV: ("weight", "stride", "pads"),
    Op.BATCHNORM: ("gamma", "beta", "mean", "var", "eps"),
    Op.MAXPOOL: ("kernel", "stride", "pads"),
    Op.AVGPOOL: ("kernel", "stride", "pads"),
    Op.RESHAPE: ("shape",),
}

ARITY: dict[Op, int] = {Op.ADD: 2}


def window_out(size: int, k: int, stride: int, pad_lo: int, pad_hi: int) -> int:
    return (size + pad_lo + pad_hi - k) // stride + 1


def as_chw(shape: Shape) -> tuple[int, int, int]:
    """View a (C, H, W) or (F,) activation as (C, H, W); vectors are (F, 1, 1)."""
    if len(shape) == 3:
        return shape  # type: ignore[return-value]
    if len(shape) == 1:
        return (shape[0], 1, 1)
    raise ValueError(f"activation shape {shape} is neither (C, H, W) nor (F,)")


def infer_shape(op: Op, attrs: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Output shape of `op` given its input shapes; ValueError says what does not fit."""
    if op is Op.CONV:
        w = attrs["weight"]
        o, i, kh, kw = w.shape
        if len(ins[0]) == 1:
            if ins[0][0] != i * kh * kw or (kh, kw) != (1, 1):
                raise ValueError(f"dense layer expects {i} features, input has {ins[0][0]}")
            return (o,)
        c, h, wd = as_chw(ins[0])
        if c != i:
            raise ValueError(f"weight expects {i} input channels, input has {c}")
        (sh, sw), (pt, pl, pb, pr) = attrs["stride"], attrs["pads"]
        return (o, window_out(h, kh, sh, pt, pb), window_out(wd, kw, sw, pl, pr))
    if op in (Op.MAXPOOL, Op.AVGPOOL):
        c, h, wd = as_chw(ins[0])
        (kh, kw), (sh, sw), (pt, pl, pb, pr) = attrs["kernel"], attrs["stride"], attrs["pads"]
        return (c, window_out(h, kh, sh, pt, pb), window_out(wd, kw, sw, pl, pr))
    if op is Op.GLOBALAVGPOOL:
        return (as_chw(ins[0])[0], 1, 1)
    if op is Op.FLATTEN:
        return (math.prod(ins[0]),)
    if op is Op.RESHAPE:
        target = tuple(attrs["shape"])
        if math.prod(target) != math.prod(ins[0]):
            raise ValueError(f"cannot reshape {ins[0]} to {target}")
        return target
    if op is Op.ADD:
        if ins[0] != ins[1]:
            raise ValueError(f"operands have different shapes {ins[0]} and {ins[1]}")
        return ins[0]
    if op is Op.BATCHNORM:
        c = as_chw(ins[0])[0]
        for name in REQUIRED_ATTRS[Op.BATCHNORM][:4]:
            if len(attrs[name]) != c:
                raise ValueError(f"{name} has {len(attrs[name])} entries for {c} channels")
        return ins[0]
    return ins[0]  # RELU
