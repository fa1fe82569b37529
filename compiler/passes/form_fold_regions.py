"""form_fold_regions: turn the iterations of fold groups into one loop region.

A hidden-fold network, unrolled, is K copies of the same run of nodes: iteration `it` is
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

`scale_groups` lists the values that must share one int8 scale for the iterations'
instructions to be equal: the outputs at each position, plus the loop-carried value and
what enters the region (an ADD's multipliers are instruction fields, so its operand and
output scales must not change between iterations). `quantize` gives each group the
largest scale of its members.
"""

from __future__ import annotations

from seedcc.ir import Graph, Node, Op


def _iterations(g: Graph) -> dict[int, list[int]]:
    """Iteration -> node indices of the fold convs of that iteration."""
    out: dict[int, list[int]] = {}
    for i, n in enumerate(g.nodes):
        if n.op is Op.CONV and "fold" in n.attrs:
            out.setdefault(n.attrs["fold"][1], []).append(i)
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


def form_fold_regions(g: Graph) -> Graph:
    iters = _iterations(g)
    count = len(iters)
    if count < 2:
        return g
    if sorted(iters) != list(range(count)) or len({len(v) for v in iters.values()}) != 1:
        return g.add_note("fold groups have different iteration counts: no loop region, "
                          "the iterations stay unrolled")
    starts = [min(iters[it]) for it in range(count)]
    length = starts[1] - starts[0]
    why: str | None = None
    if any(s != starts[0] + it * length for it, s in enumerate(starts)) or \
            starts[0] + count * length > len(g.nodes):
        why = "the iterations are not equal runs of nodes"
    else:
        res = _carried(g, starts[0], length, count)
        if isinstance(res, str):
            why = res
    if why is not None:
        return g.add_note(f"fold iterations stay unrolled: {why}")
    start = starts[0]
    nodes: list[Node] = list(g.nodes)
    for k in range(length * count):
        nodes[start + k] = nodes[start + k].with_attrs(loop=(0, k // length, k % length))
    return g.with_nodes(nodes).add_note(
        f"fold region 0: {count} iterations of {length} nodes ({g.nodes[start].name} .. "
        f"{g.nodes[start + length - 1].name}) form one loop region")


def scale_groups(g: Graph) -> list[list[str]]:
    """Values that must share one scale (see the module docstring)."""
    at: dict[tuple[int, int, int], Node] = {n.attrs["loop"]: n for n in g.nodes if "loop" in n.attrs}
    if not at:
        return []
    groups: dict[tuple[int, int], list[str]] = {}
    for (r, _, j), n in sorted(at.items()):
        groups.setdefault((r, j), []).append(n.output)
    for (r, it, j), n in at.items():
        if it != 0 or (r, 1, j) not in at:
            continue
        for v, nxt in zip(n.inputs, at[(r, 1, j)].inputs):
            src = g.producer(v)
            if src is None or src.attrs.get("loop", (None, 0))[:2] != (r, 0):
                carrier = g.producer(nxt).attrs["loop"]  # type: ignore[union-attr]
                if v not in groups[(r, carrier[2])]:
                    groups[(r, carrier[2])].append(v)
    return list(groups.values())
