"""fuse_epilogues: fold BatchNormalization, bias and ReLU into the layer before them.

After this pass a CONV (and a graph AGGREGATE, per feature) carries `affine=(a, b)` (float64 per output channel: y = a·(W x) + b)
and `relu`; a weight's `channel_scale` (an exporter's folded BatchNorm) moves into `a`. An
ADD followed by a ReLU carries `relu=True`. BatchNorm and ReLU nodes whose input comes from
another op (or that feed several consumers before fusion) stay as they are; code
generation rejects them with a clear message.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from seedcc.ir import Graph, Node, Op


def _single_consumer(g: Graph, value: str) -> Node | None:
    cons = g.consumers(value)
    return cons[0] if len(cons) == 1 and value not in g.outputs else None


def fuse_epilogues(g: Graph) -> Graph:
    replaced: dict[str, Node] = {}  # old node name -> fused node
    dropped: set[str] = set()
    for n in g.nodes:
        if n.name in dropped:
            continue
        if n.op in (Op.CONV, Op.AGGREGATE):
            w = n.attrs.get("weight")
            o = w.shape[0] if w is not None else g.values[n.output].shape[-1]
            a = np.ones(o) if w is None or w.channel_scale is None else np.asarray(w.channel_scale, np.float64)
            b = np.zeros(o) if n.attrs.get("bias") is None else n.attrs["bias"].astype(np.float64)
            out, relu = n.output, False
            nxt = _single_consumer(g, out)
            if nxt is not None and nxt.op is Op.BATCHNORM:
                s = nxt.attrs["gamma"] / np.sqrt(nxt.attrs["var"] + nxt.attrs["eps"])
                a, b = a * s, (b - nxt.attrs["mean"]) * s + nxt.attrs["beta"]
                dropped.add(nxt.name)
                out, nxt = nxt.output, _single_consumer(g, nxt.output)
            if nxt is not None and nxt.op is Op.RELU:
                relu = True
                dropped.add(nxt.name)
                out = nxt.output
            weight = {} if w is None else {"weight": replace(w, channel_scale=None)}
            replaced[n.name] = Node(n.op, n.name, n.inputs, (out,),
                                    {**n.attrs, **weight, "bias": None, "affine": (a, b), "relu": relu})
        elif n.op is Op.ADD and not n.attrs.get("relu"):
            nxt = _single_consumer(g, n.output)
            if nxt is not None and nxt.op is Op.RELU:
                dropped.add(nxt.name)
                replaced[n.name] = Node(Op.ADD, n.name, n.inputs, nxt.outputs, {"relu": True})
    nodes = [replaced.get(n.name, n) for n in g.nodes if n.name not in dropped]
    return g.with_nodes(nodes)
