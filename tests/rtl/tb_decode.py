"""cocotb: the instruction decoder (seedcc_blocks_tb.u_dec) against ``isa.decode``.

For every opcode of the table: random legal words (a random valid value in every field)
must decode to exactly ``isa.decode``'s fields on the ``dec_f_<name>`` outputs (0 for
fields the opcode does not have); a bit set outside the opcode's fields, a field outside
its valid range (``Field.limits``, e.g. code_bits 0), a field not below its bound
(``Opcode.below``, MAC start_ox >= out_w), an address off its alignment (``Opcode.aligned``,
a param SRAM address not a multiple of 8) and an unknown opcode must raise ``illegal`` --
exactly the words ``isa.decode`` rejects.
"""

from __future__ import annotations

import random

import cocotb
from cocotb.triggers import Timer

from seedcc.backends import isa
from seedcc.backends.gen_header import union_fields
from seedcc.backends.simulator import load_test_args
from seedcc.errors import ProgramFormatError


def random_instruction(op: isa.Opcode, rng: random.Random) -> isa.Instruction:
    values = {}
    for f in op.fields:
        lo, hi = f.valid
        values[f.name] = rng.choice((lo, hi, rng.randint(lo, hi), rng.randint(lo, hi)))
    for rule in op.below:  # a field below its bound: at the bound's edge, or anywhere below
        lo, below = op.field(rule.field).valid[0], values[rule.bound] - 1
        values[rule.field] = min(values[rule.field], rng.choice((below, rng.randint(lo, below))))
    for a in op.aligned:  # rounded down where the rule applies (a DMA to param)
        if a.when is None or values[a.when[0]] == a.when[1]:
            values[a.field] -= values[a.field] % a.multiple
    return isa.make(op.name, **values)


def misaligned_words(op: isa.Opcode, rng: random.Random) -> list[tuple[str, int]]:
    """(description, word): a random legal word with an ``aligned`` rule's field off its
    multiple (and the rule's condition field set so that it applies)."""
    out = []
    for a in op.aligned:
        f = op.field(a.field)
        for _ in range(4):
            word = int.from_bytes(isa.encode(random_instruction(op, rng)), "little")
            if a.when is not None:
                w = op.field(a.when[0])
                word = word & ~(((1 << w.width) - 1) << w.lo) | a.when[1] << w.lo
            value = rng.randrange(0, f.valid[1] // a.multiple) * a.multiple + rng.randrange(1, a.multiple)
            word = word & ~(((1 << f.width) - 1) << f.lo) | value << f.lo
            out.append((f"{op.name}.{a.field}={value}", word))
    return out


def rule_breaking_words(op: isa.Opcode, rng: random.Random) -> list[tuple[str, int]]:
    """(description, word): a random legal word with a ``below`` rule's field set to its
    bound, above it, and to its largest value, every other field legal."""
    out = []
    for rule in op.below:
        f, bound = op.field(rule.field), op.field(rule.bound)
        for _ in range(6):
            word = int.from_bytes(isa.encode(random_instruction(op, rng)), "little")
            b = (word >> bound.lo) & ((1 << bound.width) - 1)
            if b > f.valid[1]:  # no value of the field breaks the rule
                continue
            value = rng.choice((b, min(b + 1, f.valid[1]), rng.randint(b, f.valid[1]), f.valid[1]))
            word = word & ~(((1 << f.width) - 1) << f.lo) | value << f.lo
            out.append((f"{op.name}.{rule.field}={value} with {rule.bound}={b}", word))
    return out


def out_of_range_words(op: isa.Opcode, rng: random.Random) -> list[tuple[str, int]]:
    """(description, word): a random legal word with one narrowed field set to a value its
    bits hold but the hardware does not accept, for every such field and value."""
    out = []
    for f in op.fields:
        (lo, hi), (bit_lo, bit_hi) = f.valid, f.bit_range
        bad = list(range(bit_lo, lo)) + list(range(hi + 1, bit_hi + 1))
        for value in sorted(set(rng.sample(bad, min(len(bad), 4)))):
            word = int.from_bytes(isa.encode(random_instruction(op, rng)), "little")
            word = word & ~(((1 << f.width) - 1) << f.lo) | value << f.lo
            out.append((f"{op.name}.{f.name}={value}", word))
    return out


class DecodeMonitor:
    def __init__(self, dut) -> None:
        self.dut = dut
        self.fields = union_fields()

    async def apply(self, word: int) -> dict[str, int]:
        d = self.dut
        d.dec_word.value = word
        await Timer(1, unit="ns")
        out = {"opcode": int(d.dec_opcode.value), "known": int(d.dec_known.value),
               "illegal": int(d.dec_illegal.value)}
        for name, (_, signed) in self.fields.items():
            v = getattr(d, f"dec_f_{name}").value
            out[name] = v.to_signed() if signed else int(v)
        return out


@cocotb.test()
async def decoder_matches_isa_table(dut) -> None:
    args = load_test_args()
    rng = random.Random(int(args.get("seed", 1)))
    per_op = int(args.get("per_opcode", 200))
    mon = DecodeMonitor(dut)
    for op in isa.OPCODES:
        for _ in range(per_op):
            ins = random_instruction(op, rng)
            raw = isa.encode(ins)
            word = int.from_bytes(raw, "little")
            got = await mon.apply(word)
            ref = isa.decode(raw)
            exp = {name: ref.fields.get(name, 0) for name in mon.fields}
            exp.update(opcode=op.code, known=1, illegal=0)
            bad = {k: (got[k], v) for k, v in exp.items() if got[k] != v}
            assert not bad, f"{op.name} word {word:#066x}: (RTL, isa.decode) differ: {bad}"
        used = (1 << isa.OPCODE_BITS) - 1
        for f in op.fields:
            used |= ((1 << f.width) - 1) << f.lo
        spare = [b for b in range(isa.WORD_BITS) if not used >> b & 1]
        for b in rng.sample(spare, min(len(spare), 20)):
            word = op.code | (1 << b)
            got = await mon.apply(word)
            try:
                isa.decode(word.to_bytes(isa.WORD_BYTES, "little"))
                raise AssertionError(f"isa.decode accepted {op.name} with bit {b} set")
            except ProgramFormatError:
                pass
            assert got["illegal"] == 1 and got["known"] == 1, (
                f"{op.name} with stray bit {b}: RTL known={got['known']} illegal={got['illegal']}")
        for what, word in (out_of_range_words(op, rng) + rule_breaking_words(op, rng)
                           + misaligned_words(op, rng)):
            got = await mon.apply(word)
            try:
                isa.decode(word.to_bytes(isa.WORD_BYTES, "little"))
                raise AssertionError(f"isa.decode accepted {what}")
            except ProgramFormatError:
                pass
            assert got["illegal"] == 1 and got["known"] == 1, (
                f"{what}: RTL known={got['known']} illegal={got['illegal']}")
    unknown = sorted(set(range(256)) - {op.code for op in isa.OPCODES})
    for code in unknown:
        got = await mon.apply(code)
        assert got["known"] == 0 and got["illegal"] == 1, (
            f"unknown opcode {code:#04x}: RTL known={got['known']} illegal={got['illegal']}")
    dut._log.info("%d opcodes x %d words, %d unknown opcodes checked", len(isa.OPCODES), per_op,
                  len(unknown))
