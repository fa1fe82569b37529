"""The `seedcc` command line (DESIGN.md §6). Exit codes: 0 ok, 1 mismatch, 2 bad input."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from seedcc import api
from seedcc.arrays import read_arrays, write_arrays
from seedcc.backends.config_limits import parse_config
from seedcc.backends.isa import disassemble
from seedcc.compiler.annotate import annotate, read_layer_specs
from seedcc.compiler.frontend import import_onnx
from seedcc.compiler.onnx_load import read_model
from seedcc.compiler.pipeline import PIPELINE
from seedcc.errors import BadInputError, SeedccError
from seedcc.files import atomic_write, check_input_file, check_writable
from seedcc.flow import compile_model
from seedcc.limits import (
    DEFAULT_MAX_MEMORY,
    ENV,
    check_memory,
    format_size,
    memory_limit,
    parse_size,
)
from seedcc.plots import require_matplotlib
from seedcc.progress import Stages, busy
from seedcc.report import format_report, sample_input
from seedcc.report_html import render_html, report_data
from seedcc.rtl_models.hwconfig import DEFAULT, SMALL, HwConfig
from seedcc.sweep import SerialExecutor, load_grid, run_sweep, summary, write_plot
from seedcc.sweep_ray import RayExecutor
from seedcc.synth import STAGES as SYNTH_STAGES
from seedcc.synth import find_yosys, synth_accel

CONFIGS = {"default": DEFAULT, "small": SMALL}


def _config(text: str) -> HwConfig:
    if text in CONFIGS:
        return CONFIGS[text]
    path = check_input_file(text, "hardware config", f"give one of {', '.join(CONFIGS)} or a "
                            f"HwConfig JSON file")
    check_memory(2 * os.path.getsize(path), f"reading hardware config {path!r}")
    with open(path, "rb") as f:
        return parse_config(f.read(), f"--config {path}", BadInputError, complete=False)


def _stages(a: argparse.Namespace, total: int, desc: str) -> Stages:
    """Stage lines on stderr and, for work over ~2 s, a progress bar; none with --quiet."""
    return Stages(total, desc, quiet=a.quiet, echo=True)


def _model_inputs(model: str) -> list[str]:
    return list(import_onnx(model).inputs)


def cmd_compile(a: argparse.Namespace) -> int:
    check_writable(a.output)
    calib = read_arrays(a.calib, _model_inputs(a.model), "calibration input") if a.calib else None
    t0 = time.perf_counter()
    with _stages(a, len(PIPELINE) + 2, "compile") as log:
        prog = api.compile(a.model, calib=calib, config=_config(a.config), output=a.output, log=log)
    for note in prog.manifest.notes:
        print(f"note: {note}")
    layers = prog.manifest.layers
    print(f"compiled {a.model} -> {a.output}: {len(layers)} layers, {len(prog.instructions)} instructions, "
          f"{len(prog.image)} byte memory image ({time.perf_counter() - t0:.2f} s)")
    return 0


def cmd_run(a: argparse.Namespace) -> int:
    check_writable(a.output)
    prog = api.load_program(a.program)
    inputs = read_arrays(a.input, api.input_names(prog))
    with busy("reference model", quiet=a.quiet):
        res = api.run(prog, inputs, mode=a.mode)
    write_arrays(a.output, res.outputs)
    n = len(next(iter(inputs.values())))
    print(f"ran {n} sample(s) in {a.mode} mode: {res.cycles} cycles per sample, "
          f"{res.energy_pj / 1e6:.3f} uJ per sample -> {a.output}")
    return 0


def cmd_verify(a: argparse.Namespace) -> int:
    inputs = read_arrays(a.input, _model_inputs(a.model)) if a.input else None
    calib = read_arrays(a.calib, _model_inputs(a.model), "calibration input") if a.calib else None
    with _stages(a, len(PIPELINE) + 3 + a.rtl, "verify") as log:
        rep = api.verify(a.model, inputs=inputs, samples=a.samples, calib=calib,
                         config=_config(a.config), rtl=a.rtl, rtl_samples=a.rtl_samples, log=log)
    print(rep.format())
    ok = rep.ok(a.min_agreement)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def cmd_report(a: argparse.Namespace) -> int:
    for path in (a.html, a.json):
        if path:
            check_writable(path)
    if a.html:
        require_matplotlib("report")
    with Stages(len(PIPELINE) + 2, "compile", quiet=a.quiet) as bar:
        compiled = compile_model(a.model, config=_config(a.config), log=bar)
    prog = compiled.program
    with busy("reference model", quiet=a.quiet):
        result = api.run(prog, sample_input(prog))
    print(format_report(prog, result))
    if a.html or a.json:
        data = report_data(compiled, result)
        if a.json:
            text = json.dumps(data, indent=1, sort_keys=True) + "\n"
            atomic_write(a.json, lambda f: f.write(text.encode()))
            print(f"wrote {a.json}")
        if a.html:
            page = render_html(data)
            atomic_write(a.html, lambda f: f.write(page.encode()))
            print(f"wrote {a.html}")
    return 0


def cmd_sweep(a: argparse.Namespace) -> int:
    grid = load_grid(a.grid)
    executor = SerialExecutor() if a.serial else RayExecutor(address=a.address)
    require_matplotlib("sweep")
    with Stages(len(grid.points()), "sweep", quiet=a.quiet, unit="point") as bar:
        result = run_sweep(a.model, grid, Path(a.output), executor, progress=bar)
    plot = write_plot(result, Path(a.model).name)
    print(summary(result))
    print(f"wrote {result.csv} and {plot}")
    return 0


def cmd_annotate(a: argparse.Namespace) -> int:
    out = a.output or a.model
    check_writable(out)
    model, where = read_model(a.model)
    tensors = annotate(model, read_layer_specs(a.layers), where)
    import_onnx(model)  # the record is checked bit for bit, as a compile would
    data = model.SerializeToString()
    atomic_write(out, lambda f: f.write(data))
    for name, rec in tensors.items():
        print(f"{name}: {rec['generator']} seed {rec['seed']} scale {rec['scale']:.6g} layout {rec['layout']}"
              + (" (frozen)" if "freeze" in rec else ""))
    print(f"annotated {a.model} -> {out}: {len(tensors)} random tensor(s) recorded")
    return 0


def cmd_disasm(a: argparse.Namespace) -> int:
    prog = api.load_program(a.program)
    if a.manifest:
        print(json.dumps(prog.manifest.to_dict(), indent=1, sort_keys=True))
    print(disassemble(prog.instructions))
    return 0


def cmd_synth(a: argparse.Namespace) -> int:
    if a.json:
        check_writable(a.json)
    config = _config(a.config)
    yosys = find_yosys()
    with Stages(len(SYNTH_STAGES), "synth", quiet=a.quiet, echo=True) as log:
        rep = synth_accel(config, name=a.config, yosys=yosys, log=log)
    print("\n".join(rep.lines()))
    if a.json:
        text = rep.to_json()
        atomic_write(a.json, lambda f: f.write(text.encode()))
        print(f"wrote {a.json}")
    return 1 if a.strict and rep.findings else 0


def one_line(message: str) -> str:
    """`message` on one line: control characters (names from a corrupted file may hold
    newlines) are shown as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _size(text: str) -> int:
    try:
        return parse_size(text, "--max-memory")
    except BadInputError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seedcc", description="Compiler and verification flow for "
                                "random-weight (supermask) neural-network accelerators.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--max-memory", type=_size, metavar="SIZE",
                        help=f"refuse work that needs more memory than SIZE (bytes, or e.g. 8G; "
                             f"default ${ENV} or {format_size(DEFAULT_MAX_MEMORY)})")
    sub = p.add_subparsers(dest="command", required=True)
    cfg = dict(default="default", help="hardware config: default, small, or a HwConfig JSON file")

    c = sub.add_parser("compile", parents=[common], help="compile an ONNX model to a program (.sdc)")
    c.add_argument("model")
    c.add_argument("-o", "--output", required=True)
    c.add_argument("--calib", help=".npy/.npz calibration inputs (float32, batch axis first)")
    c.add_argument("--config", **cfg)
    c.set_defaults(func=cmd_compile)

    r = sub.add_parser("run", parents=[common], help="run a program on the reference model")
    r.add_argument("program")
    r.add_argument("--input", required=True, help=".npy (one input) or .npz keyed by input name")
    r.add_argument("-o", "--output", required=True, help=".npy (one output) or .npz")
    r.add_argument("--mode", choices=("int8", "float"), default="int8")
    r.set_defaults(func=cmd_run)

    v = sub.add_parser("verify", parents=[common],
                       help="onnxruntime vs reference model (vs RTL), layer by layer")
    v.add_argument("model")
    v.add_argument("--input", help="inputs to verify on (default: generated)")
    v.add_argument("--calib", help="calibration inputs (default: generated)")
    v.add_argument("--samples", type=_positive, default=100, help="generated inputs (default 100)")
    v.add_argument("--min-agreement", type=float, default=0.95,
                   help="required int8 top-1 agreement with onnxruntime (default 0.95)")
    v.add_argument("--rtl", action="store_true", help="also run the Verilog RTL (cocotb + Verilator)")
    v.add_argument("--rtl-samples", type=_positive, default=1,
                   help="samples to run on the RTL (default 1)")
    v.add_argument("--config", **cfg)
    v.set_defaults(func=cmd_verify)

    rp = sub.add_parser("report", parents=[common],
                        help="sizes vs fp32, shared weights, traffic, cycles, energy")
    rp.add_argument("model")
    rp.add_argument("--config", **cfg)
    rp.add_argument("--html", help="also write a self-contained HTML report with figures")
    rp.add_argument("--json", help="also write the report data as JSON")
    rp.set_defaults(func=cmd_report)

    sw = sub.add_parser("sweep", parents=[common], help="compile and run the model over a grid of hardware configs")
    sw.add_argument("model")
    sw.add_argument("--grid", required=True, help="TOML grid file (docs/sweep.md)")
    sw.add_argument("-o", "--output", required=True, help="folder for sweep.csv and pareto.png")
    sw.add_argument("--address", help="an existing Ray cluster (default: a local Ray instance)")
    sw.add_argument("--serial", action="store_true", help="run the points in this process, no Ray")
    sw.set_defaults(func=cmd_sweep)
    an = sub.add_parser("annotate", parents=[common], help="find each layer's random tensor by value and write the record")
    an.add_argument("model")
    an.add_argument("--layers", required=True,
                    help="layer spec JSON: {version: 1, layers: {name: {generator, seed, scale, shape}}}")
    an.add_argument("-o", "--output", help="where to write the annotated model (default: in place)")
    an.set_defaults(func=cmd_annotate)

    d = sub.add_parser("disasm", parents=[common], help="print a program's instructions")
    d.add_argument("program")
    d.add_argument("--manifest", action="store_true", help="print the manifest too")
    d.set_defaults(func=cmd_disasm)
    sy = sub.add_parser("synth", parents=[common],
                        help="synthesise seedcc_accel with Yosys: cells, flip-flops, SRAM bits, "
                             "NAND2 area, longest path, findings",
                        description="Synthesise the accelerator (seedcc_accel) for a hardware "
                                    "config with Yosys (pip install 'seedcc[synth]'): memories "
                                    "as SRAM macros, the rest as generic gates. Slow: SMALL "
                                    "takes about 35 minutes of CPU (2.4 GB); DEFAULT (4,096 "
                                    "PEs) ran out of the 4 GiB of the WebAssembly Yosys after "
                                    "an hour of CPU (docs/architecture.md).")
    sy.add_argument("--config", default="small",
                    help="hardware config: small (the default here), default, or a HwConfig "
                         "JSON file")
    sy.add_argument("--json", help="also write the report as JSON")
    sy.add_argument("--strict", action="store_true",
                    help="exit 1 after the report if there are findings (latches, dividers, "
                         "wide multipliers, memories that are not single-port SRAM)")
    sy.set_defaults(func=cmd_synth)
    for sp in (c, r, v, rp, sw, sy):
        sp.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        with memory_limit(args.max_memory):
            return args.func(args)
    except SeedccError as e:
        print(f"seedcc: error: {one_line(str(e))}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("seedcc: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
