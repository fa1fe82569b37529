"""What the mutation classes share: the seed files, the case a mutation makes, values
that break things, and byte- and JSON-level mutations."""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass, field

import numpy as np
import onnx


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


def mutate_json(doc: object, rnd: random.Random, depth: int = 0) -> object:
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
            out[key] = mutate_json(doc[key], rnd, depth + 1)
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
            out[i] = mutate_json(out[i], rnd, depth + 1)
        return out
    if isinstance(doc, bool) or not isinstance(doc, (int, float)) or rnd.random() < 0.4:
        return rnd.choice(WEIRD_JSON)
    return rnd.choice(WEIRD_INTS) if isinstance(doc, int) else rnd.choice(WEIRD_FLOATS)
