"""Per-layer cycles and counters of a program: the one helper reports and sweeps use.

The reference model reports counters per run, not per layer. The manifest's checkpoints
name the instruction (and LOOP iteration) after which each layer's output is in the act
SRAM, so the executed instructions (``isa.loop_trace``: a LOOP body once per iteration;
``first``/``last`` are positions in that trace, the instruction indices when the program
has no loop) are cut into *segments*: everything up to and
including the first checkpoint's instruction, then up to the next one, and so on; the
instructions after the last checkpoint (output stores and HALT) form a final segment
named ``"(outputs)"``. A segment's cycles are the sum of the cycles
:func:`timing.timeline` charges its instructions (waits for the DMA engine included); its counters come from executing the program once on a zero sample of the
reference model's machine and taking the counter deltas at each cut. Cycles and counters
are data-independent (docs/refsim.md), so a zero sample gives every sample's figures, and
the segments add up to :func:`refsim.run`'s totals exactly (tested).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from seedcc.backends import refsim
from seedcc.backends.manifest import Checkpoint
from seedcc.backends.program import Program
from seedcc.backends.refsim_machine import Machine

OUTPUTS = "(outputs)"


@dataclass(frozen=True)
class Segment:
    """The instructions ``first..last`` (inclusive) that finish one layer's output."""

    name: str  # ONNX tensor name of the checkpoint (IR value name if it has none)
    values: tuple[str, ...]  # the IR values whose checkpoints end the segment
    first: int
    last: int
    cycles: int
    counters: Mapping[str, int]

    @property
    def instructions(self) -> int:
        return self.last - self.first + 1


def _checkpoints(program: Program) -> list[Checkpoint]:
    return list(program.manifest.checkpoints)


def _cuts(program: Program, trace: list[tuple[int, int]]) -> list[tuple[str, tuple[str, ...], int]]:
    """(segment name, IR values, last trace position) in execution order; checkpoints taken
    after the same executed instruction share one segment."""
    pos = {key: p for p, key in enumerate(trace)}
    halt = len(trace) - 1
    cuts: list[tuple[str, tuple[str, ...], int]] = []
    for ck in sorted(_checkpoints(program), key=lambda c: pos[(c.after, c.iteration)]):
        name, at = ck.onnx or ck.name, pos[(ck.after, ck.iteration)]
        if cuts and cuts[-1][2] == at:
            cuts[-1] = (f"{cuts[-1][0]}+{name}", (*cuts[-1][1], ck.name), at)
        else:
            cuts.append((name, (ck.name,), at))
    if not cuts or cuts[-1][2] < halt:
        cuts.append((OUTPUTS, (), halt))
    return cuts


def layer_segments(program: Program) -> list[Segment]:
    """The program's segments in order; their cycles and counters sum to the run totals."""
    sim = refsim.simulator(program)
    cfg = program.config
    m = Machine(cfg, sim.image, sim.float_section, 1, False, sim.segments, sim.mac_cache,
                sim.float_params)
    for d in sim.inputs:  # a zero sample: counters do not depend on the data
        m.dram.write_samples(d.dram_addr,
                             np.zeros((1, int(np.prod(d.shape))), dtype=np.int8))
    out: list[Segment] = []
    first = 0
    before: Counter[str] = Counter()
    for name, values, last in _cuts(program, [(idx, it) for idx, it, _ in sim.trace]):
        cycles = 0
        for pos in range(first, last + 1):
            idx, it, ins = sim.trace[pos]
            m.execute(idx, it, ins, sim.steps[pos], sim.busy[pos])
            cycles += sim.steps[pos].cycles
        now = Counter(m.counters)
        delta = {k: int(now.get(k, 0) - before.get(k, 0)) for k in refsim.COUNTERS}
        delta["instructions"] = last - first + 1
        for d in ("read", "write"):
            delta[f"sram_{d}_bytes"] = sum(delta[f"{mem}_sram_{d}_bytes"] for mem in refsim.MEMORIES)
        out.append(Segment(name, values, first, last, cycles, delta))
        before, first = now, last + 1
    return out


def pe_utilisation(counters: Mapping[str, int], pes: int) -> float:
    """PE add/subtracts performed over the PE slots of the MAC cycles (0 without MACs)."""
    slots = counters["mac_cycles"] * pes
    return counters["pe_ops"] / slots if slots else 0.0


def pe_occupancy(counters: Mapping[str, int], pes: int) -> float:
    """PE slots holding a (channel, pixel, weight position) of a MAC, whatever its mask code,
    over the PE slots of the MAC cycles (0 without MACs): how much of the array the mapping
    uses, where `pe_utilisation` also counts the weights the mask skips."""
    slots = counters["mac_cycles"] * pes
    return counters["pe_slots"] / slots if slots else 0.0
