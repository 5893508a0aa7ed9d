"""``--ocr`` in a run: one file's pixels cleaned by the recipe's regions and OCR, the
proof, and what the run records (called by :mod:`deidlang.engine.worker`)."""

from __future__ import annotations

from typing import Any, Sequence

from .clean import clean, mark_clean

__all__ = ["clean_file"]


def clean_file(ds: Any, regions: Sequence, identifiers: Any, options: Any) -> tuple[Any, str, int, bool]:
    """Clean ``ds`` in place. Returns ``(PixelReport, state, boxes, held)``: ``state`` is
    ``"proven"`` (the cleaned pixels were read again and show no identifying text; the
    file is marked Clean Pixel Data unless its header is left alone), ``"blank"`` (the
    recipe's regions blank every pixel: nothing to read, marked too) or ``"failed"``
    (``held``: the run quarantines it), ``""`` when the file has no pixel data;
    ``boxes``: the text boxes OCR blanked."""
    report = clean(
        ds,
        regions,
        identifiers or (),
        options.ocr,
        preserve_compression=options.preserve_compression,
        previews=options.png is not None,
    )
    if report.skipped == "no pixel data":
        return report.pixels, "", 0, False
    if not report.passed:
        return report.pixels, "failed", len(report.blanked), True
    if not options.pixels_only:
        mark_clean(ds)
    return report.pixels, "blank" if report.skipped else "proven", len(report.blanked), False
