"""Residual-PHI verification, step 1: what identifies an original.

The question :mod:`deidlang.privacy` answers for ``deidc verify`` and ``deidc run
--verify`` is "does any identifying value of the original survive in the de-identified
file?", independently of what the recipe meant to do. It must be quiet enough to be
left on (a check that fails clean files gets switched off) and find every real leak.
It works in two steps (docs/explain-verify.md says the same for users); this module is
the first, :mod:`.search` the second.

:func:`harvest` collects the identifying values of an original dataset,
each with the *kind* of value it is (``PatientName part``,
``StudyDate (date)``...). A value counts only when all of these hold:

* it comes from an element that identifies: one whose row of PS3.15
  Table E.1-1 (:mod:`deidlang.privacy.profile`) asks for anything but keeping it,
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

May import: :mod:`deidlang.lang`, :mod:`deidlang.runtime` and the rest of
:mod:`deidlang.privacy`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import re
from typing import Any, Iterable, Iterator, Mapping

import attrs
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from ..runtime.content import CODE_ITEM_KEYWORDS, DATED_CODE_ITEM_KEYWORDS
from ..runtime.safeharbor import year_of
from ..runtime.universe import keyword_of, tag_string

__all__ = [
    "Identifier",
    "Harvest",
    "TOOLKIT_UIDS",
    "harvest",
    "identifies",
    "is_well_known_uid",
    "recipe_facts",
    "shifts_dates",
]


#: VRs whose values are searched for once harvested (the others are codes, numbers,
#: ages, times or binary: never specific to a person).
_NAME_VRS = frozenset({"PN"})
DATE_VRS = frozenset({"DA", "DT"})
_SHORT_TEXT_VRS = frozenset({"AE", "LO", "SH", "UC", "UR"})
_LONG_TEXT_VRS = frozenset({"LT", "ST", "UT"})
_SPECIFIC_VRS = _NAME_VRS | DATE_VRS | _SHORT_TEXT_VRS | _LONG_TEXT_VRS | {"UI"}
_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"})


#: Parts of a person's name that are not specific to anyone.
_NOT_NAMES = frozenset(
    "mr mrs ms miss dr prof phd md jr sr ii iii iv rn do dds dvm esq sir mme mlle herr frau msc bsc "
    "van von der den del della de la le di da dos das du bin ibn abu al el ten ter".split()
)
#: Values that stand for "no value" in any element.
_PLACEHOLDERS = frozenset(
    "anonymous anonymized anonymised anon unknown none null nil test demo sample phantom patient removed deidentified de-identified redacted n/a na".split()
)


#: Elements of a code item: coded values, never searched for (PS3.3 Table 8.8-1). The
#: meaning too: it is the coding scheme's phrase for the code ("Onset", "Finding"); a
#: person or institution named in a code item is also named in its own element.
_CODED = frozenset(
    {
        *(k for k in CODE_ITEM_KEYWORDS if k not in DATED_CODE_ITEM_KEYWORDS),  # versions: dates, rows of their own
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


_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
_NAME_SPLIT = re.compile(r"[\^=\s,.;]+")
NON_DIGITS = re.compile(r"\D+")
_UID_SHAPE = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))+")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")


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


# =========================================================================== common words


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
            rest = value[len(prefix) :].split(".")
            if 1 <= len(rest) <= 4 and all(p.isdigit() and len(p) <= 4 for p in rest):
                return True
    return False


# =========================================================================== what the recipe wrote


@functools.lru_cache(maxsize=1)
def _dummies() -> frozenset[str]:
    from ..runtime.builtins import TEXT_VRS, dummy_value

    return frozenset(str(dummy_value(vr)).lower() for vr in TEXT_VRS)


_FACTS: dict[tuple[str, str], tuple[tuple[str, ...], frozenset[str], bool]] = {}


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


#: The built-ins whose result is a shifted (or, safeharbor, reduced) date.
_SHIFTING_BUILTINS = frozenset({"jitter", "dateshift", "safeharbor"})


def _facts_of(program: Any) -> tuple[tuple[str, ...], frozenset[str], bool]:
    from ..runtime import actions, values

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
    return option_of(str(getattr(program, "sha256", ""))), frozenset(written), shift


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


def option_of(sha256: str) -> tuple[str, ...]:
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


def _keyword_kind(tag: int) -> str:
    return keyword_of(tag) or tag_string(tag)


def values_of(elem) -> list[str]:
    value = elem.value
    if value is None or isinstance(value, Sequence):
        return []
    if isinstance(value, (bytes, bytearray)):
        return []
    if isinstance(value, (list, tuple, MultiValue)):
        return [str(v) for v in value if v is not None and str(v) != ""]
    text = str(value)
    return [text] if text else []


def walk_elements(ds: Dataset, include_meta: bool = True) -> Iterator[tuple[str, str, Any, tuple[int, ...]]]:
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


def is_id_keyword(kw: str) -> bool:
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
        return frozenset({value_digest(bytes(value))})
    return frozenset(v.strip() for v in values_of(elem))


def value_digest(data: bytes) -> bytes:
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

    for uid, _path, elem, within in walk_elements(ds):
        tag = int(elem.tag)
        vr = elem.VR or "UN"
        if vr == "SQ":
            continue
        kw = keyword_of(tag)
        if (tag >> 16) & 1:
            continue  # private: searched, not harvested (what it holds is unknown)
        if shift and vr in DATE_VRS:
            dated[uid] = _plain_value(elem)
        code = _effective(tag, opts, within)
        if code == "C" and vr not in DATE_VRS and kw not in _CODED and vr in _SPECIFIC_VRS:
            continue  # text an option cleans and keeps: its own words are no evidence, other values in it are
        if code in (None, "K") or kw in _CODED or vr not in _SPECIFIC_VRS:
            # an element that does not identify, or a coded value, a number, an age,
            # a time, binary data: what it holds is no evidence, in the output either
            plain[uid] = _plain_value(elem)
            if vr == "UI" and _names_a_thing(kw):
                other_uids.update(v.strip() for v in values_of(elem))
            elif vr in _TEXT_VRS:
                for v in values_of(elem):
                    other_words.update(w.lower() for w in _WORD.findall(v))
            continue
        values = values_of(elem)
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
        elif vr in DATE_VRS:
            for v in values:
                day = v.strip()[:8]
                if code == "C" and "safe-harbor" in opts and (year_of(v, vr) == v.strip() or year_of(day, "DA") == day):
                    continue  # its date is nothing but a year (YYYY0101, YYYY): what Safe Harbor keeps, and says nothing more
                for form in _date_forms(v):
                    add(f"{kind} (date)", form, uid, "date")
        elif any(w in kw for w in _PHONE_WORDS):
            for v in values:
                digits = NON_DIGITS.sub("", v)
                if len(digits) >= 7:
                    add(f"{kind} (digits)", digits, uid, "phone")
                _add_whole(add, kind, v, uid)
        elif vr in _SHORT_TEXT_VRS and (vr == "AE" or is_id_keyword(kw)):
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
