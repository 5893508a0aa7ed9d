"""The OCR engine interface: what deidlang asks of an engine, and which engines there are.

An engine reads one 8-bit image (a frame as a viewer shows it, :mod:`.render`)
and returns the lines of text it finds, each with its words, their boxes (in
the image's pixels, end exclusive) and the engine's confidence (0-100). That is
all deidlang needs: matching (:mod:`.match`), blanking (:mod:`.clean`) and the
proof (:mod:`.proof`) work on these values whatever the engine.

The engine shipped is Tesseract (:mod:`.tesseract`, through ``tesserocr``;
docs/pixels.md says why). Another engine is plugged in with
:func:`.registry.register`: a callable that takes the engine's options and returns an
object with ``name`` and ``read(image) -> list[Line]``.
"""

from __future__ import annotations

from typing import Any, Protocol

import attrs

from ..lang.diagnostics import DeidlangError

__all__ = ["Word", "Line", "Engine", "OcrUnavailable"]


class OcrUnavailable(DeidlangError):
    """The OCR engine cannot be used here (its package or its language data is missing).
    The message says what to install."""


@attrs.frozen
class Word:
    """One word the engine read: its text, box ``(x0, y0, x1, y1)`` and confidence (0-100)."""

    text: str
    box: tuple[int, int, int, int]
    confidence: float


@attrs.frozen
class Line:
    """One line of text: its words in reading order (the line's text is their texts joined)."""

    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def box(self) -> tuple[int, int, int, int]:
        xs0, ys0, xs1, ys1 = zip(*(w.box for w in self.words))
        return min(xs0), min(ys0), max(xs1), max(ys1)

    @property
    def confidence(self) -> float:
        return min(w.confidence for w in self.words) if self.words else 0.0

    @property
    def height(self) -> int:
        box = self.box
        return box[3] - box[1]


class Engine(Protocol):
    """What an OCR engine offers deidlang."""

    name: str

    def read(self, image: Any) -> list[Line]:
        """The lines of text in ``image``: a 2-D uint8 array (grey, white text on black or
        the reverse) or ``(rows, columns, 3)`` uint8 RGB."""
        ...
