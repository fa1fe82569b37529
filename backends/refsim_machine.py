"""The reference model's machine state and one ``exec_<opcode>`` method per instruction.

A :class:`Machine` holds the memories of docs/isa.md for a whole batch: the act SRAM is
(batch, bytes), the acc SRAM (batch, words), and every instruction acts on all samples in
one numpy operation. Mask SRAM, param SRAM and the lanes hold no sample data (they are
filled only from the static memory image, which :class:`Dram` enforces), so they are 1-D
and shared. Public entry point and contracts: :mod:`seedcc.backends.refsim`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import as_strided

from seedcc.backends import refsim_ops as ops
from seedcc.backends import timing
from seedcc.backends.isa import SPACE_ACT, SPACE_MASK, SPACE_PARAM, Instruction
from seedcc.backends.refsim_dram import Dram
from seedcc.errors import ProgramFormatError
from seedcc.rtl_models import adjacency, numerics
from seedcc.rtl_models.generators import GENERATORS, LOCKED, PRUNED, Generator, generator_by_id
from seedcc.rtl_models.hwconfig import HwConfig
from seedcc.rtl_models.hwfacts import (
    ACC_BYTES,
    FREEZE_STATE_DTYPE,
    FREEZE_STATES_PER_WORD,
    GROUP,
    LANE_STATE_BYTES,
    LANE_STATE_DTYPE,
    MM_ROWS,
    REQ_RECORD,
    REQ_RECORD_BYTES,
    SHIFT_MAX,
)
from seedcc.rtl_models.masks import row_bytes as mask_row_bytes
from seedcc.rtl_models.masks import stored_positions, unpack_block, unpack_compact

SPACE_NAMES = {SPACE_ACT: "act", SPACE_MASK: "mask", SPACE_PARAM: "param"}


def sram_ranges(ins: Instruction, cfg: HwConfig) -> tuple[tuple[str, str, int, int], ...]:
    """(what, memory, address, length) of the SRAM ranges a DMA transfer or a REQ reads or
    writes: the ranges the reference model checks, and those its background work keeps busy
    (the accumulators as whole rows of the acc SRAM)."""
    if ins.op == "REQ":
        oc, p = ins.oc_count, ins.pix_count
        rows = cfg.acc_span(oc, p, ins.rep_log2)  # 0 without channels or pixels
        return (("accumulators", "acc", ins.acc_row * cfg.pes, rows * cfg.pes),
                ("requantisation records", "param", ins.param_addr, REQ_RECORD_BYTES * oc),
                ("output", "act", ins.out_addr,
                 req_item_bytes(ins) * ((oc - 1) * ins.out_plane + p) if oc else 0))
    role = "source" if ins.op == "DMA_STORE" else "destination"
    return ((role, SPACE_NAMES[ins.space], ins.sram_addr, ins.length),)


def req_item_bytes(ins: Instruction) -> int:
    """Act SRAM bytes of one value a REQ writes: ACC_BYTES with ``out_wide``, else 1."""
    return ACC_BYTES if ins.out_wide else 1


@dataclass
class MacWeights:
    """The cached operand of one MAC instruction (see docs/refsim.md "Caching")."""

    lanes: tuple[tuple[int, int], ...]  # (gen_id, start state) of lanes used; () with stored signs
    freeze: tuple[int, ...]  # (prune_thr, lock_thr, lock_code, start states...) of a frozen MAC, else ()
    mask_bytes: int  # mask SRAM bytes one pixel tile reads
    weights: np.ndarray  # int8 (oc_count, in_c*kh*kw): sign * code
    matmul: np.ndarray  # weights as float32 (exact bound holds) or float64
    pe_ops: int
    act_reads: int
    as_float64: np.ndarray | None = field(default=None)

    def float64(self) -> np.ndarray:
        if self.as_float64 is None:
            self.as_float64 = self.weights.astype(np.float64)
        return self.as_float64


class Machine:
    """Memories and execution of one batch. ``float_mode`` switches the value domain."""

    def __init__(self, config: HwConfig, image: bytes, float_section: bytes, batch: int,
                 float_mode: bool, segments: list[tuple[int, int]],
                 mac_cache: dict[int, MacWeights],
                 float_params: dict[tuple[int, int], tuple[int, int]]) -> None:
        self.cfg, self.batch, self.float_mode = config, batch, float_mode
        act_dtype = np.float32 if float_mode else np.int8
        self.act = np.zeros((batch, config.act_sram_bytes), dtype=act_dtype)
        self.acc = np.zeros((batch, config.acc_sram_words), dtype=np.float64 if float_mode else np.int32)
        self.mask = np.zeros(config.mask_sram_bytes, dtype=np.uint8)
        self.param = np.zeros(config.param_sram_bytes, dtype=np.uint8)
        self.lanes: list[tuple[Generator, int] | None] = [None] * config.lanes
        self.freeze: tuple[np.ndarray, int, int, int] | None = None  # SETFRZ: states, prune, lock, lock code
        self.dram = Dram(image, segments, batch, act_dtype)
        self.float_section = float_section
        self.mac_cache, self.float_params = mac_cache, float_params
        self.counters: Counter[str] = Counter()
        self.iteration = 0  # of the LOOP body being executed (0 outside loops); float_params key
        self.sizes = {"act": config.act_sram_bytes, "mask": config.mask_sram_bytes,
                      "param": config.param_sram_bytes, "acc": config.acc_sram_words}
        # the SRAM ranges of background work still running: (memory, lo, hi, its index)
        self.busy: tuple[tuple[str, int, int, int], ...] = ()

    def execute(self, idx: int, iteration: int, ins: Instruction, step: timing.Step,
                busy: tuple[tuple[str, int, int, int], ...]) -> None:
        """Execute one instruction of the trace at its place on the time line (``step``);
        ``busy`` holds the ranges of the background work in flight when it issues."""
        self.iteration, self.busy = iteration, busy
        self.counters["wait_cycles"] += step.wait
        getattr(self, "exec_" + ins.op.lower())(idx, ins)

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def fail(idx: int, ins: Instruction, msg: str) -> ProgramFormatError:
        return ProgramFormatError(f"instruction {idx} ({ins.op}): {msg}")

    def check_range(self, idx: int, ins: Instruction, what: str, memory: str, addr: int,
                    n: int) -> None:
        size = self.sizes[memory]
        if addr + n > size:
            unit = "words" if memory == "acc" else "bytes"
            raise self.fail(idx, ins, f"{what} [{addr}, {addr + n}) runs past the {memory} SRAM "
                                      f"of {size} {unit}")
        for mem, lo, hi, other in self.busy:
            if mem == memory and n > 0 and addr < hi and lo < addr + n:
                raise self.fail(idx, ins, f"{what} [{addr}, {addr + n}) touches {memory} SRAM "
                                          f"{'words' if memory == 'acc' else 'bytes'} [{lo}, {hi}) "
                                          f"of the background instruction {other}, still in "
                                          "flight; a SYNC must come first")

    def sram(self, space: int) -> np.ndarray:
        return {SPACE_MASK: self.mask, SPACE_PARAM: self.param}[space]

    def act_window(self, addr: int, shape: tuple[int, ...], plane: int | None = None,
                   item: int = 1) -> np.ndarray:
        """Writable view (batch, *shape) of act SRAM at ``addr``, C order inside a sample, of
        values ``item`` bytes apart (an int32 output's ACC_BYTES); ``plane`` (if given) is
        the stride of axis 1 in values instead (bounds checked by the caller)."""
        mem, step = self.act, self.act.itemsize * item
        inner = [step]
        for dim in reversed(shape[1:]):
            inner.insert(0, inner[0] * dim)
        if plane is not None:
            inner[0] = plane * step
        return as_strided(mem[:, addr:], (mem.shape[0],) + shape, (mem.strides[0], *inner))

    def acc_words(self, idx: int, ins: Instruction, what: str, row: int, channels: int,
                  pixels: int, rep_log2: int = 0) -> np.ndarray:
        """The word addresses (channels, pixels) of accumulators from acc SRAM row ``row`` in
        the layout of ``rep_log2`` (``HwConfig.acc_words``), their rows checked."""
        rows = self.cfg.acc_span(channels, pixels, rep_log2)
        self.check_range(idx, ins, what, "acc", row * self.cfg.pes, rows * self.cfg.pes)
        return self.cfg.acc_words(row, channels, pixels, rep_log2)

    # -- instructions ----------------------------------------------------------------------
    def exec_halt(self, idx: int, ins: Instruction) -> None:
        """Nothing to do: the run loop stops after the first HALT."""

    def exec_sync(self, idx: int, ins: Instruction) -> None:
        """Nothing to do: the time line (``timing.timeline``) holds SYNC until the DMA engine
        is idle, and transfers take effect in program order."""

    def exec_loop(self, idx: int, ins: Instruction) -> None:
        """Nothing to do here: the run loop follows ``isa.loop_trace``, which repeats the body
        and applies the DRAM stride to its param-space DMA loads."""

    def _dma_space(self, idx: int, ins: Instruction) -> str:
        """Check a DMA's SRAM range (the ISA table limits ``space``); return the memory's name."""
        ((role, name, addr, n),) = sram_ranges(ins, self.cfg)
        self.check_range(idx, ins, role, name, addr, n)
        return name

    def exec_dma_load(self, idx: int, ins: Instruction) -> None:
        name = self._dma_space(idx, ins)
        sram, dram, n, where = ins.sram_addr, ins.dram_addr, ins.length, f"instruction {idx} ({ins.op})"
        if ins.space == SPACE_ACT and self.float_mode and (idx, self.iteration) in self.float_params:
            # a constant tensor (an Add's positional encoding): its float values in float mode
            self.act[:, sram:sram + n] = self.float_values(idx, ins, n, f"length={n}")
        elif ins.space == SPACE_ACT:
            self.act[:, sram:sram + n] = self.dram.read_samples(dram, n, where)
        else:
            self.sram(ins.space)[sram:sram + n] = self.dram.read_static(dram, n, where)
        self.counters["dram_read_bytes"] += n
        self.counters[f"{name}_sram_write_bytes"] += n

    def exec_dma_store(self, idx: int, ins: Instruction) -> None:
        name = self._dma_space(idx, ins)
        sram, dram, n, where = ins.sram_addr, ins.dram_addr, ins.length, f"instruction {idx} ({ins.op})"
        if ins.space == SPACE_ACT:
            self.dram.write_samples(dram, self.act[:, sram:sram + n])
        else:
            self.dram.write_static(dram, self.sram(ins.space)[sram:sram + n], where)
        self.counters[f"{name}_sram_read_bytes"] += n
        self.counters["dram_write_bytes"] += n

    def exec_setgen(self, idx: int, ins: Instruction) -> None:
        count, addr = ins.count, ins.param_addr
        if count > self.cfg.lanes:
            raise self.fail(idx, ins, f"count={count} exceeds the {self.cfg.lanes} lanes")
        gen = generator_by_id(ins.gen_id)  # the ISA table limits gen_id to the registry's ids
        nbytes = LANE_STATE_BYTES * count
        self.check_range(idx, ins, "lane state table", "param", addr, nbytes)
        states = np.frombuffer(self.param[addr:addr + nbytes].tobytes(), dtype=LANE_STATE_DTYPE)
        keep = (1 << gen.state_bits) - 1  # e.g. xorshift16 uses the low 16 bits
        for j, s in enumerate(states.tolist()):
            self.lanes[j] = (gen, s & keep)
        self.counters["param_sram_read_bytes"] += nbytes

    def exec_setfrz(self, idx: int, ins: Instruction) -> None:
        count, addr = ins.channels, ins.param_addr
        if count > self.cfg.block_channels:
            raise self.fail(idx, ins, f"channels={count} exceeds {GROUP}*LANES={self.cfg.block_channels}")
        nbytes = FREEZE_STATE_DTYPE.itemsize * count
        self.check_range(idx, ins, "freeze state table", "param", addr, nbytes)
        states = np.frombuffer(self.param[addr:addr + nbytes].tobytes(), dtype=FREEZE_STATE_DTYPE)
        self.freeze = (states.astype(np.uint16), ins.prune_thr, ins.lock_thr, ins.lock_code)
        words = -(-count // FREEZE_STATES_PER_WORD)
        self.counters["param_sram_read_bytes"] += words * FREEZE_STATES_PER_WORD * FREEZE_STATE_DTYPE.itemsize

    def _freeze_key(self, idx: int, ins: Instruction, oc: int) -> tuple[int, ...]:
        """What a frozen MAC's freeze draw depends on: (prune_thr, lock_thr, lock_code, start
        state of each block channel), as the last SETFRZ loaded them."""
        if self.freeze is None or self.freeze[0].size < oc:
            have = 0 if self.freeze is None else self.freeze[0].size
            raise self.fail(idx, ins, f"block channels {have}..{oc - 1} have no freeze start state; a "
                                      f"SETFRZ must load channels 0..{oc - 1} first")
        states, prune, lock, lock_code = self.freeze
        return (prune, lock, lock_code, *states[:oc].tolist())

    @staticmethod
    def _freeze_status(key: tuple[int, ...], t: int) -> np.ndarray:
        """The freeze draw of a frozen MAC's positions, (oc, t) of PRUNED / LOCKED / FREE: each
        channel's register starts at its SETFRZ state and steps before every draw."""
        prune, lock = key[0], key[1]
        u = GENERATORS["xorshift16"].stream(np.array(key[3:], dtype=np.uint64), t).astype(np.int32)
        status = np.full(u.shape, -1, dtype=np.int8)
        status[u >= lock] = LOCKED
        status[u < prune] = PRUNED
        return status

    def _mac_weights(self, idx: int, ins: Instruction, win: ops.Window) -> MacWeights:
        f = ins.fields
        oc, cb, t = f["oc_count"], f["code_bits"], f["in_c"] * f["kh"] * f["kw"]
        ng = -(-oc // GROUP)
        key: tuple[int, ...] = ()
        if f["frozen"]:
            if f["stored_signs"]:
                raise self.fail(idx, ins, "a frozen MAC takes its signs from the lanes; stored_signs must be 0")
            key = self._freeze_key(idx, ins, oc)
        lanes: tuple[tuple[int, int], ...] = ()
        if not f["stored_signs"]:
            used = self.lanes[:ng]
            for j, lane in enumerate(used):
                if lane is None:
                    raise self.fail(idx, ins, f"lane {j} has no start state; a SETGEN must load "
                                              f"lanes 0..{ng - 1} first")
            lanes = tuple((g.gen_id, s) for g, s in used)  # type: ignore[misc]
        cached = self.mac_cache.get(idx)
        if cached is not None and cached.lanes == lanes and cached.freeze == key:
            self.check_range(idx, ins, "mask rows", "mask", f["mask_addr"], cached.mask_bytes)
            return cached
        if f["frozen"]:
            status = self._freeze_status(key, t)
            mask_bytes = -(-(f["mask_bit"] + int(stored_positions(status, key[2]).sum()) * cb) // 8)
        else:
            mask_bytes = t * mask_row_bytes(oc, cb, bool(f["stored_signs"]))
        self.check_range(idx, ins, "mask rows", "mask", f["mask_addr"], mask_bytes)
        rows = self.mask[f["mask_addr"]:f["mask_addr"] + mask_bytes]
        if f["frozen"]:
            bits = np.unpackbits(rows, bitorder="little")[f["mask_bit"]:]
            codes, stored = unpack_compact(bits, status, cb, key[2]), None
        else:
            codes, stored = unpack_block(rows, oc, t, cb, bool(f["stored_signs"]))
        if stored is not None:
            signs = stored.astype(bool)
        else:
            words = np.empty((ng, t), dtype=np.uint16)
            for gen_id in sorted({g for g, _ in lanes}):
                sel = [j for j, (g, _) in enumerate(lanes) if g == gen_id]
                starts = np.array([lanes[j][1] for j in sel], dtype=np.uint64)
                words[sel] = generator_by_id(gen_id).stream(starts, t)
            signs = ops.generator_signs(words, oc)
        weights = ops.signed_weights(signs, codes)
        valid = win.valid_taps(ops.first_pixel(f), f["pix_count"], f["out_w"])
        nonzero = (codes != 0).reshape(oc, f["in_c"], f["kh"] * f["kw"]).sum(axis=(0, 1))
        entry = MacWeights(lanes, key, mask_bytes, weights, weights.astype(ops.matmul_dtype(weights)),
                           int(nonzero @ valid), f["in_c"] * int(valid.sum()))
        self.mac_cache[idx] = entry
        return entry

    def exec_mac(self, idx: int, ins: Instruction) -> None:
        f = ins.fields
        oc, p, in_c = f["oc_count"], f["pix_count"], f["in_c"]
        if oc > self.cfg.block_channels:
            raise self.fail(idx, ins, f"oc_count={oc} exceeds {GROUP}*LANES={self.cfg.block_channels}")
        copies = 1 << f["rep_log2"]
        if -(-oc // GROUP) * copies > self.cfg.lanes:
            raise self.fail(idx, ins, f"rep_log2={f['rep_log2']}: {copies} copies of the "
                                      f"{-(-oc // GROUP)} lanes in use exceed the {self.cfg.lanes} lanes")
        win = ops.Window(f["in_h"], f["in_w"], f["kh"], f["kw"], f["stride_h"], f["stride_w"],
                         f["pad_t"], f["pad_l"])
        self.check_range(idx, ins, "input", "act", f["in_addr"], in_c * win.in_h * win.in_w)
        words = self.acc_words(idx, ins, "accumulators", f["acc_row"], oc, p, f["rep_log2"])
        entry = self._mac_weights(idx, ins, win)
        t, tiles = entry.weights.shape[1], timing.ceil_div(p, self.cfg.pixels * copies)
        if oc and p:
            x = self.act_window(f["in_addr"], (in_c, win.in_h, win.in_w))
            if not self.float_mode:
                x = numerics.operand(x, f["x_unsigned"])
            weights = entry.float64() if self.float_mode else entry.matmul
            cols = ops.im2col(x, win, ops.first_pixel(f), p, f["out_w"], weights.dtype.type)
            res = (weights @ cols).reshape(oc, self.batch, p).transpose(1, 0, 2)
            if self.float_mode:
                self.acc[:, words] = self.acc[:, words] + res if f["accumulate"] else res
            else:
                # float32 holds exact integers below 2**24 (ops.matmul_dtype); wider sums go
                # through int64; int32 wraps like the RTL
                ints = (res if weights.dtype == np.float32 else res.astype(np.int64)).astype(np.int32)
                self.acc[:, words] = self.acc[:, words] + ints if f["accumulate"] else ints
        c = self.counters
        c["mac_cycles"] += timing.exec_cycles(ins, self.cfg)
        c["pe_slots"] += oc * p * t
        c["pe_ops"] += entry.pe_ops
        c["gen_steps"] += 0 if f["stored_signs"] else -(-oc // GROUP) * t * tiles
        c["mask_sram_read_bytes"] += tiles * entry.mask_bytes
        c["freeze_steps"] += oc * t * tiles if f["frozen"] else 0
        c["act_sram_read_bytes"] += entry.act_reads
        c["acc_sram_write_bytes"] += ACC_BYTES * oc * p
        c["acc_sram_read_bytes"] += ACC_BYTES * oc * p if f["accumulate"] else 0

    def exec_req(self, idx: int, ins: Instruction) -> None:
        oc, p, plane = ins.oc_count, ins.pix_count, ins.out_plane
        if oc > 1 and plane < p:
            raise self.fail(idx, ins, f"out_plane={plane} < pix_count={p} makes output channels "
                                      "overlap")
        for what, memory, addr, n in sram_ranges(ins, self.cfg):
            self.check_range(idx, ins, what, memory, addr, n)
        width = req_item_bytes(ins)
        if oc and p:
            acc = self.acc[:, self.cfg.acc_words(ins.acc_row, oc, p, ins.rep_log2)]
            # an int32 value is ACC_BYTES consecutive bytes; float mode keeps it in the first
            out = self.act_window(ins.out_addr, (oc, p), plane=plane, item=width)
            if self.float_mode:
                a, b = self.affine(idx, ins)
                res = a[:, None] * acc + b[:, None]
                out[...] = np.maximum(res, 0) if ins.relu else res
            else:
                rec = self.param[ins.param_addr:ins.param_addr + REQ_RECORD_BYTES * oc].view(REQ_RECORD)
                if rec["shift"].max() > SHIFT_MAX:  # the RTL stops with err on the same record
                    ch = int(np.argmax(rec["shift"] > SHIFT_MAX))
                    raise self.fail(idx, ins, f"the requantisation record of channel {ch} has "
                                              f"shift {int(rec['shift'][ch])} > {SHIFT_MAX}")
                bias, mult = rec["bias"][:, None], rec["mult"][:, None]
                shift = rec["shift"][:, None]
                # an int32 value's bytes, little-endian
                words = as_strided(out, out.shape + (ACC_BYTES,), out.strides + (out.itemsize,))
                for smp, ch in ops.tiles(self.batch, oc, p):
                    q = numerics.requantize(acc[smp, ch], bias[ch], mult[ch], shift[ch],
                                            bool(ins.relu), bool(ins.out_unsigned), bool(ins.out_wide))
                    if ins.out_wide:
                        words[smp, ch] = q.astype("<i4")[..., None].view(np.int8)
                    else:
                        out[smp, ch] = numerics.stored(q)
        c = self.counters
        c["acc_sram_read_bytes"] += ACC_BYTES * oc * p
        c["param_sram_read_bytes"] += REQ_RECORD_BYTES * oc
        c["act_sram_write_bytes"] += width * oc * p
        c["requant_ops"] += oc * p

    def affine(self, idx: int, ins: Instruction, count: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Float mode: the per-channel (a, b) of this REQ (``count`` channels: oc_count unless
        given; LAYERNORM's entry has features + 1) from the float section."""
        want = ins.oc_count if count is None else count
        key = (idx, self.iteration)
        if key not in self.float_params:
            raise self.fail(idx, ins, f"the manifest's float_params has no entry for this "
                                      f"{ins.op} (iteration {self.iteration}), so the program "
                                      "cannot run in float mode")
        offset, channels = self.float_params[key]
        channels = want if channels < 0 else channels
        if channels != want or offset + 8 * channels > len(self.float_section):
            raise self.fail(idx, ins, f"float_params entry (offset {offset}, {channels} channels) "
                                      f"does not fit {want} channels and the "
                                      f"{len(self.float_section)}-byte float section")
        ab = np.frombuffer(self.float_section, dtype="<f4", count=2 * channels, offset=offset)
        if not np.isfinite(ab).all():
            raise self.fail(idx, ins, f"float_params entry (offset {offset}) holds coefficients "
                                      f"that are NaN or infinite")
        return ab[:channels].astype(np.float64), ab[channels:].astype(np.float64)

    def add_coefficients(self, idx: int, ins: Instruction) -> tuple[float, float]:
        """Float mode: ADD computes a·fa + b·fb; (fa, fb) come from the float section when
        the manifest has a one-channel entry for this instruction, else (1, 1)."""
        key = (idx, self.iteration)
        if key not in self.float_params:
            return 1.0, 1.0
        offset, channels = self.float_params[key]
        if channels != 1 or offset + 8 > len(self.float_section):
            raise self.fail(idx, ins, f"float_params entry (offset {offset}, {channels} channels) of an "
                                      f"ADD must be one (fa, fb) pair inside the float section")
        fa, fb = np.frombuffer(self.float_section, dtype="<f4", count=2, offset=offset)
        if not (np.isfinite(fa) and np.isfinite(fb)):
            raise self.fail(idx, ins, f"float_params entry (offset {offset}) holds coefficients "
                                      f"that are NaN or infinite")
        return float(fa), float(fb)

    def exec_add(self, idx: int, ins: Instruction) -> None:
        n = ins.length
        for what, addr in (("a", ins.a_addr), ("b", ins.b_addr), ("output", ins.out_addr)):
            self.check_range(idx, ins, what, "act", addr, n)
        a = self.act[:, ins.a_addr:ins.a_addr + n]
        b = self.act[:, ins.b_addr:ins.b_addr + n]
        if self.float_mode:
            fa, fb = self.add_coefficients(idx, ins)
            res = a * fa + b * fb
            self.act[:, ins.out_addr:ins.out_addr + n] = np.maximum(res, 0) if ins.relu else res
        else:
            out = np.empty_like(a)  # a, b and out may overlap: write back after computing
            a, b = numerics.operand(a, ins.a_unsigned), numerics.operand(b, ins.b_unsigned)
            for smp, part in ops.tiles(self.batch, n):
                out[smp, part] = numerics.stored(numerics.residual_add(
                    a[smp, part], b[smp, part], ins.mult_a, ins.mult_b, ins.shift, bool(ins.relu),
                    bool(ins.out_unsigned)))
            self.act[:, ins.out_addr:ins.out_addr + n] = out
        c = self.counters
        c["act_sram_read_bytes"] += 2 * n
        c["act_sram_write_bytes"] += n
        c["alu_ops"] += n
        c["requant_ops"] += n

    def _pool(self, idx: int, ins: Instruction) -> tuple[np.ndarray, ops.Window, np.ndarray]:
        f = ins.fields
        ch, oh, ow = f["channels"], f["out_h"], f["out_w"]
        win = ops.Window(f["in_h"], f["in_w"], f["kh"], f["kw"], f["stride_h"], f["stride_w"],
                         f["pad_t"], f["pad_l"])
        self.check_range(idx, ins, "input", "act", f["in_addr"], ch * win.in_h * win.in_w)
        self.check_range(idx, ins, "output", "act", f["out_addr"], ch * oh * ow)
        counts = win.valid_counts(oh, ow)
        c = self.counters
        c["act_sram_read_bytes"] += ch * int(counts.sum())
        c["act_sram_write_bytes"] += ch * oh * ow
        c["alu_ops"] += ch * int(counts.sum())
        x = self.act_window(f["in_addr"], (ch, win.in_h, win.in_w))
        return (x if self.float_mode else numerics.operand(x, f["in_unsigned"])), win, counts

    def exec_maxpool(self, idx: int, ins: Instruction) -> None:
        x, win, _ = self._pool(idx, ins)
        oh, ow = ins.out_h, ins.out_w
        if ins.channels * oh * ow == 0:
            return
        # Padding never wins: it is the smallest value (an all-padding window gives it).
        fill = -np.inf if self.float_mode else numerics.act_bounds(bool(ins.in_unsigned))[0]
        if win.kh * win.kw > ops.MANY_TAPS:
            out = win.windows(x, 0, oh, ow, fill).max(axis=(-2, -1))
        else:
            out = None
            for _, _, tap in win.tap_slices(x, 0, oh, ow, fill):
                out = tap.copy() if out is None else np.maximum(out, tap, out=out)
        if not self.float_mode:
            out = numerics.stored(np.asarray(out, numerics.act_dtype(bool(ins.in_unsigned))))
        self.act_window(ins.out_addr, (ins.channels, oh, ow))[...] = out

    def exec_avgpool(self, idx: int, ins: Instruction) -> None:
        x, win, counts = self._pool(idx, ins)
        oh, ow = ins.out_h, ins.out_w
        self.counters["requant_ops"] += ins.channels * oh * ow
        if ins.channels * oh * ow == 0:
            return
        dtype = np.float64 if self.float_mode else np.int64
        if win.kh * win.kw > ops.MANY_TAPS:
            total = win.windows(x, 0, oh, ow, 0).sum(axis=(-2, -1), dtype=dtype)
        else:
            total = np.zeros((self.batch, ins.channels, oh, ow), dtype=dtype)
            for _, _, tap in win.tap_slices(x, 0, oh, ow, 0):
                total += tap
        if self.float_mode:
            out = total / np.maximum(counts, 1)  # mean of the in-range inputs
        else:
            out = numerics.stored(numerics.scale_sum(total, ins.mult, ins.shift,
                                                     bool(ins.in_unsigned)))
        self.act_window(ins.out_addr, (ins.channels, oh, ow))[...] = out

    # -- attention (docs/isa.md "Attention"; rules in rtl_models/numerics.py) -------------------
    def _operand(self, idx: int, ins: Instruction, what: str, addr: int, shape: tuple[int, ...],
                 strides: tuple[int, ...]) -> tuple[np.ndarray, tuple[int, int]]:
        lo, hi = ops.span(addr, shape, strides)
        self.check_range(idx, ins, what, "act", lo, hi - lo)
        return ops.strided(self.act, addr, shape, strides), (lo, hi)

    def _check_output(self, idx: int, ins: Instruction, out: tuple[int, int], rows: int,
                      cols: int, plane: int, reads: dict[str, tuple[int, int]],
                      in_place: str | None = None) -> None:
        """Output rows must not overlap each other, nor the inputs (unless the output is
        exactly input ``in_place``: same address and plane), since the hardware writes while
        it still reads."""
        if rows > 1 and cols and plane < cols:
            raise self.fail(idx, ins, f"out_plane={plane} < {cols} makes output rows overlap")
        for name, (lo, hi) in reads.items():
            if name != in_place and out[0] < hi and lo < out[1]:
                raise self.fail(idx, ins, f"the output [{out[0]}, {out[1]}) overlaps {name} "
                                          f"[{lo}, {hi})")

    def exec_matmul(self, idx: int, ins: Instruction) -> None:
        f = ins.fields
        m, n, k = f["rows"], f["cols"], f["depth"]
        x, xs = self._operand(idx, ins, "X", f["x_addr"], (m, k), (f["x_row"], f["x_step"]))
        y, ys = self._operand(idx, ins, "Y", f["y_addr"], (k, n), (f["y_step"], 1))
        out, os_ = self._operand(idx, ins, "output", f["out_addr"], (m, n), (f["out_plane"], 1))
        self._check_output(idx, ins, os_, m, n, f["out_plane"], {"X": xs, "Y": ys})
        if m and n:
            if self.float_mode:
                fa, fb = self.add_coefficients(idx, ins)
                out[...] = fa * ops.matmul(x, y, True) + fb
            else:
                xv = x.view(np.uint8) if f["x_unsigned"] else x
                yv = y.view(np.uint8) if f["y_unsigned"] else y
                acc = ops.matmul(xv, yv, False)
                out[...] = numerics.matmul_requantize(acc, f["mult"], f["shift"])
        c, p = self.counters, self.cfg.pixels
        c["mm_macs"] += m * n * k
        c["requant_ops"] += m * n
        c["act_sram_read_bytes"] += k * (timing.ceil_div(n, p) * m + timing.ceil_div(m, MM_ROWS) * n)
        c["act_sram_write_bytes"] += m * n

    def _rowwise(self, idx: int, ins: Instruction) -> tuple[np.ndarray, np.ndarray]:
        """(input, output) views (batch, features, tokens) of SOFTMAX / LAYERNORM."""
        f = ins.fields
        shape = (f["features"], f["tokens"])
        x, xs = self._operand(idx, ins, "input", f["in_addr"], shape, (f["in_plane"], 1))
        out, os_ = self._operand(idx, ins, "output", f["out_addr"], shape, (f["out_plane"], 1))
        same = f["in_addr"] == f["out_addr"] and f["in_plane"] == f["out_plane"]
        self._check_output(idx, ins, os_, *shape, f["out_plane"], {"input": xs},
                           "input" if same else None)
        return x, out

    def exec_softmax(self, idx: int, ins: Instruction) -> None:
        x, out = self._rowwise(idx, ins)
        if x.size:
            if self.float_mode:
                out[...] = ops.float_softmax(x.astype(np.float64), axis=1)
            else:
                out[...] = numerics.softmax(x, ins.in_mult, ins.in_shift, axis=1).view(np.int8)
        n = x.shape[1] * x.shape[2]
        c = self.counters
        c["alu_ops"] += 3 * n
        c["requant_ops"] += n
        c["act_sram_read_bytes"] += 3 * n
        c["act_sram_write_bytes"] += n

    def exec_layernorm(self, idx: int, ins: Instruction) -> None:
        x, out = self._rowwise(idx, ins)
        feats = ins.features
        self.check_range(idx, ins, "records", "param", ins.param_addr, REQ_RECORD_BYTES * feats)
        if x.size:
            if self.float_mode:
                # the entry holds gamma and beta per feature, then (epsilon, unused)
                a, b = self.affine(idx, ins, feats + 1)
                xf = x.astype(np.float64)
                mu = xf.mean(axis=1, keepdims=True)
                var = ((xf - mu) ** 2).mean(axis=1, keepdims=True)
                out[...] = (xf - mu) / np.sqrt(var + a[feats]) * a[:feats, None] + b[:feats, None]
            else:
                rec = self.param[ins.param_addr:ins.param_addr + REQ_RECORD_BYTES * feats].view(REQ_RECORD)
                if rec["shift"].max() > SHIFT_MAX:  # the RTL stops with err on the same record
                    ch = int(np.argmax(rec["shift"] > SHIFT_MAX))
                    raise self.fail(idx, ins, f"the record of feature {ch} has shift "
                                              f"{int(rec['shift'][ch])} > {SHIFT_MAX}")
                out[...] = numerics.layernorm(x, rec["bias"][:, None], rec["mult"][:, None],
                                              rec["shift"][:, None], ins.eps, axis=1)
        n = x.shape[1] * x.shape[2]
        c = self.counters
        c["alu_ops"] += 2 * n
        c["requant_ops"] += n
        c["act_sram_read_bytes"] += 2 * n
        c["act_sram_write_bytes"] += n
        c["param_sram_read_bytes"] += REQ_RECORD_BYTES * feats * timing.ceil_div(ins.tokens, self.cfg.pixels)

    def exec_gelu(self, idx: int, ins: Instruction) -> None:
        n = ins.length
        x, xs = self._operand(idx, ins, "input", ins.in_addr, (n,), (1,))
        out, os_ = self._operand(idx, ins, "output", ins.out_addr, (n,), (1,))
        self._check_output(idx, ins, os_, 1, n, n, {"input": xs},
                           "input" if ins.in_addr == ins.out_addr else None)
        if n:
            if self.float_mode:
                out[...] = ops.float_gelu(x)
            else:
                for smp, part in ops.tiles(self.batch, n):
                    out[smp, part] = numerics.gelu(x[smp, part], ins.in_mult, ins.in_shift,
                                                   ins.out_mult, ins.out_shift)
        c = self.counters
        c["alu_ops"] += n
        c["requant_ops"] += n
        c["act_sram_read_bytes"] += n
        c["act_sram_write_bytes"] += n

    def exec_agg(self, idx: int, ins: Instruction) -> None:
        f = ins.fields
        feats, rows, nnz, n_in, csr = f["features"], f["row_count"], f["nnz"], f["in_nodes"], f["csr_addr"]
        size = adjacency.chunk_bytes(rows, nnz)
        self.check_range(idx, ins, "adjacency chunk", "mask", csr, size)
        self.check_range(idx, ins, "input", "act", f["in_addr"], feats * n_in)
        words = self.acc_words(idx, ins, "accumulators", f["acc_row"], feats, rows)
        deg, cols, vals = adjacency.unpack_chunk(self.mask[csr:csr + size], rows, nnz)
        if int(deg.sum()) != nnz:  # the RTL stops with err at the end of the chunk
            raise self.fail(idx, ins, f"the chunk's degrees sum to {int(deg.sum())}, not nnz={nnz}")
        if nnz and int(cols.max()) >= n_in:  # the RTL stops with err on that entry
            e = int(np.argmax(cols >= n_in))
            raise self.fail(idx, ins, f"entry {e} has column {int(cols[e])} >= in_nodes={n_in}")
        if feats and rows:
            x = self.act_window(f["in_addr"], (feats, n_in))
            if not self.float_mode:
                x = numerics.operand(x, f["in_unsigned"])
            x = x[:, :, cols]  # (batch, F, nnz)
            if self.float_mode:
                prod = x.astype(np.float64) * self.float_values(idx, ins, ins.nnz, f"nnz={ins.nnz}")
            else:
                prod = x.astype(np.int64) * vals
            sums = np.zeros((self.batch, feats, rows), prod.dtype)
            nonempty = deg > 0
            if nnz:
                starts = np.concatenate([[0], np.cumsum(deg)[:-1]])[nonempty]
                sums[:, :, nonempty] = np.add.reduceat(prod, starts, axis=2)
            self.acc[:, words] = sums if self.float_mode else sums.astype(np.int32)  # wraps like int32 adders
        c = self.counters
        c["mask_sram_read_bytes"] += timing.ceil_div(feats, self.cfg.pixels) * size
        c["act_sram_read_bytes"] += feats * nnz
        c["acc_sram_write_bytes"] += ACC_BYTES * feats * rows
        c["alu_ops"] += feats * nnz

    def float_values(self, idx: int, ins: Instruction, count: int, what: str) -> np.ndarray:
        """Float mode: the `count` float32 values an instruction carries in the float section
        (an AGG's entries, a constant tensor's DMA_LOAD)."""
        key = (idx, self.iteration)
        if key not in self.float_params:
            raise self.fail(idx, ins, f"the manifest's float_params has no entry for this {ins.op} "
                                      f"(iteration {self.iteration}), so the program cannot run "
                                      "in float mode")
        offset, have = self.float_params[key]
        if have != count or offset + 4 * count > len(self.float_section):
            raise self.fail(idx, ins, f"float_params entry (offset {offset}, {have} values) does "
                                      f"not fit {what} and the {len(self.float_section)}-byte "
                                      f"float section")
        vals = np.frombuffer(self.float_section, dtype="<f4", count=count, offset=offset)
        if not np.isfinite(vals).all():
            raise self.fail(idx, ins, f"float_params entry (offset {offset}) holds values that are "
                                      f"NaN or infinite")
        return vals.astype(np.float64)
