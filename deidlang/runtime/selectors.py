"""Which fields an action touches.

A selector is a frozen attrs object. Most selectors are *static*: whether
they match a field depends only on the field's tag, nested name, private
creator and VR, summed up in a :class:`FieldInfo`. The Program evaluates
all of its static selectors once per distinct field key and caches the
answer across datasets, so a dataset costs one dictionary lookup per
element however many rules the recipe has. :class:`UidPath` depends on
the item indexes and is checked per field; group references
(``values:``/``fields:``) are resolved per action from the dataset's groups.

:func:`from_text` builds a selector from a raw deid field string (config
``put.actions``, the compat facade) with deid's own rules.
"""

from __future__ import annotations

import re
from typing import ClassVar

import attrs

from ..lang import regexes
from .universe import DicomField, FieldInfo

__all__ = [
    "FieldInfo",
    "Selector",
    "All",
    "Exact",
    "UidPath",
    "Pattern",
    "SelectVR",
    "SelectGroup",
    "Nothing",
    "FieldsGroup",
    "ValuesGroup",
    "from_text",
    "pattern_for",
]


# --------------------------------------------------------------------------- selectors


@attrs.frozen
class All:
    """``ALL``: every field."""

    static: ClassVar[bool] = True
    text: str = "ALL"

    def matches(self, info: FieldInfo) -> bool:
        return True


@attrs.frozen
class Exact:
    """An exact, case-insensitive reference: keyword, nested name, tag, element name, private form."""

    static: ClassVar[bool] = True
    query: str  # lower-cased

    def matches(self, info: FieldInfo) -> bool:
        return self.query in info.exact_keys()


@attrs.frozen
class UidPath:
    """``(0008,1140)__1__(0008,1155)``: one element at one place (compared as text, as deid does)."""

    static: ClassVar[bool] = False
    query: str  # lower-cased
    tag: int  # the last tag in the path, for a quick reject

    def matches_field(self, field: DicomField) -> bool:
        return field.tag_int == self.tag and field.uid.lower() == self.query


@attrs.frozen
class Pattern:
    """``contains:R``, ``startswith:R``, ``endswith:R``, ``except:R``.

    The regex is compiled as written with IGNORECASE (deid lower-cases it
    first, which turns ``\\D`` into ``\\d``: see docs/differences-from-deid.md),
    into a :class:`deidlang.lang.regexes.Matcher` (linear time, or time-limited).
    """

    static: ClassVar[bool] = True
    kind: str
    regex: regexes.Matcher = attrs.field(eq=False)
    text: str = ""

    def matches(self, info: FieldInfo) -> bool:
        search = self.regex.search
        found = any(search(r) for r in info.representations())
        return not found if self.kind == "except" else found


@attrs.frozen
class SelectVR:
    """``select:VR:XX``: the element's VR equals XX (the first two characters, upper-cased)."""

    static: ClassVar[bool] = True
    vr: str

    def matches(self, info: FieldInfo) -> bool:
        return info.vr == self.vr


@attrs.frozen
class SelectGroup:
    """``select:group:G``: the tag group equals G (hex)."""

    static: ClassVar[bool] = True
    group: int

    def matches(self, info: FieldInfo) -> bool:
        return (info.tag >> 16) == self.group


@attrs.frozen
class Nothing:
    """An expression deid matches nothing with (an unknown expander, ``select:tag:...``)."""

    static: ClassVar[bool] = True
    text: str

    def matches(self, info: FieldInfo) -> bool:
        return False


@attrs.frozen
class FieldsGroup:
    """``fields:NAME``: the fields the ``%fields NAME`` group collected for this dataset."""

    static: ClassVar[bool] = False
    name: str


@attrs.frozen
class ValuesGroup:
    """``values:NAME``: fields whose value contains one of the ``%values NAME`` values."""

    static: ClassVar[bool] = False
    name: str


Selector = All | Exact | UidPath | Pattern | SelectVR | SelectGroup | Nothing | FieldsGroup | ValuesGroup

PATTERN_KINDS = ("contains", "startswith", "endswith", "except")


def pattern_for(kind: str, argument: str) -> regexes.Matcher:
    """The compiled regex for an expander (raises ``re.error`` for a bad one)."""
    if kind == "endswith":
        source = f"({argument})$"
    elif kind == "startswith":
        source = f"^({argument})"
    else:
        source = argument
    return regexes.compile(source)


def expander(kind: str, argument: str, text: str):
    """An ``EXPANDER:ARGUMENT`` selector; a selector that matches nothing where deid's does."""
    kind = kind.lower()
    if kind in PATTERN_KINDS:
        return Pattern(kind, pattern_for(kind, argument), text)
    if kind == "select":
        attribute, sep, value = argument.partition(":")
        if not sep:
            return Nothing(text)
        attribute = attribute.upper()
        if attribute == "VR":
            return SelectVR(value[0:2].upper())
        if attribute == "GROUP":
            try:
                return SelectGroup(int(value, 16))
            except ValueError:
                return Nothing(text)
    return Nothing(text)


_UID_PATH = re.compile(r"\([0-9a-f]{4},[0-9a-f]{4}\)(?:__\d+__\([0-9a-f]{4},[0-9a-f]{4}\))+", re.IGNORECASE)
_SPLIT = re.compile(r'^([^:"]*(?:"[^"]*"[^:"]*)*):(.*)$', re.DOTALL)


def from_text(text: str):
    """A selector for a raw deid field string, classified as deid classifies it."""
    if text.lower() == "all":
        return All(text)
    if text.startswith("values:"):
        return ValuesGroup(text[len("values:") :])
    if text.startswith("fields:"):
        return FieldsGroup(text[len("fields:") :])
    m = _SPLIT.match(text)
    if m:
        return expander(m.group(1), m.group(2), text)
    if _UID_PATH.fullmatch(text):
        last = text[-10:-1]
        return UidPath(text.lower(), (int(last[:4], 16) << 16) | int(last[5:], 16))
    return Exact(text.lower())
