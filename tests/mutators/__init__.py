"""Mutations of seedcc's inputs for fuzzing: ONNX models, programs and input arrays.

Each mutation class is a function `(seeds, rnd) -> Case` that takes a valid seed file from
the corpus (`fuzzing.seeds()`), breaks it one way chosen by `rnd` (a `random.Random`: seeded
by the campaign, driven by hypothesis in the tests) and returns the command to run on it.
The classes, by what they break:

- model.structure, model.attributes, model.initializers, model.shapes, model.metadata,
  model.opset: one field of a valid model (nodes, attributes, tensors, graph input shapes,
  the `seedcc.random_weights` record, opset and IR version);
- model.bytes: the serialized model, byte by byte (flips, insertions, cuts, a name's bytes);
- program.config, program.manifest, program.instructions, program.sections: one part of a
  compiled program, re-serialized with a recomputed checksum (a crafted program);
- program.bytes: the program file byte by byte, checksum recomputed or not;
- input.values, input.structure, input.bytes: the array file given to `run`;
- calib.values: the calibration file given to `compile --calib`;
- paths: a folder, a FIFO or a missing file where a file is expected.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from .base import Case, Seeds, npy_bytes
from .models import (
    model_attributes,
    model_bytes,
    model_initializers,
    model_metadata,
    model_opset,
    model_shapes,
    model_structure,
)
from .programs import (
    calib_values,
    input_bytes,
    input_structure,
    input_values,
    paths,
    program_bytes,
    program_config,
    program_instructions,
    program_manifest,
    program_sections,
)

#: every mutation class, by name
CLASSES: dict[str, Callable[[Seeds, random.Random], Case]] = {
    "model.structure": model_structure,
    "model.attributes": model_attributes,
    "model.initializers": model_initializers,
    "model.shapes": model_shapes,
    "model.metadata": model_metadata,
    "model.opset": model_opset,
    "model.bytes": model_bytes,
    "program.config": program_config,
    "program.manifest": program_manifest,
    "program.instructions": program_instructions,
    "program.sections": program_sections,
    "program.bytes": program_bytes,
    "input.values": input_values,
    "input.structure": input_structure,
    "input.bytes": input_bytes,
    "calib.values": calib_values,
    "paths": paths,
}

__all__ = ["CLASSES", "Case", "Seeds", "npy_bytes"]
