"""The hardware configuration: one frozen object that sizes everything.

`HwConfig` is passed explicitly to the compiler back end, the reference model, the
testbench-vector writer and the RTL build (as Verilog parameters). Nothing reads a
global configuration. See docs/architecture.md for the microarchitecture it describes.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from seedcc.errors import BadInputError

from .hwfacts import GROUP


@dataclass(frozen=True)
class EnergyTable:
    """Energy per event in picojoules (45 nm figures from M. Horowitz, ISSCC 2014, rounded).

    `pe_op` is one masked add/subtract of an int8 into an int32 accumulator; a skipped
    (mask 0) weight costs nothing. SRAM and DRAM costs are per byte moved.
    """

    pe_op: float = 0.03
    gen_step: float = 0.05  # one 16-bit lane step: a few XORs and a register write
    requant: float = 3.2  # one int32 x int16 multiply, add and shift
    alu_op: float = 0.1  # one int8/int32 add or compare (residual add, pooling)
    mm_mac: float = 0.3  # one int8 x int8 multiply (0.2) and int32 add (0.1): MATMUL
    sram_byte: float = 1.25  # ~5 pJ per 32-bit read of an 8 KB SRAM
    dram_byte: float = 160.0  # ~640 pJ per 32-bit DRAM access


@dataclass(frozen=True)
class HwConfig:
    """Sizes of the accelerator.

    The PE array is ``lanes`` generator lanes x GROUP (16) output channels x ``pixels``
    output pixels; every cycle of a MAC each PE adds, subtracts or skips one int8
    activation. SRAM sizes are in bytes (the accumulator SRAM in int32 words). Fixed
    widths and layouts (the same for every configuration) are in ``hwfacts``.
    """

    lanes: int = 16
    pixels: int = 16
    act_sram_bytes: int = 512 * 1024
    mask_sram_bytes: int = 256 * 1024
    param_sram_bytes: int = 64 * 1024
    acc_sram_words: int = 128 * 1024
    instr_words: int = 4096
    bus_bytes: int = 16
    dma_latency: int = 8
    clock_mhz: float = 200.0
    energy: EnergyTable = field(default_factory=EnergyTable)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("energy", "clock_mhz"):
                continue
            if not isinstance(value, int) or value <= 0:
                raise BadInputError(f"hardware config field {f.name}={value!r} must be a positive integer")
        if self.bus_bytes & (self.bus_bytes - 1):
            raise BadInputError(f"hardware config bus_bytes={self.bus_bytes} must be a power of two")
        if isinstance(self.lanes, int) and isinstance(self.pixels, int) and (GROUP * self.lanes) % self.pixels:
            raise BadInputError(f"hardware config pixels={self.pixels} must divide {GROUP}·lanes="
                                f"{GROUP * self.lanes} (the AGG unit's feature groups fill whole "
                                "accumulator banks)")

    @property
    def pes(self) -> int:
        return self.lanes * GROUP * self.pixels

    @property
    def block_channels(self) -> int:
        """Output channels one MAC instruction covers at most (all lanes)."""
        return self.lanes * GROUP

    def lane_copies(self, channels: int, pixels: int) -> int:
        """log2 of the copies of a MAC's lanes across the array (its `rep_log2`): a block of
        `channels` uses ng = ceil(channels / GROUP) lanes, and with 2^k copies the array's
        lanes form 2^k sets of LANES >> k (copy c: lanes c·(LANES >> k) onwards), each
        driven by the weight bits of the ng lanes in use and working on its own PIXELS-wide
        pixel tile; as many copies as the LANES hold and the `pixels` need."""
        ng, tiles, k = -(-channels // GROUP), -(-pixels // self.pixels), 0
        while ng << (k + 1) <= self.lanes and 1 << k < tiles:
            k += 1
        return k

    def mac_tiles(self, channels: int, pixels: int) -> int:
        """Tiles of a MAC over `pixels` output pixels of `channels` channels: each restarts
        the lanes (the unit of regeneration) and covers PIXELS · 2^lane_copies pixels."""
        return -(-pixels // (self.pixels << self.lane_copies(channels, pixels)))

    @property
    def acc_rows(self) -> int:
        """Rows of the acc SRAM: a row holds one word a PE (docs/isa.md "Accumulator layout")."""
        return self.acc_sram_words // self.pes

    def acc_span(self, channels: int, pixels: int, rep_log2: int = 0) -> int:
        """Rows that `channels` x `pixels` accumulators take in the layout of a MAC (or REQ)
        with `rep_log2`: blocks of GROUP·(LANES >> rep_log2) channels, each
        ceil(pixels / (PIXELS · 2^rep_log2)) tile rows."""
        per_copy = GROUP * (self.lanes >> rep_log2)
        return -(-channels // per_copy) * -(-pixels // (self.pixels << rep_log2))

    def acc_words(self, row: int, channels: int, pixels: int, rep_log2: int = 0) -> np.ndarray:
        """Word addresses (channels, pixels) of the accumulators of a MAC, REQ or AGG whose
        first row is `row` (docs/isa.md "Accumulator layout"): the accumulator of PE
        (column o, pixel lane q) is word o·PIXELS + q of a row, so every PE owns one word of
        every row (its bank) and channel ch at pixel n of a MAC lives where the PE that
        computes it sits. With K = 2^rep_log2 copies of C = GROUP·(LANES >> rep_log2)
        channels: (blk, c) = divmod(ch, C), (g, q) = divmod(n, PIXELS), (t, k) = divmod(g, K);
        row + blk·T + t, column k·C + c, T = ceil(pixels / (PIXELS·K)) rows a block."""
        per_copy, copies = GROUP * (self.lanes >> rep_log2), 1 << rep_log2
        tiles = -(-pixels // (self.pixels * copies))
        blk, c = np.divmod(np.arange(channels), per_copy)
        g, q = np.divmod(np.arange(pixels), self.pixels)
        t, k = np.divmod(g, copies)
        rows = row + blk[:, None] * tiles + t[None, :]
        cols = k[None, :] * per_copy + c[:, None]
        return rows * self.pes + cols * self.pixels + q[None, :]

    def addr_bits(self, nbytes: int) -> int:
        return max(1, math.ceil(math.log2(nbytes)))

    def verilog_params(self) -> dict[str, int]:
        """Parameters of the RTL top level, derived from this configuration."""
        return {
            "LANES": self.lanes,
            "PIXELS": self.pixels,
            "ACT_BYTES": self.act_sram_bytes,
            "MASK_BYTES": self.mask_sram_bytes,
            "PARAM_BYTES": self.param_sram_bytes,
            "ACC_WORDS": self.acc_sram_words,
            "INSTR_WORDS": self.instr_words,
            "BUS_BYTES": self.bus_bytes,
            "DMA_LATENCY": self.dma_latency,
        }

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HwConfig:
        data = json.loads(text)
        energy = EnergyTable(**data.pop("energy", {}))
        return cls(energy=energy, **data)


#: Hiddenite-sized default: 16 lanes x 16 channels x 16 pixels = 4096 PEs.
DEFAULT = HwConfig()

#: A small configuration for RTL simulation and fast tests: 2 x 16 x 4 = 128 PEs.
SMALL = HwConfig(
    lanes=2,
    pixels=4,
    act_sram_bytes=64 * 1024,
    mask_sram_bytes=32 * 1024,
    param_sram_bytes=8 * 1024,
    acc_sram_words=16 * 1024,
    instr_words=1024,
    bus_bytes=8,
    dma_latency=4,
)
