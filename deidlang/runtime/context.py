"""Per-apply state: one :class:`Run` per ``Program.apply`` call.

Everything that depends on the dataset lives here (the universe, the
selections, the lookup, the file name for messages), so the Program stays
immutable and can be shared between threads.
"""

from __future__ import annotations

from typing import Any

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from ..lang import regexes
from ..lang.diagnostics import ApplyError
from .selectors import FieldsGroup
from .universe import DicomField, keyword_of, tag_string
from .values import items_of

__all__ = ["Run", "MISSING"]

MISSING = object()


class Run:
    """The state of one application of a Program to one dataset."""

    __slots__ = (
        "program",
        "ds",
        "fields",
        "lists",
        "touched",
        "top",
        "lookup",
        "path",
        "current",
        "value_groups",
        "field_groups",
        "failed",
        "spared",
        "_values_regex",
        "hidden_top",
        "tables",
    )

    def __init__(self, program, ds: Dataset, lookup: dict, path: str | None):
        self.program = program
        self.ds = ds
        self.lookup = lookup
        self.path = path
        self.fields: list[DicomField] = []
        self.lists: list[list[DicomField]] = []
        self.touched: list[int] = []  # the selectors whose list holds a field, in the order they got one
        self.top: dict[int, DicomField] = {}
        self.current: DicomField | None = None
        self.value_groups: dict[str, list] = {}
        self.field_groups: dict[str, list[DicomField]] = {}
        self.failed: dict[int, tuple] = {}
        self.spared: dict[int, Any] = {}
        self._values_regex: dict[str, regexes.LiteralSet | None] = {}
        self.hidden_top: frozenset = frozenset()
        self.tables: Any = None  # lookup tables and the linkage record of this apply (runtime/lookups.py)

    # -- selection
    def select(self, index: int) -> list[DicomField]:
        """The fields selector ``index`` picks now (taken once, when an action starts)."""
        lst = self.lists[index]
        if lst is None:
            sel = self.program.selectors[index]
            if isinstance(sel, FieldsGroup):
                return [f for f in self.field_groups.get(sel.name, ()) if f.alive and f.visible]
            return self.select_by_values(sel.name)
        return [f for f in lst if f.alive]

    def values_regex(self, name: str) -> regexes.LiteralSet | None:
        """A literal, case-insensitive matcher for the values of group ``name``.

        The values come from the data: they are matched as text, never compiled
        as a pattern (deid joins them into one unescaped regex, so a ``(`` in a
        name crashes it and a ``.`` matches any character), and in linear time."""
        if name in self._values_regex:
            return self._values_regex[name]
        values = self.value_groups.get(name)
        if values is None:
            values = self.lookup.get(name, [])
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                values = [values]
        rx = regexes.literal_any(values)
        self._values_regex[name] = rx
        return rx

    def select_by_values(self, name: str) -> list[DicomField]:
        rx = self.values_regex(name)
        if rx is None:
            return []
        out = []
        for f in self.fields:
            if not (f.alive and f.visible):
                continue
            value = f.element.value
            if isinstance(value, Sequence):
                continue
            if any(rx.search(str(item)) for item in items_of(value)):
                out.append(f)
        return out

    # -- universe changes
    def add_field(self, field: DicomField) -> None:
        """A field created by ADD joins the universe at the end (as in deid)."""
        self.program._match_fields([field], self)
        self.fields.append(field)
        lists = self.lists
        for i in field.ids:
            if lists[i]:
                lists[i].append(field)
            else:
                lists[i] = [field]  # an empty selection is a shared () until something joins it
                self.touched.append(i)
        self.top[field.tag_int] = field

    def top_field(self, tag: int, target: Dataset | None, is_meta: bool) -> DicomField | None:
        """The universe's top-level field for ``tag`` (built now if the sparse walk skipped it)."""
        field = self.top.get(tag)
        if field is not None or target is None or tag not in target._dict or tag in self.hidden_top:
            return field
        creator = None
        if (tag >> 16) & 1:
            elem = target[tag]
            creator = elem.private_creator
            if creator is not None and not isinstance(creator, str):
                creator = str(creator)
        field = DicomField(tag, target, None, 0, creator, is_meta)
        field.dkey = target[tag].tag
        self.program._match_fields([field], self)
        self.fields.append(field)
        self.top[tag] = field
        return field

    def delete(self, field: DicomField) -> None:
        parent = field.parent
        if field.dkey in parent._dict:
            del parent[field.dkey]
            field.kill()
            if field.owner is None and self.top.get(field.tag_int) is field:
                del self.top[field.tag_int]

    # -- errors
    def error(self, step, code: str, message: str, field: DicomField | None = None, element: str | int = "") -> ApplyError:
        if field is not None:
            element = field.describe()
        elif isinstance(element, int):
            element = self.element_label(element)
        return ApplyError(
            message,
            code=code,
            recipe=self.program.name,
            span=getattr(step, "span", None),
            action=getattr(step, "text", ""),
            element=element,
            path=self.path,
        )

    def element_label(self, tag: int) -> str:
        kw = keyword_of(tag)
        return f"{tag_string(tag)} {kw}" if kw else tag_string(tag)
