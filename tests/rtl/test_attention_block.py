"""A whole single-head attention block (given int8 projections Q, K, V and the residual x):
S = K^T Q / sqrt(d), P = softmax over keys, O = V P, H = x + O, LayerNorm, GELU, built by hand
(``rtl_attn_programs.case_attention``) and run on the reference model, against the same block
in float64 on the unquantised inputs. (The same program runs on the RTL, bit- and
cycle-exactly, in test_programs.py as case ``attention``.)

Measured (seeds 21, 22, 23, 5; d = 16, 8 tokens; per-tensor scales max|x|/127 calibrated on
the block itself): largest error of each stage 0.7-2.2% of the stage's largest value
(1-2.8 quantisation steps), of the GELU output 1.1-2.1% (1.4-2.7 steps).
"""

from __future__ import annotations

import numpy as np
import pytest
from rtl_attn_programs import (
    attention_floats,
    attention_reference,
    attention_scales,
    case_attention,
)

from seedcc.backends import refsim

STAGES = ("s", "p", "o", "h", "ln", "y")


@pytest.mark.parametrize("seed", [21, 22, 23, 5])
def test_attention_block_on_refsim_against_float(seed):
    case = case_attention(seed)
    f = attention_floats(seed)
    ref, scales = attention_reference(f), attention_scales(f)
    res = refsim.run_int(case.program, {k: v[None] for k, v in case.inputs.items()})
    assert res.cycles == case.cycles
    report = []
    for k in STAGES:
        raw = res.outputs[k][0]
        assert np.array_equal(raw, case.expected[k]), f"stage {k} is not bit-exact"
        raw = raw.reshape(ref[k].shape)
        got = (raw.view(np.uint8) if k == "p" else raw).astype(np.float64) * scales[k]
        err = float(np.abs(got - ref[k]).max())
        rel, steps = err / float(np.abs(ref[k]).max()), err / scales[k]
        report.append(f"{k}: max error {err:.4f} = {100 * rel:.2f}% of max, {steps:.2f} steps")
        assert rel <= 0.03 and steps <= 3.5, "; ".join(report)
    print(f"seed {seed}: " + "; ".join(report))
