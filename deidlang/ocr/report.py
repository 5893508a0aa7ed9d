"""What OCR found, as reports give it: boxes, confidences and kinds of value; the
text itself only when values are shown (``--show-values``).

* :func:`inspect_dataset` / :func:`entries` / :func:`table_lines`: ``deidc inspect --ocr``.
* :func:`pixel_leaks`: ``deidc verify --pixels`` (identifying text in an output's
  pixels, as :class:`deidlang.privacy.search.Leak` values).
"""

from __future__ import annotations

from typing import Any, Iterable

from .detect import FrameText, TextLine, read
from .match import Finding, TextMatcher
from .settings import DEFAULT, Settings

__all__ = ["inspect_dataset", "entries", "table_lines", "pixel_leaks", "PIXEL_ELEMENT"]

#: Where verify reports a leak in the pixels.
PIXEL_ELEMENT = "<pixel data>"


def inspect_dataset(ds: Any, identifiers: Iterable = (), settings: Settings = DEFAULT, engine=None) -> list[FrameText]:
    """The text in ``ds``'s (sampled) frames, each line marked with what identifies in it."""
    from .. import pixels
    from .clean import engine_for

    if not any(k in ds for k in pixels.PIXEL_KEYWORDS):
        return []
    return read(ds, pixels.masked_array(ds, ()), engine or engine_for(settings), TextMatcher(identifiers), settings)


def _line_entry(line: TextLine, show_values: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "box": list(line.box),
        "confidence": round(line.confidence, 1),
        "identifying": line.identifying,
        "matches": [{"kind": f.kind, "source": f.source or None} for f in _distinct(line)],
    }
    if show_values:
        entry["text"] = line.text
    return entry


def _distinct(line: TextLine):
    seen: dict[tuple[str, str], Finding] = {}
    for f in line.findings:
        seen.setdefault((f.kind, f.source), f)
    return list(seen.values())


def entries(frames: Iterable[FrameText], show_values: bool = False) -> list[dict[str, Any]]:
    """One entry per frame read that holds text: ``{"frame", "lines": [...]}``."""
    return [{"frame": f.frame, "lines": [_line_entry(line, show_values) for line in f.lines]} for f in frames if f.lines]


def table_lines(frames: Iterable[FrameText], show_values: bool = False) -> list[str]:
    """The text found, one line of the report per line of text."""
    out = []
    for f in frames:
        for line in f.lines:
            kinds = ", ".join(line.kinds()) if line.identifying else "not identifying"
            text = f" '{line.text}'" if show_values else ""
            out.append(f"  frame {f.frame}, box {','.join(str(v) for v in line.box)}, confidence {line.confidence:.0f}: {kinds}{text}")
    return out


def pixel_leaks(identifiers: Iterable, output_ds: Any, settings: Settings = DEFAULT, *, file: str = "", original: str = "", engine=None) -> list:
    """Identifying text OCR finds in the pixels of ``output_ds`` (``identifiers``:
    :func:`deidlang.privacy.identifiers.harvest` of its original), as verify's leaks."""
    from ..privacy.search import Leak

    out = []
    for frame in inspect_dataset(output_ds, identifiers, settings, engine):
        for line in frame.lines:
            if not line.identifying:
                continue
            found = _distinct(line)
            where = f"frame {frame.frame}, box {','.join(str(v) for v in line.box)}"
            out.append(Leak(file, PIXEL_ELEMENT, where, tuple(f.kind for f in found), tuple(f.source or "text shape" for f in found), line.text, original))
    return out
