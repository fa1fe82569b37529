"""Counter-based generator ``ctrhash32`` (gen_id 2): output = hash(key XOR counter).

The lane state packs a 32-bit key (bits 63..32) and a 32-bit counter (bits 31..0). A step
increments the counter (mod 2**32); the sign bits are the low 16 bits of
``mix32(key XOR counter)``. Because the state after n steps is just ``counter + n``, any
tile can start anywhere without stepping, and ``stream`` is fully vectorised over lanes
and time. ``mix32`` is Chris Wellons' "lowbias32" integer hash (two 32x32 multiplies by
constants, three xor-shifts). Spec: docs/generators.md.
"""

from __future__ import annotations

import numpy as np

from .genbase import MASK16, MASK32, Generator, lane_seed32, lane_seeds32

MIX_MUL1 = 0x7FEB_352D
MIX_MUL2 = 0x846C_A68B


def mix32(x: int) -> int:
    """lowbias32: a bijective 32-bit integer hash (scalar reference)."""
    x &= MASK32
    x ^= x >> 16
    x = (x * MIX_MUL1) & MASK32
    x ^= x >> 15
    x = (x * MIX_MUL2) & MASK32
    x ^= x >> 16
    return x


def mix32_array(x: np.ndarray) -> np.ndarray:
    """Vectorised :func:`mix32` on a uint32 array, in place; returns ``x``."""
    assert x.dtype == np.uint32
    x ^= x >> np.uint32(16)
    np.multiply(x, np.uint32(MIX_MUL1), out=x)  # wraps mod 2**32, like the hardware
    x ^= x >> np.uint32(15)
    np.multiply(x, np.uint32(MIX_MUL2), out=x)
    x ^= x >> np.uint32(16)
    return x


class CtrHash32(Generator):
    """Counter-based: state = key << 32 | counter; bits = mix32(key ^ counter) & 0xFFFF."""

    name = "ctrhash32"
    gen_id = 2
    state_bits = 64
    period = 1 << 32

    def group_state(self, seed: int, group: int) -> int:
        """Key = mix32(lane_seed32(seed, group)), counter = 0."""
        return mix32(lane_seed32(seed, group)) << 32

    def group_states(self, seed: int, n_groups: int) -> np.ndarray:
        keys = mix32_array(lane_seeds32(seed, n_groups)).astype(np.uint64)
        return keys << np.uint64(32)

    def step(self, state: int) -> int:
        return (state & ~MASK32) | ((state + 1) & MASK32)

    def bits(self, state: int) -> int:
        return mix32((state >> 32) ^ (state & MASK32)) & MASK16

    def jump(self, state: int, n: int) -> int:
        if n < 0:
            raise ValueError(f"{self.name}.jump: n must be >= 0, got {n}")
        return (state & ~MASK32) | ((state + n) & MASK32)

    def _stream(self, states: np.ndarray, n: int) -> np.ndarray:
        keys = (states >> np.uint64(32)).astype(np.uint32)
        ctr0 = (states & np.uint64(MASK32)).astype(np.uint32)
        steps = np.arange(1, n + 1, dtype=np.uint32)
        x = ctr0[:, None] + steps  # uint32 addition wraps mod 2**32, like the counter
        x ^= keys[:, None]
        return mix32_array(x).astype(np.uint16)
