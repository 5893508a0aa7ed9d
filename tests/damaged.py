"""A corpus of damaged, odd and hostile input files, generated on the fly.

Everything is built in a temporary directory from pydicom datasets and raw
bytes (nothing binary is committed); the same call always gives the same
bytes. Each entry of the corpus is a :class:`Case`: where it is, what kind
of damage it has, and the outcome ``deidc run`` documents for it
(docs/robustness.md):

* ``written``: processed and written; the output reads back with pydicom,
  its identifying names are gone, its character set is kept;
* ``failed``: reported by path with a reason in plain words (``reason`` is
  a fragment of it), no output file;
* ``absent``: not a file (a symbolic link to a directory is not followed):
  no result at all.

Public API::

    cases = build(directory)        # list[Case]; the files are under directory
    base_dataset(**overrides)       # the valid CT image every DICOM case starts from

Unreadable files: the suite runs as root in CI, and ``chmod 000`` does not
stop root from reading. The corpus therefore also holds entries that no
user can read as a file: a named pipe (FIFO, which would block a naive
``open``), a Unix socket (``open`` fails with ENXIO), a symbolic link to
``/dev/zero`` (a character device that never ends), a dangling symbolic
link and two symbolic link loops. The ``chmod 000`` file is only expected
to fail when the tests do not run as root (``Case.expect`` says which).
"""

from __future__ import annotations

import io
import os
import random
import socket
import struct
import warnings
import zlib
from pathlib import Path

import attrs
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

__all__ = ["Case", "build", "base_dataset", "dicom_bytes", "TRUNCATED", "NAME", "DEEP", "IS_ROOT"]

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
UID_ROOT = "1.2.826.0.1.3680043.10.1007.6."

#: The identifying name every DICOM case carries (and must lose).
NAME = "DAMAGEDCANARY^QUENTIN"
#: Depth of the deeply nested sequences.
DEEP = 1000
#: Rows and columns of the large image (16 bits: over 1 MiB of pixel data).
LARGE_SIDE = 768

#: Reasons (fragments) as docs/robustness.md states them.
NOT_DICOM = "not a DICOM file"
CUT_SHORT = "file ends before its last element (cut short"
SHORTER_THAN_PREAMBLE = "not a DICOM file (shorter than the DICOM preamble: cut short?)"
META_ONLY = "the file holds file meta information but no data set (cut short?)"
TOO_DEEP = "sequences nested too deeply"
EMPTY = "the file is empty"
NOT_REGULAR = "not a regular file"
DANGLING = "a symbolic link whose target does not exist"
LOOP = "a symbolic link loop"
DICOMDIR = "a DICOMDIR"


def _reads_anything() -> bool:
    """Whether this process reads a file whatever its mode (root, or CAP_DAC_OVERRIDE)."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        probe = Path(scratch) / "probe"
        probe.write_bytes(b"x")
        probe.chmod(0)
        try:
            probe.read_bytes()
        except PermissionError:
            return False
        return True


#: The tests run as root in CI: ``chmod 000`` does not stop them.
IS_ROOT = _reads_anything()


@attrs.frozen
class Case:
    """One entry of the corpus and its documented outcome."""

    kind: str  # what is special about it (stable; names the test)
    path: str  # relative to the corpus root, as the walker lists it ("/" separated)
    expect: str  # "written" | "failed" | "absent"
    reason: str = ""  # for "failed": a fragment of the reason
    names: tuple[bytes, ...] = ()  # identifying bytes the output must not contain
    charset: str | tuple[str, ...] | None = None  # SpecificCharacterSet the output keeps
    decoded: tuple[tuple[str, str], ...] = ()  # (keyword, text) the output must decode to, when kept
    force: bool = False  # the output needs force=True to be read back (no preamble)
    expect_small: str | None = None  # the outcome with the small recipe, when it differs


def _uid(n: int) -> str:
    return f"{UID_ROOT}{n}"


def base_dataset(n: int = 1, **overrides) -> Dataset:
    """A small valid CT image (8x8, 16 bits) with identifying values and a nested sequence."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 6"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = _uid(1000 + n)
    ds.StudyDate = "20240611"
    ds.SeriesDate = "20240611"
    ds.StudyTime = "101500"
    ds.AccessionNumber = "ACCDMG0001"
    ds.Modality = "CT"
    ds.Manufacturer = "Damaged Corpus Inc"
    ds.InstitutionName = "Damaged Memorial Hospital"
    ds.ReferringPhysicianName = "REFERRER^DAMAGED"
    ds.StudyDescription = "CT CHEST"
    ds.SeriesDescription = "AXIAL 5MM"
    ds.PatientName = NAME
    ds.PatientID = "DMG-000001"
    ds.PatientBirthDate = "19620314"
    ds.PatientSex = "F"
    ds.OtherPatientNames = "DAMAGEDOTHER^NAME"
    item = Dataset()
    item.ReferencedSOPClassUID = CT_IMAGE_STORAGE
    item.ReferencedSOPInstanceUID = _uid(2000 + n)
    ds.ReferencedImageSequence = Sequence([item])
    ds.BodyPartExamined = "CHEST"
    ds.StudyInstanceUID = _uid(3000)
    ds.SeriesInstanceUID = _uid(4000)
    ds.StudyID = "1"
    ds.SeriesNumber = "2"
    ds.InstanceNumber = str(n)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = 8
    ds.Columns = 8
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(range(128))
    for key, value in overrides.items():
        setattr(ds, key, value)
    return ds


def _meta(ds: Dataset, syntax: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID = _uid(9)
    meta.ImplementationVersionName = "DAMAGED_1"
    return meta


def dicom_bytes(ds: Dataset, syntax: str = ExplicitVRLittleEndian, *, preamble: bool = True, meta: bool = True) -> bytes:
    """``ds`` as a file: preamble and file meta (each optional) and the dataset in ``syntax``."""
    ds = ds.copy()
    ds.file_meta = _meta(ds, syntax) if meta else FileMetaDataset()
    buffer = io.BytesIO()
    if meta and preamble:
        ds.preamble = b"\x00" * 128
        ds.save_as(buffer, enforce_file_format=True)
        return buffer.getvalue()
    ds.preamble = None
    implicit = syntax == ImplicitVRLittleEndian
    little = syntax != ExplicitVRBigEndian
    if meta:  # file meta, but no preamble and no 'DICM'
        full = dicom_bytes(ds, syntax)
        return full[132:]
    ds.save_as(buffer, implicit_vr=implicit, little_endian=little, enforce_file_format=False)
    data = buffer.getvalue()
    return (b"\x00" * 128 + b"DICM" + data) if preamble else data


# =========================================================================== raw building blocks


def _explicit(tag: int, vr: str, value: bytes) -> bytes:
    group, element = tag >> 16, tag & 0xFFFF
    if vr in ("OB", "OW", "OF", "OD", "OL", "OV", "SQ", "UC", "UN", "UR", "UT"):
        return struct.pack("<HH2sHI", group, element, vr.encode(), 0, len(value)) + value
    return struct.pack("<HH2sH", group, element, vr.encode(), len(value)) + value


def _sq_header(tag: int, length: int) -> bytes:
    return struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, b"SQ", 0, length)


def _item(length: int) -> bytes:
    return struct.pack("<HHI", 0xFFFE, 0xE000, length)


_ITEM_END = struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
_SEQ_END = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
_CONTENT_SEQUENCE = 0x0040A730
_TEXT_VALUE = 0x0040A160


def _nested(depth: int, *, undefined: bool, payload: int = 0) -> bytes:
    """A ContentSequence nested ``depth`` deep (built iteratively, inside out), with
    ``payload`` more bytes of text at the bottom."""
    inner = _explicit(_TEXT_VALUE, "UT", b"DEEPEST " + b"x" * payload)
    for _ in range(depth):
        if undefined:
            inner = _sq_header(_CONTENT_SEQUENCE, 0xFFFFFFFF) + _item(0xFFFFFFFF) + inner + _ITEM_END + _SEQ_END
        else:
            body = _item(len(inner)) + inner
            inner = _sq_header(_CONTENT_SEQUENCE, len(body)) + body
    return inner


def _with_trailer(ds: Dataset, trailer: bytes) -> bytes:
    """A complete explicit-VR file with raw bytes appended after its last element
    (the pixel data is dropped so that the trailer's tags stay in ascending order)."""
    ds = ds.copy()
    del ds.PixelData
    return dicom_bytes(ds) + trailer


def _layout(data: bytes) -> tuple[set[int], int]:
    """Of a complete explicit-VR little-endian file: the offsets at which top-level
    elements end (a cut at one of them cannot be told from a complete file), and
    where the file meta ends."""
    import pydicom
    from pydicom.dataelem import RawDataElement

    ds = pydicom.dcmread(io.BytesIO(data))
    meta_end = 132 + 12 + ds.file_meta.FileMetaInformationGroupLength
    ends = {meta_end}
    for elem in ds._dict.values():
        if isinstance(elem, RawDataElement) and elem.length != 0xFFFFFFFF:
            ends.add(elem.value_tell + elem.length)
    return ends, meta_end


# =========================================================================== the corpus

#: Truncation points, in tenths of the file's length.
TRUNCATED = tuple(range(1, 10))


def _charset_cases() -> list[tuple[str, str | list[str], str, str, bytes]]:
    """(kind, SpecificCharacterSet, PatientName, StudyDescription, the name's encoded bytes)."""
    return [
        ("charset-latin1", "ISO_IR 100", "MÜLLER^JÜRGEN", "Schädel nativ", "MÜLLER^JÜRGEN".encode("latin-1")),
        ("charset-utf8", "ISO_IR 192", "Ørsted^Åse=王^小明", "Thorax – Übersicht", "Ørsted^Åse=王^小明".encode("utf-8")),
        ("charset-gb18030", "GB18030", "王^小明=ワン^シャオミン", "胸部 CT 平扫", "王^小明".encode("gb18030")),
        (
            "charset-iso2022-jp",
            ["", "ISO 2022 IR 87"],
            "Yamada^Tarou=山田^太郎=やまだ^たろう",
            "胸部単純",
            "山田".encode("iso2022_jp")[3:-3],  # the name's JIS X 0208 bytes, without the escapes
        ),
    ]


def build(root: Path | str) -> list[Case]:
    """Write the corpus under ``root`` (which must exist and be empty); return its cases."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the values made invalid on purpose
        return _build(Path(root))


def _build(root: Path) -> list[Case]:
    cases: list[Case] = []
    name = NAME.encode("ascii")
    names = (name, b"DAMAGEDOTHER", b"REFERRER^DAMAGED")

    def put(rel: str, data: bytes) -> Path:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def add(kind: str, rel: str, data: bytes | None, expect: str, reason: str = "", **more) -> None:
        if data is not None:
            put(rel, data)
        if expect == "written" and "names" not in more:
            more["names"] = names
        cases.append(Case(kind, rel, expect, reason, **more))

    good = dicom_bytes(base_dataset(1))

    # --- not DICOM at all
    add("zero-byte", "not-dicom/empty.dcm", b"", "failed", EMPTY)
    add("text", "not-dicom/notes.txt", "patient list\nDAMAGEDCANARY^QUENTIN\n".encode(), "failed", NOT_DICOM)
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0)
    add("png-header", "not-dicom/image.png", png + struct.pack(">I", zlib.crc32(png[12:]) & 0xFFFFFFFF), "failed", NOT_DICOM)
    rng = random.Random(6)
    add("random-bytes", "not-dicom/random.bin", bytes(rng.getrandbits(8) for _ in range(4096)), "failed", NOT_DICOM)
    add("random-after-preamble", "not-dicom/dicm-then-random.dcm", b"\x00" * 128 + b"DICM" + bytes(rng.getrandbits(8) for _ in range(512)), "failed", CUT_SHORT)

    # --- preamble and file meta
    add(
        "no-preamble-no-meta",
        "layout/bare-dataset.dcm",
        dicom_bytes(base_dataset(2), ImplicitVRLittleEndian, preamble=False, meta=False),
        "failed",
        NOT_DICOM + " (no DICOM preamble; --force reads it anyway)",
    )
    add("preamble-no-meta", "layout/no-meta.dcm", dicom_bytes(base_dataset(3), preamble=True, meta=False), "written")
    add(
        "meta-no-preamble",
        "layout/no-preamble.dcm",
        dicom_bytes(base_dataset(4), preamble=False, meta=True),
        "failed",
        NOT_DICOM + " (no DICOM preamble; --force reads it anyway)",
    )

    # --- cut short
    ends, meta_end = _layout(good)
    for tenth in TRUNCATED:
        cut = len(good) * tenth // 10
        assert cut not in ends, f"cut at {tenth}0% falls between two elements: change base_dataset"
        reason = SHORTER_THAN_PREAMBLE if cut < 132 else META_ONLY if cut == meta_end else CUT_SHORT
        add(f"truncated-{tenth}0", f"truncated/at-{tenth}0-percent.dcm", good[:cut], "failed", reason)
    add("truncated-after-meta", "truncated/file-meta-only.dcm", good[:meta_end], "failed", META_ONLY)
    boundary = max(e for e in ends if e < len(good) * 0.8)  # cut exactly between two elements
    add("truncated-at-element-boundary", "truncated/between-elements.dcm", good[:boundary], "written")
    add("truncated-in-header", "truncated/inside-a-header.dcm", good[: max(ends - {len(good)}) + 5], "failed", CUT_SHORT)
    # over 1 MiB: read from the path with the pixel data deferred, not read
    large = dicom_bytes(base_dataset(16, Rows=LARGE_SIDE, Columns=LARGE_SIDE, PixelData=bytes(range(256)) * (LARGE_SIDE * LARGE_SIDE // 128)))
    add("large-complete", "truncated/large-complete.dcm", large, "written")
    add("large-truncated-70", "truncated/large-at-70-percent.dcm", large[: len(large) * 7 // 10], "failed", CUT_SHORT)

    # --- lengths and delimiters
    big = _with_trailer(base_dataset(5), struct.pack("<HH2sH", 0x0040, 0x0254, b"LO", 0xFFF0) + b"PROCEDURE ")
    add("length-past-eof", "lengths/element-length-too-large.dcm", big, "failed", CUT_SHORT)
    huge = _with_trailer(base_dataset(6), struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, 0x7FFFFFF0) + bytes(64))
    add("pixel-length-past-eof", "lengths/pixel-length-too-large.dcm", huge, "failed", CUT_SHORT)
    open_seq = _sq_header(0x0040A730, 0xFFFFFFFF) + _item(0xFFFFFFFF) + _explicit(_TEXT_VALUE, "UT", b"NO DELIMITERS ")
    add("undefined-length-no-delimiters", "lengths/sequence-without-delimiters.dcm", _with_trailer(base_dataset(7), open_seq), "failed", CUT_SHORT)

    # --- deep nesting
    add("nested-1000-undefined-length", "nesting/deep-undefined.dcm", _with_trailer(base_dataset(8), _nested(DEEP, undefined=True)), "failed", TOO_DEEP)
    add("nested-1000-defined-length", "nesting/deep-defined.dcm", _with_trailer(base_dataset(9), _nested(DEEP, undefined=False)), "failed", TOO_DEEP)
    # over 1 MiB, the sequence itself too large to be read while parsing (deferred)
    add("nested-1000-large", "nesting/deep-large.dcm", _with_trailer(base_dataset(17), _nested(DEEP, undefined=False, payload=1 << 20)), "failed", TOO_DEEP)
    add("nested-100", "nesting/nested-100.dcm", _with_trailer(base_dataset(18), _nested(100, undefined=True)), "written")
    add("nested-20", "nesting/nested-20.dcm", _with_trailer(base_dataset(10), _nested(20, undefined=True)), "written")

    # --- values that violate their VR
    # (written valid, then patched: pydicom refuses to hold such values)
    bad = dicom_bytes(base_dataset(11, ContentDate="20231231", SeriesNumber="9876", BodyPartExamined="ABDOMENPELVISCHEST"))
    bad = bad.replace(b"20231231", b"20231301").replace(b"9876", b"12AB").replace(b"ABDOMENPELVISCHEST", b"ABDOMENPELVISCHESZ")
    add("vr-violations", "values/invalid-values.dcm", bad, "written", decoded=(("SeriesNumber", "12AB"), ("BodyPartExamined", "ABDOMENPELVISCHESZ")))

    # --- transfer syntaxes
    add("big-endian", "syntax/big-endian.dcm", dicom_bytes(base_dataset(12), ExplicitVRBigEndian), "written")
    add("implicit-vr", "syntax/implicit-vr.dcm", dicom_bytes(base_dataset(13), ImplicitVRLittleEndian), "written")
    add("deflated", "syntax/deflated.dcm", dicom_bytes(base_dataset(14), DeflatedExplicitVRLittleEndian), "written")

    # --- a DICOMDIR and the file it indexes
    _dicomdir(root / "media", base_dataset(15))
    add("dicomdir", "media/DICOMDIR", None, "failed", DICOMDIR)
    add("dicomdir-instance", "media/PT000000/ST000000/SE000000/IM000000", None, "written")

    # --- character sets
    for n, (kind, charset, person, description, encoded) in enumerate(_charset_cases()):
        ds = base_dataset(20 + n, SpecificCharacterSet=charset, PatientName=person, StudyDescription=description, OtherPatientNames=person)
        add(
            kind,
            f"charsets/{kind}.dcm",
            dicom_bytes(ds),
            "written",
            names=(encoded,),
            charset=tuple(charset) if isinstance(charset, list) else charset,
            decoded=(("StudyDescription", description),),
        )

    # --- duplicate basenames, and names that differ only in case
    add("duplicate-basename-a", "duplicates/site-a/scan.dcm", dicom_bytes(base_dataset(30)), "written")
    add("duplicate-basename-b", "duplicates/site-b/scan.dcm", dicom_bytes(base_dataset(31)), "written")
    add("case-collision-upper", "duplicates/CASE.dcm", dicom_bytes(base_dataset(32)), "written")
    add("case-collision-lower", "duplicates/case.dcm", dicom_bytes(base_dataset(33)), "written")

    # --- unreadable entries
    locked = put("unreadable/chmod-000.dcm", dicom_bytes(base_dataset(40)))
    locked.chmod(0)
    if IS_ROOT:
        add("chmod-000", "unreadable/chmod-000.dcm", None, "written")
    else:
        add("chmod-000", "unreadable/chmod-000.dcm", None, "failed", "cannot read: permission denied")
    os.mkfifo(root / "unreadable" / "named-pipe.dcm")
    add("fifo", "unreadable/named-pipe.dcm", None, "failed", NOT_REGULAR + " (a named pipe)")
    _socket(root / "unreadable" / "socket.dcm")
    add("socket", "unreadable/socket.dcm", None, "failed", NOT_REGULAR + " (a socket)")
    os.symlink("/dev/zero", root / "unreadable" / "dev-zero.dcm")
    add("link-to-device", "unreadable/dev-zero.dcm", None, "failed", NOT_REGULAR + " (a device)")
    os.symlink("no-such-file.dcm", root / "unreadable" / "dangling.dcm")
    add("dangling-symlink", "unreadable/dangling.dcm", None, "failed", DANGLING)
    os.symlink("loop-b.dcm", root / "unreadable" / "loop-a.dcm")
    os.symlink("loop-a.dcm", root / "unreadable" / "loop-b.dcm")
    add("symlink-loop-a", "unreadable/loop-a.dcm", None, "failed", LOOP)
    add("symlink-loop-b", "unreadable/loop-b.dcm", None, "failed", LOOP)
    os.symlink("..", root / "unreadable" / "up")
    add("directory-symlink-loop", "unreadable/up", None, "absent")

    # --- unusual names
    unusual = [
        ("name-space", "names/with space.dcm"),
        ("name-unicode", "names/ünïcødé-名前.dcm"),
        ("name-newline", "names/new\nline.dcm"),
        ("name-tab", "names/tab\there.dcm"),
        ("name-leading-dash", "names/-leading-dash.dcm"),
        ("name-hash", "names/#hash.dcm"),
        ("name-percent", "names/per%20cent.dcm"),
        ("name-backslash", "names/back\\slash.dcm"),
        ("name-url-like", "names/s3:/file:x.dcm"),
        ("name-long", "names/" + "L" * 246 + ".dcm"),
        ("name-not-utf8", "names/latin1-" + os.fsdecode(b"\xe9") + ".dcm"),
    ]
    for n, (kind, rel) in enumerate(unusual):
        add(kind, rel, dicom_bytes(base_dataset(50 + n)), "written")
    add("name-newline-failing", "names/broken\nname.dcm", b"DAMAGEDCANARY^QUENTIN is not DICOM", "failed", NOT_DICOM)
    return cases


def _dicomdir(directory: Path, ds: Dataset) -> None:
    """A real DICOMDIR (written by pydicom's FileSet) indexing one image, which pydicom
    stores as ``PT000000/ST000000/SE000000/IM000000``."""
    import pydicom
    from pydicom.fileset import FileSet

    fs = FileSet()
    fs.ID = "DAMAGED"
    fs.UID = _uid(77)
    fs.add(pydicom.dcmread(io.BytesIO(dicom_bytes(ds))))
    fs.write(directory)


def _socket(path: Path) -> None:
    """A Unix socket left in the tree (``open`` on it fails with ENXIO)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
    finally:
        sock.close()
