"""Mutation classes of ONNX models: structure, attributes, initializers, shapes, the
random-weight record, opsets, bytes."""

from __future__ import annotations

import json
import random

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from seedcc.compiler.records import RECORD_KEY

from .base import (
    WEIRD_FLOATS,
    WEIRD_INTS,
    WEIRD_JSON,
    Case,
    Seeds,
    byte_mutation,
    compile_case,
    model_copy,
    mutate_json,
    tensor_names,
)

OP_TYPES = ("Relu", "Add", "Mul", "Div", "Conv", "Gemm", "MatMul", "BatchNormalization", "MaxPool",
            "AveragePool", "GlobalAveragePool", "Flatten", "Reshape", "Identity", "Cast",
            "Transpose", "Softmax", "Sigmoid", "Concat", "NoSuchOp")


def model_structure(seeds: Seeds, rnd: random.Random) -> Case:
    m = model_copy(seeds.models[rnd.choice(sorted(seeds.models))])
    g, names = m.graph, tensor_names(model_copy(seeds.models[rnd.choice(sorted(seeds.models))]))
    names += tensor_names(m)
    kind = rnd.randrange(9)
    if kind == 0 and g.node:
        del g.node[rnd.randrange(len(g.node))]
    elif kind == 1 and g.node:
        n = g.node[rnd.randrange(len(g.node))]
        if n.input:
            n.input[rnd.randrange(len(n.input))] = rnd.choice(names)
        else:
            n.input.append(rnd.choice(names))
    elif kind == 2 and g.node:
        g.node[rnd.randrange(len(g.node))].op_type = rnd.choice(OP_TYPES)
    elif kind == 3 and len(g.node) > 1:
        i, j = rnd.sample(range(len(g.node)), 2)
        a, b = onnx.NodeProto(), onnx.NodeProto()
        a.CopyFrom(g.node[i])
        b.CopyFrom(g.node[j])
        g.node[i].CopyFrom(b)
        g.node[j].CopyFrom(a)
    elif kind == 4:
        if g.output and rnd.random() < 0.4:
            del g.output[rnd.randrange(len(g.output))]
        else:  # any tensor as an extra output, mostly with its inferred type
            inferred = onnx.shape_inference.infer_shapes(m)
            infos = {vi.name: vi for vi in list(inferred.graph.value_info) + list(g.input)}
            infos.update({t.name: helper.make_tensor_value_info(t.name, t.data_type, t.dims)
                          for t in g.initializer})
            name = rnd.choice(sorted(infos) if rnd.random() < 0.8 else names)
            if name in infos and rnd.random() < 0.8:
                g.output.append(infos[name])
            else:
                g.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT,
                                                              rnd.choice(([1, 4], ["N", 10]))))
    elif kind == 5 and g.output:
        g.output[0].name = rnd.choice(names)
    elif kind == 6:
        if g.input and rnd.random() < 0.5:
            del g.input[rnd.randrange(len(g.input))]
        else:
            g.input.append(helper.make_tensor_value_info(f"extra{rnd.randrange(3)}",
                                                         TensorProto.FLOAT, [1, 4]))
    elif kind == 7 and g.node:
        n = g.node[rnd.randrange(len(g.node))]
        n.domain = rnd.choice(("com.microsoft", "ai.onnx.ml", "custom", "ai.onnx"))
    elif g.node:
        n = onnx.NodeProto()
        n.CopyFrom(g.node[rnd.randrange(len(g.node))])
        n.output[0] = rnd.choice((n.output[0], n.output[0] + "_dup"))
        n.name += "_dup"
        g.node.insert(rnd.randrange(len(g.node) + 1), n)
    return compile_case("model.structure", m, rnd)


ATTR_NAMES = ("kernel_shape", "pads", "strides", "group", "dilations", "axis", "transA", "transB",
              "alpha", "beta", "epsilon", "training_mode", "ceil_mode", "auto_pad", "to", "perm")


def model_attributes(seeds: Seeds, rnd: random.Random) -> Case:
    m = model_copy(seeds.models[rnd.choice(sorted(seeds.models))])
    if not m.graph.node:
        return compile_case("model.attributes", m, rnd)
    with_attrs = [n for n in m.graph.node if n.attribute]
    n = rnd.choice(with_attrs) if with_attrs and rnd.random() < 0.8 else rnd.choice(m.graph.node)
    kind = rnd.randrange(5)
    if kind == 0 and n.attribute:
        del n.attribute[rnd.randrange(len(n.attribute))]
        return compile_case("model.attributes", m, rnd)
    name = rnd.choice([a.name for a in n.attribute]) if n.attribute and kind > 1 else rnd.choice(
        ATTR_NAMES)
    old = next((helper.get_attribute_value(a) for a in n.attribute if a.name == name), None)
    value_kind = rnd.randrange(5)
    if value_kind == 4 and isinstance(old, list) and old:  # one entry of a list changed
        value = list(old)
        value[rnd.randrange(len(value))] = rnd.choice(WEIRD_INTS)
    elif value_kind == 0:
        value = [rnd.choice(WEIRD_INTS) for _ in range(rnd.choice((0, 1, 2, 3, 4, 6)))]
    elif value_kind == 1:
        value = rnd.choice(WEIRD_INTS)
    elif value_kind == 2:
        value = rnd.choice(WEIRD_FLOATS)
    else:
        value = rnd.choice((b"SAME_UPPER", b"VALID", b"NOTSET", b"\xff\xfe", b""))
    for i, a in enumerate(n.attribute):
        if a.name == name:
            del n.attribute[i]
            break
    n.attribute.append(helper.make_attribute(name, value, attr_type=None if value != [] else
                                             onnx.AttributeProto.INTS))
    return compile_case("model.attributes", m, rnd)


TENSOR_TYPES = (TensorProto.BOOL, TensorProto.INT8, TensorProto.INT64, TensorProto.UINT8,
                TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16, TensorProto.STRING,
                TensorProto.COMPLEX64, TensorProto.FLOAT8E4M3FN, TensorProto.INT4)


def model_initializers(seeds: Seeds, rnd: random.Random) -> Case:
    m = model_copy(seeds.models[rnd.choice(sorted(seeds.models))])
    inits = m.graph.initializer
    if not inits:
        return compile_case("model.initializers", m, rnd)
    t = inits[rnd.randrange(len(inits))]
    a = numpy_helper.to_array(t)
    kind = rnd.randrange(7)
    if kind == 0:
        dtype = rnd.choice(TENSOR_TYPES)
        if dtype == TensorProto.STRING:
            new = helper.make_tensor(t.name, dtype, a.shape, [b"s"] * a.size)
        else:
            np_type = helper.tensor_dtype_to_np_dtype(dtype)
            new = helper.make_tensor(t.name, dtype, a.shape, np.asarray(a).astype(np_type).reshape(-1)
                                     .tolist() if dtype not in (TensorProto.BFLOAT16,
                                                                TensorProto.FLOAT8E4M3FN,
                                                                TensorProto.INT4) else
                                     np.asarray(a, np.float32).reshape(-1).tolist())
        t.CopyFrom(new)
    elif kind == 1:
        b = np.array(a, np.float32, copy=True)
        if b.size:
            b.reshape(-1)[rnd.randrange(b.size)] = rnd.choice(WEIRD_FLOATS)
        t.CopyFrom(numpy_helper.from_array(b, t.name))
    elif kind == 2:
        b = np.full(a.shape, rnd.choice(WEIRD_FLOATS), np.float32)
        t.CopyFrom(numpy_helper.from_array(b, t.name))
    elif kind == 3:
        b = np.asarray(a).reshape(-1)
        shapes = [b.shape, (b.size, 1), (1, *a.shape), a.shape[::-1], (max(b.size - 1, 0),)]
        shape = rnd.choice(shapes)
        t.CopyFrom(numpy_helper.from_array(np.resize(b, shape), t.name))
    elif kind == 4:
        t.name = rnd.choice(tensor_names(m))
    elif kind == 5:
        del inits[rnd.randrange(len(inits))]
    else:
        raw = t.raw_data if t.raw_data else numpy_helper.from_array(a, t.name).raw_data
        t.ClearField("float_data")
        t.raw_data = raw[: rnd.randrange(len(raw) + 1)] if raw else b"\x00"
    return compile_case("model.initializers", m, rnd)


def model_shapes(seeds: Seeds, rnd: random.Random) -> Case:
    m = model_copy(seeds.models[rnd.choice(sorted(seeds.models))])
    vis = list(m.graph.input) + list(m.graph.output)
    vi = rnd.choice(vis)
    tt = vi.type.tensor_type
    kind = rnd.randrange(5)
    if kind == 0 and tt.shape.dim:
        d = tt.shape.dim[rnd.randrange(len(tt.shape.dim))]
        choice = rnd.choice((0, 1, 2, 3, 5, 64, 1000, 100_000, 2**31 - 1, -1, "S"))
        if isinstance(choice, str):
            d.dim_param = choice
        else:
            d.dim_value = choice
    elif kind == 1:
        tt.shape.dim.add().dim_value = rnd.choice((1, 2, 3))
    elif kind == 2 and tt.shape.dim:
        del tt.shape.dim[rnd.randrange(len(tt.shape.dim))]
    elif kind == 3:
        tt.elem_type = rnd.choice(TENSOR_TYPES + (0, 999))
    else:
        tt.ClearField("shape")
    return compile_case("model.shapes", m, rnd)


def model_metadata(seeds: Seeds, rnd: random.Random) -> Case:
    with_record = [k for k in sorted(seeds.models)
                   if any(p.key == RECORD_KEY for p in model_copy(seeds.models[k]).metadata_props)]
    m = model_copy(seeds.models[rnd.choice(with_record or sorted(seeds.models))])
    props = [p for p in m.metadata_props if p.key == RECORD_KEY]
    if not props:
        return compile_case("model.metadata", m, rnd)
    p = props[0]
    kind = rnd.randrange(6)
    if kind in (0, 4):
        p.value = json.dumps(mutate_json(json.loads(p.value), rnd))
    elif kind == 5:  # one field of one tensor's record
        doc = json.loads(p.value)
        rec = doc["tensors"][rnd.choice(sorted(doc["tensors"]))]
        key = rnd.choice(("generator", "seed", "scale", "layout", "freeze"))
        if key == "freeze":
            rec["freeze"] = {k: rnd.choice(WEIRD_JSON + (0, 7, 0.25, 0.5)) for k in
                             rnd.sample(("seed", "prune", "lock"), rnd.randrange(4))}
        else:
            rec[key] = rnd.choice(WEIRD_JSON + ("OI", "IO", "OIHW", "xorshift32", "counter"))
        p.value = json.dumps(doc)
    elif kind == 1:
        doc = json.loads(p.value)
        for _ in range(3):
            doc = mutate_json(doc, rnd)
        p.value = json.dumps(doc)
    elif kind == 2:
        p.value = rnd.choice(("", "{", "[]", "null", "NaN", '{"version": 1}', "x" * 100))
    else:
        m.metadata_props.add(key=RECORD_KEY, value=json.dumps({"version": 1, "tensors": {}}))
    return compile_case("model.metadata", m, rnd)


def model_opset(seeds: Seeds, rnd: random.Random) -> Case:
    m = model_copy(seeds.models[rnd.choice(sorted(seeds.models))])
    kind = rnd.randrange(4)
    if kind == 0:
        m.opset_import[0].version = rnd.choice((0, 1, 6, 7, 9, 11, 13, 17, 21, 28, 29, 30, 1000, -1))
    elif kind == 1:
        m.ir_version = rnd.choice((0, 1, 2, 3, 4, 7, 8, 10, 11, 12, 13, 100))
    elif kind == 2:
        m.opset_import.add(domain=rnd.choice(("com.microsoft", "ai.onnx.ml", "ai.onnx", "x")),
                           version=rnd.choice((1, 3, 17)))
    else:
        del m.opset_import[:]
    return compile_case("model.opset", m, rnd)


def model_bytes(seeds: Seeds, rnd: random.Random) -> Case:
    data = seeds.models[rnd.choice(sorted(seeds.models))]
    if rnd.random() < 0.4:  # corrupt one byte inside a name (invalid UTF-8)
        m = model_copy(data)
        names = [n for n in tensor_names(m) if len(n) > 2]
        name = rnd.choice(names).encode()
        bad = bytearray(name)
        bad[rnd.randrange(len(bad))] = rnd.choice((0xFF, 0xC3, 0x80, 0xFE))
        data = data.replace(name, bytes(bad), rnd.choice((1, -1)))
    else:
        data = byte_mutation(data, rnd)
    return compile_case("model.bytes", data, rnd)
