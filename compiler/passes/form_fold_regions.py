"""form_fold_regions: turn the iterations of fold groups into loop regions.

Fold groups whose convs interleave are one repeated block (a network folded in several
stages has one such cluster per stage), and each cluster becomes its own region, numbered
in node order. A hidden-fold block, unrolled, is K copies of the same run of nodes: iteration `it` is
nodes ``start + it·L .. start + it·L + L - 1``, its fold convs being iteration `it` of their
fold groups (`detect_folds`). Each node of the region gets ``loop = (region, iteration,
position)``; code generation runs the region as one hardware LOOP over the body of
iteration 0 (docs/compiler.md "Fold regions") and falls back to the unrolled code, with a
graph note, when the iterations' instructions differ in anything but their parameter
tables.

A region is formed only when the iterations have the same ops in the same order, and every
input of a node is either produced earlier in its own iteration (at the same position in
every iteration) or is the value the previous iteration produced at one fixed position
(the loop-carried value; in iteration 0 the value coming from before the region), and no
value of an iteration but the last is read outside the next iteration. Otherwise the graph
is left as it is, with a note saying why.

`loop_scales` adjusts the calibrated int8 scales so that every iteration runs the same
instructions: an ADD's multipliers and shift (instruction fields) depend on the ratios of
its operand and output scales, so those ratios must not change between iterations. Values
only CONVs produce and read keep their calibrated scale per iteration (it only enters
requantisation records, which each iteration loads for itself). The carried value (the
value entering the region, then each iteration's) follows one geometric progression
s0·g^it fitted to its calibrated scales and raised to cover each of them; every other
value whose scale reaches an instruction field is that progression times a constant of its
position, again covering every calibrated scale. `quantize` applies it. For the same
reason `loop_format_pairs` lists the values whose 8-bit formats (uint8 after a ReLU, else
int8) must agree: a position's values in consecutive iterations, and the value entering the
region with the position that carries it on.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from seedcc.ir import Graph, Node, Op


def _clusters(g: Graph) -> list[dict[int, list[int]]]:
    """The fold groups of `g` in clusters of groups whose node spans overlap (the convs of one
    repeated block; a network folded in several stages has a cluster per stage), each as
    iteration -> node indices of its fold convs, in node order."""
    groups: dict[int, list[tuple[int, int]]] = {}
    for i, n in enumerate(g.nodes):
        if n.op is Op.CONV and "fold" in n.attrs:
            gid, it = n.attrs["fold"]
            groups.setdefault(gid, []).append((i, it))
    merged: list[tuple[int, list[int]]] = []  # (last node index, fold groups)
    for lo, hi, gid in sorted((min(i for i, _ in v), max(i for i, _ in v), gid) for gid, v in groups.items()):
        if merged and lo <= merged[-1][0]:
            merged[-1] = (max(merged[-1][0], hi), merged[-1][1] + [gid])
        else:
            merged.append((hi, [gid]))
    out = []
    for _, gids in merged:
        iters: dict[int, list[int]] = {}
        for gid in gids:
            for i, it in groups[gid]:
                iters.setdefault(it, []).append(i)
        out.append({it: sorted(v) for it, v in iters.items()})
    return out


def _carried(g: Graph, start: int, length: int, count: int) -> dict[str, int] | str:
    """Value entering iteration 0 from outside -> the position that carries it around the
    loop; or the reason there is no region."""
    nodes = g.nodes
    pos_of = {n.output: (k // length, k % length) for k, n in
              enumerate(nodes[start:start + length * count])}
    carried: dict[str, int] = {}
    for it in range(count):
        for j in range(length):
            n = nodes[start + it * length + j]
            ref = nodes[start + j]
            if n.op is not ref.op or len(n.inputs) != len(ref.inputs):
                return f"iteration {it} position {j} is {n.op.value}, iteration 0 has {ref.op.value}"
            if n.op is Op.CONV and n.attrs["weight"].fingerprint() != ref.attrs["weight"].fingerprint():
                return f"{n.name} and {ref.name} have different weights"
            for slot, v in enumerate(n.inputs):
                src = pos_of.get(v)
                if src is not None and src[0] == it:
                    if src[1] >= j or pos_of.get(ref.inputs[slot]) != (0, src[1]):
                        return f"{n.name} reads {v!r} from another place than iteration 0 does"
                    continue
                if it == 0:
                    nxt = nodes[start + length + j].inputs[slot] if count > 1 else None
                    p = pos_of.get(nxt) if nxt is not None else None
                    if p is None or p[0] != 0:
                        return f"{n.name} reads {v!r} from outside the region in every iteration"
                    if carried.setdefault(v, p[1]) != p[1]:
                        return f"{v!r} is carried in at two positions"
                elif src is None or src[0] != it - 1 or carried.get(ref.inputs[slot]) != src[1]:
                    return f"{n.name} reads {v!r}, which is not the loop-carried value"
    for k, n in enumerate(nodes):
        for v in n.inputs:
            src = pos_of.get(v)
            if src is None or src[0] == count - 1:
                continue
            if not start + (src[0] + 1) * length <= k < start + (src[0] + 2) * length and \
                    not start + src[0] * length <= k < start + (src[0] + 1) * length:
                return f"{n.name} reads {v!r} of iteration {src[0]} outside the loop"
    if any(v in pos_of and pos_of[v][0] != count - 1 for v in g.outputs):
        return "a graph output is produced by an iteration before the last"
    return carried


def _region(g: Graph, iters: dict[int, list[int]]) -> tuple[int, int, int] | str:
    """(first node, nodes per iteration, iterations) of one cluster's loop region, or why
    there is none."""
    count = len(iters)
    if sorted(iters) != list(range(count)) or len({len(v) for v in iters.values()}) != 1:
        return "fold groups have different iteration counts"
    starts = [min(iters[it]) for it in range(count)]
    length = starts[1] - starts[0]
    if any(s != starts[0] + it * length for it, s in enumerate(starts)) or \
            starts[0] + count * length > len(g.nodes):
        return "the iterations are not equal runs of nodes"
    res = _carried(g, starts[0], length, count)
    return res if isinstance(res, str) else (starts[0], length, count)


def form_fold_regions(g: Graph) -> Graph:
    nodes: list[Node] = list(g.nodes)
    notes: list[str] = []
    region = 0
    for iters in _clusters(g):
        if len(iters) < 2:
            continue
        res = _region(g, iters)
        if isinstance(res, str):
            notes.append(f"fold iterations stay unrolled: {res}")
            continue
        start, length, count = res
        for k in range(length * count):
            nodes[start + k] = nodes[start + k].with_attrs(loop=(region, k // length, k % length))
        notes.append(f"fold region {region}: {count} iterations of {length} nodes ({g.nodes[start].name} .. "
                     f"{g.nodes[start + length - 1].name}) form one loop region")
        region += 1
    if not notes:
        return g
    out = g.with_nodes(nodes)
    for note in notes:
        out = out.add_note(note)
    return out


def _field_scaled(g: Graph, value: str) -> bool:
    """Does an instruction field (not a param table) depend on `value`'s scale? True unless
    the value is only produced and read by CONVs, whose scales go into their
    requantisation records (loaded per iteration)."""
    prod = g.producer(value)
    return prod is None or any(n.op not in (Op.CONV, Op.AGGREGATE) for n in [prod, *g.consumers(value)])


def _regions(g: Graph) -> dict[int, dict[tuple[int, int], Node]]:
    """Each fold region's nodes by (iteration, position)."""
    regions: dict[int, dict[tuple[int, int], Node]] = {}
    for n in g.nodes:
        if "loop" in n.attrs:
            r, it, pos = n.attrs["loop"]
            regions.setdefault(r, {})[(it, pos)] = n
    return dict(sorted(regions.items()))


def _streams(g: Graph, region: int, at: dict[tuple[int, int], Node]
             ) -> tuple[dict[str, int], dict[int, list[str]]]:
    """The values entering iteration 0 (each with the position that carries it on) and each
    position's outputs over the iterations."""
    count, length = 1 + max(k[0] for k in at), 1 + max(k[1] for k in at)
    carried: dict[str, int] = {}  # value entering iteration 0 -> position that carries it
    for j in range(length):
        if (1, j) not in at:
            continue
        for v, nxt in zip(at[(0, j)].inputs, at[(1, j)].inputs):
            src = g.producer(v)
            if src is None or src.attrs.get("loop", (None, 0))[:2] != (region, 0):
                carried[v] = g.producer(nxt).attrs["loop"][2]  # type: ignore[union-attr]
    series = {j: [at[(it, j)].output for it in range(count)] for j in range(length)}
    return carried, series


def loop_format_pairs(g: Graph) -> list[tuple[str, str]]:
    """Pairs of values whose 8-bit formats must agree for every iteration of a fold region to
    run the same instructions (an instruction's unsigned bits are fields)."""
    pairs = []
    for r, at in _regions(g).items():
        carried, series = _streams(g, r, at)
        for vs in series.values():
            pairs += list(pairwise(vs))
        pairs += [(v, series[p][0]) for v, p in carried.items()]
    return pairs


def loop_scales(g: Graph, scales: dict[str, float]) -> dict[str, float]:
    """`scales` (calibrated) adjusted so that every iteration of each fold region runs the
    same instructions (see the module docstring)."""
    out = dict(scales)
    for r, at in _regions(g).items():
        _region_scales(g, r, at, scales, out)
    return out


def _region_scales(g: Graph, region: int, at: dict[tuple[int, int], Node], scales: dict[str, float],
                   out: dict[str, float]) -> None:
    count, length = 1 + max(k[0] for k in at), 1 + max(k[1] for k in at)
    carried, series = _streams(g, region, at)
    field = [j for j in range(length) if any(_field_scaled(g, v) for v in series[j])]
    ref = next((p for p in sorted(set(carried.values())) if p in field), None)
    if ref is None:  # no carried value in an instruction field: per position, the largest
        for j in field:
            top = max(scales[v] for v in series[j])
            out.update({v: top for v in series[j]})
        return
    # The carried stream (the value entering the region, then each iteration's) follows one
    # geometric progression s0·g^it fitted to the calibrated scales in the log domain and
    # raised until it covers every one of them; every other position in an instruction
    # field is that progression times its own constant. Ratios between those values, in an
    # iteration and from one iteration to the next, are then the same in every iteration.
    entry = [v for v, p in carried.items() if p == ref]
    cal = np.log([max(scales[v] for v in entry)] + [scales[v] for v in series[ref]])
    xs = np.arange(-1, count, dtype=np.float64)
    slope, icpt = np.polyfit(xs, cal, 1)
    icpt += float(np.max(cal - (icpt + slope * xs)))
    stream = np.exp(icpt + slope * xs)
    for j in field:
        q = 1.0 if j == ref else max(scales[v] / stream[it + 1] for it, v in enumerate(series[j]))
        out.update({v: float(q * stream[it + 1]) for it, v in enumerate(series[j])})
    for v, p in carried.items():
        if p in field:
            q = out[series[p][0]] / stream[1]
            out[v] = float(q * stream[0])
