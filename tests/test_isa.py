"""The ISA table (seedcc.backends.isa) and the cycle model (seedcc.backends.timing).

Encoding is checked as a round trip over seeded random and extreme field values of every
opcode; the table's layout invariants (opcode byte, disjoint fields, 256-bit word) are
checked on the table itself; the fields that accept fewer values than their bits hold are
listed here by hand against the hardware facts, and every out-of-range value is rejected
by make, encode and decode alike, as is a word that breaks a rule between two fields (MAC
start_ox < out_w, listed here by hand too) or an alignment rule (param SRAM addresses, listed
here by hand too); cycle counts are compared exactly with the formulas of
docs/isa.md "Timing model", written out again here by hand for chosen instructions.
"""

from __future__ import annotations

import random
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

from seedcc.backends import isa, timing
from seedcc.backends.isa import OPCODES, Field, Instruction
from seedcc.errors import ProgramFormatError, SeedccError
from seedcc.rtl_models import hwfacts
from seedcc.rtl_models.generators import GENERATORS
from seedcc.rtl_models.hwconfig import DEFAULT, SMALL
from seedcc.rtl_models.hwfacts import FieldRangeError

OP_NAMES = [op.name for op in OPCODES]
RANDOM_PER_OPCODE = 300
_GEOMETRY = ("kh", "kw", "stride_h", "stride_w")
#: Every field that accepts fewer values than its bits hold, and why (written out by hand).
NARROWED: dict[tuple[str, str], tuple[int, int]] = {
    ("DMA_LOAD", "space"): (0, 2),  # three SRAMs: act, mask, param
    ("DMA_STORE", "space"): (0, 2),
    ("SETGEN", "gen_id"): (0, len(GENERATORS) - 1),  # the generators a lane implements
    ("MAC", "code_bits"): (1, hwfacts.CODE_BITS_MAX),  # a mask code has at least one bit
    ("MAC", "out_w"): (1, 2**12 - 1),  # pixels wrap to the next row at out_w
    **{("MAC", g): (1, 2 ** (5 if g[0] == "k" else 4) - 1) for g in _GEOMETRY},
    **{(op, g): (1, 2 ** (5 if g[0] == "k" else 4) - 1) for op in ("MAXPOOL", "AVGPOOL")
       for g in _GEOMETRY},
    ("LOOP", "iterations"): (1, 2**16 - 1),  # a loop runs its body at least once
    ("LOOP", "body_len"): (1, 2**16 - 1),  # and has one
    # a freeze draw is 16 bits: threshold 0 selects no draw, 65536 every draw
    ("SETFRZ", "prune_thr"): (0, 2**16),
    ("SETFRZ", "lock_thr"): (0, 2**16),
    ("MATMUL", "depth"): (1, 2**16 - 1),  # a product sums at least one term
    ("SOFTMAX", "features"): (1, 2**16 - 1),  # a row has at least one element
    ("LAYERNORM", "features"): (1, 2**12 - 1),  # the bit-serial root covers up to 4095
    ("AGG", "in_nodes"): (1, 2**16 - 1),  # a graph has a node; uint16 column indices
}
#: Every rule between two fields of a word, (opcode, field, bound): field < bound.
BELOW: set[tuple[str, str, str]] = {
    ("MAC", "start_ox", "out_w"),  # the first pixel's column lies inside the output row
}
#: Every alignment rule, (opcode, field, multiple, when): the param SRAM is read and written
#: in 8-byte words (docs/rtl.md "Memories").
ALIGNED: set[tuple[str, str, int, tuple[str, int] | None]] = {
    ("DMA_LOAD", "sram_addr", 8, ("space", isa.SPACE_PARAM)),
    ("DMA_STORE", "sram_addr", 8, ("space", isa.SPACE_PARAM)),
    ("SETGEN", "param_addr", 8, None),
    ("SETFRZ", "param_addr", 8, None),
    ("REQ", "param_addr", 8, None),
    ("LAYERNORM", "param_addr", 8, None),
}


def bit_range(f: Field) -> tuple[int, int]:
    """What a field's bits hold, derived from its width and signedness (not from isa.py)."""
    if f.signed:
        return -(2 ** (f.width - 1)), 2 ** (f.width - 1) - 1
    return 0, 2**f.width - 1


def bounds(op: isa.Opcode, f: Field) -> tuple[int, int]:
    """The valid range of a field: its bit range, or the narrower range of NARROWED."""
    return NARROWED.get((op.name, f.name), bit_range(f))


def lowest(op: isa.Opcode) -> dict[str, int]:
    """Every field at its smallest valid value (0 unless the field is narrowed)."""
    return {f.name: bounds(op, f)[0] for f in op.fields}


def obey_rules(op: isa.Opcode, values: dict[str, int], keep: str | None = None) -> dict[str, int]:
    """``values`` changed as little as possible to keep the rules of BELOW: the bound is
    raised past the field (unless the bound is ``keep``, the field under test), and where it
    cannot be, the field is lowered below it."""
    for name, field, bound in BELOW:
        if name != op.name or values[field] < values[bound]:
            continue
        if keep != bound:
            values[bound] = min(values[field] + 1, bounds(op, op.field(bound))[1])
        values[field] = min(values[field], values[bound] - 1)
    for name, field, multiple, _ in ALIGNED:  # rounded down whether the rule applies or not
        if name == op.name:
            values[field] -= values[field] % multiple
    return values


def field_values(op: isa.Opcode, rng: random.Random) -> list[dict[str, int]]:
    """Extremes (all lowest, all max, all min, one field at an extreme with the rest random)
    followed by RANDOM_PER_OPCODE uniformly random instructions."""
    cases = [lowest(op),
             obey_rules(op, {f.name: bounds(op, f)[1] for f in op.fields}),
             {f.name: bounds(op, f)[0] for f in op.fields}]
    for f in op.fields:
        lo, hi = bounds(op, f)
        for extreme in (lo, hi, -1 if f.signed else min(lo + 1, hi)):
            values = {g.name: rng.randint(*bounds(op, g)) for g in op.fields}
            values[f.name] = extreme
            cases.append(obey_rules(op, values, keep=f.name))
    cases += [obey_rules(op, {f.name: rng.randint(*bounds(op, f)) for f in op.fields})
              for _ in range(RANDOM_PER_OPCODE)]
    return cases


def word(raw: bytes) -> int:
    return int.from_bytes(raw, "little")


# -- round trips ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", OP_NAMES)
def test_encode_decode_round_trip(name: str) -> None:
    op = isa.BY_NAME[name]
    rng = random.Random(f"isa-{name}")
    for values in field_values(op, rng):
        ins = isa.make(name, **values)
        raw = isa.encode(ins)
        assert len(raw) == isa.WORD_BYTES == 32
        back = isa.decode(raw)
        assert back == ins, f"{name} {values}: decoded {dict(back.fields)}"
        assert back.op == name and dict(back.fields) == values
        assert isa.encode(back) == raw
        assert raw[0] == op.code  # the opcode is the low byte


def test_stream_round_trip_mixes_every_opcode() -> None:
    rng = random.Random(7)
    # random LOOPs would have bodies past the end (encode_stream checks loops): left out here
    instrs = [isa.make(op.name, **vals) for op in OPCODES if op.name != "LOOP"
              for vals in field_values(op, rng)[:5]]
    rng.shuffle(instrs)
    raw = isa.encode_stream(instrs)
    assert len(raw) == 32 * len(instrs)
    assert list(isa.decode_stream(raw)) == instrs


def test_field_bits_land_where_the_table_says() -> None:
    """A field at its largest pattern (all ones where valid; below its bound's largest value
    for a field of BELOW), the others at their lowest value (a bound raised above it), sets
    exactly its own bits lo..hi and the others' patterns above the opcode byte."""
    for op in OPCODES:
        for f in op.fields:
            lo, hi = bounds(op, f)
            values = obey_rules(op, lowest(op) | {f.name: -1 if f.signed else hi}, keep=f.name)
            value = values[f.name]  # -1 is all ones in two's complement
            others = op.code
            for g in op.fields:
                if g is not f:
                    others |= (values[g.name] & ((1 << g.width) - 1)) << g.lo
            got = word(isa.encode(isa.make(op.name, **values)))
            assert got == others | ((value & ((1 << f.width) - 1)) << f.lo), f"{op.name}.{f.name}"
            back = isa.decode(isa.encode(isa.make(op.name, **(lowest(op) | {f.name: lo}))))
            assert back.fields[f.name] == lo


def test_omitted_fields_are_zero() -> None:
    ins = isa.make("REQ", oc_count=3)
    assert ins.oc_count == 3 and all(v == 0 for k, v in ins.fields.items() if k != "oc_count")
    assert list(ins.fields) == [f.name for f in isa.BY_NAME["REQ"].fields]
    with pytest.raises(FieldRangeError, match=r"MAC\.out_w=0 out of range \[1, 4095\]"):
        isa.make("MAC", in_c=3)  # omitted is 0, which a narrowed field does not accept


def test_numpy_integers_are_accepted() -> None:
    ins = isa.make("ADD", length=np.int64(9), mult_a=np.int16(-5))
    assert ins.length == 9 and ins.mult_a == -5
    assert isa.decode(isa.encode(ins)) == ins


# -- range and name errors -----------------------------------------------------------------
@pytest.mark.parametrize("name", OP_NAMES)
def test_out_of_range_values_raise_naming_opcode_and_field(name: str) -> None:
    op = isa.BY_NAME[name]
    for f in op.fields:
        lo, hi = bounds(op, f)
        for bad in (hi + 1, lo - 1, hi + 2**40, lo - 2**40):
            with pytest.raises(ValueError, match=rf"\b{name}\.{f.name}\b"):
                isa.make(name, **(lowest(op) | {f.name: bad}))
            # encode checks too: an Instruction built without make() cannot smuggle bits
            # into a neighbouring field, nor a value the hardware does not accept
            fields = lowest(op) | {f.name: bad}
            with pytest.raises(ValueError, match=rf"\b{name}\.{f.name}\b"):
                isa.encode(Instruction(name, MappingProxyType(fields)))


def test_narrowed_fields_are_the_listed_hardware_facts() -> None:
    table = {(op.name, f.name): f.valid for op in OPCODES for f in op.fields if f.limits}
    assert table == NARROWED
    assert isa.BY_NAME["MAC"].field("code_bits").width == hwfacts.CODE_BITS_MAX.bit_length() == 3
    for op in ("ADD", "AVGPOOL"):
        assert isa.BY_NAME[op].field("shift").bit_range == (0, hwfacts.SHIFT_MAX)
    for op, name in (("ADD", "mult_a"), ("ADD", "mult_b"), ("AVGPOOL", "mult")):
        assert isa.BY_NAME[op].field(name).bit_range == (hwfacts.MULT_MIN, hwfacts.MULT_MAX)


@pytest.mark.parametrize("key", sorted(NARROWED), ids=lambda k: ".".join(k))
def test_a_narrowed_field_outside_its_range_is_rejected_everywhere(key) -> None:
    """A value the bits can hold but the hardware does not accept: make and encode raise
    FieldRangeError (a SeedccError and a ValueError), decode raises ProgramFormatError;
    each names the instruction and the field."""
    name, fname = key
    op = isa.BY_NAME[name]
    f = op.field(fname)
    lo, hi = NARROWED[key]
    bad = [v for v in (lo - 1, hi + 1) if bit_range(f)[0] <= v <= bit_range(f)[1]]
    assert bad, key
    for value in bad:
        message = rf"{name}\.{fname}={value} out of range \[{lo}, {hi}\]"
        with pytest.raises(FieldRangeError, match=message) as info:
            isa.make(name, **(lowest(op) | {fname: value}))
        assert isinstance(info.value, SeedccError) and isinstance(info.value, ValueError)
        with pytest.raises(FieldRangeError, match=message):
            isa.encode(Instruction(name, MappingProxyType(lowest(op) | {fname: value})))
        raw = word(isa.encode(isa.make(name, **lowest(op)))) & ~(((1 << f.width) - 1) << f.lo)
        raw |= value << f.lo
        with pytest.raises(ProgramFormatError, match=rf"instruction 7: {message}"):
            isa.decode(raw.to_bytes(32, "little"), "instruction 7")


def test_field_rules_are_the_listed_ones() -> None:
    table = {(op.name, r.field, r.bound) for op in OPCODES for r in op.below}
    assert table == BELOW


@pytest.mark.parametrize("key", sorted(BELOW), ids=lambda k: "<".join(k[1:]))
def test_a_word_that_breaks_a_field_rule_is_rejected_everywhere(key) -> None:
    """field = bound and field > bound, each field in its own range: make and encode raise
    FieldRangeError, decode ProgramFormatError, each naming the instruction and both fields;
    field = bound - 1 is accepted."""
    name, field, bound = key
    op = isa.BY_NAME[name]
    for fv, bv in ((5, 5), (6, 5), (bounds(op, op.field(field))[1], 1)):
        values = lowest(op) | {field: fv, bound: bv}
        message = rf"{name}\.{field}={fv} must be below {name}\.{bound}={bv}"
        with pytest.raises(FieldRangeError, match=message):
            isa.make(name, **values)
        with pytest.raises(FieldRangeError, match=message):
            isa.encode(Instruction(name, MappingProxyType(values)))
        raw = op.code
        for f in op.fields:
            raw |= (values[f.name] & ((1 << f.width) - 1)) << f.lo
        with pytest.raises(ProgramFormatError, match=rf"instruction 7: {message}"):
            isa.decode(raw.to_bytes(32, "little"), "instruction 7")
    ok = isa.make(name, **(lowest(op) | {field: 4, bound: 5}))
    assert isa.decode(isa.encode(ok)) == ok


def test_alignment_rules_are_the_listed_ones() -> None:
    table = {(op.name, a.field, a.multiple, a.when) for op in OPCODES for a in op.aligned}
    assert table == ALIGNED
    assert all(m == hwfacts.PARAM_WORD_BYTES for _, _, m, _ in ALIGNED)


@pytest.mark.parametrize("key", sorted(ALIGNED, key=str), ids=lambda k: ".".join(k[:2]))
def test_a_misaligned_address_is_rejected_everywhere(key) -> None:
    """An address off the param SRAM's word: make and encode raise FieldRangeError, decode
    ProgramFormatError, each naming the instruction and the field; a word's address is
    accepted, and so is any address where the rule does not apply (a DMA to the act SRAM)."""
    name, field, multiple, when = key
    op = isa.BY_NAME[name]
    base = lowest(op) | ({when[0]: when[1]} if when else {})
    for value in (1, multiple - 1, multiple + 4):
        values = base | {field: value}
        message = rf"{name}\.{field}={value} must be a multiple of {multiple}"
        with pytest.raises(FieldRangeError, match=message):
            isa.make(name, **values)
        with pytest.raises(FieldRangeError, match=message):
            isa.encode(Instruction(name, MappingProxyType(values)))
        raw = op.code
        for f in op.fields:
            raw |= (values[f.name] & ((1 << f.width) - 1)) << f.lo
        with pytest.raises(ProgramFormatError, match=rf"instruction 3: {message}"):
            isa.decode(raw.to_bytes(32, "little"), "instruction 3")
    ok = isa.make(name, **(base | {field: 2 * multiple}))
    assert isa.decode(isa.encode(ok)) == ok
    if when:
        other = isa.make(name, **(lowest(op) | {field: 3}))  # space 0: the act SRAM
        assert isa.decode(isa.encode(other)) == other


@pytest.mark.parametrize("bad", [1.5, "5"])
def test_non_integer_values_raise_instead_of_being_truncated(bad: object) -> None:
    """make() must not turn 1.5 into 1 or "5" into 5: Field.check rejects non-integers,
    but make() converts with int() first (a silently truncated address is a wrong program)."""
    with pytest.raises(ValueError, match=r"\bMAC\.in_c\b"):
        isa.make("MAC", in_c=bad)


def test_unknown_field_names_raise() -> None:
    with pytest.raises(ValueError, match="no_such_field"):
        isa.make("MAC", no_such_field=1)
    with pytest.raises(ValueError, match="length"):
        isa.make("HALT", length=1)  # a field of another opcode
    with pytest.raises(KeyError):
        isa.make("NOP")
    with pytest.raises(KeyError, match="no field"):
        isa.BY_NAME["MAC"].field("no_such_field")


def test_decode_of_every_unknown_opcode_raises() -> None:
    known = {op.code for op in OPCODES}
    for code in range(256):
        if code in known:
            continue
        raw = code.to_bytes(1, "little") + bytes(31)
        with pytest.raises(ProgramFormatError, match=f"unknown opcode 0x{code:02x}"):
            isa.decode(raw)


@pytest.mark.parametrize("name", OP_NAMES)
def test_decode_rejects_bits_outside_the_fields(name: str) -> None:
    op = isa.BY_NAME[name]
    used = (1 << isa.OPCODE_BITS) - 1
    for f in op.fields:
        used |= ((1 << f.width) - 1) << f.lo
    free = [b for b in range(isa.WORD_BITS) if not used >> b & 1]
    assert free, f"{name} uses all 256 bits"
    base = word(isa.encode(isa.make(name, **lowest(op))))
    for bit in sorted({free[0], free[len(free) // 2], free[-1]}):
        raw = (base | 1 << bit).to_bytes(32, "little")
        with pytest.raises(ProgramFormatError, match=rf"{name} has bits set outside"):
            isa.decode(raw)


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_decode_rejects_wrong_length(length: int) -> None:
    with pytest.raises(ProgramFormatError, match="expected 32 bytes"):
        isa.decode(bytes(length))


def test_decode_stream_names_the_bad_instruction() -> None:
    raw = isa.encode_stream([isa.make("HALT"), isa.make("HALT")]) + b"\xff" + bytes(31)
    with pytest.raises(ProgramFormatError, match="instruction 2"):
        isa.decode_stream(raw)
    with pytest.raises(ProgramFormatError, match="multiple of 32"):
        isa.decode_stream(bytes(40))


# -- disassembler --------------------------------------------------------------------------
@pytest.mark.parametrize("name", OP_NAMES)
def test_disassembler_prints_every_field_name_and_value(name: str) -> None:
    op = isa.BY_NAME[name]
    rng = random.Random(f"disasm-{name}")
    for values in field_values(op, rng)[:20]:
        ins = isa.make(name, **values)
        text = isa.disassemble_one(ins)
        assert text.split()[0] == name
        tokens = text.split()[1:]
        assert tokens == [f"{f.name}={values[f.name]}" for f in op.fields], text
        assert str(ins) == text


def test_disassemble_numbers_one_line_per_instruction() -> None:
    instrs = [isa.make(op.name, **lowest(op)) for op in OPCODES] * 2
    lines = isa.disassemble(instrs).splitlines()
    assert len(lines) == len(instrs)
    for i, (line, ins) in enumerate(zip(lines, instrs)):
        index, rest = line.split(":", 1)
        assert int(index) == i and rest.split()[0] == ins.op
    assert isa.disassemble([]) == ""


# -- the table's invariants ----------------------------------------------------------------
def test_opcode_codes_and_names_are_unique_and_fit_the_opcode_byte() -> None:
    assert len({op.code for op in OPCODES}) == len(OPCODES)
    assert len(set(OP_NAMES)) == len(OPCODES)
    assert all(0 <= op.code < 2**isa.OPCODE_BITS for op in OPCODES)
    assert isa.WORD_BITS == 256 and isa.OPCODE_BITS == 8
    assert dict(isa.BY_CODE) == {op.code: op for op in OPCODES}


@pytest.mark.parametrize("name", OP_NAMES)
def test_fields_are_disjoint_above_the_opcode_and_fit_256_bits(name: str) -> None:
    op = isa.BY_NAME[name]
    assert len({f.name for f in op.fields}) == len(op.fields), "duplicate field name"
    taken = [False] * isa.WORD_BITS
    for b in range(isa.OPCODE_BITS):
        taken[b] = True
    for f in op.fields:
        assert f.width >= 1, f"{name}.{f.name} has width {f.width}"
        assert f.hi == f.lo + f.width - 1
        where = f"{name}.{f.name} bits {f.lo}..{f.hi}"
        assert isa.OPCODE_BITS <= f.lo and f.hi < isa.WORD_BITS, where
        for b in range(f.lo, f.hi + 1):
            assert not taken[b], f"{name}.{f.name} bit {b} overlaps another field or the opcode"
            taken[b] = True


# -- timing --------------------------------------------------------------------------------
def timing_cases() -> list[tuple[str, object, isa.Instruction, int]]:
    """(id, config, instruction, cycles) with the cycles worked out by hand from docs/isa.md:
    1 issue cycle + the execute cycles of the table. SMALL: PIXELS=4, BUS_BYTES=8,
    DMA_LATENCY=4; DEFAULT: PIXELS=16, BUS_BYTES=16, DMA_LATENCY=8."""
    assert (SMALL.pixels, SMALL.bus_bytes, SMALL.dma_latency) == (4, 8, 4)
    assert (DEFAULT.pixels, DEFAULT.bus_bytes, DEFAULT.dma_latency) == (16, 16, 8)
    m = isa.make
    mac = dict(in_c=3, kh=3, kw=3, stride_h=1, stride_w=1, oc_count=20, in_h=8, in_w=8, out_w=8,
               code_bits=1)
    pool = dict(channels=2, in_h=6, in_w=8, out_h=3, out_w=4, kh=2, kw=2, stride_h=2, stride_w=2)
    return [
        ("HALT", SMALL, m("HALT"), 1),
        ("SYNC", SMALL, m("SYNC"), 1),  # with no transfer in flight
        ("LOOP", SMALL, m("LOOP", iterations=6, body_len=9, dram_stride=272), 1),  # issue only
        ("DMA_LOAD 17 bytes", SMALL, m("DMA_LOAD", space=1, length=17), 1 + 4 + 3),
        ("DMA_LOAD 16 bytes", SMALL, m("DMA_LOAD", length=16), 1 + 4 + 2),
        ("DMA_STORE 0 bytes", SMALL, m("DMA_STORE", length=0), 1 + 4 + 0),
        ("DMA_STORE 33 bytes default", DEFAULT, m("DMA_STORE", length=33), 1 + 8 + 3),
        ("SETGEN 2", SMALL, m("SETGEN", count=2), 1 + 2),
        ("SETFRZ 9 channels", SMALL, m("SETFRZ", channels=9), 1 + 3),  # 4 states per 64-bit read
        ("SETFRZ 256 channels default", DEFAULT, m("SETFRZ", channels=256, lock_thr=2**16), 1 + 64),
        ("MAC 10 px", SMALL, m("MAC", pix_count=10, **mac), 1 + 3 * (27 + 2)),
        ("MAC 8 px", SMALL, m("MAC", pix_count=8, **mac), 1 + 2 * (27 + 2)),
        ("MAC 1 px 1x1", SMALL, m("MAC", pix_count=1, in_c=64, kh=1, kw=1, stride_h=1, stride_w=1,
                                  out_w=1, code_bits=1), 1 + 1 * (64 + 2)),
        ("MAC 10 px default", DEFAULT, m("MAC", pix_count=10, **mac), 1 + 1 * (27 + 2)),
        ("MAC 33 px default", DEFAULT, m("MAC", pix_count=33, **mac), 1 + 3 * (27 + 2)),
        # lane copies: a tile of PIXELS x 2^rep_log2 pixels
        ("MAC 10 px 2 copies", SMALL, m("MAC", pix_count=10, rep_log2=1, **{**mac, "oc_count": 16}),
         1 + 2 * (27 + 2)),
        ("MAC 33 px 4 copies default", DEFAULT, m("MAC", pix_count=33, rep_log2=2, **mac), 1 + 1 * (27 + 2)),
        ("REQ", SMALL, m("REQ", oc_count=5, pix_count=9), 1 + 5 * 3),
        ("REQ default", DEFAULT, m("REQ", oc_count=5, pix_count=9), 1 + 5 * 1),
        ("ADD", SMALL, m("ADD", length=9), 1 + 3),
        ("ADD default", DEFAULT, m("ADD", length=32), 1 + 2),
        # pools: PIXELS outputs of a row per window (4 columns: one group on SMALL, 4 + 1 on 5)
        ("MAXPOOL", SMALL, m("MAXPOOL", **pool), 1 + 2 * 3 * 1 * (4 + 1)),
        ("AVGPOOL", SMALL, m("AVGPOOL", mult=3, shift=2, **pool), 1 + 2 * 3 * 1 * (4 + 1)),
        ("MAXPOOL 5 columns", SMALL, m("MAXPOOL", **{**pool, "in_w": 10, "out_w": 5}), 1 + 2 * 3 * 2 * (4 + 1)),
        ("AGG 5 features", SMALL, m("AGG", in_nodes=34, features=5, row_count=34, nnz=190),
         1 + 2 * (34 + 190)),  # two groups of PIXELS features, a cycle a row and an entry
        ("AGG default", DEFAULT, m("AGG", in_nodes=34, features=16, row_count=10, nnz=0), 1 + 10),
        ("GAP as AVGPOOL", DEFAULT, m("AVGPOOL", channels=32, in_h=4, in_w=4, out_h=1, out_w=1,
                                       kh=4, kw=4, stride_h=1, stride_w=1), 1 + 32 * (16 + 1)),
        # MATMUL: per token tile, depth cycles per 16-row tile + one write cycle per row
        ("MATMUL 19x6x8", SMALL, m("MATMUL", rows=19, cols=6, depth=8), 1 + 2 * (2 * 8 + 19)),
        ("MATMUL default", DEFAULT, m("MATMUL", rows=64, cols=17, depth=64), 1 + 2 * (4 * 64 + 64)),
        ("MATMUL 0 rows", SMALL, m("MATMUL", rows=0, cols=6, depth=8), 1),
        # SOFTMAX: per token tile, 3 passes over the features + 18 divider steps
        ("SOFTMAX", SMALL, m("SOFTMAX", tokens=6, features=9), 1 + 2 * (27 + 18)),
        # LAYERNORM: per token tile, 2 passes + 1 radicand + 32 root + 37 divider steps
        ("LAYERNORM", SMALL, m("LAYERNORM", tokens=7, features=9), 1 + 2 * (18 + 1 + 32 + 37)),
        ("LAYERNORM default", DEFAULT, m("LAYERNORM", tokens=16, features=768), 1 + 1536 + 70),
        ("GELU", SMALL, m("GELU", length=259), 1 + 65),
    ]


@pytest.mark.parametrize("case", timing_cases(), ids=lambda c: c[0])
def test_cycles_follow_the_documented_formula(case) -> None:
    _, cfg, ins, expected = case
    assert timing.cycles(ins, cfg) == expected
    assert timing.exec_cycles(ins, cfg) == expected - 1


def test_timeline_of_background_transfers_counted_by_hand() -> None:
    """SMALL (DMA_LATENCY 4, BUS_BYTES 8). A background transfer costs its issue cycle and
    runs on the engine; a transfer, SYNC or HALT issues no earlier than the engine's last
    cycle; other instructions issue at once and see the transfer in flight."""
    m = isa.make
    trace = [
        m("DMA_LOAD", space=1, length=16, background=1),  # issue 0; engine cycles 1..6
        m("SETGEN", count=2),                             # issue 1, cycles 2..3
        m("SYNC"),                                        # waits 4, 5: issue 6
        m("DMA_LOAD", space=2, length=8, background=1),   # issue 7; engine cycles 8..12
        m("DMA_STORE", length=8),                         # waits 8..11: issue 12, cycles 13..17
        m("HALT"),                                        # issue 18
    ]
    steps = timing.timeline(trace, SMALL)
    assert [s.issue for s in steps] == [0, 1, 6, 7, 12, 18]
    assert [s.wait for s in steps] == [0, 0, 2, 0, 4, 0]
    assert [s.cycles for s in steps] == [1, 3, 3, 1, 10, 1]
    assert [s.inflight for s in steps] == [(), (0,), (), (), (), ()]


def test_timeline_of_the_two_background_units_counted_by_hand() -> None:
    """The REQ unit and the DMA engine work beside each other; each waits only for itself,
    SYNC for both (SMALL: PIXELS 4)."""
    m = isa.make
    trace = [
        m("REQ", oc_count=2, pix_count=8, background=1),  # issue 0; the unit: cycles 1..4
        m("DMA_LOAD", space=1, length=8, background=1),   # issue 1; the engine: cycles 2..6
        m("REQ", oc_count=1, pix_count=4),                # waits 2, 3: issue 4, cycle 5
        m("SYNC"),                                        # the engine's last cycle is 6
        m("HALT"),
    ]
    steps = timing.timeline(trace, SMALL)
    assert [s.issue for s in steps] == [0, 1, 4, 6, 7]
    assert [s.wait for s in steps] == [0, 0, 2, 0, 0]
    assert [s.cycles for s in steps] == [1, 1, 4, 1, 1]
    assert [s.inflight for s in steps] == [(), (0,), (1,), (), ()]


def test_timeline_of_the_param_read_port_counted_by_hand() -> None:
    """SETGEN, SETFRZ and LAYERNORM read the param SRAM through the REQ unit's read port:
    they issue no earlier than the last cycle of the REQ unit's work in flight; other
    instructions (ADD) issue at once (SMALL: PIXELS 4)."""
    m = isa.make
    trace = [
        m("REQ", oc_count=2, pix_count=8, background=1),  # issue 0; the unit: cycles 1..4
        m("ADD", length=4),                               # issue 1, cycle 2
        m("SETGEN", count=2),                             # waits 3: issue 4, cycles 5..6
        m("REQ", oc_count=1, pix_count=4, background=1),  # issue 7; the unit: cycle 8
        m("SETFRZ", channels=8),                          # issue 8 (the unit's last), cycles 9..10
        m("REQ", oc_count=3, pix_count=4, background=1),  # issue 11; the unit: cycles 12..14
        m("LAYERNORM", tokens=4, features=1),             # waits 12, 13: issue 14, 72 cycles
        m("HALT"),                                        # issue 87
    ]
    steps = timing.timeline(trace, SMALL)
    assert [s.issue for s in steps] == [0, 1, 4, 7, 8, 11, 14, 87]
    assert [s.wait for s in steps] == [0, 0, 1, 0, 0, 0, 2, 0]
    assert [s.cycles for s in steps] == [1, 2, 4, 1, 3, 1, 75, 1]
    assert [s.inflight for s in steps] == [(), (0,), (0,), (), (3,), (), (5,), ()]
    assert sum(s.cycles for s in steps) == 88


def test_every_opcode_has_a_timing_case() -> None:
    assert {c[2].op for c in timing_cases()} == set(OP_NAMES)


def test_the_cycle_rules_live_in_the_table() -> None:
    """timing.py adds the issue cycle to each opcode's own rule; it names no opcode."""
    assert all(callable(op.cycles) and op.cycles_doc for op in OPCODES)
    src = Path(timing.__file__).read_text()
    assert not [n for n in OP_NAMES if f'"{n}"' in src], "timing.py compares opcode names"
