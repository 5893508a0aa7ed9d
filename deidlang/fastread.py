"""Reading a whole small DICOM file faster than ``pydicom.dcmread``, into the very
objects it builds.

On a small file pydicom spends most of its reading time in its general element
generator (a file-like object read 8 bytes at a time, a generator step and a
debug check per element). Here the common cases -- a Part 10 file (preamble and
``DICM``, file meta in explicit VR little endian) whose data set is explicit VR
little endian (any transfer syntax but implicit VR, big endian, deflate) or
implicit VR little endian -- are read straight from the bytes into the objects
``pydicom.dcmread(io.BytesIO(data))`` returns: the same raw elements (tag, VR
or no VR, length, value, position), undefined-length sequences read at once
with pydicom's item attributes and inherited character sets, encapsulated pixel
data read as pydicom reads it first, the file meta, data set and file dataset
built by pydicom's own constructors, the same elements converted on the way
(the first file meta element, the group length, the transfer syntax, the
character set), the same encoding attributes.

Anything else returns ``None`` and the caller lets pydicom read the file: big
endian or deflated data, a command set (group 0000), a data set whose first
element contradicts the transfer syntax (pydicom warns and switches), an
undefined-length UN or unknown implicit element, an empty item, an element
longer than the data (a file cut short: pydicom's reading of it is what the
completeness checks expect), an unknown VR, no preamble, no data set,
undefined-length sequences nested deeper than ``_MAX_DEPTH``, pydicom's
debugging mode or customised conversion hooks. ``tests/test_fastread.py``
holds the two readings equal, object for object and in written bytes, over
every local test file, the damaged-file corpus and truncations.
"""

from __future__ import annotations

import io
from struct import Struct
from typing import Any

from pydicom import config, uid
from pydicom.charset import convert_encodings, default_encoding
from pydicom.datadict import DicomDictionary
from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element, empty_value_for_VR
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.values import convert_string

from .runtime.rawtext import customised
from .runtime.sequences import LONG_VRS, VRS, new_item

__all__ = ["read_bytes", "read_path"]

_HEADER = Struct("<HH2sH").unpack_from
_LONG = Struct("<L").unpack_from
_ITEM = Struct("<HHL").unpack_from
_ITEM_TAG = 0xFFFEE000
_SEQ_END = 0xFFFEE0DD
_ITEM_END = 0xFFFEE00D
_CHARSET = 0x00080005
_UNDEFINED = 0xFFFFFFFF
#: Where the preamble and "DICM" end.
_META_START = 132
#: Transfer syntaxes whose data set is big endian or compressed as a whole.
_OTHER_ENCODING = frozenset((uid.ExplicitVRBigEndian, uid.DeflatedExplicitVRLittleEndian))


def _item_header(data: bytes, pos: int) -> tuple[int, int] | None:
    """``(tag, length)`` of the item or delimiter header at ``pos``; None past the end."""
    if pos + 8 > len(data):
        return None
    group, elem, length = _ITEM(data, pos)
    return group << 16 | elem, length


def _encapsulated(data: bytes, pos: int) -> tuple[bytes, int] | None:
    """An undefined-length value read as encapsulated pixel data (items, then the
    sequence delimiter), as pydicom reads it first: ``(value, position after the
    delimiter)``; None when the items do not parse (pydicom then scans for the
    delimiter)."""
    start, size = pos, len(data)
    while True:
        header = _item_header(data, pos)
        if header is None:
            return None
        tag, length = header
        if tag == _SEQ_END:
            return data[start:pos], pos + 8
        if tag != _ITEM_TAG:
            return None
        pos += 8 + length
        if pos > size:
            return None


_META, _TOP, _ITEM_MODE = "meta", "top", "item"
#: Undefined-length sequences nested deeper than this are left to pydicom (recursion).
_MAX_DEPTH = 32


def _elements(
    data: bytes, pos: int, mode: str, encoding: Any, end: int | None = None, depth: int = 0, implicit: bool = False
) -> tuple[dict, int] | None:
    """The raw elements from ``pos``: of the file meta group (``_META``), to the end of
    the data (``_TOP``), or of one item (``_ITEM_MODE``: to ``end``, or to the item
    delimiter when ``end`` is None). ``(elements, position after them)``, or None when
    pydicom must read them. ``encoding``: the character set sequences inside inherit;
    ``implicit``: implicit VR (the VR is left to conversion, as pydicom leaves it)."""
    out: dict = {}
    size = len(data)
    header, short_header, long_length, vrs, long_vrs = _HEADER, _ITEM, _LONG, VRS, LONG_VRS
    vr = None
    while True:
        if end is not None and pos >= end:
            return (out, pos) if pos == end else None
        if pos + 8 > size:
            return (out, pos) if mode != _ITEM_MODE else None
        if implicit:
            group, elem, length = short_header(data, pos)
        else:
            group, elem, vr_bytes, length = header(data, pos)
        if mode == _META and group != 2:
            return out, pos
        if mode == _ITEM_MODE and end is None and (group << 16 | elem) == _ITEM_END:
            return (out, pos + 8) if data[pos + 4:pos + 8] == b"\x00\x00\x00\x00" else None
        if group == 0xFFFE or group == 0:
            return None
        value_tell = pos + 8
        if not implicit:
            vr = vrs.get(vr_bytes)
            if vr is None:
                return None
            if vr in long_vrs:
                if value_tell + 4 > size:
                    return None
                length = long_length(data, value_tell)[0]
                value_tell += 4
        key = BaseTag(group << 16 | elem)
        if length == _UNDEFINED:
            if mode == _META:
                return None
            sq = vr == "SQ" or (implicit and DicomDictionary.get(key, ("",))[0] == "SQ")
            if sq:
                if depth >= _MAX_DEPTH:
                    return None  # pydicom's reading decides (the run engine refuses deep nesting)
                read_sq = _undefined_sequence(data, value_tell, encoding, depth + 1, implicit)
                if read_sq is None:
                    return None
                items, pos = read_sq
                out[key] = DataElement(key, "SQ", items, value_tell, is_undefined_length=True)
                continue
            if vr not in ("OB", "OW"):
                return None  # pydicom reads undefined-length UN (and unknown implicit tags) by its own rules
            read = _encapsulated(data, value_tell)
            if read is None:
                return None
            value, pos = read
        else:
            pos = value_tell + length
            if pos > size:
                return None
            value = data[value_tell:pos] if length else empty_value_for_VR(vr, raw=True)
            if key == _CHARSET:  # sequences read at once below inherit it (as pydicom's reader does)
                encoding = convert_encodings(convert_string(value or b"", True))
        out[key] = RawDataElement(key, vr, length, value, value_tell, implicit, True)


def _undefined_sequence(data: bytes, pos: int, encoding: Any, depth: int, implicit: bool) -> tuple[Sequence, int] | None:
    """The items of an undefined-length sequence, read at once as pydicom reads them
    (absolute positions; raw elements inside), and the position after its delimiter."""
    items = []
    while True:
        header = _item_header(data, pos)
        if header is None:
            return None
        tag, length = header
        if tag == _SEQ_END:
            if length != 0:
                return None
            pos += 8
            break
        if tag != _ITEM_TAG or length == 0:
            return None
        start = pos
        pos += 8
        if not implicit and data[pos + 4:pos + 6] not in VRS:
            return None  # an item that starts implicit (pydicom switches) or is too short
        read = _elements(data, pos, _ITEM_MODE, encoding, None if length == _UNDEFINED else pos + length, depth, implicit)
        if read is None or not read[0]:
            return None
        elements, pos = read
        own = elements.get(_CHARSET)
        item_encoding = convert_encodings(convert_raw_data_element(own).value) if own is not None else encoding
        item = new_item(
            elements,
            encoding,
            is_undefined_length_sequence_item=length == _UNDEFINED,
            seq_item_tell=start,
            file_tell=start,
        )
        item.set_original_encoding(implicit, True, item_encoding)
        items.append(item)
    sequence = Sequence(items)
    sequence.is_undefined_length = True
    return sequence, pos


def _file_meta(elements: dict) -> FileMetaDataset | None:
    """The file meta as pydicom's ``_read_file_meta_info`` leaves it (first element and
    group length converted)."""
    inner = Dataset(elements, parent_encoding=default_encoding)
    inner.set_original_encoding(False, True, default_encoding)
    file_meta = FileMetaDataset(inner)
    file_meta.set_original_encoding(is_implicit_vr=False, is_little_endian=True, character_encoding=default_encoding)
    try:
        file_meta[list(file_meta.elements())[0].tag]
    except NotImplementedError:
        return None
    if "FileMetaInformationGroupLength" in file_meta:
        file_meta.FileMetaInformationGroupLength  # noqa: B018 - pydicom reads it to compare lengths
    return file_meta


def read_path(path: str, limit: int = 1 << 20) -> FileDataset | None:
    """``pydicom.dcmread(path)`` for the common case and files up to ``limit`` bytes
    (larger ones are left to pydicom, which can defer their large values); None when
    pydicom must read the file. Raises OSError as ``open`` does."""
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        return None
    return read_bytes(data, path=path)


def read_bytes(data: bytes, *, path: str | None = None) -> FileDataset | None:
    """``pydicom.dcmread(io.BytesIO(data))`` for the common case (see the module
    docstring), or ``pydicom.dcmread(path)`` when ``data`` are the bytes of the file at
    ``path``; None when pydicom must read ``data``."""
    if config.debugging or customised() or len(data) < _META_START + 8 or data[128:_META_START] != b"DICM":
        return None
    read = _elements(data, _META_START, _META, default_encoding)
    if read is None or not read[0]:
        return None
    meta_elements, pos = read
    if pos + 8 > len(data):
        return None  # no data set (pydicom then keeps its implicit VR default)
    file_meta = _file_meta(meta_elements)
    if file_meta is None:
        return None
    transfer_syntax = file_meta.get("TransferSyntaxUID")
    if transfer_syntax is None or transfer_syntax in _OTHER_ENCODING or transfer_syntax in uid.PrivateTransferSyntaxes:
        return None
    implicit = transfer_syntax == uid.ImplicitVRLittleEndian
    if _looks_explicit(data, pos) == implicit:
        return None  # pydicom warns and reads the data set the other way
    read = _elements(data, pos, _TOP, default_encoding, implicit=implicit)
    if read is None or not read[0]:
        return None
    elements, _ = read
    dataset = Dataset(elements, parent_encoding=default_encoding)
    if _CHARSET in elements:
        encoding = convert_encodings(convert_raw_data_element(elements[BaseTag(_CHARSET)]).value)
    else:
        encoding = default_encoding
    dataset.set_original_encoding(implicit, True, encoding)
    if path is None:
        source: Any = io.BytesIO(data)
        source.seek(len(data))  # where pydicom's reading leaves it
    else:
        source = path  # FileDataset then records the name, the opener and the file's time, as for a file read by path
    ds = FileDataset(source, dataset, data[:128], file_meta, implicit, True)
    ds.set_original_encoding(implicit, True, dataset._character_set)
    return ds


def _looks_explicit(data: bytes, pos: int) -> bool:
    """pydicom's test of the first element of a data set: two upper-case letters where an
    explicit VR would be."""
    return 0x40 < data[pos + 4] < 0x5B and 0x40 < data[pos + 5] < 0x5B
