"""schedule_regeneration: decide, for every tile of every layer, where its weights come from.

A layer's random weights are never stored: each generator lane (16 output channels)
regenerates them on the fly. This pass fixes, per CONV, the tiling (output-channel blocks,
pixel chunks, input-channel splits; `seedcc.compiler.tiling`) and for every input-channel
split k the lane start states, the generator state after i0·KH·KW steps from each
group's seed (`Generator.jump`: the regeneration schedule's jump-ahead), so any tile can
start anywhere. A frozen layer (`pack_masks` set `freeze`) also gets `freeze_states`: per
split, the start state of every output channel's freeze register, the freeze draw's state
before draw o·I·KH·KW + i0·KH·KW (channel o's first position of the split), so that each
register, stepped in lockstep with the lanes, draws exactly its channel's positions. It
writes `tiling`, `lane_states` (per split, per lane group), `freeze_states` and `regen` (a
`RegenPlan` with the step counts and the reason for the policy) into the node; code
generation reads them and decides nothing itself.

Policy: every pixel tile of PIXELS output pixels restarts its lanes and regenerates the
block's weights; none are buffered. Keeping them would need a sign buffer of
16·LANES × (in_c·KH·KW) bits per block, which this accelerator does not have: a step of
a 16-bit lane costs a few XORs, a buffered bit an SRAM read (docs/architecture.md).
Stored (non-random) weights stream their sign bits with the mask rows instead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from seedcc.compiler.tiling import plan_conv
from seedcc.ir import Graph, Op
from seedcc.rtl_models.generators import freeze_states, get_generator, group_start_states
from seedcc.rtl_models.hwconfig import HwConfig
from seedcc.rtl_models.hwfacts import GROUP


@dataclass(frozen=True)
class RegenPlan:
    policy: str  # "regenerate" (lanes restart every pixel tile) or "stored" (signs in the mask rows)
    lane_steps: int  # generator steps of all lanes for one sample
    weights: int  # weights of the layer
    reason: str

    @property
    def steps_per_weight(self) -> float:
        """Lane steps per weight: each step yields 16 weights' signs, so 1/16 per weight
        if every weight were generated once; pixel tiles multiply it."""
        return self.lane_steps / self.weights if self.weights else 0.0


def schedule_regeneration(g: Graph, config: HwConfig, drain: bool = True) -> Graph:
    """Every CONV node with its tiling (`tiling.plan_conv`; `drain` as there), the lane start
    states of its input-channel parts and its regeneration plan."""
    nodes = []
    for n in g.nodes:
        if n.op is not Op.CONV:
            nodes.append(n)
            continue
        w = n.attrs["weight"]
        o, i, kh, kw = w.shape
        steps = kh * kw
        out = g.values[n.output].shape
        tiling = plan_conv(n, out, config, drain)
        groups = -(-o // GROUP)
        if w.regenerated:
            gen = get_generator(w.generator)
            starts = group_start_states(w.generator, w.seed, groups)
            lane_states = tuple(tuple(gen.jump(int(s), i0 * steps) for s in starts) for i0, _ in tiling.splits)
            occ0 = tiling.blocks[0][1]
            tiles = sum(config.mac_tiles(occ0, pc) for _, pc in tiling.chunks[0])
            lane_steps = sum(-(-occ // GROUP) * i * steps * sum(config.mac_tiles(occ, pc) for _, pc in chunks)
                             for (_, occ), chunks in zip(tiling.blocks, tiling.chunks))
            width = config.pixels << config.lane_copies(occ0, tiling.chunks[0][0][1])
            plan = RegenPlan("regenerate", lane_steps, o * i * steps,
                             f"{tiles} pixel tile(s) of {width} pixels each regenerate the "
                             f"{o}x{i}x{kh}x{kw} weights; {len(tiling.splits)} input split(s) start "
                             f"from jumped-ahead states; no sign buffer on chip")
        else:
            lane_states = ()
            plan = RegenPlan("stored", 0, o * i * steps, "no generator record: sign bits stream with the mask rows")
        frozen: tuple[np.ndarray, ...] = ()
        if n.attrs.get("freeze") is not None:
            first = np.arange(o, dtype=np.int64) * (i * steps)
            frozen = tuple(freeze_states(w.freeze.seed, first + i0 * steps) for i0, _ in tiling.splits)
            plan = replace(plan, reason=f"{plan.reason}; frozen positions drawn by {o} freeze registers "
                                        f"started at each channel's first draw")
        nodes.append(n.with_attrs(tiling=tiling, lane_states=lane_states, freeze_states=frozen, regen=plan))
    return g.with_nodes(nodes)
