"""Quickstart: build a small supermask CNN, compile it, run it on the reference
accelerator model, verify it against onnxruntime, and print sizes and cycles.

    python examples/quickstart/quickstart.py [--out DIR] [--rtl]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import onnx

import seedcc
from seedcc import models
from seedcc.report import format_report
from seedcc.rtl_models.hwconfig import SMALL


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="out/quickstart", help="where to write the model and program")
    p.add_argument("--rtl", action="store_true", help="also run the Verilog RTL (Verilator via cocotb)")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)

    model = models.small_cnn()
    onnx_path = os.path.join(a.out, "small_cnn.onnx")
    onnx.save(model, onnx_path)
    print(f"1. built a supermask CNN -> {onnx_path}")

    sdc = os.path.join(a.out, "small_cnn.sdc")
    program = seedcc.compile(onnx_path, config=SMALL, output=sdc)
    print(f"2. compiled -> {sdc} ({len(program.instructions)} instructions, "
          f"{len(program.image)} byte memory image)")

    x = np.random.default_rng(0).standard_normal((4, 3, 16, 16)).astype(np.float32)
    result = seedcc.run(program, x)
    print(f"3. ran 4 samples on the reference model: {result.cycles} cycles per sample, "
          f"predicted classes {result.outputs['logits'].argmax(1).tolist()}")

    report = seedcc.verify(onnx_path, samples=200, config=SMALL, rtl=a.rtl)
    print("4. " + report.format())
    print()
    print(format_report(program, seedcc.run(program, x[:1])))
    ok = report.ok(min_agreement=0.95)
    print("quickstart:", "OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
