"""Validating an ONNX model at the boundary, before the front end works on it.

`onnx_load.load` runs these checks in order, each raising a `BadInputError` (exit 2) whose
one sentence names the model, the node, tensor or field at fault and what to do:

1. `check_text` — every name and text field is valid UTF-8 (a byte-corrupted file).
2. `check_opsets` — the model imports the standard ONNX domain at an opset seedcc and
   onnxruntime know (`MIN_OPSET`..`MAX_OPSET`), and every node is a standard ONNX op.
3. `check_graph` — the graph has inputs and outputs, they are float32 tensors, and every
   initializer has a numeric type seedcc reads, its data inside the file.
4. onnx's own checker with strict shape and type inference (in `onnx_load.load`).
5. `check_outputs` — no graph output is a constant; `check_shapes` — every activation
   with a known shape is non-empty, and the constants to fold fit the memory limit
   (`seedcc.limits`).
6. `check_constants` — after folding, every constant a dynamic node reads is a finite
   real number array.

Op-specific attribute rules (a Conv's `kernel_shape` against its weight, BatchNorm
variances, window sizes) live with the op in `seedcc.ir.ops`, whose `from_onnx` and
`infer` raise named errors.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import onnx
from onnx import TensorProto

from seedcc.errors import BadInputError
from seedcc.limits import check_memory

#: the default-domain opsets accepted: onnxruntime's oldest supported opset, and the newest
#: one the installed onnx defines (its checker, shape inference and reference evaluator
#: must know every op; onnxruntime supports the same opset as the onnx it ships against)
MIN_OPSET = 7
MAX_OPSET = onnx.defs.onnx_opset_version()
ONNX_DOMAINS = ("", "ai.onnx")

#: initializer element types numpy and onnx's reference evaluator read exactly
NUMERIC_TYPES = frozenset({
    TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BOOL,
    TensorProto.INT8, TensorProto.INT16, TensorProto.INT32, TensorProto.INT64,
    TensorProto.UINT8, TensorProto.UINT16, TensorProto.UINT32, TensorProto.UINT64,
})


def type_name(elem_type: int) -> str:
    try:
        return TensorProto.DataType.Name(elem_type)
    except ValueError:
        return f"unknown type {elem_type}"


# -- 1. text -------------------------------------------------------------------------------
def _text_fields(msg: onnx.ModelProto, path: str) -> Iterable[str]:
    """Read every string field of `msg` and its sub-messages; yield the path of each that is
    not valid UTF-8. Numeric and bytes fields (tensor data) are not touched."""
    for fd in msg.DESCRIPTOR.fields:
        if fd.type not in (fd.TYPE_STRING, fd.TYPE_MESSAGE):
            continue
        repeated = fd.is_repeated if hasattr(fd, "is_repeated") else fd.label == fd.LABEL_REPEATED
        if fd.type == fd.TYPE_MESSAGE:
            if repeated:
                for i, sub in enumerate(getattr(msg, fd.name)):
                    yield from _text_fields(sub, f"{path}.{fd.name}[{i}]")
            elif msg.HasField(fd.name):
                yield from _text_fields(getattr(msg, fd.name), f"{path}.{fd.name}")
            continue
        # protobuf decodes a string field when it is read: invalid UTF-8 either raises or
        # comes back as bytes, depending on the protobuf runtime
        count = len(getattr(msg, fd.name)) if repeated else 1
        for i in range(count):
            try:
                ok = isinstance(getattr(msg, fd.name)[i] if repeated else getattr(msg, fd.name), str)
            except UnicodeDecodeError:
                ok = False
            if not ok:
                yield f"{path}.{fd.name}[{i}]" if repeated else f"{path}.{fd.name}"


def check_text(model: onnx.ModelProto, where: str) -> None:
    """Every name and text field decodes as UTF-8 (protobuf checks it only when read)."""
    bad = next(iter(_text_fields(model, "model")), None)
    if bad is not None:
        raise BadInputError(f"{where}: field {bad} is not valid UTF-8 text, so the file is "
                            f"corrupted; export the model again")


# -- 2. opsets -----------------------------------------------------------------------------
def _label(node: onnx.NodeProto, index: int) -> str:
    return node.name or f"{node.op_type}_{index}"


def check_opsets(model: onnx.ModelProto, where: str) -> None:
    """The standard domain is imported at a known opset; every node is a standard op."""
    versions = [o.version for o in model.opset_import if o.domain in ONNX_DOMAINS]
    if not versions:
        raise BadInputError(f"{where}: the model imports no standard ONNX opset; export it with "
                            f"an opset between {MIN_OPSET} and {MAX_OPSET}")
    for v in versions:
        if not MIN_OPSET <= v <= MAX_OPSET:
            raise BadInputError(f"{where}: ONNX opset {v} is outside the range seedcc and "
                                f"onnxruntime support ({MIN_OPSET}..{MAX_OPSET}); export the "
                                f"model with an opset in that range")
    for i, node in enumerate(model.graph.node):
        if node.domain not in ONNX_DOMAINS:
            raise BadInputError(f"{where}: node {_label(node, i)} is op {node.op_type!r} of "
                                f"domain {node.domain!r}; seedcc compiles standard ONNX ops only")


# -- 3. graph interface and initializers ---------------------------------------------------
def _tensor_type(vi: onnx.ValueInfoProto) -> int | None:
    return vi.type.tensor_type.elem_type if vi.type.HasField("tensor_type") else None


def check_graph(model: onnx.ModelProto, where: str) -> None:
    """Inputs and outputs are float32 tensors; initializers are numeric and in the file."""
    g = model.graph
    inits = {t.name for t in g.initializer}
    inputs = [vi for vi in g.input if vi.name not in inits]
    if not inputs:
        raise BadInputError(f"{where}: the graph has no inputs (besides initializers); a model "
                            f"for the accelerator takes at least one float32 input")
    if not g.output:
        raise BadInputError(f"{where}: the graph has no outputs; declare the tensor(s) the "
                            f"model computes as graph outputs")
    for kind, infos in (("input", inputs), ("output", g.output)):
        for vi in infos:
            t = _tensor_type(vi)
            if t != TensorProto.FLOAT:
                what = "not a tensor" if t is None else f"of type {type_name(t)}"
                raise BadInputError(f"{where}: graph {kind} {vi.name!r} is {what}; seedcc compiles "
                                    f"models whose inputs and outputs are float32 tensors")
    if len(g.sparse_initializer):
        raise BadInputError(f"{where}: sparse initializer {g.sparse_initializer[0].values.name!r} "
                            f"is not supported; store it as a dense initializer")
    for t in g.initializer:
        if t.data_location == TensorProto.EXTERNAL:
            raise BadInputError(f"{where}: initializer {t.name!r} keeps its data in an external "
                                f"file that was not loaded; save the model with its data inside")
        if t.data_type not in NUMERIC_TYPES:
            raise BadInputError(
                f"{where}: initializer {t.name!r} has type {type_name(t.data_type)}; seedcc reads "
                f"float, integer and bool tensors; convert it (random weights and parameters "
                f"are float32)")


def check_outputs(model: onnx.ModelProto, constant: set[str], where: str) -> None:
    """Every graph output is computed from the graph's inputs (not a constant, which the
    accelerator has no instruction to produce)."""
    for vi in model.graph.output:
        if vi.name in constant:
            raise BadInputError(f"{where}: graph output {vi.name!r} is a constant (it depends on "
                                f"no graph input); remove it from the graph outputs")


# -- 5. shapes -----------------------------------------------------------------------------
def _full_shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...] | None]:
    """Tensor name -> full shape after inference, None where a dimension is unknown."""
    out: dict[str, tuple[int, ...] | None] = {}
    g = model.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        if not vi.type.HasField("tensor_type") or not vi.type.tensor_type.HasField("shape"):
            out[vi.name] = None
            continue
        dims = vi.type.tensor_type.shape.dim
        out[vi.name] = None if any(not d.HasField("dim_value") for d in dims) else tuple(
            d.dim_value for d in dims)
    return out


def check_shapes(model: onnx.ModelProto, const_nodes: list[onnx.NodeProto],
                 dynamic: list[onnx.NodeProto], where: str) -> None:
    """No activation is empty; the constants to fold fit the memory limit."""
    shapes = _full_shapes(model)
    inits = {t.name for t in model.graph.initializer}
    for vi in model.graph.input:
        shape = shapes.get(vi.name)
        if vi.name not in inits and shape is not None and any(d <= 0 for d in shape):
            raise BadInputError(f"{where}: graph input {vi.name!r} has shape {list(shape)} with an "
                                f"empty dimension; every dimension must be at least 1")
    for i, node in enumerate(dynamic):
        for out in node.output:
            shape = shapes.get(out)
            if shape is not None and any(d <= 0 for d in shape[1:]):
                raise BadInputError(
                    f"{where}: node {_label(node, i)} ({node.op_type}) makes {out!r} of shape "
                    f"{list(shape)}, an empty tensor: its input is smaller than its kernel or "
                    f"window; use a larger input or a smaller kernel")
    folded = sum(math.prod(s) for n in const_nodes for o in n.output
                 if (s := shapes.get(o)) is not None)
    check_memory(8 * folded, f"{where}: folding the constant subexpressions")


# -- 6. constants --------------------------------------------------------------------------
def _nonfinite_index(arr: np.ndarray) -> list[int] | None:
    """Index of the first NaN or infinity of a float array, None if there is none."""
    if arr.dtype.kind != "f" or np.isfinite(arr).all():
        return None
    return [int(k) for k in np.argwhere(~np.isfinite(arr))[0]]


def _sources(name: str, producers: dict[str, onnx.NodeProto]) -> list[str]:
    """The tensors a constant is computed from, itself first, walking back through nodes."""
    out, todo = [], [name]
    while todo:
        t = todo.pop()
        if t in out:
            continue
        out.append(t)
        if t in producers:
            todo.extend(i for i in producers[t].input if i)
    return out


def check_constants(consts: dict[str, np.ndarray], dynamic: Iterable[onnx.NodeProto],
                    where: str, model: onnx.ModelProto | None = None) -> None:
    """Every constant a dynamic node reads is a real number array with finite values; a
    non-finite one names the initializer it comes from (or says the folding overflowed)."""
    producers = {o: n for n in (model.graph.node if model else []) for o in n.output}
    for i, node in enumerate(dynamic):
        for name in node.input:
            if name not in consts:
                continue
            arr = np.asarray(consts[name])
            if arr.dtype.kind not in "biuf":
                raise BadInputError(f"{where}: node {_label(node, i)} reads constant {name!r} of "
                                    f"type {arr.dtype}; it must be a real number tensor")
            if _nonfinite_index(arr) is None:
                continue
            for src in _sources(name, producers):
                idx = _nonfinite_index(np.asarray(consts.get(src, 0.0)))
                if idx is not None and src not in producers:
                    raise BadInputError(
                        f"{where}: initializer {src!r} (read by node {_label(node, i)}) holds "
                        f"{float(np.asarray(consts[src])[tuple(idx)])!r} at index {idx}; weights "
                        f"and parameters must be finite numbers")
            idx = _nonfinite_index(arr)
            raise BadInputError(
                f"{where}: node {_label(node, i)} reads constant {name!r}, which is "
                f"{float(arr[tuple(idx)])!r} at index {idx} (the constant subexpression "
                f"overflows); weights and parameters must be finite numbers")
