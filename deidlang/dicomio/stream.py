"""Writing a large dataset without holding its large values in memory: deferred values
(pixel data, mostly) are copied from the input file in chunks through a :class:`Region`
(:func:`stream_deferred`), and the bytes written are hashed on the way
(:class:`HashingFile`).

May import: :mod:`deidlang.lang` and the rest of :mod:`deidlang.dicomio`.
"""

from __future__ import annotations

import hashlib
import io

__all__ = ["Region", "HashingFile", "stream_deferred"]


class Region(io.BufferedIOBase):
    """A read-only, seekable window on a file: the value of a deferred element,
    handed to pydicom as a *buffered* value so that it is written in chunks."""

    def __init__(self, fh, offset: int, length: int):
        super().__init__()
        self._fh = fh
        self._offset = offset
        self._length = length
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            pos += self._pos
        elif whence == io.SEEK_END:
            pos += self._length
        self._pos = max(0, min(pos, self._length))
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        left = self._length - self._pos
        if size is None or size < 0 or size > left:
            size = left
        if size <= 0:
            return b""
        self._fh.seek(self._offset + self._pos)
        data = self._fh.read(size)
        self._pos += len(data)
        return data

    read1 = read


_STREAMABLE_VRS = frozenset({"OB", "OW", "OD", "OF", "OL", "OV", "UN"})


def stream_deferred(ds, source: str, opened: list) -> None:
    """Replace deferred top-level byte values by windows on the input file, so that
    writing copies them in chunks instead of reading them whole into memory."""
    from pydicom.dataelem import DataElement, RawDataElement

    fh = None
    for tag, elem in list(ds._dict.items()):
        if type(elem) is not RawDataElement or elem.value is not None or not elem.length or elem.length == 0xFFFFFFFF:
            continue
        vr = elem.VR
        if vr is None:  # implicit VR: only pixel data is worth streaming, and its VR is known by the header
            if tag != 0x7FE00010:
                continue
            vr = "OW" if (ds.get("BitsAllocated") or 16) > 8 else "OB"
        if vr not in _STREAMABLE_VRS:
            continue
        if fh is None:
            fh = open(source, "rb")
            opened.append(fh)
        new = DataElement(tag, vr, Region(fh, elem.value_tell, elem.length))
        ds._dict[tag] = new


class HashingFile:
    """A write-only file wrapper that hashes what goes through it (pydicom writes
    small pieces; they are buffered by the file object underneath)."""

    def __init__(self, fh):
        self._fh = fh
        self._hash = hashlib.sha256()
        self._pos = 0
        self.name = getattr(fh, "name", None)

    def write(self, data) -> int:
        self._hash.update(data)
        n = self._fh.write(data)
        self._pos += n
        return n

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR and pos == 0 or pos == self._pos and whence == io.SEEK_SET:
            return self._pos
        raise io.UnsupportedOperation("the output is written front to back")

    def flush(self) -> None:
        self._fh.flush()

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
