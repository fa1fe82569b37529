"""Tests of the .sdc program container (seedcc.backends.program) and of the typed manifest
it carries (seedcc.backends.manifest)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLE_MODELS

from seedcc.backends import isa
from seedcc.backends import program as pio
from seedcc.backends.manifest import SCHEMA_VERSION, Manifest, TensorIO
from seedcc.backends.program import Program
from seedcc.errors import BadInputError, ProgramFormatError
from seedcc.flow import compile_model
from seedcc.models import hidden_fold_cnn
from seedcc.rtl_models.hwconfig import SMALL

EXAMPLES = {**EXAMPLE_MODELS, "hidden_fold_cnn": hidden_fold_cnn}


def sample_program() -> Program:
    instrs = (
        isa.make("DMA_LOAD", space=isa.SPACE_ACT, sram_addr=0, dram_addr=64, length=12),
        isa.make("SETGEN", gen_id=1, param_addr=8, count=2),
        isa.make("ADD", a_addr=0, b_addr=4, out_addr=8, length=4, mult_a=-3, mult_b=700, shift=5,
                 relu=1),
        isa.make("HALT"),
    )
    image = bytes(np.random.default_rng(7).integers(0, 256, 200, dtype=np.uint8))
    manifest = Manifest(model="tiny", inputs=(TensorIO("x", (3, 2, 2), 0.125, 64),),
                        notes=("ünïcode ok",))
    return Program(SMALL, instrs, image, struct.pack("<4f", 1.5, -2.0, 0.25, 3.0), manifest)


def sections(data: bytes) -> tuple[list[bytes], int]:
    """The five section bodies of an .sdc byte string and where the checksum starts."""
    pos, bodies = 10, []
    for _ in range(5):
        (n,) = struct.unpack_from("<Q", data, pos)
        bodies.append(data[pos + 8:pos + 8 + n])
        pos += 8 + n
    return bodies, pos


def container(bodies: list[bytes], version: int = pio.FORMAT_VERSION) -> bytes:
    """An .sdc byte string with a valid checksum around arbitrary section bodies."""
    payload = b"SEEDCC\0\0" + struct.pack("<H", version)
    payload += b"".join(struct.pack("<Q", len(b)) + b for b in bodies)
    return payload + hashlib.sha256(payload).digest()


def test_layout_is_the_documented_one() -> None:
    prog = sample_program()
    data = pio.to_bytes(prog)
    assert data[:8] == b"SEEDCC\0\0" and struct.unpack_from("<H", data, 8)[0] == 3
    bodies, pos = sections(data)
    assert container(bodies) == data
    assert bodies[0] == SMALL.to_json().encode()
    assert bodies[1] == isa.encode_stream(list(prog.instructions))
    assert bodies[2] == prog.image and bodies[3] == prog.float_section
    assert bodies[4] == b'{"checkpoints":[],"float_params":[],"graphs":[],"inputs":[{"channel_scales":[],"dram_addr":64,' \
        b'"name":"x","scale":0.125,"shape":[3,2,2]}],"layers":[],"model":"tiny","notes":' \
        b'["\\u00fcn\\u00efcode ok"],"outputs":[],"schema_version":5,"sram":[]}'
    assert data[pos:] == hashlib.sha256(data[:pos]).digest() and len(data) == pos + 32


def test_round_trip_is_byte_identical(tmp_path: Path) -> None:
    prog = sample_program()
    data = pio.to_bytes(prog)
    assert pio.to_bytes(sample_program()) == data  # deterministic
    back = pio.from_bytes(data)
    assert back == prog
    assert pio.to_bytes(back) == data
    path = tmp_path / "m.sdc"
    pio.save(prog, path)
    assert path.read_bytes() == data
    assert pio.load(path) == prog and pio.load(str(path)) == prog


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.sdc"
    path.write_bytes(b"old contents")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(BadInputError, match=r"cannot write .*m\.sdc.*No space left"):
        pio.save(sample_program(), path)
    assert path.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.sdc"]  # no temp file left
    monkeypatch.undo()
    pio.save(sample_program(), path)
    assert pio.load(path) == sample_program()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.sdc"]


def _cuts() -> list[int]:
    n = len(pio.to_bytes(sample_program()))
    return [0, 4, 8, 9, 10, 15, 30, n // 2, n - 33, n - 32, n - 1]


@pytest.mark.parametrize("cut", _cuts())
def test_truncated_file(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "cut.sdc"
    path.write_bytes(pio.to_bytes(sample_program())[:cut])
    with pytest.raises(ProgramFormatError, match=re.escape(str(path))) as err:
        pio.load(path)
    expected = "not a seedcc program" if cut < 8 else "truncated"
    assert expected in str(err.value)


def test_extra_bytes(tmp_path: Path) -> None:
    path = tmp_path / "long.sdc"
    path.write_bytes(pio.to_bytes(sample_program()) + b"\0")
    with pytest.raises(ProgramFormatError, match="followed by extra bytes"):
        pio.load(path)


def test_every_altered_byte_is_caught() -> None:
    data = pio.to_bytes(sample_program())
    for i in range(10, len(data)):  # past magic and version: each flip must fail
        bad = bytearray(data)
        bad[i] ^= 0x20
        with pytest.raises(ProgramFormatError, match="^program "):
            pio.from_bytes(bytes(bad))


def test_altered_payload_names_the_checksum(tmp_path: Path) -> None:
    data = bytearray(pio.to_bytes(sample_program()))
    data[-40] ^= 1  # inside the manifest
    path = tmp_path / "bad.sdc"
    path.write_bytes(bytes(data))
    with pytest.raises(ProgramFormatError, match=r"bad\.sdc.* fails its sha256 checksum"):
        pio.load(path)


def test_wrong_magic_and_unknown_version(tmp_path: Path) -> None:
    data = pio.to_bytes(sample_program())
    path = tmp_path / "x.sdc"
    path.write_bytes(b"SEEDCX\0\0" + data[8:])
    with pytest.raises(ProgramFormatError, match=r"x\.sdc.* is not a seedcc program"):
        pio.load(path)
    path.write_bytes(data[:8] + struct.pack("<H", 4) + data[10:])
    with pytest.raises(ProgramFormatError, match="format version 4 .* only version 3"):
        pio.load(path)


def test_valid_checksum_bad_section() -> None:
    """A well-formed container whose sections do not decode still fails cleanly."""
    good = pio.to_bytes(sample_program())
    body = bytearray(good[:-32])
    body[10 + 8 + len(SMALL.to_json()) + 8] = 0xEE  # first instruction's opcode byte
    with pytest.raises(ProgramFormatError, match="undecodable instruction stream.*0xee"):
        pio.from_bytes(bytes(body) + hashlib.sha256(bytes(body)).digest())


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="cannot read program file"):
        pio.load(tmp_path / "nope.sdc")
    with pytest.raises(BadInputError, match=r"nodir does not exist"):
        pio.save(sample_program(), tmp_path / "nodir" / "m.sdc")
    assert not (tmp_path / "nodir").exists()


def test_version_1_files_ask_for_a_recompile(tmp_path: Path) -> None:
    """Version 1 had no manifest schema_version; such files are refused before parsing."""
    bodies, _ = sections(pio.to_bytes(sample_program()))
    old = json.loads(bodies[4])
    del old["schema_version"], old["layers"]
    bodies[4] = json.dumps(old, sort_keys=True, separators=(",", ":")).encode()
    path = tmp_path / "old.sdc"
    path.write_bytes(container(bodies, version=1))
    with pytest.raises(ProgramFormatError, match=r"old\.sdc.* has format version 1 but this seedcc "
                       r"reads only version 3; recompile the model"):
        pio.load(path)


def test_version_2_files_ask_for_a_recompile(tmp_path: Path) -> None:
    """Version 2 had the MAC's first pixel as one index (pix_start), so every MAC field after
    it sat elsewhere; such files are refused before their instructions are decoded."""
    bodies, _ = sections(pio.to_bytes(sample_program()))
    path = tmp_path / "v2.sdc"
    path.write_bytes(container(bodies, version=2))
    with pytest.raises(ProgramFormatError, match=r"v2\.sdc.* has format version 2 but this seedcc "
                       r"reads only version 3; recompile the model"):
        pio.load(path)


# -- the manifest ---------------------------------------------------------------------------
@functools.cache
def example_program(name: str) -> Program:
    return compile_model(EXAMPLES[name](), config=SMALL).program


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_example_manifest_round_trips(name: str) -> None:
    prog = example_program(name)
    man = prog.manifest
    assert man.schema_version == SCHEMA_VERSION and man.layers and man.checkpoints
    assert Manifest.from_json(man.to_json()) == man
    assert Manifest.from_dict(json.loads(json.dumps(man.to_dict()))) == man
    data = pio.to_bytes(prog)
    back = pio.from_bytes(data)
    assert back.manifest == man and back == prog and hash(back) == hash(prog)
    assert pio.to_bytes(back) == data


def test_manifest_is_frozen() -> None:
    man = example_program("small_cnn").manifest
    with pytest.raises(AttributeError):
        man.notes = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        man.layers[0].code_bits = 2  # type: ignore[misc]
    with pytest.raises(TypeError, match="must be a Manifest, got dict"):
        Program(SMALL, (), b"", b"", man.to_dict())  # type: ignore[arg-type]


DELETE = object()

#: (path into the manifest JSON of the small_cnn example, new value or DELETE, message)
BAD_MANIFESTS = [
    # wrong type
    (("layers", 3, "code_bits"), "4", "manifest.layers[3].code_bits: expected int, got str"),
    (("layers", 0, "code_bits"), 4.0, "manifest.layers[0].code_bits: expected int, got float"),
    (("inputs", 0, "dram_addr"), True, "manifest.inputs[0].dram_addr: expected int, got bool"),
    (("checkpoints", 1, "scale"), "0.5", "manifest.checkpoints[1].scale: expected float, got str"),
    (("inputs", 0, "shape"), 3, "manifest.inputs[0].shape: expected a list, got int"),
    (("inputs", 0, "shape", 1), None, "manifest.inputs[0].shape[1]: expected int, got null"),
    (("layers", 1, "fold"), [0, 1, 2], "manifest.layers[1].fold: expected a list of 2 items, got 3"),
    (("float_params", 0), [1, 2, 3], "manifest.float_params[0]: expected an object, got list"),
    (("notes",), "one note", "manifest.notes: expected a list, got str"),
    (("model",), None, "manifest.model: expected str, got null"),
    # missing key
    (("layers", 2, "fingerprint"), DELETE, "manifest.layers[2]: missing key 'fingerprint'"),
    (("outputs",), DELETE, "manifest: missing key 'outputs'"),
    (("schema_version",), DELETE, "manifest: missing key 'schema_version'"),
    # unknown key
    (("inputs", 0, "zero_point"), 0,
     "manifest.inputs[0]: unknown key 'zero_point'; valid keys: channel_scales, dram_addr, name, scale, "
     "shape"),
    (("extra",), {}, "manifest: unknown key 'extra'"),
    # unknown schema version
    (("schema_version",), 3, ("manifest.schema_version: this seedcc reads manifest schema 5, "
                              "got 3; recompile the model with this seedcc")),
    (("schema_version",), "4", "manifest.schema_version: this seedcc reads manifest schema 5, got '4'"),
]


def edited_manifest(path: tuple, value: object) -> dict:
    raw = json.loads(example_program("small_cnn").manifest.to_json())
    *parents, last = path
    node = raw
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return raw


@pytest.mark.parametrize("path, value, message", BAD_MANIFESTS,
                         ids=[f"{'.'.join(map(str, p))}" for p, _, _ in BAD_MANIFESTS])
def test_invalid_manifest_names_section_and_key(path: tuple, value: object, message: str) -> None:
    raw = edited_manifest(path, value)
    with pytest.raises(ProgramFormatError) as err:
        Manifest.from_dict(raw)
    assert str(err.value).startswith(message)


def test_invalid_manifest_in_a_file_names_the_file(tmp_path: Path) -> None:
    prog = example_program("small_cnn")
    bodies, _ = sections(pio.to_bytes(prog))
    bodies[4] = json.dumps(edited_manifest(("layers", 3, "code_bits"), "4")).encode()
    path = tmp_path / "edited.sdc"
    path.write_bytes(container(bodies))
    with pytest.raises(ProgramFormatError, match=r"edited\.sdc.* has an invalid manifest: "
                       r"manifest\.layers\[3\]\.code_bits: expected int, got str"):
        pio.load(path)


@pytest.mark.parametrize("body, message", [
    (b"[]", "invalid manifest: manifest: expected an object, got list"),
    (b"{", "invalid manifest: manifest is not valid JSON"),
    (b"\xff", "unreadable manifest section"),
])
def test_manifest_section_that_is_no_manifest(body: bytes, message: str) -> None:
    bodies, _ = sections(pio.to_bytes(sample_program()))
    bodies[4] = body
    with pytest.raises(ProgramFormatError, match=re.escape(message)):
        pio.from_bytes(container(bodies))


def test_manifest_accepts_what_json_cannot_tell_apart() -> None:
    """A JSON integer is a valid float (JSON has one number type); null is a valid optional."""
    raw = edited_manifest(("checkpoints", 0, "scale"), 1)
    raw["layers"][0]["generator"] = raw["layers"][0]["seed"] = None
    man = Manifest.from_dict(raw)
    assert man.checkpoints[0].scale == 1.0 and isinstance(man.checkpoints[0].scale, float)
    assert man.layers[0].generator is None and man.layers[0].seed is None
