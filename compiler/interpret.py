"""A float interpreter of the IR (numpy), for calibration and for checking passes.

`run_graph` evaluates every value of a graph on a batch and returns them all, so a
caller can read any intermediate tensor. Conv layers use their effective weights
(`WeightSpec.effective`), so interpreting the front end's graph reproduces onnxruntime
within float32 tolerance.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from seedcc.ir import Graph, Node, Op


def im2col(x: np.ndarray, kh: int, kw: int, stride: tuple[int, int], pads: tuple[int, int, int, int],
           fill: float = 0.0) -> np.ndarray:
    """(B, C, H, W) -> (B, OH, OW, C, kh, kw) windows (a view where possible)."""
    pt, pl, pb, pr = pads
    if any(pads):
        x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=fill)
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))  # B, C, OH', OW', kh, kw
    win = win[:, :, :: stride[0], :: stride[1]]
    return win.transpose(0, 2, 3, 1, 4, 5)


def conv(x: np.ndarray, w: np.ndarray, stride, pads) -> np.ndarray:
    """x (B, C, H, W) or (B, F); w (O, I, KH, KW) -> (B, O, OH, OW) or (B, O)."""
    o = w.shape[0]
    if x.ndim == 2:
        return x @ w.reshape(o, -1).T
    cols = im2col(x, w.shape[2], w.shape[3], stride, pads)
    b, oh, ow = cols.shape[:3]
    out = cols.reshape(b * oh * ow, -1) @ w.reshape(o, -1).T
    return out.reshape(b, oh, ow, o).transpose(0, 3, 1, 2)


def channel(v: np.ndarray, ndim: int) -> np.ndarray:
    """Broadcast a per-channel vector against (B, C, ...) of rank `ndim`."""
    return np.asarray(v).reshape((1, -1) + (1,) * (ndim - 2))


def eval_node(n: Node, ins: list[np.ndarray]) -> np.ndarray:
    x = ins[0]
    a = n.attrs
    if n.op is Op.CONV:
        y = conv(x, a["weight"].effective(), a["stride"], a["pads"])
        if a.get("affine") is not None:
            scale, shift = a["affine"]
            y = y * channel(scale, y.ndim) + channel(shift, y.ndim)
        elif a.get("bias") is not None:
            y = y + channel(a["bias"], y.ndim)
        return np.maximum(y, 0) if a.get("relu") else y
    if n.op is Op.BATCHNORM:
        s = a["gamma"] / np.sqrt(a["var"] + a["eps"])
        return (x - channel(a["mean"], x.ndim)) * channel(s, x.ndim) + channel(a["beta"], x.ndim)
    if n.op is Op.RELU:
        return np.maximum(x, 0)
    if n.op is Op.ADD:
        y = x + ins[1]
        return np.maximum(y, 0) if a.get("relu") else y
    if n.op in (Op.MAXPOOL, Op.AVGPOOL):
        (kh, kw) = a["kernel"]
        fill = -np.inf if n.op is Op.MAXPOOL else 0.0
        win = im2col(x, kh, kw, a["stride"], a["pads"], fill=fill)  # B, OH, OW, C, kh, kw
        red = win.max(axis=(4, 5)) if n.op is Op.MAXPOOL else win.mean(axis=(4, 5))
        return red.transpose(0, 3, 1, 2)
    if n.op is Op.GLOBALAVGPOOL:
        return x.mean(axis=(2, 3), keepdims=True)
    if n.op in (Op.FLATTEN, Op.RESHAPE):
        return x.reshape((x.shape[0],) + tuple(n.attrs.get("shape", (-1,))))
    raise AssertionError(n.op)


def run_graph(g: Graph, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """All values of `g` for a batch of inputs (float32, batch axis first)."""
    env = {k: np.asarray(v, np.float32) for k, v in inputs.items()}
    for n in g.nodes:
        env[n.output] = eval_node(n, [env[i] for i in n.inputs]).astype(np.float32)
    return env
