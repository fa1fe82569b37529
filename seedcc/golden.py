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
    """Run the model; also return the intermediate tensors named in `extra`."""
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
        names = [o.name for o in sess.get_outputs()]
        return dict(zip(names, sess.run(names, inputs)))
    except Exception as e:  # noqa: BLE001 - onnxruntime's errors share no other base class
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BadInputError(f"{where}: onnxruntime cannot run the model ({msg})") from None
