"""Quickstart: train a supermask CNN on real data (scikit-learn's handwritten digits, which
ship with scikit-learn), export it, compile it, run it on the reference accelerator model in
float and int8 mode, print held-out accuracy for onnxruntime, float and int8, and verify it
against onnxruntime (and the Verilog RTL with --rtl).

    pip install -e ".[torch]"
    python examples/quickstart/quickstart.py [--out DIR] [--rtl] [--dynamo] [--epochs N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import seedcc
from seedcc.golden import ort_run
from seedcc.report import format_report
from seedcc.rtl_models.hwconfig import SMALL

try:
    import torch

    from seedcc.torch import export
    from seedcc.torch.models import CNN
    from seedcc.torch.train import accuracy, digits, fit, predict
except ImportError as e:
    sys.exit(f"quickstart: {e.name} is missing; install the SDK extra: pip install -e \".[torch]\"")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="out/quickstart", help="where to write the model and program")
    p.add_argument("--rtl", action="store_true", help="also run the Verilog RTL (Verilator via cocotb)")
    p.add_argument("--dynamo", action="store_true", help="export with torch's dynamo exporter")
    p.add_argument("--epochs", type=int, default=15)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(min(2, os.cpu_count() or 1))

    data = digits()
    t0 = time.perf_counter()
    net = fit(CNN(in_channels=1, width=16, stages=2, keep=0.5), data.x_train, data.y_train,
              epochs=a.epochs, lr=0.1)
    print(f"1. trained a supermask CNN on {len(data.x_train)} digits (8x8) for {a.epochs} epochs "
          f"({time.perf_counter() - t0:.0f} s): only its masks and BatchNorm were learned")

    onnx_path = export(net, torch.from_numpy(data.x_test[:2]), os.path.join(a.out, "digits_cnn.onnx"),
                       dynamo=a.dynamo)
    print(f"2. exported with the {'dynamo' if a.dynamo else 'TorchScript'} exporter -> {onnx_path} "
          f"(record of its random tensors filled in)")

    sdc = os.path.join(a.out, "digits_cnn.sdc")
    calib = {"x": data.x_train[:256]}
    program = seedcc.compile(onnx_path, calib=calib, config=SMALL, output=sdc)
    print(f"3. compiled -> {sdc} ({len(program.instructions)} instructions, "
          f"{len(program.image)} byte memory image)")

    x, y = data.x_test, data.y_test
    acc = {"torch": accuracy(predict(net, x), y),
           "onnxruntime": accuracy(ort_run(onnx_path, {"x": x})["logits"], y),
           "seedcc float": accuracy(seedcc.run(program, x, mode="float").outputs["logits"], y)}
    q = seedcc.run(program, x)
    acc["seedcc int8"] = accuracy(q.outputs["logits"], y)
    print(f"4. held-out accuracy on {len(y)} digits: "
          + ", ".join(f"{k} {100 * v:.1f}%" for k, v in acc.items())
          + f" ({q.cycles} cycles per sample)")

    report = seedcc.verify(onnx_path, inputs={"x": x[:100]}, calib=calib, config=SMALL, rtl=a.rtl,
                           log=lambda m: print(f"   {m}", flush=True))
    print("5. " + report.format())
    print()
    print(format_report(program, seedcc.run(program, x[:1])))
    ok = report.ok(min_agreement=0.95) and acc["seedcc int8"] >= acc["seedcc float"] - 0.01
    print("quickstart:", "OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
