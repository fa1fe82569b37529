"""A compiled program: hardware config, instruction stream, memory image, manifest.

The manifest is a JSON-able dict (written with sorted keys, so programs are byte-stable):
- ``model``: model name; ``generator_notes`` etc.: free-form report data.
- ``inputs`` / ``outputs``: lists of ``{"name", "shape" (one sample, no batch axis),
  "scale", "dram_addr"}``; the runner writes each quantised input sample at its
  ``dram_addr`` before running and reads each output sample from its ``dram_addr`` after.
- ``checkpoints``: ``{"name" (IR value), "onnx" (ONNX tensor name), "after" (instruction
  index after which the act SRAM holds it), "addr", "shape", "scale"}``.
- ``float_params``: ``{"instr" (index of a REQ), "offset" (bytes into float_section),
  "channels"}``; the float section holds ``a`` then ``b`` (float32, one per channel) for
  the float mode's per-channel affine ``a*acc + b``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seedcc.backends.hwconfig import HwConfig
from seedcc.backends.isa import Instruction


@dataclass(frozen=True)
class Program:
    config: HwConfig
    instructions: tuple[Instruction, ...]
    image: bytes
    float_section: bytes
    manifest: dict[str, Any]
