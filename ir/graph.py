"""The graph IR: immutable values, nodes and graphs.

A `Graph` is a value: passes build new graphs with `replace`/`with_nodes`, never mutate.
Nodes are kept in topological order. Producer/consumer queries are answered from
indexes built once per graph; `to_networkx` gives a DiGraph view for analyses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import Any

import networkx as nx

from seedcc.ir.ops import Op, Shape
from seedcc.rtl_models.hwfacts import ACC_BYTES

#: bytes of one element in the act SRAM, by quantised format (a float value is not stored)
ITEM_BYTES = {"int8": 1, "uint8": 1, "int32": ACC_BYTES}


@dataclass(frozen=True)
class Value:
    """A tensor of one sample. `scale` is set once the value is quantised (int8 = x / scale;
    an int32 graph output's scales are per channel and come with its REQ records)."""

    name: str
    shape: Shape
    dtype: str = "float32"
    scale: float | None = None
    onnx_name: str | None = None  # the ONNX tensor it stands for (for per-layer checks)

    @property
    def nbytes(self) -> int:
        """Act SRAM bytes of the value: 8-bit formats one a value, int32 four (ACC_BYTES)."""
        return ITEM_BYTES.get(self.dtype, 1) * math.prod(self.shape)


@dataclass(frozen=True, eq=False)
class Node:
    op: Op
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not isinstance(self.attrs, MappingProxyType):
            object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))

    @property
    def output(self) -> str:
        assert len(self.outputs) == 1, self.name
        return self.outputs[0]

    def with_attrs(self, **changes: Any) -> Node:
        return replace(self, attrs={**self.attrs, **changes})


@dataclass(frozen=True, eq=False)
class Graph:
    name: str
    values: Mapping[str, Value]
    nodes: tuple[Node, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.values, MappingProxyType):
            object.__setattr__(self, "values", MappingProxyType(dict(self.values)))

    @cached_property
    def _producers(self) -> dict[str, Node]:
        return {out: n for n in self.nodes for out in n.outputs}

    @cached_property
    def _consumers(self) -> dict[str, list[Node]]:
        cons: dict[str, list[Node]] = {}
        for n in self.nodes:
            for v in n.inputs:
                cons.setdefault(v, []).append(n)
        return cons

    def producer(self, value: str) -> Node | None:
        return self._producers.get(value)

    def consumers(self, value: str) -> list[Node]:
        return list(self._consumers.get(value, ()))

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def value(self, name: str) -> Value:
        return self.values[name]

    def ops(self, op: Op) -> list[Node]:
        return [n for n in self.nodes if n.op is op]

    def with_nodes(self, nodes: Iterable[Node], values: Mapping[str, Value] | None = None,
                   **changes: Any) -> Graph:
        """A new graph with these nodes (re-sorted topologically) and unused values dropped."""
        nodes = tuple(nodes)
        vals = dict(self.values if values is None else values)
        used = set(changes.get("inputs", self.inputs)) | set(changes.get("outputs", self.outputs))
        for n in nodes:
            used.update(n.inputs)
            used.update(n.outputs)
        vals = {k: v for k, v in vals.items() if k in used}
        g = replace(self, nodes=nodes, values=vals, **changes)
        return replace(g, nodes=topological(g))

    def add_note(self, note: str) -> Graph:
        return replace(self, notes=self.notes + (note,))

    def to_networkx(self) -> nx.DiGraph:
        """Nodes are IR node names (attr `node`), edges follow values (attr `value`)."""
        dg = nx.DiGraph()
        for n in self.nodes:
            dg.add_node(n.name, node=n, op=n.op.value)
        for n in self.nodes:
            for v in n.inputs:
                p = self.producer(v)
                if p is not None:
                    dg.add_edge(p.name, n.name, value=v)
        return dg


def topological(g: Graph) -> tuple[Node, ...]:
    """Nodes in a deterministic topological order (ties keep the current order).

    Node names must be unique (the verifier's first check); a graph with repeated names
    or a cycle is returned in its given order for the verifier to report.
    """
    names = [n.name for n in g.nodes]
    if len(set(names)) != len(names):
        return g.nodes
    dg = g.to_networkx()
    order = {name: i for i, name in enumerate(names)}
    try:
        sorted_names = list(nx.lexicographical_topological_sort(dg, key=lambda name: order[name]))
    except nx.NetworkXUnfeasible:
        return g.nodes
    by_name = {n.name: n for n in g.nodes}
    return tuple(by_name[name] for name in sorted_names)
