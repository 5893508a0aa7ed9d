"""Where text may be: line proposals for the engine, found by shape, not by reading.

Tesseract reads pages; asked to find text on a medical image it takes most of
the picture for illustrations and reads little of what is written on it. So
deidlang finds the places first and gives Tesseract only those:

1. strokes: a white top-hat (the frame minus its morphological opening) finds
   what is brighter than its surroundings and thinner than the opening's
   square; a black top-hat (the closing minus the frame) what is darker.
   A stroke is a pixel that stands out by ``threshold`` grey levels or more;
   the two polarities are handled apart;
2. characters: connected groups of strokes of a character's size;
3. lines: characters joined by a small horizontal dilation; kept when wider
   than high and of a line's height (5 to 80 pixels).

Each proposal is cut out, its strokes scaled to a height Tesseract reads
best (about 32 pixels), drawn black on white, and all are laid out on one
page for a single call of the engine (:mod:`.detect`). Needs scipy.
"""

from __future__ import annotations

import attrs
import numpy as np

__all__ = ["Proposal", "proposals", "proposal_for", "collage"]

#: The opening's square: strokes thinner than this are found (bold 40-pixel text has 6-8).
SQUARE = 15
#: Grey levels (of 255) a stroke stands out by.
THRESHOLD = 28
#: The line height Tesseract reads best, in pixels.
TARGET_HEIGHT = 32
#: Proposals read per frame and polarity, largest first.
MAX_PROPOSALS = 150


#: Pyramid levels: 1 finds text up to about 24 pixels high, 2 (the frame halved) larger text.
LEVELS = (1, 2)


@attrs.frozen
class Proposal:
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the frame
    polarity: str  # "bright" (text lighter than around it) or "dark"
    level: int = 1  # the pyramid level it was found at (its strokes are cut from there)


def _strokes(grey: np.ndarray) -> dict[str, np.ndarray]:
    from scipy import ndimage

    g = grey.astype(np.int16)
    opened = ndimage.maximum_filter(ndimage.minimum_filter(g, size=SQUARE), size=SQUARE)
    closed = ndimage.minimum_filter(ndimage.maximum_filter(g, size=SQUARE), size=SQUARE)
    return {"bright": g - opened, "dark": closed - g}


def proposals(grey: np.ndarray) -> tuple[list[Proposal], dict[tuple[str, int], np.ndarray]]:
    """Line proposals in an 8-bit grey frame, and the stroke strength of each polarity
    and pyramid level."""
    out: list[Proposal] = []
    strengths: dict[tuple[str, int], np.ndarray] = {}
    for level in LEVELS:
        image = grey if level == 1 else _shrink(grey, level)
        if min(image.shape) < 16:
            continue
        found, level_strengths = _proposals(image, level)
        out.extend(found)
        strengths.update({(polarity, level): s for polarity, s in level_strengths.items()})
    return out, strengths


def proposal_for(grey: np.ndarray, box: tuple[int, int, int, int]) -> Proposal:
    """A line found by the text detector (:mod:`.textdet`) as a proposal: its polarity
    the side of its Otsu threshold that holds less of it (text is thinner than what is
    around it), read at half size when taller than 48 pixels."""
    x0, y0, x1, y1 = box
    cut = grey[y0:y1, x0:x1]
    bright = cut.size > 0 and float((cut > _otsu(cut)).mean()) < 0.5
    level = 2 if y1 - y0 > 48 and min(grey.shape) >= 32 else 1
    return Proposal(box, "bright" if bright else "dark", level)


def _shrink(grey: np.ndarray, factor: int) -> np.ndarray:
    rows, columns = (grey.shape[0] // factor) * factor, (grey.shape[1] // factor) * factor
    cut = grey[:rows, :columns].astype(np.float32)
    return cut.reshape(rows // factor, factor, columns // factor, factor).mean(axis=(1, 3)).astype(np.uint8)


def _proposals(grey: np.ndarray, level: int) -> tuple[list[Proposal], dict[str, np.ndarray]]:
    from scipy import ndimage

    strengths = _strokes(grey)
    rows, columns = grey.shape
    out: list[Proposal] = []
    for polarity, strength in strengths.items():
        mask = strength >= THRESHOLD
        labels, count = ndimage.label(mask)
        if not count:
            continue
        keep = np.zeros(count + 1, dtype=bool)
        for index, sl in enumerate(ndimage.find_objects(labels), 1):
            h = sl[0].stop - sl[0].start
            w = sl[1].stop - sl[1].start
            if 3 <= h <= 64 and w <= 4 * h + 8 and h * w >= 6:
                keep[index] = True
        chars = keep[labels]
        joined = ndimage.binary_dilation(chars, structure=np.ones((3, 9), dtype=bool))
        lines, n = ndimage.label(joined)
        found = []
        for sl in ndimage.find_objects(lines):
            y0, y1, x0, x1 = sl[0].start, sl[0].stop, sl[1].start, sl[1].stop
            # undo the dilation's growth
            y0, y1, x0, x1 = min(rows, y0 + 1), max(0, y1 - 1), min(columns, x0 + 4), max(0, x1 - 4)
            h, w = y1 - y0, x1 - x0
            if 5 <= h <= 80 and w >= h * 0.9 and w >= 8:
                box = (x0 * level, y0 * level, x1 * level, y1 * level)
                found.append((w * h, Proposal(box, polarity, level)))
        found.sort(key=lambda p: -p[0])
        out.extend(p for _, p in found[:MAX_PROPOSALS])
    return out, strengths


@attrs.frozen
class Placed:
    proposal: Proposal
    scale: float
    at: tuple[int, int]  # where the cut's top-left lies on the page
    size: tuple[int, int]  # its width and height on the page
    origin: tuple[int, int]  # the frame coordinates of the cut's top-left


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold of 8-bit values."""
    hist = np.bincount(values.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    if total == 0:
        return 128.0
    levels = np.arange(256, dtype=np.float64)
    weight = np.cumsum(hist)
    mean = np.cumsum(hist * levels)
    between = (mean[-1] * weight - mean * total) ** 2 / np.maximum(weight * (total - weight), 1e-9)
    return float(np.argmax(between[:-1]))


def collage(grey: np.ndarray, found: list[Proposal], strengths: dict) -> tuple[np.ndarray, list[Placed]]:
    """One white page with each proposal's strokes in black, scaled to ``TARGET_HEIGHT``
    (each cut thresholded on its own: Otsu's threshold of its stroke strengths)."""
    from PIL import Image

    pieces = []
    for p in found:
        strength = strengths[(p.polarity, p.level)]
        rows, columns = strength.shape
        x0, y0, x1, y1 = (v // p.level for v in p.box)
        h = y1 - y0
        pad = max(2, h // 3)
        cx0, cy0, cx1, cy1 = max(0, x0 - pad), max(0, y0 - pad), min(columns, x1 + pad), min(rows, y1 + pad)
        cut = np.clip(strength[cy0:cy1, cx0:cx1], 0, 255).astype(np.uint8)
        if cut.size == 0:
            continue
        scale = float(np.clip(TARGET_HEIGHT / max(h, 1), 1.0, 4.0))
        picture = Image.fromarray(cut)
        if scale > 1:
            picture = picture.resize((max(1, round(picture.width * scale)), max(1, round(picture.height * scale))), Image.Resampling.BILINEAR)
        big = np.asarray(picture)
        ink = big >= max(_otsu(big), THRESHOLD * 0.6)
        pieces.append((p, scale / p.level, (cx0 * p.level, cy0 * p.level), np.where(ink, 0, 255).astype(np.uint8)))
    gap = 16
    width = max((piece[3].shape[1] for piece in pieces), default=1) + 2 * gap
    height = sum(piece[3].shape[0] + gap for piece in pieces) + gap
    page = np.full((height, width), 255, dtype=np.uint8)
    placed = []
    y = gap
    for p, scale, origin, cut in pieces:
        h, w = cut.shape
        page[y : y + h, gap : gap + w] = cut
        placed.append(Placed(p, scale, (gap, y), (w, h), origin))
        y += h + gap
    return page, placed
