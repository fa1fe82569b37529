"""The mask formats of rtl_models/masks.py: full rows, and the compacted code streams of
frozen layers (only positions that keep a code, back to back)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from seedcc.rtl_models.generators import FREE, LOCKED, PRUNED
from seedcc.rtl_models.masks import (
    pack_block,
    pack_compact,
    stored_positions,
    unpack_block,
    unpack_compact,
)


@settings(max_examples=200, deadline=None)
@given(oc=st.integers(1, 40), steps=st.integers(1, 30), bits=st.integers(1, 7),
       lock_code=st.integers(0, 7), seed=st.integers(0, 2**32 - 1), offset=st.integers(0, 7))
def test_compact_stream_round_trips(oc, steps, bits, lock_code, seed, offset):
    rng = np.random.default_rng(seed)
    status = rng.choice(np.array([PRUNED, LOCKED, FREE], np.int8), size=(oc, steps))
    codes = rng.integers(0, 1 << bits, size=(oc, steps)).astype(np.uint8)
    codes[status == PRUNED] = 0
    if lock_code:
        codes[status == LOCKED] = lock_code
    stream = pack_compact(codes, status, bits, lock_code)
    keep = stored_positions(status, lock_code)
    assert stream.size == bits * int(keep.sum())  # frozen positions cost nothing
    # the MAC may start mid-byte and read past the end
    padded = np.concatenate([rng.integers(0, 2, offset), stream, rng.integers(0, 2, 9)]).astype(np.uint8)
    assert np.array_equal(unpack_compact(padded[offset:], status, bits, lock_code), codes)


def test_compact_stream_order_is_step_then_channel():
    """Two channels, two steps, 2-bit codes: the stored positions in stream order are
    (step 0, ch 0), (step 0, ch 1) and (step 1, ch 1) (ch 0 step 1 is pruned)."""
    status = np.array([[FREE, PRUNED], [FREE, FREE]], np.int8)
    codes = np.array([[1, 0], [2, 3]], np.uint8)
    bits = pack_compact(codes, status, 2, 1)
    assert bits.tolist() == [1, 0, 0, 1, 1, 1]


def test_full_rows_round_trip():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 4, size=(20, 9)).astype(np.uint8)
    signs = rng.integers(0, 2, size=(20, 9)).astype(np.uint8)
    got, got_signs = unpack_block(pack_block(codes, 2, signs), 20, 9, 2, True)
    assert np.array_equal(got, codes) and np.array_equal(got_signs, signs)
