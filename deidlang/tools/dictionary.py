"""What the editor says about DICOM attributes: pydicom's data dictionary, the
PS3.15 Table E.1-1 action of each attribute, and which attributes a field
expression selects.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Iterable, NamedTuple

from pydicom.datadict import DicomDictionary, RepeatersDictionary

from ..lang import nodes

__all__ = ["Attribute", "attributes", "by_keyword", "by_tag", "describe", "profile_row", "selected", "CODE_WORDS", "BUILTINS"]


class Attribute(NamedTuple):
    keyword: str
    tag: int | None  # None for repeating groups (pattern set)
    pattern: str  # "(0010,0010)" or "(60xx,3000)"
    vr: str
    vm: str
    name: str
    retired: bool


@functools.lru_cache(maxsize=1)
def attributes() -> tuple[Attribute, ...]:
    """Every keyword of the dictionary (repeating groups included), by keyword."""
    out = []
    for tag, (vr, vm, name, retired, keyword) in DicomDictionary.items():
        if keyword:
            out.append(Attribute(keyword, tag, f"({tag >> 16:04X},{tag & 0xFFFF:04X})", vr, vm, name, bool(retired)))
    for mask, (vr, vm, name, retired, keyword) in RepeatersDictionary.items():
        if keyword:
            out.append(Attribute(keyword, None, f"({mask[:4]},{mask[4:]})".upper().replace("X", "x"), vr, vm, name, bool(retired)))
    out.sort(key=lambda a: a.keyword)
    return tuple(out)


@functools.lru_cache(maxsize=1)
def _by_lower() -> dict[str, Attribute]:
    return {a.keyword.lower(): a for a in attributes()}


@functools.lru_cache(maxsize=1)
def _by_tag() -> dict[int, Attribute]:
    return {a.tag: a for a in attributes() if a.tag is not None}


def by_keyword(word: str) -> Attribute | None:
    """The attribute of a keyword, in any case (deidlang matches keywords without case)."""
    return _by_lower().get(word.lower())


def by_tag(tag: int) -> Attribute | None:
    return _by_tag().get(tag)


def of_field(field: object) -> Attribute | None:
    """The one attribute a field expression names (a keyword, a tag, the last part of a path)."""
    if isinstance(field, nodes.Keyword):
        return by_keyword(field.name)
    if isinstance(field, nodes.Tag):
        return by_tag(field.value)
    if isinstance(field, nodes.NestedName):
        return by_keyword(field.parts[-1])
    if isinstance(field, nodes.UidPath):
        return by_tag(field.steps[-1])
    return None


#: What each Table E.1-1 action code asks for.
CODE_WORDS = {
    "D": "replace with a non-zero length dummy value consistent with the VR",
    "Z": "replace with a zero-length value, or a dummy value consistent with the VR",
    "X": "remove",
    "K": "keep (unchanged for non-sequence attributes, cleaned for sequences)",
    "C": "clean: replace with values of similar meaning known not to contain identifying information",
    "U": "replace with a non-zero length UID that is internally consistent within a set of instances",
    "X/Z": "X unless Z is required to keep the IOD conformant (Type 2 vs Type 3)",
    "X/D": "X unless D is required to keep the IOD conformant (Type 1 vs Type 3)",
    "Z/D": "Z unless D is required to keep the IOD conformant (Type 1 vs Type 2)",
    "X/Z/D": "X unless Z or D is required to keep the IOD conformant",
    "X/Z/U*": "X unless Z or a replacement of every UID inside (U) is required to keep the IOD conformant",
}


def profile_row(attr: Attribute):
    """The Table E.1-1 row of an attribute, or None."""
    from ..privacy import profile

    for row in profile.rows():
        if attr.tag is not None and row.tag == attr.tag:
            return row
        if attr.tag is None and row.tag is None and row.pattern.lower() == attr.pattern.strip("()").lower():
            return row
    return None


def describe(attr: Attribute) -> str:
    """Markdown: name, tag, VR, VM and the PS3.15 action."""
    from ..privacy import profile

    lines = [f"**{attr.keyword}** {attr.pattern} — {attr.name}" + (" *(retired)*" if attr.retired else ""), "", f"VR `{attr.vr}` · VM `{attr.vm}`"]
    row = profile_row(attr)
    if row is None:
        lines += ["", f"PS3.15 Table E.1-1 ({profile.EDITION}): not listed (the Basic Profile keeps it)"]
    else:
        lines += ["", f"PS3.15 Table E.1-1 ({profile.EDITION}), Basic Profile: **{row.code}** — {CODE_WORDS.get(row.code, row.code)}"]
        for name, code in row.options:
            lines.append(f"- {name}: **{code}**")
    return "\n".join(lines)


def selected(field: object, limit: int | None = None, recipe: nodes.Recipe | None = None) -> list[Attribute] | None:
    """The dictionary attributes a field expression selects (None: it depends on the data,
    e.g. a values: group or a path to one place). A ``fields:`` group is the union of its
    members when ``recipe`` is given."""
    if isinstance(field, nodes.GroupRef) and field.kind == "fields" and recipe is not None:
        union: dict[str, Attribute] = {}
        for member in recipe.groups("fields").get(field.name, ()):
            part = selected(member.field)
            if part is None:
                return None
            union.update((a.keyword, a) for a in part)
        return sorted(union.values(), key=lambda a: a.keyword)[:limit]
    if isinstance(field, (nodes.GroupRef, nodes.UidPath, nodes.NestedName, nodes.PrivateTag)):
        return None
    if isinstance(field, nodes.Keyword):  # one attribute, by name or tag: no need to ask every entry
        attr = by_keyword(field.name)
        return [attr] if attr is not None and attr.tag is not None else []
    if isinstance(field, nodes.Tag):
        attr = by_tag(field.value)
        return [attr] if attr is not None else []
    found = _matching(field)
    return None if found is None else list(found[:limit] if limit is not None else found)


@functools.lru_cache(maxsize=512)
def _matching(field: Any) -> tuple[Attribute, ...] | None:
    """Every dictionary attribute an expander (or ALL) selects, computed once per expression."""
    from ..compiler import selector_for
    from ..runtime.universe import FieldInfo

    try:
        sel = selector_for(field)
    except (re.error, ValueError):
        return None
    if not getattr(sel, "static", False):
        return None
    out = []
    for attr in attributes():
        if attr.tag is None:
            continue
        try:
            if sel.matches(FieldInfo(attr.tag, attr.keyword, None, attr.vr.split(" or ")[0])):
                out.append(attr)
        except Exception:  # noqa: BLE001 - a selector that cannot judge a dictionary entry selects nothing here
            continue
    return tuple(out)


def names(attrs_: Iterable[Attribute], limit: int = 12) -> str:
    shown = [a.keyword for a in attrs_]
    more = len(shown) - limit
    return ", ".join(shown[:limit]) + (f" and {more} more" if more > 0 else "")


#: The deid_func built-ins: what they give (completion details and hovers).
BUILTINS = {
    "jitter": "deid's date shift: the date moved by `days` (and `years`)",
    "dicom_uuid": "deid: a new random UID under `org_root`",
    "pydicom_uuid": "deid: a UID derived from the original by an unkeyed hash (`prefix`, `stable_remapping`)",
    "suffix_uuid": "deid: a new random UID keeping the original's root",
    "basic_uuid": "deid: a new random UUID",
    "hashuid": "deidlang: a keyed, consistent replacement UID (2.25. or `prefix`)",
    "hashid": "deidlang: a keyed pseudonym of the value (`length` hex digits after `prefix`)",
    "dateshift": "deidlang: dates shifted by a keyed per-patient number of days (`max_days`, `patient`)",
    "dummy": "deidlang: a valid, non-identifying value for the element's VR",
    "scrub": "deidlang: the text without this file's identifying values",
    "code": "deidlang: the code sequence with one more item (`value`, `scheme`, `meaning`)",
    "append": "deidlang: one more value of a multi-valued element (`value`)",
    "cleancontent": "deidlang: a structured report's content tree, its codes and measurements kept, its text, names, dates and UIDs replaced",
    "cleangraphics": "deidlang: overlays, curves and annotations kept, text-like overlay planes blanked, their text cleaned",
    "safeharbor": "deidlang: HIPAA Safe Harbor's reduction: dates to the year, ages over 89 to 090Y, identifiers out of free text",
}
