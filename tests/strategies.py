"""Hypothesis strategies for fuzzing deidlang (issue 6): recipes and DICOM datasets.

Recipes are built from the grammar (``grammar/deid.lark``, ``docs/language.md``):

* :func:`recipes` -- well-formed recipe text: a FORMAT line, ``%header`` (and
  ``%labels``) actions with every field expression form (keyword, nested name,
  the four tag spellings, private-creator tag, uid path, ``ALL``, every
  expander, ``fields:``/``values:`` references) and every value form (literal,
  quoted literal, ``var:``, ``func:``, ``deid_func:`` with arguments, value
  filters), ``%values``/``%fields`` groups (FIELD and SPLIT with options), and
  ``%filter`` groups whose LABEL blocks hold criterion lines (every predicate,
  ``+``/``||`` operators) and coordinates (boxes, ``all``, ``from:``). With
  ``strict=True`` only lines the checker should accept without an error are
  drawn (the fuzz tests hold the checker to that).
* :func:`mutated_recipes` -- a well-formed recipe with tokens deleted,
  duplicated, swapped, or hostile characters inserted.

Datasets (:func:`datasets`, :func:`dicom_files`):

* random public elements of every VR (valid values mostly; with
  ``invalid=True`` some values that violate their VR, stored raw as a file
  from the wild would hold them), sequences nested up to ``max_depth``,
  private blocks with creators (and private sequences), file meta and one of
  four transfer syntaxes and three character sets;
* :func:`dicom_files` turns a drawn dataset into the bytes of a DICOM file
  (what ``deidc run`` reads).

Nothing here imports deidlang's runtime: the strategies describe inputs only.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import string
import warnings
from typing import Any

from hypothesis import strategies as st
from pydicom.datadict import DicomDictionary, dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

__all__ = [
    "ALL_VRS",
    "KEYWORDS_BY_VR",
    "SEQUENCE_KEYWORDS",
    "GROUP_NAMES",
    "VAR_NAMES",
    "FUNC_NAMES",
    "field_expressions",
    "action_lines",
    "recipes",
    "mutated_recipes",
    "mutate",
    "value_for_vr",
    "invalid_text_for_vr",
    "datasets",
    "dicom_files",
    "to_bytes",
]

# =========================================================================== the dictionary

ALL_VRS = tuple("AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV".split())

#: Groups whose elements describe the encoding (file meta, items, delimiters) or
#: the character set: a random value there tests pydicom, not deidlang.
_SKIP_GROUPS = frozenset({0x0000, 0x0002, 0x0004, 0xFFFE, 0xFFFC})
_SKIP_TAGS = frozenset({0x00080005})  # SpecificCharacterSet: drawn on its own


def _public() -> dict[str, list[tuple[int, str]]]:
    """``VR -> [(tag, keyword)]`` for public, current, non-repeating elements."""
    out: dict[str, list[tuple[int, str]]] = {}
    for tag, (vr, _vm, _name, retired, keyword) in sorted(DicomDictionary.items()):
        if not keyword or retired or (tag >> 16) in _SKIP_GROUPS or tag in _SKIP_TAGS or not tag & 0xFFFF:
            continue
        if tag & 0xFFFF == 0 or (tag >> 16) in (0x7FE0,):
            continue
        vr = vr.split(" or ")[0]
        if vr not in ALL_VRS:
            continue
        out.setdefault(vr, []).append((tag, keyword))
    return out


PUBLIC = _public()
KEYWORDS_BY_VR: dict[str, list[str]] = {vr: [kw for _, kw in items] for vr, items in PUBLIC.items()}
SEQUENCE_KEYWORDS: list[str] = KEYWORDS_BY_VR["SQ"]

#: Keywords recipes and files have in common (so that generated recipes select
#: something in generated datasets and in pydicom's test files).
COMMON = [
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "PatientAddress",
    "OtherPatientIDs",
    "OtherPatientNames",
    "PatientComments",
    "ReferringPhysicianName",
    "InstitutionName",
    "InstitutionAddress",
    "StationName",
    "AccessionNumber",
    "StudyID",
    "StudyDate",
    "StudyTime",
    "SeriesDate",
    "AcquisitionDate",
    "ContentDate",
    "AcquisitionDateTime",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "SOPClassUID",
    "FrameOfReferenceUID",
    "StudyDescription",
    "SeriesDescription",
    "ImageComments",
    "DeviceSerialNumber",
    "OperatorsName",
    "PerformingPhysicianName",
    "Modality",
    "Manufacturer",
    "ManufacturerModelName",
    "ImageType",
    "Rows",
    "Columns",
    "InstanceNumber",
    "SeriesNumber",
    "SliceThickness",
    "PixelSpacing",
    "WindowCenter",
    "BurnedInAnnotation",
    "ReferencedImageSequence",
    "ReferencedSOPInstanceUID",
    "ReferencedSOPClassUID",
    "RequestAttributesSequence",
    "ContentSequence",
    "OtherPatientIDsSequence",
    "ReferencedStudySequence",
    "ProcedureCodeSequence",
    "CodeValue",
    "CodeMeaning",
    "PersonName",
    "TextValue",
    "DateTime",
    "Date",
    "MediaStorageSOPInstanceUID",
    "ImplementationVersionName",
    "SourceApplicationEntityTitle",
    "RETIRED_StudyComments",
    "ContentLabel",
    "PatientIdentityRemoved",
    "DeidentificationMethod",
    "SequenceOfUltrasoundRegions",
    "RegionLocationMinX0",
    "PixelData",
]
COMMON = [k for k in COMMON if tag_for_keyword(k) is not None]

#: Children that commonly sit in the sequences above.
SEQUENCE_CHILDREN = {
    "ReferencedImageSequence": ["ReferencedSOPClassUID", "ReferencedSOPInstanceUID", "ReferencedFrameNumber"],
    "RequestAttributesSequence": ["RequestedProcedureID", "ScheduledProcedureStepID", "ReasonForTheRequestedProcedure"],
    "ContentSequence": ["PersonName", "TextValue", "DateTime", "Date", "ConceptNameCodeSequence", "ContentSequence"],
    "OtherPatientIDsSequence": ["PatientID", "IssuerOfPatientID", "TypeOfPatientID"],
    "ReferencedStudySequence": ["ReferencedSOPClassUID", "ReferencedSOPInstanceUID"],
    "ProcedureCodeSequence": ["CodeValue", "CodingSchemeDesignator", "CodeMeaning"],
    "ConceptNameCodeSequence": ["CodeValue", "CodingSchemeDesignator", "CodeMeaning"],
    "SequenceOfUltrasoundRegions": ["RegionLocationMinX0", "RegionLocationMinY0", "RegionLocationMaxX1", "RegionLocationMaxY1"],
}

PRIVATE_GROUPS = (0x0009, 0x0011, 0x0019, 0x0029, 0x0033, 0x0043, 0x7FD1)
CREATORS = ("GEMS_ACQU_01", "SIEMENS CSA HEADER", "MITRA OBJECT UTF8 ATTRIBUTES 1.0", "ACME 1.1", "Philips Imaging DD 001", "x")

GROUP_NAMES = ("names", "ids", "dates", "uids")
VAR_NAMES = ("id", "new_name", "source_id", "day_shift", "missing_one")
FUNC_NAMES = ("new_uid", "constant", "boom", "none_value", "echo", "big_number")
FILTER_NAMES = ("blacklist", "graylist", "whitelist", "dose")


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


# =========================================================================== recipe pieces

_REGEX_ATOMS = ["Patient", "Date$", "^Study", "Name", "UID", "Instance", "Sequence", "[A-Z]+Time", "Code.*", "Ref", "x|y", "^$", r"\d"]
_VRS_FOR_SELECT = ("DA", "DT", "TM", "PN", "UI", "LO", "SH", "CS", "SQ", "US", "DS", "IS", "OB", "UN", "AS")
_SPACE = st.sampled_from([" ", " ", " ", "  ", "\t"])


def _case(word: str) -> st.SearchStrategy[str]:
    """The word as written, mostly; sometimes in another case (a warning, not an error)."""
    return st.sampled_from([word, word, word, word, word.lower(), word.upper()])


def keywords(strict: bool = True) -> st.SearchStrategy[str]:
    common = st.sampled_from(COMMON)
    anywhere = st.sampled_from([kw for kws in KEYWORDS_BY_VR.values() for kw in kws])
    options = [common, common, anywhere]
    if not strict:
        options.append(st.sampled_from(["PatientsName", "Modalty", "NotAKeyword", "patient_name", "X", "Patient'sName"]))
    return st.one_of(options)


def tag_spellings(tag: int) -> st.SearchStrategy[str]:
    g, e = tag >> 16, tag & 0xFFFF
    return st.sampled_from([f"({g:04X},{e:04X})", f"({g:04x},{e:04x})", f"{g:04X},{e:04X}", f"{g:04X}{e:04X}", f"0x{g:04X}{e:04X}", f"( {g:04X} , {e:04X} )"])


@st.composite
def tags(draw, strict: bool = True) -> str:
    kw = draw(st.sampled_from(COMMON))
    tag = tag_for_keyword(kw)
    if not strict and draw(st.booleans()):
        tag = draw(st.integers(0, 0xFFFFFFFF))
    return draw(tag_spellings(tag))


@st.composite
def private_tags(draw) -> str:
    group = draw(st.sampled_from(PRIVATE_GROUPS))
    creator = draw(st.sampled_from(CREATORS))
    low = draw(st.integers(0, 0xFF))
    paren = draw(st.booleans())
    text = f'{group:04X},"{creator}",{low:02X}'
    return f"({text})" if paren else text


@st.composite
def nested_names(draw) -> str:
    seq = draw(st.sampled_from(sorted(SEQUENCE_CHILDREN)))
    parts = [seq]
    for _ in range(draw(st.integers(1, 2))):
        child = draw(st.sampled_from(SEQUENCE_CHILDREN.get(parts[-1], COMMON)))
        parts.append(child)
        if child not in SEQUENCE_CHILDREN:
            break
    return "__".join(parts)


@st.composite
def uid_paths(draw) -> str:
    seq = draw(st.sampled_from(sorted(SEQUENCE_CHILDREN)))
    child = draw(st.sampled_from([c for c in SEQUENCE_CHILDREN[seq] if c not in SEQUENCE_CHILDREN] or SEQUENCE_CHILDREN[seq]))
    return f"{_tag_text(tag_for_keyword(seq))}__{draw(st.integers(0, 3))}__{_tag_text(tag_for_keyword(child))}"


@st.composite
def expanders(draw, strict: bool = True) -> str:
    kind = draw(st.sampled_from(["startswith", "endswith", "contains", "except", "select"]))
    if kind != "select":
        atom = draw(st.sampled_from(_REGEX_ATOMS + ([] if strict else ["(", "[a-", "*", "a{99999}", "(?i)id", "(a+)+$"])))
        return f"{kind}:{atom}"
    sub = draw(st.sampled_from(["VR", "group", "private", "creator"]))
    if sub == "VR":
        return f"select:VR:{draw(st.sampled_from(_VRS_FOR_SELECT))}"
    if sub == "group":
        return f"select:group:{draw(st.sampled_from(['0010', '0008', '0020', '10', '0009', '7FE0']))}"
    if sub == "private":
        return "select:private"
    creator = draw(st.sampled_from(CREATORS))
    return f'select:creator:"{creator}"' if " " in creator else f"select:creator:{creator}"


def field_expressions(*, groups: dict[str, list[str]] | None = None, strict: bool = True, for_action: str = "REMOVE") -> st.SearchStrategy[str]:
    """Every field-expression form of docs/language.md (for ADD: the ones ADD accepts)."""
    if for_action == "ADD":
        return st.one_of(st.sampled_from(_ADDABLE), st.sampled_from(_ADDABLE).map(lambda k: f"{tag_for_keyword(k):08X}"))
    options = [
        keywords(strict).flatmap(_case),
        nested_names(),
        tags(strict),
        private_tags(),
        uid_paths(),
        expanders(strict),
    ]
    if not (strict and for_action == "REPLACE"):  # REPLACE ALL meets sequences (E306-like crash under deid)
        options.append(st.sampled_from(["ALL", "all"]))
    if groups:
        refs = [f"{kind}:{name}" for kind, names in groups.items() for name in names]
        if refs:
            options.append(st.sampled_from(refs))
    elif not strict:
        options.append(st.sampled_from(["fields:nothing", "values:nothing"]))
    return st.one_of(options)


# ------------------------------------------------------------------ values

#: ADD targets with a literal their VR holds (checked: no E304/E305).
_ADD_VALUES = {
    "PatientIdentityRemoved": ["YES", "NO"],
    "DeidentificationMethod": ["deidlang fuzz", "BASIC"],
    "PatientName": ["ANONYMOUS", "Doe^John", "=^^^"],
    "PatientID": ["SUB-001", "0"],
    "StudyDate": ["20200101", "19000101"],
    "ContentLabel": ["FUZZ", "A_B"],
    "ImageComments": ["a comment with spaces", "é ü ß", "100% sure; 50\\50"],
    "Rows": ["512", "0", "65535"],
    "InstanceNumber": ["1", "-5", "2147483647"],
    "SliceThickness": ["1.5", "-0.25", "1e3"],
    "PixelSpacing": ["0.5\\0.5", "1\\2"],
    "StudyTime": ["120000", "235959.999"],
    "SeriesInstanceUID": ["1.2.3.4", "2.25.1"],
    "BurnedInAnnotation": ["NO", "YES"],
    "Manufacturer": ["ACME", "A B"],
}
_ADDABLE = [k for k in _ADD_VALUES if tag_for_keyword(k) is not None]
_LITERALS = ["ANONYMOUS", "REMOVED", "0", "1", "x y z", "20200101", "1.2.3", "a^b", "YES", "é", "100%", "a\\b"]


@st.composite
def deid_funcs(draw, action: str, strict: bool = True) -> str:
    if action == "KEEP":
        name = draw(st.sampled_from(["hashuid", "hashid", "dateshift", "dummy", "scrub"]))
    elif action == "ADD":
        name = draw(st.sampled_from(["code", "append", "suffix_uuid", "basic_uuid", "dicom_uuid"]))
    else:
        name = draw(
            st.sampled_from(["jitter", "dicom_uuid", "pydicom_uuid", "suffix_uuid", "basic_uuid", "hashuid", "hashid", "dateshift", "dummy", "scrub", "append"])
        )
    args = {
        "jitter": [("days", ["3", "-7", "0"]), ("years", ["1", "-2"])],
        "dicom_uuid": [("org_root", ["1.2.826.0.1.3680043.10.1234", "1.2.3"])],
        "pydicom_uuid": [("prefix", ["1.2.826.0.1.3680043.10.1234.", "none"]), ("stable_remapping", ["true", "false"])],
        "hashuid": [("prefix", ["1.2.826.0.1.3680043.10.1234.", "2.25."])],
        "hashid": [("length", ["8", "16", "64"]), ("prefix", ["SUB-", "P"])],
        "dateshift": [("max_days", ["1", "30", "365"]), ("patient", ["PatientID", "var:id", "PatientName"])],
        "code": [("value", ["113100", '"a b"']), ("scheme", ["DCM"]), ("meaning", ['"Basic Application Confidentiality Profile"', "X"])],
        "append": [("value", ["113100", '"two words"'])],
    }.get(name, [])
    parts = [f"deid_func:{name}"]
    for arg, choices in args:
        if name in ("code", "append") or draw(st.booleans()):
            parts.append(f"{arg}={draw(st.sampled_from(choices))}")
    if not strict and draw(st.booleans()):
        parts.append(draw(st.sampled_from(["bogus=1", "days=x", "length=3", "prefix=abc"])))
    return " ".join(parts)


@st.composite
def values(draw, action: str, field: str, *, groups: dict[str, list[str]], strict: bool = True) -> str | None:
    """A value that suits ``action`` on ``field`` (any value form)."""
    if action in ("BLANK",):
        return None
    if action == "KEEP":
        return draw(st.one_of(st.none(), st.none(), deid_funcs("KEEP", strict)))
    if action == "REMOVE":
        forms = [
            st.none(),
            st.none(),
            st.none(),
            st.sampled_from(["contains:Doe", "notcontains:^$", "equals:CT", "notequals:x", "startswith:1.2", "endswith:Z", "func:constant"]),
        ]
        if groups.get("values"):
            forms.append(st.sampled_from([f"values:{n}" for n in groups["values"]]))
        return draw(st.one_of(forms))
    if action == "JITTER":
        return draw(
            st.one_of(st.integers(-3650, 3650).map(lambda n: f"{n:+d}" if n and n % 3 == 0 else str(n)), st.just("var:day_shift"), st.just("func:big_number"))
        )
    if action == "ADD":
        literal = st.sampled_from(_ADD_VALUES.get(field, _ADD_VALUES.get(_keyword_of_tag_text(field), ["x"])))
        return draw(
            st.one_of(
                literal,
                literal,
                literal.map(lambda t: f'"{t}"'),
                st.sampled_from([f"var:{v}" for v in VAR_NAMES]),
                st.sampled_from([f"func:{f}" for f in FUNC_NAMES]),
                deid_funcs("ADD", strict),
            )
        )
    # REPLACE
    kw = field.split("__")[-1]
    literal_ok = not strict or _literal_free(kw)
    forms = [st.sampled_from([f"var:{v}" for v in VAR_NAMES]), st.sampled_from([f"func:{f}" for f in FUNC_NAMES]), deid_funcs("REPLACE", strict)]
    if literal_ok:
        forms += [st.sampled_from(_LITERALS), st.sampled_from(_LITERALS).map(lambda t: f'"{t}"')]
    return draw(st.one_of(forms))


def _keyword_of_tag_text(text: str) -> str:
    from pydicom.datadict import keyword_for_tag

    try:
        return keyword_for_tag(int(text[-8:], 16)) or ""
    except ValueError:
        return ""


def _literal_free(kw: str) -> bool:
    """A literal string can go to ``kw`` (a keyword in any case, or a tag) without a VR
    error from the checker."""
    tag = _KEYWORDS_LOWER.get(kw.lower())
    if tag is None:
        digits = re.sub(r"[^0-9A-Fa-f]", "", kw[2:] if kw[:2].lower() == "0x" else kw)
        tag = int(digits, 16) if len(digits) == 8 else None
    if tag is None or tag not in DicomDictionary:
        return True
    vr = dictionary_VR(tag)
    return not any(v in vr for v in ("US", "SS", "UL", "SL", "FL", "FD", "DS", "IS", "UV", "SV", "SQ"))


# ------------------------------------------------------------------ lines


@st.composite
def action_lines(draw, *, groups: dict[str, list[str]] | None = None, strict: bool = True) -> str:
    """One header action: ``ACTION FIELD [VALUE] [# comment]``."""
    groups = groups or {}
    action = draw(st.sampled_from(["ADD", "BLANK", "JITTER", "KEEP", "REMOVE", "REPLACE"]))
    verb = action if strict else draw(_case(action))
    if action == "JITTER":
        dates = st.sampled_from(_JITTER_FIELDS)
        field = draw(dates if strict else st.one_of(dates, field_expressions(groups=groups, strict=strict)))
    elif action == "REPLACE" and strict:
        field = draw(field_expressions(groups=groups, strict=strict, for_action="REPLACE").filter(_replaceable))
    else:
        field = draw(field_expressions(groups=groups, strict=strict, for_action=action))
    value = draw(values(action, field, groups=groups, strict=strict))
    line = f"{verb}{draw(_SPACE)}{field}" + (f"{draw(_SPACE)}{value}" if value is not None else "")
    if draw(st.integers(0, 9)) == 0:
        line += "  # a comment"
    return line


_JITTER_FIELDS = [
    "StudyDate",
    "SeriesDate",
    "AcquisitionDate",
    "ContentDate",
    "PatientBirthDate",
    "AcquisitionDateTime",
    "endswith:Date",
    "select:VR:DA",
    "ContentSequence__Date",
]


def _replaceable(field: str) -> bool:
    """REPLACE of a sequence is an error (E306): leave sequences out of strict recipes."""
    last = field.split("__")[-1]
    if last.lower() in _SEQUENCES_LOWER or last in ("ALL", "all"):
        return False
    if "select:VR:SQ" in field:
        return False
    if re.fullmatch(r"\(?[0-9A-Fa-fx ]+,?[0-9A-Fa-f ]+\)?", last):
        kw = _keyword_of_tag_text(re.sub(r"[^0-9A-Fa-f]", "", last)[-8:])
        return kw not in SEQUENCE_KEYWORDS
    return True


_KEYWORDS_LOWER = {entry[4].lower(): tag for tag, entry in DicomDictionary.items() if entry[4]}
_SEQUENCES_LOWER = frozenset(k.lower() for k in SEQUENCE_KEYWORDS)


@st.composite
def group_lines(draw, kind: str, strict: bool = True) -> str:
    if kind == "values" and draw(st.booleans()):
        field = draw(st.sampled_from(["PatientName", "OtherPatientNames", "ReferringPhysicianName", "PatientID", "InstitutionName"]))
        opts = []
        if draw(st.booleans()):
            opts.append("by=" + draw(st.sampled_from(["^", '"^"', "-", ".", "' '"])))
        if draw(st.booleans()):
            opts.append(f"minlength={draw(st.integers(0, 6))}")
        return f"SPLIT {field}" + (f" {';'.join(opts)}" if opts else "")
    field = draw(field_expressions(groups={}, strict=strict))
    return f"FIELD {field}"


_CRITERION_VALUES = ["CT", "MR", "DERIVED+SECONDARY", "SCREEN SAVE", "Dose Report", "^$", "GE", "YES", "512", "a||b", "x y"]


@st.composite
def criteria(draw) -> str:
    predicate = draw(st.sampled_from(["contains", "notcontains", "equals", "notequals", "missing", "present", "empty"]))
    field = draw(
        st.sampled_from(
            [
                "Modality",
                "ImageType",
                "Manufacturer",
                "SeriesDescription",
                "BurnedInAnnotation",
                "Rows",
                "PatientName",
                "ManufacturerModelName",
                "(0008,0060)",
                "StudyDate",
                "ReferencedImageSequence",
            ]
        )
    )
    if predicate in ("missing", "present", "empty"):
        return f"{predicate} {field}"
    return f"{predicate} {field} {draw(st.sampled_from(_CRITERION_VALUES))}"


@st.composite
def criterion_lines(draw, first: bool) -> str:
    parts = [draw(criteria())]
    for _ in range(draw(st.integers(0, 2))):
        parts.append(draw(st.sampled_from([" + ", " || "])))
        parts.append(draw(criteria()))
    lead = "" if first else draw(st.sampled_from(["", "+ ", "|| "]))
    return "  " + lead + "".join(parts)


@st.composite
def coordinate_lines(draw) -> str:
    keyword = draw(st.sampled_from(["coordinates", "keepcoordinates", "ctpcoordinates", "ctpkeepcoordinates"]))
    spec = draw(
        st.one_of(
            st.tuples(st.integers(0, 600), st.integers(0, 600), st.integers(1, 600), st.integers(1, 600)).map(
                lambda b: f"{b[0]},{b[1]},{b[0] + b[2]},{b[1] + b[3]}"
            ),
            st.just("all"),
            st.just("from:SequenceOfUltrasoundRegions"),
        )
    )
    return f"  {keyword} {spec}"


@st.composite
def label_blocks(draw) -> list[str]:
    name = draw(st.sampled_from(["CT Dose Series", "Burned In", "Screen # (CTP)", "x"]))
    lines = [f"LABEL {name}"]
    for i in range(draw(st.integers(1, 3))):
        lines.append(draw(criterion_lines(first=i == 0)))
    for _ in range(draw(st.integers(0, 2))):
        lines.append(draw(coordinate_lines()))
    return lines


# ------------------------------------------------------------------ recipes


@st.composite
def recipes(draw, *, strict: bool = True, max_actions: int = 12) -> str:
    """Well-formed recipe text. ``strict``: only lines without checker errors."""
    values_groups = draw(st.lists(st.sampled_from(GROUP_NAMES), max_size=2, unique=True))
    fields_groups = draw(st.lists(st.sampled_from(GROUP_NAMES), max_size=2, unique=True))
    groups = {"values": values_groups, "fields": fields_groups}
    out: list[str] = []
    if not strict or draw(st.integers(0, 9)):
        out.append("FORMAT dicom")
    out.append("")
    for name in values_groups:
        out.append(f"%values {name}")
        out += [draw(group_lines("values", strict)) for _ in range(draw(st.integers(1, 3)))]
    for name in fields_groups:
        out.append(f"%fields {name}")
        out += [draw(group_lines("fields", strict)) for _ in range(draw(st.integers(1, 3)))]
    if draw(st.booleans()):
        out.append("%labels")
        out.append("ADD ContentLabel FUZZ")
    out.append("%header")
    actions = draw(st.lists(action_lines(groups=groups, strict=strict), min_size=1, max_size=max_actions))
    if draw(st.booleans()) and len(actions) > 2:  # a second %header section (merged in order)
        cut = draw(st.integers(1, len(actions) - 1))
        actions = actions[:cut] + ["", "%header"] + actions[cut:]
    out += actions
    for name in draw(st.lists(st.sampled_from(FILTER_NAMES), max_size=2, unique=True)):
        out.append(f"%filter {name}")
        for _ in range(draw(st.integers(1, 2))):
            out += draw(label_blocks())
    # every group referenced must be defined; unused groups are only warnings
    newline = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    return newline.join(out) + draw(st.sampled_from(["", newline]))


_HOSTILE = list("%#+|:,\"'()=;^\\_ \t\n\r\x00é\u00a0\ufeff\u2028") + [
    "__",
    "||",
    "${",
    "\u202e",
    "var:",
    "func:",
    "deid_func:",
    "(0010,",
    '"x',
    "LABEL ",
    "%header\n",
]


def mutate(text: str, ops: list[tuple[str, int, int, str]]) -> str:
    """Apply token-level mutations to ``text`` (see :func:`mutated_recipes`)."""
    tokens = re.findall(r"\s+|[^\s]+", text)
    for op, i, j, ins in ops:
        if not tokens:
            tokens = [ins]
            continue
        i %= len(tokens)
        j %= len(tokens)
        if op == "delete":
            del tokens[i]
        elif op == "duplicate":
            tokens.insert(i, tokens[i])
        elif op == "swap":
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == "insert":
            token = tokens[i]
            k = j % (len(token) + 1)
            tokens[i] = token[:k] + ins + token[k:]
        elif op == "replace":
            tokens[i] = ins
    return "".join(tokens)


@st.composite
def mutated_recipes(draw, *, max_ops: int = 6) -> str:
    """A well-formed recipe with tokens deleted, duplicated, swapped, or characters inserted."""
    base = draw(recipes(strict=draw(st.booleans())))
    ops = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["delete", "duplicate", "swap", "insert", "insert", "replace"]),
                st.integers(0, 10_000),
                st.integers(0, 10_000),
                st.one_of(st.sampled_from(_HOSTILE), st.text(max_size=3)),
            ),
            min_size=1,
            max_size=max_ops,
        )
    )
    return mutate(base, ops)


# =========================================================================== datasets

_ASCII_PRINT = "".join(c for c in string.printable if c not in "\\\r\n\t\x0b\x0c")
_CS_CHARS = string.ascii_uppercase + string.digits + " _"
_UNICODE = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\\^=")


def _text(max_size: int, unicode: bool, alphabet: str = _ASCII_PRINT, allow_backslash: bool = False) -> st.SearchStrategy[str]:
    chars = st.sampled_from(alphabet + ("\\" if allow_backslash else ""))
    if unicode:
        chars = st.one_of(chars, _UNICODE)
    return st.text(chars, max_size=max_size).map(lambda s: s.strip())


def _word(max_size: int) -> st.SearchStrategy[str]:
    """Non-empty ASCII text that starts and ends with a visible character."""
    visible = _ASCII_PRINT.replace(" ", "")
    return st.tuples(st.sampled_from(visible), _text(max_size - 1, False)).map(lambda t: t[0] + t[1])


def _multi(single: st.SearchStrategy[str], vm: bool) -> st.SearchStrategy[str]:
    if not vm:
        return single
    return st.lists(single, min_size=1, max_size=3).map("\\".join)


_DATES = st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31))
_TIMES = st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59), st.integers(0, 999_999), st.integers(0, 3))


def _tm(t: tuple) -> str:
    h, m, s, f, form = t
    return [f"{h:02d}", f"{h:02d}{m:02d}", f"{h:02d}{m:02d}{s:02d}", f"{h:02d}{m:02d}{s:02d}.{f:06d}"][form]


def _uid() -> st.SearchStrategy[str]:
    comp = st.one_of(st.just("0"), st.integers(1, 10**12).map(str))
    return st.lists(comp, min_size=2, max_size=8).map(".".join).filter(lambda u: len(u) <= 64)


def _ds_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-(10**9), 10**9).map(str),
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False).map(lambda f: f"{f:.6g}"),
        st.sampled_from(["0", "-0.5", "1e-3", "+2.5", " 3.25"]),
    ).filter(lambda s: len(s.strip()) <= 16)


def _pn(unicode: bool) -> st.SearchStrategy[str]:
    part = _text(12, unicode, _ASCII_PRINT.replace("^", "").replace("=", ""))
    one = st.lists(part, min_size=1, max_size=5).map("^".join)
    return st.one_of(one, st.tuples(one, one).map("=".join))


def value_for_vr(vr: str, *, unicode: bool = False, vm: bool = False) -> st.SearchStrategy[Any]:
    """A valid value for ``vr`` (as pydicom accepts it in a new element)."""
    if vr == "AE":
        return _multi(_text(16, False), vm)
    if vr == "AS":
        return st.tuples(st.integers(0, 999), st.sampled_from("DWMY")).map(lambda t: f"{t[0]:03d}{t[1]}")
    if vr == "AT":
        return st.integers(0, 0xFFFFFFFF)
    if vr == "CS":
        return _multi(_text(16, False, _CS_CHARS), vm)
    if vr == "DA":
        return _multi(_DATES.map(lambda d: d.strftime("%Y%m%d")), vm)
    if vr == "DS":
        return _multi(_ds_text(), vm)
    if vr == "DT":
        return st.tuples(_DATES, _TIMES, st.sampled_from(["", "+0100", "-0500", "+0000"])).map(lambda t: t[0].strftime("%Y%m%d") + _tm(t[1]) + t[2])
    if vr in ("FL", "FD"):
        number = st.floats(width=32 if vr == "FL" else 64, allow_nan=True, allow_infinity=True)
        return st.lists(number, min_size=1, max_size=3) if vm else number
    if vr == "IS":
        return _multi(st.integers(-(2**31), 2**31 - 1).map(str), vm)
    if vr == "LO":
        return _multi(_text(64, unicode), vm)
    if vr == "LT":
        return _text(400, unicode, _ASCII_PRINT + "\r\n", allow_backslash=True)
    if vr in ("OB", "UN"):
        return st.binary(max_size=64).map(lambda b: b + b"\0" if len(b) % 2 else b)
    if vr == "OW":
        return st.binary(max_size=32).map(lambda b: b[: len(b) // 2 * 2])
    if vr in ("OF", "OL"):
        return st.binary(max_size=32).map(lambda b: b[: len(b) // 4 * 4])
    if vr in ("OD", "OV"):
        return st.binary(max_size=32).map(lambda b: b[: len(b) // 8 * 8])
    if vr == "PN":
        return _multi(_pn(unicode), vm)
    if vr == "SH":
        return _multi(_text(16, unicode), vm)
    if vr == "ST":
        return _text(200, unicode, _ASCII_PRINT + "\r\n", allow_backslash=True)
    if vr == "TM":
        return _multi(_TIMES.map(_tm), vm)
    if vr == "UC":
        return _multi(_text(80, unicode), vm)
    if vr == "UI":
        return _multi(_uid(), vm)
    if vr == "UR":
        return st.sampled_from(["http://example.com/a b", "urn:oid:1.2.3", "", "https://x.org/?q=1&r=2"])
    if vr == "UT":
        return _text(400, unicode, _ASCII_PRINT + "\r\n", allow_backslash=True)
    ranges = {
        "SS": (-(2**15), 2**15 - 1),
        "US": (0, 2**16 - 1),
        "SL": (-(2**31), 2**31 - 1),
        "UL": (0, 2**32 - 1),
        "SV": (-(2**63), 2**63 - 1),
        "UV": (0, 2**64 - 1),
    }
    if vr in ranges:
        low, high = ranges[vr]
        number = st.integers(low, high)
        return st.lists(number, min_size=1, max_size=3) if vm else number
    raise ValueError(f"no strategy for VR {vr}")


#: Values that violate their VR, as bytes a file from the wild may hold (stored raw).
_INVALID_TEXT = {
    "DA": [b"20231301", b"2023-01-01", b"1", b"99999999", b"20230230"],
    "DT": [b"2023130125", b"x", b"20230101256161"],
    "TM": [b"256199", b"12:00", b"ab"],
    "IS": [b"12a ", b"1.5 ", b"99999999999 ", b"--1 "],
    "DS": [b"abc ", b"1,5 ", b"12345678901234567890", b"nan ", b"inf "],
    "CS": [b"lower case", b"WAY TOO LONG FOR A CS VALUE ", b"A\x01B "],
    "AS": [b"12Y ", b"ABCD", b"1000"],
    "UI": [b"1.2.abc\0", b"01.02\0", b"1." + b"9" * 80],
    "AE": [b"THIS AE TITLE IS TOO LONG ", b"A\\B "],
    "SH": [b"x" * 40, b"\xff\xfe "],
    "LO": [b"\xc3\x28", b"y" * 90],
    "PN": [b"a^b^c^d^e^f^g ", b"=\xff= "],
    "US": [b"\x01\x02\x03\x04\x05\x06", b"\x01\x02\x03\x00"],
    "UL": [b"\x01\x02\x03\x04\x05\x06\x07\x08", b"\x01\x02"],
    "FD": [b"\x00" * 4, b"\xff" * 8],
}


def invalid_text_for_vr(vr: str) -> st.SearchStrategy[bytes]:
    choices = _INVALID_TEXT.get(vr)
    if not choices:
        return st.nothing()
    data = st.sampled_from(choices)
    return data.map(lambda b: b + b" " if len(b) % 2 else b)


@st.composite
def _elements(draw, d: Dataset, *, depth: int, unicode: bool, invalid: bool, raw_ok: bool, max_elements: int) -> None:
    """Fill ``d`` with random public elements, sequences and private blocks."""
    n = draw(st.integers(0, max_elements))
    for _ in range(n):
        vr = draw(st.sampled_from(ALL_VRS))
        if vr == "SQ" and depth <= 0:
            vr = "LO"
        if vr == "UN":
            tag, kw = draw(st.sampled_from(PUBLIC["LO"]))  # a public element stored as UN (read without its VR)
        else:
            tag, kw = draw(st.sampled_from(COMMON_BY_VR.get(vr) or PUBLIC[vr]) if draw(st.booleans()) else st.sampled_from(PUBLIC[vr]))
        if vr == "SQ":
            items = []
            for _ in range(draw(st.integers(0, 2))):
                item = Dataset()
                draw(_elements(item, depth=depth - 1, unicode=unicode, invalid=invalid, raw_ok=raw_ok, max_elements=max(2, max_elements // 2)))
                items.append(item)
            d.add_new(tag, "SQ", Sequence(items))
            continue
        if invalid and raw_ok and vr in _INVALID_TEXT and draw(st.integers(0, 4)) == 0:
            data = draw(invalid_text_for_vr(vr))
            d._dict[Tag(tag)] = RawDataElement(Tag(tag), vr, len(data), data, 0, False, True)
            continue
        vm = draw(st.integers(0, 5)) == 0 and _multi_ok(tag)
        value = draw(value_for_vr(vr, unicode=unicode, vm=vm))
        if draw(st.integers(0, 12)) == 0:
            value = None if vr != "AT" else None  # an empty element
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d.add_new(tag, vr, value)
    # a private block, now and then (with a private sequence now and then)
    if draw(st.integers(0, 2)) == 0:
        group = draw(st.sampled_from(PRIVATE_GROUPS))
        creator = draw(st.one_of(st.sampled_from(CREATORS), _word(20)))
        try:
            block = d.private_block(group, creator, create=True)
        except (ValueError, KeyError):
            return
        for low in draw(st.lists(st.integers(0, 0xFF), max_size=4, unique=True)):
            vr = draw(st.sampled_from(ALL_VRS))
            if vr == "SQ":
                if depth <= 0:
                    continue
                item = Dataset()
                draw(_elements(item, depth=depth - 1, unicode=unicode, invalid=invalid, raw_ok=raw_ok, max_elements=3))
                block.add_new(low, "SQ", Sequence([item]))
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                block.add_new(low, vr, draw(value_for_vr(vr, unicode=unicode)))


COMMON_BY_VR: dict[str, list[tuple[int, str]]] = {}
for _kw in COMMON:
    _tag = tag_for_keyword(_kw)
    _vr = dictionary_VR(_tag).split(" or ")[0]
    if (_tag >> 16) not in _SKIP_GROUPS and (_tag >> 16) != 0x7FE0:
        COMMON_BY_VR.setdefault(_vr, []).append((_tag, _kw))


def _multi_ok(tag: int) -> bool:
    vm = DicomDictionary.get(tag, ("", "1"))[1]
    return vm not in ("1", "")


TRANSFER_SYNTAXES = (ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian)
CHARSETS = (None, "ISO_IR 100", "ISO_IR 192")


@st.composite
def datasets(draw, *, max_depth: int = 3, max_elements: int = 14, invalid: bool = True, file_meta: bool = True) -> Dataset:
    """A random dataset: elements of every VR, nested sequences (up to ``max_depth``),
    private blocks, a character set and file meta (``ds.file_meta``, with the transfer
    syntax the file is to be written with)."""
    syntax = draw(st.sampled_from(TRANSFER_SYNTAXES))
    charset = draw(st.sampled_from(CHARSETS))
    ds = Dataset()
    if charset:
        ds.SpecificCharacterSet = charset
    if draw(st.integers(0, 3)):
        ds.SOPClassUID = draw(st.sampled_from(["1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.88.22"]))
        ds.SOPInstanceUID = draw(_uid())
    else:  # never an empty data set (a file of file meta alone is a damaged file, tested elsewhere)
        ds.StudyDescription = draw(_text(64, False))
    if draw(st.booleans()):
        ds.PatientName = draw(_pn(charset == "ISO_IR 192"))
        ds.PatientID = draw(_word(16))
    # Raw (invalid) values only in little-endian explicit files, where their bytes mean what they say.
    raw_ok = syntax in (ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian)
    draw(_elements(ds, depth=max_depth, unicode=charset == "ISO_IR 192", invalid=invalid, raw_ok=raw_ok, max_elements=max_elements))
    if raw_ok:
        for tag, elem in list(ds._dict.items()):
            if isinstance(elem, RawDataElement):
                ds._dict[tag] = elem._replace(is_implicit_VR=False, is_little_endian=True)
    if file_meta:
        meta = FileMetaDataset()
        with warnings.catch_warnings():  # reading a raw (possibly invalid) UID warns
            warnings.simplefilter("ignore")
            meta.MediaStorageSOPClassUID = str(ds.get("SOPClassUID") or "1.2.840.10008.5.1.4.1.1.7")
            meta.MediaStorageSOPInstanceUID = str(ds.get("SOPInstanceUID") or "1.2.3.4")
        meta.TransferSyntaxUID = syntax
        if draw(st.booleans()):
            meta.ImplementationVersionName = draw(_text(16, False))
        if draw(st.integers(0, 3)) == 0:
            meta.SourceApplicationEntityTitle = draw(_text(16, False))
        ds.file_meta = meta
    return ds


def to_bytes(ds: Dataset) -> bytes | None:
    """The DICOM file ``ds`` makes (preamble, file meta, its transfer syntax), or None when
    pydicom cannot write it (the caller rejects such a draw)."""
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds.preamble = b"\0" * 128
            ds.save_as(buffer, enforce_file_format=False)
    except Exception:  # noqa: BLE001 - an unwritable draw (e.g. text the character set cannot encode)
        return None
    return buffer.getvalue()


@st.composite
def dicom_files(draw, **kwargs: Any) -> bytes:
    """The bytes of a random DICOM file (see :func:`datasets`)."""
    ds = draw(datasets(**kwargs))
    data = to_bytes(ds)
    if data is None:
        from hypothesis import reject

        reject()
    return data
