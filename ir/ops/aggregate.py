"""AGGREGATE: sparse graph aggregation `Â @ H` (ONNX MatMul whose left operand is a
constant), the neighbourhood sum of a graph convolution.

H is a rank-2 activation (N, F) (the ONNX (1, N, F) node features); Â a constant
(M, N) matrix, usually the normalised adjacency D^-1/2 (A + I) D^-1/2. The front end keeps
Â as CSR (`Adjacency`: never M·N storage past the ONNX file); the output is (M, F).
Attributes: `adj`, `bias` (an Add of a constant right after, PyG's `Â (X W) + b`); after
`fuse_epilogues` also `affine` = (a, b) per feature and `relu`, as a CONV carries them.

Lowering (docs/compiler.md "Graph aggregation"): Â's values become int16 codes times one
scale (`rtl_models/adjacency.py`), its rows are cut into chunks that fit the mask SRAM and
the accumulators, and per chunk a DMA loads the packed CSR into the mask SRAM, AGG sums
code·x over each row's neighbours into int32 accumulators (PIXELS features a cycle), and
REQ applies the per-feature affine (BatchNorm, bias) and ReLU. The float mode runs AGG
with Â's float values from the program's float section.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from seedcc.errors import ModelStructureError
from seedcc.ir.ops.base import OpDef, Shape, fused_relu, is_unsigned
from seedcc.ir.ops.conv import affine_records, wide_scales
from seedcc.rtl_models import adjacency as fmt
from seedcc.rtl_models.hwconfig import HwConfig
from seedcc.rtl_models.hwfacts import ACC_BYTES, REQ_RECORD_BYTES, req_record_bytes


@dataclass(frozen=True, eq=False)
class Adjacency:
    """A constant (rows, cols) matrix as CSR: row i's entries are indptr[i]..indptr[i+1]-1."""

    rows: int
    cols: int
    indptr: np.ndarray  # int64 (rows + 1,)
    indices: np.ndarray  # int64 (nnz,)
    values: np.ndarray  # float32 (nnz,)
    source: str = ""  # the ONNX initializer

    @classmethod
    def from_dense(cls, a: np.ndarray, source: str = "") -> Adjacency:
        a = np.asarray(a, np.float32)
        r, c = np.nonzero(a)
        indptr = np.zeros(a.shape[0] + 1, np.int64)
        np.cumsum(np.bincount(r, minlength=a.shape[0]), out=indptr[1:])
        return cls(a.shape[0], a.shape[1], indptr, c.astype(np.int64), a[r, c], source)

    @property
    def nnz(self) -> int:
        return len(self.indices)

    @cached_property
    def codes(self) -> tuple[np.ndarray, float]:
        """int16 codes and their scale (`adjacency.quantize_values`)."""
        return fmt.quantize_values(self.values, self.indptr)

    @cached_property
    def fingerprint(self) -> str:
        h = hashlib.sha256(repr((self.rows, self.cols)).encode())
        for arr in (self.indptr, self.indices, self.values):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()[:16]

    def chunks(self, features: int, cfg: HwConfig) -> tuple[tuple[int, int, bytes], ...]:
        """Row ranges [r0, r1) and their packed CSR: each chunk fits half the mask SRAM (the
        other half stays for mask rows resident in a loop) and its F x rows accumulators the
        acc SRAM (`HwConfig.acc_span`). Packed once per sizes (lowering and loop set-up both ask)."""
        key = (features, cfg.mask_sram_bytes, cfg.acc_rows, cfg.block_channels, cfg.pixels)
        if key not in self._chunks:
            out, r0 = [], 0
            blocks = -(-max(features, 1) // cfg.block_channels)
            budget, most_rows = cfg.mask_sram_bytes // 2, max(1, cfg.acc_rows // blocks * cfg.pixels)
            while r0 < self.rows:
                r1 = min(self.rows, r0 + most_rows)
                while r1 > r0 + 1 and fmt.chunk_bytes(r1 - r0, int(self.indptr[r1] - self.indptr[r0])) > budget:
                    r1 = r0 + max(1, (r1 - r0) // 2)
                out.append((r0, r1, self.pack(r0, r1)))
                r0 = r1
            self._chunks[key] = tuple(out)
        return self._chunks[key]

    @cached_property
    def _chunks(self) -> dict[tuple[int, ...], tuple[tuple[int, int, bytes], ...]]:
        return {}

    def pack(self, r0: int, r1: int) -> bytes:
        e0, e1 = int(self.indptr[r0]), int(self.indptr[r1])
        return fmt.pack_chunk(np.diff(self.indptr[r0:r1 + 1]), self.indices[e0:e1], self.codes[0][e0:e1])

    def stored_bytes(self) -> int:
        """Bytes of the whole of Â in the accelerator's format (one chunk)."""
        return fmt.chunk_bytes(self.rows, self.nnz)


def aggregate(adj: Adjacency, x: np.ndarray) -> np.ndarray:
    """Â @ x for a batch x (B, cols, F), in float64 per sample (then float32)."""
    out = np.zeros((x.shape[0], adj.rows, x.shape[2]), np.float64)
    nonempty = np.diff(adj.indptr) > 0
    if not adj.nnz:
        return out.astype(np.float32)
    vals = adj.values.astype(np.float64)[:, None]
    for b in range(x.shape[0]):
        prod = x[b, adj.indices].astype(np.float64) * vals
        out[b, nonempty] = np.add.reduceat(prod, adj.indptr[:-1][nonempty], axis=0)
    return out.astype(np.float32)


class Aggregate(OpDef):
    name = "aggregate"
    onnx = ("MatMul",)
    reads_unsigned = writes_wide = True
    relu_output = staticmethod(fused_relu)
    attrs = ("adj",)

    @staticmethod
    def claims(ctx: Any, node: Any) -> bool:
        return ctx.is_const(node.input[0]) and not ctx.is_const(node.input[1])

    @staticmethod
    def from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
        adj_name, x = node.input[0], node.input[1]
        dense = ctx.const(adj_name, name)
        shape = ctx.values[ctx.src(x)].shape if ctx.src(x) in ctx.values else None
        if dense.ndim != 2:
            raise ModelStructureError(f"{ctx.where}: node {name}: MatMul with the constant {adj_name!r} "
                                      f"of shape {list(dense.shape)} on the left: a graph aggregation "
                                      f"needs a 2-D (nodes, nodes) matrix")
        if shape is None or len(shape) != 2 or shape[0] != dense.shape[1]:
            raise ModelStructureError(
                f"{ctx.where}: node {name}: MatMul({adj_name!r} {list(dense.shape)}, {x!r}) is a graph "
                f"aggregation, which needs the activation as (1, {dense.shape[1]} nodes, features); "
                f"its per-sample shape is {shape}")
        ctx.emit(Aggregate, name, [x], node.output[0],
                 adj=Adjacency.from_dense(dense.astype(np.float32), adj_name), bias=None)

    @staticmethod
    def infer(attrs: Mapping[str, Any], ins: list[Shape]) -> Shape:
        adj = attrs["adj"]
        if len(ins[0]) != 2 or ins[0][0] != adj.cols:
            raise ValueError(f"the adjacency has {adj.cols} columns; the input must be "
                             f"({adj.cols}, features), is {ins[0]}")
        return (adj.rows, ins[0][1])

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        a = n.attrs
        y = aggregate(a["adj"], ins[0])
        if a.get("affine") is not None:
            scale, shift = a["affine"]
            y = y * np.asarray(scale, np.float32)[None, None] + np.asarray(shift, np.float32)[None, None]
        elif a.get("bias") is not None:
            y = y + np.asarray(a["bias"], np.float32)[None, None]
        return np.maximum(y, 0) if a.get("relu") else y

    @staticmethod
    def lower(n: Any, em: Any) -> None:
        adj: Adjacency = n.attrs["adj"]
        x, y = em.value(n.inputs[0]), em.value(n.output)
        features = y.shape[1]
        ascale = adj.codes[1]
        a, b = (np.asarray(t, np.float64) for t in n.attrs["affine"])
        wide = y.dtype == "int32"  # a graph output left at accumulator precision
        rec = affine_records(a, b, ascale, x.scale, y.scale, wide)
        if wide:
            em.channel_scales[n.output] = wide_scales(a, ascale, x.scale)
        param = em.load("param", req_record_bytes(rec, f"aggregation {n.name}"), f"aggregation {n.name}")
        chunks = adj.chunks(features, em.cfg)
        loaded = 0
        for r0, r1, blob in chunks:
            e0, e1 = int(adj.indptr[r0]), int(adj.indptr[r1])
            at, nbytes = em.adjacency_rows(blob)
            loaded += nbytes
            em.emit("AGG", in_addr=em.addr(n.inputs[0]), in_nodes=adj.cols, acc_row=0, features=features,
                    row_count=r1 - r0, nnz=e1 - e0, csr_addr=at, in_unsigned=is_unsigned(x))
            em.float_values(adj.values[e0:e1])
            em.emit("REQ", acc_row=0, out_addr=em.addr(n.output) + r0 * (ACC_BYTES if wide else 1),
                    oc_count=features, pix_count=r1 - r0, out_plane=adj.rows, param_addr=param,
                    relu=int(bool(n.attrs.get("relu"))), out_unsigned=is_unsigned(y), out_wide=int(wide))
            em.float_affine(a, b)
            em.release("mask", at)
            em.acc_peak = max(em.acc_peak, em.cfg.acc_span(features, r1 - r0) * em.cfg.pes)
        em.release("param", param)
        em.graph_done(n, adj, chunks=len(chunks), stored_bytes=sum(len(c[2]) for c in chunks),
                      loaded_bytes=loaded, param_bytes=REQ_RECORD_BYTES * features)

    @staticmethod
    def cost(n: Any, ins: list[Shape], out: Shape) -> int:
        return n.attrs["adj"].nnz * out[1]

    @staticmethod
    def scratch(n: Any, ins: list[Shape], out: Shape) -> int:
        return 3 * n.attrs["adj"].nnz * out[1] // max(ins[0][0], 1) + 2 * out[0] * out[1]
