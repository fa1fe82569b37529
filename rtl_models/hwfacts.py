"""Hardware facts: the numbers the compiler, the reference model and the RTL must agree on.

Each fact is defined here once. Python modules import these names; the RTL reads them from
``rtl_models/hwfacts.vh``, which ``backends/gen_header.py`` generates from :data:`FACTS`
(``tests/rtl/test_header.py`` fails if the committed header differs by a byte). What
depends on the configuration (lanes, pixels, SRAM sizes) is in ``hwconfig.HwConfig``;
instruction fields are in the ISA table (``backends/isa.py``), whose widths use these facts.

Ranges narrower than their storage (a shift byte that may only hold 0..SHIFT_MAX, a 3-bit
``code_bits`` field that may not be 0) are checked when a value is encoded, by
:func:`check_range`: instruction fields in ``isa.make``/``encode``/``decode`` and
requantisation records in :func:`req_record_bytes`. Nothing downstream truncates.

This module imports nothing from seedcc but the error types, so every layer may use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seedcc.errors import SeedccError

# -- generator lanes -------------------------------------------------------------------------
GROUP = 16
"""Output channels per generator lane: one lane step yields GROUP sign bits, one a channel."""
LANE_STATE_BITS = 64
"""A lane's state register; the param SRAM holds one little-endian start state per lane."""
LANE_STATE_BYTES = LANE_STATE_BITS // 8
LANE_STATE_DTYPE = np.dtype(f"<u{LANE_STATE_BYTES}")
GEN_ID_BITS = 2
"""Generator select of a lane (SETGEN ``gen_id``); the ids are the registry's (generators.py)."""

# -- numbers (the golden rules are in numerics.py) -------------------------------------------
ACT_BITS = 8
"""Activations are 8-bit: uint8 (zero point 0) after a ReLU, int8 elsewhere. Every consumer
reads its operand bytes as signed or unsigned from a bit of its instruction, and every
producer saturates to the format of its output (docs/isa.md "Activation formats")."""
ACT_MIN, ACT_MAX = -(1 << (ACT_BITS - 1)), (1 << (ACT_BITS - 1)) - 1
UACT_MAX = (1 << ACT_BITS) - 1
"""Largest uint8 activation (the unsigned saturation bound; the smallest is 0)."""
ACC_BITS = 32
"""Accumulators are int32 and wrap modulo 2**32; the requantisation bias has the same width."""
ACC_BYTES = ACC_BITS // 8
ACC_MIN, ACC_MAX = -(1 << (ACC_BITS - 1)), (1 << (ACC_BITS - 1)) - 1
"""Bounds of an int32 graph output: a REQ with ``out_wide`` saturates to them and writes
ACC_BYTES bytes (little-endian) per value."""
MULT_BITS = 16
"""Signed multiplier of REQ (record), ADD and AVGPOOL (instruction fields)."""
MULT_MIN, MULT_MAX = -(1 << (MULT_BITS - 1)), (1 << (MULT_BITS - 1)) - 1
SHIFT_BITS = 6
"""Rounding right shift of REQ, ADD and AVGPOOL: 0..SHIFT_MAX."""
SHIFT_MAX = (1 << SHIFT_BITS) - 1
WIDE_BITS = 64
"""Intermediate of requantisation, ADD and AVGPOOL: (acc + bias) * mult and its rounding
constant fit (|v| < 2**49, 2**(SHIFT_MAX - 1) < 2**63); numerics.py computes in int64."""

# -- mask codes ------------------------------------------------------------------------------
CODE_BITS_MAX = 7
"""Widest mask code. The MAC field ``code_bits`` is 3 bits, so 1..7 is every useful value;
the PE is a shift-add over CODE_BITS_MAX code bits and the mask read is sized for it."""
MAX_CODE = (1 << CODE_BITS_MAX) - 1
"""Largest mask code (a weight is sign * code * scale, so |weight| <= MAX_CODE * scale)."""
CODE_BITS_FIELD = CODE_BITS_MAX.bit_length()
"""Width of the MAC field ``code_bits``."""

# -- mask rows (docs/isa.md "Mask rows"; pack/unpack in masks.py) ----------------------------
LANE_ROW_BYTES = GROUP // 8
"""Bytes of one bit for each of a lane's GROUP channels: a row holds, per lane used,
code_bits of these planes' worth of codes (plus one of sign bits with stored signs)."""
MASK_ROW_LANE_BYTES = LANE_ROW_BYTES * (1 + CODE_BITS_MAX)
"""Widest mask row per lane (stored signs and CODE_BITS_MAX-bit codes): the mask read width."""


def mask_row_bytes(lanes: int, code_bits: int, stored_signs: bool = False) -> int:
    """Bytes of one mask row for ``lanes`` lanes of ``code_bits``-bit codes."""
    return LANE_ROW_BYTES * lanes * (code_bits + (1 if stored_signs else 0))


# -- freeze registers (frozen positions drawn on chip; docs/isa.md SETFRZ) --------------------
FREEZE_STATE_BITS = 16
"""One freeze register per output channel of the array: the DESIGN §4 freeze draw is a
16-bit xorshift stream; the param SRAM holds one little-endian start state per channel."""
FREEZE_STATE_BYTES = FREEZE_STATE_BITS // 8
FREEZE_STATE_DTYPE = np.dtype(f"<u{FREEZE_STATE_BYTES}")
FREEZE_STATES_PER_WORD = LANE_STATE_BITS // FREEZE_STATE_BITS
"""Freeze start states SETFRZ reads per cycle (one LANE_STATE_BITS-wide param read)."""
FREEZE_THRESHOLD_MAX = 1 << FREEZE_STATE_BITS
"""Freeze thresholds are 0..65536: a draw u is pruned if u < prune_thr, locked if u >= lock_thr."""

# -- sparse adjacency chunks of AGG (docs/isa.md "AGG"; pack/unpack in adjacency.py) --------
CSR_DEGREE_BYTES = 2
"""Bytes of one row's neighbour count (uint16) at the head of an adjacency chunk."""
CSR_INDEX_BITS = 16
"""Neighbour (column) index of one entry: uint16, so a graph has at most 65535 nodes."""
CSR_VALUE_BITS = 16
"""Normalised edge weight of one entry: int16 times the adjacency's scale."""
CSR_ENTRY_BYTES = (CSR_INDEX_BITS + CSR_VALUE_BITS) // 8
"""Bytes of one entry (index, then value, little-endian)."""
CSR_ALIGN = 4
"""The entries start at the chunk address plus the degree bytes rounded up to this."""


# -- requantisation record (param SRAM, one per output channel) ------------------------------
REQ_RECORD = np.dtype([("bias", f"<i{ACC_BYTES}"), ("mult", f"<i{MULT_BITS // 8}"),
                       ("shift", "u1"), ("pad", "u1")])
"""One channel's REQ parameters, little-endian: int32 bias, int16 mult, shift byte, zero byte."""
REQ_RECORD_BYTES = REQ_RECORD.itemsize

# The param SRAM's word: every reader takes one word a cycle (a lane state, a requantisation
# record, FREEZE_STATES_PER_WORD freeze states), so tables start on a word and every param
# address an instruction gives (and a param-space DMA transfer's start) is a multiple of it.
PARAM_WORD_BYTES = 8
assert LANE_STATE_BYTES == REQ_RECORD_BYTES == PARAM_WORD_BYTES
assert FREEZE_STATES_PER_WORD * FREEZE_STATE_BITS == 8 * PARAM_WORD_BYTES
REQ_LIMITS: dict[str, tuple[int, int]] = {
    "bias": (-(1 << (ACC_BITS - 1)), (1 << (ACC_BITS - 1)) - 1),
    "mult": (MULT_MIN, MULT_MAX),
    "shift": (0, SHIFT_MAX),
    "pad": (0, 0),
}
"""The valid values of every record field (the shift byte may only hold 0..SHIFT_MAX)."""


class FieldRangeError(SeedccError, ValueError):
    """A value does not fit the hardware field or record it is encoded into."""


def check_range(what: str, value: int, lo: int, hi: int) -> int:
    """Return ``value`` if it is an integer in ``[lo, hi]``; else raise FieldRangeError
    naming ``what`` (e.g. ``MAC.code_bits`` or ``REQ record 3 of layer conv1: shift``)."""
    if not isinstance(value, int) or not lo <= value <= hi:
        raise FieldRangeError(f"{what}={value!r} out of range [{lo}, {hi}]")
    return int(value)


def req_record_bytes(records: np.ndarray, where: str) -> bytes:
    """Encode REQ records (a REQ_RECORD array, one per channel) after range-checking every
    field; ``where`` names their owner in the error (e.g. ``layer conv1``)."""
    if records.dtype != REQ_RECORD:
        raise TypeError(f"{where}: REQ records must have dtype {REQ_RECORD}, got {records.dtype}")
    for name, (lo, hi) in REQ_LIMITS.items():
        bad = np.flatnonzero((records[name] < lo) | (records[name] > hi))
        if bad.size:
            ch = int(bad[0])
            check_range(f"{where}: REQ record {ch} {name}", int(records[name][ch]), lo, hi)
    return records.tobytes()


# -- attention and integer nonlinearities (MATMUL, SOFTMAX, LAYERNORM, GELU) -------------
# The golden integer rules are in numerics.py (I-BERT-style: S. Kim, A. Gholami, Z. Yao,
# M. W. Mahoney, K. Keutzer, "I-BERT: Integer-only BERT Quantization", ICML 2021); these are
# the constants and widths the hardware fixes. Derived constants are computed here once.
MM_ROWS = 16
"""Rows of the MATMUL unit's output tile: MM_ROWS x PIXELS int8 x int8 multipliers, each
with an int32 accumulator (output-stationary, like the MAC array)."""
EXP_FRAC_BITS = 10
"""i-exp works on t = (x - max) in units of ln2 / 2**EXP_FRAC_BITS: t = -z*2**N + p, so
exp(t) = 2**-z * exp(p) with p in (-ln2, 0] (a shift and a mask, no divider)."""
EXP_B = round(1.353 * (1 << EXP_FRAC_BITS) / 0.6931471805599453)
"""I-BERT's second-order fit exp(p) ~ 0.3585 (p + 1.353)^2 + 0.344 on (-ln2, 0]: the offset
1.353 in t units ..."""
EXP_C = round(0.344 / 0.3585 * ((1 << EXP_FRAC_BITS) / 0.6931471805599453) ** 2)
"""... and the constant 0.344 / 0.3585 in t units squared: e = ((p + EXP_B)^2 + EXP_C) >> z."""
EXP_Z_MAX = 31
"""z is clamped to this (5-bit shifter); e < 2**23 is already 0 after 23."""
EXP_E_BITS = (EXP_B * EXP_B + EXP_C).bit_length()
"""i-exp's e = ((EXP_B - r)^2 + EXP_C) >> z (0 <= r < 2**EXP_FRAC_BITS <= EXP_B) is at most
EXP_B^2 + EXP_C, below 2**EXP_E_BITS: the width of e in the RTL (a SOFTMAX sum adds up to
2**16 - 1 of them)."""
SM_RECIP_BITS = 40
"""SOFTMAX: recip = floor(2**SM_RECIP_BITS / sum) by a bit-serial restoring divider ..."""
SM_RECIP_STEPS = 18
"""... of this many quotient bits: sum >= e(max) = EXP_B^2 + EXP_C > 2**(SM_RECIP_BITS -
SM_RECIP_STEPS), so the quotient has at most SM_RECIP_STEPS bits."""
SM_OUT_BITS = 8
"""SOFTMAX writes uint8 probabilities with scale 2**-SM_OUT_BITS (1.0 saturates to 255)."""
SM_OUT_MAX = (1 << SM_OUT_BITS) - 1
LN_FEATURES_BITS = 12
"""LAYERNORM normalises over at most 2**LN_FEATURES_BITS - 1 features (the field width)."""
LN_ROOT_FRAC = 12
"""LAYERNORM: the radicand F*sum(x^2) - sum(x)^2 is shifted left by 2*LN_ROOT_FRAC before the
root, so r = F * std * 2**LN_ROOT_FRAC keeps LN_ROOT_FRAC fraction bits (small spreads)."""
LN_SQRT_STEPS = 32
"""LAYERNORM: r = isqrt(radicand) < 2**LN_SQRT_STEPS by the digit-by-digit method (one root
bit a cycle, adders only); the radicand is below 2**(2*LN_SQRT_STEPS - 1) (F < 2**12)."""
LN_RECIP_BITS = 48
"""LAYERNORM: inv = floor(2**LN_RECIP_BITS / max(r, 2**LN_ROOT_FRAC)) by a bit-serial divider ..."""
LN_RECIP_STEPS = LN_RECIP_BITS - LN_ROOT_FRAC + 1
"""... of this many quotient bits (the divisor is at least 2**LN_ROOT_FRAC)."""
LN_FRAC_BITS = 14
"""LAYERNORM: the normalised value (x - mean) / std in fixed point with this many fraction bits."""
LN_EPS_BITS = 48
"""LAYERNORM: width of the eps field (eps * F^2 / scale^2 * 2**(2*LN_ROOT_FRAC), added to the
shifted radicand)."""
GELU_FRAC_BITS = 10
"""i-GELU: the erf argument x / sqrt(2) in fixed point with this many fraction bits."""
GELU_B = round(1.769 * (1 << GELU_FRAC_BITS))
"""I-BERT's erf fit: erf(v) ~ sgn(v) (1 - 0.2888 (min(|v|, 1.769) - 1.769)^2); 1.769 in v units."""
GELU_ERF_BITS = 14
"""erf in fixed point with this many fraction bits (1.0 = 2**GELU_ERF_BITS)."""
GELU_A_SHIFT = 22
GELU_A = round(0.2888 * 2 ** (GELU_A_SHIFT + GELU_ERF_BITS - 2 * GELU_FRAC_BITS))
"""0.2888 scaled so that round_shift(GELU_A * d^2, GELU_A_SHIFT) is 0.2888 (d / 2**G)^2 in erf units."""


# -- the facts the Verilog header carries ----------------------------------------------------
@dataclass(frozen=True)
class Fact:
    name: str
    value: int
    doc: str


def _record_layout() -> tuple[Fact, ...]:
    out = []
    for name in REQ_RECORD.names:
        dtype, offset = REQ_RECORD.fields[name][:2]
        stem = f"REQ_{name.upper()}"
        out += [Fact(f"{stem}_LO", 8 * offset, f"first bit of the record's {name}"),
                Fact(f"{stem}_W", 8 * dtype.itemsize, f"bits of the record's {name}")]
    return tuple(out)


FACTS: tuple[Fact, ...] = (
    Fact("GROUP", GROUP, "output channels per generator lane"),
    Fact("LANE_STATE_BITS", LANE_STATE_BITS, "lane state register"),
    Fact("LANE_STATE_BYTES", LANE_STATE_BYTES, "param SRAM bytes of one lane start state"),
    Fact("GEN_ID_BITS", GEN_ID_BITS, "generator select of a lane"),
    Fact("ACT_BITS", ACT_BITS, "8-bit activation (int8, or uint8 after a ReLU)"),
    Fact("ACT_MIN", ACT_MIN, "smallest int8 activation (saturation bound)"),
    Fact("ACT_MAX", ACT_MAX, "largest int8 activation (saturation bound)"),
    Fact("UACT_MAX", UACT_MAX, "largest uint8 activation (unsigned saturation bound)"),
    Fact("ACC_BITS", ACC_BITS, "int32 accumulator (wraps)"),
    Fact("ACC_BYTES", ACC_BYTES, "bytes of an int32 value (an out_wide REQ writes one a value)"),
    Fact("MULT_BITS", MULT_BITS, "signed multiplier of REQ, ADD, AVGPOOL"),
    Fact("SHIFT_BITS", SHIFT_BITS, "rounding right shift of REQ, ADD, AVGPOOL"),
    Fact("SHIFT_MAX", SHIFT_MAX, "largest shift"),
    Fact("WIDE_BITS", WIDE_BITS, "requantisation / ADD / AVGPOOL intermediate"),
    Fact("CODE_BITS_MAX", CODE_BITS_MAX, "widest mask code (MAC code_bits is 1..CODE_BITS_MAX)"),
    Fact("MAX_CODE", MAX_CODE, "largest mask code"),
    Fact("LANE_ROW_BYTES", LANE_ROW_BYTES, "mask row bytes of one bit per channel of a lane"),
    Fact("MASK_ROW_LANE_BYTES", MASK_ROW_LANE_BYTES, "widest mask row per lane (signs + codes)"),
    Fact("REQ_RECORD_BYTES", REQ_RECORD_BYTES, "param SRAM bytes of one REQ record"),
    Fact("PARAM_WORD_BYTES", PARAM_WORD_BYTES, "param SRAM word: one read a cycle, every param "
                                               "address a multiple of it"),
    Fact("FREEZE_STATE_BITS", FREEZE_STATE_BITS, "freeze register of one output channel"),
    Fact("FREEZE_STATE_BYTES", FREEZE_STATE_BYTES, "param SRAM bytes of one freeze start state"),
    Fact("FREEZE_STATES_PER_WORD", FREEZE_STATES_PER_WORD, "freeze start states SETFRZ reads a cycle"),
    *_record_layout(),
    Fact("MM_ROWS", MM_ROWS, "rows of the MATMUL output tile (x PIXELS multipliers)"),
    Fact("EXP_FRAC_BITS", EXP_FRAC_BITS, "i-exp: fraction bits of t in units of ln2"),
    Fact("EXP_B", EXP_B, "i-exp polynomial offset (1.353 in t units)"),
    Fact("EXP_C", EXP_C, "i-exp polynomial constant (0.344/0.3585 in t units squared)"),
    Fact("EXP_Z_MAX", EXP_Z_MAX, "i-exp: largest exponent shift"),
    Fact("EXP_E_BITS", EXP_E_BITS, "i-exp: bits of e (at most EXP_B^2 + EXP_C)"),
    Fact("SM_RECIP_BITS", SM_RECIP_BITS, "SOFTMAX: recip = floor(2^SM_RECIP_BITS / sum)"),
    Fact("SM_RECIP_STEPS", SM_RECIP_STEPS, "SOFTMAX: divider cycles (quotient bits)"),
    Fact("SM_OUT_BITS", SM_OUT_BITS, "SOFTMAX: uint8 probability scale 2^-SM_OUT_BITS"),
    Fact("SM_OUT_MAX", SM_OUT_MAX, "SOFTMAX: largest probability code"),
    Fact("LN_FEATURES_BITS", LN_FEATURES_BITS, "LAYERNORM: width of the features field"),
    Fact("LN_ROOT_FRAC", LN_ROOT_FRAC, "LAYERNORM: fraction bits of the root"),
    Fact("LN_SQRT_STEPS", LN_SQRT_STEPS, "LAYERNORM: integer square root cycles (root bits)"),
    Fact("LN_RECIP_BITS", LN_RECIP_BITS, "LAYERNORM: inv = floor(2^LN_RECIP_BITS / r)"),
    Fact("LN_RECIP_STEPS", LN_RECIP_STEPS, "LAYERNORM: divider cycles (quotient bits)"),
    Fact("LN_FRAC_BITS", LN_FRAC_BITS, "LAYERNORM: fraction bits of the normalised value"),
    Fact("LN_EPS_BITS", LN_EPS_BITS, "LAYERNORM: width of the eps field"),
    Fact("GELU_FRAC_BITS", GELU_FRAC_BITS, "i-GELU: fraction bits of the erf argument"),
    Fact("GELU_B", GELU_B, "i-GELU: erf clip point 1.769 in argument units"),
    Fact("GELU_ERF_BITS", GELU_ERF_BITS, "i-GELU: fraction bits of erf"),
    Fact("GELU_A", GELU_A, "i-GELU: erf curvature 0.2888, scaled"),
    Fact("GELU_A_SHIFT", GELU_A_SHIFT, "i-GELU: shift after the curvature multiply"),
    Fact("CSR_DEGREE_BYTES", CSR_DEGREE_BYTES, "adjacency chunk: bytes of a row's neighbour count"),
    Fact("CSR_INDEX_BITS", CSR_INDEX_BITS, "adjacency entry: neighbour index bits (uint16)"),
    Fact("CSR_VALUE_BITS", CSR_VALUE_BITS, "adjacency entry: edge weight bits (int16)"),
    Fact("CSR_ENTRY_BYTES", CSR_ENTRY_BYTES, "adjacency entry bytes (index, value)"),
    Fact("CSR_ALIGN", CSR_ALIGN, "adjacency entries start at the degree bytes rounded up to this"),
)
"""Every fact of the generated Verilog header, in header order."""

assert EXP_B * EXP_B + EXP_C > 1 << (SM_RECIP_BITS - SM_RECIP_STEPS)
assert EXP_B >= (1 << EXP_FRAC_BITS) - 1  # i-exp's EXP_B - r is never negative
assert GROUP % 8 == 0 and SHIFT_MAX < 1 << (8 * REQ_RECORD["shift"].itemsize)
