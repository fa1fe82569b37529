"""The weight-generator registry: the single golden definition of every generator.

The compiler, the reference accelerator model and the RTL testbench all import from here.

* :data:`GENERATORS` maps a name to its :class:`Generator`; :func:`get_generator` and
  :func:`generator_by_id` look one up (by name, or by the ISA's ``gen_id``).
* :func:`sign_bits` / :func:`random_weights` regenerate a weight tensor in canonical
  (O, I, KH, KW) order (DESIGN.md §4); :func:`sign_bits_reference` is the scalar loop
  they are tested against.
* :func:`freeze_pattern` draws which positions of a tensor are pruned / locked / free
  (DESIGN.md §4 freeze draw, always on the ``xorshift16`` stream).

Generator specs, golden values and hardware notes: docs/generators.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seedcc.errors import BadInputError, SeedccError

from .ctrhash import CtrHash32
from .genbase import MASK16, Generator
from .hwfacts import GROUP
from .xorshift import Xorshift16, Xorshift32

__all__ = [
    "FREE",
    "GENERATORS",
    "GROUP",
    "LOCKED",
    "PRUNED",
    "CtrHash32",
    "Generator",
    "UnknownGeneratorError",
    "Xorshift16",
    "Xorshift32",
    "freeze_pattern",
    "freeze_pattern_reference",
    "freeze_states",
    "freeze_thresholds",
    "generator_by_id",
    "get_generator",
    "group_start_states",
    "random_weights",
    "sign_bits",
    "sign_bits_reference",
]

Shape4 = Sequence[int]

GENERATORS: dict[str, Generator] = {
    g.name: g for g in sorted((Xorshift16(), Xorshift32(), CtrHash32()), key=lambda g: g.gen_id)
}
"""Every generator by name, in gen_id order."""

_BY_ID: dict[int, Generator] = {g.gen_id: g for g in GENERATORS.values()}
assert len(_BY_ID) == len(GENERATORS)

PRUNED, LOCKED, FREE = 0, 1, -1
"""Values of :func:`freeze_pattern`."""


class UnknownGeneratorError(SeedccError, ValueError):
    """A generator name or gen_id is not in the registry (the message lists the valid ones)."""


def get_generator(name: str) -> Generator:
    """The generator registered as ``name``; raises :class:`UnknownGeneratorError`."""
    try:
        return GENERATORS[name]
    except (KeyError, TypeError):
        valid = ", ".join(GENERATORS)
        raise UnknownGeneratorError(
            f"unknown weight generator {name!r}; valid choices: {valid}"
        ) from None


def generator_by_id(gen_id: int) -> Generator:
    """The generator the ISA selects with ``gen_id``; raises :class:`UnknownGeneratorError`."""
    try:
        return _BY_ID[gen_id]
    except (KeyError, TypeError):
        valid = ", ".join(f"{i} ({g.name})" for i, g in sorted(_BY_ID.items()))
        raise UnknownGeneratorError(
            f"unknown weight generator id {gen_id!r}; valid ids: {valid}"
        ) from None


def _check_shape(shape_oihw: Shape4) -> tuple[int, int, int, int]:
    shape = tuple(int(d) for d in shape_oihw)
    if len(shape) != 4 or any(d < 0 for d in shape):
        raise BadInputError(
            f"weight shape must be 4 non-negative dims (O, I, KH, KW), got {tuple(shape_oihw)}"
        )
    return shape[0], shape[1], shape[2], shape[3]


def _n_groups(out_channels: int) -> int:
    return -(-out_channels // GROUP)


def group_start_states(name: str, seed: int, n_groups: int) -> np.ndarray:
    """Lane states at the start of groups ``0..n_groups-1``: uint64 (n_groups,)."""
    if n_groups < 0:
        raise ValueError(f"n_groups must be >= 0, got {n_groups}")
    return get_generator(name).group_states(seed, n_groups)


def sign_bits(name: str, seed: int, shape_oihw: Shape4) -> np.ndarray:
    """The 0/1 sign bits of a generated tensor (1 = +scale): uint8 (O, I, KH, KW).

    Exactly DESIGN.md §4 for every generator: group g's lane starts at
    ``group_state(seed, g)``, is stepped before each (i outer, k = ky*KW+kx inner)
    position, and bit b of the output is channel 16g+b. Vectorised through ``stream``.
    """
    o, i, kh, kw = _check_shape(shape_oihw)
    gen = get_generator(name)
    n_groups, n_steps = _n_groups(o), i * kh * kw
    words = gen.stream(gen.group_states(seed, n_groups), n_steps)  # (G, n) uint16
    # bits[g, b, t] = bit b of word t of lane g = channel 16g+b at flat position t.
    # (Shift-and-mask broadcasting measured faster than np.unpackbits + transpose.)
    shifts = np.arange(GROUP, dtype=np.uint16)[None, :, None]
    bits = ((words[:, None, :] >> shifts) & np.uint16(1)).astype(np.uint8)
    return bits.reshape(n_groups * GROUP, n_steps)[:o].reshape(o, i, kh, kw)


def sign_bits_reference(name: str, seed: int, shape_oihw: Shape4) -> np.ndarray:
    """Scalar reference for :func:`sign_bits`, using only group_state / step / bits."""
    o, i_ch, kh, kw = _check_shape(shape_oihw)
    gen = get_generator(name)
    out = np.zeros((o, i_ch, kh, kw), dtype=np.uint8)
    for g in range(_n_groups(o)):
        state = gen.group_state(seed, g)
        for i in range(i_ch):
            for k in range(kh * kw):
                state = gen.step(state)
                word = gen.bits(state)
                for b in range(GROUP):
                    ch = GROUP * g + b
                    if ch < o:
                        out[ch, i, k // kw, k % kw] = (word >> b) & 1
    return out


def random_weights(name: str, seed: int, shape_oihw: Shape4, scale: float) -> np.ndarray:
    """The signed-constant random weights: float32 (O, I, KH, KW), +-float32(scale)."""
    s = np.float32(scale)
    return np.where(sign_bits(name, seed, shape_oihw).astype(bool), s, -s).astype(np.float32)


def freeze_thresholds(prune: float, lock: float) -> tuple[int, int]:
    """Integer thresholds ``(p, l)`` with ``u < p`` ⇔ pruned, ``u >= l`` ⇔ locked.

    ``p = ceil(prune * 65536)`` and ``l = ceil((1 - lock) * 65536)`` in IEEE double, so for
    integer u they decide exactly like the float comparisons of DESIGN.md §4.
    Raises :class:`BadInputError` unless 0 <= prune, lock <= 1.
    """
    for what, frac in (("prune", prune), ("lock", lock)):
        if not 0.0 <= frac <= 1.0:
            raise BadInputError(f"freeze {what} fraction must be in [0, 1], got {frac}")
    return int(np.ceil(prune * 65536.0)), int(np.ceil((1.0 - lock) * 65536.0))


def freeze_pattern(freeze_seed: int, prune: float, lock: float, shape_oihw: Shape4) -> np.ndarray:
    """Which positions are frozen: int8 (O, I, KH, KW) of PRUNED (0), LOCKED (1), FREE (-1).

    One ``xorshift16`` register per tensor starts at ``freeze_seed & 0xFFFF`` (0 -> 1) and
    is stepped before each draw; draw j (canonical row-major position j) is u = the new
    state. ``u < prune*65536`` -> pruned, else ``u >= (1-lock)*65536`` -> locked, else
    free (prune wins when the two ranges overlap). Vectorised with the cycle table.
    """
    shape = _check_shape(shape_oihw)
    p_thr, l_thr = freeze_thresholds(prune, lock)
    gen = GENERATORS["xorshift16"]
    assert isinstance(gen, Xorshift16)
    size = int(np.prod(shape))
    # The draws repeat with the 65535-step period: classify one period, then tile it.
    u = gen.orbit_slice((freeze_seed & MASK16) or 1, min(size, gen.period)).astype(np.int32)
    one_period = np.full(u.shape, FREE, dtype=np.int8)
    one_period[u >= l_thr] = LOCKED
    one_period[u < p_thr] = PRUNED
    return np.resize(one_period, size).reshape(shape)


def freeze_states(freeze_seed: int, steps: np.ndarray) -> np.ndarray:
    """The freeze register after ``steps`` draws (uint16, same shape): where a freeze
    register must start so that its next draw is draw number ``steps`` of the tensor. The
    accelerator keeps one register per output channel o, started (by SETFRZ) at
    ``steps = o*I*KH*KW + i0*KH*KW`` for an input-channel split from i0 (docs/isa.md)."""
    gen = GENERATORS["xorshift16"]
    assert isinstance(gen, Xorshift16)
    start = (freeze_seed & MASK16) or 1
    return gen.orbit.take(gen.position[start] + np.asarray(steps, dtype=np.int64), mode="wrap")


def freeze_pattern_reference(
    freeze_seed: int, prune: float, lock: float, shape_oihw: Shape4
) -> np.ndarray:
    """Scalar reference for :func:`freeze_pattern`: the literal DESIGN.md §4 loop."""
    shape = _check_shape(shape_oihw)
    freeze_thresholds(prune, lock)  # same argument checks
    gen = GENERATORS["xorshift16"]
    state = (freeze_seed & MASK16) or 1
    flat = np.empty(int(np.prod(shape)), dtype=np.int8)
    for j in range(flat.size):
        state = gen.step(state)
        if state < prune * 65536:
            flat[j] = PRUNED
        elif state >= (1 - lock) * 65536:
            flat[j] = LOCKED
        else:
            flat[j] = FREE
    return flat.reshape(shape)
