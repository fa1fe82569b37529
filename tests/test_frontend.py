"""The ONNX front end (DESIGN.md §3): lowering, record checks, supermask recognition,
rejection of unsupported ops and bad files, stored weights, and the printer snapshots."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import onnx
import pytest
from conftest import (
    EXAMPLE_MODELS,
    SAMPLE_MODELS,
    add_record,
    assert_bit_equal,
    check_snapshot,
    drop_record,
    float_io,
    initializer,
    load_model,
    onnx_node,
    ort_layer_weights,
    regenerate_from_spec,
    sample_path,
    set_initializer,
)
from onnx import TensorProto, helper, numpy_helper

from seedcc.compiler.frontend import import_onnx
from seedcc.errors import (
    BadInputError,
    IRVerificationError,
    ModelStructureError,
    RecordMismatchError,
    UnsupportedOpError,
)
from seedcc.ir import Freeze, Graph, Op, WeightSpec, format_graph
from seedcc.models import ModelBuilder
from seedcc.rtl_models.generators import LOCKED, PRUNED, freeze_pattern

ALL_MODELS = [*EXAMPLE_MODELS, *SAMPLE_MODELS]


def layers(g: Graph) -> dict[str, WeightSpec]:
    """IR layer name -> its WeightSpec."""
    return {n.name: n.attrs["weight"] for n in g.ops(Op.CONV)}


def assert_matches_ort(model: onnx.ModelProto, g: Graph) -> None:
    """Every CONV's R ⊙ M (regenerated from its spec) equals, bit for bit, the weight
    onnxruntime feeds the layer."""
    specs = layers(g)
    fed = ort_layer_weights(model, list(specs))
    for name, spec in specs.items():
        assert_bit_equal(regenerate_from_spec(spec), fed[name], f"layer {name}")


# -- 1. printer snapshots -----------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_MODELS)
def test_lowered_graph_matches_snapshot(name):
    source = sample_path(name) if name in SAMPLE_MODELS else load_model(name)
    check_snapshot(name, format_graph(import_onnx(source)))


# -- 2. regenerated weights equal what onnxruntime feeds each layer ---------------------------
def drawn_masks(name: str, model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """The mask each layer was built with, canonical, read from the model's own tensors:
    the `<layer>.M` initializer (form (a)), or W != 0 of a materialised R ⊙ M (form (b)).
    The folded sample's masks are those of the unfolded export of the same module."""
    def io(a):
        return np.ascontiguousarray(a.T)[:, :, None, None]

    def oi(a):
        return a[:, :, None, None]

    if name == "mlp":
        return {"fc1/Gemm": oi(initializer(model, "fc1.M")),
                "fc2/MatMul": io((initializer(model, "fc2") != 0).astype(np.float32)),
                "fc3/Gemm": oi(initializer(model, "fc3.M"))}
    if name.startswith("small_cnn"):
        return {"conv1/Conv": initializer(model, "conv1.M"),
                "conv2/Conv": initializer(model, "conv2.M"),
                "conv3/Conv": initializer(model, "conv3.M"),
                "fc/Gemm": oi(initializer(model, "fc.M"))}
    unfolded = onnx.load(sample_path("torch_export_unfolded"))
    return {"/c1/Conv": initializer(unfolded, "c1.M"), "/c2/Conv": initializer(unfolded, "c2.M"),
            "/fc/MatMul": oi(initializer(unfolded, "fc.M"))}


@pytest.mark.parametrize("name", ALL_MODELS)
def test_regenerated_weights_equal_onnxruntime_bit_for_bit(name):
    model = load_model(name)
    g = import_onnx(model)
    specs = layers(g)
    assert specs and all(s.regenerated and s.generator == "xorshift16" for s in specs.values())
    assert_matches_ort(model, g)
    masks = drawn_masks(name, model)
    assert set(masks) == set(specs)
    for layer, spec in specs.items():
        assert spec.mask.dtype == np.uint8
        np.testing.assert_array_equal(spec.mask, masks[layer].astype(np.uint8), err_msg=layer)
        # builder / sample masks are drawn with density 0.5: allow 5 binomial sigmas
        density = np.count_nonzero(spec.mask) / spec.mask.size
        assert abs(density - 0.5) <= 5 * 0.5 / np.sqrt(spec.mask.size), (layer, density)
        codes = set(np.unique(spec.mask).tolist())
        multicoat = name == "small_cnn_codes3" and layer == "conv2/Conv"
        assert codes == ({0, 1, 2, 3} if multicoat else {0, 1}), (layer, codes)


@pytest.mark.parametrize("name", SAMPLE_MODELS)
def test_sample_gives_three_xorshift16_supermask_layers(name):
    g = import_onnx(sample_path(name))
    specs = layers(g)
    assert len(specs) == 3
    assert [s.generator for s in specs.values()] == ["xorshift16"] * 3
    assert [s.seed for s in specs.values()] == [1024, 2048, 3072]
    assert [s.shape for s in specs.values()] == [(8, 1, 3, 3), (8, 8, 3, 3), (10, 8, 1, 1)]
    assert g.notes == ()


def test_folded_and_unfolded_samples_give_the_same_layers():
    a = layers(import_onnx(sample_path("torch_export_unfolded")))
    b = layers(import_onnx(sample_path("torch_export_folded")))
    assert list(a) == list(b)
    for layer in a:
        assert a[layer].fingerprint() == b[layer].fingerprint(), layer


# -- 3. a record that differs from its initializer ---------------------------------------
def flip_sign(model: onnx.ModelProto, tensor: str, index: tuple[int, ...]) -> None:
    w = initializer(model, tensor)
    assert w[index] != 0, "flip a non-zero element"
    w[index] = -w[index]
    set_initializer(model, tensor, w)


CANONICAL_INDEX = {  # stored index -> canonical (O, I, KH, KW) index, per record layout
    "OIHW": lambda ix: ix,
    "OI": lambda ix: (ix[0], ix[1], 0, 0),
    "IO": lambda ix: (ix[1], ix[0], 0, 0),
}


@pytest.mark.parametrize("name, tensor, layout", [
    ("small_cnn", "conv2.R", "OIHW"),
    ("torch_export_folded", "onnx::Conv_32", "OIHW"),  # R ⊙ M folded by the exporter
    ("torch_export_folded", "onnx::MatMul_34", "IO"),
    ("mlp", "fc2", "IO"),  # materialised MatMul weight
    ("mlp", "fc1.R", "OI"),
])
def test_one_flipped_element_is_a_record_mismatch(name, tensor, layout):
    model = load_model(name)
    w = initializer(model, tensor)
    index = tuple(int(i) for i in np.argwhere(w != 0)[-1])  # last non-zero element
    flip_sign(model, tensor, index)
    with pytest.raises(RecordMismatchError) as e:
        import_onnx(model)
    msg = str(e.value)
    assert repr(tensor) in msg
    stored_txt, canon_txt = str(list(index)), str(list(CANONICAL_INDEX[layout](index)))
    assert re.search(re.escape(stored_txt) + r".*canonical.*" + re.escape(canon_txt), msg), msg


def test_zeroed_random_element_is_a_record_mismatch():
    """In form (a) R must equal its record everywhere: a 0 in R is not ±scale (only a
    materialised R ⊙ M may hold zeros)."""
    model = load_model("small_cnn")
    r = initializer(model, "conv2.R")
    r[1, 2, 0, 1] = 0.0
    set_initializer(model, "conv2.R", r)
    with pytest.raises(RecordMismatchError, match=r"'conv2\.R'.*\[1, 2, 0, 1\]"):
        import_onnx(model)


# -- 4. unsupported ops ----------------------------------------------------------------------
def insert_after(model: onnx.ModelProto, tensor: str, op: str, name: str) -> None:
    """Put `op` on the activation path right after `tensor` (before all its consumers)."""
    out = f"{name}_out"
    for n in model.graph.node:
        for k, i in enumerate(n.input):
            if i == tensor:
                n.input[k] = out
    at = next(k for k, n in enumerate(model.graph.node) if tensor in n.output)
    model.graph.node.insert(at + 1, helper.make_node(op, [tensor], [out], name=name))


def test_unsupported_ops_are_all_listed_before_the_checker_and_record_checks():
    model = load_model("small_cnn")
    insert_after(model, "relu1_out", "Sigmoid", "gate_sigmoid")
    insert_after(model, "relu3_out", "Tanh", "squash_tanh")
    flip_sign(model, "conv2.R", (0, 0, 0, 0))  # also a record mismatch
    onnx_node(model, "relu2").attribute.append(helper.make_attribute("bogus", 1))
    with pytest.raises(onnx.checker.ValidationError):  # also invalid for the checker
        onnx.checker.check_model(model)
    with pytest.raises(UnsupportedOpError) as e:
        import_onnx(model)
    msg = str(e.value)
    for text in ("Sigmoid", "Tanh", "gate_sigmoid", "squash_tanh", "small_cnn"):
        assert text in msg, (text, msg)


def test_checker_error_is_bad_input_naming_the_model():
    model = load_model("small_cnn")
    onnx_node(model, "relu2").attribute.append(helper.make_attribute("bogus", 1))
    with pytest.raises(BadInputError, match="small_cnn.*checker"):
        import_onnx(model)


def test_unsupported_op_inside_a_constant_subexpression_is_allowed():
    """Any op may compute a weight; only ops on activations are restricted."""
    b = ModelBuilder("const_sub", seed=1)
    r = add_record(b, "w.R", (4, 2, 1, 1), "OIHW", seed=99)
    b.init("w.logits", np.array([[[[3.0]], [[-3.0]]]] * 4, np.float32))  # (4, 2, 1, 1)
    m = b.node("Greater", [b.node("Sigmoid", ["w.logits"], "w/Sigmoid"), "w.half"], "w/Greater")
    b.init("w.half", np.array(0.5, np.float32))
    w = b.node("Mul", ["w.R", b.node("Cast", [m], "w/Cast", to=TensorProto.FLOAT)], "w/Mul")
    b.node("Conv", ["x", w], "conv")
    model = b.build([float_io("x", ["N", 2, 3, 3])], [float_io("conv_out", ["N", 4, 3, 3])])
    spec = layers(import_onnx(model))["conv"]
    expect = np.zeros((4, 2, 1, 1), np.uint8)
    expect[:, 0] = 1
    np.testing.assert_array_equal(spec.mask, expect)
    assert_bit_equal(spec.effective(), r * expect, "conv")


def test_duplicate_onnx_node_names_are_not_an_internal_error():
    """ONNX node names are for diagnostics only (the checker accepts duplicates): the front
    end must either lower the model with unique IR names or reject it as bad input naming
    the node, never fail its own IR verification (exit code 3)."""
    model = load_model("small_cnn")
    onnx_node(model, "relu3").name = "relu1"
    onnx.checker.check_model(model)
    try:
        g = import_onnx(model)
    except (BadInputError, ModelStructureError) as e:
        assert "relu1" in str(e)
    except IRVerificationError as e:
        pytest.fail(f"valid ONNX input gave an internal IR error: {e}")
    else:
        assert len({n.name for n in g.nodes}) == len(g.nodes) == 14


# -- 5. bad files ----------------------------------------------------------------------------
def test_missing_file_is_bad_input_naming_the_path(tmp_path):
    path = tmp_path / "nowhere" / "model.onnx"
    with pytest.raises(BadInputError) as e:
        import_onnx(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("content", [b"", b"this is not an onnx model\n", bytes(range(256)) * 4],
                         ids=["empty", "text", "binary"])
def test_non_onnx_file_is_bad_input_naming_the_path(tmp_path, content):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(content)
    with pytest.raises(BadInputError) as e:
        import_onnx(str(path))
    assert str(path) in str(e.value)


# -- 6. frozen positions ----------------------------------------------------------------------
FREEZE = {"seed": 77, "prune": 0.3, "lock": 0.1}


def frozen_model() -> onnx.ModelProto:
    b = ModelBuilder("frozen", seed=5)
    h = b.node("Relu", [b.conv("x", 4, 16, 3, "conv1", freeze=FREEZE)], "relu1")
    return b.build([float_io("x", ["N", 4, 6, 6])], [float_io(h, ["N", 16, 6, 6])])


def test_frozen_layer_lowers_and_carries_its_freeze():
    model = frozen_model()
    g = import_onnx(model)
    spec = layers(g)["conv1/Conv"]
    assert spec.freeze == Freeze(77, 0.3, 0.1)
    assert "freeze(seed=77, prune=0.3, lock=0.1)" in format_graph(g)
    pattern = freeze_pattern(77, 0.3, 0.1, spec.shape)
    assert 0.2 < np.mean(pattern == PRUNED) < 0.4 and 0.05 < np.mean(pattern == LOCKED) < 0.15
    assert (spec.mask[pattern == PRUNED] == 0).all() and (spec.mask[pattern == LOCKED] == 1).all()
    assert_matches_ort(model, g)


@pytest.mark.parametrize("state, code", [(PRUNED, 1), (LOCKED, 0)], ids=["pruned", "locked"])
def test_mask_breaking_its_freeze_is_a_record_mismatch(state, code):
    model = frozen_model()
    mask = initializer(model, "conv1.M")
    pattern = freeze_pattern(77, 0.3, 0.1, mask.shape)
    index = tuple(int(i) for i in np.argwhere(pattern == state)[3])
    assert mask[index] != code
    mask[index] = code
    set_initializer(model, "conv1.M", mask)
    name = "pruned" if state == PRUNED else "locked"
    with pytest.raises(RecordMismatchError) as e:
        import_onnx(model)
    msg = str(e.value)
    assert name in msg and "'conv1.R'" in msg and str(list(index)) in msg, msg


# -- 7. no record: stored weights ------------------------------------------------------------
def test_model_without_record_stores_ternary_and_dense_weights():
    model = drop_record(load_model("small_cnn_codes3"))
    g = import_onnx(model)
    specs = layers(g)
    fed = ort_layer_weights(model, list(specs))
    kinds = {name: s.kind for name, s in specs.items()}
    assert kinds == {"conv1/Conv": "stored-ternary", "conv2/Conv": "dense",  # codes 0..3
                     "fc/Gemm": "stored-ternary", "conv3/Conv": "stored-ternary"}
    for name, spec in specs.items():
        w = fed[name]
        assert not spec.regenerated and spec.generator is None and spec.seed is None
        # equal values; a stored ternary weight does not keep the sign of its zeros
        np.testing.assert_array_equal(spec.effective(), w, err_msg=name)
        if spec.kind == "dense":
            assert spec.signs is None
            assert_bit_equal(spec.dense, w, name)
            continue
        assert spec.dense is None
        np.testing.assert_array_equal(spec.sign_bits(), (w > 0).astype(np.uint8), err_msg=name)
        np.testing.assert_array_equal(spec.mask, (w != 0).astype(np.uint8), err_msg=name)
        assert np.float32(spec.scale) == np.abs(w[w != 0]).max() == np.abs(w[w != 0]).min()
    assert g.notes == (
        "no seedcc.random_weights record: all 4 layer weights are stored",
        "stored weights: 3 ternary layer(s) packed as sign+mask, 1 dense layer(s)",
    )


def test_non_ternary_weight_is_dense():
    rng = np.random.default_rng(7)
    w = rng.standard_normal((6, 5)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)], "dense",
        [float_io("x", ["N", 5])], [float_io("y", ["N", 6])], [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    g = import_onnx(model)
    spec = layers(g)["fc"]
    assert spec.kind == "dense"
    assert_bit_equal(spec.effective(), w[:, :, None, None], "fc")
    assert any("1 dense layer" in n for n in g.notes) and any("no seedcc" in n for n in g.notes)


# -- 8. constant-subexpression forms of the weight ------------------------------------------
def scalar_times_mul_model(b: ModelBuilder) -> str:
    w = b.random_weight("conv", (8, 3, 3, 3), "OIHW")
    b.nodes.append(helper.make_node("Constant", [], ["k"], name="k/Constant",
                                    value=numpy_helper.from_array(np.array(0.5, np.float32))))
    return b.node("Conv", ["x", b.node("Mul", [w, "k"], "conv/Scale")], "layer", pads=[1, 1, 1, 1])


def bool_mask_cast_model(b: ModelBuilder) -> str:
    add_record(b, "conv.R", (8, 3, 3, 3), "OIHW", seed=4242)
    b.init("conv.M", b.rng.random((8, 3, 3, 3)) < 0.5)
    m = b.node("Cast", ["conv.M"], "conv/Cast", to=TensorProto.FLOAT)
    w = b.node("Mul", ["conv.R", m], "conv/Mul")
    return b.node("Conv", ["x", w], "layer", pads=[1, 1, 1, 1])


def int_codes_cast_model(b: ModelBuilder) -> str:
    add_record(b, "conv.R", (8, 3, 3, 3), "OIHW", seed=777)
    b.init("conv.M", b.rng.integers(0, 4, (8, 3, 3, 3)).astype(np.int64))
    m = b.node("Cast", ["conv.M"], "conv/Cast", to=TensorProto.FLOAT)
    w = b.node("Mul", [m, "conv.R"], "conv/Mul")  # mask first: factor order is free
    return b.node("Conv", ["x", w], "layer", pads=[1, 1, 1, 1])


def matmul_transpose_model(b: ModelBuilder) -> str:
    flat = b.node("Flatten", ["x"], "flatten", axis=1)
    add_record(b, "fc.R", (10, 27, 1, 1), "OI", seed=3)
    b.init("fc.M", (b.rng.random((10, 27)) < 0.5).astype(np.float32))
    w = b.node("Mul", ["fc.R", "fc.M"], "fc/Mul")
    t = b.node("Transpose", [w], "fc/Transpose", perm=[1, 0])
    return b.node("MatMul", [flat, t], "layer")


def gemm_model(alpha: float) -> Callable[[ModelBuilder], str]:
    """Gemm(x, Mul(R, M)) with transB=0: the weight is (I, O), R recorded with layout IO."""
    def build(b: ModelBuilder) -> str:
        flat = b.node("Flatten", ["x"], "flatten", axis=1)
        add_record(b, "fc.R", (10, 27, 1, 1), "IO", seed=5)
        b.init("fc.M", (b.rng.random((27, 10)) < 0.5).astype(np.float32))
        return b.node("Gemm", [flat, b.node("Mul", ["fc.R", "fc.M"], "fc/Mul")], "layer",
                      alpha=alpha)
    return build


FORMS = {  # builder, output shape, the mask initializer and its layout, multiplier
    "scalar_constant": (scalar_times_mul_model, ["N", 8, 3, 3], "conv.M", "OIHW", 0.5),
    "cast_bool_mask": (bool_mask_cast_model, ["N", 8, 3, 3], "conv.M", "OIHW", 1.0),
    "cast_int_codes": (int_codes_cast_model, ["N", 8, 3, 3], "conv.M", "OIHW", 1.0),
    "matmul_transpose_mul": (matmul_transpose_model, ["N", 10], "fc.M", "OI", 1.0),
    "gemm_transB0": (gemm_model(1.0), ["N", 10], "fc.M", "IO", 1.0),
    "gemm_alpha": (gemm_model(0.5), ["N", 10], "fc.M", "IO", 0.5),  # alpha is a scalar factor
}


@pytest.mark.parametrize("form", FORMS)
def test_weight_subexpression_forms(form):
    build, out_shape, mask_name, layout, multiplier = FORMS[form]
    b = ModelBuilder(form, seed=11)
    out = build(b)
    model = b.build([float_io("x", ["N", 3, 3, 3])], [float_io(out, out_shape)])
    g = import_onnx(model)
    spec = layers(g)["layer"]
    drawn = initializer(model, mask_name).astype(np.uint8)
    if layout == "OI":
        drawn = drawn[:, :, None, None]
    elif layout == "IO":
        drawn = np.ascontiguousarray(drawn.T)[:, :, None, None]
    np.testing.assert_array_equal(spec.mask, drawn)
    assert spec.record == mask_name.replace(".M", ".R") and spec.multiplier == multiplier
    assert spec.generator == "xorshift16" and spec.regenerated
    assert_matches_ort(model, g)
