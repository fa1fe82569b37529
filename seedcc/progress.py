"""Progress bars for the command line: shown only for work that lasts more than ~2 s.

:class:`Stages` is a tqdm bar on stderr over a known number of steps (compile stages,
sweep points, verification stages); calling it with a message advances it by one, so it
is also the ``log`` callback of :func:`seedcc.flow.compile_model` and
:func:`seedcc.api.verify`. ``total=None`` makes an elapsed-time bar for one opaque call
(a reference-model or RTL run). A background thread refreshes the bar, so the elapsed time
moves during a long step. Nothing appears for work shorter than :data:`DELAY_S`;
``quiet`` silences the bar and the echoed stage lines.

For RTL runs, :func:`build_estimate` says before the run what its simulator build will
cost (or that it is cached), and :func:`heartbeat` logs a line every 20 s while it runs, so
`seedcc verify --rtl` is never silent for minutes.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

from tqdm import tqdm

from seedcc.backends.simbuild import STAMP
from seedcc.backends.simulator import build_root
from seedcc.rtl_models.hwconfig import HwConfig

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


#: first Verilator build, seconds per PE on a 2-core machine: SMALL (128 PEs) builds in about
#: a minute, the 4,096-PE default in 15-20 minutes (measured; the generated C++ grows with
#: the PE array)
BUILD_S_PER_PE = 0.25
BUILD_S_MIN = 45.0
HEARTBEAT_S = 20.0


def cached_build(config: HwConfig) -> bool:
    """Is there a finished simulator build of the accelerator for this configuration?"""
    want = config.verilog_params()
    for stamp in build_root().glob(f"*-seedcc_tb-*/{STAMP}"):
        try:
            params = json.loads(stamp.read_text()).get("parameters", {})
        except (OSError, ValueError):
            continue
        if all(params.get(k) == v for k, v in want.items()):
            return True
    return False


def build_estimate(config: HwConfig) -> str:
    """One line: how long the RTL stage will take to start, and what to do about it."""
    pes = config.pes
    if cached_build(config):
        return f"a simulator build for this {pes}-PE configuration is cached in {build_root()}"
    minutes = max(BUILD_S_MIN, BUILD_S_PER_PE * pes) / 60
    hint = "" if pes <= 512 else "; `--config small` builds in about a minute"
    return (f"no cached simulator build for this {pes}-PE configuration: the first build takes about "
            f"{minutes:.0f} minute{'s' if minutes >= 1.5 else ''} on 2 cores (cached in {build_root()}){hint}")


@contextmanager
def heartbeat(log: Callable[[str], None], what: str, every: float = HEARTBEAT_S) -> Iterator[None]:
    """Log `what ... (elapsed)` every `every` seconds until the block ends."""
    done = threading.Event()
    t0 = time.monotonic()

    def beat() -> None:
        while not done.wait(every):
            s = int(time.monotonic() - t0)
            log(f"{what} ... {s // 60}m{s % 60:02d}s")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
