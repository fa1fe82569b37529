"""Prefetch: mask rows and parameter tables load in the background, as early as they can.

Code generation records every mask- and param-SRAM region it fills (:class:`Region`): the
index of the DMA_LOAD that fills it and the instruction count when the region was
released, after its last reader. A load can move up to just after the latest release of
an earlier region its bytes overlap (nothing between reads those bytes any more), never
above a loop body's end nor above an earlier load (:func:`targets`); :func:`hoist` moves
it as far as that and the DMA engine allow and makes it a background transfer (docs/isa.md
"Background units"). The reference model checks the result: an instruction touching a
background transfer's bytes before it is over is an error there.

Loads inside LOOP bodies stay where they are, in the foreground, and so do activation
transfers. How far a load can move depends on where the allocator placed it; the mask and
param arenas place each region after the previous one (`Arena`), so that the next layer's
region is rarely the one the current layer reads.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

from seedcc.backends import isa, timing
from seedcc.backends.manifest import Checkpoint, FloatParam
from seedcc.rtl_models.hwconfig import HwConfig


@dataclass
class Region:
    """A mask or param SRAM region filled by one DMA_LOAD."""

    space: str
    addr: int
    size: int
    load: int | None
    """Index of its DMA_LOAD; None if it must stay where it is (inside a loop body)."""
    release: int | None = None
    """Instructions emitted when it was released (its readers come before); None: live."""

    def overlaps(self, other: Region) -> bool:
        return (self.space == other.space and self.addr < other.addr + other.size
                and other.addr < self.addr + self.size)


def targets(regions: list[Region], barriers: list[int]) -> dict[int, int]:
    """For every movable load, the index of the instruction it can move before (at most its
    own index; equal means it stays): after the releases of the earlier regions it
    overlaps and the last barrier before it, and not above an earlier moved load."""
    out: dict[int, int] = {}
    floor = 0
    for r in sorted((r for r in regions if r.load is not None), key=lambda r: r.load):
        at = max([floor, *(b for b in barriers if b <= r.load),
                  *(o.release for o in regions
                    if o is not r and o.release is not None and o.release <= r.load and o.overlaps(r))])
        out[r.load] = at
        floor = at
    return out


def hoist(instrs: list[isa.Instruction], regions: list[Region], barriers: list[int],
          checkpoints: list[Checkpoint], float_params: list[FloatParam], cfg: HwConfig
          ) -> tuple[list[isa.Instruction], list[Checkpoint], list[FloatParam]]:
    """The program with its mask and param loads moved up and in the background, and the
    checkpoints and float parameters renumbered to follow their instructions.

    The DMA engine runs one transfer at a time, and a transfer issued while another runs
    waits for it, holding up the instructions behind it. So the program is rebuilt in
    order on a time line (`timing.Clock`, each instruction once): before each instruction,
    the next load whose earliest place (`targets`) has come is issued in the background if
    the engine is idle by then; a load still waiting when its own place comes stays there,
    in the foreground. Where a moved load stood, a SYNC waits for it if it was the latest
    transfer issued (a later one waited for it already)."""
    earliest = targets(regions, barriers)
    queue = deque(sorted(load for load, at in earliest.items() if at < load))
    if not queue:
        return instrs, checkpoints, float_params
    inside = set()  # instruction indices inside LOOP bodies: nothing is placed before them
    for i, ins in enumerate(instrs):
        if ins.op == "LOOP":
            inside.update(range(i + 1, i + 1 + ins.body_len))
    clock = timing.Clock(cfg)
    out: list[isa.Instruction] = []
    new_index: dict[int, int] = {}
    moved: set[int] = set()
    latest: int | None = None  # the latest transfer issued (an old index)

    def put(old: int, ins: isa.Instruction) -> None:
        nonlocal latest
        if isa.BY_NAME[ins.op].engine == "dma":
            latest = old
        new_index[old] = len(out)
        out.append(ins)
        clock.step(ins)

    for i, ins in enumerate(instrs):
        if i not in inside and queue and earliest[queue[0]] <= i < queue[0] and clock.idle("dma"):
            load = queue.popleft()
            moved.add(load)
            put(load, isa.make(instrs[load].op, **{**instrs[load].fields, "background": 1}))
        if i in moved:
            if latest == i:
                out.append(isa.make("SYNC"))
                clock.step(out[-1])
                latest = None
            continue
        if queue and queue[0] == i:  # not moved: it stays, in the foreground
            queue.popleft()
        put(i, ins)
    assert not any(fp.instr in moved for fp in float_params), "a moved load has float values"
    return (out, [replace(ck, after=new_index[ck.after]) for ck in checkpoints],
            [replace(fp, instr=new_index[fp.instr]) for fp in float_params])
