"""The hardware facts (seedcc.rtl_models.hwfacts): one definition each, a consistent record
layout, range checks when a record is encoded, and the one mask-code limit.

The facts' single home is checked on the source: no other module of the package assigns a
fact's name or spells the requantisation record's dtype. The Verilog side (generated
header, no literals in the RTL) is checked by tests/rtl/test_header.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import seedcc
from seedcc import backends, compiler, ir, rtl_models
from seedcc.backends import isa
from seedcc.errors import ModelStructureError, SeedccError
from seedcc.flow import compile_model
from seedcc.models import small_cnn
from seedcc.rtl_models import hwfacts, masks
from seedcc.rtl_models.hwconfig import SMALL
from seedcc.rtl_models.hwfacts import REQ_RECORD, FieldRangeError, req_record_bytes

FACT_NAMES = {f.name for f in hwfacts.FACTS} | {
    "REQ_RECORD", "REQ_LIMITS", "LANE_STATE_DTYPE", "MULT_MIN", "MULT_MAX", "ACC_BYTES",
    "CODE_BITS_FIELD", "INT8_MIN", "INT8_MAX"}


def package_sources() -> list[Path]:
    roots = {Path(p.__file__).parent for p in (seedcc, backends, compiler, ir, rtl_models)}
    return sorted({p for r in roots for p in r.rglob("*.py")})


@pytest.mark.parametrize("path", package_sources(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_module_but_hwfacts_defines_a_fact(path: Path) -> None:
    if path == Path(hwfacts.__file__):
        return
    tree = ast.parse(path.read_text())
    assigned = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        for t in targets:
            for name in ast.walk(t):
                if isinstance(name, ast.Name):
                    assigned.add(name.id)
    assert not assigned & FACT_NAMES, f"{path.name} defines {sorted(assigned & FACT_NAMES)}"
    assert '("bias", "<i4")' not in path.read_text(), f"{path.name} spells the REQ record"


def test_the_record_layout_is_the_facts() -> None:
    assert REQ_RECORD.itemsize == hwfacts.REQ_RECORD_BYTES == 8
    assert REQ_RECORD["bias"] == np.dtype("<i4") and 8 * REQ_RECORD["bias"].itemsize == hwfacts.ACC_BITS
    assert REQ_RECORD["mult"] == np.dtype("<i2") and 8 * REQ_RECORD["mult"].itemsize == hwfacts.MULT_BITS
    assert hwfacts.SHIFT_MAX == 63 and REQ_RECORD["shift"] == np.dtype("u1")
    facts = {f.name: f.value for f in hwfacts.FACTS}
    assert [(facts[f"REQ_{n.upper()}_LO"], facts[f"REQ_{n.upper()}_W"]) for n in REQ_RECORD.names] \
        == [(0, 32), (32, 16), (48, 8), (56, 8)]
    assert hwfacts.LANE_STATE_DTYPE.itemsize == hwfacts.LANE_STATE_BYTES == 8


def _records(**values) -> np.ndarray:
    rec = np.zeros(3, REQ_RECORD)
    rec["bias"], rec["mult"], rec["shift"] = (-(2**31), 5, 2**31 - 1), (-(2**15), 1, 2**15 - 1), (0, 7, 63)
    for name, (i, v) in values.items():
        rec[name][i] = v
    return rec


def test_records_in_range_encode_to_their_bytes() -> None:
    rec = _records()
    assert req_record_bytes(rec, "layer conv1") == rec.tobytes()


@pytest.mark.parametrize("field, index, value, bounds", [
    ("shift", 1, 64, "[0, 63]"),
    ("shift", 2, 255, "[0, 63]"),
    ("pad", 0, 1, "[0, 0]"),
])
def test_an_out_of_range_record_field_is_named(field: str, index: int, value: int, bounds: str) -> None:
    with pytest.raises(FieldRangeError) as info:
        req_record_bytes(_records(**{field: (index, value)}), "layer conv1")
    assert str(info.value) == f"layer conv1: REQ record {index} {field}={value} out of range {bounds}"
    assert isinstance(info.value, SeedccError) and isinstance(info.value, ValueError)


def test_records_of_another_dtype_are_refused() -> None:
    with pytest.raises(TypeError, match="REQ records must have dtype"):
        req_record_bytes(np.zeros(2, np.int64), "layer conv1")


@pytest.mark.parametrize("value", [1.0, "3", None])
def test_check_range_wants_an_integer(value: object) -> None:
    with pytest.raises(FieldRangeError, match=r"x=.* out of range \[0, 7\]"):
        hwfacts.check_range("x", value, 0, 7)  # type: ignore[arg-type]


def test_mask_row_size_is_one_rule() -> None:
    assert hwfacts.mask_row_bytes(1, hwfacts.CODE_BITS_MAX, True) == hwfacts.MASK_ROW_LANE_BYTES == 16
    for oc in (1, 16, 17, 40):
        for bits in range(1, hwfacts.CODE_BITS_MAX + 1):
            for signs in (False, True):
                ng = -(-oc // 16)
                assert masks.row_bytes(oc, bits, signs) == 2 * ng * bits + (2 * ng if signs else 0)


def test_one_mask_code_limit_everywhere() -> None:
    """The 3-bit code_bits field allows code widths 1..7, so codes 0..127: the ISA, the
    packer, the front end and (tests/rtl) the PE all take the same limit."""
    assert hwfacts.MAX_CODE == 127 == (1 << hwfacts.CODE_BITS_MAX) - 1
    assert isa.BY_NAME["MAC"].field("code_bits").valid == (1, hwfacts.CODE_BITS_MAX)
    assert masks.code_bits_for(hwfacts.MAX_CODE) == hwfacts.CODE_BITS_MAX
    codes = np.arange(hwfacts.MAX_CODE + 1, dtype=np.uint8).reshape(1, -1)
    raw = masks.pack_block(codes, hwfacts.CODE_BITS_MAX)
    np.testing.assert_array_equal(masks.unpack_block(raw, 1, codes.shape[1], 7)[0], codes)


def test_the_front_end_accepts_codes_up_to_the_limit() -> None:
    prog = compile_model(small_cnn(codes=hwfacts.MAX_CODE), config=SMALL).program
    assert max(i.code_bits for i in prog.instructions if i.op == "MAC") == hwfacts.CODE_BITS_MAX
    with pytest.raises(ModelStructureError, match=r"integer codes 0\.\.127"):
        compile_model(small_cnn(codes=hwfacts.MAX_CODE + 1), config=SMALL)
