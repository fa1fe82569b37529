"""Mutation classes of programs (config, manifest, instructions, sections, bytes; the
checksum recomputed where a crafted program is meant), input and calibration files, and
paths that are not regular files."""

from __future__ import annotations

import hashlib
import io
import json
import random
import zipfile
from collections.abc import Callable

import numpy as np

from seedcc.backends import isa
from seedcc.backends import program as program_io

from .base import (
    WEIRD_FLOATS,
    Case,
    Seeds,
    byte_mutation,
    mutate_json,
    npy_bytes,
    weird_array,
)


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
                doc = mutate_json(doc, rnd)
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
            doc = mutate_json(doc, rnd)
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
                # written into the word's bits directly: values the encoder would refuse
                # (outside a field's valid range) are exactly what the loader must reject
                word = int.from_bytes(words[i], "little")
                mask = ((1 << f.width) - 1) << f.lo
                word = (word & ~mask) | ((v & ((1 << f.width) - 1)) << f.lo)
                words[i] = word.to_bytes(isa.WORD_BYTES, "little")
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
