"""The compile flow as a whole: ONNX -> compile_model -> program -> refsim.

Each model against onnxruntime (float and int8) and the RTL is in the corpus
(tests/corpus.py, tests/test_corpus.py). Here: compiling is deterministic (in process and
across processes), a saved program runs like the original, tiling (DEFAULT vs SMALL vs a
config that forces channel blocks and pixel chunks) never changes an integer, capacity
errors name what does not fit, and `verify` catches a program whose float-mode affine was
tampered with at the layer where it happens.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import EXAMPLE_MODELS, SAMPLE_MODELS, load_model, sample_path

from seedcc import api
from seedcc.backends import program as program_io
from seedcc.backends import refsim
from seedcc.backends.program import Program
from seedcc.compiler import pipeline
from seedcc.compiler.frontend import import_onnx
from seedcc.errors import CapacityError
from seedcc.flow import Compiled, compile_model
from seedcc.golden import ort_run
from seedcc.models import resnet18
from seedcc.rtl_models import numerics
from seedcc.rtl_models.hwconfig import DEFAULT, SMALL

ALL_MODELS = [*EXAMPLE_MODELS, *SAMPLE_MODELS]

#: Float mode vs onnxruntime, relative to the tensor's largest magnitude. Both compute in
#: float32-or-better but sum in different orders (refsim: float64 matmul of the exact
#: ±1/code weights, then the per-channel affine; ORT: float32 GEMM of ±scale weights, then
#: BatchNorm), so a few float32 ulps of the largest value are expected, nothing more.
FLOAT_RTOL = 1e-5

#: A config that forces what DEFAULT and SMALL never do on these small models: several
#: channel blocks per layer (16 channels per MAC) and many pixel chunks (the 128-word acc
#: SRAM holds 8 pixels x 16 channels), so tiling boundaries cross every layer.
TILED = dataclasses.replace(SMALL, lanes=1, acc_sram_words=128, instr_words=4096)
CONFIGS = {"default": DEFAULT, "small": SMALL, "tiled": TILED}


@functools.cache
def model(name: str) -> onnx.ModelProto:
    return load_model(name)


@functools.cache
def compiled(name: str, config: str = "small") -> Compiled:
    return compile_model(model(name), config=CONFIGS[config])


def inputs_for(prog: Program, n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {i.name: rng.standard_normal((n, *i.shape)).astype(np.float32)
            for i in prog.manifest.inputs}


def golden(name: str, prog: Program, x: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """onnxruntime's outputs plus every checkpoint tensor of the program."""
    return ort_run(model(name), x, [c.onnx for c in prog.manifest.checkpoints])


def assert_float_close(actual: np.ndarray, ref: np.ndarray, what: str) -> None:
    assert actual.shape == ref.shape, f"{what}: shape {actual.shape} != {ref.shape}"
    err = float(np.max(np.abs(actual - ref)))
    limit = FLOAT_RTOL * float(np.max(np.abs(ref)))
    assert err <= limit, f"{what}: max |refsim - ORT| = {err:.3g} > {limit:.3g} (1e-5 x max|ORT|)"


# -- determinism, save/load, tiling --------------------------------------------------------
def test_compiling_twice_in_process_gives_identical_bytes() -> None:
    a = program_io.to_bytes(compile_model(model("small_cnn"), config=SMALL).program)
    b = program_io.to_bytes(compile_model(load_model("small_cnn"), config=SMALL).program)
    assert a == b


def test_compiling_in_two_processes_gives_identical_files(tmp_path: Path) -> None:
    """Two `seedcc compile` processes with different hash seeds (set/dict iteration order
    must not leak into the program) write the same bytes, equal to an in-process compile."""
    src = tmp_path / "small_cnn.onnx"
    onnx.save(model("small_cnn"), src)
    procs = []
    for k in (1, 2):
        env = dict(os.environ, PYTHONHASHSEED=str(k * 1234567))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "seedcc.cli", "compile", str(src),
             "-o", str(tmp_path / f"{k}.sdc"), "--config", "small"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    one, two = (tmp_path / "1.sdc").read_bytes(), (tmp_path / "2.sdc").read_bytes()
    assert one == two
    assert one == program_io.to_bytes(api.compile(src, config=SMALL))


def test_saved_and_loaded_program_runs_identically(tmp_path: Path) -> None:
    prog = compiled("small_cnn").program
    path = tmp_path / "m.sdc"
    program_io.save(prog, path)
    back = program_io.load(path)
    assert back == prog
    assert program_io.to_bytes(back) == path.read_bytes()
    x = inputs_for(prog, 8, seed=3)
    for mode in ("int8", "float"):
        a = refsim.run(prog, x, mode=mode, checkpoints=True)
        # a fresh Simulator: refsim.run would reuse prog's, since the programs are equal
        b = refsim.Simulator(back).run(x, mode=mode, checkpoints=True)
        assert (a.cycles, a.counters, a.energy_pj) == (b.cycles, b.counters, b.energy_pj)
        for k in a.outputs:
            np.testing.assert_array_equal(a.outputs[k], b.outputs[k])
        assert a.checkpoints.keys() == b.checkpoints.keys()
        for k in a.checkpoints:
            np.testing.assert_array_equal(a.checkpoints[k], b.checkpoints[k])


@pytest.mark.parametrize("name", list(EXAMPLE_MODELS))
def test_int_entry_equals_int8_mode(name: str) -> None:
    """refsim.run_int on the quantised inputs gives exactly the integers int8 mode dequantises."""
    prog = compiled(name).program
    man = prog.manifest
    x = inputs_for(prog, 16, seed=4)
    q = {d.name: numerics.quantize_input(x[d.name], d.scale) for d in man.inputs}
    raw = refsim.run_int(prog, q, checkpoints=True)
    res = refsim.run(prog, x, mode="int8", checkpoints=True)
    pairs = [(raw.outputs[d.name], res.outputs[d.name], d.scale, False) for d in man.outputs
             if not d.wide]
    pairs += [(raw.checkpoints[c.name], res.checkpoints[c.name], c.scale, c.unsigned)
              for c in man.checkpoints]
    wide = [d for d in man.outputs if d.wide]
    assert wide  # every example's logits come from a layer whose REQ writes them
    for d in wide:  # int32 at accumulator precision, x = int32 · the scale of its feature
        ints, floats = raw.outputs[d.name], res.outputs[d.name]
        assert ints.dtype == np.int32 and len(d.shape) == 1
        np.testing.assert_array_equal((ints * np.asarray(d.channel_scales)).astype(np.float32), floats)
    assert any(c.unsigned for c in man.checkpoints)  # ReLU outputs are uint8
    for ints, floats, scale, unsigned in pairs:
        assert ints.dtype == np.int8  # the bytes as stored; a uint8 value's read unsigned
        np.testing.assert_array_equal(numerics.dequantize(ints, scale, unsigned), floats)
        np.testing.assert_array_equal(np.rint(floats.astype(np.float64) / scale),
                                      ints.view(np.uint8) if unsigned else ints)
    assert (raw.cycles, raw.counters) == (res.cycles, res.counters)


def test_tiling_does_not_change_int8_numerics() -> None:
    """small_cnn compiled for DEFAULT, SMALL and TILED: the integer outputs and every
    checkpoint are identical (block and chunk boundaries only; accumulation is exact)."""
    progs = {c: compiled("small_cnn", c).program for c in CONFIGS}
    macs = {c: [i for i in p.instructions if i.op == "MAC"] for c, p in progs.items()}
    # TILED really splits: more channel blocks (one SETGEN each) and pixel chunks
    setgens = {c: sum(i.op == "SETGEN" for i in p.instructions) for c, p in progs.items()}
    assert setgens["tiled"] > setgens["default"], setgens
    assert len(macs["tiled"]) > 2 * len(macs["default"])
    assert any((i.start_oy, i.start_ox) != (0, 0) for i in macs["tiled"])
    x = inputs_for(progs["default"], 16, seed=4)
    runs = {c: refsim.run(p, x, mode="int8", checkpoints=True) for c, p in progs.items()}
    base = runs["default"]
    for c, r in runs.items():
        for k in base.outputs:
            np.testing.assert_array_equal(r.outputs[k], base.outputs[k], err_msg=f"{c}: output {k}")
        for k in base.checkpoints:
            np.testing.assert_array_equal(r.checkpoints[k], base.checkpoints[k],
                                          err_msg=f"{c}: checkpoint {k}")
    # and the same in float mode, up to summation order
    fl = {c: refsim.run(p, x, mode="float").outputs for c, p in progs.items()}
    for c in fl:
        for k in fl[c]:
            assert_float_close(fl[c][k], fl["default"][k], f"{c} float output {k}")


# -- capacity ------------------------------------------------------------------------------
@pytest.mark.parametrize("change,pattern", [
    (dict(act_sram_bytes=256), r"'x'.*act SRAM \(256 bytes\)"),
    (dict(mask_sram_bytes=16), r"conv1.*mask SRAM.*16"),
    (dict(param_sram_bytes=64), r"conv1.*param SRAM.*64"),
    (dict(acc_sram_words=8), r"conv1.*acc SRAM \(8 words\)"),
    (dict(instr_words=8), r"instruction memory holds 8"),
], ids=lambda v: next(iter(v)) if isinstance(v, dict) else None)
def test_capacity_errors_name_what_does_not_fit(change: dict, pattern: str) -> None:
    cfg = dataclasses.replace(SMALL, **change)
    with pytest.raises(CapacityError, match=pattern):
        compile_model(model("small_cnn"), config=cfg)


# -- verify --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_MODELS)
def test_verify_names_every_checkpoint_layer_and_float_is_ok(name: str) -> None:
    report = api.verify(model(name), samples=16, config=SMALL)
    prog = compiled(name).program
    # every checkpoint, then the int32 outputs (which have none)
    assert [c.name for c in report.layers] == ([c.onnx for c in prog.manifest.checkpoints]
                                               + [d.name for d in prog.manifest.outputs if d.wide])
    assert report.float_ok and report.first_float_divergence() is None
    assert report.samples == 16 and report.cycles == refsim.simulator(prog).cycles
    text = report.format()
    for c in report.layers:
        assert c.name[:44] in text
    assert "float mode matches onnxruntime at every layer" in text


def tampered(prog: Program, layer_index: int) -> tuple[Program, str]:
    """A copy of `prog` whose float-mode bias `b` of channel 0 of the first REQ of weight
    layer `layer_index` is shifted by +5.0; returns it and that layer's ONNX output name."""
    cks = prog.manifest.checkpoints
    req_layers = [(k, ck) for k, ck in enumerate(cks)
                  if any(prog.instructions[j].op == "REQ"
                         for j in range((cks[k - 1].after + 1) if k else 0, ck.after + 1))]
    k, ck = req_layers[layer_index]
    first = (cks[k - 1].after + 1) if k else 0
    entry = next(fp for fp in prog.manifest.float_params if first <= fp.instr <= ck.after)
    floats = np.frombuffer(prog.float_section, "<f4").copy()
    floats[entry.offset // 4 + entry.channels] += 5.0  # b[0] follows the `channels` a's
    return dataclasses.replace(prog, float_section=floats.astype("<f4").tobytes()), ck.onnx


@pytest.mark.parametrize("name,layer_index", [("mlp", 1), ("small_cnn", 2),
                                              ("torch_export_unfolded", 1)])
def test_verify_names_the_first_layer_whose_float_affine_was_tampered(
        name: str, layer_index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """verify() has no parameter for a given program, so compile_model is patched to hand
    it the tampered one; the report must point at the tampered layer, not at a later one."""
    good = compiled(name)
    bad, layer = tampered(good.program, layer_index)
    monkeypatch.setattr(api, "compile_model",
                        lambda *a, **k: dataclasses.replace(good, program=bad))
    report = api.verify(model(name), samples=16, config=SMALL)
    div = report.first_float_divergence()
    assert div is not None and div.name == layer, (div, layer)
    assert not report.float_ok and not report.ok(0.0)
    names = [c.name for c in report.layers]
    assert all(c.float_rel_err <= api.FLOAT_RTOL for c in report.layers[:names.index(layer)])
    assert f"first layer that diverges in float mode: {layer}" in report.format()


def test_tampered_program_diverges_at_that_checkpoint_without_verify() -> None:
    """The same check from the parts (refsim checkpoints + ORT intermediates), so the
    detection does not depend on verify's internals."""
    prog = compiled("small_cnn").program
    bad, layer = tampered(prog, 1)
    x = inputs_for(prog, 16, seed=5)
    ref = golden("small_cnn", prog, x)
    res = refsim.run(bad, x, mode="float", checkpoints=True)
    first = None
    for ck in prog.manifest.checkpoints:
        want = ref[ck.onnx].reshape(16, *ck.shape)
        if np.max(np.abs(res.checkpoints[ck.name] - want)) > FLOAT_RTOL * np.max(np.abs(want)):
            first = ck.onnx
            break
    assert first == layer


def test_compile_notes_generated_calibration() -> None:
    c = compiled("mlp")
    assert any(f"{pipeline.CALIB_SAMPLES} generated" in n for n in c.notes)
    assert c.program.manifest.notes == c.notes
    x = inputs_for(c.program, 64, seed=0)
    with_calib = compile_model(model("mlp"), calib=x, config=SMALL)
    assert not any("generated" in n for n in with_calib.notes)


def test_generated_calibration_samples_follow_the_operation_budget() -> None:
    """A 224x224 ResNet-18 (1.8 G operations a sample) gets fewer generated samples than a
    32x32 one, within CALIB_OPS and never below CALIB_MIN_SAMPLES."""
    large = import_onnx(resnet18(size=224, width=64, classes=1000, stem="imagenet"))
    small = import_onnx(resnet18(size=32, width=64, classes=10, stem="cifar"))
    n = pipeline.calibration_samples(large)
    assert pipeline.CALIB_MIN_SAMPLES <= n < pipeline.CALIB_SAMPLES
    assert n * pipeline.sample_ops(large) <= pipeline.CALIB_OPS < (n + 1) * pipeline.sample_ops(large)
    assert pipeline.calibration_samples(small) == pipeline.CALIB_SAMPLES
    assert pipeline.generated_calibration(large)["x"].shape == (n, 3, 224, 224)


def test_generated_calibration_never_below_the_minimum(monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "CALIB_OPS", 1)
    assert pipeline.calibration_samples(import_onnx(model("mlp"))) == pipeline.CALIB_MIN_SAMPLES


def test_fewer_generated_samples_are_noted_and_used(monkeypatch) -> None:
    """With a budget that allows 8 samples of the MLP, the compile says 8 and its scales are
    those of the first 8 generated samples given as calibration data."""
    front = import_onnx(model("mlp"))
    monkeypatch.setattr(pipeline, "CALIB_OPS", 8 * pipeline.sample_ops(front) + 1)
    c = compile_model(model("mlp"), config=SMALL)
    assert any("calibrated on 8 generated" in n and f"fewer than {pipeline.CALIB_SAMPLES}" in n
               for n in c.notes)
    given = compile_model(model("mlp"), calib=pipeline.generated_calibration(front, 8), config=SMALL)
    assert {k: v.scale for k, v in c.graph.values.items()} == {k: v.scale for k, v in given.graph.values.items()}
    assert program_io.to_bytes(dataclasses.replace(c.program, manifest=given.program.manifest)) == \
        program_io.to_bytes(given.program)


def test_user_calibration_is_used_in_full_whatever_the_budget(monkeypatch) -> None:
    """The budget limits generated samples only: the largest input of 64 given samples, in the
    last one, sets the input's scale."""
    monkeypatch.setattr(pipeline, "CALIB_OPS", 1)
    x = inputs_for(compiled("mlp").program, 64, seed=3)
    (name, arr), = x.items()
    arr[-1] *= 100
    c = compile_model(model("mlp"), calib=x, config=SMALL)
    assert c.graph.values[name].scale == pytest.approx(float(np.abs(arr).max()) / numerics.ACT_MAX)
    assert not any("generated" in n for n in c.notes)


def test_sample_models_are_present() -> None:
    for name in SAMPLE_MODELS:
        assert sample_path(name).is_file()
