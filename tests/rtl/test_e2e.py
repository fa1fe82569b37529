"""End to end: ONNX models compiled by seedcc for the SMALL configuration, run on the RTL.

The compiler's Program goes through the same path as the hand-built programs:
``write_vectors`` (expectations and cycle count from the reference model) and the
tb_vectors testbench; every output byte and the cycle counter must match.
"""

from __future__ import annotations

import numpy as np
import pytest
from rtlsupport import DRAM_BYTES, HERE, accel_build

import seedcc
from seedcc import models
from seedcc.backends.hwconfig import SMALL
from seedcc.backends.simulator import run_test
from seedcc.backends.vectors import load_vectors, write_vectors

pytestmark = pytest.mark.rtl

MODELS = {
    "mlp": lambda: models.mlp(features=32, hidden=24),
    "small_cnn": lambda: models.small_cnn(channels=8, size=8, classes=10),
    "small_cnn_multicoat": lambda: models.small_cnn(channels=16, size=16, classes=10, codes=3),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_compiled_model_on_rtl(name, tmp_path):
    program = seedcc.compile(MODELS[name](), config=SMALL)
    decl = program.manifest["inputs"][0]
    x = np.random.default_rng(0).standard_normal([1, *decl["shape"]]).astype(np.float32)
    write_vectors(program, x, tmp_path / "vectors")
    assert load_vectors(tmp_path / "vectors").source == "refsim"
    outcome = run_test(accel_build(), "tb_vectors", tmp_path / "sim", python_path=[HERE],
                       args={"vectors": [str(tmp_path / "vectors")],
                             "parameters": SMALL.verilog_params(), "dram_bytes": DRAM_BYTES})
    assert outcome.ok, outcome.summary()
