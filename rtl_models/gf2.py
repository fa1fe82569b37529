"""Square bit matrices over GF(2), for jumping linear generators (xorshift) ahead.

A matrix of width ``w`` (<= 64) is stored as ``w`` column words: column ``j`` is the image
of the basis state ``1 << j``. Applying it to a state XORs the columns of its set bits.
Arrays of states are mapped with one table lookup per state byte.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class GF2Matrix:
    """A ``width x width`` matrix over GF(2); immutable, columns as ints."""

    width: int
    cols: tuple[int, ...] = field(repr=False)

    def __post_init__(self) -> None:
        assert 0 < self.width <= 64 and len(self.cols) == self.width
        assert all(c >= 0 and c >> self.width == 0 for c in self.cols)

    @classmethod
    def identity(cls, width: int) -> GF2Matrix:
        return cls(width, tuple(1 << j for j in range(width)))

    @classmethod
    def from_linear(cls, width: int, fn: Callable[[int], int]) -> GF2Matrix:
        """The matrix of a GF(2)-linear map ``fn`` on ``width``-bit words."""
        return cls(width, tuple(fn(1 << j) for j in range(width)))

    def apply(self, state: int) -> int:
        """Matrix times the bit vector ``state`` (an int < 2**width)."""
        out = 0
        j = 0
        while state:
            if state & 1:
                out ^= self.cols[j]
            state >>= 1
            j += 1
        return out

    def __matmul__(self, other: GF2Matrix) -> GF2Matrix:
        """Composition: ``(self @ other).apply(s) == self.apply(other.apply(s))``."""
        assert self.width == other.width
        return GF2Matrix(self.width, tuple(self.apply(c) for c in other.cols))

    def __pow__(self, n: int) -> GF2Matrix:
        """``self`` composed ``n >= 0`` times (square-and-multiply)."""
        if n < 0:
            raise ValueError(f"GF2Matrix power must be >= 0, got {n}")
        result, base = GF2Matrix.identity(self.width), self
        while n:
            if n & 1:
                result = base @ result
            base = base @ base
            n >>= 1
        return result

    @cached_property
    def _byte_tables(self) -> np.ndarray:
        """uint64 (ceil(width/8), 256): table[q, v] = image of ``v << 8q``."""
        nbytes = (self.width + 7) // 8
        cols = np.zeros(nbytes * 8, dtype=np.uint64)
        cols[: self.width] = np.array(self.cols, dtype=np.uint64)
        v = np.arange(256, dtype=np.uint64)
        tables = np.zeros((nbytes, 256), dtype=np.uint64)
        for q in range(nbytes):
            for j in range(8):
                on = ((v >> np.uint64(j)) & np.uint64(1)).astype(bool)
                tables[q] ^= np.where(on, cols[8 * q + j], np.uint64(0))
        return tables

    def apply_array(self, states: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`apply`; returns uint64 of the same shape as ``states``."""
        s = np.asarray(states, dtype=np.uint64)
        tables = self._byte_tables
        out = tables[0][s & np.uint64(0xFF)]
        for q in range(1, tables.shape[0]):
            out ^= tables[q][(s >> np.uint64(8 * q)) & np.uint64(0xFF)]
        return out
