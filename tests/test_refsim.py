"""Tests of the reference model (seedcc.backends.refsim).

Every case is a small program built by hand with ``isa.make`` over a memory image laid out
here, written once as data (CASES) and checked against ``slow_run``: a literal,
per-element transcription of docs/isa.md (Python loops, one sample at a time) that uses
only ``numerics`` for the integer rules and the generators' scalar ``step``/``bits``, and
counts cycles itself as its loops go (bus beats, pixel tiles, window positions; never
``backends/timing.py``, which the reference model uses). A hand-built one-layer program
has its cycles and counters written out from docs/isa.md's table.
Integer outputs, checkpoints, cycles and counters must match exactly; float mode is
compared with rtol 1e-5 because numpy's matmul sums in a different order than the loops.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain
from types import MappingProxyType

import numpy as np
import pytest

from seedcc.backends import isa, refsim
from seedcc.backends.manifest import Checkpoint, FloatParam, Manifest, TensorIO
from seedcc.backends.program import Program
from seedcc.errors import BadInputError, ProgramFormatError
from seedcc.rtl_models import numerics
from seedcc.rtl_models.adjacency import pack_chunk
from seedcc.rtl_models.generators import generator_by_id, get_generator, sign_bits_reference
from seedcc.rtl_models.hwconfig import DEFAULT, SMALL, HwConfig

REC = np.dtype([("bias", "<i4"), ("mult", "<i2"), ("shift", "u1"), ("pad", "u1")])


# -- building programs by hand -------------------------------------------------------------
@dataclass
class Builder:
    cfg: HwConfig = SMALL
    image: bytearray = field(default_factory=bytearray)
    instrs: list[isa.Instruction] = field(default_factory=list)
    floats: bytearray = field(default_factory=bytearray)
    inputs: list[TensorIO] = field(default_factory=list)
    outputs: list[TensorIO] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    float_params: list[FloatParam] = field(default_factory=list)

    def data(self, raw: bytes) -> int:
        self.image.extend(b"\0" * (-len(self.image) % 8))
        at = len(self.image)
        self.image.extend(raw)
        return at

    def emit(self, op: str, **f: int) -> int:
        self.instrs.append(isa.make(op, **f))
        return len(self.instrs) - 1

    def load(self, space: int, sram_addr: int, raw: bytes, background: int = 0) -> None:
        self.emit("DMA_LOAD", space=space, sram_addr=sram_addr, dram_addr=self.data(raw),
                  length=len(raw), background=background)

    def input(self, name: str, shape: tuple[int, ...], scale: float, act_addr: int) -> None:
        n = math.prod(shape)
        at = self.data(b"\0" * n)
        self.inputs.append(TensorIO(name, tuple(shape), scale, at))
        self.emit("DMA_LOAD", space=isa.SPACE_ACT, sram_addr=act_addr, dram_addr=at, length=n)

    def output(self, name: str, shape: tuple[int, ...], scale: float, act_addr: int) -> None:
        n = math.prod(shape)
        at = self.data(b"\0" * n)
        self.outputs.append(TensorIO(name, tuple(shape), scale, at))
        self.emit("DMA_STORE", space=isa.SPACE_ACT, sram_addr=act_addr, dram_addr=at, length=n)

    def checkpoint(self, name: str, addr: int, shape: tuple[int, ...], scale: float) -> None:
        self.checkpoints.append(Checkpoint(name, name, len(self.instrs) - 1, addr, tuple(shape), scale))

    def req(self, rng: np.random.Generator, **f: int) -> None:
        """A REQ whose records sit at param_addr (loaded here) plus its float-mode affine."""
        oc = f["oc_count"]
        rec = np.zeros(oc, REC)
        rec["bias"] = rng.integers(-300, 300, oc)
        rec["mult"] = rng.integers(-3000, 9000, oc)
        rec["shift"] = rng.integers(8, 14, oc)
        self.load(isa.SPACE_PARAM, f["param_addr"], rec.tobytes())
        idx = self.emit("REQ", **f)
        self.float_params.append(FloatParam(idx, len(self.floats), oc))
        self.floats.extend(rng.normal(0, 0.1, oc).astype("<f4").tobytes())
        self.floats.extend(rng.normal(0, 0.5, oc).astype("<f4").tobytes())

    def program(self) -> Program:
        manifest = Manifest(inputs=tuple(self.inputs), outputs=tuple(self.outputs),
                            checkpoints=tuple(self.checkpoints), float_params=tuple(self.float_params))
        return Program(self.cfg, tuple(self.instrs), bytes(self.image), bytes(self.floats), manifest)


def pack_rows(codes: np.ndarray, code_bits: int, signs: np.ndarray | None) -> bytes:
    """Mask rows of docs/isa.md, bit by bit: codes/signs (oc, T) -> T rows."""
    oc, t = codes.shape
    ng = -(-oc // 16)
    out = bytearray()
    for step in range(t):
        row = bytearray(2 * ng * code_bits + (2 * ng if signs is not None else 0))
        base = 0
        if signs is not None:
            for c in range(oc):
                row[c // 8] |= int(signs[c, step]) << (c % 8)
            base = 2 * ng
        for c in range(oc):
            for j in range(code_bits):
                bit = c * code_bits + j
                row[base + bit // 8] |= ((int(codes[c, step]) >> j) & 1) << (bit % 8)
        out.extend(row)
    return bytes(out)


def lane_table(states: list[int]) -> bytes:
    return b"".join(s.to_bytes(8, "little") for s in states)


# -- the slow, literal model ---------------------------------------------------------------
def signed8(b: int) -> int:
    return b - 256 if b >= 128 else b


def wrap32(v: int) -> int:
    return (v + 2**31) % 2**32 - 2**31


def slow_acc_word(cfg, row: int, o: int, p: int, pixels: int, rep_log2: int) -> int:
    """Where accumulator (channel o, pixel p) lives, read literally off docs/isa.md
    "Accumulator layout": the PE that computes it (column, pixel lane) in the row of its
    tile; the channels past one copy's columns form further blocks of rows."""
    copies = 2 ** rep_log2
    per_copy = 16 * (cfg.lanes // copies)  # columns of one copy of the lanes in use
    tile_px = cfg.pixels * copies
    tiles = (pixels + tile_px - 1) // tile_px
    block, column = o // per_copy, o % per_copy
    tile, within = p // tile_px, p % tile_px
    copy, lane = within // cfg.pixels, within % cfg.pixels
    pes = 16 * cfg.lanes * cfg.pixels
    return (row + block * tiles + tile) * pes + (copy * per_copy + column) * cfg.pixels + lane


def slow_run(prog: Program, sample: dict[str, np.ndarray], float_mode: bool) -> dict:
    """One sample, one instruction at a time, one element at a time (docs/isa.md).

    Cycles are counted where the work happens: one issue cycle per instruction, then one
    per DMA bus beat after DMA_LATENCY, one per lane loaded, per MAC tile one restart, one
    per (i, k) step and one write-back, one per REQ channel and pixel tile, one per ADD
    group of PIXELS elements, one per pool window position plus one write per output."""
    cfg, man = prog.config, prog.manifest
    dram: list = list(prog.image)
    act: list = [0] * cfg.act_sram_bytes
    acc: list = [0] * cfg.acc_sram_words
    mem = {1: bytearray(cfg.mask_sram_bytes), 2: bytearray(cfg.param_sram_bytes)}
    lanes: list = [None] * cfg.lanes
    fp = {e.instr: e for e in man.float_params}
    pe_ops, ckpts, cycles, mac_cycles = 0, {}, 0, 0
    for d in man.inputs:
        x = np.asarray(sample[d.name], np.float32).reshape(-1)
        vals = x.tolist() if float_mode else [int(v) & 0xFF for v in numerics.quantize_input(x, d.scale)]
        dram[d.dram_addr:d.dram_addr + len(vals)] = vals

    def rd(a: int):  # an activation read from DRAM
        v = dram[a]
        return v if isinstance(v, float) else signed8(v)

    # the last cycle of the work in flight on the DMA engine and on the REQ unit
    last = {"dma": -1, "req": -1}
    unit = {"DMA_LOAD": "dma", "DMA_STORE": "dma", "REQ": "req"}
    for idx, ins in enumerate(prog.instructions):
        f = ins.fields
        if ins.op in unit:  # issue no earlier than the unit's last cycle
            cycles = max(cycles, last[unit[ins.op]])
        elif ins.op in ("SYNC", "HALT"):  # ... or than every unit's
            cycles = max(cycles, *last.values())
        cycles += 1  # issue
        if ins.op == "HALT":
            break
        if ins.op in ("DMA_LOAD", "DMA_STORE"):
            busy = cfg.dma_latency
            for j in range(f["length"]):
                busy += j % cfg.bus_bytes == 0  # a new bus beat
            last["dma"] = cycles - 1 + busy
            cycles += 0 if f["background"] else busy
            for j in range(f["length"]):
                if ins.op == "DMA_LOAD" and f["space"] == 0:
                    act[f["sram_addr"] + j] = rd(f["dram_addr"] + j)
                elif ins.op == "DMA_LOAD":
                    mem[f["space"]][f["sram_addr"] + j] = dram[f["dram_addr"] + j]
                else:
                    v = act[f["sram_addr"] + j] if f["space"] == 0 else mem[f["space"]][f["sram_addr"] + j]
                    dram[f["dram_addr"] + j] = v if float_mode and f["space"] == 0 else int(v) & 0xFF
        elif ins.op == "SETGEN":
            gen = generator_by_id(f["gen_id"])
            for j in range(f["count"]):
                cycles += 1
                a = f["param_addr"] + 8 * j
                s = int.from_bytes(mem[2][a:a + 8], "little") & ((1 << gen.state_bits) - 1)
                lanes[j] = (gen, s)
        elif ins.op == "MAC":
            oc, cb, pc = f["oc_count"], f["code_bits"], f["pix_count"]
            ng, kk = -(-oc // 16), f["kh"] * f["kw"]
            nsteps = f["in_c"] * kk
            sb = 2 * ng if f["stored_signs"] else 0
            rb = sb + 2 * ng * cb
            bit = lambda a, n: (mem[1][a + n // 8] >> (n % 8)) & 1
            sums = {}
            start = cycles
            width = cfg.pixels << f["rep_log2"]  # the lanes' copies each take PIXELS pixels
            for tile0 in range(0, pc, width):
                cycles += 2  # restart, and the write-back at the end of the tile
                state = [lanes[j][1] if lanes[j] else None for j in range(ng)]  # restart
                for t in range(nsteps):
                    cycles += 1
                    i, k = divmod(t, kk)
                    ky, kx = divmod(k, f["kw"])
                    row = f["mask_addr"] + t * rb
                    if not f["stored_signs"]:
                        state = [lanes[j][0].step(s) for j, s in enumerate(state)]
                    for o in range(oc):
                        code = sum(bit(row + sb, o * cb + j) << j for j in range(cb))
                        if f["stored_signs"]:
                            sign = 1 if bit(row, o) else -1
                        else:
                            sign = 1 if (lanes[o // 16][0].bits(state[o // 16]) >> (o % 16)) & 1 else -1
                        for p in range(tile0, min(tile0 + width, pc)):
                            carry, ox = divmod(f["start_ox"] + p, f["out_w"])
                            oy = f["start_oy"] + carry
                            iy = oy * f["stride_h"] - f["pad_t"] + ky
                            ix = ox * f["stride_w"] - f["pad_l"] + kx
                            x = 0
                            if 0 <= iy < f["in_h"] and 0 <= ix < f["in_w"]:
                                x = act[f["in_addr"] + (i * f["in_h"] + iy) * f["in_w"] + ix]
                                pe_ops += code != 0
                            sums[o, p] = sums.get((o, p), 0) + sign * code * x
            for o in range(oc):
                for p in range(pc):
                    a = slow_acc_word(cfg, f["acc_row"], o, p, pc, f["rep_log2"])
                    v = (acc[a] if f["accumulate"] else 0) + sums.get((o, p), 0)
                    acc[a] = v if float_mode else wrap32(v)
            mac_cycles += cycles - start
        elif ins.op == "REQ":
            issued = cycles
            for o in range(f["oc_count"]):
                r = bytes(mem[2][f["param_addr"] + 8 * o:f["param_addr"] + 8 * o + 8])
                rec = np.frombuffer(r, REC)[0]
                if float_mode:
                    ab = np.frombuffer(prog.float_section, "<f4", 2 * f["oc_count"], fp[idx].offset)
                for p in range(f["pix_count"]):
                    cycles += p % cfg.pixels == 0  # one channel's tile of PIXELS a cycle
                    v = acc[slow_acc_word(cfg, f["acc_row"], o, p, f["pix_count"], f["rep_log2"])]
                    if float_mode:
                        y = float(ab[o]) * v + float(ab[f["oc_count"] + o])
                        y = max(y, 0.0) if f["relu"] else y
                    else:
                        y = int(numerics.requantize(np.array(v), rec["bias"], rec["mult"],
                                                    rec["shift"], bool(f["relu"])))
                    act[f["out_addr"] + o * f["out_plane"] + p] = y
            last["req"] = cycles - 1
            if f["background"]:  # the unit works on; the next instruction issues at once
                cycles = issued
        elif ins.op == "ADD":
            for j in range(f["length"]):
                cycles += j % cfg.pixels == 0  # PIXELS elements a cycle
                a, b = act[f["a_addr"] + j], act[f["b_addr"] + j]
                if float_mode:
                    y = float(np.float32(a) + np.float32(b))
                    y = max(y, 0.0) if f["relu"] else y
                else:
                    y = int(numerics.residual_add(np.array(a), np.array(b), f["mult_a"], f["mult_b"],
                                                  f["shift"], bool(f["relu"])))
                act[f["out_addr"] + j] = y
        elif ins.op in ("MAXPOOL", "AVGPOOL"):
            h, w = f["in_h"], f["in_w"]
            for c in range(f["channels"]):
                for oy in range(f["out_h"]):
                    for ox in range(f["out_w"]):
                        if ox % cfg.pixels == 0:  # PIXELS outputs of a row at a time:
                            cycles += 1 + f["kh"] * f["kw"]  # every window position, the write
                        vals = []
                        for ky in range(f["kh"]):
                            for kx in range(f["kw"]):
                                iy = oy * f["stride_h"] - f["pad_t"] + ky
                                ix = ox * f["stride_w"] - f["pad_l"] + kx
                                if 0 <= iy < h and 0 <= ix < w:
                                    vals.append(act[f["in_addr"] + (c * h + iy) * w + ix])
                        if ins.op == "MAXPOOL":
                            y = max(vals)
                        elif float_mode:
                            y = sum(vals) / len(vals)
                        else:
                            y = int(numerics.scale_sum(np.array(sum(vals)), f["mult"], f["shift"]))
                        act[f["out_addr"] + (c * f["out_h"] + oy) * f["out_w"] + ox] = y
        for ck in man.checkpoints:
            if ck.after == idx:
                n = math.prod(ck.shape)
                raw = np.array(act[ck.addr:ck.addr + n]).reshape(ck.shape)
                ckpts[ck.name] = raw.astype(np.float32) if float_mode else numerics.dequantize(
                    raw.astype(np.int8), ck.scale)
    outs = {}
    for d in man.outputs:
        n = math.prod(d.shape)
        raw = np.array([rd(d.dram_addr + j) for j in range(n)]).reshape(d.shape)
        outs[d.name] = raw.astype(np.float32) if float_mode else numerics.dequantize(
            raw.astype(np.int8), d.scale)
    return {"outputs": outs, "checkpoints": ckpts, "cycles": cycles, "pe_ops": pe_ops,
            "mac_cycles": mac_cycles}


def slow_batch(prog: Program, inputs: dict[str, np.ndarray], float_mode: bool) -> dict:
    batch = next(iter(inputs.values())).shape[0]
    runs = [slow_run(prog, {k: v[b] for k, v in inputs.items()}, float_mode) for b in range(batch)]
    stack = lambda key: {n: np.stack([r[key][n] for r in runs]) for n in runs[0][key]}
    return {"outputs": stack("outputs"), "checkpoints": stack("checkpoints"),
            "cycles": runs[0]["cycles"], "pe_ops": runs[0]["pe_ops"],
            "mac_cycles": runs[0]["mac_cycles"]}


# -- the corpus -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[np.random.Generator], Program]


def conv_layer(bld: Builder, rng: np.random.Generator, *, x_addr: int, y_addr: int,
               in_chw: tuple[int, int, int], oc: int, k: tuple[int, int], stride: tuple[int, int],
               pad: tuple[int, int], out_hw: tuple[int, int], gen: str | None, code_bits: int,
               chunk: int, density: float = 0.6, relu: int = 1) -> None:
    """Mask + lane states + SETGEN, then MAC/REQ over pixel chunks into y (oc, OH, OW)."""
    c, h, w = in_chw
    t = c * k[0] * k[1]
    codes = rng.integers(1, 2**code_bits, (oc, t)) * (rng.random((oc, t)) < density)
    signs = None if gen else rng.integers(0, 2, (oc, t))
    bld.load(isa.SPACE_MASK, 64, pack_rows(codes, code_bits, signs))
    if gen:
        g = get_generator(gen)
        states = [g.group_state(int(rng.integers(1, 2**16)), j) for j in range(-(-oc // 16))]
        bld.load(isa.SPACE_PARAM, 1024, lane_table(states))
        bld.emit("SETGEN", gen_id=g.gen_id, param_addr=1024, count=len(states))
    npix = out_hw[0] * out_hw[1]
    for p0 in range(0, npix, chunk):
        pc = min(chunk, npix - p0)
        bld.emit("MAC", in_addr=x_addr, acc_row=1, in_c=c, in_h=h, in_w=w, out_w=out_hw[1],
                 kh=k[0], kw=k[1], stride_h=stride[0], stride_w=stride[1], pad_t=pad[0],
                 pad_l=pad[1], oc_count=oc, start_oy=p0 // out_hw[1], start_ox=p0 % out_hw[1],
                 pix_count=pc, mask_addr=64, code_bits=code_bits, stored_signs=int(gen is None),
                 accumulate=0)
        bld.req(rng, acc_row=1, out_addr=y_addr + p0, oc_count=oc, pix_count=pc, out_plane=npix,
                param_addr=2048, relu=relu)


def case_conv3x3(rng: np.random.Generator) -> Program:
    b = Builder()
    b.input("x", (3, 6, 5), 0.05, 0)
    conv_layer(b, rng, x_addr=0, y_addr=200, in_chw=(3, 6, 5), oc=20, k=(3, 3), stride=(1, 1),
               pad=(1, 1), out_hw=(6, 5), gen="xorshift16", code_bits=1, chunk=13)
    b.checkpoint("y", 200, (20, 6, 5), 0.1)
    b.output("y", (20, 6, 5), 0.1, 200)
    b.emit("AVGPOOL", in_addr=200, out_addr=900, channels=20, in_h=6, in_w=5, out_h=1, out_w=1,
           kh=6, kw=5, stride_h=1, stride_w=1, mult=27000, shift=20)  # global: 30 taps
    b.emit("MAXPOOL", in_addr=200, out_addr=950, channels=20, in_h=6, in_w=5, out_h=2, out_w=2,
           kh=5, kw=4, stride_h=2, stride_w=2, pad_t=2, pad_l=1)
    b.output("gap", (20,), 0.1, 900)
    b.output("big_max", (20, 2, 2), 0.1, 950)
    b.emit("HALT")
    b.emit("ADD", a_addr=0, b_addr=0, out_addr=10**6, length=5)  # after HALT: never runs
    return b.program()


def case_stride2_multicoat_pools(rng: np.random.Generator) -> Program:
    b = Builder()
    b.input("img", (4, 7, 7), 0.03, 0)
    conv_layer(b, rng, x_addr=0, y_addr=300, in_chw=(4, 7, 7), oc=32, k=(3, 3), stride=(2, 2),
               pad=(1, 1), out_hw=(4, 4), gen="xorshift32", code_bits=2, chunk=16)
    b.emit("MAXPOOL", in_addr=300, out_addr=900, channels=32, in_h=4, in_w=4, out_h=2, out_w=2,
           kh=3, kw=3, stride_h=2, stride_w=2, pad_t=1, pad_l=1)
    b.checkpoint("pooled", 900, (32, 2, 2), 0.1)
    b.emit("AVGPOOL", in_addr=900, out_addr=1100, channels=32, in_h=2, in_w=2, out_h=1, out_w=1,
           kh=2, kw=2, stride_h=1, stride_w=1, mult=16384, shift=16)
    b.output("gap", (32, 1, 1), 0.1, 1100)
    b.emit("HALT")
    return b.program()


def case_stored_signs_rect(rng: np.random.Generator) -> Program:
    b = Builder()
    b.input("x", (2, 5, 9), 0.07, 0)
    conv_layer(b, rng, x_addr=0, y_addr=120, in_chw=(2, 5, 9), oc=7, k=(1, 3), stride=(1, 2),
               pad=(0, 1), out_hw=(5, 5), gen=None, code_bits=3, chunk=25, relu=0)
    b.output("y", (7, 5, 5), 0.2, 120)
    b.emit("HALT")
    return b.program()


def case_residual_fc_ctrhash(rng: np.random.Generator) -> Program:
    b = Builder()
    b.input("a", (24,), 0.04, 0)
    b.input("v", (16,), 0.04, 100)
    conv_layer(b, rng, x_addr=0, y_addr=200, in_chw=(24, 1, 1), oc=16, k=(1, 1), stride=(1, 1),
               pad=(0, 0), out_hw=(1, 1), gen="ctrhash32", code_bits=1, chunk=1)
    spill = b.data(bytes(range(40, 56)))  # stored to, then loaded back (a DRAM round trip)
    b.emit("DMA_STORE", space=isa.SPACE_ACT, sram_addr=200, dram_addr=spill, length=16)
    b.emit("DMA_LOAD", space=isa.SPACE_ACT, sram_addr=400, dram_addr=spill - 4, length=20)
    b.emit("ADD", a_addr=404, b_addr=100, out_addr=300, length=16, mult_a=-700, mult_b=900,
           shift=9, relu=1)
    b.output("sum", (16,), 0.05, 300)
    b.emit("HALT")
    return b.program()


def case_channel_split_accumulate(rng: np.random.Generator) -> Program:
    """Two MACs over input-channel halves, the second accumulating with jumped lane states."""
    b = Builder()
    b.input("x", (4, 4, 4), 0.05, 0)
    g = get_generator("xorshift16")
    codes = rng.integers(0, 2, (18, 4 * 9))
    start = [g.group_state(1024, j) for j in range(2)]
    jumped = [g.jump(s, 2 * 9) for s in start]
    b.load(isa.SPACE_PARAM, 0, lane_table(start + jumped))
    for half in range(2):
        b.load(isa.SPACE_MASK, 0, pack_rows(codes[:, half * 18:(half + 1) * 18], 1, None))
        b.emit("SETGEN", gen_id=0, param_addr=16 * half, count=2)
        b.emit("MAC", in_addr=32 * half, acc_row=0, in_c=2, in_h=4, in_w=4, out_w=4, kh=3, kw=3,
               stride_h=1, stride_w=1, pad_t=1, pad_l=1, oc_count=18, pix_count=16,
               mask_addr=0, code_bits=1, accumulate=half)
    b.req(rng, acc_row=0, out_addr=100, oc_count=18, pix_count=16, out_plane=16, param_addr=512, relu=1)
    b.output("y", (18, 4, 4), 0.1, 100)
    b.emit("HALT")
    return b.program()


def case_background_loads(rng: np.random.Generator) -> Program:
    """Mask rows and lane states load in the background; the second layer's mask rows load
    while the first layer's MACs run; the first layer's first REQ drains its accumulators
    while the MAC of its second pixel chunk runs (into the other accumulators); the output
    store runs in the background up to HALT."""
    b = Builder()
    b.input("x", (3, 6, 5), 0.05, 0)
    codes = rng.integers(0, 2, (20, 27))
    b.load(isa.SPACE_MASK, 64, pack_rows(codes, 1, None), background=1)
    g = get_generator("xorshift16")
    b.load(isa.SPACE_PARAM, 1024, lane_table([g.group_state(77, j) for j in range(2)]), background=1)
    b.emit("SYNC")
    b.emit("SETGEN", gen_id=g.gen_id, param_addr=1024, count=2)
    codes2, signs2 = rng.integers(0, 2, (6, 20)), rng.integers(0, 2, (6, 20))
    b.load(isa.SPACE_MASK, 4096, pack_rows(codes2, 1, signs2), background=1)
    conv = {"in_h": 6, "in_w": 5, "out_w": 5, "stride_h": 1, "stride_w": 1, "code_bits": 1}
    rec = np.zeros(20, REC)
    rec["bias"], rec["mult"], rec["shift"] = rng.integers(-300, 300, 20), rng.integers(1, 9000, 20), 12
    b.load(isa.SPACE_PARAM, 2048, rec.tobytes())
    for p0, pc, acc, bg in ((0, 16, 1, 1), (16, 14, 8, 0)):  # the first REQ drains during MAC 2
        b.emit("MAC", in_addr=0, acc_row=acc, in_c=3, kh=3, kw=3, pad_t=1, pad_l=1, oc_count=20,
               mask_addr=64, start_oy=p0 // 5, start_ox=p0 % 5, pix_count=pc, **conv)
        idx = b.emit("REQ", acc_row=acc, out_addr=200 + p0, oc_count=20, pix_count=pc, out_plane=30,
                     param_addr=2048, relu=1, background=bg)
        b.float_params.append(FloatParam(idx, len(b.floats), 20))
        b.floats.extend(rng.normal(0, 0.1, 20).astype("<f4").tobytes() + bytes(80))
    b.emit("MAC", in_addr=200, acc_row=1, in_c=20, kh=1, kw=1, oc_count=6, mask_addr=4096,
           stored_signs=1, pix_count=30, **conv)
    b.req(rng, acc_row=1, out_addr=900, oc_count=6, pix_count=30, out_plane=30, param_addr=2048,
          relu=0)
    b.checkpoint("z", 900, (6, 6, 5), 0.1)
    b.output("z", (6, 6, 5), 0.1, 900)
    b.instrs[-1] = isa.make("DMA_STORE", **{**b.instrs[-1].fields, "background": 1})
    b.emit("HALT")
    return b.program()


CASES = [Case(f.__name__[5:], f) for f in (case_conv3x3, case_stride2_multicoat_pools,
                                           case_stored_signs_rect, case_residual_fc_ctrhash,
                                           case_channel_split_accumulate, case_background_loads)]


def make_inputs(prog: Program, batch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {d.name: rng.normal(0, 2.0, (batch, *d.shape)).astype(np.float32)
            for d in prog.manifest.inputs}


@pytest.fixture(params=CASES, ids=lambda c: c.name)
def case(request: pytest.FixtureRequest) -> tuple[Program, dict[str, np.ndarray]]:
    rng = np.random.default_rng(sum(map(ord, request.param.name)))
    prog = request.param.build(rng)
    return prog, make_inputs(prog, 3, rng)


# -- tests ----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["int8", "float"])
def test_matches_slow_model(case, mode: str) -> None:
    prog, inputs = case
    got = refsim.run(prog, inputs, mode=mode, checkpoints=True)
    want = slow_batch(prog, inputs, mode == "float")
    assert got.outputs.keys() == want["outputs"].keys()
    for name, ref in chain(want["outputs"].items(), want["checkpoints"].items()):
        res = got.outputs.get(name, got.checkpoints.get(name))
        assert res.dtype == np.float32 and res.shape == ref.shape
        if mode == "int8":
            np.testing.assert_array_equal(res, ref, err_msg=name)
        else:  # float summation order differs between matmul and the loops
            np.testing.assert_allclose(res, ref, rtol=1e-5, atol=1e-6, err_msg=name)
    assert got.checkpoints.keys() == want["checkpoints"].keys()
    assert got.cycles == want["cycles"]
    assert got.counters["pe_ops"] == want["pe_ops"]
    assert got.counters["mac_cycles"] == want["mac_cycles"]


def test_int_entry_gives_the_integers_of_int8_mode(case) -> None:
    """run_int on the quantised inputs returns exactly the int8 values that int8 mode
    dequantises, and the integers of the slow model; cycles and counters are the same."""
    prog, inputs = case
    man = prog.manifest
    q = {d.name: numerics.quantize_input(inputs[d.name], d.scale) for d in man.inputs}
    raw = refsim.run_int(prog, q, checkpoints=True)
    got = refsim.run(prog, inputs, mode="int8", checkpoints=True)
    want = slow_batch(prog, inputs, False)
    scales = {d.name: d.scale for d in (*man.outputs, *man.checkpoints)}
    assert raw.outputs.keys() == got.outputs.keys() and raw.checkpoints.keys() == got.checkpoints.keys()
    for name, ints in chain(raw.outputs.items(), raw.checkpoints.items()):
        dequantised = got.outputs.get(name, got.checkpoints.get(name))
        assert ints.dtype == np.int8 and ints.shape == dequantised.shape
        np.testing.assert_array_equal(numerics.dequantize(ints, scales[name]), dequantised, err_msg=name)
        slow = want["outputs"].get(name, want["checkpoints"].get(name))
        np.testing.assert_array_equal(ints, np.rint(slow.astype(np.float64) / scales[name]),
                                      err_msg=name)
    assert (raw.cycles, raw.counters, raw.energy_pj) == (got.cycles, got.counters, got.energy_pj)


def test_counters(case) -> None:
    """Counters recomputed from the instruction fields (cycles and mac_cycles: see
    test_matches_slow_model and the hand-counted program below)."""
    prog, inputs = case
    res = refsim.run(prog, inputs)
    halt = next(i for i, ins in enumerate(prog.instructions) if ins.op == "HALT")
    run_ = prog.instructions[:halt + 1]
    c = res.counters
    assert set(c) == set(refsim.COUNTERS)
    assert c["instructions"] == halt + 1
    assert c["dram_read_bytes"] == sum(i.length for i in run_ if i.op == "DMA_LOAD")
    assert c["dram_write_bytes"] == sum(i.length for i in run_ if i.op == "DMA_STORE")
    assert c["gen_steps"] == sum(-(-i.oc_count // 16) * i.in_c * i.kh * i.kw
                                 * -(-i.pix_count // (prog.config.pixels << i.rep_log2))
                                 for i in run_ if i.op == "MAC" and not i.stored_signs)
    assert c["pe_slots"] == sum(i.oc_count * i.pix_count * i.in_c * i.kh * i.kw
                                for i in run_ if i.op == "MAC")
    assert c["sram_read_bytes"] == sum(c[f"{m}_sram_read_bytes"] for m in refsim.MEMORIES)
    e = prog.config.energy  # docs/refsim.md "Energy", written out
    want = (c["pe_ops"] * e.pe_op + c["gen_steps"] * e.gen_step + c["requant_ops"] * e.requant
            + c["alu_ops"] * e.alu_op
            + (c["sram_read_bytes"] + c["sram_write_bytes"]) * e.sram_byte
            + (c["dram_read_bytes"] + c["dram_write_bytes"]) * e.dram_byte)
    assert res.energy_pj == pytest.approx(want) and res.energy_pj > 0


def test_cycles_of_a_one_layer_program_counted_by_hand() -> None:
    """A 3x3 conv (3 -> 20 channels on 4x4, pad 1, xorshift16) on SMALL, cycles from the
    table of docs/isa.md. SMALL: PIXELS 4, BUS_BYTES 8, DMA_LATENCY 4; every instruction
    costs 1 issue cycle plus its execute cycles; 20 channels need 2 lanes (16 each), so a
    binary mask row is 2 lanes x 2 bytes = 4 bytes, and there are 3 x 3 x 3 = 27 rows."""
    assert (SMALL.pixels, SMALL.bus_bytes, SMALL.dma_latency) == (4, 8, 4)
    b = Builder(SMALL)
    b.input("x", (3, 4, 4), 0.05, 0)
    conv_layer(b, np.random.default_rng(9), x_addr=0, y_addr=100, in_chw=(3, 4, 4), oc=20,
               k=(3, 3), stride=(1, 1), pad=(1, 1), out_hw=(4, 4), gen="xorshift16",
               code_bits=1, chunk=16)
    b.output("y", (20, 4, 4), 0.1, 100)
    b.emit("HALT")
    b.emit("MAXPOOL", channels=20, in_h=4, in_w=4, out_h=2, out_w=2, kh=2, kw=2, stride_h=2,
           stride_w=2)  # after HALT: never issued, costs nothing
    prog = b.program()
    assert [i.op for i in prog.instructions] == [
        "DMA_LOAD", "DMA_LOAD", "DMA_LOAD", "SETGEN", "MAC", "DMA_LOAD", "REQ", "DMA_STORE",
        "HALT", "MAXPOOL"]
    cycles = (
        1 + 4 + 6           # DMA_LOAD x: 3*4*4 = 48 bytes = 6 beats
        + 1 + 4 + 14        # DMA_LOAD mask: 27 rows x 4 bytes = 108 bytes = 14 beats (13.5)
        + 1 + 4 + 2         # DMA_LOAD lane table: 2 lanes x 8 bytes = 2 beats
        + 1 + 2             # SETGEN count 2: one cycle a lane
        + 1 + 4 * (27 + 2)  # MAC, 16 pixels = 4 tiles of 4, each restart + 27 steps + write-back
        + 1 + 4 + 20        # DMA_LOAD requantisation records: 20 x 8 = 160 bytes = 20 beats
        + 1 + 20 * 4        # REQ: 20 channels x 4 pixel tiles
        + 1 + 4 + 40        # DMA_STORE y: 20*16 = 320 bytes = 40 beats
        + 1                 # HALT: issue only
    )
    assert cycles == 309
    res = refsim.run(prog, make_inputs(prog, 2, np.random.default_rng(0)))
    assert res.cycles == 309
    c = res.counters
    assert c["instructions"] == 9
    assert c["mac_cycles"] == 4 * (27 + 2)
    assert c["gen_steps"] == 2 * 27 * 4  # 2 lanes step once per row, again in every tile
    assert c["dram_read_bytes"] == 48 + 108 + 16 + 160
    assert c["dram_write_bytes"] == 320
    assert c["requant_ops"] == 20 * 16


def test_batch_equals_per_sample(case) -> None:
    prog, inputs = case
    whole = refsim.run(prog, inputs, checkpoints=True)
    for b in range(3):
        one = refsim.run(prog, {k: v[b:b + 1] for k, v in inputs.items()}, checkpoints=True)
        for name, arr in chain(one.outputs.items(), one.checkpoints.items()):
            full = whole.outputs.get(name, whole.checkpoints.get(name))
            np.testing.assert_array_equal(full[b:b + 1], arr)
        assert one.cycles == whole.cycles and one.counters == whole.counters


def test_mac_reproduces_generator_reference() -> None:
    """All-ones mask, one-hot inputs: the accumulators are the signed weights themselves."""
    cfg, (o, i, kh, kw) = SMALL, (20, 3, 3, 3)
    g = get_generator("xorshift16")
    b = Builder(cfg)
    b.load(isa.SPACE_MASK, 0, pack_rows(np.ones((o, i * kh * kw), int), 1, None))
    b.load(isa.SPACE_PARAM, 0, lane_table([g.group_state(1024, j) for j in range(2)]))
    b.emit("SETGEN", gen_id=0, param_addr=0, count=2)
    rec = np.zeros(o, REC)
    rec["mult"], rec["shift"] = 1, 0
    b.load(isa.SPACE_PARAM, 64, rec.tobytes())
    for t in range(i * kh * kw):  # input t is a one-hot (i, 3, 3) tensor at its kernel position
        x = np.zeros((i, kh, kw), np.int8)
        x.reshape(-1)[t] = 1
        b.load(isa.SPACE_ACT, 0, x.tobytes())
        b.emit("MAC", in_addr=0, acc_row=0, in_c=i, in_h=kh, in_w=kw, out_w=1, kh=kh, kw=kw,
               stride_h=1, stride_w=1, oc_count=o, pix_count=1, mask_addr=0,
               code_bits=1)
        b.emit("REQ", acc_row=0, out_addr=100 + t, oc_count=o, pix_count=1,
               out_plane=i * kh * kw, param_addr=64)
    b.output("w", (o, 1, i * kh * kw), 1.0, 100)  # (C, 1, W): rank 2 would be (nodes, features)
    b.emit("HALT")
    got = refsim.run(b.program(), {}).outputs["w"][0].reshape(o, i, kh, kw)
    want = sign_bits_reference("xorshift16", 1024, (o, i, kh, kw)).astype(np.float32) * 2 - 1
    np.testing.assert_array_equal(got, want)


def test_every_opcode_has_a_handler() -> None:
    assert refsim.missing_handlers() == []
    for op in isa.OPCODES:
        assert callable(getattr(refsim.Machine, "exec_" + op.name.lower()))


def test_mac_cache_is_per_instruction_and_reused() -> None:
    prog = case_conv3x3(np.random.default_rng(0))
    inputs = make_inputs(prog, 2, np.random.default_rng(1))
    first = refsim.run(prog, inputs)
    sim = refsim.simulator(prog)
    macs = {i for i, ins in enumerate(prog.instructions) if ins.op == "MAC"}
    assert set(sim.mac_cache) == macs
    cached = {i: sim.mac_cache[i] for i in macs}
    second = refsim.run(prog, inputs)
    assert all(sim.mac_cache[i] is cached[i] for i in macs)
    np.testing.assert_array_equal(first.outputs["y"], second.outputs["y"])


def test_simulator_cache_lives_with_the_program() -> None:
    """The cache is keyed on the immutable program: equal programs share an entry, and the
    entry goes when the program is garbage-collected (no id() reuse to go wrong)."""
    prog = case_conv3x3(np.random.default_rng(0))
    sim = refsim.simulator(prog)
    assert refsim.simulator(prog) is sim
    assert refsim.simulator(dataclasses.replace(prog)) is sim  # an equal copy
    other = dataclasses.replace(prog, manifest=dataclasses.replace(prog.manifest, float_params=()))
    assert refsim.simulator(other) is not sim
    gone = weakref.ref(sim)
    del prog, sim, other
    gc.collect()
    assert gone() is None


def test_default_config_and_float64_bound() -> None:
    """A wide multicoat MAC whose exact bound exceeds 2**24 takes the float64 path."""
    rng = np.random.default_rng(5)
    b = Builder(DEFAULT)
    b.input("x", (120, 2, 2), 0.01, 0)  # 128 * 127 * 120*9 > 2**24
    conv_layer(b, rng, x_addr=0, y_addr=4096, in_chw=(120, 2, 2), oc=20, k=(3, 3), stride=(1, 1),
               pad=(1, 1), out_hw=(2, 2), gen="xorshift32", code_bits=7, chunk=4, density=0.9)
    b.output("y", (20, 2, 2), 1.0, 4096)
    b.emit("HALT")
    prog = b.program()
    x = make_inputs(prog, 2, rng)
    got = refsim.run(prog, x)
    mac = next(i for i, ins in enumerate(prog.instructions) if ins.op == "MAC")
    assert refsim.simulator(prog).mac_cache[mac].matmul.dtype == np.float64
    np.testing.assert_array_equal(got.outputs["y"], slow_batch(prog, x, False)["outputs"]["y"])


def _error_program(*body: isa.Instruction, halt: bool = True) -> Program:
    instrs = (*body, isa.make("HALT")) if halt else body
    return Program(SMALL, instrs, bytes(64), b"", Manifest())


@pytest.mark.parametrize("body, fragment", [
    ((isa.make("DMA_LOAD", space=0, sram_addr=SMALL.act_sram_bytes - 4, dram_addr=0, length=8),),
     "instruction 0 (DMA_LOAD)"),
    ((isa.make("DMA_LOAD", space=1, sram_addr=0, dram_addr=60, length=8),), "memory image"),
    ((isa.make("MAC", in_c=1, in_h=1, in_w=1, out_w=1, kh=1, kw=1, stride_h=1, stride_w=1,
               oc_count=33, pix_count=1, code_bits=1, stored_signs=1),), "oc_count=33"),
    ((isa.make("SETGEN", gen_id=0, count=3),), "count=3"),
    ((isa.make("MAC", in_c=1, in_h=1, in_w=1, out_w=1, kh=1, kw=1, stride_h=1, stride_w=1,
               oc_count=16, pix_count=1, code_bits=1),), "lane 0 has no start state"),
    ((isa.make("ADD", a_addr=0, b_addr=0, out_addr=SMALL.act_sram_bytes, length=1),),
     "instruction 0 (ADD)"),
    ((isa.make("REQ", acc_row=SMALL.acc_rows, oc_count=1, pix_count=1, out_plane=1),),
     "acc SRAM"),
])
def test_execution_errors(body: tuple, fragment: str) -> None:
    with pytest.raises(ProgramFormatError, match=re.escape(fragment)):
        refsim.run(_error_program(*body), {})


def test_touching_the_bytes_of_a_background_transfer_before_sync_is_an_error() -> None:
    """A background DMA's SRAM bytes are off limits until the transfer is over: the time line
    says when, and a SYNC (or any later DMA, which waits for the engine) makes sure."""
    load = isa.make("DMA_LOAD", space=isa.SPACE_PARAM, sram_addr=8, dram_addr=0, length=64,
                    background=1)
    setgen = isa.make("SETGEN", gen_id=0, param_addr=0, count=2)  # reads param bytes [0, 16)
    with pytest.raises(ProgramFormatError, match=re.escape(
            "instruction 1 (SETGEN): lane state table [0, 16) touches param SRAM bytes [8, 72) of "
            "the background instruction 0, still in flight; a SYNC must come first")):
        refsim.run(_error_program(load, setgen), {})
    for between in (isa.make("SYNC"), isa.make("DMA_LOAD", space=isa.SPACE_MASK, length=8, background=1)):
        refsim.run(_error_program(load, between, setgen), {})
    far = isa.make("SETGEN", gen_id=0, param_addr=72, count=2)  # other bytes: no wait needed
    # the transfer takes DMA_LATENCY 4 + 8 beats, cycles 1..12; HALT issues in cycle 12
    assert refsim.run(_error_program(load, far), {}).cycles == 12 + 1


def test_touching_the_accumulators_a_background_req_drains_is_an_error() -> None:
    req = isa.make("REQ", acc_row=0, out_addr=100, oc_count=2, pix_count=8, out_plane=8,
                   param_addr=0, background=1)  # 2 x 2 tiles of 4 pixels: busy 4 cycles
    mac = isa.make("MAC", in_c=1, in_h=1, in_w=1, out_w=1, kh=1, kw=1, stride_h=1, stride_w=1,
                   oc_count=16, pix_count=1, code_bits=1, stored_signs=1, acc_row=1)
    body = (isa.make("DMA_LOAD", space=isa.SPACE_PARAM, length=16), req, mac)
    prog = Program(SMALL, (*body, isa.make("HALT")), REC.itemsize * 2 * b"\x00" + bytes(48), b"",
                   Manifest())
    with pytest.raises(ProgramFormatError, match=re.escape(
            "instruction 2 (MAC): accumulators [128, 256) touches acc SRAM words [0, 256) of the "
            "background instruction 1, still in flight")):
        refsim.run(prog, {})
    moved = isa.make("MAC", **{**mac.fields, "acc_row": 2})  # the other buffer: no wait needed
    prog = Program(SMALL, (*body[:2], moved, isa.make("HALT")), bytes(64), b"", Manifest())
    # DMA 1 + 4 + 2 beats; REQ issue (the unit drains in cycles 8..11); MAC 1 + one tile of
    # 1 + 2 cycles, to cycle 11; HALT at 12, after the unit's last cycle
    assert refsim.run(prog, {}).cycles == 7 + 1 + 4 + 1


def test_a_requantisation_shift_above_the_limit_is_an_error() -> None:
    """The record encoder never writes shift > 63; a hand-made image that does is rejected
    (the RTL stops with err on the same record, tests/rtl/test_programs.py)."""
    rec = np.zeros(3, REC)
    rec["mult"], rec["shift"] = 1, (5, numerics.SHIFT_MAX + 1, 0)
    body = (isa.make("DMA_LOAD", space=isa.SPACE_PARAM, sram_addr=0, dram_addr=0, length=24),
            isa.make("REQ", oc_count=3, pix_count=1, out_plane=1))
    prog = Program(SMALL, (*body, isa.make("HALT")), rec.tobytes() + bytes(40), b"",
                   Manifest())
    with pytest.raises(ProgramFormatError, match=re.escape(
            "instruction 1 (REQ): the requantisation record of channel 1 has shift 64 > 63")):
        refsim.run(prog, {})


def test_program_without_halt() -> None:
    with pytest.raises(ProgramFormatError, match="instruction 1 .*no HALT"):
        refsim.run(_error_program(isa.make("SETGEN", count=0), halt=False), {})


def test_float_mode_needs_float_params() -> None:
    prog = case_conv3x3(np.random.default_rng(0))
    bare = Program(prog.config, prog.instructions, prog.image, prog.float_section,
                   dataclasses.replace(prog.manifest, float_params=()))
    with pytest.raises(ProgramFormatError, match=r"instruction \d+ \(REQ\).*float_params"):
        refsim.run(bare, make_inputs(prog, 1, np.random.default_rng(0)), mode="float")


@pytest.mark.parametrize("bad, fragment", [
    ({"x": np.zeros((2, 3, 6, 4), np.float32)}, r"input 'x' must be float32 of shape \(batch, 3, 6, 5\), got float32 of shape \(2, 3, 6, 4\)"),
    ({"x": np.zeros((2, 3, 6, 5), np.int32)}, "got int32"),
    ({}, "missing input 'x'"),
    ({"x": np.zeros((1, 3, 6, 5), np.float32), "z": np.zeros(1)}, "unknown input 'z'"),
])
def test_bad_inputs(bad: dict, fragment: str) -> None:
    prog = case_conv3x3(np.random.default_rng(0))
    with pytest.raises(BadInputError, match=fragment):
        refsim.run(prog, bad)


@pytest.mark.parametrize("bad, fragment", [
    ({"x": np.zeros((2, 3, 6, 5), np.float32)},
     r"input 'x' must be int8 of shape \(batch, 3, 6, 5\), got float32 of shape \(2, 3, 6, 5\)"),
    ({"x": np.zeros((2, 3, 6, 5), np.int16)}, "got int16"),
    ({"x": np.zeros((3, 6, 5), np.int8)}, r"got int8 of shape \(3, 6, 5\)"),
    ({}, "missing input 'x'"),
])
def test_bad_int_inputs(bad: dict, fragment: str) -> None:
    prog = case_conv3x3(np.random.default_rng(0))
    with pytest.raises(BadInputError, match=fragment):
        refsim.run_int(prog, bad)


def test_bad_mode() -> None:
    prog = case_conv3x3(np.random.default_rng(0))
    with pytest.raises(BadInputError, match="mode 'fp16'"):
        refsim.run(prog, make_inputs(prog, 1, np.random.default_rng(0)), mode="fp16")


def test_mask_data_must_not_depend_on_inputs() -> None:
    b = Builder()
    b.input("x", (8,), 0.1, 0)
    at = b.inputs[0].dram_addr
    b.emit("DMA_LOAD", space=isa.SPACE_MASK, sram_addr=0, dram_addr=at + 2, length=4)
    b.emit("HALT")
    with pytest.raises(ProgramFormatError, match=r"instruction 1 \(DMA_LOAD\).*holds inputs"):
        refsim.run(b.program(), {"x": np.zeros((1, 8), np.float32)})


def test_empty_batch_and_float64_inputs() -> None:
    prog = case_conv3x3(np.random.default_rng(0))
    empty = refsim.run(prog, {"x": np.zeros((0, 3, 6, 5), np.float32)}, checkpoints=True)
    assert empty.outputs["y"].shape == (0, 20, 6, 5) and empty.checkpoints["y"].shape[0] == 0
    x = make_inputs(prog, 2, np.random.default_rng(3))["x"]
    wide = refsim.run(prog, {"x": x.astype(np.float64)})
    np.testing.assert_array_equal(wide.outputs["y"], refsim.run(prog, {"x": x}).outputs["y"])
    assert empty.cycles == wide.cycles and empty.counters == wide.counters


def test_float_mode_add_takes_its_coefficients_from_the_float_section() -> None:
    """ADD without a float_params entry is a + b; with one it is a·fa + b·fb (here fa = -0.75,
    fb = 0: a scaled copy of a, which is how a Mul by a constant runs)."""
    def program(coeffs: tuple[float, float] | None) -> Program:
        b = Builder()
        b.input("a", (8,), 0.1, 0)
        b.input("b", (8,), 0.1, 16)
        idx = b.emit("ADD", a_addr=0, b_addr=16, out_addr=32, length=8, mult_a=1, mult_b=1, shift=0)
        if coeffs is not None:
            b.float_params.append(FloatParam(idx, len(b.floats), 1))
            b.floats.extend(np.array(coeffs, "<f4").tobytes())
        b.output("y", (8,), 0.1, 32)
        b.emit("HALT")
        return b.program()

    xa = np.arange(8, dtype=np.float32)[None] - 3.5
    xb = np.full((1, 8), 2.0, np.float32)
    plain = refsim.run(program(None), {"a": xa, "b": xb}, mode="float").outputs["y"]
    scaled = refsim.run(program((-0.75, 0.0)), {"a": xa, "b": xb}, mode="float").outputs["y"]
    np.testing.assert_array_equal(plain, xa + xb)
    np.testing.assert_array_equal(scaled, xa * np.float32(-0.75))


# -- LOOP ------------------------------------------------------------------------------------
def _loop(count: int, body_len: int, stride: int = 0) -> isa.Instruction:
    return isa.make("LOOP", iterations=count, body_len=body_len, dram_stride=stride)


@pytest.mark.parametrize("instrs, fragment", [
    ((_loop(2, 3), isa.make("SETGEN", count=0), isa.make("HALT")),
     "instruction 0 (LOOP): the body 1..3 runs past the HALT at instruction 2"),
    ((_loop(2, 2), _loop(2, 1), isa.make("SETGEN", count=0), isa.make("HALT")),
     "instruction 0 (LOOP): its body holds the LOOP at instruction 1; loops do not nest"),
])
def test_bad_loops_are_refused_by_the_encoder_and_the_reference_model(instrs, fragment) -> None:
    with pytest.raises(ProgramFormatError, match=re.escape(fragment)):
        isa.encode_stream(list(instrs))
    with pytest.raises(ProgramFormatError, match=re.escape(fragment)):
        refsim.run(Program(SMALL, tuple(instrs), bytes(64), b"", Manifest()), {})


def test_a_mac_starting_past_its_row_is_refused_as_the_rtl_stops_on_it() -> None:
    """start_ox >= out_w: the loader refuses the word (isa.decode), and the reference model
    refuses an Instruction built without make(), naming the instruction and both fields."""
    fields = dict(isa.make("MAC", out_w=4, kh=1, kw=1, stride_h=1, stride_w=1, code_bits=1,
                           start_oy=1, start_ox=3, pix_count=2).fields)
    fields["start_ox"] = 4
    bad = isa.Instruction("MAC", MappingProxyType(fields))
    message = "MAC.start_ox=4 must be below MAC.out_w=4"
    prog = Program(SMALL, (isa.make("HALT"), bad, isa.make("HALT")), bytes(64), b"", Manifest())
    refsim.run(prog, {})  # after the HALT: never executed, never checked
    with pytest.raises(ProgramFormatError, match=re.escape(f"instruction 0 (MAC): {message}")):
        refsim.run(Program(SMALL, (bad, isa.make("HALT")), bytes(64), b"", Manifest()), {})
    raw = isa.encode(isa.make("MAC", **{**fields, "start_ox": 3}))
    raw = int.from_bytes(raw, "little") + (1 << isa.BY_NAME["MAC"].field("start_ox").lo)  # 3 -> 4
    with pytest.raises(ProgramFormatError, match=re.escape(f"instruction 2: {message}")):
        isa.decode_stream(isa.encode_stream([isa.make("HALT")] * 2) + raw.to_bytes(32, "little"))


@pytest.mark.parametrize(("op", "fields", "message"), [
    ("REQ", {"oc_count": 1, "pix_count": 1, "param_addr": 12},
     "REQ.param_addr=12 must be a multiple of 8"),
    ("SETGEN", {"count": 1, "param_addr": 3}, "SETGEN.param_addr=3 must be a multiple of 8"),
    ("DMA_LOAD", {"space": isa.SPACE_PARAM, "sram_addr": 4, "length": 8},
     "DMA_LOAD.sram_addr=4 must be a multiple of 8 when DMA_LOAD.space=2"),
])
def test_a_misaligned_param_address_is_refused_as_the_rtl_stops_on_it(op, fields, message) -> None:
    """The param SRAM is read and written in 8-byte words: the reference model refuses an
    Instruction built without make() whose param address is off a word, naming the
    instruction and the field (the decoder refuses the word; the RTL flags it illegal). A
    DMA to the act SRAM needs no alignment."""
    bad = isa.Instruction(op, MappingProxyType(dict(isa.make(op).fields) | fields))
    with pytest.raises(ProgramFormatError, match=re.escape(f"instruction 0 ({op}): {message}")):
        refsim.run(Program(SMALL, (bad, isa.make("HALT")), bytes(64), b"", Manifest()), {})
    act = isa.make("DMA_LOAD", space=isa.SPACE_ACT, sram_addr=4, length=8)
    refsim.run(Program(SMALL, (act, isa.make("HALT")), bytes(64), b"", Manifest()), {})


def test_loop_repeats_its_body_and_strides_param_loads() -> None:
    """LOOP iterations=3 over a param DMA_LOAD (8 bytes, stride 8) and a SETGEN: three loads
    from dram 0, 8, 16; the SETGEN reads the last one. Cycles by hand (SMALL: DMA_LATENCY
    4, BUS_BYTES 8): LOOP 1 + 3 x (DMA 1+4+1, SETGEN 1+1) + HALT 1 = 26."""
    states = np.array([5, 6, 7], dtype=np.uint64).tobytes()
    instrs = (_loop(3, 2, 8),
              isa.make("DMA_LOAD", space=isa.SPACE_PARAM, sram_addr=0, dram_addr=0, length=8),
              isa.make("SETGEN", gen_id=0, param_addr=0, count=1),
              isa.make("HALT"))
    prog = Program(SMALL, instrs, states + bytes(40), b"", Manifest())
    sim = refsim.simulator(prog)
    assert [(i, it, ins.dram_addr if ins.op == "DMA_LOAD" else None) for i, it, ins in sim.trace] == [
        (0, 0, None), (1, 0, 0), (2, 0, None), (1, 1, 8), (2, 1, None), (1, 2, 16), (2, 2, None),
        (3, 0, None)]
    res = refsim.run(prog, {})
    assert res.cycles == 1 + 3 * ((1 + 4 + 1) + (1 + 1)) + 1 == 26
    assert res.counters["instructions"] == 8
    assert res.counters["dram_read_bytes"] == 24


# -- AGG: sparse graph aggregation ------------------------------------------------------------
def _agg_program(degrees: list[int], cols: list[int], vals: list[int], nnz: int | None = None,
                 in_nodes: int = 4, features: int = 3) -> Program:
    """x (features, 1, in_nodes) at act 0, one chunk at mask 0, AGG into acc 0, REQ (mult 1,
    shift 0: the sums, saturated) to act 100, out (features, 1, rows)."""
    rows = len(degrees)
    b = Builder()
    b.input("x", (features, 1, in_nodes), 1.0, 0)
    b.load(isa.SPACE_MASK, 0, pack_chunk(np.array(degrees), np.array(cols), np.array(vals)))
    rec = np.zeros(features, REC)
    rec["mult"] = 1
    b.load(isa.SPACE_PARAM, 0, rec.tobytes())
    b.emit("AGG", in_addr=0, in_nodes=in_nodes, acc_row=0, features=features, row_count=rows,
           nnz=len(cols) if nnz is None else nnz, csr_addr=0)
    b.emit("REQ", acc_row=0, out_addr=100, oc_count=features, pix_count=rows, out_plane=rows,
           param_addr=0)
    b.output("y", (features, 1, rows), 1.0, 100)
    b.emit("HALT")
    return b.program()


def test_agg_sums_each_rows_neighbours() -> None:
    """Rows (0: nodes 1 and 3, 1: none, 2: node 0 twice) times int16 values; int8 sums."""
    prog = _agg_program([2, 0, 2], [1, 3, 0, 0], [2, -1, 3, -5])
    x = np.array([[1, 2, 3, 4], [-4, 5, -6, 7], [9, 0, -2, 1]], np.int8)
    res = refsim.run_int(prog, {"x": x[None, :, None, :]})
    want = np.stack([2 * x[:, 1] - x[:, 3], np.zeros(3, np.int64), (3 - 5) * x[:, 0]], axis=1)
    np.testing.assert_array_equal(res.outputs["y"][0, :, 0, :], want)
    assert res.counters["alu_ops"] == 3 * 4  # a multiply-accumulate per feature and entry


@pytest.mark.parametrize("bad, message", [
    ({"nnz": 3}, r"instruction \d+ \(AGG\): the chunk's degrees sum to 4, not nnz=3"),
    ({"in_nodes": 3}, r"instruction \d+ \(AGG\): entry 1 has column 3 >= in_nodes=3"),
])
def test_agg_rejects_a_malformed_chunk(bad: dict, message: str) -> None:
    """The RTL stops with err on the same chunks (rtl_models/seedcc_agg.v)."""
    nnz = bad.get("nnz")
    prog = _agg_program([2, 0, 2], [1, 3, 0, 0], [2, -1, 3, -5], nnz=nnz,
                        in_nodes=bad.get("in_nodes", 4), features=3)
    n = 4 if "in_nodes" not in bad else 3
    with pytest.raises(ProgramFormatError, match=message):
        refsim.run_int(prog, {"x": np.zeros((1, 3, 1, n), np.int8)})
