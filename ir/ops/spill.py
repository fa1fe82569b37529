"""SPILL and RELOAD: an activation stored to off-chip memory and brought back, so that
values which fit the act SRAM one by one but not all together can be scheduled (the
`spill_activations` pass inserts them; no ONNX op lowers to them).

SPILL's output lives off chip (`offchip`): the memory planner gives it no act SRAM, and
code generation gives it a per-sample region of off-chip memory, written by one act
DMA_STORE of the whole tensor. RELOAD reads such a value back with one act DMA_LOAD into
a fresh place in the act SRAM. Both keep the scale and the bytes (`same_scale`); in float
semantics both are the identity.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seedcc.ir.ops.base import OpDef


class Spill(OpDef):
    name = "spill"
    same_scale = keeps_format = reads_unsigned = True
    offchip = True

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        return ins[0]

    @staticmethod
    def lower(n: Any, em: Any) -> None:
        em.spill(n.inputs[0], n.output)


class Reload(OpDef):
    name = "reload"
    same_scale = keeps_format = reads_unsigned = True

    @staticmethod
    def reference(n: Any, ins: list[np.ndarray]) -> np.ndarray:
        return ins[0]

    @staticmethod
    def lower(n: Any, em: Any) -> None:
        em.reload(n.inputs[0], n.output)
