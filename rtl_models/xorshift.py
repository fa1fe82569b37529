"""Linear xorshift generators: ``xorshift16`` (gen_id 0) and ``xorshift32`` (gen_id 1).

Both are Marsaglia left/right/left xorshift triples with maximal period ``2**w - 1``
(state 0 is a fixed point and never used). A step is a GF(2)-linear map, so ``jump`` is a
matrix power (:mod:`seedcc.rtl_models.gf2`) and ``stream`` splits every lane into chunks
whose start states are reached by matrix jumps, then steps all chunks of all lanes in
lock-step with numpy. ``xorshift16`` additionally keeps its whole 65535-state orbit as a
cycle table, so its ``jump`` and ``stream`` are table lookups. Specs: docs/generators.md.
"""

from __future__ import annotations

from functools import cached_property
from typing import ClassVar

import numpy as np

from .genbase import MASK16, Generator, lane_seed32, lane_seeds32
from .gf2 import GF2Matrix

CHUNK = 16
"""Steps per chunk in the vectorised stream: lanes are cut into chunks of this length.

Shorter chunks mean fewer Python-level numpy calls but more matrix jumps; 16 measured
fastest on the ResNet-18 set (benchmarks/bench_generators.py; 8 and 64 were ~1.5x slower).
"""


class _Xorshift(Generator):
    """A ``w``-bit xorshift ``s ^= s << a; s ^= s >> b; s ^= s << c`` (all mod 2**w)."""

    width: ClassVar[int]
    shifts: ClassVar[tuple[int, int, int]]
    dtype: ClassVar[type[np.unsignedinteger]]

    def step(self, state: int) -> int:
        a, b, c = self.shifts
        mask = (1 << self.width) - 1
        s = state
        s ^= (s << a) & mask
        s ^= s >> b
        s ^= (s << c) & mask
        return s

    def _step_array(self, x: np.ndarray, tmp: np.ndarray) -> None:
        """One step in place on an array of dtype ``self.dtype`` (shifts wrap at w bits)."""
        a, b, c = (self.dtype(k) for k in self.shifts)
        np.left_shift(x, a, out=tmp)
        x ^= tmp
        np.right_shift(x, b, out=tmp)
        x ^= tmp
        np.left_shift(x, c, out=tmp)
        x ^= tmp

    def _bits_array(self, x: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`bits`: uint16 array."""
        raise NotImplementedError

    @cached_property
    def matrix(self) -> GF2Matrix:
        """The step as a GF(2) matrix."""
        return GF2Matrix.from_linear(self.width, self.step)

    @cached_property
    def _pow2(self) -> tuple[GF2Matrix, ...]:
        """``matrix ** (2**k)`` for k = 0..width-1 (enough for any n mod period)."""
        pows = [self.matrix]
        for _ in range(self.width - 1):
            pows.append(pows[-1] @ pows[-1])
        return tuple(pows)

    @cached_property
    def _chunk_pow2(self) -> list[GF2Matrix]:
        """``matrix ** (CHUNK * 2**k)``, extended on demand by :meth:`_chunk_jump`."""
        return [self.matrix**CHUNK]

    def _chunk_jump(self, k: int) -> GF2Matrix:
        pows = self._chunk_pow2
        while len(pows) <= k:
            pows.append(pows[-1] @ pows[-1])
        return pows[k]

    def jump(self, state: int, n: int) -> int:
        if n < 0:
            raise ValueError(f"{self.name}.jump: n must be >= 0, got {n}")
        n %= self.period
        k = 0
        while n:
            if n & 1:
                state = self._pow2[k].apply(state)
            n >>= 1
            k += 1
        return state

    def _stream_linear(self, states: np.ndarray, n: int) -> np.ndarray:
        """Stream by chunks: lane l, chunk p starts at ``jump(states[l], p*CHUNK)``."""
        n_lanes = states.size
        chunk = min(n, CHUNK)
        n_chunks = -(-n // chunk)
        starts = np.empty((n_lanes, n_chunks), dtype=np.uint64)
        starts[:, 0] = states
        have, k = 1, 0
        while have < n_chunks:  # doubling: chunks [have, 2*have) from chunks [0, have)
            take = min(have, n_chunks - have)
            starts[:, have : have + take] = self._chunk_jump(k).apply_array(starts[:, :take])
            have += take
            k += 1
        x = starts.reshape(-1).astype(self.dtype)
        tmp = np.empty_like(x)
        out = np.empty((chunk, x.size), dtype=np.uint16)
        for t in range(chunk):
            self._step_array(x, tmp)
            out[t] = self._bits_array(x)
        # out[t, l*n_chunks + p] is step p*chunk + t + 1 of lane l.
        by_lane = out.reshape(chunk, n_lanes, n_chunks).transpose(1, 2, 0)
        return by_lane.reshape(n_lanes, n_chunks * chunk)[:, :n]

    def _stream(self, states: np.ndarray, n: int) -> np.ndarray:
        return self._stream_linear(states, n)


class Xorshift16(_Xorshift):
    """DESIGN.md §4: 16-bit xorshift (7, 9, 8); lane state = the 16 sign bits."""

    name = "xorshift16"
    gen_id = 0
    state_bits = 16
    period = 0xFFFF
    width = 16
    shifts = (7, 9, 8)
    dtype = np.uint16

    def group_state(self, seed: int, group: int) -> int:
        return ((seed ^ (group + 1)) & MASK16) or 1

    def group_states(self, seed: int, n_groups: int) -> np.ndarray:
        s = (np.arange(1, n_groups + 1, dtype=np.uint64) ^ np.uint64(seed & MASK16)) & np.uint64(
            MASK16
        )
        s[s == 0] = 1
        return s

    def bits(self, state: int) -> int:
        return state & MASK16

    def _bits_array(self, x: np.ndarray) -> np.ndarray:
        return x.astype(np.uint16, copy=True)

    @cached_property
    def orbit(self) -> np.ndarray:
        """The cycle table: uint16 (65535,), ``orbit[t]`` = state after t steps from 1."""
        rest = self._stream_linear(np.array([1], dtype=np.uint64), self.period - 1)[0]
        return np.concatenate([np.array([1], dtype=np.uint16), rest])

    @cached_property
    def position(self) -> np.ndarray:
        """Inverse of the cycle table, intp (65536,): ``orbit[position[s]] == s`` for s != 0."""
        pos = np.zeros(1 << 16, dtype=np.intp)
        pos[self.orbit] = np.arange(self.period, dtype=np.intp)
        return pos

    def jump(self, state: int, n: int) -> int:
        if n < 0:
            raise ValueError(f"{self.name}.jump: n must be >= 0, got {n}")
        if state == 0:
            return 0
        return int(self.orbit[(int(self.position[state]) + n) % self.period])

    def orbit_slice(self, start_state: int, n: int) -> np.ndarray:
        """The states after steps 1..n from ``start_state`` (nonzero): uint16 (n,)."""
        idx = np.arange(1, n + 1, dtype=np.intp) + self.position[start_state]
        return self.orbit.take(idx, mode="wrap")

    def _stream(self, states: np.ndarray, n: int) -> np.ndarray:
        idx = self.position[states.astype(np.intp)][:, None] + np.arange(1, n + 1, dtype=np.intp)
        out = self.orbit.take(idx, mode="wrap")
        out[states == 0] = 0
        return out


class Xorshift32(_Xorshift):
    """Marsaglia xorshift32 (13, 17, 5); bits = low half XOR high half of the state."""

    name = "xorshift32"
    gen_id = 1
    state_bits = 32
    period = 0xFFFF_FFFF
    width = 32
    shifts = (13, 17, 5)
    dtype = np.uint32

    def group_state(self, seed: int, group: int) -> int:
        return lane_seed32(seed, group) or 1

    def group_states(self, seed: int, n_groups: int) -> np.ndarray:
        s = lane_seeds32(seed, n_groups).astype(np.uint64)
        s[s == 0] = 1
        return s

    def bits(self, state: int) -> int:
        return (state ^ (state >> 16)) & MASK16

    def _bits_array(self, x: np.ndarray) -> np.ndarray:
        return (x ^ (x >> np.uint32(16))).astype(np.uint16)
