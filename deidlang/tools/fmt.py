"""The recipe formatter behind ``deidc fmt``: one canonical layout.

Rules (docs/toolchain.md):

* statement words in their canonical case: actions, ``FIELD``/``SPLIT``,
  ``LABEL`` and ``FORMAT`` upper case; ``%section`` names, filter
  predicates and coordinate keywords lower case;
* one space between the parts of a line (verb, field, value; criteria and
  their ``+``/``||`` operators; ``deid_func:`` arguments), ``;`` between
  ``SPLIT`` options, no spaces inside coordinates; values, names and
  patterns are kept exactly as written (spaces inside them included);
* criterion and coordinate lines of a LABEL block indented by two spaces,
  every other statement at the start of the line; a comment line takes the
  indentation of the statement it sits on (or under);
* a trailing comment stays on its line, after one space; comment lines stay
  where they are, without trailing white space;
* blank lines: none at the start or the end, never two in a row, one before
  each section and each LABEL (and the comments directly above it), none
  between the lines of a LABEL block;
* the file's line ending (``\\n`` or ``\\r\\n``) is kept; the text ends with one.

Behaviour is preserved by construction: every rewritten line is parsed again
and must give the same node as the original line (up to the case of its
keywords and the white space around a trailing comment), otherwise the
original line is kept as it was. Lines that do not parse are kept as they
are. The tests compare the compiled programs of formatted and original
recipes over the whole test corpus and over generated recipes.
"""

from __future__ import annotations

import re
from typing import Iterable

import attrs

from ..lang import nodes, parser
from ..lang.source import Source, split_lines

__all__ = ["format_text", "is_formatted", "INDENT"]

#: Indentation of the criterion and coordinate lines of a LABEL block.
INDENT = "  "

_WS = re.compile(r"[ \t\f\v\u00a0\ufeff]+")


@attrs.define
class _Entry:
    kind: str  # "blank" | "comment" | "stmt" | "verbatim"
    text: str = ""  # without indentation, for comments and statements
    node: object = None
    indent: str = ""


def format_text(text: str, *, path: str | None = None) -> str:
    """``text`` in the canonical layout (see the module docstring)."""
    newline = "\r\n" if "\r\n" in text else "\n"
    result = parser.parse(Source(text, path or "<string>"))
    by_line = {node.span.line: node for node in result.items}
    entries = list(_entries(split_lines(text), by_line))
    entries = _blank_lines(entries)
    _indent_comments(entries)
    out = [e.indent + e.text if e.kind != "verbatim" else e.text for e in entries]
    return newline.join(out) + newline if out else ""


def is_formatted(text: str, *, path: str | None = None) -> bool:
    return format_text(text, path=path) == text


# --------------------------------------------------------------------------- lines


def _entries(lines: list[str], by_line: dict) -> Iterable[_Entry]:
    section: str | None = None
    in_label = False
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped:
            yield _Entry("blank")
            continue
        if stripped[0] == "#":
            yield _Entry("comment", stripped)
            continue
        node = by_line.get(number)
        if node is None:  # the line does not parse: leave it exactly as written
            yield _Entry("verbatim", line)
            continue
        if isinstance(node, nodes.SectionLine):
            section, in_label = node.kind, False
        elif isinstance(node, nodes.LabelLine):
            in_label = section == "filter"
        indent = INDENT if in_label and isinstance(node, (nodes.CriterionLine, nodes.CoordLine)) else ""
        new = indent + _render(node, line)
        comment = _comment(line, node.span.end_column)
        if comment:
            new += " " + comment
        if new != line and not _same(node, new, number):
            yield _Entry("verbatim", line, node)
            continue
        yield _Entry("stmt", new[len(indent) :], node, indent)


def _same(node, new_line: str, number: int) -> bool:
    """Whether ``new_line`` parses to ``node`` (keyword case and comment spacing aside)."""
    again, diags = parser.parse_line(new_line, number)
    return again is not None and not diags and _normal(again) == _normal(node)


def _normal(node):
    if isinstance(node, nodes.ActionLine):
        return attrs.evolve(node, verb=node.verb.upper(), comment=node.comment.strip() if node.comment else node.comment)
    if isinstance(node, nodes.GroupLine):
        return attrs.evolve(node, verb=node.verb.upper())
    if isinstance(node, nodes.FormatLine):
        return attrs.evolve(node, keyword=node.keyword.upper())
    if isinstance(node, nodes.SectionLine):
        return attrs.evolve(node, keyword=node.keyword.lower())
    return node


def _comment(line: str, end_column: int) -> str:
    rest = line[end_column - 1 :]
    i = rest.find("#")
    return rest[i:].rstrip() if i >= 0 else ""


def _slice(line: str, span) -> str:
    return line[span.column - 1 : span.end_column - 1]


def _render(node, line: str) -> str:
    """The canonical text of one statement (without indentation and comment)."""
    if isinstance(node, nodes.ActionLine):
        parts = [node.verb.upper(), _slice(line, node.field.span)]
        if node.value is not None:
            parts.append(_value(node.value, line))
        return " ".join(parts)
    if isinstance(node, nodes.CriterionLine):
        return _criteria(node, line)
    if isinstance(node, nodes.CoordLine):
        spec = _slice(line, node.spec.span)
        if isinstance(node.spec, nodes.Box):
            spec = _WS.sub("", spec)
        return f"{node.keyword} {spec}"
    if isinstance(node, nodes.LabelLine):
        return f"LABEL {node.name}" if node.name else "LABEL"
    if isinstance(node, nodes.SectionLine):
        return f"%{node.keyword.lower()}" + (f" {node.name}" if node.name else "")
    if isinstance(node, nodes.GroupLine):
        parts = [node.verb.upper(), _slice(line, node.field.span)]
        if node.options:
            parts.append(";".join(f"{o.name}={o.value}" for o in node.options))
        return " ".join(parts)
    if isinstance(node, nodes.FormatLine):
        return f"FORMAT {node.value}" if node.value else "FORMAT"
    raise TypeError(f"unknown line node {type(node).__name__}")  # pragma: no cover


def _value(value, line: str) -> str:
    if isinstance(value, nodes.DeidFunc):
        return " ".join([f"deid_func:{value.name}", *(f"{a.name}={a.value}" for a in value.args)])
    return _slice(line, value.span)


def _criteria(node: nodes.CriterionLine, line: str) -> str:
    out = []
    if node.operator is not None:
        out.append("+ " if node.operator == "and" else "|| ")
    for i, c in enumerate(node.criteria):
        if i:
            out.append(" + " if node.operators[i - 1] == "and" else " || ")
        out.append(f"{c.predicate} {_slice(line, c.field.span)}")
        if c.value is not None:
            out.append(" " + c.value)
    return "".join(out)


# --------------------------------------------------------------------------- blank lines and comments


def _opens_block(e: _Entry) -> bool:
    return e.kind == "stmt" and isinstance(e.node, (nodes.SectionLine, nodes.LabelLine))


def _in_block(e: _Entry) -> bool:
    return e.kind == "stmt" and isinstance(e.node, (nodes.CriterionLine, nodes.CoordLine))


def _blank_lines(entries: list[_Entry]) -> list[_Entry]:
    # blank lines before the lines of a LABEL block go
    kept: list[_Entry] = []
    for i, e in enumerate(entries):
        if e.kind == "blank":
            nxt = next((x for x in entries[i + 1 :] if x.kind != "blank"), None)
            if nxt is None or _in_block(nxt):
                continue
        kept.append(e)
    # one blank line before each section and LABEL, with the comments directly above it
    out: list[_Entry] = []
    for e in kept:
        if _opens_block(e):
            j = len(out)
            while j > 0 and out[j - 1].kind == "comment":
                j -= 1
            if j > 0 and out[j - 1].kind != "blank":
                out.insert(j, _Entry("blank"))
        out.append(e)
    # no blank line at the start, never two in a row
    final: list[_Entry] = []
    for e in out:
        if e.kind == "blank" and (not final or final[-1].kind == "blank"):
            continue
        final.append(e)
    while final and final[-1].kind == "blank":
        final.pop()
    return final


def _indent_comments(entries: list[_Entry]) -> None:
    """A comment line takes the indentation of the statement right below it, else of
    the statement right above it (no blank line between), else none."""
    for i, e in enumerate(entries):
        if e.kind != "comment":
            continue
        below = next((x for x in entries[i + 1 :] if x.kind != "comment"), None)
        if below is not None and below.kind == "stmt":
            e.indent = below.indent
            continue
        above = next((x for x in reversed(entries[:i]) if x.kind != "comment"), None)
        e.indent = above.indent if above is not None and above.kind == "stmt" else ""
