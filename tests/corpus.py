"""The model corpus: every case is written once, as data, and every backend runs it
(tests/test_corpus.py, one test id per case and backend, e.g. ``small_cnn-refsim-int8``).

A :class:`Case` names a model builder, a seeded input generator, the hardware
configuration it is compiled for, and what each backend must show, with the tolerance and
the reason for it:

* ``onnxruntime`` (the golden model): :class:`Golden`, the case's own premise (the outputs
  are finite and as declared, and where top-1 agreement is claimed the predictions spread
  over classes so that a constant answer could not meet the bound);
* ``refsim-float``: :class:`FloatClose` to onnxruntime, outputs and every checkpoint;
* ``refsim-int8``: :class:`Int8Close` to onnxruntime, top-1 agreement and per-layer error in
  quantisation steps;
* ``rtl`` (marked ``rtl``): :class:`BitExact`, outputs byte for byte and the RTL cycle
  counter equal to the reference model's count, or :class:`NotRun` with the reason.

Inputs are N(0, 1) draws from a seeded generator: the repository has no real data set, and
the calibration and BatchNorm statistics of the example models are measured on N(0, 1) too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import onnx
from conftest import drop_record, initializer, load_model, set_initializer

from seedcc.models import hidden_fold_cnn, resnet18, small_cnn
from seedcc.rtl_models.hwconfig import SMALL

if TYPE_CHECKING:
    from seedcc.rtl_models.hwconfig import HwConfig

BACKENDS = ("onnxruntime", "refsim-float", "refsim-int8", "rtl")

#: SMALL with a 128-byte mask SRAM: most layers no longer fit and are split by input channel
#: (jumped lane states, accumulating MACs); see tests/test_schedule.py.
TINY_MASK = dataclasses.replace(SMALL, mask_sram_bytes=128)


# -- inputs ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SeededNormal:
    """N(0, 1) float32 for every graph input, the batch axis (a symbolic first dimension)
    set to the number of samples asked for; the same seed always gives the same draw."""

    seed: int

    def draw(self, model: onnx.ModelProto, n: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        inits = {t.name for t in model.graph.initializer}
        out = {}
        for vi in model.graph.input:
            if vi.name in inits:
                continue
            dims = [d.dim_value for d in vi.type.tensor_type.shape.dim]
            out[vi.name] = rng.standard_normal((n, *dims[1:])).astype(np.float32)
        return out


# -- expectations ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Golden:
    """onnxruntime on `samples` inputs: finite outputs of the declared shape; with
    `majority_below`, no class is the top-1 answer of that share of samples or more."""

    samples: int
    majority_below: float | None
    why: str


@dataclass(frozen=True)
class FloatClose:
    """refsim float mode vs onnxruntime on `samples` inputs: every output and checkpoint
    within `rtol` x the tensor's largest magnitude."""

    samples: int
    rtol: float
    why: str


@dataclass(frozen=True)
class LsbBounds:
    """|refsim int8 - onnxruntime| per checkpoint in int8 quantisation steps of that tensor
    (max|x|/127), over elements where nothing saturated (see tests/test_corpus.py). A ReLU's
    output is uint8 with a step of max/255, so its error in its own steps is 255/127 times
    the figure compared here: the bounds say that no error grew in absolute terms."""

    mean: float = 1.0
    p999: float = 4.0
    max: float = 8.0
    first_layer_max: float = 2.5


@dataclass(frozen=True)
class Int8Close:
    """refsim int8 mode vs onnxruntime: top-1 agreement on `top1_samples` inputs (None: not
    claimed, see `why`) and per-layer error within `lsb` on `lsb_samples` inputs."""

    top1_at_least: float | None
    top1_samples: int
    lsb: LsbBounds
    lsb_samples: int
    why: str


@dataclass(frozen=True)
class BitExact:
    """The RTL on `samples` inputs: every output byte equal to the reference model's and the
    RTL cycle counter equal to its cycle count."""

    samples: int
    why: str = ("the RTL implements the same integer rules and the same timing table; the "
                "cycle counter is counted in hardware, independently of backends/timing.py")


@dataclass(frozen=True)
class NotRun:
    """No test for this backend (the pair is not generated); `why` says what covers it."""

    why: str


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[], onnx.ModelProto]
    inputs: SeededNormal
    config: HwConfig | None  # None: compile_model's default configuration
    golden: Golden
    float: FloatClose
    int8: Int8Close
    rtl: BitExact | NotRun

    def expectation(self, backend: str) -> Golden | FloatClose | Int8Close | BitExact | NotRun:
        return {"onnxruntime": self.golden, "refsim-float": self.float,
                "refsim-int8": self.int8, "rtl": self.rtl}[backend]


# -- the reasons, written once ----------------------------------------------------------------
FLOAT_WHY = ("refsim sums the exact ±1/code weights in float64 then applies the per-channel "
             "affine; onnxruntime runs float32 GEMMs of ±scale weights then BatchNorm: a few "
             "float32 ulps of the largest value apart, nothing more")
LSB_WHY = ("the int8 format itself: rounding every activation to int8 moves each layer by at "
           "most half a step, and errors add up over layers (observed max 1.9 to 5.8 steps); "
           "the first layer has only the input's and its own rounding")
TOP1_WHY = ("int8 rounding flips the top-1 class where two logits are within a step or so; "
            "a float simulation with only int8 rounding of every activation gives the same "
            "figure, so the bound guards against regressions below today's figure")
COLLAPSED = ("no top-1 claim: this random, untrained network gives one class (almost) every "
             "sample on N(0, 1) inputs, so top-1 agreement would hold for any constant answer; "
             "the per-layer bound carries the check. ")
DEFAULT_NO_RTL = NotRun("the RTL is built for SMALL only (a DEFAULT build takes minutes); "
                        "tests/test_pipeline.py checks that tiling for DEFAULT and SMALL gives "
                        "identical integers")


#: hidden_fold_cnn runs 7 convolutions in a chain (a stem, then 3 iterations of a 2-conv
#: residual block) before the classifier, against small_cnn's 3, and the rounding of every
#: activation adds up: unrolled, p99.9 up to 4.8 and max up to 8.3 steps (seeds 1..5). Run
#: as one LOOP (scales of the residual stream on one geometric progression,
#: docs/compiler.md "Fold regions"), measured on seed 1: p99.9 up to 4.4 and max 7.5 steps
#: (codes 0..3: 2.9 and 4.7; six iterations, 13 convolutions: 5.6 and 8.8).
DEEP = LsbBounds(mean=1.0, p999=6.0, max=12.0, first_layer_max=2.5)
DEEP_WHY = "a chain of 7 or more convolutions, more than twice small_cnn's depth: wider bounds. "
#: Two folded stages with multicoat codes and frozen positions: 14 convolutions in a chain
#: (a stem, 3 iterations of 2 convs, a stride-2 conv, 3 more iterations, the classifier);
#: measured on seed 1, worst layers: mean 1.06 (stage1.iter0.bn2), p99.9 11.0 and max 18.5
#: steps (stage1.iter2.relu1, the 12th convolution of the chain).
DEEPER = LsbBounds(mean=1.5, p999=13.0, max=24.0, first_layer_max=2.5)
DEEPER_WHY = "a chain of 14 convolutions, twice the hidden-fold CNN's: wider bounds. "


def hidden_fold_6() -> onnx.ModelProto:
    return hidden_fold_cnn(iterations=6)


def hidden_fold_codes3() -> onnx.ModelProto:
    return hidden_fold_cnn(codes=3)


#: DESIGN §4's example freeze record: 30% of each layer's positions pruned, 10% locked
FREEZE = {"seed": 77, "prune": 0.3, "lock": 0.1}


def small_cnn_frozen() -> onnx.ModelProto:
    return small_cnn(freeze=FREEZE)


def small_cnn_frozen_codes3() -> onnx.ModelProto:
    return small_cnn(codes=3, freeze=FREEZE)


def hidden_fold_2stages_frozen_codes3() -> onnx.ModelProto:
    return hidden_fold_cnn(codes=3, freeze=FREEZE, stages=2)


def resnet18_banded() -> onnx.ModelProto:
    """ImageNet stem on 128x128: the stem conv's 8x64x64 output does not fit SMALL's act
    SRAM next to the 3x128x128 input, so it goes off chip in row bands and the max pool
    reads it back in bands (docs/compiler.md "Spilling")."""
    return resnet18(size=128, width=8, stem="imagenet")


def _case(case_id: str, build: Callable[[], onnx.ModelProto], config: HwConfig | None,
          rtl: BitExact | NotRun, top1: float | None = None, top1_samples: int = 0,
          lsb: LsbBounds = LsbBounds(), lsb_why: str = "") -> Case:
    """A case with the usual expectations: float within 1e-5, int8 within the `lsb` bounds,
    and (with `top1`) top-1 agreement of at least `top1` on `top1_samples` inputs."""
    if top1 is None:
        golden = Golden(64, None, "the model runs; outputs finite and of the declared shape")
        int8 = Int8Close(None, 0, lsb, 64, COLLAPSED + lsb_why + LSB_WHY)
    else:
        golden = Golden(top1_samples, top1, "the top-1 bound must not be met by a constant answer")
        int8 = Int8Close(top1, top1_samples, lsb, 64, f"{TOP1_WHY}. {lsb_why}{LSB_WHY}")
    return Case(case_id, build, SeededNormal(1), config, golden, FloatClose(64, 1e-5, FLOAT_WHY),
                int8, rtl)


def _model(name: str) -> Callable[[], onnx.ModelProto]:
    """An example model or a torch.onnx.export sample, by its tests/conftest.py name."""
    return partial(load_model, name)


# one builder object per model, so cases that differ only in configuration share it
MLP, SMALL_CNN, CODES3 = _model("mlp"), _model("small_cnn"), _model("small_cnn_codes3")
UNFOLDED, FOLDED = _model("torch_export_unfolded"), _model("torch_export_folded")


def mlp_dense_head() -> onnx.ModelProto:
    """The MLP without its record, its last layer given learned (dense, normal) weights: a
    model mixing stored ternary layers and one dense layer (store_dense: 7-bit codes)."""
    model = drop_record(load_model("mlp"))
    r = initializer(model, "fc3.R")
    set_initializer(model, "fc3.R", np.random.default_rng(7).normal(0, 0.2, r.shape).astype(np.float32))
    return model


DENSE_WHY = ("the dense layer is stored as 7-bit magnitudes with a scale per output channel, and "
             "the float mode computes with those: each weight within half a step, max|W|/254, "
             "of onnxruntime's, so about 1e-3 of the largest logit")

# Measured figures (N(0, 1) inputs, seed 1): top-1 agreement / most frequent ORT class:
# mlp 97.9% / 43% on 1000 inputs; small_cnn 98% / 73% and small_cnn_codes3 99% / 87% on 300;
# hidden_fold_cnn and both torch exports 100% / 99-100% (collapsed, so no top-1 claim).
CASES: tuple[Case, ...] = (
    _case("mlp", MLP, SMALL, BitExact(2), top1=0.97, top1_samples=1000),
    # residual add, max pool, global average pool
    _case("small_cnn", SMALL_CNN, SMALL, BitExact(2), top1=0.96, top1_samples=300),
    # a multicoat mask (codes 0..3) in the residual block
    _case("small_cnn_codes3", CODES3, SMALL, BitExact(2), top1=0.96, top1_samples=300),
    # fold groups: two convs whose random weights and masks are shared by three iterations
    _case("hidden_fold_cnn", hidden_fold_cnn, SMALL, BitExact(2), lsb=DEEP, lsb_why=DEEP_WHY),
    # the same as one LOOP of six iterations, and with multicoat masks (codes 0..3)
    _case("hidden_fold_cnn6", hidden_fold_6, SMALL, BitExact(1), lsb=DEEP, lsb_why=DEEP_WHY),
    _case("hidden_fold_cnn_codes3", hidden_fold_codes3, SMALL, BitExact(1), lsb=DEEP, lsb_why=DEEP_WHY),
    # real torch.onnx.export output, without and with constant folding
    _case("torch_export_unfolded", UNFOLDED, SMALL, BitExact(1)),
    _case("torch_export_folded", FOLDED, SMALL, BitExact(1)),
    # partially frozen layers: only the free positions' codes are stored, the MAC draws the rest
    _case("small_cnn_frozen", small_cnn_frozen, SMALL, BitExact(2), top1=0.96, top1_samples=300),
    # ... with multicoat codes whose locked positions differ (so they are stored), split by
    # input channel (the parts start mid-byte), and all three: loops (two folded stages, one
    # LOOP each), multicoat, frozen
    _case("small_cnn_frozen_codes3_split", small_cnn_frozen_codes3, TINY_MASK, BitExact(1)),
    _case("hidden_fold_2stages_frozen_codes3", hidden_fold_2stages_frozen_codes3, SMALL, BitExact(1),
          lsb=DEEPER, lsb_why=DEEPER_WHY),
    # a mask SRAM too small for whole layers: layers split by input channel
    _case("small_cnn_codes3_split", CODES3, TINY_MASK, BitExact(1), top1=0.96, top1_samples=300),
    dataclasses.replace(_case("resnet18_banded_stem", resnet18_banded, SMALL, BitExact(1)), int8=NotRun(
        "its BatchNorm statistics are drawn, not measured (resnet18 is a speed model), so a third of the "
        "samples saturate int8 by the third stage; the case is about row bands, checked in float against "
        "onnxruntime and bit for bit on the RTL, and tests/test_memplan.py checks that its int8 outputs "
        "equal those of a program for a larger act SRAM")),
    # the default (large) configuration: one MAC covers a whole layer's channels
    _case("mlp_default", MLP, None, DEFAULT_NO_RTL, top1=0.97, top1_samples=1000),
    _case("small_cnn_default", SMALL_CNN, None, DEFAULT_NO_RTL, top1=0.96, top1_samples=300),
    _case("torch_export_folded_default", FOLDED, None, DEFAULT_NO_RTL),
    # stored weights: ternary layers as sign + mask, a dense layer as sign + 7-bit code
    dataclasses.replace(_case("mlp_dense_head", mlp_dense_head, SMALL, BitExact(1)),
                        float=FloatClose(64, 1e-2, DENSE_WHY)),
)


# graph networks (tests/fixtures/make_gcn_samples.py): a folded multicoated GCN on the karate
# club graph from both torch exporters, each association of a layer and both ways torch
# writes a BatchNorm over the features (transposes, or a reshape to (N, F)); untrained and on
# N(0, 1) node features, so no top-1 claim. Five aggregations and five dense layers in a
# chain: measured p99.9 up to 2.9 and max up to 3.9 steps (seed 1).
GCN_WHY = ("a GCN layer requantises twice (after H @ W and after the aggregation), so the "
           "10-layer chain is deeper than small_cnn's: the hidden-fold bounds. ")
GCN_CASES = tuple(
    _case(f"gcn_{exporter}_{order}", _model(f"gcn_{exporter}_{order}"), SMALL, BitExact(1), lsb=DEEP,
          lsb_why=GCN_WHY)
    for exporter in ("torchscript", "dynamo") for order in ("a_hw", "ah_w", "flat_bn"))
CASES = CASES + GCN_CASES

# transformers (tests/fixtures/make_transformer_samples.py): an encoder block, one or two heads
# (Q·Kᵀ/sqrt(d), softmax, attention·V, residual, LayerNorm, GELU FFN), and two heads after a
# constant positional encoding with LayerNorm written out or without normalisation, from both
# torch exporters; untrained and on N(0, 1) tokens, so no top-1 claim. Every stage requantises
# (six dense layers, two MATMULs, two LAYERNORMs, GELU): the hidden-fold bounds.
ENCODER_WHY = ("the attention path requantises after each projection, product, softmax and "
               "norm, a chain as deep as the hidden-fold CNN's: its bounds. ")
ENCODER_CASES = tuple(
    _case(f"encoder{heads}_{exporter}", _model(f"encoder{heads}_{exporter}"), SMALL, BitExact(1), lsb=DEEP,
          lsb_why=ENCODER_WHY)
    for exporter in ("torchscript", "dynamo") for heads in ("", "2h", "pos_written", "pos_nonorm"))
CASES = CASES + ENCODER_CASES


def pairs() -> list[tuple[Case, str]]:
    """Every (case, backend) with an expectation to check (NotRun pairs are left out)."""
    return [(c, b) for c in CASES for b in BACKENDS if not isinstance(c.expectation(b), NotRun)]
