"""cocotb testbench of the whole accelerator (toplevel ``seedcc_tb``): run vector directories.

Launched by the RTL tests and `seedcc verify --rtl` (backends/rtlrun.py) through ``seedcc.backends.simulator.run_test``; the
arguments file names one or more vector directories written by
``seedcc.backends.vectors.write_vectors`` (hand-built programs or compiler output alike).
For each: reset, load the instruction stream through the host port and the DRAM image
with ``$readmemh``, pulse ``start``, wait for ``done``, then compare every output byte and
the cycle counter with the expectations. Nothing here knows about a particular program.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, with_timeout

from seedcc.backends.isa import BY_NAME, SPACE_MASK, SPACE_PARAM, encode, make
from seedcc.backends.simulator import load_test_args
from seedcc.backends.vectors import Vectors, load_vectors
from seedcc.rtl_models.adjacency import pack_chunk
from seedcc.rtl_models.hwfacts import LN_RECIP_STEPS, LN_SQRT_STEPS, REQ_RECORD, SHIFT_MAX

CLOCK_NS = 10
DRAM_IN = "seedcc_dram_in.hex"   # file names fixed in rtl_models/seedcc_dram.v
DRAM_OUT = "seedcc_dram_out.hex"


class AccelDriver:
    """Drives clock, reset, the host instruction port, the DRAM load hook and start."""

    def __init__(self, dut) -> None:
        self.dut = dut

    async def reset(self) -> None:
        d = self.dut
        d.rst_n.value = 0
        d.start.value = 0
        d.host_imem_we.value = 0
        d.host_imem_addr.value = 0
        d.host_imem_wdata.value = 0
        d.dram_load.value = 0
        d.dram_dump.value = 0
        d.dram_dump_lo.value = 0
        d.dram_dump_hi.value = 0
        for _ in range(3):
            await RisingEdge(d.clk)
        d.rst_n.value = 1
        await RisingEdge(d.clk)

    async def load_program(self, words: list[int]) -> None:
        d = self.dut
        for i, w in enumerate(words):
            d.host_imem_we.value = 1
            d.host_imem_addr.value = i
            d.host_imem_wdata.value = w
            await RisingEdge(d.clk)
        d.host_imem_we.value = 0
        await RisingEdge(d.clk)

    async def load_dram(self, image_file: Path) -> None:
        shutil.copyfile(image_file, Path.cwd() / DRAM_IN)
        self.dut.dram_load.value = 1
        await RisingEdge(self.dut.clk)
        self.dut.dram_load.value = 0
        await RisingEdge(self.dut.clk)

    async def run(self, max_cycles: int) -> tuple[int, bool, float]:
        """Start at pc 0 and wait for done: (cycle counter, err flag, wall seconds)."""
        d = self.dut
        d.start.value = 1
        await RisingEdge(d.clk)
        d.start.value = 0
        t0 = time.perf_counter()
        await with_timeout(RisingEdge(d.done), max_cycles * CLOCK_NS, "ns")
        wall = time.perf_counter() - t0
        await RisingEdge(d.clk)
        return int(d.cycles.value.to_unsigned()), bool(int(d.err.value)), wall


class DramMonitor:
    """Reads DRAM ranges back through the model's ``$writememh`` hook."""

    def __init__(self, dut) -> None:
        self.dut = dut

    async def read(self, addr: int, length: int) -> bytes:
        if length == 0:
            return b""
        d = self.dut
        d.dram_dump_lo.value = addr
        d.dram_dump_hi.value = addr + length - 1
        d.dram_dump.value = 1
        await RisingEdge(d.clk)
        d.dram_dump.value = 0
        await RisingEdge(d.clk)
        values = []
        for line in (Path.cwd() / DRAM_OUT).read_text().split("\n"):
            line = line.split("//")[0].strip()
            if line and not line.startswith("@"):
                try:
                    values.append(int(line, 16))
                except ValueError:  # x / z: the RTL never wrote this byte
                    where = addr + len(values)
                    raise AssertionError(f"DRAM byte {where:#x} reads {line!r}") from None
        if len(values) != length:
            raise AssertionError(f"DRAM dump of [{addr:#x}, {addr + length:#x}) gave {len(values)} "
                                 f"bytes, expected {length}")
        return bytes(values)


@dataclass
class Mismatch:
    what: str

    def __str__(self) -> str:
        return self.what


class Checker:
    """Exact comparison of outputs and cycles; messages name the first differing address."""

    def __init__(self, vec: Vectors, waves: str | None) -> None:
        self.vec = vec
        self.waves = waves
        self.errors: list[Mismatch] = []

    def _where(self) -> str:
        return f" [vectors {self.vec.directory}; waveform {self.waves or 'off (SEEDCC_WAVES=0)'}]"

    def output(self, name: str, addr: int, got: bytes, expected: bytes) -> None:
        if got == expected:
            return
        diffs = [i for i, (a, b) in enumerate(zip(got, expected)) if a != b]
        i = diffs[0]
        g = int.from_bytes(got[i:i + 1], "little", signed=True)
        e = int.from_bytes(expected[i:i + 1], "little", signed=True)
        self.errors.append(Mismatch(
            f"output {name!r}: first difference at DRAM address {addr + i:#x} (byte {i} of "
            f"{len(expected)}): RTL {g}, expected {e}; {len(diffs)} byte(s) differ"
            + self._where()))

    def cycles(self, got: int, err: bool) -> None:
        if err:
            self.errors.append(Mismatch("the accelerator stopped with err=1 (illegal instruction)"
                                        + self._where()))
        if got != self.vec.expected_cycles:
            self.errors.append(Mismatch(
                f"cycle counter at HALT: RTL {got}, expected {self.vec.expected_cycles} "
                f"(difference {got - self.vec.expected_cycles:+d})" + self._where()))

    def raise_if_failed(self) -> None:
        if self.errors:
            raise AssertionError("\n".join(str(e) for e in self.errors))


async def run_one(dut, vec: Vectors, waves: str | None) -> dict:
    driver, monitor = AccelDriver(dut), DramMonitor(dut)
    await driver.reset()
    await driver.load_program(vec.words)
    await driver.load_dram(vec.directory / "dram.hex")
    cycles, err, wall = await driver.run(max_cycles=2 * vec.expected_cycles + 1000)
    checker = Checker(vec, waves)
    checker.cycles(cycles, err)
    for out in vec.outputs:
        got = await monitor.read(out.dram_addr, len(out.expected))
        checker.output(out.name, out.dram_addr, got, out.expected)
    checker.raise_if_failed()
    return {"vectors": str(vec.directory), "cycles": cycles, "wall_s": wall,
            "cycles_per_s": cycles / wall if wall > 0 else None}


@cocotb.test()
async def run_vectors(dut) -> None:
    """Every vector directory in the arguments, in order, on one simulator process."""
    args = load_test_args()
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    stats = []
    for directory in args["vectors"]:
        vec = load_vectors(directory)
        if vec.config.verilog_params() != args.get("parameters", vec.config.verilog_params()):
            raise AssertionError(f"{directory} was written for {vec.config.verilog_params()} "
                                 f"but the build has {args.get('parameters')}")
        dram_bytes = int(args.get("dram_bytes", len(vec.dram)))
        if len(vec.dram) > dram_bytes:
            raise AssertionError(f"{directory}: the DRAM image has {len(vec.dram)} bytes but the "
                                 f"testbench DRAM model holds {dram_bytes}; build seedcc_tb with "
                                 f"a larger DRAM_BYTES")
        stats.append(await run_one(dut, vec, args.get("waves_file")))
        dut._log.info("%s: %d cycles in %.3f s", directory, stats[-1]["cycles"],
                      stats[-1]["wall_s"])
    (Path.cwd() / "seedcc_stats.json").write_text(json.dumps(stats, indent=1))


@cocotb.test()
async def illegal_word_stops_with_err(dut) -> None:
    """A word with a bit outside its opcode's fields, an unknown opcode, and a MAC whose first
    pixel lies past its row (start_ox = out_w, which isa.decode refuses): each stops the
    machine after its issue cycle with done = err = 1; nothing after it executes."""

    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    driver = AccelDriver(dut)
    add0 = int.from_bytes(encode(make("ADD", length=0)), "little")  # issue cycle only
    halt = int.from_bytes(encode(make("HALT")), "little")
    mac = make("MAC", in_c=1, in_h=2, in_w=3, out_w=3, kh=1, kw=1, stride_h=1, stride_w=1,
               oc_count=1, start_ox=2, pix_count=1, code_bits=1)
    past_row = int.from_bytes(encode(mac), "little") + (1 << BY_NAME["MAC"].field("start_ox").lo)
    for bad in (add0 | (1 << 255), 0xFF, past_row):
        await driver.reset()
        await driver.load_program([add0, bad, halt])
        cycles, err, _ = await driver.run(max_cycles=100)
        assert err, f"word {bad:#x} did not raise err"
        assert cycles == 2, f"word {bad:#x}: stopped after {cycles} cycles, expected 2"
        assert int(dut.pc.value) == 1, f"word {bad:#x}: pc {int(dut.pc.value)}, expected 1"


@cocotb.test()
async def misplaced_loop_stops_with_err(dut) -> None:
    """A LOOP inside a running LOOP body, and a HALT inside one (programs the encoder and
    refsim refuse, written word by word here): each stops the machine in its issue cycle
    with done = err = 1 and pc on the offending word."""
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    driver = AccelDriver(dut)
    add0, halt = make("ADD", length=0), make("HALT")
    programs = (
        ([make("LOOP", iterations=2, body_len=2), make("LOOP", iterations=2, body_len=1), add0, halt], 2, 1),
        ([make("LOOP", iterations=2, body_len=2), add0, halt], 3, 2),
    )
    for instrs, want_cycles, want_pc in programs:
        await driver.reset()
        await driver.load_program([int.from_bytes(encode(i), "little") for i in instrs])
        cycles, err, _ = await driver.run(max_cycles=100)
        assert err, f"{[i.op for i in instrs]}: no err"
        assert cycles == want_cycles, f"{[i.op for i in instrs]}: {cycles} cycles, expected {want_cycles}"
        assert int(dut.pc.value) == want_pc, f"pc {int(dut.pc.value)}, expected {want_pc}"


@cocotb.test()
async def bad_record_stops_with_err(dut) -> None:
    """A REQ over two channels whose second requantisation record has shift SHIFT_MAX + 1
    (a memory image the record encoder would refuse): the machine stops with done = err = 1
    and pc on the REQ after the channel-0 cycle and the failing cycle, as refsim rejects
    the same program; the RTL never truncates the shift."""
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    driver = AccelDriver(dut)
    rec = np.zeros(2, REQ_RECORD)
    rec["mult"], rec["shift"] = 1, (0, SHIFT_MAX + 1)
    image = Path.cwd() / "bad_record.hex"
    image.write_text("".join(f"{b:02x}\n" for b in rec.tobytes()))
    words = [int.from_bytes(encode(i), "little") for i in (
        make("DMA_LOAD", space=SPACE_PARAM, sram_addr=0, dram_addr=0, length=rec.nbytes),
        make("REQ", oc_count=2, pix_count=1, out_plane=1, param_addr=0),
        make("HALT"))]
    await driver.reset()
    await driver.load_program(words)
    await driver.load_dram(image)
    cycles, err, _ = await driver.run(max_cycles=1000)
    assert err, "a record with shift > SHIFT_MAX did not raise err"
    assert int(dut.pc.value) == 1, f"pc {int(dut.pc.value)}, expected 1 (the REQ)"
    ok = make("REQ", oc_count=1, pix_count=1, out_plane=1)  # the same REQ without the bad record
    await driver.reset()
    await driver.load_program([words[0], int.from_bytes(encode(ok), "little"), words[2]])
    await driver.load_dram(image)
    good_cycles, good_err, _ = await driver.run(max_cycles=1000)
    assert not good_err and cycles == good_cycles, (
        f"stopped after {cycles} cycles; expected {good_cycles} (the DMA, the REQ's issue and "
        f"channel-0 cycles, then the failing cycle in place of HALT's issue)")


@cocotb.test()
async def bad_layernorm_record_stops_with_err(dut) -> None:
    """A LAYERNORM over two features whose second record has shift SHIFT_MAX + 1: the
    machine stops with err = 1 and pc on the LAYERNORM in the output cycle of feature 1
    (after the sums, radicand, root and divider cycles and feature 0's output), as refsim
    rejects the same program."""
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    driver = AccelDriver(dut)
    rec = np.zeros(2, REQ_RECORD)
    rec["mult"], rec["shift"] = 1, (0, SHIFT_MAX + 1)
    image = Path.cwd() / "bad_ln_record.hex"
    image.write_text("".join(f"{b:02x}\n" for b in rec.tobytes()))
    words = [int.from_bytes(encode(i), "little") for i in (
        make("DMA_LOAD", space=SPACE_PARAM, sram_addr=0, dram_addr=0, length=rec.nbytes),
        make("LAYERNORM", tokens=1, features=2, in_plane=1, out_plane=1, out_addr=8),
        make("HALT"))]
    await driver.reset()
    await driver.load_program(words)
    await driver.load_dram(image)
    cycles, err, _ = await driver.run(max_cycles=1000)
    assert err, "a LAYERNORM record with shift > SHIFT_MAX did not raise err"
    assert int(dut.pc.value) == 1, f"pc {int(dut.pc.value)}, expected 1 (the LAYERNORM)"
    good = rec.copy()
    good["shift"] = 0
    image.write_text("".join(f"{b:02x}\n" for b in good.tobytes()))
    await driver.reset()
    await driver.load_program(words)
    await driver.load_dram(image)
    good_cycles, good_err, _ = await driver.run(max_cycles=1000)
    # feature 1's output cycle is the LAYERNORM's last: the failing run lacks HALT's issue
    assert not good_err and cycles == good_cycles - 1, (
        f"stopped after {cycles} cycles; expected {good_cycles - 1} (the DMA, the LAYERNORM's "
        f"issue, {2 + 1 + LN_SQRT_STEPS + LN_RECIP_STEPS} cycles before the output pass, the "
        f"two output cycles)")


@cocotb.test()
async def bad_adjacency_stops_with_err(dut) -> None:
    """AGG over a chunk the reference model rejects (tests/test_refsim.py
    test_agg_rejects_a_malformed_chunk): a column >= in_nodes, and degrees that do not sum
    to nnz. Either stops the machine with done = err = 1 and pc on the AGG; the well-formed
    chunk runs to HALT without err."""
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    driver = AccelDriver(dut)
    chunk = pack_chunk(np.array([2]), np.array([1, 3]), np.array([5, -7]))
    image = Path.cwd() / "bad_adjacency.hex"
    image.write_text("".join(f"{b:02x}\n" for b in chunk))
    load = make("DMA_LOAD", space=SPACE_MASK, sram_addr=0, dram_addr=0, length=len(chunk))
    for what, agg, bad in (("column 3 >= in_nodes 3", {"in_nodes": 3, "nnz": 2}, True),
                           ("degrees 2 != nnz 3", {"in_nodes": 4, "nnz": 3}, True),
                           ("a well-formed chunk", {"in_nodes": 4, "nnz": 2}, False)):
        words = [int.from_bytes(encode(i), "little") for i in (
            load, make("AGG", features=3, row_count=1, **agg), make("HALT"))]
        await driver.reset()
        await driver.load_program(words)
        await driver.load_dram(image)
        _, err, _ = await driver.run(max_cycles=1000)
        assert bool(err) == bad, f"{what}: err = {int(err)}"
        assert int(dut.pc.value) == (1 if bad else 2), f"{what}: pc {int(dut.pc.value)}"
