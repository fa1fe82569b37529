"""The instruction set, defined once as data.

Every instruction is one 256-bit word, stored as 32 little-endian bytes. Bits 0..7 hold
the opcode; each opcode's fields follow from bit 8 upwards in table order, so bit ranges
are derived from the widths below and nothing else. The encoder, decoder, disassembler,
the reference model's dispatch (``exec_<name>``), the cycle model (``seedcc.backends.timing``)
and the generated Verilog header (``rtl_models/isa.vh``) all come from ``OPCODES``.
Semantics of every instruction: docs/isa.md.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from seedcc.errors import ProgramFormatError

WORD_BITS = 256
WORD_BYTES = WORD_BITS // 8
OPCODE_BITS = 8

# DMA memory spaces (field `space`).
SPACE_ACT, SPACE_MASK, SPACE_PARAM = 0, 1, 2
SPACES = {"act": SPACE_ACT, "mask": SPACE_MASK, "param": SPACE_PARAM}


@dataclass(frozen=True)
class Field:
    name: str
    lo: int
    width: int
    signed: bool
    doc: str

    @property
    def hi(self) -> int:
        return self.lo + self.width - 1

    def check(self, opname: str, value: int) -> int:
        """Range-check `value` and return its unsigned bit pattern."""
        lo, hi = (-(1 << (self.width - 1)), (1 << (self.width - 1)) - 1) if self.signed else (
            0, (1 << self.width) - 1)
        if not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"{opname}.{self.name}={value!r} out of range [{lo}, {hi}]")
        return value & ((1 << self.width) - 1)


@dataclass(frozen=True)
class Opcode:
    name: str
    code: int
    fields: tuple[Field, ...]
    doc: str

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")


def _opcode(name: str, code: int, doc: str, *spec: tuple[str, int, str] | tuple[str, int, str, bool]) -> Opcode:
    lo, out = OPCODE_BITS, []
    for item in spec:
        fname, width, fdoc = item[:3]
        signed = bool(item[3]) if len(item) > 3 else False
        out.append(Field(fname, lo, width, signed, fdoc))
        lo += width
    assert lo <= WORD_BITS, f"{name} needs {lo} bits"
    return Opcode(name, code, tuple(out), doc)


_DMA = (
    ("space", 2, "0 act, 1 mask, 2 param"),
    ("sram_addr", 24, "on-chip byte address"),
    ("dram_addr", 32, "off-chip byte address"),
    ("length", 24, "bytes"),
)
_IN = ("in_addr", 24, "act SRAM byte address of the input tensor (C, H, W)")
_POOL = (
    ("in_addr", 24, "act SRAM byte address of the input (C, H, W)"),
    ("out_addr", 24, "act SRAM byte address of the output (C, OH, OW)"),
    ("channels", 16, "C"),
    ("in_h", 12, "H"), ("in_w", 12, "W"), ("out_h", 12, "OH"), ("out_w", 12, "OW"),
    ("kh", 5, "window height"), ("kw", 5, "window width"),
    ("stride_h", 4, "vertical stride"), ("stride_w", 4, "horizontal stride"),
    ("pad_t", 3, "top padding"), ("pad_l", 3, "left padding"),
)

#: The instruction table. Codes are stable: append, never renumber.
OPCODES: tuple[Opcode, ...] = (
    _opcode("HALT", 0x00, "stop; the program is done"),
    _opcode("DMA_LOAD", 0x01, "copy `length` bytes from off-chip memory to an on-chip SRAM", *_DMA),
    _opcode("DMA_STORE", 0x02, "copy `length` bytes from an on-chip SRAM to off-chip memory", *_DMA),
    _opcode(
        "SETGEN", 0x03, "load lane start states 0..count-1 from the param SRAM (8 bytes each)",
        ("gen_id", 2, "generator: 0 xorshift16, 1 xorshift32, 2 counter-based"),
        ("param_addr", 16, "param SRAM byte address of the state table (8-byte aligned)"),
        ("count", 8, "lanes to load (<= LANES)"),
    ),
    _opcode(
        "MAC", 0x04,
        "masked MAC of one channel block: acc[oc][p] (+)= sum_i,k sign*code*act over the "
        "output pixels pix_start..pix_start+pix_count-1, lanes restarted every pixel tile",
        _IN,
        ("acc_addr", 20, "acc SRAM word address; acc[acc_addr + oc*pix_count + p]"),
        ("in_c", 16, "input channels I"),
        ("in_h", 12, "H"), ("in_w", 12, "W"), ("out_w", 12, "OW (pixel p -> oy=p//OW, ox=p%OW)"),
        ("kh", 5, "kernel height"), ("kw", 5, "kernel width"),
        ("stride_h", 4, "vertical stride"), ("stride_w", 4, "horizontal stride"),
        ("pad_t", 3, "top padding"), ("pad_l", 3, "left padding"),
        ("oc_count", 16, "output channels of this block (<= 16*LANES)"),
        ("pix_start", 20, "first output pixel (row-major over OH, OW)"),
        ("pix_count", 20, "output pixels"),
        ("mask_addr", 24, "mask SRAM byte address of this block's rows"),
        ("code_bits", 3, "bits per mask code: 1 binary, 2+ multicoat"),
        ("stored_signs", 1, "1: sign bits are stored before each mask row (no generator)"),
        ("accumulate", 1, "1: add to the accumulators instead of overwriting"),
    ),
    _opcode(
        "REQ", 0x05,
        "requantise accumulators to int8: out = sat8(relu?((acc+bias)*mult >>r shift))",
        ("acc_addr", 20, "acc SRAM word address"),
        ("out_addr", 24, "act SRAM byte address of out[0][0]"),
        ("oc_count", 16, "channels"),
        ("pix_count", 20, "pixels per channel"),
        ("out_plane", 20, "act SRAM bytes between consecutive output channels"),
        ("param_addr", 16, "param SRAM byte address: per channel int32 bias, int16 mult, uint8 shift, pad"),
        ("relu", 1, "1: clamp negatives to 0 before saturation"),
    ),
    _opcode(
        "ADD", 0x06, "residual add: out = sat8(relu?((a*mult_a + b*mult_b) >>r shift))",
        ("a_addr", 24, "act SRAM byte address of a"),
        ("b_addr", 24, "act SRAM byte address of b"),
        ("out_addr", 24, "act SRAM byte address of out"),
        ("length", 24, "elements"),
        ("mult_a", 16, "multiplier of a", True),
        ("mult_b", 16, "multiplier of b", True),
        ("shift", 6, "rounding right shift"),
        ("relu", 1, "1: clamp negatives to 0"),
    ),
    _opcode("MAXPOOL", 0x07, "max over each window (padding never wins)", *_POOL),
    _opcode(
        "AVGPOOL", 0x08, "out = sat8((sum over window * mult) >>r shift); no padding",
        *_POOL,
        ("mult", 16, "multiplier (1/window and the scale change)", True),
        ("shift", 6, "rounding right shift"),
    ),
)

BY_NAME: Mapping[str, Opcode] = MappingProxyType({op.name: op for op in OPCODES})
BY_CODE: Mapping[int, Opcode] = MappingProxyType({op.code: op for op in OPCODES})


@dataclass(frozen=True)
class Instruction:
    """A decoded instruction: opcode name and every field value."""

    op: str
    fields: Mapping[str, int]

    def __getattr__(self, name: str) -> int:
        try:
            return self.fields[name]
        except KeyError:
            raise AttributeError(name) from None

    def __str__(self) -> str:
        return disassemble_one(self)


def make(op: str, **values: int) -> Instruction:
    """Build an instruction; omitted fields are 0, unknown fields are an error."""
    spec = BY_NAME[op]
    names = {f.name for f in spec.fields}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"{op} has no field(s) {sorted(unknown)}; fields: {sorted(names)}")
    full = {}
    for f in spec.fields:
        v = values.get(f.name, 0)
        try:
            full[f.name] = operator.index(v)
        except TypeError:
            raise ValueError(f"{op}.{f.name}={v!r} is not an integer") from None
    for f in spec.fields:
        f.check(op, full[f.name])
    return Instruction(op, MappingProxyType(full))


def encode(instr: Instruction) -> bytes:
    spec = BY_NAME[instr.op]
    word = spec.code
    for f in spec.fields:
        word |= f.check(spec.name, instr.fields[f.name]) << f.lo
    return word.to_bytes(WORD_BYTES, "little")


def decode(raw: bytes, where: str = "instruction") -> Instruction:
    if len(raw) != WORD_BYTES:
        raise ProgramFormatError(f"{where}: expected {WORD_BYTES} bytes, got {len(raw)}")
    word = int.from_bytes(raw, "little")
    code = word & ((1 << OPCODE_BITS) - 1)
    spec = BY_CODE.get(code)
    if spec is None:
        raise ProgramFormatError(f"{where}: unknown opcode 0x{code:02x}")
    values = {}
    used = (1 << OPCODE_BITS) - 1
    for f in spec.fields:
        v = (word >> f.lo) & ((1 << f.width) - 1)
        if f.signed and v >> (f.width - 1):
            v -= 1 << f.width
        values[f.name] = v
        used |= ((1 << f.width) - 1) << f.lo
    if word & ~used:
        raise ProgramFormatError(f"{where}: {spec.name} has bits set outside its fields")
    return Instruction(spec.name, MappingProxyType(values))


def encode_stream(instrs: list[Instruction] | tuple[Instruction, ...]) -> bytes:
    return b"".join(encode(i) for i in instrs)


def decode_stream(raw: bytes) -> tuple[Instruction, ...]:
    if len(raw) % WORD_BYTES:
        raise ProgramFormatError(f"instruction stream of {len(raw)} bytes is not a multiple of {WORD_BYTES}")
    return tuple(decode(raw[i:i + WORD_BYTES], f"instruction {i // WORD_BYTES}")
                 for i in range(0, len(raw), WORD_BYTES))


def disassemble_one(instr: Instruction) -> str:
    args = " ".join(f"{k}={v}" for k, v in instr.fields.items())
    return f"{instr.op:<9} {args}".rstrip()


def disassemble(instrs: tuple[Instruction, ...] | list[Instruction]) -> str:
    width = len(str(max(len(instrs) - 1, 0)))
    return "\n".join(f"{i:>{width}}: {disassemble_one(ins)}" for i, ins in enumerate(instrs))
