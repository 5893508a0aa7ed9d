"""Factories shared by the compiler (recipe nodes) and by config ``put.actions`` (raw strings).

:class:`SelectorTable` numbers the distinct selectors of a Program;
:func:`add_target` resolves what ADD writes to; :func:`make_step` builds a
step object from a verb, a selector index or ADD target, and a value.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import attrs
from pydicom.datadict import dictionary_VR, keyword_dict

from ..lang.source import Span
from . import actions, values
from .universe import keyword_of, tag_string

__all__ = ["SelectorTable", "AddTarget", "add_target", "add_target_from_text", "field_label", "keyword_tag", "make_step", "BadTarget", "value_from_text"]


class BadTarget(ValueError):
    """ADD names no single creatable element."""


class SelectorTable:
    """Distinct selectors, numbered in order of first use."""

    def __init__(self, selectors: tuple = ()):
        self.items: list = list(selectors)
        self._index: dict = {s: i for i, s in enumerate(self.items)}

    def add(self, selector) -> int:
        index = self._index.get(selector)
        if index is None:
            index = len(self.items)
            self.items.append(selector)
            self._index[selector] = index
        return index


@functools.lru_cache(maxsize=1)
def _keywords_lower() -> dict[str, int]:
    return {k.lower(): t for k, t in keyword_dict.items()}


def keyword_tag(name: str) -> int | None:
    """The tag of a DICOM keyword, matched case-insensitively."""
    tag = keyword_dict.get(name)
    if tag is None:
        tag = _keywords_lower().get(name.lower())
    return tag


def dict_vr(tag: int) -> str | None:
    if (tag >> 16) & 1:
        return None
    try:
        return dictionary_VR(tag)
    except KeyError:
        return None


@attrs.frozen
class AddTarget:
    tag: int
    creator: str | None
    vr: str | None
    name: str


_PAREN = re.compile(r"\(\s*([0-9A-Fa-f]{4})\s*,\s*([0-9A-Fa-f]{4})\s*\)")
_BARE = re.compile(r"(?:0[xX])?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})")
_PRIVATE = re.compile(r'\(?\s*([0-9A-Fa-f]{4})\s*,\s*"([^"]*)"\s*,\s*([0-9A-Fa-f]{2})\s*\)?')


def add_target(*, tag: int | None = None, keyword: str | None = None, private: tuple[int, str, int] | None = None, text: str) -> AddTarget:
    """What ``ADD text`` writes to: a keyword (any case), a tag, or a private-creator form."""
    if private is not None:
        group, creator, low = private
        if not group & 1:
            raise BadTarget(f"'{text}' is not a private group")
        if low > 0xFF:
            raise BadTarget(f"the element in '{text}' must be two hex digits")
        return AddTarget((group << 16) | low, creator, None, "")
    if keyword is not None:
        tag = keyword_tag(keyword)
        if tag is None:
            raise BadTarget(f"unknown DICOM keyword '{keyword}'")
        canonical = keyword_of(tag) or keyword
        return AddTarget(tag, None, dict_vr(tag), keyword if keyword == canonical else canonical)
    assert tag is not None
    if (tag >> 16) == 0xFFFE:
        raise BadTarget(f"'{text}' is an item delimiter, not an element")
    bare = bool(re.fullmatch(r"[0-9A-Fa-f]{8}", text))
    return AddTarget(tag, None, dict_vr(tag), text if bare else keyword_of(tag))


def field_label(text: str) -> str:
    """``PatientName (0010,0010)`` for a keyword; the text itself otherwise."""
    tag = keyword_dict.get(text)
    return f"{text} {tag_string(tag)}" if tag is not None else text


def add_target_from_text(text: str) -> AddTarget:
    """:func:`add_target` for a raw field string (config ``put.actions``)."""
    m = _PRIVATE.fullmatch(text)
    if m:
        return add_target(private=(int(m.group(1), 16), m.group(2), int(m.group(3), 16)), text=text)
    m = _PAREN.fullmatch(text) or _BARE.fullmatch(text)
    if m:
        return add_target(tag=(int(m.group(1), 16) << 16) | int(m.group(2), 16), text=text)
    return add_target(keyword=text, text=text)


def make_step(
    verb: str,
    *,
    selector: int | None = None,
    target: AddTarget | None = None,
    field_text: str = "",
    value: Any = None,
    days: int | None = None,
    text: str,
    span: Span,
    label: str = "",
) -> Any:
    """The step object for one action line (``label``: the field and its tag, for the repr)."""
    if verb == "ADD":
        assert target is not None
        if not label:
            label = f"{field_text} {tag_string(target.tag)}" if target.creator is None else field_text
        return actions.Add(target.tag, value, field_text, target.name, target.vr, target.creator, text, span, label)
    assert selector is not None
    if verb == "REPLACE":
        return actions.Replace(selector, value, text, span, label)
    if verb == "BLANK":
        return actions.Blank(selector, text, span, label)
    if verb == "REMOVE":
        return actions.Remove(selector, value, text, span, label)
    if verb == "JITTER":
        return actions.Jitter(selector, value, days, text, span, label)
    if verb == "KEEP":
        return actions.Keep(selector, text, span, label)
    raise ValueError(f"unknown action '{verb}'")


def value_from_text(text: str) -> values.Value:
    """A value source for a raw deid value string (config ``put.actions``)."""
    if text.startswith("var:"):
        return values.Var(text[4:])
    if text.startswith("func:"):
        return values.Func(text[5:])
    if text.startswith("deid_func:"):
        from .builtins import builtin_from_text

        return builtin_from_text(text)
    return values.Constant(text)
