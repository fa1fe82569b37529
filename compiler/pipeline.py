"""The pass manager: ONNX -> IR -> passes -> program.

The pipeline is a list of pass names; each pass is a function `Graph -> Graph` taking its
options explicitly, and `ir.verify` runs after every one. Compiling the same model with
the same options always gives the same program, byte for byte.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import onnx

from seedcc.backends.hwconfig import DEFAULT, HwConfig
from seedcc.backends.program import Program
from seedcc.compiler.codegen import generate
from seedcc.compiler.frontend import import_onnx
from seedcc.compiler.passes.detect_folds import detect_folds
from seedcc.compiler.passes.fuse_epilogues import fuse_epilogues
from seedcc.compiler.passes.pack_masks import pack_masks
from seedcc.compiler.passes.quantize import quantize
from seedcc.errors import BadInputError
from seedcc.ir import Graph, Op, verify

CALIB_SAMPLES = 64
CALIB_SEED = 0


@dataclass(frozen=True)
class Options:
    config: HwConfig = DEFAULT
    calib: dict[str, np.ndarray] | None = None  # float32 batches keyed by graph input name


PASSES: dict[str, Callable[[Graph, Options], Graph]] = {
    "detect_folds": lambda g, o: detect_folds(g),
    "fuse_epilogues": lambda g, o: fuse_epilogues(g),
    "quantize": lambda g, o: quantize(g, o.calib or {}),
    "pack_masks": lambda g, o: pack_masks(g, o.config),
}
PIPELINE: tuple[str, ...] = ("detect_folds", "fuse_epilogues", "quantize", "pack_masks")


@dataclass(frozen=True)
class Compiled:
    program: Program
    graph: Graph  # after the last pass
    frontend_graph: Graph  # as the front end produced it
    notes: tuple[str, ...] = field(default=())


def generated_calibration(g: Graph, n: int = CALIB_SAMPLES) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(CALIB_SEED)
    return {name: rng.standard_normal((n, *g.values[name].shape)).astype(np.float32) for name in g.inputs}


def check_calibration(g: Graph, calib: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for name in g.inputs:
        if name not in calib:
            raise BadInputError(f"calibration data has no array for input {name!r} "
                                f"(has: {', '.join(sorted(calib)) or 'none'})")
        arr = np.asarray(calib[name])
        if arr.ndim != len(g.values[name].shape) + 1 or tuple(arr.shape[1:]) != g.values[name].shape:
            raise BadInputError(f"calibration array {name!r} has shape {arr.shape}; expected "
                                f"(batch, {', '.join(map(str, g.values[name].shape))})")
        out[name] = arr.astype(np.float32)
    return out


def _quiet(message: str) -> None:
    pass


def run_passes(g: Graph, options: Options, passes: tuple[str, ...] = PIPELINE,
               log: Callable[[str], None] = _quiet) -> Graph:
    for name in passes:
        t0 = time.perf_counter()
        g = verify(PASSES[name](g, options), after=f"pass {name}")
        log(f"pass {name}: {time.perf_counter() - t0:.2f} s")
    return g


def compile_model(source: str | os.PathLike | onnx.ModelProto, calib: dict[str, np.ndarray] | None = None,
                  config: HwConfig = DEFAULT, log: Callable[[str], None] = _quiet) -> Compiled:
    """Compile `source`; `log` receives one line per stage (the CLI prints them)."""
    t0 = time.perf_counter()
    front = import_onnx(source)
    log(f"front end: {len(front.nodes)} IR nodes, {len(front.ops(Op.CONV))} weight layers "
        f"({time.perf_counter() - t0:.2f} s)")
    notes = list(front.notes)
    if calib is None:
        calib = generated_calibration(front)
        notes.append(f"calibrated on {CALIB_SAMPLES} generated N(0, 1) inputs (seed {CALIB_SEED}); "
                     f"give --calib with real inputs for better int8 accuracy")
    else:
        calib = check_calibration(front, calib)
    g = run_passes(front, Options(config=config, calib=calib), log=log)
    t0 = time.perf_counter()
    program = generate(g, config)
    notes = notes + [n for n in g.notes if n not in notes]
    log(f"code generation: {len(program.instructions)} instructions ({time.perf_counter() - t0:.2f} s)")
    program.manifest["notes"] = notes
    return Compiled(program, g, front, tuple(notes))
