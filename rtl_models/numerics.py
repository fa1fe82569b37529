"""Golden integer arithmetic of the accelerator, imported by the compiler, the reference
model and the cocotb scoreboards alike. The RTL implements exactly these rules.

All functions take numpy arrays (or ints) and compute in int64 (``hwfacts.WIDE_BITS``), so
no intermediate can overflow for the widths the hardware has (|acc + bias| < 2^33,
|mult| <= 2^15, shift <= SHIFT_MAX). The widths and limits are ``hwfacts``'.

The attention rules (MATMUL, SOFTMAX, LAYERNORM, GELU; docs/isa.md) follow I-BERT (S. Kim,
A. Gholami, Z. Yao, M. W. Mahoney, K. Keutzer, "I-BERT: Integer-only BERT Quantization",
ICML 2021): exp by a shift and a second-order polynomial, erf by a clipped second-order
polynomial, the square root and 1/x by bit-serial integer iterations (no divider). Unlike
I-BERT, whose int32 inputs carry a fine scale, seedcc's inputs are int8 with a coarse
scale, so the scale-dependent part is one integer multiplier and shift (``in_mult``,
``in_shift``) into a fixed-point domain whose polynomial constants are hardware facts;
the compiler derives the multipliers from the scales (``softmax_params``, ``gelu_params``,
``layernorm_records``, ``layernorm_eps``). Measured errors against float: docs/isa.md.
"""

from __future__ import annotations

import numpy as np

from .hwfacts import (
    ACC_MAX,
    ACC_MIN,
    ACT_MAX,
    ACT_MIN,
    EXP_B,
    EXP_C,
    EXP_FRAC_BITS,
    EXP_Z_MAX,
    GELU_A,
    GELU_A_SHIFT,
    GELU_B,
    GELU_ERF_BITS,
    GELU_FRAC_BITS,
    LN_EPS_BITS,
    LN_FRAC_BITS,
    LN_RECIP_BITS,
    LN_ROOT_FRAC,
    MULT_BITS,
    SHIFT_MAX,
    SM_OUT_BITS,
    SM_OUT_MAX,
    SM_RECIP_BITS,
    UACT_MAX,
    WIDE_BITS,
)

assert np.iinfo(np.int64).bits == WIDE_BITS


def _half(shift: np.ndarray) -> np.ndarray:
    return np.where(shift > 0, np.left_shift(np.int64(1), np.maximum(shift - 1, 0)), 0)


def round_shift(x: np.ndarray | int, shift: int | np.ndarray) -> np.ndarray:
    """Arithmetic right shift rounding half up: floor((x + 2^(shift-1)) / 2^shift); shift 0 is x."""
    x = np.asarray(x, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    return np.right_shift(x + _half(shift), shift)


def act_bounds(unsigned: bool) -> tuple[int, int]:
    """The saturation bounds of an 8-bit activation: uint8 (0..UACT_MAX) after a ReLU, int8
    (ACT_MIN..ACT_MAX) elsewhere."""
    return (0, UACT_MAX) if unsigned else (ACT_MIN, ACT_MAX)


def act_dtype(unsigned: bool) -> type[np.integer]:
    return np.uint8 if unsigned else np.int8


def saturate8(x: np.ndarray, unsigned: bool = False) -> np.ndarray:
    return np.clip(x, *act_bounds(unsigned)).astype(act_dtype(unsigned))


def operand(raw: np.ndarray, unsigned: bool) -> np.ndarray:
    """Activation bytes as stored (int8) read as the operand an instruction's unsigned bit
    says: the same bytes viewed as uint8 when it is 1 (the hardware's 9-bit extension)."""
    return raw.view(np.uint8) if unsigned else raw


def stored(q: np.ndarray) -> np.ndarray:
    """The bytes of an int8 or uint8 activation as the act SRAM holds them (int8 view)."""
    return q.view(np.int8) if q.dtype == np.uint8 else q


def _finish(t: np.ndarray, shift: int | np.ndarray, relu: bool, unsigned: bool = False,
            wide: bool = False) -> np.ndarray:
    """round_shift, optional ReLU and saturation to int8 (uint8 when `unsigned`, int32 when
    `wide`) of an int64 temporary, in place (fast)."""
    shift = np.asarray(shift, np.int64)
    t += _half(shift)
    t >>= shift
    if relu:
        np.maximum(t, 0, out=t)
    if wide:
        np.clip(t, ACC_MIN, ACC_MAX, out=t)
        return t.astype(np.int32)
    np.clip(t, *act_bounds(unsigned), out=t)
    return t.astype(act_dtype(unsigned))


def requantize(acc: np.ndarray, bias: np.ndarray, mult: np.ndarray, shift: np.ndarray,
               relu: bool, unsigned: bool = False, wide: bool = False) -> np.ndarray:
    """REQ: sat8(relu?(round_shift((acc + bias) * mult, shift))), saturating to int8, or to
    uint8 (0..UACT_MAX) when `unsigned` (the REQ's ``out_unsigned``), or to int32
    (ACC_MIN..ACC_MAX) when `wide` (``out_wide``: a graph output left at accumulator
    precision).

    `bias`, `mult`, `shift` broadcast against `acc` (per output channel: shape (C, 1)).
    """
    t = np.array(acc, np.int64)
    t += np.asarray(bias, np.int64)
    t *= np.asarray(mult, np.int64)
    return _finish(t, shift, relu, unsigned, wide)


def residual_add(a: np.ndarray, b: np.ndarray, mult_a: int, mult_b: int, shift: int,
                 relu: bool, unsigned: bool = False) -> np.ndarray:
    """ADD: sat8(relu?(round_shift(a*mult_a + b*mult_b, shift))), to uint8 when `unsigned`.
    `a` and `b` are the operands' values (int8 or uint8 arrays: see `operand`)."""
    t = np.array(a, np.int64)
    t *= mult_a
    t += np.asarray(b, np.int64) * mult_b
    return _finish(t, shift, relu, unsigned)


def scale_sum(total: np.ndarray, mult: int, shift: int, unsigned: bool = False) -> np.ndarray:
    """AVGPOOL: sat8(round_shift(window_sum * mult, shift)), in the input's format (uint8 when
    `unsigned`)."""
    t = np.array(total, np.int64)
    t *= mult
    return _finish(t, shift, False, unsigned)


def quantize_multiplier(real: float, bits: int = MULT_BITS) -> tuple[int, int]:
    """Return (mult, shift) with mult * 2^-shift ~= real, |mult| < 2^(bits-1), 0 <= shift <= SHIFT_MAX.

    The multiplier is normalised to use all its bits, so the relative error is below
    2^-(bits-2). A zero (or vanishingly small) `real` gives (0, 0).
    """
    real = float(real)
    limit = (1 << (bits - 1)) - 1
    if real == 0.0 or not np.isfinite(real):
        return 0, 0
    mag = abs(real)
    if mag > limit:
        raise ValueError(f"multiplier {real} does not fit a {bits}-bit field")
    shift = 0
    while shift < SHIFT_MAX and mag * 2 ** (shift + 1) <= limit:
        shift += 1
    mult = int(round(real * 2**shift))
    mult = max(-limit, min(limit, mult))
    return mult, shift


def quantize_input(x: np.ndarray, scale: float, unsigned: bool = False) -> np.ndarray:
    """Float -> int8 (uint8 when `unsigned`) with a per-tensor scale, zero point 0:
    sat8(rint(x / scale))."""
    return saturate8(np.rint(np.asarray(x, np.float64) / scale), unsigned)


def dequantize(q: np.ndarray, scale: float, unsigned: bool = False) -> np.ndarray:
    """Stored bytes (int8, or uint8 viewed as int8 when `unsigned`) -> float32."""
    q = np.asarray(q)
    if unsigned and q.dtype == np.int8:
        q = q.view(np.uint8)
    return (np.asarray(q, np.float32) * np.float32(scale)).astype(np.float32)


# -- attention: integer-only softmax, layer norm, GELU (I-BERT style) ---------------------
def iexp(d: np.ndarray, in_mult: int, in_shift: int) -> np.ndarray:
    """i-exp of d = x - max(x) <= 0 (int8 units): int64 e with e / e(0) ~ exp(d * scale).

    t = round_shift(d * in_mult, in_shift) is d in units of ln2 / 2**EXP_FRAC_BITS (t <= 0);
    -t = z * 2**N + r with 0 <= r < 2**N, so exp = 2**-z * exp(p) with p = -r in (-ln2, 0];
    exp(p) ~ 0.3585 (p + 1.353)^2 + 0.344 gives e = ((EXP_B - r)^2 + EXP_C) >> min(z, EXP_Z_MAX).
    """
    t = round_shift(np.asarray(d, np.int64) * int(in_mult), in_shift)
    nt = -t
    z = np.minimum(nt >> EXP_FRAC_BITS, EXP_Z_MAX)
    u = EXP_B - (nt & ((1 << EXP_FRAC_BITS) - 1))
    return (u * u + EXP_C) >> z


def reciprocal(d: np.ndarray, bits: int) -> np.ndarray:
    """floor(2**bits / d) for d >= 1 (what the bit-serial restoring divider computes)."""
    d = np.asarray(d, np.int64)
    return np.int64(1 << bits) // d


def isqrt(v: np.ndarray) -> np.ndarray:
    """floor(sqrt(v)) of non-negative int64 values (digit-by-digit in hardware)."""
    v = np.asarray(v, np.int64).astype(np.uint64)
    r = np.floor(np.sqrt(v.astype(np.float64))).astype(np.uint64)
    r -= (r * r > v).astype(np.uint64)  # float64 is within one of the true root
    r += ((r + np.uint64(1)) * (r + np.uint64(1)) <= v).astype(np.uint64)
    return r.astype(np.int64)  # squares below 2**64: no uint64 overflow for int64 inputs


def softmax(x: np.ndarray, in_mult: int, in_shift: int, axis: int = 0) -> np.ndarray:
    """SOFTMAX over ``axis`` of int8 ``x``: uint8 probabilities with scale 2**-SM_OUT_BITS.

    e = iexp(x - max), sum over the axis, recip = floor(2**SM_RECIP_BITS / sum),
    out = min(SM_OUT_MAX, round_shift(e * recip, SM_RECIP_BITS - SM_OUT_BITS)).
    """
    x = np.asarray(x, np.int64)
    e = iexp(x - x.max(axis=axis, keepdims=True), in_mult, in_shift)
    recip = reciprocal(e.sum(axis=axis, keepdims=True), SM_RECIP_BITS)
    out = round_shift(e * recip, SM_RECIP_BITS - SM_OUT_BITS)
    return np.minimum(out, SM_OUT_MAX).astype(np.uint8)


def layernorm(x: np.ndarray, bias: np.ndarray, mult: np.ndarray, shift: np.ndarray, eps: int,
              axis: int = 0) -> np.ndarray:
    """LAYERNORM over ``axis`` (the F features) of int8 ``x``; per-feature records
    (``bias``, ``mult``, ``shift`` broadcast against ``x``, e.g. shape (F, 1) for axis 0).

    s1 = sum x, s2 = sum x^2; r = isqrt(((F*s2 - s1^2) << 2*LN_ROOT_FRAC) + eps)
    (= F * std * 2**LN_ROOT_FRAC in x units); inv = floor(2**LN_RECIP_BITS /
    max(r, 2**LN_ROOT_FRAC)); n = round_shift((F*x - s1) * inv, LN_RECIP_BITS - LN_ROOT_FRAC
    - LN_FRAC_BITS) (= (x - mean) / std in Q.LN_FRAC_BITS); out = sat8(round_shift(n * mult
    + bias, shift)). No division by F: (F*x - s1) / (F * std) is the normalised value.
    """
    x = np.asarray(x, np.int64)
    f = x.shape[axis]
    s1 = x.sum(axis=axis, keepdims=True)
    s2 = (x * x).sum(axis=axis, keepdims=True)
    r = isqrt(((f * s2 - s1 * s1) << (2 * LN_ROOT_FRAC)) + int(eps))
    inv = reciprocal(np.maximum(r, 1 << LN_ROOT_FRAC), LN_RECIP_BITS)
    n = round_shift((f * x - s1) * inv, LN_RECIP_BITS - LN_ROOT_FRAC - LN_FRAC_BITS)
    t = n * np.asarray(mult, np.int64) + np.asarray(bias, np.int64)
    return _finish(t, np.asarray(shift, np.int64), False)


def gelu(x: np.ndarray, in_mult: int, in_shift: int, out_mult: int, out_shift: int) -> np.ndarray:
    """GELU of int8 ``x``: int8 = sat8(round_shift(x * (1 + erf) * out_mult, out_shift)).

    v = round_shift(x * in_mult, in_shift) is x / sqrt(2) in Q.GELU_FRAC_BITS;
    erf(v) ~ sgn(v) (1 - 0.2888 (min(|v|, 1.769) - 1.769)^2) (I-BERT's i-erf) in
    Q.GELU_ERF_BITS: sgn(v) (2**E - round_shift(GELU_A * (GELU_B - min(|v|, GELU_B))^2,
    GELU_A_SHIFT)); the product x * (2**E + erf) has scale s_in / 2**(E + 1).
    """
    q = np.asarray(x, np.int64)
    v = round_shift(q * int(in_mult), in_shift)
    d = GELU_B - np.minimum(np.abs(v), GELU_B)
    erf = np.sign(v) * ((1 << GELU_ERF_BITS) - round_shift(GELU_A * d * d, GELU_A_SHIFT))
    t = q * ((1 << GELU_ERF_BITS) + erf) * int(out_mult)
    return _finish(t, out_shift, False)


def matmul_requantize(acc: np.ndarray, mult: int, shift: int) -> np.ndarray:
    """MATMUL's epilogue: int32 accumulators (wrapped) -> sat8(round_shift(acc * mult, shift))."""
    return requantize(np.asarray(acc).astype(np.int32), 0, mult, shift, False)


# -- constants the compiler derives from the scales ---------------------------------------
_LN2 = float(np.log(2.0))


def _unsigned_multiplier(real: float, what: str) -> tuple[int, int]:
    try:
        mult, shift = quantize_multiplier(real)
    except ValueError:
        raise ValueError(f"{what}: multiplier {real!r} does not fit {MULT_BITS - 1} bits; "
                         "the scale is too large") from None
    if mult <= 0:
        raise ValueError(f"{what}: multiplier {real!r} must be positive")
    return mult, shift


def softmax_params(scale: float) -> tuple[int, int]:
    """(in_mult, in_shift) of SOFTMAX for int8 inputs of ``scale``: t ~ d * scale * 2**N / ln2."""
    return _unsigned_multiplier(scale * (1 << EXP_FRAC_BITS) / _LN2, "SOFTMAX input scale")


def gelu_params(s_in: float, s_out: float) -> tuple[int, int, int, int]:
    """(in_mult, in_shift, out_mult, out_shift) of GELU from int8 in ``s_in`` to int8 ``s_out``."""
    in_mult, in_shift = _unsigned_multiplier(s_in / np.sqrt(2.0) * (1 << GELU_FRAC_BITS),
                                             "GELU input scale")
    out_mult, out_shift = quantize_multiplier(s_in / (s_out * (1 << (GELU_ERF_BITS + 1))))
    return in_mult, in_shift, out_mult, out_shift


def layernorm_records(gamma: np.ndarray, beta: np.ndarray, s_out: float) -> np.ndarray:
    """Per-feature (bias, mult, shift) of LAYERNORM as int64 arrays (F, 3), for an output
    scale ``s_out``: mult * 2**-shift ~ gamma / s_out / 2**LN_FRAC_BITS, bias = beta / s_out
    * 2**shift (the shift lowered until the bias fits int32)."""
    gamma, beta = np.asarray(gamma, np.float64), np.asarray(beta, np.float64)
    out = np.zeros((len(gamma), 3), np.int64)
    for f, (g, b) in enumerate(zip(gamma, beta)):
        mult, shift = quantize_multiplier(g / s_out / (1 << LN_FRAC_BITS))
        while shift > 0 and abs(b / s_out) * 2.0 ** shift >= 2**31 - 1:
            mult, shift = round(mult / 2), shift - 1
        out[f] = (round(b / s_out * 2.0 ** shift), mult, shift)
    return out


def layernorm_eps(eps: float, features: int, s_in: float) -> int:
    """LAYERNORM's eps field: eps * F^2 / s_in^2 * 2**(2*LN_ROOT_FRAC) (the shifted radicand
    is F^2 var in x units times 2**(2*LN_ROOT_FRAC))."""
    q = eps * features * features / (s_in * s_in) * 4.0 ** LN_ROOT_FRAC
    return int(min(round(q), (1 << LN_EPS_BITS) - 1))
