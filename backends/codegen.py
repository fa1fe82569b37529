"""Code generation: a quantised, packed IR graph -> a `Program` (instructions + memory image).

Schedule (docs/compiler.md): inputs are DMA'd into the act SRAM; each layer loads its
parameter table (lane start states + requantisation records) into the param SRAM, then
per channel block loads the block's mask rows, sets the generator lanes (SETGEN) and runs
MAC + REQ over pixel chunks that fit the accumulator SRAM; adds and pools run in place in
the act SRAM; outputs are DMA'd back. The memory image holds parameters, masks, and the
input/output regions.
"""

from __future__ import annotations

import math

import numpy as np

from seedcc.backends import isa
from seedcc.backends.program import Program
from seedcc.compiler.memplan import ALIAS_OPS, plan_activations
from seedcc.errors import CapacityError, ModelStructureError
from seedcc.ir import Graph, Node, Op, as_chw
from seedcc.rtl_models import numerics
from seedcc.rtl_models.generators import get_generator, group_start_states
from seedcc.rtl_models.hwconfig import HwConfig
from seedcc.rtl_models.hwfacts import (
    GROUP,
    LANE_STATE_BYTES,
    LANE_STATE_DTYPE,
    MULT_MAX,
    REQ_LIMITS,
    REQ_RECORD,
    REQ_RECORD_BYTES,
    req_record_bytes,
)
from seedcc.rtl_models.masks import row_bytes


def input_splits(in_c: int, bytes_per_channel: int, capacity: int, layer: str) -> list[tuple[int, int]]:
    """Input-channel ranges whose mask rows fit the mask SRAM. A layer split in k parts runs
    k MACs per pixel chunk, accumulating; each part starts its lanes from the generator
    state after i0·kh·kw steps (the regeneration schedule's jump-ahead states)."""
    per = capacity // bytes_per_channel
    if per == 0:
        raise CapacityError(f"layer {layer}: the mask rows of one input channel ({bytes_per_channel} "
                            f"bytes) exceed the mask SRAM ({capacity} bytes)")
    return [(i0, min(i0 + per, in_c)) for i0 in range(0, in_c, per)]


class _Emitter:
    def __init__(self, g: Graph, cfg: HwConfig):
        self.g, self.cfg = g, cfg
        self.instrs: list[isa.Instruction] = []
        self.image = bytearray()
        self.floats = bytearray()
        self.float_params: list[dict] = []
        self.checkpoints: list[dict] = []
        self.layers: list[dict] = []
        self.addr = plan_activations(g, cfg.act_sram_bytes)
        self.shared: dict[bytes, int] = {}

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

    def load(self, space: str, sram_addr: int, data: bytes, capacity: int, what: str,
             shared: bool = False) -> None:
        if sram_addr + len(data) > capacity:
            raise CapacityError(f"{what} needs {len(data)} bytes of {space} SRAM, which holds {capacity}")
        self.emit("DMA_LOAD", space=isa.SPACES[space], sram_addr=sram_addr,
                  dram_addr=self.dram(data, shared), length=len(data))

    def checkpoint(self, value: str) -> None:
        v = self.g.values[value]
        self.checkpoints.append({"name": value, "onnx": v.onnx_name, "after": len(self.instrs) - 1,
                                 "addr": self.addr[value], "shape": list(v.shape), "scale": v.scale})

    # -- ops -------------------------------------------------------------------------------
    def conv(self, n: Node) -> None:
        cfg, w = self.cfg, n.attrs["weight"]
        x, y = self.g.values[n.inputs[0]], self.g.values[n.output]
        o, i, kh, kw = w.shape
        _, h, wd = as_chw(x.shape)  # a dense layer reads its (F,) input as F channels of 1x1
        _, oh, ow = as_chw(y.shape)
        npix = oh * ow
        a, b = (np.asarray(t, np.float64) for t in n.attrs["affine"])
        wscale = w.scale * w.multiplier
        acc_unit = a * wscale * x.scale  # real value of one accumulator step, per channel
        with np.errstate(divide="ignore", invalid="ignore"):
            bias = np.where(acc_unit != 0, np.rint(b / acc_unit), 0)
        rec = np.zeros(o, REQ_RECORD)
        rec["bias"] = np.clip(bias, *REQ_LIMITS["bias"])
        for ch in range(o):
            rec["mult"][ch], rec["shift"][ch] = numerics.quantize_multiplier(acc_unit[ch] / y.scale)
        groups = -(-o // GROUP)
        bc = cfg.block_channels
        steps = kh * kw
        row = row_bytes(min(bc, o), n.attrs["code_bits"], n.attrs["stored_signs"])
        splits = input_splits(i, steps * row, cfg.mask_sram_bytes, n.name)
        table = b""
        if w.regenerated:  # lane start states for each input-channel split (jump-ahead)
            gen = get_generator(w.generator)
            starts = group_start_states(w.generator, w.seed, groups)
            table = b"".join(
                np.array([gen.jump(int(st), i0 * steps) for st in starts], LANE_STATE_DTYPE).tobytes()
                for i0, _ in splits)
        self.load("param", 0, table + req_record_bytes(rec, f"layer {n.name}"), cfg.param_sram_bytes, f"layer {n.name}")
        req_base = len(table)
        pads, stride = n.attrs["pads"], n.attrs["stride"]
        gen_id = get_generator(w.generator).gen_id if w.regenerated else 0
        in_addr, plane_in = self.addr[n.inputs[0]], h * wd
        mask_bytes = 0

        def load_split(blk: int, k: int, packed: bytes, oc0: int, occ: int) -> None:
            nonlocal mask_bytes
            i0, i1 = splits[k]
            rb = row_bytes(occ, n.attrs["code_bits"], n.attrs["stored_signs"])
            part = packed[i0 * steps * rb:i1 * steps * rb]
            self.load("mask", 0, part, cfg.mask_sram_bytes, f"layer {n.name} block {blk}",
                      shared="fold" in n.attrs)
            mask_bytes += len(part)
            if w.regenerated:
                self.emit("SETGEN", gen_id=gen_id, param_addr=LANE_STATE_BYTES * (k * groups + oc0 // GROUP),
                          count=-(-occ // GROUP))

        for blk, packed in enumerate(n.attrs["mask_blocks"]):
            oc0 = blk * bc
            occ = min(bc, o - oc0)
            if len(splits) == 1:
                load_split(blk, 0, packed, oc0, occ)
            chunk = min(npix, cfg.acc_sram_words // occ // cfg.pixels * cfg.pixels)
            if chunk <= 0:
                raise CapacityError(f"layer {n.name}: {occ} channels x {cfg.pixels} pixels of "
                                    f"accumulators exceed the acc SRAM ({cfg.acc_sram_words} words)")
            for p0 in range(0, npix, chunk):
                pc = min(chunk, npix - p0)
                for k, (i0, i1) in enumerate(splits):
                    if len(splits) > 1:  # split layers reload their rows for every pixel chunk
                        load_split(blk, k, packed, oc0, occ)
                    self.emit("MAC", in_addr=in_addr + i0 * plane_in, acc_addr=0, in_c=i1 - i0,
                              in_h=h, in_w=wd, out_w=ow, kh=kh, kw=kw, stride_h=stride[0],
                              stride_w=stride[1], pad_t=pads[0], pad_l=pads[1], oc_count=occ,
                              pix_start=p0, pix_count=pc, mask_addr=0, code_bits=n.attrs["code_bits"],
                              stored_signs=int(n.attrs["stored_signs"]), accumulate=int(k > 0))
                self.emit("REQ", acc_addr=0, out_addr=self.addr[n.output] + oc0 * npix + p0, oc_count=occ,
                          pix_count=pc, out_plane=npix, param_addr=req_base + REQ_RECORD_BYTES * oc0,
                          relu=int(bool(n.attrs.get("relu"))))
                self.float_params.append({"instr": len(self.instrs) - 1, "offset": len(self.floats),
                                          "channels": occ})
                self.floats.extend((a[oc0:oc0 + occ] * wscale).astype("<f4").tobytes())
                self.floats.extend(b[oc0:oc0 + occ].astype("<f4").tobytes())
        self.layers.append({
            "name": n.name, "record": w.record, "kind": w.kind, "generator": w.generator, "seed": w.seed,
            "shape": list(w.shape), "weights": int(np.prod(w.shape)), "nonzero": int(np.count_nonzero(w.mask)),
            "code_bits": n.attrs["code_bits"], "mask_bytes": mask_bytes, "param_bytes": len(table) + o * REQ_RECORD_BYTES,
            "blocks": len(n.attrs["mask_blocks"]), "input_splits": len(splits),
            "fold": list(n.attrs["fold"]) if "fold" in n.attrs else None,
            "fingerprint": w.fingerprint()})

    def add(self, n: Node) -> None:
        va, vb, vy = (self.g.values[v] for v in (*n.inputs, n.output))
        ra, rb = va.scale / vy.scale, vb.scale / vy.scale
        _, shift = numerics.quantize_multiplier(max(ra, rb))
        ma, mb = (min(MULT_MAX, int(round(r * 2**shift))) for r in (ra, rb))
        self.emit("ADD", a_addr=self.addr[n.inputs[0]], b_addr=self.addr[n.inputs[1]],
                  out_addr=self.addr[n.output], length=math.prod(vy.shape), mult_a=ma, mult_b=mb,
                  shift=shift, relu=int(bool(n.attrs.get("relu"))))

    def pool(self, n: Node) -> None:
        x, y = self.g.values[n.inputs[0]], self.g.values[n.output]
        c, h, wd = as_chw(x.shape)
        _, oh, ow = as_chw(y.shape)
        if n.op is Op.GLOBALAVGPOOL:
            kernel, stride, pads = (h, wd), (1, 1), (0, 0, 0, 0)
        else:
            kernel, stride, pads = n.attrs["kernel"], n.attrs["stride"], n.attrs["pads"]
        fields = dict(in_addr=self.addr[n.inputs[0]], out_addr=self.addr[n.output], channels=c, in_h=h,
                      in_w=wd, out_h=oh, out_w=ow, kh=kernel[0], kw=kernel[1], stride_h=stride[0],
                      stride_w=stride[1], pad_t=pads[0], pad_l=pads[1])
        if n.op is Op.MAXPOOL:
            self.emit("MAXPOOL", **fields)
        else:
            mult, shift = numerics.quantize_multiplier(x.scale / (y.scale * kernel[0] * kernel[1]))
            self.emit("AVGPOOL", mult=mult, shift=shift, **fields)

    def io(self, names: tuple[str, ...], store: bool) -> list[dict]:
        out = []
        for name in names:
            v = self.g.values[name]
            size = math.prod(v.shape)
            at = self.dram(b"\0" * size)
            self.emit("DMA_STORE" if store else "DMA_LOAD", space=isa.SPACE_ACT, sram_addr=self.addr[name],
                      dram_addr=at, length=size)
            out.append({"name": v.onnx_name or name, "shape": list(v.shape), "scale": v.scale,
                        "dram_addr": at})
        return out


def generate(g: Graph, cfg: HwConfig) -> Program:
    """Emit the program for a graph that went through fuse_epilogues, quantize and pack_masks."""
    e = _Emitter(g, cfg)
    inputs = e.io(g.inputs, store=False)
    for n in g.nodes:
        if n.op is Op.CONV:
            e.conv(n)
        elif n.op is Op.ADD:
            e.add(n)
        elif n.op in (Op.MAXPOOL, Op.AVGPOOL, Op.GLOBALAVGPOOL):
            e.pool(n)
        elif n.op in ALIAS_OPS:
            continue
        else:
            raise ModelStructureError(
                f"node {n.name}: a standalone {n.op.value} (not right after a Conv/Gemm/MatMul or Add) "
                f"cannot run on the accelerator")
        e.checkpoint(n.output)
    outputs = e.io(g.outputs, store=True)
    e.emit("HALT")
    if len(e.instrs) > cfg.instr_words:
        raise CapacityError(f"the program has {len(e.instrs)} instructions; the instruction memory "
                            f"holds {cfg.instr_words}")
    manifest = {"model": g.name, "inputs": inputs, "outputs": outputs, "checkpoints": e.checkpoints,
                "float_params": e.float_params, "layers": e.layers, "notes": list(g.notes)}
    return Program(cfg, tuple(e.instrs), bytes(e.image), bytes(e.floats), manifest)
