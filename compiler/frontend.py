"""ONNX front end: an ONNX model (path or ModelProto) -> verified IR graph.

Steps, in order: read; reject unsupported ops (all at once, before any other work);
onnx.checker + shape inference; fold constant subexpressions; regenerate every recorded
random tensor and compare bit for bit; lower the dynamic nodes to IR ops through each op's
`from_onnx` (the op table, `seedcc.ir.ops`), recognising supermask layers
(compiler/supermask.py). DESIGN.md §3 is the input convention.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import onnx

from seedcc.compiler.onnx_load import LoadedModel, load, node_label
from seedcc.compiler.records import check_record, read_records
from seedcc.compiler.supermask import Tracer, canonical_weight, extract_weight
from seedcc.errors import BadInputError, ModelStructureError
from seedcc.ir import Graph, Node, Op, Value, WeightSpec, infer_shape, verify
from seedcc.ir.ops import OpDef, onnx_candidates

ONNX_OPS = onnx_candidates()
F32_MAX = float(np.finfo(np.float32).max)


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def weight_initializers(model: onnx.ModelProto, most: int = 12) -> str:
    """The float initializers that could be weights (2-D or 4-D), for error messages: an
    exporter chooses their names, so a record written before export names none of them."""
    names = [f"{t.name} {list(t.dims)}" for t in model.graph.initializer
             if t.data_type == onnx.TensorProto.FLOAT and len(t.dims) in (2, 4)]
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return (f"the model's weight initializers are: {', '.join(names[:most])}{more} (`seedcc annotate "
            f"--layers` finds each layer's random tensor by value)" if names else
            "the model has no 2-D or 4-D float initializers")


class OnnxContext:
    """What an op's `from_onnx` sees: constants, shapes, weights, and `emit` for IR nodes."""

    def __init__(self, lm: LoadedModel):
        self.lm = lm
        self.where = lm.where
        self.records = read_records(lm.model, lm.where)
        self.tracer = Tracer(lm.model, lm.consts, {})
        mul_factors = self.tracer.mask_multiplied()
        for name, rec in self.records.items():
            if name not in lm.consts:
                raise BadInputError(f"{self.where}: record names tensor {name!r}, which is not an "
                                    f"initializer; {weight_initializers(lm.model)}")
            canon = check_record(rec, np.asarray(lm.consts[name], np.float32), self.where,
                                 allow_zeros=name not in mul_factors)
            self.tracer.records[name] = (rec, canon)
        self.alias_of: dict[str, str] = {}
        # ONNX tensor -> IR value it is the axis swap of (Transpose perm [0, 2, 1] of a
        # rank-2 activation); only `transposable` ops and a Transpose back may read one
        self.swapped: dict[str, str] = {}
        self.values: dict[str, Value] = {}
        self.nodes: list[Node] = []
        self.used_records: set[str] = set()
        # attention heads: ONNX tensor (after aliases) -> (IR value, heads, form), form
        # "split" (T, h, d) after a Reshape, "heads" (h, T, d), "heads_t" (h, d, T), "merged"
        # (T, h, d) after the Transpose back (docs/frontend.md "Transformers")
        self.heads: dict[str, tuple[str, int, str]] = {}
        # a head view multiplied by a constant (SDPA's √scale on Q and on Kᵀ): its factor,
        # which only a MatMul reading the view may take (into its `factor`)
        self.head_scale: dict[str, float] = {}
        self.absorbed: set[int] = set()  # ids of ONNX nodes an earlier op took in (`absorb`)

    # -- helpers -------------------------------------------------------------------------
    def src(self, name: str) -> str:
        return self.alias_of.get(name, name)

    def const(self, name: str, node: str) -> np.ndarray:
        if name not in self.lm.consts:
            raise ModelStructureError(f"{self.where}: node {node}: input {name!r} must be constant")
        return np.asarray(self.lm.consts[name])

    def sample_shape(self, tensor: str, node: str) -> tuple[int, ...]:
        full = self.lm.shapes.get(tensor)
        if full is None or any(d < 0 for d in full[1:]):
            raise ModelStructureError(f"{self.where}: node {node}: shape of {tensor!r} is unknown "
                                      f"after shape inference ({full}); give the model static shapes")
        return tuple(full[1:])

    def attrs(self, node: onnx.NodeProto) -> dict:
        """An ONNX node's attributes by name (for ops that look at their neighbours)."""
        return _attrs(node)

    def is_const(self, name: str) -> bool:
        return name in self.lm.consts

    def producer(self, value: str) -> Node | None:
        """The IR node that computes `value` (after aliases), if any."""
        return next((n for n in self.nodes if n.outputs[0] == self.src(value)), None)

    def consumers(self, tensor: str) -> list[onnx.NodeProto]:
        """The ONNX nodes that read `tensor`."""
        return [n for n in self.lm.dynamic if tensor in n.input]

    def head_view(self, tensor: str, node: str | None = None) -> tuple[str, int, str] | None:
        """The attention-head view `tensor` is, if any. With `node` (a reader that cannot take
        a scaled view), a view carrying a constant factor is a ModelStructureError."""
        t = self.src(tensor)
        if node is not None and self.head_scale.get(t, 1.0) != 1.0:
            raise ModelStructureError(
                f"{self.where}: node {node}: reads {tensor!r}, attention heads multiplied by a "
                f"constant; seedcc takes those only into the MatMul of Q and Kᵀ")
        return self.heads.get(t)

    def emit_heads(self, op: type[OpDef], name: str, ins: list[str], out: str, heads: int, **attrs) -> None:
        """Emit a per-head op; its output is the (h, T, ·) ONNX tensor `out`, held as the
        rank-2 (T, h·) value with head i's features at [i·, (i+1)·) (no ONNX tensor has
        that layout, so per-layer checks skip it)."""
        self.emit(op, name, ins, out, heads=heads, **attrs)
        self.values[out] = replace(self.values[out], onnx_name=None)
        self.heads[out] = (out, heads, "heads")

    def absorb(self, nodes: list[onnx.NodeProto]) -> None:
        """`nodes` (later in the graph) are part of an op already emitted: skip them."""
        self.absorbed.update(id(n) for n in nodes)

    def drop(self, node: Node) -> None:
        """Remove an emitted IR node (its only reader became part of a larger op)."""
        self.nodes.remove(node)
        del self.values[node.outputs[0]]

    def readers(self, tensor: str) -> int:
        """How many ONNX nodes (and graph outputs) read `tensor`."""
        nodes = sum(i == tensor for n in self.lm.dynamic for i in n.input)
        return nodes + sum(o.name == tensor for o in self.lm.model.graph.output)

    def replace(self, old: Node, new: Node) -> None:
        self.nodes[self.nodes.index(old)] = new

    def alias(self, out: str, src: str) -> None:
        """`out` is the same tensor as `src` (Identity, a bias folded into its layer)."""
        self.alias_of[out] = self.src(src)

    def swap(self, out: str, src: str, name: str) -> None:
        """`out` is `src` with its two axes swapped (a (1, N, F) tensor transposed to
        (1, F, N)); swapping back gives `src` again."""
        src = self.src(src)
        if src in self.swapped:
            self.alias(out, self.swapped[src])
        elif len(self.values[src].shape) == 2:
            self.swapped[out] = src
        else:
            raise ModelStructureError(
                f"{self.where}: node {name}: Transpose of the activation {src!r} of shape "
                f"{self.values[src].shape} (per sample) is not supported; only swapping the two "
                f"axes of a (1, nodes, features) tensor around BatchNormalization/Relu")

    def emit(self, op: type[OpDef], name: str, ins: list[str], out: str, **attrs) -> None:
        ins = [self.src(i) for i in ins]
        heads = [i for i in ins if i in self.heads]
        if heads and not attrs.get("heads"):
            raise ModelStructureError(
                f"{self.where}: node {name} ({op.name}) reads {heads[0]!r}, a tensor of attention "
                f"heads; seedcc takes those only into MatMul, Softmax over the keys, a constant "
                f"scale right after the scores, and the Transpose/Reshape that merge the heads")
        swapped = [i for i in ins if i in self.swapped]
        if swapped:  # run the op on the unswapped values; its output is swapped in turn
            activations = [i for i in ins if i in self.values or i in self.swapped]
            if not op.transposable or len(swapped) != len(activations):
                raise ModelStructureError(
                    f"{self.where}: node {name} ({op.name}) reads {swapped[0]!r}, a (1, features, "
                    f"nodes) transpose of a graph activation; seedcc takes those only into "
                    f"BatchNormalization, Relu and Add, then a Transpose back")
            inner = out + "#unswapped"  # no ONNX tensor holds it: per-layer checks skip it
            self.emit(op, name, [self.swapped.get(i, i) for i in ins], inner, **attrs)
            self.values[inner] = replace(self.values[inner], onnx_name=None)
            self.swapped[out] = inner
            return
        kind = Op(op.name)
        shapes = [self.values[i].shape for i in ins]
        try:
            shape = infer_shape(kind, attrs, shapes)
        except ValueError as e:
            raise ModelStructureError(f"{self.where}: node {name} ({op.name}) cannot take inputs of "
                                      f"shape {', '.join(map(str, shapes))}: {e}") from None
        self.values[out] = Value(out, tuple(int(d) for d in shape), onnx_name=out)
        self.nodes.append(Node(kind, name, tuple(ins), (out,), attrs))

    def weight(self, node: onnx.NodeProto, name: str, w: np.ndarray, trans_b: int = 0,
               alpha: float = 1.0) -> WeightSpec:
        """The layer weight of `node` (its folded value `w`): which record and mask feed it."""
        canon = canonical_weight(node.op_type, w, trans_b)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # checked below
            spec = extract_weight(self.tracer, node.input[1], canon, f"{self.where}: node {name}", alpha)
        effective_scale = abs(spec.scale * spec.multiplier)
        if not effective_scale <= F32_MAX or (spec.dense is not None and not np.isfinite(spec.dense).all()):
            raise ModelStructureError(f"{self.where}: node {name}: its weight times its scalar factors "
                                      f"(alpha, constants) overflows float32")
        self.used_records.add(spec.record)
        return spec

    # -- ops -----------------------------------------------------------------------------
    def lower(self, node: onnx.NodeProto, name: str) -> None:
        if id(node) in self.absorbed:
            return
        if node.op_type == "Identity":
            self.alias(node.output[0], node.input[0])
            return
        # reject_unsupported ran first; the first op in table order that claims the node
        ops = ONNX_OPS[node.op_type]
        op = next((o for o in ops if o.spec.claims(self, node)), ops[-1])
        op.spec.from_onnx(self, node, name, _attrs(node))

    def run(self) -> Graph:
        g = self.lm.model.graph
        inputs = [i.name for i in g.input if i.name not in self.lm.consts]
        for i in inputs:
            self.values[i] = Value(i, self.sample_shape(i, "graph input"), onnx_name=i)
        for idx, node in enumerate(self.lm.dynamic):
            self.lower(node, node_label(node, idx))
        outputs = tuple(self.src(o.name) for o in g.output)
        for o, v in zip(g.output, outputs):  # an aliased output keeps the graph output's name
            if o.name != v and o.name not in self.swapped:
                self.values[v] = replace(self.values[v], onnx_name=o.name)
        for o in outputs:
            if o in self.swapped:
                raise ModelStructureError(f"{self.where}: graph output {o!r} is a (1, features, nodes) "
                                          f"transpose of a graph activation; output the (1, nodes, "
                                          f"features) tensor instead")
        notes = []
        layers = [n.attrs["weight"] for n in self.nodes if n.op is Op.CONV]
        stored = [w for w in layers if not w.regenerated]
        if not self.records:
            notes.append(f"no {'seedcc.random_weights'} record: all {len(layers)} layer weights are stored")
        if stored:
            kinds = {k: sum(w.kind == k for w in stored) for k in ("stored-ternary", "dense")}
            notes.append(f"stored weights: {kinds['stored-ternary']} ternary layer(s) packed as sign+mask, "
                         f"{kinds['dense']} dense layer(s)")
        unused = sorted(set(self.records) - self.used_records)
        if unused:
            notes.append(f"records not used by any layer: {', '.join(unused)}")
        name = g.name or os.path.basename(self.where)
        return Graph(name, self.values, tuple(self.nodes), tuple(inputs), outputs, tuple(notes))


def import_onnx(source: str | os.PathLike | onnx.ModelProto) -> Graph:
    """Lower an ONNX model to a verified IR graph (DESIGN.md §3)."""
    return verify(OnnxContext(load(source)).run(), after="the ONNX front end")
