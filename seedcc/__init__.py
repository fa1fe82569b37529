"""seedcc: compiler and verification flow for random-weight neural-network accelerators.

    import seedcc
    program = seedcc.compile("model.onnx", output="model.sdc")
    result = seedcc.run(program, x)          # reference accelerator model, int8
    report = seedcc.verify("model.onnx")     # onnxruntime vs reference model, layer by layer
"""

from seedcc.api import compile, run, verify

__all__ = ["compile", "run", "verify"]
__version__ = "0.1.0"
