"""Recipe AST -> diagnostics (names, values, meaning, deid divergences).

PLACEHOLDER: being written; for now it returns the parser's diagnostics.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from .diagnostics import Diagnostic
from .parser import ParseResult


def check_recipe(
    result: ParseResult,
    *,
    ids: Mapping[str, Mapping[str, Any]] | None = None,
    functions: Iterable[str] | None = None,
) -> list[Diagnostic]:
    return sorted(result.diagnostics, key=Diagnostic.sort_key)
