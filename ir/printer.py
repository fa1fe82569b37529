"""A readable, stable text form of a graph (used in reports and snapshot tests)."""

from __future__ import annotations

from typing import Any

import numpy as np

from seedcc.ir.graph import Graph, Value


def _type(v: Value) -> str:
    dims = "x".join(str(d) for d in v.shape)
    q = f" scale={v.scale:.6g}" if v.scale is not None else ""
    return f"{v.dtype}[{dims}]{q}"


def _attr(key: str, value: Any) -> str:
    if key == "weight":
        return value.summary()
    if isinstance(value, np.ndarray):
        return f"{key}=<{value.dtype}[{'x'.join(map(str, value.shape))}]>"
    if isinstance(value, tuple) and value and all(isinstance(x, np.ndarray) for x in value):
        return f"{key}=(" + ", ".join(_attr("", x)[1:] for x in value) + ")"
    if isinstance(value, tuple) and value and all(isinstance(x, bytes) for x in value):
        return f"{key}=<{len(value)} block(s), {sum(map(len, value))} bytes>"
    if isinstance(value, float):
        return f"{key}={value:.6g}"
    if isinstance(value, tuple) and all(isinstance(x, tuple) for x in value):
        return f"{key}=" + "/".join(f"{a[0]}:{a[1]}" if len(a) == 2 else str(a) for a in value)
    return f"{key}={value}"


def format_graph(g: Graph) -> str:
    lines = [f"graph {g.name}(" + ", ".join(f"%{i}: {_type(g.values[i])}" for i in g.inputs) + ")"]
    for n in g.nodes:
        out = g.values[n.output]
        args = ", ".join(f"%{i}" for i in n.inputs)
        attrs = [
            _attr(k, v) for k, v in sorted(n.attrs.items(), key=lambda kv: (kv[0] != "weight", kv[0]))
            if v is not None and v is not False
        ]
        tail = (" {" + "; ".join(attrs) + "}") if attrs else ""
        lines.append(f"  %{out.name}: {_type(out)} = {n.op.value}({args}){tail}  # {n.name}")
    lines.append("  return " + ", ".join(f"%{o}" for o in g.outputs))
    lines.extend(f"  note: {note}" for note in g.notes)
    return "\n".join(lines) + "\n"
