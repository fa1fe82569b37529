"""The seeds' size accounting: what a compiled program stores, against fp32 and against a
supermask model that stores its random weights. Formulas and sources: docs/sizes.md.

All figures come from the program's manifest (`LayerInfo` per weight layer). For a layer of
W weights with mask codes of b bits (b = 1 binary, ⌈log2(C+1)⌉ for multicoat codes 0..C)
and F frozen positions:
- fp32: 32·W bits; a supermask model that stores its weights: 32·W + W bits;
- mask bits: b·W, or b·(W − F) for a partially frozen layer: frozen positions keep no code,
  the MAC draws them on chip (`frozen_bits` is the difference; a multicoat layer whose
  locked positions carry different codes stores those too); a fold group's layers share
  one mask, counted once;
- per-channel parameters: one 8-byte requantisation record per output channel (and per
  feature of a graph aggregation, whose REQ carries BatchNorm and bias);
- seeds: one 8-byte lane start state per 16 output channels and input-channel split, and
  for a frozen layer one 2-byte freeze start state per output channel and split.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from seedcc.backends.manifest import LayerInfo, Manifest
from seedcc.rtl_models.hwfacts import REQ_RECORD_BYTES


@dataclass(frozen=True)
class SizeBreakdown:
    weights: int  # all layers, every fold iteration counted
    fp32_bytes: int
    stored_weights_bytes: int  # fp32 random weights + 1-bit mask, fold groups once
    mask_bits_by_width: tuple[tuple[int, int], ...]  # (code bits, mask bits stored), fold groups once
    mask_stored_by_width: tuple[tuple[int, int], ...]  # (code bits, bytes of mask data in the image)
    frozen_positions: int
    frozen_bits: int  # mask bits the freeze draw saves (frozen positions store no code)
    frozen_layers_stored: tuple[int, int]  # the frozen layers' (positions that keep a code, their bits)
    param_bytes: int  # requantisation records
    seed_bytes: int  # lane and freeze start states

    @property
    def mask_bits(self) -> int:
        return sum(bits for _, bits in self.mask_bits_by_width)

    @property
    def mask_stored_bytes(self) -> int:
        """Mask data as laid out in the memory image (rows padded to whole lanes; a frozen
        layer's codes back to back)."""
        return sum(n for _, n in self.mask_stored_by_width)

    @property
    def stored_bytes(self) -> int:
        return self.mask_stored_bytes + self.param_bytes + self.seed_bytes

    @property
    def vs_fp32(self) -> float:
        return self.fp32_bytes / max(self.stored_bytes, 1)

    def format(self) -> str:
        widths = ", ".join(f"{b}-bit codes {bits} bits" for b, bits in self.mask_bits_by_width)
        return "\n".join([
            f"size: {self.stored_bytes} bytes stored = masks {self.mask_stored_bytes} + per-channel "
            f"parameters {self.param_bytes} + seeds (lane and freeze start states) {self.seed_bytes}",
            f"  vs fp32 {self.fp32_bytes} bytes: {self.vs_fp32:.1f}x smaller; vs a supermask model "
            f"storing its weights {self.stored_weights_bytes} bytes: "
            f"{self.stored_weights_bytes / max(self.stored_bytes, 1):.1f}x smaller",
            f"  mask bits: {self.mask_bits} ({widths or 'none'}); rows padded to whole lanes in the image",
            f"  frozen positions: {self.frozen_positions}, drawn on chip: {self.frozen_bits} mask bits "
            f"not stored; the frozen layers store {self.frozen_layers_stored[1]} bits for the "
            f"{self.frozen_layers_stored[0]} positions that keep a code" if self.frozen_positions else
            "  frozen positions: none (no layer has a freeze record)",
        ])


def _unique(layers: tuple[LayerInfo, ...]) -> list[LayerInfo]:
    """Layers that store their own mask: all but the later iterations of a fold group."""
    return [la for la in layers if la.fold is None or la.fold[1] == 0]


def size_breakdown(manifest: Manifest) -> SizeBreakdown:
    layers, unique = manifest.layers, _unique(manifest.layers)
    by_width: Counter[int] = Counter()
    stored: Counter[int] = Counter()
    for la in unique:
        by_width[la.code_bits] += la.mask_bits
        stored[la.code_bits] += la.mask_stored
    return SizeBreakdown(
        weights=sum(la.weights for la in layers),
        fp32_bytes=4 * sum(la.weights for la in layers),
        stored_weights_bytes=sum(4 * la.weights + -(-la.weights // 8) for la in unique),
        mask_bits_by_width=tuple(sorted(by_width.items())),
        mask_stored_by_width=tuple(sorted(stored.items())),
        frozen_positions=sum(la.frozen for la in unique),
        frozen_bits=sum(la.code_bits * la.weights - la.mask_bits for la in unique),
        frozen_layers_stored=(sum(la.mask_bits // la.code_bits for la in unique if la.frozen),
                              sum(la.mask_bits for la in unique if la.frozen)),
        param_bytes=sum(REQ_RECORD_BYTES * la.shape[0] for la in layers)
        + sum(g.param_bytes for g in manifest.graphs),
        seed_bytes=sum(la.seed_bytes for la in layers),
    )
