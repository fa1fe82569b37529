"""How a layer's weights are represented: regenerated from a seed, or stored.

A `WeightSpec` is the compiler's single description of one weight tensor, in canonical
(O, I, KH, KW) order. Effective weight = sign * scale * code * multiplier, where
- `sign` comes from the named generator and seed (random weights) or is stored,
- `code` is the mask: 0/1 for a supermask, 0..C for multicoat masks,
- `freeze` (optional) fixes some positions (0 pruned, 1 locked) that need no mask bit.
A dense (non-ternary) stored tensor keeps its values in `dense` instead.
`channel_scale` (optional, one float per output channel) is a factor an exporter's
optimiser multiplied into the weight (BatchNorm folded into the conv); it is not part of
the weights' identity (`fingerprint`), and `fuse_epilogues` moves it into the layer's
per-channel requantisation, after which it is None.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from seedcc.rtl_models.generators import sign_bits


@dataclass(frozen=True)
class Freeze:
    seed: int
    prune: float
    lock: float


@dataclass(frozen=True, eq=False)
class WeightSpec:
    shape: tuple[int, int, int, int]
    scale: float
    mask: np.ndarray  # uint8 codes, canonical shape
    record: str  # initializer (and record key) the weights come from
    generator: str | None = None  # None: signs (or dense values) are stored
    seed: int | None = None
    signs: np.ndarray | None = None  # stored sign bits (uint8 0/1), when generator is None
    dense: np.ndarray | None = None  # stored float32 weights that are not ternary
    multiplier: float = 1.0  # scalar factor of the weight expression
    freeze: Freeze | None = None
    channel_scale: np.ndarray | None = None  # float64 (O,), see the module docstring

    @property
    def regenerated(self) -> bool:
        return self.generator is not None

    @property
    def max_code(self) -> int:
        return int(self.mask.max()) if self.mask.size else 0

    @property
    def kind(self) -> str:
        if self.dense is not None:
            return "dense"
        if self.regenerated:
            return "random"
        return "stored-int8" if self.max_code > 1 else "stored-ternary"  # store_dense's codes

    def sign_bits(self) -> np.ndarray:
        """0/1 sign bits in canonical order (1 = +scale)."""
        if self.signs is not None:
            return self.signs

        assert self.generator is not None and self.seed is not None
        return sign_bits(self.generator, self.seed, self.shape)

    def effective(self) -> np.ndarray:
        """The float32 weight the layer computes with, canonical (O, I, KH, KW)."""
        if self.dense is not None:
            return self.dense.astype(np.float32)
        signed = np.where(self.sign_bits() == 1, np.float32(1), np.float32(-1))
        w = signed * np.float32(self.scale) * self.mask.astype(np.float32)
        w = w * np.float32(self.multiplier)
        if self.channel_scale is not None:
            w = w * self.channel_scale.astype(np.float32).reshape(-1, 1, 1, 1)
        return w.astype(np.float32)

    def fingerprint(self) -> str:
        """Identity of the weights (generator, seed, shape, scale, mask): equal fingerprints
        mean the same effective weights, which is what fold detection looks for."""
        h = hashlib.sha256()
        h.update(repr((self.generator, self.seed, self.shape, self.scale, self.multiplier)).encode())
        h.update(np.ascontiguousarray(self.mask).tobytes())
        for extra in (self.signs, self.dense):
            if extra is not None:
                h.update(np.ascontiguousarray(extra).tobytes())
        if self.freeze is not None:  # the packed stream depends on the freeze draw
            h.update(repr(self.freeze).encode())
        return h.hexdigest()[:16]

    def summary(self) -> str:
        o, i, kh, kw = self.shape
        nz = int(np.count_nonzero(self.mask))
        src = f"{self.generator} seed={self.seed}" if self.regenerated else self.kind
        code = f"codes 0..{self.max_code}" if self.max_code > 1 else "binary"
        txt = (f"{self.record} {o}x{i}x{kh}x{kw} {src} scale={self.scale:.6g} "
               f"mask={code} {nz}/{self.mask.size}")
        if self.multiplier != 1.0:
            txt += f" x{self.multiplier:.6g}"
        if self.freeze is not None:
            f = self.freeze
            txt += f" freeze(seed={f.seed}, prune={f.prune}, lock={f.lock})"
        if self.channel_scale is not None:
            txt += " x per-channel factor"
        return txt
