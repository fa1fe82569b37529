"""pack_masks: bit-pack every layer's mask in the order the hardware streams it.

Each CONV gets one `mask_stream` (bytes): its channel blocks of 16·LANES output channels
one after the other, each block's data in step order (input channel outer, kernel position
inner; docs/isa.md). `mask_offsets[block][i]` is the bit where input channel i's data of
that block starts (the last entry is where the block ends), so code generation can load
any input-channel split of any block. Also `code_bits` (1 for binary masks, more for
multicoat codes) and `stored_signs` (sign bits travel with the mask when the weights are
stored instead of regenerated).

- Without a freeze record a block is rows of whole bytes: every position's code, padded
  to whole lanes (`masks.pack_block`).
- With one (`freeze` = `FreezeCodes`), frozen positions cost no bit: the MAC draws each
  position's status on chip (SETFRZ), so only the stored positions' codes are kept, back
  to back across the whole layer (`masks.pack_compact`): the layer stores exactly
  stored positions × code_bits bits. Locked positions are expanded to `lock_code` by the
  MAC; when a multicoat layer's locked positions carry different codes, `lock_code` is 0
  and their codes are stored too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seedcc.errors import CapacityError
from seedcc.ir import Graph, Op
from seedcc.ir.weights import WeightSpec
from seedcc.rtl_models.generators import FREE, LOCKED, freeze_pattern, freeze_thresholds
from seedcc.rtl_models.hwconfig import HwConfig
from seedcc.rtl_models.masks import code_bits_for, pack_block, pack_compact, stored_positions


@dataclass(frozen=True)
class FreezeCodes:
    """How a frozen layer's MAC expands the freeze draw (the SETFRZ fields)."""

    prune_thr: int  # u < prune_thr: pruned
    lock_thr: int  # else u >= lock_thr: locked
    lock_code: int  # code of a locked position, 0 if locked codes are stored
    stored: int  # positions whose codes are in the stream
    frozen: int  # positions the draw fixes (pruned or locked)


def freeze_status(w: WeightSpec) -> np.ndarray:
    """The freeze draw of a frozen weight, (O, I·KH·KW) of PRUNED / LOCKED / FREE."""
    assert w.freeze is not None
    return freeze_pattern(w.freeze.seed, w.freeze.prune, w.freeze.lock, w.shape).reshape(w.shape[0], -1)


def _lock_code(codes: np.ndarray, status: np.ndarray) -> int:
    locked = np.unique(codes[status == LOCKED])
    return int(locked[0]) if len(locked) == 1 else (1 if len(locked) == 0 else 0)


def pack_masks(g: Graph, config: HwConfig) -> Graph:
    nodes = []
    for n in g.nodes:
        if n.op is not Op.CONV:
            nodes.append(n)
            continue
        w = n.attrs["weight"]
        if w.dense is not None:
            raise CapacityError(f"node {n.name}: weight {w.record!r} is neither random nor ternary "
                                f"(±c and 0); the accelerator has no multipliers for dense weights")
        o, i, kh, kw = w.shape
        codes = w.mask.reshape(o, -1)
        signs = None if w.regenerated else w.sign_bits().reshape(o, -1)
        bits = code_bits_for(w.max_code)
        step = config.block_channels
        freeze = None
        parts, offsets, at = [], [], 0
        if w.freeze is not None and w.regenerated:
            status = freeze_status(w)
            lock_code = _lock_code(codes, status)
            for s in range(0, o, step):
                part = pack_compact(codes[s:s + step], status[s:s + step], bits, lock_code)
                stored = stored_positions(status[s:s + step], lock_code)
                per_channel = stored.reshape(-1, i, kh * kw).sum(axis=(0, 2)) * bits
                offsets.append(tuple(int(v) for v in at + np.concatenate([[0], np.cumsum(per_channel)])))
                parts.append(part)
                at += part.size
            stream = np.packbits(np.concatenate(parts), bitorder="little").tobytes() if parts else b""
            freeze = FreezeCodes(*freeze_thresholds(w.freeze.prune, w.freeze.lock), lock_code, at // bits,
                                 int(np.count_nonzero(status != FREE)))
        else:
            blocks = []
            for s in range(0, o, step):
                rows = pack_block(codes[s:s + step], bits, None if signs is None else signs[s:s + step])
                per = len(rows) // i * 8 if i else 0
                offsets.append(tuple(at + per * c for c in range(i + 1)))
                blocks.append(rows)
                at += 8 * len(rows)
            stream = b"".join(blocks)
        nodes.append(n.with_attrs(mask_stream=stream, mask_offsets=tuple(offsets), code_bits=bits,
                                  stored_signs=signs is not None, freeze=freeze))
    return g.with_nodes(nodes)
