"""The core's import graph has no cycles, function-level imports included.

A cycle hidden behind an import inside a function still ties the modules together: none of them
can be understood, tested or extended alone, and the order of first use decides whether an import
works. The graph below counts every runtime import of an ``mtl`` module (module level and inside
functions), plus the packages a dotted import runs; imports under ``if TYPE_CHECKING:`` are left
out because they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules(root: Path) -> dict[str, Path]:
    """``mtl`` module name -> file, packages named by their directory."""
    mods: dict[str, Path] = {}
    for path in (root / "mtl").rglob("*.py"):
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = path
    return mods


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, modname: str, mods: dict[str, Path]) -> set[str]:
    """The ``mtl`` modules importing ``modname`` runs (excluding TYPE_CHECKING blocks)."""
    found: set[str] = set()

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if _is_type_checking(node.test):
                for child in node.orelse:
                    self.visit(child)
                return
            self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            found.update(a.name for a in node.names if a.name.startswith("mtl"))

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            if node.level:
                base = modname.split(".")
                if path.name != "__init__.py":
                    base = base[:-1]
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.startswith("mtl"):
                found.add(module)
                found.update(
                    f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in mods
                )

    Visitor().visit(ast.parse(path.read_text()))
    result: set[str] = set()
    for module in found:
        while module not in mods and "." in module:
            module = module.rsplit(".", 1)[0]
        if module in mods and module != modname:
            result.add(module)
        parts = module.split(".")
        for i in range(1, len(parts)):  # importing a.b.c runs a and a.b too
            parent = ".".join(parts[:i])
            if parent in mods and parent != modname and not modname.startswith(parent + "."):
                result.add(parent)
    return result


def import_cycles(root: Path) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    mods = _modules(root)
    graph = {name: _imports(path, name, mods) for name, path in mods.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_the_checker_finds_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    pkg = tmp_path / "mtl"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from mtl.b import x\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from mtl import c\n"
        "def x():\n    from mtl.a import x  # hidden, still a cycle\n"
    )
    (pkg / "c.py").write_text("import mtl.b\n")
    assert import_cycles(tmp_path) == [["mtl.a", "mtl.b"]]


def test_no_import_cycles_in_the_core() -> None:
    assert import_cycles(ROOT) == []


def test_the_limits_module_is_a_leaf() -> None:
    mods = _modules(ROOT)
    assert _imports(mods["mtl.limits"], "mtl.limits", mods) == {"mtl.errors"}
