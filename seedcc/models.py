"""Builders of small supermask ONNX models, written with onnx.helper alone.

They follow DESIGN.md §3: random weights are ±scale float initializers regenerated from
a `seedcc.random_weights` record, masks are separate initializers (form (a), Mul(R, M))
or already multiplied in (form (b)). Used by the tests, the examples and the benchmarks.
Masks are drawn from a seeded numpy generator, so every build is identical.
"""

from __future__ import annotations

import json
import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from seedcc.compiler.records import RECORD_KEY, from_canonical
from seedcc.golden import ort_run
from seedcc.rtl_models.generators import freeze_pattern, random_weights

OPSET = 17


class ModelBuilder:
    """Accumulates nodes, initializers and the random-weight record of one model."""

    def __init__(self, name: str, seed: int = 0, generator: str = "xorshift16"):
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.records: dict[str, dict] = {}
        self.rng = np.random.default_rng(seed)
        self.generator = generator
        self._seed = 1024
        self._n = 0

    def fresh(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}_{self._n}"

    def init(self, name: str, array: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], name: str, **attrs) -> str:
        out = f"{name}_out"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out

    def random_weight(self, name: str, canon_shape: tuple[int, int, int, int], layout: str,
                      density: float = 0.5, codes: int = 1, materialise: bool = False,
                      freeze: dict | None = None) -> str:
        """A supermask weight in `layout`; returns the tensor the layer should consume."""
        fan_in = canon_shape[1] * canon_shape[2] * canon_shape[3]
        scale = float(np.float32(math.sqrt(2.0 / fan_in)))
        seed = self._seed
        self._seed += 1024
        r = random_weights(self.generator, seed, canon_shape, scale)
        mask = (self.rng.random(canon_shape) < density).astype(np.float32)
        if codes > 1:
            mask *= self.rng.integers(1, codes + 1, size=canon_shape).astype(np.float32)
        if freeze is not None:
            pattern = freeze_pattern(freeze["seed"], freeze.get("prune", 0.0), freeze.get("lock", 0.0),
                                     canon_shape)
            mask = np.where(pattern == 0, 0, np.where(pattern == 1, np.maximum(mask, 1), mask))
        record = {"generator": self.generator, "seed": seed, "scale": scale, "layout": layout}
        if freeze is not None:
            record["freeze"] = freeze
        if materialise:  # form (b): the record sits on R ⊙ M
            self.records[name] = record
            return self.init(name, from_canonical(r * mask, layout).astype(np.float32))
        self.records[f"{name}.R"] = record
        r_name = self.init(f"{name}.R", from_canonical(r, layout))
        m_name = self.init(f"{name}.M", from_canonical(mask, layout))
        return self.node("Mul", [r_name, m_name], f"{name}/Mul")

    def batchnorm(self, x: str, channels: int, name: str) -> str:
        g = self.rng.uniform(0.5, 1.5, channels).astype(np.float32)
        b = self.rng.uniform(-0.2, 0.2, channels).astype(np.float32)
        m = self.rng.uniform(-0.2, 0.2, channels).astype(np.float32)
        v = self.rng.uniform(0.5, 2.0, channels).astype(np.float32)
        ins = [self.init(f"{name}.{k}", a) for k, a in
               (("gamma", g), ("beta", b), ("mean", m), ("var", v))]
        return self.node("BatchNormalization", [x, *ins], name, epsilon=1e-5)

    def conv(self, x: str, cin: int, cout: int, k: int, name: str, stride: int = 1,
             pad: int | None = None, **weight_kw) -> str:
        w = self.random_weight(name, (cout, cin, k, k), "OIHW", **weight_kw)
        p = k // 2 if pad is None else pad
        return self.node("Conv", [x, w], f"{name}/Conv", kernel_shape=[k, k],
                         strides=[stride, stride], pads=[p, p, p, p])

    def build(self, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto],
              settle: bool = True) -> onnx.ModelProto:
        """The model; with `settle`, BatchNorm statistics are measured (`settle_batchnorm`)."""
        graph = helper.make_graph(self.nodes, self.name, inputs, outputs, initializer=self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="seedcc.models")
        model.ir_version = 8
        helper.set_model_props(model, {RECORD_KEY: json.dumps({"version": 1, "tensors": self.records},
                                                              sort_keys=True)})
        onnx.checker.check_model(model)
        return settle_batchnorm(model) if settle else model


def settle_batchnorm(model: onnx.ModelProto, samples: int = 64, seed: int = 12345) -> onnx.ModelProto:
    """Set every BatchNormalization's running mean and variance to the statistics of its
    input on N(0, 1) model inputs, layer by layer, as training would leave them; with
    arbitrary running statistics a random network's outputs collapse onto one class."""

    rng = np.random.default_rng(seed)
    feeds = {}
    for vi in model.graph.input:
        dims = [d.dim_value if d.HasField("dim_value") else samples for d in vi.type.tensor_type.shape.dim]
        feeds[vi.name] = rng.standard_normal(dims).astype(np.float32)
    inits = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "BatchNormalization":
            continue
        pre = ort_run(model, feeds, [node.input[0]])[node.input[0]]
        axes = (0, *range(2, pre.ndim))
        for name, stat in ((node.input[3], pre.mean(axes)), (node.input[4], pre.var(axes))):
            inits[name].CopyFrom(numpy_helper.from_array(stat.astype(np.float32), name))
    return model


def mlp(features: int = 64, hidden: int = 48, classes: int = 10, seed: int = 0) -> onnx.ModelProto:
    """x[N, features] -> Gemm(R⊙M, transB=1) + BN + ReLU -> MatMul(materialised R⊙M) + ReLU
    -> Gemm with bias -> logits[N, classes]."""
    b = ModelBuilder("mlp", seed)
    w1 = b.random_weight("fc1", (hidden, features, 1, 1), "OI")
    h = b.node("Gemm", ["x", w1], "fc1/Gemm", transB=1)
    h = b.node("Relu", [b.batchnorm(h, hidden, "bn1")], "relu1")
    w2 = b.random_weight("fc2", (hidden, hidden, 1, 1), "IO", materialise=True)
    h = b.node("Relu", [b.node("MatMul", [h, w2], "fc2/MatMul")], "relu2")
    w3 = b.random_weight("fc3", (classes, hidden, 1, 1), "OI")
    bias = b.init("fc3.bias", b.rng.uniform(-0.1, 0.1, classes).astype(np.float32))
    b.nodes.append(helper.make_node("Gemm", [h, w3, bias], ["logits"], name="fc3/Gemm", transB=1))
    return b.build([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", features])],
                   [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])])


def _nth_freeze(freeze: dict | None, k: int) -> dict | None:
    """Layer k's freeze record: the model's, with its own draw (seed + k)."""
    return None if freeze is None else {**freeze, "seed": freeze["seed"] + k}


def small_cnn(channels: int = 16, size: int = 16, classes: int = 10, codes: int = 1,
              seed: int = 0, freeze: dict | None = None) -> onnx.ModelProto:
    """x[N, 3, size, size] -> conv3x3+BN+ReLU -> [conv3x3+BN, + residual, ReLU] -> MaxPool 2
    -> conv3x3 stride 2 + BN + ReLU -> GlobalAveragePool -> Flatten -> Gemm -> logits.
    `codes` > 1 gives the residual block's conv a multicoat mask with codes 0..codes;
    `freeze` ({"seed", "prune", "lock"}) partially freezes every layer (seed + layer index)."""
    b = ModelBuilder("small_cnn", seed)
    c = channels
    h = b.node("Relu", [b.batchnorm(b.conv("x", 3, c, 3, "conv1", freeze=_nth_freeze(freeze, 0)), c, "bn1")],
               "relu1")
    t = b.batchnorm(b.conv(h, c, c, 3, "conv2", codes=codes, freeze=_nth_freeze(freeze, 1)), c, "bn2")
    h = b.node("Relu", [b.node("Add", [t, h], "res_add")], "relu2")
    h = b.node("MaxPool", [h], "pool", kernel_shape=[2, 2], strides=[2, 2])
    h = b.node("Relu", [b.batchnorm(b.conv(h, c, 2 * c, 3, "conv3", stride=2, freeze=_nth_freeze(freeze, 2)),
                                    2 * c, "bn3")], "relu3")
    h = b.node("Flatten", [b.node("GlobalAveragePool", [h], "gap")], "flatten", axis=1)
    w = b.random_weight("fc", (classes, 2 * c, 1, 1), "OI", freeze=_nth_freeze(freeze, 3))
    bias = b.init("fc.bias", b.rng.uniform(-0.1, 0.1, classes).astype(np.float32))
    b.nodes.append(helper.make_node("Gemm", [h, w, bias], ["logits"], name="fc/Gemm", transB=1))
    return b.build([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, size, size])],
                   [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])])


def resnet18(size: int = 32, classes: int = 10, width: int = 64, seed: int = 0,
             stem: str = "cifar") -> onnx.ModelProto:
    """A ResNet-18-sized supermask CNN (CIFAR layout: 3x3 stem, four stages of two basic
    blocks, 1x1 stride-2 shortcuts, global average pool, linear): 11.2M random weights at
    width 64. `stem="imagenet"` gives the ImageNet stem instead: 7x7 stride-2 conv, then a
    3x3 stride-2 max pool (at 224x224 its conv output is 64x112x112). Weights are stored materialised (form (b)) to keep the file small. A model for
    speed measurements: its BatchNorm statistics are drawn, not measured (measuring them
    takes a session per layer)."""
    b = ModelBuilder("resnet18", seed)

    def conv_bn(x: str, cin: int, cout: int, k: int, name: str, stride: int = 1) -> str:
        return b.batchnorm(b.conv(x, cin, cout, k, name, stride=stride, materialise=True), cout, f"{name}.bn")

    if stem not in ("cifar", "imagenet"):
        raise ValueError(f"stem {stem!r}: choose 'cifar' or 'imagenet'")
    if stem == "cifar":
        h = b.node("Relu", [conv_bn("x", 3, width, 3, "stem")], "stem.relu")
    else:
        h = b.node("Relu", [conv_bn("x", 3, width, 7, "stem", stride=2)], "stem.relu")
        h = b.node("MaxPool", [h], "stem.pool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = width
    for stage, mult in enumerate((1, 2, 4, 8)):
        cout = width * mult
        for blk in range(2):
            stride = 2 if stage > 0 and blk == 0 else 1
            name = f"layer{stage + 1}.{blk}"
            t = b.node("Relu", [conv_bn(h, cin, cout, 3, f"{name}.conv1", stride)], f"{name}.relu1")
            t = conv_bn(t, cout, cout, 3, f"{name}.conv2")
            short = conv_bn(h, cin, cout, 1, f"{name}.down", stride) if stride != 1 or cin != cout else h
            h = b.node("Relu", [b.node("Add", [t, short], f"{name}.add")], f"{name}.relu2")
            cin = cout
    h = b.node("Flatten", [b.node("GlobalAveragePool", [h], "gap")], "flatten", axis=1)
    w = b.random_weight("fc", (classes, cin, 1, 1), "OI", materialise=True)
    bias = b.init("fc.bias", np.zeros(classes, np.float32))
    b.nodes.append(helper.make_node("Gemm", [h, w, bias], ["logits"], name="fc/Gemm", transB=1))
    return b.build([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, size, size])],
                   [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])],
                   settle=False)


def hidden_fold_cnn(channels: int = 16, size: int = 16, iterations: int = 3, classes: int = 10,
                    seed: int = 0, codes: int = 1, freeze: dict | None = None,
                    stages: int = 1) -> onnx.ModelProto:
    """A hidden-fold residual CNN, unrolled as exporters write it: a stem conv, then one
    residual block (two 3x3 convs) applied `iterations` times with the *same* random
    weights and masks (one Mul(R, M) per conv, consumed by every iteration) and its own
    BatchNorm per iteration, then GlobalAveragePool and a linear layer. `codes` > 1 gives
    the block's convs multicoat masks with codes 0..codes; `freeze` partially freezes every
    layer (seed + layer index), the shared block's masks included. `stages` > 1 adds
    stages, each a stride-2 conv doubling the channels and its own folded block (a
    hidden-fold ResNet folds every stage)."""
    b = ModelBuilder("hidden_fold_cnn", seed)
    c = channels
    h = b.node("Relu", [b.batchnorm(b.conv("x", 3, c, 3, "stem", freeze=_nth_freeze(freeze, 0)), c, "stem.bn")],
               "stem.relu")

    def conv(x: str, w: str, name: str) -> str:
        return b.node("Conv", [x, w], name, kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])

    for stage in range(stages):
        pre = "" if stage == 0 else f"stage{stage}."
        if stage:
            h = b.node("Relu", [b.batchnorm(b.conv(h, c, 2 * c, 3, f"{pre}down", stride=2,
                                                   freeze=_nth_freeze(freeze, 10 * stage)),
                                            2 * c, f"{pre}down.bn")], f"{pre}down.relu")
            c *= 2
        w1 = b.random_weight(f"{pre}fold.conv1", (c, c, 3, 3), "OIHW", codes=codes,
                             freeze=_nth_freeze(freeze, 10 * stage + 1))
        w2 = b.random_weight(f"{pre}fold.conv2", (c, c, 3, 3), "OIHW", codes=codes,
                             freeze=_nth_freeze(freeze, 10 * stage + 2))
        for it in range(iterations):
            t = b.node("Relu", [b.batchnorm(conv(h, w1, f"{pre}iter{it}.conv1"), c, f"{pre}iter{it}.bn1")],
                       f"{pre}iter{it}.relu1")
            t = b.batchnorm(conv(t, w2, f"{pre}iter{it}.conv2"), c, f"{pre}iter{it}.bn2")
            h = b.node("Relu", [b.node("Add", [t, h], f"{pre}iter{it}.add")], f"{pre}iter{it}.relu2")
    h = b.node("Flatten", [b.node("GlobalAveragePool", [h], "gap")], "flatten", axis=1)
    w = b.random_weight("fc", (classes, c, 1, 1), "OI", freeze=_nth_freeze(freeze, 3))
    bias = b.init("fc.bias", b.rng.uniform(-0.1, 0.1, classes).astype(np.float32))
    b.nodes.append(helper.make_node("Gemm", [h, w, bias], ["logits"], name="fc/Gemm", transB=1))
    return b.build([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, size, size])],
                   [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])])
