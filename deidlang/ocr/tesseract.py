"""Tesseract through ``tesserocr`` (its C++ API, in process).

Why tesserocr and not pytesseract (docs/pixels.md, "The engine"): pytesseract
starts the ``tesseract`` program for every image, which loads the language
model again each time; tesserocr loads it once per process and keeps it. On
this project's machine a 640 x 480 frame took 33 ms with tesserocr and 200 ms
with pytesseract (the same Tesseract 5, page segmentation 11). tesserocr's
wheels bundle libtesseract; the language data (``eng.traineddata``) comes
from the system (Debian ``tesseract-ocr-eng``) or ``TESSDATA_PREFIX``.

Settings: page segmentation mode 11 ("sparse text": annotations scattered
over an image, not a page of prose), English, the LSTM engine; one engine per
process (a tesserocr API object is not shared between threads).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from .engine import Line, OcrUnavailable, Word

__all__ = ["TesseractEngine", "tessdata_path"]

#: Where Debian, Fedora, Homebrew and source builds put the language data.
_TESSDATA_PLACES = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
    "/usr/local/share/tesseract-ocr/tessdata",
)
_INSTALL = (
    "install Tesseract's English language data (Debian/Ubuntu: apt-get install tesseract-ocr-eng; "
    "macOS: brew install tesseract) or set TESSDATA_PREFIX to the folder that holds eng.traineddata"
)


def tessdata_path(lang: str = "eng") -> str:
    """The folder holding ``<lang>.traineddata``: ``$TESSDATA_PREFIX``, else the usual
    places. Raises :class:`OcrUnavailable`."""
    candidates = []
    prefix = os.environ.get("TESSDATA_PREFIX")
    if prefix:
        candidates += [prefix, os.path.join(prefix, "tessdata")]
    candidates += list(_TESSDATA_PLACES)
    for folder in candidates:
        if os.path.isfile(os.path.join(folder, f"{lang}.traineddata")):
            return folder.rstrip("/") + "/"
    raise OcrUnavailable(f"Tesseract's language data '{lang}' was not found: {_INSTALL}")


class TesseractEngine:
    """Tesseract 5 (LSTM), sparse-text segmentation. ``read`` is safe to call from one
    thread at a time per engine; each process builds its own (the engine is not pickled)."""

    name = "tesseract"

    def __init__(self, lang: str = "eng", psm: int = 11, threshold: int | None = None):
        try:
            import tesserocr
        except ImportError:
            raise OcrUnavailable("OCR needs tesserocr: pip install 'deidlang[ocr]' (from a checkout: pip install -e '.[ocr]')") from None
        self._tesserocr = tesserocr
        self.lang = lang
        self.psm = psm
        self.threshold = threshold
        self._path = tessdata_path(lang)
        self._lock = threading.Lock()
        self._api: Any = None
        self.version = tesserocr.tesseract_version().split()[1] if tesserocr.tesseract_version() else ""

    def _ready(self):
        if self._api is None:
            t = self._tesserocr
            try:
                api = t.PyTessBaseAPI(path=self._path, lang=self.lang, psm=self.psm, oem=t.OEM.LSTM_ONLY)
            except RuntimeError as err:
                raise OcrUnavailable(f"Tesseract could not start ({err}): {_INSTALL}") from None
            if self.threshold is not None:
                api.SetVariable("thresholding_method", str(self.threshold))
            self._api = api
        return self._api

    def __getstate__(self):  # a process gets its own API object
        state = dict(self.__dict__)
        state["_api"] = None
        state["_lock"] = None
        state["_tesserocr"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        import tesserocr

        self._tesserocr = tesserocr
        self._lock = threading.Lock()

    def read(self, image: Any) -> list[Line]:
        from PIL import Image

        arr = np.ascontiguousarray(image)
        if arr.dtype != np.uint8:
            raise ValueError("the OCR engine reads 8-bit images")
        picture = Image.fromarray(arr, mode="RGB" if arr.ndim == 3 else "L")
        t = self._tesserocr
        level_word, level_line = t.RIL.WORD, t.RIL.TEXTLINE
        with self._lock:
            api = self._ready()
            api.SetImage(picture)
            api.Recognize()
            lines: list[Line] = []
            words: list[Word] = []
            iterator = api.GetIterator()
            if iterator is None:
                return []
            for item in t.iterate_level(iterator, level_word):
                try:
                    text = (item.GetUTF8Text(level_word) or "").strip()
                except RuntimeError:  # an empty word ("No text returned")
                    text = ""
                box = item.BoundingBox(level_word)
                if text and box is not None:
                    x0, y0, x1, y1 = (int(v) for v in box)
                    words.append(Word(text, (x0, y0, x1, y1), float(item.Confidence(level_word))))
                if item.IsAtFinalElement(level_line, level_word) and words:
                    lines.append(Line(tuple(words)))
                    words = []
            if words:
                lines.append(Line(tuple(words)))
            api.Clear()
        return lines
