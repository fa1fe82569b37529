"""The integer attention rules of ``rtl_models/numerics.py`` (I-BERT style: Kim et al.,
"I-BERT: Integer-only BERT Quantization", ICML 2021) against float, over their full int8
input range, with the maximum error each one has (the same numbers are in docs/isa.md):

| rule | measured maximum error against float (this file's inputs) | asserted bound |
|---|---|---|
| SOFTMAX | 2^-8 = 0.0039 (one output step; at p = 1, which saturates to 255/256) | 2^-8 |
| LAYERNORM | 0.502 output steps (rounding of the output only) | 0.51 output steps |
| GELU | 0.0182 + 0.5 output step (I-BERT's erf fit, max 0.0182 at x = -2.35) | 0.0185 + 0.51 steps |

Plus the bit-serial pieces the RTL iterates (restoring division, digit-by-digit square
root) modelled step by step with the hardware's step counts from ``hwfacts``: they equal
``numerics.reciprocal`` / ``numerics.isqrt`` on the whole range the rules feed them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seedcc.rtl_models import hwfacts as hf
from seedcc.rtl_models import numerics as nm

ERF = np.frompyfunc(math.erf, 1, 1)
ALL_INT8 = np.arange(-128, 128, dtype=np.int64)


def float_gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + ERF(x / math.sqrt(2.0)).astype(np.float64))


# -- the bit-serial iterations of the RTL, step by step ------------------------------------
def restoring_division(divisor: int, bits: int, steps: int) -> int:
    """seedcc_nonlin.v's divider: remainder starts at 2^(bits - steps), one quotient bit a step."""
    rem, quo = 1 << (bits - steps), 0
    for _ in range(steps):
        rem <<= 1
        take = rem >= divisor
        rem = rem - divisor if take else rem
        quo = quo << 1 | int(take)
    return quo


def digit_sqrt(v: int, steps: int) -> int:
    """seedcc_nonlin.v's square root: one root bit a step, adders and shifts only."""
    op, res, one = v, 0, 1 << (2 * steps - 2)
    for _ in range(steps):
        if op >= res + one:
            op -= res + one
            res = (res >> 1) + one
        else:
            res >>= 1
        one >>= 2
    return res


E0 = hf.EXP_B ** 2 + hf.EXP_C  # i-exp of the row maximum: the smallest possible softmax sum


@given(st.integers(E0, (1 << 16) * E0))
def test_softmax_divider_steps_suffice(total):
    """Every sum a SOFTMAX row can have (at least e(max), at most 65535 x e(max))."""
    assert restoring_division(total, hf.SM_RECIP_BITS, hf.SM_RECIP_STEPS) == \
        int(nm.reciprocal(total, hf.SM_RECIP_BITS))


@given(st.integers(1 << hf.LN_ROOT_FRAC, 1 << 33))
def test_layernorm_divider_steps_suffice(divisor):
    assert restoring_division(divisor, hf.LN_RECIP_BITS, hf.LN_RECIP_STEPS) == \
        int(nm.reciprocal(divisor, hf.LN_RECIP_BITS))


@settings(max_examples=300)
@given(st.integers(0, (1 << (2 * hf.LN_SQRT_STEPS - 1)) - 1))
def test_square_root_is_floor_sqrt(v):
    assert int(nm.isqrt(v)) == math.isqrt(v) == digit_sqrt(v, hf.LN_SQRT_STEPS)


def test_square_root_edges():
    roots = np.array([0, 1, 2, 3, 4095, 4096, (1 << 31) - 1, 1 << 31], dtype=np.int64)
    v = np.concatenate([roots * roots - 1, roots * roots, roots * roots + 1])
    v = v[v >= 0]
    assert [int(r) for r in nm.isqrt(v)] == [math.isqrt(int(x)) for x in v]


def test_layernorm_radicand_fits_the_square_root():
    """The largest radicand (4095 features of +-128 alternating, the largest eps) stays
    below 2^(2*LN_SQRT_STEPS - 1), the range the digit-by-digit root covers."""
    f = (1 << hf.LN_FEATURES_BITS) - 1
    s2, s1 = f * 128 * 128, -128  # alternating +-128 with one extra -128
    radicand = ((f * s2 - s1 * s1) << (2 * hf.LN_ROOT_FRAC)) + (1 << hf.LN_EPS_BITS) - 1
    assert radicand < 1 << (2 * hf.LN_SQRT_STEPS - 1)


# -- against float over the full input range -------------------------------------------------
SCALES = [0.004, 0.01, 0.03, 0.07, 0.15, 0.4, 0.69]


def test_softmax_error_against_float():
    """Max |p_int - p_float| <= 2^-8 over every pair of int8 scores (F = 2, exhaustive) and
    random rows of 3..300 keys, at scales 0.004..0.69 (in_mult/in_shift from softmax_params)."""
    rng = np.random.default_rng(0)
    pairs = np.stack(np.meshgrid(ALL_INT8, ALL_INT8)).reshape(2, -1)
    worst = 0.0
    for scale in SCALES:
        mult, shift = nm.softmax_params(scale)
        rows = [pairs] + [rng.integers(-128, 128, (f, 400)) for f in (3, 16, 64, 300)]
        rows.append(np.clip(rng.normal(0, 20, (32, 400)), -128, 127).astype(np.int64))
        for x in rows:
            got = nm.softmax(x, mult, shift, axis=0).astype(np.float64) / 256
            xf = x * scale
            e = np.exp(xf - xf.max(axis=0))
            worst = max(worst, float(np.abs(got - e / e.sum(axis=0)).max()))
    assert worst <= 2.0 ** -8 + 1e-12, f"softmax max error {worst}"


def test_softmax_rows_sum_to_one_within_rounding():
    rng = np.random.default_rng(1)
    x = rng.integers(-128, 128, (50, 1000))
    p = nm.softmax(x, *nm.softmax_params(0.05), axis=0).astype(np.int64)
    assert np.all(np.abs(p.sum(axis=0) - 256) <= 25)  # 50 roundings of half a step


@pytest.mark.parametrize("features", [2, 3, 8, 64, 768, 4095])
def test_layernorm_error_against_float(features):
    """Max error <= 0.51 output steps (the output's own rounding) for wide, narrow (std ~ 3
    steps) and nearly constant inputs, random gamma/beta, eps 1e-5, two input scales."""
    rng = np.random.default_rng(features)
    worst = 0.0
    for scale in (0.02, 0.1):
        x = rng.integers(-128, 128, (features, 200))
        x[:, :50] = np.clip(rng.normal(0, 3, (features, 50)), -128, 127)
        x[:, 50:60] = rng.integers(-1, 1, (features, 10))
        gamma, beta = rng.uniform(0.5, 2, features), rng.uniform(-1, 1, features)
        xf = x * scale
        mu, var = xf.mean(axis=0), xf.var(axis=0)
        ref = (xf - mu) / np.sqrt(var + 1e-5) * gamma[:, None] + beta[:, None]
        s_out = np.abs(ref).max() / 127
        rec = nm.layernorm_records(gamma, beta, s_out)
        eps = nm.layernorm_eps(1e-5, features, scale)
        got = nm.layernorm(x, rec[:, :1], rec[:, 1:2], rec[:, 2:], eps, axis=0) * s_out
        worst = max(worst, float(np.abs(got - ref).max() / s_out))
    assert worst <= 0.51, f"layernorm max error {worst} output steps"


def test_layernorm_constant_row_gives_beta():
    x = np.full((16, 3), 42)
    rec = nm.layernorm_records(np.ones(16), np.linspace(-1, 1, 16), 0.01)
    got = nm.layernorm(x, rec[:, :1], rec[:, 1:2], rec[:, 2:], 0, axis=0)
    assert np.array_equal(got, np.clip(np.rint(np.linspace(-1, 1, 16) / 0.01), -128, 127)[:, None]
                          .repeat(3, axis=1))


def test_gelu_error_against_float():
    """Every int8 input at 40 scales 0.003..0.2: max |gelu_int - gelu| <= 0.0185 (I-BERT's
    erf fit, whose own maximum is 0.0182 at x = -2.35) + 0.51 output steps."""
    worst_excess = 0.0
    for scale in np.geomspace(0.003, 0.2, 40):
        ref = float_gelu(ALL_INT8 * scale)
        s_out = np.abs(ref).max() / 127
        got = nm.gelu(ALL_INT8, *nm.gelu_params(scale, s_out)) * s_out
        worst_excess = max(worst_excess, float((np.abs(got - ref) - 0.51 * s_out).max()))
    assert worst_excess <= 0.0185, f"gelu error beyond half a step: {worst_excess}"


def test_gelu_is_odd_symmetric_where_ibert_is():
    """GELU(x) - GELU(-x) = x for the float function; the integer rule keeps it within 2 steps."""
    p = nm.gelu_params(0.05, 0.05)
    pos, neg = nm.gelu(ALL_INT8[129:], *p).astype(int), nm.gelu(-ALL_INT8[129:], *p).astype(int)
    assert np.all(np.abs(pos - neg - ALL_INT8[129:]) <= 2)


def test_matmul_accumulator_wraps_like_int32():
    acc = np.array([2**31 - 1 + 5, -(2**31) - 3], dtype=np.int64)
    assert list(nm.matmul_requantize(acc, 1, 0)) == [-128, 127]  # wrapped, then saturated


def test_constant_helpers_reject_bad_scales():
    with pytest.raises(ValueError, match="SOFTMAX input scale"):
        nm.softmax_params(100.0)  # 100 * 2^10 / ln2 does not fit the 16-bit multiplier
    assert nm.layernorm_eps(1.0, 4095, 1e-6) == (1 << hf.LN_EPS_BITS) - 1  # clamped
