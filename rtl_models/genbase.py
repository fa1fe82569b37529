"""The weight-generator contract shared by every generator (see docs/generators.md).

A generator fills a weight tensor in canonical (O, I, KH, KW) order. Output channels are
split into groups of ``hwfacts.GROUP`` (16); group ``g`` owns one *lane* whose state is
``group_state(seed, g)``. The lane is stepped once per (input channel ``i`` outer, kernel
position ``k = ky*KW + kx`` inner), *before* each use, and bit ``b`` of ``bits(state)``
is the sign of channel ``16*g + b`` (1 = +scale). Bits for channels >= O are discarded.

Concrete generators live in :mod:`seedcc.rtl_models.xorshift` and
:mod:`seedcc.rtl_models.ctrhash`; the registry and the tensor-level functions are in
:mod:`seedcc.rtl_models.generators`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

MASK16 = 0xFFFF
MASK32 = 0xFFFF_FFFF
WEYL32 = 0x9E37_79B9
"""floor(2**32 / golden ratio): the per-group increment of the lane-seed Weyl sequence."""


def lane_seed32(seed: int, group: int) -> int:
    """The 32-bit lane seed ``(seed XOR ((group + 1) * WEYL32)) mod 2**32``.

    Hardware keeps a Weyl accumulator that starts at ``WEYL32`` and adds ``WEYL32`` per
    group, so no multiplier is needed. Shared by ``xorshift32`` and ``ctrhash32``.
    """
    return ((seed & MASK32) ^ (((group + 1) * WEYL32) & MASK32)) & MASK32


def lane_seeds32(seed: int, n_groups: int) -> np.ndarray:
    """Vectorised :func:`lane_seed32` for groups ``0..n_groups-1`` (uint32 array)."""
    weyl = (np.arange(1, n_groups + 1, dtype=np.uint64) * np.uint64(WEYL32)) & np.uint64(MASK32)
    return (weyl ^ np.uint64(seed & MASK32)).astype(np.uint32)


class Generator(ABC):
    """One weight generator: a family of lanes, each a small state machine.

    Class attributes:
        name: registry key (``"xorshift16"``, ...).
        gen_id: the small integer the ISA uses to select this generator.
        state_bits: bits of one lane state (<= 64); states are Python ints / uint64.
        period: number of steps after which every valid lane state repeats.
    """

    name: ClassVar[str]
    gen_id: ClassVar[int]
    state_bits: ClassVar[int]
    period: ClassVar[int]

    @abstractmethod
    def group_state(self, seed: int, group: int) -> int:
        """Lane state at the start of group ``group`` for ``seed`` (before the first step)."""

    @abstractmethod
    def group_states(self, seed: int, n_groups: int) -> np.ndarray:
        """Vectorised :meth:`group_state` for groups ``0..n_groups-1``: uint64 array (n_groups,)."""

    @abstractmethod
    def step(self, state: int) -> int:
        """Scalar reference: the state after one step."""

    @abstractmethod
    def bits(self, state: int) -> int:
        """The 16 sign bits (0..0xFFFF) produced by ``state`` after it was stepped.

        Bit ``b`` is channel ``16*g + b`` of the group; 1 means +scale.
        """

    @abstractmethod
    def jump(self, state: int, n: int) -> int:
        """State after ``n >= 0`` steps, in time independent of ``n`` (or logarithmic in it)."""

    @abstractmethod
    def _stream(self, states: np.ndarray, n: int) -> np.ndarray:
        """:meth:`stream` after argument checking (``states`` is a valid uint64 1-D array)."""

    def stream(self, states: np.ndarray, n: int) -> np.ndarray:
        """For each lane start state, the 16-bit outputs of steps 1..n.

        Args:
            states: shape (L,), values < 2**state_bits (any integer dtype).
            n: number of steps, >= 0.

        Returns:
            uint16 array (L, n) with ``out[l, t] == bits(jump(states[l], t + 1))``.
            Vectorised over lanes and (for most generators) over time.
        """
        arr = np.asarray(states)
        if arr.ndim != 1:
            raise ValueError(f"{self.name}.stream: states must be 1-D, got shape {arr.shape}")
        if n < 0:
            raise ValueError(f"{self.name}.stream: n must be >= 0, got {n}")
        arr = arr.astype(np.uint64)
        if self.state_bits < 64 and arr.size and int(arr.max()) >> self.state_bits:
            raise ValueError(
                f"{self.name}.stream: state {int(arr.max()):#x} does not fit {self.state_bits} bits"
            )
        if n == 0 or arr.size == 0:
            return np.zeros((arr.size, n), dtype=np.uint16)
        out = self._stream(arr, n)
        assert out.shape == (arr.size, n) and out.dtype == np.uint16
        return out

    def __repr__(self) -> str:
        return f"<generator {self.name} id={self.gen_id} state_bits={self.state_bits}>"
