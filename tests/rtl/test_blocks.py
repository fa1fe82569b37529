"""Block tests: generator lane, decoder, PE tile and requantiser, each against its golden
Python definition. One build (seedcc_blocks_tb) serves all; the cocotb sides are the
tb_*.py modules beside this file.
"""

from __future__ import annotations

import pytest
from rtlsupport import HERE, blocks_build

from seedcc.backends.simulator import run_test
from seedcc.rtl_models.hwconfig import SMALL

pytestmark = pytest.mark.rtl

BLOCKS = {
    "tb_genlane": {"steps": 10_000, "generators": ["xorshift16", "xorshift32", "ctrhash32"]},
    "tb_decode": {"per_opcode": 200, "seed": 1},
    "tb_pe": {"pixels": SMALL.pixels, "cycles": 400, "seed": 5},
    "tb_requant": {"random": 3000, "seed": 3},
}


@pytest.mark.parametrize("module", list(BLOCKS))
def test_block(module, tmp_path):
    outcome = run_test(blocks_build(), module, tmp_path, python_path=[HERE], args=BLOCKS[module])
    assert outcome.ok, outcome.summary()
