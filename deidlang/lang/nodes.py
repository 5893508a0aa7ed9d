"""The typed recipe AST.

Frozen attrs classes, one per construct, named after the grammar rules in
``grammar/deid.lark``. Every node has a ``span`` that takes part neither in
equality nor in the repr, so a hand-built tree compares equal to a parsed one.
``text`` fields keep what the user wrote (for messages and for deid's dict
representation in :mod:`deidlang.compat`).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Union

import attrs

from .source import Span

_NOSPAN = Span(0, 0, 0, 0)


def _span() -> Span:
    return attrs.field(default=_NOSPAN, eq=False, repr=False)


def slot_setters(cls: type) -> tuple[Callable[[Any, Any], None], ...]:
    """The setters of ``cls``'s slots, in field order: what :func:`maker` calls, for the
    parser's hottest builders, which fill the slots inline."""
    return tuple(getattr(cls, f.name).__set__ for f in attrs.fields(cls))


def maker(cls: type) -> Callable[..., Any]:
    """A constructor of ``cls`` for the parser's hot paths: every field given, in order,
    positionally. It fills the slots directly instead of through attrs' frozen
    ``__init__`` (which looks ``object.__setattr__`` up for every instance and sets each
    field through it): about a quarter cheaper, and the node is the same object
    (``tests/test_parse_corpus.py`` holds whole recipes equal to lark's nodes)."""
    setters = slot_setters(cls)
    new = object.__new__
    if len(setters) == 2:
        s0, s1 = setters

        def make2(a, b):
            o: Any = new(cls)
            s0(o, a)
            s1(o, b)
            return o

        return make2
    if len(setters) == 3:
        s0, s1, s2 = setters

        def make3(a, b, c):
            o: Any = new(cls)
            s0(o, a)
            s1(o, b)
            s2(o, c)
            return o

        return make3
    if len(setters) == 4:
        s0, s1, s2, s3 = setters

        def make4(a, b, c, d):
            o: Any = new(cls)
            s0(o, a)
            s1(o, b)
            s2(o, c)
            s3(o, d)
            return o

        return make4
    if len(setters) == 5:
        s0, s1, s2, s3, s4 = setters

        def make5(a, b, c, d, e):
            o: Any = new(cls)
            s0(o, a)
            s1(o, b)
            s2(o, c)
            s3(o, d)
            s4(o, e)
            return o

        return make5
    if len(setters) == 6:
        s0, s1, s2, s3, s4, s5 = setters

        def make6(a, b, c, d, e, f):
            o: Any = new(cls)
            s0(o, a)
            s1(o, b)
            s2(o, c)
            s3(o, d)
            s4(o, e)
            s5(o, f)
            return o

        return make6
    return cls  # pragma: no cover - no node has more fields


# --------------------------------------------------------------------------- fields


@attrs.frozen
class Keyword:
    """A DICOM keyword as written (``PatientName``, ``patientname``)."""

    name: str
    span: Span = _span()

    @property
    def text(self) -> str:
        return self.name


@attrs.frozen
class NestedName:
    """A keyword path through sequences: ``ReferencedImageSequence__ReferencedSOPClassUID``."""

    parts: tuple[str, ...]
    span: Span = _span()

    @property
    def text(self) -> str:
        return "__".join(self.parts)


@attrs.frozen
class Tag:
    """A tag: ``(0010,0010)``, ``0010,0010``, ``00100010`` or ``0x00100010``."""

    group: int
    element: int
    text: str
    span: Span = _span()

    @property
    def value(self) -> int:
        return (self.group << 16) | self.element


@attrs.frozen
class PrivateTag:
    """``(gggg,"CREATOR",ee)``: a private element addressed through its creator."""

    group: int
    creator: str
    element: int  # the low byte (0x00-0xFF) of the element number
    text: str
    span: Span = _span()


@attrs.frozen
class UidPath:
    """One element at one place: ``(0008,1140)__1__(0008,1155)``.

    ``steps`` alternates tags (ints) and item indexes: ``(0x00081140, 1, 0x00081155)``.
    """

    steps: tuple[int, ...]
    text: str
    span: Span = _span()


@attrs.frozen
class AllFields:
    """``ALL`` / ``all``: every field."""

    text: str = "ALL"
    span: Span = _span()


@attrs.frozen
class Expander:
    """``startswith:R``, ``endswith:R``, ``contains:R``, ``except:R``, ``select:VR:XX``,
    ``select:group:G`` (and anything else of the form ``name:arg``, which the checker
    reports). ``kind`` is lower-cased; ``argument`` is as written."""

    kind: str
    argument: str
    text: str
    span: Span = _span()


@attrs.frozen
class GroupRef:
    """``fields:NAME`` or ``values:NAME``."""

    kind: str  # "fields" | "values"
    name: str
    text: str
    span: Span = _span()


Field = Union[Keyword, NestedName, Tag, PrivateTag, UidPath, AllFields, Expander, GroupRef]

_HEX4 = r"[0-9A-Fa-f]{4}"
_PRIVATE_RE = re.compile(r"\(?(" + _HEX4 + r')[ \t]*,[ \t]*"([^"]*)"[ \t]*,[ \t]*([0-9A-Fa-f]{2,4})\)?')
_TAG_PAREN_RE = re.compile(r"\([ \t]*(" + _HEX4 + r")[ \t]*,[ \t]*(" + _HEX4 + r")[ \t]*\)")
_TAG_ONLY_RE = re.compile(r"^\((" + _HEX4 + r"),(" + _HEX4 + r")\)$|^(" + _HEX4 + r")(" + _HEX4 + r")$")


def field_node(kind: str | None, text: str, span: Span) -> Field:
    """The Field node for a field token of terminal ``kind`` (the parser's and the fast
    path's: one way to build it)."""
    if kind == "PRIVATE_TAG":
        m = _PRIVATE_RE.fullmatch(text)
        assert m
        return PrivateTag(int(m.group(1), 16), m.group(2), int(m.group(3), 16), text, span)
    if kind == "TAG":
        digits = re.sub(r"[^0-9A-Fa-f]", "", text[2:] if text[:2].lower() == "0x" else text)
        return Tag(int(digits[:4], 16), int(digits[4:], 16), text, span)
    if kind == "GROUP_REF":
        k, _, n = text.partition(":")
        return GroupRef(k, n, text, span)
    if kind == "EXPANDER":
        k, _, arg = text.partition(":")
        return Expander(k.lower(), arg, text, span)
    # NAME
    if text.lower() == "all":
        return AllFields(text, span)
    if "__" in text:
        parts = text.split("__")
        steps: list[int] = []
        ok = True
        for i, p in enumerate(parts):
            if i % 2 == 1:
                if p.isdigit():
                    steps.append(int(p))
                    continue
                ok = False
                break
            m = _TAG_ONLY_RE.match(p)
            if not m:
                ok = False
                break
            g, e = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            steps.append((int(g, 16) << 16) | int(e, 16))
        if ok and len(parts) % 2 == 1 and len(parts) > 1:
            return UidPath(tuple(steps), text, span)
        return NestedName(tuple(parts), span)
    return Keyword(text, span)


# --------------------------------------------------------------------------- values


@attrs.frozen
class Literal:
    """A literal value. ``quoted`` when written in quotes (``text`` is then the inside)."""

    text: str
    quoted: bool = False
    raw: str = ""
    span: Span = _span()


@attrs.frozen
class VarRef:
    """``var:NAME``: a per-file variable from the ids."""

    name: str
    span: Span = _span()

    @property
    def text(self) -> str:
        return f"var:{self.name}"


@attrs.frozen
class FuncRef:
    """``func:NAME``: a user function."""

    name: str
    span: Span = _span()

    @property
    def text(self) -> str:
        return f"func:{self.name}"


@attrs.frozen
class FuncArg:
    """``key=value`` after a ``deid_func:`` name."""

    name: str
    value: str
    span: Span = _span()


@attrs.frozen
class DeidFunc:
    """``deid_func:NAME key=value ...``: a built-in function."""

    name: str
    args: tuple[FuncArg, ...] = ()
    span: Span = _span()

    @property
    def text(self) -> str:
        return " ".join([f"deid_func:{self.name}", *(f"{a.name}={a.value}" for a in self.args)])


@attrs.frozen
class ValueFilter:
    """A value filter in the value slot: ``REMOVE ALL contains:Doe``, ``values:NAME``."""

    kind: str
    argument: str
    span: Span = _span()

    @property
    def text(self) -> str:
        return f"{self.kind}:{self.argument}"


Value = Union[Literal, VarRef, FuncRef, DeidFunc, ValueFilter]


# --------------------------------------------------------------------------- lines


@attrs.frozen
class FormatLine:
    """``FORMAT dicom``. ``value`` is the text after the keyword."""

    keyword: str
    value: str
    span: Span = _span()


@attrs.frozen
class SectionLine:
    """``%header``, ``%filter NAME``... ``keyword`` is as written, without ``%``."""

    keyword: str
    name: str | None
    span: Span = _span()
    keyword_span: Span = _span()

    @property
    def kind(self) -> str:
        return self.keyword.lower()


@attrs.frozen
class ActionLine:
    """``REPLACE PatientID var:id``. ``verb`` is as written (see :attr:`action`)."""

    verb: str
    field: Field
    value: Value | None = None
    comment: str | None = None
    span: Span = _span()
    verb_span: Span = _span()

    @property
    def action(self) -> str:
        return self.verb.upper()


@attrs.frozen
class SplitOption:
    """``by=^`` or ``minlength=4`` after ``SPLIT``."""

    name: str
    value: str
    span: Span = _span()


@attrs.frozen
class GroupLine:
    """``FIELD expr`` or ``SPLIT expr by=^;minlength=4`` in ``%values``/``%fields``."""

    verb: str
    field: Field
    options: tuple[SplitOption, ...] = ()
    span: Span = _span()
    verb_span: Span = _span()

    @property
    def action(self) -> str:
        return self.verb.upper()


@attrs.frozen
class LabelLine:
    """``LABEL name`` (opens a LABEL block in ``%filter``)."""

    name: str
    span: Span = _span()


@attrs.frozen
class Criterion:
    """``contains Field value`` / ``missing Field``. ``predicate`` is lower-cased."""

    predicate: str
    field: Field
    value: str | None = None
    span: Span = _span()
    value_span: Span | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class CriterionLine:
    """One line of criteria: ``+ contains A x || missing B``.

    ``operator`` is the line's leading ``and``/``or`` (or None); ``operators``
    holds the inline ones, ``len(criteria) - 1`` of them, as ``and``/``or``.
    """

    operator: str | None
    criteria: tuple[Criterion, ...]
    operators: tuple[str, ...] = ()
    span: Span = _span()


@attrs.frozen
class Box:
    x0: int
    y0: int
    x1: int
    y1: int
    span: Span = _span()


@attrs.frozen
class WholeImage:
    span: Span = _span()


@attrs.frozen
class FromField:
    field: Field
    span: Span = _span()


CoordSpec = Union[Box, WholeImage, FromField]


@attrs.frozen
class CoordLine:
    """``coordinates``, ``keepcoordinates``, ``ctpcoordinates``, ``ctpkeepcoordinates``.

    ``box`` is always in x0,y0,x1,y1 form: CTP's x,y,w,h is converted here.
    """

    keyword: str  # lower-cased
    spec: CoordSpec
    span: Span = _span()

    @property
    def keep(self) -> bool:
        return "keep" in self.keyword

    @property
    def ctp(self) -> bool:
        return self.keyword.startswith("ctp")


Line = Union[FormatLine, SectionLine, ActionLine, GroupLine, LabelLine, CriterionLine, CoordLine]


# --------------------------------------------------------------------------- structure


@attrs.frozen
class Label:
    """A LABEL block: its criterion lines and its coordinates, in file order."""

    name: str
    criteria: tuple[CriterionLine, ...] = ()
    coordinates: tuple[CoordLine, ...] = ()
    span: Span = _span()


@attrs.frozen
class Section:
    """A section and the statements under it.

    ``body`` holds :class:`ActionLine` (header, labels), :class:`GroupLine`
    (values, fields) or :class:`Label` (filter). Sections with the same kind
    and name stay separate here; merging them is the compiler's business.
    """

    kind: str  # header | labels | filter | values | fields
    name: str | None
    body: tuple = ()
    span: Span = _span()


@attrs.frozen
class Recipe:
    """A parsed recipe: its FORMAT lines and its sections, in file order."""

    formats: tuple[FormatLine, ...] = ()
    sections: tuple[Section, ...] = ()
    span: Span = _span()

    @property
    def format(self) -> str | None:
        """The format the recipe declares (the last FORMAT line wins, as in deid)."""
        return self.formats[-1].value.lower() if self.formats else None

    def sections_of(self, kind: str) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.kind == kind)

    @property
    def header(self) -> tuple[ActionLine, ...]:
        return tuple(a for s in self.sections_of("header") for a in s.body)

    def groups(self, kind: str) -> dict[str, tuple[GroupLine, ...]]:
        """``%values`` or ``%fields`` groups by name, repeated sections merged in order."""
        out: dict[str, list[GroupLine]] = {}
        for s in self.sections_of(kind):
            out.setdefault(s.name or "", []).extend(s.body)
        return {k: tuple(v) for k, v in out.items()}

    def filters(self) -> dict[str, tuple[Label, ...]]:
        """``%filter`` groups by name, in order of first appearance, repeated sections merged."""
        out: dict[str, list[Label]] = {}
        for s in self.sections_of("filter"):
            out.setdefault(s.name or "", []).extend(s.body)
        return {k: tuple(v) for k, v in out.items()}


def iter_fields(recipe: Recipe):
    """Every field expression in the recipe with the line it is on."""
    for section in recipe.sections:
        for item in section.body:
            if isinstance(item, (ActionLine, GroupLine)):
                yield item, item.field
            elif isinstance(item, Label):
                for line in item.criteria:
                    for c in line.criteria:
                        yield line, c.field
                for coord in item.coordinates:
                    if isinstance(coord.spec, FromField):
                        yield coord, coord.spec.field
