"""Off-chip memory of the reference model for a whole batch (see docs/refsim.md "Memory").

The static memory image is shared by all samples; byte ranges that can hold sample data
(inputs and act DMA_STORE targets, found before the run) are per-sample segments. Mask and
param traffic is confined to the image outside the segments, so the contents of the mask
and param SRAM never depend on the inputs; the MAC operand cache relies on this.
"""

from __future__ import annotations

import numpy as np

from seedcc.errors import ProgramFormatError


class Dram:
    """Off-chip memory for a batch: the shared static image plus per-sample segments.

    ``segments`` are disjoint byte ranges that may hold sample data (inputs and every act
    DMA_STORE target, found statically before the run); each is a (batch, length) array of
    the activation dtype, initialised from the image. Everything else is the image itself,
    shared by all samples. Mask/param SRAM traffic must stay inside the image and outside
    the segments, so mask and param contents never depend on the inputs.
    """

    def __init__(self, image: bytes, segments: list[tuple[int, int]], batch: int,
                 dtype: type[np.generic]) -> None:
        self.image = np.frombuffer(image, dtype=np.uint8)
        self.batch, self.dtype = batch, dtype
        self.segments: list[tuple[int, int, np.ndarray]] = []
        for start, end in segments:
            seg = np.zeros((batch, end - start), dtype=dtype)
            lo, hi = start, min(end, self.image.size)
            if lo < hi:
                seg[:, :hi - lo] = self.image[lo:hi].view(np.int8).astype(dtype)
            self.segments.append((start, end, seg))

    def read_samples(self, addr: int, n: int, where: str) -> np.ndarray:
        """(batch, n) activation values at [addr, addr+n): segments first, else the image."""
        out = np.zeros((self.batch, n), dtype=self.dtype)
        covered = np.zeros(n, dtype=bool)
        lo, hi = addr, min(addr + n, self.image.size)
        if lo < hi:
            out[:, :hi - lo] = self.image[lo:hi].view(np.int8).astype(self.dtype)
            covered[:hi - lo] = True
        for start, end, seg in self.segments:
            lo, hi = max(start, addr), min(end, addr + n)
            if lo < hi:
                out[:, lo - addr:hi - addr] = seg[:, lo - start:hi - start]
                covered[lo - addr:hi - addr] = True
        if not covered.all():
            first = addr + int(np.argmin(covered))
            raise ProgramFormatError(
                f"{where}: reads DRAM byte {first}, beyond the {self.image.size}-byte memory image "
                "and never written")
        return out

    def write_samples(self, addr: int, data: np.ndarray) -> None:
        if data.shape[1] == 0:  # an empty store writes nothing (and has no segment)
            return
        for start, end, seg in self.segments:
            if start <= addr and addr + data.shape[1] <= end:
                seg[:, addr - start:addr - start + data.shape[1]] = data
                return
        raise AssertionError(f"DRAM range [{addr}, {addr + data.shape[1]}) is in no segment")

    def _check_static(self, addr: int, n: int, where: str) -> None:
        if addr + n > self.image.size:
            raise ProgramFormatError(
                f"{where}: DRAM range [{addr}, {addr + n}) runs past the {self.image.size}-byte "
                "memory image; mask and param data must come from the image")
        for start, end, _ in self.segments:
            if start < addr + n and addr < end:
                raise ProgramFormatError(
                    f"{where}: DRAM range [{addr}, {addr + n}) overlaps [{start}, {end}), which "
                    "holds inputs or stored activations; mask and param data must not depend on them")

    def read_static(self, addr: int, n: int, where: str) -> np.ndarray:
        self._check_static(addr, n, where)
        return self.image[addr:addr + n]

    def write_static(self, addr: int, data: np.ndarray, where: str) -> None:
        self._check_static(addr, data.size, where)
        if not self.image.flags.writeable:
            self.image = self.image.copy()
        self.image[addr:addr + data.size] = data
