"""Mutations of seedcc's inputs for fuzzing: ONNX models, programs and input arrays.

Each mutation class is a function `(seeds, rnd) -> Case` that takes a valid seed file from
the corpus (`fuzzing.Corpus`), breaks it one way chosen by `rnd` (a `random.Random`: seeded
by the campaign, driven by hypothesis in the tests) and returns the command to run on it.
The classes, by what they break:

- model.structure, model.attributes, model.initializers, model.shapes, model.metadata,
  model.opset: one field of a valid model (nodes, attributes, tensors, graph input shapes,
  the `seedcc.random_weights` record, opset and IR version);
- model.bytes: the serialized model, byte by byte (flips, insertions, cuts, a name's bytes);
- program.config, program.manifest, program.instructions, program.sections: one part of a
  compiled program, re-serialized with a recomputed checksum (a crafted program);
- program.bytes: the program file byte by byte, checksum recomputed or not;
- input.values, input.structure, input.bytes: the array file given to `run`;
- calib.values: the calibration file given to `compile --calib`;
- paths: a folder, a FIFO or a missing file where a file is expected.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from seedcc.backends import isa
from seedcc.backends import program as program_io
from seedcc.compiler.records import RECORD_KEY


@dataclass(frozen=True)
class Seeds:
    """Valid files to start from: serialized models, programs (with their model's name),
    and a valid input array per program."""

    models: dict[str, bytes]
    programs: dict[str, bytes]
    inputs: dict[str, np.ndarray]  # program name -> a valid float32 input batch


@dataclass(frozen=True)
class Case:
    """One command to run: `argv` refers to files by name; `files` are written first into
    a fresh folder (None: make a folder; "fifo": make a named pipe)."""

    cls: str
    argv: tuple[str, ...]
    files: dict[str, bytes | str | None] = field(default_factory=dict)
    output: str | None = None  # the command's output file, pre-filled to check it is untouched


# -- helpers -------------------------------------------------------------------------------
WEIRD_INTS = (0, 1, 2, 3, -1, -7, 7, 31, 255, 4096, 65535, 100_000, 2**31 - 1, 2**40, 2**63 - 1)
WEIRD_FLOATS = (0.0, -0.0, 1.0, -1.0, 0.5, 1e-45, 1e-30, 1e30, 3.5e38, 1e300, math.inf, -math.inf,
                math.nan)
WEIRD_JSON = (None, True, False, 0, -1, 1.5, 2**70, "x", "", [], {}, [1, 2], {"a": 1}, math.nan,
              math.inf, -math.inf, 1e300)


def model_copy(data: bytes) -> onnx.ModelProto:
    return onnx.ModelProto.FromString(data)


def tensor_names(m: onnx.ModelProto) -> list[str]:
    g = m.graph
    return ([i.name for i in g.input] + [t.name for t in g.initializer]
            + [o for n in g.node for o in n.output] + ["", "nonexistent"])


def compile_case(cls: str, model: onnx.ModelProto | bytes, rnd: random.Random) -> Case:
    """Mostly `compile`; sometimes `verify` (onnxruntime too) or `report` (compile and run)."""
    data = model if isinstance(model, bytes) else model.SerializeToString()
    r = rnd.random()
    if r < 0.06:
        return Case(cls, ("verify", "m.onnx", "--samples", "3", "--config", "small"), {"m.onnx": data})
    if r < 0.1:
        return Case(cls, ("report", "m.onnx", "--config", "small"), {"m.onnx": data})
    argv = ["compile", "m.onnx", "-o", "out.sdc"]
    if r < 0.4:
        argv += ["--config", "small"]
    return Case(cls, tuple(argv), {"m.onnx": data}, "out.sdc")


def weird_array(rnd: random.Random, like: np.ndarray) -> np.ndarray:
    """`like` broken in value, dtype or shape."""
    a = np.array(like, copy=True)
    kind = rnd.randrange(9)
    if kind == 0 and a.size:
        a.reshape(-1)[rnd.randrange(a.size)] = rnd.choice(WEIRD_FLOATS)
    elif kind == 1:
        a = np.full(a.shape, rnd.choice(WEIRD_FLOATS), np.float32)
    elif kind == 2:
        a = a.astype(rnd.choice([np.bool_, np.int8, np.int64, np.uint8, np.float16, np.float64,
                                 np.complex64]))
    elif kind == 3:
        a = a.reshape(-1)[: rnd.randrange(a.size + 1)] if a.size else a
    elif kind == 4:
        a = a[..., None] if rnd.random() < 0.5 else np.asarray(a.reshape(-1)[:1].reshape(()))
    elif kind == 5:
        a = a.astype(np.float64) * rnd.choice((1e39, 1e300, -1e40))
    elif kind == 6:
        a = np.zeros((0, *a.shape[1:]), a.dtype)
    elif kind == 7:
        shape = list(a.shape)
        if shape:
            shape[rnd.randrange(len(shape))] = rnd.choice((1, 2, 3, 7))
        a = np.zeros(shape, np.float32)
    else:
        a = np.array([rnd.choice(["a", "b"])] * max(a.size, 1)).reshape(-1)
    return a


def npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def byte_mutation(data: bytes, rnd: random.Random) -> bytes:
    """Flip, overwrite, insert or delete a few bytes, or cut the file short."""
    out = bytearray(data)
    for _ in range(rnd.choice((1, 1, 2, 4, 16))):
        if not out:
            break
        i = rnd.randrange(len(out))
        kind = rnd.randrange(5)
        if kind == 0:
            out[i] ^= 1 << rnd.randrange(8)
        elif kind == 1:
            out[i] = rnd.choice((0x00, 0xFF, 0x7F, 0x80, rnd.randrange(256)))
        elif kind == 2:
            out[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.choice((1, 3, 8))))
        elif kind == 3:
            del out[i:i + rnd.choice((1, 4, 32))]
        else:
            del out[i:]
    return bytes(out)


# -- models --------------------------------------------------------------------------------
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


def _mutate_json(doc: object, rnd: random.Random, depth: int = 0) -> object:
    """One change somewhere in a JSON document: a key dropped or added, a list entry dropped
    or repeated, or a value replaced by a value of another type or an extreme one. The walk
    goes deeper with high probability, so most changes land on leaves."""
    go_deeper = rnd.random() < (0.97 if depth == 0 else 0.75)
    if isinstance(doc, dict) and doc and go_deeper:
        key = rnd.choice(sorted(doc, key=str))
        out = dict(doc)
        r = rnd.random()
        if r < 0.12:
            del out[key]
        elif r < 0.18:
            out[rnd.choice(("extra", "seed", "scale", "x"))] = rnd.choice(WEIRD_JSON)
        else:
            out[key] = _mutate_json(doc[key], rnd, depth + 1)
        return out
    if isinstance(doc, list) and doc and go_deeper:
        out = list(doc)
        i = rnd.randrange(len(out))
        r = rnd.random()
        if r < 0.12:
            del out[i]
        elif r < 0.2:
            out.append(out[i])
        else:
            out[i] = _mutate_json(out[i], rnd, depth + 1)
        return out
    if isinstance(doc, bool) or not isinstance(doc, (int, float)) or rnd.random() < 0.4:
        return rnd.choice(WEIRD_JSON)
    return rnd.choice(WEIRD_INTS) if isinstance(doc, int) else rnd.choice(WEIRD_FLOATS)


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
        p.value = json.dumps(_mutate_json(json.loads(p.value), rnd))
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
            doc = _mutate_json(doc, rnd)
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


# -- programs ------------------------------------------------------------------------------
def _sections(data: bytes) -> list[bytes]:
    pos, out = 10, []
    for _ in range(5):
        n = int.from_bytes(data[pos:pos + 8], "little")
        out.append(data[pos + 8:pos + 8 + n])
        pos += 8 + n
    return out


def _pack(sections: list[bytes]) -> bytes:
    payload = program_io.MAGIC + (program_io.FORMAT_VERSION).to_bytes(2, "little") + b"".join(
        len(s).to_bytes(8, "little") + s for s in sections)
    return payload + hashlib.sha256(payload).digest()


def run_case(cls: str, seeds: Seeds, name: str, program: bytes, rnd: random.Random,
             inputs: bytes | None = None, suffix: str = ".npy") -> Case:
    """Mostly `run` of `program` on `inputs`; for a changed input sometimes `verify` of the
    program's model on it (onnxruntime too)."""
    x = inputs if inputs is not None else npy_bytes(seeds.inputs[name])
    if inputs is not None and program == seeds.programs[name] and rnd.random() < 0.1:
        return Case(cls, ("verify", "m.onnx", "--input", f"x{suffix}", "--config", "small"),
                    {"m.onnx": seeds.models[name], f"x{suffix}": x})
    argv = ["run", "p.sdc", "--input", f"x{suffix}", "-o", "y.npy"]
    if rnd.random() < 0.25:
        argv += ["--mode", "float"]
    return Case(cls, tuple(argv), {"p.sdc": program, f"x{suffix}": x}, "y.npy")


def _program_case(cls: str, seeds: Seeds, rnd: random.Random,
                  change: Callable[[list[bytes]], None]) -> Case:
    name = rnd.choice(sorted(seeds.programs))
    sections = _sections(seeds.programs[name])
    change(sections)
    if cls == "program.instructions" or rnd.random() < 0.85:
        return run_case(cls, seeds, name, _pack(sections), rnd)
    return Case(cls, ("disasm", "p.sdc", "--manifest"), {"p.sdc": _pack(sections)})


def program_config(seeds: Seeds, rnd: random.Random) -> Case:
    """A program's hardware config changed; sometimes given as `compile --config` instead."""
    if rnd.random() < 0.15:
        cfg = _program_config_case(seeds, rnd).files["p.sdc"]
        return Case("program.config", ("compile", "m.onnx", "--config", "cfg.json", "-o", "out.sdc"),
                    {"m.onnx": seeds.models["tiny"], "cfg.json": _sections(cfg)[0]}, "out.sdc")
    return _program_config_case(seeds, rnd)


def _program_config_case(seeds: Seeds, rnd: random.Random) -> Case:
    def change(s: list[bytes]) -> None:
        if rnd.random() < 0.1:
            s[0] = byte_mutation(s[0], rnd)
            return
        doc = json.loads(s[0])
        if rnd.random() < 0.3:  # fewer fields: what a --config file may give
            for key in rnd.sample(sorted(doc), rnd.randrange(len(doc))):
                del doc[key]
        if rnd.random() < 0.5:
            for _ in range(rnd.choice((1, 1, 2))):
                doc = _mutate_json(doc, rnd)
        else:  # a well-typed size, from tiny to far too large
            doc[rnd.choice(("act_sram_bytes", "mask_sram_bytes", "param_sram_bytes", "acc_sram_words",
                            "instr_words", "lanes", "pixels", "bus_bytes", "dma_latency"))] = rnd.choice(
                (1, 2, 8, 255, 256, 4096, 2**24, 2**26, 2**26 + 1, 2**30, 2**40))
        s[0] = json.dumps(doc).encode()
    return _program_case("program.config", seeds, rnd, change)


def program_manifest(seeds: Seeds, rnd: random.Random) -> Case:
    def change(s: list[bytes]) -> None:
        if rnd.random() < 0.1:
            s[4] = byte_mutation(s[4], rnd)
            return
        doc = json.loads(s[4])
        for _ in range(rnd.choice((1, 1, 2, 3))):
            doc = _mutate_json(doc, rnd)
        s[4] = json.dumps(doc).encode()
    return _program_case("program.manifest", seeds, rnd, change)


def program_instructions(seeds: Seeds, rnd: random.Random) -> Case:
    def change(s: list[bytes]) -> None:
        words = [s[1][i:i + isa.WORD_BYTES] for i in range(0, len(s[1]), isa.WORD_BYTES)]
        kind = rnd.randrange(5)
        if kind == 0 and words:  # one field set to any value its width allows
            i = rnd.randrange(len(words))
            ins = isa.decode(words[i])
            spec = isa.BY_NAME[ins.op]
            if spec.fields:
                f = rnd.choice(spec.fields)
                lo, hi = ((-(1 << (f.width - 1)), (1 << (f.width - 1)) - 1) if f.signed
                          else (0, (1 << f.width) - 1))
                v = rnd.choice((lo, hi, 0, 1, rnd.randint(lo, hi), ins.fields[f.name] + 1))
                v = min(max(v, lo), hi)
                words[i] = isa.encode(isa.make(ins.op, **{**ins.fields, f.name: v}))
        elif kind == 1 and words:
            del words[rnd.randrange(len(words))]
        elif kind == 2 and words:
            i = rnd.randrange(len(words))
            words.insert(rnd.randrange(len(words) + 1), words[i])
        elif kind == 3 and words:  # change the opcode (its fields then mean other things)
            i = rnd.randrange(len(words))
            words[i] = bytes([rnd.choice([op.code for op in isa.OPCODES] + [0x3F])]) + words[i][1:]
        else:
            s[1] = byte_mutation(s[1], rnd)
            return
        s[1] = b"".join(words)
    return _program_case("program.instructions", seeds, rnd, change)


def program_sections(seeds: Seeds, rnd: random.Random) -> Case:
    def change(s: list[bytes]) -> None:
        i = rnd.choice((2, 3))
        kind = rnd.randrange(4)
        if kind == 0:
            s[i] = b""
        elif kind == 1:
            s[i] = s[i][: rnd.randrange(len(s[i]) + 1)]
        elif kind == 2:
            s[i] = s[i] + bytes(rnd.choice((1, 7, 4096)))
        else:
            s[i] = byte_mutation(s[i], rnd) if s[i] else b"\xff"
    return _program_case("program.sections", seeds, rnd, change)


def program_bytes(seeds: Seeds, rnd: random.Random) -> Case:
    name = rnd.choice(sorted(seeds.programs))
    data = byte_mutation(seeds.programs[name], rnd)
    if rnd.random() < 0.5 and len(data) > 42:  # recompute the checksum over the mutated payload
        data = data[:-32] + hashlib.sha256(data[:-32]).digest()
    return run_case("program.bytes", seeds, name, data, rnd)


# -- inputs --------------------------------------------------------------------------------
def input_values(seeds: Seeds, rnd: random.Random) -> Case:
    name = rnd.choice(sorted(seeds.programs))
    x = np.array(seeds.inputs[name], copy=True)
    x.reshape(-1)[rnd.randrange(x.size)] = rnd.choice(WEIRD_FLOATS)
    if rnd.random() < 0.3:
        x = x.astype(np.float64) * rnd.choice((1.0, 1e40, 1e300))
    return run_case("input.values", seeds, name, seeds.programs[name], rnd, npy_bytes(x))


def input_structure(seeds: Seeds, rnd: random.Random) -> Case:
    name = rnd.choice(sorted(seeds.programs))
    x = seeds.inputs[name]
    kind = rnd.randrange(4)
    if kind == 0:
        return run_case("input.structure", seeds, name, seeds.programs[name], rnd,
                        npy_bytes(weird_array(rnd, x)))
    buf = io.BytesIO()
    if kind == 1:
        np.savez(buf, **{rnd.choice(("x", "y", "", "x.npy")): weird_array(rnd, x)})
    elif kind == 2:  # an object array inside the archive (never unpickled)
        with zipfile.ZipFile(buf, "w") as z:
            obj = io.BytesIO()
            np.save(obj, np.array([None, 1.0], dtype=object), allow_pickle=True)
            z.writestr("x.npy", obj.getvalue())
    else:
        np.savez(buf, x=x, extra=x)
    return run_case("input.structure", seeds, name, seeds.programs[name], rnd, buf.getvalue(),
                    ".npz")


def input_bytes(seeds: Seeds, rnd: random.Random) -> Case:
    name = rnd.choice(sorted(seeds.programs))
    if rnd.random() < 0.5:
        data, suffix = byte_mutation(npy_bytes(seeds.inputs[name]), rnd), ".npy"
    else:
        buf = io.BytesIO()
        np.savez_compressed(buf, x=seeds.inputs[name]) if rnd.random() < 0.5 else np.savez(
            buf, x=seeds.inputs[name])
        data, suffix = byte_mutation(buf.getvalue(), rnd), ".npz"
    return run_case("input.bytes", seeds, name, seeds.programs[name], rnd, data, suffix)


def calib_values(seeds: Seeds, rnd: random.Random) -> Case:
    model = rnd.choice([k for k in sorted(seeds.models) if k in seeds.inputs] or sorted(seeds.models))
    like = seeds.inputs.get(model, np.zeros((4, 8), np.float32))
    calib = weird_array(rnd, like) if rnd.random() < 0.8 else like
    return Case("calib.values", ("compile", "m.onnx", "--calib", "c.npy", "-o", "out.sdc"),
                {"m.onnx": seeds.models[model], "c.npy": npy_bytes(calib)}, "out.sdc")


def paths(seeds: Seeds, rnd: random.Random) -> Case:
    model = seeds.models[rnd.choice(sorted(seeds.models))]
    prog = rnd.choice(sorted(seeds.programs))
    x = npy_bytes(seeds.inputs[prog])
    kind = rnd.randrange(7)
    cases = [
        (("compile", "m.onnx", "-o", "out.sdc"), {"m.onnx": None}),
        (("compile", "m.onnx", "-o", "out.sdc"), {"m.onnx": "fifo"}),
        (("compile", "nope.onnx", "-o", "out.sdc"), {}),
        (("compile", "m.onnx", "-o", "dir"), {"m.onnx": model, "dir": None}),
        (("run", "p.sdc", "--input", "x.npy", "-o", "y.npy"), {"p.sdc": None, "x.npy": x}),
        (("run", "p.sdc", "--input", "x.npy", "-o", "y.npy"),
         {"p.sdc": seeds.programs[prog], "x.npy": "fifo"}),
        (("compile", "m.onnx", "--config", "cfg.json", "-o", "out.sdc"),
         {"m.onnx": model, "cfg.json": rnd.choice((None, "fifo", b"{", b'{"lanes": 1e9}',
                                                   b'{"act_sram_bytes": 1099511627776}'))}),
    ]
    argv, files = cases[kind]
    out = "out.sdc" if "out.sdc" in argv else ("y.npy" if "y.npy" in argv else None)
    return Case("paths", argv, files, out)


#: every mutation class, by name
CLASSES: dict[str, Callable[[Seeds, random.Random], Case]] = {
    "model.structure": model_structure,
    "model.attributes": model_attributes,
    "model.initializers": model_initializers,
    "model.shapes": model_shapes,
    "model.metadata": model_metadata,
    "model.opset": model_opset,
    "model.bytes": model_bytes,
    "program.config": program_config,
    "program.manifest": program_manifest,
    "program.instructions": program_instructions,
    "program.sections": program_sections,
    "program.bytes": program_bytes,
    "input.values": input_values,
    "input.structure": input_structure,
    "input.bytes": input_bytes,
    "calib.values": calib_values,
    "paths": paths,
}
