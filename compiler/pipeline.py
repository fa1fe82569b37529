"""The pass manager: the list of passes and how they run.

The pipeline is a list of pass names; each pass is a function `Graph -> Graph` taking its
options explicitly, and `ir.verify` runs after every one. Compiling the same model with
the same options always gives the same program, byte for byte.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from seedcc.arrays import as_float32
from seedcc.compiler.passes.detect_folds import detect_folds
from seedcc.compiler.passes.form_fold_regions import form_fold_regions
from seedcc.compiler.passes.fuse_epilogues import fuse_epilogues
from seedcc.compiler.passes.pack_masks import pack_masks
from seedcc.compiler.passes.quantize import quantize
from seedcc.compiler.passes.schedule_regeneration import schedule_regeneration
from seedcc.compiler.passes.spill_activations import spill_activations
from seedcc.compiler.passes.store_dense import store_dense
from seedcc.errors import BadInputError
from seedcc.ir import Graph, verify
from seedcc.rtl_models.hwconfig import DEFAULT, HwConfig

#: generated calibration samples (seed CALIB_SEED) when the user gives none: CALIB_SAMPLES,
#: fewer for a model whose float run on them would take more than CALIB_OPS arithmetic
#: operations, never fewer than CALIB_MIN_SAMPLES (`calibration_samples`)
CALIB_SAMPLES = 64
CALIB_MIN_SAMPLES = 8
CALIB_OPS = 64 * 10**9
CALIB_SEED = 0


@dataclass(frozen=True)
class Options:
    config: HwConfig = DEFAULT
    calib: dict[str, np.ndarray] | None = None  # float32 batches keyed by graph input name
    calib_chunk: int | None = None  # calibration samples run at a time (None: all at once)


PASSES: dict[str, Callable[[Graph, Options], Graph]] = {
    "detect_folds": lambda g, o: detect_folds(g),
    "fuse_epilogues": lambda g, o: fuse_epilogues(g),
    "form_fold_regions": lambda g, o: form_fold_regions(g),
    "quantize": lambda g, o: quantize(g, o.calib or {}, o.calib_chunk),
    "store_dense": lambda g, o: store_dense(g),
    "pack_masks": lambda g, o: pack_masks(g, o.config),
    "schedule_regeneration": lambda g, o: schedule_regeneration(g, o.config),
    "spill_activations": lambda g, o: spill_activations(g, o.config),
}
PIPELINE: tuple[str, ...] = ("detect_folds", "fuse_epilogues", "form_fold_regions", "quantize",
                             "store_dense", "pack_masks", "schedule_regeneration", "spill_activations")


def sample_ops(g: Graph) -> int:
    """Arithmetic operations of one float run of `g` on one sample (`OpDef.cost`: a MAC counts one)."""
    return sum(n.op.spec.cost(n, [g.values[i].shape for i in n.inputs], g.values[n.output].shape)
               for n in g.nodes)


def calibration_samples(g: Graph) -> int:
    """How many generated samples calibrate `g` when the user gives no calibration data: as
    many as CALIB_OPS operations allow (so a large input costs no more compile time than a
    small model's CALIB_SAMPLES), between CALIB_MIN_SAMPLES and CALIB_SAMPLES. A 224x224
    ResNet-18 (1.8 G operations a sample) gets 35, a 32x32 one 64. User-supplied data is
    always used in full, however large."""
    return max(CALIB_MIN_SAMPLES, min(CALIB_SAMPLES, CALIB_OPS // max(sample_ops(g), 1)))


def generated_calibration(g: Graph, n: int | None = None) -> dict[str, np.ndarray]:
    """`n` (default `calibration_samples(g)`) N(0, 1) samples of every input, seed CALIB_SEED."""
    n = calibration_samples(g) if n is None else n
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
        if arr.shape[0] == 0:
            raise BadInputError(f"calibration array {name!r} has no samples (batch 0); give at "
                                f"least one")
        out[name] = as_float32(arr, f"calibration array {name!r}")
    if len({a.shape[0] for a in out.values()}) > 1:
        raise BadInputError(f"calibration arrays have different batch sizes "
                            f"({', '.join(f'{k}: {a.shape[0]}' for k, a in out.items())}); give "
                            f"every input the same number of samples")
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
