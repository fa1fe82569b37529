"""Fuzz campaign: mutated models, programs and inputs through the seedcc command line.

    python benchmarks/fuzz_campaign.py [--cases 10000] [--jobs 2] [--seed 0] [--limit 256M]
                                       [--extra-models a.onnx b.onnx ...]

Case i belongs to mutation class i mod 17 (tests/mutators.py) and is drawn from
random.Random(f"{seed}-{i}"), so a campaign is reproducible and any case can be replayed
alone (--replay CLASS:I). Every case runs `seedcc.cli.main` in-process through the harness
of the property tests (tests/fuzzing.py) under the memory limit --limit, in worker processes
that also carry a hard address-space cap (an allocation the limit failed to stop then shows
up as a MemoryError traceback instead of exhausting the machine).

Prints, per class: cases, exit codes 0/1/2, the largest Python-heap peak of one case, and
the count of each broken property: tracebacks, internal exit codes, peaks above the limit,
errors that are not one line, warnings, touched outputs, leftover files. The first case of
each (class, problem) is printed in full. Exit status 1 if any case broke a property.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

PROBLEMS = ("traceback", "internal-exit", "over-limit", "not-one-line", "warning",
            "output-touched", "leftovers")
ADDRESS_SPACE = 12 * 2**30  # hard cap per worker (onnxruntime and BLAS reserve some)
_limit = 0  # the memory limit of a worker's cases, set by _init
_extra: tuple[str, ...] = ()  # more seed models, set by _init


def _init(limit: int, extra: tuple[str, ...]) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = ADDRESS_SPACE if hard == resource.RLIM_INFINITY else min(ADDRESS_SPACE, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    import fuzzing

    global _limit, _extra
    fuzzing.seeds(extra)  # built once per worker
    _limit, _extra = limit, extra


def _one(task: tuple[str, int, str]) -> tuple[str, int | None, int, list[str], str]:
    import fuzzing

    cls, i, seed = task
    outcome = fuzzing.execute(fuzzing.make_case(cls, random.Random(f"{seed}-{i}"), _extra), _limit)
    problems = outcome.problems()
    return cls, outcome.code, outcome.peak, problems, outcome.describe() if problems else ""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=10_000)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--seed", default="0")
    p.add_argument("--limit", default="256M", help="memory limit of every case (default 256M)")
    p.add_argument("--replay", help="run one case, CLASS:I, and print its outcome")
    p.add_argument("--extra-models", nargs="*", default=[],
                   help="more valid .onnx models to mutate (e.g. torch.onnx.export output)")
    a = p.parse_args()

    from mutators import CLASSES

    from seedcc.limits import format_size, parse_size

    limit = parse_size(a.limit, "--limit")
    classes = sorted(CLASSES)
    if a.replay:
        cls, i = a.replay.rsplit(":", 1)
        _init(limit, tuple(a.extra_models))
        print(_one((cls, int(i), a.seed))[4] or "no problem")
        return 0
    tasks = [(classes[i % len(classes)], i, a.seed) for i in range(a.cases)]
    counts: dict[str, Counter] = defaultdict(Counter)
    peaks: dict[str, int] = defaultdict(int)
    first: dict[tuple[str, str], str] = {}
    t0 = time.perf_counter()
    with multiprocessing.Pool(a.jobs, _init, (limit, tuple(a.extra_models))) as pool:
        for cls, code, peak, problems, text in pool.imap_unordered(_one, tasks, chunksize=8):
            c = counts[cls]
            c["cases"] += 1
            c[f"exit {code}"] += 1
            peaks[cls] = max(peaks[cls], peak)
            for problem in problems:
                c[problem] += 1
                first.setdefault((cls, problem), text)
    secs = time.perf_counter() - t0

    cols = ("cases", "exit 0", "exit 1", "exit 2", *PROBLEMS)
    head = f"{'class':<22}" + "".join(f"{c:>15}" for c in cols) + f"{'peak heap':>12}"
    print(f"fuzz campaign: {a.cases} cases, seed {a.seed!r}, memory limit {format_size(limit)}, "
          f"{a.jobs} worker(s), {secs:.0f} s ({a.cases / secs:.0f} cases/s)"
          + (f", extra seed models: {' '.join(a.extra_models)}" if a.extra_models else ""))
    print(head)
    total: Counter = Counter()
    for cls in classes:
        total.update(counts[cls])
        print(f"{cls:<22}" + "".join(f"{counts[cls][c]:>15}" for c in cols)
              + f"{peaks[cls] / 2**20:>9.1f} MiB")
    print(f"{'total':<22}" + "".join(f"{total[c]:>15}" for c in cols)
          + f"{max(peaks.values(), default=0) / 2**20:>9.1f} MiB")
    other = sorted(k for k in total if k.startswith("exit ") and k not in cols)
    if other:
        print("other exit codes: " + ", ".join(f"{k}: {total[k]}" for k in other))
    for (cls, problem), text in sorted(first.items()):
        print(f"\n--- first {problem} in {cls} ---\n{text}")
    broken = sum(total[p] for p in PROBLEMS)
    print(f"\n{broken} case(s) broke a property" if broken else "\nevery case kept the contract")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
