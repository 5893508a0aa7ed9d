"""Recipe text -> :class:`nodes.Recipe` plus syntax diagnostics.

The only module that imports lark. ``parse`` is a pure function of its
input: the grammar is compiled once per process, and what is kept between
calls is the plan of each line's text (:data:`_PLANS`, see below), never a
tree or a diagnostic.

Strategy: recipes are line-oriented, so every line is parsed on its own
with the grammar's ``line`` start symbol: each bad line gives one diagnostic
and every good line still reaches the checker. Sections and LABEL blocks are
then assembled from the line nodes, which is where structural mistakes (an
action before any section, a LABEL outside ``%filter``...) are reported.

Speed: a lark parse costs ~40 us a line, too slow to check deid's 900-line
default recipe faster than deid reads it. :class:`FastLines` therefore
recognises the common line shapes itself, using the *grammar's own terminal
regexes* (read from the compiled Lark object) tried in lark's priority order,
and builds the nodes with the same transformer methods. The commonest shapes
(a criterion, an action, a LABEL line, a coordinate box, a section line) are
matched by one alternation of one regex each, which gives a *plan*: what the
line's nodes are, without the line number; ``plan(n)`` builds them on line
``n``. A plan depends only on the line's text, so it is made once per distinct
text and kept (recipes repeat lines, and the language server parses the whole
document on every change). Whenever it is not certain it would tokenise a line
exactly as lark does, it returns None and the line goes to lark.
``tests/test_parser_fast.py`` checks, on generated and mutated lines, that both
paths give equal nodes and spans; ``tests/test_parse_corpus.py`` that whole
recipes parse as lark alone parses them, with or without the plans of earlier
parses.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import lark
from lark import Token, Transformer

from . import collector, nodes
from .diagnostics import Diagnostic
from .fastlines import FastLines, FastToken
from .nodes import field_node
from .source import Source, Span
from .suggest import did_you_mean

__all__ = ["ParseResult", "parse", "parse_line", "grammar_text", "STATEMENT_KEYWORDS", "SECTION_KINDS"]

SECTION_KINDS = ("header", "labels", "filter", "values", "fields")
NAMED_SECTIONS = ("filter", "values", "fields")
ACTIONS = ("ADD", "BLANK", "JITTER", "KEEP", "REMOVE", "REPLACE")
STATEMENT_KEYWORDS = (
    *ACTIONS,
    "FIELD",
    "SPLIT",
    "LABEL",
    "FORMAT",
    "contains",
    "notcontains",
    "equals",
    "notequals",
    "missing",
    "present",
    "empty",
    "coordinates",
    "keepcoordinates",
    "ctpcoordinates",
    "ctpkeepcoordinates",
)


def grammar_text() -> str:
    """The grammar: from the installed package, or from ``grammar/`` in a source tree."""
    try:
        return (resources.files("deidlang") / "deid.lark").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return (Path(__file__).resolve().parents[2] / "grammar" / "deid.lark").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _lark() -> lark.Lark:
    return lark.Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        start=["start", "line"],
        maybe_placeholders=False,
    )


@attrs.frozen
class ParseResult:
    """``items``: the node of every statement line that parsed, in file order
    (misplaced ones too, which the recipe leaves out): what tools that work
    line by line need (the formatter, the language server)."""

    recipe: nodes.Recipe
    diagnostics: tuple[Diagnostic, ...]
    source: Source
    items: tuple[nodes.Line, ...] = attrs.field(default=(), eq=False, repr=False)


#: the plan of a blank or comment line: nothing to build
_SKIP = (None, None)

#: The plans of the lines parsed so far in this process, by the line's text (a plan
#: depends on nothing else): a text that comes again, in the same recipe or in a later
#: parse (the language server parses the whole document on every change), is built from
#: its plan without matching it again. Plans are immutable, and only lines that the fast
#: path builds have one: lark's lines (and their diagnostics) are parsed every time.
#: Emptied when it reaches :data:`PLAN_LIMIT` lines.
_PLANS: dict[str, Any] = {}
PLAN_LIMIT = 20_000


def forget_lines() -> None:
    """Empty the plans of the lines parsed so far (the next parse matches every line
    again): for measurements of a text never seen before."""
    _PLANS.clear()


def parse(text: str | Source, *, path: str | None = None) -> ParseResult:
    """Parse recipe text. Never raises for problems in the text. The cyclic garbage
    collector is paused meanwhile (:mod:`.collector`)."""
    source = text if isinstance(text, Source) else Source(text, path or "<string>")
    with collector.paused():
        return _parse(source)


def _parse(source: Source) -> ParseResult:
    name = source.name
    diags: list[Diagnostic] = []
    lines = source.lines
    fast = _fast()
    # the fast path, as FastLines.line, without its checks (lines hold no line break);
    # a line whose text came before is built from that line's plan (or skipped)
    match, planners, generic = fast.shapes.match, fast.planners, fast._generic
    if len(_PLANS) > PLAN_LIMIT:
        _PLANS.clear()
    plans = _PLANS
    items = []
    tx = ToNodes(lines, 0)
    for number, line in enumerate(lines, 1):
        plan = plans.get(line)
        if plan is not None:
            if plan is not _SKIP:
                items.append(plan(number))
            continue
        node = None
        m = match(line)
        if m is not None:
            planner = planners[m.lastindex]  # type: ignore[index]  # every alternative is a group: a match has one
            if planner is None:
                plans[line] = _SKIP  # a blank or comment line
                continue
            plan = planner(m)
            if plan is not None:
                node = plan(number)
                if node is not None:
                    plans[line] = plan
        if node is None:
            tx.offset = number - 1
            node = generic(line, tx)
        if node is None:
            node = _parse_line(line, number, lines, name, diags)
        if node is not None:
            items.append(node)
    recipe = _assemble(items, name, diags, len(lines))
    diags.sort(key=Diagnostic.sort_key)
    return ParseResult(recipe, tuple(diags), source, tuple(items))


def parse_line(line: str, number: int = 1, *, path: str | None = None) -> tuple[nodes.Line | None, tuple[Diagnostic, ...]]:
    """One statement line on its own (no section context): its node, or None and
    the syntax diagnostics. ``number`` is the line number the spans get."""
    if not line.strip() or line.strip()[0] == "#":
        return None, ()
    lines = [""] * (number - 1) + [line]
    tx = ToNodes(lines, number - 1)
    node = _fast().line(line, tx)
    diags: list[Diagnostic] = []
    if node is None:
        node = _parse_line(line, number, lines, path or "<string>", diags)
    return node, tuple(diags)


def _parse_line(line: str, number: int, lines, name: str, diags: list[Diagnostic]):
    try:
        tree = _lark().parse(line, start="line")
        return ToNodes(lines, number - 1).transform(tree)
    except lark.exceptions.UnexpectedInput as err:
        diags.append(_explain(err, line, number, name))
    except lark.exceptions.VisitError as err:  # a value the transformer could not build
        orig = err.orig_exc
        if isinstance(orig, _LineProblem):
            diags.append(Diagnostic.at(orig.span, orig.code, orig.message, orig.hint, file=name))
        else:  # pragma: no cover - a bug in the transformer, still reported as a diagnostic
            diags.append(_at(number, 1, len(line) + 1, "E100", f"cannot parse this line ({orig})", "", name))
    return None


# --------------------------------------------------------------------------- errors


def _at(line: int, col: int, end: int, code: str, msg: str, hint: str, name: str) -> Diagnostic:
    return Diagnostic.at(Span(line, col, line, max(end, col + 1)), code, msg, hint, file=name)


_WORD = re.compile(r"[^\s#]+")


class _LineProblem(Exception):
    def __init__(self, span: Span, code: str, message: str, hint: str = ""):
        super().__init__(message)
        self.span, self.code, self.message, self.hint = span, code, message, hint


def _explain(err: lark.exceptions.UnexpectedInput, line: str, number: int, name: str) -> Diagnostic:
    """Turn a lark error on one line into a diagnostic a person can act on."""
    first = _WORD.search(line)
    assert first is not None  # blank lines are never parsed
    first_word = first.group()
    first_col = first.start() + 1
    col = getattr(err, "column", None) or first_col
    if isinstance(err, lark.exceptions.UnexpectedToken) and err.token.type == "$END":
        col = len(line.rstrip()) + 1
    head = first_word.upper()
    lower = first_word.lower()

    # an unknown word where a statement should start
    if col <= first_col:
        if '"' in line and line.count('"') % 2:
            q = line.index('"')
            return _at(number, q + 1, len(line) + 1, "E111", "unterminated quote", "close the quote with '\"'", name)
        candidates = did_you_mean(first_word, STATEMENT_KEYWORDS, case_insensitive=True)
        hint = (
            candidates
            or "a line starts with an action (ADD BLANK JITTER KEEP REMOVE REPLACE), a %section, FIELD/SPLIT, LABEL, a filter criterion or coordinates"
        )
        return _at(number, first_col, first_col + len(first_word), "E101", f"unknown action or statement '{first_word}'", hint, name)

    rest = line[col - 1 :]
    word_m = _WORD.match(rest)
    word = word_m.group() if word_m else ""
    end = col + max(len(word), 1)
    unexpected = f"unexpected text '{word}'"
    if not word and rest:  # a character no token starts with: name it (a Unicode space shows as nothing)
        kind = "space" if rest[0].isspace() else "character"
        unexpected = f"unexpected {kind} U+{ord(rest[0]):04X}"

    if '"' in rest and rest.count('"') % 2 and (line.count('"') % 2):
        q = line.index('"', col - 1) if '"' in line[col - 1 :] else col - 1
        return _at(number, q + 1, len(line.rstrip()) + 1, "E111", "unterminated quote", "close the quote with '\"'", name)

    if head in ACTIONS or head in ("FIELD", "SPLIT"):
        if col == len(line.rstrip()) + 1 and _WORD.match(line[first.end() :].lstrip() or "") is None:
            return _at(
                number,
                col,
                col + 1,
                "E102",
                f"'{first_word}' needs a field",
                f"write `{head} <field>{' <value>' if head in ('ADD', 'REPLACE', 'JITTER') else ''}`",
                name,
            )
        if head == "SPLIT":
            return _at(
                number,
                col,
                end,
                "E302",
                f"bad SPLIT option '{word}'",
                "write options as name=value pairs separated by ';', e.g. `SPLIT PatientName by=^;minlength=2`",
                name,
            )
        if "deid_func:" in line[: col - 1]:
            return _at(
                number, col, end, "E207", f"bad deid_func argument '{word}'", "deid_func arguments are name=value pairs, e.g. `deid_func:jitter days=3`", name
            )
        return _at(
            number,
            col,
            end,
            "E104",
            unexpected,
            "the value ends the line; a var:/func: reference is a single word (put other text in a comment with '#')",
            name,
        )
    if lower in ("coordinates", "keepcoordinates", "ctpcoordinates", "ctpkeepcoordinates"):
        what = "x,y,w,h" if lower.startswith("ctp") else "x0,y0,x1,y1"
        return _at(number, col, len(line.rstrip()) + 1, "E110", f"malformed {lower}", f"write four integers {what}, 'all', or from:<Field>", name)
    if lower in ("contains", "notcontains", "equals", "notequals", "missing", "present", "empty"):
        if col == len(line.rstrip()) + 1:
            return _at(
                number,
                col,
                col + 1,
                "E102",
                "filter criterion needs a field",
                f"write `{lower} <Field>{' <value>' if lower in ('contains', 'notcontains', 'equals', 'notequals') else ''}`",
                name,
            )
        if lower in ("missing", "present", "empty") or (isinstance(err, lark.exceptions.UnexpectedToken) and err.token.type == "TERM"):
            return _at(
                number,
                col,
                len(line.rstrip()) + 1,
                "E104",
                f"unexpected text '{line[col - 1 :].strip()}' after the field",
                "missing/present/empty take only a field; join criteria with ' + ' or ' || '",
                name,
            )
    if first_word in ("+", "||"):
        return _at(
            number,
            first_col,
            len(line.rstrip()) + 1,
            "E101",
            f"'{first_word}' must be followed by a filter criterion",
            "write e.g. `+ contains Modality CT`",
            name,
        )
    return _at(number, col, end, "E104", unexpected, "", name)


# --------------------------------------------------------------------------- tree -> nodes


class ToNodes(Transformer):
    """lark tree -> nodes. ``offset`` is added to line numbers (per-line parsing)."""

    def __init__(self, lines, offset: int):
        super().__init__(visit_tokens=False)
        self.lines = lines
        self.offset = offset

    # -- helpers
    def _span(self, first: Any, last: Any = None) -> Span:
        last = last or first
        off = self.offset
        return Span(first.line + off, first.column, last.end_line + off, last.end_column)

    def _comment_after(self, last: Any) -> str | None:
        text = self.lines[last.end_line + self.offset - 1] if last.end_line + self.offset - 1 < len(self.lines) else ""
        rest = text[last.end_column - 1 :]
        i = rest.find("#")
        return rest[i:] if i >= 0 else None

    def _field(self, tok: Token) -> nodes.Field:
        return field_node(tok.type, str(tok), self._span(tok))

    # -- start
    def start(self, children):
        return lark.Tree("start", children)

    # -- lines
    def format_line(self, children):
        kw, *words = children
        value = " ".join(str(w) for w in words)
        return nodes.FormatLine(str(kw), value, self._span(kw, words[-1] if words else kw))

    def section_line(self, children):
        head = children[0]
        name = str(children[1]).rstrip() if len(children) > 1 else None
        last = children[-1]
        span = self._span(head, last)
        if len(children) > 1:
            span = span._replace(end_column=last.column + len(name))  # type: ignore[arg-type]  # a name with its children
        return nodes.SectionLine(str(head)[1:], name, span, self._span(head))

    def action_line(self, children):
        verb, ftok, *rest = children
        field = self._field(ftok)
        value = rest[0] if rest else None
        last_end = value.span if value is not None else field.span
        span = Span(verb.line + self.offset, verb.column, last_end.end_line, last_end.end_column)
        comment = self._comment_after_span(last_end)
        return nodes.ActionLine(str(verb), field, value, comment, span, self._span(verb))

    def _comment_after_span(self, span: Span) -> str | None:
        idx = span.end_line - 1
        if not 0 <= idx < len(self.lines):
            return None
        rest = self.lines[idx][span.end_column - 1 :]
        i = rest.find("#")
        return rest[i:] if i >= 0 else None

    def group_line(self, children):
        verb, ftok, *rest = children
        field = self._field(ftok)
        options = rest[0] if rest else ()
        end = options[-1].span if options else field.span
        span = Span(verb.line + self.offset, verb.column, end.end_line, end.end_column)
        return nodes.GroupLine(str(verb), field, tuple(options), span, self._span(verb))

    def split_options(self, children):
        return tuple(children)

    def split_option(self, children):
        name = children[0]
        value = children[1] if len(children) > 1 else None
        text = str(value) if value is not None else ""
        return nodes.SplitOption(str(name), text, self._span(name, value or name))

    def label_line(self, children):
        head = children[0]
        name = str(children[1]).rstrip() if len(children) > 1 else ""
        span = self._span(head)
        if len(children) > 1:
            t = children[1]
            span = Span(span.line, span.column, t.line + self.offset, t.column + len(name))
        return nodes.LabelLine(name, span)

    def criterion_line(self, children):
        lead = None
        items = list(children)
        first_tok = None
        if isinstance(items[0], (Token, FastToken)) and items[0].type == "OP":
            first_tok = items.pop(0)
            lead = "and" if str(first_tok) == "+" else "or"
        criteria = tuple(c for c in items if isinstance(c, nodes.Criterion))
        ops = tuple("and" if str(t) == "+" else "or" for t in items if isinstance(t, (Token, FastToken)))
        start = self._span(first_tok) if first_tok is not None else criteria[0].span
        end = criteria[-1].span
        return nodes.CriterionLine(lead, criteria, ops, Span(start.line, start.column, end.end_line, end.end_column))

    def valued_criterion(self, children):
        pred, ftok, *rest = children
        field = self._field(ftok)
        value = str(rest[0]).rstrip() if rest else None
        vspan = None
        if rest:
            t = rest[0]
            vspan = Span(t.line + self.offset, t.column, t.line + self.offset, t.column + len(value))  # type: ignore[arg-type]  # rest: a value
        end = vspan or field.span
        return nodes.Criterion(str(pred).lower(), field, value, Span(pred.line + self.offset, pred.column, end.end_line, end.end_column), vspan)

    def bare_criterion(self, children):
        pred, ftok = children
        field = self._field(ftok)
        return nodes.Criterion(str(pred).lower(), field, None, Span(pred.line + self.offset, pred.column, field.span.end_line, field.span.end_column))

    def coord_line(self, children):
        kw, spec = children
        keyword = str(kw).lower()
        if keyword.startswith("ctp") and isinstance(spec, nodes.Box):
            spec = nodes.Box(spec.x0, spec.y0, spec.x0 + spec.x1, spec.y0 + spec.y1, spec.span)
        return nodes.CoordLine(keyword, spec, Span(kw.line + self.offset, kw.column, spec.span.end_line, spec.span.end_column))

    def box(self, children):
        a, b, c, d = children
        return nodes.Box(int(str(a)), int(str(b)), int(str(c)), int(str(d)), self._span(a, d))

    def whole_image(self, children):
        return nodes.WholeImage(self._span(children[0]))

    def from_field(self, children):
        tok = children[0]
        inner = Token("NAME", str(tok)[5:], line=tok.line, column=tok.column + 5, end_line=tok.end_line, end_column=tok.end_column)
        sub = _field_token(inner)
        return nodes.FromField(self._field(sub), self._span(tok))

    # -- values
    def var_ref(self, children):
        t = children[0]
        return nodes.VarRef(str(t)[4:], self._span(t))

    def func_ref(self, children):
        t = children[0]
        return nodes.FuncRef(str(t)[5:], self._span(t))

    def deid_func(self, children):
        t, *args = children
        return nodes.DeidFunc(
            str(t)[10:],
            tuple(args),
            self._span(t, None) if not args else Span(t.line + self.offset, t.column, args[-1].span.end_line, args[-1].span.end_column),
        )

    def func_arg(self, children):
        name = children[0]
        value = children[1] if len(children) > 1 else None
        return nodes.FuncArg(str(name), str(value) if value is not None else "", self._span(name, value or name))

    def value_filter(self, children):
        t = children[0]
        kind, _, arg = str(t).partition(":")
        return nodes.ValueFilter(kind, arg, self._span(t))

    def quoted(self, children):
        t = children[0]
        raw = str(t)
        return nodes.Literal(raw[1:-1], True, raw, self._span(t))

    def literal(self, children):
        t = children[0]
        text = str(t).rstrip()
        return nodes.Literal(text, False, text, Span(t.line + self.offset, t.column, t.line + self.offset, t.column + len(text)))


_FIELD_PATTERNS: list[tuple[str, re.Pattern]] = []


def _field_token(tok: Token) -> Token:
    """Classify a field written after ``from:`` the way the lexer would."""
    if not _FIELD_PATTERNS:
        terms = {t.name: t for t in _lark().terminals}
        for n in ("PRIVATE_TAG", "TAG", "GROUP_REF", "EXPANDER", "NAME"):
            _FIELD_PATTERNS.append((n, re.compile(terms[n].pattern.to_regexp())))
    for n, rx in _FIELD_PATTERNS:
        m = rx.match(str(tok))
        if m and m.end() == len(tok):
            return Token(n, str(tok), line=tok.line, column=tok.column, end_line=tok.end_line, end_column=tok.end_column)
    return Token("NAME", str(tok), line=tok.line, column=tok.column, end_line=tok.end_line, end_column=tok.end_column)


# --------------------------------------------------------------------------- structure


def _assemble(items, name: str, diags: list[Diagnostic], nlines: int) -> nodes.Recipe:
    formats: list[nodes.FormatLine] = []
    sections: list[nodes.Section] = []
    current: dict | None = None  # {"kind", "name", "span", "body": [...]}
    # the open LABEL block: its name and span, and the lists its lines go to (None: no block open)
    label_name = ""
    label_span = Span(0, 0, 0, 0)
    criteria: list | None = None
    coords: list = []
    unknown_section = False
    make_label = nodes.maker(nodes.Label)

    def close_label():
        nonlocal criteria
        if criteria is not None and current is not None:
            current["body"].append(make_label(label_name, tuple(criteria), tuple(coords), label_span))
        criteria = None

    def close_section():
        nonlocal current
        close_label()
        if current is not None:
            sections.append(nodes.Section(current["kind"], current["name"], tuple(current["body"]), current["span"]))
        current = None

    def err(span: Span, code: str, msg: str, hint: str = ""):
        diags.append(Diagnostic.at(span, code, msg, hint, file=name))

    Criterion, Coord, Action = nodes.CriterionLine, nodes.CoordLine, nodes.ActionLine
    body: list | None = None  # the body of the open %header or %labels section
    kind: str | None
    for item in items:
        t = type(item)
        # the commonest cases first: a line of an open LABEL block, an action of a header
        if criteria is not None:
            if t is Criterion:
                criteria.append(item)
                continue
            if t is Coord:
                coords.append(item)
                continue
        if t is Action and body is not None:
            body.append(item)
            continue
        if isinstance(item, nodes.FormatLine):
            formats.append(item)
            continue
        if isinstance(item, nodes.SectionLine):
            close_section()
            body = None
            kind = item.kind
            unknown_section = False
            if kind not in SECTION_KINDS:
                unknown_section = True
                hint = (
                    did_you_mean(kind, SECTION_KINDS, prefix="%", case_insensitive=True)
                    or "sections are %header, %labels, %filter NAME, %values NAME and %fields NAME"
                )
                label_text = f"%{item.keyword}" if item.keyword else "%"
                err(item.keyword_span, "E105", f"unknown section '{label_text}'", hint)
                continue
            name_ = item.name
            if kind in NAMED_SECTIONS and not name_:
                err(
                    item.span,
                    "E106",
                    f"%{kind} needs a name",
                    f"write `%{kind} NAME`; actions refer to it as {'fields' if kind == 'fields' else 'values'}:NAME"
                    if kind != "filter"
                    else "write `%filter NAME` (e.g. `%filter blacklist`)",
                )
            elif kind not in NAMED_SECTIONS and name_:
                err(item.span, "E106", f"%{kind} does not take a name", f"write `%{kind}` alone (deid crashes on a named %{kind})")
                name_ = None
            current = {"kind": kind, "name": name_, "span": item.span, "body": []}
            if kind in ("header", "labels"):
                body = current["body"]
            continue
        if unknown_section:
            continue  # already reported at the section line
        kind = current["kind"] if current else None
        if isinstance(item, nodes.ActionLine):
            if kind in ("header", "labels"):
                current["body"].append(item)  # type: ignore[index]  # a kind: a section is open
            elif kind is None:
                err(item.verb_span, "E107", f"'{item.verb}' outside any section", "put `%header` on a line before the actions")
            else:
                err(
                    item.verb_span,
                    "E108",
                    f"'{item.verb}' is not allowed in %{kind}",
                    "header actions go under %header" + (" (use FIELD/SPLIT here)" if kind in ("values", "fields") else ""),
                )
            continue
        if isinstance(item, nodes.GroupLine):
            if kind == "values" or (kind == "fields" and item.action == "FIELD"):
                current["body"].append(item)  # type: ignore[index]  # a kind: a section is open
            elif kind == "fields":
                err(item.verb_span, "E108", f"'{item.verb}' is not allowed in %fields", "%fields takes only FIELD lines; SPLIT belongs in %values")
            else:
                where = f"in %{kind}" if kind else "outside any section"
                err(
                    item.verb_span,
                    "E108" if kind else "E107",
                    f"'{item.verb}' {where}",
                    "FIELD and SPLIT lines belong in a `%values NAME` or `%fields NAME` section",
                )
            continue
        if isinstance(item, nodes.LabelLine):
            if kind == "filter":
                close_label()
                label_name, label_span, criteria, coords = item.name, item.span, [], []
                if not item.name:
                    err(item.span, "E102", "LABEL needs a name", "write `LABEL <name>`")
            else:
                err(
                    item.span,
                    "E108" if kind else "E107",
                    f"LABEL {'in %' + kind if kind else 'outside any section'}",
                    "LABEL blocks belong in a `%filter NAME` section",
                )
            continue
        if isinstance(item, (nodes.CriterionLine, nodes.CoordLine)):
            what = "filter criterion" if isinstance(item, nodes.CriterionLine) else item.keyword
            if kind == "filter":
                err(item.span, "E109", f"{what} before the first LABEL", "start a block with `LABEL <name>` first")
            else:
                err(
                    item.span,
                    "E109" if kind == "filter" else ("E108" if kind else "E107"),
                    f"{what} {'in %' + kind if kind else 'outside any section'}",
                    "filter criteria and coordinates belong in a LABEL block under `%filter NAME`",
                )
            continue
    close_section()
    return nodes.Recipe(tuple(formats), tuple(sections), Span(1, 1, max(nlines, 1), 1))


# --------------------------------------------------------------------------- fast path


@functools.lru_cache(maxsize=1)
def _fast() -> FastLines:
    return FastLines(_lark().terminals)
