"""The sparse adjacency format of the AGG instruction (docs/isa.md): one definition used
by code generation (writer), the reference model and the testbenches (readers), and the
one quantisation rule of a normalised adjacency Â.

Â is stored as CSR by rows, cut into chunks of consecutive rows. A chunk of R rows with
E entries is, at its mask-SRAM address:

    R  uint16 degrees (neighbours of each row)          CSR_DEGREE_BYTES each
    zero bytes up to a multiple of CSR_ALIGN
    E  entries in row order: uint16 column, int16 value   CSR_ENTRY_BYTES each

so the machine streams it front to back: one degree per row, then that row's entries.
Storage is 2·R + 4·E bytes (plus alignment): O(nnz), never nodes².
"""

from __future__ import annotations

import numpy as np

from .hwfacts import (
    ACC_BITS,
    ACT_MAX,
    CSR_ALIGN,
    CSR_DEGREE_BYTES,
    CSR_ENTRY_BYTES,
    CSR_INDEX_BITS,
    CSR_VALUE_BITS,
)

VALUE_MAX = (1 << (CSR_VALUE_BITS - 1)) - 1
INDEX_MAX = (1 << CSR_INDEX_BITS) - 1
ENTRY = np.dtype([("col", f"<u{CSR_INDEX_BITS // 8}"), ("val", f"<i{CSR_VALUE_BITS // 8}")])
assert ENTRY.itemsize == CSR_ENTRY_BYTES


def entries_offset(rows: int) -> int:
    """Bytes from a chunk's address to its first entry."""
    return -(-CSR_DEGREE_BYTES * rows // CSR_ALIGN) * CSR_ALIGN


def chunk_bytes(rows: int, nnz: int) -> int:
    return entries_offset(rows) + CSR_ENTRY_BYTES * nnz


def pack_chunk(degrees: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> bytes:
    """One chunk: degrees (R,), then the entries' columns and int16 values (E,)."""
    head = np.asarray(degrees, f"<u{CSR_DEGREE_BYTES}").tobytes()
    head += b"\0" * (entries_offset(len(degrees)) - len(head))
    ent = np.zeros(len(cols), ENTRY)
    ent["col"], ent["val"] = cols, vals
    return head + ent.tobytes()


def unpack_chunk(data: np.ndarray | bytes, rows: int, nnz: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(degrees (R,) int64, columns (E,) int64, values (E,) int64) of a packed chunk."""
    raw = np.frombuffer(bytes(data), np.uint8)
    deg = raw[:CSR_DEGREE_BYTES * rows].view(f"<u{CSR_DEGREE_BYTES}").astype(np.int64)
    off = entries_offset(rows)
    ent = raw[off:off + CSR_ENTRY_BYTES * nnz].view(ENTRY)
    return deg, ent["col"].astype(np.int64), ent["val"].astype(np.int64)


def quantize_values(values: np.ndarray, indptr: np.ndarray) -> tuple[np.ndarray, float]:
    """int16 codes and the scale s of a CSR's values (value ≈ code·s), symmetric per tensor:
    s = max|value| / VALUE_MAX, raised if needed so that no row can overflow the int32
    accumulator (Σ|code| · 128 < 2^31 for every row, whatever the int8 inputs)."""
    v = np.asarray(values, np.float64)
    if not v.size or not np.abs(v).max() > 0:
        return np.zeros(v.shape, np.int16), 1.0
    scale = float(np.abs(v).max()) / VALUE_MAX
    row_abs = np.add.reduceat(np.abs(v), indptr[:-1][np.diff(indptr) > 0]) if v.size else np.zeros(1)
    bound = ((1 << (ACC_BITS - 1)) - 1) / (ACT_MAX + 1)
    scale = max(scale, float(row_abs.max()) / (bound - int(np.diff(indptr).max())))  # rounding: < 1 an entry
    codes = np.clip(np.rint(v / scale), -VALUE_MAX, VALUE_MAX).astype(np.int16)
    return codes, scale
