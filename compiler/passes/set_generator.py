"""set_generator: regenerate every random layer with another generator (a what-if).

Design-space sweeps ask what a model would cost with a different weight generator on
chip. This pass replaces the generator of every regenerated `WeightSpec` (seed, mask,
scale and freeze stay); stored-sign and dense layers are left alone. The network's random
weights, and so its outputs, change: the result is a different network with the same
masks, useful for cost and hardware comparisons, not for accuracy. Not part of the
default pipeline; `seedcc.flow.compile_model(..., generator=...)` runs it right after the
front end.
"""

from __future__ import annotations

from dataclasses import replace

from seedcc.errors import BadInputError
from seedcc.ir import Graph, Op
from seedcc.rtl_models.generators import GENERATORS


def set_generator(g: Graph, name: str) -> Graph:
    if name not in GENERATORS:
        raise BadInputError(f"unknown generator {name!r}; valid generators: {', '.join(GENERATORS)}")
    nodes, changed = [], []
    for n in g.nodes:
        w = n.attrs.get("weight") if n.op is Op.CONV else None
        if w is not None and w.regenerated and w.generator != name:
            nodes.append(n.with_attrs(weight=replace(w, generator=name)))
            changed.append(n.name)
        else:
            nodes.append(n)
    out = g.with_nodes(nodes)
    if changed:
        out = out.add_note(f"what-if: {len(changed)} random layer(s) regenerated with {name} instead "
                           f"of their recorded generator; the network's weights differ from the model's")
    return out
