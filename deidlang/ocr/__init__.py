"""Burned-in text found by OCR, blanked, and proven gone (``deidlang[ocr]``).

* :mod:`.engine`: the engine interface; :mod:`.registry`: the engines; :mod:`.tesseract`:
  Tesseract through tesserocr.
* :mod:`.render`: frames in 8 bits as a viewer shows them.
* :mod:`.match`: which text identifies (the header's values, generic shapes).
* :mod:`.detect`: the lines of text in a dataset's frames.
* :mod:`.clean`: blank them with the recipe's regions, then the proof.
* :mod:`.report`: what ``deidc inspect --ocr`` and ``deidc verify --pixels`` print.
* :mod:`.run`: one file of ``deidc run --clean-pixels --ocr`` (called by the engine's worker).

Owns: rendering frames for reading, the engine interface, which text identifies, and the
proof that cleaned pixels show none. May import: :mod:`deidlang.privacy` (the harvest's
values and verify's leaks), :mod:`deidlang.pixels` and everything below them; nothing
above (:mod:`deidlang.engine` and the CLI call it).
"""

from .engine import Line, OcrUnavailable, Word
from .registry import register
from .settings import DEFAULT_KEEP, SCOPES, Settings

__all__ = ["Line", "Word", "OcrUnavailable", "register", "Settings", "SCOPES", "DEFAULT_KEEP"]
