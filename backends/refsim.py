"""The reference accelerator model: runs a :class:`~seedcc.backends.program.Program` bit-exactly.

Contract (docs/refsim.md has the details):

* :func:`run_int` executes the program on a whole batch of int8 inputs and returns a
  :class:`RunResult` of raw outputs (int8, or int32 where an output is left at accumulator
  precision) and checkpoints, the bytes the hardware writes:
  every integer is exactly what the RTL computes (``rtl_models/numerics.py`` rules, int32
  accumulators). :func:`run` takes float inputs: ``"int8"`` mode quantises them with each
  input's scale, calls the same integer path and dequantises the results with each
  output's (checkpoint's) scale, or an int32 output's per-channel scales; ``"float"`` mode runs the same instruction stream on float
  values (docs/isa.md "Float mode").
* Batch execution equals running each sample alone: samples never interact.
* ``cycles`` and ``counters`` are per sample and data-independent; ``cycles`` is the sum of
  the cycles :func:`seedcc.backends.timing.timeline` charges the instructions executed up
  to and including the first HALT (a LOOP body counts once per iteration,
  ``isa.loop_trace``; DMA engine waits included); the
  ``instructions`` counter counts executed instructions. ``energy_pj`` is :func:`energy_pj` of the counters.
* Bad inputs raise :class:`~seedcc.errors.BadInputError`; a program the machine cannot
  execute raises :class:`~seedcc.errors.ProgramFormatError` naming the instruction index.

MAC operands are cached per instruction index for the lifetime of the program object
(:func:`simulator`, a weak-keyed cache over the immutable :class:`Program`): mask and param
SRAM are only ever filled from the static memory image (enforced), so a MAC sees the same
mask rows and lane states on every run.
"""

from __future__ import annotations

import contextlib
import math
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from seedcc.arrays import as_float32
from seedcc.backends import timing
from seedcc.backends.isa import BY_NAME, OPCODES, SPACE_ACT, Instruction, loop_trace
from seedcc.backends.manifest import Checkpoint, TensorIO
from seedcc.backends.program import Program
from seedcc.backends.refsim_machine import Machine, MacWeights, sram_ranges
from seedcc.errors import BadInputError, ProgramFormatError
from seedcc.ir.ops.base import as_chw, from_storage, to_storage
from seedcc.limits import check_memory, max_memory
from seedcc.rtl_models import numerics
from seedcc.rtl_models.hwconfig import EnergyTable, HwConfig
from seedcc.rtl_models.hwfacts import ACC_BYTES

MODES = ("int8", "float")
MEMORIES = ("act", "mask", "param", "acc")

#: Every counter :func:`run` reports (per sample); docs/refsim.md defines each.
COUNTERS: tuple[str, ...] = (
    "instructions", "wait_cycles", "mac_cycles", "pe_slots", "pe_ops", "gen_steps", "freeze_steps", "requant_ops", "alu_ops",
    "mm_macs",
    "dram_read_bytes", "dram_write_bytes",
    *(f"{m}_sram_{d}_bytes" for m in MEMORIES for d in ("read", "write")),
    "sram_read_bytes", "sram_write_bytes",
)


@dataclass
class RunResult:
    """What :func:`run` and :func:`run_int` return. Arrays have the batch axis first; they
    are float32 from :func:`run` and as stored in memory from :func:`run_int` (int8, or int32
    for an output left at accumulator precision)."""

    outputs: dict[str, np.ndarray]
    cycles: int
    counters: dict[str, int]
    energy_pj: float
    checkpoints: dict[str, np.ndarray] = field(default_factory=dict)


def energy_pj(counters: Mapping[str, int], table: EnergyTable) -> float:
    """Energy of one sample in picojoules (docs/refsim.md "Energy")."""
    return float(
        counters["pe_ops"] * table.pe_op
        + (counters["gen_steps"] + counters["freeze_steps"]) * table.gen_step
        + counters["requant_ops"] * table.requant
        + counters["alu_ops"] * table.alu_op
        + counters["mm_macs"] * table.mm_mac
        + (counters["sram_read_bytes"] + counters["sram_write_bytes"]) * table.sram_byte
        + (counters["dram_read_bytes"] + counters["dram_write_bytes"]) * table.dram_byte
    )


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of half-open ranges as sorted disjoint ranges (touching ranges merge)."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _size(shape: Any) -> int:
    return math.prod(int(d) for d in shape)


def dequantize_output(raw: np.ndarray, d: TensorIO) -> np.ndarray:
    """Float32 values of a batch of raw outputs (int8, or int32 times its channel's scale)."""
    if not d.wide:
        return numerics.dequantize(raw, d.scale)
    flat = to_storage(raw, d.shape)
    scales = np.asarray(d.channel_scales, np.float64)
    per = flat.reshape(len(flat), len(scales), -1) * scales[:, None]
    return from_storage(per.reshape(flat.shape).astype(np.float32), d.shape)


#: the largest DRAM address + 1 (DMA `dram_addr` is a 32-bit field)
DRAM_BYTES = 1 << 32
#: the scales an input, output or checkpoint may have: float32 inputs divided by the scale
#: stay finite in float64, and every int8 value times the scale is a finite float32
SCALE_MIN, SCALE_MAX = 1e-250, float(np.finfo(np.float32).max) / 128


def _check_io(d: Any, section: str, index: int, ints: tuple[str, ...] = ("dram_addr",)) -> None:
    """A manifest input, output or checkpoint in range (its types are checked on load):
    ``shape`` positive with at most DRAM_BYTES elements, ``scale`` a finite positive number
    int8 values map to finite float32 values with, each of `ints` in 0..DRAM_BYTES-1."""
    where = f"manifest {section}[{index}]"
    if not all(x >= 1 for x in d.shape) or math.prod(d.shape) > DRAM_BYTES:
        raise ValueError(f"{where}: shape {d.shape!r} must be integers >= 1 of at most "
                         f"{DRAM_BYTES} elements")
    if not SCALE_MIN <= d.scale <= SCALE_MAX:
        raise ValueError(f"{where}: scale {d.scale!r} must be a number in [{SCALE_MIN:g}, "
                         f"{SCALE_MAX:.3g}] (int8 values must map to finite float32 values)")
    scales = np.asarray(getattr(d, "channel_scales", ()), np.float64)
    if scales.size and (scales.size != as_chw(d.shape)[0] or not np.isfinite(scales).all()
                        or (scales < 0).any() or (scales > SCALE_MAX).any()):
        raise ValueError(f"{where}: channel_scales must be {as_chw(d.shape)[0]} numbers in "
                         f"[0, {SCALE_MAX:.3g}], one per channel of shape {d.shape!r}")
    for key in ints:
        v = getattr(d, key)
        if not 0 <= v < DRAM_BYTES:
            raise ValueError(f"{where}: {key} {v!r} must be an integer in 0..{DRAM_BYTES - 1}")


def _memory(program: Program, executed: tuple[Any, ...], segments: list[tuple[int, int]],
            outputs: tuple[TensorIO, ...]) -> tuple[int, tuple[int, int, int]]:
    """What a run needs: bytes shared by all samples (mask and param SRAM, the memory image,
    cached MAC operands), and per sample the elements of activation type (act SRAM, DRAM
    segments, outputs), accumulator words, and 8-byte temporaries of the largest instruction."""
    cfg = program.config
    shared = cfg.mask_sram_bytes + cfg.param_sram_bytes + 2 * len(program.image)
    act = cfg.act_sram_bytes + sum(end - start for start, end in segments)
    act += sum(2 * d.nbytes for d in outputs)
    acc = cfg.acc_sram_words
    temp = 0
    for ins in executed:
        f = ins.fields
        if ins.op == "MAC":
            taps = f["in_c"] * f["kh"] * f["kw"]
            temp = max(temp, taps * f["pix_count"] + 2 * f["oc_count"] * f["pix_count"])
            shared += 24 * f["oc_count"] * taps  # weights (int8, float32/64), signs, codes
        elif ins.op in ("MAXPOOL", "AVGPOOL"):
            padded = (f["in_h"] + 2 * f["pad_t"]) * (f["in_w"] + 2 * f["pad_l"])
            temp = max(temp, f["channels"] * (padded + 2 * f["out_h"] * f["out_w"]))
        elif ins.op in ("ADD", "DMA_LOAD", "DMA_STORE"):
            temp = max(temp, 2 * f["length"])
        elif ins.op == "REQ":
            temp = max(temp, 3 * f["oc_count"] * f["pix_count"])
        elif ins.op == "MATMUL":
            temp = max(temp, 2 * (f["rows"] + f["cols"]) * f["depth"] + 3 * f["rows"] * f["cols"])
        elif ins.op in ("SOFTMAX", "LAYERNORM"):
            temp = max(temp, 6 * f["features"] * f["tokens"])
        elif ins.op == "GELU":
            temp = max(temp, 4 * f["length"])
    return shared, (act, acc, temp)


def footprint(entry: tuple[int, int, Instruction], cfg: HwConfig) -> tuple[tuple[str, int, int, int], ...]:
    """The SRAM bytes (words of the acc SRAM) that background work of the trace reads or
    writes: (memory, lo, hi, instruction index) for each range."""
    idx, _, ins = entry
    return tuple((memory, addr, addr + n, idx) for _, memory, addr, n in sram_ranges(ins, cfg))


class Simulator:
    """The reference model bound to one program: static checks done once, MAC cache kept.

    It keeps the program's parts but not the :class:`Program` object itself, so the
    weak-keyed cache of :func:`simulator` can drop it when the program is garbage-collected.
    """

    def __init__(self, program: Program) -> None:
        self.config, self.image = program.config, program.image
        self.float_section = program.float_section
        instrs = program.instructions
        halts = [i for i, ins in enumerate(instrs) if ins.op == "HALT"]
        if not halts:
            raise ProgramFormatError(
                f"instruction {len(instrs)} (past the end): the program has no HALT, so the "
                "machine would run off the end of its instruction stream")
        self.halt = halts[0]
        if self.halt + 1 > program.config.instr_words:
            raise ProgramFormatError(
                f"instruction {self.halt} (HALT): the program needs {self.halt + 1} instruction "
                f"words but the instruction memory holds {program.config.instr_words}")
        self.executed = instrs[:self.halt + 1]
        # isa.make and isa.decode refuse a word that breaks a rule between its fields (MAC
        # start_ox < out_w) or an alignment rule (param SRAM addresses are multiples of its
        # 8-byte word); an Instruction built by hand may not, and the RTL stops on it
        for i, ins in enumerate(self.executed):
            broken = BY_NAME[ins.op].broken_rule(ins.fields)
            if broken is not None:
                raise ProgramFormatError(f"instruction {i} ({ins.op}): {broken}")
        # (index, iteration, instruction as executed): loop bodies repeated (isa.loop_trace)
        self.trace = loop_trace(self.executed)
        self.steps = timing.timeline([ins for _, _, ins in self.trace], program.config)
        self.cycles = sum(s.cycles for s in self.steps)
        self.busy = [tuple(r for pos in s.inflight for r in footprint(self.trace[pos], self.config))
                     for s in self.steps]
        man = program.manifest
        for section in ("inputs", "outputs"):
            for i, d in enumerate(getattr(man, section)):
                _check_io(d, section, i)
        self.inputs, self.outputs = man.inputs, man.outputs
        ranges = [(d.dram_addr, d.dram_addr + _size(d.shape)) for d in self.inputs]
        ranges += [(ins.dram_addr, ins.dram_addr + ins.length) for _, _, ins in self.trace
                   if ins.op == "DMA_STORE" and ins.space == SPACE_ACT]
        self.segments = _merge(ranges)
        self.float_params = {(fp.instr, fp.iteration): (fp.offset, fp.channels)
                             for fp in man.float_params}
        for (instr, _), (offset, channels) in self.float_params.items():
            if offset < 0 or channels < 0:
                raise ValueError(f"manifest float_params entry of instruction {instr} has offset "
                                 f"{offset} and {channels} channels; both must be >= 0")
        runs = {(idx, it) for idx, it, _ in self.trace}
        self.checkpoints: dict[tuple[int, int], list[Checkpoint]] = {}
        for i, ck in enumerate(man.checkpoints):
            _check_io(ck, "checkpoints", i, ("after", "addr"))
            if (ck.after, ck.iteration) not in runs:
                raise ProgramFormatError(
                    f"checkpoint {ck.name!r} is taken after instruction {ck.after} in iteration "
                    f"{ck.iteration}, which never executes (the program halts at instruction "
                    f"{self.halt})")
            self.checkpoints.setdefault((ck.after, ck.iteration), []).append(ck)
        self.mac_cache: dict[int, MacWeights] = {}
        self.shared_bytes, self.sample_bytes = _memory(program, self.executed, self.segments,
                                                       self.outputs)

    def _check_inputs(self, inputs: Mapping[str, np.ndarray], dtype: type[np.generic]
                      ) -> tuple[dict[str, np.ndarray], int]:
        """Inputs by name as ``dtype`` arrays (batch, *shape) and the batch size. ``np.int8``
        takes int8 arrays only; ``np.float32`` takes any float dtype and converts it."""
        names = [d.name for d in self.inputs]
        expected = ", ".join(repr(n) for n in names) or "none"
        for name in inputs:
            if name not in names:
                raise BadInputError(f"unknown input {name!r}; the program expects: {expected}")
        arrays: dict[str, np.ndarray] = {}
        batch: int | None = None
        for d in self.inputs:
            name, shape = d.name, d.shape
            if name not in inputs:
                raise BadInputError(f"missing input {name!r}; the program expects: {expected}")
            arr = np.asarray(inputs[name])
            kind_ok = arr.dtype == np.int8 if dtype is np.int8 else arr.dtype.kind == "f"
            want = (f"{np.dtype(dtype).name} of shape (batch, {', '.join(map(str, shape))})"
                    .replace(", )", ")"))
            if not kind_ok or arr.ndim != len(shape) + 1 or arr.shape[1:] != shape:
                raise BadInputError(f"input {name!r} must be {want}, got {arr.dtype} of shape "
                                    f"{arr.shape}")
            if batch is not None and arr.shape[0] != batch:
                raise BadInputError(f"input {name!r} has batch size {arr.shape[0]} but the other "
                                    f"inputs have {batch}; give every input the same batch")
            batch = arr.shape[0]
            arrays[name] = (arr if dtype is np.int8 else as_float32(arr, f"input {name!r}"))
        return arrays, (1 if batch is None else batch)

    def chunk(self, batch: int, float_mode: bool, checkpoints: bool) -> int:
        """Samples to run at once so that the run stays under the memory limit
        (`seedcc.limits`); ResourceLimitError if not even one sample fits."""
        act, acc, temp = self.sample_bytes
        per_sample = (act * (4 if float_mode else 1) + acc * (8 if float_mode else 4) + 8 * temp
                      + 8 * sum(_size(d.shape) for d in self.inputs))
        # results are kept for the whole batch (and copied once when the chunks are joined)
        kept = 8 * sum(_size(d.shape) for d in self.outputs)
        if checkpoints:
            kept += 8 * sum(_size(ck.shape) for cks in self.checkpoints.values() for ck in cks)
        fixed = self.shared_bytes + batch * kept
        check_memory(fixed + per_sample, f"running the program on {batch} sample(s) "
                     f"({self.config.act_sram_bytes}-byte act SRAM, {self.config.acc_sram_words} "
                     f"accumulator words)")
        return max(1, min(batch, (max_memory() - fixed) // per_sample))

    def _chunked(self, arrays: Mapping[str, np.ndarray], batch: int, float_mode: bool,
                 checkpoints: bool) -> RunResult:
        """Run in chunks of samples that fit the memory limit; samples never interact and
        counters are per sample, so the parts just concatenate."""
        step = self.chunk(batch, float_mode, checkpoints)
        if step >= batch:
            return self._execute(arrays, batch, float_mode, checkpoints)
        parts = [self._execute({k: v[i:i + step] for k, v in arrays.items()}, min(step, batch - i),
                               float_mode, checkpoints) for i in range(0, batch, step)]
        return RunResult({k: np.concatenate([p.outputs[k] for p in parts]) for k in parts[0].outputs},
                         parts[0].cycles, parts[0].counters, parts[0].energy_pj,
                         {k: np.concatenate([p.checkpoints[k] for p in parts])
                          for k in parts[0].checkpoints})

    def run_int(self, inputs: Mapping[str, np.ndarray], checkpoints: bool = False) -> RunResult:
        """Run a batch of int8 inputs; see :func:`run_int`."""
        arrays, batch = self._check_inputs(inputs, np.int8)
        return self._chunked(arrays, batch, False, checkpoints)

    def run(self, inputs: Mapping[str, np.ndarray], mode: str = "int8",
            checkpoints: bool = False) -> RunResult:
        """Run a batch of float inputs; see :func:`run`."""
        if mode not in MODES:
            raise BadInputError(f"unknown run mode {mode!r}; valid modes: {', '.join(MODES)}")
        arrays, batch = self._check_inputs(inputs, np.float32)
        if mode == "float":
            return self._chunked(arrays, batch, True, checkpoints)
        q = {d.name: numerics.quantize_input(arrays[d.name], d.scale) for d in self.inputs}
        res = self._chunked(q, batch, False, checkpoints)
        ck = {ck.name: ck for cks in self.checkpoints.values() for ck in cks}
        return replace(
            res, outputs={d.name: dequantize_output(res.outputs[d.name], d) for d in self.outputs},
            checkpoints={k: numerics.dequantize(v, ck[k].scale, ck[k].unsigned)
                         for k, v in res.checkpoints.items()})

    def _execute(self, arrays: Mapping[str, np.ndarray], batch: int, float_mode: bool,
                 checkpoints: bool) -> RunResult:
        """Run checked inputs (int8, or float32 in float mode); raw outputs and checkpoints."""
        m = Machine(self.config, self.image, self.float_section, batch, float_mode,
                    self.segments, self.mac_cache, self.float_params)
        for d in self.inputs:
            m.dram.write_samples(d.dram_addr, to_storage(arrays[d.name], d.shape))
        taken: dict[str, np.ndarray] = {}
        # float mode computes as float32 hardware (and onnxruntime) would: a value beyond
        # float32 becomes inf and propagates, without a warning; int8 mode has no floats
        ieee = np.errstate(over="ignore", invalid="ignore") if float_mode else contextlib.nullcontext()
        with ieee:
            for (idx, it, ins), step, busy in zip(self.trace, self.steps, self.busy):
                m.execute(idx, it, ins, step, busy)
                if checkpoints and (idx, it) in self.checkpoints:
                    for ck in self.checkpoints[(idx, it)]:
                        taken[ck.name] = self._snapshot(m, ck)
        outputs = {}
        for d in self.outputs:
            raw = m.dram.read_samples(d.dram_addr, d.nbytes, f"output {d.name!r}")
            if d.wide:  # float mode keeps a value in its word's first byte
                raw = raw[:, ::ACC_BYTES] if float_mode else np.ascontiguousarray(raw).view("<i4")
            outputs[d.name] = from_storage(raw, d.shape)
        counters = {name: int(m.counters.get(name, 0)) for name in COUNTERS}
        counters["instructions"] = len(self.trace)
        for d in ("read", "write"):
            counters[f"sram_{d}_bytes"] = sum(counters[f"{mem}_sram_{d}_bytes"] for mem in MEMORIES)
        return RunResult(outputs, self.cycles, counters,
                         energy_pj(counters, self.config.energy), taken)

    @staticmethod
    def _snapshot(m: Machine, ck: Checkpoint) -> np.ndarray:
        addr, n = ck.addr, _size(ck.shape)
        if addr + n > m.act.shape[1]:
            raise ProgramFormatError(
                f"checkpoint {ck.name!r} reads act SRAM [{addr}, {addr + n}), past its "
                f"{m.act.shape[1]} bytes")
        return from_storage(m.act[:, addr:addr + n], ck.shape).copy()


# Keyed by the program itself: programs are immutable (equal programs share an entry) and an
# entry goes when its program is garbage-collected.
_SIMULATORS: weakref.WeakKeyDictionary[Program, Simulator] = weakref.WeakKeyDictionary()


def simulator(program: Program) -> Simulator:
    """The :class:`Simulator` of ``program``, created once and kept while the object lives."""
    sim = _SIMULATORS.get(program)
    if sim is None:
        try:
            sim = Simulator(program)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as err:
            # an entry of the manifest out of range (its types are checked when it is loaded)
            raise ProgramFormatError(f"the program's manifest is malformed ({type(err).__name__}: "
                                     f"{err}); recompile the model") from None
        _SIMULATORS[program] = sim
    return sim


def run_int(program: Program, inputs: Mapping[str, np.ndarray],
            checkpoints: bool = False) -> RunResult:
    """Execute ``program`` on a batch of int8 ``inputs`` (keyed by manifest input name, batch
    axis first, the values the hardware reads from each input's ``dram_addr``); returns the
    int8 outputs the hardware writes, per-sample cycles, counters and energy, and (if
    ``checkpoints``) every manifest checkpoint as int8. No float conversion happens."""
    return simulator(program).run_int(inputs, checkpoints)


def run(program: Program, inputs: Mapping[str, np.ndarray], mode: str = "int8",
        checkpoints: bool = False) -> RunResult:
    """Execute ``program`` on a batch of float32 ``inputs`` (keyed by manifest input name,
    batch axis first) in ``mode`` ``"int8"`` or ``"float"``; returns outputs (float32,
    dequantised in int8 mode), per-sample cycles, counters and energy, and (if
    ``checkpoints``) every manifest checkpoint. ``"int8"`` mode is :func:`run_int` on the
    inputs quantised with ``numerics.quantize_input`` and each input's scale."""
    return simulator(program).run(inputs, mode, checkpoints)


def missing_handlers() -> list[str]:
    """Opcodes of the ISA table without a ``Machine.exec_<name>`` method (should be none)."""
    return [op.name for op in OPCODES if not callable(getattr(Machine, "exec_" + op.name.lower(), None))]
