"""``get_identifiers`` and ``DicomField``.

The field universe itself is built by :mod:`deidlang.runtime.universe`, the
same code that decides what recipes act on; this module only presents it in
deid's shape: ``{absolute path: {uid: DicomField}}``.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from pydicom.dataelem import DataElement

from ..lang import regexes
from ..lang.diagnostics import DeidlangError
from .files import _as_list, load_dataset

__all__ = ["DicomField", "dicom_fields", "get_identifiers"]


class DicomField:
    """One element of the field universe: deid's ``DicomField``.

    ``element`` is the pydicom DataElement (the dataset's own object, so
    editing it edits the dataset), ``name`` the keyword path joined with
    ``__`` (``""`` for private elements), ``uid`` the unique path such as
    ``(0008,1140)__0__(0008,1150)``.
    """

    __slots__ = ("element", "name", "uid", "is_filemeta")

    def __init__(self, element: DataElement, name: str, uid: str, is_filemeta: bool = False):
        self.element = element
        self.name = name
        self.uid = uid
        self.is_filemeta = is_filemeta

    def __str__(self) -> str:
        return f"{self.element}  [{self.name}]"

    def __repr__(self) -> str:
        return self.__str__()

    @property
    def tag(self) -> str:
        """``(GGGG,EEEE)``."""
        return str(self.element.tag)

    @property
    def stripped_tag(self) -> str:
        """``GGGGEEEE``."""
        return re.sub(r"[(), ]", "", self.tag)

    def _representations(self) -> list[str]:
        element = self.element
        group, number = element.tag.group, element.tag.element
        reps = [
            self.name.lower(),
            f"({group:04x},{number:04x})",
            self.stripped_tag,
            element.name,
            element.keyword,
        ]
        creator = getattr(element, "private_creator", None) if element.tag.is_private else None
        if creator is not None:
            bare = f'{group:04X},"{creator}",{number & 0xFF:02X}'
            reps += [bare, f"({bare})"]
        return reps

    def name_contains(self, expression) -> bool:
        """Whether the regex (case-insensitive) is found in the name, tag, element name or keyword."""
        if isinstance(expression, str):
            expression = regexes.compile(expression)  # bounded cost (deidlang/lang/regexes.py)
        return any(expression.search(rep) for rep in self._representations())

    def value_contains(self, expression) -> bool:
        """Whether the regex (case-insensitive) is found in the value's text (each item of a list)."""
        values = self.element.value
        if not isinstance(values, list):
            values = [values]
        matcher = regexes.compile(expression) if isinstance(expression, str) else expression
        return any(matcher.search(str(v)) for v in values)

    def select_matches(self, expression: str) -> bool:
        """``VR:XX`` (first two characters, any case) or ``GROUP:gggg`` (hex)."""
        attribute, _, value = expression.partition(":")
        attribute = attribute.upper()
        if attribute == "VR":
            return self.element.VR == value[:2].upper()
        if attribute == "GROUP":
            return self.element.tag.group == int(value, 16)
        return False


def _skip_list(config: Any, disable_skip: bool) -> tuple[str, ...]:
    """deid's protected fields: ``config``'s ``get.skip`` (a path to JSON, or a dict), or the default."""
    from ..runtime import universe

    if disable_skip:
        return ()
    if config is None:
        return tuple(universe.DEFAULT_SKIP)
    if isinstance(config, (str, os.PathLike)):
        try:
            with open(config, encoding="utf-8") as handle:
                config = json.load(handle)
        except FileNotFoundError as err:
            raise DeidlangError(f"cannot find config file '{os.fspath(config)}'") from err
        except (OSError, ValueError) as err:
            raise DeidlangError(f"cannot read config file '{os.fspath(config)}': {type(err).__name__}") from err
    skip = config.get("get", {}).get("skip", []) if isinstance(config, dict) else None
    if not isinstance(skip, list):
        raise DeidlangError("config must be a JSON object whose 'get' -> 'skip' is a list of keywords or tags")
    return tuple(skip)


def dicom_fields(ds, *, skip: tuple[str, ...], expand_sequences: bool = True) -> dict[str, DicomField]:
    """``{uid: DicomField}`` for every field of ``ds`` (file meta included) but those of ``skip``,
    in deid's order, from the universe recipes run on (:mod:`deidlang.runtime.universe`)."""
    from ..runtime import universe

    return {f.uid: DicomField(f.element, f.name, f.uid, bool(f.is_filemeta)) for f in universe.fields(ds, expand_sequences=expand_sequences, skip=skip)}


def get_identifiers(
    dicom_files,
    force=True,
    config=None,
    strip_sequences=False,
    remove_private=False,
    disable_skip=False,
    expand_sequences=True,
):
    """Every field of every file: ``{absolute path (None in memory): {uid: DicomField}}``.

    Unlike deid, the three flags are honoured, without changing the data:
    ``strip_sequences`` leaves out sequences and everything in them,
    ``remove_private`` leaves out private elements (and what they hold),
    ``disable_skip`` lists the protected elements (PixelData, ...) too.
    """
    skip = _skip_list(config, disable_skip)
    lookup: dict[Any, dict[str, DicomField]] = {}
    for item in _as_list(dicom_files):
        ds, path = load_dataset(item, force=force)
        fields: dict[str, DicomField] = {}
        for uid, f in dicom_fields(ds, skip=skip, expand_sequences=expand_sequences).items():
            if strip_sequences and (f.element.VR == "SQ" or "__" in uid):
                continue
            if remove_private and _has_private_step(uid):
                continue
            fields[uid] = f
        lookup[path] = fields
    return lookup


_UID_TAG = re.compile(r"\(([0-9A-Fa-f]{4}),[0-9A-Fa-f]{4}\)")


def _has_private_step(uid: str) -> bool:
    """Whether an element, or any sequence on its path, is private (odd group)."""
    return any(int(g, 16) % 2 == 1 for g in _UID_TAG.findall(uid))
