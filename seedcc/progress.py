"""Progress for long stages: what an RTL run will cost before it starts, and a heartbeat
line while it runs, so `seedcc verify --rtl` is never silent for minutes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from seedcc.backends.simulator import build_root
from seedcc.rtl_models.hwconfig import HwConfig

#: first Verilator build, seconds per PE on a 2-core machine: SMALL (128 PEs) builds in about
#: a minute, the 4,096-PE default in 15-20 minutes (measured; the generated C++ grows with
#: the PE array)
BUILD_S_PER_PE = 0.25
BUILD_S_MIN = 45.0
HEARTBEAT_S = 20.0


def cached_build(config: HwConfig) -> bool:
    """Is there a finished simulator build of the accelerator for this configuration?"""
    want = config.verilog_params()
    for stamp in build_root().glob("*-seedcc_tb-*/.seedcc_built"):
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
