"""The embedding API: text -> Source -> parse -> check -> compile -> Program."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from . import checker, parser
from .diagnostics import Diagnostic, RecipeError
from .source import Source

__all__ = ["parse", "check", "compile", "load"]


def parse(source: str | Source, *, path: str | None = None) -> parser.ParseResult:
    """Parse recipe text into an AST plus syntax diagnostics (never raises for recipe problems)."""
    return parser.parse(source, path=path)


def check(
    source: str | Source,
    *,
    path: str | None = None,
    ids: Mapping[str, Mapping[str, Any]] | None = None,
    functions: Iterable[str] | None = None,
) -> list[Diagnostic]:
    """Every problem in a recipe, in one pass. Never raises for recipe problems.

    ``ids`` has deid's shape (``{"/path/file.dcm": {"name": value}}``); when
    given, every ``var:NAME`` must be supplied for every file. ``functions``
    (names) enables checking of ``func:NAME`` references.
    """
    result = parser.parse(source, path=path)
    return checker.check_recipe(result, ids=ids, functions=functions)


def compile(source: str | Source, *, path: str | None = None):
    """Check and compile a recipe into an immutable, reusable, picklable Program.

    Raises :class:`RecipeError` carrying every diagnostic when the recipe has errors.
    """
    from .compiler import compile_recipe

    result = parser.parse(source, path=path)
    diagnostics = checker.check_recipe(result)
    if any(d.is_error for d in diagnostics):
        raise RecipeError(diagnostics)
    return compile_recipe(result.recipe, name=result.source.name, text=result.source.text, diagnostics=tuple(diagnostics))


def load(path: str | Path):
    """Read, check and compile a recipe file."""
    p = Path(path)
    return compile(p.read_text(encoding="utf-8"), path=str(path))
