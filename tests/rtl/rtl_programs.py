"""Hand-built programs that exercise every opcode, with expectations computed independently.

Each case is a :class:`Case`: a ``Program`` (built with ``isa.make`` and a DRAM image laid
out here), one int8 input sample, the expected int8 outputs and the expected cycle count.
Expectations come straight from numpy, ``rtl_models/numerics.py`` and the generator
registry (never from the reference model), so the same cases also check refsim
(tests/rtl/test_programs.py). Cycles are counted by hand from the table in docs/isa.md
(never with ``backends/timing.py``, which the reference model uses), one line per
instruction. SMALL: PIXELS 4, BUS_BYTES 8, DMA_LATENCY 4, so a DMA of n bytes costs
1 + 4 + ceil(n / 8); every instruction pays 1 issue cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from seedcc.backends.isa import Instruction, make
from seedcc.backends.manifest import Manifest, TensorIO
from seedcc.backends.program import Program
from seedcc.rtl_models import adjacency, masks, numerics
from seedcc.rtl_models.generators import generator_by_id
from seedcc.rtl_models.hwconfig import SMALL, HwConfig

ACT, MASK, PARAM = 0, 1, 2


@dataclass(frozen=True)
class Case:
    name: str
    program: Program
    inputs: dict[str, np.ndarray]      # int8, one sample, manifest shape
    expected: dict[str, np.ndarray]    # int8 (int32 for a wide output) by output name
    cycles: int


class Image:
    """A DRAM image under construction: blobs placed at chosen (often unaligned) offsets."""

    def __init__(self) -> None:
        self.data = bytearray()

    def put(self, blob: bytes, addr: int | None = None) -> int:
        addr = len(self.data) + 3 if addr is None else addr  # +3: deliberately unaligned
        if len(self.data) < addr + len(blob):
            self.data += bytes(addr + len(blob) - len(self.data))
        self.data[addr:addr + len(blob)] = blob
        return addr

    def reserve(self, n: int) -> int:
        return self.put(bytes(n))


def requant_records(bias: np.ndarray, mult: np.ndarray, shift: np.ndarray) -> bytes:
    rec = np.zeros(len(bias), dtype=[("b", "<i4"), ("m", "<i2"), ("s", "u1"), ("z", "u1")])
    rec["b"], rec["m"], rec["s"] = bias, mult, shift
    return rec.tobytes()


def lane_table(states: list[int]) -> bytes:
    return np.asarray(states, dtype="<u8").tobytes()


def lane_signs(gen_id: int, states: list[int], oc: int, steps: int) -> np.ndarray:
    """int64 (oc, steps) of +-1: bit (o % 16) of lane o // 16 after step t + 1."""
    words = generator_by_id(gen_id).stream(np.asarray(states, dtype=np.uint64), steps)
    bits = (words[:, None, :].astype(np.int64) >> np.arange(16)[None, :, None]) & 1
    return np.where(bits.reshape(-1, steps)[:oc] == 1, 1, -1)


def mac_ref(x: np.ndarray, w: np.ndarray, kh: int, kw: int, sh: int, sw: int, pt: int, pl: int,
            out_w: int, first: int, pix_count: int) -> np.ndarray:
    """acc (oc, pix_count) = sum over (i, ky, kx) of w[o, i*kh*kw + ky*kw + kx] * x[i, iy, ix]
    over the output pixels first .. first + pix_count - 1 (row-major)."""
    c, h, wd = x.shape
    cols = np.zeros((c * kh * kw, pix_count), dtype=np.int64)
    for p in range(pix_count):
        oy, ox = divmod(first + p, out_w)
        for i in range(c):
            for ky in range(kh):
                for kx in range(kw):
                    iy, ix = oy * sh - pt + ky, ox * sw - pl + kx
                    if 0 <= iy < h and 0 <= ix < wd:
                        cols[(i * kh + ky) * kw + kx, p] = x[i, iy, ix]
    return w.astype(np.int64) @ cols


def requant_ref(acc: np.ndarray, bias, mult, shift, relu: bool) -> np.ndarray:
    return numerics.requantize(acc, np.asarray(bias)[:, None], np.asarray(mult)[:, None],
                               np.asarray(shift)[:, None], relu)


def pool_ref(x: np.ndarray, kh, kw, sh, sw, pt, pl, out_h, out_w, avg, mult=0, shift=0):
    """MAXPOOL / AVGPOOL of an int8 or a uint8 `x`; the output is in x's format."""
    c, h, w = x.shape
    unsigned = x.dtype == np.uint8
    out = np.zeros((c, out_h, out_w), dtype=x.dtype)
    for ch in range(c):
        for oy in range(out_h):
            for ox in range(out_w):
                vals = [int(x[ch, oy * sh - pt + ky, ox * sw - pl + kx])
                        for ky in range(kh) for kx in range(kw)
                        if 0 <= oy * sh - pt + ky < h and 0 <= ox * sw - pl + kx < w]
                if avg:
                    out[ch, oy, ox] = numerics.scale_sum(sum(vals), mult, shift, unsigned)
                else:
                    out[ch, oy, ox] = max(vals) if vals else numerics.act_bounds(unsigned)[0]
    return out


def _program(cfg: HwConfig, instrs: list[Instruction], image: Image, inputs: list[TensorIO],
             outputs: list[TensorIO], name: str) -> Program:
    manifest = Manifest(model=name, inputs=tuple(inputs), outputs=tuple(outputs))
    return Program(cfg, tuple(instrs), bytes(image.data), b"", manifest)


def _io(name: str, shape, addr: int) -> TensorIO:
    return TensorIO(name, tuple(int(s) for s in shape), 1.0, addr)


def _finish(name, instrs, image, ins, outs, inputs, expected, cycles: int) -> Case:
    """The case on SMALL, HALT appended; `cycles` counted by hand, HALT's issue included."""
    instrs = [*instrs, make("HALT")]
    return Case(name, _program(SMALL, instrs, image, ins, outs, name), inputs, expected, cycles)


def rand_i8(rng: np.random.Generator, shape) -> np.ndarray:
    return rng.integers(-128, 128, size=shape, dtype=np.int16).astype(np.int8)


def case_dma() -> Case:
    """DMA_LOAD / DMA_STORE through all three SRAMs, unaligned act and mask addresses (a
    param transfer starts on a param SRAM word), partial beats."""
    rng = np.random.default_rng(1)
    img = Image()
    x = rand_i8(rng, (37,))
    m = rand_i8(rng, (21,))
    q = rand_i8(rng, (13,))
    ax = img.put(bytes(37), 3)
    am, aq = img.put(m.tobytes()), img.put(q.tobytes())
    ox, om, oq = img.reserve(37), img.reserve(21), img.reserve(13)
    instrs = [
        make("DMA_LOAD", space=ACT, sram_addr=5, dram_addr=ax, length=37),
        make("DMA_LOAD", space=MASK, sram_addr=11, dram_addr=am, length=21),
        make("DMA_LOAD", space=PARAM, sram_addr=8, dram_addr=aq, length=13),
        make("DMA_LOAD", space=ACT, sram_addr=500, dram_addr=aq, length=0),
        make("DMA_STORE", space=ACT, sram_addr=5, dram_addr=ox, length=37),
        make("DMA_STORE", space=MASK, sram_addr=11, dram_addr=om, length=21),
        make("DMA_STORE", space=PARAM, sram_addr=8, dram_addr=oq, length=13),
    ]
    cycles = (2 * (1 + 4 + 5)   # DMA_LOAD, DMA_STORE of 37 bytes: 5 beats
              + 2 * (1 + 4 + 3)   # 21 bytes: 3 beats
              + 2 * (1 + 4 + 2)   # 13 bytes: 2 beats
              + 1 + 4             # DMA_LOAD of 0 bytes: the latency only
              + 1)                # HALT
    return _finish("dma", instrs, img, [_io("x", (37,), ax)],
                   [_io("act", (37,), ox), _io("mask", (21,), om), _io("param", (13,), oq)],
                   {"x": x}, {"act": x, "mask": m, "param": q}, cycles)


def case_spill() -> Case:
    """An activation stored off chip and loaded back to another act address (a spill and
    its reload: the DRAM written by the machine is read back by it)."""
    x = rand_i8(np.random.default_rng(11), (37,))
    img = Image()
    ax, spill, out = img.put(bytes(37)), img.reserve(37), img.reserve(37)
    instrs = [
        make("DMA_LOAD", space=ACT, sram_addr=5, dram_addr=ax, length=37),
        make("DMA_STORE", space=ACT, sram_addr=5, dram_addr=spill, length=37),
        make("DMA_LOAD", space=ACT, sram_addr=300, dram_addr=spill, length=37),
        make("DMA_STORE", space=ACT, sram_addr=300, dram_addr=out, length=37),
    ]
    cycles = 4 * (1 + 4 + 5) + 1  # four DMAs of 37 bytes (5 beats each), HALT
    return _finish("spill", instrs, img, [_io("x", (37,), ax)], [_io("y", (37,), out)],
                   {"x": x}, {"y": x}, cycles)


def _binary_conv_image(rng: np.random.Generator, chw: tuple[int, int, int], oc: int, seed: int,
                       groups: int):
    """A 3x3 binary-mask conv's operands on an Image: input x, xorshift16 lane states of
    `groups` groups, codes, requantisation (bias, mult, shift); the Image; the addresses of
    x, the mask rows, the parameter table and the output; the packed rows."""
    c, h, w = chw
    x = rand_i8(rng, chw)
    states = [generator_by_id(0).group_state(seed, g) for g in range(groups)]
    codes = (rng.random((oc, c * 9)) < 0.5).astype(np.uint8)
    bias = rng.integers(-300, 300, oc)
    mult = rng.integers(1, 200, oc)
    shift = rng.integers(4, 10, oc)
    img = Image()
    ax = img.put(bytes(x.size))
    rows = masks.pack_block(codes, 1)
    am = img.put(rows)
    ap = img.put(lane_table(states) + requant_records(bias, mult, shift))
    out_addr = img.reserve(oc * h * w)
    return x, states, codes, bias, mult, shift, img, (ax, am, ap, out_addr), rows


def case_conv_xorshift16() -> Case:
    """SETGEN gen 0 + binary-mask 3x3 conv (pad 1, partial last tile, 20 of 32 channels) +
    REQ with relu."""
    c, h, w, oc, kh, kw = 3, 6, 7, 20, 3, 3
    steps = c * kh * kw
    x, states, codes, bias, mult, shift, img, (ax, am, ap, out_addr), rows = _binary_conv_image(
        np.random.default_rng(2), (c, h, w), oc, 1024, 2)
    npix = h * w
    instrs = [
        make("DMA_LOAD", space=ACT, sram_addr=0, dram_addr=ax, length=x.size),
        make("DMA_LOAD", space=MASK, sram_addr=0, dram_addr=am, length=len(rows)),
        make("DMA_LOAD", space=PARAM, sram_addr=0, dram_addr=ap, length=16 + 8 * oc),
        make("SETGEN", gen_id=0, param_addr=0, count=2),
        make("MAC", in_addr=0, acc_row=0, in_c=c, in_h=h, in_w=w, out_w=w, kh=kh, kw=kw,
             stride_h=1, stride_w=1, pad_t=1, pad_l=1, oc_count=oc, pix_count=npix,
             mask_addr=0, code_bits=1),
        make("REQ", acc_row=0, out_addr=1000, oc_count=oc, pix_count=npix, out_plane=npix,
             param_addr=16, relu=1),
        make("DMA_STORE", space=ACT, sram_addr=1000, dram_addr=out_addr, length=oc * npix),
    ]
    wts = lane_signs(0, states, oc, steps) * codes
    acc = mac_ref(x, wts, kh, kw, 1, 1, 1, 1, w, 0, npix)
    y = requant_ref(acc, bias, mult, shift, True).reshape(oc, h, w)
    cycles = (1 + 4 + 16          # DMA_LOAD x: 3*6*7 = 126 bytes, 16 beats
              + 1 + 4 + 14        # mask: 27 rows x (2 lanes x 2 bytes) = 108 bytes, 14 beats
              + 1 + 4 + 22        # param: 16 lane bytes + 20 x 8 record bytes = 176, 22 beats
              + 1 + 2             # SETGEN 2 lanes
              + 1 + 11 * (27 + 2)  # MAC: 42 pixels = 11 tiles, restart + 27 steps + write-back
              + 1 + 20 * 11       # REQ: 20 channels x 11 tiles
              + 1 + 4 + 105       # DMA_STORE 20*42 = 840 bytes, 105 beats
              + 1)                # HALT
    return _finish("conv_xorshift16", instrs, img, [_io("x", x.shape, ax)],
                   [_io("y", y.shape, out_addr)], {"x": x}, {"y": y}, cycles)


def case_background_dma() -> Case:
    """The conv of case_conv_xorshift16 with its loads in the background (docs/isa.md
    "Background units"): a transfer waits for the engine's last cycle, SYNC-free because the
    foreground param load waits for the mask load; a second copy of the mask rows loads
    while the MAC runs, and both stores run in the background up to HALT, which waits."""
    c, h, w, oc, kh, kw = 3, 6, 7, 20, 3, 3
    steps = c * kh * kw
    x, states, codes, bias, mult, shift, img, (ax, am, ap, out_addr), rows = _binary_conv_image(
        np.random.default_rng(2), (c, h, w), oc, 1024, 2)
    npix = h * w
    rows_out = img.reserve(len(rows))
    instrs = [
        make("DMA_LOAD", space=ACT, sram_addr=0, dram_addr=ax, length=x.size, background=1),
        make("DMA_LOAD", space=MASK, sram_addr=0, dram_addr=am, length=len(rows), background=1),
        make("DMA_LOAD", space=PARAM, sram_addr=0, dram_addr=ap, length=16 + 8 * oc),
        make("SETGEN", gen_id=0, param_addr=0, count=2),
        make("DMA_LOAD", space=MASK, sram_addr=512, dram_addr=am, length=len(rows), background=1),
        make("MAC", in_addr=0, acc_row=0, in_c=c, in_h=h, in_w=w, out_w=w, kh=kh, kw=kw,
             stride_h=1, stride_w=1, pad_t=1, pad_l=1, oc_count=oc, pix_count=npix,
             mask_addr=0, code_bits=1),
        make("REQ", acc_row=0, out_addr=1000, oc_count=oc, pix_count=npix, out_plane=npix,
             param_addr=16, relu=1),
        make("DMA_STORE", space=ACT, sram_addr=1000, dram_addr=out_addr, length=oc * npix,
             background=1),
        make("DMA_STORE", space=MASK, sram_addr=512, dram_addr=rows_out, length=len(rows),
             background=1),
    ]
    wts = lane_signs(0, states, oc, steps) * codes
    acc = mac_ref(x, wts, kh, kw, 1, 1, 1, 1, w, 0, npix)
    y = requant_ref(acc, bias, mult, shift, True).reshape(oc, h, w)
    cycles = (1                   # DMA_LOAD x, background: issue 0, engine cycles 1..20 (4 + 16 beats)
              + 19 + 1            # DMA_LOAD mask, background: waits to cycle 20 (the engine's last),
                                  # issue 20, engine 21..38 (4 + 14 beats)
              + 17 + 1 + 4 + 22   # DMA_LOAD param: waits to 38, issue 38, 26 execute cycles
              + 1 + 2             # SETGEN 2 lanes
              + 1                 # DMA_LOAD mask copy, background: issue 68, engine 69..86 (under the MAC)
              + 1 + 11 * (27 + 2)  # MAC: 42 pixels = 11 tiles
              + 1 + 20 * 11       # REQ: 20 channels x 11 tiles
              + 1                 # DMA_STORE y, background: issue 610, engine 611..719 (4 + 105 beats)
              + 108 + 1           # DMA_STORE mask copy, background: waits to 719, engine 720..737
              + 17 + 1)           # HALT: waits to 737, the last cycle of the store
    return _finish("background_dma", instrs, img, [_io("x", x.shape, ax)],
                   [_io("y", y.shape, out_addr), _io("rows", (len(rows),), rows_out)], {"x": x},
                   {"y": y, "rows": np.frombuffer(rows, np.int8)}, cycles)


def case_background_req() -> Case:
    """The conv of case_conv_xorshift16 in three pixel chunks on two accumulator buffers
    (docs/isa.md "Background units"): REQ of chunk 1 drains buffer 0 while chunk 2's MAC
    fills buffer 1; chunk 2's REQ waits for the REQ unit (its MAC is shorter than chunk 1's
    REQ); chunk 3's MAC refills buffer 0 and its REQ runs in the foreground."""
    c, h, w, oc, kh, kw = 3, 6, 7, 20, 3, 3
    steps = c * kh * kw
    x, states, codes, bias, mult, shift, img, (ax, am, ap, out_addr), rows = _binary_conv_image(
        np.random.default_rng(2), (c, h, w), oc, 1024, 2)
    npix = h * w
    mac = {"in_addr": 0, "in_c": c, "in_h": h, "in_w": w, "out_w": w, "kh": kh, "kw": kw, "stride_h": 1, "stride_w": 1,
               "pad_t": 1, "pad_l": 1, "oc_count": oc, "mask_addr": 0, "code_bits": 1}
    instrs = [
        make("DMA_LOAD", space=ACT, sram_addr=0, dram_addr=ax, length=x.size),
        make("DMA_LOAD", space=MASK, sram_addr=0, dram_addr=am, length=len(rows)),
        make("DMA_LOAD", space=PARAM, sram_addr=0, dram_addr=ap, length=16 + 8 * oc),
        make("SETGEN", gen_id=0, param_addr=0, count=2),
    ]
    for p0, pc, acc, bg in ((0, 24, 0, 1), (24, 4, 8, 1), (28, 14, 0, 0)):  # acc SRAM rows
        oy, ox = divmod(p0, w)
        instrs += [make("MAC", acc_row=acc, start_oy=oy, start_ox=ox, pix_count=pc, **mac),
                   make("REQ", acc_row=acc, out_addr=1000 + p0, oc_count=oc, pix_count=pc,
                        out_plane=npix, param_addr=16, relu=1, background=bg)]
    instrs.append(make("DMA_STORE", space=ACT, sram_addr=1000, dram_addr=out_addr, length=oc * npix))
    wts = lane_signs(0, states, oc, steps) * codes
    acc = mac_ref(x, wts, kh, kw, 1, 1, 1, 1, w, 0, npix)
    y = requant_ref(acc, bias, mult, shift, True).reshape(oc, h, w)
    cycles = (1 + 4 + 16          # DMA_LOAD x: 126 bytes, 16 beats
              + 1 + 4 + 14        # mask: 108 bytes, 14 beats
              + 1 + 4 + 22        # param: 176 bytes, 22 beats
              + 1 + 2             # SETGEN 2 lanes
              + 1 + 6 * (27 + 2)  # MAC chunk 1: 24 pixels = 6 tiles
              + 1                 # REQ 1, background: issue t; the unit drains 20 x 6 = 120
                                  # cycles, t+1..t+120
              + 1 + 1 * (27 + 2)  # MAC chunk 2: 4 pixels = 1 tile, issue t+1, to t+30
              + 89 + 1            # REQ 2, background: waits t+31..t+119, issue t+120 (the
                                  # unit's last cycle); the unit drains 20 cycles to t+140
              + 1 + 4 * (27 + 2)  # MAC chunk 3: 14 pixels = 4 tiles, issue t+121, to t+237
              + 1 + 20 * 4        # REQ 3: the unit is idle since t+140; 20 x 4 tiles
              + 1 + 4 + 105       # DMA_STORE 840 bytes
              + 1)                # HALT
    return _finish("background_req", instrs, img, [_io("x", x.shape, ax)],
                   [_io("y", y.shape, out_addr)], {"x": x}, {"y": y}, cycles)


def case_param_port() -> Case:
    """The conv of case_background_req in two pixel chunks with a SETGEN between them: the
    SETGEN reads the param SRAM's read port, which the background REQ of chunk 1 holds for
    its records, so it waits for the REQ unit's last cycle (docs/isa.md "Background units")
    and issues in it, its first lane state read going out there."""
    c, h, w, oc, kh, kw = 3, 6, 7, 20, 3, 3
    steps = c * kh * kw
    x, states, codes, bias, mult, shift, img, (ax, am, ap, out_addr), rows = _binary_conv_image(
        np.random.default_rng(2), (c, h, w), oc, 1024, 2)
    npix = h * w
    mac = {"in_addr": 0, "in_c": c, "in_h": h, "in_w": w, "out_w": w, "kh": kh, "kw": kw, "stride_h": 1, "stride_w": 1,
           "pad_t": 1, "pad_l": 1, "oc_count": oc, "mask_addr": 0, "code_bits": 1}
    instrs = [
        make("DMA_LOAD", space=ACT, sram_addr=0, dram_addr=ax, length=x.size),
        make("DMA_LOAD", space=MASK, sram_addr=0, dram_addr=am, length=len(rows)),
        make("DMA_LOAD", space=PARAM, sram_addr=0, dram_addr=ap, length=16 + 8 * oc),
        make("SETGEN", gen_id=0, param_addr=0, count=2),
        make("MAC", acc_row=0, start_oy=0, start_ox=0, pix_count=24, **mac),
        make("REQ", acc_row=0, out_addr=1000, oc_count=oc, pix_count=24, out_plane=npix,
             param_addr=16, relu=1, background=1),
        make("SETGEN", gen_id=0, param_addr=0, count=2),  # the same states: MACs restart from them
        make("MAC", acc_row=8, start_oy=3, start_ox=3, pix_count=18, **mac),
        make("REQ", acc_row=8, out_addr=1024, oc_count=oc, pix_count=18, out_plane=npix,
             param_addr=16, relu=1),
        make("DMA_STORE", space=ACT, sram_addr=1000, dram_addr=out_addr, length=oc * npix),
    ]
    wts = lane_signs(0, states, oc, steps) * codes
    acc = mac_ref(x, wts, kh, kw, 1, 1, 1, 1, w, 0, npix)
    y = requant_ref(acc, bias, mult, shift, True).reshape(oc, h, w)
    cycles = (1 + 4 + 16          # DMA_LOAD x: 126 bytes, 16 beats
              + 1 + 4 + 14        # mask: 108 bytes, 14 beats
              + 1 + 4 + 22        # param: 176 bytes, 22 beats
              + 1 + 2             # SETGEN 2 lanes
              + 1 + 6 * (27 + 2)  # MAC chunk 1: 24 pixels = 6 tiles
              + 1                 # REQ 1, background: issue t; the unit drains 20 x 6 = 120
                                  # cycles, t+1..t+120
              + 119 + 1 + 2       # SETGEN: waits t+1..t+119, issues in t+120 (the unit's last
                                  # cycle), loads its 2 lanes in t+121, t+122
              + 1 + 5 * (27 + 2)  # MAC chunk 2: 18 pixels = 5 tiles
              + 1 + 20 * 5        # REQ 2, foreground: 20 channels x 5 tiles
              + 1 + 4 + 105       # DMA_STORE 840 bytes
              + 1)                # HALT
    return _finish("param_port", instrs, img, [_io("x", x.shape, ax)],
                   [_io("y", y.shape, out_addr)], {"x": x}, {"y": y}, cycles)


def case_conv_copies() -> Case:
    """12 channels use one of SMALL's two lanes, so the MAC runs two copies of it
    (rep_log2 = 1): a tile is 8 pixels, copy 1 on pixels 4..7 with lane 0's weight bits.
    Two pixel ranges (the second starting mid-row) with partial last tiles and copies."""
    c, h, w, oc, kh, kw = 3, 6, 7, 12, 3, 3
    steps = c * kh * kw
    x, states, codes, bias, mult, shift, img, (ax, am, ap, out_addr), rows = _binary_conv_image(
        np.random.default_rng(5), (c, h, w), oc, 77, 1)
    npix = h * w
    instrs = [
        make("DMA_LOAD", space=ACT, sram_addr=0, dram_addr=ax, length=x.size),
        make("DMA_LOAD", space=MASK, sram_addr=0, dram_addr=am, length=len(rows)),
        make("DMA_LOAD", space=PARAM, sram_addr=0, dram_addr=ap, length=8 + 8 * oc),
        make("SETGEN", gen_id=0, param_addr=0, count=1),
    ]
    # pixel 19 of the 7-wide output is row 2, column 5
    for p0, (oy0, ox0), pc in ((0, (0, 0), 19), (19, (2, 5), npix - 19)):
        instrs += [
            make("MAC", in_addr=0, acc_row=0, in_c=c, in_h=h, in_w=w, out_w=w, kh=kh, kw=kw,
                 stride_h=1, stride_w=1, pad_t=1, pad_l=1, oc_count=oc, start_oy=oy0,
                 start_ox=ox0, pix_count=pc, mask_addr=0, code_bits=1, rep_log2=1),
            make("REQ", acc_row=0, out_addr=1000 + p0, oc_count=oc, pix_count=pc, out_plane=npix,
                 param_addr=8, relu=1, rep_log2=1),
        ]
    instrs.append(make("DMA_STORE", space=ACT, sram_addr=1000, dram_addr=out_addr, length=oc * npix))
    wts = lane_signs(0, states, oc, steps) * codes
    acc = mac_ref(x, wts, kh, kw, 1, 1, 1, 1, w, 0, npix)
    y = requant_ref(acc, bias, mult, shift, True).reshape(oc, h, w)
    cycles = (1 + 4 + 16          # DMA_LOAD x: 126 bytes, 16 beats
              + 1 + 4 + 7         # mask: 27 rows x (1 lane x 2 bytes) = 54 bytes, 7 beats
              + 1 + 4 + 13        # param: 8 lane bytes + 12 x 8 record bytes = 104, 13 beats
              + 1 + 1             # SETGEN 1 lane
              + 1 + 3 * (27 + 2)  # MAC: 19 pixels = 3 tiles of 2 x 4 pixels
              + 1 + 12 * 5        # REQ: 12 channels x ceil(19 / 4)
              + 1 + 3 * (27 + 2)  # MAC: 23 pixels = 3 tiles
              + 1 + 12 * 6        # REQ: 12 channels x ceil(23 / 4)
              + 1 + 4 + 63        # DMA_STORE 12*42 = 504 bytes, 63 beats
              + 1)                # HALT
    return _finish("conv_copies", instrs, img, [_io("x", x.shape, ax)],
                   [_io("y", y.shape, out_addr)], {"x": x}, {"y": y}, cycles)


def case_wide() -> Case:
    """The conv of case_conv_copies (12 channels, two copies) with REQs that leave the
    result at accumulator precision (`out_wide`): int32 values, 4 bytes each, written PIXELS
    bytes a cycle, so a REQ takes 4 cycles per (channel, pixel tile). The records reach
    both int32 bounds (biases near them, multipliers up to 32767, +-1 with shift 0 as the
    compiler writes them) with and without the ReLU, and the partial tiles of both pixel
    ranges take their byte enables from the word each byte belongs to."""
    c, h, w, oc, kh, kw = 3, 6, 7, 12, 3, 3
    steps = c * kh * kw
    x, states, codes, _, _, _, img, (ax, am, ap, _), rows = _binary_conv_image(
        np.random.default_rng(5), (c, h, w), oc, 77, 1)
    npix = h * w
    top = 2**31 - 1
    bias = np.array([0, 0, top - 100, -top + 100, 12345, -999, 0, 50, -top - 1, top, 5, 0])
    mult = np.array([1, -1, 1, -1, 30000, -30000, 7, -7, 1, 1, 0, 32767])
    shift = np.array([0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 1])
    img.put(requant_records(bias, mult, shift), ap + 8)
    out_addr = img.reserve(4 * oc * npix)
    instrs = [
        make("DMA_LOAD", space=ACT, sram_addr=0, dram_addr=ax, length=x.size),
        make("DMA_LOAD", space=MASK, sram_addr=0, dram_addr=am, length=len(rows)),
        make("DMA_LOAD", space=PARAM, sram_addr=0, dram_addr=ap, length=8 + 8 * oc),
        make("SETGEN", gen_id=0, param_addr=0, count=1),
    ]
    for p0, (oy0, ox0), pc, relu in ((0, (0, 0), 19, 1), (19, (2, 5), npix - 19, 0)):
        instrs += [
            make("MAC", in_addr=0, acc_row=0, in_c=c, in_h=h, in_w=w, out_w=w, kh=kh, kw=kw,
                 stride_h=1, stride_w=1, pad_t=1, pad_l=1, oc_count=oc, start_oy=oy0,
                 start_ox=ox0, pix_count=pc, mask_addr=0, code_bits=1, rep_log2=1),
            make("REQ", acc_row=0, out_addr=1000 + 4 * p0, oc_count=oc, pix_count=pc,
                 out_plane=npix, param_addr=8, relu=relu, rep_log2=1, out_wide=1),
        ]
    instrs.append(make("DMA_STORE", space=ACT, sram_addr=1000, dram_addr=out_addr, length=4 * oc * npix))
    wts = lane_signs(0, states, oc, steps) * codes
    acc = mac_ref(x, wts, kh, kw, 1, 1, 1, 1, w, 0, npix)
    y = np.concatenate([numerics.requantize(acc[:, lo:hi], bias[:, None], mult[:, None], shift[:, None],
                                            relu, wide=True)
                        for lo, hi, relu in ((0, 19, True), (19, npix, False))], axis=1)
    assert (y == top).any() and (y == -top - 1).any()  # both bounds reached
    cycles = (1 + 4 + 16          # DMA_LOAD x: 126 bytes, 16 beats
              + 1 + 4 + 7         # mask: 27 rows x (1 lane x 2 bytes) = 54 bytes, 7 beats
              + 1 + 4 + 13        # param: 8 lane bytes + 12 x 8 record bytes = 104, 13 beats
              + 1 + 1             # SETGEN 1 lane
              + 1 + 3 * (27 + 2)  # MAC: 19 pixels = 3 tiles of 2 x 4 pixels
              + 1 + 4 * 12 * 5    # REQ: 12 channels x ceil(19 / 4) items, 4 cycles each
              + 1 + 3 * (27 + 2)  # MAC: 23 pixels = 3 tiles
              + 1 + 4 * 12 * 6    # REQ: 12 channels x ceil(23 / 4) items, 4 cycles each
              + 1 + 4 + 252       # DMA_STORE 4*12*42 = 2016 bytes, 252 beats
              + 1)                # HALT
    out = TensorIO("y", (oc, h, w), 1.0, out_addr, channel_scales=(1.0,) * oc)
    return _finish("wide", instrs, img, [_io("x", x.shape, ax)], [out], {"x": x},
                   {"y": y.reshape(oc, h, w)}, cycles)


def case_conv_split_xorshift32() -> Case:
    """gen 1, 2-bit multicoat codes, stride 2, asymmetric pad, kernel 3x2; the input channels
    split over two MACs (second accumulates, lanes jumped ahead) and the pixels over two
    ranges, the second starting mid-row, each requantised into one output plane."""
    rng = np.random.default_rng(3)
    c, h, w, oc, kh, kw, sh, sw, pt, pl = 4, 9, 8, 32, 3, 2, 2, 2, 1, 0
    out_h, out_w = 5, 4
    npix, kk, half = out_h * out_w, kh * kw, 2
    gen = generator_by_id(1)
    states = [gen.group_state(77, g) for g in range(2)]
    jumped = [gen.jump(s, half * kk) for s in states]
    x = rand_i8(rng, (c, h, w))
    codes = rng.integers(0, 4, (oc, c * kk)).astype(np.uint8)
    bias = rng.integers(-2000, 2000, oc)
    mult = rng.integers(-300, 300, oc)
    shift = rng.integers(6, 12, oc)
    rows_a = masks.pack_block(codes[:, :half * kk], 2)
    rows_b = masks.pack_block(codes[:, half * kk:], 2)
    img = Image()
    ax = img.put(bytes(x.size))
    am = img.put(rows_a + rows_b)
    ap = img.put(lane_table(states) + lane_table(jumped) + requant_records(bias, mult, shift))
    out_addr = img.reserve(oc * npix)
    instrs = [
        make("DMA_LOAD", space=ACT, sram_addr=100, dram_addr=ax, length=x.size),
        make("DMA_LOAD", space=MASK, sram_addr=7, dram_addr=am, length=len(rows_a) + len(rows_b)),
        make("DMA_LOAD", space=PARAM, sram_addr=64, dram_addr=ap, length=32 + 8 * oc),
    ]
    geo = {"in_h": h, "in_w": w, "out_w": out_w, "kh": kh, "kw": kw, "stride_h": sh,
           "stride_w": sw, "pad_t": pt, "pad_l": pl, "oc_count": oc, "code_bits": 2}
    acc_base = 3  # an acc SRAM row
    # pixel 5 of the 4-wide output is row 1, column 1
    for start, (oy0, ox0), count in ((0, (0, 0), 5), (5, (1, 1), npix - 5)):
        instrs += [
            make("SETGEN", gen_id=1, param_addr=64, count=2),
            make("MAC", in_addr=100, acc_row=acc_base, in_c=half, start_oy=oy0, start_ox=ox0,
                 pix_count=count, mask_addr=7, **geo),
            make("SETGEN", gen_id=1, param_addr=80, count=2),
            make("MAC", in_addr=100 + half * h * w, acc_row=acc_base, in_c=c - half,
                 start_oy=oy0, start_ox=ox0, pix_count=count, mask_addr=7 + len(rows_a),
                 accumulate=1, **geo),
            make("REQ", acc_row=acc_base, out_addr=2000 + start, oc_count=oc, pix_count=count,
                 out_plane=npix, param_addr=96, relu=0),
        ]
        acc_base += SMALL.acc_span(oc, count)
    instrs.append(make("DMA_STORE", space=ACT, sram_addr=2000, dram_addr=out_addr,
                       length=oc * npix))
    wts = lane_signs(1, states, oc, c * kk) * codes
    acc = mac_ref(x, wts, kh, kw, sh, sw, pt, pl, out_w, 0, npix)
    y = requant_ref(acc, bias, mult, shift, False).reshape(oc, out_h, out_w)
    cycles = (1 + 4 + 36          # DMA_LOAD x: 4*9*8 = 288 bytes, 36 beats
              + 1 + 4 + 24        # mask: 2 x 12 rows x (2 lanes x 2 bytes x 2 bits) = 192
              + 1 + 4 + 36        # param: 32 lane bytes + 32 x 8 record bytes = 288
              # pixels 0..4 = 2 tiles: per half SETGEN 2 + MAC 2 x (2*3*2 steps + 2); REQ 32 x 2
              + 2 * (1 + 2) + 2 * (1 + 2 * (12 + 2)) + 1 + 32 * 2
              # pixels 5..19 = 4 tiles
              + 2 * (1 + 2) + 2 * (1 + 4 * (12 + 2)) + 1 + 32 * 4
              + 1 + 4 + 80        # DMA_STORE 32*20 = 640 bytes
              + 1)                # HALT
    return _finish("conv_split_xorshift32", instrs, img, [_io("x", x.shape, ax)],
                   [_io("y", y.shape, out_addr)], {"x": x}, {"y": y}, cycles)


def case_ctrhash_and_stored_signs() -> Case:
    """gen 2 (counter-based) 1x1 conv with 3-bit codes on one lane (16 channels), then a
    stored-signs 3x3 conv (no generator) with 24 channels; two outputs."""
    rng = np.random.default_rng(4)
    c, h, w = 5, 4, 5
    npix = h * w
    x = rand_i8(rng, (c, h, w))
    gen = generator_by_id(2)
    states = [gen.group_state(9, 0)]
    oc1, oc2 = 16, 24
    codes1 = rng.integers(0, 8, (oc1, c)).astype(np.uint8)
    codes2 = (rng.random((oc2, c * 9)) < 0.6).astype(np.uint8)
    signs2 = (rng.random((oc2, c * 9)) < 0.5).astype(np.uint8)
    rows1 = masks.pack_block(codes1, 3)
    rows2 = masks.pack_block(codes2, 1, signs2)
    b1, m1, s1 = rng.integers(-50, 50, oc1), rng.integers(1, 100, oc1), rng.integers(5, 9, oc1)
    b2, m2, s2 = rng.integers(-50, 50, oc2), rng.integers(-100, 100, oc2), rng.integers(3, 8, oc2)
    img = Image()
    ax = img.put(bytes(x.size))
    am = img.put(rows1 + rows2)
    ap = img.put(lane_table(states) + requant_records(b1, m1, s1) + requant_records(b2, m2, s2))
    o1, o2 = img.reserve(oc1 * npix), img.reserve(oc2 * npix)
    common = {"in_addr": 0, "in_c": c, "in_h": h, "in_w": w, "out_w": w, "stride_h": 1,
              "stride_w": 1, "pix_count": npix}
    instrs = [
        make("DMA_LOAD", space=ACT, sram_addr=0, dram_addr=ax, length=x.size),
        make("DMA_LOAD", space=MASK, sram_addr=0, dram_addr=am, length=len(rows1) + len(rows2)),
        make("DMA_LOAD", space=PARAM, sram_addr=8, dram_addr=ap, length=8 + 8 * (oc1 + oc2)),
        make("SETGEN", gen_id=2, param_addr=8, count=1),
        make("MAC", acc_row=0, kh=1, kw=1, oc_count=oc1, mask_addr=0, code_bits=3, **common),
        make("REQ", acc_row=0, out_addr=300, oc_count=oc1, pix_count=npix, out_plane=npix,
             param_addr=16, relu=1),
        make("MAC", acc_row=16, kh=3, kw=3, pad_t=1, pad_l=1, oc_count=oc2,
             mask_addr=len(rows1), code_bits=1, stored_signs=1, **common),
        make("REQ", acc_row=16, out_addr=700, oc_count=oc2, pix_count=npix, out_plane=npix,
             param_addr=16 + 8 * oc1, relu=0),
        make("DMA_STORE", space=ACT, sram_addr=300, dram_addr=o1, length=oc1 * npix),
        make("DMA_STORE", space=ACT, sram_addr=700, dram_addr=o2, length=oc2 * npix),
    ]
    w1 = lane_signs(2, states, oc1, c) * codes1
    y1 = requant_ref(mac_ref(x, w1, 1, 1, 1, 1, 0, 0, w, 0, npix), b1, m1, s1, True)
    w2 = np.where(signs2 == 1, 1, -1) * codes2
    y2 = requant_ref(mac_ref(x, w2, 3, 3, 1, 1, 1, 1, w, 0, npix), b2, m2, s2, False)
    cycles = (1 + 4 + 13          # DMA_LOAD x: 5*4*5 = 100 bytes, 13 beats
              # mask: 5 rows x (1 lane x 2 bytes x 3 bits) + 45 rows x (4 sign + 4 code bytes)
              + 1 + 4 + 49        # = 30 + 360 = 390 bytes, 49 beats
              + 1 + 4 + 41        # param: 8 lane bytes + 40 x 8 record bytes = 328
              + 1 + 1             # SETGEN 1 lane
              + 1 + 5 * (5 + 2)   # MAC 1x1: 20 pixels = 5 tiles of 5 steps
              + 1 + 16 * 5        # REQ 16 channels
              + 1 + 5 * (45 + 2)  # MAC 3x3: 5 tiles of 45 steps
              + 1 + 24 * 5        # REQ 24 channels
              + 1 + 4 + 40        # DMA_STORE 16*20 = 320 bytes
              + 1 + 4 + 60        # DMA_STORE 24*20 = 480 bytes
              + 1)                # HALT
    return _finish("ctrhash_stored_signs", instrs, img, [_io("x", x.shape, ax)],
                   [_io("y1", (oc1, h, w), o1), _io("y2", (oc2, h, w), o2)], {"x": x},
                   {"y1": y1.reshape(oc1, h, w), "y2": y2.reshape(oc2, h, w)}, cycles)


def case_add_pool() -> Case:
    """ADD (signed multipliers, relu and not), MAXPOOL (stride 2, padding; and stride 1 with
    rows wider than PIXELS, a partial last group), AVGPOOL (2x2 and global), all on one
    input tensor."""
    rng = np.random.default_rng(5)
    c, h, w = 3, 7, 6
    n = c * h * w
    x = rand_i8(rng, (c, h, w))
    b = rand_i8(rng, (n,))
    img = Image()
    ax = img.put(bytes(n))
    ab = img.put(b.tobytes())
    mp_h, mp_w = 4, 3
    outs = {
        "add_relu": numerics.residual_add(x.reshape(-1), b, 300, -170, 8, True),
        "add": numerics.residual_add(x.reshape(-1), b, -91, 64, 6, False),
        "maxpool": pool_ref(x, 3, 3, 2, 2, 1, 1, mp_h, mp_w, False),
        "avgpool": pool_ref(x, 2, 2, 2, 2, 0, 0, 3, 3, True, 3, 4),
        "gap": pool_ref(x, h, w, 1, 1, 0, 0, 1, 1, True, 1337, 15),
        "maxpool_rows": pool_ref(x, 2, 2, 1, 1, 1, 1, h, w, False),
    }
    addr = {k: img.reserve(v.size) for k, v in outs.items()}
    sram = {"add_relu": 400, "add": 600, "maxpool": 800, "avgpool": 900, "gap": 1000,
            "maxpool_rows": 1100}
    pool = {"in_addr": 0, "channels": c, "in_h": h, "in_w": w}
    instrs = [
        make("DMA_LOAD", space=ACT, sram_addr=0, dram_addr=ax, length=n),
        make("DMA_LOAD", space=ACT, sram_addr=200, dram_addr=ab, length=n),
        make("ADD", a_addr=0, b_addr=200, out_addr=400, length=n, mult_a=300, mult_b=-170,
             shift=8, relu=1),
        make("ADD", a_addr=0, b_addr=200, out_addr=600, length=n, mult_a=-91, mult_b=64, shift=6),
        make("MAXPOOL", out_addr=800, out_h=mp_h, out_w=mp_w, kh=3, kw=3, stride_h=2,
             stride_w=2, pad_t=1, pad_l=1, **pool),
        make("AVGPOOL", out_addr=900, out_h=3, out_w=3, kh=2, kw=2, stride_h=2, stride_w=2,
             mult=3, shift=4, **pool),
        make("AVGPOOL", out_addr=1000, out_h=1, out_w=1, kh=h, kw=w, stride_h=1, stride_w=1,
             mult=1337, shift=15, **pool),
        make("MAXPOOL", out_addr=1100, out_h=h, out_w=w, kh=2, kw=2, stride_h=1, stride_w=1,
             pad_t=1, pad_l=1, **pool),
    ]
    instrs += [make("DMA_STORE", space=ACT, sram_addr=sram[k], dram_addr=addr[k], length=v.size)
               for k, v in outs.items()]
    cycles = (2 * (1 + 4 + 16)    # two DMA_LOADs of 3*7*6 = 126 bytes
              + 2 * (1 + 32)      # two ADDs of 126 elements, 4 a cycle
              + 1 + 3 * 4 * 1 * (9 + 1)  # MAXPOOL: 3 channels x 4 rows x one group of 3 outputs
                                         # (PIXELS 4) x (3x3 window + write)
              + 1 + 3 * 3 * 1 * (4 + 1)  # AVGPOOL 2x2 -> 3x3
              + 1 + 3 * 1 * 1 * (42 + 1)  # global AVGPOOL over 7x6
              + 1 + 3 * 7 * 2 * (4 + 1)  # MAXPOOL 2x2 stride 1: rows of 6 = groups of 4 and 2
              + 2 * (1 + 4 + 16)  # DMA_STOREs: add_relu, add (126 bytes each)
              + 1 + 4 + 5         # maxpool 36 bytes
              + 1 + 4 + 4         # avgpool 27 bytes
              + 1 + 4 + 1         # gap 3 bytes
              + 1 + 4 + 16        # maxpool_rows 126 bytes
              + 1)                # HALT
    return _finish("add_pool", instrs, img, [_io("x", x.shape, ax)],
                   [_io(k, v.shape, addr[k]) for k, v in outs.items()], {"x": x}, outs, cycles)


def case_unsigned() -> Case:
    """uint8 operands (ReLU outputs, docs/isa.md "Activation formats"), most of them above
    127 so that reading them as int8 would differ: a binary-mask conv whose MAC reads uint8
    (`x_unsigned`) and whose REQ saturates to uint8 (`out_unsigned`, many channels at 255);
    an ADD of a uint8 and an int8 operand to uint8 and one of two uint8 operands to int8;
    MAXPOOL (with padding) and AVGPOOL (saturating at 255) of the uint8 input. Cycles are
    those of the same instructions on int8 operands."""
    rng = np.random.default_rng(12)
    c, h, w, oc, kh, kw = 3, 6, 7, 20, 3, 3
    steps, npix, n = c * kh * kw, h * w, c * h * w
    x = rng.integers(0, 256, (c, h, w)).astype(np.uint8)
    b = rand_i8(rng, (n,))
    states = [generator_by_id(0).group_state(2048, g) for g in range(2)]
    codes = (rng.random((oc, steps)) < 0.5).astype(np.uint8)
    bias = rng.integers(-2000, 300, oc)
    mult = rng.integers(1, 60, oc)
    shift = rng.integers(6, 10, oc)
    img = Image()
    ax = img.put(bytes(n))
    ab = img.put(b.tobytes())
    rows = masks.pack_block(codes, 1)
    am = img.put(rows)
    ap = img.put(lane_table(states) + requant_records(bias, mult, shift))
    acc = mac_ref(x.astype(np.int64), lane_signs(0, states, oc, steps) * codes, kh, kw, 1, 1, 1, 1,
                  w, 0, npix)
    xf = x.reshape(-1)
    outs = {
        "conv": numerics.requantize(acc, bias[:, None], mult[:, None], shift[:, None], True,
                                    True).reshape(oc, h, w),
        "add_u": numerics.residual_add(xf, b, 200, 150, 7, True, True),
        "add_uu": numerics.residual_add(xf, xf, -91, 64, 6, False),
        "maxpool": pool_ref(x, 3, 3, 2, 2, 1, 1, 3, 4, False),
        "avgpool": pool_ref(x, 2, 2, 2, 2, 0, 0, 3, 3, True, 5, 4),
    }
    assert outs["conv"].max() == 255 and outs["add_u"].max() == 255 and outs["avgpool"].max() == 255
    addr = {k: img.reserve(v.size) for k, v in outs.items()}
    sram = {"conv": 1000, "add_u": 400, "add_uu": 600, "maxpool": 800, "avgpool": 900}
    pool = {"in_addr": 0, "channels": c, "in_h": h, "in_w": w, "in_unsigned": 1}
    instrs = [
        make("DMA_LOAD", space=ACT, sram_addr=0, dram_addr=ax, length=n),
        make("DMA_LOAD", space=ACT, sram_addr=200, dram_addr=ab, length=n),
        make("DMA_LOAD", space=MASK, sram_addr=0, dram_addr=am, length=len(rows)),
        make("DMA_LOAD", space=PARAM, sram_addr=0, dram_addr=ap, length=16 + 8 * oc),
        make("SETGEN", gen_id=0, param_addr=0, count=2),
        make("MAC", in_addr=0, acc_row=0, in_c=c, in_h=h, in_w=w, out_w=w, kh=kh, kw=kw,
             stride_h=1, stride_w=1, pad_t=1, pad_l=1, oc_count=oc, pix_count=npix,
             mask_addr=0, code_bits=1, x_unsigned=1),
        make("REQ", acc_row=0, out_addr=1000, oc_count=oc, pix_count=npix, out_plane=npix,
             param_addr=16, relu=1, out_unsigned=1),
        make("ADD", a_addr=0, b_addr=200, out_addr=400, length=n, mult_a=200, mult_b=150,
             shift=7, relu=1, a_unsigned=1, out_unsigned=1),
        make("ADD", a_addr=0, b_addr=0, out_addr=600, length=n, mult_a=-91, mult_b=64, shift=6,
             a_unsigned=1, b_unsigned=1),
        make("MAXPOOL", out_addr=800, out_h=3, out_w=4, kh=3, kw=3, stride_h=2, stride_w=2,
             pad_t=1, pad_l=1, **pool),
        make("AVGPOOL", out_addr=900, out_h=3, out_w=3, kh=2, kw=2, stride_h=2, stride_w=2,
             mult=5, shift=4, **pool),
    ]
    instrs += [make("DMA_STORE", space=ACT, sram_addr=sram[k], dram_addr=addr[k], length=v.size)
               for k, v in outs.items()]
    cycles = (2 * (1 + 4 + 16)    # DMA_LOAD x and b: 3*6*7 = 126 bytes, 16 beats each
              + 1 + 4 + 14        # mask: 27 rows x (2 lanes x 2 bytes) = 108 bytes, 14 beats
              + 1 + 4 + 22        # param: 16 lane bytes + 20 x 8 record bytes = 176, 22 beats
              + 1 + 2             # SETGEN 2 lanes
              + 1 + 11 * (27 + 2)  # MAC: 42 pixels = 11 tiles, restart + 27 steps + write-back
              + 1 + 20 * 11       # REQ: 20 channels x 11 tiles
              + 2 * (1 + 32)      # two ADDs of 126 elements, 4 a cycle
              + 1 + 3 * 3 * 1 * (9 + 1)  # MAXPOOL: 3 channels x 3 rows x one group of 4 outputs
                                         # x (3x3 window + write)
              + 1 + 3 * 3 * 1 * (4 + 1)  # AVGPOOL 2x2 -> 3x3
              + 1 + 4 + 105       # DMA_STORE conv: 20*42 = 840 bytes
              + 2 * (1 + 4 + 16)  # DMA_STOREs add_u, add_uu: 126 bytes each
              + 1 + 4 + 5         # maxpool 36 bytes
              + 1 + 4 + 4         # avgpool 27 bytes
              + 1)                # HALT
    stored = {k: numerics.stored(v) for k, v in outs.items()}  # as the act SRAM holds them
    return _finish("unsigned", instrs, img, [_io("x", x.shape, ax)],
                   [_io(k, v.shape, addr[k]) for k, v in outs.items()], {"x": x.view(np.int8)},
                   stored, cycles)


def case_zero_exec() -> Case:
    """Every instruction whose execute-cycle count is 0 (only the issue cycle remains), then
    one small ADD so there is an output to check."""
    rng = np.random.default_rng(6)
    x = rand_i8(rng, (5,))
    img = Image()
    ax = img.put(bytes(5))
    ao = img.reserve(5)
    instrs = [
        make("DMA_LOAD", space=ACT, sram_addr=0, dram_addr=ax, length=5),
        make("SETGEN", gen_id=0, param_addr=0, count=0),
        make("MAC", in_c=3, in_h=4, in_w=4, out_w=4, kh=3, kw=3, stride_h=1, stride_w=1,
             oc_count=16, pix_count=0, code_bits=1, stored_signs=1),
        make("REQ", oc_count=0, pix_count=7),
        make("REQ", oc_count=5, pix_count=0),
        make("ADD", length=0),
        make("MAXPOOL", channels=0, in_h=4, in_w=4, out_h=2, out_w=2, kh=2, kw=2, stride_h=2,
             stride_w=2),
        make("AVGPOOL", channels=2, in_h=4, in_w=4, out_h=0, out_w=2, kh=2, kw=2, stride_h=2,
             stride_w=2, mult=1),
        make("ADD", a_addr=0, b_addr=0, out_addr=10, length=5, mult_a=1, mult_b=1, shift=1),
        make("DMA_STORE", space=ACT, sram_addr=10, dram_addr=ao, length=5),
    ]
    y = numerics.residual_add(x, x, 1, 1, 1, False)
    cycles = (1 + 4 + 1           # DMA_LOAD 5 bytes
              + 7 * 1             # seven instructions with nothing to execute: issue only
              + 1 + 2             # ADD of 5 elements, 4 a cycle
              + 1 + 4 + 1         # DMA_STORE 5 bytes
              + 1)                # HALT
    return _finish("zero_exec", instrs, img, [_io("x", (5,), ax)], [_io("y", (5,), ao)],
                   {"x": x}, {"y": y}, cycles)


def case_loop() -> Case:
    """A residual block run three times by one LOOP, like a compiled fold region: the mask
    rows (1x1 conv, 16 -> 16 channels, stored signs) are loaded once before the loop and
    stay resident; each iteration loads its own requantisation records (the LOOP's DRAM
    stride steps the param DMA_LOAD through three tables), then MAC, REQ, and an in-place
    ADD h = relu(t*ma + h*mb >> shift)."""
    rng = np.random.default_rng(8)
    c, h, w, iters = 16, 3, 4, 3
    npix, n = h * w, c * h * w
    x = rand_i8(rng, (c, h, w))
    codes = (rng.random((c, c)) < 0.6).astype(np.uint8)
    signs = (rng.random((c, c)) < 0.5).astype(np.uint8)
    rows = masks.pack_block(codes, 1, signs)
    assert len(rows) == 16 * (2 + 2)  # 16 rows of one lane: 2 sign + 2 code bytes
    recs = [(rng.integers(-40, 40, c), rng.integers(20, 90, c), rng.integers(6, 9, c))
            for _ in range(iters)]
    stride = 8 * c  # one table of 16 records per iteration, back to back
    img = Image()
    ax = img.put(bytes(n))
    am = img.put(rows)
    ap = img.put(b"".join(requant_records(*r) for r in recs))
    ao = img.reserve(n)
    ma, mb, sh = 90, 70, 7
    instrs = [
        make("DMA_LOAD", space=ACT, sram_addr=200, dram_addr=ax, length=n),
        make("DMA_LOAD", space=MASK, sram_addr=0, dram_addr=am, length=len(rows)),
        make("LOOP", iterations=iters, body_len=4, dram_stride=stride),
        make("DMA_LOAD", space=PARAM, sram_addr=0, dram_addr=ap, length=stride),
        make("MAC", in_addr=200, acc_row=0, in_c=c, in_h=h, in_w=w, out_w=w, kh=1, kw=1,
             stride_h=1, stride_w=1, oc_count=c, pix_count=npix, mask_addr=0,
             code_bits=1, stored_signs=1),
        make("REQ", acc_row=0, out_addr=500, oc_count=c, pix_count=npix, out_plane=npix,
             param_addr=0, relu=0),
        make("ADD", a_addr=500, b_addr=200, out_addr=200, length=n, mult_a=ma, mult_b=mb,
             shift=sh, relu=1),
        make("DMA_STORE", space=ACT, sram_addr=200, dram_addr=ao, length=n),
    ]
    wts = np.where(signs == 1, 1, -1) * codes
    y = x.copy()
    for bias, mult, shift in recs:
        t = requant_ref(mac_ref(y, wts, 1, 1, 1, 1, 0, 0, w, 0, npix), bias, mult, shift, False)
        y = numerics.residual_add(t.reshape(-1), y.reshape(-1), ma, mb, sh, True).reshape(c, h, w)
    cycles = (1 + 4 + 24          # DMA_LOAD x: 16*3*4 = 192 bytes, 24 beats
              + 1 + 4 + 8         # DMA_LOAD mask: 64 bytes
              + 1                 # LOOP: issue only; the jumps back cost nothing
              + 3 * (1 + 4 + 16   # DMA_LOAD records: 16 x 8 = 128 bytes
                     + 1 + 3 * (16 + 2)  # MAC 1x1: 12 pixels = 3 tiles of 16 steps
                     + 1 + 16 * 3        # REQ 16 channels x 3 pixel tiles
                     + 1 + 48)           # ADD 192 elements, 4 a cycle
              + 1 + 4 + 24        # DMA_STORE 192 bytes
              + 1)                # HALT
    return _finish("loop", instrs, img, [_io("x", x.shape, ax)], [_io("y", x.shape, ao)],
                   {"x": x}, {"y": y}, cycles)


def case_agg() -> Case:
    """Sparse graph aggregation in two chunks of rows (docs/isa.md "AGG"): 9 nodes, 6
    features (a full and a partial group of PIXELS lanes), a row without neighbours, int16
    values of both signs near the limit, each chunk followed by a REQ (the second with
    ReLU) writing its rows into one (features, nodes) output."""
    rng = np.random.default_rng(9)
    n, f = 9, 6
    x = rand_i8(rng, (f, 1, n))  # feature-major: byte (f, node) at f*n + node
    dense = np.where(rng.random((n, n)) < 0.4, rng.integers(-32767, 32768, (n, n)), 0)
    dense[3] = 0  # a row without neighbours
    bias = rng.integers(-5000, 5000, f)
    mult = rng.integers(1, 32767, f)
    shift = np.full(f, 30)
    img = Image()
    ax = img.put(bytes(x.size))
    chunks = [(0, 5), (5, 9)]
    blobs = []
    for r0, r1 in chunks:
        rows, cols = np.nonzero(dense[r0:r1])
        blobs.append((adjacency.pack_chunk(np.bincount(rows, minlength=r1 - r0), cols, dense[r0:r1][rows, cols]),
                      len(cols)))
    ac = [img.put(b) for b, _ in blobs]
    ar = img.put(requant_records(bias, mult, shift))
    ao = img.reserve(x.size)
    instrs = [
        make("DMA_LOAD", space=ACT, sram_addr=0, dram_addr=ax, length=x.size),
        make("DMA_LOAD", space=MASK, sram_addr=0, dram_addr=ac[0], length=len(blobs[0][0])),
        make("DMA_LOAD", space=MASK, sram_addr=100, dram_addr=ac[1], length=len(blobs[1][0])),
        make("DMA_LOAD", space=PARAM, sram_addr=0, dram_addr=ar, length=8 * f),
        make("AGG", in_addr=0, in_nodes=n, acc_row=0, features=f, row_count=5, nnz=blobs[0][1], csr_addr=0),
        make("REQ", acc_row=0, out_addr=200, oc_count=f, pix_count=5, out_plane=n, param_addr=0),
        make("AGG", in_addr=0, in_nodes=n, acc_row=4, features=f, row_count=4, nnz=blobs[1][1],
             csr_addr=100),
        make("REQ", acc_row=4, out_addr=205, oc_count=f, pix_count=4, out_plane=n, param_addr=0, relu=1),
        make("DMA_STORE", space=ACT, sram_addr=200, dram_addr=ao, length=x.size),
    ]
    acc = (x[:, 0, :].astype(np.int64) @ dense.T.astype(np.int64))  # (f, n), fits int32 here
    y = np.concatenate([requant_ref(acc[:, :5], bias, mult, shift, False),
                        requant_ref(acc[:, 5:], bias, mult, shift, True)], axis=1)
    cycles = (1 + 4 + -(-x.size // 8)                                  # DMA_LOAD x, 54 bytes
              + sum(1 + 4 + -(-len(b) // 8) for b, _ in blobs)         # the two chunks
              + 1 + 4 + 6                                              # 48 bytes of records
              + 1 + 2 * (5 + blobs[0][1]) + 1 + f * 2                  # AGG (2 groups), REQ
              + 1 + 2 * (4 + blobs[1][1]) + 1 + f * 1                  # AGG, REQ of 4 rows
              + 1 + 4 + -(-x.size // 8)                                # DMA_STORE
              + 1)                                                     # HALT
    return _finish("agg", instrs, img, [_io("x", x.shape, ax)], [_io("y", x.shape, ao)],
                   {"x": x}, {"y": y.reshape(x.shape)}, cycles)


CASES: dict[str, Callable[[], Case]] = {
    "dma": case_dma,
    "spill": case_spill,
    "conv_xorshift16": case_conv_xorshift16,
    "conv_copies": case_conv_copies,
    "background_dma": case_background_dma,
    "background_req": case_background_req,
    "param_port": case_param_port,
    "conv_split_xorshift32": case_conv_split_xorshift32,
    "ctrhash_stored_signs": case_ctrhash_and_stored_signs,
    "add_pool": case_add_pool,
    "unsigned": case_unsigned,
    "wide": case_wide,
    "zero_exec": case_zero_exec,
    "loop": case_loop,
    "agg": case_agg,
}


def case_conv_large(c: int = 16, hw: int = 16, oc: int = 32) -> Case:
    """A bigger 3x3 conv (default 16 -> 32 channels on 16x16, ~9.5k MAC cycles) for speed."""
    rng = np.random.default_rng(7)
    kh = kw = 3
    steps = c * kh * kw
    x = rand_i8(rng, (c, hw, hw))
    gen = generator_by_id(0)
    ng = -(-oc // 16)
    states = [gen.group_state(4242, g) for g in range(ng)]
    codes = (rng.random((oc, steps)) < 0.5).astype(np.uint8)
    bias, mult = rng.integers(-300, 300, oc), rng.integers(1, 100, oc)
    shift = rng.integers(6, 10, oc)
    rows = masks.pack_block(codes, 1)
    img = Image()
    ax, am = img.put(bytes(x.size)), img.put(rows)
    ap = img.put(lane_table(states) + requant_records(bias, mult, shift))
    npix = hw * hw
    out_addr = img.reserve(oc * npix)
    instrs = [
        make("DMA_LOAD", space=ACT, sram_addr=0, dram_addr=ax, length=x.size),
        make("DMA_LOAD", space=MASK, sram_addr=0, dram_addr=am, length=len(rows)),
        make("DMA_LOAD", space=PARAM, sram_addr=0, dram_addr=ap, length=8 * ng + 8 * oc),
        make("SETGEN", gen_id=0, param_addr=0, count=ng),
        make("MAC", in_addr=0, acc_row=0, in_c=c, in_h=hw, in_w=hw, out_w=hw, kh=kh, kw=kw,
             stride_h=1, stride_w=1, pad_t=1, pad_l=1, oc_count=oc, pix_count=npix,
             mask_addr=0, code_bits=1),
        make("REQ", acc_row=0, out_addr=x.size, oc_count=oc, pix_count=npix, out_plane=npix,
             param_addr=8 * ng, relu=1),
        make("DMA_STORE", space=ACT, sram_addr=x.size, dram_addr=out_addr, length=oc * npix),
    ]
    wts = lane_signs(0, states, oc, steps) * codes
    y = requant_ref(mac_ref(x, wts, kh, kw, 1, 1, 1, 1, hw, 0, npix), bias, mult, shift, True)
    steps, tiles = c * kh * kw, -(-npix // 4)  # hw*hw pixels, 4 a tile (PIXELS of SMALL)
    cycles = (1 + 4 + -(-x.size // 8)          # DMA_LOAD x
              + 1 + 4 + -(-len(rows) // 8)     # mask: steps x 2 bytes a lane
              + 1 + 4 + -(-(8 * ng + 8 * oc) // 8)  # lane states + records
              + 1 + ng                         # SETGEN
              + 1 + tiles * (steps + 2)        # MAC
              + 1 + oc * tiles                 # REQ
              + 1 + 4 + oc * npix // 8         # DMA_STORE
              + 1)                             # HALT
    return _finish("conv_large", instrs, img, [_io("x", x.shape, ax)],
                   [_io("y", (oc, hw, hw), out_addr)], {"x": x}, {"y": y.reshape(oc, hw, hw)},
                   cycles)
