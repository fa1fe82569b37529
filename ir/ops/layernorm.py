"""LAYERNORM over the features of a rank-2 activation (ONNX LayerNormalization, axis -1):
per token, (x − mean) / sqrt(var + eps) · γ + β. Attributes `gamma`, `beta` (float32 per
feature) and `eps`. Lowering: the per-feature records (`numerics.layernorm_records`) go to
the param SRAM and one LAYERNORM runs over all tokens."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from seedcc.errors import ModelStructureError
from seedcc.ir.ops.base import OpDef, Shape
from seedcc.rtl_models import numerics
from seedcc.rtl_models.hwfacts import REQ_RECORD, req_record_bytes


class LayerNorm(OpDef):
    name = "layernorm"
    onnx = ("LayerNormalization",)
    attrs = ("gamma", "beta", "eps")

    @staticmethod
    def from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
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
