"""Loading an ONNX model: read, reject unsupported ops up front, check, infer shapes,
and split the graph into its constant part (folded here) and its dynamic part."""

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
from seedcc.errors import BadInputError, UnsupportedOpError
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
    reject_unsupported(model, where)
    check_opsets(model, where)
    check_graph(model, where)
    try:
        onnx.checker.check_model(model)
        model = shape_inference.infer_shapes(model, strict_mode=True, check_type=True)
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
