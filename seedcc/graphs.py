"""Graphs for the graph-network examples and tests, from networkx (no downloads): the
normalised adjacency of a GCN and two semi-supervised node-classification tasks.

A task is (Â, node features (1, nodes, features), labels (nodes,), labelled node ids):
the features are the model's input as seedcc takes it (DESIGN.md §3, graph networks), the
labels of the labelled nodes are what training may see, every other node is a test node.
"""

from __future__ import annotations

from typing import NamedTuple

import networkx as nx
import numpy as np


class NodeTask(NamedTuple):
    adj: np.ndarray  # float32 (nodes, nodes)
    x: np.ndarray  # float32 (1, nodes, features)
    y: np.ndarray  # int64 (nodes,)
    train: np.ndarray  # labelled node ids, sorted

    @property
    def test(self) -> np.ndarray:
        return np.setdiff1d(np.arange(len(self.y)), self.train)


def normalized_adjacency(edges: list[tuple[int, int]] | np.ndarray, nodes: int) -> np.ndarray:
    """Â = D^-1/2 (A + I) D^-1/2 of an undirected graph (Kipf & Welling), float32 (nodes, nodes)."""
    a = np.eye(nodes, dtype=np.float64)
    for i, j in edges:
        if i != j:
            a[i, j] = a[j, i] = 1.0
    d = 1.0 / np.sqrt(a.sum(axis=1))
    return (a * d[:, None] * d[None, :]).astype(np.float32)


def _labelled(y: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False)
                                   for c in np.unique(y)]))


def karate_club(labelled_per_club: int = 3, seed: int = 0) -> NodeTask:
    """Zachary's karate club: 34 members, label = the club after the split (0 Mr. Hi, 1
    Officer), features = one-hot member ids (Kipf & Welling's karate demo)."""
    g = nx.karate_club_graph()
    n = g.number_of_nodes()
    y = np.array([0 if g.nodes[v]["club"] == "Mr. Hi" else 1 for v in range(n)], np.int64)
    train = _labelled(y, labelled_per_club, np.random.default_rng(seed))
    return NodeTask(normalized_adjacency(list(g.edges()), n), np.eye(n, dtype=np.float32)[None], y, train)


def planted_partition(nodes: int = 2000, blocks: int = 4, features: int = 16, labelled: int = 20,
                      p_in: float = 0.02, p_out: float = 0.002, signal: float = 0.3,
                      seed: int = 0) -> NodeTask:
    """A stochastic block model of `blocks` equal blocks (networkx): label = block; a node's
    features are its block's random ±1 centre times `signal` plus N(0, 1) noise, too noisy
    to classify alone, so the neighbourhood carries the information."""
    sizes = [nodes // blocks] * blocks
    p = [[p_in if i == j else p_out for j in range(blocks)] for i in range(blocks)]
    g = nx.stochastic_block_model(sizes, p, seed=seed)
    y = np.repeat(np.arange(blocks), sizes).astype(np.int64)
    rng = np.random.default_rng(seed)
    centres = rng.choice([-1.0, 1.0], size=(blocks, features))
    x = (signal * centres[y] + rng.standard_normal((len(y), features))).astype(np.float32)[None]
    return NodeTask(normalized_adjacency(np.array(g.edges()), len(y)), x, y, _labelled(y, labelled, rng))
