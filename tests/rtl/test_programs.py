"""Hand-built programs on the whole accelerator (every opcode), and the same programs on
the reference model: outputs byte for byte and cycles exactly.

The RTL tests only build and launch (seedcc/backends/cocotb_accel.py holds the cocotb side);
tests/rtl/rtl_programs.py builds the programs and their independent expectations.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from rtl_attn_programs import ATTN_CASES
from rtl_programs import CASES
from rtlsupport import DRAM_BYTES, accel_build

from seedcc.backends import refsim
from seedcc.backends.rtlrun import TESTBENCH
from seedcc.backends.simulator import run_test
from seedcc.backends.vectors import load_vectors, write_vectors
from seedcc.rtl_models.hwconfig import SMALL

ALL_CASES = {**CASES, **ATTN_CASES}


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(ALL_CASES))
def test_program_on_rtl(name, tmp_path):
    case = ALL_CASES[name]()
    vec_dir = tmp_path / "vectors"
    write_vectors(case.program, case.inputs, vec_dir, expected_outputs=case.expected,
                  expected_cycles=case.cycles)
    outcome = run_test(accel_build(), TESTBENCH, tmp_path / "sim",
                       args={"vectors": [str(vec_dir)], "parameters": SMALL.verilog_params(),
                             "dram_bytes": DRAM_BYTES})
    assert outcome.ok, outcome.summary()
    stats = json.loads((tmp_path / "sim" / "seedcc_stats.json").read_text())
    assert stats[0]["cycles"] == case.cycles


@pytest.mark.rtl
def test_illegal_instruction_sets_err(tmp_path):
    outcome = run_test(accel_build(), TESTBENCH, tmp_path,
                       testcase="illegal_word_stops_with_err")
    assert outcome.ok, outcome.summary()


@pytest.mark.rtl
def test_misplaced_loop_sets_err(tmp_path):
    """The RTL twin of tests/test_refsim.py::test_bad_loops_are_refused_by_the_encoder_and_the_reference_model."""
    outcome = run_test(accel_build(), TESTBENCH, tmp_path, testcase="misplaced_loop_stops_with_err")
    assert outcome.ok, outcome.summary()


@pytest.mark.rtl
def test_requant_record_with_too_large_shift_sets_err(tmp_path):
    """The RTL twin of tests/test_refsim.py::test_a_requantisation_shift_above_the_limit_is_an_error."""
    outcome = run_test(accel_build(), TESTBENCH, tmp_path, testcase="bad_record_stops_with_err")
    assert outcome.ok, outcome.summary()


@pytest.mark.rtl
def test_layernorm_record_with_too_large_shift_sets_err(tmp_path):
    """The RTL twin of tests/test_refsim_attention.py::test_a_layernorm_record_shift_above_the_limit_is_an_error."""
    outcome = run_test(accel_build(), TESTBENCH, tmp_path, testcase="bad_layernorm_record_stops_with_err")
    assert outcome.ok, outcome.summary()


@pytest.mark.parametrize("name", list(ALL_CASES))
def test_program_on_refsim(name):
    """The reference model agrees with the independent expectations of every case."""
    case = ALL_CASES[name]()
    floats = {k: v.astype(np.float32)[None] for k, v in case.inputs.items()}  # scale 1.0
    res = refsim.run(case.program, floats, mode="int8")
    raw = refsim.run_int(case.program, {k: v[None] for k, v in case.inputs.items()})
    assert res.cycles == raw.cycles == case.cycles
    wide = {d.name for d in case.program.manifest.outputs if d.wide}
    for k, exp in case.expected.items():  # an int32 output as the words written (float32 rounds)
        got = np.asarray((raw if k in wide else res).outputs[k])[0].astype(np.int64)
        bad = np.flatnonzero(got.reshape(-1) != exp.reshape(-1).astype(np.int64))
        assert bad.size == 0, (f"{name}/{k}: {bad.size} values differ, first at flat index "
                               f"{bad[0]}: refsim {got.reshape(-1)[bad[0]]}, expected "
                               f"{exp.reshape(-1)[bad[0]]}")


def test_vectors_from_refsim_match_explicit(tmp_path):
    """write_vectors without expectations (refsim) writes the same files as with them."""
    case = CASES["conv_xorshift16"]()
    write_vectors(case.program, case.inputs, tmp_path / "a", expected_outputs=case.expected,
                  expected_cycles=case.cycles)
    write_vectors(case.program, case.inputs, tmp_path / "b")
    a, b = load_vectors(tmp_path / "a"), load_vectors(tmp_path / "b")
    assert (a.words, a.dram, a.outputs) == (b.words, b.dram, b.outputs)
    assert a.expected_cycles == b.expected_cycles
    assert b.source == "refsim"


@pytest.mark.rtl
def test_malformed_adjacency_chunk_sets_err(tmp_path):
    """The RTL twin of tests/test_refsim.py::test_agg_rejects_a_malformed_chunk."""
    outcome = run_test(accel_build(), TESTBENCH, tmp_path, testcase="bad_adjacency_stops_with_err")
    assert outcome.ok, outcome.summary()
