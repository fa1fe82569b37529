"""Sweep points on Ray: a local instance started and stopped here, or an existing cluster.

Ray is an optional dependency (``pip install 'seedcc[sweep]'``); without it,
:class:`RayExecutor` raises a one-line :class:`~seedcc.errors.SeedccError` saying so. Every
point is one Ray task of one CPU, so a local instance runs as many points at once as the
machine has cores. Workers on a cluster need seedcc installed (the model travels as bytes
through the object store; no file paths are shared).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from seedcc.errors import SeedccError

INSTALL = "pip install 'seedcc[sweep]'"


def require_ray() -> Any:
    """The ``ray`` module, imported on first use (it takes ~2 s, and is optional)."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise SeedccError(f"the sweep runs on Ray, which is not installed: {INSTALL} "
                          "(or pass --serial to run the points one by one in this process)") from None


class RayExecutor:
    """Runs each item as a Ray task. ``address=None`` starts a local Ray instance with
    ``num_cpus`` CPUs (default: all) and stops it on exit; with an address it connects to
    that cluster and only disconnects."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        self.ray = require_ray()
        self.address = address
        self.num_cpus = num_cpus or os.cpu_count() or 1
        self.workers = self.num_cpus

    def __enter__(self) -> RayExecutor:
        # BLAS threads: one per task, so parallel points do not fight for the cores.
        env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        common: dict[str, Any] = {"logging_level": "ERROR", "log_to_driver": False,
                                  "runtime_env": {"env_vars": env}}
        ray = self.ray
        try:
            if self.address:
                ray.init(address=self.address, **common)
                self.workers = int(ray.cluster_resources().get("CPU", 1))
            else:
                ray.init(num_cpus=self.num_cpus, include_dashboard=False, **common)
        except (ConnectionError, RuntimeError, ValueError) as e:
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
            raise SeedccError(f"cannot start or reach {where} ({str(e).splitlines()[0]})") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self.ray.shutdown()

    def map(self, fn: Callable[..., Any], shared: Any,
            items: Sequence[tuple[Any, ...]]) -> Iterator[tuple[int, Any]]:
        ray = self.ray
        task = ray.remote(num_cpus=1, max_retries=0)(fn)
        shared_ref = ray.put(shared)  # stored once, not once per task
        pending = {task.remote(shared_ref, *args): i for i, args in enumerate(items)}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                i = pending.pop(ref)
                try:
                    yield i, ray.get(ref)
                except Exception as e:  # noqa: BLE001 - a crashed worker: the point's error
                    yield i, e
