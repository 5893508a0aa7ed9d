"""Code actions and formatting.

Quick fixes come from the checker's own hints: each "did you mean 'X'?" or
"write 'X'" candidate replaces the diagnostic's span, a missing FORMAT line
is added, a trailing comment deid would read as part of the line moves to a
line of its own. A fix is offered only when it works: the edited text is
checked again and must no longer have the diagnostic, nor more errors than
before. Formatting is ``deidc fmt``.
"""

from __future__ import annotations

import re
from typing import Iterator

from lsprotocol import types

from ..lang import parser
from ..lang.diagnostics import Diagnostic
from ..lang.source import Source
from ..tools.findings import findings
from ..tools.fmt import format_text
from .analysis import Analysis
from .positions import Positions

__all__ = ["code_actions", "formatting", "candidates", "MAX_DIAGNOSTICS"]

#: Fixes are looked for (and each checked by checking the document again) for at
#: most this many diagnostics of the requested range.
MAX_DIAGNOSTICS = 25

_DID_YOU_MEAN = re.compile(r"did you mean ((?:'[^']*'(?:, | or )?)+)\?")
_WRITE = re.compile(r"^write '([^']+)'")
_QUOTED = re.compile(r"'([^']*)'")


def candidates(hint: str) -> list[str]:
    """The replacement texts a hint proposes."""
    m = _DID_YOU_MEAN.search(hint)
    if m:
        return _QUOTED.findall(m.group(1))
    m = _WRITE.match(hint)
    return [m.group(1)] if m else []


def _replace(text_lines: list[str], d: Diagnostic, new: str) -> str | None:
    if d.line != d.end_line or not 1 <= d.line <= len(text_lines):
        return None
    line = text_lines[d.line - 1]
    end = min(d.end_column, len(line) + 1)
    return line[: d.column - 1] + new + line[end - 1 :]


def _fixes(analysis: Analysis, d: Diagnostic) -> Iterator[tuple[str, int, str]]:
    """(title, line number, new text of that line); line 0 inserts a first line."""
    lines = list(analysis.lines)
    old = lines[d.line - 1][d.column - 1 : d.end_column - 1] if 1 <= d.line <= len(lines) else ""
    for cand in candidates(d.hint):
        new = _replace(lines, d, cand)
        if new is not None and new != lines[d.line - 1]:
            yield (f"Replace '{old}' with '{cand}'" if old else f"Write '{cand}'"), d.line, new
    if d.code == "W101":
        yield "Add 'FORMAT dicom'", 0, "FORMAT dicom"
    if d.code == "W401" and 1 <= d.line <= len(lines):
        line = lines[d.line - 1]
        node = analysis.by_line.get(d.line)
        i = line.find("#", node.span.end_column - 1) if node is not None else -1
        if i > 0:
            indent = line[: len(line) - len(line.lstrip())]
            yield "Move the comment to its own line", d.line, indent + line[i:].rstrip() + "\n" + line[:i].rstrip()


def _works(analysis: Analysis, d: Diagnostic, line_no: int, new_line: str) -> bool:
    """Whether the edit removes the diagnostic without adding errors."""
    lines = list(analysis.lines)
    if line_no == 0:
        lines.insert(0, new_line)
        shift = 1
    else:
        lines[line_no - 1] = new_line
        shift = new_line.count("\n")
    text = "\n".join(lines)
    result = parser.parse(Source(text, analysis.source.name))
    found = findings(result, ids=analysis.options.ids, functions=analysis.options.functions, deid_compat=analysis.options.deid_compat)
    if any(x.code == d.code and x.line == d.line + shift for x in found):
        return False
    return sum(x.is_error for x in found) <= sum(x.is_error for x in analysis.diagnostics)


def code_actions(analysis: Analysis, positions: Positions, uri: str, rng: types.Range) -> list[types.CodeAction]:
    first, _ = positions.column(rng.start)
    last, _ = positions.column(rng.end)
    out: list[types.CodeAction] = []
    near = [d for d in analysis.diagnostics if d.end_line >= first and d.line <= last]
    for d in near[:MAX_DIAGNOSTICS]:
        preferred = True
        for title, line_no, new_line in _fixes(analysis, d):
            if not _works(analysis, d, line_no, new_line):
                continue
            if line_no == 0:
                edit = types.TextEdit(
                    range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)), new_text=new_line + "\n"
                )
            else:
                old = analysis.source.line(line_no)
                newline = "\r\n" if "\r\n" in analysis.text else "\n"
                edit = types.TextEdit(
                    range=types.Range(start=positions.position(line_no, 1), end=positions.position(line_no, len(old) + 1)),
                    new_text=new_line.replace("\n", newline),
                )
            out.append(
                types.CodeAction(
                    title=title,
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[_diagnostic_ref(d, positions)],
                    is_preferred=preferred,
                    edit=types.WorkspaceEdit(changes={uri: [edit]}),
                )
            )
            preferred = False
    return out


def _diagnostic_ref(d: Diagnostic, positions: Positions) -> types.Diagnostic:
    from .publish import to_lsp

    return to_lsp(d, positions)


def formatting(analysis: Analysis, positions: Positions) -> list[types.TextEdit]:
    formatted = format_text(analysis.text, path=analysis.source.name)
    if formatted == analysis.text:
        return []
    return [types.TextEdit(range=positions.whole(), new_text=formatted)]
