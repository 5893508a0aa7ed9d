"""The DICOM Basic Application Level Confidentiality Profile, as data: the rows of
PS3.15 Annex E Table E.1-1 (:data:`~.table.TABLE`, written out by this project) read as
:class:`Row` objects, the profile options and their bundled recipes, and the choices
the bundled recipe makes where the table leaves one (:func:`resolution`).

The codes are facts of the standard (edition in :data:`EDITION`); the tests cross-check
the rows against an independent machine-readable copy (the ``dicom-anonymizer``
package).

Codes: D dummy value valid for the VR, Z zero-length value, X remove, K keep,
C clean, U replace with a UID consistent across the set; combined codes
(``X/Z``, ``X/D``, ``Z/D``, ``X/Z/D``, ``X/Z/U*``) let a de-identifier pick
the strongest action that keeps the object valid.

:mod:`.coverage` says how recipes handle the rows (``deidc check --profile basic``).
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path
from typing import Iterable

import attrs

from .table import TABLE

__all__ = [
    "EDITION",
    "PROFILE",
    "Option",
    "OPTIONS",
    "Row",
    "TABLE",
    "rows",
    "option",
    "in_order",
    "option_recipe",
    "safe_harbor_code",
    "default_recipe",
    "resolution",
    "profile_tags",
]

#: The edition of PS3.15 the Basic Profile column is taken from; the option
#: columns are those of the 2024 editions (rows added since have none).
EDITION = "2026c"
#: CID 7050 code of the profile.
PROFILE = ("113100", "Basic Application Confidentiality Profile")


@attrs.frozen
class Option:
    """A profile option: its name here, its CID 7050 code and meaning, its bundled recipe.

    ``safe-harbor`` is no option of PS3.15 and has no CID 7050 code (``code`` None): it is
    HIPAA's Safe Harbor method (docs/safe-harbor.md) as an option recipe, applied before
    every other option, and its column of the table is this module's
    (:func:`safe_harbor_code`)."""

    name: str
    code: str | None
    meaning: str
    recipe: str | None  # file name under deidlang/data/options, or None (not bundled)
    keeps_private: bool = False  # its recipe KEEPs private elements: it acts only when private elements are kept
    excludes: tuple[tuple[str, str], ...] = ()  # (option, why) that cannot be combined with this one

    @property
    def cited(self) -> str:
        """How a document names it: its CID 7050 code, or what it is instead."""
        return f"CID 7050 code {self.code}" if self.code else "no CID 7050 code: 45 CFR 164.514(b)(2)"


OPTIONS: tuple[Option, ...] = (
    Option("retain-safe-private", "113111", "Retain Safe Private Option", "retain-safe-private.dicom", keeps_private=True),
    Option("retain-uids", "113110", "Retain UIDs Option", "retain-uids.dicom"),
    Option("retain-device-identity", "113109", "Retain Device Identity Option", "retain-device-identity.dicom"),
    Option("retain-institution-identity", "113112", "Retain Institution Identity Option", "retain-institution-identity.dicom"),
    Option("retain-patient-characteristics", "113108", "Retain Patient Characteristics Option", "retain-patient-characteristics.dicom"),
    Option("retain-full-dates", "113106", "Retain Longitudinal Temporal Information Full Dates Option", "retain-full-dates.dicom"),
    Option("retain-modified-dates", "113107", "Retain Longitudinal Temporal Information Modified Dates Option", "retain-modified-dates.dicom"),
    Option("clean-descriptors", "113105", "Clean Descriptors Option", "clean-descriptors.dicom"),
    Option("clean-structured-content", "113104", "Clean Structured Content Option", "clean-structured-content.dicom"),
    Option("clean-graphics", "113103", "Clean Graphics Option", "clean-graphics.dicom"),
    Option(
        "safe-harbor",
        None,
        "HIPAA Safe Harbor (45 CFR 164.514(b)(2))",
        "safe-harbor.dicom",
        excludes=(
            ("retain-full-dates", "Safe Harbor allows no element of a date but the year"),
            ("retain-modified-dates", "Safe Harbor allows no element of a date but the year, shifted or not"),
            ("retain-uids", "original UIDs are unique identifying numbers (category R), often made of dates and serial numbers"),
            ("retain-device-identity", "device identifiers and serial numbers are category M"),
        ),
    ),
)
#: options applied before all others, whatever the order they are given in: Safe Harbor's
#: limits (years, ages, patterns in free text) must reach what the others retain.
FIRST = ("safe-harbor",)


def in_order(names: Iterable[str]) -> list[str]:
    """Option names (each once) in the order their recipes apply: :data:`FIRST`, then as given."""
    unique = list(dict.fromkeys(names))
    return [n for n in FIRST if n in unique] + [n for n in unique if n not in FIRST]


def option(name: str) -> Option:
    for o in OPTIONS:
        if o.name == name:
            return o
    raise KeyError(name)


def _data_dir() -> Path:
    return Path(str(resources.files("deidlang") / "data"))


def default_recipe() -> Path:
    """The bundled Basic Profile recipe (deidlang's default recipe)."""
    return _data_dir() / "default.dicom"


def option_recipe(name: str) -> Path:
    """The bundled recipe of option ``name`` (apply it *before* the profile recipe)."""
    o = option(name)
    if o.recipe is None:
        raise KeyError(f"option '{name}' has no bundled recipe")
    return _data_dir() / "options" / o.recipe


# --------------------------------------------------------------------------- the table


@attrs.frozen
class Row:
    """One row of Table E.1-1."""

    tag: int | None  # None for the patterns (repeating groups, private attributes)
    pattern: str  # "gggg,eeee" as in the table, "50xx,xxxx", or "private"
    code: str
    keyword: str  # "" when pydicom's dictionary does not know the attribute
    name: str
    options: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        where = f"({self.pattern.upper()})" if self.pattern != "private" else "private"
        return f"{where} {self.keyword or self.name}"

    @property
    def vr(self) -> str:
        if self.tag is None:
            return "UN" if self.pattern == "private" else ""
        from pydicom.datadict import dictionary_has_tag, dictionary_VR

        return dictionary_VR(self.tag).split(" or ")[0] if dictionary_has_tag(self.tag) else ""

    def option_code(self, name: str) -> str | None:
        for k, v in self.options:
            if k == name:
                return v
        return None

    def required(self, options: Iterable[str] = ()) -> str:
        """The code that applies with these options (an option's K or C overrides the profile)."""
        codes = [c for c in (self.option_code(o) for o in options) if c]
        if "K" in codes:
            return "K"
        if codes:
            return codes[0]
        return self.code


_ROW_RE = re.compile(r'(\S+)\s+(\S+)\s+("([^"]*)"|\S+)\s*(.*)')


@functools.lru_cache(maxsize=1)
def rows() -> tuple[Row, ...]:
    """The table, parsed once."""
    from pydicom.datadict import dictionary_description, dictionary_has_tag

    out = []
    for line in TABLE.strip().splitlines():
        m = _ROW_RE.fullmatch(line.strip())
        assert m, line
        pattern, code, word, quoted, rest = m.groups()
        opts = tuple(tuple(p.split("=", 1)) for p in rest.split())
        tag = None
        if re.fullmatch(r"[0-9A-F]{4},[0-9A-F]{4}", pattern):
            tag = int(pattern.replace(",", ""), 16)
        keyword = "" if quoted is not None else word
        name = quoted if quoted is not None else (dictionary_description(tag) if tag is not None and dictionary_has_tag(tag) else word)
        row = Row(tag, pattern, code, keyword, name, opts)
        extra = safe_harbor_code(row)
        out.append(attrs.evolve(row, options=opts + (("safe-harbor", extra),)) if extra else row)
    return tuple(out)


#: Rows Safe Harbor lets a de-identifier keep in part: the age (aggregated over 89) and
#: the date of birth (its year, when the age is not over 89); the other dates are the
#: rows whose dates the Retain Modified Dates option may keep changed.
_SAFE_HARBOR_ROWS = ("PatientAge", "PatientBirthDate")


def safe_harbor_code(row: Row) -> str | None:
    """The safe-harbor column: C (kept reduced: a date to its year, an age over 89 to 90)
    for ages and DA/DT dates, None elsewhere (the basic profile's code applies)."""
    if row.keyword in _SAFE_HARBOR_ROWS:
        return "C"
    if row.option_code("retain-modified-dates") == "C" and row.vr in ("DA", "DT"):
        return "C"
    return None


@functools.lru_cache(maxsize=1)
def profile_tags() -> frozenset[int]:
    """The tags of the table (some are newer than pydicom's data dictionary)."""
    return frozenset(r.tag for r in rows() if r.tag is not None)


# --------------------------------------------------------------------------- the bundled recipe's choices

#: Combined codes: the action the bundled recipe takes. The rule: toward a
#: dummy value where the attribute is Type 1 in common IODs, toward a
#: zero-length value where it is Type 2, removal where it is Type 3 everywhere.
_RESOLVED = {"X/Z": "Z", "X/D": "D", "Z/D": "D", "X/Z/D": "D", "X/Z/U*": "-"}
_OVERRIDES = {
    # Z/D: Type 2 where it appears
    "ContentCreatorName": "Z",
    "ContrastBolusAgent": "Z",
    # Z/D: a keyed pseudonym keeps one patient's files together
    "PatientID": "P",
    # X/D and X/Z/D: Type 3 in the common IODs
    "AcquisitionDeviceProcessingDescription": "X",
    "DateOfLastDetectorCalibration": "X",
    "TimeOfLastDetectorCalibration": "X",
    "DetectorID": "X",
    "InstanceCreationDate": "X",
    "InstanceCreationTime": "X",
    "InstitutionCodeSequence": "X",
    "OperatorIdentificationSequence": "X",
    "WaveformAnnotationSequence": "X",
    # X/Z/D: Type 2 in some IODs
    "OperatorsName": "Z",
    # X/Z: a Type 3 sequence of 1-n items (General Study): empty, it makes the object invalid
    "ReferencedStudySequence": "X",
    # X: Type 2C in the Patient module (required, possibly empty, for an animal): emptied
    "ResponsiblePerson": "Z",
    "ResponsibleOrganization": "Z",
    # X: Type 1 in the Presentation State Identification module: a dummy value
    "PresentationCreationDate": "D",
    "PresentationCreationTime": "D",
}
#: X rows whose attribute is Type 2C: an empty element (Z) is what keeps an object
#: that needs it valid, and holds no more information than a removed one.
EMPTY_FOR_X = frozenset(("ResponsiblePerson", "ResponsibleOrganization"))
#: X rows whose attribute is Type 1 (a presentation state's creation date and time): a
#: dummy value is what keeps an object that needs it valid, and holds nothing of the original.
DUMMY_FOR_X = frozenset(("PresentationCreationDate", "PresentationCreationTime"))


def resolution(row: Row) -> str:
    """What the bundled recipe does with a row: X, Z, D, U, P (keyed pseudonym, a D),
    or "-" (no line: a sequence kept, its contents handled by their own rows)."""
    if row.keyword in _OVERRIDES:
        return _OVERRIDES[row.keyword]
    return _RESOLVED.get(row.code, row.code)


# --------------------------------------------------------------------------- coverage


# --------------------------------------------------------------------------- output
