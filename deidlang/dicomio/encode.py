"""Encode a dataset to bytes the way ``Dataset.save_as(fp, enforce_file_format=False)``
does, faster when most elements were never converted.

Why: a recipe changes a few dozen elements of a file and leaves the rest
as pydicom read them (raw bytes). pydicom's writer still spends most of
its time per element (a buffer, several small writes, checks) even for
raw ones; here a raw element is its header packed in one call plus its
value bytes, and only converted elements go through pydicom's own
``write_data_element``. The output is byte for byte what pydicom writes
(tests/test_encode.py holds the two equal on many shapes of dataset).

:func:`encode` returns ``None`` for what it does not handle the same way
(big-endian or deflated transfer syntaxes, a dataset whose character set
or encoding changed, deferred or buffered values, values pydicom would
re-type on writing, anything pydicom would refuse): the caller then uses
pydicom's writer.
"""

from __future__ import annotations

import io
import struct
from typing import Any

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.tag import ItemTag, SequenceDelimiterTag
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32

__all__ = ["encode", "to_bytes", "save", "conform_file_meta", "repair_read_encoding"]

_ITEM_DELIMITER = struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
_SEQ_DELIMITER = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
_LONG_VRS = frozenset(str(v) for v in EXPLICIT_VR_LENGTH_32)
_SHORT = struct.Struct("<HH2sH")
_LONG = struct.Struct("<HH2sHI")
_IMPLICIT = struct.Struct("<HHI")
_ITEM = struct.Struct("<HHI")
_PIXEL_DATA = 0x7FE00010
_ENCAPSULATED_ITEM = b"\xfe\xff\x00\xe0"


_UNSET = object()

#: VRs pydicom writes with write_string (padding), and with write_text (character set).
_STRING_PAD = {"AE": " ", "AS": " ", "CS": " ", "DA": " ", "DT": " ", "TM": " ", "UI": "\0", "UR": " "}
_TEXT = frozenset({"LO", "LT", "SH", "ST", "UC", "UT"})
#: Python codecs that encode ASCII text as ASCII bytes (pydicom's names for them).
_ASCII_SAFE = frozenset({"iso8859", "latin_1", "UTF8", "utf_8", "ascii"})


def _simple_value(value: Any, vr: str, encodings: list[str]) -> bytes | None:
    """The encoded value pydicom's writer gives a plain ASCII string of a text VR, or an
    empty value; None for anything else (pydicom's writer then does it)."""
    if value is None:
        return b""
    if not isinstance(value, (str, bytes)):
        return None  # numbers, names, dates, several values: pydicom's writer
    if not value:
        return b""
    if isinstance(value, bytes) or not value.isascii():
        return None
    pad = _STRING_PAD.get(vr)
    if pad is not None:
        return (value + pad if len(value) % 2 else value).encode("ascii")
    if vr in _TEXT and all(e in _ASCII_SAFE for e in encodings):
        data = value.encode("ascii")
        return data + b" " if len(data) % 2 else data
    return None


class _Unsupported(Exception):
    """Something this encoder does not do exactly as pydicom: use pydicom's writer."""


def encode(ds: Dataset) -> bytes | None:
    """The bytes ``ds.save_as(fp, enforce_file_format=False)`` would write, or None."""
    try:
        return _encode(ds)
    except _Unsupported:
        return None


#: file meta element -> the data set element it must repeat (PS3.10 7.1)
_META_COPIES = (("MediaStorageSOPClassUID", "SOPClassUID"), ("MediaStorageSOPInstanceUID", "SOPInstanceUID"))


def conform_file_meta(ds: Dataset) -> None:
    """Make the file meta information of ``ds`` describe the data set it is written
    with (in place; before writing). MediaStorageSOPClassUID and
    MediaStorageSOPInstanceUID become the data set's SOPClassUID and
    SOPInstanceUID (an original whose meta and data set disagree, or whose
    meta lacks one, is repaired; the data set's values are the ones a recipe
    replaced); a missing TransferSyntaxUID becomes the one the data set is
    encoded with. A data set without file meta (read with --force) stays so."""
    from pydicom.filewriter import _determine_encoding
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    meta = ds.__dict__.get("file_meta")
    if not meta:
        return
    for meta_keyword, keyword in _META_COPIES:
        try:
            value = ds.get(keyword)  # one UID (not several, not empty)
        except Exception:  # noqa: BLE001 - a damaged element: the file keeps the meta it had
            continue
        if isinstance(value, str) and value.strip() and meta.get(meta_keyword) != value:
            setattr(meta, meta_keyword, value)
    if "TransferSyntaxUID" not in meta:
        try:
            implicit, little = _determine_encoding(ds, None, None, None, False)
        except Exception:  # noqa: BLE001 - nothing says how it is encoded: the writer decides (or refuses)
            return
        syntax = {(True, True): ImplicitVRLittleEndian, (False, True): ExplicitVRLittleEndian, (False, False): ExplicitVRBigEndian}.get((implicit, little))
        if syntax is not None:
            meta.TransferSyntaxUID = syntax


def repair_read_encoding(ds: Dataset) -> None:
    """Say that ``ds`` was read with implicit VR when it was.

    A file whose transfer syntax says explicit VR but whose data set is implicit
    (pydicom's ``SC_rgb_jpeg.dcm``) is read as implicit (pydicom warns), yet
    pydicom 3.0 records the syntax's explicit VR as the encoding it was read
    with. Its writer then copies the raw elements as they are, without a VR,
    and fails ("encoding without a string argument"). A raw element without a
    VR can only come from an implicit read: record that, so the writer converts
    each element (its dictionary VR) before writing it explicit."""
    state = ds.__dict__
    if state.get("_read_implicit") is not False:
        return
    for elem in ds._dict.values():  # the first raw element tells: an implicit read leaves them all without a VR
        if type(elem) is RawDataElement:
            if elem.VR is None:
                ds.set_original_encoding(True, state.get("_read_little", True), state.get("_read_charset"))
            return


def save(ds: Dataset, fp: Any) -> None:
    """``ds.save_as(fp, enforce_file_format=False)``, after :func:`repair_read_encoding`."""
    repair_read_encoding(ds)
    ds.save_as(fp, enforce_file_format=False)


def to_bytes(ds: Dataset) -> bytes:
    """The bytes ``ds.save_as(fp, enforce_file_format=False)`` writes: this encoder's
    where it can, else pydicom's own."""
    repair_read_encoding(ds)
    data = encode(ds)
    if data is None:
        buffer = io.BytesIO()
        save(ds, buffer)
        data = buffer.getvalue()
    return data


def _encode(ds: Dataset) -> bytes:
    from pydicom.filewriter import _determine_encoding  # the same decision as dcmwrite
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    if any(t >> 16 in (0, 2) for t in ds._dict):
        raise _Unsupported  # pydicom refuses these; let it say so
    file_meta = ds.__dict__.get("file_meta")
    tsyntax = file_meta.get("TransferSyntaxUID", None) if file_meta is not None else None
    try:
        implicit, little = _determine_encoding(ds, tsyntax, None, None, False)
    except Exception as err:  # noqa: BLE001 - pydicom raises the proper error itself
        raise _Unsupported from err
    if not little or tsyntax == DeflatedExplicitVRLittleEndian:
        raise _Unsupported
    preamble = getattr(ds, "preamble", None)
    if preamble and len(preamble) != 128:
        raise _Unsupported
    pixel_undefined = None
    if tsyntax and not tsyntax.is_private and tsyntax.is_transfer_syntax:
        pixel_undefined = bool(tsyntax.is_compressed)  # dcmwrite sets PixelData's length form from the syntax

    out: list[bytes] = []
    if preamble:
        out.append(preamble)
        out.append(b"DICM")
    if file_meta:
        out.append(_file_meta(file_meta))
    _dataset(out, ds, "iso8859", implicit, pixel_undefined)
    return b"".join(out)


def _file_meta(meta: Dataset) -> bytes:
    """``write_file_meta_info(enforce_standard=False)``: explicit VR little endian, with
    the group length (when present) set to the length of what follows it."""
    from pydicom.filewriter import validate_file_meta

    try:
        validate_file_meta(meta, enforce_standard=False)  # type: ignore[arg-type]  # the dataset's FileMetaDataset
    except Exception as err:  # noqa: BLE001
        raise _Unsupported from err
    parts: list[bytes] = []
    tags = sorted(meta._dict)
    has_length = bool(tags) and tags[0] == 0x00020000
    _dataset(parts, meta, "iso8859", False, None, skip_first=has_length)
    body = b"".join(parts)
    if not has_length:
        return body
    vr = meta._dict[0x00020000].VR  # type: ignore[index]  # Dataset._dict is keyed by BaseTag, an int
    if vr not in ("UL", None):
        raise _Unsupported
    return _SHORT.pack(0x0002, 0x0000, b"UL", 4) + struct.pack("<I", len(body)) + body


def _check_encoding(ds: Dataset, implicit: bool) -> None:
    """pydicom's write_dataset converts every element (and fixes ambiguous VRs) when the
    dataset's encoding or character set differs from what it was read with (always, for a
    dataset made in memory). That changes nothing when every element is already converted
    and no VR is ambiguous; otherwise leave the dataset to pydicom."""
    state = ds.__dict__  # Dataset.original_encoding and .original_character_set, read directly
    if state.get("_read_implicit") == implicit and state.get("_read_little") == True and state.get("_read_charset") == ds._character_set:  # noqa: E712
        return
    for elem in ds._dict.values():
        if type(elem) is not DataElement or elem.VR is None or " or " in elem.VR:
            raise _Unsupported


def _dataset(out: list[bytes], ds: Dataset, parent_encoding: Any, implicit: bool, pixel_undefined: bool | None, *, skip_first: bool = False) -> None:
    _check_encoding(ds, implicit)
    elements = ds._dict
    encoding: Any = _UNSET  # decided on the first converted element (as pydicom: SpecificCharacterSet)
    codecs: list[str] | None = None
    tags = sorted(elements)
    if skip_first:
        tags = tags[1:]
    pack_short, pack_long, pack_implicit = _SHORT.pack, _LONG.pack, _IMPLICIT.pack
    for tag in tags:
        if tag & 0xFFFF == 0 and tag >> 16 > 6:
            continue  # retired group lengths are not written
        elem = elements[tag]
        if type(elem) is RawDataElement and elem.value is None:
            if elem.length:
                raise _Unsupported  # a deferred value: pydicom reads it
            elem = ds[tag]  # an empty raw value: pydicom's writer converts it (get_item), so do we
        if type(elem) is RawDataElement:
            value: bytes = elem.value  # type: ignore[assignment]  # read: an empty or deferred raw value was handled above
            vr = elem.VR
            undefined = elem.length == 0xFFFFFFFF
            if tag == _PIXEL_DATA and (
                (pixel_undefined is not None and undefined != pixel_undefined)  # dcmwrite would re-form its length
                or (undefined and not value.startswith(_ENCAPSULATED_ITEM))  # pydicom refuses it
                or vr not in ("OB", "OW", None)  # converted (as dcmwrite does) it would get another VR
                or len(value) % 2  # converted it would be padded
            ):
                raise _Unsupported
            n = 0xFFFFFFFF if undefined else len(value)
            group, element = tag >> 16, tag & 0xFFFF
            if implicit:
                out.append(pack_implicit(group, element, n))
            else:
                if vr is None or len(vr) != 2:
                    raise _Unsupported
                if vr in _LONG_VRS:
                    out.append(pack_long(group, element, vr.encode("ascii"), 0, n))
                else:
                    if n > 0xFFFF:
                        raise _Unsupported  # pydicom rewrites it as UN
                    out.append(pack_short(group, element, vr.encode("ascii"), n))
            out.append(value)
            if undefined:
                out.append(_SEQ_DELIMITER)
            continue
        if encoding is _UNSET:
            encoding = ds.get("SpecificCharacterSet", parent_encoding)
        if type(elem) is not DataElement or getattr(elem, "is_buffered", False):
            raise _Unsupported
        if elem.VR == "SQ":
            from pydicom.charset import convert_encodings

            _sequence(out, elem, convert_encodings(encoding or ["iso8859"]), implicit)
            continue
        if tag == _PIXEL_DATA and pixel_undefined is not None:
            elem.is_undefined_length = pixel_undefined  # what dcmwrite does to the element
        elif not elem.is_undefined_length:
            vr = elem.VR
            if codecs is None:
                from pydicom.charset import convert_encodings

                codecs = convert_encodings(encoding or ["iso8859"])
            data = _simple_value(elem._value, vr, codecs)
            if data is not None:
                n = len(data)
                group, element = tag >> 16, tag & 0xFFFF
                if implicit:
                    out.append(pack_implicit(group, element, n))
                elif vr in _LONG_VRS:
                    out.append(pack_long(group, element, vr.encode("ascii"), 0, n))
                elif n <= 0xFFFF:
                    out.append(pack_short(group, element, vr.encode("ascii"), n))
                else:
                    raise _Unsupported
                out.append(data)
                continue
        buffer = DicomBytesIO()
        buffer.is_little_endian = True
        buffer.is_implicit_VR = implicit
        try:
            write_data_element(buffer, elem, encoding)
        except Exception as err:  # noqa: BLE001 - pydicom's own writer will raise it again
            raise _Unsupported from err
        out.append(buffer.getvalue())


def _sequence(out: list[bytes], elem: DataElement, encodings: Any, implicit: bool) -> None:
    """A converted sequence: as write_data_element + write_sequence_item do it."""
    items: list[bytes] = []
    if not elem.is_empty:
        for item in elem.value:
            if not isinstance(item, Dataset):
                raise _Unsupported
            body: list[bytes] = []
            _dataset(body, item, encodings, implicit, None)
            data = b"".join(body)
            if getattr(item, "is_undefined_length_sequence_item", False):
                items.append(_ITEM.pack(0xFFFE, 0xE000, 0xFFFFFFFF))
                items.append(data)
                items.append(_ITEM_DELIMITER)
            else:
                items.append(_ITEM.pack(0xFFFE, 0xE000, len(data)))
                items.append(data)
    value = b"".join(items)
    undefined = elem.is_undefined_length
    n = 0xFFFFFFFF if undefined else len(value)
    group, element = elem.tag >> 16, elem.tag & 0xFFFF
    if implicit:
        out.append(_IMPLICIT.pack(group, element, n))
    else:
        out.append(_LONG.pack(group, element, b"SQ", 0, n))
    out.append(value)
    if undefined:
        out.append(_SEQ_DELIMITER)


assert ItemTag == 0xFFFEE000 and SequenceDelimiterTag == 0xFFFEE0DD
