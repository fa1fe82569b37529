"""Loading an ONNX model: read, evaluate shape subgraphs statically, reject unsupported
ops up front, check, infer shapes, and split the graph into its constant part (folded
here) and its dynamic part."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference
from onnx.reference import ReferenceEvaluator

from seedcc.compiler.validate import (
    check_constants,
    check_graph,
    check_opsets,
    check_outputs,
    check_shapes,
    check_text,
)
from seedcc.errors import BadInputError, ModelStructureError, UnsupportedOpError
from seedcc.files import check_input_file
from seedcc.ir.ops import onnx_ops

#: ops that may consume activations: every ONNX spelling in the op table, and Identity;
#: any op may appear in constant subgraphs (folded here)
DYNAMIC_OPS = frozenset(onnx_ops()) | {"Identity"}


@dataclass(frozen=True)
class LoadedModel:
    model: onnx.ModelProto  # shape-inferred
    where: str  # file name or "<model>" for error messages
    consts: dict[str, np.ndarray]  # every constant tensor: initializers and folded subexpressions
    dynamic: tuple[onnx.NodeProto, ...]  # nodes that touch activations, in graph order
    shapes: dict[str, tuple[int, ...]]  # tensor -> full shape (batch axis first)


def read_model(source: str | os.PathLike | onnx.ModelProto) -> tuple[onnx.ModelProto, str]:
    if isinstance(source, onnx.ModelProto):
        return source, f"model {source.graph.name or '<unnamed>'}"
    path = check_input_file(source, "ONNX model", "pass the path of an .onnx model")
    try:
        return onnx.load(path), path
    except Exception as e:  # protobuf raises several unrelated types
        raise BadInputError(f"{path}: not a readable ONNX model ({type(e).__name__}: {e})") from None


def unique_labels(model: onnx.ModelProto) -> None:
    """Give every node a unique name (ONNX allows empty and repeated ones), in place."""
    seen: set[str] = set()
    for i, node in enumerate(model.graph.node):
        base = node.name or f"{node.op_type}_{i}"
        label, k = base, 1
        while label in seen:
            k += 1
            label = f"{base}_{k}"
        seen.add(label)
        node.name = label


def node_label(node: onnx.NodeProto, index: int) -> str:
    return node.name or f"{node.op_type}_{index}"


def split_constant(model: onnx.ModelProto) -> tuple[set[str], list[onnx.NodeProto], list[onnx.NodeProto]]:
    """Constant tensor names, constant nodes, dynamic nodes (a node is constant when all of
    its inputs are constant)."""
    const = {t.name for t in model.graph.initializer}
    const_nodes, dyn_nodes = [], []
    for node in model.graph.node:
        if all(i in const for i in node.input if i):
            const_nodes.append(node)
            const.update(o for o in node.output if o)
        else:
            dyn_nodes.append(node)
    return const, const_nodes, dyn_nodes


def _batch_free_shapes(model: onnx.ModelProto) -> dict[str, tuple[list[int | None], int]]:
    """tensor -> (full shape, None for a symbolic dim; ONNX element type) where known."""
    try:
        inferred = shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - an invalid model is reported by the checker later
        inferred = model
    g = inferred.graph
    out = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        tt = vi.type.tensor_type
        if tt.HasField("shape"):
            out[vi.name] = ([d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim],
                            tt.elem_type)
    return out


def static_shapes(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    """Evaluate shape subgraphs statically: `Shape`/`Size` of an activation become constants
    computed from its per-sample shape (a symbolic batch axis counts as 1), and
    `CastLike(constant, activation)` (which reads only the activation's type) becomes a
    `Cast`. Exporters build such chains from the runtime batch size (torch's
    `x.view(x.size(0), -1)`, a zero bias `Expand`ed to the weight's shape).

    A value that depends on the batch size may only be the target shape of a Reshape, at
    its first (batch) element: the chain is evaluated for batch 1 and 2 and any other
    difference is a ModelStructureError naming the node that uses it. Returns the model
    itself when it has no such chain, else a rewritten copy.
    """
    while True:  # folding one chain can make the shape of a later activation known
        folded = _fold_shape_chains(model, where)
        if folded is model:
            return model
        model = folded


def _fold_shape_chains(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    """One round of `static_shapes` over the sources whose activation shape is known now;
    the model itself when there are none."""
    const, _, _ = split_constant(model)
    known = _batch_free_shapes(model)
    sources = [n for n in model.graph.node
               if (n.op_type in ("Shape", "Size") and n.input[0] not in const
                   and n.input[0] in known and None not in known[n.input[0]][0][1:])
               or (n.op_type == "CastLike" and n.input[0] in const and n.input[1] not in const
                   and known.get(n.input[1], (None, 0))[1])]
    if not sources:
        return model
    variants = []
    for batch in (1, 2):
        m = onnx.ModelProto.FromString(model.SerializeToString())
        for node in m.graph.node:
            if node.name not in {n.name for n in sources}:
                continue
            shape, elem = known.get(node.input[1] if node.op_type == "CastLike" else node.input[0],
                                    (None, 0))
            if node.op_type == "CastLike":
                if not elem:
                    continue
                new = onnx.helper.make_node("Cast", [node.input[0]], list(node.output), name=node.name, to=elem)
            else:
                if shape is None or any(d is None for d in shape[1:]):
                    continue  # left dynamic: reported as an unsupported op, with its node
                dims = [batch if shape[0] is None else shape[0], *shape[1:]]
                a = {x.name: onnx.helper.get_attribute_value(x) for x in node.attribute}
                if node.op_type == "Shape":
                    value = np.array(dims[a.get("start", 0):a.get("end", len(dims))], np.int64)
                else:
                    value = np.array(int(np.prod(dims)), np.int64)
                new = onnx.helper.make_node("Constant", [], list(node.output), name=node.name,
                                            value=numpy_helper.from_array(value))
            node.CopyFrom(new)
        variants.append(m)
    values, batched = _check_batch_use(variants, model, where)
    out = variants[0]
    _, _, dyn = split_constant(out)
    for node in dyn:  # constants as initializers, so shape inference sees Reshape targets
        for j, name in enumerate(node.input):
            if name in values:
                value = values[name]
                if name in batched:  # the batch element of a Reshape target or an Expand's shape
                    value = np.concatenate([[_batch_element(node, value)], value[1:]]).astype(value.dtype)
                    for attr in node.attribute:
                        if attr.name == "allowzero":
                            attr.i = 0
                static = f"{name}#static"
                out.graph.initializer.append(numpy_helper.from_array(value, static))
                node.input[j] = static
    return out


def _batch_element(node: onnx.NodeProto, value: np.ndarray) -> int:
    """What stands for the batch-dependent first element of a Reshape target or Expand shape
    in the static model: an Expand keeps the input's dim (1); a Reshape infers it (-1) when
    no other element is -1 (so a multiple of the batch, heads folded into it, is right too),
    else copies the input's (0)."""
    if node.op_type == "Expand":
        return 1
    return -1 if -1 not in value[1:] else 0


def _check_batch_use(variants: list[onnx.ModelProto], original: onnx.ModelProto,
                     where: str) -> tuple[dict[str, np.ndarray], set[str]]:
    """The values the shape chains compute for batch 1, and which of them depend on the batch
    (after checking that those are only Reshape targets, batch first)."""
    const_before, _, _ = split_constant(original)
    values = []
    for m in variants:
        _, const_nodes, _ = split_constant(m)
        producer = {o: n for n in const_nodes for o in n.output}
        need = {id(n): n for n in const_nodes if any(o not in const_before for o in n.output)}
        todo = list(need.values())
        while todo:  # the constant nodes those new ones read
            for name in todo.pop().input:
                p = producer.get(name)
                if p is not None and id(p) not in need:
                    need[id(p)] = p
                    todo.append(p)
        chain = [n for n in const_nodes if id(n) in need]
        folded = fold_constants(m, chain) if chain else {}
        values.append({n: np.asarray(v) for n, v in folded.items() if n not in const_before})
    differ = {k for k in values[0] if k in values[1] and not np.array_equal(values[0][k], values[1][k])}
    if not differ:
        return values[0], differ
    _, _, dyn = split_constant(variants[0])
    for i, node in enumerate(dyn):
        for j, name in enumerate(node.input):
            if name not in differ:
                continue
            a, b = values[0][name], values[1][name]
            attrs = {x.name: onnx.helper.get_attribute_value(x) for x in node.attribute}
            zeros = bool(attrs.get("allowzero")) and bool((a[1:] == 0).any())  # a literal 0-size axis
            multiple = (a[0], b[0]) == (1, 2) or (node.op_type == "Reshape" and -1 not in a[1:]
                                                   and a[0] > 0 and b[0] == 2 * a[0])
            if (node.op_type in ("Reshape", "Expand") and j == 1 and a.ndim == 1 and len(a) > 1 and not zeros
                    and multiple and np.array_equal(a[1:], b[1:])):
                continue
            raise ModelStructureError(
                f"{where}: node {node_label(node, i)} ({node.op_type}) uses {name!r}, which is computed "
                f"from the runtime batch size; seedcc runs samples one by one and accepts a batch-size "
                f"value (or a multiple of it in a Reshape) only as the first element of a Reshape's "
                f"target shape or an Expand's shape")
    return values[0], differ


def reject_unsupported(model: onnx.ModelProto, where: str) -> None:
    """One error listing every node that uses an op seedcc cannot run on activations."""
    _, _, dyn = split_constant(model)
    bad = [(n.op_type, node_label(n, i)) for i, n in enumerate(dyn) if n.op_type not in DYNAMIC_OPS]
    if bad:
        ops = sorted({op for op, _ in bad})
        listing = "; ".join(f"{op} (node {name})" for op, name in bad)
        raise UnsupportedOpError(
            f"{where}: unsupported ONNX op{'s' if len(ops) > 1 else ''} {', '.join(ops)}: {listing}; "
            f"supported on activations: {', '.join(sorted(DYNAMIC_OPS))}")


def fold_constants(model: onnx.ModelProto, const_nodes: list[onnx.NodeProto]) -> dict[str, np.ndarray]:
    consts = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    if not const_nodes:
        return consts
    outputs = [o for n in const_nodes for o in n.output if o]
    graph = onnx.helper.make_graph(
        const_nodes, "consts", [], [onnx.helper.make_empty_tensor_value_info(o) for o in outputs],
        initializer=list(model.graph.initializer))
    sub = onnx.helper.make_model(graph, opset_imports=model.opset_import, ir_version=model.ir_version)
    values = ReferenceEvaluator(sub).run(None, {})
    consts.update({name: np.asarray(v) for name, v in zip(outputs, values)})
    return consts


def _first_line(e: Exception) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


def load(source: str | os.PathLike | onnx.ModelProto) -> LoadedModel:
    model, where = read_model(source)
    model = onnx.ModelProto.FromString(model.SerializeToString()) if isinstance(source, onnx.ModelProto) else model
    check_text(model, where)
    unique_labels(model)
    model = static_shapes(model, where)
    reject_unsupported(model, where)
    check_opsets(model, where)
    check_graph(model, where)
    try:
        onnx.checker.check_model(model)
        # data propagation: Reshape targets built by (statically evaluated) shape chains
        model = shape_inference.infer_shapes(model, strict_mode=True, check_type=True, data_prop=True)
    except Exception as e:
        raise BadInputError(f"{where}: the ONNX checker rejects the model: {_first_line(e)}") from None
    constant, const_nodes, dyn = split_constant(model)
    check_outputs(model, constant, where)
    check_shapes(model, const_nodes, dyn, where)
    try:
        with np.errstate(all="ignore"):  # overflow to inf is caught by check_constants below
            consts = fold_constants(model, const_nodes)
    except Exception as e:  # noqa: BLE001 - the reference evaluator raises many unrelated types
        raise BadInputError(f"{where}: a constant subexpression cannot be evaluated "
                            f"({type(e).__name__}: {_first_line(e)})") from None
    check_constants(consts, dyn, where, model)
    shapes: dict[str, tuple[int, ...]] = {}
    g = model.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        dims = vi.type.tensor_type.shape.dim
        shapes[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in dims)
    return LoadedModel(model, where, consts, tuple(dyn), shapes)
