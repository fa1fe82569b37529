"""seedcc: compiler and verification flow for random-weight neural-network accelerators.

    import seedcc
    program = seedcc.compile("model.onnx", output="model.sdc")
    result = seedcc.run(program, x)          # reference accelerator model, int8
    report = seedcc.verify("model.onnx")     # onnxruntime vs reference model, layer by layer

`import seedcc` is cheap: the API (and with it onnx, onnxruntime and the whole compiler)
loads on first use of one of its names (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seedcc.api import compile, run, verify

__all__ = ["compile", "run", "verify"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in __all__:
        from seedcc import api  # deferred for import cost only: api sits at the top layer

        return getattr(api, name)
    raise AttributeError(f"module 'seedcc' has no attribute {name!r}")
