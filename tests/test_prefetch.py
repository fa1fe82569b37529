"""Mask and param loads moved into the background (backends/prefetch.py): the same results,
fewer cycles, and the placement rules by hand."""

from __future__ import annotations

import numpy as np

from seedcc.backends import codegen, isa, refsim
from seedcc.backends.prefetch import Region, targets
from seedcc.compiler.frontend import import_onnx
from seedcc.compiler.memplan import Arena
from seedcc.compiler.pipeline import Options, generated_calibration, run_passes
from seedcc.models import resnet18, small_cnn
from seedcc.rtl_models.hwconfig import DEFAULT, SMALL

PASSES = ("fuse_epilogues", "quantize", "pack_masks", "schedule_regeneration")


def both(model, cfg):
    """The model compiled with and without prefetching, from one graph."""
    front = import_onnx(model)
    g = run_passes(front, Options(config=cfg, calib=generated_calibration(front, 8)), PASSES)
    return codegen.generate(g, cfg, prefetching=False), codegen.generate(g, cfg)


def test_prefetched_programs_compute_the_same_in_fewer_cycles():
    for model, cfg in ((small_cnn(), SMALL), (resnet18(size=32, width=16), DEFAULT)):
        plain, fetched = both(model, cfg)
        assert not any(ins.op == "SYNC" or ins.op.startswith("DMA") and ins.background
                       for ins in plain.instructions)
        moved = [ins for ins in fetched.instructions if ins.op == "DMA_LOAD" and ins.background]
        assert moved and all(ins.space in (isa.SPACE_MASK, isa.SPACE_PARAM) for ins in moved)
        x = {d.name: np.random.default_rng(1).normal(size=(3, *d.shape)).astype(np.float32)
             for d in plain.manifest.inputs}
        for mode in ("int8", "float"):
            a, b = refsim.run(plain, x, mode, checkpoints=True), refsim.run(fetched, x, mode, checkpoints=True)
            for k in a.outputs:
                np.testing.assert_array_equal(a.outputs[k], b.outputs[k])
            assert a.checkpoints.keys() == b.checkpoints.keys()
            for k in a.checkpoints:  # checkpoints still follow their instructions
                np.testing.assert_array_equal(a.checkpoints[k], b.checkpoints[k])
        assert b.cycles < a.cycles
        assert b.counters["wait_cycles"] > a.counters["wait_cycles"]


def test_a_load_moves_to_just_after_the_release_of_the_bytes_it_overwrites():
    regions = [Region("mask", 0, 100, load=0, release=5),   # read by instructions 1..4
               Region("param", 0, 16, load=1, release=9),
               Region("mask", 100, 50, load=6, release=12),  # no overlap: to the top
               Region("mask", 50, 100, load=13),             # overlaps both mask regions: after 12
               Region("param", 0, 8, load=14)]               # param region 1's bytes: after 9,
    assert targets(regions, barriers=[]) == {0: 0, 1: 0, 6: 0, 13: 12, 14: 12}  # not above 13
    # never above a loop body's end
    assert targets(regions, barriers=[3]) == {0: 0, 1: 0, 6: 3, 13: 12, 14: 12}


def test_arena_goes_round_the_sram():
    a = Arena("mask", 100, align=10)
    x = a.alloc(30, "x")
    a.release(x)
    y = a.alloc(30, "y")  # after x, whose bytes the last layer read
    z = a.alloc(30, "z")
    assert (x, y, z) == (0, 30, 60)
    a.release(y)
    assert a.alloc(20, "w") == 0  # no room after z: from the start
    assert a.peak == 60
