"""The contract of an IR op definition, and the helpers op files share.

Each op (or small op family) is one `OpDef` subclass in one file of this package, in the
style of onnx's reference evaluator: the file is the single place that says

- `onnx`: the ONNX op types the front end lowers to it, and `from_onnx`, how;
- `attrs` / `arity`: the attributes it must carry and how many inputs it takes;
- `infer`: its output shape (the front end and the verifier both use it);
- `reference`: its float semantics on a batch (the interpreter, calibration);
- `lower`: the accelerator instructions it becomes (code generation);
- `cost`: the arithmetic work of one sample (reports, PE utilisation);
- `alias` / `same_scale` / `offchip`: facts the memory planner and the quantiser read.

Subclasses register themselves; `seedcc.ir.ops` discovers every module of this package,
so adding an op is adding one file. `from_onnx` and `lower` receive a context object from
the layer that calls them (the front end's `OnnxContext`, the back end's `Emitter`), so
this layer imports neither onnx nor the back end.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from seedcc.errors import ModelStructureError
from seedcc.rtl_models import numerics

Shape = tuple[int, ...]

#: every OpDef subclass by IR op name, in definition order
REGISTRY: dict[str, type[OpDef]] = {}


class OpDef:
    """One IR op. Methods are static: an op definition has no state."""

    name: ClassVar[str] = ""  # IR op name (the `Op` enum's value)
    onnx: ClassVar[tuple[str, ...]] = ()  # ONNX op types on activations lowered to this op
    attrs: ClassVar[tuple[str, ...]] = ()  # attributes every node of this op carries
    arity: ClassVar[int] = 1
    alias: ClassVar[bool] = False  # the output is the input's bytes: no code, shared storage
    same_scale: ClassVar[bool] = False  # the int8 output keeps the input's scale
    offchip: ClassVar[bool] = False  # the output lives in off-chip memory, not the act SRAM
    # the op commutes with swapping the two axes of rank-2 activations (element-wise ops and
    # per-feature ones): the front end runs it on the unswapped value (docs/frontend.md)
    transposable: ClassVar[bool] = False
    # a fixed output encoding instead of a calibrated one: (dtype, scale), e.g. SOFTMAX's
    # uint8 probabilities at 2^-8 (docs/isa.md "Attention instructions")
    output_encoding: ClassVar[tuple[str, float] | None] = None
    # the output keeps the input's 8-bit format (uint8 after a ReLU, else int8): views,
    # spills and pools; `same_scale` ops keep it too (compiler/passes/quantize.py)
    keeps_format: ClassVar[bool] = False
    # its instructions read uint8 operands (an unsigned bit per operand, docs/isa.md
    # "Activation formats"); an op without it only ever reads int8 activations
    reads_unsigned: ClassVar[bool] = False
    # its output is written by a REQ, which can leave a graph output at accumulator precision:
    # int32 with per-channel scales (REQ `out_wide`; compiler/passes/quantize.py)
    writes_wide: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            if cls.name in REGISTRY:
                raise TypeError(f"two definitions of IR op {cls.name!r}")
            REGISTRY[cls.name] = cls

    @staticmethod
    def relu_output(node: Any) -> bool:
        """Whether the node's output is a ReLU's (a fused ReLU epilogue): uint8 at max/255."""
        return False

    @staticmethod
    def from_onnx(ctx: Any, node: Any, name: str, attrs: Mapping[str, Any]) -> None:
        """Lower one ONNX node (whose op type is in `onnx`) through the front end's context."""
        raise NotImplementedError

    @staticmethod
    def claims(ctx: Any, node: Any) -> bool:
        """Whether this op lowers `node` when several ops list its ONNX type (MatMul: a
        constant right operand is a CONV, a constant left operand an AGGREGATE); the first
        op in table order that claims a node lowers it."""
        return True

    @staticmethod
    def infer(attrs: Mapping[str, Any], ins: list[Shape]) -> Shape:
        """Output shape for these input shapes; ValueError says what does not fit."""
        return ins[0]

    @staticmethod
    def reference(node: Any, ins: list[np.ndarray]) -> np.ndarray:
        """Float32 output for a batch of inputs (batch axis first)."""
        raise NotImplementedError

    @classmethod
    def lower(cls, node: Any, em: Any) -> None:
        """Emit the node's instructions. Ops that only exist before `fuse_epilogues` folds
        them into a neighbour keep this default, which explains why they cannot run."""
        raise ModelStructureError(
            f"node {node.name}: a standalone {cls.name} (not right after a Conv/Gemm/MatMul or Add) "
            f"cannot run on the accelerator")

    @staticmethod
    def cost(node: Any, ins: list[Shape], out: Shape) -> int:
        """Arithmetic operations of one sample (a MAC counts one)."""
        return 0

    @staticmethod
    def scratch(node: Any, ins: list[Shape], out: Shape) -> int:
        """Elements per sample that `reference` allocates besides its output (temporaries),
        for the memory estimate made before calibration (`seedcc.limits`)."""
        return 2 * math.prod(out)


# -- shared helpers ----------------------------------------------------------------------
def fused_relu(node: Any) -> bool:
    """`relu_output` of the ops that take a fused ReLU epilogue (CONV, AGGREGATE, ADD)."""
    return bool(node.attrs.get("relu"))


def is_unsigned(value: Any) -> int:
    """The unsigned bit of an instruction operand or output holding `value` (an IR Value)."""
    return int(value.dtype == "uint8")


def require_signed(node: Any, value: Any) -> None:
    """For ops whose instructions have no unsigned bit: refuse a uint8 input, naming it
    (`quantize` keeps every value such an op reads int8, so this is an internal error)."""
    if value.dtype == "uint8":
        raise ModelStructureError(
            f"node {node.name}: its input {value.name!r} is uint8 (a ReLU's output), but its "
            f"instruction reads int8 only; compile through the `quantize` pass, which keeps "
            f"the inputs of such ops int8")


def saturating_multiplier(real: float) -> tuple[int, int]:
    """`numerics.quantize_multiplier`, except that a ratio too large for the multiplier field
    becomes the largest multiplier with shift 0. That is exact for the integer operands of
    REQ/ADD/AVGPOOL: any non-zero integer times either factor lies beyond the int8 range,
    so the result saturates the same way (it happens when calibration saw an all-zero output,
    whose scale is then tiny)."""
    limit = (1 << (numerics.MULT_BITS - 1)) - 1
    if np.isfinite(real) and abs(real) > limit:
        return (limit if real > 0 else -limit), 0
    return numerics.quantize_multiplier(real)


def window_out(size: int, k: int, stride: int, pad_lo: int, pad_hi: int) -> int:
    """Output positions of a window of `k` sliding by `stride` over a padded axis; ValueError
    when the window does not fit even once (an empty output)."""
    out = (size + pad_lo + pad_hi - k) // stride + 1
    if out < 1:
        raise ValueError(f"the window of {k} does not fit the input's {size} (padding "
                         f"{pad_lo}+{pad_hi}): the output would be empty")
    return out


def as_chw(shape: Shape) -> tuple[int, int, int]:
    """The (C, H, W) tensor an activation is stored as in the act SRAM: (C, H, W) itself,
    a vector (F,) as (F, 1, 1), and a rank-2 activation (N, F) (graph nodes or tokens by
    features; the ONNX tensor (batch, N, F)) feature-major as (F, 1, N): byte (f, n) at
    addr + f·N + n. A layer `H @ W` is then a 1x1 convolution with the N nodes/tokens on
    the pixel axis, and a per-feature affine is the per-channel one. This function,
    `to_storage` and `from_storage` are the one definition of that layout."""
    if len(shape) == 3:
        return shape  # type: ignore[return-value]
    if len(shape) == 1:
        return (shape[0], 1, 1)
    if len(shape) == 2:
        return (shape[1], 1, shape[0])
    raise ValueError(f"activation shape {shape} is neither (C, H, W), (N, F) nor (F,)")


def to_storage(x: np.ndarray, shape: Shape) -> np.ndarray:
    """A batch (B, *shape) as it lies in the act SRAM: (B, bytes) in `as_chw` order."""
    x = np.asarray(x)
    if len(shape) == 2:
        x = np.swapaxes(x, 1, 2)
    return np.ascontiguousarray(x).reshape(x.shape[0], math.prod(shape))


def from_storage(flat: np.ndarray, shape: Shape) -> np.ndarray:
    """The inverse of `to_storage`: (B, bytes) in `as_chw` order -> (B, *shape)."""
    b = flat.shape[0]
    if len(shape) == 2:
        return np.swapaxes(flat.reshape(b, shape[1], shape[0]), 1, 2)
    return flat.reshape((b, *shape))


def reduce_axes(ctx: Any, node: Any, name: str, a: Mapping[str, Any]) -> list[int]:
    """The axes of an ONNX ReduceMean: its second input (opset 18) or `axes` attribute."""
    if len(node.input) > 1 and node.input[1]:
        return [int(v) for v in ctx.const(node.input[1], name).reshape(-1)]
    return [int(v) for v in a.get("axes", [])]


def band_buffer(n: Any) -> str:
    """The name under which the memory planner places the act SRAM buffer of a node that
    works in row bands (attribute `band_bytes`; `compiler/passes/spill_activations.py`)."""
    return f"{n.name}#band"


def pads4(attrs: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """ONNX `pads` of a 2-D window op as (top, left, bottom, right)."""
    p = list(attrs.get("pads", [0, 0, 0, 0]))
    return (int(p[0]), int(p[1]), int(p[2]), int(p[3]))


def pair(attrs: Mapping[str, Any], key: str, default: int = 1) -> tuple[int, int]:
    v = attrs.get(key, [default, default])
    return (int(v[0]), int(v[1]))


def window_attrs(ctx: Any, name: str, a: Mapping[str, Any]) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """`strides` and `pads` of a 2-D window op (Conv, pools), checked: two strides >= 1 and
    four pads >= 0, else a ModelStructureError naming the node."""
    strides, pads = list(a.get("strides", [1, 1])), list(a.get("pads", [0, 0, 0, 0]))
    if len(strides) != 2 or any(s < 1 for s in strides):
        raise ModelStructureError(f"{ctx.where}: node {name}: strides {strides} must be two "
                                  f"integers >= 1 (a 2-D window)")
    if len(pads) != 4 or any(p < 0 for p in pads):
        raise ModelStructureError(f"{ctx.where}: node {name}: pads {pads} must be four "
                                  f"integers >= 0 (a 2-D window)")
    return pair(a, "strides"), pads4(a)


def im2col(x: np.ndarray, kh: int, kw: int, stride: tuple[int, int], pads: tuple[int, int, int, int],
           fill: float = 0.0) -> np.ndarray:
    """(B, C, H, W) -> (B, OH, OW, C, kh, kw) windows (a view where possible)."""
    pt, pl, pb, pr = pads
    if any(pads):
        x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=fill)
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))  # B, C, OH', OW', kh, kw
    win = win[:, :, :: stride[0], :: stride[1]]
    return win.transpose(0, 2, 3, 1, 4, 5)


def channel(v: np.ndarray, ndim: int) -> np.ndarray:
    """Broadcast a per-channel vector against a batch of rank `ndim`: (B, C, H, W) and
    (B, F) have channels on axis 1, rank-2 activations (B, N, F) on the last axis."""
    if ndim == 3:
        return np.asarray(v).reshape(1, 1, -1)
    return np.asarray(v).reshape((1, -1) + (1,) * (ndim - 2))
