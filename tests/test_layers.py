"""The package's import structure: layers import downwards only, with no cycles.

Layers, lowest first (docs/architecture.md):

    leaf modules (errors, files, arrays, limits) <- rtl_models <- ir <- compiler <- backends <- seedcc

A module may import its own layer and the layers below it. Imports of seedcc modules sit
at module level: one inside a function hides a dependency (usually one that would close a
cycle). The walk reads the source with `ast`, so it sees every import, run or not.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

import seedcc
from seedcc import backends, compiler, ir, rtl_models

#: the layers in order; a module's layer is the longest matching prefix
LAYERS: tuple[tuple[str, ...], ...] = (
    ("seedcc.errors", "seedcc.files", "seedcc.arrays", "seedcc.limits"),
    ("seedcc.rtl_models",),
    ("seedcc.ir",),
    ("seedcc.compiler",),
    ("seedcc.backends",),
    ("seedcc",),
)
#: function-local imports that are there on purpose, with the reason
DEFERRED = {
    ("seedcc", "seedcc.api"): "PEP 562 lazy attribute: `import seedcc` stays cheap",
}
PACKAGES = {"seedcc": seedcc, "seedcc.rtl_models": rtl_models, "seedcc.ir": ir,
            "seedcc.compiler": compiler, "seedcc.backends": backends}


def layer_of(module: str) -> int:
    best, depth = -1, -1
    for rank, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > depth:
                best, depth = rank, len(p)
    assert best >= 0, f"{module} is in no layer"
    return best


def package_modules() -> dict[str, Path]:
    """Every module of the installed package, by dotted name."""
    out = {}
    for name, pkg in PACKAGES.items():
        root = Path(pkg.__file__).parent
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            if name == "seedcc" and parts and parts[0] in {"rtl_models", "ir", "compiler", "backends"}:
                continue
            out[".".join([name, *parts])] = path
    return out


def seedcc_imports(module: str, path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import of a seedcc module."""
    tree = ast.parse(path.read_text(), str(path))
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, in_function) for a in child.names
                             if a.name.split(".")[0] == "seedcc")
            elif isinstance(child, ast.ImportFrom):
                if child.level:  # relative import: resolve against this module's package
                    base = module.split(".")
                    is_pkg = path.name == "__init__.py"
                    base = base[: len(base) - child.level + (1 if is_pkg else 0)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target.split(".")[0] == "seedcc":
                    # `from seedcc.x import y` may import submodule x.y: count the deeper one
                    for a in child.names:
                        sub = f"{target}.{a.name}"
                        found.append((sub if _is_module(sub) else target, child.lineno, in_function))
            elif isinstance(child, ast.If) and _is_type_checking(child):
                continue
            visit(child, nested)

    visit(tree, False)
    return found


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _is_module(name: str) -> bool:
    return name in package_modules()


def violations(modules: dict[str, Path]) -> tuple[list[str], nx.DiGraph]:
    bad, deps = [], nx.DiGraph()
    for module, path in modules.items():
        for target, line, local in seedcc_imports(module, path):
            where = f"{path.name}:{line}"
            if layer_of(target) > layer_of(module):
                bad.append(f"{module} imports {target} from a higher layer ({where})")
            if local and (module, target) not in DEFERRED:
                bad.append(f"{module} imports {target} inside a function ({where})")
            pkg_a, pkg_b = ".".join(module.split(".")[:2]), ".".join(target.split(".")[:2])
            if pkg_a != pkg_b:
                deps.add_edge(pkg_a, pkg_b)
    return bad, deps


def test_layers_import_downwards_only_and_at_module_level() -> None:
    bad, _ = violations(package_modules())
    assert not bad, "\n".join(bad)


def test_packages_form_no_cycle() -> None:
    _, deps = violations(package_modules())
    cycles = list(nx.simple_cycles(deps))
    assert not cycles, f"package import cycles: {cycles}"


def test_the_walk_catches_an_upward_and_a_local_import(tmp_path: Path) -> None:
    """The checker itself: an IR module importing the back end is reported, twice over."""
    fake = tmp_path / "bad.py"
    fake.write_text("from seedcc.backends import isa\n\ndef f():\n    from seedcc.compiler import pipeline\n")
    bad, _ = violations({"seedcc.ir.bad": fake})
    assert any("imports seedcc.backends.isa from a higher layer" in b for b in bad)
    assert any("seedcc.compiler.pipeline inside a function" in b for b in bad)


@pytest.mark.parametrize("module, forbidden", [
    ("seedcc.ir", ("onnx", "onnxruntime", "seedcc.backends", "seedcc.compiler", "seedcc.api")),
    ("seedcc", ("onnx", "onnxruntime", "seedcc.api", "seedcc.compiler", "seedcc.backends")),
    ("seedcc.compiler", ("seedcc.backends", "seedcc.api", "onnxruntime")),
])
def test_importing_a_layer_loads_nothing_above_it(module: str, forbidden: tuple[str, ...]) -> None:
    code = (f"import sys, {module}\n"
            f"print('\\n'.join(m for m in sys.modules))")
    loaded = set(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                text=True).stdout.split())
    hits = sorted(m for m in loaded for f in forbidden if m == f or m.startswith(f + "."))
    assert not hits, f"import {module} loaded {hits}"


def test_lazy_api_still_works() -> None:
    code = "import seedcc; print(seedcc.compile.__module__, seedcc.run.__name__, seedcc.verify.__name__)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["seedcc.api", "run", "verify"]
