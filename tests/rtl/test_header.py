"""The committed rtl_models/isa.vh is exactly what gen_header renders from the ISA table,
and the decoder has an output port for every field name of the table and checks every
narrowed field range the header declares."""

from __future__ import annotations

import re

from seedcc.backends import gen_header


def test_header_is_regenerated_byte_for_byte():
    committed = gen_header.HEADER_PATH.read_bytes()
    fresh = gen_header.render().encode()
    if committed != fresh:
        i = next((k for k, (a, b) in enumerate(zip(committed, fresh)) if a != b),
                 min(len(committed), len(fresh)))
        line = committed[:i].count(b"\n") + 1
        raise AssertionError(f"{gen_header.HEADER_PATH} differs from the ISA table at byte {i} "
                             f"(line {line}); run `python -m seedcc.backends.gen_header`")


def test_decoder_has_every_field():
    src = (gen_header.HEADER_PATH.parent / "seedcc_decode.v").read_text()
    ports = set(re.findall(r"output reg (?:signed )?\[F_(\w+)_W-1:0\] f_(\w+);", src))
    assert {(n.upper(), n) for n in gen_header.union_fields()} == ports


def test_decoder_checks_every_narrowed_range():
    header = gen_header.HEADER_PATH.read_text()
    bounds = set(re.findall(r"localparam \[\d+:0\] (\w+_(?:MIN|MAX)) =", header))
    assert bounds, "the ISA table narrows no field?"
    src = (gen_header.HEADER_PATH.parent / "seedcc_decode.v").read_text()
    used = set(re.findall(r"\b(\w+_(?:MIN|MAX))\b", src))
    assert bounds <= used, f"seedcc_decode.v does not check {sorted(bounds - used)}"
