"""CONV: a masked convolution or dense layer (ONNX Conv, Gemm, MatMul with a constant weight).

Attributes: `weight` (a `WeightSpec`, canonical (O, I, KH, KW)), `stride`, `pads`, `bias`;
after `fuse_epilogues` also `affine` = (a, b) per output channel (y = a·(W x) + b) and
`relu`; after `pack_masks` `mask_stream`, `mask_offsets`, `code_bits`, `stored_signs`,
`freeze`; in a fold group `fold` = (group, iteration). A dense layer reads its (F,) input as F channels of 1x1.

Lowering (docs/compiler.md): the layer's parameter table (lane start states of every
input-channel split, then one requantisation record per output channel) goes to the
param SRAM (a frozen layer's freeze start states after the lane states); per channel
block the mask data are loaded and the lanes set (SETGEN; SETFRZ for a frozen layer), then
MAC + REQ run over pixel chunks that fit the accumulators. A layer split by input channel
accumulates its parts, each starting its lanes from jumped-ahead states (the regeneration
schedule). The `schedule_regeneration` pass has chosen the blocks, chunks and splits
(`tiling`) and the lane start states of every split (`lane_states`); lowering follows them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from seedcc.errors import CapacityError, ModelStructureError
from seedcc.ir.ops.base import (
    OpDef,
    Shape,
    as_chw,
    fused_relu,
    is_unsigned,
    saturating_multiplier,
    window_attrs,
    window_out,
)
from seedcc.rtl_models.generators import get_generator
from seedcc.rtl_models.hwfacts import (
    ACC_BYTES,
    FREEZE_STATE_BYTES,
    FREEZE_STATE_DTYPE,
    FREEZE_STATES_PER_WORD,
    GROUP,
    LANE_STATE_BYTES,
    LANE_STATE_DTYPE,
    REQ_LIMITS,
    REQ_RECORD,
    REQ_RECORD_BYTES,
    req_record_bytes,
)

F32_MAX = float(np.finfo(np.float32).max)
MAX_ROW = 4095  # the widest MAC row (its in_w / out_w fields: docs/isa.md)


def node_grid(n: int) -> tuple[int, int]:
    """(h, w) with h·w = n and w <= MAX_ROW, w as large as possible: how a 1x1 layer on a
    rank-2 activation of n nodes/tokens (stored as one row of n pixels) is given to MAC
    when n is wider than a row."""
    if n <= MAX_ROW:
        return 1, n
    w = next(w for w in range(MAX_ROW, 0, -1) if n % w == 0)
    if n // w > MAX_ROW:
        raise CapacityError(f"{n} nodes: no grid of at most {MAX_ROW}x{MAX_ROW} pixels holds them")
    return n // w, w


#: about the bytes of window matrix (im2col rows) `conv2d` gathers and multiplies at a time:
#: enough rows for an efficient matrix product, few enough that a 224x224 batch's window
#: matrix (gigabytes) is never built whole
CONV_BLOCK_BYTES = 32 << 20


def _blocks(b: int, oh: int, row: int) -> list[tuple[slice, slice]]:
    """(samples, output rows) pieces of a (b, oh, ...) output of `row` window-matrix bytes
    an output row: whole samples when one fits CONV_BLOCK_BYTES, else rows of one sample."""
    rows = max(1, CONV_BLOCK_BYTES // max(row, 1))
    if rows >= oh:
        per = rows // oh
        return [(slice(s, s + per), slice(0, oh)) for s in range(0, b, per)]
    return [(slice(s, s + 1), slice(y, y + rows)) for s in range(b) for y in range(0, oh, rows)]


def conv2d(x: np.ndarray, w: np.ndarray, stride: tuple[int, int], pads: tuple[int, int, int, int],
           scale: np.ndarray | None = None, shift: np.ndarray | None = None,
           relu: bool = False) -> np.ndarray:
    """relu(scale·(W x) + shift) per output channel, float32 (scale, shift: (O,) or None):
    x (B, C, H, W), (B, F) or (B, N, F); w (O, I, KH, KW) -> (B, O, OH, OW), (B, O) or (B, N, O)."""
    o = w.shape[0]
    w = np.asarray(w, np.float32)
    if x.ndim in (2, 3):
        return _epilogue(np.asarray(x, np.float32) @ w.reshape(o, -1).T, scale, shift, relu)
    # channels last, so the window matrix is gathered in runs of kw·C floats (a view for 1x1),
    # one block at a time, each multiplied straight into the channels-last output
    pt, pl, pb, pr = pads
    b, c, h, wd = x.shape
    kh, kw = w.shape[2:]
    if any(pads):
        xl = np.zeros((b, h + pt + pb, wd + pl + pr, c), np.float32)
        xl[:, pt:pt + h, pl:pl + wd] = x.transpose(0, 2, 3, 1)
    else:
        xl = np.ascontiguousarray(x.transpose(0, 2, 3, 1), np.float32)
    win = sliding_window_view(xl, (kh, kw), axis=(1, 2))[:, :: stride[0], :: stride[1]]
    win = win.transpose(0, 1, 2, 4, 5, 3)  # (b, oh, ow, ky, kx, i)
    oh, ow, k = win.shape[1], win.shape[2], c * kh * kw
    wm = w.transpose(0, 2, 3, 1).reshape(o, k).T  # rows (ky, kx, i), as the window matrix's columns
    out = np.empty((b, oh, ow, o), np.float32)
    for samples, rows in _blocks(b, oh, 4 * ow * k):
        dst = out[samples, rows].reshape(-1, o)
        _epilogue(np.matmul(win[samples, rows].reshape(-1, k), wm, out=dst), scale, shift, relu)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def _epilogue(y: np.ndarray, scale: np.ndarray | None, shift: np.ndarray | None,
              relu: bool) -> np.ndarray:
    """relu(scale·y + shift) in place, channels on y's last axis."""
    if scale is not None:
        y *= np.asarray(scale, np.float32)
    if shift is not None:
        y += np.asarray(shift, np.float32)
    if relu:
        np.maximum(y, 0, out=y)
    return y


def requant_records(n: Any, x_scale: float, y_scale: float, wide: bool = False
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Per-channel REQ records for y = a·(W x) + b (`affine_records`), and (a, b, weight
    scale) for the float mode."""
    w = n.attrs["weight"]
    a, b = (np.asarray(t, np.float64) for t in n.attrs["affine"])
    wscale = w.scale * w.multiplier
    rec = affine_records(a, b, wscale, x_scale, y_scale, wide)
    return rec, a, b, wscale


def acc_units(a: np.ndarray, wscale: float, x_scale: float) -> np.ndarray:
    """The real value of one accumulator step of each channel of y = a·(wscale·x_scale·acc)
    + b: the weight scale times the input scale, before the affine."""
    return np.asarray(a, np.float64) * wscale * x_scale


def affine_records(a: np.ndarray, b: np.ndarray, wscale: float, x_scale: float,
                   y_scale: float, wide: bool = False) -> np.ndarray:
    """Per-channel REQ records for y = a·(wscale·x_scale·acc) + b: the bias b in accumulator
    steps, and the multiplier and shift of one step to the output scale. For an int32 output
    (`wide`) the multiplier is the step's sign and the shift 0, so the REQ writes
    (acc + bias)·sign, worth |one step| each (`wide_scales`), and a ReLU keeps its meaning."""
    acc_unit = acc_units(a, wscale, x_scale)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # inf is clipped below
        bias = np.where(acc_unit != 0, np.rint(b / acc_unit), 0)
    rec = np.zeros(len(a), REQ_RECORD)
    rec["bias"] = np.clip(bias, *REQ_LIMITS["bias"])
    if wide:
        rec["mult"] = np.sign(acc_unit)
        return rec
    for ch in range(len(a)):
        rec["mult"][ch], rec["shift"][ch] = saturating_multiplier(acc_unit[ch] / y_scale)
    return rec


def wide_scales(a: np.ndarray, wscale: float, x_scale: float) -> tuple[float, ...]:
    """Per-channel scales of an int32 output written with `affine_records(wide=True)`."""
    return tuple(float(u) for u in np.abs(acc_units(a, wscale, x_scale)))


def within_bands(chunks: tuple[tuple[int, int], ...], bands: list[tuple[int, int]]
                 ) -> list[tuple[int, int, int, int]]:
    """(band start, band end, first pixel, pixels) of every pixel chunk cut at the bands'
    edges, band by band: without bands ([(0, npix)]) the chunks themselves."""
    out = []
    for b0, b1 in bands:
        for p0, pc in chunks:
            lo, hi = max(p0, b0), min(p0 + pc, b1)
            if lo < hi:
                out.append((b0, b1, lo, hi - lo))
    return out


class Conv(OpDef):
    name = "conv"
    onnx = ("Conv", "Gemm", "MatMul")
    reads_unsigned = writes_wide = True
    relu_output = staticmethod(fused_relu)
    attrs = ("weight", "stride", "pads")

    @staticmethod
    def claims(ctx: Any, node: Any) -> bool:
        """Not a MatMul whose constant is its left operand (an AGGREGATE), nor one of two
        activations (a MATMUL)."""
        return not (node.op_type == "MatMul" and not ctx.is_const(node.input[1]))

    @staticmethod
    def from_onnx(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> None:
        op, ins = node.op_type, list(node.input)
        if op == "MatMul" and not any(ctx.is_const(i) for i in ins[:2]):
            raise ModelStructureError(
                f"{ctx.where}: node {name}: MatMul of two activations ({ins[0]!r}, {ins[1]!r}) is not "
                f"supported; a layer's weight, and a graph network's normalised adjacency, must be "
                f"constant initializers")
        w = ctx.const(ins[1], name)
        if op == "Conv":
            if a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])):
                raise ModelStructureError(f"{ctx.where}: node {name}: grouped or dilated Conv is not supported")
            if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise ModelStructureError(f"{ctx.where}: node {name}: auto_pad is not supported; use explicit pads")
            if w.ndim != 4:
                raise ModelStructureError(f"{ctx.where}: node {name}: only 2-D Conv is supported; its "
                                          f"weight must be (O, I, KH, KW), is {w.shape}")
            if "kernel_shape" in a and tuple(a["kernel_shape"]) != w.shape[2:]:
                raise ModelStructureError(
                    f"{ctx.where}: node {name}: kernel_shape {list(a['kernel_shape'])} contradicts "
                    f"the weight's kernel {list(w.shape[2:])}; fix the attribute or drop it")
            bias = ctx.const(ins[2], name) if len(ins) > 2 and ins[2] else None
            stride, pads = window_attrs(ctx, name, a)
            spec = ctx.weight(node, name, w)
        else:
            if op == "Gemm" and a.get("transA", 0):
                raise ModelStructureError(f"{ctx.where}: node {name}: Gemm with transA=1 is not supported")
            if w.ndim != 2:
                raise ModelStructureError(f"{ctx.where}: node {name}: {op} weight must be 2-D, is {w.shape}")
            for key in ("alpha", "beta"):
                if not abs(float(a.get(key, 1.0))) <= F32_MAX:  # also NaN
                    raise ModelStructureError(f"{ctx.where}: node {name}: {key}={a[key]!r} must be a "
                                              f"finite float32 number")
            spec = ctx.weight(node, name, w, trans_b=a.get("transB", 0), alpha=float(a.get("alpha", 1.0)))
            bias = None
            if op == "Gemm" and len(ins) > 2 and ins[2]:
                with np.errstate(over="ignore"):  # checked below
                    bias = ctx.const(ins[2], name) * np.float32(a.get("beta", 1.0))
                if not np.isfinite(bias).all():
                    raise ModelStructureError(f"{ctx.where}: node {name}: beta times the bias "
                                              f"{ins[2]!r} overflows float32")
                if bias.size == 1 or bias.shape == (1, spec.shape[0]):
                    bias = np.broadcast_to(bias.reshape(-1), (spec.shape[0],))
            stride, pads = (1, 1), (0, 0, 0, 0)
        if bias is not None and np.shape(bias) != (spec.shape[0],):
            raise ModelStructureError(f"{ctx.where}: node {name}: bias {ins[2]!r} has shape "
                                      f"{np.shape(bias)}; it must hold one value per output "
                                      f"channel ({spec.shape[0]},)")
        ctx.emit(Conv, name, ins[:1], node.output[0], weight=spec, stride=stride, pads=pads,
                 bias=None if bias is None else np.asarray(bias, np.float32))

    @staticmethod
    def infer(attrs: Mapping[str, Any], ins: list[Shape]) -> Shape:
        o, i, kh, kw = attrs["weight"].shape
        if len(ins[0]) in (1, 2):  # (F,) or rank-2 (N, F): a 1x1 conv on the stored (F, 1, N)
            if ins[0][-1] != i * kh * kw or (kh, kw) != (1, 1):
                raise ValueError(f"dense layer expects {i} features, input has {ins[0][-1]}")
            return (*ins[0][:-1], o)
        c, h, wd = as_chw(ins[0])
        if c != i:
            raise ValueError(f"weight expects {i} input channels, input has {c}")
        (sh, sw), (pt, pl, pb, pr) = attrs["stride"], attrs["pads"]
        return (o, window_out(h, kh, sh, pt, pb), window_out(wd, kw, sw, pl, pr))

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        a = n.attrs
        scale, shift = a["affine"] if a.get("affine") is not None else (None, a.get("bias"))
        return conv2d(ins[0], a["weight"].effective(), a["stride"], a["pads"], scale, shift,
                      bool(a.get("relu")))

    @staticmethod
    def lower(n: Any, em: Any) -> None:
        w, x, y = n.attrs["weight"], em.value(n.inputs[0]), em.value(n.output)
        o, _, kh, kw = w.shape
        _, h, wd = as_chw(x.shape)
        _, _, ow = as_chw(y.shape)
        npix = int(np.prod(as_chw(y.shape)[1:]))
        if len(x.shape) == 2:  # rank 2: any (h, w) grid of the N nodes is the same 1x1 conv
            h, wd = node_grid(wd)
            ow = wd
        assert "tiling" in n.attrs, f"{n.name}: code generation needs the schedule_regeneration pass"
        plan, states = n.attrs["tiling"], n.attrs["lane_states"]
        wide = y.dtype == "int32"  # a graph output left at accumulator precision
        rec, a, b, wscale = requant_records(n, x.scale, y.scale, wide)
        if wide:
            em.channel_scales[n.output] = wide_scales(a, wscale, x.scale)
        groups = -(-o // GROUP)
        table = b"".join(np.array(split, LANE_STATE_DTYPE).tobytes() for split in states)
        freeze, frozen_at = n.attrs.get("freeze"), len(table)
        per_split = -(-o // FREEZE_STATES_PER_WORD) * FREEZE_STATES_PER_WORD  # word-aligned tables
        for split in n.attrs.get("freeze_states", ()):
            table += np.resize(np.asarray(split, FREEZE_STATE_DTYPE), per_split).tobytes()
        param = em.load("param", table + req_record_bytes(rec, f"layer {n.name}"), f"layer {n.name}")
        gen_id = get_generator(w.generator).gen_id if w.regenerated else 0
        code_bits, signs = n.attrs["code_bits"], n.attrs["stored_signs"]
        mask_bytes = 0

        def load_rows(blk: int, k: int, oc0: int, occ: int) -> tuple[int, int]:
            """Load split k of block blk's mask data and set its lanes (and freeze registers)."""
            nonlocal mask_bytes
            i0, i1 = plan.splits[k]
            lo, hi = n.attrs["mask_offsets"][blk][i0], n.attrs["mask_offsets"][blk][i1]
            at, loaded = em.mask_rows(n, blk, lo, hi, whole=len(plan.splits) == 1)
            mask_bytes += loaded
            if w.regenerated:
                em.emit("SETGEN", gen_id=gen_id, param_addr=param + LANE_STATE_BYTES * (k * groups + oc0 // GROUP),
                        count=-(-occ // GROUP))
            if freeze is not None:
                em.emit("SETFRZ", param_addr=param + frozen_at + FREEZE_STATE_BYTES * (k * per_split + oc0),
                        channels=occ, prune_thr=freeze.prune_thr, lock_thr=freeze.lock_thr,
                        lock_code=freeze.lock_code)
            return at, lo % 8

        # row bands of an output written to off-chip memory (`bands_out`): each block's REQs
        # fill the band buffer, then one DMA_STORE per channel moves the band's rows out
        band_rows = n.attrs.get("bands_out")
        bands = [(0, npix)] if band_rows is None else [
            (oy * ow, min(npix, (oy + band_rows) * ow)) for oy in range(0, npix // ow, band_rows)]
        # REQs drain in the background while the next chunk's MACs run into the other half of
        # the accumulators (`plan.double_buffered`), all but the layer's last and those whose band
        # goes off chip next
        work = sum(len(within_bands(chunks, bands)) for chunks in plan.chunks)
        cfg = em.cfg
        second = max(cfg.acc_span(occ, pc, cfg.lane_copies(occ, pc)) for (_, occ), chunks
                     in zip(plan.blocks, plan.chunks) for _, pc in chunks) if plan.double_buffered else 0
        # (the other buffer's first row)
        seq = 0
        for blk, (oc0, occ) in enumerate(plan.blocks):
            rows = load_rows(blk, 0, oc0, occ) if len(plan.splits) == 1 else None
            for b0, b1, p0, pc in within_bands(plan.chunks[blk], bands):
                acc, copies = seq % 2 * second, cfg.lane_copies(occ, pc)
                band_done = band_rows is not None and p0 + pc == b1
                oy0, ox0 = divmod(p0, ow)  # the MAC takes its first pixel as coordinates
                for k, (i0, i1) in enumerate(plan.splits):
                    at, bit = rows if rows is not None else load_rows(blk, k, oc0, occ)
                    em.emit("MAC", in_addr=em.addr(n.inputs[0]) + i0 * h * wd, acc_row=acc, in_c=i1 - i0,
                            in_h=h, in_w=wd, out_w=ow, kh=kh, kw=kw, stride_h=n.attrs["stride"][0],
                            stride_w=n.attrs["stride"][1], pad_t=n.attrs["pads"][0], pad_l=n.attrs["pads"][1],
                            oc_count=occ, start_oy=oy0, start_ox=ox0, pix_count=pc, mask_addr=at,
                            code_bits=code_bits, stored_signs=int(signs), accumulate=int(k > 0),
                            frozen=int(freeze is not None), mask_bit=bit,
                            rep_log2=copies, x_unsigned=is_unsigned(x))
                    if rows is None:
                        em.release("mask", at)
                out, plane = ((em.addr(n.output) + (oc0 * npix + p0) * (ACC_BYTES if wide else 1), npix)
                              if band_rows is None else (em.band(n) + p0 - b0, b1 - b0))
                seq += 1
                em.emit("REQ", acc_row=acc, out_addr=out, oc_count=occ, pix_count=pc, out_plane=plane,
                        param_addr=param + len(table) + REQ_RECORD_BYTES * oc0, relu=int(bool(n.attrs.get("relu"))),
                        background=int(plan.double_buffered and seq < work and not band_done),
                        rep_log2=copies, out_unsigned=is_unsigned(y), out_wide=int(wide))
                em.acc_peak = max(em.acc_peak, (acc + cfg.acc_span(occ, pc, copies)) * cfg.pes)
                em.float_affine(a[oc0:oc0 + occ] * wscale, b[oc0:oc0 + occ])
                if band_done:  # the band is done: its rows go out
                    for c in range(occ):
                        em.offchip_store(n.output, em.band(n) + c * (b1 - b0), (oc0 + c) * npix + b0, b1 - b0)
            if rows is not None:
                em.release("mask", rows[0])
        em.release("param", param)
        em.layer_done(n, mask_bytes=mask_bytes, param_bytes=len(table) + o * REQ_RECORD_BYTES, seed_bytes=len(table),
                      blocks=len(plan.blocks), input_splits=len(plan.splits))

    @staticmethod
    def cost(n: Any, ins: list[Shape], out: Shape) -> int:
        o, i, kh, kw = n.attrs["weight"].shape
        _, oh, ow = as_chw(out)
        return o * i * kh * kw * oh * ow

    @staticmethod
    def scratch(n: Any, ins: list[Shape], out: Shape) -> int:
        """The padded input, a block of the im2col matrix (at most a sample's, at most
        CONV_BLOCK_BYTES), and the product before and after its transpose."""
        _, i, kh, kw = n.attrs["weight"].shape
        c, h, w = as_chw(ins[0])
        pt, pl, pb, pr = n.attrs["pads"]
        _, oh, ow = as_chw(out)
        cols = min(oh * ow * i * kh * kw, max(CONV_BLOCK_BYTES // 4, ow * i * kh * kw))
        return c * (h + pt + pb) * (w + pl + pr) + cols + 2 * math.prod(out)
