"""ResNet-18 on the DEFAULT config: compile time, PE utilisation, off-chip traffic, cycles, energy.

    python benchmarks/bench_resnet18.py [--sizes 224 32] [--calib 16]

For each input size (224: ImageNet stem, 1000 classes; 32: CIFAR stem, 10 classes; width 64,
11.2-11.7M random weights) it compiles the model for DEFAULT (calibration on `--calib`
generated samples), checks float mode against onnxruntime on one sample, and prints from the
reference model's cost model (docs/refsim.md; the idealised machine of docs/architecture.md,
so the figures describe that machine, not a built one):

- compile time with `--calib` samples and with the default calibration (no calibration data:
  `calibration_samples` generated samples, docs/compiler.md), instructions (against
  DEFAULT's instruction memory);
- PE occupancy of the 3x3 convolutions (`seedcc report`'s "PE occ."): PE slots holding a
  (channel, pixel, weight position) over the PE slots of their MAC cycles, and over all
  the cycles of their layers (REQ, DMA and pools included), against the goal of 0.85; the
  same for the whole network; and the PE utilisation (add/subtracts actually performed:
  mask bit set, tap in range) of the MAC cycles;
- off-chip bytes divided by the compulsory bytes: masks and parameters once, the input, the
  output, and each activation that cannot stay on chip (row-banded or spilled) written once
  and read once; the goal is at most 1.3;
- cycles, time and energy per sample, the cycles by instruction (waits for the DMA engine
  included), and the cycles of the same program without prefetch (mask and param loads in
  the foreground, docs/compiler.md "Prefetch").
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import onnxruntime as ort

from collections import Counter

from seedcc.backends import codegen, refsim
from seedcc.backends.isa import SPACE_ACT
from seedcc.backends.profile import layer_segments, pe_occupancy, pe_utilisation
from seedcc.compiler.pipeline import calibration_samples
from seedcc.flow import compile_model
from seedcc.ir import Op
from seedcc.models import resnet18
from seedcc.rtl_models.hwconfig import DEFAULT

UTILISATION_GOAL = 0.85
COMPILE_GOAL = 10.0  # seconds, default calibration, on a 2-core machine
TRAFFIC_GOAL = 1.3


def compulsory_bytes(compiled) -> int:
    """Masks and parameters once, input and output, and every off-chip activation written
    once and read once."""
    prog, g = compiled.program, compiled.graph
    static = {(i.dram_addr, i.length) for i in prog.instructions
              if i.op == "DMA_LOAD" and i.space != SPACE_ACT}
    io = sum(math.prod(t.shape) for t in (*prog.manifest.inputs, *prog.manifest.outputs))
    offchip = [s.inputs[0] for s in g.ops(Op.SPILL)]
    offchip += [n.output for n in g.ops(Op.CONV) if "bands_out" in n.attrs]
    moved = sum(2 * math.prod(g.values[v].shape) for v in offchip)
    return sum(length for _, length in static) + io + moved


def utilisation(segments, pes: int) -> tuple[float, float, float]:
    """Over `segments`: PE occupancy of their MAC cycles and of all their cycles, and PE
    utilisation (mask bits set) of their MAC cycles (backends/profile.py)."""
    total = {k: sum(s.counters[k] for s in segments) for k in ("pe_slots", "pe_ops", "mac_cycles")}
    cycles = sum(s.cycles for s in segments)
    return (pe_occupancy(total, pes), total["pe_slots"] / max(cycles * pes, 1),
            pe_utilisation(total, pes))


def bench(size: int, calib_samples: int) -> None:
    stem, classes = ("imagenet", 1000) if size >= 128 else ("cifar", 10)
    model = resnet18(size=size, width=64, classes=classes, stem=stem)
    rng = np.random.default_rng(0)
    calib = {"x": rng.standard_normal((calib_samples, 3, size, size)).astype(np.float32)}
    t0 = time.perf_counter()
    c = compile_model(model, calib=calib, config=DEFAULT)
    t_compile = time.perf_counter() - t0
    prog, g, cfg = c.program, c.graph, DEFAULT
    t0 = time.perf_counter()
    compile_model(model, config=DEFAULT)
    t_default = time.perf_counter() - t0
    default_samples = calibration_samples(c.frontend_graph)

    x = rng.standard_normal((1, 3, size, size)).astype(np.float32)
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    out = refsim.run(prog, {"x": x}, mode="float").outputs["logits"]
    run = refsim.run(prog, {"x": x})

    segments = layer_segments(prog)
    conv3 = {n.output for n in g.ops(Op.CONV) if n.attrs["weight"].shape[2:] == (3, 3)}
    seg3 = [s for s in segments if conv3 & set(s.values)]
    u3_mac, u3_all, ops3 = utilisation(seg3, cfg.pes)
    u_mac, u_all, ops = utilisation(segments, cfg.pes)
    moved = run.counters["dram_read_bytes"] + run.counters["dram_write_bytes"]
    need = compulsory_bytes(c)
    weights = sum(la.weights for la in prog.manifest.layers)
    print(f"ResNet-18 {size}x{size} ({stem} stem, {classes} classes, {weights / 1e6:.1f}M weights), "
          f"DEFAULT ({cfg.pes} PEs at {cfg.clock_mhz:g} MHz)")
    print(f"  compile: {t_compile:.1f} s with {calib_samples} calibration samples; "
          f"{len(prog.instructions)} instructions of {cfg.instr_words}")
    print(f"  compile with the default calibration ({default_samples} generated samples): "
          f"{t_default:.1f} s ({t_default / COMPILE_GOAL:.2f} of the {COMPILE_GOAL:g} s goal)")
    print(f"  float mode vs onnxruntime: max error {np.abs(out - ref).max() / np.abs(ref).max():.1e} "
          f"of the largest logit")
    print(f"  3x3 convolutions ({len(seg3)} layers): PE occupancy {u3_mac:.1%} of MAC cycles, "
          f"{u3_all:.1%} of their layers' cycles (goal {UTILISATION_GOAL:.0%}: "
          f"ratio {u3_mac / UTILISATION_GOAL:.2f}); PE utilisation (mask bits set) {ops3:.1%}")
    print(f"  whole network: PE occupancy {u_mac:.1%} of MAC cycles, {u_all:.1%} of all cycles; "
          f"PE utilisation (mask bits set) {ops:.1%}")
    print(f"  off-chip bytes: {moved} moved / {need} compulsory = {moved / need:.2f} "
          f"(goal <= {TRAFFIC_GOAL})")
    print(f"  per sample: {run.cycles} cycles ({run.cycles / (cfg.clock_mhz * 1e6) * 1e3:.2f} ms), "
          f"{run.energy_pj / 1e6:.1f} uJ")
    sim = refsim.simulator(prog)
    by_op = Counter()
    for (_, _, ins), step in zip(sim.trace, sim.steps):
        by_op[ins.op] += step.cycles
    print("  cycles by instruction: " + ", ".join(f"{op} {n / run.cycles:.1%}" for op, n in by_op.most_common()))
    plain = refsim.simulator(codegen.generate(g, cfg, prefetching=False)).cycles
    print(f"  without prefetch: {plain} cycles; prefetch saves {1 - run.cycles / plain:.1%}")
    for s in seg3:
        u = utilisation([s], cfg.pes)
        print(f"    {s.name:<24} {s.counters['mac_cycles']:>8} MAC cycles  PE occupancy {u[0]:6.1%}  "
              f"of all cycles {u[1]:6.1%}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="*", default=[224, 32])
    p.add_argument("--calib", type=int, default=16, help="generated calibration samples")
    a = p.parse_args()
    for size in a.sizes:
        bench(size, a.calib)


if __name__ == "__main__":
    main()
