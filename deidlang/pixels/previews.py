"""Before/after previews of cleaned pixels: the middle frame as an 8-bit PNG
(:func:`write_png`, needs Pillow), written atomically beside each other
(:func:`write_previews`)."""

from __future__ import annotations

import os

import numpy as np

from ..dicomio.atomic import atomic_target
from .clean import PixelReport
from .codecs import PixelError

__all__ = ["write_png", "write_previews"]


def _to_8bit(image: np.ndarray, window: tuple[float, float] | None, invert: bool) -> np.ndarray:
    """8-bit values for a PNG: 8-bit RGB as it is, anything else windowed to
    ``window`` (default: the image's own min and max)."""
    if image.ndim == 3 and image.dtype == np.uint8 and window is None and not invert:
        return image
    data = image.astype(np.float64, copy=False)
    lo, hi = window if window is not None else (float(data.min()), float(data.max()))
    if image.ndim == 3 and image.dtype == np.uint8 and window is None:
        lo, hi = 0.0, 255.0
    span = hi - lo if hi > lo else 1.0
    out = np.clip((data - lo) * (255.0 / span), 0, 255).astype(np.uint8)
    return 255 - out if invert else out


def _one_image(array: np.ndarray) -> np.ndarray:
    """A single 2-D (grey) or (rows, columns, 3|4) (colour) image: the middle frame of more."""
    if array.ndim == 4:
        return array[array.shape[0] // 2]
    if array.ndim == 3 and array.shape[-1] not in (3, 4):
        return array[array.shape[0] // 2]
    if array.ndim in (2, 3):
        return array
    raise PixelError(f"cannot draw an array of {array.ndim} dimensions as an image")


def write_png(
    path: str | os.PathLike,
    array: np.ndarray,
    *,
    title: str | None = None,
    window: tuple[float, float] | None = None,
    invert: bool = False,
) -> str:
    """Write ``array`` as an 8-bit PNG (atomically) and return the path.

    Multi-frame arrays give their middle frame; colour (rows, columns, 3) is
    kept; grey values are windowed to ``window`` or to the image's min and max;
    ``invert`` for MONOCHROME1. Small images are enlarged (nearest neighbour)
    so a person can see them; ``title`` is drawn in a strip above the image
    and stored in the PNG's ``Title`` text.
    """
    from PIL import Image, ImageDraw, PngImagePlugin

    image = _to_8bit(_one_image(np.asarray(array)), window, invert)
    if image.ndim == 3 and image.shape[-1] == 4:
        image = image[..., :3]
    picture = Image.fromarray(np.ascontiguousarray(image), mode="RGB" if image.ndim == 3 else "L")
    scale = max(1, 256 // max(1, max(picture.size)))
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)
    info = PngImagePlugin.PngInfo()
    if title:
        info.add_text("Title", title)
        strip = 18
        width = max(picture.width, 8 * len(title) + 8)
        canvas = Image.new(picture.mode, (width, picture.height + strip), 0)
        canvas.paste(picture, (0, strip))
        ImageDraw.Draw(canvas).text((4, 3), title, fill=255 if picture.mode == "L" else (255, 255, 255))
        picture = canvas
    target = os.fspath(path)
    with atomic_target(target, durable=False) as tmp:  # a preview: cheap to redo
        picture.save(tmp, format="PNG", pnginfo=info)
    return target


def write_previews(report: PixelReport, before_path: str | os.PathLike, after_path: str | os.PathLike) -> tuple[str, str]:
    """Write the report's before and after frames as PNGs with the same window,
    so that blanked areas and kept areas look the same in both."""
    if report.before is None or report.after is None:
        raise PixelError("no previews were kept for this dataset (clean_pixels(..., previews=True))")
    before = np.asarray(report.before)
    window = None
    if not (before.ndim == 3 and before.dtype == np.uint8):
        window = (float(before.min()), float(before.max()))
    return (
        write_png(before_path, before, title="before", window=window, invert=report.invert),
        write_png(after_path, report.after, title="after", window=window, invert=report.invert),
    )
