"""Regeneration schedule (the `schedule_regeneration` pass): tiles, lane start states and
generator steps. Layers whose mask rows exceed the mask SRAM are split by input channel;
each part starts its generator lanes from jumped-ahead states and accumulates. Splitting
must not change a single output bit."""

from dataclasses import replace

import numpy as np
import pytest
from onnx import TensorProto, helper

from seedcc.backends import refsim
from seedcc.errors import CapacityError
from seedcc.flow import compile_model
from seedcc.ir import Op
from seedcc.models import ModelBuilder, mlp, small_cnn
from seedcc.rtl_models.generators import get_generator, group_start_states
from seedcc.rtl_models.hwconfig import SMALL

TINY_MASK = replace(SMALL, mask_sram_bytes=128)


@pytest.mark.parametrize("build", [small_cnn, lambda: small_cnn(codes=3), mlp], ids=["cnn", "cnn_codes3", "mlp"])
def test_split_layers_give_identical_outputs(build):
    model = build()
    whole, split = compile_model(model, config=SMALL), compile_model(model, config=TINY_MASK)
    assert any(layer.input_splits > 1 for layer in split.program.manifest.layers)
    assert all(layer.input_splits == 1 for layer in whole.program.manifest.layers)
    decl = whole.program.manifest.inputs[0]
    x = {decl.name: np.random.default_rng(3).standard_normal((16, *decl.shape)).astype(np.float32)}
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
    layers = prog.manifest.layers
    li = next(k for k, layer in enumerate(layers) if layer.name == "conv3/Conv")
    o, i, kh, kw = layers[li].shape
    assert (o, i, kh, kw) == (32, 16, 3, 3)
    # By hand: 32 channels = 2 lanes, so a binary mask row is 2 x 2 = 4 bytes and one input
    # channel's 9 rows are 36 bytes; a split takes at most half the mask SRAM (the other half
    # holds the next split's rows, loading meanwhile): 64 // 36 = 1 input channel at a time.
    parts = [(i, i + 1) for i in range(16)]
    assert layers[li].input_splits == len(parts)
    gen, groups = get_generator("xorshift16"), 2
    starts = group_start_states("xorshift16", layers[li].seed, groups)
    # each layer loads one parameter table (param-space DMA): lane states per part, then records
    ins = list(prog.instructions)
    at = [k for k, x in enumerate(ins) if x.op == "DMA_LOAD" and x.space == 2][li]
    table = np.frombuffer(prog.image, "<u8", count=groups * len(parts), offset=ins[at].dram_addr)
    for k, (i0, _) in enumerate(parts):
        # part k starts where the whole layer's lanes are after i0 input channels x 9 taps
        assert table[k * groups:(k + 1) * groups].tolist() == [steps(gen, int(s), i0 * kh * kw)
                                                               for s in starts]
    # the layer's work runs from its first SETGEN (lane states of part 0, at the table's
    # start) to its REQ; the loads may come earlier, in the background
    first = next(k for k in range(at, len(ins))
                 if ins[k].op == "SETGEN" and ins[k].param_addr == ins[at].sram_addr)
    body = ins[first:ins.index(next(x for x in ins[first:] if x.op == "REQ"), first)]
    macs = [x for x in body if x.op == "MAC"]
    setgens = [x for x in body if x.op == "SETGEN"]
    assert [m.accumulate for m in macs] == [0] + [1] * (len(parts) - 1)
    assert [m.in_c for m in macs] == [i1 - i0 for i0, i1 in parts]
    assert [g.param_addr for g in setgens] == [ins[at].sram_addr + 8 * k * groups
                                               for k in range(len(parts))]


def test_one_input_channel_too_big_for_the_mask_sram():
    with pytest.raises(CapacityError, match="mask rows of one input channel"):
        compile_model(small_cnn(), config=replace(SMALL, mask_sram_bytes=16))


def one_conv(cin: int = 16, cout: int = 32, hw: int = 6):
    b = ModelBuilder("one_conv", seed=5)
    y = b.node("Relu", [b.batchnorm(b.conv("x", cin, cout, 3, "c"), cout, "bn")], "relu")
    return b.build([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", cin, hw, hw])],
                   [helper.make_tensor_value_info(y, TensorProto.FLOAT, ["N", cout, hw, hw])])


def test_regeneration_plan_counts_lane_steps_by_hand():
    """16->32 channels, 3x3, 6x6 output on SMALL (2 lanes x 16 channels, 4 pixels): one block
    of 32 channels = 2 lanes; 36 pixels fit the accumulators in one chunk = 9 pixel tiles;
    each tile steps every lane once per (input channel, kernel position) = 16*9 = 144 times.
    2 lanes x 144 steps x 9 tiles = 2592 steps for 32*16*9 = 4608 weights."""
    c = compile_model(one_conv(), config=SMALL)
    (layer,) = c.graph.ops(Op.CONV)
    plan = layer.attrs["regen"]
    assert (plan.policy, plan.lane_steps, plan.weights) == ("regenerate", 2592, 4608)
    assert plan.steps_per_weight == pytest.approx(2592 / 4608)
    x = {"x": np.random.default_rng(0).standard_normal((1, 16, 6, 6)).astype(np.float32)}
    assert refsim.run(c.program, x).counters["gen_steps"] == 2592  # counted by executing MACs


def test_lane_states_are_the_generator_stepped_i0_kh_kw_times():
    """Each split's start states, checked by stepping the scalar generator one step at a time
    (not through the jump tables the pass uses)."""
    c = compile_model(small_cnn(), config=TINY_MASK)
    layer = next(n for n in c.graph.ops(Op.CONV) if len(n.attrs["tiling"].splits) > 2)
    w = layer.attrs["weight"]
    gen = get_generator(w.generator)
    steps = w.shape[2] * w.shape[3]
    starts = group_start_states(w.generator, w.seed, -(-w.shape[0] // 16))
    for (i0, _), states in zip(layer.attrs["tiling"].splits, layer.attrs["lane_states"]):
        expect = []
        for s in starts:
            s = int(s)
            for _ in range(i0 * steps):
                s = gen.step(s)
            expect.append(s)
        assert list(states) == expect


def test_refsim_generator_steps_match_the_schedule_on_every_layer():
    for build, cfg in ((small_cnn, SMALL), (small_cnn, TINY_MASK), (mlp, SMALL)):
        c = compile_model(build(), config=cfg)
        planned = sum(n.attrs["regen"].lane_steps for n in c.graph.ops(Op.CONV))
        decl = c.program.manifest.inputs[0]
        x = {decl.name: np.zeros((1, *decl.shape), np.float32)}
        assert refsim.run(c.program, x).counters["gen_steps"] == planned
