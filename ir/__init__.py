"""Graph IR of seedcc: values, the op table, graphs, the verifier and the printer."""

from seedcc.ir.graph import Graph, Node, Value, topological
from seedcc.ir.ops import Op, OpDef, Shape, as_chw, band_buffer, infer_shape
from seedcc.ir.printer import format_graph
from seedcc.ir.verify import verify
from seedcc.ir.weights import Freeze, WeightSpec

__all__ = ["Freeze", "Graph", "Node", "Op", "OpDef", "Shape", "Value", "WeightSpec", "as_chw", "band_buffer",
           "format_graph", "infer_shape", "topological", "verify"]
