"""Reading and writing plain-ASCII text values without pydicom's element conversion.

Converting a raw element costs pydicom about ten times what the byte work does
(hooks, per-VR conversion, value validation), and the bundled PS3.15 recipe
reads every UID it replaces and writes a dozen values per file. For the values
where the bytes are fully determined by the text, the runtime does the byte
work itself:

* reading a UID: the value is ASCII by definition (PS3.5 9.1), so its text is
  the bytes without trailing padding, split on backslashes -- what
  ``pydicom.values.convert_UI`` returns;
* writing ASCII text to an element of a text VR: every character set DICOM
  allows encodes ASCII as ASCII (ISO 2022 starts in ASCII; UTF-8 and GB18030
  are ASCII supersets), so the bytes are the text, values joined by a
  backslash, padded to even length with a space (a NUL for UI) -- what
  pydicom's writer produces for the same value.

Anything else (non-ASCII text, numbers, bytes, PersonName objects, pydicom set
to raise on invalid values) goes through pydicom as before. The element
written here is a ``RawDataElement``; pydicom and deidlang's encoder write raw
elements as they are, and pydicom converts it if anything reads it later.
"""

from __future__ import annotations

from typing import Any

from pydicom import config
from pydicom.dataelem import RawDataElement
from pydicom.hooks import hooks
from pydicom.hooks import raw_element_value as _DEFAULT_VALUE_HOOK
from pydicom.hooks import raw_element_vr as _DEFAULT_VR_HOOK
from pydicom.tag import BaseTag

#: VRs whose encoded value is exactly the text (multi-valued ones joined by a backslash).
TEXT_VRS = frozenset(("AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"))
_SINGLE = frozenset(("LT", "ST", "UR", "UT"))  # never multi-valued: a list goes through pydicom


#: VRs pydicom reads as text split on backslashes, each value without trailing spaces/NULs.
_SPLIT_TEXT = frozenset(("LO", "SH", "UC"))


def customised() -> bool:
    """Whether the user changed how pydicom converts raw elements (then pydicom does it)."""
    return bool(
        config.data_element_callback
        or hooks.raw_element_kwargs
        or hooks.raw_element_value is not _DEFAULT_VALUE_HOOK
        or hooks.raw_element_vr is not _DEFAULT_VR_HOOK
    )


def uid_texts(raw: RawDataElement) -> list[str] | None:
    """The UID strings of a raw UI element (one per value), or None when it must be converted."""
    value = raw.value
    if raw.VR != "UI" or not isinstance(value, bytes) or customised():
        return None
    return [item.strip() for item in value.decode("latin-1").rstrip(" \x00").split("\\")]


def texts(raw: RawDataElement) -> list[str] | None:
    """The values of a raw UI, LO, SH or UC element as pydicom reads them (one string per
    value), or None when it must be converted. Plain ASCII bytes (no ISO 2022 escape)
    mean the same in every character set DICOM allows, so no decoding is needed."""
    if raw.VR == "UI":
        return uid_texts(raw)
    value = raw.value
    if (
        raw.VR not in _SPLIT_TEXT
        or not isinstance(value, bytes)
        or not value.isascii()
        or b"\x1b" in value
        or config.settings.reading_validation_mode == config.RAISE  # pydicom would refuse invalid values
        or customised()
    ):
        return None
    return [item.rstrip("\x00 ") for item in value.decode("ascii").split("\\")]


def encode(value: Any, vr: str) -> bytes | None:
    """The encoded bytes of ``value`` for a text ``vr``, or None when pydicom must encode it."""
    if vr not in TEXT_VRS or config.settings.writing_validation_mode == config.RAISE:
        return None
    if type(value) is str:
        text = value
    elif isinstance(value, list) and vr not in _SINGLE and all(type(v) is str for v in value):
        text = "\\".join(value)
    else:
        return None
    if not text.isascii() or (vr == "PN" and "=" in text):
        return None  # pydicom encodes PN component groups itself (it drops empty trailing ones)
    if vr == "UI":
        text = "\\".join(part.strip() for part in text.split("\\"))  # pydicom's UID strips each value
    data = text.encode("ascii")
    if len(data) & 1:
        data += b"\x00" if vr == "UI" else b" "
    return data


def element(raw: RawDataElement, data: bytes) -> RawDataElement:
    """A raw element holding ``data`` in place of ``raw`` (same tag, VR and encoding)."""
    return RawDataElement(raw.tag, raw.VR, len(data), data, raw.value_tell, raw.is_implicit_VR, raw.is_little_endian)


def new_element(tag: BaseTag, vr: str, data: bytes) -> RawDataElement:
    """A new raw element (explicit VR little endian; text bytes are the same in any transfer syntax)."""
    return RawDataElement(tag, vr, len(data), data, 0, False, True)
