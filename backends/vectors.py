"""Testbench vectors: everything the RTL testbench needs to run one program on one sample.

``write_vectors(program, inputs, out_dir)`` writes (docs/rtl.md "Vectors"):

- ``program.hex``  the instruction stream, one 256-bit word a line (64 hex digits, most
                   significant first, i.e. ``int.from_bytes(encoded, "little")``);
- ``dram.hex``     the off-chip memory image, one byte a line from address 0 (``$readmemh``
                   format): the program's memory image with each input sample written at
                   its manifest ``dram_addr``, zero-extended to cover every output;
- ``out<k>.hex``   the expected bytes of output k (one a line) — read back from its
                   ``dram_addr`` after HALT;
- ``vectors.json`` the manifest: format version, hardware config (and its Verilog
                   parameters), inputs and outputs (name, dram_addr, length, shape, file;
                   an output's word_bytes: 1, or 4 for an int32 output),
                   ``expected_cycles`` and where the expectations came from.

Expectations come from the reference model's integer entry (``refsim.run_int``: int8 in,
the bytes the hardware writes out, int8 or an int32 output's little-endian words, no float
round trip) unless given explicitly
(hand-built programs in tests compute them independently). A program from the compiler
plugs in as is: :func:`load_vectors` reads a directory back for the testbench.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seedcc.backends import refsim
from seedcc.backends.isa import encode
from seedcc.backends.program import Program
from seedcc.errors import BadInputError
from seedcc.ir.ops.base import to_storage
from seedcc.rtl_models import numerics
from seedcc.rtl_models.hwconfig import HwConfig
from seedcc.rtl_models.hwfacts import ACT_MAX, ACT_MIN

FORMAT = "seedcc-vectors"
VERSION = 2  # 2: outputs say their word size (`word_bytes`: 1, or 4 for an int32 output)
MANIFEST = "vectors.json"

Arrays = Mapping[str, np.ndarray] | Sequence[np.ndarray] | np.ndarray


@dataclass(frozen=True)
class OutputVector:
    name: str
    dram_addr: int
    expected: bytes
    shape: tuple[int, ...]
    word_bytes: int = 1  # ACC_BYTES for an int32 output (little-endian words)


@dataclass(frozen=True)
class Vectors:
    """A vector directory read back (what the cocotb testbench consumes)."""

    directory: Path
    config: HwConfig
    words: list[int]
    dram: bytes
    outputs: list[OutputVector]
    expected_cycles: int
    source: str


def _size(shape: Sequence[int]) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _by_name(program: Program, inputs: Arrays) -> dict[str, np.ndarray]:
    names = [d.name for d in program.manifest.inputs]
    if isinstance(inputs, np.ndarray):
        if len(names) != 1:
            raise BadInputError(f"one array given but the program has {len(names)} inputs "
                                f"({', '.join(names) or 'none'}); pass a dict keyed by input name")
        return {names[0]: inputs}
    if isinstance(inputs, Mapping):
        unknown = sorted(set(inputs) - set(names))
        missing = [n for n in names if n not in inputs]
        if unknown or missing:
            raise BadInputError(f"inputs {unknown} are unknown and {missing} missing; the program "
                                f"expects {names}")
        return {n: np.asarray(inputs[n]) for n in names}
    arrays = list(inputs)
    if len(arrays) != len(names):
        raise BadInputError(f"{len(arrays)} input arrays given for {len(names)} program inputs "
                            f"{names}")
    return {n: np.asarray(a) for n, a in zip(names, arrays)}


def quantised_inputs(program: Program, inputs: Arrays) -> dict[str, np.ndarray]:
    """Each input as one int8 sample of its manifest shape (floats are quantised with the
    input's scale exactly as the reference model does; a leading batch axis of 1 is dropped)."""
    out = {}
    by_name = _by_name(program, inputs)
    for d in program.manifest.inputs:
        arr, shape = by_name[d.name], d.shape
        if arr.size != _size(shape):
            raise BadInputError(f"input {d.name!r} has {arr.size} elements, one sample of shape "
                                f"{shape} has {_size(shape)}; vectors hold one sample")
        if arr.dtype.kind == "f":
            arr = numerics.quantize_input(arr.astype(np.float32), d.scale)
        elif arr.dtype != np.int8:
            if arr.min(initial=0) < ACT_MIN or arr.max(initial=0) > ACT_MAX:
                raise BadInputError(f"input {d.name!r} of dtype {arr.dtype} has values "
                                    "outside int8")
            arr = arr.astype(np.int8)
        out[d.name] = arr.reshape(shape)
    return out


def reference_expectations(program: Program, q_inputs: Mapping[str, np.ndarray]
                           ) -> tuple[dict[str, np.ndarray], int]:
    """Expected outputs (int8, or int32 for an output left at accumulator precision) and
    cycles of one sample from the reference model."""
    res = refsim.run_int(program, {name: q[None] for name, q in q_inputs.items()})
    return {name: y[0] for name, y in res.outputs.items()}, res.cycles


def _hex_lines(data: bytes) -> str:
    return "".join(f"{b:02x}\n" for b in data)


def write_vectors(program: Program, inputs: Arrays, out_dir: str | Path, *,
                  expected_outputs: Mapping[str, np.ndarray] | None = None,
                  expected_cycles: int | None = None) -> Path:
    """Write the vector directory for one sample; returns the manifest path.

    `inputs`: one array (single-input programs), a sequence in manifest order, or a dict by
    name; int8 arrays are used as is, float arrays are quantised. `expected_outputs`
    (by output name: int8, or int32 for an int32 output, stored little-endian) and
    `expected_cycles` override the reference model.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = program.config
    if len(program.instructions) > cfg.instr_words:
        raise BadInputError(f"the program has {len(program.instructions)} instructions but the "
                            f"instruction memory holds {cfg.instr_words}")
    q_inputs = quantised_inputs(program, inputs)
    source = "explicit"
    if expected_outputs is None or expected_cycles is None:
        ref_out, ref_cycles = reference_expectations(program, q_inputs)
        if expected_outputs is None:
            expected_outputs, source = ref_out, "refsim"
        if expected_cycles is None:
            expected_cycles = ref_cycles
            source = "refsim" if source == "refsim" else "explicit+refsim cycles"

    man = program.manifest
    end = len(program.image)
    for d in man.inputs + man.outputs:
        end = max(end, d.dram_addr + d.nbytes)
    image = bytearray(program.image) + bytes(end - len(program.image))
    in_entries = []
    for d in man.inputs:
        data = to_storage(q_inputs[d.name][None], d.shape).tobytes()  # the act SRAM's byte order
        image[d.dram_addr:d.dram_addr + len(data)] = data
        in_entries.append({"name": d.name, "dram_addr": d.dram_addr, "length": len(data),
                           "shape": list(d.shape)})
    out_entries = []
    for k, d in enumerate(man.outputs):
        shape = list(d.shape)
        exp = np.asarray(expected_outputs[d.name])
        if exp.size != _size(shape):
            raise BadInputError(f"expected output {d.name!r} has {exp.size} elements, shape "
                                f"{shape} has {_size(shape)}")
        fname = f"out{k}.hex"
        stored = to_storage(exp.astype("<i4" if d.wide else np.int8).reshape(shape)[None], d.shape)
        (out / fname).write_text(_hex_lines(stored.tobytes()))
        out_entries.append({"name": d.name, "dram_addr": d.dram_addr, "length": stored.nbytes,
                            "shape": shape, "word_bytes": stored.itemsize, "file": fname})

    words = [int.from_bytes(encode(ins), "little") for ins in program.instructions]
    (out / "program.hex").write_text("".join(f"{w:064x}\n" for w in words))
    (out / "dram.hex").write_text(_hex_lines(bytes(image)))
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "model": man.model,
        "config": json.loads(cfg.to_json()),
        "verilog_params": cfg.verilog_params(),
        "instructions": len(words),
        "dram_bytes": len(image),
        "inputs": in_entries,
        "outputs": out_entries,
        "expected_cycles": int(expected_cycles),
        "source": source,
    }
    path = out / MANIFEST
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return path


def _read_hex_bytes(path: Path) -> bytes:
    return bytes(int(line, 16) for line in path.read_text().split())


def load_vectors(directory: str | Path) -> Vectors:
    """Read a directory written by :func:`write_vectors`."""
    d = Path(directory)
    try:
        man = json.loads((d / MANIFEST).read_text())
    except FileNotFoundError:
        raise BadInputError(f"{d} is not a vector directory: {MANIFEST} is missing") from None
    if man.get("format") != FORMAT or man.get("version") != VERSION:
        raise BadInputError(f"{d / MANIFEST}: format {man.get('format')!r} version "
                            f"{man.get('version')!r}; expected {FORMAT!r} version {VERSION}")
    cfg = HwConfig.from_json(json.dumps(man["config"]))
    words = [int(line, 16) for line in (d / "program.hex").read_text().split()]
    outputs = [OutputVector(o["name"], int(o["dram_addr"]), _read_hex_bytes(d / o["file"]),
                            tuple(o["shape"]), int(o["word_bytes"])) for o in man["outputs"]]
    return Vectors(d, cfg, words, _read_hex_bytes(d / "dram.hex"), outputs,
                   int(man["expected_cycles"]), man.get("source", ""))
