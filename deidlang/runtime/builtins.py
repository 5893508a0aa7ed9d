"""The ``deid_func:`` built-ins.

deid's: jitter, dicom_uuid, pydicom_uuid, suffix_uuid, basic_uuid.
deidlang's (docs/language.md, "Built-in functions"): hashuid, hashid and
dateshift (keyed: see :mod:`.keys`), dummy (a valid value for the
element's VR), scrub (the text without this dataset's identifying values),
code (a coded item for a code sequence), append (one more value of a
multi-valued element), cleancontent (a structured report's content tree with
its codes, measurements and structure, cleaned: :mod:`.content`), cleangraphics
(overlays, curves and graphic annotations, cleaned: :mod:`.graphics`) and safeharbor
(what HIPAA's Safe Harbor method allows: :mod:`.safeharbor`).

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
from .values import BadArgument, Builtin, BuiltinFailed, items_of

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
    "dateshift": ("max_days", "patient", "table", "key", "column", "key_column"),  # table=...: deidlang/tables
    "dummy": (),
    "scrub": (),
    "code": ("value", "scheme", "meaning"),
    "append": ("value",),
    "lookup": ("table", "key", "column", "key_column"),  # a table's value for this file's key: deidlang/tables
    "cleancontent": (),
    "cleangraphics": (),
    "safeharbor": (),
}
NAMES = tuple(ARGUMENTS)
_UID_PREFIX = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*\.")
_ID_PREFIX = re.compile(r"[A-Za-z0-9_.-]{0,16}")
_KEYWORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")


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
    elif name == "lookup" or (name == "dateshift" and b.has("table")):  # lookup tables: runtime/lookups.py
        _lookups().check_arguments(b)
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
from .cleaning import SCRUB_VRS, TEXT_VRS, builtin_key, deep, dummy_value, need, one, scrub_regex, scrub_text, text_items  # noqa: E402
from .content import clean_content  # noqa: E402
from .graphics import clean_graphics  # noqa: E402
from .safeharbor import safe_harbor  # noqa: E402


def _hashuid(b: Builtin, field: Any, element: Any, run: Any) -> Any:
    need(element, b)
    key = builtin_key(b)
    prefix = b.option("prefix", "2.25.")
    raw = getattr(element, "raw", None)
    texts = rawtext.uid_texts(raw) if raw is not None else None
    if texts is None:
        texts = text_items(element.value)
    out = [keys.hash_uid(key, u, prefix) if u.strip() else u for u in texts]
    if run is not None and run.tables is not None:  # the linkage record (runtime/lookups.py)
        _lookups().link_each(run, field, texts, out)
    return one(out) if out else ""


def _hashid(b: Builtin, field: Any, element: Any, run: Any) -> Any:
    need(element, b)
    key = builtin_key(b)
    length = int(b.option("length", 16))
    prefix = b.option("prefix", "")
    raw = getattr(element, "raw", None)
    texts = rawtext.texts(raw) if raw is not None else None
    if texts is None:
        texts = text_items(element.value)
    out = [keys.hash_id(key, v, length, prefix) if v.strip() else v for v in texts]
    if run is not None and run.tables is not None:  # the linkage record (runtime/lookups.py)
        _lookups().link_each(run, field, texts, out)
    return one(out) if out else ""


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
    need(element, b)
    vr = element.VR
    if vr == "TM":
        return element.value  # a whole-day shift keeps the time of day
    if vr not in ("DA", "DT"):
        raise BuiltinFailed(f"deid_func:dateshift works on DA, DT and TM elements, not VR {vr}")
    if b.has("table"):  # the offset from a table (runtime/lookups.py)
        days = _lookups().table_days(b, run)
    else:
        patient = _patient(b, run)
        days = keys.day_offset(builtin_key(b), patient, int(b.option("max_days", 365)))
        if run.tables is not None:  # the linkage record (runtime/lookups.py)
            _lookups().link(run, f"day offset ({b.option('patient', 'PatientID')})", patient.strip(), days)
    try:
        out = [_shift_one(v, vr, days) if v.strip() else v for v in text_items(element.value)]
    except OverflowError:
        out = [""]
    return one(out) if out else ""


def _dummy(b: Builtin, field: Any, element: Any, run: Any) -> Any:
    need(element, b)
    vr = element.VR
    if vr == "SQ":

        def change(ds, tag, elem):
            if elem.VR in TEXT_VRS and elem.value not in (None, ""):
                elem.value = dummy_value(elem.VR)

        deep(run, element.value, change)
        return element.value
    if vr == "UI":
        key = builtin_key(b)
        return keys.hash_uid(key, "dummy\x00" + str(element.value or ""))
    return dummy_value(vr)


def _scrub(b: Builtin, field: Any, element: Any, run: Any) -> Any:
    need(element, b)
    rx = scrub_regex(run)
    if element.VR == "SQ":

        def change(ds, tag, elem):
            if elem.VR in SCRUB_VRS and isinstance(elem.value, (str, MultiValue, list)):
                new = [scrub_text(v, rx, elem.VR) for v in text_items(elem.value)]
                elem.value = one(new) if new else elem.value

        deep(run, element.value, change)
        return element.value
    if element.VR not in TEXT_VRS and element.VR not in ("CS",):
        return element.value
    out = [scrub_text(v, rx, element.VR) for v in text_items(element.value)]
    return one(out) if out else element.value


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
    items = [] if element is None or element.value in (None, "") else text_items(element.value)
    if value not in items:
        items.append(value)
    return one(items)


def _lookups() -> Any:
    """runtime/lookups.py: lookup tables (imported when a table or a linkage record is first used)."""
    global _LOOKUPS
    if _LOOKUPS is None:
        from . import lookups

        _LOOKUPS = lookups
    return _LOOKUPS


_LOOKUPS: Any = None


def _lookup(b: Builtin, field: Any, element: Any, run: Any) -> Any:
    return _lookups().evaluate(b, field, element, run)


_NEW = {
    "lookup": _lookup,
    "hashuid": _hashuid,
    "hashid": _hashid,
    "dateshift": _dateshift,
    "dummy": _dummy,
    "scrub": _scrub,
    "code": _code,
    "append": _append,
    "cleancontent": clean_content,
    "cleangraphics": clean_graphics,
    "safeharbor": safe_harbor,
}
