"""`seedcc report`: model size against fp32, shared (foldable) weights, traffic, cycles, energy."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from seedcc.backends import timing
from seedcc.backends.isa import SPACE_ACT, loop_trace
from seedcc.backends.manifest import LayerInfo, Manifest
from seedcc.backends.profile import layer_segments, pe_occupancy, pe_utilisation
from seedcc.backends.program import Program
from seedcc.rtl_models.hwfacts import GROUP, REQ_RECORD_BYTES
from seedcc.sizes import size_breakdown

#: the attention instructions (docs/isa.md "Attention instructions")
ATTENTION = ("MATMUL", "SOFTMAX", "LAYERNORM", "GELU")


def fold_lines(layers: tuple[LayerInfo, ...]) -> list[str]:
    """One line per fold group (layers sharing random weights and mask, stored once)."""
    shared = defaultdict(list)
    for layer in layers:
        if layer.fold is not None:
            shared[layer.fold[0]].append(layer.name)
    if not shared:
        return ["fold groups: none (no two layers use the same random weights and mask)"]
    return [f"fold group {k}: {len(names)} layers share random weights and mask, stored once: "
            f"{', '.join(names)}" for k, names in sorted(shared.items())]


def graph_lines(manifest: Manifest) -> list[str]:
    """How each distinct adjacency Â of a graph network is stored (against nodes²) and how
    many bytes of it are DMA'd per inference."""
    out = []
    for fp in dict.fromkeys(g.fingerprint for g in manifest.graphs):
        uses = [g for g in manifest.graphs if g.fingerprint == fp]
        g = uses[0]
        out.append(f"adjacency {g.source}: {g.rows}x{g.cols}, {g.nnz} entries, stored once as CSR in "
                   f"{g.stored_bytes} B ({g.chunks} chunk(s) of the mask SRAM) vs {g.dense_bytes} B dense "
                   f"float32 ({g.dense_bytes / max(g.stored_bytes, 1):.1f}x smaller); read by {len(uses)} "
                   f"aggregation(s); DMA'd {sum(u.loaded_bytes for u in uses)} B per inference outside fold "
                   f"loops (a fold loop loads it once, before the loop, and keeps it resident)")
    return out


def attention_lines(prog: Program) -> list[str]:
    """For a program with attention instructions: their cycles per sample, the key/value
    operands they hold in the act SRAM, and the size against an fp32 transformer of the same
    shape (docs/sizes.md "Transformers")."""
    trace = [ins for _, _, ins in loop_trace(prog.instructions)]
    if not any(ins.op in ATTENTION for ins in trace):
        return []
    cfg, man = prog.config, prog.manifest
    steps = timing.timeline(trace, cfg)
    cycles = {op: sum(s.cycles for i, s in zip(trace, steps) if i.op == op) for op in ATTENTION}
    total = sum(s.cycles for s in steps)
    count = {op: sum(i.op == op for i in trace) for op in ATTENTION}
    # a MATMUL's X operand is K (as Kᵀ) for the scores and V for the weighted sum: rows x depth
    mm = [i for i in trace if i.op == "MATMUL"]
    kv = sum(i.rows * i.depth for i in mm)
    scores = max((i.rows * i.cols for i in mm), default=0)
    inputs = {d.dram_addr for d in man.inputs}
    consts = [i for i in prog.instructions if i.op == "DMA_LOAD" and i.space == SPACE_ACT
              and i.dram_addr not in inputs]
    ln = [i for i in prog.instructions if i.op == "LAYERNORM"]
    size = size_breakdown(man)
    ln_bytes = REQ_RECORD_BYTES * sum(i.features for i in ln)
    const_bytes = sum(i.length for i in consts)
    stored = size.stored_bytes + ln_bytes + const_bytes
    fp32 = 4 * (sum(la.weights + la.shape[0] for la in man.layers) + 2 * sum(i.features for i in ln)
                + const_bytes)
    att = sum(cycles.values())
    per_op = ", ".join(f"{count[op]} {op} {cycles[op]}" for op in ATTENTION if count[op])
    return [
        f"attention: {att} of {total} cycles per sample ({att / max(total, 1):.1%}): {per_op}",
        (f"key/value operands: {kv} B int8 in the act SRAM over {len(mm)} MATMUL(s) (K for the "
         f"scores, V for the weighted sum); the largest score matrix of one head {scores} B"),
        (f"transformer size: stored {stored} B (masks, records and seeds {size.stored_bytes}, "
         f"LayerNorm records {ln_bytes}, constant tensors {const_bytes}) vs {fp32} B for fp32 "
         f"weights, biases, LayerNorm γ and β and constants of the same shape: "
         f"{fp32 / max(stored, 1):.1f}x smaller"),
    ]


def segment_lines(prog: Program) -> list[str]:
    """Per layer (backends/profile.py segments): cycles, MAC cycles, cycles spent waiting for
    background units (docs/isa.md "Background units"), PE occupancy and utilisation of the
    MAC cycles, off-chip bytes."""
    cfg = prog.config
    lines = [(f"{'layer (output tensor)':<30} {'cycles':>9} {'MAC cycles':>10} {'waits':>8} "
              f"{'PE occ.':>8} {'PE util.':>8} {'off-chip B':>10}")]
    for s in layer_segments(prog):
        c = s.counters
        lines.append(f"{s.name[:30]:<30} {s.cycles:>9} {c['mac_cycles']:>10} {c['wait_cycles']:>8} "
                     f"{pe_occupancy(c, cfg.pes):>8.1%} {pe_utilisation(c, cfg.pes):>8.1%} "
                     f"{c['dram_read_bytes'] + c['dram_write_bytes']:>10}")
    return lines


def format_report(prog: Program, result) -> str:
    """`result` is a refsim RunResult of one sample of `prog`."""
    layers = prog.manifest.layers
    cfg = prog.config
    lines = [f"model {prog.manifest.model}: {len(layers)} weight layers, {len(prog.instructions)} instructions",
             f"{'layer':<22} {'weights':>9} {'kind':<15} {'nonzero':>8} {'mask B':>8} {'param B':>8} {'fp32 B':>9}"]
    total_w = sum(layer.weights for layer in layers)
    for layer in layers:
        lines.append(f"{layer.name[:22]:<22} {layer.weights:>9} {layer.kind:<15} "
                     f"{layer.nonzero / layer.weights:>7.1%} {layer.mask_bytes:>8} "
                     f"{layer.param_bytes:>8} {4 * layer.weights:>9}")
    lines.append(size_breakdown(prog.manifest).format())
    lines.extend(fold_lines(layers))
    lines.extend(graph_lines(prog.manifest))
    lines.extend(attention_lines(prog))
    c = result.counters
    secs = result.cycles / (cfg.clock_mhz * 1e6)
    lines += [
        f"hardware: {cfg.lanes} lanes x {GROUP} channels x {cfg.pixels} pixels = {cfg.pes} PEs at {cfg.clock_mhz:g} MHz",
        (f"cycles per sample: {result.cycles} ({secs * 1e6:.1f} us); MAC cycles {c['mac_cycles']}, "
         f"waiting for background units {c['wait_cycles']}, "
         f"PE occupancy {pe_occupancy(c, cfg.pes):.1%} (add/subtracts performed, mask bits set: "
         f"{pe_utilisation(c, cfg.pes):.1%})"),
        f"traffic per sample: off-chip read {c['dram_read_bytes']} B, write {c['dram_write_bytes']} B; "
        f"on-chip read {c['sram_read_bytes']} B, write {c['sram_write_bytes']} B",
        f"energy per sample: {result.energy_pj / 1e6:.3f} uJ (cost table: docs/refsim.md)",
        "on-chip memory, peak use of capacity: " + ", ".join(
            f"{m.memory} {m.peak}/{m.capacity}{' words' if m.memory == 'acc' else ' B'} "
            f"({m.peak / max(m.capacity, 1):.0%})" for m in prog.manifest.sram),
        f"generator lane steps per sample: {c['gen_steps']} "
        f"({c['gen_steps'] / max(total_w, 1):.3f} per weight)"
        + (f"; freeze register steps {c['freeze_steps']} (one per frozen layer's position and pixel tile)"
           if c["freeze_steps"] else ""),
    ]
    lines.extend(segment_lines(prog))
    lines.extend(f"regeneration {layer.name}: {layer.lane_steps} lane steps, "
                 f"{layer.lane_steps / max(layer.weights, 1):.3f} per weight: {layer.regen}"
                 for layer in layers)
    lines.extend(f"note: {n}" for n in prog.manifest.notes)
    return "\n".join(lines)


def sample_input(prog: Program, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {i.name: rng.standard_normal((1, *i.shape)).astype(np.float32) for i in prog.manifest.inputs}
