"""The IR verifier: run after the front end and after every pass.

It raises `IRVerificationError` naming the first broken invariant, the node, its op and
the shapes involved. Invariants: names unique; every value has one producer or is a
graph input; nodes in topological order; declared shapes equal `infer_shape`; required
attributes present; op arity; graph outputs defined; no cycles.
"""

from __future__ import annotations

import networkx as nx

from seedcc.errors import IRVerificationError
from seedcc.ir.graph import Graph
from seedcc.ir.ops import infer_shape


def verify(g: Graph, after: str = "front end") -> Graph:
    """Check `g`; return it unchanged so passes can be chained."""

    def fail(msg: str) -> None:
        raise IRVerificationError(f"IR invalid after {after} in graph {g.name!r}: {msg}")

    seen: set[str] = set()
    for n in g.nodes:
        if n.name in seen:
            fail(f"node {n.name!r} ({n.op.value}): duplicate node name")
        seen.add(n.name)
    if not nx.is_directed_acyclic_graph(g.to_networkx()):
        fail("the graph has a cycle")
    defined: set[str] = set()
    for name in g.inputs:
        if name not in g.values:
            fail(f"graph input {name!r} has no value")
        defined.add(name)
    names: set[str] = set()
    for n in g.nodes:
        where = f"node {n.name!r} ({n.op.value})"
        if n.name in names:
            fail(f"{where}: duplicate node name")
        names.add(n.name)
        if len(n.inputs) != n.op.spec.arity:
            fail(f"{where}: takes {n.op.spec.arity} inputs, has {len(n.inputs)}")
        if len(n.outputs) != 1:
            fail(f"{where}: must have exactly one output, has {len(n.outputs)}")
        for a in n.op.spec.attrs:
            if a not in n.attrs:
                fail(f"{where}: missing attribute {a!r}")
        for v in n.inputs:
            if v not in defined:
                fail(f"{where}: input {v!r} is used before it is defined")
        out = n.outputs[0]
        if out in defined:
            fail(f"{where}: output {out!r} is defined twice")
        if out not in g.values:
            fail(f"{where}: output {out!r} has no value")
        in_shapes = [g.values[v].shape for v in n.inputs]
        try:
            expect = infer_shape(n.op, n.attrs, in_shapes)
        except (ValueError, KeyError) as e:
            fail(f"{where}: inputs {in_shapes}: {e}")
        if tuple(expect) != tuple(g.values[out].shape):
            fail(f"{where}: output {out!r} declared {g.values[out].shape}, inputs {in_shapes} give {expect}")
        defined.add(out)
    for name in g.outputs:
        if name not in defined:
            fail(f"graph output {name!r} is never defined")
    return g
