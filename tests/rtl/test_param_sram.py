"""The param SRAM (seedcc_param_sram: banks of seedcc_sram_dp) on its own, for bus widths
below, at and above its 8-byte word (one bank, one bank with partial beats, two and four
banks): random DMA beats on port A and word reads on port B against a byte array
(tb_param_sram.py). The accelerator's tests reach only SMALL's 8-byte bus, and DEFAULT's
16-byte one with param loads only.
"""

from __future__ import annotations

import pytest
from rtlsupport import HERE

from seedcc.backends import simulator

pytestmark = pytest.mark.rtl

PARAM_BYTES = 1024


@pytest.mark.parametrize("bus_bytes", [4, 8, 16, 32])
def test_param_sram_matches_a_byte_array(bus_bytes: int, tmp_path) -> None:
    params = {"PARAM_BYTES": PARAM_BYTES, "BUS_BYTES": bus_bytes}
    bld = simulator.build("seedcc_param_sram", params)
    outcome = simulator.run_test(bld, "tb_param_sram", tmp_path, python_path=[HERE],
                                 args={"param_bytes": PARAM_BYTES, "bus_bytes": bus_bytes,
                                       "cycles": 3000, "seed": bus_bytes})
    assert outcome.ok, outcome.summary()
