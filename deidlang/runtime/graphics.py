"""Clean Graphics (PS3.15 Annex E, CID 7050 code 113103): ``deid_func:cleangraphics``.

Graphics are kept, cleaned of what identifies:

* overlay planes (60xx): a plane whose bitmap holds text-like marks (:func:`text_like`:
  character-sized marks side by side, or a mark as tall as a character and crossed by
  many strokes, as merged letters are) is blanked: its OverlayData becomes zeros, and
  the group stays whole and valid (OverlayData is Type 1; removing one plane of several
  would leave, say, 6002 without 6000, which dciodvfy reports as an incomplete plane). A
  plane that cannot be examined (its bits kept in the pixel data's unused high bits, a
  bitmap that is not 1 bit per pixel, or no numpy to unpack it) goes with its whole
  group, as the basic profile removes every overlay. The other planes (outlines,
  arrows, shutters) stay as they are. Every plane's label, description and comments
  are cleaned as text (below);
* curves (50xx, retired): kept; their text (description, label, axis units and labels)
  is cleaned; their data, numbers, is kept as it is (not examined for drawn text);
* GraphicAnnotationSequence (presentation states) and other sequences: the text of
  TextObjectSequence (UnformattedTextValue...) and other free text is cleaned; names,
  dates and times become dummies, instance UIDs keyed hashes (as the basic profile's
  hashuid gives them elsewhere), private elements go; graphic data, codes and layers stay.

Text is cleaned by removing this file's identifying values (``deid_func:scrub``) and
what looks like an identifier (:func:`.cleaning.clean_text`, :mod:`.patterns`: dates, long digit strings,
``Last^First`` names, telephone numbers, ZIP codes, e-mail and web addresses, IP
addresses, social security numbers); a text left with nothing becomes the VR's dummy.
"""

from __future__ import annotations

import functools
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from .cleaning import SCRUB_VRS, clean_text, dummy_value, enclosed, need, one, scrub_regex, text_items
from .content import clean_tree
from .values import Builtin

__all__ = ["clean_graphics", "text_like", "plane_verdict"]

#: the size of a character, in pixels: the smallest legible font to a headline
_GLYPH_HEIGHT = (4, 64)
#: letters that touch are looked for up to this height (taller marks crossed by many
#: strokes are drawings: a polygon's outline)
_MERGED_HEIGHT = 40


def _texts_of(run: Any):
    rx = scrub_regex(run)

    def text(ds: Dataset, elem: Any) -> Any:
        if elem.VR in SCRUB_VRS:
            return one([clean_text(v, rx, elem.VR) for v in text_items(elem.value)])
        return dummy_value(elem.VR)

    return text


# --------------------------------------------------------------------------- overlays


def _runs(row: Any) -> list[tuple[int, int]]:
    import numpy as np

    d = np.diff(np.concatenate(([0], row.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def _components(image: Any) -> list[tuple[int, int, int, int, float]]:
    """``(top, left, height, width, runs per row)`` of every 8-connected mark of a 2-D
    boolean array (runs of each row joined to the runs they touch in the row above)."""
    parent: list[int] = []

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    runs: list[tuple[int, int, int]] = []  # row, start, end (exclusive)
    above: list[int] = []
    for r in range(image.shape[0]):
        row = image[r]
        if not row.any():
            above = []
            continue
        here = []
        for start, end in _runs(row):
            i = len(runs)
            runs.append((r, start, end))
            parent.append(i)
            for j in above:
                _, s, e = runs[j]
                if s <= end and start <= e:  # overlapping or touching diagonally
                    a, b = find(i), find(j)
                    if a != b:
                        parent[a] = b
            here.append(i)
        above = here
    boxes: dict[int, list[int]] = {}
    for i, (r, s, e) in enumerate(runs):
        box = boxes.setdefault(find(i), [r, s, r, e, 0])
        box[0], box[1], box[2], box[3], box[4] = min(box[0], r), min(box[1], s), max(box[2], r), max(box[3], e), box[4] + 1
    return [(top, left, bottom - top + 1, right - left, n / (bottom - top + 1)) for top, left, bottom, right, n in boxes.values()]


def _lines(glyphs: list[tuple[int, int, int, int, float]]) -> bool:
    """Whether two character-sized marks stand side by side as letters of a word do."""
    glyphs = sorted(glyphs, key=lambda g: g[1])
    for i, (top, left, h, w, _) in enumerate(glyphs):
        for top2, left2, h2, _w2, _ in glyphs[i + 1 :]:
            gap = left2 - (left + w)
            if gap > max(h, h2):
                break
            overlap = min(top + h, top2 + h2) - max(top, top2)
            if gap >= -1 and overlap >= 0.5 * min(h, h2) and max(h, h2) <= 2.5 * min(h, h2):
                return True
    return False


def text_like(image: Any) -> bool:
    """Whether a bitmap (2-D, true where drawn) holds text-like marks, read across or
    turned a quarter (see the module docstring)."""
    low, high = _GLYPH_HEIGHT
    for view in (image, image.T):
        marks = _components(view)
        glyphs = [m for m in marks if low <= m[2] <= high and m[3] <= 2 * m[2]]
        if _lines(glyphs):
            return True
        if any(low <= h <= _MERGED_HEIGHT and w > 2 * h and crossings >= 3 for _, _, h, w, crossings in marks):
            return True  # letters that touch: one wide mark crossed by many strokes
    return False


@functools.lru_cache(maxsize=32)
def _bitmap_text_like(data: bytes, rows: int, columns: int, frames: int) -> bool:
    import numpy as np

    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
    if bits.size < rows * columns * frames:
        return True  # shorter than it says: not examined, not kept
    planes = bits[: rows * columns * frames].astype(bool).reshape(frames, rows, columns)
    return any(text_like(plane) for plane in planes)


def _number(ds: Dataset, tag: int, default: int | None = None) -> int | None:
    elem = ds.get(tag)
    value = None if elem is None else elem.value
    if isinstance(value, (list, tuple, MultiValue)):
        value = value[0] if value else None
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def plane_verdict(ds: Dataset, group: int) -> str:
    """``"keep"`` or why overlay plane ``group`` of ``ds`` goes: ``"text"`` (it holds
    text-like marks) or ``"unexamined"`` (it cannot be read here)."""
    at = group << 16
    data = ds.get(at | 0x3000)
    rows, columns = _number(ds, at | 0x0010), _number(ds, at | 0x0011)
    frames = _number(ds, at | 0x0015, 1)
    bits, position = _number(ds, at | 0x0100, 1), _number(ds, at | 0x0102, 0)
    if data is None or not isinstance(data.value, (bytes, bytearray)) or not rows or not columns or not frames or bits != 1 or position != 0:
        return "unexamined"
    try:
        import numpy  # noqa: F401 - the bitmap is unpacked with it
    except ImportError:
        return "unexamined"
    return "text" if _bitmap_text_like(bytes(data.value), rows, columns, frames) else "keep"


def _remove_group(run: Any, ds: Dataset, group: int) -> None:
    for f in list(run.fields) if run is not None else ():
        if f.parent is ds and f.tag_int >> 16 == group and f.alive:
            run.delete(f)
    for tag in [t for t in ds.keys() if int(t) >> 16 == group]:
        del ds[tag]


# --------------------------------------------------------------------------- the built-in


def clean_graphics(b: Builtin, field: Any, element: Any, run: Any) -> Any:
    """``deid_func:cleangraphics`` (see the module docstring). On an overlay plane that
    goes, the whole group is removed and the value is None (nothing left to set)."""
    need(element, b)
    if element.VR == "SQ":
        if not enclosed(run, b.name):
            clean_tree(b, run, element.value, _texts_of(run))
        return element.value
    tag = int(element.tag)
    group = tag >> 16
    current = getattr(run, "current", None)
    parent = getattr(current, "parent", None)
    if 0x6000 <= group <= 0x60FF and not group & 1 and isinstance(parent, Dataset):
        verdict = plane_verdict(parent, group)
        if verdict == "unexamined":
            _remove_group(run, parent, group)
            return None
        if verdict == "text" and tag & 0xFFFF == 0x3000:
            return bytes(len(element.value))  # blank: the plane stays whole (and valid), showing nothing
    if element.VR in SCRUB_VRS and element.value not in (None, ""):
        return _texts_of(run)(parent, element)
    return element.value
