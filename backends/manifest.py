"""The manifest of a compiled program: typed, frozen, validated when loaded.

Code generation fills it; the reference model, the vector writer, the report and the CLI
read it by attribute. Nothing reads a program by string keys.

- ``model``: model name; ``notes``: compiler remarks for the user (calibration, folds).
- ``inputs`` / ``outputs``: :class:`TensorIO`, one sample each (no batch axis), int8 =
  ``x / scale``; the runner writes each quantised input sample at its ``dram_addr`` before
  running and reads each output sample from its ``dram_addr`` after HALT.
- ``checkpoints``: :class:`Checkpoint`, an IR value the act SRAM holds after an instruction.
- ``float_params``: :class:`FloatParam`, where a REQ's float-mode affine ``a*acc + b`` sits
  in the float section (``a`` then ``b``, float32, one per channel).
- ``layers``: :class:`LayerInfo`, one per weight layer (for the report and the tests).
- ``sram``: :class:`SramUse`, the peak use of each on-chip memory (what the schedule needs).
- ``schema_version``: :data:`SCHEMA_VERSION`; a manifest of another schema does not load.

In the file the manifest is JSON: :meth:`Manifest.to_json` writes every field under its
own name (tuples as lists, ``None`` as null) with sorted keys and no spaces, so equal
manifests give equal bytes. :meth:`Manifest.from_json` accepts exactly that shape: a
missing key, an unknown key, a value of the wrong type or another schema version raises
:class:`~seedcc.errors.ProgramFormatError` naming the place, for example
``manifest.layers[3].code_bits: expected int, got str``. A float field accepts a JSON
integer (JSON does not tell ``1`` from ``1.0``); an int field rejects ``1.0``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any

from seedcc.errors import ProgramFormatError
from seedcc.rtl_models.hwfacts import ACC_BYTES

SCHEMA_VERSION = 5
"""5: outputs may be int32 with per-channel scales (``TensorIO.channel_scales``);
4: checkpoints say whether their bytes are uint8 (``Checkpoint.unsigned``)."""


@dataclass(frozen=True)
class TensorIO:
    """A model input or output: one sample of ``shape`` at ``dram_addr``, int8 = x / scale;
    or, for an output left at accumulator precision (``channel_scales`` not empty), int32
    little-endian with x = int32 · channel_scales[c], c the channel it is stored under
    (`seedcc.ir.ops.base.as_chw`; ``scale`` is then the calibration's and unused)."""

    name: str
    shape: tuple[int, ...]
    scale: float
    dram_addr: int
    channel_scales: tuple[float, ...] = ()

    @property
    def wide(self) -> bool:
        """An int32 output (ACC_BYTES bytes a value)."""
        return bool(self.channel_scales)

    @property
    def nbytes(self) -> int:
        """Off-chip bytes of one sample: a byte a value, ACC_BYTES if int32."""
        return math.prod(self.shape) * (ACC_BYTES if self.wide else 1)


@dataclass(frozen=True)
class Checkpoint:
    """IR value ``name`` (ONNX tensor ``onnx``) sits at act SRAM ``addr`` after instruction
    ``after`` has executed in LOOP iteration ``iteration`` (0 outside loop bodies),
    int8 = x / scale, or uint8 = x / scale when ``unsigned`` (a ReLU's output)."""

    name: str
    onnx: str | None
    after: int
    addr: int
    shape: tuple[int, ...]
    scale: float
    iteration: int = 0
    unsigned: bool = False


@dataclass(frozen=True)
class FloatParam:
    """The float-mode affine of the REQ at instruction ``instr`` in LOOP iteration
    ``iteration`` (0 outside loop bodies): ``channels`` float32 ``a`` values then
    ``channels`` ``b`` values, ``offset`` bytes into the float section. For an AGG
    instruction: ``channels`` is its nnz, and the section holds that many float32 values
    of its entries (the adjacency's float values, in entry order)."""

    instr: int
    offset: int
    channels: int
    iteration: int = 0


@dataclass(frozen=True)
class LayerInfo:
    """One weight layer as compiled: where its weights come from and what it stores."""

    name: str
    record: str  # initializer (and record key) the weights come from
    kind: str  # "random", "stored-ternary" or "dense"
    generator: str | None  # sign generator of random weights, None when signs are stored
    seed: int | None
    shape: tuple[int, ...]  # (O, I, KH, KW)
    weights: int  # O*I*KH*KW
    nonzero: int  # weights with a nonzero mask code
    code_bits: int
    mask_bytes: int  # mask-row bytes this layer loads per sample (split layers reload theirs;
    # 0 for a fold conv in a LOOP body: its rows are loaded once, before the loop)
    param_bytes: int  # lane start states + requantisation records
    blocks: int  # output-channel blocks
    input_splits: int  # input-channel parts that fit the mask SRAM
    fold: tuple[int, int] | None  # (fold group, iteration), None outside fold groups
    fingerprint: str  # WeightSpec.fingerprint(): equal for equal effective weights
    mask_stored: int  # bytes of mask data in the memory image
    mask_bits: int  # code_bits x positions that store a code: all of them, or for a frozen layer
    # the free ones (locked too if their codes differ); frozen positions cost nothing
    seed_bytes: int  # of param_bytes, the lane start states (the seeds the hardware uses)
    frozen: int  # positions the freeze record fixes (pruned or locked)
    lane_steps: int  # generator lane steps per sample (the schedule_regeneration pass)
    regen: str  # the regeneration policy and why


@dataclass(frozen=True)
class GraphInfo:
    """One graph aggregation (AGG) as compiled: how its adjacency Â is stored."""

    name: str
    source: str  # the ONNX initializer of Â
    rows: int  # output nodes
    cols: int  # input nodes
    nnz: int  # stored entries
    stored_bytes: int  # Â in the accelerator's CSR format (degrees + entries), in the image
    dense_bytes: int  # rows·cols·4: Â as the float32 matrix of the ONNX file
    loaded_bytes: int  # DMA'd into the mask SRAM per sample (0 when resident in a loop)
    chunks: int  # row chunks (each one DMA + AGG + REQ)
    param_bytes: int  # requantisation records of its REQs (one per feature: BatchNorm, bias)
    scale: float  # real value of one int16 code
    fingerprint: str  # equal for equal adjacencies (stored once in the image)


@dataclass(frozen=True)
class SramUse:
    """The most of one on-chip memory the program ever uses (bytes, or words for acc)."""

    memory: str  # "act", "mask", "param" or "acc"
    peak: int
    capacity: int


@dataclass(frozen=True)
class Manifest:
    """Everything a program declares besides its instructions, image and float section."""

    model: str = ""
    inputs: tuple[TensorIO, ...] = ()
    outputs: tuple[TensorIO, ...] = ()
    checkpoints: tuple[Checkpoint, ...] = ()
    float_params: tuple[FloatParam, ...] = ()
    layers: tuple[LayerInfo, ...] = ()
    graphs: tuple[GraphInfo, ...] = ()
    sram: tuple[SramUse, ...] = ()
    notes: tuple[str, ...] = ()
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (tuples stay tuples; ``json`` writes them as lists)."""
        return dataclasses.asdict(self)

    def to_json(self) -> bytes:
        """The canonical encoding stored in a program file (sorted keys, no spaces)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_dict(cls, raw: Any, where: str = "manifest") -> Manifest:
        """Validate and convert decoded JSON; errors name ``where`` and the path inside it."""
        if isinstance(raw, dict) and "schema_version" in raw:
            version = raw["schema_version"]
            if version != SCHEMA_VERSION or isinstance(version, bool):
                raise ProgramFormatError(
                    f"{where}.schema_version: this seedcc reads manifest schema {SCHEMA_VERSION}, "
                    f"got {version!r}; recompile the model with this seedcc")
        return _decode(cls, raw, where)

    @classmethod
    def from_json(cls, data: bytes | str, where: str = "manifest") -> Manifest:
        try:
            raw = json.loads(data)
        except ValueError as err:
            raise ProgramFormatError(f"{where} is not valid JSON ({err})") from None
        return cls.from_dict(raw, where)


# -- decoding driven by the field annotations above -----------------------------------------
_JSON_NAMES = {dict: "object", list: "list", str: "str", int: "int", float: "float",
               bool: "bool", type(None): "null"}


def _got(value: Any) -> str:
    return _JSON_NAMES.get(type(value), type(value).__name__)


@cache
def _fields(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _decode(kind: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise ProgramFormatError(f"{where}: expected an object, got {_got(value)}")
        spec = _fields(kind)
        for key in value:
            if key not in spec:
                raise ProgramFormatError(f"{where}: unknown key {key!r}; valid keys: "
                                         f"{', '.join(sorted(spec))}")
        for key in spec:
            if key not in value:
                raise ProgramFormatError(f"{where}: missing key {key!r}")
        return kind(**{key: _decode(t, value[key], f"{where}.{key}") for key, t in spec.items()})
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):  # only `X | None` occurs
        (inner,) = (a for a in args if a is not type(None))
        return None if value is None else _decode(inner, value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise ProgramFormatError(f"{where}: expected a list, got {_got(value)}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ProgramFormatError(f"{where}: expected a list of {len(args)} items, got "
                                     f"{len(value)}")
        return tuple(_decode(t, v, f"{where}[{i}]") for i, (t, v) in enumerate(zip(args, value)))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind in (int, float, str, bool) and type(value) is kind:
        return value
    raise ProgramFormatError(f"{where}: expected {_JSON_NAMES[kind]}, got {_got(value)}")
