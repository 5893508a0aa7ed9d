"""The ``deid_func:`` built-ins.

deid's (spec 4.4): jitter, dicom_uuid, pydicom_uuid, suffix_uuid, basic_uuid.
deidlang's (docs/language.md, "Built-in functions"): hashuid, hashid and
dateshift (keyed: see :mod:`.keys`), dummy (a valid value for the
element's VR), scrub (the text without this dataset's identifying values),
code (a coded item for a code sequence) and append (one more value of a
multi-valued element).

Arguments are deid's ``k=v`` pairs (``true``/``false`` -> bool, ``none``/
``null`` -> None). They are parsed and checked when the recipe is compiled
(:func:`make_builtin` raises :class:`BadArgument`), so a bad prefix fails
once, not per file. Unlike deid, nothing is printed to stdout.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from pydicom.uid import generate_uid

from .dates import jitter_item
from .values import Builtin, items_of

__all__ = [
    "NAMES",
    "DEID_NAMES",
    "ARGUMENTS",
    "BadArgument",
    "BuiltinFailed",
    "make_builtin",
    "builtin_from_text",
    "evaluate",
    "jitter_days",
    "jitter_value",
    "dummy_value",
]

#: deid 0.4.13's built-ins.
DEID_NAMES = ("jitter", "dicom_uuid", "pydicom_uuid", "suffix_uuid", "basic_uuid")
#: every built-in and the arguments it reads.
ARGUMENTS: dict[str, tuple[str, ...]] = {
    "jitter": ("days", "years"),
    "dicom_uuid": ("org_root",),
    "pydicom_uuid": ("prefix", "stable_remapping"),
    "suffix_uuid": (),
    "basic_uuid": (),
    "hashuid": ("prefix",),
    "hashid": ("length", "prefix"),
    "dateshift": ("max_days", "patient"),
    "dummy": (),
    "scrub": (),
    "code": ("value", "scheme", "meaning"),
    "append": ("value",),
}
NAMES = tuple(ARGUMENTS)
_UID_PREFIX = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*\.")
_ID_PREFIX = re.compile(r"[A-Za-z0-9_.-]{0,16}")
_KEYWORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")


class BadArgument(ValueError):
    """An unknown built-in, or an argument it cannot use."""


class BuiltinFailed(ValueError):
    """A built-in cannot produce a value for this element (the message names no value)."""


def _convert(value: str) -> Any:
    if value == "true":
        return True
    if value == "false":
        return False
    if value in ("none", "null"):
        return None
    return value


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _whole(b: Builtin, key: str, default: int, low: int, high: int) -> int:
    raw = b.option(key, default)
    try:
        n = int(raw)
    except (TypeError, ValueError):
        raise BadArgument(f"deid_func:{b.name} needs a whole number for '{key}'") from None
    if not low <= n <= high:
        raise BadArgument(f"deid_func:{b.name} needs '{key}' between {low} and {high}")
    return n


def _check_new(b: Builtin) -> None:
    """Argument checks of deidlang's own built-ins (raise :class:`BadArgument`)."""
    name = b.name
    if name == "hashuid":
        prefix = b.option("prefix", "2.25.")
        if not isinstance(prefix, str) or not _UID_PREFIX.fullmatch(prefix) or len(prefix) > 30:
            raise BadArgument(
                "deid_func:hashuid needs a prefix like '1.2.826.0.1.3680043.10.1234.' (digits and dots, ending with a dot, at most 30 characters)"
            )
    elif name == "hashid":
        _whole(b, "length", 16, 8, 64)
        prefix = b.option("prefix", "")
        if not isinstance(prefix, str) or not _ID_PREFIX.fullmatch(prefix):
            raise BadArgument("deid_func:hashid needs a prefix of at most 16 letters, digits, '_', '-' or '.'")
    elif name == "dateshift":
        _whole(b, "max_days", 365, 1, 36500)
        patient = b.option("patient", "PatientID")
        if not isinstance(patient, str) or not (_KEYWORD.fullmatch(patient) or (patient.startswith("var:") and len(patient) > 4)):
            raise BadArgument("deid_func:dateshift needs patient= a DICOM keyword (default PatientID) or var:NAME")
    elif name == "code":
        for key in ("value", "scheme", "meaning"):
            v = b.option(key)
            if not isinstance(v, str) or not v.strip():
                raise BadArgument(
                    f'deid_func:code needs {key}=, e.g. `deid_func:code value=113100 scheme=DCM meaning="Basic Application Confidentiality Profile"`'
                )
        if len(b.option("value")) > 16 or len(b.option("scheme")) > 16 or len(b.option("meaning")) > 64:
            raise BadArgument("deid_func:code: value= and scheme= hold at most 16 characters, meaning= at most 64")
    elif name == "append":
        v = b.option("value")
        if not isinstance(v, str) or not v.strip() or "\\" in v:
            raise BadArgument('deid_func:append needs value= one value (no backslash), e.g. value="Basic Application Confidentiality Profile"')


def make_builtin(name: str, pairs: list[tuple[str, str]], text: str) -> Builtin:
    """A checked :class:`Builtin` from its name and its raw ``k=v`` pairs."""
    if name not in NAMES:
        raise BadArgument(f"unknown deid_func '{name}'")
    options = tuple((k.strip(), _unquote(_convert(v.strip())) if name not in DEID_NAMES else _convert(v.strip())) for k, v in pairs)
    b = Builtin(name, options, text)
    if name not in DEID_NAMES:
        _check_new(b)
        return b
    if name == "jitter":
        for key in ("days", "years"):
            if b.has(key):
                try:
                    int(b.option(key))
                except (TypeError, ValueError):
                    raise BadArgument(f"deid_func:jitter needs a whole number for '{key}'") from None
    elif name == "pydicom_uuid":
        prefix = b.option("prefix", "2.25.")
        if prefix is not None and (not isinstance(prefix, str) or not _UID_PREFIX.fullmatch(prefix) or len(prefix) > 54):
            raise BadArgument("deid_func:pydicom_uuid needs a prefix like '1.2.3.' (digits and dots, ending with a dot)")
    return b


def builtin_from_text(text: str) -> Builtin:
    """``deid_func:NAME k=v k2=v2`` as deid splits it (pieces without ``=`` are ignored)."""
    rest = text[len("deid_func:") :]
    name, _, extras = rest.partition(" ")
    pairs = [tuple(p.split("=", 1)) for p in extras.split(" ") if "=" in p]
    return make_builtin(name, pairs, text)  # type: ignore[arg-type]


def jitter_days(b: Builtin) -> int:
    """deid: ``days`` (default 1) plus 365 times ``years``."""
    days = int(b.option("days", 1))
    if b.has("years"):
        days += int(b.option("years")) * 365
    return days


def jitter_value(value: Any, vr: str, days: int) -> tuple[Any, bool]:
    """The jittered value (a str, or a list for a multi-valued element) and whether every item parsed."""
    items = items_of(value)
    out = []
    complete = True
    for item in items:
        new = jitter_item(str(item), vr, days)
        if new is None:
            complete = False
            out.append(item)
        else:
            out.append(new)
    if isinstance(value, (list, tuple)) or len(items) != 1:
        return out, complete
    return out[0], complete


def evaluate(b: Builtin, *, field: Any, element: Any, run: Any = None) -> Any:
    """Run a built-in. ``field`` is a DicomField (or the recipe text for ADD); ``element``
    the element it works on (``None`` when there is none); ``run`` the current
    :class:`~deidlang.runtime.context.Run` (the dataset, the variables)."""
    name = b.name
    if name in _NEW:
        return _NEW[name](b, field, element, run)
    if name == "basic_uuid":
        return str(uuid.uuid4())
    if name == "suffix_uuid":
        label = field.name if hasattr(field, "name") else str(field)
        return f"{label.lower()}-{uuid.uuid4()}"
    if name == "dicom_uuid":
        root = b.option("org_root", "anonymous-organization")
        return f"{root}.{uuid.uuid4().int}"[:64]
    if element is None:
        raise LookupError(f"deid_func:{name} needs an existing element")
    if name == "pydicom_uuid":
        prefix = b.option("prefix", "2.25.")
        stable = b.option("stable_remapping", True) is True
        sources = [str(element.value)] if stable else None
        return generate_uid(prefix=prefix, entropy_srcs=sources)
    if name == "jitter":
        if not element.value:
            return None
        value, _ = jitter_value(element.value, element.VR, jitter_days(b))
        return value
    raise BadArgument(f"unknown deid_func '{name}'")  # pragma: no cover - make_builtin checked it


# --------------------------------------------------------------------------- deidlang's built-ins

from pydicom.dataelem import DataElement  # noqa: E402
from pydicom.dataset import Dataset  # noqa: E402
from pydicom.multival import MultiValue  # noqa: E402
from pydicom.sequence import Sequence  # noqa: E402
from pydicom.tag import Tag  # noqa: E402

from ..dicomio import rawtext, sequences  # noqa: E402
from . import keys  # noqa: E402

#: VRs whose values can carry identifying text or dates (what dummy/scrub touch inside sequences).
TEXT_VRS = frozenset(("AE", "AS", "DA", "DT", "TM", "PN", "LO", "SH", "ST", "LT", "UT", "UC", "UR"))
_SCRUB_VRS = frozenset(("LO", "SH", "ST", "LT", "UT", "UC"))
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


def _text_items(value: Any) -> list[str]:
    return [str(v) for v in items_of(value)]


def _one(items: list) -> Any:
    return items[0] if len(items) == 1 else items


def _key(b: Builtin) -> keys.Key:
    return keys.resolve_key(b.key)


def _need(element: Any, b: Builtin) -> None:
    if element is None:
        raise LookupError(f"deid_func:{b.name} needs an existing element")


def _hidden(run: Any) -> set:
    """(dataset id, tag) of every element that KEEP protects in this run."""
    if run is None:
        return set()
    return {(id(f.parent), f.tag_int) for f in run.fields if not f.visible}


def _deep(run: Any, sequence: Sequence, change) -> None:
    """Apply ``change(dataset, tag, element)`` to every element inside ``sequence`` (at
    every depth) that KEEP does not protect; sequences are entered, not changed."""
    hidden = _hidden(run)
    stack = [item for item in sequence if isinstance(item, Dataset)]
    while stack:
        ds = stack.pop()
        for tag in list(ds.keys()):
            if (id(ds), int(tag)) in hidden:
                continue
            elem = ds[tag]
            if elem.VR == "SQ":
                stack.extend(i for i in (elem.value or ()) if isinstance(i, Dataset))
            else:
                change(ds, tag, elem)


def _hashuid(b: Builtin, field: Any, element: Any, run: Any) -> Any:
    _need(element, b)
    key = _key(b)
    prefix = b.option("prefix", "2.25.")
    raw = getattr(element, "raw", None)
    texts = rawtext.uid_texts(raw) if raw is not None else None
    if texts is None:
        texts = _text_items(element.value)
    out = [keys.hash_uid(key, u, prefix) if u.strip() else u for u in texts]
    return _one(out) if out else ""


def _hashid(b: Builtin, field: Any, element: Any, run: Any) -> Any:
    _need(element, b)
    key = _key(b)
    length = int(b.option("length", 16))
    prefix = b.option("prefix", "")
    raw = getattr(element, "raw", None)
    texts = rawtext.texts(raw) if raw is not None else None
    if texts is None:
        texts = _text_items(element.value)
    out = [keys.hash_id(key, v, length, prefix) if v.strip() else v for v in texts]
    return _one(out) if out else ""


def _patient(b: Builtin, run: Any) -> str:
    source = b.option("patient", "PatientID")
    if run is None:
        raise BuiltinFailed("deid_func:dateshift needs the dataset")
    if source.startswith("var:"):
        value = run.lookup.get(source[4:])
        if value is None:
            raise BuiltinFailed(f"deid_func:dateshift: variable '{source[4:]}' has no value for this dataset")
        return str(value)
    elem = run.ds.data_element(source) if source in run.ds else None
    value = getattr(elem, "value", None)
    return "" if value is None else str(value)


def _shift_one(text: str, vr: str, days: int) -> str:
    import datetime as _dt

    from .dates import parse_da, parse_dt

    if vr == "DA":
        d = parse_da(text)
        if d is None:
            return ""
        n = d + _dt.timedelta(days=days)
        return f"{n.year:04d}{n.month:02d}{n.day:02d}"
    # DT: shift the date, keep the time, fraction and offset as written
    t = text.strip()
    if len(t) < 8 or parse_dt(t) is None:
        return ""
    d = parse_da(t[:8])
    if d is None:
        return ""
    n = d + _dt.timedelta(days=days)
    return f"{n.year:04d}{n.month:02d}{n.day:02d}" + t[8:]


def _dateshift(b: Builtin, field: Any, element: Any, run: Any) -> Any:
    _need(element, b)
    vr = element.VR
    if vr == "TM":
        return element.value  # a whole-day shift keeps the time of day
    if vr not in ("DA", "DT"):
        raise BuiltinFailed(f"deid_func:dateshift works on DA, DT and TM elements, not VR {vr}")
    days = keys.day_offset(_key(b), _patient(b, run), int(b.option("max_days", 365)))
    try:
        out = [_shift_one(v, vr, days) if v.strip() else v for v in _text_items(element.value)]
    except OverflowError:
        out = [""]
    return _one(out) if out else ""


def _dummy(b: Builtin, field: Any, element: Any, run: Any) -> Any:
    _need(element, b)
    vr = element.VR
    if vr == "SQ":

        def change(ds, tag, elem):
            if elem.VR in TEXT_VRS and elem.value not in (None, ""):
                elem.value = dummy_value(elem.VR)

        _deep(run, element.value, change)
        return element.value
    if vr == "UI":
        key = _key(b)
        return keys.hash_uid(key, "dummy\x00" + str(element.value or ""))
    return dummy_value(vr)


#: identifying values of the dataset that scrub removes from text
_SCRUB_SOURCES = (
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


def _scrub_terms(ds: Dataset) -> list[str]:
    terms: set[str] = set()
    for keyword in _SCRUB_SOURCES:
        elem = ds.data_element(keyword) if keyword in ds else None
        if elem is None or elem.VR == "SQ":
            continue
        for value in _text_items(elem.value):
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


def _scrub_text(text: str, rx: Any, vr: str) -> str:
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


def _scrub_regex(run: Any) -> Any:
    if run is None:
        raise BuiltinFailed("deid_func:scrub needs the dataset")
    terms = _scrub_terms(run.ds)
    if not terms:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(t) for t in terms) + r")(?!\w)", re.IGNORECASE)


def _scrub(b: Builtin, field: Any, element: Any, run: Any) -> Any:
    _need(element, b)
    rx = _scrub_regex(run)
    if element.VR == "SQ":

        def change(ds, tag, elem):
            if elem.VR in _SCRUB_VRS and isinstance(elem.value, (str, MultiValue, list)):
                new = [_scrub_text(v, rx, elem.VR) for v in _text_items(elem.value)]
                elem.value = _one(new) if new else elem.value

        _deep(run, element.value, change)
        return element.value
    if element.VR not in TEXT_VRS and element.VR not in ("CS",):
        return element.value
    out = [_scrub_text(v, rx, element.VR) for v in _text_items(element.value)]
    return _one(out) if out else element.value


_CODE_TAGS = ((Tag(0x00080100), "SH"), (Tag(0x00080102), "SH"), (Tag(0x00080104), "LO"))  # value, scheme, meaning


def _code_item(value: str, scheme: str, meaning: str, parent: Any) -> Dataset:
    """A code sequence item (CodeValue, CodingSchemeDesignator, CodeMeaning) for a
    sequence of ``parent``. When ``parent`` was read from a file, ASCII texts are
    stored as bytes (runtime/rawtext.py) and the item gets the parent's encoding, as
    an item read from that file would: writers then take the bytes as they are."""
    state = parent.__dict__ if isinstance(parent, Dataset) else {}
    # pydicom's Dataset.original_encoding, read directly (the property costs more than the rest)
    raw = state.get("_read_implicit") is False and state.get("_read_little") is True
    if raw:
        encoding = parent._character_set
        item = sequences.new_item({}, encoding)
        sequences.set_read_encoding(item, False, encoding)
    else:
        item = Dataset()
    for (tag, vr), text in zip(_CODE_TAGS, (value, scheme, meaning)):
        data = rawtext.encode(text, vr) if raw else None
        if data is None:
            item[tag] = DataElement(tag, vr, text)
        else:
            item._dict[tag] = rawtext.new_element(tag, vr, data)
    return item


def _code(b: Builtin, field: Any, element: Any, run: Any) -> Any:
    value, scheme, meaning = (b.option(k).strip() for k in ("value", "scheme", "meaning"))
    items = [i for i in (element.value if element is not None and isinstance(element.value, Sequence) else ()) if isinstance(i, Dataset)]
    if element is not None and element.VR != "SQ":
        raise BuiltinFailed(f"deid_func:code makes a code sequence item, not a value of VR {element.VR}")
    if not any(str(i.get("CodeValue", "")) == value and str(i.get("CodingSchemeDesignator", "")) == scheme for i in items):
        items.append(_code_item(value, scheme, meaning, run.ds if run is not None else None))
    if len(items) > 1:
        items.sort(key=lambda i: (str(i.get("CodingSchemeDesignator", "")), str(i.get("CodeValue", ""))))
    return Sequence(items)


def _append(b: Builtin, field: Any, element: Any, run: Any) -> Any:
    value = b.option("value").strip()
    items = [] if element is None or element.value in (None, "") else _text_items(element.value)
    if value not in items:
        items.append(value)
    return _one(items)


_NEW = {
    "hashuid": _hashuid,
    "hashid": _hashid,
    "dateshift": _dateshift,
    "dummy": _dummy,
    "scrub": _scrub,
    "code": _code,
    "append": _append,
}
