"""Activation memory planning: no two live tensors overlap, and layer chains fit in
ping-pong buffers (two tensors' worth of act SRAM)."""

import math
from dataclasses import replace

import numpy as np
import pytest
from onnx import TensorProto, helper
from test_schedule import one_conv

from seedcc.backends import refsim
from seedcc.compiler.memplan import plan_activations, roots
from seedcc.compiler.passes.spill_activations import spill_activations
from seedcc.errors import CapacityError
from seedcc.flow import compile_model
from seedcc.ir import Op
from seedcc.models import ModelBuilder, resnet18, small_cnn
from seedcc.rtl_models.hwconfig import SMALL


def chain(channels: int = 32, size: int = 32, depth: int = 4):
    b = ModelBuilder("chain")
    h, cin = "x", 3
    for k in range(depth):
        h = b.node("Relu", [b.conv(h, cin, channels, 3, f"conv{k}")], f"relu{k}")
        cin = channels
    b.nodes.append(helper.make_node("Flatten", [h], ["y"], name="flat", axis=1))
    return b.build([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, size, size])],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", channels * size * size])])


def test_chain_fits_in_two_tensors_of_sram():
    model = chain()
    tensor = 32 * 32 * 32
    tight = replace(SMALL, act_sram_bytes=2 * tensor)  # first-fit would strand the input's bytes
    roomy = replace(SMALL, act_sram_bytes=8 * tensor)
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    got = refsim.run(compile_model(model, config=tight).program, {"x": x}).outputs["y"]
    want = refsim.run(compile_model(model, config=roomy).program, {"x": x}).outputs["y"]
    np.testing.assert_array_equal(got, want)


def test_live_tensors_never_overlap():
    """Two tensors live at once never share bytes, except a residual ADD's output written
    over an operand that the ADD reads for the last time (exactly the same bytes)."""
    g = compile_model(small_cnn(), config=SMALL).graph
    addr = plan_activations(g, SMALL.act_sram_bytes)
    root = roots(g)
    last = {}
    for i, n in enumerate(g.nodes):
        for v in n.inputs:
            last[root[v]] = i
    for v in g.outputs:
        last[root[v]] = len(g.nodes)
    born = {v: -1 for v in g.inputs} | {n.output: i for i, n in enumerate(g.nodes) if root[n.output] == n.output}
    spans = {v: (addr[v], addr[v] + int(np.prod(g.values[v].shape))) for v in born}
    producer = {n.output: n for n in g.nodes}
    in_place = 0
    for a in born:
        for b in born:
            if a < b and born[a] <= last.get(b, born[b]) and born[b] <= last.get(a, born[a]):
                (s1, e1), (s2, e2) = spans[a], spans[b]
                if e1 <= s2 or e2 <= s1:
                    continue
                first, second = (a, b) if born[a] < born[b] else (b, a)
                node = producer[second]
                assert (node.op is Op.ADD and first in node.inputs and last[first] == born[second]
                        and spans[first] == spans[second]), \
                    f"{a} {spans[a]} and {b} {spans[b]} overlap while both live"
                in_place += 1
    assert in_place == 1  # small_cnn's residual add reuses one operand's buffer


def test_peak_use_of_every_memory_by_hand():
    """One 3x3 conv, 16 -> 32 channels on a 6x6 image, SMALL (2 lanes, 4 pixels):
    act: input 16*36 bytes + output 32*36 int32 values (4 bytes each: a graph output the
    REQ writes leaves at accumulator precision) live together = 576 + 4608 = 5184;
    mask: 16*9 rows of 2 lanes x 16 one-bit codes = 4 bytes each = 576;
    param: 2 lane start states of 8 bytes + 32 requantisation records of 8 bytes = 272;
    acc: 36 pixels in chunks of 12 (a quarter, rounded up to the 4-pixel tile), in two
    buffers that REQ and the MACs take turns on: 2 x 32 channels x 12 pixels = 768 words."""
    prog = compile_model(one_conv(), config=SMALL).program
    peaks = {m.memory: (m.peak, m.capacity) for m in prog.manifest.sram}
    assert peaks == {"act": (5184, SMALL.act_sram_bytes), "mask": (576, SMALL.mask_sram_bytes),
                     "param": (272, SMALL.param_sram_bytes), "acc": (768, SMALL.acc_sram_words)}


# -- spilling ---------------------------------------------------------------------------
def test_graph_that_fits_is_not_changed_by_spilling():
    c = compile_model(small_cnn(), config=SMALL)
    assert spill_activations(c.graph, SMALL) is c.graph
    assert not c.graph.ops(Op.SPILL) and not c.graph.ops(Op.RELOAD)


def test_spilled_shortcuts_give_the_same_results_as_a_larger_sram():
    """ResNet-18 at width 24 on 32x32: a block's input, its first conv's output and the
    second conv's output are 24 KiB each, 72 KiB together, more than SMALL's 64 KiB act
    SRAM. The shortcut goes off chip and comes back for the residual Add; with 128 KiB
    nothing moves. Outputs are the same bit for bit, and the difference in cycles is the
    DMA traffic of the spills and reloads."""
    model = resnet18(size=32, width=24)
    calib = {"x": np.random.default_rng(0).standard_normal((8, 3, 32, 32)).astype(np.float32)}
    small = compile_model(model, calib=calib, config=SMALL)
    roomy = compile_model(model, calib=calib, config=replace(SMALL, act_sram_bytes=128 * 1024))
    spills, reloads = small.graph.ops(Op.SPILL), small.graph.ops(Op.RELOAD)
    assert spills and len(reloads) >= len(spills) and not roomy.graph.ops(Op.SPILL)
    for s in spills:  # the spilled value is read again by an ADD, through its reload
        back = [r for r in reloads if r.inputs[0] == s.output]
        assert back and all(small.graph.consumers(r.output) for r in back)
    assert max(plan_activations(small.graph, SMALL.act_sram_bytes).values()) < SMALL.act_sram_bytes
    x = np.random.default_rng(1).standard_normal((3, 3, 32, 32)).astype(np.float32)
    a, b = refsim.run(small.program, {"x": x}), refsim.run(roomy.program, {"x": x})
    np.testing.assert_array_equal(a.outputs["logits"], b.outputs["logits"])
    moved = sum(math.prod(small.graph.values[s.inputs[0]].shape) for s in spills) \
        + sum(math.prod(small.graph.values[r.output].shape) for r in reloads)
    assert a.counters["dram_read_bytes"] + a.counters["dram_write_bytes"] \
        - b.counters["dram_read_bytes"] - b.counters["dram_write_bytes"] == moved


def test_stem_written_in_row_bands_gives_the_same_results_as_a_larger_sram():
    """ImageNet stem at 128x128, width 8: the stem conv's 8x64x64 output (32 KiB) does not fit
    SMALL's 64 KiB act SRAM next to the 48 KiB input. It is written off chip band by band (one
    DMA_STORE per channel and band) and the max pool reads it back with its halo rows (one
    DMA_LOAD and one single-channel MAXPOOL per channel and band). Float and int8 outputs
    equal those of a 256 KiB act SRAM, where nothing is banded."""
    model = resnet18(size=128, width=8, stem="imagenet")
    calib = {"x": np.random.default_rng(0).standard_normal((4, 3, 128, 128)).astype(np.float32)}
    small = compile_model(model, calib=calib, config=SMALL)
    roomy = compile_model(model, calib=calib, config=replace(SMALL, act_sram_bytes=256 * 1024))
    stem = small.graph.node("stem/Conv")
    pool = small.graph.node("stem.pool")
    assert "bands_out" in stem.attrs and "bands_in" in pool.attrs
    assert not any("bands_out" in n.attrs for n in roomy.graph.nodes)
    rows_out, rows_in = stem.attrs["bands_out"], pool.attrs["bands_in"]
    assert stem.attrs["band_bytes"] == 8 * rows_out * 64 <= SMALL.act_sram_bytes // 4
    assert pool.attrs["band_bytes"] == 8 * ((rows_in - 1) * 2 + 3) * 64 <= SMALL.act_sram_bytes // 4
    ops = [i.op for i in small.program.instructions]
    stores, pools = ops.count("DMA_STORE") - 1, ops.count("MAXPOOL")  # - 1: the logits
    assert stores == 8 * -(-64 // rows_out) and pools == 8 * -(-32 // rows_in)
    x = np.random.default_rng(1).standard_normal((2, 3, 128, 128)).astype(np.float32)
    for mode in ("int8", "float"):
        a = refsim.run(small.program, {"x": x}, mode=mode).outputs["logits"]
        np.testing.assert_array_equal(a, refsim.run(roomy.program, {"x": x}, mode=mode).outputs["logits"])


def test_imagenet_resnet18_runs_at_default_and_float_matches_onnxruntime():
    """The 224x224 ResNet-18 (ImageNet stem, width 64, 1000 classes, 11.7M random weights)
    compiles for DEFAULT: its 64x112x112 stem output (784 KiB) goes off chip in row bands,
    two shortcuts are spilled, and float mode matches onnxruntime."""
    import onnxruntime as ort

    from seedcc.rtl_models.hwconfig import DEFAULT

    model = resnet18(size=224, width=64, classes=1000, stem="imagenet")
    calib = {"x": np.random.default_rng(0).standard_normal((2, 3, 224, 224)).astype(np.float32)}
    c = compile_model(model, calib=calib, config=DEFAULT)
    assert "bands_out" in c.graph.node("stem/Conv").attrs and c.graph.ops(Op.SPILL)
    assert len(c.program.instructions) <= DEFAULT.instr_words
    x = np.random.default_rng(1).standard_normal((1, 3, 224, 224)).astype(np.float32)
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    out = refsim.run(c.program, {"x": x}, mode="float").outputs["logits"]
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()


def test_a_program_too_long_with_background_reqs_falls_back_to_whole_chunks():
    """Chunks for background REQs multiply a conv's MACs and REQs; when that overflows the
    instruction memory, the layers take whole-SRAM chunks and foreground REQs instead (the
    same results), with a note; when even that does not fit, the error names both sizes."""
    drained = compile_model(small_cnn(), config=SMALL)
    n = len(drained.program.instructions)
    assert any(i.op == "REQ" and i.background for i in drained.program.instructions)
    tight = compile_model(small_cnn(), config=replace(SMALL, instr_words=n - 1))
    short = len(tight.program.instructions)
    assert short < n and not any(i.op == "REQ" and i.background for i in tight.program.instructions)
    assert any(f"needs {n} instructions, more than the {n - 1}" in note for note in tight.notes)
    x = {"x": np.random.default_rng(2).standard_normal((2, 3, 16, 16)).astype(np.float32)}
    np.testing.assert_array_equal(refsim.run(drained.program, x).outputs["logits"],
                                  refsim.run(tight.program, x).outputs["logits"])
    with pytest.raises(CapacityError, match=f"the program has {short} instructions; the "
                                            f"instruction memory holds {short - 1}"):
        compile_model(small_cnn(), config=replace(SMALL, instr_words=short - 1))
