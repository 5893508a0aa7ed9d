"""Where text is, found by a learned text detector: lines of text, read or not.

Tesseract reads what it is given; it does not find text on a medical image
(:mod:`.propose` finds places by the shape of their strokes, which misses
text over bright structures, low-contrast and large bold text). A detector
trained to find text in pictures does: deidlang uses the DB (differentiable
binarisation) text detector of PaddleOCR's PP-OCRv4, the ONNX model that the
``rapidocr-onnxruntime`` wheel ships (Apache 2.0; 4.7 MB, nothing is
downloaded at run time), run by ``onnxruntime`` on the CPU, one thread.
Only the model file is used: the package is not imported (it would import
OpenCV), the model's output is turned into boxes here with scipy.

A detector is a small interface, :class:`Detector`: ``find(image) ->
list[Place]``, each place a line's box and the detector's score (0-1).
Another is plugged in with :func:`register_detector`.

The boxes are used three ways (:mod:`.detect`, :mod:`.clean`): given to
the engine to read, with those of :mod:`.propose`; grown into the lines read
over them, so that a line is blanked whole; and, with ``--ocr-scope all``,
blanked even when the engine reads nothing in them, if they look like a
line of characters (:func:`characters`).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from typing import Any, Callable, Protocol

import attrs
import numpy as np

from .engine import OcrUnavailable

__all__ = ["Place", "Detector", "DbDetector", "detector", "register_detector", "characters", "DETECTORS"]

#: Resized so that the shorter side is at least this (text of 8-12 pixels is found
#: better larger) and the longer at most ``MAX_SIDE``; both multiples of 32.
MIN_SIDE = 736
MAX_SIDE = 1600
#: ... and enlarged at most this many times (a 16 x 16 icon is not read at 736 x 736).
MAX_ENLARGE = 6.0
#: A second pass at this many times smaller finds large text (32-40 pixels and more).
SECOND_SCALE = 2.5
#: A pixel of the probability map is text from this; a box is kept from this mean.
PIXEL_THRESHOLD = 0.3
BOX_THRESHOLD = 0.5
#: The region grown around the shrunk text kernel the model finds (DB's unclip ratio).
UNCLIP = 1.6
#: A line: wider than high by this, and at most this high (in the frame's pixels).
MIN_ASPECT = 1.8
MAX_HEIGHT = 72


@attrs.frozen
class Place:
    """A line of text found: its box ``(x0, y0, x1, y1)`` (end exclusive) and the score."""

    box: tuple[int, int, int, int]
    score: float


class Detector(Protocol):
    name: str

    def find(self, image: Any) -> list[Place]:
        """The lines of text in ``image`` (2-D uint8 grey or ``(rows, columns, 3)`` RGB)."""
        ...


_MODEL = "ch_PP-OCRv4_det_infer.onnx"
_INSTALL = "the text detector needs onnxruntime and rapidocr-onnxruntime (its model): pip install 'deidlang[ocr]' (Python < 3.13), or --ocr-detector none"


def model_path() -> str:
    """The detection model in the ``rapidocr_onnxruntime`` wheel (found without importing it)."""
    try:
        spec = importlib.util.find_spec("rapidocr_onnxruntime")
    except (ImportError, ValueError):
        spec = None
    for folder in (spec.submodule_search_locations or ()) if spec else ():
        path = os.path.join(folder, "models", _MODEL)
        if os.path.isfile(path):
            return path
    raise OcrUnavailable(_INSTALL)


class DbDetector:
    """PP-OCRv4's DB text detector through onnxruntime (one CPU thread per process)."""

    name = "db"

    def __init__(self, path: str | None = None):
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise OcrUnavailable(_INSTALL) from None
        self.path = path or model_path()
        self._session: Any = None
        self._lock = threading.Lock()

    def __getstate__(self):  # a process builds its own session
        return {"path": self.path}

    def __setstate__(self, state):
        self.path = state["path"]
        self._session = None
        self._lock = threading.Lock()

    def _ready(self):
        if self._session is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            try:
                self._session = ort.InferenceSession(self.path, options, providers=["CPUExecutionProvider"])
            except Exception as err:  # noqa: BLE001 - a broken model file or runtime
                raise OcrUnavailable(f"the text detection model could not be loaded ({err}): {_INSTALL}") from None
        return self._session

    def find(self, image: Any) -> list[Place]:
        arr = np.asarray(image)
        rgb = arr if arr.ndim == 3 else np.repeat(arr[..., None], 3, axis=2)
        rows, columns = rgb.shape[:2]
        if min(rows, columns) < 8:
            return []
        ratio = min(max(1.0, MIN_SIDE / min(rows, columns)), MAX_ENLARGE)
        ratio = min(ratio, MAX_SIDE / max(rows, columns)) if max(rows, columns) * ratio > MAX_SIDE else ratio
        out = self._find(rgb, ratio)
        second = ratio / SECOND_SCALE  # large text, which the model misses once enlarged
        if min(rows, columns) * second >= 64:
            out += self._find(rgb, second)
        return out

    def _find(self, rgb: np.ndarray, ratio: float) -> list[Place]:
        from PIL import Image

        rows, columns = rgb.shape[:2]
        height = max(32, int(round(rows * ratio / 32)) * 32)
        width = max(32, int(round(columns * ratio / 32)) * 32)
        picture = Image.fromarray(np.ascontiguousarray(rgb[..., :3]))
        if (width, height) != (columns, rows):
            picture = picture.resize((width, height), Image.Resampling.BILINEAR)
        x = np.asarray(picture, dtype=np.float32)[..., ::-1] / 127.5 - 1.0  # BGR, -1..1
        batch = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
        with self._lock:
            session = self._ready()
            prob = session.run(None, {session.get_inputs()[0].name: batch})[0][0, 0]
        return _boxes(prob, rows / height, columns / width, rows, columns)


def _boxes(prob: np.ndarray, sy: float, sx: float, rows: int, columns: int) -> list[Place]:
    """DB's post-processing, axis-aligned: kernels above the pixel threshold, kept by their
    mean probability, grown by the unclip distance, scaled to the frame, lines only."""
    from scipy import ndimage

    mask = ndimage.binary_dilation(prob > PIXEL_THRESHOLD, structure=np.ones((2, 2), dtype=bool))
    labels, count = ndimage.label(mask)
    out = []
    for index, sl in enumerate(ndimage.find_objects(labels), 1):
        if sl is None:
            continue
        kernel = labels[sl] == index
        score = float(prob[sl][kernel].mean())
        if score < BOX_THRESHOLD:
            continue
        y0, y1, x0, x1 = sl[0].start, sl[0].stop, sl[1].start, sl[1].stop
        grow = kernel.sum() * UNCLIP / (2.0 * ((y1 - y0) + (x1 - x0)))
        fx0, fx1 = max(0.0, (x0 - grow) * sx), min(float(columns), (x1 + grow) * sx)
        fy0, fy1 = max(0.0, (y0 - grow) * sy), min(float(rows), (y1 + grow) * sy)
        h, w = fy1 - fy0, fx1 - fx0
        if h < 4 or h > MAX_HEIGHT or w < MIN_ASPECT * h:
            continue
        out.append(Place((int(fx0), int(fy0), int(np.ceil(fx1)), int(np.ceil(fy1))), score))
    return out


def characters(grey: np.ndarray, box: tuple[int, int, int, int]) -> int:
    """How many character-like marks stand in a row in ``box`` of an 8-bit grey frame.

    The strokes are what stands out of the box's background (a white and a black
    top-hat as wide as half the box's height, split at their Otsu threshold and at half of it); a mark is
    a connected group of them between a quarter of the box's height and its height, no
    wider than one and a half times that; marks in a row are those within a factor 1.6
    of the marks' median height whose bottoms lie within a quarter of the box's height
    of the median bottom (a baseline). The polarity with more is counted. Calipers,
    cross-hairs, edges and flow colour make one or two, or no row."""
    from scipy import ndimage

    from .propose import _otsu

    x0, y0, x1, y1 = box
    h = y1 - y0
    cut = grey[y0:y1, x0:x1].astype(np.int16)
    if cut.size == 0 or h < 4:
        return 0
    size = max(5, h // 2)
    opened = ndimage.maximum_filter(ndimage.minimum_filter(cut, size=size), size=size)
    closed = ndimage.minimum_filter(ndimage.maximum_filter(cut, size=size), size=size)
    best = 0
    for strength in (cut - opened, closed - cut):
        s = np.clip(strength, 0, 255).astype(np.uint8)
        otsu = _otsu(s)
        for level in {max(otsu, 12.0), max(otsu / 2, 12.0)}:
            best = max(best, _row(s > level, h))
    return best


def _row(ink: np.ndarray, h: int) -> int:
    from scipy import ndimage

    labels, _count = ndimage.label(ink)
    marks = []
    for sl in ndimage.find_objects(labels):
        if sl is None:
            continue
        ch, cw = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        if h / 4 <= ch <= h and cw <= 1.5 * h and ch * cw >= 6:
            marks.append((ch, sl[0].stop))
    if len(marks) < 3:
        return 0
    height = float(np.median([m[0] for m in marks]))
    bottom = float(np.median([m[1] for m in marks]))
    return sum(1 for m in marks if height / 1.6 <= m[0] <= height * 1.6 and abs(m[1] - bottom) <= h / 4)


#: name -> factory() -> Detector
DETECTORS: dict[str, Callable[[], Detector]] = {"db": DbDetector}
_BUILT: dict[str, Detector] = {}


def register_detector(name: str, factory: Callable[[], Detector]) -> None:
    """Make a detector available under ``name`` (``Settings(detector=name)``)."""
    DETECTORS[name] = factory
    _BUILT.pop(name, None)


def detector(name: str) -> Detector | None:
    """This process's detector ``name`` (built once), None for ``"none"``. Raises
    :class:`OcrUnavailable`."""
    if name == "none":
        return None
    found = _BUILT.get(name)
    if found is None:
        factory = DETECTORS.get(name)
        if factory is None:
            raise OcrUnavailable(f"unknown text detector '{name}' (known: {', '.join(sorted(DETECTORS))}, none)")
        found = _BUILT[name] = factory()
    return found
