"""Diagnostics -> text, concise lines, JSON and SARIF.

Presentation only: nothing here decides a severity, an exit code or where
output goes (that is :mod:`deidlang.cli`). The renderer, not the diagnostic,
owns the source text: callers pass ``sources`` (name -> text) so a snippet
can show the recipe line exactly as written.

Layouts follow the linters people already read: the text layout is rustc's
and ruff's "full" output, the concise layout is flake8's
``path:line:col: CODE message``, JSON uses mypy's keys, SARIF is 2.1.0 as
ruff writes it.
"""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import PurePath
from typing import Iterable, Mapping
from urllib.parse import quote

from .diagnostics import CODES, ERROR, INFO, WARNING, Diagnostic
from .source import Source

__all__ = [
    "render_text",
    "render_concise",
    "render_json",
    "render_sarif",
    "summary_line",
    "SARIF_SCHEMA",
    "TAB_WIDTH",
]

#: Where a tab in a recipe line jumps to: the next multiple of this width.
TAB_WIDTH = 4
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"

# Lines shown for a diagnostic that spans several lines (the rest is elided).
_MAX_SNIPPET_LINES = 4

_SARIF_LEVEL = {ERROR: "error", WARNING: "warning", INFO: "note"}

# ANSI styles, used only when the caller asks for colour.
_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_STYLE = {ERROR: "\x1b[1;31m", WARNING: "\x1b[1;33m", INFO: "\x1b[1;36m"}
_GUTTER = "\x1b[1;34m"


# --------------------------------------------------------------------------- helpers


def _sorted(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=Diagnostic.sort_key)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary_line(diagnostics: Iterable[Diagnostic], recipes: int) -> str:
    """``Found 4 errors and 1 warning in 2 recipes.`` or ``No problems found in 1 recipe.``"""
    diags = list(diagnostics)
    errors = sum(d.severity == ERROR for d in diags)
    warnings = sum(d.severity == WARNING for d in diags)
    where = _plural(recipes, "recipe")
    parts = [p for n, p in ((errors, _plural(errors, "error")), (warnings, _plural(warnings, "warning"))) if n]
    if not parts:
        notes = sum(d.severity == INFO for d in diags)
        return f"No problems found in {where}" + (f" ({_plural(notes, 'note')} above)." if notes else ".")
    return f"Found {' and '.join(parts)} in {where}."


def _char_width(ch: str) -> int:
    """Terminal cells taken by one character (tabs are handled by the caller)."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _display(line: str) -> tuple[str, list[int]]:
    """The line as shown (tabs expanded to tab stops) and, for every 0-based
    character index (plus one past the end), its display offset.

    The same table places the carets, so they stay under the text even after
    tabs and wide characters.
    """
    shown: list[str] = []
    offsets: list[int] = []
    cell = 0
    for ch in line:
        offsets.append(cell)
        if ch == "\t":
            step = TAB_WIDTH - cell % TAB_WIDTH
            shown.append(" " * step)
            cell += step
        else:
            shown.append(ch)
            cell += _char_width(ch)
    offsets.append(cell)
    return "".join(shown), offsets


def _offset(offsets: list[int], column: int) -> int:
    """Display offset of a 1-based column; past the end of the line counts on."""
    index = max(column - 1, 0)
    if index < len(offsets):
        return offsets[index]
    return offsets[-1] + (index - (len(offsets) - 1))


def _source_lines(sources: Mapping[str, Source | str], name: str) -> tuple[str, ...] | None:
    src = sources.get(name)
    if src is None:
        return None
    if isinstance(src, str):
        src = Source(src, name)
    return src.lines


# --------------------------------------------------------------------------- text


class _Painter:
    """Wraps text in ANSI styles, or does nothing when colour is off."""

    def __init__(self, color: bool):
        self.color = color

    def __call__(self, text: str, style: str) -> str:
        return f"{style}{text}{_RESET}" if self.color and text else text


def _snippet(diag: Diagnostic, lines: tuple[str, ...], width: int, paint: _Painter, style: str) -> list[str]:
    """Gutter, source line(s) exactly as written, and carets under the span."""
    bar = paint("|", _GUTTER)
    pad = " " * width
    out = [f"{pad} {bar}"]
    last = min(max(diag.end_line, diag.line), len(lines))
    shown = list(range(diag.line, last + 1))
    if len(shown) > _MAX_SNIPPET_LINES:
        shown = shown[: _MAX_SNIPPET_LINES - 1] + [last]
    label = getattr(diag, "label", "") or ""
    previous = None
    for number in shown:
        if previous is not None and number != previous + 1:
            out.append(paint("...", _GUTTER))
        previous = number
        text, offsets = _display(lines[number - 1])
        start = _offset(offsets, diag.column) if number == diag.line else _first_text(offsets, text)
        end = _offset(offsets, diag.end_column) if number == diag.end_line else offsets[-1]
        carets = "^" * max(end - start, 1)
        tail = f" {label}" if label and number == shown[-1] else ""
        out.append(f"{paint(str(number).rjust(width), _GUTTER)} {bar}" + (f" {text}" if text else ""))
        out.append(f"{pad} {bar} " + " " * start + paint(carets + tail, style))
    return out


def _first_text(offsets: list[int], text: str) -> int:
    """Where the text of a continuation line starts (skipping indentation)."""
    stripped = len(text) - len(text.lstrip())
    return min(stripped, offsets[-1])


def _render_one(diag: Diagnostic, sources: Mapping[str, Source | str], paint: _Painter) -> str:
    style = _STYLE.get(diag.severity, _BOLD)
    lines = _source_lines(sources, diag.file)
    has_snippet = lines is not None and 1 <= diag.line <= len(lines)
    width = len(str(max(diag.line, diag.end_line))) if has_snippet else 1
    pad = " " * width
    bar = paint("|", _GUTTER)
    head = paint(f"{diag.severity}[{diag.code}]", style) + paint(f": {diag.message}", _BOLD)
    out = [head, f"{pad}{paint('-->', _GUTTER)} {diag.file}:{diag.line}:{diag.column}"]
    if has_snippet:
        assert lines is not None
        out.extend(_snippet(diag, lines, width, paint, style))
        out.append(f"{pad} {bar}")
    if diag.hint:
        out.append(f"{pad} {paint('=', _GUTTER)} {paint('help', _BOLD)}: {diag.hint}")
    return "\n".join(out)


def render_text(
    diagnostics: Iterable[Diagnostic],
    sources: Mapping[str, Source | str] | None = None,
    *,
    color: bool = False,
    recipes: int | None = None,
    summary: bool = True,
) -> str:
    """The rustc/ruff "full" layout, one block per diagnostic, then a summary line.

    ``sources`` maps a diagnostic's ``file`` to its text (or :class:`Source`);
    a diagnostic whose file is not there is shown without a snippet.
    ``recipes`` is the number of recipes checked (default: the number of
    ``sources``, at least 1). ANSI colour only when ``color`` is true.
    ``summary=False`` leaves out the summary line (for a single runtime error).
    """
    sources = sources or {}
    diags = _sorted(diagnostics)
    paint = _Painter(color)
    blocks = [_render_one(d, sources, paint) for d in diags]
    if summary:
        count = recipes if recipes is not None else max(len(sources), 1)
        blocks.append(paint(summary_line(diags, count), _BOLD))
    return "\n\n".join(blocks) + "\n" if blocks else ""


# --------------------------------------------------------------------------- concise


def _concise_message(diag: Diagnostic) -> str:
    """The message, with a 'did you mean' hint appended (other hints need the full layout)."""
    if diag.hint.startswith("did you mean"):
        return f"{diag.message}; {diag.hint}"
    return diag.message


def render_concise(
    diagnostics: Iterable[Diagnostic],
    sources: Mapping[str, Source | str] | None = None,
    *,
    recipes: int | None = None,
) -> str:
    """flake8's ``path:line:col: CODE message``, one line per diagnostic, then a summary line.

    ``sources`` is accepted (and only counted) so every text renderer takes
    the same arguments.
    """
    diags = _sorted(diagnostics)
    lines = [f"{d.file}:{d.line}:{d.column}: {d.code} {_concise_message(d)}" for d in diags]
    count = recipes if recipes is not None else max(len(sources or {}), 1)
    lines.append(summary_line(diags, count))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- json


def render_json(diagnostics: Iterable[Diagnostic]) -> str:
    """One JSON array; each object has exactly the :class:`Diagnostic` fields, in order."""
    return json.dumps([d.to_dict() for d in _sorted(diagnostics)], indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- sarif


def _artifact_uri(path: str) -> str:
    """A URI reference for a recipe path: relative paths stay relative, with '/' separators."""
    if os.path.isabs(path):
        try:
            return PurePath(path).as_uri()
        except ValueError:  # pragma: no cover - as_uri refuses only odd paths
            pass
    return quote(path.replace(os.sep, "/"), safe="/:@")


def _rules(diags: list[Diagnostic]) -> list[dict]:
    rules = []
    for code in sorted({d.code for d in diags}):
        known = CODES.get(code)
        rule: dict = {"id": code, "shortDescription": {"text": known.summary if known else code}}
        if known:
            rule["defaultConfiguration"] = {"level": _SARIF_LEVEL.get(known.severity, "note")}
        rules.append(rule)
    return rules


def _result(diag: Diagnostic, rule_index: int) -> dict:
    text = f"{diag.message}; {diag.hint}" if diag.hint else diag.message
    return {
        "ruleId": diag.code,
        "ruleIndex": rule_index,
        "level": _SARIF_LEVEL.get(diag.severity, "note"),
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _artifact_uri(diag.file)},
                    "region": {
                        "startLine": diag.line,
                        "startColumn": diag.column,
                        "endLine": max(diag.end_line, diag.line),
                        "endColumn": diag.end_column,
                    },
                }
            }
        ],
    }


def render_sarif(diagnostics: Iterable[Diagnostic], *, tool_version: str) -> str:
    """A SARIF 2.1.0 log with one run. Columns are 1-based, ``endColumn`` exclusive
    (the :class:`~deidlang.lang.source.Span` convention, so nothing is converted)."""
    diags = _sorted(diagnostics)
    rules = _rules(diags)
    index = {r["id"]: i for i, r in enumerate(rules)}
    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "deidc",
                        "version": tool_version,
                        # no "informationUri" (optional in SARIF 2.1.0): deidlang is not on the package
                        # index and has no home page to name; it is installed from a checkout (README.md)
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [_result(d, index[d.code]) for d in diags],
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
