"""Reading a raw sequence (VR SQ) into items faster than pydicom's general reader.

A recipe that works inside sequences (the bundled PS3.15 recipe does: nested
UIDs, dates and names) needs every sequence of every file read into items.
pydicom reads items through its general file reader (a generator per item,
file-like objects, one ``Dataset()`` built attribute by attribute); on small
files that costs about as much as reading the rest of the file. Here the
common case -- explicit VR little endian, defined-length elements -- is read
straight from the bytes into the very objects pydicom would build: the same
raw elements (tag, VR, length, value, position), the same item attributes, the
same ``Sequence``; anything else (implicit VR, big endian, undefined-length
elements, empty items, a character set inside an item, unknown VRs, short
data) returns ``None`` and the caller lets pydicom read it. Equality with
pydicom's reading is held by tests/test_sequences.py over every file in
pydicom's test data, deid-data and the demo data.
"""

from __future__ import annotations

from struct import Struct
from typing import Any

from pydicom.dataelem import DataElement, RawDataElement, empty_value_for_VR
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32, VR as _VR

from .rawtext import customised

_HEADER = Struct("<HH2sH").unpack_from
_LONG = Struct("<L").unpack_from
_ITEM = Struct("<HHL").unpack_from
#: Every VR by its two bytes, and those with a 4-byte length in explicit VR.
VRS = {vr.value.encode("ascii"): vr.value for vr in _VR}
LONG_VRS = frozenset(str(v.value) for v in EXPLICIT_VR_LENGTH_32)
_ITEM_TAG = 0xFFFEE000
_ITEM_END = 0xFFFEE00D
_SEQ_END = 0xFFFEE0DD
_CHARSET = 0x00080005

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


def read_as_explicit_little(item: Dataset, encoding: Any) -> None:
    """``item.set_original_encoding(False, True, encoding)``: the item was read as
    explicit VR little endian in ``encoding`` (pydicom then writes its raw elements as
    they are)."""
    state = item.__dict__
    state["_read_implicit"] = False
    state["_read_little"] = True
    if encoding is not None:
        state["_read_charset"] = encoding


def _elements(data: bytes, pos: int, end: int | None) -> tuple[dict, int] | None:
    """The raw elements of one item from ``pos`` (to ``end``, or to the item delimiter
    when ``end`` is None) and the position after it; None when pydicom must read it."""
    out: dict = {}
    size = len(data)
    while True:
        if end is not None and pos >= end:
            return (out, pos) if pos == end else None
        if pos + 8 > size:
            return None
        group, elem, vr_bytes, length = _HEADER(data, pos)
        tag = group << 16 | elem
        if tag == _ITEM_END:
            if end is not None or length != 0:
                return None
            return out, pos + 8
        vr = VRS.get(vr_bytes)
        if vr is None or tag == _CHARSET or group == 0xFFFE:
            return None
        pos += 8
        if vr in LONG_VRS:
            if pos + 4 > size:
                return None
            length = _LONG(data, pos)[0]
            pos += 4
        if length == 0xFFFFFFFF or pos + length > size:
            return None
        value = data[pos:pos + length] if length else empty_value_for_VR(vr, raw=True)
        key = BaseTag(tag)
        out[key] = RawDataElement(key, vr, length, value, pos, False, True)
        pos += length


def read_items(data: bytes, encoding: Any, offset: int) -> Sequence | None:
    """The items of a defined-length explicit VR little endian sequence value, as
    ``pydicom.values.convert_SQ`` would return them; None when pydicom must read it."""
    items = []
    pos, size = 0, len(data)
    while pos < size:
        if pos + 8 > size:
            return None
        group, elem, length = _ITEM(data, pos)
        if (group << 16 | elem) != _ITEM_TAG or length == 0:
            return None
        start = pos
        first = pos + 8
        if first + 6 > size or data[first + 4:first + 6] not in VRS:
            return None  # an item that starts implicit (pydicom switches) or is too short
        read = _elements(data, first, None if length == 0xFFFFFFFF else first + length)
        if read is None or not read[0]:
            return None
        elements, pos = read
        item = new_item(
            elements,
            encoding,
            is_undefined_length_sequence_item=length == 0xFFFFFFFF,
            seq_item_tell=start + offset,
            file_tell=start + offset,
        )
        read_as_explicit_little(item, encoding)
        items.append(item)
    sequence = Sequence(items)
    sequence.is_undefined_length = False
    return sequence


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
    header, item, long_length, vrs, long_vrs = _HEADER, _ITEM, _LONG, VRS, LONG_VRS
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
