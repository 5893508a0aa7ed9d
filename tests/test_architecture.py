"""The package's layout, as docs/architecture.md describes it: no import circles, and no
import that runs up the layers.

The import graph is built from the source with ``ast`` (nothing is imported): every
``import`` and ``from ... import`` of a deidlang module, at module level or inside a
function (a lazy import is still an import), except those under ``if TYPE_CHECKING:``
(they never run). ``from package import name`` counts as an import of the module
``package.name`` when there is one, else of ``package``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "deidlang"

#: The layers, bottom to top (docs/architecture.md, "Import rules"). A module belongs to
#: the longest prefix that names it, and may import modules of its own layer and of the
#: layers below it, never above. ``deidlang.cli.common`` (reading the user's files) is a
#: layer of its own, below the language server that reuses it.
LAYERS = (
    "deidlang.version",
    "deidlang.lang",
    "deidlang.dicomio",
    "deidlang.tables",
    "deidlang.runtime",
    "deidlang.compiler",
    "deidlang.pixels",
    "deidlang.privacy",
    "deidlang.ocr",
    "deidlang.checks",
    "deidlang.api",
    "deidlang.engine",
    "deidlang.compat",
    "deidlang.tools",
    "deidlang.cli.common",
    "deidlang.lsp",
    "deidlang.serve",
    "deidlang.cli",
)
#: The package's face and ``python -m deidlang``: above every layer; nothing imports them.
FACES = ("deidlang", "deidlang.__main__")
#: Old module paths kept for one release (docs/architecture.md, "Old paths"): they
#: re-export names from their new homes; nothing in the package imports them.
SHIMS = ("deidlang.batch", "deidlang.verify", "deidlang.explain", "deidlang.atomic")
#: The limit on a module's length, in lines.
MAX_LINES = 800


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
            if name == "TYPE_CHECKING":
                skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def _imports(module: str, path: Path) -> set[str]:
    """The deidlang modules ``module`` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_only(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "deidlang")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "deidlang":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in MODULES else target)
    out.discard(module)
    return out


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _layer(module: str) -> int:
    """The index of ``module``'s layer in :data:`LAYERS`."""
    best = -1
    for i, prefix in enumerate(LAYERS):
        if (module == prefix or module.startswith(prefix + ".")) and (best < 0 or len(prefix) > len(LAYERS[best])):
            best = i
    return best


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read():
    """The reader finds what it should (a reader that finds nothing passes every rule)."""
    assert "deidlang.lang.nodes" in GRAPH["deidlang.lang.fastlines"]
    assert "deidlang.engine.inputs" in GRAPH["deidlang.engine.batch"]
    assert "deidlang.engine.naming" in GRAPH["deidlang.engine.batch"]  # a lazy import counts
    assert "deidlang.lang.fastlines" in GRAPH["deidlang.lang.parser"]
    assert "deidlang.runtime.keys" in GRAPH["deidlang.runtime.builtins"]  # from . import keys


def test_imports_under_type_checking_are_left_out():
    tree = ast.parse("from typing import TYPE_CHECKING\nimport os\nif TYPE_CHECKING:\n    from .x import y\n")
    under = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "x"]
    assert under and all(id(n) in _type_checking_only(tree) for n in under)
    assert not any(isinstance(n, ast.Import) and id(n) in _type_checking_only(tree) for n in ast.walk(tree))


def test_no_import_circles():
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_circles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_every_module_has_a_layer():
    unplaced = [m for m in MODULES if m not in FACES and m not in SHIMS and _layer(m) < 0]
    assert unplaced == []


def test_no_import_runs_up_the_layers():
    upward = []
    for module, targets in sorted(GRAPH.items()):
        if module in FACES or module in SHIMS:
            continue
        for target in sorted(targets):
            if target in FACES or target in SHIMS:
                upward.append(f"{module} -> {target} (a face or an old path: import the module itself)")
            elif _layer(target) > _layer(module):
                upward.append(f"{module} ({LAYERS[_layer(module)]}) -> {target} ({LAYERS[_layer(target)]})")
    assert upward == []


@pytest.mark.parametrize("shim", SHIMS)
def test_old_paths_only_re_export(shim):
    """An old path defines nothing of its own: every name it exports comes from elsewhere."""
    tree = ast.parse(MODULES[shim].read_text(encoding="utf-8"))
    defined = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))]
    assert defined == []


def test_no_module_is_too_long():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_every_folder_says_what_it_owns_and_may_import():
    """Each folder's ``__init__.py`` opens with a docstring that names its imports."""
    for init in sorted(PACKAGE.rglob("__init__.py")):
        if init.parent == PACKAGE:
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "import" in doc.lower(), f"{init.relative_to(PACKAGE.parent)}: no word on what it may import"
