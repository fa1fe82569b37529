"""Progress bars for the command line: shown only for work that lasts more than ~2 s.

:class:`Stages` is a tqdm bar on stderr over a known number of steps (compile stages,
sweep points, verification stages); calling it with a message advances it by one, so it
is also the ``log`` callback of :func:`seedcc.flow.compile_model` and
:func:`seedcc.api.verify`. ``total=None`` makes an elapsed-time bar for one opaque call
(a reference-model or RTL run). A background thread refreshes the bar, so the elapsed time
moves during a long step. Nothing appears for work shorter than :data:`DELAY_S`;
``quiet`` silences the bar and the echoed stage lines.
"""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType

from tqdm import tqdm

DELAY_S = 2.0  # seconds before a bar appears
TICK_S = 0.5  # refresh period


class Stages:
    """A bar over ``total`` steps (``None``: elapsed time only). With ``echo``, each
    message is also printed above the bar as an indented line."""

    def __init__(self, total: int | None, desc: str, quiet: bool = False, unit: str = "stage",
                 echo: bool = False) -> None:
        fmt = "{desc}: {elapsed}" if total is None else None
        self.bar = tqdm(total=total, desc=desc, unit=unit, delay=DELAY_S, disable=quiet,
                        file=sys.stderr, leave=False, dynamic_ncols=True, bar_format=fmt)
        self.echo = echo and not quiet
        self.started = time.monotonic()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._tick, daemon=True)
        if not quiet:
            self.thread.start()

    def _tick(self) -> None:
        while not self.stop.wait(TICK_S):
            self.bar.update(0)  # tqdm draws once the delay has passed, then keeps time fresh

    def __call__(self, message: str = "") -> None:
        if self.echo and message:
            if time.monotonic() - self.started < DELAY_S:  # no bar on screen yet: a plain line
                print(f"  {message}", file=sys.stderr, flush=True)
            else:
                self.bar.write(f"  {message}", file=sys.stderr)
        if message:
            self.bar.set_postfix_str(message[:40], refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
        self.bar.close()

    def __enter__(self) -> Stages:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def busy(desc: str, quiet: bool = False) -> Stages:
    """An elapsed-time bar for one call: ``with busy("reference model"): run(...)``."""
    return Stages(None, desc, quiet)
