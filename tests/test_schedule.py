"""Regeneration schedule: layers whose mask rows exceed the mask SRAM are split by input
channel; each part starts its generator lanes from jumped-ahead states and accumulates.
Splitting must not change a single output bit."""

from dataclasses import replace

import numpy as np
import pytest

from seedcc.backends import refsim
from seedcc.errors import CapacityError
from seedcc.flow import compile_model
from seedcc.models import mlp, small_cnn
from seedcc.rtl_models.generators import get_generator, group_start_states
from seedcc.rtl_models.hwconfig import SMALL

TINY_MASK = replace(SMALL, mask_sram_bytes=128)


@pytest.mark.parametrize("build", [small_cnn, lambda: small_cnn(codes=3), mlp], ids=["cnn", "cnn_codes3", "mlp"])
def test_split_layers_give_identical_outputs(build):
    model = build()
    whole, split = compile_model(model, config=SMALL), compile_model(model, config=TINY_MASK)
    assert any(layer["input_splits"] > 1 for layer in split.program.manifest["layers"])
    assert all(layer["input_splits"] == 1 for layer in whole.program.manifest["layers"])
    decl = whole.program.manifest["inputs"][0]
    x = {decl["name"]: np.random.default_rng(3).standard_normal((16, *decl["shape"])).astype(np.float32)}
    for mode in ("int8", "float"):
        a = refsim.run(whole.program, x, mode=mode).outputs
        b = refsim.run(split.program, x, mode=mode).outputs
        for k in a:
            if mode == "int8":
                np.testing.assert_array_equal(a[k], b[k])
            else:  # float sums in another order: float32 tolerance
                np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-5 * np.abs(a[k]).max())


def steps(gen, state: int, n: int) -> int:
    """The lane state after `n` single steps (independent of the generator's jump-ahead)."""
    for _ in range(n):
        state = gen.step(state)
    return state


def test_split_parts_start_from_jumped_lane_states():
    prog = compile_model(small_cnn(), config=TINY_MASK).program
    layers = prog.manifest["layers"]
    li = next(k for k, layer in enumerate(layers) if layer["name"] == "conv3/Conv")
    o, i, kh, kw = layers[li]["shape"]
    assert (o, i, kh, kw) == (32, 16, 3, 3)
    # By hand: 32 channels = 2 lanes, so a binary mask row is 2 x 2 = 4 bytes and one input
    # channel's 9 rows are 36 bytes; 128 // 36 = 3 input channels fit the mask SRAM at once.
    parts = [(0, 3), (3, 6), (6, 9), (9, 12), (12, 15), (15, 16)]
    assert layers[li]["input_splits"] == len(parts)
    gen, groups = get_generator("xorshift16"), 2
    starts = group_start_states("xorshift16", layers[li]["seed"], groups)
    # each layer loads one parameter table (param-space DMA): lane states per part, then records
    ins = list(prog.instructions)
    at = [k for k, x in enumerate(ins) if x.op == "DMA_LOAD" and x.space == 2][li]
    table = np.frombuffer(prog.image, "<u8", count=groups * len(parts), offset=ins[at].dram_addr)
    for k, (i0, _) in enumerate(parts):
        # part k starts where the whole layer's lanes are after i0 input channels x 9 taps
        assert table[k * groups:(k + 1) * groups].tolist() == [steps(gen, int(s), i0 * kh * kw)
                                                               for s in starts]
    body = ins[at:ins.index(next(x for x in ins[at:] if x.op == "REQ"), at)]
    macs = [x for x in body if x.op == "MAC"]
    setgens = [x for x in body if x.op == "SETGEN"]
    assert [m.accumulate for m in macs] == [0] + [1] * (len(parts) - 1)
    assert [m.in_c for m in macs] == [i1 - i0 for i0, i1 in parts]
    assert [g.param_addr for g in setgens] == [8 * k * groups for k in range(len(parts))]


def test_one_input_channel_too_big_for_the_mask_sram():
    with pytest.raises(CapacityError, match="mask rows of one input channel"):
        compile_model(small_cnn(), config=replace(SMALL, mask_sram_bytes=16))
