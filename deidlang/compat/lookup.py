"""``get_fields_with_lookup``: the field universe with exact-match tables.

deid 0.4.13 keeps the fields of a dataset in an object that maps each uid to
its ``DicomField`` and also indexes the fields by name, tag, bare tag,
element name, keyword and uid, lower-cased, so that a plain field expression
(``PatientID``, ``(0010,0020)``, ``00100020``, ``0033,"CREATOR",1E``) finds its
fields without a scan. The universe itself comes from
:mod:`deidlang.runtime.universe`, the code recipes run on.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Iterator

from .fields import DicomField, dicom_fields

__all__ = ["FieldsWithLookups", "get_fields_with_lookup"]

_TABLES = ("name", "tag", "stripped_tag", "element_name", "element_keyword", "uid")


class FieldsWithLookups:
    """``{uid: DicomField}`` with lookup tables: deid's ``FieldsWithLookups``.

    ``.fields`` is the dict; ``.lookup_tables`` maps each table name to
    ``{lower-cased key: [DicomField, ...]}``. It reads like the dict
    (``[]``, ``in``, ``len``, iteration over uids, ``items``, ``keys``,
    ``values``, ``get``); ``add`` and ``remove`` keep the tables current.
    """

    def __init__(self, fields: dict[str, DicomField] | None = None):
        self.fields: dict[str, DicomField] = dict(fields or {})
        self.lookup_tables: dict[str, defaultdict[str, list]] = {t: defaultdict(list) for t in _TABLES}
        for field in self.fields.values():
            self._index(field)

    # -- deid's methods
    def get_exact_matches(self, field: Any) -> list:
        """The fields whose name, tag, bare tag, element name, keyword or uid is ``field`` (any case)."""
        key = field.lower() if isinstance(field, str) else field
        return [f for table in _TABLES for f in self.lookup_tables[table].get(key, ())]

    def add(self, uid: str, field: DicomField) -> None:
        if uid in self.fields:
            self.remove(uid)
        self.fields[uid] = field
        self._index(field)

    def remove(self, uid: str) -> None:
        field = self.fields.pop(uid, None)
        if field is None:
            return
        for table, keys in _keys(field).items():
            for key in keys:
                bucket = self.lookup_tables[table].get(key)
                if bucket and field in bucket:
                    bucket.remove(field)
                    if not bucket:
                        del self.lookup_tables[table][key]

    def _index(self, field: DicomField) -> None:
        for table, keys in _keys(field).items():
            for key in keys:
                self.lookup_tables[table][key].append(field)

    # -- the dict
    def __getitem__(self, uid: str) -> DicomField:
        return self.fields[uid]

    def __setitem__(self, uid: str, field: DicomField) -> None:
        self.add(uid, field)

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __contains__(self, uid: object) -> bool:
        return uid in self.fields

    def __bool__(self) -> bool:
        return bool(self.fields)

    def __repr__(self) -> str:
        return f"<FieldsWithLookups {len(self.fields)} fields>"

    def get(self, uid: str, default: Any = None) -> Any:
        return self.fields.get(uid, default)

    def items(self):
        return self.fields.items()

    def keys(self):
        return self.fields.keys()

    def values(self):
        return self.fields.values()


def _keys(field: DicomField) -> dict[str, list[str]]:
    """The lower-cased keys under which ``field`` is found, per table."""
    element = field.element
    keys: dict[str, list[str]] = {}
    if field.name:
        keys["name"] = [field.name.lower()]
    keys["tag"] = [field.tag.lower()]
    keys["stripped_tag"] = [field.stripped_tag.lower()]
    if element.name:
        keys["element_name"] = [element.name.lower()]
    if element.keyword:
        keys["element_keyword"] = [element.keyword.lower()]
    if field.uid:
        keys["uid"] = [field.uid.lower()]
    if element.tag.is_private:
        creator = getattr(element, "private_creator", None)
        bare = f'{element.tag.group:04X},"{creator}",{element.tag.element & 0xFF:02X}'.lower()
        keys["name"] = keys.get("name", []) + [f"({bare})", bare]
    return keys


def get_fields_with_lookup(dicom, skip: Iterable[str] | None = None, expand_sequences: bool = True, seen: Iterable[str] | None = None) -> FieldsWithLookups:
    """Every field of ``dicom`` (file meta included), indexed: deid's ``get_fields_with_lookup``.

    ``skip``: keywords or ``(GGGG,EEEE)`` strings left out at every depth
    (None: nothing is left out, as in deid). ``seen``: uids left out.
    ``expand_sequences=False`` lists sequences without their items.
    Unlike deid, nothing is cached on the dataset object, so a dataset
    changed between two calls is listed as it is now.
    """
    fields = dicom_fields(dicom, skip=tuple(skip or ()), expand_sequences=expand_sequences)
    if seen:
        done = set(seen)
        fields = {uid: f for uid, f in fields.items() if uid not in done}
    return FieldsWithLookups(fields)
