"""The fuzzing harness shared by tests/test_fuzz.py and benchmarks/fuzz_campaign.py.

`seeds()` builds the valid starting files once (small models, their programs, inputs);
a mutation class of `mutators` breaks one of them into a `Case`; `execute` runs the case's
command through `seedcc.cli.main` in-process, in a fresh folder, and returns an `Outcome`
holding every property the robustness contract asks for:

- the exit code is 0, 1 or 2 (no internal code), and no exception escapes (no traceback);
- a failure prints one error line (after any indented progress lines) and no warning;
- an output file that existed before a failed command is untouched;
- no temporary file is left behind (in the folder, or in the temp folder);
- the Python heap (numpy arrays included, measured with tracemalloc) never grew beyond the
  memory limit the command ran under.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import shutil
import tempfile
import traceback
import tracemalloc
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import onnx
from mutators import CLASSES, Case, Seeds

from seedcc.backends import program as program_io
from seedcc.cli import main
from seedcc.flow import compile_model
from seedcc.limits import memory_limit
from seedcc.models import ModelBuilder, mlp, small_cnn
from seedcc.rtl_models.hwconfig import SMALL

FILE_SUFFIXES = (".onnx", ".sdc", ".npy", ".npz", ".json")
SENTINEL = b"existing output, must survive a failed command\n"
#: memory limit the fuzzed commands run under, and the tracemalloc peak allowed above it
#: (the interpreter's own baseline: parsed models and programs, imported modules' caches)
LIMIT = 256 * 2**20
SLACK = 64 * 2**20


def tiny_model() -> onnx.ModelProto:
    """x[N, 8] -> Gemm(Mul(R, M)) -> BatchNorm -> Relu -> y[N, 4]: the smallest seed."""
    b = ModelBuilder("tiny", 0)
    w = b.random_weight("fc", (4, 8, 1, 1), "OI")
    h = b.batchnorm(b.node("Gemm", ["x", w], "fc/Gemm", transB=1), 4, "bn")
    b.nodes.append(onnx.helper.make_node("Relu", [h], ["y"], name="relu"))
    return b.build([onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 8])],
                   [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 4])],
                   settle=False)


@cache
def seeds(extra: tuple[str, ...] = ()) -> Seeds:
    """Valid models (with and without a record), their SMALL programs and inputs; `extra`
    names more .onnx files to start from (the campaign's --extra-models)."""
    models = {"tiny": tiny_model(), "mlp": mlp(features=16, hidden=8, classes=4),
              "cnn": small_cnn(channels=4, size=8), "cnn_codes": small_cnn(channels=4, size=6, codes=3)}
    bare = onnx.ModelProto()
    bare.CopyFrom(models["tiny"])
    del bare.metadata_props[:]
    models["tiny_stored"] = bare
    models.update({Path(path).stem: onnx.load(path) for path in extra})
    rng = np.random.default_rng(0)
    programs, inputs = {}, {}
    for name in ("tiny", "mlp", "cnn", *(Path(path).stem for path in extra)):
        prog = compile_model(models[name], config=SMALL).program
        programs[name] = program_io.to_bytes(prog)
        shape = prog.manifest.inputs[0].shape
        inputs[name] = rng.standard_normal((3, *shape)).astype(np.float32)
    return Seeds({k: m.SerializeToString() for k, m in models.items()}, programs, inputs)


def make_case(cls: str, rnd: random.Random, extra: tuple[str, ...] = ()) -> Case:
    """A case of mutation class `cls` (the mutators' own float overflows are intended)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CLASSES[cls](seeds(extra), rnd)


@dataclass(frozen=True)
class Outcome:
    cls: str
    argv: tuple[str, ...]
    code: int | None  # None: an exception escaped
    stderr: str
    traceback: str  # the escaped exception's traceback, or ""
    warnings: tuple[str, ...]
    peak: int  # tracemalloc peak in bytes
    output_touched: bool  # a failed command changed the pre-existing output
    leftovers: tuple[str, ...]  # files created and not cleaned up (temporary files, partial output)

    def problems(self) -> list[str]:
        """Every broken property, as short labels (empty: the case passed)."""
        out = []
        if self.code is None or "Traceback" in self.stderr:
            out.append("traceback")
        elif self.code not in (0, 1, 2):
            out.append("internal-exit")
        # an error: progress lines (indented), then one line saying what is wrong; exit 1 is
        # also `verify` reporting a mismatch on stdout, after progress lines only
        lines = self.stderr.splitlines()
        is_error = self.code == 2 or (self.code == 1 and lines and not lines[-1].startswith("  "))
        if is_error and (not lines[-1:] or not lines[-1].startswith("seedcc: error: ")
                         or not all(x.startswith("  ") for x in lines[:-1])):
            out.append("not-one-line")
        if self.warnings:
            out.append("warning")
        if self.peak > LIMIT + SLACK:
            out.append("over-limit")
        if self.output_touched:
            out.append("output-touched")
        if self.leftovers:
            out.append("leftovers")
        return out

    def describe(self) -> str:
        return (f"{self.cls}: seedcc {' '.join(self.argv)} -> exit {self.code}, "
                f"problems {self.problems()}, peak {self.peak >> 20} MiB\n{self.traceback or self.stderr}"
                f"{''.join(self.warnings)}")


def write_case(folder: Path, case: Case) -> None:
    """Write the case's files into `folder`, and the sentinel where its output goes."""
    for name, content in case.files.items():
        path = folder / name
        if content is None:
            path.mkdir()
        elif content == "fifo":
            os.mkfifo(path)
        else:
            path.write_bytes(content)
    if case.output is not None and not (folder / case.output).exists():
        (folder / case.output).write_bytes(SENTINEL)


def execute(case: Case, limit: int | None = LIMIT) -> Outcome:
    """Run `case` in-process in a fresh folder (removed afterwards) under `limit` (None: the
    limit of the environment)."""
    root = Path(tempfile.mkdtemp(prefix="seedcc-fuzz-"))
    folder, tmp = root / "case", root / "tmp"
    folder.mkdir()
    tmp.mkdir()
    write_case(folder, case)
    before = set(os.listdir(folder))
    argv = [str(folder / a) if a in case.files or a == case.output or a.endswith(FILE_SUFFIXES)
            else a for a in case.argv]
    err, tb, code = io.StringIO(), "", None
    saved_tempdir, tempfile.tempdir = tempfile.tempdir, str(tmp)
    tracemalloc.start()
    try:
        with warnings.catch_warnings(record=True) as caught, memory_limit(limit), \
                contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("always")
            try:
                code = main(argv)
            except SystemExit as e:  # argparse
                code = e.code if isinstance(e.code, int) else 2
            except BaseException:  # noqa: BLE001 - recorded as the failure being looked for
                tb = traceback.format_exc()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        tempfile.tempdir = saved_tempdir
    after = set(os.listdir(folder))
    touched = False
    if case.output is not None and code != 0:
        out = folder / case.output
        touched = not out.is_file() or out.read_bytes() != SENTINEL
    created = sorted(after - before) + [f"tmp/{n}" for n in os.listdir(tmp)]
    if code == 0 and case.output is not None:
        created = [n for n in created if n != case.output]
    shutil.rmtree(root, ignore_errors=True)
    msgs = tuple(f"{w.category.__name__}: {w.message}\n" for w in caught
                 if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning)))
    return Outcome(case.cls, case.argv, code, err.getvalue(), tb, msgs, peak, touched,
                   tuple(created))
