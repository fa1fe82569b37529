"""The memory limit: how much a compile or run may allocate, checked before allocating.

Every step that allocates in proportion to what a user supplies (calibration batches, a
model's activation sizes, a program's SRAM sizes, input files) first estimates the bytes
it needs from shapes and the hardware config and calls :func:`check_memory`, which raises
:class:`~seedcc.errors.ResourceLimitError` above the limit. The limit is
``DEFAULT_MAX_MEMORY`` unless the environment variable ``SEEDCC_MAX_MEMORY`` or a
``max_memory`` argument of the API (the CLI's ``--max-memory``) says otherwise; sizes are
bytes with an optional K, M, G or T suffix (powers of 1024), e.g. ``8G``. The API applies
its argument for the duration of the call with :func:`memory_limit`, so the checks deep in
the compiler and the reference model need no extra parameter.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from seedcc.errors import BadInputError, ResourceLimitError

ENV = "SEEDCC_MAX_MEMORY"
DEFAULT_MAX_MEMORY = 4 * 2**30
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_LIMIT: ContextVar[int | None] = ContextVar("seedcc_max_memory", default=None)
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", re.IGNORECASE)


def parse_size(text: str, what: str = ENV) -> int:
    """Bytes from ``"4096"``, ``"512M"``, ``"8G"``, ``"1.5GiB"`` (powers of 1024)."""
    m = _SIZE.fullmatch(str(text))
    if m is None:
        raise BadInputError(f"{what}={text!r} is not a size; give bytes with an optional "
                            f"K, M, G or T suffix, e.g. 8G")
    size = int(float(m.group(1)) * _UNITS[m.group(2).upper()])
    if size <= 0:
        raise BadInputError(f"{what}={text!r} must be a positive size, e.g. 8G")
    return size


def max_memory(override: int | str | None = None) -> int:
    """The limit in bytes: ``override`` if given, else the innermost :func:`memory_limit`,
    else ``$SEEDCC_MAX_MEMORY``, else ``DEFAULT_MAX_MEMORY``."""
    if override is not None:
        if isinstance(override, int) and not isinstance(override, bool) and override > 0:
            return override
        return parse_size(str(override), "max_memory")
    scoped = _LIMIT.get()
    if scoped is not None:
        return scoped
    env = os.environ.get(ENV)
    return parse_size(env) if env else DEFAULT_MAX_MEMORY


@contextmanager
def memory_limit(limit: int | str | None) -> Iterator[None]:
    """Apply `limit` (None: keep the current one) to every check inside the block."""
    if limit is None:
        yield
        return
    token = _LIMIT.set(max_memory(limit))
    try:
        yield
    finally:
        _LIMIT.reset(token)


def format_size(n: int) -> str:
    for unit in ("T", "G", "M", "K"):
        if n >= _UNITS[unit]:
            return f"{n / _UNITS[unit]:.4g} {unit}iB"
    return f"{n} bytes"


def check_memory(need: int, what: str, limit: int | str | None = None) -> None:
    """Refuse `what` (a phrase naming the work and its inputs) if it needs more than the limit."""
    cap = max_memory(limit)
    if need > cap:
        raise ResourceLimitError(
            f"{what} needs about {format_size(need)} of memory, more than the limit of "
            f"{format_size(cap)}; use smaller inputs, or raise the limit with --max-memory or "
            f"{ENV} if the machine has the memory")
