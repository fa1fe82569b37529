"""onnxruntime as the golden reference, including intermediate tensors."""

from __future__ import annotations

import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import shape_inference

from seedcc.compiler.onnx_load import read_model
from seedcc.errors import BadInputError


def ort_run(source: str | os.PathLike | onnx.ModelProto, inputs: dict[str, np.ndarray],
            extra: list[str] = ()) -> dict[str, np.ndarray]:
    """Run the model; also return the intermediate tensors named in `extra`. A model with a
    fixed batch size runs in chunks of that size (the last one padded), so any number of
    samples goes through; an onnxruntime failure is a BadInputError."""
    model, where = read_model(source)
    model = shape_inference.infer_shapes(model)
    known = {o.name for o in model.graph.output}
    infos = {vi.name: vi for vi in model.graph.value_info}
    for name in extra:
        if name not in known and name in infos:
            model.graph.output.append(infos[name])
            known.add(name)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - onnxruntime's errors share no other base class
        raise BadInputError(f"{where}: onnxruntime cannot run the model ({_first_line(e)})") from None
    names = [o.name for o in sess.get_outputs()]
    fixed = {i.shape[0] for i in sess.get_inputs() if i.shape and isinstance(i.shape[0], int)}
    n = len(next(iter(inputs.values())))
    step = fixed.pop() if len(fixed) == 1 else n  # a model exported with a fixed batch size
    parts = []
    for start in range(0, n, max(step, 1)):
        chunk = {}
        for k, v in inputs.items():
            c = v[start:start + step]
            if len(c) < step:  # pad the last chunk with its last sample, dropped again below
                c = np.concatenate([c, np.repeat(c[-1:], step - len(c), axis=0)])
            chunk[k] = c
        try:
            parts.append(sess.run(names, chunk))
        except Exception as e:  # noqa: BLE001 - onnxruntime's errors share no other base class
            raise BadInputError(f"{where}: onnxruntime cannot run the model ({_first_line(e)})") from None
    return {name: np.concatenate([p[j] for p in parts])[:n] for j, name in enumerate(names)}


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
