"""Small training helpers for the examples and tests: the scikit-learn digits data set
(ships with scikit-learn, no download) and an edge-popup training loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from seedcc.api import VerifyReport, run
from seedcc.api import compile as seedcc_compile
from seedcc.api import verify as seedcc_verify
from seedcc.backends.program import Program
from seedcc.backends.refsim import RunResult
from seedcc.golden import ort_run
from seedcc.graphs import NodeTask
from seedcc.report import attention_lines, fold_lines, graph_lines  # noqa: F401  (graph_lines: the examples')
from seedcc.rtl_models.hwconfig import SMALL, HwConfig
from seedcc.sizes import size_breakdown


@dataclass(frozen=True)
class Split:
    """Float32 images (N, 1, 8, 8) scaled to zero mean and unit variance, int64 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def digits(test_fraction: float = 0.2, seed: int = 0) -> Split:
    """sklearn's 8x8 handwritten digits (1,797 images, 10 classes), split into a training set
    and a held-out test set (stratified, seeded)."""
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0 - 0.3) / 0.4  # roughly zero mean, unit variance
    x_tr, x_te, y_tr, y_te = train_test_split(x[:, None], d.target.astype(np.int64), test_size=test_fraction,
                                              random_state=seed, stratify=d.target)
    return Split(*(np.ascontiguousarray(a) for a in (x_tr, y_tr, x_te, y_te)))


def fit(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int = 20, lr: float = 0.1,
        batch: int = 64, seed: int = 0, log: Callable[[str], None] | None = None) -> nn.Module:
    """Train the scores (and BatchNorm/bias parameters) with SGD, momentum 0.9, cosine decay."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=5e-5)
    steps = epochs * -(-len(x) // batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1))
    model.train()
    t0 = time.perf_counter()
    for epoch in range(epochs):
        order = torch.from_numpy(rng.permutation(len(x)))
        total = 0.0
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        if log is not None and (epoch + 1) % max(1, epochs // 5) == 0:
            log(f"epoch {epoch + 1}/{epochs}: loss {total / len(x):.3f} ({time.perf_counter() - t0:.1f} s)")
    return model.eval()


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, axis=1) == y))


def predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def held_out(net: nn.Module, onnx_path: str, data: Split, config: HwConfig = SMALL,
             calib_samples: int = 256) -> tuple[dict[str, float], Program]:
    """Compile `onnx_path` (calibrated on training samples) and measure held-out accuracy of
    torch, onnxruntime, seedcc float and seedcc int8 on the same inputs."""
    program = seedcc_compile(onnx_path, calib={"x": data.x_train[:calib_samples]}, config=config)
    x, y = data.x_test, data.y_test
    acc = {"torch": accuracy(predict(net, x), y),
           "onnxruntime": accuracy(ort_run(onnx_path, {"x": x})["logits"], y),
           "seedcc float": accuracy(run(program, x, mode="float").outputs["logits"], y),
           "seedcc int8": accuracy(run(program, x, mode="int8").outputs["logits"], y)}
    return acc, program


def verify_held_out(onnx_path: str, data: Split, config: HwConfig = SMALL, samples: int = 100,
                    rtl_samples: int = 2, calib_samples: int = 256) -> VerifyReport:
    """`seedcc verify` with the RTL on held-out samples, calibrated like `held_out`."""
    return seedcc_verify(onnx_path, inputs={"x": data.x_test[:samples]},
                         calib={"x": data.x_train[:calib_samples]}, config=config, rtl=True,
                         rtl_samples=rtl_samples)


def size_lines(program: Program) -> list[str]:
    """The size-against-fp32, fold-group and (for a transformer) attention lines of
    `seedcc report` (no run needed)."""
    return [*size_breakdown(program.manifest).format().splitlines(), *fold_lines(program.manifest.layers),
            *attention_lines(program)]


# -- graph networks: semi-supervised node classification on one graph ----------------------
def fit_nodes(model: nn.Module, x: np.ndarray, y: np.ndarray, train_idx: np.ndarray, epochs: int = 200,
              lr: float = 0.01, seed: int = 0, log: Callable[[str], None] | None = None) -> nn.Module:
    """Full-batch training on one graph: x (1, nodes, features), labels y (nodes,); the loss
    sees only the nodes in `train_idx` (the labelled ones). Adam on the scores, BatchNorm
    and biases, cosine decay."""
    torch.manual_seed(seed)
    xt, yt, idx = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(np.asarray(train_idx))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(epochs, 1))
    model.train()
    for epoch in range(epochs):
        loss = F.cross_entropy(model(xt)[0, idx], yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if log is not None and (epoch + 1) % max(1, epochs // 5) == 0:
            log(f"epoch {epoch + 1}/{epochs}: loss {float(loss.detach()):.3f}")
    return model.eval()


def held_out_nodes(net: nn.Module, onnx_path: str, task: NodeTask, config: HwConfig = SMALL
                   ) -> tuple[dict[str, float], Program, RunResult, float]:
    """Compile `onnx_path` (calibrated on the graph's own features) and measure the accuracy
    of torch, onnxruntime, seedcc float and seedcc int8 on the test (unlabelled) nodes.
    Returns the accuracies, the program, the int8 run and the compile time in seconds."""
    t0 = time.perf_counter()
    program = seedcc_compile(onnx_path, calib={"x": task.x}, config=config)
    seconds = time.perf_counter() - t0
    net.eval()
    with torch.no_grad():
        acc = {"torch": node_accuracy(net(torch.from_numpy(task.x)).numpy(), task.y, task.test),
               "onnxruntime": node_accuracy(ort_run(onnx_path, {"x": task.x})["logits"], task.y, task.test)}
    runs = {mode: run(program, task.x, mode=mode) for mode in ("float", "int8")}
    acc.update({f"seedcc {m}": node_accuracy(r.outputs["logits"], task.y, task.test) for m, r in runs.items()})
    return acc, program, runs["int8"], seconds


def node_accuracy(logits: np.ndarray, y: np.ndarray, idx: np.ndarray) -> float:
    """Accuracy over the nodes `idx` of logits (1, nodes, classes) or (nodes, classes)."""
    z = np.asarray(logits).reshape(-1, np.asarray(logits).shape[-1])
    return float(np.mean(np.argmax(z[idx], axis=1) == y[idx]))
