"""What ``--ocr`` does, as one value: scope, keep-list, margin, thresholds, frames, engine."""

from __future__ import annotations

import re

import attrs

__all__ = ["Settings", "SCOPES", "DEFAULT_KEEP", "DEFAULT"]

#: ``matched``: blank only text that matches an identifying value of the header or a
#: generic shape; ``all``: blank every line of text except what the keep-list keeps.
SCOPES = ("all", "matched")

#: Text kept by ``--ocr-scope all`` (whole words, case-insensitive, full match):
#: orientation markers and the short numbers and units of scales and calibration.
DEFAULT_KEEP = (
    r"[LRAPSIHF]",  # orientation markers
    r"(?:[0-9]{1,3}(?:[.,][0-9]{1,2})?)",  # scale and depth marks: 5, 10, 2.5
    r"(?:[0-9]{1,3}(?:[.,][0-9]{1,2})?)?(?:mm|cm|m|s|ms|hz|khz|mhz|db|fps|bpm|%|°)",  # with a unit
)


@attrs.frozen
class Settings:
    """``scope``: SCOPES. ``keep``: regular expressions (full match, case-insensitive) of
    words ``all`` keeps; never applied to identifying text. ``margin``: pixels added
    around each box (at least 0.35 of the line's height above and below, 0.7 before and after).
    ``min_confidence``: a word of 4 letters or digits read with less (0-100; of 3: with
    less than 10 more) is noise, unless its line identifies. ``max_frames``: frames read in a multi-frame image (:func:`.render.sample`).
    ``engine``: the OCR engine's name; ``detector``: the text detector's
    (:mod:`.textdet`; ``"none"``: only the stroke proposals of :mod:`.propose`)."""

    scope: str = "all"
    keep: tuple[str, ...] = DEFAULT_KEEP
    margin: int = 2
    min_confidence: float = 70.0
    max_frames: int = 8
    engine: str = "tesseract"
    detector: str = "db"

    def __attrs_post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"--ocr-scope must be one of {', '.join(SCOPES)}")
        for k in self.keep:
            re.compile(k)

    def keeps(self, word: str) -> bool:
        rx = _keep_regex(self.keep)
        return rx is not None and rx.fullmatch(word.strip(".,:;()[]")) is not None

    def fingerprint(self) -> dict:
        return {
            "scope": self.scope,
            "keep": list(self.keep),
            "margin": self.margin,
            "min_confidence": self.min_confidence,
            "max_frames": self.max_frames,
            "engine": self.engine,
            "detector": self.detector,
        }


_CACHE: dict[tuple[str, ...], re.Pattern | None] = {}


def _keep_regex(keep: tuple[str, ...]) -> re.Pattern | None:
    if keep not in _CACHE:
        _CACHE[keep] = re.compile("|".join(f"(?:{k})" for k in keep), re.IGNORECASE) if keep else None
    return _CACHE[keep]


#: The settings of ``--ocr`` without other options (the functions' default).
DEFAULT = Settings()
