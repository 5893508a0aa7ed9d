"""What the built-ins that clean text share: the dummy value of each VR, the walk through
a sequence that skips what KEEP protects, and ``scrub`` (a text without the identifying
values of its own dataset). Used by :mod:`.builtins` and by the cleaning built-ins of
:mod:`.content` (structured content), :mod:`.graphics` (graphics) and
:mod:`.safeharbor` (HIPAA Safe Harbor)."""

from __future__ import annotations

import re
from typing import Any, Callable

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from . import keys, patterns
from .values import Builtin, BuiltinFailed, items_of

__all__ = [
    "BuiltinFailed",
    "TEXT_VRS",
    "SCRUB_VRS",
    "SCRUB_SOURCES",
    "dummy_value",
    "text_items",
    "one",
    "builtin_key",
    "need",
    "hidden",
    "deep",
    "enclosed",
    "scrub_terms",
    "scrub_text",
    "scrub_regex",
    "clean_text",
    "IDENTIFIER_PATTERNS",
]

#: VRs whose values can carry identifying text or dates (what dummy/scrub touch inside sequences).
TEXT_VRS = frozenset(("AE", "AS", "DA", "DT", "TM", "PN", "LO", "SH", "ST", "LT", "UT", "UC", "UR"))
SCRUB_VRS = frozenset(("LO", "SH", "ST", "LT", "UT", "UC"))
_DUMMY_TEXT = "ANONYMOUS"
_DUMMY: dict[str, Any] = {
    "AE": _DUMMY_TEXT,
    "CS": _DUMMY_TEXT,
    "LO": _DUMMY_TEXT,
    "LT": _DUMMY_TEXT,
    "PN": _DUMMY_TEXT,
    "SH": _DUMMY_TEXT,
    "ST": _DUMMY_TEXT,
    "UC": _DUMMY_TEXT,
    "UT": _DUMMY_TEXT,
    "UR": _DUMMY_TEXT,
    "AS": "000D",
    "DA": "19000101",
    "DT": "19000101000000",
    "TM": "000000",
    "DS": "0",
    "IS": "0",
    "FL": 0.0,
    "FD": 0.0,
    "SL": 0,
    "SS": 0,
    "SV": 0,
    "UL": 0,
    "US": 0,
    "UV": 0,
    "AT": 0,
    "OB": b"\x00\x00",
    "OD": b"\x00" * 8,
    "OF": b"\x00" * 4,
    "OL": b"\x00" * 4,
    "OV": b"\x00" * 8,
    "OW": b"\x00\x00",
    "UN": b"\x00\x00",
}


def dummy_value(vr: str) -> Any:
    """A valid, non-empty, non-identifying value for ``vr`` (not for UI or SQ)."""
    return _DUMMY.get(vr.split(" or ")[0] if vr else "UN", _DUMMY_TEXT)


def text_items(value: Any) -> list[str]:
    return [str(v) for v in items_of(value)]


def one(items: list) -> Any:
    return items[0] if len(items) == 1 else items


def builtin_key(b: Builtin) -> keys.Key:
    return keys.resolve_key(b.key)


def need(element: Any, b: Builtin) -> None:
    if element is None:
        raise LookupError(f"deid_func:{b.name} needs an existing element")


def hidden(run: Any) -> set:
    """(dataset id, tag) of every element that KEEP protects in this run (or the skip
    list hides). Inside the element being set (``run.current``), an element counts only
    when a KEEP protects it, or a sequence on its way up, on its own: ``KEEP
    ContentSequence deid_func:...`` hides everything in the sequence, and the built-in
    is there to change what is inside."""
    if run is None:
        return set()
    current = getattr(run, "current", None)
    program = getattr(run, "program", None)
    keep = frozenset(getattr(program, "keep", ()))
    own = keep.intersection(current.ids) if current is not None else frozenset()
    skip = program.skip.tags if program is not None else frozenset()
    out = set()
    for f in run.fields:
        if f.visible:
            continue
        if own and f.tag_int not in skip and not _kept_apart(f, current, keep, own):
            continue
        out.add((id(f.parent), f.tag_int))
    return out


def enclosed(run: Any, name: str) -> bool:
    """Whether the element being set (``run.current``) lies inside an element that a line
    with the same built-in sets too (``KEEP ContentSequence deid_func:cleancontent``
    selects the nested ContentSequences as well): the outer one's call cleans it, once."""
    current = getattr(run, "current", None)
    if current is None or current.owner is None:
        return False
    mine = set()
    for step in getattr(run.program, "steps", ()):
        value = getattr(step, "value", None)
        if isinstance(value, Builtin) and value.name == name and isinstance(getattr(step, "selector", None), int):
            mine.add(step.selector)
    node = current.owner
    while node is not None:
        if not mine.isdisjoint(node.ids):
            return True
        node = node.owner
    return False


def _kept_apart(field: Any, current: Any, keep: frozenset, own: frozenset) -> bool:
    """Whether ``field`` is protected otherwise than by the KEEP of ``current``: it is not
    inside ``current``, or a KEEP other than current's selects it or an enclosing sequence."""
    node = field
    while node is not None and node is not current:
        mine = keep.intersection(node.ids)
        if mine and not mine <= own:
            return True
        node = node.owner
    return node is None


def deep(run: Any, sequence: Sequence, change: Callable[[Dataset, Any, Any], None]) -> None:
    """Apply ``change(dataset, tag, element)`` to every element inside ``sequence`` (at
    every depth) that KEEP does not protect; sequences are entered, not changed."""
    protected = hidden(run)
    stack = [item for item in sequence if isinstance(item, Dataset)]
    while stack:
        ds = stack.pop()
        for tag in list(ds.keys()):
            if (id(ds), int(tag)) in protected:
                continue
            elem = ds[tag]
            if elem.VR == "SQ":
                stack.extend(i for i in (elem.value or ()) if isinstance(i, Dataset))
            else:
                change(ds, tag, elem)


#: identifying values of the dataset that scrub removes from text
SCRUB_SOURCES = (
    "PatientName",
    "PatientID",
    "OtherPatientIDs",
    "OtherPatientNames",
    "PatientBirthName",
    "PatientMotherBirthName",
    "PatientBirthDate",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "IssuerOfPatientID",
    "MedicalRecordLocator",
    "AdmissionID",
    "AccessionNumber",
    "StudyID",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "ReferringPhysicianName",
    "PerformingPhysicianName",
    "NameOfPhysiciansReadingStudy",
    "OperatorsName",
    "PhysiciansOfRecord",
    "RequestingPhysician",
    "ResponsiblePerson",
    "StationName",
    "DeviceSerialNumber",
)


#: Words of an address that name no place (scrub leaves them in the text).
_ADDRESS_WORDS = frozenset(
    "road street avenue lane drive boulevard court place square suite floor building house apartment north south east west main unit block flat".split()
)


def scrub_terms(ds: Dataset) -> list[str]:
    terms: set[str] = set()
    for keyword in SCRUB_SOURCES:
        elem = ds.data_element(keyword) if keyword in ds else None
        if elem is None or elem.VR == "SQ":
            continue
        for value in text_items(elem.value):
            value = value.strip()
            if not value:
                continue
            terms.add(value)
            if elem.VR == "PN":
                for part in re.split(r"[\^=\s,]+", value):
                    if len(part) >= 2:
                        terms.add(part)
            if "Address" in keyword:  # the town or street alone identifies too
                terms.update(w for w in re.findall(r"[^\W_]{4,}", value) if w.lower() not in _ADDRESS_WORDS)
            if elem.VR == "DA" and re.fullmatch(r"\d{8}", value):
                y, m, d = value[:4], value[4:6], value[6:]
                terms.update({f"{y}-{m}-{d}", f"{d}.{m}.{y}", f"{m}/{d}/{y}", f"{d}/{m}/{y}"})
    return sorted(terms, key=lambda t: (-len(t), t))


def scrub_text(text: str, rx: Any, vr: str) -> str:
    """``text`` without the identifying values ``rx`` finds. A value that was nothing
    else becomes the VR's dummy value, not an empty one: the attribute can be Type 1
    (StructureSetLabel, RequestedProcedureID in a request item)."""
    if rx is None or not text:
        return text
    out = rx.sub("", text)
    if out == text:
        return text
    out = re.sub(r"[ \t]{2,}", " ", out).strip()
    return out if re.search(r"\w", out) else dummy_value(vr)


def scrub_regex(run: Any) -> Any:
    if run is None:
        raise BuiltinFailed("deid_func:scrub needs the dataset")
    terms = scrub_terms(run.ds)
    if not terms:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(t) for t in terms) + r")(?!\w)", re.IGNORECASE)


#: what looks like an identifier in free text, whoever it belongs to (:mod:`.patterns`)
IDENTIFIER_PATTERNS = patterns.GENERIC + patterns.SAFE_HARBOR


def clean_text(text: str, rx: Any, vr: str) -> str:
    """``text`` without this file's identifying values (``rx``, from :func:`scrub_regex`)
    and without what looks like an identifier; the VR's dummy when nothing is left."""
    out = patterns.scrub(text, IDENTIFIER_PATTERNS)  # first: the file's names are parts of e-mail addresses
    out = scrub_text(out, rx, vr)
    return out if any(c.isalnum() for c in out) else dummy_value(vr)
