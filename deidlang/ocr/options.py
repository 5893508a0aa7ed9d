"""The command-line options of OCR (``deidc run|clean|inspect --ocr``, ``verify --pixels``)
and the checks made before a run starts."""

from __future__ import annotations

import argparse
import re
from typing import Any

from .engine import OcrUnavailable
from .settings import DEFAULT_KEEP, SCOPES, Settings

__all__ = ["add_arguments", "settings_from", "require"]


def _regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as err:
        raise argparse.ArgumentTypeError(f"not a regular expression ({err.msg})") from None
    return text


def _frames(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a whole number of frames, 1 or more") from None
    if n < 1:
        raise argparse.ArgumentTypeError("a whole number of frames, 1 or more")
    return n


def add_arguments(parser: Any, *, cleaning: bool) -> None:
    """``--ocr`` and its settings (``cleaning``: also the blanking ones)."""
    parser.add_argument(
        "--ocr",
        action="store_true",
        help=(
            "also find burned-in text with OCR (pip install 'deidlang[ocr]'), blank it with the recipe's regions, "
            "then read the cleaned pixels again: a file still showing identifying text is quarantined; "
            "a file that passes gets Clean Pixel Data (113101) and BurnedInAnnotation NO"
        )
        if cleaning
        else "also read the pixels with OCR and list the text found per frame (boxes, confidence, "
        "whether it matches an identifying value of the header); the text itself only with --show-values",
    )
    if cleaning:
        parser.add_argument(
            "--ocr-scope",
            choices=SCOPES,
            default="all",
            help="blank every line of text outside the keep-list (all, default) or only text that "
            "matches an identifying value of the header or a date, long number or Last^First name (matched)",
        )
        parser.add_argument(
            "--ocr-keep",
            action="append",
            type=_regex,
            metavar="REGEX",
            help="with --ocr-scope all: also keep words matching REGEX whole (repeatable); kept by default: "
            "orientation markers (L, R, A, P, S, I, H, F) and short numbers with or without a unit (5, 2.5 cm)",
        )
        parser.add_argument(
            "--ocr-margin",
            type=int,
            default=2,
            metavar="PIXELS",
            help="pixels added around each text box (default 2; at least 0.35 of the line's height above and below, 0.7 before and after)",
        )
    parser.add_argument(
        "--ocr-detector",
        default="db",
        metavar="NAME",
        help="the text detector that finds lines of text for the engine to read and to blank whole: db (default: "
        "PP-OCRv4's detector through onnxruntime, from the ocr extra) or none (only the stroke shapes; finds less)",
    )
    parser.add_argument(
        "--ocr-frames",
        type=_frames,
        default=8,
        metavar="N",
        help="frames read in a multi-frame image: every frame up to N, else N evenly spaced (default 8); boxes found in any apply to all frames",
    )


def settings_from(args: Any) -> Settings | None:
    """The OCR settings the arguments ask for, or None without ``--ocr``/``--pixels``."""
    if not (getattr(args, "ocr", False) or getattr(args, "pixels", False)):
        return None
    keep = DEFAULT_KEEP + tuple(getattr(args, "ocr_keep", None) or ())
    return Settings(
        scope=getattr(args, "ocr_scope", "all"),
        keep=keep,
        margin=max(0, int(getattr(args, "ocr_margin", 2))),
        max_frames=int(getattr(args, "ocr_frames", 8)),
        detector=str(getattr(args, "ocr_detector", "db")),
    )


def require(settings: Settings) -> None:
    """Start the engine once here, so that a missing package or language file stops the
    command before any file is read (raises :class:`OcrUnavailable`)."""
    try:
        import scipy  # noqa: F401 - the text proposals
    except ImportError:
        raise OcrUnavailable("OCR needs scipy: pip install 'deidlang[ocr]' (from a checkout: pip install -e '.[ocr]')") from None
    from .clean import engine_for
    from .textdet import detector

    for used in (engine_for(settings), detector(settings.detector)):
        ready = getattr(used, "_ready", None)
        if ready is not None:
            ready()
