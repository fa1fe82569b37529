"""`export`: a trained supermask model -> an ONNX model that follows DESIGN.md §3.

Either torch exporter at its default settings: the TorchScript exporter (`dynamo=False`,
constant folding on: the masked weight is materialised under a name like
`onnx::Conv_31`) or the dynamo exporter (`dynamo=True`, its optimiser on: BatchNorm folded
into the conv weight, global pools written as ReduceMean). The batch axis is symbolic.
After export each layer's random tensor is found by value (`compiler/annotate.py`) and the
`seedcc.random_weights` record is written; the file is then checked with onnxruntime
against the torch module and with seedcc's own front end.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import warnings
from collections.abc import Iterator

import numpy as np
import onnx
import torch
from torch import nn

from seedcc.compiler.annotate import SPEC_VERSION, LayerSpec, annotate
from seedcc.compiler.frontend import import_onnx
from seedcc.compiler.onnx_load import DYNAMIC_OPS, split_constant
from seedcc.errors import ModelStructureError, SeedccError, UnsupportedOpError
from seedcc.files import atomic_write
from seedcc.golden import ort_run
from seedcc.ir import Graph
from seedcc.torch.layers import supermask_layers

#: leaf modules seedcc compiles (dense nn.Linear/nn.Conv2d compile to a note, and are then
#: rejected by code generation: the accelerator has no dense weights)
SUPPORTED_MODULES = ("SupermaskLinear", "SupermaskConv2d", "BatchNorm1d", "BatchNorm2d", "ReLU",
                     "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Flatten", "Identity", "Dropout",
                     "Linear", "Conv2d", "LayerNorm", "GELU", "Softmax")
EXPORT_RTOL = 1e-4  # onnxruntime vs torch on the example input (float32 reassociation)


class ExportError(SeedccError):
    """The model cannot be exported to a model seedcc compiles."""


def layer_specs(model: nn.Module) -> list[LayerSpec]:
    """Every supermask layer's (generator, seed, scale, shape, freeze), by module path."""
    return [LayerSpec(path or "<model>", m.generator, m.seed, m.scale, m.canon_shape, m.freeze)
            for path, m in supermask_layers(model).items()]


def save_layer_specs(model: nn.Module, path: str | os.PathLike) -> str:
    """Write the layer spec file `seedcc annotate --layers` reads (compiler/annotate.py)."""
    doc = {"version": SPEC_VERSION, "layers": {
        s.name: {"generator": s.generator, "seed": s.seed, "scale": s.scale, "shape": list(s.shape),
                 **({"freeze": s.freeze} if s.freeze is not None else {})} for s in layer_specs(model)}}
    data = json.dumps(doc, indent=1).encode()
    atomic_write(path, lambda f: f.write(data))
    return os.fspath(path)


def check_modules(model: nn.Module) -> None:
    """Reject leaf modules seedcc has no op for, naming the module and its path; warn about
    layers with learned weights (stored dense, which code generation rejects today)."""
    for path, mod in model.named_modules():
        if next(mod.children(), None) is not None or path == "":
            continue
        kind = type(mod).__name__
        if kind in ("Linear", "Conv2d"):
            warnings.warn(f"module {path} (torch.nn.{kind}) has learned weights, not random ones: seedcc "
                          f"stores them dense, and the accelerator has no dense weight storage, so code "
                          f"generation rejects the model; use Supermask{kind}", stacklevel=3)
        if kind in SUPPORTED_MODULES:
            continue
        if type(mod).__module__.startswith("torch.nn"):  # user modules: their ops are checked
            raise ExportError(f"module {path} ({type(mod).__module__}.{kind}) is not supported by seedcc; "
                              f"supported modules: {', '.join(SUPPORTED_MODULES)}")


@contextlib.contextmanager
def fixed_masks(model: nn.Module) -> Iterator[None]:
    """Eval mode with every mask frozen into a constant, restored afterwards."""
    was_training = model.training
    layers = supermask_layers(model).values()
    model.eval()
    for m in layers:
        m.fix_mask(True)
    try:
        yield
    finally:
        for m in layers:
            m.fix_mask(False)
        model.train(was_training)


def module_path(node: onnx.NodeProto) -> str:
    """The torch module a node came from: TorchScript names nodes `/blk/blk.0/Sin`, the
    dynamo exporter keeps the same scopes in the node's metadata; a scope may repeat its
    parent's name as a prefix (`blk`, `blk.0`)."""
    comps = [s for s in node.name.split("/") if s][:-1]
    for p in node.metadata_props:
        if p.key == "pkg.torch.onnx.name_scopes":
            comps = [s for s in re.findall(r"'([^']*)'", p.value)[:-1] if s]
    parts: list[str] = []
    for comp in comps:
        if parts and comp.startswith(parts[-1] + "."):
            parts[-1] = comp
        else:
            parts.append(comp)
    return ".".join(parts) or "<model>"


def _unsupported(model: onnx.ModelProto, err: UnsupportedOpError) -> ExportError:
    _, _, dyn = split_constant(model)
    bad = [f"{n.op_type} from module {module_path(n)}" for n in dyn if n.op_type not in DYNAMIC_OPS]
    return ExportError(f"the exported model uses ops seedcc cannot run: {'; '.join(bad) or err}")


def _torch_export(model: nn.Module, x: torch.Tensor, path: str, dynamo: bool, opset: int | None) -> None:
    names = {"input_names": ["x"], "output_names": ["logits"]}
    kwargs: dict = {} if opset is None else {"opset_version": opset}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        if dynamo:
            torch.onnx.export(model, (x,), path, dynamo=True, verbose=False,
                              dynamic_shapes=({0: torch.export.Dim("N")},), **names, **kwargs)
        else:
            torch.onnx.export(model, (x,), path, dynamo=False,
                              dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}}, **names, **kwargs)


def export(model: nn.Module, example_input: torch.Tensor, path: str | os.PathLike, *,
           dynamo: bool = False, opset: int | None = None) -> str:
    """Export `model` (input `x`, output `logits`, batch axis symbolic) with the record
    filled in; checks it (onnxruntime vs torch, seedcc's front end) and returns the path.
    Raises `ExportError` naming the module for an unsupported module or op."""
    path = os.fspath(path)
    check_modules(model)
    # default strides: odd strides of a size-1 axis (numpy views) make dynamo write as_strided
    x = torch.empty(example_input.shape).copy_(example_input.detach())
    if x.shape[0] < 2:  # the dynamo exporter specialises a batch of 1
        x = torch.cat([x, x])
    specs = layer_specs(model)
    with fixed_masks(model):
        try:
            _torch_export(model, x, path, dynamo, opset)
        except Exception as e:  # the exporters raise many unrelated types
            raise ExportError(f"torch.onnx.export (dynamo={dynamo}) failed: "
                              f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
        with torch.no_grad():
            want = model(x).numpy()
    proto = onnx.load(path)
    annotate(proto, specs, f"{path} (exported with dynamo={dynamo})")
    data = proto.SerializeToString()
    atomic_write(path, lambda f: f.write(data))
    got = ort_run(path, {"x": x.numpy()})["logits"]
    err = float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1e-30))
    if err > EXPORT_RTOL:
        raise ExportError(f"{path}: onnxruntime differs from torch by {err:.2e} (relative)")
    check(path)
    return path


def check(path: str | os.PathLike) -> Graph:
    """Run seedcc's front end on an exported model (the record is checked bit for bit);
    unsupported ops are reported with the torch module they came from."""
    try:
        return import_onnx(path)
    except UnsupportedOpError as e:
        raise _unsupported(onnx.load(os.fspath(path)), e) from None
    except ModelStructureError as e:
        names = {n.name: n for n in onnx.load(os.fspath(path)).graph.node}
        hit = next((names[m] for m in re.findall(r"node (\S+?):", str(e)) if m in names), None)
        if hit is None:
            raise
        raise ExportError(f"{e} (from module {module_path(hit)})") from None
