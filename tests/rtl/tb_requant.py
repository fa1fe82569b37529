"""cocotb: the requantiser (seedcc_blocks_tb.u_rq) against ``numerics.requantize``.

Edge cases first (int32 limits of acc and bias, mult -32768 / 32767, shift 0 / 1 / 62 / 63,
exact halves that round up, values at the saturation boundaries, relu on and off), each
saturating to int8, to uint8 (`out_unsigned`) and to int32 (`out_wide`), then
random vectors drawn from several magnitude ranges. Exact comparison.
"""

from __future__ import annotations

import itertools

import cocotb
import numpy as np
from cocotb.triggers import Timer

from seedcc.backends.simulator import load_test_args
from seedcc.rtl_models import numerics

I32 = (-(2**31), 2**31 - 1)


def edge_cases() -> list[tuple[int, int, int, int, int]]:
    accs = (I32[0], I32[1], -1, 0, 1, 255, -256, 32767)
    biases = (I32[0], I32[1], 0, -3, 128)
    mults = (-32768, 32767, 1, -1, 0, 3)
    shifts = (0, 1, 2, 31, 62, 63)
    cases = [(a, b, m, s, r) for a, b, m, s, r in
             itertools.product(accs, biases, mults, shifts, (0, 1))]
    # int32 saturation: (acc + bias) * mult just inside and beyond the int32 range
    for acc, bias in ((0, I32[1]), (1, I32[1]), (0, I32[0]), (-1, I32[0])):
        cases += [(acc, bias, m, 0, 0) for m in (1, -1)]
    # round half up at the saturation edges: (x + 2^(s-1)) >> s around 127.5 / -128.5
    for s in (1, 4, 8):
        for v in (127, 128, -128, -129):
            for frac in (-1, 0, 1):
                cases.append((v * (1 << s) + (1 << (s - 1)) + frac, 0, 1, s, 0))
                cases.append((v * (1 << s) - (1 << (s - 1)) + frac, 0, 1, s, 1))
    return cases


def random_cases(rng: np.random.Generator, n: int) -> list[tuple[int, int, int, int, int]]:
    out = []
    for _ in range(n):
        mag = int(rng.choice([2**8, 2**16, 2**24, 2**31]))
        out.append((int(rng.integers(-mag, mag)) if mag < 2**31 else int(rng.integers(*I32)),
                    int(rng.integers(-mag, mag)), int(rng.integers(-32768, 32768)),
                    int(rng.integers(0, 64)), int(rng.integers(0, 2))))
    return out


@cocotb.test()
async def requantiser_matches_numerics(dut) -> None:
    args = load_test_args()
    rng = np.random.default_rng(int(args.get("seed", 3)))
    cases = edge_cases() + random_cases(rng, int(args.get("random", 3000)))
    # every case saturating to int8 and to uint8 (out_unsigned: a ReLU's output)
    for (acc, bias, mult, shift, relu), uns in itertools.product(cases, (0, 1)):
        dut.rq_acc.value = acc & 0xFFFFFFFF
        dut.rq_bias.value = bias & 0xFFFFFFFF
        dut.rq_mult.value = mult & 0xFFFF
        dut.rq_shift.value = shift
        dut.rq_relu.value = relu
        dut.rq_uns.value = uns
        await Timer(1, unit="ns")
        got = dut.rq_out.value.to_unsigned() if uns else dut.rq_out.value.to_signed()
        exp = int(numerics.requantize(np.array([acc]), bias, mult, shift, bool(relu), bool(uns))[0])
        assert got == exp, (f"requantize(acc={acc}, bias={bias}, mult={mult}, shift={shift}, "
                            f"relu={relu}, unsigned={uns}): RTL {got}, numerics {exp}")
        if uns:
            continue
        got = dut.rq_out_wide.value.to_signed()  # out_wide: the same sum saturated to int32
        exp = int(numerics.requantize(np.array([acc]), bias, mult, shift, bool(relu), wide=True)[0])
        assert got == exp, (f"requantize(acc={acc}, bias={bias}, mult={mult}, shift={shift}, "
                            f"relu={relu}, wide): RTL {got}, numerics {exp}")
    dut._log.info("%d requantiser vectors match (and %d int32 ones)", 2 * len(cases), len(cases))
