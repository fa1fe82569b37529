"""Vectorised kernels of the reference model (no machine state, no Python loops per element).

Every function works on a whole batch at once (axis 0 = sample) and is exact: integer
inputs give integer results bit for bit. Semantics: docs/isa.md; how the reference model
uses these: docs/refsim.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from seedcc.rtl_models.hwfacts import ACT_MIN, GROUP, UACT_MAX

MANY_TAPS = 16
"""Pools with more window taps than this reduce a window view (e.g. global pooling) instead
of looping over the taps with one whole-tensor operation each."""

FLOAT32_EXACT = 1 << 24
"""Integers of magnitude below this are exact in float32, and so are sums of them that stay below it."""


@dataclass(frozen=True)
class Window:
    """Sliding-window geometry shared by MAC and the pools (docs/isa.md).

    Output position (oy, ox) reads input rows oy*stride_h - pad_t + ky (ky < kh) and columns
    ox*stride_w - pad_l + kx (kx < kw); positions outside 0..in_h-1 / 0..in_w-1 are padding.
    """

    in_h: int
    in_w: int
    kh: int
    kw: int
    stride_h: int
    stride_w: int
    pad_t: int
    pad_l: int

    def padded(self, x: np.ndarray, oy0: int, rows: int, out_w: int, fill: float) -> np.ndarray:
        """``x`` (B, C, in_h, in_w) cut and padded with ``fill`` to exactly the input rows and
        columns that output rows ``oy0..oy0+rows-1`` (all ``out_w`` columns) read.

        Returns a view of ``x`` when no padding is needed, else a padded copy (same dtype).
        """
        r0 = oy0 * self.stride_h - self.pad_t
        r1 = (oy0 + rows - 1) * self.stride_h - self.pad_t + self.kh
        c0 = -self.pad_l
        c1 = (out_w - 1) * self.stride_w - self.pad_l + self.kw
        if r0 >= 0 and c0 >= 0 and r1 <= self.in_h and c1 <= self.in_w:
            return x[:, :, r0:r1, c0:c1]
        xp = np.full(x.shape[:2] + (r1 - r0, c1 - c0), fill, dtype=x.dtype)
        ys, ye = max(r0, 0), min(r1, self.in_h)
        xs, xe = max(c0, 0), min(c1, self.in_w)
        if ys < ye and xs < xe:
            xp[:, :, ys - r0:ye - r0, xs - c0:xe - c0] = x[:, :, ys:ye, xs:xe]
        return xp

    def windows(self, x: np.ndarray, oy0: int, rows: int, out_w: int, fill: float) -> np.ndarray:
        """View (B, C, rows, out_w, kh, kw): the input window of every output position."""
        xp = self.padded(x, oy0, rows, out_w, fill)
        view = sliding_window_view(xp, (self.kh, self.kw), axis=(2, 3))
        return view[:, :, ::self.stride_h, ::self.stride_w]

    def tap_slices(self, x: np.ndarray, oy0: int, rows: int, out_w: int,
                   fill: float) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield (ky, kx, view (B, C, rows, out_w)): the input each output position sees at one tap."""
        xp = self.padded(x, oy0, rows, out_w, fill)
        h_span = (rows - 1) * self.stride_h + 1
        w_span = (out_w - 1) * self.stride_w + 1
        for ky in range(self.kh):
            for kx in range(self.kw):
                yield ky, kx, xp[:, :, ky:ky + h_span:self.stride_h, kx:kx + w_span:self.stride_w]

    def in_range(self, oy: np.ndarray, ox: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bool (kh, n) and (kw, n): whether tap row ky / column kx of each position is inside."""
        iy = oy[None, :] * self.stride_h - self.pad_t + np.arange(self.kh)[:, None]
        ix = ox[None, :] * self.stride_w - self.pad_l + np.arange(self.kw)[:, None]
        return (iy >= 0) & (iy < self.in_h), (ix >= 0) & (ix < self.in_w)

    def valid_taps(self, first: int, pix_count: int, out_w: int) -> np.ndarray:
        """int64 (kh*kw,): for each tap k = ky*kw + kx, how many of the pixels first ..
        first + pix_count - 1 (row-major over the output) read a real input."""
        q = np.arange(first, first + pix_count, dtype=np.int64)
        rows, cols = self.in_range(q // out_w, q % out_w)
        return (rows.astype(np.int64) @ cols.T.astype(np.int64)).reshape(-1)

    def valid_counts(self, out_h: int, out_w: int) -> np.ndarray:
        """int64 (out_h, out_w): in-range inputs in each output position's window."""
        rows, cols = self.in_range(np.arange(out_h), np.arange(out_w))
        return rows.sum(axis=0, dtype=np.int64)[:, None] * cols.sum(axis=0, dtype=np.int64)[None, :]


def first_pixel(f: Mapping[str, int]) -> int:
    """The row-major output index of a MAC's first pixel, from its (start_oy, start_ox).
    The RTL never forms it (it counts coordinates); the model uses it to slice arrays."""
    return f["start_oy"] * f["out_w"] + f["start_ox"]


def im2col(x: np.ndarray, win: Window, first: int, pix_count: int, out_w: int,
           dtype: type[np.floating]) -> np.ndarray:
    """The MAC operand: C-contiguous (in_c*kh*kw, B*pix_count) in ``dtype``.

    Row t = i*kh*kw + ky*kw + kx; column b*pix_count + p is sample b's output pixel
    q = first + p (oy = q // out_w, ox = q % out_w); padding reads 0. The batch sits
    in the columns so that one GEMM serves the whole batch. One copy (with the dtype
    conversion) of the padded, strided window view, plus one more when the pixel range
    does not cover whole output rows.
    """
    b, c = x.shape[:2]
    oy0 = first // out_w
    rows = (first + pix_count - 1) // out_w - oy0 + 1
    view = win.windows(x, oy0, rows, out_w, 0).transpose(1, 4, 5, 0, 2, 3)
    cols = np.empty(view.shape, dtype=dtype)
    np.copyto(cols, view)
    off = first - oy0 * out_w
    k = c * win.kh * win.kw
    if off == 0 and pix_count == rows * out_w:
        return cols.reshape(k, b * pix_count)
    part = cols.reshape(k, b, rows * out_w)[:, :, off:off + pix_count]
    return np.ascontiguousarray(part).reshape(k, b * pix_count)


BLOCK = 1 << 17
"""Elements per block of the element-wise integer rules: numerics' int64 temporaries of one
block stay in the CPU cache, which makes REQ/ADD several times faster than whole-array calls."""


def blocks(n: int, row: int = 1) -> Iterator[slice]:
    """Slices covering 0..n-1 in steps of about BLOCK elements, where one index is ``row`` elements."""
    step = max(1, BLOCK // max(row, 1))
    for start in range(0, n, step):
        yield slice(start, min(start + step, n))


def tiles(batch: int, n: int, row: int = 1) -> Iterator[tuple[slice, slice]]:
    """(samples, items) slices covering a (batch, n, row...) array in blocks of about BLOCK
    elements: whole samples while a sample is smaller than a block, else parts of one sample."""
    if n * row >= BLOCK:
        for b in range(batch):
            for part in blocks(n, row):
                yield slice(b, b + 1), part
    else:
        for samples in blocks(batch, n * row):
            yield samples, slice(0, n)


def generator_signs(words: np.ndarray, oc_count: int) -> np.ndarray:
    """Bool (oc_count, T), True = +1, from lane outputs uint16 (ng, T): bit b of lane j's
    word at step t is the sign of block channel GROUP*j + b."""
    ng, t = words.shape
    le_bytes = np.ascontiguousarray(words, dtype="<u2").view(np.uint8).reshape(ng, t, 2)
    bits = np.unpackbits(le_bytes, axis=-1, bitorder="little")  # (ng, T, GROUP)
    per_channel = bits.transpose(0, 2, 1).reshape(ng * GROUP, t)[:oc_count]
    return per_channel.astype(bool)


def signed_weights(signs: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """int8 (oc, T): sign * code (codes <= MAX_CODE fit int8)."""
    c = codes.astype(np.int8)
    return np.where(signs, c, -c)


def matmul_dtype(weights: np.ndarray) -> type[np.floating]:
    """float32 when ``UACT_MAX * max|code| * T < 2**24`` (the largest operand magnitude of an
    int8 or uint8 input: every partial sum is then an exact float32 integer, whatever the
    summation order), else float64 (exact below 2**53)."""
    t = weights.shape[1]
    peak = int(np.abs(weights).max()) if weights.size else 0
    return np.float32 if max(-ACT_MIN, UACT_MAX) * peak * t < FLOAT32_EXACT else np.float64


# -- attention instructions (MATMUL, SOFTMAX, LAYERNORM, GELU) -------------------------------
def span(addr: int, shape: tuple[int, ...], strides: tuple[int, ...]) -> tuple[int, int]:
    """Half-open byte range [lo, hi) that a strided tensor at ``addr`` touches (empty: (addr, addr))."""
    if not all(shape):
        return addr, addr
    return addr, addr + sum((n - 1) * s for n, s in zip(shape, strides)) + 1


def strided(mem: np.ndarray, addr: int, shape: tuple[int, ...], strides: tuple[int, ...]) -> np.ndarray:
    """View (batch, *shape) of the row-per-sample memory ``mem`` with element ``strides``
    inside a sample (bounds checked by the caller; writable, so views may alias)."""
    item = mem.itemsize
    return as_strided(mem[:, addr:], (mem.shape[0], *shape),
                      (mem.strides[0], *(s * item for s in strides)))


def matmul(x: np.ndarray, y: np.ndarray, float_mode: bool) -> np.ndarray:
    """(B, M, K) @ (B, K, N). Integer operands: exact int64 (every partial sum is below
    2**53, so the float64 GEMM is exact); float mode: float64."""
    res = np.matmul(x.astype(np.float64), y.astype(np.float64))
    return res if float_mode else res.astype(np.int64)


def float_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def float_gelu(x: np.ndarray) -> np.ndarray:
    """x/2 (1 + erf(x/sqrt2)) in float64 (math.erf per element: exact, not fast)."""
    erf = np.frompyfunc(math.erf, 1, 1)
    return 0.5 * x * (1.0 + erf(np.asarray(x, np.float64) / math.sqrt(2.0)).astype(np.float64))
