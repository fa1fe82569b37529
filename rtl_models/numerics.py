"""Golden integer arithmetic of the accelerator, imported by the compiler, the reference
model and the cocotb scoreboards alike. The RTL implements exactly these rules.

All functions take numpy arrays (or ints) and compute in int64 (``hwfacts.WIDE_BITS``), so
no intermediate can overflow for the widths the hardware has (|acc + bias| < 2^33,
|mult| <= 2^15, shift <= SHIFT_MAX). The widths and limits are ``hwfacts``'.
"""

from __future__ import annotations

import numpy as np

from .hwfacts import ACT_MAX, ACT_MIN, MULT_BITS, SHIFT_MAX, WIDE_BITS

assert np.iinfo(np.int64).bits == WIDE_BITS


def _half(shift: np.ndarray) -> np.ndarray:
    return np.where(shift > 0, np.left_shift(np.int64(1), np.maximum(shift - 1, 0)), 0)


def round_shift(x: np.ndarray | int, shift: int | np.ndarray) -> np.ndarray:
    """Arithmetic right shift rounding half up: floor((x + 2^(shift-1)) / 2^shift); shift 0 is x."""
    x = np.asarray(x, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    return np.right_shift(x + _half(shift), shift)


def saturate8(x: np.ndarray) -> np.ndarray:
    return np.clip(x, ACT_MIN, ACT_MAX).astype(np.int8)


def _finish(t: np.ndarray, shift: int | np.ndarray, relu: bool) -> np.ndarray:
    """round_shift, optional ReLU and saturation of an int64 temporary, in place (fast)."""
    shift = np.asarray(shift, np.int64)
    t += _half(shift)
    t >>= shift
    if relu:
        np.maximum(t, 0, out=t)
    np.clip(t, ACT_MIN, ACT_MAX, out=t)
    return t.astype(np.int8)


def requantize(acc: np.ndarray, bias: np.ndarray, mult: np.ndarray, shift: np.ndarray,
               relu: bool) -> np.ndarray:
    """REQ: int8 = sat8(relu?(round_shift((acc + bias) * mult, shift))).

    `bias`, `mult`, `shift` broadcast against `acc` (per output channel: shape (C, 1)).
    """
    t = np.array(acc, np.int64)
    t += np.asarray(bias, np.int64)
    t *= np.asarray(mult, np.int64)
    return _finish(t, shift, relu)


def residual_add(a: np.ndarray, b: np.ndarray, mult_a: int, mult_b: int, shift: int,
                 relu: bool) -> np.ndarray:
    """ADD: int8 = sat8(relu?(round_shift(a*mult_a + b*mult_b, shift)))."""
    t = np.array(a, np.int64)
    t *= mult_a
    t += np.asarray(b, np.int64) * mult_b
    return _finish(t, shift, relu)


def scale_sum(total: np.ndarray, mult: int, shift: int) -> np.ndarray:
    """AVGPOOL: int8 = sat8(round_shift(window_sum * mult, shift))."""
    t = np.array(total, np.int64)
    t *= mult
    return _finish(t, shift, False)


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


def quantize_input(x: np.ndarray, scale: float) -> np.ndarray:
    """Float -> int8 with a symmetric per-tensor scale: sat8(rint(x / scale))."""
    return saturate8(np.rint(np.asarray(x, np.float64) / scale))


def dequantize(q: np.ndarray, scale: float) -> np.ndarray:
    return (np.asarray(q, np.float32) * np.float32(scale)).astype(np.float32)
