"""Output names without identifying data: what each output folder and file is called.

PACS exports name folders and files after patients (``SMITH^JOHN_12345/
20131210_CT/IM0001.dcm``); copying those names to the output would undo the
de-identification of the files inside. ``deidc run --layout`` chooses how
outputs are named:

``mirror`` (the default)
    The input tree, with every folder and file name checked against the
    identifying values of the files it holds (:func:`path_identifiers`:
    names and their parts, IDs and accession numbers, dates in common
    formats, UIDs -- verify's harvest over the header's top-level person
    name, date, UID and identifier elements). A name that contains one is
    replaced as a whole by a keyed pseudonym (:func:`pseudonym`); a folder
    is replaced when it contains a value of *any* file below it (the batch
    reads every header once before the run to know), so that the files of
    one folder stay together.
``pseudonym``
    The input tree's shape, every folder and file name a keyed pseudonym
    (nothing is read to name a file).
``dicom``
    ``<PatientID>/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm``
    from the *de-identified* header (:func:`dicom_parts`); a missing value
    falls back to a keyed pseudonym of the original's value, and each part
    is checked against the original's identifying values like a mirrored
    name (a recipe that keeps UIDs would otherwise name folders after them).

Pseudonyms are HMAC-SHA256 (:mod:`deidlang.runtime.keyed`) of the name
under the run's key, with a domain string of their own: the same name gives
the same pseudonym on every file, run, worker and machine that uses the key,
and nobody without the key can tell which name it stands for.

The run manifest records output names only; what identifies an input
there (to resume and to pair outputs with originals in ``deidc verify``) is
:func:`input_key`, a keyed digest of its path relative to its input root.

Library code: never prints, never exits.
"""

from __future__ import annotations

import functools
import io
import os
import re
from typing import Any, Iterable, Sequence

from ..dicomio import damage
from ..runtime.keys import Key

__all__ = [
    "LAYOUTS",
    "DEFAULT_LAYOUT",
    "SAFE_EXTENSIONS",
    "pseudonym",
    "pseudonym_name",
    "input_key",
    "path_identifiers",
    "NameCheck",
    "read_header",
    "scan_flags",
    "flags",
    "safe_component",
    "dicom_parts",
    "snapshot",
]

LAYOUTS = ("mirror", "pseudonym", "dicom")
DEFAULT_LAYOUT = "mirror"

#: File name extensions kept when a file name is replaced (anything else could carry data).
SAFE_EXTENSIONS = frozenset({".dcm", ".dicom", ".dic", ".ima"})

#: Hex digits of a pseudonym (64 bits: a clash between two names of a run is out of reach).
PSEUDONYM_DIGITS = 16
#: Hex digits of an input key in the manifest.
INPUT_KEY_DIGITS = 32
#: Values of letters only this long or longer are found inside longer words of a name.
WITHIN = 5
#: Longest name the dicom layout builds from one header value (a UID has at most 64 characters).
MAX_PART = 64

_PATH_DOMAIN = "deidlang:path"
_INPUT_DOMAIN = "deidlang:input"


# =========================================================================== pseudonyms


def _text(name: str) -> str:
    """A name as text that UTF-8 can hold: bytes of a file name that are not UTF-8 (held
    as lone surrogates) are written as ``\\xNN``."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def pseudonym(key: Key, name: str) -> str:
    """A folder name's keyed pseudonym: 16 lower-case hex digits (no case to clash on a
    case-insensitive file system)."""
    return key.digest(_PATH_DOMAIN, _text(name)).hex()[:PSEUDONYM_DIGITS]


def pseudonym_name(key: Key, name: str) -> str:
    """A file name's keyed pseudonym: the pseudonym of the whole name, with its extension
    when that is a DICOM one (:data:`SAFE_EXTENSIONS`)."""
    ext = os.path.splitext(name)[1]
    return pseudonym(key, name) + (ext if ext.lower() in SAFE_EXTENSIONS else "")


def input_key(key: Key, relative: str) -> str:
    """What the manifest records for an input: a keyed digest of its path relative to its
    input root ('/' between names), never the path itself."""
    return key.digest(_INPUT_DOMAIN, _text(relative.replace(os.sep, "/"))).hex()[:INPUT_KEY_DIGITS]


# =========================================================================== identifying values


#: The VRs an identifier (PatientID, AccessionNumber, StudyID...) can have.
_ID_VRS = frozenset({"LO", "SH", "CS", "LT", "ST", "UC", "UT", "AE"})


@functools.lru_cache(maxsize=1)
def _path_tags() -> frozenset[int]:
    """Public top-level elements whose values can name a file or folder: person names,
    dates, UIDs and identifiers (as verify's harvest tells identifiers: PatientID,
    OtherPatientIDs, AccessionNumber, StudyID...). Descriptions and other free text are
    left out: series folders are often named after them, and their words are not
    identifying on their own."""
    from pydicom._dicom_dict import DicomDictionary

    from ..privacy.identifiers import is_id_keyword

    found = set()
    for tag, entry in DicomDictionary.items():
        vr, keyword = entry[0], entry[4]
        if tag >> 16 in (0x0002, 0xFFFE):
            continue
        if vr in ("PN", "DA", "DT", "UI") or (vr in _ID_VRS and is_id_keyword(keyword)):
            found.add(tag)
    return frozenset(found)


def path_identifiers(ds, only: Iterable[int] | None = None) -> Sequence[Any]:
    """The identifying values of ``ds`` that an output name is checked against:
    :func:`deidlang.privacy.identifiers.harvest` over the top-level elements of :func:`_path_tags`
    (``only``: over those of these tags), each converted on its own copy (``ds`` is not
    changed: its raw elements stay raw)."""
    from pydicom.dataelem import RawDataElement, convert_raw_data_element
    from pydicom.dataset import Dataset

    from ..privacy.identifiers import harvest

    tags = _path_tags() if only is None else frozenset(only)
    elements = ds._dict
    chosen = [elem for tag, elem in elements.items() if tag in tags and elem.value is not None]
    if not chosen:
        return []
    encoding = _encoding(elements.get(0x00080005))
    subset = Dataset()
    for elem in chosen:
        if type(elem) is RawDataElement:
            try:
                elem = convert_raw_data_element(elem, encoding=encoding)
            except Exception:  # noqa: BLE001 - a value its VR cannot hold names nothing
                continue
        subset._dict[elem.tag] = elem
    return harvest(subset)


def _encoding(charset) -> list[str]:
    """The Python encodings of a SpecificCharacterSet element (pydicom's default without one)."""
    from pydicom.charset import convert_encodings
    from pydicom.dataelem import RawDataElement, convert_raw_data_element

    if charset is None:
        return ["iso8859"]
    try:
        if type(charset) is RawDataElement:
            charset = convert_raw_data_element(charset, encoding=None)
        value = charset.value
        values = list(value) if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value or ""]
        return convert_encodings(values)
    except Exception:  # noqa: BLE001 - an unknown character set: read as pydicom's default
        return ["iso8859"]


_TOKEN_SPLIT = re.compile(r"[\\^=\s,.;]+")
_DATE_VRS = frozenset({"DA", "DT"})


def _vr(tag: int, elem) -> str:
    vr = elem.VR
    if vr is None:  # implicit VR, still raw
        from pydicom.datadict import dictionary_VR

        vr = dictionary_VR(tag)
    return vr


def _could_hold(elem, vr: str, names: str, digits: str) -> bool:
    """Whether a value of this element could be in one of the ``names`` (lower-cased,
    joined by NUL; ``digits``: the same with the separators between digits left out): a
    superset of what :class:`NameCheck` finds with :func:`path_identifiers`, made from the
    raw bytes without converting the element. Bytes that are not ASCII are read as
    latin-1: whatever the character set, ASCII letters and digits stay themselves and the
    rest is not ASCII, so for names in ASCII the ASCII words are the ones that matter;
    for other names, and for ISO 2022 values (escape sequences switch ASCII bytes to
    other characters), such a value is always a candidate."""
    value = elem.value
    if isinstance(value, bytes):
        if not value.isascii() and not names.isascii() or b"\x1b" in value:
            return True
        text = value.decode("latin-1").lower()
    elif isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        text = "\\".join(str(v) for v in value).lower()
    else:
        text = str(value).lower()
    if vr in _DATE_VRS:
        for date in text.split("\\"):
            d = date.strip(" \x00")[:8]
            if len(d) == 8 and d.isdigit():
                y, m, day = d[:4], d[4:6], d[6:]
                if d in digits or day + m + y in digits or m + day + y in digits:
                    return True
        return False
    found_token = False
    for token in _TOKEN_SPLIT.split(text):
        if len(token) >= 3:
            found_token = True
            if token in names:
                return True
    if not found_token:  # no token long enough (a UID like 1.2.3.44): the whole value
        for whole in text.split("\\"):
            whole = whole.strip(" \x00")
            if len(whole) >= 3 and whole in names:
                return True
    return False


def flags(ds, names: Sequence[str]) -> tuple[int, ...]:
    """Indices of the ``names`` (an output path's folders and file name) that contain an
    identifying value of ``ds`` (:class:`NameCheck` over :func:`path_identifiers`).

    Fast for names that hold nothing: the elements are first looked at in their raw
    bytes (:func:`_could_hold`), and only those that could be in a name are converted
    and harvested."""
    if not names:
        return ()
    low = "\0".join(name.lower() for name in names)
    digits = _SEPARATED_DIGITS.sub("", low)
    tags = _path_tags()
    hits = []
    for tag, elem in ds._dict.items():
        if tag in tags and elem.value is not None:
            try:
                vr = _vr(tag, elem)
            except KeyError:
                continue
            if _could_hold(elem, vr, low, digits):
                hits.append(tag)
    if not hits:
        return ()
    return NameCheck(path_identifiers(ds, hits)).flags(names)


_SEPARATED_DIGITS = re.compile(r"(?<=\d)[\s._\\-]+(?=\d)")
_DIGITS = re.compile(r"\D+")


class NameCheck:
    """Which names contain an identifying value (a list of
    :class:`~deidlang.privacy.identifiers.Identifier`).

    Matching is made for names, not text: case-insensitive and *within* words, since
    names run words together (``SMITHJOHN``, ``IM12345``); a value of letters only
    shorter than :data:`WITHIN` must not touch other letters (``LEE`` is found in
    ``LEE_J`` and ``LEE2``, not in ``SLEEP``); values of fewer than three characters
    are not looked for (``CT``, ``MR``). Dates are compared by their
    digits, with the separators between digits of the name left out, so ``2013-12-10``,
    ``2013_12_10``, ``10.12.2013`` and ``12102013`` (the day first and the month first
    forms of verify's harvest) are all found.
    """

    def __init__(self, identifiers: Iterable[Any]):
        self.within: list[tuple[str, Any]] = []
        self.apart: list[tuple[re.Pattern, Any]] = []
        self.dates: list[tuple[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for it in identifiers:
            if it.family == "phone":
                continue
            if it.family == "date":
                digits = _DIGITS.sub("", it.text)
                if len(digits) == 8 and ("date", digits) not in seen:
                    seen.add(("date", digits))
                    self.dates.append((digits, it))
                continue
            text = it.text.strip().lower()
            if len(text) < 3 or (it.family, text) in seen:  # two letters ('CT', 'MR') name nothing
                continue
            seen.add((it.family, text))
            if len(text) >= WITHIN or not text.isalpha():
                self.within.append((text, it))
            else:  # a short word ('lee', 'name'): not inside a longer word ('sleep', 'names')
                self.apart.append((re.compile(r"(?<![^\W\d_])" + re.escape(text) + r"(?![^\W\d_])"), it))

    def __bool__(self) -> bool:
        return bool(self.within or self.apart or self.dates)

    def hits(self, name: str) -> list[Any]:
        """The identifiers found in ``name``."""
        low = name.lower()
        found = [it for text, it in self.within if text in low]
        found += [it for rx, it in self.apart if rx.search(low)]
        if self.dates:
            digits = _SEPARATED_DIGITS.sub("", low)
            found += [it for d, it in self.dates if d in digits]
        return found

    def flags(self, names: Sequence[str]) -> tuple[int, ...]:
        """Indices of the ``names`` that contain an identifying value."""
        return tuple(i for i, name in enumerate(names) if self.hits(name))


# =========================================================================== reading a header


def read_header(source: str, *, force: bool = False):
    """The header of one input as far as names need it: the top-level elements before the
    pixel data (:func:`top_elements`, from the file's first bytes), or, for a file that
    is not little endian Part 10 or does not parse so, the file as the batch reads it
    (regular files only; large values left unread). Raises what
    :func:`deidlang.engine.inputs.read_input` raises for a file that cannot be read."""
    from . import inputs, paths

    if paths.is_url(source):
        return inputs.read_input(source, force=force)[0]
    with damage.open_regular(source) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            raise damage.InputError(damage.EMPTY)
        data = damage.read_all(fh) if size <= damage.SMALL_FILE else fh.read(HEADER_BYTES)
    found = top_elements(data)
    if found is not None:
        return found
    if size <= damage.SMALL_FILE:
        return damage.parse_dicom(io.BytesIO(data), len(data), force=force, data=data)
    return damage.parse_dicom(source, size, force=force, stop_before_pixels=True, defer_size=damage.DEFER_SIZE)


#: How much of a large file :func:`read_header` reads (a header larger than this is read by pydicom).
HEADER_BYTES = 256 << 10
_PIXEL_DATA = 0x7FE00010


def top_elements(data: bytes):
    """A Dataset of the top-level elements of :func:`_path_tags` (and the character set)
    of a Part 10 file in explicit or implicit VR little endian, as raw elements, read
    from ``data`` up to the pixel data (or its end) without reading anything else:
    sequences are stepped over item by item. None for anything else (no preamble, big
    endian, deflated, an element that runs past ``data``...)."""
    from pydicom.dataelem import RawDataElement
    from pydicom.dataset import Dataset
    from pydicom.tag import BaseTag
    from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ImplicitVRLittleEndian

    from ..dicomio.sequences import LONG_VRS, VRS, unpack_header, unpack_item, unpack_long

    size = len(data)
    if size < 140 or data[128:132] != b"DICM":
        return None
    pos, syntax = 132, None
    while pos + 8 <= size:  # the file meta: explicit VR little endian
        group, elem, vr_bytes, length = unpack_header(data, pos)
        if group != 2:
            break
        vr = VRS.get(vr_bytes)
        if vr is None:
            return None
        value = pos + 8
        if vr in LONG_VRS:
            length, value = unpack_long(data, value)[0], value + 4
        if length == _UNDEFINED or value + length > size:
            return None
        if elem == 0x0010:
            syntax = data[value : value + length].rstrip(b"\x00 ").decode("ascii", "replace")
        pos = value + length
    if syntax is None or syntax in (ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian) or pos + 8 > size:
        return None
    implicit = syntax == ImplicitVRLittleEndian
    if (0x40 < data[pos + 4] < 0x5B and 0x40 < data[pos + 5] < 0x5B) == implicit:
        return None  # the data set is not in the encoding its transfer syntax says
    wanted = _path_tags()
    ds = Dataset()
    while pos + 8 <= size:
        if implicit:
            group, elem, length = unpack_item(data, pos)
            vr, value = None, pos + 8
        else:
            group, elem, vr_bytes, length = unpack_header(data, pos)
            vr, value = VRS.get(vr_bytes), pos + 8
            if vr is None:
                return None
            if vr in LONG_VRS:
                if value + 4 > size:
                    return None
                length, value = unpack_long(data, value)[0], value + 4
        tag = group << 16 | elem
        if tag >= _PIXEL_DATA or group == 0xFFFE:
            break
        if length == _UNDEFINED:
            after = _step_over_items(data, value, implicit or vr == "UN")
            if after is None:
                return None
            pos = after
            continue
        pos = value + length
        if pos > size:
            return None
        if tag in wanted or tag == 0x00080005:
            ds._dict[BaseTag(tag)] = RawDataElement(BaseTag(tag), vr, length, data[value:pos], value, implicit, True)
    return ds


_UNDEFINED = 0xFFFFFFFF


def _step_over_items(data: bytes, pos: int, implicit: bool, depth: int = 0) -> int | None:
    """The position after the sequence delimiter of an undefined-length value whose items
    start at ``pos``; None when they do not parse (or nest deeper than 32)."""
    from ..dicomio.sequences import LONG_VRS, VRS, unpack_header, unpack_item, unpack_long

    size = len(data)
    if depth > 32:
        return None
    while pos + 8 <= size:
        group, elem, length = unpack_item(data, pos)
        tag = group << 16 | elem
        if tag == 0xFFFEE0DD:
            return pos + 8
        if tag != 0xFFFEE000:
            return None
        pos += 8
        if length != _UNDEFINED:
            pos += length
            continue
        while True:  # the elements of an undefined-length item, to its delimiter
            if pos + 8 > size:
                return None
            group, elem, length = unpack_item(data, pos)
            if group << 16 | elem == 0xFFFEE00D:
                pos += 8
                break
            value, inner = pos + 8, implicit
            if not implicit:
                group, elem, vr_bytes, length = unpack_header(data, pos)
                vr = VRS.get(vr_bytes)
                if vr is None:
                    return None
                if vr in LONG_VRS:
                    length, value = unpack_long(data, value)[0], value + 4
                inner = vr == "UN"
            if length == _UNDEFINED:
                after = _step_over_items(data, value, inner, depth + 1)
                if after is None:
                    return None
                pos = after
            else:
                pos = value + length
    return None


def scan_flags(source: str, names: Sequence[str], *, force: bool = False) -> tuple[int, ...] | None:
    """Indices of the ``names`` (the output path's folders and file name) holding an
    identifying value of the file at ``source``; None when it cannot be read."""
    try:
        ds = read_header(source, force=force)
        return flags(ds, names)
    except Exception:  # noqa: BLE001 - the run reports the file; here it only cannot name anything
        return None


# =========================================================================== the dicom layout

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_RESERVED = frozenset(["con", "prn", "aux", "nul"] + [f"com{i}" for i in range(1, 10)] + [f"lpt{i}" for i in range(1, 10)])

#: The dicom layout's levels: the element each is named after, and the name when it has none.
DICOM_LEVELS = (
    ("PatientID", "no-patient-id"),
    ("StudyInstanceUID", "no-study-uid"),
    ("SeriesInstanceUID", "no-series-uid"),
    ("SOPInstanceUID", ""),
)


def safe_component(text: str) -> str:
    """``text`` as one portable name: letters, digits, '.', '_' and '-' only (anything
    else becomes '_'), no leading dot or dash, at most :data:`MAX_PART` characters, never
    a name Windows reserves; '' when nothing is left."""
    name = _UNSAFE.sub("_", text.strip(" \x00")).lstrip(".-")[:MAX_PART].rstrip(". ")
    if name.split(".")[0].lower() in _RESERVED:
        name = "_" + name
    return name if name.strip("_") else ""


def _value_text(ds, keyword: str) -> str:
    try:
        value = ds.get(keyword)
    except Exception:  # noqa: BLE001 - a value pydicom cannot read names nothing
        return ""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        value = value[0] if len(value) else ""
    return str(value)


def snapshot(ds):
    """The elements of ``ds`` that names are checked against (:func:`_path_tags`, and the
    character set), in a Dataset of their own, taken before the recipe runs: raw
    elements are shared (they cannot change), converted ones copied."""
    import copy

    from pydicom.dataelem import RawDataElement
    from pydicom.dataset import Dataset

    tags = _path_tags()
    kept = Dataset()
    for tag, elem in ds._dict.items():
        if tag in tags or tag == 0x00080005:
            kept._dict[tag] = elem if type(elem) is RawDataElement else copy.deepcopy(elem)
    return kept


def dicom_parts(after, before, key: Key, fallback: str) -> tuple[list[str], tuple[int, ...]]:
    """``([patient, study, series, instance.dcm], replaced)`` for a de-identified dataset.

    ``before``: the :func:`snapshot` of its original; ``fallback``: what names the file
    when neither header has a SOPInstanceUID (the input's relative path: a keyed
    pseudonym of it). A part that contains an identifying value of the original
    (:func:`flags`) is replaced by its keyed pseudonym; ``replaced`` lists those parts.
    """
    parts: list[str] = []
    replaced: list[int] = []
    for i, (keyword, missing) in enumerate(DICOM_LEVELS):
        name = safe_component(_value_text(after, keyword))
        if not name:  # the recipe removed or emptied it: the original's value, keyed
            original = _value_text(before, keyword).strip(" \x00")
            name = pseudonym(key, f"{keyword}={original}") if original else (missing or pseudonym(key, f"path={fallback}"))
        elif flags(before, [name]):
            name = pseudonym(key, name)
            replaced.append(i)
        parts.append(name)
    parts[-1] += ".dcm"
    return parts, tuple(replaced)
