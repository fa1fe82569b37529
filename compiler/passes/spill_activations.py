"""spill_activations: store activations off chip when they do not all fit the act SRAM.

When the memory planner finds no place for a value (`memplan.ActivationsDoNotFit`), one
of the values live at that point goes off chip until it is read again: a SPILL right
after its last reader before that point (or after its producer) stores it with one act
DMA_STORE, and a RELOAD right before its next reader brings it back with one act
DMA_LOAD; every later reader reads the reloaded copy. The value chosen is the one read
again furthest in the future (Belady's rule), as in register allocation; a reloaded copy
that has to go again is dropped and reloaded from the same off-chip copy. The pass repeats
until the plan fits, and changes nothing for a graph that fits already, so such programs
are unchanged.

A conv whose output does not fit the act SRAM even next to its input alone (a 224x224
ResNet's stem) writes that output to off-chip memory in row bands, and its readers (max
or average pools) read it back in row bands with their halo (`compiler/tiling.py`
`row_bands_out`, `row_bands_in`); each works in a band buffer of at most a quarter of the
act SRAM. Graph outputs, and points inside a fold region's loop (whose iterations must
run the same instructions), are never chosen; when no value can go, the planner's error stands: one
line naming the activation, its bytes and `act_sram_bytes`. The off-chip traffic is in
the report's DMA figures (docs/compiler.md "Spilling").
"""

from __future__ import annotations

from dataclasses import replace

from seedcc.compiler.memplan import ActivationsDoNotFit, plan_activations, roots
from seedcc.compiler.tiling import BAND_SHARE, row_bands_in, row_bands_out
from seedcc.ir import Graph, Node, Op
from seedcc.rtl_models.hwconfig import HwConfig


def _in_loop(nodes: tuple[Node, ...], at: int) -> bool:
    """Whether inserting a node before index `at` would split a loop region."""
    if at <= 0 or at >= len(nodes):
        return False
    before, after = nodes[at - 1].attrs.get("loop"), nodes[at].attrs.get("loop")
    return before is not None and after is not None and before[0] == after[0]


def _victim(g: Graph, err: ActivationsDoNotFit) -> tuple[str, int, int] | None:
    """(value, index to put the SPILL at, index of its next reader) of the live value read
    again furthest after the failing step, or None."""
    nodes, step = g.nodes, err.step
    root = roots(g)
    busy = set(nodes[step].inputs) | {nodes[step].output} if step < len(nodes) else set()
    best = None
    for v in err.live:
        if v in g.outputs or any(root[b] == v for b in busy):
            continue
        readers = [i for i, n in enumerate(nodes) if any(root[x] == v for x in n.inputs)]
        later = [i for i in readers if i >= step]
        if not later:
            continue
        producer = next((i for i, n in enumerate(nodes) if n.output == v), -1)
        at = max([producer] + [i for i in readers if i < step]) + 1
        if _in_loop(nodes, at) or _in_loop(nodes, later[0]):
            continue
        if best is None or later[0] > best[2]:
            best = (v, at, later[0])
    return best


def _spill(g: Graph, v: str, at: int, reader: int, k: int) -> Graph:
    """Spill `v` before node index `at` and reload it before `reader` (the k-th spill)."""
    nodes = list(g.nodes)
    values = dict(g.values)
    prod = g.producer(v)
    if prod is not None and prod.op is Op.RELOAD:  # already off chip: reload that copy again
        dram, spill = prod.inputs[0], []
    else:
        dram = f"{v}#offchip"
        values[dram] = replace(g.values[v], name=dram, onnx_name=None)
        spill = [Node(Op.SPILL, f"{v}#spill", (v,), (dram,))]
    back = f"{v}#reload{k}"
    values[back] = replace(g.values[v], name=back, onnx_name=None)
    root = roots(g)
    moved = [n if i < reader else replace(n, inputs=tuple(back if root[x] == v else x for x in n.inputs))
             for i, n in enumerate(nodes)]
    new = moved[:at] + spill + moved[at:reader] + [Node(Op.RELOAD, f"{v}#reload{k}", (dram,), (back,))] \
        + moved[reader:]
    return g.with_nodes(new, values=values)


def _banded(g: Graph, err: ActivationsDoNotFit, cfg: HwConfig) -> Graph | None:
    """`g` with the output of the failing node written in row bands to off-chip memory and
    read back in bands by its readers, when the node cannot run with its output on chip
    next to its inputs alone; None when that is not the case or not possible."""
    if err.step >= len(g.nodes):
        return None
    n = g.nodes[err.step]
    root = roots(g)
    size = {v: g.values[v].nbytes for v in g.values}
    alone = size[n.output] + sum(size[r] for r in {root[v] for v in n.inputs})
    readers = g.consumers(n.output)
    if (alone <= cfg.act_sram_bytes or n.op is not Op.CONV or len(g.values[n.output].shape) != 3
            or n.output in g.outputs or "loop" in n.attrs or "bands_in" in n.attrs or not readers
            or any(r.op not in (Op.MAXPOOL, Op.AVGPOOL) or "loop" in r.attrs for r in readers)):
        return None
    budget = cfg.act_sram_bytes // BAND_SHARE
    out_bands, out_bytes = row_bands_out(n, g.values[n.output].shape, cfg, budget)
    nodes = {n.name: n.with_attrs(bands_out=out_bands, band_bytes=out_bytes)}
    for r in readers:
        in_bands, in_bytes = row_bands_in(r, g.values[n.output].shape, g.values[r.output].shape, budget)
        nodes[r.name] = r.with_attrs(bands_in=in_bands, band_bytes=in_bytes)
    return g.with_nodes([nodes.get(m.name, m) for m in g.nodes])


def spill_activations(g: Graph, cfg: HwConfig) -> Graph:
    """`g` with row bands and SPILL/RELOAD pairs so that its activations fit
    `cfg.act_sram_bytes`."""
    k = banded = 0
    while True:
        try:
            plan_activations(g, cfg.act_sram_bytes)
        except ActivationsDoNotFit as err:
            tiled = _banded(g, err, cfg)
            if tiled is not None:
                g, banded = tiled, banded + 1
                continue
            choice = _victim(g, err)
            if choice is None:
                raise
            g = _spill(g, *choice, k)
            k += 1
            continue
        if banded:
            g = g.add_note(f"{banded} activation(s) too large for the {cfg.act_sram_bytes}-byte act SRAM "
                           f"next to their layer's input are written to off-chip memory in row bands "
                           f"and read back in bands")
        if k:
            g = g.add_note(f"{k} activation(s) spilled to off-chip memory and reloaded: they do not all "
                           f"fit the {cfg.act_sram_bytes}-byte act SRAM at once")
        return g
