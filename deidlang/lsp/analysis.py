"""One recipe document, analysed once per version: parse, check, and the indexes
the editor features read (tokens of each line, group definitions and
references). Pure Python: nothing here knows about the protocol.

Lines and columns are deidlang's (1-based, in code points); the protocol's
positions are converted in :mod:`.positions`.
"""

from __future__ import annotations

import functools
from typing import Any, Iterator, Mapping, NamedTuple

import attrs

from ..checks.tables import given
from ..lang import collector, nodes, parser
from ..lang.diagnostics import Diagnostic
from ..lang.source import Source, Span
from ..tools.findings import findings

__all__ = ["Options", "Analysis", "Token", "tokens_of"]


@attrs.frozen
class Options:
    """What changes the diagnostics of a document (from the editor's settings)."""

    ids: Mapping[str, Mapping[str, Any]] | None = attrs.field(default=None, eq=False)
    ids_key: object = None  # identifies the ids (their file and its modification time): ids compare by this
    functions: tuple[str, ...] | None = None
    deid_compat: bool = False
    tables: Any = attrs.field(default=None, eq=False)  # deidlang.tables.Tables: the lookups are checked against them
    tables_key: object = None  # identifies the tables (their files and modification times): tables compare by this


class Token(NamedTuple):
    """One piece of a line: where it is, what it is, and the node it comes from."""

    span: Span
    kind: str  # see TOKEN_KINDS
    node: Any = None


#: Token kinds: statement words, section and label names, fields, values...
TOKEN_KINDS = (
    "keyword",  # actions, FIELD/SPLIT, LABEL, FORMAT, predicates, coordinate keywords
    "section",  # %header, %values...
    "group",  # the name of a %values/%fields section (a definition)
    "label",  # the name of a LABEL block, or FORMAT's value
    "field",  # a field expression (node: the Field)
    "value",  # a literal value (node: the Literal)
    "variable",  # var:NAME
    "function",  # func:NAME, deid_func:NAME
    "parameter",  # a deid_func argument or SPLIT option name=value
    "pattern",  # a value filter, a criterion value
    "operator",  # + and ||
    "number",  # coordinates
    "comment",
)


def _sub(span: Span, start: int, length: int) -> Span:
    col = span.column + start
    return Span(span.line, col, span.line, col + length)


def tokens_of(node: Any, line: str) -> Iterator[Token]:
    """The tokens of one parsed line, in order (without its comment)."""
    if isinstance(node, nodes.ActionLine):
        yield Token(node.verb_span, "keyword", node)
        yield Token(node.field.span, "field", node.field)
        if node.value is not None:
            yield from _value_tokens(node.value)
    elif isinstance(node, nodes.CriterionLine):
        yield from _criterion_tokens(node, line)
    elif isinstance(node, nodes.LabelLine):
        yield Token(_sub(node.span, 0, 5), "keyword", node)
        if node.name:
            start = line.index(node.name, node.span.column + 4)
            yield Token(Span(node.span.line, start + 1, node.span.line, start + 1 + len(node.name)), "label", node)
    elif isinstance(node, nodes.CoordLine):
        yield Token(_sub(node.span, 0, len(node.keyword)), "keyword", node)
        spec = node.spec
        if isinstance(spec, nodes.FromField):
            yield Token(_sub(spec.span, 0, 5), "keyword", spec)
            yield Token(spec.field.span, "field", spec.field)
        else:
            yield Token(spec.span, "number" if isinstance(spec, nodes.Box) else "keyword", spec)
    elif isinstance(node, nodes.SectionLine):
        yield Token(node.keyword_span, "section", node)
        name = section_name_span(node, line)
        if name is not None:
            yield Token(name, "group" if node.kind in ("values", "fields") else "label", node)
    elif isinstance(node, nodes.GroupLine):
        yield Token(node.verb_span, "keyword", node)
        yield Token(node.field.span, "field", node.field)
        for opt in node.options:
            yield Token(opt.span, "parameter", opt)
    elif isinstance(node, nodes.FormatLine):
        yield Token(_sub(node.span, 0, len(node.keyword)), "keyword", node)
        if node.value:
            start = node.span.column - 1 + len(node.keyword)
            while start < len(line) and line[start] in " \t\f\v\u00a0\ufeff":
                start += 1
            yield Token(Span(node.span.line, start + 1, node.span.line, node.span.end_column), "label", node)


def section_name_span(node: nodes.SectionLine, line: str) -> Span | None:
    if not node.name:
        return None
    start = line.index(node.name, node.keyword_span.end_column - 1)
    return Span(node.span.line, start + 1, node.span.line, start + 1 + len(node.name))


def _value_tokens(value: Any) -> Iterator[Token]:
    if isinstance(value, nodes.VarRef):
        yield Token(value.span, "variable", value)
    elif isinstance(value, nodes.FuncRef):
        yield Token(value.span, "function", value)
    elif isinstance(value, nodes.DeidFunc):
        yield Token(_sub(value.span, 0, len("deid_func:") + len(value.name)), "function", value)
        for arg in value.args:
            yield Token(arg.span, "parameter", arg)
    elif isinstance(value, nodes.ValueFilter):
        yield Token(value.span, "pattern", value)
    else:
        yield Token(value.span, "value", value)


def _criterion_tokens(node: nodes.CriterionLine, line: str) -> Iterator[Token]:
    n = node.span.line
    prev_end = node.span.column - 1  # 0-based index where the search for an operator starts
    for i, c in enumerate(node.criteria):
        if i or node.operator is not None:
            start = c.span.column - 1
            gap = line[prev_end:start]
            for op in ("||", "+"):
                j = gap.find(op)
                if j >= 0:
                    yield Token(Span(n, prev_end + j + 1, n, prev_end + j + 1 + len(op)), "operator", node)
                    break
        yield Token(_sub(c.span, 0, len(c.predicate)), "keyword", c)
        yield Token(c.field.span, "field", c.field)
        if c.value_span is not None:
            yield Token(c.value_span, "pattern", c)
        prev_end = c.span.end_column - 1


def comment_start(line: str, node: Any) -> int | None:
    """The 0-based index where the line's comment starts, if it has one."""
    if node is None:
        stripped = line.lstrip()
        return len(line) - len(stripped) if stripped.startswith("#") else None
    i = line.find("#", node.span.end_column - 1)
    return i if i >= 0 else None


# --------------------------------------------------------------------------- the document


class GroupDef(NamedTuple):
    kind: str  # "values" | "fields"
    name: str
    span: Span  # the name on the section line
    section: nodes.SectionLine


class GroupUse(NamedTuple):
    kind: str
    name: str
    span: Span  # the name after "fields:" / "values:"
    whole: Span  # the whole reference


class Analysis:
    """A document's text, parse, diagnostics and indexes."""

    def __init__(self, text: str, path: str, options: Options, version: int | None = None):
        self.version = version
        self.options = options
        self.source = Source(text, path)
        with collector.paused():  # over both: the tree is still alive between them
            self.parsed = parser.parse(self.source)
            with given(options.tables):  # lookup tables (deidlang/checks/tables.py)
                self.diagnostics: list[Diagnostic] = findings(self.parsed, ids=options.ids, functions=options.functions, deid_compat=options.deid_compat)
        self.by_line: dict[int, Any] = {node.span.line: node for node in self.parsed.items}

    @property
    def text(self) -> str:
        return self.source.text

    @property
    def lines(self) -> tuple[str, ...]:
        return self.source.lines

    @property
    def recipe(self) -> nodes.Recipe:
        return self.parsed.recipe

    def line_tokens(self, number: int) -> list[Token]:
        node = self.by_line.get(number)
        if node is None:
            return []
        return list(tokens_of(node, self.source.line(number)))

    def token_at(self, line: int, column: int) -> Token | None:
        """The token under a 1-based position (a cursor right after a token is on it)."""
        for tok in self.line_tokens(line):
            if tok.span.column <= column <= tok.span.end_column:
                return tok
        return None

    # -- sections, groups
    def section_at(self, line: int) -> tuple[str | None, bool]:
        """The kind of section a line is in, and whether it is inside a LABEL block."""
        kind: str | None = None
        in_label = False
        for number in sorted(n for n in self.by_line if n <= line):
            node = self.by_line[number]
            if isinstance(node, nodes.SectionLine):
                kind, in_label = node.kind, False
            elif isinstance(node, nodes.LabelLine) and number < line:
                in_label = kind == "filter"
        return kind, in_label

    @functools.cached_property
    def group_defs(self) -> list[GroupDef]:
        out = []
        for node in self.parsed.items:
            if isinstance(node, nodes.SectionLine) and node.kind in ("values", "fields") and node.name:
                span = section_name_span(node, self.source.line(node.span.line))
                if span is not None:
                    out.append(GroupDef(node.kind, node.name, span, node))
        return out

    @functools.cached_property
    def group_uses(self) -> list[GroupUse]:
        out = []
        for node in self.parsed.items:
            for tok in tokens_of(node, self.source.line(node.span.line)):
                target = tok.node
                if tok.kind == "field" and isinstance(target, nodes.GroupRef):
                    out.append(GroupUse(target.kind, target.name, _sub(target.span, len(target.kind) + 1, len(target.name)), target.span))
                elif tok.kind == "pattern" and isinstance(target, nodes.ValueFilter) and target.kind == "values":
                    out.append(GroupUse("values", target.argument, _sub(target.span, len("values:"), len(target.argument)), target.span))
        return out

    def group_members(self, kind: str, name: str) -> tuple[nodes.GroupLine, ...]:
        return self.recipe.groups(kind).get(name, ())

    def group_at(self, line: int, column: int) -> tuple[str, str] | None:
        """The (kind, name) of the group defined or referred to at a position."""
        for d in self.group_defs:
            if d.span.line == line and d.span.column <= column <= d.span.end_column:
                return d.kind, d.name
        for u in self.group_uses:
            if u.whole.line == line and u.whole.column <= column <= u.whole.end_column:
                return u.kind, u.name
        return None

    # -- header lines
    @functools.cached_property
    def header_lines(self) -> tuple[nodes.ActionLine, ...]:
        return self.recipe.header
