"""Progress bars for the command line: shown only for work that lasts more than ~2 s.

Two kinds, both on stderr through tqdm and both silent when ``quiet`` is true:

* :class:`Stages` counts known steps (compile stages, sweep points); it is also a
  ``log`` callback for :func:`seedcc.flow.compile_model`, one call per finished stage.
* :func:`busy` wraps one opaque call (a reference-model or RTL run) and shows the elapsed
  time while it runs; a background thread refreshes the bar.

Nothing appears for work shorter than :data:`DELAY_S`, so quick commands print no bars.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from tqdm import tqdm

DELAY_S = 2.0  # seconds before a bar appears
TICK_S = 0.5  # refresh period of a busy bar


class Stages:
    """A bar over ``total`` steps; calling it with a message advances it by one."""

    def __init__(self, total: int, desc: str, quiet: bool = False, unit: str = "stage") -> None:
        self.bar = tqdm(total=total, desc=desc, unit=unit, delay=DELAY_S, disable=quiet,
                        file=sys.stderr, leave=False, dynamic_ncols=True)

    def __call__(self, message: str = "") -> None:
        if message:
            self.bar.set_postfix_str(message[:40], refresh=False)
        self.bar.update(1)

    def __enter__(self) -> Stages:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.bar.close()


@contextmanager
def busy(desc: str, quiet: bool = False) -> Iterator[None]:
    """Show ``desc`` and the elapsed time while the body runs (after :data:`DELAY_S`)."""
    bar = tqdm(total=None, desc=desc, delay=DELAY_S, disable=quiet, file=sys.stderr,
               leave=False, bar_format="{desc}: {elapsed}", dynamic_ncols=True)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(TICK_S):
            bar.update(0)  # tqdm draws once the delay has passed, then keeps the time fresh

    thread = threading.Thread(target=tick, daemon=True)
    if not quiet:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if thread.is_alive():
            thread.join()
        bar.close()
