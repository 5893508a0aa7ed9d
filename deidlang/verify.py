"""Residual-PHI verification: ``deidc verify`` and ``deidc run --verify``.

The question this module answers is "does any identifying value of the
original survive in the de-identified file?", independently of what the
recipe meant to do. It must be quiet enough to be left on (a check that
fails clean files gets switched off) and find every real leak. It works in
two steps (docs/explain-verify.md says the same for users):

1. :func:`harvest` collects the identifying values of an original dataset,
   each with the *kind* of value it is (``PatientName part``,
   ``StudyDate (date)``...). A value counts only when all of these hold:

   * it comes from an element that identifies: one whose row of PS3.15
     Table E.1-1 (:mod:`deidlang.profile`) asks for anything but keeping it,
     under the profile options in effect; or, for an element the table does
     not list, one inside a sequence whose row removes, empties or replaces
     it whole (the text of an SR ContentSequence). UIDs count only where
     their own row is ``U``. Text that an option cleans (C: Clean
     Descriptors...) and keeps does not count itself, but is searched;
   * its VR carries specific values: person names (PN), text (AE, LO, SH,
     UC, UR, LT, ST, UT), dates (DA, DT) and UIDs (UI). Coded values are
     left out: CS elements and the code items' CodeValue, CodeMeaning,
     CodingSchemeDesignator and the like; so are numbers, ages and times;
   * it is long and specific enough: names and name parts of 3 characters
     or more (not titles or particles: Dr, PhD, van...), identifiers of 4
     (5 when all digits), words of free text of 4 that are not common
     English, medical or DICOM words, UIDs of 10, phone numbers of 7
     digits, dates from 1900 on; never a placeholder (``ANONYMOUS``,
     ``UNKNOWN``...);
   * the recipe did not write it: deidlang's dummy values and the literals
     of the recipes' ADD and REPLACE lines are not evidence of anything;
   * it is not a well-known UID: registered UIDs (pydicom's UID dictionary,
     the DICOM root ``1.2.840.10008``), the implementation class and other
     constant UIDs of DICOM toolkits (:data:`TOOLKIT_UIDS`), and any UID the
     original also holds where a UID names a thing (its file meta's
     ImplementationClassUID, a SOP class, a coding scheme UID).

2. :func:`search` looks for those values, case-insensitively and as whole
   words (UIDs and dates as whole numbers), in every element of the output
   (file meta, sequences at every depth, private blocks; text decoded with
   the dataset's character set; binary values decoded as latin-1, UTF-8 and
   UTF-16LE), and then in the file's raw bytes in the same encodings, for
   values hidden where no element can be read (the preamble, damaged
   elements). A raw-byte hit is reported only for a value no element holds.
   Not reported: a value found in an element that does not identify and
   still holds what the original had there (``Manufacturer TOSHIBA`` when
   the InstitutionName was ``TOSHIBA`` too), a value the recipe wrote, and
   anything inside pixel, overlay, waveform, curve or lookup-table samples
   (numbers, where any short word turns up by chance); values shorter than
   4 characters are searched in text only, not in binary data.

Results (:class:`Leak`) name the output file, the element (deid uid path and
keyword path) and the kind of value, never the value itself; ``Leak.value``
is there for ``--show-values`` only.

Public API, stable (other modules and users build on it)::

    harvest(ds, *, recipes=(), options=None) -> Harvest   # a tuple of Identifier
    identifies(tag, options=(), within=()) -> bool        # does this element identify?
    search(identifiers, output, data=None, *, file="", original="") -> list[Leak]
    check_dataset(identifiers, output, *, file="", data=None) -> list[Leak]
    verify_files(original, output) -> FileCheck
    verify_tree(original, deidentified) -> VerifyReport
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
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
    "Harvest",
    "Leak",
    "FileCheck",
    "VerifyReport",
    "TOOLKIT_UIDS",
    "harvest",
    "identifies",
    "is_well_known_uid",
    "recipe_facts",
    "search",
    "check_dataset",
    "verify_files",
    "verify_tree",
    "pairs",
    "manifest_recipes",
    "MANIFEST_NAMES",
]

#: Run manifests written by ``deidc run`` (per-file input and output paths).
MANIFEST_NAMES = ("deidlang-manifest.jsonl", "deidlang-manifest.json")

#: Files in an output folder that are reports, not DICOM outputs.
_REPORT_SUFFIXES = (".json", ".jsonl", ".png", ".txt", ".csv", ".log", ".md", ".html")

#: VRs whose values are searched for once harvested (the others are codes, numbers,
#: ages, times or binary: never specific to a person).
_NAME_VRS = frozenset({"PN"})
_DATE_VRS = frozenset({"DA", "DT"})
_SHORT_TEXT_VRS = frozenset({"AE", "LO", "SH", "UC", "UR"})
_LONG_TEXT_VRS = frozenset({"LT", "ST", "UT"})
_SPECIFIC_VRS = _NAME_VRS | _DATE_VRS | _SHORT_TEXT_VRS | _LONG_TEXT_VRS | {"UI"}
_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"})

#: Parts of a person's name that are not specific to anyone.
_NOT_NAMES = frozenset(
    "mr mrs ms miss dr prof phd md jr sr ii iii iv rn do dds dvm esq sir mme mlle herr frau msc bsc "
    "van von der den del della de la le di da dos das du bin ibn abu al el ten ter".split()
)
#: Values that stand for "no value" in any element.
_PLACEHOLDERS = frozenset(
    "anonymous anonymized anonymised anon unknown none null nil test demo sample phantom patient removed "
    "deidentified de-identified redacted n/a na".split()
)

#: Elements of a code item: coded values, never searched for (PS3.3 Table 8.8-1). The
#: meaning too: it is the coding scheme's phrase for the code ("Onset", "Finding"); a
#: person or institution named in a code item is also named in its own element.
_CODED = frozenset(
    {
        "CodeValue",
        "CodeMeaning",
        "CodingSchemeDesignator",
        "CodingSchemeVersion",
        "LongCodeValue",
        "URNCodeValue",
        "ContextIdentifier",
        "ContextUID",
        "MappingResource",
        "MappingResourceUID",
        "MappingResourceName",
        "ContextGroupExtensionFlag",
        "ContextGroupExtensionCreatorUID",
        "CodingSchemeUID",
        "CodingSchemeRegistry",
        "CodingSchemeExternalID",
        "CodingSchemeName",
        "CodingSchemeResponsibleOrganization",
    }
)

_ID_SUFFIXES = ("ID", "IDs", "Identifier", "Number", "Numbers", "AETitle", "Locator", "Identification")
_PHONE_WORDS = ("Telephone", "Telecom", "PhoneNumber")
#: Text elements whose whole value is a name of a place or an organisation (also searched word by word).
_PLACE_WORDS = ("Address", "Institution", "Station", "Location", "Organization", "Residence")

#: Sequence codes whose contents identify as a whole (X/Z/U* sequences keep their
#: contents, of which only the UIDs, by their own rows, identify).
_WHOLE_SEQUENCE_CODES = frozenset({"X", "Z", "D", "C", "X/Z", "X/D", "Z/D", "X/Z/D"})

#: Sample data: numbers, not text (pixels, overlays, curves, waveforms, lookup tables).
_SAMPLE_TAGS = frozenset(
    {
        0x7FE00008, 0x7FE00009, 0x7FE00010,  # float, double and integer pixel data
        0x00281201, 0x00281202, 0x00281203, 0x00281204,  # palette color lookup table data
        0x00281221, 0x00281222, 0x00281223,  # segmented palette color lookup table data
        0x00283006,  # LUTData
        0x54001010,  # WaveformData
        0x56000020,  # SpectroscopyData
    }
)

#: Constant UIDs of DICOM toolkits (implementation class, instance creator, coding
#: scheme UIDs): they name software, never a patient or a study. ``(prefix, rule)``:
#: ``exact``: the UID itself; ``subtree``: every UID under the prefix (reserved by the
#: toolkit for its constants); ``version``: the prefix followed by a version number
#: (1 to 4 components of at most 4 digits; the same root followed by one long random
#: number is a generated instance UID and stays identifying).
TOOLKIT_UIDS: tuple[tuple[str, str, str], ...] = (
    ("DCMTK (OFFIS)", "1.2.276.0.7230010.3.0.", "subtree"),  # OFFIS_UID_ROOT ".0.": implementation class, instance creator, coding schemes
    ("DCMTK (OFFIS)", "1.2.276.0.7230010.3.1.0.", "subtree"),  # private SOP classes
    ("pydicom", "1.2.826.0.1.3680043.8.498.", "version"),  # PYDICOM_IMPLEMENTATION_UID (pydicom 3: ...498.1)
    ("pynetdicom", "1.2.826.0.1.3680043.9.3811.", "version"),  # PYNETDICOM_IMPLEMENTATION_UID
    ("GDCM", "1.2.826.0.1.3680043.2.1143.107.104.103.115.", "version"),  # GDCM_IMPLEMENTATION_CLASS_UID ("gdcm" in octal)
    ("dcm4che 1 and 2", "1.2.40.0.13.1.1", "exact"),
    ("dcm4che 3 and 5", "1.2.40.0.13.1.3", "exact"),
    ("fo-dicom", "1.3.6.1.4.1.30071.8", "exact"),
)

#: Dummy dates other tools write; finding one again is not a leak.
_DUMMY_DATES = frozenset({"19000101", "19700101", "20000101", "00010101"})

#: Binary values up to this size are decoded and searched as elements; larger ones
#: only by the pass over the whole file's bytes.
_ELEMENT_BYTES = 1 << 20
#: Shorter values are searched in text only: in binary data they turn up by chance.
_BINARY_MINIMUM = 4

_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
_NAME_SPLIT = re.compile(r"[\^=\s,.;]+")
_PHONE_RUN = re.compile(r"\+?\(?\d[\d\s().\-/]{5,}\d")
_DIGITS = re.compile(r"\D+")
_UID_SHAPE = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))+")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")


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


# =========================================================================== which elements identify


@functools.lru_cache(maxsize=1)
def _rows() -> Mapping[int, Any]:
    from . import profile

    return {r.tag: r for r in profile.rows() if r.tag is not None}


def _code(tag: int, options: tuple[str, ...]) -> str | None:
    """The Table E.1-1 code of ``tag`` under ``options`` (None: the table does not list it)."""
    row = _rows().get(tag)
    if row is not None:
        return row.required(options)
    group = tag >> 16
    if group & 1:
        return None  # private: the table's "private attributes" row, handled by the caller
    if 0x6000 <= group <= 0x60FF and (tag & 0xFFFF) in (0x3000, 0x4000):
        return "X"  # overlay data and comments
    if 0x5000 <= group <= 0x50FF:
        return "X"  # curve data
    return None


@functools.lru_cache(maxsize=4096)
def _effective(tag: int, options: tuple[str, ...], within: tuple[int, ...]) -> str | None:
    """The code that decides a public element: its own row's, or that of the nearest
    enclosing sequence the table lists when it handles its contents as a whole; None
    when neither does (private elements included)."""
    if (tag >> 16) & 1:
        return None
    code = _code(tag, options)
    if code is not None:
        return code
    for outer in reversed(within):
        if (outer >> 16) & 1:
            return None
        outer_code = _code(outer, options)
        if outer_code is not None:
            return outer_code if outer_code in _WHOLE_SEQUENCE_CODES else None
    return None


def identifies(tag: int, options: tuple[str, ...] = (), within: tuple[int, ...] = ()) -> bool:
    """Whether a public element identifies, by PS3.15 Table E.1-1 under the profile
    ``options`` in effect: its own row asks for anything but keeping it; or the table
    does not list it and the nearest enclosing sequence that it lists (``within``: the
    tags of the enclosing sequences, outermost first) is removed, emptied, replaced or
    cleaned as a whole. Private elements do not (they are searched, not harvested)."""
    code = _effective(tag, tuple(options), tuple(within))
    return code is not None and code != "K"


def is_well_known_uid(value: str) -> bool:
    """A UID that names no patient, study or instance: registered by DICOM (pydicom's
    UID dictionary, the root ``1.2.840.10008``) or a toolkit's constant (:data:`TOOLKIT_UIDS`)."""
    if value.startswith("1.2.840.10008."):
        return True
    try:
        from pydicom.uid import UID_dictionary

        if value in UID_dictionary:
            return True
    except Exception:  # noqa: BLE001
        pass
    for _toolkit, prefix, rule in TOOLKIT_UIDS:
        if rule == "exact":
            if value == prefix:
                return True
        elif value.startswith(prefix):
            if rule == "subtree":
                return True
            rest = value[len(prefix):].split(".")
            if 1 <= len(rest) <= 4 and all(p.isdigit() and len(p) <= 4 for p in rest):
                return True
    return False


# =========================================================================== what the recipe wrote


@functools.lru_cache(maxsize=1)
def _dummies() -> frozenset[str]:
    from .runtime.builtins import TEXT_VRS, dummy_value

    return frozenset(str(dummy_value(vr)).lower() for vr in TEXT_VRS)


_FACTS: dict[tuple[str, str], tuple[tuple[str, ...], frozenset[str]]] = {}


def recipe_facts(recipes: Iterable[Any]) -> tuple[tuple[str, ...], frozenset[str]]:
    """``(options, written)`` of compiled recipes (:class:`deidlang.runtime.Program`):
    the profile options they are (a bundled option recipe, recognised by its text's
    SHA-256) and the values they write themselves, lower-cased: the literals of ADD,
    REPLACE and KEEP lines and the text arguments of their ``deid_func:`` values."""
    options, written, _shift = _all_facts(recipes)
    return options, written


def shifts_dates(recipes: Iterable[Any]) -> bool:
    """Whether compiled recipes shift dates (a JITTER line, ``deid_func:jitter`` or
    ``deid_func:dateshift``): a date they change is the shifted original, and can equal
    another date of the original by chance."""
    return _all_facts(recipes)[2]


def _all_facts(recipes: Iterable[Any]) -> tuple[tuple[str, ...], frozenset[str], bool]:
    options: list[str] = []
    written: set[str] = set()
    shift = False
    for program in recipes:
        key = (str(getattr(program, "name", "")), str(getattr(program, "sha256", "")))
        facts = _FACTS.get(key)
        if facts is None:
            facts = _FACTS[key] = _facts_of(program)
        options.extend(o for o in facts[0] if o not in options)
        written.update(facts[1])
        shift = shift or facts[2]
    return tuple(options), frozenset(written), shift


#: The built-ins whose result is a shifted date.
_SHIFTING_BUILTINS = frozenset({"jitter", "dateshift"})


def _facts_of(program: Any) -> tuple[tuple[str, ...], frozenset[str], bool]:
    from .runtime import actions, values

    written: set[str] = set()
    shift = False
    for step in getattr(program, "steps", ()):
        value = getattr(step, "value", None)
        if isinstance(step, actions.Jitter):
            shift = True
        if isinstance(value, values.Constant):
            written.add(value.text.strip().lower())
        elif isinstance(value, values.Builtin):
            written.update(str(v).strip().lower() for _k, v in value.options if isinstance(v, str))
            shift = shift or value.name.lower() in _SHIFTING_BUILTINS
    written.discard("")
    return _option_of(str(getattr(program, "sha256", ""))), frozenset(written), shift


@functools.lru_cache(maxsize=1)
def _option_hashes() -> Mapping[str, str]:
    from . import profile

    out = {}
    for o in profile.OPTIONS:
        if o.recipe is not None:
            try:
                out[hashlib.sha256(profile.option_recipe(o.name).read_text(encoding="utf-8").encode("utf-8")).hexdigest()] = o.name
            except OSError:
                continue
    return out


def _option_of(sha256: str) -> tuple[str, ...]:
    name = _option_hashes().get(sha256)
    return (name,) if name else ()


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


class Harvest(tuple):
    """The identifying values of one original: a tuple of :class:`Identifier`, with what
    :func:`search` needs to tell a copy from a coincidence: ``plain``, the values of the
    original's elements that do not identify (deid uid path -> values), and ``written``,
    the values the recipe writes itself (lower-cased)."""

    plain: Mapping[str, frozenset]
    written: frozenset[str]
    #: when the recipes shift dates: the original's DA/DT values by place (deid uid path)
    dated: Mapping[str, frozenset]

    def __new__(
        cls,
        identifiers: Iterable[Identifier] = (),
        plain: Mapping[str, frozenset] | None = None,
        written: Iterable[str] = (),
        dated: Mapping[str, frozenset] | None = None,
    ):
        self = super().__new__(cls, identifiers)
        self.plain = dict(plain or {})
        self.written = frozenset(written)
        self.dated = dict(dated or {})
        return self

    def __reduce__(self):
        return (Harvest, (tuple(self), self.plain, self.written, self.dated))


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


def _walk(ds: Dataset, include_meta: bool = True) -> Iterator[tuple[str, str, Any, tuple[int, ...]]]:
    """``(uid, keyword path, element, enclosing sequence tags)`` for every element, file meta first."""
    meta = ds.__dict__.get("file_meta") if include_meta else None
    roots: list[tuple[Dataset, str, str, tuple[int, ...]]] = [(ds, "", "", ())]
    if isinstance(meta, Dataset):
        roots.insert(0, (meta, "", "", ()))
    for root in roots:
        stack = [root]
        while stack:
            d, uid_prefix, path_prefix, within = stack.pop()
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
                yield uid, path, elem, within
                value = elem.value
                if isinstance(value, Sequence):
                    inner = (*within, tag)
                    for i, item in enumerate(value):
                        if isinstance(item, Dataset):
                            nested.append((item, f"{uid}__{i}__", f"{path}[{i}].", inner))
            stack.extend(reversed(nested))


#: UID elements that name a class, a syntax, a coding scheme or a piece of software.
_THING_UIDS = frozenset(
    {
        "ImplementationClassUID",
        "TransferSyntaxUID",
        "CreatorVersionUID",
        "PrivateInformationCreatorUID",
        "SOPClassesSupported",
        "SOPClassesInStudy",
        "PertinentSOPClassesInStudy",
        "PertinentSOPClassesInSeries",
    }
)


def _names_a_thing(kw: str) -> bool:
    return kw.endswith("ClassUID") or kw in _THING_UIDS or kw in _CODED


def _is_id_keyword(kw: str) -> bool:
    return kw.endswith(_ID_SUFFIXES) and not kw.endswith("UID")


def _date_forms(value: str) -> list[str]:
    """The ways a date of a DA or DT value is written: DICOM's, ISO's, European, US,
    and with the month's name (``5 Jan 2023``, ``January 5, 2023``, ``05-Jan-2023``)."""
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
    forms = [digits, f"{y}-{m}-{d}", f"{y}/{m}/{d}", f"{y}.{m}.{d}"]
    for dd, mm in {(d, m), (str(day.day), str(day.month))}:
        forms += [f"{dd}/{mm}/{y}", f"{mm}/{dd}/{y}", f"{dd}.{mm}.{y}", f"{dd}-{mm}-{y}"]
    full = _MONTHS[day.month - 1]
    for month in dict.fromkeys((full, full[:3])):
        for dd in dict.fromkeys((d, str(day.day))):
            forms += [f"{dd} {month} {y}", f"{dd}-{month}-{y}", f"{month} {dd}, {y}", f"{month} {dd} {y}"]
    return list(dict.fromkeys(forms))


def _words(text: str, common: frozenset[str], minimum: int = 4) -> list[str]:
    out = []
    for w in _WORD.findall(text):
        lw = w.lower()
        if len(w) >= minimum and lw not in common and not w.isdigit():
            out.append(w)
    return out


def _plain_value(elem) -> frozenset:
    """What a non-identifying element holds, to recognise it unchanged in an output."""
    value = elem.value
    if isinstance(value, (bytes, bytearray)):
        return frozenset({_digest(bytes(value))})
    return frozenset(v.strip() for v in _values_of(elem))


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def harvest(ds: Dataset, *, recipes: Iterable[Any] = (), options: Iterable[str] | None = None) -> Harvest:
    """The identifying values of an original dataset (the module docstring gives the rules).

    ``recipes``: the compiled recipes that will run (or ran) on it: the profile
    options among them keep what they retain from counting, and the values
    they write are not identifying. ``options``: the profile options in
    effect, when they are not to be read from ``recipes``.
    """
    found_options, written, shift = _all_facts(recipes)
    opts = tuple(options) if options is not None else found_options
    shift = shift or "retain-modified-dates" in opts
    dated: dict[str, frozenset] = {}  # with shifted dates: the original's dates by place
    written = written | _dummies()
    common = _common_words()
    found: list[Identifier] = []
    free_text: list[tuple[str, str, str]] = []  # (kind, text, source) decided after the walk
    other_words: set[str] = set()
    other_uids: set[str] = set()
    plain: dict[str, frozenset] = {}

    def add(kind: str, text: str, source: str, family: str = "word") -> None:
        text = text.strip(" \x00")
        if text and text.lower() not in _PLACEHOLDERS and text.lower() not in written:
            found.append(Identifier(kind, text, source, family))

    for uid, _path, elem, within in _walk(ds):
        tag = int(elem.tag)
        vr = elem.VR or "UN"
        if vr == "SQ":
            continue
        kw = keyword_of(tag)
        if (tag >> 16) & 1:
            continue  # private: searched, not harvested (what it holds is unknown)
        if shift and vr in _DATE_VRS:
            dated[uid] = _plain_value(elem)
        code = _effective(tag, opts, within)
        if code == "C" and vr not in _DATE_VRS:
            continue  # text an option cleans and keeps: its own words are no evidence, other values in it are
        if code in (None, "K") or kw in _CODED or vr not in _SPECIFIC_VRS:
            # an element that does not identify, or a coded value, a number, an age,
            # a time, binary data: what it holds is no evidence, in the output either
            plain[uid] = _plain_value(elem)
            if vr == "UI" and _names_a_thing(kw):
                other_uids.update(v.strip() for v in _values_of(elem))
            elif vr in _TEXT_VRS:
                for v in _values_of(elem):
                    other_words.update(w.lower() for w in _WORD.findall(v))
            continue
        values = _values_of(elem)
        if not values:
            continue
        kind = _keyword_kind(tag)
        if vr == "PN":
            for v in values:
                parts = [p for p in _NAME_SPLIT.split(v) if len(p) >= 3 and p.lower() not in _NOT_NAMES and p.lower() not in _PLACEHOLDERS]
                if parts:  # the whole name, when some part of it is a name
                    add(kind, v.strip().rstrip("^="), uid)
                for part in parts:
                    add(f"{kind} part", part, uid)
        elif vr == "UI":
            if tag in _rows():  # UIDs identify by their own row only (U), never by their sequence
                for v in values:
                    v = v.strip()
                    if len(v) >= 10 and _UID_SHAPE.fullmatch(v) and not is_well_known_uid(v):
                        add(kind, v, uid, "uid")
        elif vr in _DATE_VRS:
            for v in values:
                for form in _date_forms(v):
                    add(f"{kind} (date)", form, uid, "date")
        elif any(w in kw for w in _PHONE_WORDS):
            for v in values:
                digits = _DIGITS.sub("", v)
                if len(digits) >= 7:
                    add(f"{kind} (digits)", digits, uid, "phone")
                _add_whole(add, kind, v, uid)
        elif vr in _SHORT_TEXT_VRS and (vr == "AE" or _is_id_keyword(kw)):
            for v in values:
                _add_whole(add, kind, v, uid)
        elif vr in _SHORT_TEXT_VRS and any(w in kw for w in _PLACE_WORDS):
            for v in values:
                if v.strip().lower() not in common:
                    _add_whole(add, kind, v, uid, minimum=3)
                free_text.append((f"{kind} part", v, uid))
        else:  # descriptions, comments, labels, free text: word by word
            for v in values:
                free_text.append((f"{kind} word", v, uid))
    for kind, text, source in free_text:
        for w in _words(text, common):
            if w.lower() not in other_words:
                add(kind, w, source)
    found = [i for i in found if not (i.family == "uid" and i.text in other_uids)]
    return Harvest(_dedupe(found), plain, written, dated)


def _add_whole(add, kind: str, value: str, source: str, minimum: int = 4) -> None:
    t = value.strip()
    if len(t) >= (max(minimum, 5) if t.isdigit() else minimum):
        add(kind, t, source)


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


#: Runs of letters and digits (a word of the text, matched against identifiers by its
#: longest word), UID-shaped runs, and the shapes a date is written in; compiled once:
#: matching an original's identifiers compiles nothing per file.
_TOKEN = re.compile(r"[^\W_]+")
_UID_RUN = re.compile(r"[0-9]+(?:\.[0-9]+)+")
_DATE_SHAPES = (
    # eight digits, alone or followed by a time of day (a DT: HH, HHMM or HHMMSS), not by
    # more digits: a random 39-digit UID component may start with a date's digits
    re.compile(r"(?<![0-9])[0-9]{8}(?=(?:[0-9]{2}){0,3}(?![0-9]))"),
    re.compile(r"(?<![0-9])(?=([0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}(?![0-9])))"),
    re.compile(r"(?<![^\W_])(?=([0-9]{1,2}[ -][^\W\d_]{3,9}[ -][0-9]{4}(?![0-9])|[^\W\d_]{3,9} [0-9]{1,2},? [0-9]{4}(?![0-9])))"),
)


def _anchor(key: str) -> tuple[int, str] | None:
    """``(offset, word)``: the longest word of an identifier's text, by which it is looked up."""
    best = None
    for m in _TOKEN.finditer(key):
        if best is None or len(m.group(0)) > len(best[1]):
            best = (m.start(), m.group(0))
    return best


def _trim(text: str) -> str:
    """An identifier's text without what cannot start or end a whole-word match."""
    start, end = 0, len(text)
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return text[start:end]


@attrs.frozen
class _Matcher:
    """One original's identifiers, indexed for search: words by their longest word, UIDs,
    dates and phone numbers by their text (lower-cased)."""

    by_text: Mapping[str, tuple[Identifier, ...]]  # lower-cased text -> identifiers
    words: Mapping[str, tuple[tuple[int, str], ...]]  # longest word -> (its offset, text) of each identifier
    uids: frozenset[str]
    dates: frozenset[str]
    phones: Mapping[str, tuple[Identifier, ...]]  # digits -> identifiers
    shortest: int  # the shortest longest-word: shorter words of a text are not looked up

    @classmethod
    def of(cls, identifiers: Iterable[Identifier]) -> "_Matcher":
        by_text: dict[str, list[Identifier]] = {}
        words: dict[str, list[tuple[int, str]]] = {}
        uids: set[str] = set()
        dates: set[str] = set()
        phones: dict[str, list[Identifier]] = {}
        for it in identifiers:
            if it.family == "phone":
                phones.setdefault(it.text, []).append(it)
                continue
            key = (_trim(it.text) if it.family == "word" else it.text).lower()
            if not key:
                continue
            if it.family == "uid":
                uids.add(key)
            elif it.family == "date":
                dates.add(key)
            else:
                anchor = _anchor(key)
                if anchor is None:
                    continue
                if (anchor[0], key) not in words.get(anchor[1], ()):
                    words.setdefault(anchor[1], []).append((anchor[0], key))
            by_text.setdefault(key, []).append(it)
        return cls(
            {k: tuple(v) for k, v in by_text.items()},
            {k: tuple(v) for k, v in words.items()},
            frozenset(uids),
            frozenset(dates),
            {k: tuple(v) for k, v in phones.items()},
            min((len(w) for w in words), default=1),
        )

    def find(self, text: str) -> Iterator[tuple[int, str, Identifier]]:
        """``(offset, matched text, identifier)`` for every identifier found in ``text``:
        words case-insensitively and whole (not inside a longer word; a name's parts are
        found inside the whole name too), UIDs whole or as the tail of a longer UID,
        dates not inside a longer number, phone numbers inside any run of digits."""
        for start, found in self._words(text):
            for it in self.by_text[found.lower()]:
                if it.family == "word":
                    yield start, found, it
        if self.uids:
            for m in _UID_RUN.finditer(text):
                run = m.group(0)
                at = 0
                while at >= 0:
                    tail = run[at:]
                    if tail in self.uids:
                        for it in self.by_text[tail]:
                            if it.family == "uid":
                                yield m.start() + at, tail, it
                    at = run.find(".", at)
                    at = at + 1 if at >= 0 else -1
        if self.dates:
            for rx in _DATE_SHAPES:
                for m in rx.finditer(text):
                    found = m.group(1) if rx.groups else m.group(0)
                    if found.lower() in self.dates:
                        for it in self.by_text[found.lower()]:
                            if it.family == "date":
                                yield m.start(), found, it
        if self.phones:
            for m in _PHONE_RUN.finditer(text):
                digits = _DIGITS.sub("", m.group(0))
                for phone, its in self.phones.items():
                    if phone in digits:
                        for it in its:
                            yield m.start(), m.group(0), it

    def _words(self, text: str) -> Iterator[tuple[int, str]]:
        if not self.words:
            return
        lowered = text.lower()
        if len(lowered) != len(text):  # a character whose lower case is longer: compare piece by piece
            lowered = None
        n = len(text)
        for m in _TOKEN.finditer(text):
            token = m.group(0)
            if len(token) < self.shortest:
                continue
            candidates = self.words.get(token.lower())
            if not candidates:
                continue
            for offset, key in candidates:
                start = m.start() - offset
                end = start + len(key)
                if start < 0 or end > n:
                    continue
                piece = lowered[start:end] if lowered is not None else text[start:end].lower()
                if piece != key:
                    continue
                if (start and text[start - 1].isalnum()) or (end < n and text[end].isalnum()):
                    continue
                yield start, text[start:end]


def _is_sample(tag: int) -> bool:
    """Pixel, overlay, curve, waveform, spectroscopy and lookup-table samples: numbers."""
    if tag in _SAMPLE_TAGS:
        return True
    group, element = tag >> 16, tag & 0xFFFF
    return (0x6000 <= group <= 0x60FF and element == 0x3000) or (0x5000 <= group <= 0x50FF and element in (0x3000, 0x200C))


def _texts(elem) -> list[str]:
    """The searchable text forms of one element's value."""
    value = elem.value
    if value is None or isinstance(value, Sequence):
        return []
    if isinstance(value, (bytes, bytearray)):
        # large blobs are left to the pass over the file's bytes
        return _decodings(bytes(value)) if len(value) <= _ELEMENT_BYTES else []
    if isinstance(value, (list, tuple, MultiValue)):
        return ["\\".join(str(v) for v in value)]
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


def _coincidence(
    elem, uid: str, matched: str, plain: Mapping[str, frozenset], written: frozenset[str], dated: Mapping[str, frozenset] | None = None
) -> bool:
    """Whether a value found in ``elem`` is no copy: the element does not identify and
    holds what the original had there, or its value is one the recipe writes, or (when
    the recipes shift dates) it is a date element whose every value the run changed from
    what the original had there: a shifted date that falls on another date of the
    original by chance (a calibration date shifted onto the study date)."""
    held = plain.get(uid)
    value = elem.value
    if dated and elem.VR in _DATE_VRS and uid in dated:
        now = [v.strip() for v in _values_of(elem)]
        if now and not (set(now) & dated[uid]):
            return True
    if isinstance(value, (bytes, bytearray)):
        return held is not None and _digest(bytes(value)) in held
    values = [v.strip() for v in _values_of(elem)]
    needle = matched.lower()
    containing = [v for v in values if needle in v.lower()] or values
    return bool(containing) and all((held is not None and v in held) or v.lower() in written for v in containing)


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
    no element holds. With a :class:`Harvest`, values that are no copy (see
    :func:`_coincidence`) are not reported.
    """
    plain: Mapping[str, frozenset] = getattr(identifiers, "plain", {})
    written: frozenset[str] = getattr(identifiers, "written", frozenset())
    dated: Mapping[str, frozenset] = getattr(identifiers, "dated", {})
    matcher = _Matcher.of(identifiers)
    hits: dict[tuple[str, str], tuple[str, str, dict[Identifier, None]]] = {}  # (place, value) -> (path, shown, ids)
    found_anywhere: set[str] = set()
    samples: list[bytes] = []
    for uid, path, elem, _within in _walk(output):
        if _is_sample(int(elem.tag)):
            if isinstance(elem.value, (bytes, bytearray)):
                samples.append(bytes(elem.value))
            continue
        binary = isinstance(elem.value, (bytes, bytearray))
        for text in _texts(elem):
            for _offset, matched, it in matcher.find(text):
                if binary and len(it.text) < _BINARY_MINIMUM:
                    continue
                value = it.text.lower()
                found_anywhere.add(value)
                if _coincidence(elem, uid, matched, plain, written, dated):
                    continue
                key = (uid, value)
                entry = hits.get(key)
                if entry is None:
                    entry = hits[key] = (path, matched, {})
                entry[2][it] = None
    if data:
        for start, chunk in _segments(data, _ranges(data, samples)):
            for label, text, scale, shift in _raw_texts(chunk):
                for offset, matched, it in matcher.find(text):
                    value = it.text.lower()
                    if len(it.text) < _BINARY_MINIMUM or (value in found_anywhere and ("<file bytes>", value) not in hits):
                        continue
                    key = ("<file bytes>", value)
                    entry = hits.get(key)
                    if entry is None:
                        entry = hits[key] = (f"offset {start + offset * scale + shift}, {label}", matched, {})
                    entry[2][it] = None
                    found_anywhere.add(value)
    leaks = []
    for (place, _value), (path, shown, ids) in hits.items():
        both = tuple(dict.fromkeys((i.kind, i.source) for i in ids))  # kinds[i] was found at sources[i]
        kinds = tuple(k for k, _ in both)
        sources = tuple(src for _, src in both)
        leaks.append(Leak(file, place, path, kinds, sources, shown, original))
    return leaks


def _ranges(data: bytes, samples: list[bytes]) -> list[tuple[int, int]]:
    """Where the sample values lie in ``data`` (those of 64 bytes or more that are found;
    top-level pixel data, the largest, is looked for near the end first)."""
    out = []
    for value in samples:
        n = len(value)
        if n < 64 or n > len(data):
            continue
        start = data.find(value, max(0, len(data) - n - 4096))
        if start < 0:
            start = data.find(value)
        if start >= 0:
            out.append((start, start + n))
    return sorted(out)


def _segments(data: bytes, ranges: list[tuple[int, int]]) -> Iterator[tuple[int, bytes]]:
    """``(offset, bytes)`` of ``data`` outside ``ranges``."""
    at = 0
    for start, end in ranges:
        if start > at:
            yield at, data[at:start]
        at = max(at, end)
    if at < len(data):
        yield at, data[at:] if at else data


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
    identifiers harvested from its original before the recipe ran (``harvest(ds,
    recipes=programs)``). ``data``: the bytes that will be written (serialised here when
    not given)."""
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
    recipes: Iterable[Any] = (),
    options: Iterable[str] | None = None,
    output_names: tuple[str, ...] | list[str] = (),
    pixels: Any = None,
) -> FileCheck:
    """Verify one output file against its original (``recipes``, ``options``: as for
    :func:`harvest`). ``output_names``: the names of the output's path that a run gave
    it (folders below the de-identified root, then the file), checked too
    (:func:`path_leaks`). ``pixels``: OCR settings (:class:`deidlang.ocr.Settings`): also
    read the output's pixels for identifying text (``deidc verify --pixels``)."""
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
        identifiers = harvest(orig_ds, recipes=recipes, options=options)
    except Exception as err:  # noqa: BLE001
        return FileCheck(out_name, orig_name, error=f"cannot read the original's values ({type(err).__name__})")
    leaks = search(identifiers, out_ds, data, file=out_name, original=orig_name)
    if pixels is not None:  # --pixels: OCR (deidlang/ocr)
        from .ocr.report import pixel_leaks

        try:
            leaks += pixel_leaks(identifiers, out_ds, pixels, file=out_name, original=orig_name)
        except DeidlangError as err:  # pixels that cannot be decoded: said, never quoted
            return FileCheck(out_name, orig_name, tuple(in_path) + tuple(leaks), error=f"pixels not read: {err}")
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


def verify_tree(original: str, deidentified: str, *, key: Any = None, show_values: bool = False, pixels: Any = None) -> VerifyReport:
    """Verify every output under ``deidentified`` against its original under ``original``:
    its elements and bytes (with the recipes and profile options its run manifest
    names, when there is one), and the names of its path under ``deidentified`` (a name
    that holds an identifying value of the original is a leak, and is masked where a
    path is shown unless ``show_values``; so are the original's). ``key``: the run's
    key, to pair through its manifest (:func:`pairs`). ``pixels``: see :func:`verify_files`."""
    found, unpaired, skipped = pairs(original, deidentified, key)
    recipes, options = manifest_recipes(deidentified) if os.path.isdir(deidentified) else ((), None)
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
        check = verify_files(
            src, dst, shown_output=shown_out, shown_original=shown_in, recipes=recipes, options=options, output_names=out_names,
            pixels=pixels,
        )
        if check.error.startswith("cannot read the output") and not _looks_dicom(dst):
            not_dicom.append(shown_out)
            continue
        checks.append(check)
    return VerifyReport(
        tuple(checks),
        tuple(_shown(p, base_out, deidentified) for p in unpaired),
        tuple(_shown(p, base_out, deidentified) for p in skipped) + tuple(not_dicom),
    )


def manifest_recipes(root: str) -> tuple[list[Any], tuple[str, ...] | None]:
    """``(recipes, options)`` of the run that wrote ``root``, from its manifest header:
    the recipes it names that are still there unchanged (same SHA-256), compiled, and
    the profile options among all it names (recognised by SHA-256 even when the file
    is gone). ``([], None)`` without a manifest."""
    try:
        with open(os.path.join(root, MANIFEST_NAMES[1]), encoding="utf-8") as fh:
            header = json.load(fh)
    except (OSError, ValueError):
        return [], None
    named = header.get("recipes") if isinstance(header, Mapping) else None
    if not isinstance(named, list):
        return [], None
    from . import api

    recipes: list[Any] = []
    options: list[str] = []
    for entry in named:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
            continue
        sha = str(entry.get("sha256", ""))
        options.extend(o for o in _option_of(sha) if o not in options)
        try:
            program = api.load(entry["path"], allow=True)  # what the run let through
        except Exception:  # noqa: BLE001 - a recipe that moved, changed or no longer checks: its literals stay unknown
            continue
        if program.sha256 == sha:
            recipes.append(program)
    return recipes, tuple(options)


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
