"""Shared paths and helpers of the tests.

Helpers here are deliberately independent of the compiler's own code paths: weights are
read back through onnxruntime and canonicalised by hand, random weights are regenerated
straight from `seedcc.rtl_models.generators`, so a test compares two computations.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from seedcc.compiler.records import RECORD_KEY
from seedcc.ir import WeightSpec
from seedcc.models import ModelBuilder, mlp, small_cnn
from seedcc.rtl_models.generators import random_weights

TESTS = Path(__file__).resolve().parent
REPO_ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"
SNAPSHOTS = TESTS / "snapshots"
UPDATE_SNAPSHOTS = os.environ.get("SEEDCC_UPDATE_SNAPSHOTS") == "1"

#: the repository's example models, by snapshot name
EXAMPLE_MODELS: dict[str, Callable[[], onnx.ModelProto]] = {
    "mlp": mlp,
    "small_cnn": small_cnn,
    "small_cnn_codes3": lambda: small_cnn(codes=3),
}
#: torch.onnx.export output in tests/fixtures (see its README.md)
SAMPLE_MODELS = ("torch_export_unfolded", "torch_export_folded")


# -- models ------------------------------------------------------------------------------
def sample_path(name: str) -> Path:
    """Path of a committed exporter sample model; a missing file fails the test (never
    skips it)."""
    path = FIXTURES / f"{name}.onnx"
    if not path.is_file():
        pytest.fail(f"sample model {path} is missing: it is committed in tests/fixtures; "
                    f"restore it from git or regenerate it with "
                    f"tests/fixtures/make_torch_samples.py (see tests/fixtures/README.md)",
                    pytrace=False)
    return path


def load_model(name: str) -> onnx.ModelProto:
    """A fresh copy of an example model or an exporter sample, by name."""
    if name in EXAMPLE_MODELS:
        return EXAMPLE_MODELS[name]()
    return onnx.load(sample_path(name))


def initializer(model: onnx.ModelProto, name: str) -> np.ndarray:
    for t in model.graph.initializer:
        if t.name == name:
            return numpy_helper.to_array(t).copy()
    raise KeyError(f"no initializer {name!r}")


def set_initializer(model: onnx.ModelProto, name: str, array: np.ndarray) -> None:
    for t in model.graph.initializer:
        if t.name == name:
            t.CopyFrom(numpy_helper.from_array(np.asarray(array), name))
            return
    raise KeyError(f"no initializer {name!r}")


def onnx_node(model: onnx.ModelProto, name: str) -> onnx.NodeProto:
    return next(n for n in model.graph.node if n.name == name)


def drop_record(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model without its `seedcc.random_weights` metadata."""
    keep = [p for p in model.metadata_props if p.key != RECORD_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    return model


def add_record(b: ModelBuilder, name: str, canon_shape: tuple[int, int, int, int], layout: str,
               seed: int, scale: float = 0.25) -> np.ndarray:
    """Register a recorded random initializer `name` on a builder; returns it canonical."""
    r = random_weights("xorshift16", seed, canon_shape, scale)
    b.records[name] = {"generator": "xorshift16", "seed": seed, "scale": scale, "layout": layout}
    stored = {"OIHW": r, "OI": r[:, :, 0, 0], "IO": r[:, :, 0, 0].T}[layout]
    b.init(name, np.ascontiguousarray(stored))
    return r


def float_io(name: str, shape: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


# -- weights as onnxruntime sees them -----------------------------------------------------
def canonical_layer_weight(node: onnx.NodeProto, w: np.ndarray) -> np.ndarray:
    """The effective weight of a Conv/Gemm/MatMul fed `w`, as (O, I, KH, KW); written out
    here on purpose (not the compiler's helper): Conv is OIHW, Gemm transB=1 is (O, I),
    MatMul/Gemm transB=0 (I, O); Gemm scales it by alpha."""
    if node.op_type == "Conv":
        return w
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if node.op_type == "Gemm" and attrs.get("transB", 0):
        w = w[:, :, None, None]
    else:
        w = np.ascontiguousarray(w.T)[:, :, None, None]
    if node.op_type == "Gemm" and attrs.get("alpha", 1.0) != 1.0:
        w = w * np.float32(attrs["alpha"])
    return w


def ort_layer_weights(model: onnx.ModelProto, node_names: list[str]) -> dict[str, np.ndarray]:
    """The weight each named layer is fed when onnxruntime runs the model, canonical.

    The layer's weight input tensor is added as an extra graph output, so this is what the
    exporter's graph computes (Mul, Transpose, Cast, ... included), not what seedcc folds.
    """
    m = onnx.ModelProto()
    m.CopyFrom(model)
    nodes = {n.name: n for n in m.graph.node}
    wanted = {name: nodes[name].input[1] for name in node_names}
    present = {o.name for o in m.graph.output}
    for tensor in dict.fromkeys(wanted.values()):
        if tensor not in present:
            m.graph.output.append(helper.make_tensor_value_info(tensor, TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    inits = {t.name for t in m.graph.initializer}
    feeds = {}
    for vi in m.graph.input:
        if vi.name not in inits:
            dims = [d.dim_value if d.HasField("dim_value") else 1
                    for d in vi.type.tensor_type.shape.dim]
            feeds[vi.name] = np.zeros(dims, np.float32)
    names = list(dict.fromkeys(wanted.values()))
    fed = dict(zip(names, sess.run(names, feeds)))
    return {name: canonical_layer_weight(nodes[name], fed[t]) for name, t in wanted.items()}


def regenerate_from_spec(spec: WeightSpec) -> np.ndarray:
    """R ⊙ M · multiplier rebuilt from the spec's record fields with the golden generator
    (independent of `WeightSpec.effective`)."""
    assert spec.generator is not None and spec.seed is not None
    r = random_weights(spec.generator, spec.seed, spec.shape, spec.scale)
    return r * spec.mask.astype(np.float32) * np.float32(spec.multiplier)


def assert_bit_equal(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    a = np.ascontiguousarray(actual, np.float32).view(np.uint32)
    e = np.ascontiguousarray(expected, np.float32).view(np.uint32)
    diff = np.argwhere(a != e)
    assert not len(diff), (f"{what}: {len(diff)} element(s) differ, first at {diff[0].tolist()}: "
                           f"{actual[tuple(diff[0])]!r} != {expected[tuple(diff[0])]!r}")


# -- snapshots -----------------------------------------------------------------------------
def check_snapshot(name: str, text: str) -> None:
    """Compare with tests/snapshots/<name>.txt; SEEDCC_UPDATE_SNAPSHOTS=1 rewrites it."""
    path = SNAPSHOTS / f"{name}.txt"
    if UPDATE_SNAPSHOTS:
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.is_file(), f"snapshot {path} is missing; create it with SEEDCC_UPDATE_SNAPSHOTS=1"
    expected = path.read_text()
    assert text == expected, (f"printer output differs from {path} (if the change is intended, "
                              f"rerun with SEEDCC_UPDATE_SNAPSHOTS=1 and review the diff)")
