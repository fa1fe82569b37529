"""FLATTEN and RESHAPE (ONNX Flatten, Reshape): a new shape over the same bytes.

A Reshape of a rank-2 activation (1, N, F) to (N, F) (or (-1, F)) folds the graph's batch
axis into its node axis (torch's `bn(h.reshape(-1, F))`): an alias of the same tensor.
Row-major (C, H, W) is already flat, so both are aliases: the memory planner gives the
output its input's storage, the quantiser its input's scale, and they emit no code.
RESHAPE carries `shape` (one sample); a reshape to a vector is a FLATTEN. A Reshape of a
(1, T, F) activation to (1, T, h, F/h) splits attention heads off the features and the
Reshape back after the heads' Transpose merges them: views only (`OnnxContext.heads`). An
ONNX Expand to the shape its input already has (dynamo writes one with the batch size) is
the same tensor: an alias; any other Expand is refused naming the node.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from seedcc.errors import ModelStructureError
from seedcc.ir.ops.base import OpDef, Shape


def _from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
    src = ctx.src(node.input[0])
    shape = ctx.values[src].shape if src in ctx.values else ()
    if node.op_type == "Expand":  # to the shape the activation has: the same tensor
        target = ctx.sample_shape(node.output[0], name)
        if target != shape:
            raise ModelStructureError(
                f"{ctx.where}: node {name}: Expand of the activation {src!r} (per sample {shape}) to "
                f"{list(target)} is not supported; only an Expand that keeps its shape")
        ctx.alias(node.output[0], src)
        return
    full = ctx.lm.shapes.get(node.output[0])
    view = ctx.head_view(node.input[0], name) if node.op_type == "Reshape" else None
    if view is not None or (node.op_type == "Reshape" and len(shape) == 2 and full is not None
                            and len(full) == 4):
        _heads_reshape(ctx, node, name, src, shape, view)
        return
    if (node.op_type == "Reshape" and len(shape) == 2 and full is not None and len(full) == 2
            and full[1] == shape[1] and full[0] in (-1, shape[0])):
        # (1, N, F) -> (N, F): the batch axis folded into the node axis, as torch writes
        # `bn(h.reshape(-1, F))` (BatchNorm1d over features): the same per-sample tensor
        ctx.alias(node.output[0], src)
        return
    if node.op_type == "Flatten" and a.get("axis", 1) != 1:
        raise ModelStructureError(f"{ctx.where}: node {name}: Flatten must keep the batch axis (axis=1)")
    target = ctx.sample_shape(node.output[0], name)
    if target == shape and len(shape) == 2:  # back to (1, N, F): nothing to do
        ctx.alias(node.output[0], src)
        return
    if len(shape) == 2:  # feature-major bytes are not the row-major (N, F) a view would need
        raise ModelStructureError(
            f"{ctx.where}: node {name}: {node.op_type} of the (1, {shape[0]}, {shape[1]}) activation "
            f"{src!r} to {list(target)} (per sample) is not supported; rank-2 (nodes, features) "
            f"activations are stored feature-major and only reshape to (nodes, features)")
    if len(target) == 1:
        ctx.emit(Flatten, name, node.input[:1], node.output[0])
    else:
        ctx.emit(Reshape, name, node.input[:1], node.output[0], shape=target)


def _heads_reshape(ctx: Any, node: Any, name: str, src: str, shape: tuple[int, ...],
                   view: tuple[str, int, str] | None) -> None:
    """(T, F) -> (T, h, F/h): attention heads split off the features (a view: head i is
    features [i·d, (i+1)·d)); and (T, h, d), after the Transpose back, -> (T, h·d)."""
    target = ctx.sample_shape(node.output[0], name)
    if view is not None:
        value, h, form = view
        vshape = ctx.values[value].shape
        t, d = vshape[0], vshape[1] // h
        # (batch, h, T, d) <-> (batch·h, T, d), and the same with d and T swapped: dynamo's
        # Kᵀ in scaled_dot_product_attention goes through the rank-3 form
        moves = {("heads", (t, d)): "flat", ("heads_t", (d, t)): "flat_t",
                 ("flat", (h, t, d)): "heads", ("flat_t", (h, d, t)): "heads_t"}
        if (form, target) in moves:
            ctx.heads[node.output[0]] = (value, h, moves[(form, target)])
            return
        if form != "merged" or target != vshape:
            raise ModelStructureError(
                f"{ctx.where}: node {name}: Reshape of the attention heads {node.input[0]!r} to "
                f"{list(target)} (per sample) is not supported; only (tokens, heads, d) back to "
                f"(tokens, heads·d) after Transpose perm [0, 2, 1, 3]")
        ctx.alias(node.output[0], value)
        ctx.heads.pop(value, None)  # merged: an ordinary (tokens, features) value from here on
        if ctx.values[value].onnx_name is None:  # the first ONNX tensor with its layout
            ctx.values[value] = replace(ctx.values[value], onnx_name=node.output[0])
        return
    if len(target) != 3 or target[0] != shape[0] or target[1] * target[2] != shape[1]:
        raise ModelStructureError(
            f"{ctx.where}: node {name}: Reshape of the (1, {shape[0]}, {shape[1]}) activation "
            f"{src!r} to {list(target)} (per sample) is not supported; only a split of the "
            f"features into attention heads, (tokens, heads, d)")
    ctx.heads[node.output[0]] = (src, target[1], "split")


class Flatten(OpDef):
    name = "flatten"
    reads_unsigned = True
    onnx = ("Flatten", "Reshape", "Expand")
    alias = same_scale = True
    from_onnx = staticmethod(_from_onnx)

    @staticmethod
    def infer(attrs: Mapping[str, Any], ins: list[Shape]) -> Shape:
        return (math.prod(ins[0]),)

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        return ins[0].reshape(ins[0].shape[0], -1)

    @staticmethod
    def lower(n: Any, em: Any) -> None:
        pass


class Reshape(OpDef):
    name = "reshape"
    reads_unsigned = True
    attrs = ("shape",)
    alias = same_scale = True

    @staticmethod
    def infer(attrs: Mapping[str, Any], ins: list[Shape]) -> Shape:
        target = tuple(attrs["shape"])
        if math.prod(target) != math.prod(ins[0]):
            raise ValueError(f"cannot reshape {ins[0]} to {target}")
        return target

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        return ins[0].reshape((ins[0].shape[0], *n.attrs["shape"]))

    @staticmethod
    def lower(n: Any, em: Any) -> None:
        pass
