"""Burned-in text found by OCR, blanked, and proven gone (``deidlang[ocr]``).

* :mod:`.engine`: the engine interface; :mod:`.tesseract`: Tesseract through tesserocr.
* :mod:`.render`: frames in 8 bits as a viewer shows them.
* :mod:`.match`: which text identifies (the header's values, generic shapes).
* :mod:`.detect`: the lines of text in a dataset's frames.
* :mod:`.clean`: blank them with the recipe's regions, then the proof.
* :mod:`.report`: what ``deidc inspect --ocr`` and ``deidc verify --pixels`` print.
"""

from .engine import Line, OcrUnavailable, Word, register
from .settings import DEFAULT_KEEP, SCOPES, Settings

__all__ = ["Line", "Word", "OcrUnavailable", "register", "Settings", "SCOPES", "DEFAULT_KEEP"]
