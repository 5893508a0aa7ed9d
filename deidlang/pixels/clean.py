"""Blanking regions of pixel data: the mask (:func:`blank_mask`, deid's semantics), the
masked pixels of a dataset (:func:`masked_array`), and cleaning a dataset in place
(:func:`clean_pixels`, :func:`clean_dataset`) with a :class:`PixelReport` of what was
done. Decoding and re-encoding are :mod:`.codecs`'."""

from __future__ import annotations

from typing import Any, Iterable

import attrs
import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import (
    UID,
)

from ..runtime.inspection import Region
from .codecs import (
    PixelError,
    declared_shape,
    decode,
    encode,
    frames_first,
    image_shape,
    is_compressed,
    middle_frame,
    palette_rgb,
    pixel_keyword,
    samples_per_pixel,
    store_native,
    transfer_syntax_of,
)

__all__ = ["PixelReport", "blank_mask", "masked_array", "clean_dataset", "clean_pixels"]


@attrs.frozen
class PixelReport:
    """What :func:`clean_pixels` did to one dataset.

    ``cleaned``: pixel values were blanked. ``transfer_syntax``: the UID the
    pixel data is now encoded with. ``note``: why the output is not encoded as
    asked (e.g. a JPEG Baseline source cannot be re-encoded here), else ``""``.
    ``before`` / ``after``: the middle frame before and after blanking, ready
    for :func:`write_previews` (only when previews were asked for).
    """

    cleaned: bool
    transfer_syntax: str = ""
    photometric: str = ""
    recompressed: bool = False
    note: str = ""
    before: Any = attrs.field(default=None, eq=False, repr=False)
    after: Any = attrs.field(default=None, eq=False, repr=False)
    invert: bool = attrs.field(default=False, eq=False, repr=False)


# =========================================================================== the mask


def blank_mask(rows: int, columns: int, regions: Iterable[Region]) -> np.ndarray | None:
    """A ``(rows, columns)`` boolean array, True where pixels are blanked, or None
    when the regions blank nothing (no region, only keeps, boxes outside the image)."""
    keep = np.ones((rows, columns), dtype=bool)
    for region in regions:
        value = bool(region.keep)
        if region.box is None:
            keep[:, :] = value
        else:
            x0, y0, x1, y1 = (int(v) for v in region.box)
            keep[y0:y1, x0:x1] = value
    if keep.all():
        return None
    np.logical_not(keep, out=keep)
    return keep


def _apply(arr: np.ndarray, blank: np.ndarray, samples: int) -> None:
    """Set the blanked pixels of every frame and every sample to 0, in place."""
    if frames_first(arr, samples):
        arr[:, blank] = 0
    else:
        arr[blank] = 0


# =========================================================================== decoding


# =========================================================================== public API


def masked_array(ds: Dataset, regions: Iterable[Region], *, fix_interpretation: bool = True) -> np.ndarray:
    """The decoded pixels of ``ds`` with ``regions`` blanked (deid's ``clean_pixel_data``).

    Every frame and every sample; colour comes back as RGB (as ``ds.pixel_array``),
    PALETTE COLOR as palette indices, the dtype as decoded. ``fix_interpretation``
    reads uncompressed YBR_FULL_422 data of full RGB length as RGB (as deid does).
    ``ds`` is not changed. Raises :class:`PixelError` when the pixels cannot be decoded.
    """
    keyword = pixel_keyword(ds)
    if keyword is None:
        raise PixelError("the dataset has no pixel data")
    arr, _meta, _uid = decode(ds, keyword, fix_interpretation=fix_interpretation)
    samples = samples_per_pixel(ds)
    rows, columns = image_shape(arr, samples)
    blank = blank_mask(rows, columns, regions)
    if blank is not None:
        _apply(arr, blank, samples)
    return arr


def clean_dataset(
    ds: Dataset,
    regions: Iterable[Region],
    *,
    preserve_compression: bool = False,
    compression: str | None = None,
) -> Dataset:
    """Blank ``regions`` in the pixel data of ``ds``, in place, and return ``ds``.

    See :func:`clean_pixels` (which also says what was done). A dataset without
    pixel data, or regions that blank nothing, leave the pixel data untouched.
    Raises :class:`PixelError` when the pixels cannot be decoded or written.
    """
    clean_pixels(ds, regions, preserve_compression=preserve_compression, compression=compression)
    return ds


def clean_pixels(
    ds: Dataset,
    regions: Iterable[Region],
    *,
    preserve_compression: bool = False,
    compression: str | None = None,
    fix_interpretation: bool = True,
    previews: bool = False,
) -> PixelReport:
    """Blank ``regions`` in the pixel data of ``ds`` (in place) and say what was done.

    The pixels are decoded (every frame and sample), the blanked pixels set to
    0 and the result stored uncompressed, with the transfer syntax,
    PhotometricInterpretation, PlanarConfiguration and pixel data VR updated to
    match, and ``BurnedInAnnotation`` set to ``NO``. ``preserve_compression``:
    re-encode a lossless source (RLE, JPEG 2000 lossless, JPEG-LS lossless)
    with its codec. ``compression``: a transfer syntax UID to encode with
    (even when nothing was blanked). When encoding is not possible the pixels
    are written uncompressed and ``note`` says why. ``previews``: keep the
    middle frame before and after blanking in the report.
    """
    regions = tuple(regions)
    keyword = pixel_keyword(ds)
    if keyword is None:
        return PixelReport(False, note="no pixel data")
    source = transfer_syntax_of(ds, keyword)
    transcode = compression is not None and UID(str(compression)) != source
    untouched = PixelReport(False, str(source), str(ds.get("PhotometricInterpretation", "")))
    if not regions and not transcode:
        return untouched
    rows, columns = declared_shape(ds)
    declared = blank_mask(rows, columns, regions) if rows and columns else None
    if rows and columns and declared is None and not transcode:
        return untouched

    samples = samples_per_pixel(ds)
    blank_image = None if previews or declared is None or not declared.all() else _blank_image(ds, keyword)
    if blank_image is not None:  # every pixel is blanked: the old pixels are not needed at all
        arr, meta = blank_image
        blank = declared
    else:
        arr, meta, source = decode(ds, keyword, fix_interpretation=fix_interpretation)
        blank = blank_mask(*image_shape(arr, samples), regions)
    if blank is None and not transcode:
        return untouched
    before = middle_frame(arr, samples).copy() if previews and blank is not None else None
    if blank is not None:
        _apply(arr, blank, samples)
    photometric = str(meta.get("photometric_interpretation") or ds.get("PhotometricInterpretation", ""))
    after = middle_frame(arr, samples).copy() if before is not None else None
    if before is not None and photometric == "PALETTE COLOR":
        before, after = palette_rgb(before, ds), palette_rgb(after, ds)  # type: ignore[arg-type]  # after is made with before

    target = UID(str(compression)) if compression is not None else source if preserve_compression else None
    note = ""
    recompressed = False
    if target is not None and is_compressed(target):
        note = encode(ds, keyword, arr, meta, target)
        recompressed = not note
    if not recompressed:
        native = target if target is not None and not is_compressed(target) else None
        store_native(ds, keyword, arr, meta, source, native)
    if blank is not None:
        ds.BurnedInAnnotation = "NO"
    out = transfer_syntax_of(ds, keyword)
    return PixelReport(blank is not None, str(out), photometric, recompressed, note, before, after, photometric == "MONOCHROME1")


# =========================================================================== writing


def _blank_image(ds: Dataset, keyword: str) -> tuple[np.ndarray, dict] | None:
    """An all-zero image shaped as the header says, for regions that blank every
    pixel: nothing of the old pixels survives, so they need not (and, for a codec
    with no decoder here, cannot) be decoded. None when the header does not say
    enough; the caller then decodes."""
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        bits = int(ds.BitsAllocated)
        signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    except (AttributeError, TypeError, ValueError):
        return None
    samples = samples_per_pixel(ds)
    photometric = str(ds.get("PhotometricInterpretation", "")).strip()
    if samples == 3 and photometric in ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "YBR_PARTIAL_420"):
        photometric = "RGB"
    elif samples != 1 or photometric not in ("MONOCHROME1", "MONOCHROME2", "PALETTE COLOR"):
        return None
    if min(rows, columns, frames) < 1:
        return None
    if keyword == "PixelData":
        if bits not in (1, 8, 16, 32, 64):
            return None
        dtype = np.dtype(np.uint8) if bits == 1 else np.dtype(f"{'i' if signed else 'u'}{bits // 8}")
    else:
        dtype = np.dtype(np.float32 if keyword == "FloatPixelData" else np.float64)
    shape = ((frames,) if frames > 1 else ()) + (rows, columns) + ((samples,) if samples > 1 else ())
    meta = {"photometric_interpretation": photometric}
    return np.zeros(shape, dtype=dtype), meta


# =========================================================================== previews
