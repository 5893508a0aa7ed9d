"""Residual-PHI verification, step 2: where an original's identifying values turn up in
its output (step 1, what identifies the original, is :mod:`.identifiers`).

:func:`search` looks for those values, case-insensitively and as whole
words (UIDs and dates as whole numbers), in every element of the output
(file meta, sequences at every depth, private blocks; text decoded with
the dataset's character set; binary values decoded as latin-1, UTF-8 and
UTF-16LE), and then in the file's raw bytes in the same encodings, for
values hidden where no element can be read (the preamble, damaged
elements). A raw-byte hit is reported only for a value no element holds.
Not reported: a value found in an element that does not identify and
still holds what the original had there (``Manufacturer TOSHIBA`` when
the InstitutionName was ``TOSHIBA`` too), a value the recipe wrote, and
anything inside pixel, overlay, waveform, curve or lookup-table samples
(numbers, where any short word turns up by chance); values shorter than
4 characters are searched in text only, not in binary data.

Results (:class:`Leak`) name the output file, the element (deid uid path and
keyword path) and the kind of value, never the value itself; ``Leak.value``
is there for ``--show-values`` only.

May import: :mod:`deidlang.lang`, :mod:`deidlang.runtime`, :mod:`deidlang.dicomio` and
the rest of :mod:`deidlang.privacy`.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator, Mapping

import attrs
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from .identifiers import DATE_VRS, NON_DIGITS, Identifier, value_digest, values_of, walk_elements

__all__ = ["Leak", "search", "check_dataset"]

#: Sample data: numbers, not text (pixels, overlays, curves, waveforms, lookup tables).
_SAMPLE_TAGS = frozenset(
    {
        0x7FE00008,
        0x7FE00009,
        0x7FE00010,  # float, double and integer pixel data
        0x00281201,
        0x00281202,
        0x00281203,
        0x00281204,  # palette color lookup table data
        0x00281221,
        0x00281222,
        0x00281223,  # segmented palette color lookup table data
        0x00283006,  # LUTData
        0x54001010,  # WaveformData
        0x56000020,  # SpectroscopyData
    }
)


#: Binary values up to this size are decoded and searched as elements; larger ones
#: only by the pass over the whole file's bytes.
_ELEMENT_BYTES = 1 << 20
#: Shorter values are searched in text only: in binary data they turn up by chance.
_BINARY_MINIMUM = 4


_PHONE_RUN = re.compile(r"\+?\(?\d[\d\s().\-/]{5,}\d")


@attrs.frozen
class Leak:
    """An identifying value of the original found in the output. ``value`` is printed only
    with ``--show-values``. One value may be several kinds (a date that is both StudyDate
    and SeriesDate): ``kinds[i]`` is what the value was at ``sources[i]`` (a deid uid
    path in the original)."""

    file: str
    element: str  # deid uid path in the output, or "<file bytes>"
    path: str  # keyword path, or where in the bytes ("offset 1234, utf-16le")
    kinds: tuple[str, ...]
    sources: tuple[str, ...]
    value: str
    original: str = ""

    @property
    def kind(self) -> str:
        return ", ".join(self.kinds)

    @property
    def in_place(self) -> bool:
        """Whether the value is where the original had it (kept, not copied elsewhere)."""
        return self.element in self.sources

    def as_dict(self, show_values: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file,
            "original": self.original,
            "element": self.element,
            "path": self.path,
            "kinds": list(self.kinds),
            "sources": list(self.sources),
        }
        if show_values:
            out["value"] = self.value
        return out


#: Runs of letters and digits (a word of the text, matched against identifiers by its
#: longest word), UID-shaped runs, and the shapes a date is written in; compiled once:
#: matching an original's identifiers compiles nothing per file.
_TOKEN = re.compile(r"[^\W_]+")
_UID_RUN = re.compile(r"[0-9]+(?:\.[0-9]+)+")
_DATE_SHAPES = (
    # eight digits, alone or followed by a time of day (a DT: HH, HHMM or HHMMSS), not by
    # more digits: a random 39-digit UID component may start with a date's digits
    re.compile(r"(?<![0-9])[0-9]{8}(?=(?:[0-9]{2}){0,3}(?![0-9]))"),
    re.compile(r"(?<![0-9])(?=([0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}(?![0-9])))"),
    re.compile(r"(?<![^\W_])(?=([0-9]{1,2}[ -][^\W\d_]{3,9}[ -][0-9]{4}(?![0-9])|[^\W\d_]{3,9} [0-9]{1,2},? [0-9]{4}(?![0-9])))"),
)


def _anchor(key: str) -> tuple[int, str] | None:
    """``(offset, word)``: the longest word of an identifier's text, by which it is looked up."""
    best = None
    for m in _TOKEN.finditer(key):
        if best is None or len(m.group(0)) > len(best[1]):
            best = (m.start(), m.group(0))
    return best


def _trim(text: str) -> str:
    """An identifier's text without what cannot start or end a whole-word match."""
    start, end = 0, len(text)
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return text[start:end]


@attrs.frozen
class _Matcher:
    """One original's identifiers, indexed for search: words by their longest word, UIDs,
    dates and phone numbers by their text (lower-cased)."""

    by_text: Mapping[str, tuple[Identifier, ...]]  # lower-cased text -> identifiers
    words: Mapping[str, tuple[tuple[int, str], ...]]  # longest word -> (its offset, text) of each identifier
    uids: frozenset[str]
    dates: frozenset[str]
    phones: Mapping[str, tuple[Identifier, ...]]  # digits -> identifiers
    shortest: int  # the shortest longest-word: shorter words of a text are not looked up

    @classmethod
    def of(cls, identifiers: Iterable[Identifier]) -> "_Matcher":
        by_text: dict[str, list[Identifier]] = {}
        words: dict[str, list[tuple[int, str]]] = {}
        uids: set[str] = set()
        dates: set[str] = set()
        phones: dict[str, list[Identifier]] = {}
        for it in identifiers:
            if it.family == "phone":
                phones.setdefault(it.text, []).append(it)
                continue
            key = (_trim(it.text) if it.family == "word" else it.text).lower()
            if not key:
                continue
            if it.family == "uid":
                uids.add(key)
            elif it.family == "date":
                dates.add(key)
            else:
                anchor = _anchor(key)
                if anchor is None:
                    continue
                if (anchor[0], key) not in words.get(anchor[1], ()):
                    words.setdefault(anchor[1], []).append((anchor[0], key))
            by_text.setdefault(key, []).append(it)
        return cls(
            {k: tuple(v) for k, v in by_text.items()},
            {k: tuple(v) for k, v in words.items()},
            frozenset(uids),
            frozenset(dates),
            {k: tuple(v) for k, v in phones.items()},
            min((len(w) for w in words), default=1),
        )

    def find(self, text: str) -> Iterator[tuple[int, str, Identifier]]:
        """``(offset, matched text, identifier)`` for every identifier found in ``text``:
        words case-insensitively and whole (not inside a longer word; a name's parts are
        found inside the whole name too), UIDs whole or as the tail of a longer UID,
        dates not inside a longer number, phone numbers inside any run of digits."""
        for start, found in self._words(text):
            for it in self.by_text[found.lower()]:
                if it.family == "word":
                    yield start, found, it
        if self.uids:
            for m in _UID_RUN.finditer(text):
                run = m.group(0)
                at = 0
                while at >= 0:
                    tail = run[at:]
                    if tail in self.uids:
                        for it in self.by_text[tail]:
                            if it.family == "uid":
                                yield m.start() + at, tail, it
                    at = run.find(".", at)
                    at = at + 1 if at >= 0 else -1
        if self.dates:
            for rx in _DATE_SHAPES:
                for m in rx.finditer(text):
                    found = m.group(1) if rx.groups else m.group(0)
                    if found.lower() in self.dates:
                        for it in self.by_text[found.lower()]:
                            if it.family == "date":
                                yield m.start(), found, it
        if self.phones:
            for m in _PHONE_RUN.finditer(text):
                digits = NON_DIGITS.sub("", m.group(0))
                for phone, its in self.phones.items():
                    if phone in digits:
                        for it in its:
                            yield m.start(), m.group(0), it

    def _words(self, text: str) -> Iterator[tuple[int, str]]:
        if not self.words:
            return
        folded = text.lower()
        # a character whose lower case is longer: compare piece by piece
        lowered = folded if len(folded) == len(text) else None
        n = len(text)
        for m in _TOKEN.finditer(text):
            token = m.group(0)
            if len(token) < self.shortest:
                continue
            candidates = self.words.get(token.lower())
            if not candidates:
                continue
            for offset, key in candidates:
                start = m.start() - offset
                end = start + len(key)
                if start < 0 or end > n:
                    continue
                piece = lowered[start:end] if lowered is not None else text[start:end].lower()
                if piece != key:
                    continue
                if (start and text[start - 1].isalnum()) or (end < n and text[end].isalnum()):
                    continue
                yield start, text[start:end]


def _is_sample(tag: int) -> bool:
    """Pixel, overlay, curve, waveform, spectroscopy and lookup-table samples: numbers."""
    if tag in _SAMPLE_TAGS:
        return True
    group, element = tag >> 16, tag & 0xFFFF
    return (0x6000 <= group <= 0x60FF and element == 0x3000) or (0x5000 <= group <= 0x50FF and element in (0x3000, 0x200C))


def _texts(elem) -> list[str]:
    """The searchable text forms of one element's value."""
    value = elem.value
    if value is None or isinstance(value, Sequence):
        return []
    if isinstance(value, (bytes, bytearray)):
        # large blobs are left to the pass over the file's bytes
        return _decodings(bytes(value)) if len(value) <= _ELEMENT_BYTES else []
    if isinstance(value, (list, tuple, MultiValue)):
        return ["\\".join(str(v) for v in value)]
    return [str(value)]


def _decodings(data: bytes) -> list[str]:
    if not data:
        return []
    out = [data.decode("latin-1")]
    utf8 = data.decode("utf-8", errors="ignore")
    if utf8 != out[0]:
        out.append(utf8)
    if len(data) >= 2:
        out.append(data.decode("utf-16-le", errors="ignore"))
        out.append(data[1:].decode("utf-16-le", errors="ignore"))
    return out


def _coincidence(elem, uid: str, matched: str, plain: Mapping[str, frozenset], written: frozenset[str], dated: Mapping[str, frozenset] | None = None) -> bool:
    """Whether a value found in ``elem`` is no copy: the element does not identify and
    holds what the original had there, or its value is one the recipe writes, or (when
    the recipes shift dates) it is a date element whose every value the run changed from
    what the original had there: a shifted date that falls on another date of the
    original by chance (a calibration date shifted onto the study date)."""
    held = plain.get(uid)
    value = elem.value
    if dated and elem.VR in DATE_VRS and uid in dated:
        now = [v.strip() for v in values_of(elem)]
        if now and not (set(now) & dated[uid]):
            return True
    if isinstance(value, (bytes, bytearray)):
        return held is not None and value_digest(bytes(value)) in held
    values = [v.strip() for v in values_of(elem)]
    needle = matched.lower()
    containing = [v for v in values if needle in v.lower()] or values
    return bool(containing) and all((held is not None and v in held) or v.lower() in written for v in containing)


def search(
    identifiers: Iterable[Identifier],
    output: Dataset,
    data: bytes | None = None,
    *,
    file: str = "",
    original: str = "",
) -> list[Leak]:
    """Every identifier found in ``output`` (every element) and in ``data`` (its file bytes).

    One leak per (output element, value found); raw-byte hits only for values
    no element holds. With a :class:`Harvest`, values that are no copy (see
    :func:`_coincidence`) are not reported.
    """
    plain: Mapping[str, frozenset] = getattr(identifiers, "plain", {})
    written: frozenset[str] = getattr(identifiers, "written", frozenset())
    dated: Mapping[str, frozenset] = getattr(identifiers, "dated", {})
    matcher = _Matcher.of(identifiers)
    hits: dict[tuple[str, str], tuple[str, str, dict[Identifier, None]]] = {}  # (place, value) -> (path, shown, ids)
    found_anywhere: set[str] = set()
    samples: list[bytes] = []
    for uid, path, elem, _within in walk_elements(output):
        if _is_sample(int(elem.tag)):
            if isinstance(elem.value, (bytes, bytearray)):
                samples.append(bytes(elem.value))
            continue
        binary = isinstance(elem.value, (bytes, bytearray))
        for text in _texts(elem):
            for _offset, matched, it in matcher.find(text):
                if binary and len(it.text) < _BINARY_MINIMUM:
                    continue
                value = it.text.lower()
                found_anywhere.add(value)
                if _coincidence(elem, uid, matched, plain, written, dated):
                    continue
                key = (uid, value)
                entry = hits.get(key)
                if entry is None:
                    entry = hits[key] = (path, matched, {})
                entry[2][it] = None
    if data:
        for start, chunk in _segments(data, _ranges(data, samples)):
            for label, text, scale, shift in _raw_texts(chunk):
                for offset, matched, it in matcher.find(text):
                    value = it.text.lower()
                    if len(it.text) < _BINARY_MINIMUM or (value in found_anywhere and ("<file bytes>", value) not in hits):
                        continue
                    key = ("<file bytes>", value)
                    entry = hits.get(key)
                    if entry is None:
                        entry = hits[key] = (f"offset {start + offset * scale + shift}, {label}", matched, {})
                    entry[2][it] = None
                    found_anywhere.add(value)
    leaks = []
    for (place, _value), (path, shown, ids) in hits.items():
        both = tuple(dict.fromkeys((i.kind, i.source) for i in ids))  # kinds[i] was found at sources[i]
        kinds = tuple(k for k, _ in both)
        sources = tuple(src for _, src in both)
        leaks.append(Leak(file, place, path, kinds, sources, shown, original))
    return leaks


def _ranges(data: bytes, samples: list[bytes]) -> list[tuple[int, int]]:
    """Where the sample values lie in ``data`` (those of 64 bytes or more that are found;
    top-level pixel data, the largest, is looked for near the end first)."""
    out = []
    for value in samples:
        n = len(value)
        if n < 64 or n > len(data):
            continue
        start = data.find(value, max(0, len(data) - n - 4096))
        if start < 0:
            start = data.find(value)
        if start >= 0:
            out.append((start, start + n))
    return sorted(out)


def _segments(data: bytes, ranges: list[tuple[int, int]]) -> Iterator[tuple[int, bytes]]:
    """``(offset, bytes)`` of ``data`` outside ``ranges``."""
    at = 0
    for start, end in ranges:
        if start > at:
            yield at, data[at:start]
        at = max(at, end)
    if at < len(data):
        yield at, data[at:] if at else data


def _raw_texts(data: bytes) -> Iterator[tuple[str, str, int, int]]:
    """(encoding label, text, offset scale, offset shift) for the plausible encodings of raw bytes."""
    yield "latin-1", data.decode("latin-1"), 1, 0
    utf8 = data.decode("utf-8", errors="replace")
    if len(utf8) != len(data):
        yield "utf-8", utf8, 1, 0  # offsets are approximate after multi-byte characters
    yield "utf-16le", data.decode("utf-16-le", errors="replace") if len(data) % 2 == 0 else data[:-1].decode("utf-16-le", errors="replace"), 2, 0
    odd = data[1:]
    yield "utf-16le", odd.decode("utf-16-le", errors="replace") if len(odd) % 2 == 0 else odd[:-1].decode("utf-16-le", errors="replace"), 2, 1


def _serialize(ds: Dataset) -> bytes:
    from ..dicomio.encode import to_bytes

    return to_bytes(ds)


def check_dataset(identifiers: Iterable[Identifier], output: Dataset, *, file: str = "", data: bytes | None = None) -> list[Leak]:
    """``deidc run --verify``: the leaks of one de-identified dataset (in memory) against the
    identifiers harvested from its original before the recipe ran (``harvest(ds,
    recipes=programs)``). ``data``: the bytes that will be written (serialised here when
    not given)."""
    if data is None:
        data = _serialize(output)
    return search(identifiers, output, data, file=file, original=file)
