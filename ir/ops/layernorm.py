"""LAYERNORM over the features of a rank-2 activation (ONNX LayerNormalization, axis -1):
per token, (x − mean) / sqrt(var + eps) · γ + β. Attributes `gamma`, `beta` (float32 per
feature) and `eps`. Lowering: the per-feature records (`numerics.layernorm_records`) go to
the param SRAM and one LAYERNORM runs over all tokens.

The same normalisation written out, as a hand-written LayerNorm exports (both torch
exporters, any opset), is one LAYERNORM too: the first `ReduceMean` over the features takes
the whole pattern in (`_written_out`),

    d = Sub(x, ReduceMean(x)),  v = ReduceMean(Pow(d, 2) or Mul(d, d)),
    y = Div(d, Sqrt(Add(v, eps)))  or  Mul(d, Reciprocal(Sqrt(...)) or Div(1, Sqrt(...))),

then an optional `Mul` by a per-feature γ and `Add` of a per-feature β. The mean may be
computed twice and `Sub` written twice (`x.var`), and the variance may be reduced with
keepdims=0 and brought back to the kept shape by Reshape and Expand (dynamo's `x.var`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from seedcc.errors import ModelStructureError
from seedcc.ir.ops.base import OpDef, Shape, reduce_axes, require_signed
from seedcc.rtl_models import numerics
from seedcc.rtl_models.hwfacts import REQ_RECORD, req_record_bytes

#: ONNX ops that only appear inside a written-out LayerNorm (Div and Mul are SCALEs elsewhere)
PARTS = ("Sub", "Pow", "Sqrt", "Reciprocal")
WRITTEN_OUT = ("LayerNorm written out: d = x − ReduceMean(x), y = d / Sqrt(ReduceMean(d²) + eps), "
               "over the last axis with keepdims=1, then optionally · γ + β")


def _feature_mean(ctx: Any, node: Any, keepdims: bool = True) -> bool:
    """Whether `node` is a ReduceMean over the last axis of a rank-3 tensor, with keepdims=1
    (or either when `keepdims` is False)."""
    if node is None or node.op_type != "ReduceMean" or node.input[0] not in ctx.lm.shapes:
        return False
    rank = len(ctx.lm.shapes[node.input[0]])
    a = ctx.attrs(node)
    axes = reduce_axes(ctx, node, node.name, a)
    return rank == 3 and [ax % rank for ax in axes] == [2] and (bool(a.get("keepdims", 1)) or not keepdims)


class _Pattern:
    """Walks a written-out LayerNorm backwards from its last node over the ONNX graph,
    collecting the nodes it is made of in `nodes`; a step that finds something else returns
    False (or None where it returns ε)."""

    def __init__(self, ctx: Any, x: str):
        self.ctx, self.x = ctx, x
        self.by_output = {o: n for n in ctx.lm.dynamic for o in n.output}
        self.nodes: list[Any] = []

    def _take(self, tensor: str, *ops: str) -> Any:
        n = self.by_output.get(tensor)
        if n is None or n.op_type not in ops:
            return None
        self.nodes.append(n)
        return n

    def _scalar(self, tensor: str) -> float | None:
        if not self.ctx.is_const(tensor):
            return None
        c = np.asarray(self.ctx.lm.consts[tensor], np.float64)
        return float(c.reshape(())) if c.size == 1 else None

    def mean_of(self, tensor: str, src: str) -> bool:
        n = self._take(tensor, "ReduceMean")
        return n is not None and _feature_mean(self.ctx, n) and self.ctx.src(n.input[0]) == src

    def centred(self, tensor: str) -> bool:
        n = self._take(tensor, "Sub")
        return n is not None and self.ctx.src(n.input[0]) == self.x and self.mean_of(n.input[1], self.x)

    def variance(self, tensor: str) -> bool:
        kept = self.ctx.lm.shapes.get(self.x)
        kept = None if kept is None else (*kept[:-1], 1)  # the mean's shape with keepdims=1
        while (n := self._take(tensor, "Reshape", "Expand")) is not None:
            # only back to that shape (dynamo: keepdims=0, then Reshape and an Expand)
            if self.ctx.lm.shapes.get(n.output[0]) != kept:
                return False
            tensor = n.input[0]
        n = self._take(tensor, "ReduceMean")
        if n is None or not _feature_mean(self.ctx, n, keepdims=False):
            return False
        sq = self._take(n.input[0], "Pow", "Mul")
        if sq is None:
            return False
        if sq.op_type == "Pow":
            return self._scalar(sq.input[1]) == 2.0 and self.centred(sq.input[0])
        return self.centred(sq.input[0]) and (sq.input[1] == sq.input[0] or self.centred(sq.input[1]))

    def std(self, tensor: str) -> float | None:
        """eps of Sqrt(Add(variance, eps)), else None."""
        sq = self._take(tensor, "Sqrt")
        add = sq and self._take(sq.input[0], "Add")
        if add is None:
            return None
        eps = [self._scalar(i) for i in add.input]
        dyn = [i for i, e in zip(add.input, eps) if e is None]
        if len(dyn) != 1 or not self.variance(dyn[0]):
            return None
        return next(e for e in eps if e is not None)

    def normalised(self, node: Any) -> float | None:
        """eps when `node` is the pattern's division by the standard deviation, else None."""
        self.nodes = [node]
        if node.op_type == "Div":
            return self.std(node.input[1]) if self.centred(node.input[0]) else None
        if node.op_type != "Mul":
            return None
        for d, r in (node.input, node.input[::-1]):
            self.nodes = [node]
            if not self.centred(d):
                continue
            inv = self._take(r, "Reciprocal", "Div")
            if inv is None or (inv.op_type == "Div" and self._scalar(inv.input[0]) != 1.0):
                continue
            eps = self.std(inv.input[-1])
            if eps is not None:
                return eps
        return None


def _per_feature(ctx: Any, tensor: str, op: str, f: int) -> np.ndarray | None:
    """The per-feature constant (f,) of the `op` node that alone reads `tensor`, if any."""
    users = ctx.consumers(tensor)
    if len(users) != 1 or users[0].op_type != op or ctx.readers(tensor) != 1:
        return None
    consts = [i for i in users[0].input if ctx.is_const(i)]
    if len(consts) != 1:
        return None
    c = np.asarray(ctx.lm.consts[consts[0]], np.float32)
    if c.size not in (1, f) or (c.size == f and c.shape[-1] != f):
        return None
    return np.broadcast_to(c.reshape(-1), (f,)).copy()


def _written_out(ctx: Any, first: Any, name: str) -> None:
    """Lower the written-out LayerNorm that the ReduceMean `first` starts (module docstring),
    taking its nodes in; else a ModelStructureError naming the node."""
    x = ctx.src(first.input[0])
    pattern = _Pattern(ctx, x)
    eps = None
    for cand in ctx.lm.dynamic:
        if cand.op_type in ("Div", "Mul"):
            eps = pattern.normalised(cand)
            if eps is not None and any(n is first for n in pattern.nodes):
                break
            eps = None
    if eps is None:
        raise ModelStructureError(f"{ctx.where}: node {name}: ReduceMean over the features is supported "
                                  f"only as the start of a {WRITTEN_OUT}")
    nodes = list({id(n): n for n in pattern.nodes}.values())
    last = pattern.nodes[0]
    for n in nodes:  # nothing outside the pattern (nor a graph output) may read its tensors
        for o in n.output:
            inside = sum(i == o for p in nodes for i in p.input)
            if o != last.output[0] and ctx.readers(o) != inside:
                raise ModelStructureError(f"{ctx.where}: node {name}: the LayerNorm written out reads "
                                          f"{o!r} elsewhere too; seedcc takes the pattern only whole")
    f = ctx.values[x].shape[-1]
    gamma, beta, out = np.ones(f, np.float32), np.zeros(f, np.float32), last.output[0]
    for op in ("Mul", "Add"):  # γ, then β, each when present
        c = _per_feature(ctx, out, op, f)
        if c is not None:
            gamma, beta = (c, beta) if op == "Mul" else (gamma, c)
            nodes.append(ctx.consumers(out)[0])
            out = nodes[-1].output[0]
    ctx.absorb([n for n in nodes if n is not first])
    ctx.emit(LayerNorm, name, [x], out, gamma=gamma, beta=beta, eps=eps)


class LayerNorm(OpDef):
    name = "layernorm"
    onnx = ("LayerNormalization", "ReduceMean", *PARTS)
    attrs = ("gamma", "beta", "eps")

    @staticmethod
    def claims(ctx: Any, node: Any) -> bool:
        return node.op_type != "ReduceMean" or _feature_mean(ctx, node)

    @staticmethod
    def from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
        if node.op_type == "ReduceMean":
            _written_out(ctx, node, name)
            return
        if node.op_type in PARTS:
            raise ModelStructureError(f"{ctx.where}: node {name}: {node.op_type} is supported only as "
                                      f"part of a {WRITTEN_OUT}")
        x = ctx.src(node.input[0])
        shape = ctx.values[x].shape if x in ctx.values else None
        axis = int(a.get("axis", -1))
        if shape is None or len(shape) != 2 or axis not in (-1, 2):
            raise ModelStructureError(
                f"{ctx.where}: node {name}: LayerNormalization is supported only over the features "
                f"(last axis) of a (batch, tokens, features) activation; it has axis {axis} on the "
                f"per-sample shape {shape}")
        f = shape[1]
        gamma = ctx.const(node.input[1], name).astype(np.float32)
        beta = (ctx.const(node.input[2], name).astype(np.float32) if len(node.input) > 2 and node.input[2]
                else np.zeros(f, np.float32))
        if gamma.size not in (1, f) or beta.size not in (1, f):
            raise ModelStructureError(f"{ctx.where}: node {name}: scale {node.input[1]!r} and bias must "
                                      f"hold one value per feature ({f})")
        ctx.emit(LayerNorm, name, [x], node.output[0], gamma=np.broadcast_to(gamma.reshape(-1), (f,)).copy(),
                 beta=np.broadcast_to(beta.reshape(-1), (f,)).copy(), eps=float(a.get("epsilon", 1e-5)))

    @staticmethod
    def infer(attrs: Mapping[str, Any], ins: list[Shape]) -> Shape:
        if len(ins[0]) != 2 or ins[0][1] != len(attrs["gamma"]):
            raise ValueError(f"the input must be (tokens, {len(attrs['gamma'])} features), is {ins[0]}")
        return ins[0]

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        x = ins[0].astype(np.float64)
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        y = (x - mean) / np.sqrt(var + n.attrs["eps"])
        return (y * n.attrs["gamma"] + n.attrs["beta"]).astype(np.float32)

    @staticmethod
    def lower(n: Any, em: Any) -> None:
        x, y = em.value(n.inputs[0]), em.value(n.output)
        require_signed(n, x)
        t, f = x.shape
        recs = numerics.layernorm_records(n.attrs["gamma"], n.attrs["beta"], y.scale)
        rec = np.zeros(f, REQ_RECORD)
        rec["bias"], rec["mult"], rec["shift"] = recs[:, 0], recs[:, 1], recs[:, 2]
        param = em.load("param", req_record_bytes(rec, f"layer norm {n.name}"), f"layer norm {n.name}")
        em.emit("LAYERNORM", in_addr=em.addr(n.inputs[0]), out_addr=em.addr(n.output), tokens=t, features=f,
                in_plane=t, out_plane=t, param_addr=param, eps=numerics.layernorm_eps(n.attrs["eps"], f, x.scale))
        # float mode: gamma and beta per feature, then (eps, unused)
        em.float_affine(np.append(n.attrs["gamma"], n.attrs["eps"]), np.append(n.attrs["beta"], 0.0))
        em.release("param", param)

    @staticmethod
    def cost(n: Any, ins: list[Shape], out: Shape) -> int:
        return 5 * out[0] * out[1]
