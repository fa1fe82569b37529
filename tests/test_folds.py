"""Fold detection: layers that reuse one set of random weights and mask (hidden-fold
networks, unrolled by the exporter) are grouped, and their masks are stored once."""

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
    assert len(addrs) == 8 and len(set(addrs)) == 4  # stem, fc, and one per fold group
    assert len(set(mask_addrs(unfolded))) == 8
    # By hand: a 16-channel binary 3x3 layer over 16 inputs has 16 x 9 mask rows of one lane
    # x 2 bytes = 288 bytes; iterations 1 and 2 of both fold convs reuse iteration 0's rows.
    assert len(unfolded.image) - len(folded.image) >= 4 * 288
    x = {"x": np.random.default_rng(4).standard_normal((8, 3, 16, 16)).astype(np.float32)}
    for mode in ("int8", "float"):
        np.testing.assert_array_equal(refsim.run(folded, x, mode=mode).outputs["logits"],
                                      refsim.run(unfolded, x, mode=mode).outputs["logits"])
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
