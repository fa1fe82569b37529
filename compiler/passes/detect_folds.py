"""detect_folds: find layers that reuse one set of random weights and mask.

Hidden-fold networks and folded GNNs apply one block's weights several times, each
iteration with its own BatchNorm; exporters write them unrolled (DESIGN.md §3). Layers
whose `WeightSpec.fingerprint()` (generator, seed, shape, scale, mask) is equal form a fold
group: each gets `fold=(group, iteration)`, and the graph notes list the groups. Code
generation stores a fold group's mask rows once in the memory image; per-iteration
requantisation records stay separate. `form_fold_regions` builds on the annotation to run
the iterations as one hardware LOOP with the rows resident in the mask SRAM.
"""

from __future__ import annotations

from seedcc.ir import Graph, Op


def detect_folds(g: Graph) -> Graph:
    groups: dict[str, list[str]] = {}
    for n in g.ops(Op.CONV):
        groups.setdefault(n.attrs["weight"].fingerprint(), []).append(n.name)
    folds = [names for names in groups.values() if len(names) > 1]
    where = {name: (k, it) for k, names in enumerate(folds) for it, name in enumerate(names)}
    nodes = [n.with_attrs(fold=where[n.name]) if n.name in where else n for n in g.nodes]
    out = g.with_nodes(nodes)
    for k, names in enumerate(folds):
        out = out.add_note(f"fold group {k}: {len(names)} layers share random weights and mask "
                           f"({', '.join(names)}); masks stored once")
    return out
