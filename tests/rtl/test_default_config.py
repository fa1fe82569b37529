"""The RTL at DEFAULT size (16 lanes x 16 channels x 16 pixels = 4,096 PEs), bit-exact and
cycle-exact against the reference model on a few layers: a 64-channel conv that runs four
copies of its four lanes, a residual add, a max pool, a stride-2 conv with two copies,
a global average pool and a fully connected layer; mask and parameter loads and REQs run in
the background (docs/isa.md "Background units").

Slow: the first Verilator build of the 4,096-PE array takes 15-20 minutes on 2 cores
(then it is cached), so the suite runs it only with `-m slow`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seedcc.backends import refsim
from seedcc.backends.rtlrun import run_on_rtl
from seedcc.flow import compile_model
from seedcc.models import small_cnn
from seedcc.rtl_models.hwconfig import DEFAULT

pytestmark = [pytest.mark.rtl, pytest.mark.slow]


def test_a_few_layers_at_default_size_are_bit_and_cycle_exact(tmp_path: Path) -> None:
    model = small_cnn(channels=64, size=16)
    rng = np.random.default_rng(0)
    calib = {"x": rng.standard_normal((8, 3, 16, 16)).astype(np.float32)}
    prog = compile_model(model, calib=calib, config=DEFAULT).program
    copies = {i.rep_log2 for i in prog.instructions if i.op == "MAC"}
    assert copies >= {2}, copies  # 64 channels: 4 lanes of 16, copied 4 times
    # background work of both units: prefetched mask/param loads, REQs on two buffers
    assert any(i.op == "DMA_LOAD" and i.background for i in prog.instructions)
    assert any(i.op == "REQ" and i.background for i in prog.instructions)
    x = {"x": rng.standard_normal((2, 3, 16, 16)).astype(np.float32)}
    outcome = run_on_rtl(prog, x, work_dir=tmp_path)
    assert outcome.ok, outcome.summary
    assert outcome.cycles == [refsim.run(prog, x).cycles] * 2
