"""The tiling planner: how one layer is cut to fit the accelerator's memories.

A conv layer is cut three ways (docs/compiler.md):
- output-channel blocks of at most 16·LANES channels (one MAC covers all lanes);
- pixel chunks per block, as many output pixels as the accumulator SRAM holds for the
  block's channels (a multiple of PIXELS, the array's pixel width);
- input-channel splits, when a block's mask rows exceed the mask SRAM. A layer split in
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
from seedcc.rtl_models.masks import row_bytes

Range = tuple[int, int]


@dataclass(frozen=True)
class ConvTiling:
    blocks: tuple[Range, ...]  # (first output channel, channels) per block
    chunks: tuple[tuple[Range, ...], ...]  # per block: (first pixel, pixels) per chunk
    splits: tuple[Range, ...]  # input-channel ranges [i0, i1)


def input_splits(in_c: int, bytes_per_channel: int, capacity: int, layer: str) -> list[Range]:
    """Input-channel ranges whose mask rows (`bytes_per_channel` each) fit `capacity`."""
    per = capacity // bytes_per_channel
    if per == 0:
        raise CapacityError(f"layer {layer}: the mask rows of one input channel ({bytes_per_channel} "
                            f"bytes) exceed the mask SRAM ({capacity} bytes)")
    return [(i0, min(i0 + per, in_c)) for i0 in range(0, in_c, per)]


def pixel_chunks(npix: int, channels: int, cfg: HwConfig, layer: str) -> tuple[Range, ...]:
    """Output-pixel ranges whose accumulators (channels × pixels words) fit the acc SRAM."""
    chunk = min(npix, cfg.acc_sram_words // channels // cfg.pixels * cfg.pixels)
    if chunk <= 0:
        raise CapacityError(f"layer {layer}: {channels} channels x {cfg.pixels} pixels of "
                            f"accumulators exceed the acc SRAM ({cfg.acc_sram_words} words)")
    return tuple((p0, min(chunk, npix - p0)) for p0 in range(0, npix, chunk))


def plan_conv(n: Node, out_shape: tuple[int, ...], cfg: HwConfig) -> ConvTiling:
    """Blocks, chunks and splits of a packed CONV node whose output has `out_shape`."""
    o, i, kh, kw = n.attrs["weight"].shape
    _, oh, ow = as_chw(out_shape)
    bc = cfg.block_channels
    row = row_bytes(min(bc, o), n.attrs["code_bits"], n.attrs["stored_signs"])
    blocks = tuple((oc0, min(bc, o - oc0)) for oc0 in range(0, o, bc))
    return ConvTiling(blocks=blocks,
                      chunks=tuple(pixel_chunks(oh * ow, occ, cfg, n.name) for _, occ in blocks),
                      splits=tuple(input_splits(i, kh * kw * row, cfg.mask_sram_bytes, n.name)))
