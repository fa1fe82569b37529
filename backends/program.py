"""A compiled program: hardware config, instruction stream, memory image, manifest.

The manifest is a :class:`~seedcc.backends.manifest.Manifest` (typed, frozen, validated
when loaded; backends/manifest.py describes its fields).

The ``.sdc`` file format (version 3), all integers little-endian::

    b"SEEDCC\\0\\0"                      magic, 8 bytes
    uint16 version                      FORMAT_VERSION
    5 x (uint64 length, bytes)          config JSON (HwConfig.to_json), instruction stream
                                        (isa.encode_stream), memory image, float section,
                                        manifest JSON (Manifest.to_json: sorted keys, no spaces)
    32 bytes                            sha256 of everything before it

Version 3 gives a MAC's first output pixel as coordinates (``start_oy``, ``start_ox``
instead of ``pix_start``), which moves the MAC fields after them, and adds the SYNC
instruction and the ``background`` bit of DMA_LOAD, DMA_STORE and REQ; version 2 added
``schema_version`` to the manifest JSON. Files of an older version do not load (recompile
them).

:func:`to_bytes` is byte-deterministic; :func:`from_bytes` / :func:`load` raise
:class:`~seedcc.errors.ProgramFormatError` for a wrong magic, an unknown version, a
truncated or over-long file, a checksum mismatch, an undecodable section or a manifest
that fails validation, and :func:`save` replaces the target atomically (temp file in the
same directory, then ``os.replace``), so a half-written program never exists under the
target name.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass

from seedcc.backends import isa
from seedcc.backends.config_limits import parse_config
from seedcc.backends.isa import Instruction
from seedcc.backends.manifest import Manifest
from seedcc.errors import BadInputError, ProgramFormatError
from seedcc.files import atomic_write
from seedcc.rtl_models.hwconfig import HwConfig

MAGIC = b"SEEDCC\0\0"
FORMAT_VERSION = 3
SECTIONS = ("config", "instructions", "image", "float section", "manifest")
_VERSION = struct.Struct("<H")
_LENGTH = struct.Struct("<Q")
_DIGEST_BYTES = 32


@dataclass(frozen=True)
class Program:
    """A compiled program. Immutable, so results derived from it (the reference model's
    per-program state) can be cached on the object; equal programs hash alike."""

    config: HwConfig
    instructions: tuple[Instruction, ...]
    image: bytes
    float_section: bytes
    manifest: Manifest

    def __post_init__(self) -> None:
        if not isinstance(self.manifest, Manifest):
            raise TypeError(f"Program.manifest must be a Manifest, got {type(self.manifest).__name__}")
        for name in ("image", "float_section"):
            if type(getattr(self, name)) is not bytes:
                raise TypeError(f"Program.{name} must be bytes, got {type(getattr(self, name)).__name__}")

    def __hash__(self) -> int:
        # Instructions hold a field mapping, which does not hash; their count is enough for a
        # hash consistent with the generated (field by field) equality.
        return hash((self.config, len(self.instructions), self.image, self.float_section,
                     self.manifest))


def to_bytes(program: Program) -> bytes:
    """Serialise ``program`` to the ``.sdc`` format; equal programs give equal bytes."""
    sections = (
        program.config.to_json().encode("utf-8"),
        isa.encode_stream(list(program.instructions)),
        bytes(program.image),
        bytes(program.float_section),
        program.manifest.to_json(),
    )
    parts = [MAGIC, _VERSION.pack(FORMAT_VERSION)]
    for body in sections:
        parts += [_LENGTH.pack(len(body)), body]
    payload = b"".join(parts)
    return payload + hashlib.sha256(payload).digest()


def from_bytes(data: bytes, where: str = "program") -> Program:
    """Parse an ``.sdc`` byte string; ``where`` names the source in error messages."""
    data = bytes(data)
    head = len(MAGIC) + _VERSION.size
    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        raise ProgramFormatError(
            f"{where} is not a seedcc program (it does not start with the magic {MAGIC!r}); "
            "pass a file written by `seedcc compile`")
    if len(data) < head:
        raise ProgramFormatError(f"{where} is truncated: it ends inside the format version field")
    (version,) = _VERSION.unpack_from(data, len(MAGIC))
    if version != FORMAT_VERSION:
        raise ProgramFormatError(
            f"{where} has format version {version} but this seedcc reads only version "
            f"{FORMAT_VERSION}; recompile the model with this seedcc")
    pos, bodies = head, []
    for name in SECTIONS:
        if pos + _LENGTH.size > len(data):
            raise ProgramFormatError(f"{where} is truncated: it ends before the {name} section")
        (length,) = _LENGTH.unpack_from(data, pos)
        pos += _LENGTH.size
        if pos + length > len(data):
            raise ProgramFormatError(
                f"{where} is truncated: its {name} section needs {length} bytes but only "
                f"{len(data) - pos} remain")
        bodies.append(data[pos:pos + length])
        pos += length
    if len(data) - pos != _DIGEST_BYTES:
        state = "truncated" if len(data) - pos < _DIGEST_BYTES else "followed by extra bytes"
        raise ProgramFormatError(
            f"{where} is {state}: expected a {_DIGEST_BYTES}-byte checksum after the sections, "
            f"found {len(data) - pos} bytes")
    if hashlib.sha256(data[:pos]).digest() != data[pos:]:
        raise ProgramFormatError(
            f"{where} fails its sha256 checksum, so it was altered or corrupted; recompile it")
    config_raw, instr_raw, image, float_section, manifest_raw = bodies
    config = parse_config(config_raw, where)  # types, ranges and memory caps
    try:
        instructions = isa.decode_stream(instr_raw)
    except ProgramFormatError as err:
        raise ProgramFormatError(f"{where} has an undecodable instruction stream ({err})") from None
    try:
        manifest = Manifest.from_json(manifest_raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ProgramFormatError(f"{where} has an unreadable manifest section ({err})") from None
    except ProgramFormatError as err:
        raise ProgramFormatError(f"{where} has an invalid manifest: {err}") from None
    return Program(config, instructions, image, float_section, manifest)


def save(program: Program, path: str | os.PathLike[str]) -> None:
    """Write ``program`` to ``path`` atomically (temp file + fsync + ``os.replace``).

    On failure the previous file (if any) is untouched, no temporary file is left, and an
    OS error (missing folder, no permission, disk full) is a BadInputError naming the file.
    """

    data = to_bytes(program)
    atomic_write(path, lambda f: f.write(data))


def load(path: str | os.PathLike[str]) -> Program:
    """Read an ``.sdc`` file; unreadable files raise BadInputError, bad contents ProgramFormatError."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise BadInputError(
            f"cannot read program file {path!r} ({err.strerror or err}); check the path") from None
    return from_bytes(data, where=f"program file {path!r}")
