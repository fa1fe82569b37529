"""Reference-model int8 latency against onnxruntime on a ResNet-18-sized supermask CNN.

    python benchmarks/bench_refsim.py [--size 32] [--repeat 10]

Prints per-sample latency of onnxruntime (fp32, CPU) and of the reference model (int8,
bit-exact, warm: the per-program weight cache is filled by a first run), and their ratio.
Target: ratio <= 2.0.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import onnxruntime as ort
from threadpoolctl import threadpool_limits

from seedcc import models
from seedcc.backends import refsim
from seedcc.flow import compile_model


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=32, help="input resolution (default 32, CIFAR)")
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--batch", type=int, default=1)
    a = p.parse_args()

    model = models.resnet18(size=a.size)
    t0 = time.perf_counter()
    compiled = compile_model(model)
    t_compile = time.perf_counter() - t0
    n_weights = sum(layer.weights for layer in compiled.program.manifest.layers)
    x = np.random.default_rng(0).standard_normal((a.batch, 3, a.size, a.size)).astype(np.float32)

    t0 = time.perf_counter()
    res = refsim.run(compiled.program, {"x": x})
    t_first = time.perf_counter() - t0
    rows = []
    for threads in (1, None):  # one thread each (robust on a loaded machine), then library defaults
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        sess.run(None, {"x": x})
        t_ort = best_of(lambda s=sess: s.run(None, {"x": x}), a.repeat)
        with threadpool_limits(limits=threads):
            t_sim = best_of(lambda: refsim.run(compiled.program, {"x": x}), a.repeat)
        rows.append(("1 thread" if threads else "default threads", t_ort, t_sim))

    print(f"model: ResNet-18-sized supermask CNN, {n_weights / 1e6:.2f}M random weights, input 3x{a.size}x{a.size}, "
          f"batch {a.batch}")
    print(f"compile: {t_compile:.2f} s; program: {len(compiled.program.instructions)} instructions, "
          f"{res.cycles} cycles per sample")
    print(f"refsim int8 first run: {t_first * 1e3:.1f} ms (regenerates weights, fills the cache)")
    print(f"{'threads':<16} {'onnxruntime fp32':>17} {'refsim int8 warm':>17} {'ratio':>7}")
    for name, t_ort, t_sim in rows:
        print(f"{name:<16} {t_ort * 1e3:14.2f} ms {t_sim * 1e3:14.2f} ms {t_sim / t_ort:7.2f}")
    print("target: ratio <= 2.0")


if __name__ == "__main__":
    main()
