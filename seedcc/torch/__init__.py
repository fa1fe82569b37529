"""PyTorch SDK for seedcc (`pip install seedcc[torch]`): supermask layers whose random
weights come from seedcc's own generators, and `export`, which writes a model the compiler
takes (DESIGN.md §3) from either torch exporter. The compiler core never imports torch."""

try:
    import torch  # noqa: F401
except ImportError as e:  # the core install has no torch, on purpose
    raise ImportError("seedcc.torch needs the torch extra: pip install 'seedcc[torch]' "
                      "(or pip install -e '.[torch]' in a clone)") from e

from seedcc.torch.export import ExportError, export, layer_specs, save_layer_specs
from seedcc.torch.layers import FoldedBlock, SupermaskConv2d, SupermaskLinear, supermask_layers

__all__ = ["ExportError", "FoldedBlock", "SupermaskConv2d", "SupermaskLinear", "export", "layer_specs",
           "save_layer_specs", "supermask_layers"]
