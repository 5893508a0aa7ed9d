"""Reading sequences (VR SQ) and elements from bytes faster than pydicom's general reader.

A recipe that works inside sequences (the bundled PS3.15 recipe does: nested
UIDs, dates and names) needs every sequence of every file read into items.
pydicom reads items through its general file reader (a generator per item,
file-like objects, one ``Dataset()`` built attribute by attribute); on small
files that costs about as much as reading the rest of the file. Here the
common cases -- little endian, explicit or implicit VR -- are read straight
from the bytes into the very objects pydicom would build: the same raw
elements (tag, VR, length, value, position), undefined-length sequences and
encapsulated pixel data read at once as pydicom reads them, the same item
attributes and character sets, the same ``Sequence``. Anything else (big
endian, empty items, an item that starts in the other VR encoding, unknown
VRs, undefined-length UN, short data) returns ``None`` and the caller lets
pydicom read it. :func:`read_elements` and :func:`read_sequence` serve both
:func:`convert` (a raw sequence value) and ``deidlang/dicomio/fastread.py`` (a whole
file). Equality with pydicom's reading is held by tests/test_sequences.py and
tests/test_fastread.py over every file in pydicom's test data, deid-data and
the demo data.
"""

from __future__ import annotations

from struct import Struct
from typing import Any

from pydicom.charset import convert_encodings
from pydicom.datadict import DicomDictionary
from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element, empty_value_for_VR
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32
from pydicom.valuerep import VR as _VR
from pydicom.values import convert_string

from .rawtext import customised

unpack_header = Struct("<HH2sH").unpack_from
unpack_long = Struct("<L").unpack_from
unpack_item = Struct("<HHL").unpack_from
#: Every VR by its two bytes, and those with a 4-byte length in explicit VR.
VRS = {vr.value.encode("ascii"): vr.value for vr in _VR}
LONG_VRS = frozenset(str(v.value) for v in EXPLICIT_VR_LENGTH_32)
_ITEM_TAG = 0xFFFEE000
_ITEM_END = 0xFFFEE00D
_SEQ_END = 0xFFFEE0DD
_CHARSET = 0x00080005
_UNDEFINED = 0xFFFFFFFF

#: What ``Dataset()`` sets on a new dataset, captured from pydicom itself (so a
#: pydicom that adds attributes is followed): mutable values are copied per item.
_TEMPLATE = dict(Dataset().__dict__)
_MUTABLE = tuple(k for k, v in _TEMPLATE.items() if isinstance(v, (dict, list, set)))


def new_item(elements: dict, encoding: Any, **more: Any) -> Dataset:
    """``Dataset(elements, parent_encoding=encoding)`` with the plain attributes ``more``
    set, without pydicom's per-attribute ``__setattr__`` cost."""
    item = Dataset.__new__(Dataset)
    state = item.__dict__
    state.update(_TEMPLATE)
    for key in _MUTABLE:
        state[key] = _TEMPLATE[key].copy()
    state["_dict"] = elements
    state["_parent_encoding"] = encoding
    state.update(more)
    return item


def set_read_encoding(item: Dataset, implicit: bool, encoding: Any) -> None:
    """``item.set_original_encoding(implicit, True, encoding)`` without pydicom's
    ``__setattr__``: the item was read (little endian) in ``encoding``, so pydicom's
    writer takes its raw elements as they are."""
    state = item.__dict__
    state["_read_implicit"] = implicit
    state["_read_little"] = True
    if encoding is not None:
        state["_read_charset"] = encoding


def _item_header(data: bytes, pos: int) -> tuple[int, int] | None:
    """``(tag, length)`` of the item or delimiter header at ``pos``; None past the end."""
    if pos + 8 > len(data):
        return None
    group, elem, length = unpack_item(data, pos)
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


#: What :func:`read_elements` reads: the file meta group, a whole data set, one item.
META, TOP, ITEM = "meta", "top", "item"
#: Undefined-length sequences nested deeper than this are left to pydicom (recursion).
MAX_DEPTH = 32


def read_elements(data: bytes, pos: int, mode: str, encoding: Any, end: int | None = None, depth: int = 0, implicit: bool = False) -> tuple[dict, int] | None:
    """The elements from ``pos`` as pydicom's element generator reads them: of the file
    meta group (``META``), to the end of the data (``TOP``), or of one item (``ITEM``:
    to ``end``, or to the item delimiter when ``end`` is None). ``(elements, position
    after them)``, or None when pydicom must read them. Values of defined length stay
    raw; undefined-length sequences are read at once (pydicom does too).
    ``encoding``: the character set such sequences inherit; ``implicit``: implicit VR
    (the VR is left to conversion, as pydicom leaves it)."""
    out: dict = {}
    size = len(data)
    header, short_header, long_length, vrs, long_vrs = unpack_header, unpack_item, unpack_long, VRS, LONG_VRS
    vr = None
    while True:
        if end is not None and pos >= end:
            return (out, pos) if pos == end else None
        if pos + 8 > size:
            return (out, pos) if mode != ITEM else None
        if implicit:
            group, elem, length = short_header(data, pos)
        else:
            group, elem, vr_bytes, length = header(data, pos)
        if mode == META and group != 2:
            return out, pos
        if mode == ITEM and end is None and (group << 16 | elem) == _ITEM_END:
            return (out, pos + 8) if data[pos + 4 : pos + 8] == b"\x00\x00\x00\x00" else None
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
            if mode == META:
                return None
            if vr == "SQ" or (implicit and DicomDictionary.get(key, ("",))[0] == "SQ"):
                if depth >= MAX_DEPTH:
                    return None  # pydicom's reading decides (the run engine refuses deep nesting)
                read_sq = read_sequence(data, value_tell, None, encoding, implicit=implicit, depth=depth + 1)
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
            value = data[value_tell:pos] if length else empty_value_for_VR(vr, raw=True)  # type: ignore[assignment]  # b'' for a raw value
            if key == _CHARSET:  # sequences read at once below inherit it (as pydicom's reader does)
                encoding = convert_encodings(convert_string(value or b"", True))
        out[key] = RawDataElement(key, vr, length, value, value_tell, implicit, True)


def read_sequence(
    data: bytes, pos: int, end: int | None, encoding: Any, *, implicit: bool = False, offset: int = 0, depth: int = 0
) -> tuple[Sequence, int] | None:
    """The items of a sequence from ``pos`` as pydicom's ``read_sequence`` builds them:
    to ``end`` (a defined length), or to the sequence delimiter (``end`` None); and the
    position after it. ``offset`` is added to the items' positions (the place of ``data``
    in the file, for a sequence value read on its own). None when pydicom must read it
    (an empty item, an item that starts in the other VR encoding, a short value...)."""
    items = []
    while end is None or pos < end:
        header = _item_header(data, pos)
        if header is None:
            return None
        tag, length = header
        if tag == _SEQ_END and end is None:
            if length != 0:
                return None
            pos += 8
            break
        if tag != _ITEM_TAG or length == 0:
            return None
        start = pos
        pos += 8
        if not implicit and data[pos + 4 : pos + 6] not in VRS:
            return None  # an item that starts implicit (pydicom switches) or is too short
        read = read_elements(data, pos, ITEM, encoding, None if length == _UNDEFINED else pos + length, depth, implicit)
        if read is None or not read[0]:
            return None
        elements, pos = read
        own = elements.get(_CHARSET)
        item = new_item(
            elements,
            encoding,
            is_undefined_length_sequence_item=length == _UNDEFINED,
            seq_item_tell=start + offset,
            file_tell=start + offset,
        )
        set_read_encoding(item, implicit, convert_encodings(convert_raw_data_element(own).value) if own is not None else encoding)
        items.append(item)
    if end is not None and pos != end:
        return None
    sequence = Sequence(items)
    sequence.is_undefined_length = end is None
    return sequence, pos


def read_items(data: bytes, encoding: Any, offset: int) -> Sequence | None:
    """The items of a defined-length explicit VR little endian sequence value, as
    ``pydicom.values.convert_SQ`` would return them; None when pydicom must read it."""
    read = read_sequence(data, 0, len(data), encoding, offset=offset)
    return read[0] if read is not None else None


def convert(dataset: Dataset, key: BaseTag, raw: RawDataElement) -> bool:
    """Convert the raw sequence ``dataset[key]`` in place as ``Dataset.__getitem__``
    does (True), or leave it to pydicom (False)."""
    value = raw.value
    if (
        customised()
        or raw.VR != "SQ"
        or raw.is_implicit_VR
        or not raw.is_little_endian
        or not isinstance(value, bytes)
        or not value
        or raw.length == 0xFFFFFFFF
    ):
        return False
    encoding = dataset.original_character_set or dataset._character_set
    encodings = [encoding] if isinstance(encoding, str) else (encoding or ["iso8859"])
    items = read_items(value, encodings, raw.value_tell)
    if items is None:
        return False
    element = DataElement(key, "SQ", items, raw.value_tell, False, already_converted=True)
    if key.is_private:
        dataset[key] = element  # pydicom sets its private_creator
    else:
        dataset._dict[key] = element  # what __setitem__ does for a Sequence element...
    dataset._set_pixel_representation(element)  # ...and the item attributes it sets (once: pydicom does it twice)
    return True


def nested_deeper(data: bytes, depth: int, limit: int) -> bool | None:
    """Whether a sequence value (explicit VR little endian; the sequence itself at
    ``depth``) holds sequences nested deeper than ``limit``, read from the bytes alone
    (building items only to count levels costs far more than reading the file); None
    when the bytes are not in that simple form (the caller lets pydicom read them)."""
    size = len(data)
    # frames: (is a sequence, end; None: until its delimiter); the value itself is a sequence
    frames: list[tuple[bool, int | None]] = [(True, size)]
    level = depth
    pos = 0
    header, item, long_length, vrs, long_vrs = unpack_header, unpack_item, unpack_long, VRS, LONG_VRS
    while frames:
        is_seq, end = frames[-1]
        if end is not None and pos >= end:
            if pos > end:
                return None
            frames.pop()
            level -= is_seq
            continue
        if pos + 8 > size:
            return None
        if is_seq:
            group, elem, length = item(data, pos)
            tag = group << 16 | elem
            pos += 8
            if tag == _ITEM_TAG:
                frames.append((False, None if length == 0xFFFFFFFF else pos + length))
            elif tag == _SEQ_END and end is None:
                frames.pop()
                level -= 1
            else:
                return None
            continue
        group, elem, vr_bytes, length = header(data, pos)
        if group == 0xFFFE:
            if (group << 16 | elem) != _ITEM_END or end is not None:
                return None
            frames.pop()
            pos += 8
            continue
        vr = vrs.get(vr_bytes)
        if vr is None:
            return None
        if vr in long_vrs:
            if pos + 12 > size:
                return None
            length = long_length(data, pos + 8)[0]
            pos += 12
        else:
            pos += 8
        if vr == "SQ":
            level += 1
            if level > limit:
                return True
            frames.append((True, None if length == 0xFFFFFFFF else pos + length))
            continue
        if length == 0xFFFFFFFF or pos + length > size:
            return None
        pos += length
    return False if pos == size else None
