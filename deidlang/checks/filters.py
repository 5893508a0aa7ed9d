"""Checks of ``%filter`` sections: criteria (fields, predicates, patterns, how deid
splits and chains them) and coordinates."""

from __future__ import annotations

import functools
import re
from typing import Iterator

from ..lang import nodes
from ..lang.diagnostics import Diagnostic
from .context import (
    BARE_PREDICATES,
    PREDICATES,
    UPPER_ESCAPE_RE,
    VALUED_PREDICATES,
    Context,
    exact_attr,
    folded_attr,
    regex_cost,
    regex_error,
    span_after,
    sub_span,
    suggest_keyword,
    tag_attr,
    tag_text,
    unbounded_regex,
)

# --------------------------------------------------------------------------- filters


def check_criteria(ctx: Context) -> Iterator[Diagnostic]:
    """Criterion lines: values, fields, operators, comments and deid's line splitting.

    What :func:`_criterion_line` finds is a function of the line's text (its nodes are
    parsed from that text alone), so a line whose text gave nothing before gives nothing
    again: recipes repeat criterion lines (``+ contains Modality US``...)."""
    lines = ctx.lines
    quiet: set[str] = set()
    for lab in ctx.labels:
        index = 0
        for cl in lab.criteria:
            span = cl.span
            if index and cl.operator == "or":
                yield ctx.diag(
                    sub_span(span, 0, 2),
                    "W409",
                    "deid ANDs every criterion line of a LABEL, so this '||' line must hold too; deidlang ORs it with the lines above",
                    "put alternatives on one line (`contains A x || contains B y`) to get the same result from both",
                )
            index += 1
            line = lines[span[0] - 1]
            if line in quiet:
                continue
            found = _criterion_line(ctx, cl, line)
            if found:
                yield from found
            else:
                quiet.add(line)


def _criterion_line(ctx: Context, cl: nodes.CriterionLine, line: str) -> list[Diagnostic]:
    """What one criterion line says, but W409 (which depends on the lines above it)."""
    out: list[Diagnostic] = []
    crits = cl.criteria
    for c in crits:
        f = c.field
        value = c.value
        predicate = c.predicate
        if value is None:
            if predicate in VALUED_PREDICATES:
                out.append(
                    ctx.diag(
                        span_after(f.span),
                        "E303",
                        f"'{predicate}' needs a value after the field",
                        f"write `{predicate} {f.text} <value>` (deid exits on this line)",
                    )
                )
        if type(f) is nodes.Keyword:
            attr = exact_attr(f.name)
            if attr is None:
                out.extend(_filter_keyword(ctx, f))
            elif attr.vm != "1" and predicate in _EQUALS:
                out.append(
                    ctx.diag(
                        f.span,
                        "W411",
                        f"'{f.name}' can hold several values: deid's {predicate} then compares the Python text of the whole list (\"['A', 'B']\"); deidlang compares value by value",
                        f"use `contains {f.name} ...` to get the same result from both",
                    )
                )
        else:
            out.extend(_filter_field(ctx, c))
        if value and predicate in _CONTAINS and not quiet_pattern(value):
            out.extend(_criterion_regex(ctx, c))
    if len(crits) > 1:
        out.extend(_chain(ctx, cl))
    if "#" not in line and "\t" not in line and "||" not in line and line.count("+") == (cl.operator == "and") and "  " not in line.strip():
        return out  # most lines: no comment, and nothing deid would cut differently
    _, column, _, end = cl.span
    body = line[column - 1 : end - 1]
    if cl.operator is not None:
        body = body[1 if body[0] == "+" else 2 :].strip()
    if "+" in body or "||" in body or "  " in body or "\t" in body:
        out.extend(_deid_split(ctx, cl, body))
    if "#" in line and line.find("#", end - 1) >= 0:
        out.append(_criterion_comment(ctx, cl, line))
    return out


_EQUALS = frozenset(("equals", "notequals"))
_CONTAINS = frozenset(("contains", "notcontains"))


def _criterion_comment(ctx: Context, cl: nodes.CriterionLine, line: str) -> Diagnostic:
    tail = line[cl.span.end_column - 1 :]
    last = cl.criteria[-1]
    comment = tail[tail.index("#") :].rstrip()
    if last.value is not None:
        what = f"part of the value ('{last.value} {comment}'), so the criterion never matches"
    else:
        what = f"part of the field ('{last.field.text} {comment}'), which never exists"
    return ctx.diag(cl.span, "W401", f"deid makes the comment {what}; deidlang ignores the comment", "move the comment to its own line")


def _filter_keyword(ctx: Context, f: nodes.Keyword) -> Iterator[Diagnostic]:
    attr = folded_attr(f.name)
    if attr is None:
        yield ctx.diag(
            f.span,
            "W201",
            f"unknown DICOM keyword '{f.name}': this criterion never sees a value",
            suggest_keyword(f.name) or "filters read top-level elements by keyword",
        )
    else:
        yield ctx.diag(
            f.span,
            "W411",
            f"deid looks up filter fields case-sensitively, so '{f.name}' is always missing under deid; deidlang reads {attr.keyword}",
            f"write '{attr.keyword}'",
        )


def _filter_field(ctx: Context, c: nodes.Criterion) -> Iterator[Diagnostic]:
    f = c.field
    if isinstance(f, nodes.Tag):
        text = f.text
        if text[:2].lower() == "0x":
            if c.predicate in VALUED_PREDICATES:
                yield ctx.diag(
                    f.span,
                    "W411",
                    f"deid compares '{text}' as the whole element text (tag, name, VR and value); deidlang compares the value",
                    _keyword_hint(f.value),
                )
            return
        if c.predicate == "empty" and text.isalnum():
            what = "empty is true whenever the element is present"
        else:
            what = "it is always missing"
        yield ctx.diag(f.span, "W411", f"deid does not understand '{text}' in a filter ({what}); deidlang reads {tag_text(f.value)}", _keyword_hint(f.value))
    else:
        what = {
            nodes.NestedName: "filters see only top-level elements",
            nodes.UidPath: "filters see only top-level elements",
        }.get(type(f), "filters read one top-level element by keyword")
        yield ctx.diag(
            f.span,
            "W411",
            f"deid treats '{f.text}' as a keyword that never exists ({what}); deidlang reads it as a field expression",
            "use a top-level keyword",
        )


def _keyword_hint(tag: int) -> str:
    attr = tag_attr(tag)
    if attr is not None and attr.tag is not None:
        return f"write the keyword '{attr.keyword}'"
    return "write the keyword, or 0xGGGGEEEE with missing/present/empty"


#: A criterion value with no quantifier, class, group or escape: literal text, '.', anchors
#: and '|' always compile and repeat nothing, so :func:`_criterion_regex` has nothing to say.
_PLAIN_PATTERN = re.compile(r"[^*+?{}\[\]\\()]*")


@functools.lru_cache(maxsize=1024)
def quiet_pattern(value: str) -> bool:
    """Whether :func:`_criterion_regex` finds nothing to say about a criterion value."""
    if _PLAIN_PATTERN.fullmatch(value):
        return True  # (most values: no need to compile and analyse them)
    if regex_error(value) is not None or ("\\" in value and UPPER_ESCAPE_RE.search(value)):
        return False
    cost = regex_cost(value.strip())
    return cost is None or not cost.risk


def _criterion_regex(ctx: Context, c: nodes.Criterion) -> Iterator[Diagnostic]:
    value = c.value or ""
    span = c.value_span or c.span
    err = regex_error(value)
    if err is not None:
        pos = err.pos or 0
        yield ctx.diag(
            sub_span(span, pos, 1),
            "E209",
            f"invalid regular expression '{value}': {err.msg} at position {pos}",
            r"escape regex characters with a backslash, e.g. '\(' for '('",
        )
        return
    yield from unbounded_regex(ctx, span, value, value.strip())
    if "\\" in value:
        m = UPPER_ESCAPE_RE.search(value)
        if m:
            yield ctx.diag(
                sub_span(span, m.start(), m.end() - m.start()),
                "W407",
                f"deid lower-cases the pattern, so '\\{m.group(1)}' becomes '\\{m.group(1).lower()}' under deid; deidlang keeps the pattern as written",
                "avoid upper-case escapes: use a character class such as [^0-9] for \\D",
            )


def _chain(ctx: Context, cl: nodes.CriterionLine) -> Iterator[Diagnostic]:
    """Inline chains: misaligned values (W410), upper-case words after an operator (W412)."""
    seen_bare = None
    for c in cl.criteria:
        if c.predicate in BARE_PREDICATES:
            seen_bare = seen_bare or c
        elif seen_bare is not None:
            yield ctx.diag(
                c.span,
                "W410",
                f"deid pairs values with criteria by position and '{seen_bare.predicate}' has none, so this '{c.predicate}' gets no value under deid (it never matches); deidlang uses '{c.value}'",
                "put missing/present/empty criteria after the ones with values, or on their own line",
            )
            break


def _deid_split(ctx: Context, cl: nodes.CriterionLine, body: str) -> Iterator[Diagnostic]:
    """W412: lines deid cuts into criteria differently from what they say.

    deid cuts at the first '+' or '||' anywhere (values included) whenever the
    rest of the line mentions a lower-case criterion word, lower-cases only the
    first word of each piece, and splits fields and values at single spaces.
    """
    ours = [(c.predicate, ctx.text(c.field.span), c.value) for c in cl.criteria]
    theirs = _deid_pieces(body)
    if theirs == ours:
        return
    upper = list(_upper_predicates(ctx, cl))
    if upper:
        yield from upper
        return
    if theirs is None:
        yield ctx.diag(
            cl.span,
            "W412",
            "deid crashes on this line: it cuts criteria at every '+' or '||' that is followed anywhere by a criterion word, even inside a value; deidlang reads the line as written",
            r"keep '+' and '||' out of values (in a contains pattern, '.' matches a '+') or move that criterion to its own line",
        )
    else:
        shown = " | ".join(f"{p} field '{fld}'" + (f" value '{val}'" if val is not None else "") for p, fld, val in theirs)
        yield ctx.diag(
            cl.span,
            "W412",
            f"deid reads this line differently: {shown}; deidlang reads it as written",
            "use single spaces, lower-case criterion words, and keep '+' and '||' out of values",
        )


def _upper_predicates(ctx: Context, cl: nodes.CriterionLine) -> Iterator[Diagnostic]:
    for c in cl.criteria[1:]:
        word = ctx.text(c.span)[: len(c.predicate)]
        if word != c.predicate:
            yield ctx.diag(
                sub_span(c.span, 0, len(word)),
                "W412",
                f"deid does not see '{word}' after an operator (only lower-case words count), so the rest of the line becomes part of the previous value; deidlang reads it as a criterion",
                f"write '{c.predicate}'",
            )


def _deid_pieces(body: str) -> list[tuple[str, str, str | None]] | None:
    """deid's reading of one criterion line (leading operator removed); None if deid crashes or exits."""
    pieces: list[tuple[str, str, str | None]] = []
    members = [body]
    while members:
        member = members.pop(0).strip()
        i_or, i_and = member.find("||"), member.find("+")
        op = None
        if i_or >= 0:
            op = "||"
        if i_and >= 0 and (i_or < 0 or i_or >= i_and):
            op = "+"
        if op is not None:
            head, rest = member.split(op, 1)
            if any(w in rest for w in PREDICATES):
                members.append(rest.strip())
                member = head
        if " " not in member:
            return None
        word, rest = member.split(" ", 1)
        word = word.lower().strip()
        if word in VALUED_PREDICATES:
            if " " not in rest:
                return None
            fld, val = rest.split(" ", 1)
            pieces.append((word, fld.strip(), val.strip()))
        elif word in BARE_PREDICATES:
            pieces.append((word, rest.strip(), None))
        else:
            return None
    return pieces


# --------------------------------------------------------------------------- coordinates


def check_coordinates(ctx: Context) -> Iterator[Diagnostic]:
    """Coordinates: keyword case and ctp from: (W412), empty boxes (W302), from: fields.
    As for criteria, a line whose text gave nothing before gives nothing again."""
    lines = ctx.lines
    quiet: set[str] = set()
    for lab in ctx.labels:
        for co in lab.coordinates:
            line = lines[co.span[0] - 1]
            if line in quiet:
                continue
            spec = co.spec
            if type(spec) is nodes.Box and "#" not in line and line.startswith(co.keyword, co.span[1] - 1) and _box_covers(spec):
                quiet.add(line)  # most lines: a box in lower case without a comment (what _coordinates finds nothing in)
                continue
            found = list(_coordinates(ctx, co, line))
            if found:
                yield from found
            else:
                quiet.add(line)


def _coordinates(ctx: Context, co: nodes.CoordLine, line: str) -> Iterator[Diagnostic]:
    span = co.span
    if "#" in line and line.find("#", span.end_column - 1) >= 0:
        yield ctx.diag(
            span,
            "W401",
            "deid keeps the comment in the coordinates and crashes when it cleans the pixels; deidlang ignores the comment",
            "move the comment to its own line",
        )
    keyword = co.keyword
    start = span.column - 1
    word = line[start : min(span.end_column - 1, start + len(keyword))]
    if word != keyword:
        when = "when it reads the recipe" if co.ctp else "when it cleans the pixels"
        yield ctx.diag(
            sub_span(span, 0, len(word)),
            "W412",
            f"deid crashes on '{word}' {when} (only the lower-case keyword works); deidlang reads {keyword}",
            f"write '{keyword}'",
        )
    spec = co.spec
    if isinstance(spec, nodes.Box):
        if not _box_covers(spec):
            if co.ctp:
                msg = f"box x,y,w,h = {spec.x0},{spec.y0},{spec.x1 - spec.x0},{spec.y1 - spec.y0} covers no pixels (width and height must be positive)"
            else:
                msg = f"box {spec.x0},{spec.y0},{spec.x1},{spec.y1} covers no pixels (x1 must be greater than x0 and y1 greater than y0)"
            yield ctx.diag(spec.span, "E307", msg + ", so this region is never cleaned", "coordinates are x0,y0,x1,y1 (ctpcoordinates: x,y,width,height)")
    elif isinstance(spec, nodes.FromField):
        if co.ctp:
            yield ctx.diag(
                span,
                "W412",
                f"deid crashes on '{keyword} from:' when it reads the recipe; deidlang reads the regions",
                f"write '{keyword[3:]} {ctx.text(spec.span)}'",
            )
        yield from _from_field(ctx, spec)


def _box_covers(box: nodes.Box) -> bool:
    """A box covers pixels (or has a negative coordinate, which deid and deidlang read as
    counted from the far edge)."""
    return (box.x1 > box.x0 and box.y1 > box.y0) or min(box.x0, box.y0, box.x1, box.y1) < 0


def _from_field(ctx: Context, spec: nodes.FromField) -> Iterator[Diagnostic]:
    f = spec.field
    if not isinstance(f, nodes.Keyword):
        yield ctx.diag(
            f.span, "W411", f"deid reads from: fields as one top-level keyword; '{f.text}' never exists under deid", "write from:SequenceOfUltrasoundRegions"
        )
        return
    attr = exact_attr(f.name)
    if attr is None:
        attr = folded_attr(f.name)
        if attr is None:
            yield ctx.diag(
                f.span,
                "W201",
                f"unknown DICOM keyword '{f.name}': these coordinates never apply",
                suggest_keyword(f.name) or "write from:SequenceOfUltrasoundRegions",
            )
            return
        yield ctx.diag(
            f.span, "W411", f"deid looks up '{f.name}' case-sensitively and never finds it; deidlang reads {attr.keyword}", f"write '{attr.keyword}'"
        )
    if attr.vr != "SQ":
        yield ctx.diag(
            f.span,
            "E307",
            f"'{attr.keyword}' is not a sequence: from: reads RegionLocation boxes from the items of a sequence, so these coordinates never clean anything",
            "write from:SequenceOfUltrasoundRegions",
        )
