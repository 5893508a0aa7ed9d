"""Frames as a viewer shows them, in 8 bits: what the OCR engine reads.

Text a person can see must be text the engine can see, so each frame goes
through the display pipeline of DICOM PS3.4 (Grayscale and Color Standard
Display Functions, as viewers apply them):

* MONOCHROME1/2: the Modality LUT (RescaleSlope/Intercept or a Modality LUT
  Sequence), then the first VOI window (WindowCenter/WindowWidth, linear) or
  VOI LUT Sequence; with neither, the frame's own minimum to maximum. Then
  scaled to 0-255; MONOCHROME1 is inverted (low values show white).
* PALETTE COLOR: through its palette to RGB.
* RGB, and YCbCr (decoded to RGB by pydicom): as they are, scaled to 8 bits
  when stored in more.

Multi-frame images are sampled (:func:`sample`): every frame up to
``max_frames``, else ``max_frames`` frames evenly spaced from the first to the
last. Needs numpy and pydicom's decoders (``deidlang[pixels]``).
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np
from pydicom.dataset import Dataset

__all__ = ["sample", "frames", "to_display", "frame_count"]

#: Frames OCR reads by default in a multi-frame image (docs/pixels.md).
MAX_FRAMES = 8


def frame_count(ds: Dataset) -> int:
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def sample(count: int, max_frames: int = MAX_FRAMES) -> list[int]:
    """The frame indices read in an image of ``count`` frames: all of them up to
    ``max_frames``, else ``max_frames`` evenly spaced ones, first and last included."""
    if count <= max_frames:
        return list(range(count))
    if max_frames <= 1:
        return [0]
    step = (count - 1) / (max_frames - 1)
    return sorted({round(i * step) for i in range(max_frames)})


def _samples(ds: Dataset) -> int:
    try:
        return int(ds.get("SamplesPerPixel", 1) or 1)
    except (TypeError, ValueError):
        return 1


def _split(arr: np.ndarray, samples: int, count: int) -> list[np.ndarray]:
    """The decoded array as a list of frames ((r, c) or (r, c, s))."""
    multi = arr.ndim == 4 or (arr.ndim == 3 and samples == 1)
    if multi:
        return [arr[i] for i in range(arr.shape[0])]
    return [arr]


def _scale(data: np.ndarray, lo: float, hi: float) -> np.ndarray:
    span = hi - lo if hi > lo else 1.0
    out = (data.astype(np.float32, copy=False) - np.float32(lo)) * np.float32(255.0 / span)
    return np.clip(out, 0, 255).astype(np.uint8)


def _first(value):
    """The first of a multi-valued element's values (or the value)."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        return value
    return value[0]


def _window(ds: Dataset) -> tuple[float, float] | None:
    """The first linear VOI window of the header (lower, upper), or None."""
    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if center is None or width is None:
        return None
    try:
        c, w = float(_first(center)), float(_first(width))
    except (TypeError, ValueError, IndexError):
        return None
    if w < 1:
        return None
    return c - 0.5 - (w - 1) / 2, c - 0.5 + (w - 1) / 2


def to_display(frame: np.ndarray, ds: Dataset) -> np.ndarray:
    """One decoded frame (as :func:`deidlang.pixels.masked_array` gives it) in 8 bits as a
    viewer shows it: ``(r, c)`` grey or ``(r, c, 3)`` RGB."""
    photometric = str(ds.get("PhotometricInterpretation", "")).strip()
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        try:
            rgb = apply_color_lut(frame, ds)
        except Exception:  # noqa: BLE001 - an unusable palette: the indices are all there is
            return _scale(frame, float(frame.min()), float(frame.max()))
        top = 255.0 if rgb.dtype == np.uint8 else float(np.iinfo(rgb.dtype).max) if rgb.dtype.kind == "u" else float(rgb.max())
        return rgb if rgb.dtype == np.uint8 else _scale(rgb, 0.0, top)
    if frame.ndim == 3:  # colour (RGB; YCbCr was decoded to RGB)
        if frame.dtype == np.uint8:
            return frame
        bits = int(ds.get("BitsStored", 8) or 8)
        return _scale(frame, 0.0, float((1 << bits) - 1))
    from pydicom.pixels import apply_modality_lut

    data = frame
    try:
        data = apply_modality_lut(frame, ds)
    except Exception:  # noqa: BLE001 - a broken rescale: show the stored values
        data = frame
    window = _window(ds)
    if window is None and "VOILUTSequence" in ds:
        try:
            from pydicom.pixels import apply_voi

            data = apply_voi(data, ds, 0)
        except Exception:  # noqa: BLE001
            pass
    if window is None:
        window = (float(np.min(data)), float(np.max(data)))
    out = _scale(data, *window)
    if photometric == "MONOCHROME1":
        np.subtract(255, out, out=out)
    return out


def frames(ds: Dataset, arr: np.ndarray, indices: Iterable[int]) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, 8-bit image)`` for the frames ``indices`` of the decoded array ``arr``."""
    split = _split(arr, _samples(ds), frame_count(ds))
    for i in indices:
        if 0 <= i < len(split):
            yield i, to_display(split[i], ds)
