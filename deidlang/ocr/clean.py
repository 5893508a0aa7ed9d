"""Blank burned-in text found by OCR, then prove it gone.

:func:`clean` is ``deidc run --clean-pixels --ocr`` for one dataset:

1. the recipe's regions are applied (in memory) and what they leave is read
   by OCR (:mod:`.detect`), frame by frame (sampled in cine);
2. the lines to blank are chosen (``Settings.scope``): every line of text
   outside the keep-list and every line of characters the detector found
   unread (``all``), or only the lines that hold identifying text
   (``matched``); each grown to the detector's line and the places in line
   with it, the gaps between them bridged, with a margin;
3. the pixels are cleaned once, the recipe's regions and the OCR boxes
   together (:func:`deidlang.pixels.clean_pixels`: every frame, every sample);
4. the cleaned pixels are read again (the proof), in three views: as first
   read, each whole frame at twice its size (:func:`.detect.read_whole`), and
   the detector's lines of characters where identifying text was
   (:func:`_left_over`). Identifying text still found is blanked and read once
   more; if any is still there the file fails the proof (``OcrReport.passed``
   is false: the caller quarantines it). When nothing was blanked (nor
   re-encoded lossily), the first reading is the proof: the pixels are the same.

Only a file that passed is marked clean (:func:`mark_clean`): the CID 7050
code 113101 "Clean Pixel Data Option" and ``BurnedInAnnotation NO``.
When the recipe's regions blank every pixel, nothing is read: the image is
black and the proof holds without OCR.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import attrs
import numpy as np

from .. import pixels
from ..runtime.inspection import Region
from .detect import FrameText, TextLine, read, read_whole
from .engine import Engine
from .match import Finding, TextMatcher
from .registry import engine as make_engine
from .settings import DEFAULT, Settings

__all__ = ["OcrReport", "clean", "regions_for", "mark_clean", "engine_for", "CLEAN_PIXEL_DATA"]

#: CID 7050 code of the Clean Pixel Data Option.
CLEAN_PIXEL_DATA = ("113101", "Clean Pixel Data Option")
#: The least margin above and below a line, as a share of its height, and before and
#: after it (about a character's width: the detector's and the engine's boxes often
#: clip the anti-aliased edge of a line's first and last letters).
MARGIN = 0.35
MARGIN_X = 0.7
#: Proof rounds: read, blank what is still found, read again.
ROUNDS = 2

_ENGINES: dict[tuple, Engine] = {}


def engine_for(settings: Settings) -> Engine:
    """This process's engine for ``settings`` (built once: Tesseract loads its model once)."""
    key = (settings.engine,)
    found = _ENGINES.get(key)
    if found is None:
        found = _ENGINES[key] = make_engine(settings.engine)
    return found


@attrs.frozen
class OcrReport:
    """What OCR found and did in one dataset. ``found``: the first reading;
    ``blanked``: the boxes OCR added to the recipe's regions; ``proof``: the last
    reading of the cleaned pixels; ``remaining``: identifying lines in it (the file
    failed when there are any); ``skipped``: why nothing was read ("" when read)."""

    pixels: Any = None  # deidlang.pixels.PixelReport
    found: tuple[FrameText, ...] = ()
    blanked: tuple[Region, ...] = ()
    proof: tuple[FrameText, ...] = ()
    remaining: tuple[TextLine, ...] = ()
    skipped: str = ""

    @property
    def passed(self) -> bool:
        return not self.remaining

    def lines(self) -> list[TextLine]:
        return [line for frame in self.found for line in frame.lines]


def regions_for(frames: Iterable[FrameText], settings: Settings, *, identifying_only: bool | None = None) -> list[Region]:
    """The boxes to blank for the lines read (with their margins): the lines chosen, the
    places in line with them, and with ``--ocr-scope all`` the detector's lines of
    characters that the engine did not read (:attr:`FrameText.textlike`)."""
    matched = settings.scope == "matched" if identifying_only is None else identifying_only
    out: list[Region] = []
    for frame in frames:
        chosen = _whole([line.box for line in frame.lines if line.identifying or not (matched or all(line.kept))], frame.detected)
        if not matched:
            kept = [word for line in frame.lines if all(line.kept) for word in line.words]
            chosen += [b for b in frame.textlike if b not in chosen and not _explained(b, kept)]
        boxes = _in_line(chosen, frame.places)
        for x0, y0, x1, y1 in _bridged(boxes):
            m = max(settings.margin, math.ceil(MARGIN * (y1 - y0)))
            mx = max(settings.margin, math.ceil(MARGIN_X * (y1 - y0)))
            out.append(Region(False, (max(0, x0 - mx), max(0, y0 - m), x1 + mx, y1 + m), "ocr"))
    return out


def _explained(box: Sequence[int], kept: Sequence) -> bool:
    """Whether the words the keep-list kept cover most (70%) of the width of a detector's
    line (a scale mark "5 cm" stays; a date read as "202" does not keep its line)."""
    x0, x1 = box[0], box[2]
    covered = np.zeros(max(1, x1 - x0), dtype=bool)
    for w in kept:
        if _meets(box, w):
            covered[max(0, w[0] - x0) : max(0, min(x1, w[2]) - x0)] = True
    return bool(covered.mean() >= 0.7)


def _whole(chosen: list, detected: Sequence) -> list:
    """``chosen``, each grown to the detector's lines it lies in (those it meets that
    share half of the lower one's height): a line the engine read in part is blanked
    whole."""
    out = []
    for box in chosen:
        x0, y0, x1, y1 = box
        for d in detected:
            shared = min(y1, d[3]) - max(y0, d[1])
            if _meets(box, d) and shared >= 0.5 * min(y1 - y0, d[3] - d[1]):
                x0, y0, x1, y1 = min(x0, d[0]), min(y0, d[1]), max(x1, d[2]), max(y1, d[3])
        out.append((x0, y0, x1, y1))
    return out


def _bridged(boxes: list) -> list:
    """``boxes`` and the gaps between two of them in one line (sharing half of the lower
    one's height, at most twice as high as it, at most two heights apart): a letter
    between two words read, too faint for the engine and the detector, goes with them."""
    out = list(boxes)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            ha, hb = a[3] - a[1], b[3] - b[1]
            low, high = min(ha, hb), max(ha, hb)
            top, bottom = max(a[1], b[1]), min(a[3], b[3])
            gap = max(b[0] - a[2], a[0] - b[2])
            if bottom - top >= 0.5 * low and high <= 2 * low and 0 < gap <= 2 * high:
                out.append((min(a[2], b[2]), top, max(a[0], b[0]), bottom))
    return out


def _meets(a: Sequence[int], b: Sequence[int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _in_line(chosen: list, places: Sequence) -> list:
    """``chosen`` and every proposed place in line with one of them (the same height
    within a factor of two, centres level, at most two heights apart), repeatedly: the
    words of a line that OCR did not read go with the ones it read."""
    out = list(chosen)
    rest = [p for p in places if p not in out]
    grew = True
    while grew and rest:
        grew = False
        for p in list(rest):
            ph, pc = p[3] - p[1], (p[1] + p[3]) / 2
            for b in out:
                h = b[3] - b[1]
                gap = max(p[0] - b[2], b[0] - p[2], 0)
                if 0.5 * h <= ph <= 2 * h and abs(pc - (b[1] + b[3]) / 2) <= 0.35 * h and gap <= 2 * h:
                    out.append(p)
                    rest.remove(p)
                    grew = True
                    break
    return out


#: What a line of characters the detector still finds where identifying text was is.
LEFT_OVER = "text left where identifying text was"


def _left_over(proof: Sequence[FrameText], where: Sequence) -> list[TextLine]:
    """The second view of the proof: the detector's lines of characters in the cleaned
    pixels that meet a box where identifying text was read (the engine may not read
    what is left of a line, the detector still sees its characters)."""
    out = []
    for frame in proof:
        for box in frame.textlike:
            if any(_meets(box, w) for w in where) and not any(_meets(box, line.box) for line in frame.lines if line.identifying):
                out.append(TextLine(frame.frame, box, (), 0.0, "", (Finding(0, 0, LEFT_OVER),)))
    return out


def _every_pixel(ds, regions: Sequence[Region]) -> bool:
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
    except (AttributeError, TypeError, ValueError):
        return False
    mask = pixels.blank_mask(rows, columns, regions)
    return mask is not None and bool(mask.all())


def clean(
    ds: Any,
    regions: Iterable[Region],
    identifiers: Iterable = (),
    settings: Settings = DEFAULT,
    *,
    engine: Engine | None = None,
    preserve_compression: bool = False,
    previews: bool = False,
) -> OcrReport:
    """Blank ``regions`` and the text OCR finds in ``ds`` (in place), then prove it
    gone. ``identifiers``: :func:`deidlang.privacy.identifiers.harvest` of the original. Raises
    :class:`deidlang.pixels.PixelError` when the pixels cannot be decoded or written,
    :class:`.engine.OcrUnavailable` when the engine cannot run."""
    regions = tuple(regions)
    if not any(keyword in ds for keyword in pixels.PIXEL_KEYWORDS):
        return OcrReport(pixels.PixelReport(False, note="no pixel data"), skipped="no pixel data")
    if _every_pixel(ds, regions):
        report = pixels.clean_pixels(ds, regions, preserve_compression=preserve_compression, previews=previews)
        return OcrReport(report, skipped="the recipe's regions blank every pixel")
    engine = engine or engine_for(settings)
    matcher = TextMatcher(identifiers)
    found = tuple(read(ds, pixels.masked_array(ds, regions), engine, matcher, settings))
    added = regions_for(found, settings)
    report = pixels.clean_pixels(ds, regions + tuple(added), preserve_compression=preserve_compression, previews=previews)
    proof: tuple[FrameText, ...] = ()
    remaining: list[TextLine] = []
    where = [line.box for frame in found for line in frame.lines if line.identifying]
    for round_ in range(ROUNDS):
        if not added and not report.recompressed:  # the pixels read first are those released: so is their reading
            proof = found
            break
        cleaned = pixels.masked_array(ds, ())
        proof = tuple(read(ds, cleaned, engine, matcher, settings))
        whole = read_whole(ds, cleaned, engine, matcher, settings)
        remaining = [line for frame in proof + tuple(whole) for line in frame.lines if line.identifying] + _left_over(proof, where)
        if not remaining or round_ == ROUNDS - 1:
            break
        more = regions_for(list(proof) + [FrameText(line.frame, (line,)) for line in remaining], settings, identifying_only=True)
        added += more
        later = pixels.clean_pixels(ds, more, preserve_compression=preserve_compression)
        report = attrs.evolve(
            report,
            cleaned=report.cleaned or later.cleaned,
            transfer_syntax=later.transfer_syntax,
            recompressed=later.recompressed,
            note=later.note or report.note,
        )
    if remaining:
        ds.BurnedInAnnotation = "YES"
    return OcrReport(report, found, tuple(added), proof, tuple(remaining))


def mark_clean(ds: Any) -> None:
    """Say in ``ds`` that its pixels were cleaned and proven clean: the CID 7050 code
    113101 in DeidentificationMethodCodeSequence, its meaning appended to
    DeidentificationMethod, and ``BurnedInAnnotation NO``."""
    from ..runtime.builtins import evaluate, make_builtin

    code, meaning = CLEAN_PIXEL_DATA
    for keyword, builtin in (
        ("DeidentificationMethodCodeSequence", make_builtin("code", [("value", code), ("scheme", "DCM"), ("meaning", meaning)], "")),
        ("DeidentificationMethod", make_builtin("append", [("value", f"{meaning} (OCR-verified)")], "")),
    ):
        element = ds.data_element(keyword) if keyword in ds else None
        setattr(ds, keyword, evaluate(builtin, field=keyword, element=element, run=None))
    ds.BurnedInAnnotation = "NO"
