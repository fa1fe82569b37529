"""Tests for the weight-generator registry (seedcc.rtl_models.generators).

Golden values are written once as data (GOLDEN_*) and are the same numbers recorded in
docs/generators.md; the xorshift16 rows are DESIGN.md §4's table.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from seedcc.errors import BadInputError, SeedccError
from seedcc.rtl_models.ctrhash import mix32, mix32_array
from seedcc.rtl_models.genbase import WEYL32
from seedcc.rtl_models.generators import (
    FREE,
    GENERATORS,
    GROUP,
    LOCKED,
    PRUNED,
    Generator,
    UnknownGeneratorError,
    Xorshift16,
    freeze_pattern,
    freeze_pattern_reference,
    freeze_states,
    freeze_thresholds,
    generator_by_id,
    get_generator,
    group_start_states,
    random_weights,
    sign_bits,
    sign_bits_reference,
)
from seedcc.rtl_models.gf2 import GF2Matrix

NAMES = list(GENERATORS)


def sha16(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def scalar_states(gen: Generator, state: int, n: int) -> list[int]:
    out = []
    for _ in range(n):
        state = gen.step(state)
        out.append(state)
    return out


# ---------------------------------------------------------------- golden data
# (name, seed) -> (group_state(seed, 0), first four states of group 0, their bits)
GOLDEN_LANE = {
    ("xorshift16", 1024): (
        0x0401,
        [0x8783, 0x6620, 0x6D1B, 0x0BEB],
        [0x8783, 0x6620, 0x6D1B, 0x0BEB],
    ),
    ("xorshift32", 1024): (
        0x9E377DB9,
        [0x418CCA59, 0xC037417A, 0x2B1ABBB6, 0xF1E4F580],
        [0x8BD5, 0x814D, 0x90AC, 0x0464],
    ),
    ("xorshift32", 3072): (
        0x9E3775B9,
        [0x608DD2D9, 0x800569F2, 0x8A5CD28F, 0x11AA6BA9],
        [0xB254, 0xE9F7, 0x58D3, 0x7A03],
    ),
    ("ctrhash32", 1024): (
        0x99B19EFD_00000000,
        [0x99B19EFD_00000001, 0x99B19EFD_00000002, 0x99B19EFD_00000003, 0x99B19EFD_00000004],
        [0x42B1, 0x03B7, 0xE688, 0xCB2B],
    ),
    ("ctrhash32", 3072): (
        0x1CFE9CAF_00000000,
        [0x1CFE9CAF_00000001, 0x1CFE9CAF_00000002, 0x1CFE9CAF_00000003, 0x1CFE9CAF_00000004],
        [0x76FC, 0x1388, 0xF63B, 0x882C],
    ),
}

# (name, shape, seed, ones, W[:,0,0,0] bits channel 0 first, sha256-16 of the uint8 OIHW array)
GOLDEN_TENSORS = [
    ("xorshift16", (16, 1, 1, 1), 1024, 7, "1100000111100001", "198b8ff5d4cad483"),
    ("xorshift16", (20, 3, 3, 3), 1024, 237, "11000001111000010000", "dab05ce345db8e9e"),
    ("xorshift16", (10, 64, 1, 1), 3072, 338, "1110000111", "6e50b33eadcc798c"),
    ("xorshift32", (16, 1, 1, 1), 1024, 9, "1010101111010001", "4a036cde86d2a90d"),
    ("xorshift32", (20, 3, 3, 3), 1024, 268, "10101011110100010101", "25bfc618984d9ae3"),
    ("xorshift32", (10, 64, 1, 1), 3072, 336, "0010101001", "137f8dd843ffc397"),
    ("ctrhash32", (16, 1, 1, 1), 1024, 6, "1000110101000010", "9c9235201b359fdf"),
    ("ctrhash32", (20, 3, 3, 3), 1024, 264, "10001101010000101010", "b6b430891be198f1"),
    ("ctrhash32", (10, 64, 1, 1), 3072, 323, "0011111101", "9e676c4473a3522a"),
]

# (freeze_seed, prune, lock, shape) -> (#pruned, #locked, #free, first 16 draws, sha256-16)
GOLDEN_FREEZE = [
    ((7, 0.25, 0.25, (4, 4, 3, 3)), (33, 37, 74, ".LP.P.LP...L.P.P", "f8f8dd5a4520d286")),
    ((0xBEEF, 0.1, 0.5, (20, 3, 3, 3)), (52, 263, 225, "L..P.LL.L.LLL...", "d9f52af6e2ee43e1")),
]


# Spot values for RTL bring-up (docs/generators.md "Spot values").
GOLDEN_GROUP_STATES_1024 = {
    "xorshift16": [0x0401, 0x0402, 0x0403],
    "xorshift32": [0x9E377DB9, 0x3C6EF772, 0xDAA6692B],
    "ctrhash32": [0x99B19EFD_00000000, 0xDCFFCF77_00000000, 0xA18B0383_00000000],
}
GOLDEN_MIX32 = {0: 0, 1: 0x688990C0, 2: 0xD1132181, 0x12345678: 0xF5E71C96, 0xFFFFFFFF: 0x6768824A}
GOLDEN_JUMPS = [  # (name, state, n, state after n steps)
    ("xorshift16", 0x0001, 10**9, 0x649C),
    ("xorshift16", 0x0401, 1000, 0x90F6),
    ("xorshift32", 0x0000_0001, 1, 0x0004_2021),
    ("xorshift32", 0x0000_0001, 10**9, 0x363E_D7AC),
    ("ctrhash32", 0x99B19EFD_00000000, 10**9, 0x99B19EFD_3B9ACA00),
]


# ---------------------------------------------------------------- registry
def test_registry_names_and_ids() -> None:
    assert NAMES == ["xorshift16", "xorshift32", "ctrhash32"]
    for gen_id, name in enumerate(NAMES):
        gen = get_generator(name)
        assert gen.name == name and gen.gen_id == gen_id
        assert generator_by_id(gen_id) is gen
        assert 0 < gen.state_bits <= 64


def test_unknown_generator_name_lists_choices() -> None:
    with pytest.raises(UnknownGeneratorError) as info:
        get_generator("xorshift17")
    assert isinstance(info.value, ValueError) and isinstance(info.value, SeedccError)
    message = str(info.value)
    assert "xorshift17" in message and all(name in message for name in NAMES)
    with pytest.raises(UnknownGeneratorError, match="xorshift16"):
        sign_bits("nope", 1, (1, 1, 1, 1))


def test_unknown_generator_id_lists_choices() -> None:
    with pytest.raises(UnknownGeneratorError, match=r"0 \(xorshift16\).*2 \(ctrhash32\)"):
        generator_by_id(7)


# ---------------------------------------------------------------- golden values
@pytest.mark.parametrize(("name", "seed"), list(GOLDEN_LANE), ids=lambda v: str(v))
def test_golden_lane(name: str, seed: int) -> None:
    start, states, words = GOLDEN_LANE[(name, seed)]
    gen = get_generator(name)
    assert gen.group_state(seed, 0) == start
    assert scalar_states(gen, start, 4) == states
    assert [gen.bits(s) for s in states] == words
    assert gen.stream(np.array([start], dtype=np.uint64), 4)[0].tolist() == words


@pytest.mark.parametrize(
    ("name", "shape", "seed", "ones", "col0", "digest"),
    GOLDEN_TENSORS,
    ids=[f"{g[0]}-{'x'.join(map(str, g[1]))}-{g[2]}" for g in GOLDEN_TENSORS],
)
def test_golden_tensor(
    name: str, shape: tuple[int, int, int, int], seed: int, ones: int, col0: str, digest: str
) -> None:
    for fn in (sign_bits, sign_bits_reference):
        bits = fn(name, seed, shape)
        assert bits.dtype == np.uint8 and bits.shape == shape
        assert int(bits.sum()) == ones
        assert "".join(str(int(v)) for v in bits[:, 0, 0, 0]) == col0
        assert sha16(bits) == digest


@pytest.mark.parametrize(("args", "expected"), GOLDEN_FREEZE, ids=["seed7", "seedBEEF"])
def test_golden_freeze(args: tuple, expected: tuple) -> None:
    n_pruned, n_locked, n_free, head, digest = expected
    for fn in (freeze_pattern, freeze_pattern_reference):
        pat = fn(*args)
        assert pat.dtype == np.int8 and pat.shape == args[3]
        assert [int((pat == v).sum()) for v in (PRUNED, LOCKED, FREE)] == [
            n_pruned,
            n_locked,
            n_free,
        ]
        assert "".join({PRUNED: "P", LOCKED: "L", FREE: "."}[int(v)] for v in pat.flat[:16]) == head
        assert sha16(pat) == digest


@pytest.mark.parametrize("name", NAMES)
def test_golden_group_states(name: str) -> None:
    gen = get_generator(name)
    assert [gen.group_state(1024, g) for g in range(3)] == GOLDEN_GROUP_STATES_1024[name]


def test_golden_mix32() -> None:
    for x, h in GOLDEN_MIX32.items():
        assert mix32(x) == h
        assert int(mix32_array(np.array([x], dtype=np.uint32))[0]) == h


@pytest.mark.parametrize(("name", "state", "n", "after"), GOLDEN_JUMPS)
def test_golden_jumps(name: str, state: int, n: int, after: int) -> None:
    assert get_generator(name).jump(state, n) == after


# ---------------------------------------------------------------- generator properties
@pytest.mark.parametrize("name", ["xorshift16", "xorshift32"])
def test_xorshift_has_maximal_period(name: str) -> None:
    """M**(2**w-1) == I and M**((2**w-1)/p) != I for every prime p | 2**w-1."""
    gen = get_generator(name)
    m, period = gen.matrix, gen.period  # type: ignore[attr-defined]
    assert period == (1 << gen.state_bits) - 1
    eye = GF2Matrix.identity(gen.state_bits)
    assert m**period == eye
    for p in (3, 5, 17, 257, 65537):
        if period % p == 0:
            assert m ** (period // p) != eye


def test_xorshift16_cycle_table_is_the_whole_orbit() -> None:
    gen = get_generator("xorshift16")
    assert isinstance(gen, Xorshift16)
    orbit = gen.orbit
    assert orbit.size == 65535 and np.unique(orbit).size == 65535 and orbit.min() == 1
    assert scalar_states(gen, 1, 3) == orbit[1:4].tolist()
    assert gen.step(int(orbit[-1])) == int(orbit[0])
    assert (gen.position[orbit] == np.arange(65535)).all()


@pytest.mark.parametrize("name", NAMES)
def test_group_states_match_scalar(name: str) -> None:
    gen = get_generator(name)
    rng = np.random.default_rng(11)
    for seed in [0, 1, 1024, 0xFFFF, 0xFFFF_FFFF, *rng.integers(0, 2**32, 20).tolist()]:
        vec = group_start_states(name, seed, 70)
        assert vec.dtype == np.uint64 and vec.shape == (70,)
        assert vec.tolist() == [gen.group_state(seed, g) for g in range(70)]


def test_zero_lane_state_becomes_one() -> None:
    assert get_generator("xorshift16").group_state(5, 4) == 1  # 5 ^ (4+1) == 0
    assert get_generator("xorshift16").group_state(0x10000 | 3, 2) == 1  # only 16 bits count
    assert get_generator("xorshift32").group_state(WEYL32, 0) == 1
    assert group_start_states("xorshift16", 5, 6)[4] == 1
    assert group_start_states("xorshift32", 2 * WEYL32 & 0xFFFF_FFFF, 2)[1] == 1


@pytest.mark.parametrize("name", NAMES)
def test_jump_equals_scalar_steps(name: str) -> None:
    gen = get_generator(name)
    rng = np.random.default_rng(gen.gen_id)
    for _ in range(20):
        state = gen.group_state(int(rng.integers(0, 2**32)), int(rng.integers(0, 64)))
        n = int(rng.integers(0, 3000))
        assert gen.jump(state, n) == (scalar_states(gen, state, n) or [state])[-1]


@pytest.mark.parametrize("name", NAMES)
def test_jump_large_n(name: str) -> None:
    gen = get_generator(name)
    state = gen.group_state(99, 3)
    a, b = 2**40 + 12345, 2**33 + 7
    assert gen.jump(state, a + b) == gen.jump(gen.jump(state, a), b)
    assert gen.jump(state, gen.period) == state
    assert gen.jump(state, gen.period + 5) == gen.jump(state, 5)
    with pytest.raises(ValueError):
        gen.jump(state, -1)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", [1, 5, 15, 16, 17, 63, 64, 65, 200, 1000])
def test_stream_matches_step(name: str, n: int) -> None:
    gen = get_generator(name)
    rng = np.random.default_rng(n)
    starts = [gen.group_state(int(rng.integers(0, 2**32)), g) for g in range(5)]
    starts.append(gen.jump(starts[0], int(rng.integers(0, 2**31))))
    out = gen.stream(np.array(starts, dtype=np.uint64), n)
    assert out.dtype == np.uint16 and out.shape == (len(starts), n)
    for lane, start in enumerate(starts):
        assert out[lane].tolist() == [gen.bits(s) for s in scalar_states(gen, start, n)]


def test_xorshift16_stream_wraps_around_the_cycle() -> None:
    gen = get_generator("xorshift16")
    out = gen.stream(np.array([0x1234], dtype=np.uint64), 70000)[0]
    assert (out[65535:] == out[: 70000 - 65535]).all()
    assert int(out[-1]) == gen.bits(gen.jump(0x1234, 70000))


@pytest.mark.parametrize("name", ["xorshift16", "xorshift32"])
def test_xorshift_zero_state_is_a_fixed_point(name: str) -> None:
    gen = get_generator(name)
    assert gen.step(0) == 0 and gen.jump(0, 12345) == 0
    assert not gen.stream(np.array([0, 0], dtype=np.uint64), 100).any()


@pytest.mark.parametrize("name", NAMES)
def test_stream_argument_checks(name: str) -> None:
    gen = get_generator(name)
    assert gen.stream(np.zeros(0, dtype=np.uint64), 5).shape == (0, 5)
    assert gen.stream(np.array([1], dtype=np.uint64), 0).shape == (1, 0)
    with pytest.raises(ValueError, match="1-D"):
        gen.stream(np.ones((2, 2), dtype=np.uint64), 3)
    with pytest.raises(ValueError, match="n must be"):
        gen.stream(np.ones(2, dtype=np.uint64), -1)
    if gen.state_bits < 64:
        with pytest.raises(ValueError, match="does not fit"):
            gen.stream(np.array([1 << gen.state_bits], dtype=np.uint64), 3)


def test_ctrhash_counter_wraps_without_touching_the_key() -> None:
    gen = get_generator("ctrhash32")
    state = (0xABCD1234 << 32) | 0xFFFF_FFFE
    assert gen.step(gen.step(state)) == 0xABCD1234 << 32
    assert gen.jump(state, 3) == (0xABCD1234 << 32) | 1
    out = gen.stream(np.array([state], dtype=np.uint64), 4)[0]
    assert out.tolist() == [gen.bits(s) for s in scalar_states(gen, state, 4)]


# ---------------------------------------------------------------- tensors
def _random_cases(gen_id: int, count: int) -> list[tuple[int, tuple[int, int, int, int]]]:
    rng = np.random.default_rng(1000 + gen_id)
    cases = []
    for _ in range(count):
        shape = (
            int(rng.integers(1, 41)),
            int(rng.integers(1, 5)),
            int(rng.choice([1, 2, 3])),
            int(rng.choice([1, 2, 3])),
        )
        cases.append((int(rng.integers(0, 2**32)), shape))
    return cases


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("case", range(100), ids=lambda i: f"case{i}")
def test_sign_bits_matches_reference(name: str, case: int) -> None:
    seed, shape = _random_cases(get_generator(name).gen_id, 100)[case]
    assert np.array_equal(sign_bits(name, seed, shape), sign_bits_reference(name, seed, shape))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(0, 3, 3, 3), (5, 0, 3, 3), (5, 2, 0, 3), (17, 1, 1, 1)])
def test_sign_bits_edge_shapes(name: str, shape: tuple[int, int, int, int]) -> None:
    bits = sign_bits(name, 3, shape)
    assert bits.shape == shape and bits.dtype == np.uint8
    assert np.array_equal(bits, sign_bits_reference(name, 3, shape))


def test_sign_bits_rejects_bad_shapes() -> None:
    with pytest.raises(BadInputError, match="O, I, KH, KW"):
        sign_bits("xorshift16", 1, (3, 3, 3))
    with pytest.raises(BadInputError):
        sign_bits("xorshift16", 1, (3, -1, 3, 3))


@pytest.mark.parametrize("name", NAMES)
def test_channel_groups_are_independent_lanes(name: str) -> None:
    """Channels 16g..16g+15 of a tensor equal channels 0..15 of the lane started at group g."""
    bits = sign_bits(name, 77, (40, 2, 3, 3))
    gen = get_generator(name)
    words = gen.stream(group_start_states(name, 77, 3), 18)
    for ch in range(40):
        expect = (words[ch // GROUP] >> np.uint16(ch % GROUP)) & 1
        assert bits[ch].reshape(-1).tolist() == expect.tolist()


@pytest.mark.parametrize("name", NAMES)
def test_random_weights_are_signed_scale(name: str) -> None:
    scale = 0.1234567
    w = random_weights(name, 5, (20, 3, 3, 3), scale)
    bits = sign_bits(name, 5, (20, 3, 3, 3))
    assert w.dtype == np.float32 and w.shape == (20, 3, 3, 3)
    assert (w[bits == 1] == np.float32(scale)).all() and (w[bits == 0] == -np.float32(scale)).all()


@pytest.mark.parametrize("name", NAMES)
def test_sign_bits_are_balanced(name: str) -> None:
    bits = sign_bits(name, 2024, (256, 128, 3, 3))
    assert abs(bits.mean() - 0.5) < 0.005


# ---------------------------------------------------------------- freeze draw
FREEZE_FRACTIONS = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (0.5, 0.5), (0.3, 0.9), (0.1, 0.2),
                    (1 / 3, 1 / 7), (0.25, 0.75)]  # fmt: skip


@pytest.mark.parametrize(("prune", "lock"), FREEZE_FRACTIONS)
def test_freeze_pattern_matches_reference(prune: float, lock: float) -> None:
    rng = np.random.default_rng(int(prune * 1000 + lock * 10))
    for _ in range(4):
        seed = int(rng.integers(0, 2**20))
        shape = (int(rng.integers(1, 30)), int(rng.integers(1, 6)), 3, 3)
        assert np.array_equal(
            freeze_pattern(seed, prune, lock, shape),
            freeze_pattern_reference(seed, prune, lock, shape),
        )


def test_freeze_pattern_longer_than_the_period_matches_reference() -> None:
    shape = (80, 100, 3, 3)  # 72000 draws > 65535: the tiled period must wrap exactly
    assert np.array_equal(
        freeze_pattern(999, 0.2, 0.3, shape), freeze_pattern_reference(999, 0.2, 0.3, shape)
    )


def test_freeze_states_prime_a_register_for_any_draw() -> None:
    """A register started at freeze_states(seed, n) and stepped once draws draw n: what the
    MAC's per-channel freeze registers rely on (docs/isa.md SETFRZ)."""
    seed, prune, lock, shape = 0xBEEF, 0.1, 0.5, (20, 800, 3, 3)  # 144000 draws: past the period
    flat = freeze_pattern_reference(seed, prune, lock, shape).reshape(-1)
    p_thr, l_thr = freeze_thresholds(prune, lock)
    gen = GENERATORS["xorshift16"]
    at = np.array([0, 1, 2, 2699, 65534, 65535, 65536, 131070, flat.size - 1])
    for n, state in zip(at, freeze_states(seed, at)):
        u = gen.step(int(state))
        assert flat[n] == (PRUNED if u < p_thr else LOCKED if u >= l_thr else FREE), n
    assert freeze_states(seed, np.array([0]))[0] == seed & 0xFFFF


def test_freeze_seed_uses_low_16_bits_and_zero_becomes_one() -> None:
    shape = (8, 4, 3, 3)
    one = freeze_pattern(1, 0.3, 0.3, shape)
    assert np.array_equal(freeze_pattern(0, 0.3, 0.3, shape), one)
    assert np.array_equal(freeze_pattern(0x10000, 0.3, 0.3, shape), one)
    assert np.array_equal(freeze_pattern(0x10001, 0.3, 0.3, shape), one)


def test_freeze_shares_match_fractions() -> None:
    pat = freeze_pattern(4242, 0.3, 0.2, (512, 512, 3, 3))
    assert abs((pat == PRUNED).mean() - 0.3) < 0.002
    assert abs((pat == LOCKED).mean() - 0.2) < 0.002
    assert abs((pat == FREE).mean() - 0.5) < 0.002


def test_freeze_thresholds() -> None:
    assert freeze_thresholds(0.25, 0.25) == (16384, 49152)
    assert freeze_thresholds(0.1, 0.5) == (6554, 32768)
    assert freeze_thresholds(0.0, 0.0) == (0, 65536)
    with pytest.raises(BadInputError, match="prune"):
        freeze_thresholds(-0.1, 0.0)
    with pytest.raises(BadInputError, match="lock"):
        freeze_pattern(1, 0.0, 1.5, (1, 1, 1, 1))
