"""What a hardware configuration may ask for, checked when one is loaded.

A program file carries its `HwConfig` as JSON, and `seedcc --config` reads one from a
file; both go through :func:`parse_config`, which checks every field's type and range and
caps the memory sizes, so that a crafted file can neither crash the loader nor make the
reference model allocate whatever it names. The caps (far above any configuration the RTL
is built for; the default is Hiddenite-sized):

| field | range |
|---|---|
| `act_sram_bytes`, `mask_sram_bytes`, `param_sram_bytes` | 1 .. `MAX_SRAM_BYTES` (64 MiB) |
| `acc_sram_words` | 1 .. `MAX_ACC_WORDS` (16 Mi words, 64 MiB) |
| `instr_words` | 1 .. `MAX_INSTR_WORDS` (1 Mi instructions) |
| `lanes` | 1 .. `MAX_LANES` (255: SETGEN's `count` field) |
| `pixels` | 1 .. `MAX_PIXELS` (4096) |
| `bus_bytes` | a power of two, 1 .. `MAX_BUS_BYTES` (4096) |
| `dma_latency` | 1 .. `MAX_DMA_LATENCY` (65536 cycles) |
| `clock_mhz` | a finite number in (0, `MAX_CLOCK_MHZ`] |
| `energy.*` | finite numbers >= 0 (picojoules) |
"""

from __future__ import annotations

import json
import math
from dataclasses import fields

from seedcc.backends import isa
from seedcc.errors import ProgramFormatError, SeedccError
from seedcc.rtl_models.hwconfig import EnergyTable, HwConfig

MAX_SRAM_BYTES = 64 * 2**20
MAX_ACC_WORDS = 16 * 2**20
MAX_INSTR_WORDS = 2**20
MAX_LANES = (1 << isa.BY_NAME["SETGEN"].field("count").width) - 1
MAX_PIXELS = 4096
MAX_BUS_BYTES = 4096
MAX_DMA_LATENCY = 2**16
MAX_CLOCK_MHZ = 1e5

#: integer fields of HwConfig and their largest value
INT_CAPS: dict[str, int] = {
    "lanes": MAX_LANES,
    "pixels": MAX_PIXELS,
    "act_sram_bytes": MAX_SRAM_BYTES,
    "mask_sram_bytes": MAX_SRAM_BYTES,
    "param_sram_bytes": MAX_SRAM_BYTES,
    "acc_sram_words": MAX_ACC_WORDS,
    "instr_words": MAX_INSTR_WORDS,
    "bus_bytes": MAX_BUS_BYTES,
    "dma_latency": MAX_DMA_LATENCY,
}
ENERGY_FIELDS = tuple(f.name for f in fields(EnergyTable))


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def parse_config(text: str | bytes, where: str, error: type[SeedccError] = ProgramFormatError,
                 complete: bool = True) -> HwConfig:
    """The `HwConfig` in JSON `text`, every field checked; `error` (naming `where` and the
    field) otherwise. With `complete` every field must be present (a program's config is
    written whole); without it missing fields take their defaults (a --config file)."""

    def fail(msg: str) -> SeedccError:
        return error(f"{where}: hardware config {msg}")

    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise fail(f"is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise fail("is not a JSON object")
    known = set(INT_CAPS) | {"clock_mhz", "energy"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise fail(f"has unknown field(s) {', '.join(map(repr, unknown))}; fields: "
                   f"{', '.join(sorted(known))}")
    if complete:
        missing = sorted(known - set(data))
        if missing:
            raise fail(f"lacks field(s) {', '.join(map(repr, missing))}")
    for name, cap in INT_CAPS.items():
        if name not in data:
            continue
        v = data[name]
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= cap:
            raise fail(f"field {name}={v!r} must be an integer in 1..{cap}")
    if "bus_bytes" in data and data["bus_bytes"] & (data["bus_bytes"] - 1):
        raise fail(f"field bus_bytes={data['bus_bytes']} must be a power of two")
    clock = data.get("clock_mhz", 1.0)
    if not _is_number(clock) or not 0 < clock <= MAX_CLOCK_MHZ or not math.isfinite(clock):
        raise fail(f"field clock_mhz={clock!r} must be a number in (0, {MAX_CLOCK_MHZ:g}]")
    energy = data.get("energy", {})
    if not isinstance(energy, dict):
        raise fail(f"field energy={energy!r} must be an object with fields {', '.join(ENERGY_FIELDS)}")
    unknown = sorted(set(energy) - set(ENERGY_FIELDS))
    missing = sorted(set(ENERGY_FIELDS) - set(energy)) if complete else []
    if unknown or missing:
        raise fail(f"field energy has unknown field(s) {unknown} or lacks {missing}; fields: "
                   f"{', '.join(ENERGY_FIELDS)}")
    for name, v in energy.items():
        if not _is_number(v) or not math.isfinite(v) or v < 0:
            raise fail(f"field energy.{name}={v!r} must be a finite number >= 0")
    values = {k: v for k, v in data.items() if k != "energy"}
    return HwConfig(energy=EnergyTable(**{k: float(v) for k, v in energy.items()}), **values)
