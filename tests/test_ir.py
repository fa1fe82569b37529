"""The graph IR: verifier invariants, immutability, queries, networkx view, ordering."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace

import networkx as nx
import numpy as np
import pytest
from conftest import check_snapshot

from seedcc.errors import IRVerificationError
from seedcc.ir import Graph, Node, Op, Value, WeightSpec, format_graph, topological, verify


def weight(o: int = 4, i: int = 3, k: int = 3) -> WeightSpec:
    return WeightSpec(shape=(o, i, k, k), scale=0.25, mask=np.ones((o, i, k, k), np.uint8),
                      record="w.R", generator="xorshift16", seed=1024)


CONV = {"weight": weight(), "stride": (1, 1), "pads": (1, 1, 1, 1), "bias": None}
POOL = {"kernel": (2, 2), "stride": (2, 2), "pads": (0, 0, 0, 0)}


def small_graph() -> Graph:
    """x(3,8,8) -conv-> c -relu-> r; add(r, c) -> s -maxpool-> p -flatten-> f; c -gap-> q.
    Outputs f and q: two branches leave `c`."""
    v = [Value("x", (3, 8, 8)), Value("c", (4, 8, 8)), Value("r", (4, 8, 8)), Value("s", (4, 8, 8)),
         Value("p", (4, 4, 4)), Value("f", (64,)), Value("q", (4, 1, 1))]
    nodes = (
        Node(Op.CONV, "conv", ("x",), ("c",), CONV),
        Node(Op.RELU, "relu", ("c",), ("r",)),
        Node(Op.ADD, "add", ("r", "c"), ("s",)),
        Node(Op.MAXPOOL, "pool", ("s",), ("p",), POOL),
        Node(Op.FLATTEN, "flat", ("p",), ("f",)),
        Node(Op.GLOBALAVGPOOL, "gap", ("c",), ("q",)),
    )
    return Graph("small", {x.name: x for x in v}, nodes, ("x",), ("f", "q"))


def node_swapped(g: Graph, target: str, **changes) -> Graph:
    """`g` with node `target` replaced by a copy with `changes` (no re-sorting)."""
    nodes = tuple(replace(n, **changes) if n.name == target else n for n in g.nodes)
    return replace(g, nodes=nodes)


def value_swapped(g: Graph, name: str, shape: tuple[int, ...]) -> Graph:
    return replace(g, values={**g.values, name: Value(name, shape)})


def test_small_graph_is_valid():
    g = small_graph()
    assert verify(g) is g


# -- verifier: one broken invariant per case, and the words its message must contain -------
BROKEN: dict[str, tuple[Callable[[Graph], Graph], tuple[str, ...]]] = {
    "use_before_def": (
        lambda g: replace(g, nodes=(g.nodes[1], g.nodes[0], *g.nodes[2:])),
        ("'relu'", "(relu)", "'c'", "used before it is defined")),
    "wrong_declared_shape": (
        lambda g: value_swapped(g, "p", (4, 3, 4)),
        ("'pool'", "(maxpool)", "(4, 3, 4)", "[(4, 8, 8)]", "(4, 4, 4)")),
    "input_shape_does_not_fit": (
        lambda g: value_swapped(g, "x", (5, 8, 8)),
        ("'conv'", "(conv)", "[(5, 8, 8)]", "3 input channels")),
    "add_operand_shapes": (
        lambda g: node_swapped(g, "add", inputs=("r", "x")),
        ("'add'", "(add)", "(4, 8, 8)", "(3, 8, 8)", "different shapes")),
    "duplicate_node_name": (
        lambda g: node_swapped(g, "gap", name="pool"),
        ("'pool'", "(globalavgpool)", "duplicate node name")),
    "value_defined_twice": (
        lambda g: node_swapped(g, "gap", outputs=("r",)),
        ("'gap'", "(globalavgpool)", "'r'", "defined twice")),
    "missing_attribute": (
        lambda g: node_swapped(g, "conv", attrs={k: v for k, v in CONV.items() if k != "pads"}),
        ("'conv'", "(conv)", "missing attribute 'pads'")),
    "wrong_arity_add": (
        lambda g: node_swapped(g, "add", inputs=("r",)),
        ("'add'", "(add)", "takes 2 inputs, has 1")),
    "wrong_arity_relu": (
        lambda g: node_swapped(g, "relu", inputs=("c", "x")),
        ("'relu'", "(relu)", "takes 1 inputs, has 2")),
    "two_outputs": (
        lambda g: node_swapped(g, "flat", outputs=("f", "q")),
        ("'flat'", "(flatten)", "exactly one output")),
    "output_without_value": (
        lambda g: replace(g, values={k: v for k, v in g.values.items() if k != "s"}),
        ("'add'", "(add)", "'s'", "no value")),
    "undefined_graph_output": (
        lambda g: replace(g, outputs=("f", "nowhere")),
        ("graph output 'nowhere'", "never defined")),
    "graph_input_without_value": (
        lambda g: replace(g, inputs=("x", "y")),
        ("graph input 'y'", "no value")),
    "cycle": (
        lambda g: node_swapped(g, "conv", inputs=("s",)),
        ("cycle",)),
}


@pytest.mark.parametrize("case", BROKEN)
def test_verifier_names_the_broken_invariant(case):
    breaks, words = BROKEN[case]
    with pytest.raises(IRVerificationError) as e:
        verify(breaks(small_graph()), after="test pass")
    msg = str(e.value)
    assert "after test pass" in msg and "'small'" in msg, msg
    for w in words:
        assert w in msg, (w, msg)


def test_with_nodes_keeps_nodes_whose_names_collide_for_the_verifier():
    """A pass that emits two nodes with one name must get a duplicate-name error, not lose
    a node silently in the topological sort."""
    g = small_graph()
    clash = Node(Op.RELU, "relu", ("c",), ("r2",))
    values = {**g.values, "r2": Value("r2", (4, 8, 8))}
    g2 = g.with_nodes([*g.nodes, clash], values=values, outputs=("f", "q", "r2"))
    assert len(g2.nodes) == len(g.nodes) + 1
    with pytest.raises(IRVerificationError, match="duplicate node name"):
        verify(g2)


# -- immutability ---------------------------------------------------------------------------
def snapshot_of(g: Graph) -> tuple:
    return (g.name, tuple(g.nodes), dict(g.values), g.inputs, g.outputs, g.notes,
            [(n.name, n.inputs, n.outputs, dict(n.attrs)) for n in g.nodes],
            {v: g.producer(v) for v in g.values}, {v: g.consumers(v) for v in g.values})


def test_with_nodes_never_mutates_the_original():
    g = small_graph()
    before = snapshot_of(g)
    shortened = g.with_nodes(g.nodes[:2], outputs=("r",))  # drops nodes and their values
    reordered = g.with_nodes(reversed(g.nodes))
    fused = g.with_nodes([n.with_attrs(relu=True) if n.op is Op.ADD else n for n in g.nodes])
    noted = g.add_note("checked")
    assert snapshot_of(g) == before
    assert set(shortened.values) == {"x", "c", "r"} and len(g.values) == 7
    # re-sorted; gap (independent of the chain after conv) keeps its place before it
    assert [n.name for n in reordered.nodes] == ["conv", "gap", "relu", "add", "pool", "flat"]
    assert fused.node("add").attrs["relu"] is True and "relu" not in g.node("add").attrs
    assert noted.notes == ("checked",) and g.notes == ()
    for h in (shortened, reordered, fused, noted):
        verify(h)


def test_nodes_values_and_attrs_are_read_only():
    g = small_graph()
    with pytest.raises(TypeError):
        g.values["x"] = Value("x", (1,))  # type: ignore[index]
    with pytest.raises(TypeError):
        g.node("conv").attrs["stride"] = (2, 2)  # type: ignore[index]
    with pytest.raises(AttributeError):
        g.nodes[0].name = "other"  # type: ignore[misc]
    attrs = dict(POOL)
    n = Node(Op.MAXPOOL, "p", ("a",), ("b",), attrs)
    attrs["kernel"] = (3, 3)  # the caller's dict is copied, not shared
    assert n.attrs["kernel"] == (2, 2)


# -- queries and views -------------------------------------------------------------------------
def test_producer_and_consumer_queries():
    g = small_graph()
    assert g.producer("x") is None
    assert g.producer("c") is g.node("conv") and g.producer("q") is g.node("gap")
    assert [n.name for n in g.consumers("c")] == ["relu", "add", "gap"]
    assert [n.name for n in g.consumers("r")] == ["add"]
    assert g.consumers("f") == [] and g.consumers("unknown") == []
    g.consumers("c").clear()  # a copy: the index is not exposed
    assert len(g.consumers("c")) == 3
    assert [n.name for n in g.ops(Op.RELU)] == ["relu"]
    with pytest.raises(KeyError):
        g.node("missing")


def test_to_networkx_is_a_dag_with_one_vertex_per_node():
    g = small_graph()
    dg = g.to_networkx()
    assert nx.is_directed_acyclic_graph(dg)
    assert sorted(dg.nodes) == sorted(n.name for n in g.nodes)
    for n in g.nodes:
        assert dg.nodes[n.name]["node"] is n and dg.nodes[n.name]["op"] == n.op.value
    edges = {(a, b): d["value"] for a, b, d in dg.edges(data=True)}
    assert edges == {("conv", "relu"): "c", ("conv", "add"): "c", ("relu", "add"): "r",
                     ("add", "pool"): "s", ("pool", "flat"): "p", ("conv", "gap"): "c"}


# -- ordering --------------------------------------------------------------------------------
def test_topological_order_is_deterministic_and_keeps_ties_in_given_order():
    g = small_graph()
    assert topological(g) == g.nodes  # already sorted: unchanged
    # gap is independent of relu/add/pool/flat: it stays where it is given
    gap_first = (g.nodes[0], g.nodes[5], *g.nodes[1:5])
    assert [n.name for n in topological(replace(g, nodes=gap_first))] == \
        ["conv", "gap", "relu", "add", "pool", "flat"]
    chain = ["conv", "relu", "add", "pool", "flat"]
    for perm in itertools.permutations(g.nodes):
        order = [n.name for n in g.with_nodes(perm).nodes]
        assert order == [n.name for n in g.with_nodes(perm).nodes]  # same input, same order
        # ties are broken by the given order: gap comes right before the first chain node
        # after conv that was given after it
        pos = {n.name: k for k, n in enumerate(perm)}
        later = [x for x in chain[1:] if pos[x] > pos["gap"]]
        expect = list(chain)
        expect.insert(chain.index(later[0]) if later else len(chain), "gap")
        assert order == expect, [n.name for n in perm]


# -- printer ---------------------------------------------------------------------------------
def test_printer_snapshot_of_a_hand_built_graph():
    g = small_graph().add_note("hand built")
    q = replace(g.values["p"], scale=0.0625, dtype="int8")
    g = replace(g, values={**g.values, "p": q})
    check_snapshot("ir_small", format_graph(g))
