"""Graph networks: the front end's GCN forms and errors, the sparse adjacency's storage and
chunks, and the trained karate-club model (accuracy in float and int8, RTL).

The exporter forms themselves (both torch exporters, both associations of a layer) run
through every backend in the corpus (tests/corpus.py, `gcn_*` cases).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import pytest
from conftest import sample_path
from onnx import TensorProto, helper, numpy_helper

from seedcc.backends import refsim
from seedcc.backends.program import to_bytes
from seedcc.backends.rtlrun import run_on_rtl
from seedcc.cli import main as cli_main
from seedcc.compiler.frontend import import_onnx
from seedcc.errors import ModelStructureError, UnsupportedOpError
from seedcc.flow import compile_model
from seedcc.golden import ort_run
from seedcc.graphs import karate_club, normalized_adjacency, planted_partition
from seedcc.ir.ops.conv import node_grid
from seedcc.rtl_models.adjacency import chunk_bytes
from seedcc.rtl_models.hwconfig import SMALL


def ternary(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return (rng.choice([-0.5, 0.5], shape) * (rng.random(shape) < 0.6)).astype(np.float32)


def gcn_model(adj: np.ndarray, features: int = 6, hidden: int = 5, classes: int = 3, seed: int = 0,
              adjacency_input: bool = False, extra: list[onnx.NodeProto] | None = None,
              out_shape: list[int] | None = None) -> onnx.ModelProto:
    """x (1, nodes, features) -> relu(Â @ (x @ W1) + b) -> Â @ (h @ W2): two GCN layers with
    stored ternary weights (no record), written with onnx.helper. `adjacency_input` makes Â
    a graph input instead of an initializer; `extra` nodes run on the output `y` -> `z`."""
    rng = np.random.default_rng(seed)
    n = adj.shape[0]
    inits = [numpy_helper.from_array(ternary(rng, (features, hidden)), "W1"),
             numpy_helper.from_array(ternary(rng, (hidden, classes)), "W2"),
             numpy_helper.from_array(rng.normal(0, 0.2, hidden).astype(np.float32), "b1")]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n, features])]
    if adjacency_input:
        inputs.append(helper.make_tensor_value_info("A", TensorProto.FLOAT, [n, n]))
    else:
        inits.append(numpy_helper.from_array(adj.astype(np.float32), "A"))
    nodes = [helper.make_node("MatMul", ["x", "W1"], ["xw"], name="lin1"),
             helper.make_node("MatMul", ["A", "xw"], ["ax"], name="agg1"),
             helper.make_node("Add", ["ax", "b1"], ["axb"], name="bias1"),
             helper.make_node("Relu", ["axb"], ["h"], name="relu1"),
             helper.make_node("MatMul", ["h", "W2"], ["hw"], name="lin2"),
             helper.make_node("MatMul", ["A", "hw"], ["y"], name="agg2"), *(extra or [])]
    out = "z" if extra else "y"
    shape = out_shape or [1, n, classes]
    graph = helper.make_graph(nodes, "gcn", inputs, [helper.make_tensor_value_info(out, TensorProto.FLOAT, shape)],
                              initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def random_graph(n: int, p: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    edges = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < p]
    return normalized_adjacency(edges, n)


# -- front end ------------------------------------------------------------------------------
def test_adjacency_that_is_not_constant_is_one_line_naming_it(tmp_path, capsys) -> None:
    model = gcn_model(random_graph(8, 0.3, 0), adjacency_input=True)
    with pytest.raises(ModelStructureError) as err:
        import_onnx(model)
    msg = str(err.value)
    assert "\n" not in msg and "node agg1" in msg and "'A'" in msg and "constant initializer" in msg
    path = tmp_path / "gcn.onnx"
    onnx.save(model, path)
    assert cli_main(["compile", str(path), "-o", str(tmp_path / "gcn.sdc")]) == 2
    err_text = capsys.readouterr().err.strip()
    assert len(err_text.splitlines()) == 1 and "agg1" in err_text and "Traceback" not in err_text
    assert not (tmp_path / "gcn.sdc").exists()


def test_graph_ops_outside_the_set_are_rejected_all_at_once() -> None:
    """Message passing written with Gather/ScatterElements (PyG's export) instead of Â."""
    extra = [helper.make_node("Gather", ["y", "idx"], ["g"], name="gather_src", axis=1),
             helper.make_node("ScatterElements", ["g", "idx2", "g"], ["z"], name="scatter_dst", axis=1)]
    model = gcn_model(random_graph(8, 0.3, 0), extra=extra, out_shape=[1, 2, 3])
    model.graph.initializer.extend([numpy_helper.from_array(np.array([0, 1], np.int64), "idx"),
                                    numpy_helper.from_array(np.zeros((1, 2, 3), np.int64), "idx2")])
    with pytest.raises(UnsupportedOpError) as err:
        import_onnx(model)
    msg = str(err.value)
    assert "\n" not in msg
    assert "Gather (node gather_src)" in msg and "ScatterElements (node scatter_dst)" in msg


def test_a_transpose_that_is_not_the_feature_swap_is_named() -> None:
    extra = [helper.make_node("Transpose", ["y"], ["z"], name="tr", perm=[1, 0, 2])]
    with pytest.raises(ModelStructureError, match=r"node tr: Transpose with perm \[1, 0, 2\]"):
        import_onnx(gcn_model(random_graph(8, 0.3, 0), extra=extra, out_shape=[8, 1, 3]))


def test_a_swapped_activation_into_a_layer_is_named() -> None:
    """(1, features, nodes) may only meet BatchNorm/Relu/Add and a Transpose back."""
    model = gcn_model(random_graph(8, 0.3, 0), classes=3)
    model.graph.node.extend([helper.make_node("Transpose", ["y"], ["yt"], name="tr", perm=[0, 2, 1]),
                             helper.make_node("MatMul", ["yt", "W3"], ["z"], name="lin3")])
    model.graph.initializer.append(numpy_helper.from_array(np.ones((8, 2), np.float32), "W3"))
    model.graph.output.pop()
    model.graph.output.append(helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 3, 2]))
    with pytest.raises(ModelStructureError, match=r"node lin3 \(conv\) reads .*transpose of a graph activation"):
        import_onnx(model)


def test_views_and_batchnorm_that_would_misread_the_layout_are_named() -> None:
    """Rank-2 activations are feature-major: a Flatten would need row-major bytes, and an
    ONNX BatchNormalization on (1, N, F) normalises the nodes, not the features."""
    flat = [helper.make_node("Flatten", ["y"], ["z"], name="flat", axis=1)]
    with pytest.raises(ModelStructureError, match=r"node flat: Flatten of the \(1, 8, 3\) activation"):
        import_onnx(gcn_model(random_graph(8, 0.3, 0), extra=flat, out_shape=[1, 24]))
    bn = [helper.make_node("BatchNormalization", ["y", "g", "b", "mu", "v"], ["z"], name="bn_nodes")]
    model = gcn_model(random_graph(8, 0.3, 0), extra=bn, out_shape=[1, 8, 3])
    model.graph.initializer.extend(numpy_helper.from_array(np.ones(8, np.float32), k) for k in ("g", "b", "mu", "v"))
    with pytest.raises(ModelStructureError, match=r"node bn_nodes: .* normalises its node axis"):
        import_onnx(model)


# -- float and int8 on a graph with signed weights, an isolated node, several chunks ----------
def test_float_matches_onnxruntime_and_chunks_change_no_bit() -> None:
    adj = random_graph(40, 0.15, 1)
    adj[5] *= -1.5  # signed, unnormalised entries are fine too
    adj[7] = 0  # a node that aggregates nothing
    model = gcn_model(adj)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 1, 40, 6)).astype(np.float32).reshape(4, 40, 6)
    calib = {"x": rng.standard_normal((16, 40, 6)).astype(np.float32)}
    want = ort_run(model, {"x": x})["y"]
    one = compile_model(model, calib=calib, config=SMALL).program
    got = refsim.run(one, {"x": x}, mode="float").outputs["y"]
    assert np.max(np.abs(got - want)) <= 1e-5 * np.max(np.abs(want))
    # a 640-byte mask SRAM: half of it per chunk, so Â (about 1 KB) is cut into several
    tiny = dataclasses.replace(SMALL, mask_sram_bytes=640)
    many = compile_model(model, calib=calib, config=tiny).program
    assert [g.chunks for g in one.manifest.graphs] == [1, 1]
    assert min(g.chunks for g in many.manifest.graphs) >= 3
    q = {"x": np.clip(np.rint(x / one.manifest.inputs[0].scale), -128, 127).astype(np.int8)}
    a, b = refsim.run_int(one, q), refsim.run_int(many, q)
    np.testing.assert_array_equal(a.outputs["y"], b.outputs["y"])
    np.testing.assert_allclose(refsim.run(many, {"x": x}, mode="float").outputs["y"], got, rtol=0, atol=1e-6)


def test_adjacency_is_stored_in_o_nnz_bytes() -> None:
    """A 2,000-node planted partition graph: Â in the image as CSR (2 bytes a row, 4 an
    entry), nowhere as nodes² bytes; the same Â of both layers stored once."""
    task = planted_partition(2000, blocks=4, features=6, seed=0)
    nnz = int(np.count_nonzero(task.adj))
    prog = compile_model(gcn_model(task.adj), calib={"x": task.x}).program
    g = prog.manifest.graphs
    assert [x.nnz for x in g] == [nnz, nnz] and g[0].fingerprint == g[1].fingerprint
    assert g[0].stored_bytes == chunk_bytes(2000, nnz) == 4000 + 4 * nnz
    assert len(prog.image) < 2 * g[0].stored_bytes < 2000 * 2000 // 10


def test_programs_are_deterministic() -> None:
    model = onnx.load(sample_path("gcn_torchscript_a_hw"))
    a = compile_model(model, config=SMALL).program
    b = compile_model(onnx.load(sample_path("gcn_torchscript_a_hw")), config=SMALL).program
    assert to_bytes(a) == to_bytes(b)


# -- the trained karate-club model ------------------------------------------------------------
@pytest.fixture(scope="module")
def karate() -> tuple[object, object]:
    task = karate_club(labelled_per_club=3)
    model = onnx.load(sample_path("gcn_karate_trained"))
    return task, compile_model(model, calib={"x": task.x}, config=SMALL).program


def test_karate_int8_test_accuracy_within_a_point_of_float(karate) -> None:
    task, prog = karate
    acc = {}
    for mode in ("float", "int8"):
        logits = refsim.run(prog, {"x": task.x}, mode=mode).outputs["logits"][0]
        acc[mode] = float(np.mean(np.argmax(logits[task.test], 1) == task.y[task.test]))
    ort = ort_run(onnx.load(sample_path("gcn_karate_trained")), {"x": task.x})["logits"][0]
    assert acc["float"] == float(np.mean(np.argmax(ort[task.test], 1) == task.y[task.test]))
    assert acc["float"] >= 0.85, acc  # 3 labelled members per club; 28 test members
    assert acc["int8"] >= acc["float"] - 0.01, acc


def test_karate_folds_into_one_loop_with_the_adjacency_resident(karate) -> None:
    _, prog = karate
    ops = [i.op for i in prog.instructions]
    assert ops.count("LOOP") == 1
    loop = prog.instructions[ops.index("LOOP")]
    body = prog.instructions[ops.index("LOOP") + 1:ops.index("LOOP") + 1 + loop.body_len]
    assert loop.iterations == 2 and "AGG" in [i.op for i in body]
    assert not [i for i in body if i.op == "DMA_LOAD" and i.space == 1], "mask/adjacency DMA in the body"


@pytest.mark.rtl
def test_karate_on_rtl_is_bit_and_cycle_exact(karate, tmp_path) -> None:
    task, prog = karate
    outcome = run_on_rtl(prog, {"x": task.x}, work_dir=tmp_path)
    assert outcome.ok, outcome.summary
    assert outcome.cycles == [refsim.run(prog, {"x": task.x}).cycles]


def test_more_nodes_than_a_mac_row_run_as_a_grid() -> None:
    """4,098 nodes (a ring): the 1x1 layers run on a 2 x 2,049 pixel grid (MAC's rows hold
    4,095 pixels), the aggregation on the node axis directly; float within 1e-5 of ORT."""
    n = 4098
    assert node_grid(n) == (2, 2049) and node_grid(4095) == (1, 4095)
    model = gcn_model(normalized_adjacency([(i, (i + 1) % n) for i in range(n)], n))
    x = np.random.default_rng(3).standard_normal((1, n, 6)).astype(np.float32)
    prog = compile_model(model, calib={"x": x}).program
    assert {i.in_w for i in prog.instructions if i.op == "MAC"} == {2049}
    want = ort_run(model, {"x": x})["y"]
    got = refsim.run(prog, {"x": x}, mode="float").outputs["y"]
    assert np.max(np.abs(got - want)) <= 1e-5 * np.max(np.abs(want))
