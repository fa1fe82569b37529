"""What the activation buffer's tile shape costs in MAC cycles (docs/architecture.md, "The
buildable datapath", activations).

    python benchmarks/tile_shapes.py [--sizes 224 32]

For ResNet-18 at DEFAULT it prints the MAC cycles of every convolution under three pixel
tilings, each tile of PIXELS·2^copies output pixels taking (in_c·kh·kw + 2) cycles, the
copies as the compiler chooses them (`HwConfig.lane_copies`):
- today: tiles run row-major through the layer's pixel chunks, wrapping rows (the
  compiler's tiling plan, the cycles the reference model counts);
- one row: a tile never spans two output rows (a buffer that reads one input row segment
  a step);
- 2-D: a tile is R output rows × W columns, R·W its pixel count, R a power of two, the
  cheapest shape per layer (a buffer that reads R input rows a step from row banks).
A model of MAC issue only: DMA, REQ and the other units are left out. Ratios are against
today's tiling in the same run. It also prints how many row banks the 2-D shapes need
(R·stride input rows a step) and what padding every activation row to a PIXELS-byte word
costs in act SRAM bytes.
"""

from __future__ import annotations

import argparse

import numpy as np

from seedcc.flow import compile_model
from seedcc.ir import Op
from seedcc.ir.ops.base import as_chw
from seedcc.models import resnet18
from seedcc.rtl_models.hwconfig import DEFAULT


def tiles_2d(oh: int, ow: int, tile: int) -> tuple[int, int]:
    """(tiles, R) of the cheapest R x (tile / R) shape over an oh x ow output (the fewest
    rows R among equally cheap shapes)."""
    shapes = [r for r in (1 << e for e in range(tile.bit_length())) if tile % r == 0]
    return min((-(-oh // r) * -(-ow // (tile // r)), r) for r in shapes)


def mac_cycles(size: int) -> dict[str, int]:
    stem, classes = ("imagenet", 1000) if size >= 128 else ("cifar", 10)
    model = resnet18(size=size, width=64, classes=classes, stem=stem)
    calib = {"x": np.random.default_rng(0).standard_normal((4, 3, size, size)).astype(np.float32)}
    g = compile_model(model, calib=calib, config=DEFAULT).graph
    cfg, out = DEFAULT, {"today": 0, "one row": 0, "2-D": 0, "banks": 0}
    for n in g.ops(Op.CONV):
        _, i, kh, kw = n.attrs["weight"].shape
        _, oh, ow = as_chw(g.values[n.output].shape)
        step = i * kh * kw + 2  # restart, the steps, write-back
        plan = n.attrs["tiling"]
        for (_, occ), chunks in zip(plan.blocks, plan.chunks):
            out["today"] += step * sum(cfg.mac_tiles(occ, pc) for _, pc in chunks)
            out["one row"] += step * oh * cfg.mac_tiles(occ, ow)
            tiles, rows = tiles_2d(oh, ow, cfg.pixels << cfg.lane_copies(occ, oh * ow))
            out["2-D"] += step * tiles
            # the input rows one step reads lie in distinct banks: R rows s apart
            out["banks"] = max(out["banks"], rows * n.attrs["stride"][0])
    # act SRAM bytes of every activation with its rows padded to PIXELS-byte words
    dense = sum(v.nbytes for v in g.values.values() if len(v.shape) == 3)
    padded = sum(v.shape[0] * v.shape[1] * -(-v.shape[2] // cfg.pixels) * cfg.pixels
                 for v in g.values.values() if len(v.shape) == 3)
    out["padding"] = padded / dense
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[224, 32])
    for size in p.parse_args().sizes:
        c = mac_cycles(size)
        print(f"ResNet-18 {size}x{size}, DEFAULT: MAC cycles today {c['today']:,}; "
              + "; ".join(f"{k} {c[k]:,} ({c[k] / c['today']:.3f}x)" for k in ("one row", "2-D"))
              + f"; 2-D tiles read up to {c['banks']} input rows a step (R x stride: row banks "
              f"needed); rows padded to {DEFAULT.pixels}-byte words take {c['padding']:.3f}x "
              "the activation bytes")


if __name__ == "__main__":
    main()
