"""Tests of the .sdc program container (seedcc.backends.program)."""

from __future__ import annotations

import hashlib
import os
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from seedcc.backends import isa
from seedcc.backends import program as pio
from seedcc.backends.manifest import Manifest, TensorIO
from seedcc.backends.program import Program
from seedcc.errors import BadInputError, ProgramFormatError
from seedcc.rtl_models.hwconfig import SMALL


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


def test_layout_is_the_documented_one() -> None:
    prog = sample_program()
    data = pio.to_bytes(prog)
    assert data[:8] == b"SEEDCC\0\0" and struct.unpack_from("<H", data, 8)[0] == 2
    pos, bodies = 10, []
    for _ in range(5):
        (n,) = struct.unpack_from("<Q", data, pos)
        bodies.append(data[pos + 8:pos + 8 + n])
        pos += 8 + n
    assert bodies[0] == SMALL.to_json().encode()
    assert bodies[1] == isa.encode_stream(list(prog.instructions))
    assert bodies[2] == prog.image and bodies[3] == prog.float_section
    assert bodies[4] == b'{"checkpoints":[],"float_params":[],"inputs":[{"dram_addr":64,' \
        b'"name":"x","scale":0.125,"shape":[3,2,2]}],"layers":[],"model":"tiny","notes":' \
        b'["\\u00fcn\\u00efcode ok"],"outputs":[],"schema_version":1}'
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
    path.write_bytes(data[:8] + struct.pack("<H", 3) + data[10:])
    with pytest.raises(ProgramFormatError, match="format version 3 .* only version 2"):
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
