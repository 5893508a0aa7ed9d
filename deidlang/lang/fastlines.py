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
from functools import partial
from typing import Any, Mapping

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
        # One-regex shapes for the commonest lines (no quotes, no inline operators),
        # tried as one alternation on every line by the parse loop: the alternative that
        # matches (m.lastindex: the outer group closes last) picks the handler. Each
        # shape starts with its own keyword, so at most one can match a line. The groups
        # decide *where* tokens are; what they are is either certain from the shape (a
        # plain keyword, a literal without ':' or quotes) or re-lexed with the terminals.
        # The leading white space is matched once for all shapes, each shape starts with
        # a look-ahead at its first character (so a line fails the others at once), the
        # commonest shapes come first and blank or comment lines last.
        ws, end = r"[ \t]", r"[ \t]*(?:#.*)?$"
        # a field only NAME can take, made a Keyword: ASCII letters and digits starting
        # with a letter, not eight hex digits (a TAG), not ALL (AllFields), ending the word
        after = r"(?:[ \t#]|\Z)"
        keyword = rf"(?![0-9A-Fa-f]{{8}}{after})(?!(?i:all){after})[A-Za-z][A-Za-z0-9]*(?={after})"
        field = r"[^\s#\"']+"
        shapes = {
            "criterion": rf"(?=[+|cCnNeEmMpP])(?:(?P<c_op>\+|\|\|){ws}*)?(?P<c_pred>{rx['VALUE_PREDICATE'].pattern}|{rx['BARE_PREDICATE'].pattern})"
            rf"{ws}+(?:(?P<c_kw>{keyword})|(?P<c_field>{field}))(?:{ws}+(?P<c_term>[^\s#](?:[^#\r\n]*[^\s#])?))?{end}",
            # coordinate boxes, LABEL and section lines, whole (REST runs to a comment;
            # integers are SIGNED_INT separated by commas, white space allowed around them)
            "box": rf"(?=[cCkK])(?P<b_kw>{rx['COORD_KEYWORD'].pattern}){ws}+(?P<b_x0>{rx['SIGNED_INT'].pattern}){ws}*,{ws}*(?P<b_y0>{rx['SIGNED_INT'].pattern})"
            rf"{ws}*,{ws}*(?P<b_x1>{rx['SIGNED_INT'].pattern}){ws}*,{ws}*(?P<b_y1>{rx['SIGNED_INT'].pattern}){end}",
            "label": rf"(?=[lL])(?P<l_kw>{rx['LABEL'].pattern})(?:{ws}+(?P<l_rest>{rx['REST'].pattern}))?{end}",
            "action": rf"(?=[aAbBjJkKrR])(?P<a_verb>{rx['ACTION'].pattern}){ws}+(?:(?P<a_kw>{keyword})|(?P<a_field>{field}))"
            rf"(?:{ws}+(?:(?P<a_literal>[^\s#\"':](?:[^#\"'\r\n:]*[^\s#\"':])?)|(?P<a_value>[^\s#\"'](?:[^#\"'\r\n]*[^\s#\"'])?)))?{end}",
            "section": rf"(?=%)(?P<s_head>{rx['SECTION'].pattern})(?:{ws}+(?P<s_rest>{rx['REST'].pattern}))?{end}",
        }
        # blank and comment lines (as ``line.lstrip()`` and a '#' after it)
        blank = r"\s*(?s:#.*)?\Z"
        self.shapes = re.compile(f"{ws}*(?:" + "|".join(f"(?P<{name}>{pattern})" for name, pattern in shapes.items()) + f")|(?P<blank>{blank})")
        self.inline_op = re.compile(r"[ \t]+(?:\+|\|\|)[ \t]*(?i:contains|notcontains|equals|notequals|missing|present|empty)(?:[\s#]|\Z)")
        self.bare = rx["BARE_PREDICATE"]
        # criterion lines with inline operators, one criterion at a time: a term runs as
        # lark's TERM does (not into an operator), and ends on a character that is not
        # white space (lark's value is the term with the white space after it stripped)
        term = rf"(?!{rx['OP'].pattern})[^\s#](?:(?:(?!{self.inline_op.pattern})[^#\r\n])*[^\s#])?"
        self.chain_lead = re.compile(rf"{ws}*(?:(?P<op>\+|\|\|){ws}*)?")
        self.chain_piece = re.compile(
            rf"(?P<pred>{rx['VALUE_PREDICATE'].pattern}|{rx['BARE_PREDICATE'].pattern}){ws}+(?:(?P<kw>{keyword})|(?P<field>{field}))(?:{ws}+(?P<term>{term}))?"
        )
        self.chain_op = re.compile(rf"{ws}+(?P<op>\+|\|\|){ws}*")
        self.chain_end = re.compile(end)
        # the planner of each alternative, by its group number (None: blank or comment);
        # they read groups with m.span(i): m.regs would build a pair for every group
        self.makers = {
            "keyword": nodes.maker(nodes.Keyword),
            "all": nodes.maker(nodes.AllFields),
            "literal": nodes.maker(nodes.Literal),
            "var": nodes.maker(nodes.VarRef),
            "func": nodes.maker(nodes.FuncRef),
            "deid_func": nodes.maker(nodes.DeidFunc),
            "value_filter": nodes.maker(nodes.ValueFilter),
        }
        group = self.shapes.groupindex
        planners: list[Any] = [None] * (self.shapes.groups + 1)
        planners[group["criterion"]] = self._criterion_planner(group)
        planners[group["action"]] = self._action_planner(group)
        planners[group["section"]] = self._section_planner(group)
        planners[group["label"]] = self._label_planner(group)
        planners[group["box"]] = self._box_planner(group)
        self.planners = tuple(planners)

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
        """The node of one statement line, or None (a blank or comment line, or not sure:
        lark decides). ``parse`` runs the same steps inline, and builds the lines that
        repeat an earlier line's text from that line's plan."""
        if "\r" in line or "\n" in line:
            return None
        m = self.shapes.match(line)
        if m is not None:
            planner = self.planners[m.lastindex]  # type: ignore[index]  # every alternative is a group: a match has one
            if planner is None:
                return None
            plan = planner(m)
            if plan is not None:
                node = plan(tx.offset + 1)
                if node is not None:
                    return node
        return self._generic(line, tx)

    # -- the planners of the one-regex shapes: match -> plan, or None (not this shape, or
    # not sure: the generic path decides). A plan is a builder partially applied to the
    # line's args: ``plan(n)`` makes the line's node on line ``n``. What a plan holds
    # depends only on the line's text, so ``parse`` makes one per distinct line and
    # builds the repetitions from it (recipes repeat lines: deid's default recipe has
    # 769 statement lines and 428 distinct ones). Closures over the group numbers and
    # the node makers, as they run on most lines of a recipe; columns in args are 1-based.
    def _criterion_planner(self, group: Mapping[str, int]):
        i_op, i_pred, i_kw, i_field, i_term = (group[g] for g in ("c_op", "c_pred", "c_kw", "c_field", "c_term"))
        inline_op = self.inline_op.search
        field_maker = self._field_maker
        chain = self._chain_planner()
        keyword = self.makers["keyword"]
        bare = _BARE
        # the nodes' slots filled inline (see nodes.maker): a criterion line on its own is
        # most of a recipe's lines, and a call per node is a fifth of its cost
        new, span = object.__new__, Span
        Keyword, Criterion, CriterionLine = nodes.Keyword, nodes.Criterion, nodes.CriterionLine
        k_name, k_span = nodes.slot_setters(Keyword)
        c_predicate, c_field, c_value, c_span, c_value_span = nodes.slot_setters(Criterion)
        l_operator, l_criteria, l_operators, l_span = nodes.slot_setters(CriterionLine)

        def build(args, n):
            op, op_col, predicate, pred_col, make_field, text, field_col, field_end, term, term_col, end = args
            if make_field is keyword:
                field = new(Keyword)
                k_name(field, text)
                k_span(field, _SPAN(span, (n, field_col, n, field_end)))
            else:
                field = make_field(text, _SPAN(span, (n, field_col, n, field_end)))
            crit = new(Criterion)
            c_predicate(crit, predicate)
            c_field(crit, field)
            c_value(crit, term)
            cspan = _SPAN(span, (n, pred_col, n, end))
            c_span(crit, cspan)
            c_value_span(crit, None if term is None else _SPAN(span, (n, term_col, n, end)))
            line = new(CriterionLine)
            l_operator(line, op)
            l_criteria(line, (crit,))
            l_operators(line, ())
            l_span(line, cspan if op is None else _SPAN(span, (n, op_col, n, end)))
            return line

        def plan(m):
            line = m.string
            at = m.span
            ps, pe = at(i_pred)
            predicate = line[ps:pe].lower()
            ts, te = at(i_term)
            term = None
            if ts >= 0:
                term = line[ts:te]
                if ("+" in term or "|" in term) and inline_op(line, ts - 1):
                    return chain(line)
                if predicate in bare:
                    return None
            fs, fe = at(i_kw)
            if fs >= 0:  # a plain keyword (see ``keyword`` above)
                make_field = keyword
            else:
                fs, fe = at(i_field)
                make_field = field_maker(line, fs, fe)
                if make_field is None:
                    return None
            os_ = m.start(i_op)
            op = None if os_ < 0 else ("and" if line[os_] == "+" else "or")
            # the term group ends on a character that is not white space: nothing to strip
            end = te + 1 if ts >= 0 else fe + 1
            return partial(build, (op, os_ + 1, predicate, ps + 1, make_field, line[fs:fe], fs + 1, fe + 1, term, ts + 1, end))

        return plan

    def _field_maker(self, line: str, start: int, end: int):
        """The node maker ``(text, span) -> Field`` of the field token at ``line[start:end]``,
        or None when the field terminals would not take exactly that text."""
        text = line[start:end]
        if _plain_word(text):
            return self.makers["all"] if len(text) == 3 and text.lower() == "all" else self.makers["keyword"]
        fm = self.field_rx.match(line, start)
        if fm is None or fm.end() != end:
            return None
        return functools.partial(field_node, fm.lastgroup)

    def _chain_planner(self):
        """Criterion lines with inline operators (``missing A || empty A``, ``+ contains A x
        || contains B y``): criteria and operators matched one at a time."""
        lead, piece, operator, line_end = self.chain_lead.match, self.chain_piece.match, self.chain_op.match, self.chain_end.match
        field_maker = self._field_maker
        keyword = self.makers["keyword"]
        span, criterion, criterion_line = Span, nodes.maker(nodes.Criterion), nodes.maker(nodes.CriterionLine)

        def build(args, n):
            op, op_col, pieces, operators = args
            crits = tuple(
                criterion(
                    predicate,
                    make_field(text, _SPAN(span, (n, field_col, n, field_end))),
                    term,
                    _SPAN(span, (n, pred_col, n, end)),
                    None if term is None else _SPAN(span, (n, term_col, n, end)),
                )
                for predicate, pred_col, make_field, text, field_col, field_end, term, term_col, end in pieces
            )
            return criterion_line(op, crits, operators, _SPAN(span, (n, op_col if op is not None else pieces[0][1], n, pieces[-1][-1])))

        def plan(line):
            m = lead(line)
            assert m is not None  # the lead is optional white space and an optional operator: it always matches
            os_ = m.start("op")
            pieces = []
            operators = []
            pos = m.end()
            while True:
                p = piece(line, pos)
                if p is None:
                    return None
                ps, pe = p.span("pred")
                predicate = line[ps:pe].lower()
                ts, te = p.span("term")
                if ts >= 0 and predicate in _BARE:
                    return None
                fs, fe = p.span("kw")
                if fs >= 0:
                    make_field = keyword
                else:
                    fs, fe = p.span("field")
                    make_field = field_maker(line, fs, fe)
                    if make_field is None:
                        return None
                term = line[ts:te] if ts >= 0 else None
                pieces.append((predicate, ps + 1, make_field, line[fs:fe], fs + 1, fe + 1, term, ts + 1, te + 1 if ts >= 0 else fe + 1))
                pos = p.end()
                o = operator(line, pos)
                if o is None:
                    break
                operators.append("and" if line[o.start("op")] == "+" else "or")
                pos = o.end()
            if line_end(line, pos) is None:
                return None
            op = None if os_ < 0 else ("and" if line[os_] == "+" else "or")
            return partial(build, (op, os_ + 1, tuple(pieces), tuple(operators)))

        return plan

    def _action_planner(self, group: Mapping[str, int]):
        i_verb, i_kw, i_field, i_literal, i_value = (group[g] for g in ("a_verb", "a_kw", "a_field", "a_literal", "a_value"))
        span, keyword, literal, action_line = Span, self.makers["keyword"], nodes.maker(nodes.Literal), nodes.maker(nodes.ActionLine)
        value_maker = self._value_maker
        field_maker = self._field_maker

        def build(args, n):
            verb, verb_col, verb_end, make_field, name, field_col, field_end, make_value, value_col, end, comment = args
            field = make_field(name, _SPAN(span, (n, field_col, n, field_end)))
            value = None if make_value is None else make_value(_SPAN(span, (n, value_col, n, end)))
            return action_line(verb, field, value, comment, _SPAN(span, (n, verb_col, n, end)), _SPAN(span, (n, verb_col, n, verb_end)))

        def plan(m):
            line = m.string
            at = m.span
            vs, ve = at(i_verb)
            fs, fe = at(i_kw)
            if fs >= 0:  # a plain keyword
                make_field = keyword
            else:
                fs, fe = at(i_field)
                make_field = field_maker(line, fs, fe)
                if make_field is None:
                    return None
            end = fe
            make_value = None
            ls, le = at(i_literal)
            if ls >= 0:  # no quote, no ':': no terminal but LITERAL can take it
                text = line[ls:le]
                make_value = functools.partial(literal, text, False, text)
                end = le
            else:
                ls, le = at(i_value)
                if ls >= 0:
                    make_value = value_maker(line, ls, le)
                    if make_value is None:
                        return None
                    end = le
            i = line.find("#", end)
            return partial(
                build, (line[vs:ve], vs + 1, ve + 1, make_field, line[fs:fe], fs + 1, fe + 1, make_value, ls + 1, end + 1, line[i:] if i >= 0 else None)
            )

        return plan

    def _value_maker(self, line: str, start: int, end: int):
        """The node maker ``span -> Value`` of the value at ``line[start:end]`` (which ends
        on a character that is not white space), or None when the value terminals would
        not take exactly that text (or a ``deid_func:`` has arguments: lark reads them)."""
        for kind, rx in self.values:
            m = rx.match(line, start)
            if m and m.end() > start:
                if m.end() != end:
                    return None
                text = m.group()
                if kind == "VAR_REF":
                    return functools.partial(self.makers["var"], text[4:])
                if kind == "FUNC_REF":
                    return functools.partial(self.makers["func"], text[5:])
                if kind == "DEID_FUNC":
                    return functools.partial(self.makers["deid_func"], text[10:], ())
                if kind == "VALUE_FILTER":
                    name, _, argument = text.partition(":")
                    return functools.partial(self.makers["value_filter"], name, argument)
                if kind == "QUOTED":
                    return functools.partial(self.makers["literal"], text[1:-1], True, text)
                return functools.partial(self.makers["literal"], text, False, text)
        return None

    def _section_planner(self, group: Mapping[str, int]):
        i_head, i_rest = group["s_head"], group["s_rest"]
        span, section_line = Span, nodes.maker(nodes.SectionLine)

        def build(args, n):
            keyword, name, column, head_end, end = args
            head = _SPAN(span, (n, column, n, head_end))
            return section_line(keyword, name, head if name is None else _SPAN(span, (n, column, n, end)), head)

        def plan(m):
            hs, he = m.span(i_head)
            rs, re_ = m.span(i_rest)
            name = None if rs < 0 else m.string[rs:re_].rstrip()
            return partial(build, (m.string[hs + 1 : he], name, hs + 1, he + 1, rs + 1 + len(name) if name is not None else he + 1))

        return plan

    def _label_planner(self, group: Mapping[str, int]):
        i_kw, i_rest = group["l_kw"], group["l_rest"]
        span, label_line = Span, nodes.maker(nodes.LabelLine)

        def build(args, n):
            name, column, end = args
            return label_line(name, _SPAN(span, (n, column, n, end)))

        def plan(m):
            ks, ke = m.span(i_kw)
            rs, re_ = m.span(i_rest)
            if rs < 0:
                return partial(build, ("", ks + 1, ke + 1))
            name = m.string[rs:re_].rstrip()
            return partial(build, (name, ks + 1, rs + 1 + len(name)))

        return plan

    def _box_planner(self, group: Mapping[str, int]):
        i_kw, i_x0, i_y0, i_x1, i_y1 = (group[g] for g in ("b_kw", "b_x0", "b_y0", "b_x1", "b_y1"))
        new, span, Box, CoordLine = object.__new__, Span, nodes.Box, nodes.CoordLine
        b_x0, b_y0, b_x1, b_y1, b_span = nodes.slot_setters(Box)
        l_keyword, l_spec, l_span = nodes.slot_setters(CoordLine)

        def build(args, n):
            keyword, x0, y0, x1, y1, column, box_column, end = args
            box = new(Box)
            b_x0(box, x0)
            b_y0(box, y0)
            b_x1(box, x1)
            b_y1(box, y1)
            b_span(box, _SPAN(span, (n, box_column, n, end)))
            line = new(CoordLine)
            l_keyword(line, keyword)
            l_spec(line, box)
            l_span(line, _SPAN(span, (n, column, n, end)))
            return line

        def plan(m):
            line = m.string
            at = m.span
            ks, ke = at(i_kw)
            s0, e0 = at(i_x0)
            s1, e1 = at(i_y0)
            s2, e2 = at(i_x1)
            s3, e3 = at(i_y1)
            x0, y0, x1, y1 = int(line[s0:e0]), int(line[s1:e1]), int(line[s2:e2]), int(line[s3:e3])
            keyword = line[ks:ke].lower()
            if keyword.startswith("ctp"):
                x1, y1 = x0 + x1, y0 + y1
            return partial(build, (keyword, x0, y0, x1, y1, ks + 1, s0 + 1, e3 + 1))

        return plan

    def _head_and_rest(self, line: str, pos: int, head: Any, make: Any) -> Any:
        """A section or label line: its word, then optionally the rest of the line (a name)."""
        p = self._skip(line, pos)
        if p >= len(line) or line[p] == "#":
            return make([head])
        r = self.rest.match(line, p)
        if not r or not self._at_end(line, r.end()):
            return None
        return make([head, _tok("REST", r.group(), p)])

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
            return self._head_and_rest(line, pos, head, tx.section_line)
        if kind == "LABEL":
            return self._head_and_rest(line, pos, head, tx.label_line)
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
