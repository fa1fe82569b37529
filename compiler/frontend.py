"""ONNX front end: an ONNX model (path or ModelProto) -> verified IR graph.

Steps, in order: read; reject unsupported ops (all at once, before any other work);
onnx.checker + shape inference; fold constant subexpressions; regenerate every recorded
random tensor and compare bit for bit; lower the dynamic nodes to IR ops, recognising
supermask layers (compiler/supermask.py). DESIGN.md §3 is the input convention.
"""

from __future__ import annotations

import os

import numpy as np
import onnx

from seedcc.compiler.onnx_load import LoadedModel, load, node_label
from seedcc.compiler.records import check_record, read_records
from seedcc.compiler.supermask import Tracer, canonical_weight, extract_weight
from seedcc.errors import BadInputError, ModelStructureError
from seedcc.ir import Graph, Node, Op, Value, infer_shape, verify


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _pads(a: dict, n: int = 2) -> tuple[int, int, int, int]:
    p = list(a.get("pads", [0] * (2 * n)))
    return (int(p[0]), int(p[1]), int(p[2]), int(p[3]))


class _Lowering:
    def __init__(self, lm: LoadedModel):
        self.lm = lm
        self.where = lm.where
        self.records = read_records(lm.model, lm.where)
        self.tracer = Tracer(lm.model, lm.consts, {})
        mul_factors = self.tracer.mask_multiplied()
        for name, rec in self.records.items():
            if name not in lm.consts:
                raise BadInputError(f"{self.where}: record names tensor {name!r}, which is not an initializer")
            canon = check_record(rec, np.asarray(lm.consts[name], np.float32), self.where,
                                 allow_zeros=name not in mul_factors)
            self.tracer.records[name] = (rec, canon)
        self.alias: dict[str, str] = {}
        self.values: dict[str, Value] = {}
        self.nodes: list[Node] = []
        self.used_records: set[str] = set()

    # -- helpers -------------------------------------------------------------------------
    def src(self, name: str) -> str:
        return self.alias.get(name, name)

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

    def emit(self, op: Op, name: str, ins: list[str], out: str, **attrs) -> None:
        ins = [self.src(i) for i in ins]
        shape = infer_shape(op, attrs, [self.values[i].shape for i in ins])
        self.values[out] = Value(out, tuple(int(d) for d in shape), onnx_name=out)
        self.nodes.append(Node(op, name, tuple(ins), (out,), attrs))

    def layer(self, node: onnx.NodeProto, name: str, w_canon: np.ndarray, stride, pads,
              bias: np.ndarray | None, alpha: float = 1.0) -> None:
        wname = node.input[1]
        spec = extract_weight(self.tracer, wname, w_canon, f"{self.where}: node {name}", alpha)
        self.used_records.add(spec.record)
        self.emit(Op.CONV, name, [node.input[0]], node.output[0], weight=spec, stride=stride,
                  pads=pads, bias=None if bias is None else bias.astype(np.float32))

    # -- ops -----------------------------------------------------------------------------
    def lower(self, node: onnx.NodeProto, name: str) -> None:
        a, op, ins = _attrs(node), node.op_type, list(node.input)
        if op == "Identity":
            self.alias[node.output[0]] = self.src(ins[0])
        elif op == "Conv":
            if a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])):
                raise ModelStructureError(f"{self.where}: node {name}: grouped or dilated Conv is not supported")
            if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise ModelStructureError(f"{self.where}: node {name}: auto_pad is not supported; use explicit pads")
            w = self.const(ins[1], name)
            bias = self.const(ins[2], name) if len(ins) > 2 and ins[2] else None
            stride = tuple(int(s) for s in a.get("strides", [1, 1]))
            self.layer(node, name, canonical_weight("Conv", w), stride, _pads(a), bias)
        elif op in ("Gemm", "MatMul"):
            if op == "Gemm" and a.get("transA", 0):
                raise ModelStructureError(f"{self.where}: node {name}: Gemm with transA=1 is not supported")
            w = self.const(ins[1], name)
            if w.ndim != 2:
                raise ModelStructureError(f"{self.where}: node {name}: {op} weight must be 2-D, is {w.shape}")
            wc = canonical_weight(op, w, a.get("transB", 0))
            bias = None
            if op == "Gemm" and len(ins) > 2 and ins[2]:
                bias = np.broadcast_to(self.const(ins[2], name) * a.get("beta", 1.0), (wc.shape[0],))
            self.layer(node, name, wc, (1, 1), (0, 0, 0, 0), bias, float(a.get("alpha", 1.0)))
        elif op == "BatchNormalization":
            if a.get("training_mode", 0):
                raise ModelStructureError(f"{self.where}: node {name}: training-mode BatchNormalization")
            g, b, m, v = (self.const(i, name).astype(np.float64) for i in ins[1:5])
            self.emit(Op.BATCHNORM, name, ins[:1], node.output[0], gamma=g, beta=b, mean=m, var=v,
                      eps=float(a.get("epsilon", 1e-5)))
        elif op == "Add":
            dyn = [i for i in ins if i not in self.lm.consts]
            if len(dyn) == 2:
                self.emit(Op.ADD, name, ins, node.output[0])
            else:
                self.bias_add(node, name, dyn[0], next(i for i in ins if i in self.lm.consts))
        elif op == "Relu":
            self.emit(Op.RELU, name, ins, node.output[0])
        elif op in ("MaxPool", "AveragePool"):
            if a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1, 1])):
                raise ModelStructureError(f"{self.where}: node {name}: {op} with ceil_mode or dilations")
            kernel = tuple(int(k) for k in a["kernel_shape"])
            pads = _pads(a)
            if op == "AveragePool" and any(pads):
                raise ModelStructureError(f"{self.where}: node {name}: padded AveragePool is not supported")
            kind = Op.MAXPOOL if op == "MaxPool" else Op.AVGPOOL
            self.emit(kind, name, ins, node.output[0], kernel=kernel,
                      stride=tuple(int(s) for s in a.get("strides", [1, 1])), pads=pads)
        elif op == "GlobalAveragePool":
            self.emit(Op.GLOBALAVGPOOL, name, ins, node.output[0])
        elif op in ("Flatten", "Reshape"):
            if op == "Flatten" and a.get("axis", 1) != 1:
                raise ModelStructureError(f"{self.where}: node {name}: Flatten must keep the batch axis (axis=1)")
            target = self.sample_shape(node.output[0], name)
            if len(target) == 1:
                self.emit(Op.FLATTEN, name, ins[:1], node.output[0])
            else:
                self.emit(Op.RESHAPE, name, ins[:1], node.output[0], shape=target)
        else:  # pragma: no cover - reject_unsupported ran first
            raise AssertionError(op)

    def bias_add(self, node: onnx.NodeProto, name: str, dyn: str, const: str) -> None:
        """Add(x, constant) right after a layer is that layer's bias (torch's Linear export)."""
        prod = next((n for n in self.nodes if n.outputs[0] == self.src(dyn)), None)
        c = self.const(const, name).astype(np.float32)
        if prod is None or prod.op is not Op.CONV or prod.attrs["bias"] is not None:
            raise ModelStructureError(f"{self.where}: node {name}: Add of a constant is only supported "
                                      f"as the bias of the Conv/Gemm/MatMul right before it")
        o = prod.attrs["weight"].shape[0]
        try:
            bias = np.broadcast_to(c.reshape(-1) if c.size == o else c, (o,)).copy()
        except ValueError:
            raise ModelStructureError(f"{self.where}: node {name}: constant {const!r} of shape {c.shape} "
                                      f"is not a per-channel bias of {o} channels") from None
        self.nodes[self.nodes.index(prod)] = prod.with_attrs(bias=bias)
        self.alias[node.output[0]] = prod.outputs[0]

    def run(self) -> Graph:
        g = self.lm.model.graph
        inputs = [i.name for i in g.input if i.name not in self.lm.consts]
        for i in inputs:
            self.values[i] = Value(i, self.sample_shape(i, "graph input"), onnx_name=i)
        for idx, node in enumerate(self.lm.dynamic):
            self.lower(node, node_label(node, idx))
        outputs = tuple(self.src(o.name) for o in g.output)
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
    return verify(_Lowering(load(source)).run(), after="the ONNX front end")
