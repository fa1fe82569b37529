"""The instruction set, defined once as data.

Every instruction is one 256-bit word, stored as 32 little-endian bytes. Bits 0..7 hold
the opcode; each opcode's fields follow from bit 8 upwards in table order, so bit ranges
are derived from the widths below and nothing else. Widths that are hardware facts (the
multiplier, the shift, the mask-code width, the generator select) come from
``seedcc.rtl_models.hwfacts``. A field may accept fewer values than its bits hold
(``Field.limits``: ``code_bits`` is 1..7, ``space`` 0..2, a kernel size at least 1), and a
field may have to stay below another field of the same word (``Opcode.below``: MAC
``start_ox`` < ``out_w``), and an address may have to be a multiple of a memory's word
(``Opcode.aligned``: every param SRAM address); the encoder (``make``, ``encode``) and the decoder check every
value against those rules, and the RTL decoder treats a word that breaks one as illegal,
like a stray bit.

Each opcode also carries its cycle rule (``Opcode.cycles``: execute cycles from the fields
and the ``HwConfig``; ``cycles_doc`` is the formula as documented). Derived from
``OPCODES``: the encoder, decoder and disassembler here; the reference model's dispatch
(``exec_<name>`` in ``backends/refsim_machine.py``); the cycle model
(``backends/timing.py``); and, written by ``python -m seedcc.backends.gen_header``, the
Verilog header ``rtl_models/isa.vh`` and the instruction and timing tables of docs/isa.md.
Semantics of every instruction: docs/isa.md.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from types import MappingProxyType
from typing import NamedTuple

from seedcc.errors import ProgramFormatError
from seedcc.rtl_models import hwfacts
from seedcc.rtl_models.generators import GENERATORS
from seedcc.rtl_models.hwconfig import HwConfig
from seedcc.rtl_models.hwfacts import (
    GROUP,
    LANE_STATE_BYTES,
    PARAM_WORD_BYTES,
    REQ_RECORD_BYTES,
    FieldRangeError,
    check_range,
)

WORD_BITS = 256
WORD_BYTES = WORD_BITS // 8
OPCODE_BITS = 8

# DMA memory spaces (field `space`).
SPACE_ACT, SPACE_MASK, SPACE_PARAM = 0, 1, 2
SPACES = {"act": SPACE_ACT, "mask": SPACE_MASK, "param": SPACE_PARAM}

GEN_IDS = sorted(g.gen_id for g in GENERATORS.values())
assert GEN_IDS == list(range(len(GEN_IDS))) and len(GEN_IDS) <= 1 << hwfacts.GEN_ID_BITS


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class Field:
    name: str
    lo: int
    width: int
    signed: bool
    doc: str
    limits: tuple[int, int] | None = None
    """The valid values when they are fewer than the bits hold (else None)."""

    @property
    def hi(self) -> int:
        return self.lo + self.width - 1

    @property
    def bit_range(self) -> tuple[int, int]:
        """Every value the bits can hold."""
        if self.signed:
            return -(1 << (self.width - 1)), (1 << (self.width - 1)) - 1
        return 0, (1 << self.width) - 1

    @property
    def valid(self) -> tuple[int, int]:
        """The values the hardware accepts: ``limits``, else the whole bit range."""
        return self.limits or self.bit_range

    def check(self, opname: str, value: int) -> int:
        """Range-check `value` against ``valid`` and return its unsigned bit pattern."""
        check_range(f"{opname}.{self.name}", value, *self.valid)
        return value & ((1 << self.width) - 1)


CycleRule = Callable[[Mapping[str, int], HwConfig], int]


class Aligned(NamedTuple):
    """A rule on an unsigned field: a multiple of ``multiple`` (a power of two), when the
    field ``when[0]`` of the same word is ``when[1]`` (always if ``when`` is None)."""

    field: str
    multiple: int
    when: tuple[str, int] | None = None


class Below(NamedTuple):
    """A rule between two unsigned fields of one word: ``field`` < ``bound``."""

    field: str
    bound: str


@dataclass(frozen=True)
class Opcode:
    name: str
    code: int
    fields: tuple[Field, ...]
    doc: str
    cycles: CycleRule = dataclass_field(compare=False)
    """Execute cycles (without the issue cycle) of an instruction with these field values."""
    cycles_doc: str = ""
    """The same rule as docs/isa.md shows it."""
    engine: str | None = None
    """The unit that runs it, if that unit can work in the background (``ENGINES``): it
    waits for the unit's previous work, and with ``background`` set it runs there while the
    next instructions issue (docs/isa.md "Background units")."""
    drains: bool = False
    """Waits until no unit works in the background before it issues (SYNC, HALT)."""
    waits_for: tuple[str, ...] = ()
    """Units (``ENGINES``) whose work in flight it waits for, like that unit's own next work,
    without running on them: SETGEN, SETFRZ and LAYERNORM read the param SRAM through the
    read port that the REQ unit's record reads use (docs/isa.md "Background units")."""
    below: tuple[Below, ...] = ()
    """Fields that must stay below another field of the same word (the RTL decoder checks
    each as a comparison of the two fields)."""
    aligned: tuple[Aligned, ...] = ()
    """Fields that must be a multiple of a power of two (the RTL decoder checks that their
    low bits, isa.vh's ``<OP>_<FIELD>_ALIGN_MASK``, are 0)."""

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")

    def broken_rule(self, values: Mapping[str, int]) -> str | None:
        """The first ``below`` rule that ``values`` break, as a message naming the opcode and
        both fields (``MAC.start_ox=5 must be below MAC.out_w=5``), else None."""
        for rule in self.below:
            v, bound = values[rule.field], values[rule.bound]
            if not v < bound:
                return (f"{self.name}.{rule.field}={v} must be below "
                        f"{self.name}.{rule.bound}={bound}")
        for a in self.aligned:
            v = values[a.field]
            if v % a.multiple and (a.when is None or values[a.when[0]] == a.when[1]):
                when = "" if a.when is None else f" when {self.name}.{a.when[0]}={a.when[1]}"
                return f"{self.name}.{a.field}={v} must be a multiple of {a.multiple}{when}"
        return None


class _F(NamedTuple):
    """One row of a field list: a Field before its bit position is known."""

    name: str
    width: int
    doc: str
    signed: bool = False
    limits: tuple[int, int] | None = None


def _at_least_1(name: str, width: int, doc: str) -> _F:
    return _F(name, width, doc, limits=(1, (1 << width) - 1))


def _opcode(name: str, code: int, doc: str, *spec: _F, cycles: CycleRule, cycles_doc: str,
            engine: str | None = None, drains: bool = False, waits_for: tuple[str, ...] = (),
            below: tuple[Below, ...] = (), aligned: tuple[Aligned, ...] = ()) -> Opcode:
    lo, out = OPCODE_BITS, []
    for item in spec:
        f = Field(item.name, lo, item.width, item.signed, item.doc, item.limits)
        if f.limits is not None:
            assert not f.signed and f.bit_range[0] <= f.limits[0] <= f.limits[1] <= f.bit_range[1], \
                f"{name}.{f.name}: limits {f.limits} must narrow an unsigned field"
        out.append(f)
        lo += item.width
    assert lo <= WORD_BITS, f"{name} needs {lo} bits"
    by_name = {f.name: f for f in out}
    for rule in below:
        f, bound = by_name.get(rule.field), by_name.get(rule.bound)
        assert f is not None and bound is not None and not f.signed and not bound.signed, \
            f"{name}: rule {rule} needs two unsigned fields of the opcode"
        assert bound.valid[0] > f.valid[0], f"{name}: {rule} leaves no valid value at the bound's minimum"
    for a in aligned:
        f = by_name.get(a.field)
        assert f is not None and not f.signed and f.valid[0] == 0 and a.multiple & (a.multiple - 1) == 0, \
            f"{name}: {a} needs an unsigned field of the opcode from 0 and a power of two"
        assert a.when is None or a.when[0] in by_name, f"{name}: {a} names no field of the opcode"
    return Opcode(name, code, tuple(out), doc, cycles, cycles_doc, engine=engine, drains=drains,
                  waits_for=waits_for, below=below, aligned=aligned)


# -- cycle rules (docs/isa.md "Timing model"; the RTL's FSMs take exactly these) -----------
def _dma_cycles(f: Mapping[str, int], cfg: HwConfig) -> int:
    return cfg.dma_latency + ceil_div(f["length"], cfg.bus_bytes)


def _mac_cycles(f: Mapping[str, int], cfg: HwConfig) -> int:
    tiles = ceil_div(f["pix_count"], cfg.pixels << f["rep_log2"])
    return tiles * (f["in_c"] * f["kh"] * f["kw"] + 2)  # restart + MACs + write-back


def _pool_cycles(f: Mapping[str, int], cfg: HwConfig) -> int:
    return f["channels"] * f["out_h"] * ceil_div(f["out_w"], cfg.pixels) * (f["kh"] * f["kw"] + 1)


def _matmul_cycles(f: Mapping[str, int], cfg: HwConfig) -> int:
    m_tiles = ceil_div(f["rows"], hwfacts.MM_ROWS)
    return ceil_div(f["cols"], cfg.pixels) * (m_tiles * f["depth"] + f["rows"])


def _softmax_cycles(f: Mapping[str, int], cfg: HwConfig) -> int:
    # per token tile: max pass, exp-sum pass, bit-serial reciprocal, output pass
    return ceil_div(f["tokens"], cfg.pixels) * (3 * f["features"] + hwfacts.SM_RECIP_STEPS)


def _layernorm_cycles(f: Mapping[str, int], cfg: HwConfig) -> int:
    # per token tile: sums pass, radicand, bit-serial root and reciprocal, output pass
    return ceil_div(f["tokens"], cfg.pixels) * (
        2 * f["features"] + 1 + hwfacts.LN_SQRT_STEPS + hwfacts.LN_RECIP_STEPS)


def _rowwise(feature_bits: int) -> tuple[_F, ...]:
    """Fields of a reduction over features for each token, feature-major layout."""
    return (
        _F("in_addr", 24, "act SRAM byte address of x[0][0]; x[f][t] at in_addr + f*in_plane + t"),
        _F("out_addr", 24, "act SRAM byte address of out[0][0]; out[f][t] at out_addr + f*out_plane + t"),
        _F("tokens", 16, "T: tokens (the pixel axis, consecutive bytes)"),
        _at_least_1("features", feature_bits, "F: elements reduced over for each token"),
        _F("in_plane", 20, "bytes between x[f][t] and x[f+1][t]"),
        _F("out_plane", 20, "bytes between out[f][t] and out[f+1][t]"),
    )


_DMA = (
    _F("space", 2, "0 act, 1 mask, 2 param", limits=(0, len(SPACES) - 1)),
    _F("sram_addr", 24, f"on-chip byte address (param: a multiple of {PARAM_WORD_BYTES})"),
    _F("dram_addr", 32, "off-chip byte address"),
    _F("length", 24, "bytes"),
    _F("background", 1, "1: the transfer runs on the DMA engine while the next instructions "
                        "issue; SYNC waits for it"),
)
_DMA_TIMING = {"cycles": _dma_cycles, "cycles_doc": "DMA_LATENCY + ceil(length / BUS_BYTES)",
               "engine": "dma",
               # a beat then touches each bank of the param SRAM once (docs/rtl.md "Memories")
               "aligned": (Aligned("sram_addr", PARAM_WORD_BYTES, ("space", SPACE_PARAM)),)}
# The param SRAM's read port serves one reader at a time: the REQ unit's records, or the
# lane states, freeze states and LAYERNORM records of the instruction in execution, which
# therefore wait for the REQ unit's work in flight (docs/isa.md "Background units").
_PARAM_PORT = ("req",)
# Every param SRAM address an instruction gives is a word's (one read a cycle).
_PARAM_ALIGNED = (Aligned("param_addr", PARAM_WORD_BYTES),)
_IN = _F("in_addr", 24, "act SRAM byte address of the input tensor (C, H, W)")
_POOL = (
    _F("in_addr", 24, "act SRAM byte address of the input (C, H, W)"),
    _F("out_addr", 24, "act SRAM byte address of the output (C, OH, OW)"),
    _F("channels", 16, "C"),
    _F("in_h", 12, "H"), _F("in_w", 12, "W"), _F("out_h", 12, "OH"), _F("out_w", 12, "OW"),
    _at_least_1("kh", 5, "window height"), _at_least_1("kw", 5, "window width"),
    _at_least_1("stride_h", 4, "vertical stride"), _at_least_1("stride_w", 4, "horizontal stride"),
    _F("pad_t", 3, "top padding"), _F("pad_l", 3, "left padding"),
)
_POOL_TIMING = {"cycles": _pool_cycles,
                "cycles_doc": "channels · out_h · ceil(out_w / PIXELS) · (kh·kw + 1)"}
_SHIFT = _F("shift", hwfacts.SHIFT_BITS, "rounding right shift")
_POOL_UNSIGNED = _F("in_unsigned", 1, "1: input bytes are uint8 (the output is uint8 too, "
                                      "saturating to 0..UACT_MAX)")

#: The instruction table. Codes are stable: append, never renumber.
OPCODES: tuple[Opcode, ...] = (
    _opcode("HALT", 0x00, "stop once no unit works in the background; the program is done",
            cycles=lambda f, cfg: 0, cycles_doc="0", drains=True),
    _opcode("DMA_LOAD", 0x01, "copy `length` bytes from off-chip memory to an on-chip SRAM", *_DMA,
            **_DMA_TIMING),
    _opcode("DMA_STORE", 0x02, "copy `length` bytes from an on-chip SRAM to off-chip memory", *_DMA,
            **_DMA_TIMING),
    _opcode(
        "SETGEN", 0x03,
        f"load lane start states 0..count-1 from the param SRAM ({LANE_STATE_BYTES} bytes each)",
        _F("gen_id", hwfacts.GEN_ID_BITS,
           "generator: " + ", ".join(f"{g.gen_id} {g.name}" for g in GENERATORS.values()),
           limits=(0, GEN_IDS[-1])),
        _F("param_addr", 16,
           f"param SRAM byte address of the state table (a multiple of {PARAM_WORD_BYTES})"),
        _F("count", 8, "lanes to load (<= LANES)"),
        cycles=lambda f, cfg: f["count"], cycles_doc="count", waits_for=_PARAM_PORT,
        aligned=_PARAM_ALIGNED,
    ),
    _opcode(
        "MAC", 0x04,
        "masked MAC of one channel block: acc[oc][p] (+)= sum_i,k sign*code*act over the "
        "pix_count output pixels from (start_oy, start_ox) on in row-major order, lanes "
        "restarted every pixel tile",
        _IN,
        _F("acc_row", 20, "first acc SRAM row (LANES·16·PIXELS words) of the accumulators, in the layout of "
                           "docs/isa.md \"Accumulator layout\""),
        _F("in_c", 16, "input channels I"),
        _F("in_h", 12, "H"), _F("in_w", 12, "W"),
        _at_least_1("out_w", 12, "OW: pixels run along a row and wrap to the next at OW"),
        _at_least_1("kh", 5, "kernel height"), _at_least_1("kw", 5, "kernel width"),
        _at_least_1("stride_h", 4, "vertical stride"), _at_least_1("stride_w", 4, "horizontal stride"),
        _F("pad_t", 3, "top padding"), _F("pad_l", 3, "left padding"),
        _F("oc_count", 16, f"output channels of this block (<= {GROUP}*LANES)"),
        _F("start_oy", 12, "row of the first output pixel"),
        _F("start_ox", 12, "column of the first output pixel"),
        _F("pix_count", 20, "output pixels"),
        _F("mask_addr", 24, "mask SRAM byte address of this block's rows"),
        _F("code_bits", hwfacts.CODE_BITS_FIELD, "bits per mask code: 1 binary, 2+ multicoat",
           limits=(1, hwfacts.CODE_BITS_MAX)),
        _F("stored_signs", 1, "1: sign bits are stored before each mask row (no generator)"),
        _F("accumulate", 1, "1: add to the accumulators instead of overwriting"),
        _F("frozen", 1, "1: positions are drawn by the freeze registers (SETFRZ); the mask "
                        "holds only the stored positions' codes, back to back"),
        _F("mask_bit", 3, "first bit of the codes within the byte at mask_addr (frozen only)"),
        _F("rep_log2", 3, "the ng = ceil(oc_count/16) lanes' weights drive 2^rep_log2 copies of "
                          "their PE columns, copy k on the tile's pixels k*PIXELS.. "
                          "(ng * 2^rep_log2 <= LANES)"),
        _F("x_unsigned", 1, "1: input bytes are uint8 (a ReLU's output), else int8"),
        cycles=_mac_cycles,
        cycles_doc="ceil(pix_count / (PIXELS · 2^rep_log2)) · (in_c·kh·kw + 2)",
        below=(Below("start_ox", "out_w"),),
    ),
    _opcode(
        "REQ", 0x05,
        "requantise accumulators: out = sat(relu?((acc+bias)*mult >>r shift)), to int8, uint8 "
        "or (out_wide) int32",
        _F("acc_row", 20, "first acc SRAM row of the accumulators (the layout of the MAC that "
                           "filled them)"),
        _F("out_addr", 24, "act SRAM byte address of out[0][0]"),
        _F("oc_count", 16, "channels"),
        _F("pix_count", 20, "pixels per channel"),
        _F("out_plane", 20, "values between consecutive output channels (bytes, or ACC_BYTES-byte "
                              "words with out_wide)"),
        _F("param_addr", 16, f"param SRAM byte address (a multiple of {PARAM_WORD_BYTES}) of the "
                             f"channels' {REQ_RECORD_BYTES}-byte records (int32 bias, int16 mult, "
                             "shift byte, zero byte)"),
        _F("relu", 1, "1: clamp negatives to 0 before saturation"),
        _F("background", 1, "1: the REQ unit drains the accumulators while the next "
                            "instructions issue; SYNC waits for it"),
        _F("rep_log2", 3, "the lane copies of the MAC that filled the accumulators (their layout)"),
        _F("out_unsigned", 1, "1: saturate to uint8 (0..UACT_MAX), else to int8"),
        _F("out_wide", 1, "1: saturate to int32 and write ACC_BYTES bytes (little-endian) a "
                          "value, at out_addr + ACC_BYTES·(channel·out_plane + pixel): a graph "
                          "output left at accumulator precision (out_unsigned is then ignored)"),
        cycles=lambda f, cfg: (hwfacts.ACC_BYTES if f["out_wide"] else 1) * f["oc_count"]
        * ceil_div(f["pix_count"], cfg.pixels),
        cycles_doc="oc_count · ceil(pix_count / PIXELS), times ACC_BYTES with out_wide",
        engine="req", aligned=_PARAM_ALIGNED,
    ),
    _opcode(
        "ADD", 0x06, "residual add: out = sat8(relu?((a*mult_a + b*mult_b) >>r shift))",
        _F("a_addr", 24, "act SRAM byte address of a"),
        _F("b_addr", 24, "act SRAM byte address of b"),
        _F("out_addr", 24, "act SRAM byte address of out"),
        _F("length", 24, "elements"),
        _F("mult_a", hwfacts.MULT_BITS, "multiplier of a", signed=True),
        _F("mult_b", hwfacts.MULT_BITS, "multiplier of b", signed=True),
        _SHIFT,
        _F("relu", 1, "1: clamp negatives to 0"),
        _F("a_unsigned", 1, "1: a bytes are uint8, else int8"),
        _F("b_unsigned", 1, "1: b bytes are uint8, else int8"),
        _F("out_unsigned", 1, "1: saturate to uint8 (0..UACT_MAX), else to int8"),
        cycles=lambda f, cfg: ceil_div(f["length"], cfg.pixels),
        cycles_doc="ceil(length / PIXELS)",
    ),
    _opcode("MAXPOOL", 0x07, "max over each window (padding never wins)", *_POOL, _POOL_UNSIGNED,
            **_POOL_TIMING),
    _opcode(
        "AVGPOOL", 0x08, "out = sat8((sum over window * mult) >>r shift); no padding",
        *_POOL,
        _F("mult", hwfacts.MULT_BITS, "multiplier (1/window and the scale change)", signed=True),
        _SHIFT,
        _POOL_UNSIGNED,
        **_POOL_TIMING,
    ),
    _opcode(
        "LOOP", 0x09,
        "run the next `body_len` instructions `iterations` times; in iteration it every param-space "
        "DMA_LOAD of the body reads dram_addr + it*dram_stride (no nesting, no HALT in the body)",
        _at_least_1("iterations", 16, "times the body runs"),
        _at_least_1("body_len", 16, "instructions in the body (they follow the LOOP)"),
        _F("dram_stride", 32, "off-chip bytes added per iteration to the body's param DMA loads"),
        cycles=lambda f, cfg: 0,
        cycles_doc="0 (the jump back to the body's first instruction costs no cycle)",
    ),
    _opcode(
        "SETFRZ", 0x0A,
        f"load the freeze start states of block channels 0..channels-1 from the param SRAM "
        f"({hwfacts.FREEZE_STATE_BYTES} bytes each) and the thresholds of the freeze draw",
        _F("param_addr", 16, f"param SRAM byte address of the state table (a multiple of {PARAM_WORD_BYTES})"),
        _F("channels", 16, f"channels to load (<= {GROUP}*LANES)"),
        _F("prune_thr", hwfacts.FREEZE_STATE_BITS + 1, "a draw u < prune_thr is pruned (code 0)",
           limits=(0, hwfacts.FREEZE_THRESHOLD_MAX)),
        _F("lock_thr", hwfacts.FREEZE_STATE_BITS + 1, "else a draw u >= lock_thr is locked",
           limits=(0, hwfacts.FREEZE_THRESHOLD_MAX)),
        _F("lock_code", hwfacts.CODE_BITS_MAX,
           "code of a locked position; 0: locked positions keep their own code in the mask"),
        cycles=lambda f, cfg: ceil_div(f["channels"], hwfacts.FREEZE_STATES_PER_WORD),
        cycles_doc=f"ceil(channels / {hwfacts.FREEZE_STATES_PER_WORD})", waits_for=_PARAM_PORT,
        aligned=_PARAM_ALIGNED,
    ),
    _opcode(
        "MATMUL", 0x0C,
        "activation x activation product: out[m][n] = sat8((sum_k X[m][k]*Y[k][n]) * mult >>r "
        "shift), int8/uint8 operands, int32 accumulators",
        _F("x_addr", 24, "act SRAM byte address of X[0][0]"),
        _F("x_row", 20, "bytes between X[m][k] and X[m+1][k]"),
        _F("x_step", 20, "bytes between X[m][k] and X[m][k+1]"),
        _F("y_addr", 24, "act SRAM byte address of Y[0][0]; Y[k][n] at y_addr + k*y_step + n"),
        _F("y_step", 20, "bytes between Y[k][n] and Y[k+1][n]"),
        _F("out_addr", 24, "act SRAM byte address of out[0][0]; out[m][n] at out_addr + m*out_plane + n"),
        _F("out_plane", 20, "act SRAM bytes between consecutive output rows"),
        _F("rows", 16, "M: output rows"),
        _F("cols", 16, "N: output columns (tokens, the pixel axis)"),
        _at_least_1("depth", 16, "K: products summed per output"),
        _F("mult", hwfacts.MULT_BITS, "requantisation multiplier", signed=True),
        _SHIFT,
        _F("x_unsigned", 1, "1: X bytes are uint8"),
        _F("y_unsigned", 1, "1: Y bytes are uint8"),
        cycles=_matmul_cycles,
        cycles_doc=f"ceil(cols / PIXELS) · (ceil(rows / {hwfacts.MM_ROWS}) · depth + rows)",
    ),
    _opcode(
        "SOFTMAX", 0x0D,
        "integer softmax over `features` for each token: uint8 probabilities, scale 2^-8 "
        "(I-BERT i-exp, bit-serial 1/sum)",
        *_rowwise(16),
        _F("in_mult", hwfacts.MULT_BITS, "multiplier into i-exp units (scale * 2^10 / ln2)"),
        _F("in_shift", hwfacts.SHIFT_BITS, "rounding right shift after in_mult"),
        cycles=_softmax_cycles,
        cycles_doc=f"ceil(tokens / PIXELS) · (3·features + {hwfacts.SM_RECIP_STEPS})",
    ),
    _opcode(
        "LAYERNORM", 0x0E,
        "integer layer norm over `features` for each token, per-feature records (beta, gamma, "
        "shift): out = sat8((n*gamma + beta) >>r shift)",
        *_rowwise(hwfacts.LN_FEATURES_BITS),
        _F("param_addr", 16, f"param SRAM byte address (a multiple of {PARAM_WORD_BYTES}) of the "
                             f"features' {REQ_RECORD_BYTES}-byte records (int32 beta, int16 gamma, "
                             "shift byte, zero byte)"),
        _F("eps", hwfacts.LN_EPS_BITS, "added to the radicand F*sum(x^2) - sum(x)^2 (eps*F^2/scale^2)"),
        cycles=_layernorm_cycles,
        cycles_doc=(f"ceil(tokens / PIXELS) · (2·features + "
                    f"{1 + hwfacts.LN_SQRT_STEPS + hwfacts.LN_RECIP_STEPS})"),
        waits_for=_PARAM_PORT, aligned=_PARAM_ALIGNED,
    ),
    _opcode(
        "GELU", 0x0F, "integer GELU (I-BERT i-erf): out = sat8((x*(1 + erf(x/sqrt2))) * "
                      "out_mult >>r out_shift)",
        _IN,
        _F("out_addr", 24, "act SRAM byte address of out"),
        _F("length", 24, "elements"),
        _F("in_mult", hwfacts.MULT_BITS, "multiplier into the erf argument (scale / sqrt2 * 2^10)"),
        _F("in_shift", hwfacts.SHIFT_BITS, "rounding right shift after in_mult"),
        _F("out_mult", hwfacts.MULT_BITS, "output multiplier", signed=True),
        _F("out_shift", hwfacts.SHIFT_BITS, "output rounding right shift"),
        cycles=lambda f, cfg: ceil_div(f["length"], cfg.pixels),
        cycles_doc="ceil(length / PIXELS)",
    ),
    _opcode(
        "AGG", 0x0B,
        "sparse graph aggregation of one chunk of rows: acc[f][r] = sum over row r's entries "
        "(col, val) of val*act[f][col], PIXELS features a cycle",
        _F("in_addr", 24, "act SRAM byte address of the input (features, nodes): byte (f, n) at "
                          "in_addr + f*in_nodes + n"),
        _at_least_1("in_nodes", hwfacts.CSR_INDEX_BITS, "input nodes N (act bytes between features; "
                                                        "every column index is below it)"),
        _F("acc_row", 20, "first acc SRAM row; acc[f][r] in the accumulator layout with "
                           "rep_log2 = 0 (channels f, pixels r)"),
        _F("features", 16, "features F"),
        _F("row_count", 20, "rows (output nodes) of this chunk"),
        _F("nnz", 24, "entries of this chunk (the sum of its rows' degrees)"),
        _F("csr_addr", 24, "mask SRAM byte address of the chunk: uint16 degrees, then "
                           "(uint16 column, int16 value) entries"),
        _F("in_unsigned", 1, "1: input bytes are uint8, else int8"),
        cycles=lambda f, cfg: ceil_div(f["features"], cfg.pixels) * (f["row_count"] + f["nnz"]),
        cycles_doc="ceil(features / PIXELS) · (row_count + nnz)",
    ),
    _opcode("SYNC", 0x10, "wait until no unit works in the background (DMA engine, REQ unit)",
            cycles=lambda f, cfg: 0, cycles_doc="0 (plus the wait)", drains=True),
)

BY_NAME: Mapping[str, Opcode] = MappingProxyType({op.name: op for op in OPCODES})
#: The units that can work in the background, beside the instruction in execution.
ENGINES: tuple[str, ...] = tuple(dict.fromkeys(op.engine for op in OPCODES if op.engine))
assert all(set(op.waits_for) <= set(ENGINES) for op in OPCODES)
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
    """Build an instruction; omitted fields are 0, unknown fields are an error, and every
    value is checked against its field's valid range (FieldRangeError, a ValueError, names
    the opcode and field)."""
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
    _check_rules(spec, full)
    return Instruction(op, MappingProxyType(full))


def _check_rules(spec: Opcode, values: Mapping[str, int]) -> None:
    broken = spec.broken_rule(values)
    if broken is not None:
        raise FieldRangeError(broken)


def encode(instr: Instruction) -> bytes:
    spec = BY_NAME[instr.op]
    word = spec.code
    for f in spec.fields:
        word |= f.check(spec.name, instr.fields[f.name]) << f.lo
    _check_rules(spec, instr.fields)
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
    for f in spec.fields:
        lo, hi = f.valid
        if not lo <= values[f.name] <= hi:
            raise ProgramFormatError(f"{where}: {spec.name}.{f.name}={values[f.name]} out of "
                                     f"range [{lo}, {hi}]")
    broken = spec.broken_rule(values)
    if broken is not None:
        raise ProgramFormatError(f"{where}: {broken}")
    return Instruction(spec.name, MappingProxyType(values))


def check_loops(instrs: list[Instruction] | tuple[Instruction, ...]) -> None:
    """Every LOOP body lies inside the program, before the first HALT, and holds no LOOP
    (loops do not nest). Raises ProgramFormatError naming the LOOP's index."""
    halt = next((i for i, ins in enumerate(instrs) if ins.op == "HALT"), len(instrs))
    for i, ins in enumerate(instrs[:halt]):
        if ins.op != "LOOP":
            continue
        end = i + ins.fields["body_len"]
        if end >= halt:
            raise ProgramFormatError(f"instruction {i} (LOOP): the body {i + 1}..{end} runs past "
                                     f"the HALT at instruction {halt}")
        inner = next((j for j in range(i + 1, end + 1) if instrs[j].op == "LOOP"), None)
        if inner is not None:
            raise ProgramFormatError(f"instruction {i} (LOOP): its body holds the LOOP at "
                                     f"instruction {inner}; loops do not nest")


def loop_trace(instrs: list[Instruction] | tuple[Instruction, ...]
               ) -> list[tuple[int, int, Instruction]]:
    """The instructions as the machine executes them, up to and including the first HALT:
    (index, iteration, instruction as executed). Inside a LOOP body the iteration counts
    from 0 and a param-space DMA_LOAD reads dram_addr + iteration*dram_stride; outside,
    the iteration is 0. The program must pass :func:`check_loops`."""
    check_loops(instrs)
    out: list[tuple[int, int, Instruction]] = []
    i = 0
    while i < len(instrs):
        ins = instrs[i]
        out.append((i, 0, ins))
        if ins.op == "HALT":
            break
        if ins.op != "LOOP":
            i += 1
            continue
        body = range(i + 1, i + 1 + ins.fields["body_len"])
        for it in range(ins.fields["iterations"]):
            for j in body:
                b = instrs[j]
                if it and b.op == "DMA_LOAD" and b.fields["space"] == SPACE_PARAM:
                    b = Instruction(b.op, MappingProxyType(
                        {**b.fields, "dram_addr": b.fields["dram_addr"] + it * ins.fields["dram_stride"]}))
                out.append((j, it, b))
        i = body.stop
    return out


def encode_stream(instrs: list[Instruction] | tuple[Instruction, ...]) -> bytes:
    check_loops(instrs)
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
