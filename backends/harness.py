"""Bring-your-own-RTL harness (cocotb side): run seedcc's vectors through an adapter.

An accelerator is verified against seedcc's vectors (docs/vectors.md) through a small
:class:`Adapter` that knows its ports: set up (clocks, reset), load the program, load the
memory image, start, wait for done, read memory back, read the cycle counter. The harness
does the rest for every vector directory: drive the adapter in that order, compare every
output word and the cycle counter exactly, and fail naming the first wrong output word,
the vector directory and the waveform file. :class:`SeedccAdapter` (seedcc's own RTL,
toplevel ``seedcc_tb``) is the first adapter; ``examples/byo_rtl`` has a second.

This module is the cocotb test module; the host side that builds the RTL and launches the
simulator is :mod:`seedcc.backends.byo_rtl`. The arguments file names the adapter as
``"module:Class"`` (importable in the simulator) and the vector directories.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, with_timeout

from seedcc.backends.cocotb_accel import CLOCK_NS, AccelDriver, DramMonitor
from seedcc.backends.simulator import load_test_args
from seedcc.backends.vectors import OutputVector, Vectors, load_vectors

STATS = "seedcc_harness_stats.json"


class Adapter:
    """How the harness drives one accelerator; subclass it and implement every coroutine.

    ``dut`` is cocotb's handle of the simulation top level. The harness calls, for each
    vector directory: :meth:`setup`, :meth:`load_program`, :meth:`load_memory`,
    :meth:`start`, :meth:`wait_done`, :meth:`read_cycles`, then :meth:`read_memory` once
    per output. An adapter raises ``AssertionError`` for a hardware error it can see (an
    error flag, a timeout).
    """

    def __init__(self, dut) -> None:
        self.dut = dut

    async def setup(self) -> None:
        """Clocks (start them only once) and reset; called before every vector directory."""
        raise NotImplementedError

    async def load_program(self, words: list[int]) -> None:
        """The instruction stream: 256-bit words, word i at instruction address i."""
        raise NotImplementedError

    async def load_memory(self, image: bytes) -> None:
        """The off-chip memory from address 0: program image, inputs, zeroed outputs."""
        raise NotImplementedError

    async def start(self) -> None:
        """Start execution at instruction 0."""
        raise NotImplementedError

    async def wait_done(self, max_cycles: int) -> None:
        """Return once the accelerator has halted; fail after ``max_cycles`` clock cycles."""
        raise NotImplementedError

    async def read_cycles(self) -> int:
        """The accelerator's cycle counter after HALT (docs/isa.md's cycle model)."""
        raise NotImplementedError

    async def read_memory(self, addr: int, length: int) -> bytes:
        """``length`` bytes of off-chip memory from ``addr``, after the run."""
        raise NotImplementedError


class SeedccAdapter(Adapter):
    """seedcc's own RTL (toplevel ``seedcc_tb``): host instruction port, DRAM model hooks."""

    def __init__(self, dut) -> None:
        super().__init__(dut)
        self.driver, self.monitor = AccelDriver(dut), DramMonitor(dut)
        self.clock_started = False
        self.image_file = Path.cwd() / "seedcc_harness_image.hex"

    async def setup(self) -> None:
        if not self.clock_started:
            Clock(self.dut.clk, CLOCK_NS, unit="ns").start()
            self.clock_started = True
        await self.driver.reset()

    async def load_program(self, words: list[int]) -> None:
        await self.driver.load_program(words)

    async def load_memory(self, image: bytes) -> None:
        self.image_file.write_text("".join(f"{b:02x}\n" for b in image))
        await self.driver.load_dram(self.image_file)

    async def start(self) -> None:
        self.dut.start.value = 1
        await RisingEdge(self.dut.clk)
        self.dut.start.value = 0

    async def wait_done(self, max_cycles: int) -> None:
        await with_timeout(RisingEdge(self.dut.done), max_cycles * CLOCK_NS, "ns")
        await RisingEdge(self.dut.clk)
        if int(self.dut.err.value):
            raise AssertionError("the accelerator stopped with err=1 (illegal instruction)")

    async def read_cycles(self) -> int:
        return int(self.dut.cycles.value.to_unsigned())

    async def read_memory(self, addr: int, length: int) -> bytes:
        return await self.monitor.read(addr, length)


def first_wrong_word(out: OutputVector, got: bytes) -> str | None:
    """None if ``got`` equals the expectation, else a sentence naming the first wrong word."""
    if got == out.expected:
        return None
    if len(got) != len(out.expected):
        return (f"output {out.name!r}: the adapter returned {len(got)} bytes, expected "
                f"{len(out.expected)}")
    n = out.word_bytes
    words = [[v[k:k + n] for k in range(0, len(v), n)] for v in (got, out.expected)]
    wrong = [i for i, (a, b) in enumerate(zip(*words)) if a != b]
    i = wrong[0]
    signed = [int.from_bytes(w[i], "little", signed=True) for w in words]
    return (f"output {out.name!r}: first wrong output word is word {i} of {len(words[1])} "
            f"(DRAM address {out.dram_addr + n * i:#x}): RTL {signed[0]}, expected {signed[1]}; "
            f"{len(wrong)} word(s) differ")


async def check_vectors(adapter: Adapter, vec: Vectors, waves: str | None) -> dict:
    """Drive one vector directory through ``adapter``; raise AssertionError on a mismatch."""
    where = f" [vectors {vec.directory}; waveform {waves or 'none (run without waves)'}]"
    await adapter.setup()
    await adapter.load_program(vec.words)
    await adapter.load_memory(vec.dram)
    await adapter.start()
    try:
        await adapter.wait_done(2 * vec.expected_cycles + 1000)
    except AssertionError as e:
        raise AssertionError(f"{e}{where}") from None
    except Exception as e:  # noqa: BLE001 - cocotb's timeout and anything the adapter raises
        raise AssertionError(f"no done within {2 * vec.expected_cycles + 1000} cycles "
                             f"({type(e).__name__}: {e}){where}") from None
    cycles = await adapter.read_cycles()
    errors = [msg for out in vec.outputs
              if (msg := first_wrong_word(out, await adapter.read_memory(out.dram_addr,
                                                                          len(out.expected))))]
    if cycles != vec.expected_cycles:
        errors.append(f"cycle counter at HALT: RTL {cycles}, expected {vec.expected_cycles} "
                      f"(difference {cycles - vec.expected_cycles:+d})")
    if errors:
        raise AssertionError("; ".join(errors) + where)
    return {"vectors": str(vec.directory), "cycles": cycles}


def adapter_class(spec: str) -> type[Adapter]:
    module, _, name = spec.partition(":")
    cls = getattr(importlib.import_module(module), name, None)
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise TypeError(f"adapter {spec!r} is not a subclass of {Adapter.__module__}.Adapter")
    return cls


@cocotb.test()
async def verify_adapter(dut) -> None:
    """Every vector directory of the arguments through the named adapter, in order."""
    args = load_test_args()
    adapter = adapter_class(args["adapter"])(dut)
    stats = []
    for directory in args["vectors"]:
        stats.append(await check_vectors(adapter, load_vectors(directory), args.get("waves_file")))
        dut._log.info("%s: %d cycles, outputs and cycles as expected", directory,
                      stats[-1]["cycles"])
    (Path.cwd() / STATS).write_text(json.dumps(stats, indent=1))
