"""Regression tests of the robustness contract: one minimal reproducer per class of
malformed model, program or input that once crashed seedcc, slipped through, or allocated
before checking (the fuzzing in test_fuzz.py looks for new ones).

Every case runs `seedcc.cli.main` in-process through the fuzzing harness (`fuzzing.execute`),
which also checks the contract every failure must keep: exit 2 with one error line naming
the file, node or field, no traceback, no numpy warning, an existing output untouched, no
temporary file left, and no allocation beyond the memory limit.
"""

from __future__ import annotations

import hashlib
import io
import json
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import initializer, load_model, set_initializer
from fuzzing import LIMIT, execute, seeds, tiny_model
from mutators import Case, npy_bytes
from onnx import TensorProto, helper, numpy_helper

import seedcc
from seedcc.backends import isa, refsim
from seedcc.backends import program as program_io
from seedcc.compiler.frontend import import_onnx
from seedcc.compiler.interpret import run_graph_bytes
from seedcc.compiler.passes.quantize import value_peaks
from seedcc.compiler.records import RECORD_KEY
from seedcc.errors import BadInputError, RecordMismatchError, ResourceLimitError
from seedcc.golden import ort_run
from seedcc.limits import ENV, max_memory, memory_limit, parse_size
from seedcc.models import small_cnn


# -- helpers -------------------------------------------------------------------------------
def refused(case: Case, *words: str, limit: int | None = LIMIT) -> str:
    """Run `case`; it must fail with exit 2 keeping the whole contract; return its error line."""
    o = execute(case, limit)
    assert o.code == 2 and not o.problems(), o.describe()
    line = o.stderr.splitlines()[-1]
    for word in words:
        assert word in line, f"{word!r} not named in: {line}"
    return line


def compile_case(model: onnx.ModelProto | bytes, *extra: str, files: dict | None = None) -> Case:
    data = model if isinstance(model, bytes) else model.SerializeToString()
    return Case("regression", ("compile", "m.onnx", "-o", "out.sdc", *extra),
                {"m.onnx": data, **(files or {})}, "out.sdc")


def set_init(m: onnx.ModelProto, name: str, value: np.ndarray | onnx.TensorProto) -> onnx.ModelProto:
    t = next(t for t in m.graph.initializer if t.name == name)
    t.CopyFrom(value if isinstance(value, onnx.TensorProto) else numpy_helper.from_array(value, name))
    return m


def init(m: onnx.ModelProto, name: str) -> np.ndarray:
    return numpy_helper.to_array(next(t for t in m.graph.initializer if t.name == name))


def cnn() -> onnx.ModelProto:
    return small_cnn(channels=4, size=8)


def program_bytes(name: str = "tiny") -> bytes:
    return seeds().programs[name]


def sections(data: bytes) -> list[bytes]:
    pos, out = 10, []
    for _ in range(5):
        n = int.from_bytes(data[pos:pos + 8], "little")
        out.append(data[pos + 8:pos + 8 + n])
        pos += 8 + n
    return out


def crafted(config: dict | None = None, manifest: dict | None = None,
            instructions: list[isa.Instruction] | None = None, floats: bytes | None = None) -> bytes:
    """The tiny program with a section replaced, checksum recomputed."""
    parts = sections(program_bytes())
    if config is not None:
        parts[0] = json.dumps(config).encode()
    if instructions is not None:
        parts[1] = isa.encode_stream(instructions)
    if floats is not None:
        parts[3] = floats
    if manifest is not None:
        parts[4] = json.dumps(manifest).encode()
    payload = program_io.MAGIC + program_io.FORMAT_VERSION.to_bytes(2, "little") + b"".join(
        len(p).to_bytes(8, "little") + p for p in parts)
    return payload + hashlib.sha256(payload).digest()


def run_case(program: bytes, x: np.ndarray | bytes | None = None, suffix: str = ".npy") -> Case:
    data = x if isinstance(x, bytes) else npy_bytes(seeds().inputs["tiny"] if x is None else x)
    return Case("regression", ("run", "p.sdc", "--input", f"x{suffix}", "-o", "y.npy"),
                {"p.sdc": program, f"x{suffix}": data}, "y.npy")


# -- models: tracebacks in the front end ---------------------------------------------------
@pytest.mark.parametrize("dtype", [np.bool_, np.int64])
def test_mask_of_bool_or_integer_without_cast_names_the_mul(dtype: type) -> None:
    m = tiny_model()
    set_init(m, "fc.M", init(m, "fc.M").astype(dtype))
    refused(compile_case(m), "m.onnx", "fc/Mul")


@pytest.mark.parametrize("dtype", [TensorProto.BFLOAT16, TensorProto.STRING])
def test_initializer_of_an_unreadable_type_names_it(dtype: int) -> None:
    m = tiny_model()
    vals = [b"s"] * 32 if dtype == TensorProto.STRING else [1.0] * 32
    set_init(m, "fc.M", helper.make_tensor("fc.M", dtype, [4, 8], vals))
    refused(compile_case(m), "'fc.M'", TensorProto.DataType.Name(dtype))


def test_shape_mismatch_seedcc_cannot_run_names_the_node() -> None:
    """ONNX broadcasts Add((N, 4), (N, 1)); the accelerator's ADD cannot."""
    m = tiny_model()
    g = m.graph
    g.initializer.append(numpy_helper.from_array(np.ones((1, 8), np.float32), "w1"))
    g.node.append(helper.make_node("MatMul", ["x", "w1"], ["one"], name="narrow/MatMul"))
    g.node.append(helper.make_node("Add", ["y", "one"], ["z"], name="mismatch"))
    g.output[0].CopyFrom(helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 4]))
    set_init(m, "w1", np.ones((8, 1), np.float32))
    refused(compile_case(m), "node mismatch", "(4,)", "(1,)")


def test_weight_rewired_to_a_vector_names_the_node() -> None:
    m = tiny_model()
    m.graph.initializer.append(numpy_helper.from_array(np.ones(8, np.float32), "w1d"))
    m.graph.node.append(helper.make_node("MatMul", ["x", "w1d"], ["v"], name="vec/MatMul"))
    m.graph.output.append(helper.make_tensor_value_info("v", TensorProto.FLOAT, ["N"]))
    refused(compile_case(m), "vec/MatMul")


def test_input_smaller_than_the_window_names_the_node() -> None:
    m = cnn()
    dims = m.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value = dims[3].dim_value = 1
    refused(compile_case(m), "node pool", "window")


def test_freeze_seed_infinity_names_the_field() -> None:
    m = tiny_model()
    prop = next(p for p in m.metadata_props if p.key == RECORD_KEY)
    doc = json.loads(prop.value)
    doc["tensors"]["fc.R"]["freeze"] = {"seed": float("inf"), "prune": 0.1}
    prop.value = json.dumps(doc)
    refused(compile_case(m), RECORD_KEY, "'fc.R'", "seed", "inf")


@pytest.mark.parametrize("name, value", [("bn.var", np.nan), ("bn.gamma", np.inf),
                                         ("bn.beta", -np.inf), ("fc.R", np.nan)])
def test_non_finite_parameters_are_refused_naming_them(name: str, value: float) -> None:
    """They used to compile to a program with an undefined int32 bias."""
    m = tiny_model()
    a = init(m, name).copy()
    a.reshape(-1)[0] = value
    refused(compile_case(set_init(m, name, a)), f"'{name}'")


def test_batchnorm_values_overflowing_float32_name_the_node() -> None:
    m = tiny_model()
    set_init(m, "bn.gamma", np.full(4, 3e38, np.float32))
    set_init(m, "bn.var", np.full(4, 1e-30, np.float32))
    m.graph.node[-2].attribute[0].f = 0.0  # epsilon
    refused(compile_case(m), "node bn", "overflows float32")


def test_negative_batchnorm_variance_names_the_channel() -> None:
    m = tiny_model()
    set_init(m, "bn.var", np.array([1, -2, 1, 1], np.float32))
    refused(compile_case(m), "node bn", "channel 1")


def test_byte_corrupted_name_names_the_field() -> None:
    data = tiny_model().SerializeToString().replace(b"fc/Gemm", b"fc/G\xffmm")
    refused(compile_case(data), "not valid UTF-8", "model.graph.node")


def test_constant_graph_output_is_a_bad_input_not_an_internal_error() -> None:
    """A graph output computed from initializers alone once left the IR dangling (exit 3)."""
    m = tiny_model()
    m.graph.output.append(helper.make_tensor_value_info("fc/Mul_out", TensorProto.FLOAT, [4, 8]))
    refused(compile_case(m), "'fc/Mul_out'", "constant")


def test_global_pool_of_a_vector_names_the_node() -> None:
    """ONNX's checker lets GlobalAveragePool take (N, F); the accelerator pools planes."""
    m = tiny_model()
    m.graph.node.append(helper.make_node("GlobalAveragePool", ["y"], ["z"], name="gap"))
    m.graph.output[0].CopyFrom(helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 4]))
    refused(compile_case(m), "node gap", "(C, H, W)")


def test_control_characters_in_names_stay_on_one_line() -> None:
    m = tiny_model()
    m.graph.node[1].op_type = "Gemm\nInjected"
    line = refused(compile_case(m), "Gemm\\nInjected")
    assert "\n" not in line


# -- models: nonsense that compiled --------------------------------------------------------
def test_initializer_dtype_onnxruntime_rejects_is_refused() -> None:
    m = tiny_model()
    set_init(m, "bn.mean", init(m, "bn.mean").astype(np.float64))
    refused(compile_case(m), "ONNX checker", "bn")


def test_model_without_outputs_is_refused() -> None:
    m = tiny_model()
    del m.graph.output[:]
    refused(compile_case(m), "no outputs")
    refused(Case("regression", ("verify", "m.onnx", "--samples", "2"),
                 {"m.onnx": m.SerializeToString()}), "no outputs")


def test_kernel_shape_contradicting_the_weight_is_refused() -> None:
    m = cnn()
    conv = next(n for n in m.graph.node if n.op_type == "Conv")
    next(a for a in conv.attribute if a.name == "kernel_shape").ints[:] = [5, 5]
    refused(compile_case(m), conv.name, "kernel_shape [5, 5]", "[3, 3]")


@pytest.mark.parametrize("opset", [6, 30, 1000])
def test_opset_outside_the_supported_range_is_refused(opset: int) -> None:
    m = tiny_model()
    m.opset_import[0].version = opset
    refused(compile_case(m), f"opset {opset}")


def test_onnxruntime_errors_are_named_errors() -> None:
    """`verify` runs onnxruntime after compiling; its failures used to escape as tracebacks."""
    m = tiny_model()
    m.opset_import[0].version = 30
    with pytest.raises(BadInputError, match="onnxruntime cannot run the model"):
        ort_run(m, {"x": np.zeros((1, 8), np.float32)})


# -- inputs --------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 1e39])
def test_run_refuses_non_finite_inputs(value: float) -> None:
    x = seeds().inputs["tiny"].astype(np.float64)
    x[1, 3] = value
    refused(run_case(program_bytes(), x), "x.npy", "[1, 3]", "finite")


@pytest.mark.parametrize("value", [3e38, -3e38, 1e30])
def test_verify_on_inputs_far_beyond_calibration_prints_no_warning(value: float) -> None:
    """Differences of float32 values near its range once overflowed with a numpy warning."""
    x = np.full((2, 8), value, np.float32)
    case = Case("regression", ("verify", "m.onnx", "--input", "x.npy", "--config", "small"),
                {"m.onnx": seeds().models["tiny"], "x.npy": npy_bytes(x)})
    o = execute(case)
    assert o.code in (0, 1) and not o.problems(), o.describe()


def test_verify_on_an_empty_batch_is_refused() -> None:
    case = Case("regression", ("verify", "m.onnx", "--input", "x.npy", "--config", "small"),
                {"m.onnx": seeds().models["tiny"], "x.npy": npy_bytes(np.zeros((0, 8), np.float32))})
    refused(case, "no samples")


@pytest.mark.parametrize("what", ["nan", "empty", "shape"])
def test_calibration_inputs_are_checked(what: str) -> None:
    c = {"nan": np.full((4, 8), np.nan, np.float32), "empty": np.zeros((0, 8), np.float32),
         "shape": np.zeros((4, 7), np.float32)}[what]
    refused(compile_case(tiny_model(), "--calib", "c.npy", files={"c.npy": npy_bytes(c)}),
            "calibration")


def test_object_array_in_npz_is_refused_and_never_unpickled(tmp_path: Path) -> None:
    """The array's pickle would create a file if anything unpickled it."""
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self) -> tuple:
            return (open, (str(marker), "w"))

    arr = np.empty(1, dtype=object)
    arr[0] = Payload()
    npy, npz = io.BytesIO(), io.BytesIO()
    np.lib.format.write_array(npy, arr, allow_pickle=True)
    with zipfile.ZipFile(npz, "w") as z:
        z.writestr("x.npy", npy.getvalue())
    refused(run_case(program_bytes(), npz.getvalue(), ".npz"), "x.npz", "'x'", "objects")
    refused(run_case(program_bytes(), npy.getvalue()), "x.npy", "objects")
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_model_path_that_is_not_a_file_says_what_it_is(kind: str) -> None:
    line = refused(Case("regression", ("compile", "m.onnx", "-o", "out.sdc"),
                        {"m.onnx": None if kind == "folder" else "fifo"}, "out.sdc"), "m.onnx")
    assert "no such file" not in line and ("folder" in line if kind == "folder" else "pipe" in line)


# -- memory --------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [100_000, 2**31 - 1])
def test_huge_input_dimension_is_refused_before_allocating(size: int) -> None:
    m = cnn()
    dims = m.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value = dims[3].dim_value = size
    tracemalloc.start()
    try:
        refused(compile_case(m), "calibrating", "--max-memory", "SEEDCC_MAX_MEMORY")
        assert tracemalloc.get_traced_memory()[1] < 64 * 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("field, value", [("act_sram_bytes", 2**40), ("acc_sram_words", 2**30),
                                          ("instr_words", 2**31), ("lanes", 4096)])
def test_program_asking_for_huge_memories_is_refused_on_load(field: str, value: int) -> None:
    config = json.loads(sections(program_bytes())[0])
    config[field] = value
    refused(run_case(crafted(config=config)), "p.sdc", f"{field}={value}")


def test_run_fits_large_batches_under_the_memory_limit() -> None:
    """A batch that does not fit the limit at once runs in chunks, with the same results;
    a program whose single sample does not fit is refused before allocating."""
    prog = program_io.from_bytes(program_bytes("cnn"))
    x = np.random.default_rng(0).standard_normal((40, 3, 8, 8)).astype(np.float32)
    whole = refsim.run(prog, {"x": x}, checkpoints=True)
    sim = refsim.simulator(prog)
    per_sample = sim.chunk(1, False, True)  # fits: 1
    assert per_sample == 1
    with memory_limit(sim.shared_bytes + 3 * 2**20):
        assert sim.chunk(40, False, True) < 40
        parts = refsim.run(prog, {"x": x}, checkpoints=True)
    np.testing.assert_array_equal(parts.outputs["logits"], whole.outputs["logits"])
    assert parts.checkpoints.keys() == whole.checkpoints.keys()
    assert parts.cycles == whole.cycles and parts.counters == whole.counters
    with memory_limit(sim.shared_bytes), pytest.raises(ResourceLimitError, match="one|sample"):
        refsim.run(prog, {"x": x})


def test_memory_limit_option_environment_and_units(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_size("4096") == 4096 and parse_size("512M") == 512 * 2**20
    assert parse_size("1.5GiB") == 3 * 2**29 and parse_size("2t") == 2 * 2**40
    monkeypatch.setenv(ENV, "1G")
    assert max_memory() == 2**30
    with memory_limit("2K"):
        assert max_memory() == 2048
    refused(compile_case(tiny_model(), "--max-memory", "1K"), "calibrating", "1 KiB")
    monkeypatch.setenv(ENV, "lots")
    refused(compile_case(tiny_model()), ENV, "'lots'", limit=None)


# -- crafted programs ----------------------------------------------------------------------
def config_with(**changes: object) -> dict:
    config = json.loads(sections(program_bytes())[0])
    for key, value in changes.items():
        if value is KeyError:
            del config[key]
        else:
            config[key] = value
    return config


@pytest.mark.parametrize("config, words", [
    (config_with(lanes=True), ["lanes=True"]),
    (config_with(clock_mhz=float("nan")), ["clock_mhz"]),
    (config_with(energy=[1, 2]), ["energy"]),
    (config_with(energy={"pe_op": -1}), ["energy"]),
    (config_with(bus_bytes=KeyError), ["lacks", "bus_bytes"]),
    (config_with(turbo=1), ["unknown", "turbo"]),
    (config_with(bus_bytes=24), ["bus_bytes", "power of two"]),
    ([1, 2, 3], ["not a JSON object"]),
])
def test_crafted_program_config_is_a_named_error(config: object, words: list[str]) -> None:
    refused(run_case(crafted(config=config)), "p.sdc", "hardware config", *words)


def manifest_with(path: tuple, value: object) -> dict:
    manifest = json.loads(sections(program_bytes())[4])
    target = manifest
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return manifest


@pytest.mark.parametrize("path, value", [
    (("inputs", 0, "name"), KeyError),
    (("inputs", 0, "shape"), "8"),
    (("inputs", 0, "shape"), [2**40]),
    (("inputs", 0, "scale"), float("nan")),
    (("inputs", 0, "dram_addr"), -1),
    (("outputs", 0, "scale"), 0),
    (("outputs", 0, "channel_scales", 0), "wide"),
    (("outputs", 0, "channel_scales"), [-1.0]),
    (("float_params", 0, "offset"), -8),
    (("inputs",), 3),
])
def test_crafted_program_manifest_is_a_named_error(path: tuple, value: object) -> None:
    refused(run_case(crafted(manifest=manifest_with(path, value))), "manifest")


def test_empty_store_outside_every_segment_runs() -> None:
    """A zero-length act DMA_STORE to a DRAM address no input or store covers once hit an
    internal assertion; it writes nothing."""
    instrs = list(program_io.from_bytes(program_bytes()).instructions)
    instrs.insert(-1, isa.make("DMA_STORE", space=isa.SPACE_ACT, sram_addr=0, dram_addr=10**6,
                               length=0))
    o = execute(run_case(crafted(instructions=instrs)))
    assert o.code == 0 and not o.problems(), o.describe()


@pytest.mark.parametrize("value, code", [(np.nan, 2), (np.inf, 2), (3e38, 0)])
def test_float_section_values_in_float_mode(value: float, code: int) -> None:
    """NaN or infinite float-mode coefficients are a named error; huge finite ones overflow
    to inf as float32 arithmetic does, without a numpy warning."""
    floats = np.full(len(sections(program_bytes())[3]) // 4, value, "<f4").tobytes()
    case = run_case(crafted(floats=floats))
    o = execute(Case(case.cls, (*case.argv, "--mode", "float"), case.files, case.output))
    assert o.code == code and not o.problems(), o.describe()
    if code:
        assert "float_params" in o.stderr and "NaN or infinite" in o.stderr


def test_huge_value_in_a_materialised_random_tensor_is_a_clean_mismatch() -> None:
    """A form (b) weight (R ⊙ M recorded as one initializer) with one element near float32's
    limit: the record check divides it by R, which must not overflow with a warning."""
    model = load_model("torch_export_folded")
    w = initializer(model, "onnx::Conv_32")
    w.flat[1] = np.float32(-1.7014118e38)
    set_initializer(model, "onnx::Conv_32", w)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RecordMismatchError, match="differs from its xorshift16 record"):
            import_onnx(model)


def test_calibration_runs_in_chunks_under_the_memory_limit() -> None:
    """Calibration that does not fit the limit at once runs a few samples at a time (it
    used to be refused) and finds the same peaks, up to float32 rounding."""
    model = cnn()
    front = import_onnx(model)
    calib = {"x": np.random.default_rng(1).standard_normal((24, 3, 8, 8)).astype(np.float32)}
    inputs = 4 * calib["x"].size
    limit = inputs + run_graph_bytes(front, 5)  # room for about five samples at a time
    assert run_graph_bytes(front, 24) + inputs > limit
    prog = seedcc.compile(model, calib=calib, max_memory=limit)
    whole = seedcc.compile(model, calib=calib)
    assert [i.op for i in prog.instructions] == [i.op for i in whole.instructions]
    g = import_onnx(model)
    once, parts = value_peaks(g, calib), value_peaks(g, calib, chunk=5)
    assert once.keys() == parts.keys()
    for name in once:
        assert parts[name] == pytest.approx(once[name], rel=1e-6)
    with pytest.raises(ResourceLimitError, match="1 at a time"):
        seedcc.compile(model, calib=calib, max_memory=inputs + run_graph_bytes(front, 1) - 1)
