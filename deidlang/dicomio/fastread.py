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
undefined-length sequences nested deeper than ``runtime.sequences.MAX_DEPTH``, pydicom's
debugging mode or customised conversion hooks. The element and item reading is
``runtime/sequences.py``'s, which also reads sequence values on their own.
``tests/test_fastread.py`` holds the two readings equal, object for object and in written bytes, over
every local test file, the damaged-file corpus and truncations.
"""

from __future__ import annotations

import io
from typing import Any

from pydicom import config, uid
from pydicom.charset import convert_encodings, default_encoding
from pydicom.dataelem import convert_raw_data_element
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.tag import BaseTag

from .rawtext import customised
from .sequences import META, TOP, read_elements

__all__ = ["read_bytes", "read_path"]

_CHARSET = 0x00080005
#: Where the preamble and "DICM" end.
_META_START = 132
#: Transfer syntaxes whose data set is big endian or compressed as a whole.
_OTHER_ENCODING = frozenset((uid.ExplicitVRBigEndian, uid.DeflatedExplicitVRLittleEndian))


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
    read = read_elements(data, _META_START, META, default_encoding)
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
    read = read_elements(data, pos, TOP, default_encoding, implicit=implicit)
    if read is None or not read[0]:
        return None
    elements, _ = read
    dataset = Dataset(elements, parent_encoding=default_encoding)
    encoding: str | list[str]
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
