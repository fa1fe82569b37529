"""cocotb: the param SRAM (seedcc_param_sram) against a byte array.

Random cycles drive port A with a DMA beat (a write with random byte enables, or a read)
at an address a DMA transfer can give it (a word-aligned start plus a multiple of
BUS_BYTES), and port B with a word read at a word address; every read is compared, the
cycle after its address, with the array (a port B read of a word port A writes in the
same cycle is not compared: the accelerator never makes one). Port B's data must also
hold until its next read.
"""

from __future__ import annotations

import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from seedcc.backends.simulator import load_test_args
from seedcc.rtl_models.hwfacts import PARAM_WORD_BYTES


def beat_address(rng: random.Random, size: int, bus: int) -> int:
    """A beat's start: a DMA transfer starts on a word and steps by BUS_BYTES."""
    start = rng.randrange(size // PARAM_WORD_BYTES) * PARAM_WORD_BYTES
    step = rng.randrange(max(1, PARAM_WORD_BYTES // bus)) * bus if bus < PARAM_WORD_BYTES else 0
    return (start + step) % size


@cocotb.test()
async def param_sram_matches_a_byte_array(dut) -> None:
    args = load_test_args()
    rng = random.Random(int(args.get("seed", 1)))
    size, bus = int(args["param_bytes"]), int(args["bus_bytes"])
    model = bytearray(rng.randbytes(size))
    Clock(dut.clk, 10, unit="ns").start()
    for name in ("a_rd", "a_wr", "a_addr", "a_be", "a_wdata", "b_en", "b_addr"):
        getattr(dut, name).value = 0
    # fill the memory through port A so that the model starts equal
    for a in range(0, size, bus):
        await FallingEdge(dut.clk)
        dut.a_wr.value, dut.a_addr.value, dut.a_be.value = 1, a, (1 << bus) - 1
        dut.a_wdata.value = int.from_bytes(model[a:a + bus], "little")
    await FallingEdge(dut.clk)
    dut.a_wr.value = 0
    b_held = None  # the word port B read last
    for _ in range(int(args.get("cycles", 3000))):
        a_op = rng.choice(("read", "write", "idle"))
        a = beat_address(rng, size, bus)
        be = rng.getrandbits(bus) if a_op == "write" else 0
        data = rng.randbytes(bus)
        b_on = rng.random() < 0.6
        w = rng.randrange(size // PARAM_WORD_BYTES) * PARAM_WORD_BYTES
        dut.a_rd.value = int(a_op == "read")
        dut.a_wr.value = int(a_op == "write")
        dut.a_addr.value, dut.a_be.value = a, be
        dut.a_wdata.value = int.from_bytes(data, "little")
        dut.b_en.value, dut.b_addr.value = int(b_on), w
        # a beat past the last word wraps to the first, as the addresses do
        next_a = bytes(model[(a + j) % size] for j in range(bus)) if a_op == "read" else None
        written = {(a + j) % size: data[j] for j in range(bus) if be >> j & 1}
        next_b = bytes(model[w:w + PARAM_WORD_BYTES]) if b_on else None
        if b_on and set(written) & set(range(w, w + PARAM_WORD_BYTES)):
            next_b = None  # read and write of one word in a cycle: not compared
        await RisingEdge(dut.clk)
        for j, byte in written.items():
            model[j] = byte
        await FallingEdge(dut.clk)
        got_a = int(dut.a_rdata.value).to_bytes(bus, "little")
        got_b = int(dut.b_rdata.value).to_bytes(PARAM_WORD_BYTES, "little")
        if next_a is not None:
            assert got_a == next_a, f"port A beat at {a}: RTL {got_a.hex()}, expected {next_a.hex()}"
        if b_on:
            b_held = next_b
        if b_held is not None:
            assert got_b == b_held, f"port B: RTL {got_b.hex()}, expected {b_held.hex()}"
    dut._log.info("%d cycles on %d bytes, bus %d bytes", int(args.get("cycles", 3000)), size, bus)
