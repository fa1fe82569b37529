"""pack_masks: bit-pack every layer's mask in the order the hardware streams it.

Each CONV gets `mask_blocks`: one packed byte string per channel block of
16·LANES output channels (rows per (input channel, kernel position), docs/isa.md),
`code_bits` (1 for binary masks, more for multicoat codes) and `stored_signs` (sign bits
travel with the mask when the weights are stored instead of regenerated).
"""

from __future__ import annotations

from seedcc.errors import CapacityError
from seedcc.ir import Graph, Op
from seedcc.rtl_models.hwconfig import HwConfig
from seedcc.rtl_models.masks import code_bits_for, pack_block


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
        o = w.shape[0]
        codes = w.mask.reshape(o, -1)
        signs = None if w.regenerated else w.sign_bits().reshape(o, -1)
        bits = code_bits_for(w.max_code)
        step = config.block_channels
        blocks = tuple(
            pack_block(codes[s:s + step], bits, None if signs is None else signs[s:s + step])
            for s in range(0, o, step))
        nodes.append(n.with_attrs(mask_blocks=blocks, code_bits=bits, stored_signs=signs is not None))
    return g.with_nodes(nodes)
