"""The `seedcc` command line (DESIGN.md §6), run as a subprocess like a user would.

Commands go through ``python -m seedcc.cli`` (works without the console script); one test
uses the installed ``seedcc`` script next to ``sys.executable``. Every bad input must exit
with code 2, print exactly one line on stderr (no traceback) and leave no file behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import sample_path
from onnx import TensorProto, helper

from seedcc.backends import program as program_io
from seedcc.backends import refsim
from seedcc.backends.isa import disassemble_one
from seedcc.golden import ort_run
from seedcc.models import ModelBuilder, mlp
from seedcc.rtl_models.hwconfig import DEFAULT, SMALL

BATCH = 5
FEATURES, CLASSES = 64, 10  # mlp() defaults
FLOAT_RTOL = 1e-5  # float mode vs ORT: float32 summation order only (see test_pipeline.py)


def seedcc(*args: str | os.PathLike, cwd: Path,
           script: str | None = None) -> subprocess.CompletedProcess:
    cmd = [script] if script else [sys.executable, "-m", "seedcc.cli"]
    return subprocess.run([*cmd, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, (f"exit {proc.returncode}\nstdout:\n{proc.stdout}\n"
                                  f"stderr:\n{proc.stderr}")
    return proc


@dataclass(frozen=True)
class Files:
    """Inputs shared by the tests (written once per module, never modified)."""

    root: Path
    model: Path  # mlp.onnx
    program: Path  # mlp.sdc compiled by the CLI (DEFAULT config)
    x: Path  # (BATCH, 64) float32
    compile_stdout: str


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    root = tmp_path_factory.mktemp("cli")
    onnx.save(mlp(), root / "mlp.onnx")
    x = np.random.default_rng(0).standard_normal((BATCH, FEATURES)).astype(np.float32)
    np.save(root / "x.npy", x)
    proc = ok(seedcc("compile", "mlp.onnx", "-o", "mlp.sdc", cwd=root))
    return Files(root, root / "mlp.onnx", root / "mlp.sdc", root / "x.npy", proc.stdout)


# -- the happy path ------------------------------------------------------------------------
def test_compile_says_what_it_did(files: Files) -> None:
    assert files.program.is_file()
    assert "compiled mlp.onnx -> mlp.sdc: 3 layers" in files.compile_stdout
    assert "calibrated on" in files.compile_stdout and "--calib" in files.compile_stdout
    assert not [p.name for p in files.root.iterdir() if p.name.endswith(".tmp")]


def test_run_writes_outputs_and_prints_cycles(files: Files, tmp_path: Path) -> None:
    proc = ok(seedcc("run", files.program, "--input", files.x, "-o", "y.npy", cwd=tmp_path))
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (BATCH, CLASSES) and y.dtype == np.float32
    prog = program_io.load(files.program)
    x = np.load(files.x)
    expected = refsim.run(prog, {"x": x}, mode="int8")
    np.testing.assert_array_equal(y, expected.outputs["logits"])
    assert f"{expected.cycles} cycles per sample" in proc.stdout
    assert f"ran {BATCH} sample(s) in int8 mode" in proc.stdout


def test_run_float_mode_matches_onnxruntime(files: Files, tmp_path: Path) -> None:
    ok(seedcc("run", files.program, "--input", files.x, "-o", "yf.npy", "--mode", "float",
              cwd=tmp_path))
    y = np.load(tmp_path / "yf.npy")
    ref = ort_run(files.model, {"x": np.load(files.x)})["logits"]
    assert y.shape == ref.shape
    assert np.max(np.abs(y - ref)) <= FLOAT_RTOL * np.max(np.abs(ref))


def test_run_npz_in_and_out(files: Files, tmp_path: Path) -> None:
    np.savez(tmp_path / "in.npz", x=np.load(files.x))
    ok(seedcc("run", files.program, "--input", "in.npz", "-o", "out.npz", cwd=tmp_path))
    with np.load(tmp_path / "out.npz") as out:
        assert out.files == ["logits"] and out["logits"].shape == (BATCH, CLASSES)


def test_verify_prints_the_layer_table_and_pass() -> None:
    model = sample_path("torch_export_unfolded")
    proc = ok(seedcc("verify", model, "--samples", "50", "--config", "small", cwd=model.parent))
    lines = proc.stdout.splitlines()
    assert lines[-1] == "PASS"
    assert lines[1].split()[:3] == ["layer", "(ONNX", "tensor)"] and "float rel err" in lines[1]
    for layer in ("/Relu_output_0", "/bn2/BatchNormalization_output_0", "/Relu_1_output_0",
                  "/GlobalAveragePool_output_0", "logits"):
        assert any(line.split()[0] == layer for line in lines[2:]), f"no table row for {layer}"
    assert "float mode matches onnxruntime at every layer" in proc.stdout
    assert "int8 top-1 agreement with onnxruntime" in proc.stdout
    # stderr carries only the stage-by-stage progress lines (indented), no warning or error
    assert all(line.startswith("  ") for line in proc.stderr.splitlines()), proc.stderr


def test_report_prints_sizes_against_fp32_and_cycles(files: Files) -> None:
    proc = ok(seedcc("report", files.model, cwd=files.root))
    weights = FEATURES * 48 + 48 * 48 + 48 * CLASSES  # fc1, fc2, fc3 of mlp()
    assert f"vs fp32 {4 * weights} bytes" in proc.stdout
    assert "x smaller" in proc.stdout
    prog = program_io.load(files.program)  # compiled for DEFAULT, as report does
    assert prog.config == DEFAULT
    assert f"cycles per sample: {refsim.simulator(prog).cycles} " in proc.stdout
    for layer in ("fc1/Gemm", "fc2/MatMul", "fc3/Gemm"):
        assert layer in proc.stdout


def test_disasm_prints_every_instruction(files: Files) -> None:
    proc = ok(seedcc("disasm", files.program, cwd=files.root))
    prog = program_io.load(files.program)
    lines = proc.stdout.splitlines()
    assert len(lines) == len(prog.instructions)
    for i, (line, ins) in enumerate(zip(lines, prog.instructions)):
        index, text = line.split(":", 1)
        assert int(index) == i and text.strip() == disassemble_one(ins).strip()
    assert lines[-1].split()[1] == "HALT"


def test_console_script(files: Files, tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "seedcc"
    assert script.is_file(), f"no `seedcc` console script next to {sys.executable}"
    proc = ok(seedcc("compile", files.model, "-o", "again.sdc", cwd=tmp_path, script=str(script)))
    assert "compiled" in proc.stdout
    assert (tmp_path / "again.sdc").read_bytes() == files.program.read_bytes()


# -- bad inputs ----------------------------------------------------------------------------
def unsupported_model(path: Path) -> None:
    """Two ops seedcc does not support (Sigmoid, Tanh) between supported ones."""
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="relu"),
             helper.make_node("Sigmoid", ["a"], ["b"], name="sig"),
             helper.make_node("Tanh", ["b"], ["y"], name="tanh")]
    graph = helper.make_graph(nodes, "unsupported",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def altered(data: bytes) -> bytes:
    """One byte of the memory image flipped (the checksum no longer matches)."""
    out = bytearray(data)
    out[len(out) // 2] ^= 0x40
    return bytes(out)


def prepare(files: Files, d: Path) -> None:
    """The files a bad-input case may need, in its own directory."""
    (d / "mlp.sdc").write_bytes(files.program.read_bytes())
    (d / "x.npy").write_bytes(files.x.read_bytes())
    x = np.load(files.x)
    (d / "noise.onnx").write_bytes(np.random.default_rng(1).bytes(300))
    (d / "trunc.sdc").write_bytes(files.program.read_bytes()[:1000])
    (d / "altered.sdc").write_bytes(altered(files.program.read_bytes()))
    np.save(d / "shape.npy", x[:, :-1])
    np.save(d / "strings.npy", x.astype(str))
    np.save(d / "complex.npy", x.astype(np.complex64))
    np.savez(d / "noname.npz", y=x)
    unsupported_model(d / "unsup.onnx")


def run_args(program: str, inputs: str, output: str = "out.npy") -> list[str]:
    return ["run", program, "--input", inputs, "-o", output]


#: case -> (arguments, words the one error line must contain)
BAD = {
    "missing model": (["compile", "nope.onnx", "-o", "out.sdc"], ["nope.onnx"]),
    "not onnx": (["compile", "noise.onnx", "-o", "out.sdc"], ["noise.onnx"]),
    "truncated sdc": (run_args("trunc.sdc", "x.npy"), ["trunc.sdc", "truncated"]),
    "altered sdc": (run_args("altered.sdc", "x.npy"), ["altered.sdc", "checksum"]),
    "wrong shape": (run_args("mlp.sdc", "shape.npy"), ["'x'", "63"]),
    "string dtype": (run_args("mlp.sdc", "strings.npy"), ["strings.npy", "dtype"]),
    "complex dtype": (run_args("mlp.sdc", "complex.npy"), ["complex"]),
    "npz without input name": (run_args("mlp.sdc", "noname.npz"), ["'x'"]),
    "unsupported ops": (["compile", "unsup.onnx", "-o", "out.sdc"],
                        ["Sigmoid", "Tanh", "unsup.onnx"]),
    "run output in missing directory": (run_args("mlp.sdc", "x.npy", "nodir/y.npy"), ["nodir"]),
}


@dataclass(frozen=True)
class BadRun:
    proc: subprocess.CompletedProcess
    before: dict[str, int]  # file name -> mtime before the command ran
    after: dict[str, int]


def listing(d: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in d.iterdir()}


@pytest.fixture(scope="module")
def bad_runs(files: Files, tmp_path_factory: pytest.TempPathFactory) -> dict[str, BadRun]:
    """Every BAD case in its own directory, all processes started at once (they are
    independent and mostly interpreter start-up, so this keeps the module quick)."""
    started = {}
    for case, (args, _) in BAD.items():
        d = tmp_path_factory.mktemp("bad")
        prepare(files, d)
        before = listing(d)
        proc = subprocess.Popen([sys.executable, "-m", "seedcc.cli", *args], cwd=d, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started[case] = (d, before, args, proc)
    runs = {}
    for case, (d, before, args, proc) in started.items():
        out, err = proc.communicate(timeout=300)
        done = subprocess.CompletedProcess(args, proc.returncode, out, err)
        runs[case] = BadRun(done, before, listing(d))
    return runs


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(case: str,
                                                        bad_runs: dict[str, BadRun]) -> None:
    run = bad_runs[case]
    err = run.proc.stderr
    assert "Traceback" not in err, err
    assert run.proc.returncode == 2, f"exit {run.proc.returncode}, stderr:\n{err}"
    assert err.endswith("\n") and err.count("\n") == 1 and err.strip(), f"not one line:\n{err}"
    assert err.startswith("seedcc: error: ")
    for word in BAD[case][1]:
        assert word in err, f"{word!r} not named in: {err}"
    names = set(run.after) | set(run.before)
    changed = sorted(k for k in names if run.after.get(k) != run.before.get(k))
    assert not changed, f"files left or changed: {changed}"


def test_compile_output_in_missing_directory_fails_cleanly(files: Files, tmp_path: Path) -> None:
    """`compile -o nodir/m.sdc` of a good model: exit 2, one line naming the path, no traceback."""
    proc = seedcc("compile", files.model, "-o", "nodir/m.sdc", cwd=tmp_path)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "nodir" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_config_too_small_for_a_tile_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    """A banded stem whose one output row of a channel block needs more band buffer than a
    quarter of the act SRAM: one line naming the layer, the bytes and the HwConfig field."""
    b = ModelBuilder("wide_stem")
    h = b.node("Relu", [b.conv("x", 1, 64, 3, "stem", stride=2)], "relu")
    b.nodes.append(helper.make_node("MaxPool", [h], ["y"], name="pool", kernel_shape=[2, 2], strides=[2, 2]))
    model = b.build([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 40, 260])],
                    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 64, 10, 65])], settle=False)
    onnx.save(model, tmp_path / "m.onnx")
    # the 10,400-byte input fits 16 KiB, the 64x20x130 stem output does not; one output row of
    # a 32-channel block (SMALL's 2 lanes x 16) is 4,160 B, more than 16 KiB / 4
    (tmp_path / "cfg.json").write_text(replace(SMALL, act_sram_bytes=16 * 1024).to_json())
    proc = seedcc("compile", "m.onnx", "-o", "m.sdc", "--config", "cfg.json", cwd=tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("seedcc: error:")]
    assert len(errors) == 1 and errors[0] == proc.stderr.strip().splitlines()[-1], proc.stderr
    for word in ("stem/Conv", "4160 bytes", "act_sram_bytes"):
        assert word in errors[0], proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cfg.json", "m.onnx"]
