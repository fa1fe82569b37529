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
"""Activations are int8 (uint8 values after a ReLU never exceed ACT_MAX either)."""
ACT_MIN, ACT_MAX = -(1 << (ACT_BITS - 1)), (1 << (ACT_BITS - 1)) - 1
ACC_BITS = 32
"""Accumulators are int32 and wrap modulo 2**32; the requantisation bias has the same width."""
ACC_BYTES = ACC_BITS // 8
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
    Fact("ACT_BITS", ACT_BITS, "int8 activation"),
    Fact("ACT_MIN", ACT_MIN, "smallest activation (saturation bound)"),
    Fact("ACT_MAX", ACT_MAX, "largest activation (saturation bound)"),
    Fact("ACC_BITS", ACC_BITS, "int32 accumulator (wraps)"),
    Fact("MULT_BITS", MULT_BITS, "signed multiplier of REQ, ADD, AVGPOOL"),
    Fact("SHIFT_BITS", SHIFT_BITS, "rounding right shift of REQ, ADD, AVGPOOL"),
    Fact("SHIFT_MAX", SHIFT_MAX, "largest shift"),
    Fact("WIDE_BITS", WIDE_BITS, "requantisation / ADD / AVGPOOL intermediate"),
    Fact("CODE_BITS_MAX", CODE_BITS_MAX, "widest mask code (MAC code_bits is 1..CODE_BITS_MAX)"),
    Fact("MAX_CODE", MAX_CODE, "largest mask code"),
    Fact("LANE_ROW_BYTES", LANE_ROW_BYTES, "mask row bytes of one bit per channel of a lane"),
    Fact("MASK_ROW_LANE_BYTES", MASK_ROW_LANE_BYTES, "widest mask row per lane (signs + codes)"),
    Fact("REQ_RECORD_BYTES", REQ_RECORD_BYTES, "param SRAM bytes of one REQ record"),
    *_record_layout(),
    Fact("CSR_DEGREE_BYTES", CSR_DEGREE_BYTES, "adjacency chunk: bytes of a row's neighbour count"),
    Fact("CSR_INDEX_BITS", CSR_INDEX_BITS, "adjacency entry: neighbour index bits (uint16)"),
    Fact("CSR_VALUE_BITS", CSR_VALUE_BITS, "adjacency entry: edge weight bits (int16)"),
    Fact("CSR_ENTRY_BYTES", CSR_ENTRY_BYTES, "adjacency entry bytes (index, value)"),
    Fact("CSR_ALIGN", CSR_ALIGN, "adjacency entries start at the degree bytes rounded up to this"),
)
"""Every fact of the generated Verilog header, in header order."""

assert GROUP % 8 == 0 and SHIFT_MAX < 1 << (8 * REQ_RECORD["shift"].itemsize)
