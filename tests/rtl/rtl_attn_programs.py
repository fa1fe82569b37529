"""Hand-built programs for the attention instructions (MATMUL, SOFTMAX, LAYERNORM, GELU).

Same contract as ``rtl_programs.py``: expectations from numpy and ``rtl_models/numerics.py``
(never from the reference model), cycles counted by hand from docs/isa.md, one line per
instruction. SMALL: PIXELS 4, BUS_BYTES 8, DMA_LATENCY 4, MM_ROWS 16; a DMA of n bytes costs
1 + 4 + ceil(n / 8); every instruction pays 1 issue cycle.

Activations are feature-major: a (T tokens, F features) tensor is F rows of T bytes, so
x[f][t] is at addr + f*T + t (tokens on the pixel axis).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from rtl_programs import ACT, PARAM, Case, Image, rand_i8, requant_records
from rtl_programs import _finish as _finish_any
from rtl_programs import _io as _io_any

from seedcc.backends.isa import make
from seedcc.rtl_models import numerics


def _io(name: str, shape, addr: int):
    """A tensor declared in its storage order: a 2-D (rows, cols) array as (rows, 1, cols),
    since rank-2 values are (tokens, features) at the user surface and lie feature-major."""
    shape = tuple(int(v) for v in shape)
    return _io_any(name, (shape[0], 1, shape[1]) if len(shape) == 2 else shape, addr)


def _finish(name, instrs, image, ins, outs, inputs, expected, cycles: int) -> Case:
    def as3(arrays):
        return {k: a.reshape(a.shape[0], 1, a.shape[1]) if a.ndim == 2 else a for k, a in arrays.items()}
    return _finish_any(name, instrs, image, ins, outs, as3(inputs), as3(expected), cycles)


def _dma_in(addr: int, dram: int, n: int):
    return make("DMA_LOAD", space=ACT, sram_addr=addr, dram_addr=dram, length=n)


def _dma_out(addr: int, dram: int, n: int):
    return make("DMA_STORE", space=ACT, sram_addr=addr, dram_addr=dram, length=n)


def matmul_ref(x: np.ndarray, y: np.ndarray, mult: int, shift: int) -> np.ndarray:
    """int8 (M, N) = sat8(round_shift(wrap32(X @ Y) * mult, shift)), X, Y any integer dtype."""
    acc = np.einsum("mk,kn->mn", x.astype(np.int64), y.astype(np.int64))
    return numerics.matmul_requantize(acc, mult, shift)


def case_matmul() -> Case:
    """MATMUL in both orientations of the attention block, on feature-major operands:
    scores S = K^T Q (X = K read transposed: x_row 1, x_step Tk; 19 rows = two row tiles,
    6 columns = a partial token tile), then O = V P with P uint8 (y_unsigned) and X = V
    read as stored; then a uint8 X with a negative multiplier, and one head (a feature
    slice) of Q times itself."""
    rng = np.random.default_rng(11)
    d, tq, tk = 8, 6, 19
    q, k, v = rand_i8(rng, (d, tq)), rand_i8(rng, (d, tk)), rand_i8(rng, (d, tk))
    p = rng.integers(0, 256, (tk, tq)).astype(np.uint8)
    img = Image()
    aq, ak, av, ap = (img.put(a.tobytes()) for a in (q, k, v, p))
    sq, sk, sv, sp = 0, 100, 300, 500  # act addresses
    s_ref = matmul_ref(k.T, q, 301, 12)                    # (tk, tq)
    o_ref = matmul_ref(v, p, 91, 14)                       # (d, tq)
    u_ref = matmul_ref(p[:5].T.astype(np.uint8), k[:5, :7], -77, 13)  # (tq, 7): uint8 X
    h_ref = matmul_ref(q[4:8].T, q[4:8], 1000, 10)         # head 1 of 2: (tq, tq)
    outs = {"s": s_ref, "o": o_ref, "u": u_ref, "h": h_ref}
    sram = {"s": 1000, "o": 1200, "u": 1300, "h": 1400}
    dram = {name: img.reserve(a.size) for name, a in outs.items()}
    instrs = [_dma_in(sq, aq, q.size), _dma_in(sk, ak, k.size), _dma_in(sv, av, v.size),
              _dma_in(sp, ap, p.size),
              make("MATMUL", x_addr=sk, x_row=1, x_step=tk, y_addr=sq, y_step=tq,
                   out_addr=sram["s"], out_plane=tq, rows=tk, cols=tq, depth=d, mult=301, shift=12),
              make("MATMUL", x_addr=sv, x_row=tk, x_step=1, y_addr=sp, y_step=tq,
                   out_addr=sram["o"], out_plane=tq, rows=d, cols=tq, depth=tk, mult=91, shift=14,
                   y_unsigned=1),
              make("MATMUL", x_addr=sp, x_row=1, x_step=tq, y_addr=sk, y_step=tk,
                   out_addr=sram["u"], out_plane=7, rows=tq, cols=7, depth=5, mult=-77, shift=13,
                   x_unsigned=1),
              make("MATMUL", x_addr=sq + 4 * tq, x_row=1, x_step=tq, y_addr=sq + 4 * tq,
                   y_step=tq, out_addr=sram["h"], out_plane=tq, rows=tq, cols=tq, depth=4,
                   mult=1000, shift=10)]
    instrs += [_dma_out(sram[n], dram[n], a.size) for n, a in outs.items()]
    cycles = (1 + 4 + 6           # DMA_LOAD q: 48 bytes
              + 1 + 4 + 19        # k: 152 bytes
              + 1 + 4 + 19        # v: 152 bytes
              + 1 + 4 + 15        # p: 114 bytes
              + 1 + 2 * (2 * 8 + 19)   # S: 2 token tiles x (2 row tiles x depth 8 + 19 rows)
              + 1 + 2 * (1 * 19 + 8)   # O: 2 token tiles x (1 row tile x depth 19 + 8 rows)
              + 1 + 2 * (1 * 5 + 6)    # U: 7 columns = 2 tiles x (depth 5 + 6 rows)
              + 1 + 2 * (1 * 4 + 6)    # H: 2 tiles x (depth 4 + 6 rows)
              + 1 + 4 + 15        # DMA_STORE s: 114 bytes
              + 1 + 4 + 6         # o: 48 bytes
              + 1 + 4 + 6         # u: 42 bytes
              + 1 + 4 + 5         # h: 36 bytes
              + 1)                # HALT
    return _finish("matmul", instrs, img, [_io("q", q.shape, aq), _io("k", k.shape, ak),
                                           _io("v", v.shape, av), _io("p", p.shape, ap)],
                   [_io(n, a.shape, dram[n]) for n, a in outs.items()],
                   {"q": q, "k": k, "v": v, "p": p.view(np.int8)}, outs, cycles)


def case_softmax_layernorm() -> Case:
    """SOFTMAX out of place (6 tokens: a partial tile) and in place over a row slice,
    LAYERNORM with per-feature records (mixed shifts, an eps) over 9 features of 7 tokens,
    one token constant (zero spread)."""
    rng = np.random.default_rng(12)
    f, t = 9, 7
    x = rand_i8(rng, (f, t))
    x[:, 3] = 17  # a constant token: radicand eps only
    sm_mult, sm_shift = numerics.softmax_params(0.07)
    bias = rng.integers(-20000, 20000, f)
    mult = rng.integers(-3000, 3000, f)
    shift = rng.integers(14, 20, f)
    eps = 123456789
    img = Image()
    ax = img.put(x.tobytes())
    apr = img.put(requant_records(bias, mult, shift))
    sm = numerics.softmax(x[:, :6], sm_mult, sm_shift, axis=0)        # (9, 6) uint8
    sm2 = numerics.softmax(x[2:7], sm_mult + 999, sm_shift, axis=0)   # rows 2..6, in place
    ln = numerics.layernorm(x, bias[:, None], mult[:, None], shift[:, None], eps, axis=0)
    outs = {"sm": sm.view(np.int8), "sm2": sm2.view(np.int8), "ln": ln}
    dram = {name: img.reserve(a.size) for name, a in outs.items()}
    instrs = [_dma_in(0, ax, x.size), _dma_in(200, ax, x.size),
              make("DMA_LOAD", space=PARAM, sram_addr=16, dram_addr=apr, length=8 * f),
              make("SOFTMAX", in_addr=0, out_addr=400, tokens=6, features=f, in_plane=t,
                   out_plane=6, in_mult=sm_mult, in_shift=sm_shift),
              make("LAYERNORM", in_addr=0, out_addr=600, tokens=t, features=f, in_plane=t,
                   out_plane=t, param_addr=16, eps=eps),
              make("SOFTMAX", in_addr=200 + 2 * t, out_addr=200 + 2 * t, tokens=t, features=5,
                   in_plane=t, out_plane=t, in_mult=sm_mult + 999, in_shift=sm_shift),
              _dma_out(400, dram["sm"], sm.size), _dma_out(200 + 2 * t, dram["sm2"], sm2.size),
              _dma_out(600, dram["ln"], ln.size)]
    cycles = (2 * (1 + 4 + 8)     # DMA_LOAD x twice: 63 bytes
              + 1 + 4 + 9         # records: 72 bytes
              + 1 + 2 * (3 * 9 + 18)        # SOFTMAX: 2 token tiles x (3 passes of 9 + 18 divider)
              + 1 + 2 * (2 * 9 + 1 + 32 + 37)  # LAYERNORM: 2 tiles x (2 passes + radicand + root + divider)
              + 1 + 2 * (3 * 5 + 18)        # SOFTMAX in place, 5 features
              + 1 + 4 + 7         # DMA_STORE sm: 54 bytes
              + 1 + 4 + 5         # sm2: 35 bytes
              + 1 + 4 + 8         # ln: 63 bytes
              + 1)                # HALT
    return _finish("softmax_layernorm", instrs, img, [_io("x", x.shape, ax)],
                   [_io(n, a.shape, dram[n]) for n, a in outs.items()], {"x": x}, outs, cycles)


def case_gelu() -> Case:
    """GELU over every int8 value (a partial last beat: 256 + 3 elements), two scales, one in place."""
    x = np.concatenate([np.arange(-128, 128), [0, 1, -1]]).astype(np.int8)
    n = x.size
    p1 = numerics.gelu_params(0.05, 0.04)
    p2 = numerics.gelu_params(0.011, 0.009)
    img = Image()
    ax = img.put(x.tobytes())
    outs = {"g1": numerics.gelu(x, *p1), "g2": numerics.gelu(x, *p2)}
    dram = {name: img.reserve(n) for name in outs}
    names = ("in_mult", "in_shift", "out_mult", "out_shift")
    instrs = [_dma_in(0, ax, n),
              make("GELU", in_addr=0, out_addr=300, length=n, **dict(zip(names, p1))),
              make("GELU", in_addr=0, out_addr=0, length=n, **dict(zip(names, p2))),
              _dma_out(300, dram["g1"], n), _dma_out(0, dram["g2"], n)]
    cycles = (1 + 4 + 33          # DMA_LOAD 259 bytes
              + 2 * (1 + 65)      # two GELUs, 4 elements a cycle
              + 2 * (1 + 4 + 33)  # two DMA_STOREs
              + 1)                # HALT
    return _finish("gelu", instrs, img, [_io("x", x.shape, ax)],
                   [_io(k, v.shape, dram[k]) for k, v in outs.items()], {"x": x}, outs, cycles)


ATTN_CASES: dict[str, Callable[[], Case]] = {
    "matmul": case_matmul,
    "softmax_layernorm": case_softmax_layernorm,
    "gelu": case_gelu,
}


# -- a whole single-head attention block -------------------------------------------------------
D_MODEL, TOKENS = 16, 8


def attention_floats(seed: int = 21) -> dict[str, np.ndarray]:
    """Float inputs of one head (projections given): x, q, k, v (d, T) feature-major, and
    the LayerNorm's gamma, beta (d,)."""
    rng = np.random.default_rng(seed)
    d, t = D_MODEL, TOKENS
    out = {name: rng.normal(0, 1, (d, t)) for name in ("x", "q", "k", "v")}
    out["gamma"], out["beta"] = rng.uniform(0.5, 1.5, d), rng.uniform(-0.3, 0.3, d)
    return out


def attention_reference(f: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The block in float64: s = k^T q / sqrt(d) (keys x queries), p = softmax over keys,
    o = v p, h = x + o, ln = LayerNorm over features (eps 1e-5), y = GELU(ln)."""
    s = f["k"].T @ f["q"] / np.sqrt(D_MODEL)
    e = np.exp(s - s.max(axis=0))
    p = e / e.sum(axis=0)
    o = f["v"] @ p
    h = f["x"] + o
    mu, var = h.mean(axis=0), h.var(axis=0)
    ln = (h - mu) / np.sqrt(var + 1e-5) * f["gamma"][:, None] + f["beta"][:, None]
    erf = np.frompyfunc(math.erf, 1, 1)
    y = 0.5 * ln * (1 + erf(ln / math.sqrt(2)).astype(np.float64))
    return {"s": s, "p": p, "o": o, "h": h, "ln": ln, "y": y}


def _scale(a: np.ndarray) -> float:
    return float(np.abs(a).max()) / 127


def attention_scales(f: dict[str, np.ndarray]) -> dict[str, float]:
    """Per-tensor int8 scales max|x| / 127 (calibrated on the block's own float run); the
    probabilities have the fixed scale 2^-8."""
    ref = attention_reference(f)
    scales = {k: _scale(f[k]) for k in ("x", "q", "k", "v")}
    scales.update({k: _scale(ref[k]) for k in ("s", "o", "h", "ln", "y")})
    scales["p"] = 2.0 ** -8
    return scales


def case_attention(seed: int = 21) -> Case:
    """Q.K^T, softmax, attention.V, residual ADD, LayerNorm, GELU on one head (d = 16 features,
    8 tokens), constants derived from the scales as a compiler would; expectations from
    numerics step by step; every stage is an output."""
    f = attention_floats(seed)
    sc = attention_scales(f)
    d, t = D_MODEL, TOKENS
    qi = {k: numerics.quantize_input(f[k], sc[k]) for k in ("x", "q", "k", "v")}
    s_mult, s_shift = numerics.quantize_multiplier(sc["k"] * sc["q"] / np.sqrt(d) / sc["s"])
    sm_mult, sm_shift = numerics.softmax_params(sc["s"])
    o_mult, o_shift = numerics.quantize_multiplier(sc["v"] * sc["p"] / sc["o"])
    add_shift = 14
    ma, mb = (round(sc[k] / sc["h"] * 2**add_shift) for k in ("x", "o"))
    rec = numerics.layernorm_records(f["gamma"], f["beta"], sc["ln"])
    eps = numerics.layernorm_eps(1e-5, d, sc["h"])
    g = numerics.gelu_params(sc["ln"], sc["y"])
    # expectations, stage by stage
    s = matmul_ref(qi["k"].T, qi["q"], s_mult, s_shift)
    p = numerics.softmax(s, sm_mult, sm_shift, axis=0)
    o = matmul_ref(qi["v"], p, o_mult, o_shift)
    h = numerics.residual_add(qi["x"], o, ma, mb, add_shift, False)
    ln = numerics.layernorm(h, rec[:, :1], rec[:, 1:2], rec[:, 2:], eps, axis=0)
    y = numerics.gelu(ln, *g)
    outs = {"s": s, "p": p.view(np.int8), "o": o, "h": h, "ln": ln, "y": y}
    img = Image()
    dram_in = {k: img.put(v.tobytes()) for k, v in qi.items()}
    apr = img.put(requant_records(rec[:, 0], rec[:, 1], rec[:, 2]))
    dram = {k: img.reserve(v.size) for k, v in outs.items()}
    n = d * t
    a = {"x": 0, "q": 128, "k": 256, "v": 384, "s": 512, "o": 576, "h": 704, "ln": 832, "y": 960}
    instrs = [_dma_in(a[k], dram_in[k], n) for k in ("x", "q", "k", "v")]
    instrs += [
        make("DMA_LOAD", space=PARAM, sram_addr=0, dram_addr=apr, length=8 * d),
        make("MATMUL", x_addr=a["k"], x_row=1, x_step=t, y_addr=a["q"], y_step=t, out_addr=a["s"],
             out_plane=t, rows=t, cols=t, depth=d, mult=s_mult, shift=s_shift),
        _dma_out(a["s"], dram["s"], t * t),
        make("SOFTMAX", in_addr=a["s"], out_addr=a["s"], tokens=t, features=t, in_plane=t,
             out_plane=t, in_mult=sm_mult, in_shift=sm_shift),
        _dma_out(a["s"], dram["p"], t * t),
        make("MATMUL", x_addr=a["v"], x_row=t, x_step=1, y_addr=a["s"], y_step=t, out_addr=a["o"],
             out_plane=t, rows=d, cols=t, depth=t, mult=o_mult, shift=o_shift, y_unsigned=1),
        make("ADD", a_addr=a["x"], b_addr=a["o"], out_addr=a["h"], length=n, mult_a=ma,
             mult_b=mb, shift=add_shift),
        make("LAYERNORM", in_addr=a["h"], out_addr=a["ln"], tokens=t, features=d, in_plane=t,
             out_plane=t, param_addr=0, eps=eps),
        make("GELU", in_addr=a["ln"], out_addr=a["y"], length=n, in_mult=g[0], in_shift=g[1],
             out_mult=g[2], out_shift=g[3]),
    ]
    instrs += [_dma_out(a[k], dram[k], v.size) for k, v in outs.items() if k not in ("s", "p")]
    cycles = (4 * (1 + 4 + 16)    # DMA_LOAD x, q, k, v: 128 bytes each
              + 1 + 4 + 16        # records: 16 x 8 bytes
              + 1 + 2 * (1 * 16 + 8)  # S = K^T Q: 2 token tiles x (1 row tile x depth 16 + 8 rows)
              + 1 + 4 + 8         # DMA_STORE s: 64 bytes
              + 1 + 2 * (3 * 8 + 18)  # SOFTMAX over 8 keys, 2 token tiles
              + 1 + 4 + 8         # DMA_STORE p
              + 1 + 2 * (1 * 8 + 16)  # O = V P: 2 token tiles x (depth 8 + 16 rows)
              + 1 + 32            # ADD 128 elements
              + 1 + 2 * (2 * 16 + 70)  # LAYERNORM over 16 features, 2 token tiles
              + 1 + 32            # GELU 128 elements
              + 4 * (1 + 4 + 16)  # DMA_STORE o, h, ln, y
              + 1)                # HALT
    return _finish("attention", instrs, img,
                   [_io(k, (d, t), dram_in[k]) for k in ("x", "q", "k", "v")],
                   [_io(k, v.shape, dram[k]) for k, v in outs.items()], qi, outs, cycles)


ATTN_CASES["attention"] = case_attention
