"""The generated files are exactly what gen_header renders: rtl_models/isa.vh from the ISA
table, rtl_models/hwfacts.vh from the hardware facts, and the marked tables of docs/isa.md.
The decoder has an output port for every field name of the table and checks every narrowed
field range the header declares. The RTL writes no hardware fact as a literal: no module
defines a header name itself, and the patterns the facts replaced (16·LANES, record byte
offsets, hand-typed field widths, 7-bit codes, ...) cannot creep back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from seedcc.backends import gen_header, isa
from seedcc.rtl_models import hwfacts

RTL = gen_header.RTL_DIR
DOCS = Path(__file__).resolve().parents[2] / "docs" / "isa.md"


def _first_difference(path: Path, committed: bytes, fresh: bytes) -> str:
    i = next((k for k, (a, b) in enumerate(zip(committed, fresh)) if a != b),
             min(len(committed), len(fresh)))
    line = committed[:i].count(b"\n") + 1
    return (f"{path} differs from what gen_header renders at byte {i} (line {line}); "
            f"run `python -m seedcc.backends.gen_header`")


@pytest.mark.parametrize("path, render", [
    (gen_header.HEADER_PATH, gen_header.render),
    (gen_header.HWFACTS_PATH, gen_header.render_hwfacts),
], ids=["isa.vh", "hwfacts.vh"])
def test_header_is_regenerated_byte_for_byte(path, render):
    committed, fresh = path.read_bytes(), render().encode()
    assert committed == fresh, _first_difference(path, committed, fresh)


def test_docs_tables_are_regenerated_byte_for_byte():
    assert gen_header.DOCS_PATH.resolve() == DOCS
    committed = DOCS.read_bytes()
    fresh = gen_header.render_docs(DOCS.read_text()).encode()
    assert committed == fresh, _first_difference(DOCS, committed, fresh)
    for name in gen_header.DOC_REGIONS:
        assert f"<!-- BEGIN GENERATED: {name} -->" in DOCS.read_text()


def test_gen_header_check_mode_reports_a_stale_file(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "isa.vh"
    stale.write_text(gen_header.render() + "// edited by hand\n")
    monkeypatch.setattr(gen_header, "outputs", lambda: {stale: gen_header.render()})
    assert gen_header.main(["--check"]) == 1
    assert "is out of date" in capsys.readouterr().out
    assert stale.read_text().endswith("// edited by hand\n")


def test_decoder_has_every_field():
    src = (RTL / "seedcc_decode.v").read_text()
    ports = set(re.findall(r"output reg (?:signed )?\[F_(\w+)_W-1:0\] f_(\w+);", src))
    assert {(n.upper(), n) for n in gen_header.union_fields()} == ports


def test_decoder_checks_every_narrowed_range():
    header = gen_header.HEADER_PATH.read_text()
    bounds = set(re.findall(r"localparam \[\d+:0\] (\w+_(?:MIN|MAX)) =", header))
    assert bounds, "the ISA table narrows no field?"
    src = (RTL / "seedcc_decode.v").read_text()
    used = set(re.findall(r"\b(\w+_(?:MIN|MAX))\b", src))
    assert bounds <= used, f"seedcc_decode.v does not check {sorted(bounds - used)}"


def test_decoder_checks_every_field_rule():
    """Each ``Opcode.below`` rule is a comparison of the two decoded fields inside the
    opcode's case, and the header names it."""
    src = (RTL / "seedcc_decode.v").read_text()
    header = gen_header.HEADER_PATH.read_text()
    rules = [(op.name, r) for op in isa.OPCODES for r in op.below]
    assert rules, "the ISA table has no field rule?"
    for name, rule in rules:
        case = re.search(rf"OP_{name}: begin(.*?)\n      end", src, re.DOTALL)
        assert case, f"seedcc_decode.v has no case for OP_{name}"
        assert f"(f_{rule.field} >= f_{rule.bound})" in case.group(1), (
            f"seedcc_decode.v does not flag {name} {rule.field} >= {rule.bound}")
        assert f"// rule: {rule.field} < {rule.bound}" in header


def test_decoder_checks_every_alignment_rule():
    """Each ``Opcode.aligned`` rule is a test of the field's low bits against the header's
    mask inside the opcode's case (under its condition, if it has one)."""
    src = (RTL / "seedcc_decode.v").read_text()
    header = gen_header.HEADER_PATH.read_text()
    rules = [(op.name, a) for op in isa.OPCODES for a in op.aligned]
    assert rules, "the ISA table has no alignment rule?"
    for name, a in rules:
        mask = f"{name}_{a.field.upper()}_ALIGN_MASK"
        assert f" {mask} = " in header
        case = re.search(rf"OP_{name}: begin(.*?)\n      end", src, re.DOTALL)
        assert case, f"seedcc_decode.v has no case for OP_{name}"
        assert f"|(f_{a.field} & {mask})" in case.group(1), f"seedcc_decode.v does not check {mask}"
        if a.when is not None:
            assert f"f_{a.when[0]} ==" in case.group(1)


# -- no hardware fact as a literal in the RTL ----------------------------------------------
def _code(path: Path) -> str:
    """Verilog source without comments."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.DOTALL)
    return re.sub(r"//[^\n]*", "", text)


SOURCES = sorted(RTL.glob("*.v"))
#: the testbench-side DRAM model is a generic byte memory with 32-bit addresses, not RTL
MODEL_ONLY = {"seedcc_dram.v"}

#: (pattern, what it would be) -- each pattern is a fact written out by hand
LITERALS = [
    (r"\b16\s*\*\s*(LANES|NCH)\b|\b(LANES|NCH)\s*\*\s*16\b", "GROUP written as 16"),
    (r"\[\s*\d+\s*\*\s*(LANES|PIXELS)\s*[-*]", "a width of 16·LANES or similar"),
    (r"\b(PIXELS|NPE|NCH)\s*\*\s*(8|20|24|32)\b", "an activation/address/accumulator width"),
    (r"\b(CODE_W|MROW)\s*=\s*\d", "the code width or mask-row width as a number"),
    (r"\b7'd|\[\s*6\s*:\s*0\s*\]", "a 7-bit code"),
    (r"\[\s*5\s*:\s*0\s*\]", "the 6-bit shift"),
    (r"\[\s*(31|47|53|55|63)\s*:\s*(0|16|32|48|56)\s*\]\s*\)", "a record or state byte range"),
    (r"\b(reg|wire)\s+(signed\s+)?\[\s*\d+\s*:\s*0\s*\]\s*(f_|r_|mac_|req_|add_|pool_|dma_)",
     "a field or unit bus with a hand-typed width"),
    (r"\b(input|output)\s+(wire|reg)\s+(signed\s+)?\[\s*\d+\s*:\s*0\s*\]\s*(f_|acc|bias|mult|shift|x|code|load_)",
     "a port with a hand-typed field or fact width"),
    (r"\{\s*(24|32|48|56)\s*\{", "a sign extension by a hand-counted width"),
    (r"\b(8'sd|-8'sd)128\b|\b8'sd127\b|\b64'sd127\b", "a saturation bound"),
    (r"2'd[0-3]\s*:", "a generator id"),
    (r"\[\s*255\s*:\s*0\s*\]", "the ISA word width"),
]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_rtl_defines_no_header_name_itself(path):
    names = [f.name for f in hwfacts.FACTS] + ["ISA_WORD_BITS", "ISA_OPCODE_BITS"]
    names += re.findall(r"localparam \S+ (\w+) =", gen_header.render_hwfacts())
    src = _code(path)
    bad = sorted({n for n in names if re.search(rf"\b(localparam|parameter)\b[^;]*\b{n}\s*=", src)})
    assert not bad, f"{path.name} defines {bad}; they come from the generated headers"


@pytest.mark.parametrize("path", [p for p in SOURCES if p.name not in MODEL_ONLY],
                         ids=lambda p: p.name)
def test_rtl_writes_no_hardware_fact_as_a_literal(path):
    src = _code(path)
    found = []
    for pattern, what in LITERALS:
        for m in re.finditer(pattern, src):
            line = src[:m.start()].count("\n") + 1
            found.append(f"{path.name}:{line}: {m.group(0)!r} looks like {what}")
    assert not found, "\n".join(found)


def test_requant_unit_reads_the_record_through_the_header():
    src = _code(RTL / "seedcc_vec.v")
    assert not re.search(r"param_rd_data\s*\[\s*\d", src), "hard-coded record offsets"
    for name in ("REQ_BIAS_LO", "REQ_MULT_LO", "REQ_SHIFT_LO", "SHIFT_MAX"):
        assert name in src


def test_the_literal_scan_catches_the_old_patterns():
    """The patterns above would have flagged the RTL before the headers carried the facts."""
    old = """
      localparam integer NCH = 16 * LANES;
      input  wire [5:0]           f_shift,
      .bias(param_rd_data[31:0]),
      .shift(param_rd_data[53:48]),
      wire signed [63:0] sum = {{32{acc[31]}}, acc} + {{32{bias[31]}}, bias};
      cmask = (7'd1 << r_cb) - 7'd1;
      2'd1: begin
      reg [19:0] r_acc_addr;
    """
    hits = {what for pattern, what in LITERALS if re.search(pattern, old)}
    assert len(hits) >= 7, hits
