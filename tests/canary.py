"""The canary corpus: DICOM files in which every element carries a unique marker.

A marker is a value that occurs nowhere else in the corpus, so finding it in
an output says exactly which element of which input it came from:

* text VRs (AE CS LO LT PN SH ST UC UR UT) carry ``QZX`` + five digits (PN
  one per name part; UR as ``urn:QZX...``);
* dates (DA, DT) carry unique dates, UIDs (UI) unique UIDs, decimal and
  integer strings (DS, IS) unique numbers, all searchable in the file bytes;
* binary VRs (OB OD OF OL OV OW UN) carry the bytes of a text marker;
* numbers stored in binary (FL FD SL SS SV UL US UV), tags (AT), ages (AS)
  and times (TM) carry unique values that are compared element by element
  (their bytes are too short to search for in a file).

Each file holds: ``PER_VR`` public elements of every VR pydicom's dictionary
knows (spread over the dictionary), every keyword the given recipe names
(so the elements a profile handles are all there), sequences (the recipe's
and a few common ones) whose items hold markers of several VRs, a sequence
nested two deep, a private block with an element of every VR (and a value
in UTF-16), a private sequence, and a private block inside every sequence
item; private creators carry markers too. File meta and SOPClassUID are
real (the file must stay a readable CT image object). Odd-numbered files
are Explicit VR Little Endian; even-numbered ones Implicit VR Little Endian
with ISO_IR 192.

With ``plant=True``, each file also carries copies of its own identifying
values in the places a leak hides (:func:`plant_leaks`): at top level, three
sequences deep, in private elements, as one value of a multi-valued element,
with a name's components swapped or split, and dates inside DT values and in
free text. ``corpus.planted`` lists them (what was copied from where to where),
so a test can ask that ``deidc verify`` finds every one.

Public API::

    corpus = build_corpus(directory, keywords=recipe_keywords(text), files=2, plant=False)
    corpus.markers        # every Marker: value, home file, element (deid uid path), VR, strength
    corpus.strong_texts   # markers searchable as text in file bytes
    corpus.planted        # every Planted copy (with plant=True)
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Iterable

import attrs
from pydicom.datadict import DicomDictionary, dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

__all__ = [
    "Marker",
    "Planted",
    "Corpus",
    "build_corpus",
    "recipe_keywords",
    "ALL_VRS",
    "element_texts",
    "element_values",
    "walk",
    "find_markers",
    "identifying",
    "expected_leaks",
]

ALL_VRS = "AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV".split()
PER_VR = 3
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
UID_ROOT = "1.2.826.0.1.3680043.10.1007."

# Elements that describe the encoding or the pixels: a marker there would make the
# file unreadable rather than test the recipe.
_EXCLUDED_TAGS = frozenset(
    {0x00080005, 0x00080016, 0x00280002, 0x00280004, 0x00280010, 0x00280011, 0x00280100, 0x00280101, 0x00280102, 0x00280103, 0x00280006, 0x00280008}
)
_EXCLUDED_GROUPS = frozenset({0x0000, 0x0002, 0x0004, 0x7FE0, 0xFFFE, 0xFFFC})
_ALWAYS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientAddress",
    "PatientTelephoneNumbers",
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
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "FrameOfReferenceUID",
    "StudyDescription",
    "SeriesDescription",
    "ImageComments",
    "DeviceSerialNumber",
    "OperatorsName",
    "PerformingPhysicianName",
    "AcquisitionDateTime",
    "PatientAge",
)
_SEQUENCES = ("ReferencedImageSequence", "OtherPatientIDsSequence", "RequestAttributesSequence", "ContentSequence")


@attrs.frozen
class Marker:
    """A unique value placed at one element of one file.

    ``strong``: the marker's text can be searched for in file bytes;
    otherwise only element values are compared (``value`` is then the
    element value itself, a number, tag or short string).
    """

    text: str
    file: str  # file name in the corpus directory
    element: str  # deid uid path where it was placed
    vr: str
    strong: bool
    value: object = None


@attrs.frozen
class Planted:
    """A copy of an identifying value of a file, put somewhere else in the same file."""

    file: str
    element: str  # deid uid path where the copy is
    source: str  # deid uid path of the element the value was copied from
    text: str  # the copied value as written there
    how: str  # where a leak hides: "top level", "nested three deep", "private", ...


@attrs.define
class Corpus:
    directory: Path
    files: list[str] = attrs.Factory(list)
    markers: list[Marker] = attrs.Factory(list)
    planted: list[Planted] = attrs.Factory(list)

    @property
    def strong_texts(self) -> dict[str, list[Marker]]:
        """Searchable marker texts and where they were put (one place each, except
        SOPInstanceUID, which the file meta repeats)."""
        out: dict[str, list[Marker]] = {}
        for m in self.markers:
            if m.strong:
                out.setdefault(m.text, []).append(m)
        return out

    def weak(self) -> dict[tuple[str, object], list[Marker]]:
        out: dict[tuple[str, object], list[Marker]] = {}
        for m in self.markers:
            if not m.strong:
                out.setdefault((m.vr, _norm(m.value)), []).append(m)
        return out


def _norm(value: object) -> object:
    if isinstance(value, float):
        return round(value, 3)
    return value


def recipe_keywords(text: str) -> list[str]:
    """Every DICOM keyword a recipe's text names (tags written as numbers included)."""
    found: dict[str, None] = {}
    for word in re.findall(r"[A-Za-z][A-Za-z0-9]+", text):
        if tag_for_keyword(word) is not None:
            found[word] = None
    for g, e in re.findall(r"\(?\b([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\b\)?", text):
        kw = keyword_for_tag((int(g, 16) << 16) | int(e, 16))
        if kw:
            found[kw] = None
    return list(found)


class _Counter:
    def __init__(self, start: int) -> None:
        self.n = start

    def next(self) -> int:
        self.n += 1
        return self.n


class _Builder:
    """Builds one file's dataset and records its markers."""

    def __init__(self, file: str, counter: _Counter, corpus: Corpus):
        self.file = file
        self.counter = counter
        self.corpus = corpus

    def _mark(self, text: str, uid: str, vr: str, strong: bool, value: object = None) -> None:
        self.corpus.markers.append(Marker(text, self.file, uid, vr, strong, value))

    def token(self) -> str:
        return f"QZX{self.counter.next():05d}"

    def value_for(self, vr: str, uid: str) -> object:
        """A unique value for an element of ``vr`` at ``uid`` (recorded as a marker)."""
        n = self.counter.next()
        if vr in ("AE", "CS", "LO", "SH", "UC"):
            text = f"QZX{n:05d}"
            self._mark(text, uid, vr, True)
            return text
        if vr in ("LT", "ST", "UT"):
            text = f"QZX{n:05d}"
            self._mark(text, uid, vr, True)
            return f"{text}."
        if vr == "UR":
            text = f"QZX{n:05d}"
            self._mark(text, uid, vr, True)
            return f"urn:{text}"
        if vr == "PN":
            family, given = f"QZX{n:05d}", self.token()
            self._mark(family, uid, vr, True)
            self._mark(given, uid, vr, True)
            return f"{family}^{given}"
        if vr == "DA":
            text = (dt.date(1901, 1, 1) + dt.timedelta(days=n)).strftime("%Y%m%d")
            self._mark(text, uid, vr, True)
            return text
        if vr == "DT":
            day = (dt.date(1901, 1, 1) + dt.timedelta(days=n)).strftime("%Y%m%d")
            self._mark(day, uid, vr, True)
            return f"{day}101010"
        if vr == "TM":
            value = f"{(n // 3600) % 24:02d}{(n // 60) % 60:02d}{n % 60:02d}"
            self._mark(value, uid, vr, False, value)
            return value
        if vr == "UI":
            text = f"{UID_ROOT}{100000 + n}"
            self._mark(text, uid, vr, True)
            return text
        if vr == "DS":
            text = f"7713{n:05d}.25"
            self._mark(text, uid, vr, True)
            return text
        if vr == "IS":
            text = f"7714{n:05d}"
            self._mark(text, uid, vr, True)
            return text
        if vr == "AS":
            value = f"{n % 1000:03d}D"
            self._mark(value, uid, vr, False, value)
            return value
        if vr in ("OB", "OD", "OF", "OL", "OV", "OW", "UN"):
            text = f"QZX{n:05d}"
            self._mark(text, uid, vr, True)
            return text.encode("ascii")  # 8 bytes: a whole number of values of every binary VR
        if vr == "AT":
            value = 0x77770000 + n
            self._mark(str(value), uid, vr, False, value)
            return value
        if vr in ("FL", "FD"):
            value = 700000 + n + 0.25
            self._mark(str(value), uid, vr, False, value)
            return value
        if vr in ("US", "SS"):
            value = 20000 + n % 12000
            self._mark(str(value), uid, vr, False, value)
            return value
        if vr in ("UL", "SL"):
            value = 77160000 + n
            self._mark(str(value), uid, vr, False, value)
            return value
        if vr in ("UV", "SV"):
            value = 7717000000 + n
            self._mark(str(value), uid, vr, False, value)
            return value
        raise ValueError(f"no marker for VR {vr}")

    def put(self, d: Dataset, tag: int, vr: str, uid_prefix: str) -> None:
        uid = f"{uid_prefix}({tag >> 16:04X},{tag & 0xFFFF:04X})"
        d.add_new(tag, vr, self.value_for(vr, uid))

    def item(self, uid_prefix: str, depth: int) -> Dataset:
        """A sequence item with markers of several VRs, a private block, and (while
        ``depth`` allows) a nested sequence."""
        item = Dataset()
        for kw in ("PersonName", "CodeValue", "CodeMeaning", "ReferencedSOPInstanceUID", "Date", "TextValue", "PatientID", "DateTime"):
            tag = tag_for_keyword(kw)
            assert tag is not None
            self.put(item, tag, dictionary_VR(tag), uid_prefix)
        creator = f"{self.token()} NESTED"
        self._mark(creator.split()[0], f"{uid_prefix}(0011,0010)", "LO", True)
        block = item.private_block(0x0011, creator, create=True)
        block.add_new(0x01, "LO", self.value_for("LO", f"{uid_prefix}(0011,1001)"))
        if depth > 0:
            tag = tag_for_keyword("ContentSequence")
            seq_uid = f"{uid_prefix}(0040,A730)"
            item.add_new(tag, "SQ", Sequence([self.item(f"{seq_uid}__0__", depth - 1)]))
        return item

    def sequence(self, d: Dataset, tag: int, uid_prefix: str = "", depth: int = 1, items: int = 1) -> None:
        seq_uid = f"{uid_prefix}({tag >> 16:04X},{tag & 0xFFFF:04X})"
        d.add_new(tag, "SQ", Sequence([self.item(f"{seq_uid}__{i}__", depth) for i in range(items)]))


def _spread(vr: str, k: int) -> list[int]:
    """``k`` public tags of exactly this VR, spread over the dictionary (deterministic)."""
    tags = sorted(
        t
        for t, entry in DicomDictionary.items()
        if entry[0] == vr and entry[4] and (t >> 16) not in _EXCLUDED_GROUPS and t & 0xFFFF and t not in _EXCLUDED_TAGS
    )
    if not tags:
        return []
    step = max(1, len(tags) // k)
    return tags[::step][:k]


def _dataset(builder: _Builder, keywords: Iterable[str], *, charset: str | None) -> FileDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = "1.2.826.0.1.3680043.10.1007.1"
    ds = FileDataset(builder.file, Dataset(), file_meta=meta, preamble=b"\0" * 128)
    if charset:
        ds.SpecificCharacterSet = charset
    ds.SOPClassUID = CT_IMAGE_STORAGE
    wanted: dict[int, str] = {}
    for vr in ALL_VRS:
        if vr == "SQ":
            continue
        for tag in _spread(vr, PER_VR):
            wanted[tag] = vr
    for kw in list(_ALWAYS) + list(keywords):
        tag = tag_for_keyword(kw)
        if tag is None or (tag >> 16) in _EXCLUDED_GROUPS or tag in _EXCLUDED_TAGS:
            continue
        vr = dictionary_VR(tag)
        if " or " in vr:
            vr = vr.split(" or ")[0]
        if vr in ("NONE",):
            continue
        wanted[tag] = vr
    for kw in _SEQUENCES:
        wanted[tag_for_keyword(kw)] = "SQ"
    for tag in sorted(wanted):
        vr = wanted[tag]
        if vr == "SQ":
            builder.sequence(ds, tag, depth=1 if tag == tag_for_keyword("ContentSequence") else 0)
        else:
            builder.put(ds, tag, vr, "")
    # SOPInstanceUID in the file meta must match the dataset's.
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    builder.corpus.markers.append(Marker(str(ds.SOPInstanceUID), builder.file, "(0002,0003)", "UI", True))
    # a private block with one element of every VR that can be private
    creator = f"{builder.token()} CANARY"  # creators are values too: they carry a marker
    builder._mark(creator.split()[0], "(0009,0010)", "LO", True)
    block = ds.private_block(0x0009, creator, create=True)
    for i, vr in enumerate(v for v in ALL_VRS if v != "SQ"):
        low = 0x10 + i
        uid = f"(0009,10{low:02X})"
        block.add_new(low, vr, builder.value_for(vr, uid))
    seq_tag = block.get_tag(0x80)
    ds.add_new(seq_tag, "SQ", Sequence([builder.item("(0009,1080)__0__", 0)]))
    # a value in UTF-16 inside a private blob
    token = builder.token()
    builder._mark(token, "(0009,1081)", "OB", True)
    block.add_new(0x81, "OB", token.encode("utf-16-le"))
    return ds


def build_corpus(directory: str | os.PathLike, *, keywords: Iterable[str] = (), files: int = 2, plant: bool = False) -> Corpus:
    """Write ``files`` canary files into ``directory`` (the second one Implicit VR Little
    Endian with ISO_IR 192): every marker unique across the corpus. ``plant``: also
    copy each file's identifying values elsewhere in it (:func:`plant_leaks`)."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(root)
    counter = _Counter(0)
    keywords = list(keywords)
    for i in range(files):
        name = f"canary-{i + 1:02d}.dcm"
        builder = _Builder(name, counter, corpus)
        ds = _dataset(builder, keywords, charset="ISO_IR 192" if i % 2 else None)
        if i % 2:
            ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        if plant:
            corpus.planted += plant_leaks(ds, name)
        ds.save_as(root / name, enforce_file_format=True)
        corpus.files.append(name)
    return corpus


# --------------------------------------------------------------------------- planted leaks

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
PLANTED_PRIVATE = 0x0013  # the group of the private block that holds planted copies
PLANTED_CREATOR = "PLANTED"


def plant_leaks(ds: Dataset, file: str) -> list[Planted]:
    """Copy the identifying values of ``ds`` (its patient's name, ID and study date:
    markers) to the places a leak hides; return what was put where.

    * top level: the patient ID at the end of ImageComments;
    * nested three deep: the patient's name (PersonName), family name (TextValue) and
      study date (DateTime) in RequestAttributesSequence > ScheduledProtocolCodeSequence >
      ProtocolContextSequence, with a private element there too;
    * private: a private block (group 0013) whose elements hold the name parts in
      free text, the patient ID, and the study date;
    * multi-valued: the patient ID as the second value of OtherPatientIDs and of a
      private LO;
    * name components: OtherPatientNames gets the name with its components swapped,
      PatientComments the given name alone;
    * dates: the study date inside DT values (a private DT, the nested DateTime) and in
      free text written DD.MM.YYYY, YYYY-MM-DD and "Month D, YYYY".
    """
    family, given = str(ds.PatientName).split("^")[:2]
    pid = str(ds.PatientID)
    day = str(ds.StudyDate)
    when = dt.date(int(day[:4]), int(day[4:6]), int(day[6:8]))
    dotted, iso, worded = f"{day[6:8]}.{day[4:6]}.{day[:4]}", when.isoformat(), f"{_MONTHS[when.month - 1]} {when.day}, {when.year}"
    name_at, id_at, date_at = "(0010,0010)", "(0010,0020)", "(0008,0020)"
    planted: list[Planted] = []

    def note(element: str, source: str, text: str, how: str) -> None:
        planted.append(Planted(file, element, source, text, how))

    # top level, and a date in free text
    ds.ImageComments = f"{ds.ImageComments} id {pid} scanned {dotted}"
    note("(0020,4000)", id_at, pid, "top level")
    note("(0020,4000)", date_at, dotted, "date in free text")
    # nested three deep
    chain = "(0040,0275)__0__(0040,0008)__0__(0040,0440)__0__"
    deep = Dataset()
    deep.PersonName = str(ds.PatientName)
    deep.TextValue = f"reviewed with {family}"
    deep.DateTime = f"{day}101010"
    deep.private_block(PLANTED_PRIVATE, PLANTED_CREATOR, create=True).add_new(0x01, "LO", pid)
    middle = Dataset()
    middle.ProtocolContextSequence = Sequence([deep])
    ds.RequestAttributesSequence[0].ScheduledProtocolCodeSequence = Sequence([middle])
    note(chain + "(0040,A123)", name_at, family, "nested three deep")
    note(chain + "(0040,A160)", name_at, family, "nested three deep")
    note(chain + "(0040,A120)", date_at, day, "date in DT")
    note(chain + f"({PLANTED_PRIVATE:04X},1001)", id_at, pid, "nested three deep, private")
    # private, multi-valued, dates
    block = ds.private_block(PLANTED_PRIVATE, PLANTED_CREATOR, create=True)
    block.add_new(0x01, "LT", f"Seen by {given} {family} today")
    block.add_new(0x02, "LO", ["first", pid, "third"])
    block.add_new(0x03, "DT", f"{day}0930")
    block.add_new(0x04, "UT", f"study of {iso}")
    private = f"({PLANTED_PRIVATE:04X},10"
    note(private + "01)", name_at, given, "private")
    note(private + "01)", name_at, family, "private")
    note(private + "02)", id_at, pid, "private, multi-valued")
    note(private + "03)", date_at, day, "date in DT, private")
    note(private + "04)", date_at, iso, "date in free text, private")
    ds.OtherPatientIDs = [str(ds.OtherPatientIDs), pid]
    note("(0010,1000)", id_at, pid, "multi-valued")
    # a name's components swapped, or apart
    ds.OtherPatientNames = [str(ds.OtherPatientNames), f"{given}^{family}"]
    note("(0010,1001)", name_at, family, "name components swapped")
    note("(0010,1001)", name_at, given, "name components swapped")
    ds.PatientComments = f"{ds.PatientComments} {given} came on {worded}"
    note("(0010,4000)", name_at, given, "name component alone")
    note("(0010,4000)", date_at, worded, "date in free text")
    return planted


# --------------------------------------------------------------------------- searching outputs

#: Every shape a searchable marker can take (checked against the corpus's markers after a
#: match: one pass over a text, whatever the number of markers).
MARKER_SHAPE = re.compile(
    r"(?<![0-9])(?:QZX\d{5}|" + re.escape(UID_ROOT) + r"\d+|7713\d{5}\.25|7714\d{5}(?![0-9])"
    r"|\d{8}(?:(?![0-9])|(?=101010(?![0-9]))))"
)
# Numeric markers must stand alone (a DT's date may be followed by its time, 101010):
# otherwise a replacement UID, made of random digits, would now and then hold eight
# digits that happen to spell a marker date (a false alarm seen in CI).


def find_markers(text: str, strong: dict) -> list[str]:
    """The strong markers of a corpus (``Corpus.strong_texts``) that occur in ``text``."""
    return [m.group(0) for m in MARKER_SHAPE.finditer(text) if m.group(0) in strong]


def walk(ds: Dataset):
    """``(deid uid path, element)`` for every element of ``ds``, file meta first, items too."""
    meta = ds.__dict__.get("file_meta")
    roots = ([meta] if isinstance(meta, Dataset) else []) + [ds]
    for root in roots:
        stack = [(root, "")]
        while stack:
            d, prefix = stack.pop()
            for key in sorted(d._dict, key=int):
                elem = d[key]
                tag = int(key)
                uid = f"{prefix}({tag >> 16:04X},{tag & 0xFFFF:04X})"
                yield uid, elem
                if isinstance(elem.value, Sequence):
                    for i, item in enumerate(elem.value):
                        stack.append((item, f"{uid}__{i}__"))


def element_texts(elem) -> list[str]:
    """Text forms of an element's value in which a marker could be seen."""
    value = elem.value
    if value is None or isinstance(value, Sequence):
        return []
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
        return [raw.decode("latin-1"), raw.decode("utf-16-le", errors="ignore"), raw[1:].decode("utf-16-le", errors="ignore")]
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return ["\\".join(str(v) for v in value)]
    return [str(value)]


def element_values(elem) -> list[object]:
    """The scalar values of an element (strings stripped, numbers rounded), to compare with
    the markers that are not searchable as text."""
    value = elem.value
    if value is None or isinstance(value, (Sequence, bytes, bytearray)):
        return []
    items = list(value) if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value]
    out: list[object] = []
    for v in items:
        if isinstance(v, str):
            out.append(v.strip())
        elif type(v).__name__ == "BaseTag":
            out.append(int(v))
        elif isinstance(v, (int, float)):
            out.append(_norm(v))
        else:
            out.append(str(v).strip())
    return out


# --------------------------------------------------------------------------- what verify must find

#: VRs whose values are specific enough to search for (docs/explain-verify.md); the code
#: items' coded values and meanings are not.
SEARCHED_VRS = frozenset("PN LO SH LT ST UT UC UR AE DA DT UI".split())
_CODE_ITEM = frozenset({"CodeValue", "CodingSchemeDesignator", "CodeMeaning"})
_WHOLE = frozenset({"X", "Z", "D", "C", "X/Z", "X/D", "Z/D", "X/Z/D"})
_TAG = re.compile(r"\(([0-9A-F]{4}),([0-9A-F]{4})\)")


def identifying(marker: Marker) -> bool:
    """Whether a marker sits where DICOM PS3.15 Table E.1-1 says an element identifies:
    its own row asks for anything but K; or, for an element with no row and a searchable
    VR that is not a UID or a code item's, the nearest enclosing sequence with a row is
    removed, emptied or replaced whole. Private elements and creators do not."""
    from deidlang.privacy import profile

    codes = {r.tag: r.code for r in profile.rows() if r.tag is not None}
    tags = [int(g + e, 16) for g, e in _TAG.findall(marker.element)]
    tag = tags[-1]
    if not marker.strong or marker.vr not in SEARCHED_VRS or (tag >> 16) & 1:
        return False
    if tag in codes:
        return codes[tag] != "K"
    if marker.vr == "UI" or keyword_for_tag(tag) in _CODE_ITEM:
        return False
    for outer in reversed(tags[:-1]):
        if outer in codes:
            return codes[outer] in _WHOLE
    return False


def expected_leaks(corpus: Corpus, output: Path) -> set[tuple[str, str, str]]:
    """``(file, output element, original element)`` of every identifying value that
    ``deidc verify`` must report in the outputs under ``output``: each identifying marker
    still in its element, and each planted copy still where it was put."""
    import pydicom

    texts: dict[str, dict[str, str]] = {}
    for name in corpus.files:
        ds = pydicom.dcmread(output / name)
        texts[name] = {uid: " ".join(element_texts(elem)).lower() for uid, elem in walk(ds)}
    out = set()
    for m in corpus.markers:
        if identifying(m) and m.text.lower() in texts[m.file].get(m.element, ""):
            out.add((m.file, m.element, m.element))
    for p in corpus.planted:
        if p.text.lower() in texts[p.file].get(p.element, ""):
            out.add((p.file, p.element, p.source))
    return out
