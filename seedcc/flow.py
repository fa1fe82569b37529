"""The whole compile flow: ONNX -> IR (front end) -> passes -> program (code generation).

`compile_model` is what `seedcc.compile` and `seedcc compile` run. Compiling the same
model with the same options always gives the same program, byte for byte.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import onnx

from seedcc.backends.codegen import generate
from seedcc.backends.program import Program
from seedcc.compiler.frontend import import_onnx
from seedcc.compiler.interpret import run_graph_bytes
from seedcc.compiler.passes.schedule_regeneration import schedule_regeneration
from seedcc.compiler.passes.set_generator import set_generator
from seedcc.compiler.pipeline import (
    CALIB_SAMPLES,
    CALIB_SEED,
    Options,
    calibration_samples,
    check_calibration,
    generated_calibration,
    run_passes,
    sample_ops,
)
from seedcc.errors import ProgramTooLongError
from seedcc.ir import Graph, Op
from seedcc.limits import check_memory, max_memory, memory_limit
from seedcc.rtl_models.hwconfig import DEFAULT, HwConfig


def _quiet(message: str) -> None:
    pass


@dataclass(frozen=True)
class Compiled:
    program: Program
    graph: Graph  # after the last pass
    frontend_graph: Graph  # as the front end produced it
    notes: tuple[str, ...] = field(default=())


def compile_model(source: str | os.PathLike | onnx.ModelProto, calib: dict[str, np.ndarray] | None = None,
                  config: HwConfig = DEFAULT, log: Callable[[str], None] = _quiet,
                  generator: str | None = None, max_memory: int | str | None = None) -> Compiled:
    """Compile `source`; `log` receives one line per stage (the CLI prints them).
    `generator` (sweeps' what-if) regenerates every random layer with that generator. Work
    that would need more memory than `max_memory` (default: `seedcc.limits.max_memory()`)
    is refused with a ResourceLimitError before it allocates."""
    with memory_limit(max_memory):
        return _compile(source, calib, config, log, generator)


def _compile(source: str | os.PathLike | onnx.ModelProto, calib: dict[str, np.ndarray] | None,
             config: HwConfig, log: Callable[[str], None], generator: str | None) -> Compiled:
    t0 = time.perf_counter()
    front = import_onnx(source)
    if generator is not None:
        front = set_generator(front, generator)
    log(f"front end: {len(front.nodes)} IR nodes, {len(front.ops(Op.CONV))} weight layers "
        f"({time.perf_counter() - t0:.2f} s)")
    notes = list(front.notes)
    samples = calibration_samples(front) if calib is None else max(
        (np.shape(a)[0] for a in calib.values() if np.ndim(a)), default=0)
    inputs = 4 * samples * sum(math.prod(front.values[i].shape) for i in front.inputs)
    # the whole batch at once when it fits the memory limit, else as many samples at a time
    # as fit (at least one): the float sums may then round differently in the last bit, so
    # the limit can change a program only where it would otherwise have been refused
    per_sample = max(run_graph_bytes(front, 2) - run_graph_bytes(front, 1), 1)
    chunk = max(1, min(samples, (max_memory() - inputs - run_graph_bytes(front, 0)) // per_sample))
    check_memory(run_graph_bytes(front, chunk) + inputs,
                 f"calibrating model {front.name!r} ({samples} samples, {chunk} at a time)")
    if calib is None:
        calib = generated_calibration(front, samples)
        fewer = (f", fewer than {CALIB_SAMPLES} for a model of {sample_ops(front) / 1e9:.1f} G "
                 f"operations a sample" if samples < CALIB_SAMPLES else "")
        notes.append(f"calibrated on {samples} generated N(0, 1) inputs (seed {CALIB_SEED}{fewer}); "
                     f"give --calib with real inputs for better int8 accuracy")
    else:
        calib = check_calibration(front, calib)
    g = run_passes(front, Options(config=config, calib=calib, calib_chunk=chunk), log=log)
    t0 = time.perf_counter()
    try:
        program = generate(g, config)
    except ProgramTooLongError as err:
        # chunks for background REQs multiply MACs and REQs; without them the program is shorter
        g = schedule_regeneration(g, config, drain=False)
        program = generate(g, config)
        notes.append(f"with conv layers in chunks for background REQs the program needs "
                     f"{err.needed} instructions, more than the {err.capacity} the instruction "
                     "memory holds; its conv layers run in whole-SRAM chunks with foreground "
                     "REQs instead")
    notes = notes + [n for n in program.manifest.notes if n not in notes]  # graph's, then codegen's
    log(f"code generation: {len(program.instructions)} instructions ({time.perf_counter() - t0:.2f} s)")
    program = replace(program, manifest=replace(program.manifest, notes=tuple(notes)))
    return Compiled(program, g, front, tuple(notes))
