"""Code generation: a quantised, packed IR graph -> a `Program` (instructions + memory image).

Inputs are DMA'd into the act SRAM, every node is lowered by its op's `lower` (the op
table, `seedcc.ir.ops`; conv layers following the `schedule_regeneration` pass's tiling and lane states),
and outputs are DMA'd back. Activations sit where the memory planner put them
(`seedcc.compiler.memplan.plan_activations`); mask rows and parameter tables get SRAM
regions from an `Arena` per memory for as long as their instructions read them. The
memory image holds parameters, masks, and the input/output regions (docs/compiler.md).
"""

from __future__ import annotations

import math

import numpy as np

from seedcc.backends import isa
from seedcc.backends.manifest import Checkpoint, FloatParam, LayerInfo, Manifest, SramUse, TensorIO
from seedcc.backends.program import Program
from seedcc.compiler.memplan import Arena, activation_peak, plan_activations
from seedcc.errors import CapacityError
from seedcc.ir import Graph, Node, Value
from seedcc.rtl_models.generators import FREE, freeze_pattern
from seedcc.rtl_models.hwconfig import HwConfig

F32_MAX = float(np.finfo(np.float32).max)


class Emitter:
    """What an op's `lower` sees: values and their act SRAM addresses, `emit` for
    instructions, `load` for DMA into an SRAM region it allocates, and the bookkeeping
    the manifest needs (float-mode parameters, per-layer sizes, checkpoints)."""

    def __init__(self, g: Graph, cfg: HwConfig):
        self.g, self.cfg = g, cfg
        self.instrs: list[isa.Instruction] = []
        self.image = bytearray()
        self.floats = bytearray()
        self.float_params: list[FloatParam] = []
        self.checkpoints: list[Checkpoint] = []
        self.layers: list[LayerInfo] = []
        self.act = plan_activations(g, cfg.act_sram_bytes)
        self.sram = {"mask": Arena("mask", cfg.mask_sram_bytes), "param": Arena("param", cfg.param_sram_bytes)}
        self.shared: dict[bytes, int] = {}
        self.acc_peak = 0

    # -- what lowering reads ---------------------------------------------------------------
    def value(self, name: str) -> Value:
        return self.g.values[name]

    def addr(self, name: str) -> int:
        """Act SRAM address of an activation."""
        return self.act[name]

    # -- what lowering writes --------------------------------------------------------------
    def emit(self, op: str, **fields: int) -> None:
        try:
            self.instrs.append(isa.make(op, **fields))
        except ValueError as e:
            raise CapacityError(f"a field does not fit the ISA: {e}") from None

    def dram(self, data: bytes, shared: bool = False) -> int:
        """Append `data` to the memory image; `shared` blobs are stored once (fold groups'
        masks) and every later request for the same bytes gets the first address."""
        if shared and data in self.shared:
            return self.shared[data]
        pad = -len(self.image) % self.cfg.bus_bytes
        self.image.extend(b"\0" * pad)
        at = len(self.image)
        self.image.extend(data)
        if shared:
            self.shared[data] = at
        return at

    def load(self, space: str, data: bytes, what: str, shared: bool = False) -> int:
        """Place `data` in the memory image and DMA it into a fresh region of the `space`
        SRAM; returns the region's address (free it with `release` after its last use)."""
        at = self.sram[space].alloc(len(data), what)
        self.emit("DMA_LOAD", space=isa.SPACES[space], sram_addr=at, dram_addr=self.dram(data, shared),
                  length=len(data))
        return at

    def release(self, space: str, addr: int) -> None:
        self.sram[space].release(addr)

    def float_affine(self, a: np.ndarray, b: np.ndarray) -> None:
        """The float mode's per-channel a·acc + b for the REQ just emitted."""
        a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if not (np.abs(a64) <= F32_MAX).all() or not (np.abs(b64) <= F32_MAX).all():
            raise CapacityError(f"instruction {len(self.instrs) - 1} ({self.instrs[-1].op}): its "
                                f"float-mode coefficients do not fit float32 (|a| up to "
                                f"{float(np.abs(a64).max()):.3g}); the layer's scale or BatchNorm "
                                f"parameters are out of range")
        self.float_params.append(FloatParam(instr=len(self.instrs) - 1, offset=len(self.floats),
                                            channels=len(a)))
        self.floats.extend(np.asarray(a).astype("<f4").tobytes())
        self.floats.extend(np.asarray(b).astype("<f4").tobytes())

    def layer_done(self, n: Node, **sizes: int) -> None:
        w = n.attrs["weight"]
        self.layers.append(LayerInfo(
            name=n.name, record=w.record, kind=w.kind, generator=w.generator, seed=w.seed,
            shape=tuple(w.shape), weights=int(np.prod(w.shape)), nonzero=int(np.count_nonzero(w.mask)),
            code_bits=n.attrs["code_bits"], mask_bytes=sizes["mask_bytes"],
            param_bytes=sizes["param_bytes"], blocks=sizes["blocks"], input_splits=sizes["input_splits"],
            mask_stored=sum(len(b) for b in n.attrs["mask_blocks"]), seed_bytes=sizes["seed_bytes"],
            frozen=0 if w.freeze is None else int(np.count_nonzero(
                freeze_pattern(w.freeze.seed, w.freeze.prune, w.freeze.lock, w.shape) != FREE)),
            fold=tuple(n.attrs["fold"]) if "fold" in n.attrs else None, fingerprint=w.fingerprint(),
            lane_steps=n.attrs["regen"].lane_steps, regen=n.attrs["regen"].reason))
        self.acc_peak = max(self.acc_peak, max(occ * pc for (_, occ), chunks in
                                               zip(n.attrs["tiling"].blocks, n.attrs["tiling"].chunks)
                                               for _, pc in chunks))

    def checkpoint(self, value: str) -> None:
        v = self.g.values[value]
        self.checkpoints.append(Checkpoint(name=value, onnx=v.onnx_name, after=len(self.instrs) - 1,
                                           addr=self.act[value], shape=tuple(v.shape), scale=v.scale))

    def io(self, names: tuple[str, ...], store: bool) -> list[TensorIO]:
        out = []
        for name in names:
            v = self.g.values[name]
            size = math.prod(v.shape)
            at = self.dram(b"\0" * size)
            self.emit("DMA_STORE" if store else "DMA_LOAD", space=isa.SPACE_ACT, sram_addr=self.act[name],
                      dram_addr=at, length=size)
            out.append(TensorIO(name=v.onnx_name or name, shape=tuple(v.shape), scale=v.scale,
                                dram_addr=at))
        return out


def generate(g: Graph, cfg: HwConfig) -> Program:
    """Emit the program for a graph that went through fuse_epilogues, quantize and pack_masks."""
    e = Emitter(g, cfg)
    inputs = e.io(g.inputs, store=False)
    for n in g.nodes:
        n.op.spec.lower(n, e)
        if not n.op.spec.alias:
            e.checkpoint(n.output)
    outputs = e.io(g.outputs, store=True)
    e.emit("HALT")
    if len(e.instrs) > cfg.instr_words:
        raise CapacityError(f"the program has {len(e.instrs)} instructions; the instruction memory "
                            f"holds {cfg.instr_words}")
    sram = (SramUse("act", activation_peak(g), cfg.act_sram_bytes),
            SramUse("mask", e.sram["mask"].peak, cfg.mask_sram_bytes),
            SramUse("param", e.sram["param"].peak, cfg.param_sram_bytes),
            SramUse("acc", e.acc_peak, cfg.acc_sram_words))
    manifest = Manifest(model=g.name, inputs=tuple(inputs), outputs=tuple(outputs),
                        checkpoints=tuple(e.checkpoints), float_params=tuple(e.float_params),
                        layers=tuple(e.layers), sram=sram, notes=tuple(g.notes))
    return Program(cfg, tuple(e.instrs), bytes(e.image), bytes(e.floats), manifest)
