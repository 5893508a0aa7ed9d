"""Diagnostics as the protocol carries them: the same codes, severities, ranges,
messages and hints as ``deidc check``, each linked to docs/diagnostics.md."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from lsprotocol import types

from ..lang.diagnostics import ERROR, INFO, WARNING, Diagnostic
from .positions import Positions

__all__ = ["to_lsp", "docs_url", "SEVERITY"]

SEVERITY = {
    ERROR: types.DiagnosticSeverity.Error,
    WARNING: types.DiagnosticSeverity.Warning,
    INFO: types.DiagnosticSeverity.Information,
}
#: The section of docs/diagnostics.md for each family of codes (the code's digit).
_ANCHORS = {
    "1": "syntax-and-structure",
    "2": "names",
    "3": "values-and-meaning",
    "4": "deid-would-run-this-line-differently",
    "0": "while-applying-a-recipe",
}
#: Set to a URL (e.g. of the project's published docs) to link there instead of the local file.
DOCS_ENV = "DEIDLANG_DOCS_URL"


def _docs_file() -> Path | None:
    """docs/diagnostics.md: in the installed package, or in a source tree."""
    candidates = [Path(str(resources.files("deidlang") / "docs" / "diagnostics.md")), Path(__file__).resolve().parents[2] / "docs" / "diagnostics.md"]
    return next((p for p in candidates if p.is_file()), None)


def docs_url(code: str) -> str | None:
    base = os.environ.get(DOCS_ENV)
    if not base:
        found = _docs_file()
        if found is None:
            return None
        base = found.as_uri()
    anchor = _ANCHORS.get(code[1:2] if len(code) > 1 else "")
    return f"{base}#{anchor}" if anchor else base


def to_lsp(d: Diagnostic, positions: Positions) -> types.Diagnostic:
    href = docs_url(d.code)
    message = d.message + (f"\nhelp: {d.hint}" if d.hint else "")
    return types.Diagnostic(
        range=positions.range(d.span),
        message=message,
        severity=SEVERITY.get(d.severity, types.DiagnosticSeverity.Warning),
        code=d.code,
        code_description=types.CodeDescription(href=href) if href else None,
        source="deidlang",
        data={"hint": d.hint} if d.hint else None,
    )
