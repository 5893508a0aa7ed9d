"""Residual-PHI verification: ``deidc verify`` and ``deidc run --verify``.

The question this module answers is "does any identifying value of the
original survive in the de-identified file?", independently of the recipe
that produced it. It works in two steps:

1. :func:`harvest` collects the identifying values of an original dataset
   (public elements at every depth, file meta included), each with the
   *kind* of value it is (``PatientName part``, ``StudyDate (date)``...).
   The rules, chosen to keep false positives rare (docs/explain-verify.md):

   * person names (every PN element): the whole name and each part of at
     least 3 characters (split at ``^``, ``=``, spaces, commas, dots), except
     titles and suffixes (``Mr``, ``Dr``, ``PhD``, ``Jr``...);
   * identifiers: elements whose keyword ends in ``ID``, ``IDs``,
     ``Identifier``, ``Number(s)`` or ``AETitle`` with a text VR (PatientID,
     OtherPatientIDs, AccessionNumber, StudyID, DeviceSerialNumber...), when
     at least 4 characters long (5 when all digits);
   * dates: every DA value, and the date part of every DT value, from 1900
     on, searched as YYYYMMDD, YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD,
     DD/MM/YYYY, MM/DD/YYYY, DD.MM.YYYY and DD-MM-YYYY;
   * UIDs: every UI value except class UIDs, transfer syntaxes and UIDs
     under the DICOM root ``1.2.840.10008``;
   * addresses, institution and station names: the whole value, and its
     words as for free text (below);
   * phone numbers: the digits (at least 7) of telephone and telecom
     elements, matched against digit runs with any separators;
   * free text (LT/ST/UT elements, comments, descriptions, histories,
     occupations, allergies...): words of at least 4 characters that are
     not common English or DICOM words and that do not also occur in a
     non-identifying element of the same original (so ``CHEST`` in a
     description is not searched when BodyPartExamined says CHEST).

2. :func:`search` looks for those values, case-insensitively and as whole
   words (UIDs and dates as whole numbers), in every element of the output
   (file meta, sequences at every depth, private blocks; text decoded with
   the dataset's character set; binary values decoded as latin-1, UTF-8 and
   UTF-16LE), and then in the file's raw bytes in the same encodings, for
   values hidden where no element can be read (the preamble, damaged
   elements). A raw-byte hit is reported only for a value no element holds.

Results (:class:`Leak`) name the output file, the element (deid uid path and
keyword path) and the kind of value, never the value itself; ``Leak.value``
is there for ``--show-values`` only.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import re
from typing import Any, Iterable, Iterator, Mapping

import attrs
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from .diagnostics import DeidlangError
from .runtime.universe import keyword_of, tag_string

__all__ = [
    "Identifier",
    "Leak",
    "FileCheck",
    "VerifyReport",
    "harvest",
    "search",
    "check_dataset",
    "verify_files",
    "verify_tree",
    "pairs",
    "MANIFEST_NAMES",
]

#: Run manifests written by ``deidc run`` (per-file input and output paths).
MANIFEST_NAMES = ("deidlang-manifest.jsonl", "deidlang-manifest.json")

#: Files in an output folder that are reports, not DICOM outputs.
_REPORT_SUFFIXES = (".json", ".jsonl", ".png", ".txt", ".csv", ".log", ".md", ".html")

_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"})
_FREE_TEXT_VRS = frozenset({"LT", "ST", "UT"})
_ID_VRS = frozenset({"LO", "SH", "CS", "LT", "ST", "UC", "UT", "AE"})
_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})

_TITLES = frozenset(
    "mr mrs ms miss dr prof phd md jr sr ii iii iv rn do dds dvm esq sir mme mlle herr frau msc bsc".split()
)

_ID_SUFFIXES = ("ID", "IDs", "Identifier", "Number", "Numbers", "AETitle")
_ID_EXCLUDE = frozenset(
    {
        "PatientTelephoneNumbers",
        "PersonTelephoneNumbers",
        "ReferringPhysicianTelephoneNumbers",
        "ResponsiblePersonTelephoneNumbers",
    }
)
_FREE_TEXT_KEYWORDS = frozenset(
    {
        "Occupation",
        "MilitaryRank",
        "BranchOfService",
        "PatientReligiousPreference",
        "MedicalAlerts",
        "Allergies",
        "CountryOfResidence",
        "RegionOfResidence",
        "ResponsibleOrganization",
        "PatientInsurancePlanCodeSequence",
        "ProtocolName",
        "ReasonForStudy",
        "ReasonForTheRequestedProcedure",
        "ReasonForVisit",
        "AdmittingDiagnosesDescription",
        "DischargeDiagnosisDescription",
        "PatientState",
        "SpecialNeeds",
        "CurrentPatientLocation",
        "PatientInstitutionResidence",
        "VisitComments",
        "TextString",
        "TextValue",
    }
)
_FREE_TEXT_SUFFIXES = ("Comments", "Description", "History", "Remarks", "Notes")

#: Dummy dates other tools write; finding one again is not a leak.
_DUMMY_DATES = frozenset({"19000101", "19700101", "20000101", "00010101"})

#: Binary values up to this size are decoded and searched as elements; larger ones
#: (pixel data) only by the pass over the whole file's bytes.
_ELEMENT_BYTES = 1 << 20

_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
_NAME_SPLIT = re.compile(r"[\^=\s,.;]+")
_PHONE_RUN = re.compile(r"\+?\(?\d[\d\s().\-/]{5,}\d")
_DIGITS = re.compile(r"\D+")


# =========================================================================== common words


_ENGLISH = """
a about above after again against all also although always among an and another any are around as at away back
be because been before being below between both but by can cannot could day days did does doing done down during
each either else enough even ever every few first for from further general good great had has have having he her
here hers him his how however if in into is it its itself just last least left less like made make many may me
might more most much must my near need never new next no none nor not now of off often on once one only or other
our out over own part per perhaps please possible rather right said same see seen several shall she should since
so some still such than that the their them then there these they this those though through thus to too toward
under until up upon us very was we well were what when where whether which while who whom whose why will with
within without would yes yet you your
left right upper lower anterior posterior lateral medial proximal distal bilateral axial coronal sagittal
patient patients study studies series image images exam examination scan scans view views report reports normal
abnormal contrast without with history clinical indication indications follow followup routine protocol
chest head brain neck spine lumbar thoracic cervical abdomen pelvis knee shoulder hip ankle wrist elbow hand foot
heart cardiac lung lungs liver kidney kidneys breast bone bones joint joints soft tissue tissues vessel vessels
pain fracture mass lesion lesions nodule tumor tumour cancer injury trauma infection stroke edema
hospital clinic center centre medical medicine health university institute department radiology imaging
general regional national community memorial children childrens saint state county city district campus
street road avenue lane drive boulevard suite floor building house apartment north south east west main
unknown anonymous anonymized removed none null test demo sample phantom
"""


@functools.lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    """Words never searched for on their own: common English and medical words, and every
    word of the DICOM data dictionary's element names (technical vocabulary)."""
    words = set(_ENGLISH.split())
    try:
        from pydicom._dicom_dict import DicomDictionary

        for entry in DicomDictionary.values():
            for w in _WORD.findall(entry[2]):
                words.add(w.lower())
    except Exception:  # noqa: BLE001 - the dictionary's layout is pydicom's business
        pass
    return frozenset(words)


# =========================================================================== identifiers


@attrs.frozen
class Identifier:
    """One identifying value of an original: what kind of value it is and where it was.

    ``family`` chooses how it is matched: ``word`` (whole words,
    case-insensitive), ``uid`` (whole UID), ``date`` (not preceded by a
    digit) or ``phone`` (digits within a digit run).
    """

    kind: str
    text: str
    source: str  # deid uid path of the element in the original
    family: str = "word"


@attrs.frozen
class Leak:
    """An identifying value of the original found in the output. ``value`` is printed only
    with ``--show-values``. One value may be several kinds (a date that is both StudyDate
    and SeriesDate): ``kinds[i]`` is what the value was at ``sources[i]`` (a deid uid
    path in the original)."""

    file: str
    element: str  # deid uid path in the output, or "<file bytes>"
    path: str  # keyword path, or where in the bytes ("offset 1234, utf-16le")
    kinds: tuple[str, ...]
    sources: tuple[str, ...]
    value: str
    original: str = ""

    @property
    def kind(self) -> str:
        return ", ".join(self.kinds)

    @property
    def in_place(self) -> bool:
        """Whether the value is where the original had it (kept, not copied elsewhere)."""
        return self.element in self.sources

    def as_dict(self, show_values: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file,
            "original": self.original,
            "element": self.element,
            "path": self.path,
            "kinds": list(self.kinds),
            "sources": list(self.sources),
        }
        if show_values:
            out["value"] = self.value
        return out


def _keyword_kind(tag: int) -> str:
    return keyword_of(tag) or tag_string(tag)


def _values_of(elem) -> list[str]:
    value = elem.value
    if value is None or isinstance(value, Sequence):
        return []
    if isinstance(value, (bytes, bytearray)):
        return []
    if isinstance(value, (list, tuple, MultiValue)):
        return [str(v) for v in value if v is not None and str(v) != ""]
    text = str(value)
    return [text] if text else []


def _walk(ds: Dataset, include_meta: bool = True) -> Iterator[tuple[str, str, Any, Dataset]]:
    """``(uid, keyword path, element, parent dataset)`` for every element, file meta first."""
    meta = ds.__dict__.get("file_meta") if include_meta else None
    stack: list[tuple[Dataset, str, str]] = []
    roots = [(ds, "", "")]
    if isinstance(meta, Dataset):
        roots.insert(0, (meta, "", ""))
    for root in roots:
        stack = [root]
        while stack:
            d, uid_prefix, path_prefix = stack.pop()
            nested = []
            for key in sorted(d._dict, key=int):
                tag = int(key)
                try:
                    elem = d[key]
                except Exception:  # noqa: BLE001 - an element pydicom cannot read: the raw pass covers it
                    continue
                own = tag_string(tag)
                uid = f"{uid_prefix}{own}"
                path = f"{path_prefix}{keyword_of(tag) or own}"
                yield uid, path, elem, d
                value = elem.value
                if isinstance(value, Sequence):
                    for i, item in enumerate(value):
                        if isinstance(item, Dataset):
                            nested.append((item, f"{uid}__{i}__", f"{path}[{i}]."))
            stack.extend(reversed(nested))


def _is_id_keyword(kw: str) -> bool:
    return bool(kw) and kw.endswith(_ID_SUFFIXES) and kw not in _ID_EXCLUDE and not kw.endswith("UID")


def _is_free_text(kw: str, vr: str) -> bool:
    return vr in _FREE_TEXT_VRS or kw in _FREE_TEXT_KEYWORDS or (bool(kw) and kw.endswith(_FREE_TEXT_SUFFIXES))


def _date_forms(value: str) -> list[str]:
    digits = value.strip()[:8]
    if len(digits) != 8 or not digits.isdigit() or digits in _DUMMY_DATES:
        return []
    try:
        day = _dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return []
    if day.year < 1900:
        return []
    y, m, d = digits[:4], digits[4:6], digits[6:8]
    return [digits, f"{y}-{m}-{d}", f"{y}/{m}/{d}", f"{y}.{m}.{d}", f"{d}/{m}/{y}", f"{m}/{d}/{y}", f"{d}.{m}.{y}", f"{d}-{m}-{y}"]


def _is_standard_uid(value: str) -> bool:
    if value.startswith("1.2.840.10008."):
        return True
    try:
        from pydicom.uid import UID_dictionary

        return value in UID_dictionary
    except Exception:  # noqa: BLE001
        return False


def _words(text: str, common: frozenset[str], minimum: int = 4) -> list[str]:
    out = []
    for w in _WORD.findall(text):
        lw = w.lower()
        if len(w) >= minimum and lw not in common and not w.isdigit():
            out.append(w)
    return out


def harvest(ds: Dataset) -> list[Identifier]:
    """The identifying values of an original dataset (see the module docstring for the rules)."""
    common = _common_words()
    found: list[Identifier] = []
    free_text: list[tuple[str, str, str]] = []  # (kind, text, source) decided after the walk
    other_words: set[str] = set()

    def add(kind: str, text: str, source: str, family: str = "word") -> None:
        text = text.strip(" \x00")
        if text:
            found.append(Identifier(kind, text, source, family))

    for uid, _path, elem, _parent in _walk(ds):
        tag = int(elem.tag)
        vr = elem.VR or "UN"
        if (tag >> 16) & 1 or vr == "SQ":
            continue  # private elements: meaning unknown; their values are searched, not harvested
        kw = keyword_of(tag)
        kind = _keyword_kind(tag)
        values = _values_of(elem)
        if not values:
            continue
        if vr == "PN":
            for v in values:
                add(kind, v.rstrip("^="), uid)
                for part in _NAME_SPLIT.split(v):
                    if len(part) >= 3 and part.lower() not in _TITLES:
                        add(f"{kind} part", part, uid)
            continue
        if vr == "UI":
            for v in values:
                if not kw.endswith("ClassUID") and kw != "TransferSyntaxUID" and not _is_standard_uid(v):
                    add(kind, v, uid, "uid")
            continue
        if vr in ("DA", "DT"):
            for v in values:
                for form in _date_forms(v):
                    add(f"{kind} (date)", form, uid, "date")
            continue
        if "Telephone" in kw or "Telecom" in kw:
            for v in values:
                digits = _DIGITS.sub("", v)
                if len(digits) >= 7:
                    add(f"{kind} (digits)", digits, uid, "phone")
            continue
        if "Address" in kw or "Institution" in kw or "Station" in kw:
            if "AETitle" in kw:
                pass  # an AE title: an identifier, below
            else:
                for v in values:
                    if len(v.strip()) >= 3:
                        add(kind, v, uid)
                    free_text.append((f"{kind} part", v, uid))
                continue
        if vr in _ID_VRS and _is_id_keyword(kw):
            for v in values:
                t = v.strip()
                if len(t) >= (5 if t.isdigit() else 4):
                    add(kind, t, uid)
            continue
        if _is_free_text(kw, vr):
            for v in values:
                free_text.append((f"{kind} word", v, uid))
            continue
        if vr in _TEXT_VRS:
            for v in values:
                other_words.update(w.lower() for w in _WORD.findall(v))
    for kind, text, source in free_text:
        for w in _words(text, common):
            if w.lower() not in other_words:
                add(kind, w, source)
    return _dedupe(found)


def _dedupe(items: list[Identifier]) -> list[Identifier]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for it in items:
        key = (it.kind, it.text.lower(), it.family)
        if key not in seen:
            seen.add(key)
            out.append(it)
    return out


# =========================================================================== matching


def _trie_pattern(words: Iterable[str]) -> str:
    """A regex alternation of literal ``words`` factored by common prefixes (fast on long texts)."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = True

    def build(node: dict) -> str:
        end = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch != ""]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if end else body

    return build(trie)


@attrs.frozen
class _Matcher:
    """Compiled search for one original's identifiers."""

    by_text: Mapping[str, tuple[Identifier, ...]]  # lower-cased text -> identifiers
    words: re.Pattern | None
    uids: re.Pattern | None
    dates: re.Pattern | None
    phones: Mapping[str, tuple[Identifier, ...]]  # digits -> identifiers

    @classmethod
    def of(cls, identifiers: Iterable[Identifier]) -> "_Matcher":
        by_text: dict[str, list[Identifier]] = {}
        families: dict[str, set[str]] = {"word": set(), "uid": set(), "date": set()}
        phones: dict[str, list[Identifier]] = {}
        for it in identifiers:
            if it.family == "phone":
                phones.setdefault(it.text, []).append(it)
                continue
            key = it.text.lower()
            by_text.setdefault(key, []).append(it)
            families[it.family].add(key)

        def compile_(words: set[str], before: str, after: str) -> re.Pattern | None:
            if not words:
                return None
            return re.compile(before + "(?:" + _trie_pattern(sorted(words)) + ")" + after, re.IGNORECASE)

        return cls(
            {k: tuple(v) for k, v in by_text.items()},
            compile_(families["word"], r"(?<![^\W_])", r"(?![^\W_])"),
            compile_(families["uid"], r"(?<![0-9])", r"(?![0-9]|\.[0-9])"),
            # a date stands alone or is followed by a time of day (a DT: HH, HHMM or HHMMSS),
            # not by more digits: a random 39-digit UID component may start with a date's digits
            compile_(families["date"], r"(?<![0-9])", r"(?=(?:[0-9]{2}){0,3}(?![0-9]))"),
            {k: tuple(v) for k, v in phones.items()},
        )

    def find(self, text: str) -> Iterator[tuple[int, str, Identifier]]:
        """``(offset, matched text, identifier)`` for every identifier found in ``text``."""
        for rx in (self.words, self.uids, self.dates):
            if rx is None:
                continue
            for m in rx.finditer(text):
                for it in self.by_text.get(m.group(0).lower(), ()):
                    yield m.start(), m.group(0), it
        if self.phones:
            for m in _PHONE_RUN.finditer(text):
                digits = _DIGITS.sub("", m.group(0))
                for phone, its in self.phones.items():
                    if phone in digits:
                        for it in its:
                            yield m.start(), m.group(0), it


def _texts(elem) -> list[str]:
    """The searchable text forms of one element's value."""
    value = elem.value
    if value is None or isinstance(value, Sequence):
        return []
    if isinstance(value, (bytes, bytearray)):
        # large blobs (pixel data) are left to the pass over the file's bytes
        return _decodings(bytes(value)) if len(value) <= _ELEMENT_BYTES else []
    if isinstance(value, (list, tuple, MultiValue)):
        return ["\\".join(str(v) for v in value)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [str(value)]
    return [str(value)]


def _decodings(data: bytes) -> list[str]:
    if not data:
        return []
    out = [data.decode("latin-1")]
    utf8 = data.decode("utf-8", errors="ignore")
    if utf8 != out[0]:
        out.append(utf8)
    if len(data) >= 2:
        out.append(data.decode("utf-16-le", errors="ignore"))
        out.append(data[1:].decode("utf-16-le", errors="ignore"))
    return out


def search(
    identifiers: Iterable[Identifier],
    output: Dataset,
    data: bytes | None = None,
    *,
    file: str = "",
    original: str = "",
) -> list[Leak]:
    """Every identifier found in ``output`` (every element) and in ``data`` (its file bytes).

    One leak per (output element, value found); raw-byte hits only for values
    no element holds.
    """
    matcher = _Matcher.of(identifiers)
    hits: dict[tuple[str, str], tuple[str, str, dict[Identifier, None]]] = {}  # (place, value) -> (path, shown, ids)
    found_anywhere: set[str] = set()
    for uid, path, elem, _parent in _walk(output):
        for text in _texts(elem):
            for _offset, matched, it in matcher.find(text):
                key = (uid, it.text.lower())
                entry = hits.get(key)
                if entry is None:
                    entry = hits[key] = (path, matched, {})
                entry[2][it] = None
                found_anywhere.add(it.text.lower())
    if data:
        for label, text, scale, shift in _raw_texts(data):
            for offset, matched, it in matcher.find(text):
                value = it.text.lower()
                if value in found_anywhere and ("<file bytes>", value) not in hits:
                    continue
                key = ("<file bytes>", value)
                entry = hits.get(key)
                if entry is None:
                    entry = hits[key] = (f"offset {offset * scale + shift}, {label}", matched, {})
                entry[2][it] = None
                found_anywhere.add(value)
    leaks = []
    for (place, _value), (path, shown, ids) in hits.items():
        both = tuple(dict.fromkeys((i.kind, i.source) for i in ids))  # kinds[i] was found at sources[i]
        kinds = tuple(k for k, _ in both)
        sources = tuple(src for _, src in both)
        leaks.append(Leak(file, place, path, kinds, sources, shown, original))
    return leaks


def _raw_texts(data: bytes) -> Iterator[tuple[str, str, int, int]]:
    """(encoding label, text, offset scale, offset shift) for the plausible encodings of raw bytes."""
    yield "latin-1", data.decode("latin-1"), 1, 0
    utf8 = data.decode("utf-8", errors="replace")
    if len(utf8) != len(data):
        yield "utf-8", utf8, 1, 0  # offsets are approximate after multi-byte characters
    yield "utf-16le", data.decode("utf-16-le", errors="replace") if len(data) % 2 == 0 else data[:-1].decode("utf-16-le", errors="replace"), 2, 0
    odd = data[1:]
    yield "utf-16le", odd.decode("utf-16-le", errors="replace") if len(odd) % 2 == 0 else odd[:-1].decode("utf-16-le", errors="replace"), 2, 1


def _serialize(ds: Dataset) -> bytes:
    from .encode import to_bytes

    return to_bytes(ds)


def check_dataset(identifiers: Iterable[Identifier], output: Dataset, *, file: str = "", data: bytes | None = None) -> list[Leak]:
    """``deidc run --verify``: the leaks of one de-identified dataset (in memory) against the
    identifiers harvested from its original before the recipe ran. ``data``: the bytes that
    will be written (serialised here when not given)."""
    if data is None:
        data = _serialize(output)
    return search(identifiers, output, data, file=file, original=file)


# =========================================================================== files and trees


@attrs.frozen
class FileCheck:
    """The verdict on one output file."""

    output: str  # as shown (relative to the de-identified root)
    original: str  # as shown
    leaks: tuple[Leak, ...] = ()
    error: str = ""  # why the file could not be verified ("" when it was)

    @property
    def ok(self) -> bool:
        return not self.leaks and not self.error


@attrs.frozen
class VerifyReport:
    files: tuple[FileCheck, ...]
    unpaired: tuple[str, ...] = ()  # outputs with no original
    skipped: tuple[str, ...] = ()  # files of the output folder that are not DICOM outputs

    @property
    def leaks(self) -> tuple[Leak, ...]:
        return tuple(leak for f in self.files for leak in f.leaks)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files) and not self.unpaired

    def as_dict(self, show_values: bool = False) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "values_shown": show_values,
            "files": len(self.files),
            "leaks": [leak.as_dict(show_values) for leak in self.leaks],
            "errors": [{"file": f.output, "original": f.original, "error": f.error} for f in self.files if f.error],
            "unpaired": list(self.unpaired),
            "skipped": list(self.skipped),
        }


def _read(path: str):
    from .batch import read_input  # regular files only, complete elements (docs/robustness.md)

    return read_input(path, force=True)[0]


def verify_files(
    original: str,
    output: str,
    *,
    shown_output: str | None = None,
    shown_original: str | None = None,
    output_names: tuple[str, ...] | list[str] = (),
) -> FileCheck:
    """Verify one output file against its original. ``output_names``: the names of the
    output's path that a run gave it (folders below the de-identified root, then the
    file), checked too (:func:`path_leaks`)."""
    out_name = shown_output or output
    orig_name = shown_original or original
    try:
        orig_ds = _read(original)
    except Exception as err:  # noqa: BLE001 - a reason, never the file's content
        return FileCheck(out_name, orig_name, error=f"cannot read the original ({type(err).__name__})")
    try:
        with open(output, "rb") as fh:
            data = fh.read()
        out_ds = _read(output)
    except Exception as err:  # noqa: BLE001
        return FileCheck(out_name, orig_name, error=f"cannot read the output ({type(err).__name__})")
    try:
        in_path = path_leaks(orig_ds, output_names, file=out_name, original=orig_name) if output_names else []
        identifiers = harvest(orig_ds)
    except Exception as err:  # noqa: BLE001
        return FileCheck(out_name, orig_name, error=f"cannot read the original's values ({type(err).__name__})")
    leaks = search(identifiers, out_ds, data, file=out_name, original=orig_name)
    return FileCheck(out_name, orig_name, tuple(in_path) + tuple(leaks))


#: Where a leak in an output's path is reported, and what a masked name reads.
PATH_ELEMENT = "<output path>"
MASK = "<identifying>"


def path_leaks(original_ds: Dataset, names: tuple[str, ...] | list[str], *, file: str = "", original: str = "") -> list[Leak]:
    """Identifying values of an original in the names of its output's path (``names``:
    the folders, then the file name), as a run checks them (:mod:`deidlang.naming`: the
    original's names and their parts, IDs, dates and UIDs, found within a name). One
    leak per name, at :data:`PATH_ELEMENT`, its place as ``folder N`` or ``file name``."""
    from .naming import NameCheck, path_identifiers

    check = NameCheck(path_identifiers(original_ds))
    leaks = []
    for i, name in enumerate(names):
        hits = check.hits(name)
        if hits:
            both = tuple(dict.fromkeys((h.kind, h.source) for h in hits))
            where = "file name" if i == len(names) - 1 else f"folder {i + 1}"
            leaks.append(Leak(file, PATH_ELEMENT, where, tuple(k for k, _ in both), tuple(src for _, src in both), name, original))
    return leaks


class _Masks:
    """Which names of the paths ``deidc verify`` shows hold an identifying value: a name
    holding one of *any* original below it (a folder holds several files) is masked for
    every file, as a run renames it for every file (:mod:`deidlang.naming`). A first
    pass over the originals' headers."""

    def __init__(self, found: list[tuple[str, str]], base_in: str, base_out: str):
        from .naming import flags, read_header

        self.flagged: set[tuple[str, ...]] = set()
        for src, dst in found:
            sides = (("in", _names_below(src, base_in)), ("out", _names_below(dst, base_out)))
            try:
                ds = read_header(src, force=True)
                hits = [flags(ds, names) for _, names in sides]
            except Exception:  # noqa: BLE001 - an original that cannot be read: its own names are masked
                hits = [(len(names) - 1,) for _, names in sides]
            for (side, names), which in zip(sides, hits):
                self.flagged.update((side, *names[: i + 1]) for i in which)

    def shown(self, shown: str, names: list[str], side: str) -> str:
        """``shown`` (a path ending with ``names``) with the flagged names replaced by :data:`MASK`."""
        masked = [MASK if (side, *names[: i + 1]) in self.flagged else name for i, name in enumerate(names)]
        if masked == names:
            return shown
        parts = shown.split(os.sep)
        return os.sep.join([*parts[: len(parts) - len(names)], *masked])


def pairs(original: str, deidentified: str, key: Any = None) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """``(pairs of (original, output) absolute paths, unpaired outputs, skipped files)``.

    The run manifest in the output folder, when present, pairs the files it
    lists (it names inputs by keyed digests: ``key`` is the run's key, by default
    the default key); any other output pairs with the original at the same relative
    path (outputs under ``quarantine/`` with the path below it). Two files
    pair with each other.
    """
    if os.path.isfile(deidentified):
        if os.path.isdir(original):
            candidate = os.path.join(original, os.path.basename(deidentified))
            return ([(candidate, deidentified)], [], []) if os.path.isfile(candidate) else ([], [deidentified], [])
        return [(original, deidentified)], [], []
    if not os.path.isdir(deidentified):
        raise DeidlangError(f"'{deidentified}' does not exist")
    found: list[tuple[str, str]] = list(_manifest_pairs(deidentified, original, key) or ())
    paired = {out for _, out in found}
    unpaired: list[str] = []
    skipped: list[str] = []
    for out in _files(deidentified):
        if os.path.abspath(out) in paired:
            continue
        rel = os.path.relpath(out, deidentified)
        if rel.lower().endswith(_REPORT_SUFFIXES):
            skipped.append(out)
            continue
        head, sep, tail = rel.partition(os.sep)
        if head == "quarantine" and sep:
            rel = tail
        if os.path.isdir(original):
            candidate = os.path.join(original, rel)
        else:
            candidate = original if os.path.basename(original) == os.path.basename(rel) else ""
        if candidate and os.path.isfile(candidate):
            found.append((candidate, out))
        else:
            unpaired.append(out)
    return found, unpaired, skipped


def _files(root: str) -> Iterator[str]:
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield os.path.join(directory, name)


def _manifest_pairs(root: str, original: str, key: Any = None) -> list[tuple[str, str]] | None:
    """Pairs from the run manifest (None when there is no usable one).

    ``deidlang-manifest.jsonl`` holds one record per output (the last one
    wins): ``input_key``, the keyed digest of the input's path relative to
    input root number ``root`` (:func:`_keyed_inputs` finds it under
    ``original``), and ``output`` relative to the output folder. Manifests of
    earlier versions name the input (``input``) and list the roots as they were
    given: an input is looked for under ``original`` first, then under its root
    as the run named it.
    """
    header: Mapping[str, Any] = {}
    try:
        with open(os.path.join(root, MANIFEST_NAMES[1]), encoding="utf-8") as fh:
            loaded = json.load(fh)
        if isinstance(loaded, Mapping):
            header = loaded
    except (OSError, ValueError):
        pass
    records: dict[str, Mapping[str, Any]] = {}
    try:
        with open(os.path.join(root, MANIFEST_NAMES[0]), encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, Mapping) and isinstance(rec.get("output"), str) and (
                    isinstance(rec.get("input"), str) or isinstance(rec.get("input_key"), str)
                ):
                    records[rec["output"]] = rec
    except OSError:
        return None
    inputs = header.get("inputs") if isinstance(header.get("inputs"), list) else []
    keyed_inputs = None
    found: list[tuple[str, str]] = []
    for out_rel, rec in records.items():
        if rec.get("status") not in (None, "written", "quarantined"):
            continue
        dst = out_rel if os.path.isabs(out_rel) else os.path.join(root, *out_rel.split("/"))
        if not os.path.isfile(dst):
            continue
        if isinstance(rec.get("input_key"), str):
            if keyed_inputs is None:
                keyed_inputs = _keyed_inputs(original, key, header)
            src = keyed_inputs(rec)
        else:
            src = _manifest_input(rec, inputs, original)
        if src is not None:
            found.append((os.path.abspath(src), os.path.abspath(dst)))
    return found or None


def _run_key(key: Any, header: Mapping[str, Any]):
    """The key that made a run's input keys: ``key``, else the default key (never created
    here). Raises :class:`DeidlangError` when there is none or it is not the run's."""
    from .runtime import keyed

    if key is None:
        try:
            key = keyed.default_key(create=False)[0]
        except keyed.MissingKey:
            key = None
    used = header.get("keys") if isinstance(header.get("keys"), list) else []
    if key is None or (used and key.fingerprint not in used):
        have = "no key was found" if key is None else f"the key given has fingerprint {key.fingerprint}"
        raise DeidlangError(
            "the run manifest names inputs by keyed digests, so outputs pair with their originals only with the "
            f"run's key (fingerprint {', '.join(used) or 'unknown'}); {have}: pass it with --key-file"
        )
    return key


def _keyed_inputs(original: str, key: Any, header: Mapping[str, Any]):
    """A function from a manifest record (``root``, ``input_key``) to its original under
    ``original`` (None when it is not there). ``original`` is an input root of the run, a
    file, or the folder that holds several input roots (their names are matched by the
    header's ``inputs[].name_key``)."""
    from .naming import input_key

    key = _run_key(key, header)
    roots = [r.get("name_key") if isinstance(r, Mapping) else None for r in header.get("inputs") or ()]
    own = input_key(key, os.path.basename(os.path.abspath(original)))
    direct: dict[str, str] = {}
    below: dict[tuple[str, str], str] = {}
    if os.path.isdir(original):
        for path in _files(original):
            rel = os.path.relpath(path, original).replace(os.sep, "/")
            direct.setdefault(input_key(key, rel), path)
            first, sep, rest = rel.partition("/")
            if sep:
                below.setdefault((input_key(key, first), input_key(key, rest)), path)
    elif os.path.isfile(original):
        direct[input_key(key, os.path.basename(original))] = original

    def find(rec: Mapping[str, Any]) -> str | None:
        ikey, index = rec["input_key"], rec.get("root")
        name = roots[index] if isinstance(index, int) and 0 <= index < len(roots) else None
        if len(roots) > 1 and name and name != own:
            return below.get((name, ikey))
        return direct.get(ikey) or (below.get((name, ikey)) if name else None)

    return find


def _manifest_input(rec: Mapping[str, Any], inputs: list, original: str) -> str | None:
    rel = rec["input"]
    if os.path.isabs(rel):
        return rel if os.path.isfile(rel) else None
    parts = rel.split("/")
    candidates = []
    if os.path.isdir(original):
        candidates.append(os.path.join(original, *parts))
        index = rec.get("root")
        if isinstance(index, int) and 0 <= index < len(inputs) and isinstance(inputs[index], str) and len(inputs) > 1:
            candidates.append(os.path.join(original, os.path.basename(inputs[index].rstrip("/\\")), *parts))
    elif os.path.basename(original) == parts[-1]:
        candidates.append(original)
    index = rec.get("root")
    if isinstance(index, int) and 0 <= index < len(inputs) and isinstance(inputs[index], str):
        given = inputs[index]
        candidates.append(given if os.path.isfile(given) else os.path.join(given, *parts))
    for c in candidates:
        if os.path.isfile(c):
            return c
    return None


def verify_tree(original: str, deidentified: str, *, key: Any = None, show_values: bool = False) -> VerifyReport:
    """Verify every output under ``deidentified`` against its original under ``original``:
    its elements and bytes, and the names of its path under ``deidentified`` (a name that
    holds an identifying value of the original is a leak, and is masked where a path is
    shown unless ``show_values``; so are the original's). ``key``: the run's key, to pair
    through its manifest (:func:`pairs`)."""
    found, unpaired, skipped = pairs(original, deidentified, key)
    base_out = deidentified if os.path.isdir(deidentified) else os.path.dirname(deidentified)
    base_in = original if os.path.isdir(original) else os.path.dirname(original)
    masks = None if show_values else _Masks(found, base_in, base_out)
    checks = []
    not_dicom: list[str] = []
    for src, dst in found:
        out_names, in_names = _names_below(dst, base_out), _names_below(src, base_in)
        shown_out, shown_in = _shown(dst, base_out, deidentified), _shown(src, base_in, original)
        if masks is not None:
            shown_out, shown_in = masks.shown(shown_out, out_names, "out"), masks.shown(shown_in, in_names, "in")
        check = verify_files(src, dst, shown_output=shown_out, shown_original=shown_in, output_names=out_names)
        if check.error.startswith("cannot read the output") and not _looks_dicom(dst):
            not_dicom.append(shown_out)
            continue
        checks.append(check)
    return VerifyReport(
        tuple(checks),
        tuple(_shown(p, base_out, deidentified) for p in unpaired),
        tuple(_shown(p, base_out, deidentified) for p in skipped) + tuple(not_dicom),
    )


def _names_below(path: str, base: str) -> list[str]:
    """The names of ``path`` below ``base`` (its folders, then its own name)."""
    return os.path.relpath(path, base).split(os.sep)


def _shown(path: str, base: str, given: str) -> str:
    rel = os.path.relpath(path, base)
    return os.path.normpath(os.path.join(given, rel)) if os.path.isdir(given) else given


def _looks_dicom(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:] == b"DICM"
