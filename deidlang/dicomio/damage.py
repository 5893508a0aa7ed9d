"""What a damaged or hostile input looks like, and how a file is opened and parsed under
those rules: the reasons a file is refused (in plain words, never its values), regular
files only (:func:`open_regular`: no pipe, device or socket), parsing with
:mod:`.fastread` or pydicom (:func:`parse_dicom`), and the completeness checks pydicom
does not make (:func:`cut_short`, :func:`too_deep`, :func:`is_dicomdir`,
:func:`is_zip_archive`). docs/robustness.md lists every case.

May import: :mod:`deidlang.lang` and the rest of :mod:`deidlang.dicomio`.
"""

from __future__ import annotations

import os
import stat

from ..lang.diagnostics import DeidlangError
from .sequences import nested_deeper

__all__ = [
    "InputError",
    "open_regular",
    "parse_dicom",
    "cut_short",
    "too_deep",
    "is_dicomdir",
    "is_zip_archive",
]


#: Files up to this size are read into memory in one go (hashed and parsed from
#: the bytes); larger ones are parsed from the file with large values deferred.
SMALL_FILE = 1 << 20
#: Values longer than this are not read while parsing a large file (pydicom's ``defer_size``).
DEFER_SIZE = 64 << 10
#: Chunk size for hashing and for copying deferred values to the output.
CHUNK = 1 << 20


#: The SOP Class of a DICOMDIR file.
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"


class InputError(DeidlangError):
    """One input file cannot be processed: its message is the reason, in plain words,
    as the run reports it (it names no element values, and not the file: the caller does)."""


# The reasons a file is reported with (docs/robustness.md lists them with the kinds of
# damage that lead to each).
EMPTY = "the file is empty"
NOT_DICOM = "not a DICOM file"
NO_PREAMBLE_HINT = " (no DICOM preamble; --force reads it anyway)"
TOO_SHORT_HINT = " (shorter than the DICOM preamble: cut short?)"
CUT_SHORT = "file ends before its last element (cut short, or an element length is wrong)"
META_ONLY = "the file holds file meta information but no data set (cut short?)"
#: Sequences nested deeper than this are refused: pydicom reads, and writes, nested
#: sequences by recursion, and fails (or, writing, slows to a crawl) near 200 levels.
MAX_DEPTH = 100
TOO_DEEP = f"sequences nested too deeply to process (more than {MAX_DEPTH} levels)"
DAMAGED = "damaged or unsupported DICOM"
DICOMDIR = "a DICOMDIR (a media index): not de-identified, as its byte offsets would no longer match; make a new one from the outputs"
DANGLING = "a symbolic link whose target does not exist"
LOOP = "a symbolic link loop"


#: A zip archive, given or found among the inputs. deidlang reads DICOM files, not archives:
#: a member's name can point outside the folder it is extracted to, its size can be a
#: thousand times the archive's, and an extraction interrupted half-way leaves half a
#: study. The same words in deidlang.compat.get_files (docs/robustness.md).
ZIP_ARCHIVE = (
    "a zip archive: deidlang does not open archives (their member names and sizes are not "
    "checked as a folder's files are); extract it first, for example `unzip -d FOLDER ARCHIVE.zip`, "
    "and give the folder as input"
)


#: How a zip archive starts: a local file header, or the end record of an empty archive.
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def is_zip_archive(head: bytes) -> bool:
    """Whether a file that starts with ``head`` (at least its first 132 bytes, when it
    has them) is a zip archive and not a DICOM file (``DICM`` after the preamble wins)."""
    return head[:4] in _ZIP_MAGIC and head[128:132] != b"DICM"


def refuse_archive(head: bytes) -> None:
    if is_zip_archive(head):
        raise InputError(ZIP_ARCHIVE)


_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISDIR, "a folder"),
)


def _not_regular(mode: int) -> str:
    """The reason for an entry that is not a regular file, naming what it is."""
    kind = next((name for test, name in _KINDS if test(mode)), "something else")
    return f"not a regular file ({kind})"


def open_regular(source: str):
    """Open ``source`` for reading only if it is a regular file (after following
    symbolic links). Opened without blocking, so that a named pipe cannot stall
    the batch; a device (``/dev/zero`` never ends) or a socket is refused."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(source, flags)
    except OSError as err:
        raise InputError(_open_reason(source, err)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(_not_regular(mode))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_reason(source: str, err: OSError) -> str:
    """Why a path cannot be opened, in plain words."""
    import errno

    if err.errno == errno.ELOOP:
        return LOOP
    if err.errno == errno.ENOENT and os.path.islink(source):
        return DANGLING
    if err.errno in (errno.EACCES, errno.EPERM):
        return os_reason(err)
    try:
        mode = os.stat(source).st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        return _not_regular(mode)
    return os_reason(err)


def os_reason(err: OSError) -> str:
    text = err.strerror or type(err).__name__
    return f"cannot read: {text[:1].lower()}{text[1:]}"


def read_all(fh) -> bytes:
    try:
        return fh.read()
    except OSError as err:
        raise InputError(os_reason(err)) from None


def read_chunk(fh) -> bytes:
    try:
        return fh.read(CHUNK)
    except OSError as err:
        raise InputError(os_reason(err)) from None


def parse_dicom(src, size: int, *, force: bool, stop_before_pixels: bool = False, defer_size: int | None = None, data: bytes | None = None):
    """Parse with pydicom (or, for the common case of a whole file in memory, ``data``,
    with :mod:`deidlang.dicomio.fastread`, which builds the same objects), then make sure the
    file was complete (see :func:`cut_short`)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    from .fastread import read_bytes

    try:
        ds = read_bytes(data) if data is not None and not stop_before_pixels else None
        if ds is None:
            ds = pydicom.dcmread(src, force=force, defer_size=defer_size, stop_before_pixels=stop_before_pixels)
    except InvalidDicomError:
        if not force and size < _PREAMBLE_END:
            raise InputError(NOT_DICOM + TOO_SHORT_HINT) from None
        raise InputError(NOT_DICOM + ("" if force else NO_PREAMBLE_HINT)) from None
    except RecursionError:
        raise InputError(TOO_DEEP) from None
    except EOFError:
        raise InputError(CUT_SHORT) from None
    except OSError as err:
        if err.errno is None:  # pydicom's own "no tag to read at ...": the file ended inside a sequence
            raise InputError(CUT_SHORT) from None
        raise InputError(os_reason(err)) from None
    except Exception as err:  # noqa: BLE001 - a damaged file; its own message could quote data
        raise InputError(f"cannot read: {DAMAGED} ({type(err).__name__})") from None
    reason = cut_short(ds, size, whole=not stop_before_pixels)
    if reason:
        raise InputError(reason)
    if too_deep(ds):
        raise InputError(TOO_DEEP)
    return ds


_UNDEFINED = 0xFFFFFFFF
#: Where the 128-byte preamble and 'DICM' end.
_PREAMBLE_END = 132
#: The fewest bytes one more level of nesting takes (an item header and an element header).
_LEVEL_BYTES = 16


def too_deep(ds, limit: int = MAX_DEPTH) -> bool:
    """Whether sequences in ``ds`` nest more than ``limit`` levels deep.

    Checked without recursion and without converting ``ds``'s elements (what a
    recipe does not touch is written back byte for byte): a sequence too short to
    hold the levels left before the limit is not opened; an explicit VR little
    endian one is read from its bytes (runtime/sequences.py); others are converted
    on throwaway copies, level by level.
    """
    from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element

    stack = [(elem, 1) for elem in ds._dict.values() if _is_sequence(elem)]
    while stack:
        elem, depth = stack.pop()
        if depth > limit:
            return True
        if type(elem) is RawDataElement:
            if elem.length != _UNDEFINED and elem.length < _LEVEL_BYTES * (limit - depth + 1):
                continue  # cannot hold enough levels to pass the limit
            if elem.value is None:  # deferred: read its bytes for the check only
                elem = _load_deferred(ds, elem)
                if elem is None:
                    continue
            if not elem.is_implicit_VR and elem.is_little_endian and elem.length != _UNDEFINED:
                deeper = nested_deeper(elem.value, depth, limit)  # from the bytes: no items built
                if deeper is not None:
                    if deeper:
                        return True
                    continue
            try:
                elem = convert_raw_data_element(elem, encoding=None)
            except Exception:  # noqa: BLE001 - damage is for reading and writing to report
                continue
        if type(elem) is not DataElement or elem.VR != "SQ":
            continue
        for item in elem.value or ():
            stack.extend((sub, depth + 1) for sub in item._dict.values() if _is_sequence(sub))
    return False


def _is_sequence(elem) -> bool:
    vr = elem.VR
    if vr is None:  # implicit VR, still raw: the dictionary knows (an unknown private tag is not)
        from pydicom.datadict import dictionary_VR

        try:
            return dictionary_VR(elem.tag) == "SQ"
        except KeyError:
            return elem.length == _UNDEFINED
    return vr == "SQ"


def _load_deferred(ds, elem):
    path = getattr(ds, "filename", None)
    if not isinstance(path, str) or not path:
        return None
    try:
        with open(path, "rb") as fh:
            fh.seek(elem.value_tell)
            return elem._replace(value=fh.read(elem.length))
    except OSError:
        return None


def cut_short(ds, size: int, *, whole: bool = True) -> str:
    """Why a parsed file is not complete ('' when it is).

    pydicom stops quietly at the end of the data: a value cut short comes back
    shorter than its length says, a deferred one is simply past the end, and a
    file that ends inside an element header ends the data set there. So: every
    top-level element (file meta included) must be whole, and the last one must
    end where the file ends. A file cut exactly between two elements cannot be
    told from a complete one. Deflated files, and files not read ``whole``
    (stopped before the pixel data), are checked element by element only (a
    deflated file's offsets are in the inflated stream).
    """
    from pydicom.dataelem import RawDataElement
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    meta = getattr(ds, "file_meta", None)
    deflated = meta is not None and meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian
    last_end = -1
    elements = 0
    for dataset, is_meta in ((meta, True), (ds, False)):
        if dataset is None:
            continue
        for elem in dataset._dict.values():
            elements += not is_meta
            if type(elem) is not RawDataElement:
                last_end = -1  # converted while reading (a sequence of undefined length): no known end
                continue
            if elem.length == _UNDEFINED:
                value = elem.value
                last_end = -1 if value is None else elem.value_tell + len(value) + 8  # the value, then its delimiter
                continue
            value = elem.value
            if value is not None:
                if len(value) < elem.length:
                    return CUT_SHORT
            elif not deflated and elem.value_tell + elem.length > size:  # deferred: not read, only skipped
                return CUT_SHORT
            last_end = elem.value_tell + elem.length
    if whole and not deflated and 0 <= last_end != size:
        return CUT_SHORT
    if elements == 0 and meta is not None and len(meta):
        return META_ONLY
    return ""


def is_dicomdir(ds) -> bool:
    """A DICOMDIR (Media Storage Directory): an index of other files by byte offset."""
    if 0x00041220 in ds._dict:  # DirectoryRecordSequence
        return True
    meta = ds.__dict__.get("file_meta")
    if meta is None:
        return False
    elem = meta._dict.get(0x00020002)  # MediaStorageSOPClassUID
    if elem is None:
        return False
    value = elem.value
    if isinstance(value, bytes):  # still raw (any VR reading): read from the bytes, no conversion
        value = value.decode("latin-1").strip(" \x00")
    return value == MEDIA_STORAGE_DIRECTORY
