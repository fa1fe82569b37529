"""Writing the `seedcc.random_weights` record of a model whose tensor names the exporter chose.

An exporter names initializers itself (`onnx::Conv_31`, `mul_12`, `val_2`), so a record
cannot be written before export. What the training code does know is, per layer, how its
random tensor was made: (generator, seed, scale, canonical shape, freeze). `find_records`
regenerates each layer's tensor and finds, by value, every initializer that holds it:

* R itself, bit for bit, in any layout the record allows (form (a), `Mul(R, M)`), or
* R ⊙ codes × one factor per output channel (form (b): a materialised mask, a multicoat
  mask, a BatchNorm folded in by the exporter's optimiser; `records.decompose`).

A layer applied several times (a hidden fold) or folded per iteration matches several
initializers; each gets a record. A layer that matches nothing is an error naming the
layer and the initializers of its shape. The layer spec file (`seedcc annotate --layers`):

    {"version": 1, "layers": {"<module path>": {"generator": "xorshift16", "seed": 1024,
        "scale": 0.0589, "shape": [O, I, KH, KW], "freeze": {"seed": 7, "prune": 0.3}}}}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from seedcc.compiler.records import RECORD_KEY, Codes, decompose, to_canonical
from seedcc.compiler.supermask import MAX_CODE
from seedcc.errors import BadInputError, ModelStructureError
from seedcc.rtl_models.generators import GENERATORS, random_weights

SPEC_VERSION = 1


@dataclass(frozen=True)
class LayerSpec:
    """How one layer's random tensor was made."""

    name: str  # module path, for messages
    generator: str
    seed: int
    scale: float
    shape: tuple[int, int, int, int]  # canonical (O, I, KH, KW)
    freeze: dict[str, float] | None = None

    def record(self, layout: str) -> dict[str, Any]:
        out: dict[str, Any] = {"generator": self.generator, "seed": self.seed, "scale": self.scale,
                               "layout": layout}
        if self.freeze is not None:
            out["freeze"] = dict(self.freeze)
        return out


def parse_layer_specs(doc: Any, where: str) -> list[LayerSpec]:
    """Layer specs from the JSON document described in the module docstring."""
    try:
        if doc.get("version") != SPEC_VERSION:
            raise ValueError(f"version {doc.get('version')!r} (expected {SPEC_VERSION})")
        out = []
        for name, d in doc["layers"].items():
            if d["generator"] not in GENERATORS:
                raise ValueError(f"layer {name!r}: unknown generator {d['generator']!r} "
                                 f"(choices: {', '.join(GENERATORS)})")
            shape = tuple(int(v) for v in d["shape"])
            if len(shape) == 2:
                shape = (*shape, 1, 1)
            if len(shape) != 4 or min(shape) < 1:
                raise ValueError(f"layer {name!r}: shape {d['shape']} is not [O, I, KH, KW]")
            freeze = None if d.get("freeze") is None else {k: d["freeze"][k] for k in d["freeze"]}
            out.append(LayerSpec(name, d["generator"], int(d["seed"]), float(d["scale"]),
                                 shape, freeze))  # type: ignore[arg-type]
        return out
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise BadInputError(f"{where}: layer spec is malformed: {e}") from None


def read_layer_specs(path: str | os.PathLike) -> list[LayerSpec]:
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise BadInputError(f"{path}: not a readable layer spec JSON file ({e})") from None
    return parse_layer_specs(doc, os.fspath(path))


def _layouts(arr: np.ndarray) -> tuple[str, ...]:
    return ("OIHW",) if arr.ndim == 4 else ("OI", "IO") if arr.ndim == 2 else ()


def _holds(arr: np.ndarray, layout: str, r: np.ndarray) -> bool:
    """Does `arr` (stored in `layout`) hold R, or R × codes × per-channel factors?"""
    canon = to_canonical(arr, layout)
    if canon.shape != r.shape:
        return False
    if np.array_equal(np.ascontiguousarray(canon).view(np.uint32), r.view(np.uint32)):
        return True
    if not canon.any():
        return False
    return isinstance(decompose(canon / r, MAX_CODE), Codes)


def find_records(model: onnx.ModelProto, specs: list[LayerSpec], where: str) -> dict[str, dict]:
    """Record entries keyed by initializer name, found by value (module docstring)."""
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer
             if t.data_type == onnx.TensorProto.FLOAT and len(t.dims) in (2, 4)}
    tensors: dict[str, dict] = {}
    owner: dict[str, str] = {}
    for spec in specs:
        r = random_weights(spec.generator, spec.seed, spec.shape, spec.scale)
        hits = [(name, layout) for name, arr in inits.items() for layout in _layouts(arr)
                if _holds(arr, layout, r)]
        if not hits:
            same = sorted(n for n, a in inits.items() for lay in _layouts(a)
                          if to_canonical(a, lay).shape == spec.shape)
            raise ModelStructureError(
                f"{where}: layer {spec.name}: no initializer holds its random tensor ({spec.generator} "
                f"seed {spec.seed}, scale {spec.scale!r}, shape {list(spec.shape)}) or that tensor "
                f"times a mask; initializers of that shape: {', '.join(same) or 'none'}")
        for name, layout in hits:
            if name in owner and owner[name] != spec.name:
                raise ModelStructureError(f"{where}: initializer {name!r} matches both layer "
                                          f"{owner[name]} and layer {spec.name}; give them different seeds")
            owner[name] = spec.name
            tensors[name] = spec.record(layout)
    return tensors


def set_record(model: onnx.ModelProto, tensors: dict[str, dict]) -> None:
    """Write (or replace) the model's `seedcc.random_weights` record, in place."""
    for i in reversed(range(len(model.metadata_props))):
        if model.metadata_props[i].key == RECORD_KEY:
            del model.metadata_props[i]
    prop = model.metadata_props.add()
    prop.key = RECORD_KEY
    prop.value = json.dumps({"version": 1, "tensors": tensors}, sort_keys=True)


def annotate(model: onnx.ModelProto, specs: list[LayerSpec], where: str) -> dict[str, dict]:
    """Find every layer's random tensors and write the record into `model`; returns it."""
    tensors = find_records(model, specs, where)
    set_record(model, tensors)
    return tensors
