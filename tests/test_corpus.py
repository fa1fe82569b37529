"""Every case of the model corpus (tests/corpus.py) on every backend.

One test function, one test id per (case, backend) pair, e.g.
``test_corpus[small_cnn-refsim-int8]``; the ``rtl`` pairs are marked ``rtl``
(``pytest -m "not rtl"`` leaves them out, ``pytest -m rtl`` runs only simulator tests).
Each backend checks the expectation the case declares for it; the expectation carries
the tolerance and the reason. Models, compiled programs and inputs are built once per
process; all SMALL cases share one RTL build (cached on disk by backends/simulator.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx
import pytest
from corpus import CASES, BitExact, Case, FloatClose, Golden, Int8Close, SeededNormal, pairs

from seedcc.backends import refsim
from seedcc.backends.rtlrun import run_on_rtl
from seedcc.flow import compile_model
from seedcc.golden import ort_run
from seedcc.rtl_models import numerics
from seedcc.rtl_models.hwfacts import ACT_MAX, UACT_MAX

if TYPE_CHECKING:
    from seedcc.backends.manifest import Checkpoint
from seedcc.backends.program import Program

BY_ID = {c.id: c for c in CASES}


# -- built once per process (models, inputs and onnxruntime runs are shared by the cases
# -- that differ only in their configuration) ------------------------------------------------
@functools.cache
def _built(build: Callable[[], onnx.ModelProto]) -> onnx.ModelProto:
    return build()


def model(case_id: str) -> onnx.ModelProto:
    return _built(BY_ID[case_id].build)


@functools.cache
def program(case_id: str) -> Program:
    case = BY_ID[case_id]
    config = {} if case.config is None else {"config": case.config}
    return compile_model(model(case_id), **config).program


@functools.cache
def _drawn(build: Callable[[], onnx.ModelProto], gen: SeededNormal, n: int
           ) -> dict[str, np.ndarray]:
    return gen.draw(_built(build), n)


def inputs(case_id: str, n: int) -> dict[str, np.ndarray]:
    return _drawn(BY_ID[case_id].build, BY_ID[case_id].inputs, n)


@functools.cache
def _ort(build: Callable[[], onnx.ModelProto], gen: SeededNormal, n: int,
         extra: tuple[str, ...]) -> dict[str, np.ndarray]:
    return ort_run(_built(build), _drawn(build, gen, n), list(extra))


def golden(case_id: str, n: int, extra: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """onnxruntime's outputs, plus the intermediate tensors named in `extra`."""
    case = BY_ID[case_id]
    return _ort(case.build, case.inputs, n, tuple(sorted(extra)))


def output_names(m: onnx.ModelProto) -> list[str]:
    return [o.name for o in m.graph.output]


# -- what the program declares (the one place that reads its manifest) ---------------------
def checkpoints(prog: Program) -> tuple[Checkpoint, ...]:
    """The program's checkpoints (IR value, ONNX tensor, per-sample shape, int8 step)."""
    return prog.manifest.checkpoints


def input_scales(prog: Program) -> dict[str, float]:
    return {i.name: i.scale for i in prog.manifest.inputs}


# -- the backends ---------------------------------------------------------------------------
def check_golden(case: Case, exp: Golden, tmp_path: Path) -> None:
    m = model(case.id)
    ref = golden(case.id, exp.samples)
    for o in m.graph.output:
        dims = [d.dim_value for d in o.type.tensor_type.shape.dim]
        y = ref[o.name]
        assert y.shape == (exp.samples, *dims[1:]), f"output {o.name}: shape {y.shape}"
        assert np.all(np.isfinite(y)), f"output {o.name}: not finite"
    if exp.majority_below is not None:
        top = np.argmax(ref[output_names(m)[0]], axis=1)
        share = np.bincount(top).max() / exp.samples
        assert share < exp.majority_below, (f"class {np.bincount(top).argmax()} is the top-1 "
                                            f"answer for {share:.1%} of the inputs")


def assert_float_close(actual: np.ndarray, ref: np.ndarray, rtol: float, what: str) -> None:
    assert actual.shape == ref.shape, f"{what}: shape {actual.shape} != {ref.shape}"
    err, limit = float(np.max(np.abs(actual - ref))), rtol * float(np.max(np.abs(ref)))
    assert err <= limit, f"{what}: max |refsim - ORT| = {err:.3g} > {limit:.3g} ({rtol} x max|ORT|)"


def check_float(case: Case, exp: FloatClose, tmp_path: Path) -> None:
    prog, n = program(case.id), exp.samples
    cks = checkpoints(prog)
    assert cks, "the program has no checkpoints"
    ref = golden(case.id, n, tuple(c.onnx for c in cks))
    res = refsim.run(prog, inputs(case.id, n), mode="float", checkpoints=True)
    for name in output_names(model(case.id)):
        assert_float_close(res.outputs[name], ref[name], exp.rtol, f"output {name}")
    for c in cks:
        assert c.onnx in ref, f"checkpoint {c.name}: ONNX tensor {c.onnx!r} not found"
        assert_float_close(res.checkpoints[c.name], ref[c.onnx].reshape(n, *c.shape), exp.rtol,
                           f"checkpoint {c.onnx}")


def check_int8(case: Case, exp: Int8Close, tmp_path: Path) -> None:
    prog = program(case.id)
    if exp.top1_at_least is not None:
        n, out = exp.top1_samples, output_names(model(case.id))[0]
        got = refsim.run(prog, inputs(case.id, n), mode="int8").outputs[out]
        agreement = float(np.mean(np.argmax(golden(case.id, n)[out], 1) == np.argmax(got, 1)))
        print(f"{case.id}: int8 top-1 agreement with onnxruntime on {n} inputs {agreement:.1%}")
        assert agreement >= exp.top1_at_least, f"top-1 agreement {agreement:.1%}"
    check_layers_in_lsb(case, exp)


def check_layers_in_lsb(case: Case, exp: Int8Close) -> None:
    """Every checkpoint's 8-bit values, dequantised, stay within `exp.lsb` quantisation steps
    of ORT's float values where nothing saturated: elements ORT puts outside the 8-bit range
    are skipped, and so are whole samples once any earlier tensor (the input included)
    saturated, since a clipped value upstream legitimately moves everything downstream."""
    prog, n, b = program(case.id), exp.lsb_samples, exp.lsb
    cks = checkpoints(prog)
    x = inputs(case.id, n)
    ref = golden(case.id, n, tuple(c.onnx for c in cks))
    res = refsim.run(prog, x, mode="int8", checkpoints=True)
    clean = np.ones(n, bool)
    for name, scale in input_scales(prog).items():
        clean &= np.all(np.abs(x[name].reshape(n, -1)) < 127 * scale, axis=1)
    report = []
    for k, c in enumerate(cks):
        want = ref[c.onnx].reshape(n, -1)
        got = res.checkpoints[c.name].reshape(n, -1)
        q = np.rint(got / c.scale)
        assert np.all(np.abs(got - q * c.scale) <= 1e-5 * c.scale), f"{c.onnx}: off the 8-bit grid"
        lo, hi = numerics.act_bounds(c.unsigned)  # uint8 after a ReLU, else int8
        assert q.min() >= lo and q.max() <= hi
        # a ReLU's output is never below 0 in ORT either: only its top saturates
        sat = (want >= hi * c.scale) | ((want <= lo * c.scale) if not c.unsigned else False)
        assert sat.mean() < 0.01, f"{c.onnx}: {sat.mean():.2%} saturated, bad calibration"
        assert clean.mean() >= 0.8, f"{c.onnx}: only {clean.mean():.0%} samples left to check"
        # in int8 steps of the tensor's range: a uint8 step is 127/255 of it (LsbBounds)
        step = c.scale * (UACT_MAX / ACT_MAX if c.unsigned else 1.0)
        err = (np.abs(got - want) / step)[clean][~sat[clean]]
        report.append(f"{c.onnx}: mean {err.mean():.2f} p99.9 {np.percentile(err, 99.9):.2f} "
                      f"max {err.max():.2f} LSB over {clean.sum()} samples")
        assert err.mean() <= b.mean, report[-1]
        assert np.percentile(err, 99.9) <= b.p999, report[-1]
        assert err.max() <= (b.first_layer_max if k == 0 else b.max), report[-1]
        clean &= ~sat.any(axis=1)
    print("\n".join(report))


def check_rtl(case: Case, exp: BitExact, tmp_path: Path) -> None:
    prog, x = program(case.id), inputs(case.id, exp.samples)
    outcome = run_on_rtl(prog, x, work_dir=tmp_path)
    assert outcome.ok, outcome.summary
    predicted = refsim.run(prog, x).cycles
    assert outcome.cycles == [predicted] * exp.samples, "RTL cycle counter differs from refsim"


CHECKS = {"onnxruntime": check_golden, "refsim-float": check_float, "refsim-int8": check_int8,
          "rtl": check_rtl}


@pytest.mark.parametrize("case,backend", [
    pytest.param(c, b, id=f"{c.id}-{b}", marks=[pytest.mark.rtl] if b == "rtl" else [])
    for c, b in pairs()])
def test_corpus(case: Case, backend: str, tmp_path: Path) -> None:
    CHECKS[backend](case, case.expectation(backend), tmp_path)


def test_corpus_ids_are_unique_and_every_backend_is_covered() -> None:
    assert len(BY_ID) == len(CASES)
    assert {b for _, b in pairs()} == set(CHECKS)
