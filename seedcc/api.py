"""The Python API: `compile`, `run`, `verify` (DESIGN.md §6)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import onnx

from seedcc.backends import program as program_io
from seedcc.backends import refsim
from seedcc.backends.program import Program
from seedcc.backends.rtlrun import run_on_rtl
from seedcc.errors import BadInputError
from seedcc.files import check_input_file
from seedcc.flow import Compiled, compile_model
from seedcc.golden import ort_run
from seedcc.limits import check_memory, memory_limit
from seedcc.progress import build_estimate, heartbeat
from seedcc.rtl_models.hwconfig import DEFAULT, HwConfig

ModelSource = str | os.PathLike | onnx.ModelProto
FLOAT_RTOL = 1e-5  # float mode vs onnxruntime, relative to the tensor's largest magnitude


def compile(model: ModelSource, calib: dict[str, np.ndarray] | None = None,
            config: HwConfig = DEFAULT, output: str | os.PathLike | None = None,
            log: Callable[[str], None] | None = None,
            max_memory: int | str | None = None) -> Program:
    """Compile an ONNX model to a program; write it to `output` (.sdc) if given. Work that
    needs more memory than `max_memory` (bytes or e.g. "8G"; default `$SEEDCC_MAX_MEMORY`
    or 4 GiB) is refused before it allocates."""
    prog = compile_model(model, calib=calib, config=config, log=log or (lambda m: None),
                         max_memory=max_memory).program
    if output is not None:
        program_io.save(prog, output)
    return prog


def load_program(source: Program | str | os.PathLike) -> Program:
    """`source` itself, or the program read from that `.sdc` file (checked: a regular file
    within the memory limit, magic, version, checksum, config ranges)."""
    if isinstance(source, Program):
        return source
    path = check_input_file(source, "program file", "pass a .sdc file written by `seedcc compile`")
    check_memory(2 * os.path.getsize(path), f"reading program file {path!r}")
    return program_io.load(path)


def input_names(program: Program) -> list[str]:
    """The program's input names, from its manifest (checked by the reference model)."""
    return [d.name for d in refsim.simulator(program).inputs]


def as_input_dict(program: Program, inputs: np.ndarray | dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    names = input_names(program)
    if isinstance(inputs, dict):
        return inputs
    if len(names) != 1:
        raise BadInputError(f"the program has inputs {names}; pass a dict keyed by input name")
    return {names[0]: inputs}


def run(program: Program | str | os.PathLike, inputs: np.ndarray | dict[str, np.ndarray],
        mode: str = "int8", checkpoints: bool = False, max_memory: int | str | None = None):
    """Run a program on the reference model; returns a `refsim.RunResult`. Large batches run
    in chunks that fit `max_memory` (see `compile`)."""

    with memory_limit(max_memory):
        prog = load_program(program)
        return refsim.run(prog, as_input_dict(prog, inputs), mode=mode, checkpoints=checkpoints)


@dataclass
class LayerCheck:
    name: str  # ONNX tensor name
    float_rel_err: float  # max |refsim float - ORT| / max |ORT|
    int8_err_lsb: float  # max |refsim int8 - ORT| in units of the tensor's quantisation step
    # (an int32 output's: its channel's accumulator step)
    int8_rel_err: float  # max |refsim int8 - ORT| / max |ORT|


@dataclass
class VerifyReport:
    model: str
    samples: int
    layers: list[LayerCheck]
    top1_agreement: float | None  # int8 refsim vs ORT argmax over the last axis of the first output
    cycles: int
    rtl: RtlOutcome | None = None  # noqa: F821 - imported lazily (simulator set-up)
    notes: list[str] = field(default_factory=list)

    @property
    def float_ok(self) -> bool:
        return all(c.float_rel_err <= FLOAT_RTOL for c in self.layers)

    def first_float_divergence(self) -> LayerCheck | None:
        return next((c for c in self.layers if c.float_rel_err > FLOAT_RTOL), None)

    def ok(self, min_agreement: float) -> bool:
        agree = self.top1_agreement is None or self.top1_agreement >= min_agreement
        rtl = self.rtl is None or self.rtl.ok
        return self.float_ok and agree and rtl

    def format(self) -> str:
        lines = [f"verify {self.model}: {self.samples} samples, {self.cycles} cycles per sample",
                 f"{'layer (ONNX tensor)':<44} {'float rel err':>13} {'int8 err (LSB)':>14} {'int8 rel err':>12}"]
        for c in self.layers:
            flag = "  <- float mismatch" if c.float_rel_err > FLOAT_RTOL else ""
            lines.append(f"{c.name[:44]:<44} {c.float_rel_err:>13.2e} {c.int8_err_lsb:>14.1f} "
                         f"{c.int8_rel_err:>12.3f}{flag}")
        if self.top1_agreement is not None:
            lines.append(f"int8 top-1 agreement with onnxruntime: {100 * self.top1_agreement:.1f}%")
        div = self.first_float_divergence()
        lines.append("float mode matches onnxruntime at every layer (rtol 1e-5)" if div is None else
                     f"first layer that diverges in float mode: {div.name}")
        if self.rtl is not None:
            lines.append(self.rtl.summary)
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def _max_rel(a: np.ndarray, ref: np.ndarray) -> float:
    """max |a - ref| / max |ref|, in float64 (float32 differences near its range overflow)."""
    a, ref = np.asarray(a, np.float64), np.asarray(ref, np.float64)
    return float(np.max(np.abs(a - ref)) / max(float(np.max(np.abs(ref))), 1e-30))


def verify(model: ModelSource, inputs: dict[str, np.ndarray] | None = None, samples: int = 100,
           calib: dict[str, np.ndarray] | None = None, config: HwConfig = DEFAULT,
           rtl: bool = False, rtl_samples: int = 1, seed: int = 1,
           log: Callable[[str], None] | None = None,
           max_memory: int | str | None = None) -> VerifyReport:
    """Compile `model`, run onnxruntime and the reference model (float and int8) on the same
    inputs, and compare every layer's output (checkpoint); optionally run the RTL too.
    `log` receives one line per stage; `max_memory` as for `compile`."""

    with memory_limit(max_memory):
        return _verify(model, inputs, samples, calib, config, rtl, rtl_samples, seed,
                       log or (lambda message: None))


def _verify(model: ModelSource, inputs: dict[str, np.ndarray] | None, samples: int,
            calib: dict[str, np.ndarray] | None, config: HwConfig, rtl: bool, rtl_samples: int,
            seed: int, log: Callable[[str], None]) -> VerifyReport:
    log(f"compiling {model if not isinstance(model, onnx.ModelProto) else 'the model'} for "
        f"{config.pes} PEs{' (then the RTL)' if rtl else ''}")
    if samples < 1 or rtl_samples < 1:
        raise BadInputError(f"samples={samples} and rtl_samples={rtl_samples} must be at least 1")
    compiled: Compiled = compile_model(model, calib=calib, config=config, log=log)
    prog = compiled.program
    cps = prog.manifest.checkpoints
    n = samples if inputs is None else max((np.shape(a)[0] for a in inputs.values() if np.ndim(a)),
                                           default=0)
    if n < 1:
        raise BadInputError("the inputs to verify on have no samples (batch 0); give at least one")
    per_sample = sum(math.prod(i.shape) for i in prog.manifest.inputs)
    per_sample += 3 * sum(math.prod(c.shape) for c in cps)  # onnxruntime, float, int8
    check_memory(4 * n * per_sample, f"verifying on {n} sample(s)")
    if inputs is None:
        rng = np.random.default_rng(seed)
        inputs = {i.name: rng.standard_normal((samples, *i.shape)).astype(np.float32)
                  for i in prog.manifest.inputs}
    log(f"onnxruntime and the reference model (float, int8) on {n} sample(s)")
    fl = refsim.run(prog, inputs, mode="float", checkpoints=True)  # checks the inputs first
    q = refsim.run(prog, inputs, mode="int8", checkpoints=True)
    golden = ort_run(model, {k: np.asarray(v, np.float32) for k, v in inputs.items()},
                     [c.onnx for c in cps])
    layers, unchecked = [], []
    # inputs far beyond the calibration range can overflow float32 in onnxruntime and in
    # float mode alike; inf - inf is NaN, which fails the comparison (no warning printed)
    with np.errstate(invalid="ignore", over="ignore"):
        for c in cps:
            if c.onnx not in golden:
                unchecked.append(c.onnx or c.name)
                continue
            ref = golden[c.onnx].reshape(n, *c.shape)
            err = np.abs(np.asarray(q.checkpoints[c.name], np.float64) - ref)
            layers.append(LayerCheck(c.onnx, _max_rel(fl.checkpoints[c.name], ref),
                                     float(err.max() / c.scale),
                                     _max_rel(q.checkpoints[c.name], ref)))
        for d in prog.manifest.outputs:  # int32 outputs have no checkpoint: compare them here
            if d.wide and d.name in golden:
                ref = golden[d.name].reshape(n, *d.shape)
                step = refsim.dequantize_output(np.ones((1, *d.shape), np.int32), d)  # channel scales
                err = np.abs(np.asarray(q.outputs[d.name], np.float64) - ref) / step
                layers.append(LayerCheck(d.name, _max_rel(fl.outputs[d.name], ref),
                                         float(err.max()), _max_rel(q.outputs[d.name], ref)))
    out0 = prog.manifest.outputs[0].name
    agreement = None
    if out0 in golden and golden[out0].ndim == 2 and golden[out0].shape[1] > 1:
        agreement = float(np.mean(np.argmax(golden[out0], 1) == np.argmax(q.outputs[out0], 1)))
    report = VerifyReport(str(model) if not isinstance(model, onnx.ModelProto) else prog.manifest.model,
                          n, layers, agreement, q.cycles, notes=list(compiled.notes))
    if unchecked:
        report.notes.append(f"onnxruntime could not expose {len(unchecked)} intermediate tensor(s), "
                            f"not compared: {', '.join(unchecked)}")
    if rtl:
        log(f"RTL: {rtl_samples} sample(s) on {config.lanes}x16x{config.pixels} PEs; {build_estimate(config)}")
        with heartbeat(log, "RTL: building the simulator and running"):
            report.rtl = run_on_rtl(prog, {k: v[:rtl_samples] for k, v in inputs.items()})
    return report
