"""End to end: ONNX models compiled by seedcc for the SMALL configuration, run on the RTL.

The compiler's Program goes through `seedcc.backends.rtlrun.run_on_rtl`, the same path as
`seedcc verify --rtl`: vectors with the reference model's expectations, the cocotb
testbench, every output byte and the cycle counter compared.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import sample_path

import seedcc
from seedcc import models
from seedcc.backends import refsim
from seedcc.backends.rtlrun import run_on_rtl
from seedcc.backends.vectors import load_vectors
from seedcc.rtl_models.hwconfig import SMALL

pytestmark = pytest.mark.rtl

SAMPLES = 2
MODELS = {
    "mlp": models.mlp,
    "small_cnn": models.small_cnn,
    "small_cnn_multicoat": lambda: models.small_cnn(codes=3),
    "hidden_fold_cnn": models.hidden_fold_cnn,  # fold groups: masks shared in the image
}


@pytest.mark.parametrize("name", list(MODELS))
def test_example_model_on_rtl(name, tmp_path):
    program = seedcc.compile(MODELS[name](), config=SMALL)
    decl = program.manifest.inputs[0]
    x = np.random.default_rng(0).standard_normal([SAMPLES, *decl.shape]).astype(np.float32)
    outcome = run_on_rtl(program, {decl.name: x}, work_dir=tmp_path)
    assert outcome.ok, outcome.summary
    predicted = refsim.run(program, {decl.name: x}).cycles
    assert outcome.cycles == [predicted] * SAMPLES, "RTL cycle counter differs from the model"
    assert load_vectors(tmp_path / "vectors0").source == "refsim"


def test_sample_export_on_rtl(tmp_path):
    """Real torch.onnx.export output (constant-folded) on the RTL."""
    program = seedcc.compile(sample_path("torch_export_folded"), config=SMALL)
    x = np.random.default_rng(1).standard_normal((1, 1, 8, 8)).astype(np.float32)
    outcome = run_on_rtl(program, {"x": x}, work_dir=tmp_path)
    assert outcome.ok, outcome.summary


def test_input_channel_split_on_rtl(tmp_path):
    """A mask SRAM too small for whole layers: split layers (jumped lane states, accumulating
    MACs) run bit-exactly on an RTL built for that configuration."""
    tiny = replace(SMALL, mask_sram_bytes=128)
    program = seedcc.compile(models.small_cnn(codes=3), config=tiny)
    assert any(layer.input_splits > 1 for layer in program.manifest.layers)
    x = np.random.default_rng(2).standard_normal((1, 3, 16, 16)).astype(np.float32)
    outcome = run_on_rtl(program, {"x": x}, work_dir=tmp_path)
    assert outcome.ok, outcome.summary
    assert outcome.cycles == [refsim.run(program, {"x": x}).cycles]
