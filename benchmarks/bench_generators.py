"""Throughput of the vectorised weight generators on the ResNet-18 weight set.

Regenerates the sign bits of every ResNet-18 conv and fc weight (11,678,912 weights) with
each registered generator, plus the freeze draw, and compares against a numpy baseline
measured in the same run: ``np.random.default_rng(0).integers(0, 2, size=N, dtype=uint8)``
for the same N. Each figure is the best of ``--repeats`` runs.

Run: ``python benchmarks/bench_generators.py [--repeats 5]``
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

import numpy as np

from seedcc.rtl_models.generators import GENERATORS, freeze_pattern, sign_bits

Shape = tuple[int, int, int, int]

RESNET18_WEIGHTS: list[tuple[str, Shape]] = [
    ("conv1", (64, 3, 7, 7)),
    ("layer1.0.conv1", (64, 64, 3, 3)),
    ("layer1.0.conv2", (64, 64, 3, 3)),
    ("layer1.1.conv1", (64, 64, 3, 3)),
    ("layer1.1.conv2", (64, 64, 3, 3)),
    ("layer2.0.conv1", (128, 64, 3, 3)),
    ("layer2.0.conv2", (128, 128, 3, 3)),
    ("layer2.0.downsample", (128, 64, 1, 1)),
    ("layer2.1.conv1", (128, 128, 3, 3)),
    ("layer2.1.conv2", (128, 128, 3, 3)),
    ("layer3.0.conv1", (256, 128, 3, 3)),
    ("layer3.0.conv2", (256, 256, 3, 3)),
    ("layer3.0.downsample", (256, 128, 1, 1)),
    ("layer3.1.conv1", (256, 256, 3, 3)),
    ("layer3.1.conv2", (256, 256, 3, 3)),
    ("layer4.0.conv1", (512, 256, 3, 3)),
    ("layer4.0.conv2", (512, 512, 3, 3)),
    ("layer4.0.downsample", (512, 256, 1, 1)),
    ("layer4.1.conv1", (512, 512, 3, 3)),
    ("layer4.1.conv2", (512, 512, 3, 3)),
    ("fc", (1000, 512, 1, 1)),
]
N_WEIGHTS = sum(int(np.prod(shape)) for _, shape in RESNET18_WEIGHTS)
assert N_WEIGHTS == 11_678_912


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """Minimum wall time of ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run_generator(name: str) -> int:
    total = 0
    for layer, (_, shape) in enumerate(RESNET18_WEIGHTS):
        total += int(sign_bits(name, 1000 + layer, shape).size)
    return total


def run_freeze() -> int:
    total = 0
    for layer, (_, shape) in enumerate(RESNET18_WEIGHTS):
        total += int(freeze_pattern(2000 + layer, 0.3, 0.2, shape).size)
    return total


def run_baseline() -> int:
    return int(np.random.default_rng(0).integers(0, 2, size=N_WEIGHTS, dtype=np.uint8).size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per row (best kept)")
    args = parser.parse_args()

    assert run_generator("xorshift16") == N_WEIGHTS
    base = best_time(run_baseline, args.repeats)
    rows = [("numpy rng.integers (baseline)", base)]
    for name in GENERATORS:
        rows.append((f"sign_bits {name}", best_time(partial(run_generator, name), args.repeats)))
    rows.append(("freeze_pattern (xorshift16)", best_time(run_freeze, args.repeats)))

    print(f"ResNet-18 conv+fc weights: {N_WEIGHTS:,} in {len(RESNET18_WEIGHTS)} tensors, "
          f"best of {args.repeats}")  # fmt: skip
    print(f"{'what':<32} {'time ms':>9} {'Mweights/s':>11} {'vs numpy':>9}")
    for label, seconds in rows:
        rate = N_WEIGHTS / seconds
        print(f"{label:<32} {seconds * 1e3:>9.1f} {rate / 1e6:>11.1f} {base / seconds:>8.2f}x")


if __name__ == "__main__":
    main()
