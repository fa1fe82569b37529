"""Activation memory planning: an act SRAM address for every IR value.

FLATTEN and RESHAPE outputs are the same bytes as their input (row-major (C, H, W) is
already flat), so they share its address. Every other value gets a first-fit slot that
is free from its producer until its last reader (graph outputs stay live to the end).
"""

from __future__ import annotations

import math

from seedcc.errors import CapacityError
from seedcc.ir import Graph, Op

ALIAS_OPS = (Op.FLATTEN, Op.RESHAPE)
ALIGN = 16


def roots(g: Graph) -> dict[str, str]:
    """Value -> the value whose storage it uses."""
    root = {v: v for v in g.values}
    for n in g.nodes:
        if n.op in ALIAS_OPS:
            root[n.output] = root[n.inputs[0]]
    return root


def plan_activations(g: Graph, capacity: int) -> dict[str, int]:
    root = roots(g)
    end = len(g.nodes)
    last_use: dict[str, int] = {}
    for i, n in enumerate(g.nodes):
        for v in n.inputs:
            last_use[root[v]] = i
    for v in g.outputs:
        last_use[root[v]] = end
    live: list[tuple[int, int, str]] = []  # (addr, size, value)
    addr: dict[str, int] = {}

    def place(value: str, step: int) -> None:
        live[:] = [(a, s, v) for a, s, v in live if last_use.get(v, -1) >= step]
        size = math.prod(g.values[value].shape)
        cursor = 0
        for a, s, _ in sorted(live):
            if a - cursor >= size:
                break
            cursor = max(cursor, -(-(a + s) // ALIGN) * ALIGN)
        if cursor + size > capacity:
            raise CapacityError(f"activation {value!r} ({size} bytes) does not fit the act SRAM "
                                f"({capacity} bytes) next to the {len(live)} live tensors; "
                                f"use a larger act_sram_bytes")
        addr[value] = cursor
        live.append((cursor, size, value))

    for v in g.inputs:
        place(v, 0)
    for i, n in enumerate(g.nodes):
        if n.op not in ALIAS_OPS:
            place(n.output, i)
    return {v: addr[root[v]] for v in g.values if root[v] in addr}
