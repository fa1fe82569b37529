"""Fold detection: layers that reuse one set of random weights and mask (hidden-fold
networks, unrolled by the exporter) are grouped, and their masks are stored once."""

import itertools

import numpy as np

from seedcc.backends import refsim
from seedcc.backends.codegen import generate
from seedcc.compiler.frontend import import_onnx
from seedcc.compiler.passes.detect_folds import detect_folds
from seedcc.compiler.pipeline import Options, generated_calibration, run_passes
from seedcc.flow import compile_model
from seedcc.golden import ort_run
from seedcc.ir import Op, verify
from seedcc.models import hidden_fold_cnn, small_cnn
from seedcc.report import format_report
from seedcc.rtl_models.hwconfig import SMALL


def test_shared_layers_form_fold_groups():
    g = verify(detect_folds(import_onnx(hidden_fold_cnn(iterations=3))))
    folds = {n.name: n.attrs.get("fold") for n in g.ops(Op.CONV)}
    assert folds == {"stem/Conv": None, "fc/Gemm": None,
                     "iter0.conv1": (0, 0), "iter1.conv1": (0, 1), "iter2.conv1": (0, 2),
                     "iter0.conv2": (1, 0), "iter1.conv2": (1, 1), "iter2.conv2": (1, 2)}
    assert sum("fold group" in note for note in g.notes) == 2


def test_models_without_shared_weights_have_no_folds():
    g = detect_folds(import_onnx(small_cnn()))
    assert not any("fold" in n.attrs for n in g.ops(Op.CONV))


def test_fold_masks_are_stored_once_and_outputs_unchanged():
    model = hidden_fold_cnn(iterations=3)
    folded = compile_model(model, config=SMALL).program
    front = import_onnx(model)
    opts = Options(config=SMALL, calib=generated_calibration(front))
    unfolded = generate(run_passes(front, opts, ("fuse_epilogues", "quantize", "pack_masks",
                                                         "schedule_regeneration")), SMALL)

    def mask_addrs(prog):
        return [ins.dram_addr for ins in prog.instructions if ins.op == "DMA_LOAD" and ins.space == 1]

    addrs = mask_addrs(folded)
    assert len(addrs) == 4 and len(set(addrs)) == 4  # stem, fc, and one per fold group
    assert len(set(mask_addrs(unfolded))) == 8
    # By hand: a 16-channel binary 3x3 layer over 16 inputs has 16 x 9 mask rows of one lane
    # x 2 bytes = 288 bytes; iterations 1 and 2 of both fold convs reuse iteration 0's rows.
    assert len(unfolded.image) - len(folded.image) >= 4 * 288
    x = {"x": np.random.default_rng(4).standard_normal((8, 3, 16, 16)).astype(np.float32)}
    # float mode is the same computation; int8 differs (the loop shares scales across the
    # iterations, tests/corpus.py bounds both against onnxruntime)
    np.testing.assert_array_equal(refsim.run(folded, x, mode="float").outputs["logits"],
                                  refsim.run(unfolded, x, mode="float").outputs["logits"])
    ref = ort_run(model, x)["logits"]
    got = refsim.run(folded, x, mode="float").outputs["logits"]
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * np.abs(ref).max())  # float32 sums


def test_report_counts_fold_masks_once():
    prog = compile_model(hidden_fold_cnn(iterations=3), config=SMALL).program
    text = format_report(prog, refsim.run(prog, {"x": np.zeros((1, 3, 16, 16), np.float32)}))
    # By hand, rows of 2 bytes (one lane of 16 channels, 1 bit): stem 3 x 9 rows = 54 bytes,
    # the two fold convs 16 x 9 rows = 288 bytes each (counted once), fc 16 rows = 32 bytes.
    assert f"masks {54 + 288 + 288 + 32} +" in text
    assert "fold group 0: 3 layers" in text and "fold group 1: 3 layers" in text


# -- hardware loops --------------------------------------------------------------------------
FOLD_MASK_BYTES = 288 + 288  # the two fold convs' rows (16 x 9 rows of 2 bytes each)
OTHER_MASK_BYTES = 54 + 32  # stem and classifier


def test_program_size_does_not_grow_with_iterations():
    progs = {k: compile_model(hidden_fold_cnn(iterations=k), config=SMALL).program for k in (3, 6)}
    assert len(progs[3].instructions) == len(progs[6].instructions) == (
        3 * 4 * 2  # stem and the two fold convs: 256 pixels in 4 chunks, a MAC and a REQ each
        + 2        # fc: MAC, REQ
        + 4 * 2    # param and mask loads of the 4 convs
        + 4        # a SETGEN per conv
        + 6        # input load, LOOP, ADD, AVGPOOL, output store, HALT
        + 2)       # SYNCs for loads moved into the background
    assert [sum(ins.op == "SYNC" for ins in p.instructions) for p in progs.values()] == [2, 2]
    for k, prog in progs.items():
        (loop,) = [ins for ins in prog.instructions if ins.op == "LOOP"]
        # body: per conv a param DMA, SETGEN and 4 x (MAC, REQ); then the ADD
        assert (loop.iterations, loop.body_len) == (k, 2 * (2 + 8) + 1)
        assert any(f"fold region 0: {k} iterations of 3 nodes" in n for n in prog.manifest.notes)


def test_masks_are_read_from_dram_once_per_inference():
    for k in (3, 6):
        prog = compile_model(hidden_fold_cnn(iterations=k), config=SMALL).program
        body_start = next(i for i, ins in enumerate(prog.instructions) if ins.op == "LOOP") + 1
        assert not [ins for ins in prog.instructions[body_start:body_start + 9]
                    if ins.op == "DMA_LOAD" and ins.space == 1], "a mask load in the loop body"
        res = refsim.run(prog, {"x": np.zeros((2, 3, 16, 16), np.float32)})
        assert res.counters["mask_sram_write_bytes"] == FOLD_MASK_BYTES + OTHER_MASK_BYTES
        params = sum(ins.length for _, _, ins in refsim.simulator(prog).trace
                     if ins.op == "DMA_LOAD" and ins.space == 2)
        acts = sum(d.shape[0] * d.shape[1] * d.shape[2] for d in prog.manifest.inputs)
        assert res.counters["dram_read_bytes"] == acts + params + FOLD_MASK_BYTES + OTHER_MASK_BYTES


def test_every_folded_stage_is_its_own_loop():
    """Two stages, each folding its own block (16 then 32 channels): two LOOPs, program size
    independent of the iteration count, and the masks DMA'd once per inference. By hand:
    stage 1's fold convs 288 B each (as above); the stride-2 conv 16 -> 32 channels has 16 x 9
    rows of 2 lanes x 2 bytes = 576 B; stage 2's fold convs 32 x 9 rows of 4 bytes = 1152 B
    each; the classifier over 32 features 32 rows of 2 bytes = 64 B."""
    masks = 54 + 2 * 288 + 576 + 2 * 1152 + 64
    progs = {k: compile_model(hidden_fold_cnn(iterations=k, stages=2), config=SMALL).program for k in (3, 6)}
    assert len(progs[3].instructions) == len(progs[6].instructions)
    for k, prog in progs.items():
        loops = [ins for ins in prog.instructions if ins.op == "LOOP"]
        assert [lp.iterations for lp in loops] == [k, k]
        assert sum(f"fold region {r}: {k} iterations of 3 nodes" in n
                   for n in prog.manifest.notes for r in (0, 1)) == 2
        res = refsim.run(prog, {"x": np.zeros((1, 3, 16, 16), np.float32)})
        assert res.counters["mask_sram_write_bytes"] == masks


def test_loop_iterations_read_their_own_parameters():
    """Float mode runs the iterations' own BatchNorm (float_params keyed by iteration), and
    every checkpoint inside the body is taken in its iteration: all match onnxruntime."""
    model = hidden_fold_cnn(iterations=6)
    prog = compile_model(model, config=SMALL).program
    x = {"x": np.random.default_rng(5).standard_normal((4, 3, 16, 16)).astype(np.float32)}
    cks = prog.manifest.checkpoints
    assert {ck.iteration for ck in cks} == set(range(6))
    res = refsim.run(prog, x, mode="float", checkpoints=True)
    ref = ort_run(model, x, [ck.onnx for ck in cks])
    for ck in cks:
        want = ref[ck.onnx].reshape(res.checkpoints[ck.name].shape)
        np.testing.assert_allclose(res.checkpoints[ck.name], want, rtol=0,
                                   atol=1e-5 * np.abs(want).max() + 1e-7, err_msg=ck.name)


def test_fold_region_falls_back_to_unrolled_with_a_note():
    """Without room for the resident rows in the mask SRAM the iterations stay unrolled."""
    import dataclasses
    cfg = dataclasses.replace(SMALL, mask_sram_bytes=512)  # one fold conv's rows fit, not two
    prog = compile_model(hidden_fold_cnn(iterations=3), config=cfg).program
    assert not any(ins.op == "LOOP" for ins in prog.instructions)
    assert any("stays unrolled" in n and "do not fit" in n for n in prog.manifest.notes)


def test_fold_region_needs_whole_layers():
    """A mask SRAM too small for a fold conv's rows splits it by input channel: no LOOP."""
    import dataclasses
    cfg = dataclasses.replace(SMALL, mask_sram_bytes=128)
    prog = compile_model(hidden_fold_cnn(iterations=3), config=cfg).program
    assert not any(ins.op == "LOOP" for ins in prog.instructions)
    assert any("stays unrolled" in n and "input-channel splits" in n for n in prog.manifest.notes)


def test_form_fold_regions_marks_iterations_and_positions():
    from seedcc.compiler.passes.form_fold_regions import form_fold_regions
    from seedcc.compiler.passes.fuse_epilogues import fuse_epilogues
    g = verify(form_fold_regions(fuse_epilogues(detect_folds(import_onnx(hidden_fold_cnn(iterations=3))))))
    loops = {n.name: n.attrs["loop"] for n in g.nodes if "loop" in n.attrs}
    assert loops == {f"iter{it}.{name}": (0, it, pos) for it in range(3)
                     for pos, name in enumerate(("conv1", "conv2", "add"))}
    plain = fuse_epilogues(detect_folds(import_onnx(small_cnn())))
    assert form_fold_regions(plain) is plain


def test_loop_scales_keep_the_add_ratios_of_every_iteration():
    """The residual stream (stem output, then each iteration's ADD output) is geometric,
    the ADD's other operand a constant times it; the middle activation keeps its own."""
    k = 6
    g = compile_model(hidden_fold_cnn(iterations=k), config=SMALL).graph
    s = {name: v.scale for name, v in g.values.items()}
    stream = [s["stem.relu_out"]] + [s[f"iter{it}.relu2_out"] for it in range(k)]
    steps = [b / a for a, b in itertools.pairwise(stream)]
    np.testing.assert_allclose(steps, steps[0], rtol=1e-12)
    branch = [s[f"iter{it}.bn2_out"] / stream[it + 1] for it in range(k)]
    np.testing.assert_allclose(branch, branch[0], rtol=1e-12)
    middle = [s[f"iter{it}.relu1_out"] for it in range(k)]
    assert len(set(middle)) == k  # calibrated per iteration
