"""Semantic tokens: colour for recipes in any editor that asks the server
(statement words, sections, groups, DICOM keywords, tags, values, references,
patterns, operators, comments; retired keywords marked deprecated)."""

from __future__ import annotations

from ..lang import nodes
from ..tools import dictionary
from .analysis import Analysis, comment_start, tokens_of
from .positions import Positions

__all__ = ["LEGEND_TYPES", "LEGEND_MODIFIERS", "encode"]

LEGEND_TYPES = [
    "keyword",
    "namespace",
    "type",
    "class",
    "property",
    "variable",
    "function",
    "parameter",
    "string",
    "number",
    "regexp",
    "operator",
    "comment",
    "macro",
    "enumMember",
]
LEGEND_MODIFIERS = ["declaration", "deprecated"]
_T = {name: i for i, name in enumerate(LEGEND_TYPES)}
_DECLARATION, _DEPRECATED = 1, 2


def _field(tok) -> list[tuple[int, int, int, int]]:
    """(column, end_column, type, modifiers) pieces of a field token."""
    f, s = tok.node, tok.span
    if isinstance(f, (nodes.Keyword, nodes.NestedName)):
        attr = dictionary.of_field(f)
        return [(s.column, s.end_column, _T["property"], _DEPRECATED if attr is not None and attr.retired else 0)]
    if isinstance(f, (nodes.Tag, nodes.PrivateTag, nodes.UidPath)):
        return [(s.column, s.end_column, _T["number"], 0)]
    if isinstance(f, nodes.AllFields):
        return [(s.column, s.end_column, _T["enumMember"], 0)]
    if isinstance(f, nodes.GroupRef):
        return [(s.column, s.end_column, _T["type"], 0)]
    if isinstance(f, nodes.Expander):
        cut = s.column + len(f.text) - len(f.argument)
        out = [(s.column, cut, _T["macro"], 0)]
        if f.argument:
            out.append((cut, s.end_column, _T["regexp"], 0))
        return out
    return []


_SIMPLE = {
    "keyword": "keyword",
    "section": "namespace",
    "value": "string",
    "variable": "variable",
    "function": "function",
    "parameter": "parameter",
    "pattern": "regexp",
    "operator": "operator",
    "number": "number",
}


def pieces(analysis: Analysis) -> list[tuple[int, int, int, int, int]]:
    """(line, column, end_column, type, modifiers), in order, on one line each."""
    out = []
    for number, line in enumerate(analysis.lines, 1):
        node = analysis.by_line.get(number)
        if node is not None:
            for tok in tokens_of(node, line):
                if tok.span.line != number or tok.span.end_line != number:
                    continue
                if tok.kind == "field":
                    out += [(number, *p) for p in _field(tok)]
                elif tok.kind == "group":
                    out.append((number, tok.span.column, tok.span.end_column, _T["type"], _DECLARATION))
                elif tok.kind == "label":
                    kind = "string" if isinstance(tok.node, nodes.FormatLine) else "class"
                    out.append((number, tok.span.column, tok.span.end_column, _T[kind], _DECLARATION if kind == "class" else 0))
                elif tok.kind in _SIMPLE:
                    out.append((number, tok.span.column, tok.span.end_column, _T[_SIMPLE[tok.kind]], 0))
        elif line.strip() and not line.lstrip().startswith("#"):
            continue  # a line that does not parse: no colour but its comment
        start = comment_start(line, node)
        if start is not None:
            out.append((number, start + 1, len(line.rstrip()) + 1, _T["comment"], 0))
    return out


def encode(analysis: Analysis, positions: Positions) -> list[int]:
    """The protocol's relative encoding of :func:`pieces`."""
    data: list[int] = []
    prev_line, prev_char = 0, 0
    last_end: dict[int, int] = {}
    for line, col, end, kind, mods in pieces(analysis):
        start = positions.character(line, col)
        stop = positions.character(line, end)
        if stop <= start or start < last_end.get(line, 0):
            continue  # empty or overlapping: skip
        last_end[line] = stop
        delta_line = line - 1 - prev_line
        delta_char = start - prev_char if delta_line == 0 else start
        data += [delta_line, delta_char, stop - start, kind, mods]
        prev_line, prev_char = line - 1, start
    return data
