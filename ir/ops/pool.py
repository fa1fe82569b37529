"""Pooling: MAXPOOL and AVGPOOL over windows (ONNX MaxPool, AveragePool), GLOBALAVGPOOL
(ONNX GlobalAveragePool, and ReduceMean over the two spatial axes of an NCHW tensor, which
is how torch's dynamo exporter writes `adaptive_avg_pool2d(x, 1)` and `x.mean((2, 3))`;
with keepdims=0 the pool is followed by a FLATTEN; and ReduceMean over the tokens of a
(N, T, F) activation, stored (F, 1, T): a transformer's `x.mean(1)`).

Attributes `kernel`, `stride`, `pads` (MAXPOOL/AVGPOOL). A max never changes the scale, so
MAXPOOL keeps its input's; an average rescales through one multiplier and shift (1/window
and the scale change). Lowering: one MAXPOOL or AVGPOOL instruction; a global average is an
AVGPOOL whose window is the whole plane.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from seedcc.errors import ModelStructureError
from seedcc.ir.ops.base import (
    REGISTRY,
    OpDef,
    Shape,
    as_chw,
    im2col,
    is_unsigned,
    reduce_axes,
    saturating_multiplier,
    window_attrs,
    window_out,
)


def _planes(shape: Shape) -> tuple[int, int, int]:
    """A pooled input must be (C, H, W) planes; a feature vector has none."""
    if len(shape) != 3:
        raise ValueError(f"pooling needs a (C, H, W) input, not {shape}")
    return as_chw(shape)


def _window_shape(attrs: Mapping[str, Any], ins: list[Shape]) -> Shape:
    c, h, wd = _planes(ins[0])
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = attrs["kernel"], attrs["stride"], attrs["pads"]
    return (c, window_out(h, kh, sh, pt, pb), window_out(wd, kw, sw, pl, pr))


def _window_reference(n: Any, x: np.ndarray, is_max: bool) -> np.ndarray:
    kh, kw = n.attrs["kernel"]
    if is_max:
        return _window_max(x, kh, kw, n.attrs["stride"], n.attrs["pads"])
    win = im2col(x, kh, kw, n.attrs["stride"], n.attrs["pads"])
    return win.mean(axis=(4, 5)).transpose(0, 3, 1, 2)  # from B, OH, OW, C


def _window_max(x: np.ndarray, kh: int, kw: int, stride: tuple[int, int],
                pads: tuple[int, int, int, int]) -> np.ndarray:
    """The max of every window of x (B, C, H, W), padding counting as -inf: along rows, then
    along columns, with one strided slice per window position (a max is exact in any order)."""
    (sh, sw), (pt, pl, pb, pr) = stride, pads
    b, c, h, w = x.shape
    if any(pads):
        xp = np.full((b, c, h + pt + pb, w + pl + pr), -np.inf, x.dtype)
        xp[:, :, pt:pt + h, pl:pl + w] = x
    else:
        xp = x
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    rows = xp[..., 0:(ow - 1) * sw + 1:sw].copy()
    for kx in range(1, kw):
        np.maximum(rows, xp[..., kx:kx + (ow - 1) * sw + 1:sw], out=rows)
    out = rows[:, :, 0:(oh - 1) * sh + 1:sh].copy()
    for ky in range(1, kh):
        np.maximum(out, rows[:, :, ky:ky + (oh - 1) * sh + 1:sh], out=out)
    return out


def _window_from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any], op: type[OpDef]) -> None:
    if a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1, 1])):
        raise ModelStructureError(f"{ctx.where}: node {name}: {node.op_type} with ceil_mode or dilations")
    kernel = list(a.get("kernel_shape", []))
    if len(kernel) != 2 or any(k < 1 for k in kernel):
        raise ModelStructureError(f"{ctx.where}: node {name}: kernel_shape {kernel} must be two "
                                  f"integers >= 1 (a 2-D window)")
    stride, pads = window_attrs(ctx, name, a)
    if op is AvgPool and any(pads):
        raise ModelStructureError(f"{ctx.where}: node {name}: padded AveragePool is not supported")
    ctx.emit(op, name, node.input[:1], node.output[0], kernel=(int(kernel[0]), int(kernel[1])),
             stride=stride, pads=pads)


def _lower(n: Any, em: Any, kernel: tuple[int, int], stride: tuple[int, int],
           pads: tuple[int, int, int, int], opcode: str) -> None:
    x, y = em.value(n.inputs[0]), em.value(n.output)
    c, h, wd = as_chw(x.shape)
    _, oh, ow = as_chw(y.shape)
    if x.dtype != y.dtype:  # quantize gives a pool's output its input's format
        raise ModelStructureError(f"node {n.name}: a pool's output {n.output!r} ({y.dtype}) must "
                                  f"have its input's format ({x.dtype})")
    fields = dict(channels=c, in_w=wd, out_w=ow, kh=kernel[0], kw=kernel[1], stride_h=stride[0],
                  stride_w=stride[1], pad_l=pads[1], in_unsigned=is_unsigned(x))
    if opcode == "AVGPOOL":
        fields["mult"], fields["shift"] = saturating_multiplier(
            x.scale / (y.scale * kernel[0] * kernel[1]))
    rows = n.attrs.get("bands_in")
    if rows is None:
        em.emit(opcode, in_addr=em.addr(n.inputs[0]), out_addr=em.addr(n.output), in_h=h, out_h=oh,
                pad_t=pads[0], **fields)
        return
    # the input lies off chip (written in row bands): per band of `rows` output rows, load
    # the input rows its windows read into the band buffer, then pool channel by channel
    fields["channels"] = 1
    for oy0 in range(0, oh, rows):
        oy1 = min(oh, oy0 + rows)
        lo = oy0 * stride[0] - pads[0]
        a, b = max(0, lo), min(h, (oy1 - 1) * stride[0] - pads[0] + kernel[0])
        for ch in range(c):
            em.offchip_load(n.inputs[0], em.band(n) + ch * (b - a) * wd, (ch * h + a) * wd, (b - a) * wd)
        for ch in range(c):
            em.emit(opcode, in_addr=em.band(n) + ch * (b - a) * wd, out_addr=em.addr(n.output) + (ch * oh + oy0) * ow,
                    in_h=b - a, out_h=oy1 - oy0, pad_t=a - lo, **fields)


def _cost(kernel: tuple[int, int], out: Shape) -> int:
    return int(np.prod(out)) * kernel[0] * kernel[1]


def _scratch(n: Any, ins: list[Shape], out: Shape) -> int:
    """The padded input and the reduced windows before their transpose."""
    c, h, w = as_chw(ins[0])
    pt, pl, pb, pr = n.attrs["pads"]
    return c * (h + pt + pb) * (w + pl + pr) + 2 * int(np.prod(out))


class _WindowPool(OpDef):
    """MAXPOOL and AVGPOOL: the same window over (C, H, W), a different reduction."""

    attrs = ("kernel", "stride", "pads")
    opcode: str = ""
    keeps_format = reads_unsigned = True  # the output is in the input's format

    @classmethod
    def from_onnx(cls, ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
        _window_from_onnx(ctx, node, name, a, cls)

    infer = staticmethod(_window_shape)
    scratch = staticmethod(_scratch)

    @classmethod
    def reference(cls, n: Any, ins: list[np.ndarray]) -> np.ndarray:
        return _window_reference(n, ins[0], is_max=cls.opcode == "MAXPOOL")

    @classmethod
    def lower(cls, n: Any, em: Any) -> None:
        _lower(n, em, n.attrs["kernel"], n.attrs["stride"], n.attrs["pads"], cls.opcode)

    @staticmethod
    def cost(n: Any, ins: list[Shape], out: Shape) -> int:
        return _cost(n.attrs["kernel"], out)


class MaxPool(_WindowPool):
    name = "maxpool"
    onnx = ("MaxPool",)
    opcode = "MAXPOOL"
    same_scale = True  # a max never changes the scale


class AvgPool(_WindowPool):
    name = "avgpool"
    onnx = ("AveragePool",)
    opcode = "AVGPOOL"


def _reduce_mean(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
    rank = len(ctx.sample_shape(node.input[0], name)) + 1
    axes = reduce_axes(ctx, node, name, a)
    if rank == 3 and [ax % rank for ax in axes] == [1] and not a.get("keepdims", 1):
        # the mean over the tokens of a (batch, tokens, features) activation (a transformer's
        # pooled output): stored (F, 1, T), it is the global average of each feature's plane
        pooled = f"{node.output[0]}#pooled"
        ctx.emit(GlobalAvgPool, name, node.input[:1], pooled)
        ctx.values[pooled] = replace(ctx.values[pooled], onnx_name=node.output[0])
        ctx.emit(REGISTRY["flatten"], f"{name}#flatten", [pooled], node.output[0])
        return
    if rank != 4 or sorted(ax % rank for ax in axes) != [2, 3]:
        raise ModelStructureError(
            f"{ctx.where}: node {name}: ReduceMean is supported only over the two spatial axes of an "
            f"(N, C, H, W) tensor (a global average pool), or over the tokens of an (N, T, F) one "
            f"with keepdims=0; this one reduces axes {axes} of a rank-{rank} tensor")
    if a.get("keepdims", 1):
        ctx.emit(GlobalAvgPool, name, node.input[:1], node.output[0])
        return
    pooled = f"{node.output[0]}#pooled"
    ctx.emit(GlobalAvgPool, name, node.input[:1], pooled)
    # same numbers as the ONNX output (C vs C x 1 x 1): per-layer checks compare it there
    ctx.values[pooled] = replace(ctx.values[pooled], onnx_name=node.output[0])
    ctx.emit(REGISTRY["flatten"], f"{name}#flatten", [pooled], node.output[0])


class GlobalAvgPool(OpDef):
    name = "globalavgpool"
    onnx = ("GlobalAveragePool", "ReduceMean")
    keeps_format = reads_unsigned = True

    @staticmethod
    def from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
        if node.op_type == "ReduceMean":
            _reduce_mean(ctx, node, name, a)
        else:
            ctx.emit(GlobalAvgPool, name, node.input[:1], node.output[0])

    @staticmethod
    def infer(attrs: Mapping[str, Any], ins: list[Shape]) -> Shape:
        if len(ins[0]) == 2:  # rank-2 (T, F), stored (F, 1, T): the mean over the tokens
            return (ins[0][1], 1, 1)
        return (_planes(ins[0])[0], 1, 1)

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        if ins[0].ndim == 3:  # rank-2 (T, F) samples: the mean over the tokens
            return ins[0].mean(axis=1)[:, :, None, None]
        return ins[0].mean(axis=(2, 3), keepdims=True)

    @staticmethod
    def lower(n: Any, em: Any) -> None:
        _, h, wd = as_chw(em.value(n.inputs[0]).shape)
        _lower(n, em, (h, wd), (1, 1), (0, 0, 0, 0), "AVGPOOL")

    @staticmethod
    def cost(n: Any, ins: list[Shape], out: Shape) -> int:
        return int(np.prod(ins[0]))
