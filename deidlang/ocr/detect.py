"""Find text in the frames of a dataset: which lines there are, which identify.

:func:`read` renders the sampled frames (:mod:`.render`), finds the places
that look like text (:mod:`.propose`), has the engine read them all in one
call, keeps the words that are text rather than noise, and marks each line
with what identifies in it (:mod:`.match`).

The result holds the text read, for ``--show-values`` only: reports give
boxes, confidences and kinds of value (:mod:`.report`).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import attrs
import numpy as np

from .engine import Engine, Line
from .match import Finding, TextMatcher
from .render import frame_count, frames, sample
from .settings import Settings

__all__ = ["TextLine", "FrameText", "read", "read_arrays", "read_whole", "TEXTLIKE"]

#: A line the detector found is text-like with this many character-like marks in a row
#: (:func:`.textdet.characters`; calipers and flow colour make fewer) ...
TEXTLIKE = 3
#: ... or when the detector is this sure of a line at least ``SURE_ASPECT`` times as wide
#: as high (faint text whose marks do not stand out; flow colour makes squat boxes).
SURE_SCORE = 0.85
SURE_ASPECT = 3.0


def _sure(place) -> bool:
    x0, y0, x1, y1 = place.box
    return place.score >= SURE_SCORE and x1 - x0 >= SURE_ASPECT * (y1 - y0)


@attrs.frozen
class TextLine:
    """A line of text read in one frame: its box, the boxes of its words, the engine's
    confidence, the text (for ``--show-values`` only) and what identifies in it."""

    frame: int
    box: tuple[int, int, int, int]
    words: tuple[tuple[int, int, int, int], ...]
    confidence: float
    text: str = attrs.field(repr=False)
    findings: tuple[Finding, ...] = ()
    word_spans: tuple[tuple[int, int], ...] = ()  # each word's span in ``text``
    kept: tuple[bool, ...] = ()  # each word: kept by the keep-list

    @property
    def identifying(self) -> bool:
        return bool(self.findings)

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    def kinds(self) -> list[str]:
        return list(dict.fromkeys(f.kind for f in self.findings))

    def matched_words(self) -> list[int]:
        """The words that hold identifying text."""
        out = []
        for i, (s, e) in enumerate(self.word_spans):
            if any(f.start < e and s < f.end for f in self.findings):
                out.append(i)
        return out


@attrs.frozen
class FrameText:
    """The lines of text read in one frame, and every place proposed (read or not: a
    place in line with text is blanked with it, :func:`deidlang.ocr.clean.regions_for`);
    ``detected``: the lines the text detector found (:mod:`.textdet`), and of them
    ``textlike``: those made of three character-like marks or more (``--ocr-scope all``
    blanks them even when the engine read nothing there)."""

    frame: int
    lines: tuple[TextLine, ...]
    places: tuple[tuple[int, int, int, int], ...] = ()
    detected: tuple[tuple[int, int, int, int], ...] = ()
    textlike: tuple[tuple[int, int, int, int], ...] = ()


def _grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3:
        weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return np.clip(image[..., :3].astype(np.float32) @ weights, 0, 255).astype(np.uint8)
    return image


def _engine_lines(grey: np.ndarray, engine: Engine, detected: Sequence = ()) -> tuple[list[tuple[Line, tuple[int, int, int, int]]], list]:
    """The lines the engine reads in the proposals of ``grey`` and the lines the detector
    found there (``detected``), in frame coordinates, each with the box of its place."""
    from .engine import Word
    from .propose import collage, proposal_for, proposals

    found, strengths = proposals(grey)
    found += [proposal_for(grey, box) for box in detected]
    if not found:
        return [], []
    page, placed = collage(grey, found, strengths)
    out: list[tuple[Line, tuple[int, int, int, int]]] = []
    for line in engine.read(page):
        by_piece: dict[int, list[Word]] = {}
        for w in line.words:
            cy = (w.box[1] + w.box[3]) / 2
            for i, piece in enumerate(placed):
                if piece.at[1] - 8 <= cy < piece.at[1] + piece.size[1] + 8:
                    s, (px, py), (ox, oy) = piece.scale, piece.at, piece.origin
                    box = (
                        ox + int((w.box[0] - px) / s),
                        oy + int((w.box[1] - py) / s),
                        ox + int(np.ceil((w.box[2] - px) / s)),
                        oy + int(np.ceil((w.box[3] - py) / s)),
                    )
                    by_piece.setdefault(i, []).append(Word(w.text, box, w.confidence))
                    break
        out.extend((Line(tuple(words)), placed[i].proposal.box) for i, words in by_piece.items())
    return out, [p.box for p in found]


def _is_word(word, settings: Settings) -> bool:
    """A word that is text, not noise: 4 letters or digits read with ``min_confidence``
    or more, or 3 read with 10 more (speckle and edges are read as short words)."""
    alnum = sum(c.isalnum() for c in word.text)
    return (alnum >= 4 and word.confidence >= settings.min_confidence) or (alnum >= 3 and word.confidence >= settings.min_confidence + 10)


def _is_text(word: str) -> bool:
    return sum(c.isalnum() for c in word) >= 1


def _line(frame: int, line: Line, where: tuple[int, int, int, int], matcher: TextMatcher, settings: Settings) -> TextLine | None:
    words = [w for w in line.words if _is_text(w.text)]
    if not words:
        return None
    text_parts, spans, at = [], [], 0
    for w in words:
        spans.append((at, at + len(w.text)))
        text_parts.append(w.text)
        at += len(w.text) + 1
    text = " ".join(text_parts)
    findings = tuple(matcher.find(text)) if matcher else ()
    if not findings and not any(_is_word(w, settings) for w in words):
        return None  # noise: speckle, edges and marks read as letters
    boxes = tuple(w.box for w in words)
    x0 = min(min(b[0] for b in boxes), where[0])
    y0 = min(min(b[1] for b in boxes), where[1])
    x1 = max(max(b[2] for b in boxes), where[2])
    y1 = max(max(b[3] for b in boxes), where[3])
    kept = tuple(settings.keeps(w.text) for w in words)
    return TextLine(frame, (x0, y0, x1, y1), boxes, min(w.confidence for w in words), text, findings, tuple(spans), kept)


def _overlap(a, b) -> float:
    """Intersection over the smaller box."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h / max(smaller, 1)


def _distinct(lines: list[TextLine]) -> list[TextLine]:
    """One line per place: the same text read from both polarities or both pyramid levels
    is kept once (the identifying reading first, then the most confident)."""
    out: list[TextLine] = []
    for line in sorted(lines, key=lambda ln: (not ln.identifying, -ln.confidence)):
        for i, kept in enumerate(out):
            if _overlap(line.box, kept.box) > 0.6:  # the same place: the box covers both readings
                a, b = kept.box, line.box
                out[i] = attrs.evolve(kept, box=(min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])))
                break
        else:
            out.append(line)
    return sorted(out, key=lambda ln: (ln.box[1], ln.box[0]))


def read_arrays(images: Iterable[tuple[int, np.ndarray]], engine: Engine, matcher: TextMatcher, settings: Settings) -> list[FrameText]:
    """Read 8-bit frames ``(index, image)``."""
    from .textdet import characters, detector

    finder = detector(settings.detector)
    out = []
    for index, image in images:
        grey = _grey(image)
        places_found = finder.find(image) if finder is not None else []
        detected = [p.box for p in places_found]
        lines = []
        read_lines, places = _engine_lines(grey, engine, detected)
        for line, where in read_lines:
            found = _line(index, line, where, matcher, settings)
            if found is not None:
                lines.append(found)
        textlike = tuple(p.box for p in places_found if characters(grey, p.box) >= TEXTLIKE or _sure(p))
        out.append(FrameText(index, tuple(_distinct(lines)), tuple(places), tuple(detected), textlike))
    return out


def read(ds: Any, arr: np.ndarray, engine: Engine, matcher: TextMatcher, settings: Settings) -> list[FrameText]:
    """Read the sampled frames of ``ds`` whose decoded pixels are ``arr``."""
    indices = sample(frame_count(ds), settings.max_frames)
    return read_arrays(frames(ds, arr, indices), engine, matcher, settings)


def read_whole(ds: Any, arr: np.ndarray, engine: Engine, matcher: TextMatcher, settings: Settings, scale: int = 2) -> list[FrameText]:
    """Another view of the sampled frames, for the proof: the engine given each whole frame
    (grey) at ``scale`` times its size, with its own page layout, no text places."""
    from PIL import Image

    from .engine import Word

    out = []
    for index, image in frames(ds, arr, sample(frame_count(ds), settings.max_frames)):
        grey = Image.fromarray(_grey(image))
        big = np.asarray(grey.resize((grey.width * scale, grey.height * scale), Image.Resampling.BICUBIC))
        lines = []
        for line in engine.read(big):
            words = tuple(Word(w.text, _shrunk(w.box, scale), w.confidence) for w in line.words)
            if not words:
                continue
            found = _line(index, Line(words), Line(words).box, matcher, settings)
            if found is not None:
                lines.append(found)
        out.append(FrameText(index, tuple(lines)))
    return out


def _shrunk(box: tuple[int, int, int, int], scale: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return x0 // scale, y0 // scale, -(-x1 // scale), -(-y1 // scale)
