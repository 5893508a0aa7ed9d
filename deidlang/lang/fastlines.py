"""The parser's fast path: common recipe lines recognised without lark, exactly as lark
would tokenise them (or not at all).

:class:`FastLines` is built from the grammar's own terminal regexes (read from the
compiled Lark object by :mod:`deidlang.lang.parser`, which owns it) and builds the nodes
with the parser's transformer methods. Whenever it is not certain it would tokenise a
line exactly as lark does, it returns None and the line goes to lark.
``tests/test_parser_fast.py`` checks that both paths give equal nodes and spans.

Imports nothing of lark (only :mod:`deidlang.lang.parser` does).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from . import nodes
from .nodes import field_node
from .source import Span

#: ``tx`` below is the parser's transformer (:class:`deidlang.lang.parser.ToNodes`), whose
#: methods build the nodes; typed Any here, as this module must not import the parser.
Transformer = Any

__all__ = ["FastLines", "FastToken"]


_SPAN = tuple.__new__  # Span is a NamedTuple: build it without the keyword-argument wrapper


class FastToken:
    """A light stand-in for a lark Token on line 1 (the transformer adds the line
    offset). lark's Token costs ~2 us to build; this costs a third of that."""

    __slots__ = ("type", "value", "line", "column", "end_line", "end_column")

    def __init__(self, kind: str | None, text: str, start: int):
        self.type = kind
        self.value = text
        self.line = self.end_line = 1
        self.column = start + 1
        self.end_column = start + 1 + len(text)

    def __str__(self) -> str:
        return self.value

    def __len__(self) -> int:
        return len(self.value)


_tok = FastToken
_BARE = frozenset(("missing", "present", "empty"))
_HEX8 = re.compile(r"[0-9A-Fa-f]{8}")


def _plain_word(text: str) -> bool:
    """A word only the NAME terminal can take: ASCII letters and digits, starting with a
    letter, and not eight hex digits (a TAG)."""
    return text.isascii() and text.isalnum() and text[0].isalpha() and not (len(text) == 8 and _HEX8.fullmatch(text))


def _keyword_node(text: str, span: Span):
    """The node of a plain word (:func:`_plain_word`), as :func:`field_node` builds it."""
    return nodes.AllFields(text, span) if len(text) == 3 and text.lower() == "all" else nodes.Keyword(text, span)


class FastLines:
    """Recognise common recipe lines without lark, exactly as lark would (or give up)."""

    START_TERMINALS = ("OP", "FORMAT", "SECTION", "ACTION", "GROUP_ACTION", "LABEL", "VALUE_PREDICATE", "BARE_PREDICATE", "COORD_KEYWORD")
    FIELD_TERMINALS = ("PRIVATE_TAG", "TAG", "GROUP_REF", "EXPANDER", "NAME")
    VALUE_TERMINALS = ("VAR_REF", "FUNC_REF", "DEID_FUNC", "VALUE_FILTER", "QUOTED", "LITERAL")

    def __init__(self, terminals):
        rx = {
            t.name: re.compile(
                t.pattern.to_regexp(), t.pattern.flags and functools.reduce(lambda a, b: a | b, (getattr(re, f.upper()) for f in t.pattern.flags), 0) or 0
            )
            for t in terminals
        }
        self.rx = rx
        self.ws = rx["WS_INLINE"]
        # START: one alternation in lark's order; every start terminal is a keyword
        # with a word boundary except SECTION and OP, so they cannot overlap.
        self.start = re.compile("|".join(f"(?P<{n}>{rx[n].pattern})" for n in self.START_TERMINALS))
        self.fields = [(n, rx[n]) for n in self.FIELD_TERMINALS]
        # the field terminals as one ordered alternation: Python takes the first
        # alternative that matches, as lark's lexer takes the first terminal by priority
        self.field_rx = re.compile("|".join(f"(?P<{n}>{rx[n].pattern})" for n in self.FIELD_TERMINALS))
        self.values = [(n, rx[n]) for n in self.VALUE_TERMINALS]
        self.term = rx["TERM"]
        self.op = rx["OP"]
        self.rest = rx["REST"]
        self.word = rx["WORD"]
        self.int = rx["SIGNED_INT"]
        self.all_word = rx["ALL_WORD"]
        self.from_field = rx["FROM_FIELD"]
        # One-regex shapes for the commonest lines (no quotes, no inline operators).
        # Every group is then re-lexed with the terminals above, so these only
        # decide *where* tokens are, never what they are.
        ws, end = r"[ \t]", r"[ \t]*(?:#.*)?$"
        self.simple_action = re.compile(
            rf"{ws}*(?P<verb>{rx['ACTION'].pattern}){ws}+(?P<field>[^\s#\"']+)"
            rf"(?:{ws}+(?P<value>[^\s#\"'](?:[^#\"'\r\n]*[^\s#\"'])?))?{end}"
        )
        self.simple_criterion = re.compile(
            rf"{ws}*(?:(?P<op>\+|\|\|){ws}*)?(?P<pred>{rx['VALUE_PREDICATE'].pattern}|{rx['BARE_PREDICATE'].pattern})"
            rf"{ws}+(?P<field>[^\s#\"']+)(?:{ws}+(?P<term>[^\s#](?:[^#\r\n]*[^\s#])?))?{end}"
        )
        self.criterion_groups = tuple(self.simple_criterion.groupindex[g] for g in ("op", "pred", "field", "term"))
        self.inline_op = re.compile(r"[ \t]+(?:\+|\|\|)[ \t]*(?i:contains|notcontains|equals|notequals|missing|present|empty)(?:[\s#]|\Z)")
        self.bare = rx["BARE_PREDICATE"]
        # LABEL lines and coordinate boxes, whole (REST runs to a comment; integers
        # are SIGNED_INT separated by commas, white space allowed around them)
        self.simple_label = re.compile(rf"{ws}*(?P<kw>{rx['LABEL'].pattern})(?:{ws}+(?P<rest>{rx['REST'].pattern}))?{end}")
        num = rx["SIGNED_INT"].pattern
        self.simple_box = re.compile(
            rf"{ws}*(?P<kw>{rx['COORD_KEYWORD'].pattern}){ws}+(?P<a>{num}){ws}*,{ws}*(?P<b>{num}){ws}*,{ws}*(?P<c>{num}){ws}*,{ws}*(?P<d>{num}){end}"
        )
        # which one-regex shape to try, by the first three letters of the line (lower case)
        self.by_head = {}
        for head in ("con", "not", "equ", "emp", "mis", "pre"):
            self.by_head[head] = self._try_criterion
        for head in ("add", "bla", "jit", "rem", "rep"):
            self.by_head[head] = self._try_action
        for head in ("coo", "ctp"):
            self.by_head[head] = self._try_box
        self.by_head["kee"] = self._try_k
        self.by_head["lab"] = self._try_label

    # -- small lexer steps
    def _skip(self, line: str, pos: int) -> int:
        m = self.ws.match(line, pos)
        return m.end() if m else pos

    def _at_end(self, line: str, pos: int) -> bool:
        """Only whitespace or a comment remains."""
        pos = self._skip(line, pos)
        return pos >= len(line) or line[pos] == "#"

    def _field(self, line: str, pos: int) -> FastToken | None:
        m = self.field_rx.match(line, pos)
        if m and m.end() > pos:
            return _tok(m.lastgroup, m.group(), pos)
        return None

    def _value(self, line: str, pos: int, tx: Transformer):
        for kind, rx in self.values:
            m = rx.match(line, pos)
            if m and m.end() > pos:
                t = _tok(kind, m.group(), pos)
                end = m.end()
                if kind == "DEID_FUNC" and not self._at_end(line, end):
                    return None, 0  # arguments: leave them to lark
                return {
                    "VAR_REF": tx.var_ref,
                    "FUNC_REF": tx.func_ref,
                    "DEID_FUNC": tx.deid_func,
                    "VALUE_FILTER": tx.value_filter,
                    "QUOTED": tx.quoted,
                    "LITERAL": tx.literal,
                }[kind]([t]), end
        return None, 0

    # -- lines
    def line(self, line: str, tx: Transformer):
        if "\r" in line or "\n" in line:
            return None
        shape = self.shape_of(line.lstrip()[:3])
        if shape is not None:
            node = shape(line, tx)
            if node is not None:
                return node
        return self._generic(line, tx)

    # -- one-regex shapes (None: not this shape, or not sure: the generic path decides)
    def _try_criterion(self, line, tx):
        m = self.simple_criterion.match(line)
        return self._simple_criterion(m, tx) if m else None

    def _try_action(self, line, tx):
        m = self.simple_action.match(line)
        return self._simple_action(m, tx) if m else None

    def _try_k(self, line, tx):  # KEEP or keepcoordinates
        return self._try_action(line, tx) or self._try_box(line, tx)

    def shape_of(self, head: str):
        """The one-regex shape to try for a line that starts with ``head`` (its first
        three characters after white space), or None."""
        if head[:1] in ("+", "|"):
            return self._try_criterion
        return self.by_head.get(head.lower())

    def _try_label(self, line, tx):
        m = self.simple_label.match(line)
        if m is None:
            return None
        n = tx.offset + 1
        kw_start, kw_end = m.span("kw")
        rest = m.group("rest")
        if rest is None:
            return nodes.LabelLine("", _SPAN(Span, (n, kw_start + 1, n, kw_end + 1)))
        name = rest.rstrip()
        return nodes.LabelLine(name, _SPAN(Span, (n, kw_start + 1, n, m.start("rest") + 1 + len(name))))

    def _try_box(self, line, tx):
        m = self.simple_box.match(line)
        if m is None:
            return None
        n = tx.offset + 1
        x0, y0, x1, y1 = int(m.group("a")), int(m.group("b")), int(m.group("c")), int(m.group("d"))
        keyword = m.group("kw").lower()
        box_span = _SPAN(Span, (n, m.start("a") + 1, n, m.end("d") + 1))
        if keyword.startswith("ctp"):
            x1, y1 = x0 + x1, y0 + y1
        return nodes.CoordLine(keyword, nodes.Box(x0, y0, x1, y1, box_span), _SPAN(Span, (n, m.start("kw") + 1, n, box_span.end_column)))

    def _generic(self, line: str, tx: Transformer):
        pos = self._skip(line, 0)
        m = self.start.match(line, pos)
        if not m:
            return None
        kind = m.lastgroup
        head = _tok(kind, m.group(), pos)
        pos = m.end()
        if kind == "ACTION":
            return self._action(line, pos, head, tx)
        if kind == "SECTION":
            p = self._skip(line, pos)
            if p >= len(line) or line[p] == "#":
                return tx.section_line([head])
            r = self.rest.match(line, p)
            if not r or not self._at_end(line, r.end()):
                return None
            return tx.section_line([head, _tok("REST", r.group(), p)])
        if kind == "LABEL":
            p = self._skip(line, pos)
            if p >= len(line) or line[p] == "#":
                return tx.label_line([head])
            r = self.rest.match(line, p)
            if not r or not self._at_end(line, r.end()):
                return None
            return tx.label_line([head, _tok("REST", r.group(), p)])
        if kind in ("VALUE_PREDICATE", "BARE_PREDICATE", "OP"):
            return self._criteria(line, m.start(), tx)
        if kind == "GROUP_ACTION":
            p = self._skip(line, pos)
            f = self._field(line, p)
            if f is None or not self._at_end(line, p + len(f)):
                return None  # options (or an error): lark
            return tx.group_line([head, f])
        if kind == "COORD_KEYWORD":
            return self._coords(line, pos, head, tx)
        if kind == "FORMAT":
            words = []
            p = self._skip(line, pos)
            while p < len(line) and line[p] != "#":
                w = self.word.match(line, p)
                if not w:
                    return None
                words.append(_tok("WORD", w.group(), p))
                p = self._skip(line, w.end())
            return tx.format_line([head, *words])
        return None

    def _simple_action(self, m, tx):
        text = m.group("field")
        value_text = m.group("value")
        if _plain_word(text) and (value_text is None or ":" not in value_text):
            # the commonest line: a keyword, and a literal or no value (no quote, no ':',
            # so no terminal but LITERAL can take the value): build the nodes directly
            n = tx.offset + 1
            line = m.string
            fstart, fend = m.span("field")
            field = _keyword_node(text, _SPAN(Span, (n, fstart + 1, n, fend + 1)))
            vstart = m.start("verb")
            verb_span = _SPAN(Span, (n, vstart + 1, n, m.end("verb") + 1))
            if value_text is None:
                value, end = None, fend
            else:
                vs, end = m.span("value")
                value = nodes.Literal(value_text, False, value_text, _SPAN(Span, (n, vs + 1, n, end + 1)))
            i = line.find("#", end)
            return nodes.ActionLine(m.group("verb"), field, value, line[i:] if i >= 0 else None, _SPAN(Span, (n, vstart + 1, n, end + 1)), verb_span)
        f = self._field(m.string, m.start("field"))
        if f is None or len(f) != m.end("field") - m.start("field"):
            return None
        head = FastToken("ACTION", m.group("verb"), m.start("verb"))
        if value_text is None:
            return tx.action_line([head, f])
        value, end = self._value(m.string, m.start("value"), tx)
        if value is None or end != m.end("value"):
            return None
        return tx.action_line([head, f, value])

    def _simple_criterion(self, m, tx):
        """Build the nodes directly (this path takes most filter lines); the
        result is identical to the transformer's (tests/test_parser_fast.py)."""
        op, pred_text, text, term = m.group("op", "pred", "field", "term")
        regs = m.regs
        i_op, i_pred, i_field, i_term = self.criterion_groups
        predicate = pred_text.lower()
        if term is not None:
            tstart = regs[i_term][0]
            if predicate in _BARE or (("+" in term or "|" in term) and self.inline_op.search(m.string, tstart - 1)):
                return None
        fstart, fend = regs[i_field]
        n = tx.offset + 1
        fspan = _SPAN(Span, (n, fstart + 1, n, fend + 1))
        if text.isascii() and text.isalnum() and text[0].isalpha() and len(text) != 8:  # _plain_word, inlined
            field: nodes.Field = nodes.AllFields(text, fspan) if len(text) == 3 and text.lower() == "all" else nodes.Keyword(text, fspan)
        elif _plain_word(text):
            field = nodes.Keyword(text, fspan)
        else:
            fm = self.field_rx.match(m.string, fstart)
            if fm is None or fm.end() != fend:
                return None
            field = field_node(fm.lastgroup, fm.group(), fspan)
        pcol = regs[i_pred][0] + 1
        if term is None:
            cspan = _SPAN(Span, (n, pcol, n, fend + 1))
            crit = nodes.Criterion(predicate, field, None, cspan)
        else:  # the term group ends on a character that is not white space: nothing to strip
            end = tstart + 1 + len(term)
            cspan = _SPAN(Span, (n, pcol, n, end))
            crit = nodes.Criterion(predicate, field, term, cspan, _SPAN(Span, (n, tstart + 1, n, end)))
        if op is None:
            return nodes.CriterionLine(None, (crit,), (), cspan)
        return nodes.CriterionLine("and" if op == "+" else "or", (crit,), (), _SPAN(Span, (n, regs[i_op][0] + 1, n, cspan.end_column)))

    def _action(self, line, pos, head, tx):
        p = self._skip(line, pos)
        if p == pos and p < len(line) and line[p] != "#":
            return None
        f = self._field(line, p)
        if f is None:
            return None
        p2 = p + len(f)
        if self._at_end(line, p2):
            return tx.action_line([head, f])
        p3 = self._skip(line, p2)
        if p3 == p2:
            return None
        value, end = self._value(line, p3, tx)
        if value is None or not self._at_end(line, end):
            return None
        return tx.action_line([head, f, value])

    def _criteria(self, line, pos, tx):
        children: list[Any] = []
        expect_op_first = True
        while True:
            m = self.start.match(line, pos)
            if not m:
                return None
            kind = m.lastgroup
            if kind == "OP":
                if not expect_op_first and not children:
                    return None
                children.append(_tok("OP", m.group(), pos))
                pos = self._skip(line, m.end())
                m = self.start.match(line, pos)
                if not m:
                    return None
                kind = m.lastgroup
            expect_op_first = False
            if kind not in ("VALUE_PREDICATE", "BARE_PREDICATE"):
                return None
            pred = _tok(kind, m.group(), pos)
            p = self._skip(line, m.end())
            if p == m.end():
                return None
            f = self._field(line, p)
            if f is None:
                return None
            pos = p + len(f)
            p = self._skip(line, pos)
            if kind == "VALUE_PREDICATE":
                if p < len(line) and line[p] != "#" and not self.op.match(line, p):
                    if p == pos:
                        return None
                    t = self.term.match(line, p)
                    if not t:
                        return None
                    children.append(tx.valued_criterion([pred, f, _tok("TERM", t.group(), p)]))
                    pos = t.end()
                    p = self._skip(line, pos)
                else:
                    children.append(tx.valued_criterion([pred, f]))
            else:
                children.append(tx.bare_criterion([pred, f]))
            if p >= len(line) or line[p] == "#":
                return tx.criterion_line(children)
            if p == pos:
                return None
            o = self.op.match(line, p)
            if not o:
                return None
            children.append(_tok("OP", o.group(), p))
            pos = self._skip(line, o.end())
            if not self.start.match(line, pos):
                return None

    def _coords(self, line, pos, head, tx):
        p = self._skip(line, pos)
        if p == pos:
            return None
        a = self.all_word.match(line, p)
        if a and self._at_end(line, a.end()):
            return tx.coord_line([head, tx.whole_image([_tok("ALL_WORD", a.group(), p)])])
        ff = self.from_field.match(line, p)
        if ff:
            if not self._at_end(line, ff.end()):
                return None
            return tx.coord_line([head, tx.from_field([_tok("FROM_FIELD", ff.group(), p)])])
        ints = []
        for i in range(4):
            n = self.int.match(line, p)
            if not n:
                return None
            ints.append(_tok("SIGNED_INT", n.group(), p))
            p = self._skip(line, n.end())
            if i < 3:
                if p >= len(line) or line[p] != ",":
                    return None
                p = self._skip(line, p + 1)
        if not self._at_end(line, p):
            return None
        return tx.coord_line([head, tx.box(ints)])
