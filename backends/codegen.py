"""Code generation: a quantised, packed IR graph -> a `Program` (instructions + memory image).

Inputs are DMA'd into the act SRAM, every node is lowered by its op's `lower` (the op
table, `seedcc.ir.ops`; conv layers following the `schedule_regeneration` pass's tiling and lane states),
and outputs are DMA'd back. Activations sit where the memory planner put them
(`seedcc.compiler.memplan.plan_activations`); mask rows and parameter tables get SRAM
regions from an `Arena` per memory for as long as their instructions read them. The
memory image holds parameters, masks, and the input/output regions (docs/compiler.md).

A fold region (`form_fold_regions`) becomes one LOOP: the fold convs' mask rows are loaded
once before it and stay resident in the mask SRAM, every iteration is lowered, and if the
iterations' instructions are equal except for the param DMA loads' DRAM addresses, which
must step by one constant stride (each iteration's parameter tables follow the previous
one's in the image), only iteration 0's instructions are kept as the body. Otherwise the
region is emitted unrolled and a note says why (`Emitter.loop_region`).
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import replace
from typing import Any

import numpy as np

from seedcc.backends import isa, prefetch
from seedcc.backends.manifest import (
    Checkpoint,
    FloatParam,
    GraphInfo,
    LayerInfo,
    Manifest,
    SramUse,
    TensorIO,
)
from seedcc.backends.program import Program
from seedcc.compiler.memplan import Arena, activation_peak, plan_activations
from seedcc.errors import CapacityError, ProgramTooLongError
from seedcc.ir import Graph, Node, Op, Value, band_buffer
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
        self.graphs: list[GraphInfo] = []
        self.act = plan_activations(g, cfg.act_sram_bytes)
        self.sram = {"mask": Arena("mask", cfg.mask_sram_bytes), "param": Arena("param", cfg.param_sram_bytes)}
        self.blobs: dict[str, int] = {}  # memory image address of each layer's mask stream
        self.acc_peak = 0
        # (weight fingerprint, block) or ("adjacency", chunk hash) -> mask SRAM address
        self.resident: dict[tuple[str, Any], int] = {}
        self.notes: list[str] = []
        self.offchip: dict[str, int] = {}  # spilled value -> its off-chip (DRAM) address
        self.regions: list[prefetch.Region] = []  # mask and param regions, for `prefetch.hoist`
        self.barriers: list[int] = []  # loads never move above these (the ends of LOOP bodies)
        # int32 graph output -> x = int32 · scale of its channel (set by the producer's lowering)
        self.channel_scales: dict[str, tuple[float, ...]] = {}

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

    def dram(self, data: bytes) -> int:
        """Append `data` to the memory image (bus-aligned); returns its address."""
        pad = -len(self.image) % self.cfg.bus_bytes
        self.image.extend(b"\0" * pad)
        at = len(self.image)
        self.image.extend(data)
        return at

    def load(self, space: str, data: bytes, what: str) -> int:
        """Place `data` in the memory image and DMA it into a fresh region of the `space`
        SRAM; returns the region's address (free it with `release` after its last use)."""
        at = self._alloc(space, len(data), what)
        self.emit("DMA_LOAD", space=isa.SPACES[space], sram_addr=at, dram_addr=self.dram(data),
                  length=len(data))
        return at

    def _alloc(self, space: str, size: int, what: str) -> int:
        """A region of the `space` SRAM for the DMA_LOAD emitted next."""
        at = self.sram[space].alloc(size, what)
        self.regions.append(prefetch.Region(space, at, size, len(self.instrs)))
        return at

    def load_constant(self, value: str, codes: np.ndarray, floats: np.ndarray) -> None:
        """DMA a constant activation's int8 `codes` (stored once in the memory image) to its
        act SRAM place; in float mode the same DMA_LOAD loads `floats` (the float section)."""
        self.emit("DMA_LOAD", space=isa.SPACE_ACT, sram_addr=self.act[value],
                  dram_addr=self.dram(np.asarray(codes, np.int8).tobytes()), length=codes.size)
        self.float_values(floats)

    def offchip_region(self, value: str) -> int:
        """The per-sample off-chip region of a value that lives off chip (a spilled copy, or
        an activation written in row bands), placed in the memory image on first use."""
        if value not in self.offchip:
            self.offchip[value] = self.dram(b"\0" * self.g.values[value].nbytes)
        return self.offchip[value]

    def band(self, n: Node) -> int:
        """Act SRAM address of the row-band buffer of a node that works in bands."""
        return self.act[band_buffer(n)]

    def offchip_store(self, value: str, sram_addr: int, offset: int, length: int) -> None:
        """DMA `length` act SRAM bytes to byte `offset` of the off-chip value `value`."""
        self.emit("DMA_STORE", space=isa.SPACE_ACT, sram_addr=sram_addr,
                  dram_addr=self.offchip_region(value) + offset, length=length)

    def offchip_load(self, value: str, sram_addr: int, offset: int, length: int) -> None:
        """DMA `length` bytes from byte `offset` of the off-chip value `value` to the act SRAM."""
        self.emit("DMA_LOAD", space=isa.SPACE_ACT, sram_addr=sram_addr,
                  dram_addr=self.offchip_region(value) + offset, length=length)

    def spill(self, value: str, offchip: str) -> None:
        """Store the act SRAM value `value` to a fresh per-sample off-chip region, `offchip`."""
        self.offchip_store(offchip, self.act[value], 0, self.g.values[value].nbytes)

    def reload(self, offchip: str, value: str) -> None:
        """Load the off-chip value `offchip` back into the act SRAM place of `value`."""
        self.offchip_load(offchip, self.act[value], 0, self.g.values[value].nbytes)

    def release(self, space: str, addr: int) -> None:
        if space == "mask" and addr in self.resident.values():
            return  # resident rows of a loop region: freed after the loop
        self._release(space, addr)

    def _release(self, space: str, addr: int) -> None:
        self.sram[space].release(addr)
        region = next(r for r in reversed(self.regions)
                      if r.space == space and r.addr == addr and r.release is None)
        region.release = len(self.instrs)

    def load_span(self, space: str, blob: bytes, lo: int, hi: int, what: str, key: str) -> int:
        """DMA bytes [lo, hi) of `blob` into a fresh region of the `space` SRAM. The blob is
        placed in the memory image once per `key` (a layer's name, or its fold group's
        fingerprint so that the group's layers share it), however many spans are loaded."""
        if key not in self.blobs:
            self.blobs[key] = self.dram(blob)
        at = self._alloc(space, hi - lo, what)
        self.emit("DMA_LOAD", space=isa.SPACES[space], sram_addr=at, dram_addr=self.blobs[key] + lo, length=hi - lo)
        return at

    def mask_rows(self, n: Node, blk: int, lo_bit: int, hi_bit: int, whole: bool) -> tuple[int, int]:
        """Mask SRAM address of the byte holding bit `lo_bit` of the layer's mask stream, with
        the bits up to `hi_bit` loaded after it, and the bytes loaded for them: the resident
        copy of the block inside a loop region (nothing loaded), else a fresh DMA load."""
        key = (n.attrs["weight"].fingerprint(), blk)
        if whole and key in self.resident:
            return self.resident[key], 0
        lo, hi = lo_bit // 8, -(-hi_bit // 8)
        return self.load_span("mask", n.attrs["mask_stream"], lo, hi, f"layer {n.name} block {blk}",
                              mask_key(n)), hi - lo

    def adjacency_rows(self, chunk: bytes) -> tuple[int, int]:
        """Mask SRAM address of a packed adjacency chunk and the bytes loaded for it: the
        resident copy inside a loop region (nothing loaded), else a fresh DMA load. Equal
        chunks are stored once in the memory image."""
        key = ("adjacency", hashlib.sha256(chunk).hexdigest())
        if key in self.resident:
            return self.resident[key], 0
        return self.load_span("mask", chunk, 0, len(chunk), "adjacency chunk", f"adjacency {key[1]}"), len(chunk)

    def float_values(self, values: np.ndarray) -> None:
        """The float mode's values of the instruction just emitted (an AGG's entries, a
        constant's DMA_LOAD): a FloatParam whose `channels` is their count."""
        self.float_params.append(FloatParam(instr=len(self.instrs) - 1, offset=len(self.floats),
                                            channels=len(values)))
        self.floats.extend(np.asarray(values).astype("<f4").tobytes())

    def graph_done(self, n: Node, adj: Any, **sizes: int) -> None:
        self.graphs.append(GraphInfo(
            name=n.name, source=adj.source, rows=adj.rows, cols=adj.cols, nnz=adj.nnz,
            stored_bytes=sizes["stored_bytes"], dense_bytes=4 * adj.rows * adj.cols,
            loaded_bytes=sizes["loaded_bytes"], chunks=sizes["chunks"], param_bytes=sizes["param_bytes"],
            scale=float(adj.codes[1]), fingerprint=adj.fingerprint))

    # -- loop regions ------------------------------------------------------------------------
    def _state(self) -> tuple:
        return (len(self.instrs), len(self.image), len(self.floats), len(self.float_params),
                len(self.checkpoints), len(self.layers), len(self.graphs), dict(self.blobs), self.acc_peak,
                copy.deepcopy(self.sram), copy.deepcopy(self.regions))

    def _restore(self, state: tuple) -> None:
        ni, nim, nf, nfp, nck, nl, ng, self.blobs, self.acc_peak, self.sram, self.regions = state
        del self.instrs[ni:], self.image[nim:], self.floats[nf:], self.float_params[nfp:]
        del self.checkpoints[nck:], self.layers[nl:], self.graphs[ng:]
        self.resident = {}

    def loop_region(self, nodes: list[Node]) -> None:
        """Emit a fold region's nodes (in order, each with ``loop = (region, it, pos)``) as
        one LOOP, or unrolled with a note when that is not possible."""
        state = self._state()
        try:
            self._try_loop(nodes)
        except _Unrolled as why:
            self._restore(state)
            region = nodes[0].attrs["loop"][0]
            self.notes.append(f"fold region {region} stays unrolled: {why}")
            for n in nodes:
                lower_node(self, n)

    def _resident(self, key: tuple[str, Any], blob: bytes, lo: int, hi: int, what: str, blob_key: str,
                  unfit: str) -> None:
        """Load bytes [lo, hi) of `blob` into the mask SRAM for the whole loop (once per
        key; `load_span`); `unfit` says why the loop stays unrolled when it does not fit."""
        if key in self.resident:
            return
        try:
            self.resident[key] = self.load_span("mask", blob, lo, hi, what, blob_key)
        except CapacityError as err:
            raise _Unrolled(f"{unfit}: {err}") from None

    def _try_loop(self, nodes: list[Node]) -> None:
        for arena in self.sram.values():  # iterations must place their buffers alike
            arena.ring = False
        try:
            self._emit_loop(nodes)
        finally:
            for arena in self.sram.values():
                arena.ring = True

    def _emit_loop(self, nodes: list[Node]) -> None:
        count = 1 + max(n.attrs["loop"][1] for n in nodes)
        first = [n for n in nodes if n.attrs["loop"][1] == 0]
        for n in first:  # mask rows of the fold convs and adjacency chunks stay resident
            if n.op is Op.AGGREGATE:
                for _, _, chunk in n.attrs["adj"].chunks(self.g.values[n.output].shape[1], self.cfg):
                    key = ("adjacency", hashlib.sha256(chunk).hexdigest())
                    self._resident(key, chunk, 0, len(chunk), f"resident adjacency of {n.name}",
                                   f"adjacency {key[1]}", "the resident adjacency does not fit")
            elif n.op is Op.CONV and "fold" in n.attrs:
                if len(n.attrs["tiling"].splits) > 1:
                    raise _Unrolled(f"{n.name} needs input-channel splits")
                for blk, offsets in enumerate(n.attrs["mask_offsets"]):
                    self._resident((n.attrs["weight"].fingerprint(), blk), n.attrs["mask_stream"],
                                   offsets[0] // 8, -(-offsets[-1] // 8), f"resident rows of {n.name} block {blk}",
                                   mask_key(n), "the resident mask rows do not fit")
        loop_at = len(self.instrs)
        self.instrs.append(isa.make("HALT"))  # the LOOP, once the body is known
        fp0, ck0 = len(self.float_params), len(self.checkpoints)
        starts = []
        for it in range(count):
            starts.append(len(self.instrs))
            for n in nodes:
                if n.attrs["loop"][1] == it:
                    lower_node(self, n)
        starts.append(len(self.instrs))
        body = self.instrs[starts[0]:starts[1]]
        stride: int | None = None
        for it in range(1, count):
            other = self.instrs[starts[it]:starts[it + 1]]
            if len(other) != len(body):
                raise _Unrolled(f"iteration {it} has {len(other)} instructions, iteration 0 {len(body)}")
            for k, (a, b) in enumerate(zip(body, other)):
                if a == b:
                    continue
                same_but_dram = (a.op == b.op == "DMA_LOAD" and a.space == b.space == isa.SPACE_PARAM
                                 and {**a.fields, "dram_addr": 0} == {**b.fields, "dram_addr": 0})
                step = b.dram_addr - a.dram_addr if same_but_dram else None
                if step is None or step % it or (stride is not None and step != stride * it):
                    raise _Unrolled(f"instruction {k} of iteration {it} ({b}) differs from "
                                    f"iteration 0's ({a}) by more than a param table stride")
                stride = step // it
        if stride is not None and not 0 <= stride < 1 << 32:
            raise _Unrolled(f"the param table stride {stride} does not fit LOOP.dram_stride")
        try:
            self.instrs[loop_at] = isa.make("LOOP", iterations=count, body_len=len(body), dram_stride=stride or 0)
        except ValueError as err:
            raise _Unrolled(f"the loop does not fit the LOOP instruction: {err}") from None
        del self.instrs[starts[1]:]

        def where(at: int) -> tuple[int, int]:
            it = next(i for i in range(count) if starts[i] <= at < starts[i + 1])
            return at - it * len(body), it

        self.float_params[fp0:] = [replace(fp, instr=where(fp.instr)[0], iteration=where(fp.instr)[1])
                                   for fp in self.float_params[fp0:]]
        self.checkpoints[ck0:] = [replace(ck, after=where(ck.after)[0], iteration=where(ck.after)[1])
                                  for ck in self.checkpoints[ck0:]]
        end = len(self.instrs)
        for r in self.regions:  # the body's loads stay; releases in later iterations end with it
            if r.load is not None and r.load > loop_at:
                r.load = None
            if r.release is not None and r.release > end:
                r.release = end
        self.barriers.append(end)
        for at in self.resident.values():
            self._release("mask", at)
        self.resident = {}

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
            mask_stored=len(n.attrs["mask_stream"]),
            mask_bits=n.attrs["code_bits"] * (int(np.prod(w.shape)) if n.attrs["freeze"] is None
                                              else n.attrs["freeze"].stored),
            seed_bytes=sizes["seed_bytes"],
            frozen=0 if n.attrs["freeze"] is None else n.attrs["freeze"].frozen,
            fold=tuple(n.attrs["fold"]) if "fold" in n.attrs else None, fingerprint=w.fingerprint(),
            lane_steps=n.attrs["regen"].lane_steps, regen=n.attrs["regen"].reason))

    def checkpoint(self, value: str) -> None:
        v = self.g.values[value]
        self.checkpoints.append(Checkpoint(name=value, onnx=v.onnx_name, after=len(self.instrs) - 1,
                                           addr=self.act[value], shape=tuple(v.shape), scale=v.scale,
                                           unsigned=v.dtype == "uint8"))

    def io(self, names: tuple[str, ...], store: bool) -> list[TensorIO]:
        out = []
        for name in names:
            v = self.g.values[name]
            at = self.dram(b"\0" * v.nbytes)
            self.emit("DMA_STORE" if store else "DMA_LOAD", space=isa.SPACE_ACT, sram_addr=self.act[name],
                      dram_addr=at, length=v.nbytes)
            out.append(TensorIO(name=v.onnx_name or name, shape=tuple(v.shape), scale=v.scale,
                                dram_addr=at, channel_scales=self.channel_scales.get(name, ())))
        return out


def mask_key(n: Node) -> str:
    """Whose mask stream a layer loads: a fold group's layers share one copy in the image."""
    return f"fold {n.attrs['weight'].fingerprint()}" if "fold" in n.attrs else f"layer {n.name}"


class _Unrolled(Exception):
    """Why a fold region cannot be one LOOP (it is emitted unrolled instead)."""


def lower_node(e: Emitter, n: Node) -> None:
    n.op.spec.lower(n, e)
    # a value with a fixed output encoding (SOFTMAX's probabilities) has no calibrated scale
    # to compare at, and a value no ONNX tensor holds (attention heads' scores) nothing to
    # compare it with
    v = e.g.values[n.output]
    # (nor one written to off-chip memory in row bands, which never lies in the act SRAM whole)
    # (nor an int32 graph output, compared as the output)
    if (not n.op.spec.alias and n.op.spec.output_encoding is None and v.onnx_name is not None
            and n.output in e.act and v.dtype != "int32"):
        e.checkpoint(n.output)


def generate(g: Graph, cfg: HwConfig, prefetching: bool = True) -> Program:
    """Emit the program for a graph that went through fuse_epilogues, quantize and pack_masks;
    with `prefetching`, mask and param loads move up into the background (`prefetch.hoist`)."""
    e = Emitter(g, cfg)
    inputs = e.io(g.inputs, store=False)
    nodes = list(g.nodes)
    i = 0
    while i < len(nodes):
        loop = nodes[i].attrs.get("loop")
        if loop is None:
            lower_node(e, nodes[i])
            i += 1
            continue
        j = i
        while j < len(nodes) and nodes[j].attrs.get("loop", (None,))[0] == loop[0]:
            j += 1
        e.loop_region(nodes[i:j])
        i = j
    outputs = e.io(g.outputs, store=True)
    e.emit("HALT")
    if prefetching:
        e.instrs, e.checkpoints, e.float_params = prefetch.hoist(e.instrs, e.regions, e.barriers,
                                                                 e.checkpoints, e.float_params, cfg)
    if len(e.instrs) > cfg.instr_words:
        raise ProgramTooLongError(len(e.instrs), cfg.instr_words)
    sram = (SramUse("act", activation_peak(g, e.act), cfg.act_sram_bytes),
            SramUse("mask", e.sram["mask"].peak, cfg.mask_sram_bytes),
            SramUse("param", e.sram["param"].peak, cfg.param_sram_bytes),
            SramUse("acc", e.acc_peak, cfg.acc_sram_words))
    manifest = Manifest(model=g.name, inputs=tuple(inputs), outputs=tuple(outputs),
                        checkpoints=tuple(e.checkpoints), float_params=tuple(e.float_params),
                        layers=tuple(e.layers), graphs=tuple(e.graphs), sram=sram, notes=(*g.notes, *e.notes))
    return Program(cfg, tuple(e.instrs), bytes(e.image), bytes(e.floats), manifest)
