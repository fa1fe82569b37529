"""The tiling planner: how one layer is cut to fit the accelerator's memories.

A conv layer is cut three ways (docs/compiler.md):
- output-channel blocks of at most 16·LANES channels (one MAC covers all lanes);
- pixel chunks per block, a multiple of the pixel tile (PIXELS, the array's pixel width,
  times the copies of the block's lanes that the idle lanes hold, `HwConfig.lane_copies`)
  of about a quarter of the pixels, at most as many tiles as half the accumulator SRAM has
  rows (a row holds one tile's accumulators, a word a PE): the chunks alternate halves, so that REQ drains one chunk's
  accumulators in the background while the next chunk's MACs fill the other half. A
  layer with input-channel splits (which load their mask rows again for every chunk), or
  whose tile does not fit half the SRAM, takes chunks as large as the whole SRAM holds;
- input-channel splits, when a block's mask rows exceed half the mask SRAM (so that the
  next split's rows can load in the background while this one's MACs run; the whole
  SRAM for a fold region's layers, whose rows stay resident). A layer split in
  k parts runs k MACs per pixel chunk, accumulating; part k starts its lanes from the
  generator state after i0·KH·KW steps (the regeneration schedule's jump-ahead states).

Plans are pure functions of the layer's shapes and the `HwConfig`; the op's lowering
(`seedcc.ir.ops.conv`) turns a plan into instructions.
"""

from __future__ import annotations

from dataclasses import dataclass

from seedcc.errors import CapacityError
from seedcc.ir import Node, as_chw
from seedcc.rtl_models.hwconfig import HwConfig

Range = tuple[int, int]


@dataclass(frozen=True)
class ConvTiling:
    blocks: tuple[Range, ...]  # (first output channel, channels) per block
    chunks: tuple[tuple[Range, ...], ...]  # per block: (first pixel, pixels) per chunk
    splits: tuple[Range, ...]  # input-channel ranges [i0, i1)
    double_buffered: bool = False
    """The chunks fit half the acc SRAM and alternate two accumulator buffers, the REQ unit
    draining one while the next chunk's MACs fill the other."""


def span_bytes(lo_bit: int, hi_bit: int) -> int:
    """Bytes a DMA loads for the mask bits [lo_bit, hi_bit) (whole bytes around them)."""
    return -(-hi_bit // 8) - lo_bit // 8


def input_splits(offsets: tuple[tuple[int, ...], ...], capacity: int, layer: str) -> list[Range]:
    """Input-channel ranges whose mask data fit `capacity` in every block; `offsets[b][i]` is
    the bit where input channel i of block b starts (`pack_masks`)."""
    in_c = len(offsets[0]) - 1 if offsets else 0
    out: list[Range] = []
    i0 = 0
    while i0 < in_c:
        i1 = i0
        while i1 < in_c and all(span_bytes(off[i0], off[i1 + 1]) <= capacity for off in offsets):
            i1 += 1
        if i1 == i0:
            need = max(span_bytes(off[i0], off[i0 + 1]) for off in offsets)
            raise CapacityError(f"layer {layer}: the mask rows of one input channel ({need} "
                                f"bytes) exceed the mask SRAM ({capacity} bytes)")
        out.append((i0, i1))
        i0 = i1
    return out


#: a layer's pixels are cut in about this many chunks when REQ drains in the background, so
#: that only the last chunk's REQ is not hidden under MACs
DRAIN_CHUNKS = 4


def pixel_chunks(npix: int, channels: int, cfg: HwConfig, layer: str,
                 words: int | None = None) -> tuple[Range, ...]:
    """Output-pixel ranges whose accumulators fit `words` of the acc SRAM (all of it by
    default): whole rows of the acc SRAM, a pixel tile each (PIXELS times the lane copies,
    `HwConfig.acc_span`); with `words` given (half the SRAM, the chunks alternating
    halves), also no more than about npix / DRAIN_CHUNKS pixels."""
    rows = (cfg.acc_sram_words if words is None else words) // cfg.pes
    unit = cfg.pixels << cfg.lane_copies(channels, npix)
    chunk = min(npix, rows * unit)
    if words is not None and chunk > 0:
        chunk = min(chunk, -(-npix // (DRAIN_CHUNKS * unit)) * unit)
    if chunk <= 0:
        raise CapacityError(f"layer {layer}: one row of accumulators ({cfg.pes} words, one a PE) "
                            f"exceeds the acc SRAM ({cfg.acc_sram_words} words); raise acc_sram_words")
    return tuple((p0, min(chunk, npix - p0)) for p0 in range(0, npix, chunk))


def plan_conv(n: Node, out_shape: tuple[int, ...], cfg: HwConfig, drain: bool = True) -> ConvTiling:
    """Blocks, chunks and splits of a packed CONV node whose output has `out_shape`; with
    `drain` off, chunks as large as the whole acc SRAM holds (fewest instructions, every REQ
    in the foreground)."""
    o = n.attrs["weight"].shape[0]
    _, oh, ow = as_chw(out_shape)
    bc = cfg.block_channels
    blocks = tuple((oc0, min(bc, o - oc0)) for oc0 in range(0, o, bc))
    splits = None
    if "fold" not in n.attrs:  # half the mask SRAM: the next split's rows load during this one's MACs
        try:
            splits = input_splits(n.attrs["mask_offsets"], cfg.mask_sram_bytes // 2, n.name)
        except CapacityError:
            pass
    if splits is None:
        splits = input_splits(n.attrs["mask_offsets"], cfg.mask_sram_bytes, n.name)
    # chunks in halves of the acc SRAM, so that REQ drains one while the MACs fill the other;
    # not with input-channel splits, which load their mask rows again for every chunk, nor
    # when a tile does not fit half
    chunks = None
    if drain and len(splits) == 1:
        try:
            chunks = tuple(pixel_chunks(oh * ow, occ, cfg, n.name, cfg.acc_sram_words // 2)
                           for _, occ in blocks)
        except CapacityError:
            pass
    double = chunks is not None
    if chunks is None:
        chunks = tuple(pixel_chunks(oh * ow, occ, cfg, n.name) for _, occ in blocks)
    return ConvTiling(blocks=blocks, chunks=chunks, splits=tuple(splits), double_buffered=double)


#: row-band buffers take at most 1/BAND_SHARE of the act SRAM (`spill_activations`)
BAND_SHARE = 4


def row_bands_out(n: Node, out_shape: tuple[int, ...], cfg: HwConfig, budget: int) -> tuple[int, int]:
    """(output rows per band, band buffer bytes) of a conv that writes its output to
    off-chip memory in row bands: one channel block's rows (its REQ output) at a time."""
    o, oh, ow = as_chw(out_shape)
    occ = min(o, cfg.block_channels)
    rows = min(oh, budget // (occ * ow))
    if rows < 1:
        raise CapacityError(f"layer {n.name}: one output row of a {occ}-channel block needs "
                            f"{occ * ow} bytes of band buffer, more than a quarter of the act SRAM "
                            f"({cfg.act_sram_bytes} bytes); use a larger act_sram_bytes")
    return rows, occ * rows * ow


def band_input_rows(rows: int, kh: int, stride: int) -> int:
    """Input rows a band of `rows` output rows reads (its halo included)."""
    return (rows - 1) * stride + kh


def row_bands_in(n: Node, in_shape: tuple[int, ...], out_shape: tuple[int, ...],
                 budget: int) -> tuple[int, int]:
    """(output rows per band, band buffer bytes) of a pool that reads its input from
    off-chip memory in row bands, each with the rows its windows need."""
    c, _, w = as_chw(in_shape)
    kh, sh = n.attrs["kernel"][0], n.attrs["stride"][0]
    rows = min(as_chw(out_shape)[1], (budget // (c * w) - kh) // sh + 1)
    if rows < 1:
        need = c * w * kh
        raise CapacityError(f"layer {n.name}: one output row reads {kh} input rows of {c} channels, "
                            f"{need} bytes of band buffer, more than a quarter of the act SRAM "
                            f"({budget * BAND_SHARE} bytes); use a larger act_sram_bytes")
    return rows, c * band_input_rows(rows, kh, sh) * w
