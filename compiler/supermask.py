"""Recognising supermask layers: which recorded random tensor and which mask feed a
layer's weight, through any constant subexpression the exporter wrote.

Form (a): the weight is Mul(R, M) (optionally times scalars), R a recorded initializer.
Form (b): the weight is a recorded initializer that already equals R ⊙ M.
Between those and the layer any layout ops (Transpose, Reshape, Cast, ...) may sit: the
mask is recovered in canonical order from the layer's folded weight itself,
code = W / (R · s), and checked to be a small non-negative integer everywhere. An
exporter's optimiser may have multiplied one factor per output channel into the weight
(BatchNorm folded into the conv): the codes are then read channel by channel and the
factors become the weight's `channel_scale`, which requantisation absorbs.
"""

from __future__ import annotations

import numpy as np
import onnx

from seedcc.compiler.records import Codes, Record, check_freeze, decompose, to_canonical
from seedcc.errors import ModelStructureError
from seedcc.ir.weights import WeightSpec
from seedcc.rtl_models.hwfacts import MAX_CODE

PASS_THROUGH = frozenset({"Identity", "Cast", "Transpose", "Reshape", "Unsqueeze", "Squeeze", "Flatten"})


class Tracer:
    """Walks constant subexpressions backwards from a tensor name."""

    def __init__(self, model: onnx.ModelProto, consts: dict[str, np.ndarray],
                 canon_records: dict[str, tuple[Record, np.ndarray]]):
        self.producer = {o: n for n in model.graph.node for o in n.output}
        self.consts = consts
        self.records = canon_records

    def through_layout(self, name: str) -> str:
        node = self.producer.get(name)
        while node is not None and node.op_type in PASS_THROUGH:
            name = node.input[0]
            node = self.producer.get(name)
        return name

    def mask_multiplied(self) -> set[str]:
        """Tensors that some Mul multiplies with a non-scalar factor (form (a) random tensors)."""
        out: set[str] = set()
        for node in self.producer.values():
            if node.op_type != "Mul":
                continue
            facs = self.factors(node.output[0])
            big = [f for f in facs if not (f in self.consts and np.asarray(self.consts[f]).size == 1)]
            if len(big) > 1:
                out.update(big)
        return out

    def factors(self, name: str) -> list[str]:
        """Flatten a tree of Mul nodes (through layout ops) into its factor tensors."""
        src = self.through_layout(name)
        node = self.producer.get(src)
        if node is not None and node.op_type == "Mul":
            return self.factors(node.input[0]) + self.factors(node.input[1])
        return [src]


def canonical_weight(op: str, w: np.ndarray, trans_b: int = 0) -> np.ndarray:
    """A layer's weight as (O, I, KH, KW): Conv is OIHW; Gemm transB=1 is (O, I); Gemm
    transB=0 and MatMul are (I, O)."""
    w = np.asarray(w, dtype=np.float32)
    if op == "Conv":
        return w
    return to_canonical(w, "OI" if trans_b else "IO")


def _codes(ratio: np.ndarray, where: str, what: str) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Mask codes, per-channel factor (None when one scalar does) and that scalar, from
    ratio = W / (R · multiplier)."""
    found = decompose(ratio, MAX_CODE)
    if not isinstance(found, Codes):
        raise ModelStructureError(
            f"{where}: the weight is not {what} times integer codes 0..{MAX_CODE} times one factor per "
            f"output channel: at canonical index {list(found)} weight/random is {float(ratio[found])!r}, "
            f"which does not fit the other weights of output channel {found[0]}")
    used = found.codes.reshape(len(found.factor), -1).any(axis=1)
    f = found.factor[used]
    if not len(f) or np.allclose(f, f[0], rtol=1e-6, atol=0):
        return found.codes, None, float(f[0]) if len(f) else 1.0
    return found.codes, np.where(used, found.factor, 1.0), 1.0


def extract_weight(tr: Tracer, weight_input: str, w_canon: np.ndarray, where: str,
                   alpha: float = 1.0) -> WeightSpec:
    """Describe the layer weight `w_canon` (already folded, canonical); the layer multiplies
    it by `alpha` (Gemm's attribute), which becomes part of the scalar multiplier."""
    factors = tr.factors(weight_input)
    recorded = [f for f in factors if f in tr.records]
    if len(recorded) > 1:
        raise ModelStructureError(f"{where}: the weight multiplies several recorded tensors {recorded}")
    if recorded:
        rec, r_canon = tr.records[recorded[0]]
        if r_canon.shape != w_canon.shape:
            raise ModelStructureError(
                f"{where}: recorded tensor {rec.tensor!r} has canonical shape {r_canon.shape} "
                f"but the layer weight is {w_canon.shape}")
        multiplier = 1.0  # scalars inside the weight expression
        for f in factors:
            if f != rec.tensor and f in tr.consts and np.asarray(tr.consts[f]).size == 1:
                multiplier *= float(np.asarray(tr.consts[f]).reshape(()))
        if multiplier == 0.0:
            raise ModelStructureError(f"{where}: the weight is multiplied by zero")
        # form (a) Mul(R, M) and form (b) (the record on the weight itself) read the same way:
        # codes = W / (R · s), possibly with one factor per output channel (a folded BatchNorm)
        mask, channel_scale, extra = _codes(w_canon / (r_canon * np.float32(multiplier)), where,
                                            f"the recorded random tensor {rec.tensor!r}")
        multiplier *= extra
        cs = 1.0 if channel_scale is None else channel_scale.reshape(-1, 1, 1, 1)
        effective = r_canon * mask.astype(np.float64) * multiplier * cs
        if not np.allclose(effective, w_canon, rtol=1e-6, atol=0):
            idx = [int(i) for i in np.argwhere(~np.isclose(effective, w_canon, rtol=1e-6, atol=0))[0]]
            raise ModelStructureError(
                f"{where}: weight at canonical index {idx} is {float(w_canon[tuple(idx)])!r}, "
                f"not the recorded random weight times its mask ({float(effective[tuple(idx)])!r})")
        check_freeze(rec, mask, where)
        return WeightSpec(shape=tuple(w_canon.shape), scale=rec.scale, mask=mask, record=rec.tensor,
                          generator=rec.generator, seed=rec.seed, multiplier=multiplier * alpha,
                          freeze=rec.freeze, channel_scale=channel_scale)
    return stored_weight(w_canon * np.float32(alpha), weight_input)


def stored_weight(w_canon: np.ndarray, name: str) -> WeightSpec:
    """A weight without a record: ternary (±c and 0) is kept as sign + mask, else dense."""
    shape = tuple(int(d) for d in w_canon.shape)
    nz = w_canon[w_canon != 0]
    mags = np.unique(np.abs(nz))
    if len(mags) <= 1:
        scale = float(mags[0]) if len(mags) else 1.0
        return WeightSpec(shape=shape, scale=scale, mask=(w_canon != 0).astype(np.uint8), record=name,
                          signs=(w_canon > 0).astype(np.uint8))
    return WeightSpec(shape=shape, scale=1.0, mask=(w_canon != 0).astype(np.uint8), record=name,
                      dense=w_canon.astype(np.float32))
