"""The mask row format of the MAC instruction (docs/isa.md): one definition used by the
packing pass (writer) and the reference model and testbenches (reader).

A block of oc_count ≤ GROUP·LANES output channels streams one row per (input channel i,
kernel position k), i outer. A row holds the codes of GROUP·ng channels (ng = lanes used),
`code_bits` bits each, channel 0 in the least significant bits of the row's first byte;
with stored signs the row is preceded by GROUP·ng sign bits (1 = +1) in the same order.
The sizes are hardware facts (``hwfacts.GROUP``, ``hwfacts.mask_row_bytes``).

A layer with a freeze record stores no row at all: the MAC draws each position's freeze
status on chip, and the mask SRAM holds only the codes of the stored positions, packed
back to back in the order they are consumed (`pack_compact`, `unpack_compact`).
"""

from __future__ import annotations

import numpy as np

from .generators import FREE, LOCKED
from .hwfacts import GROUP, mask_row_bytes


def lanes_used(oc_count: int) -> int:
    return -(-oc_count // GROUP)


def row_bytes(oc_count: int, code_bits: int, stored_signs: bool = False) -> int:
    return mask_row_bytes(lanes_used(oc_count), code_bits, stored_signs)


def code_bits_for(max_code: int) -> int:
    return max(1, int(max_code).bit_length())


def _to_bits(values: np.ndarray, nbits: int) -> np.ndarray:
    """(steps, channels) ints -> (steps, channels * nbits) bits, LSB first per value."""
    shifts = np.arange(nbits, dtype=np.uint8)
    bits = (values[..., None].astype(np.uint8) >> shifts) & 1
    return bits.reshape(values.shape[0], -1)


def pack_block(codes: np.ndarray, code_bits: int, signs: np.ndarray | None = None) -> bytes:
    """codes (oc_count, steps) uint8 -> packed rows; `signs` (same shape, 0/1) if stored."""
    oc, steps = codes.shape
    width = lanes_used(oc) * GROUP
    padded = np.zeros((steps, width), np.uint8)
    padded[:, :oc] = codes.T
    if padded.max(initial=0) >= 1 << code_bits:
        raise ValueError(f"mask code {int(padded.max())} does not fit {code_bits} bits")
    rows = np.packbits(_to_bits(padded, code_bits), axis=1, bitorder="little")
    if signs is not None:
        s = np.zeros((steps, width), np.uint8)
        s[:, :oc] = signs.T
        rows = np.concatenate([np.packbits(s, axis=1, bitorder="little"), rows], axis=1)
    return rows.tobytes()


def unpack_block(raw: bytes | np.ndarray, oc_count: int, steps: int, code_bits: int,
                 stored_signs: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Inverse of `pack_block`: (codes (oc_count, steps), signs or None)."""
    width = lanes_used(oc_count) * GROUP
    rb = row_bytes(oc_count, code_bits, stored_signs)
    rows = np.frombuffer(bytes(raw), np.uint8) if not isinstance(raw, np.ndarray) else raw
    rows = rows[: steps * rb].reshape(steps, rb)
    signs = None
    if stored_signs:
        sb = np.unpackbits(rows[:, : width // 8], axis=1, bitorder="little")
        signs = sb[:, :oc_count].T.copy()
        rows = rows[:, width // 8:]
    bits = np.unpackbits(rows, axis=1, bitorder="little").reshape(steps, width, code_bits)
    codes = (bits << np.arange(code_bits, dtype=np.uint8)).sum(axis=2, dtype=np.uint8)
    return codes[:, :oc_count].T.copy(), signs


# -- frozen layers: compacted code streams (docs/isa.md "Frozen positions") -------------------
def stored_positions(status: np.ndarray, lock_code: int) -> np.ndarray:
    """Which positions of a frozen layer keep a code in the mask stream: the free ones, and
    the locked ones too when ``lock_code`` is 0 (their codes differ, so they are stored).
    ``status`` holds the freeze draw (generators.PRUNED / LOCKED / FREE) of each position."""
    from_stream = status == FREE
    if lock_code == 0:
        from_stream |= status == LOCKED
    return from_stream


def pack_compact(codes: np.ndarray, status: np.ndarray, code_bits: int, lock_code: int) -> np.ndarray:
    """codes, status (oc_count, steps) -> the 0/1 bits of the stored codes in the order the MAC
    consumes them: step by step, channel 0 first, each code LSB first."""
    keep = stored_positions(status, lock_code).T  # (steps, oc) in stream order
    values = codes.T[keep]
    if values.max(initial=0) >= 1 << code_bits:
        raise ValueError(f"mask code {int(values.max())} does not fit {code_bits} bits")
    return _to_bits(values[None, :], code_bits).reshape(-1)


def unpack_compact(bits: np.ndarray, status: np.ndarray, code_bits: int, lock_code: int) -> np.ndarray:
    """Inverse of `pack_compact` given the freeze draw: codes (oc_count, steps) with pruned
    positions 0 and locked ones ``lock_code`` (or their stored code when it is 0). ``bits``
    starts at the block's first stored bit and may run longer."""
    keep = stored_positions(status, lock_code).T
    n = int(keep.sum())
    if bits.size < n * code_bits:
        raise ValueError(f"the mask stream holds {bits.size} bits; {n} codes of {code_bits} bits need "
                         f"{n * code_bits}")
    values = (bits[:n * code_bits].reshape(n, code_bits).astype(np.uint8)
              << np.arange(code_bits, dtype=np.uint8)).sum(axis=1, dtype=np.uint8)
    out = np.where(status.T == LOCKED, np.uint8(lock_code), np.uint8(0))
    out[keep] = values
    return out.T.copy()
