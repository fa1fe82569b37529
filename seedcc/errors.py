"""The error hierarchy.

Every user-facing failure is a :class:`SeedccError` whose message is one sentence naming
the file, node, tensor or index at fault and what to do. The CLI prints the message on
one line and exits with ``exit_code``. ``assert`` is reserved for internal invariants.
"""

from __future__ import annotations


class SeedccError(Exception):
    """Base of all seedcc errors; ``exit_code`` is what the CLI returns."""

    exit_code = 2


class BadInputError(SeedccError):
    """A user-supplied file or array is missing, unreadable or malformed."""


class UnsupportedOpError(SeedccError):
    """The model uses ONNX operators seedcc cannot compile (all are listed at once)."""


class RecordMismatchError(SeedccError):
    """A recorded random tensor does not equal its regenerated value, or a mask breaks its freeze."""


class ModelStructureError(SeedccError):
    """The model is valid ONNX but its structure breaks a seedcc convention."""


class ProgramFormatError(SeedccError):
    """A program file (.sdc) is truncated, altered, or of an unknown version."""


class IRVerificationError(SeedccError):
    """The IR broke an invariant (an internal error: a pass produced an invalid graph).

    User input never reaches it: the front end validates models first (compiler/validate.py),
    so exit code 3 means a seedcc bug, never a bad model.
    """

    exit_code = 3


class CapacityError(SeedccError):
    """The model does not fit the hardware configuration (SRAM sizes, field widths)."""


class ProgramTooLongError(CapacityError):
    """The program needs more instruction words than the instruction memory holds."""

    def __init__(self, needed: int, capacity: int) -> None:
        super().__init__(f"the program has {needed} instructions; the instruction memory holds "
                         f"{capacity}")
        self.needed, self.capacity = needed, capacity


class ResourceLimitError(SeedccError):
    """A compile or run would need more memory than the limit (``--max-memory``,
    ``SEEDCC_MAX_MEMORY``); estimated from shapes and the config before allocating."""


class VerificationMismatch(SeedccError):
    """Two executions that must agree (onnxruntime, reference model, RTL) disagree."""

    exit_code = 1
