"""Blank regions of DICOM pixel data: the pixel half of de-identification.

The regions come from a recipe's ``%filter`` labels (``Program.inspect(ds).regions``)
and follow deid's mask semantics (spec 8.5): start from a mask that keeps every
pixel; each region, in order, sets ``mask[y0:y1, x0:x1]`` to blank (``coordinates``)
or keep (``keepcoordinates``); a box of ``None`` is the whole frame; the last
write wins; boxes are Python slices, so ends are exclusive, values are clipped at
the border, negative values count from the far edge and an inverted box does
nothing. The mask is applied to every frame and every sample.

Choices (docs/pixels.md):

* Blanked pixels get the stored value 0 in every sample, as deid's
  multiplication by the mask gives. For MONOCHROME1 that shows as white, for
  PALETTE COLOR it is palette entry 0; either way the text is gone.
* Colour data stored as YCbCr (YBR_FULL, YBR_FULL_422, JPEG's YBR) is decoded
  to RGB, blanked and written as RGB, so 0 means black in every viewer.
* Output is uncompressed: compressed sources become Explicit VR Little Endian,
  uncompressed sources keep their transfer syntax. With ``preserve_compression``
  a lossless source (RLE, JPEG 2000 lossless, JPEG-LS lossless) is re-encoded
  with its own codec when pydicom has an encoder for it; lossy or
  non-encodable sources are written uncompressed and the report says why.
* ``BurnedInAnnotation`` becomes ``NO`` only when pixels were blanked.

Needs numpy and pydicom's decoders (with the pylibjpeg plugins for JPEG,
JPEG-LS and JPEG 2000): ``pip install 'deidlang[pixels]'``. Pillow is needed
only by :func:`write_png`. Messages name transfer syntaxes, tags and reasons,
never pixel or element values.
"""

from __future__ import annotations

import os
import re
from typing import Any, Iterable

import attrs
import numpy as np
from pydicom.dataset import Dataset

from .dicomio.atomic import atomic_target
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
)

from .lang.diagnostics import DeidlangError
from .runtime.inspection import Region

__all__ = [
    "PixelError",
    "PixelReport",
    "masked_array",
    "clean_dataset",
    "clean_pixels",
    "blank_mask",
    "write_png",
    "write_previews",
]

#: The pixel data elements, in the order pydicom looks for them.
PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")

#: Lossless codecs a cleaned image can be re-encoded with (when pydicom has an
#: encoder plugin for them): re-encoding keeps every pixel exactly.
LOSSLESS_ENCODINGS = frozenset({RLELossless, JPEG2000Lossless, JPEGLSLossless})

#: Lossy codecs: a cleaned image is never re-encoded with them (JPEG Extended,
#: JPEG 2000, JPEG-LS near-lossless, HTJ2K; JPEG Baseline cannot be encoded at all).
LOSSY_ENCODINGS = frozenset(
    UID(u)
    for u in (
        "1.2.840.10008.1.2.4.50",  # JPEG Baseline (Process 1)
        "1.2.840.10008.1.2.4.51",  # JPEG Extended (Process 2 and 4)
        "1.2.840.10008.1.2.4.81",  # JPEG-LS Near-Lossless
        "1.2.840.10008.1.2.4.91",  # JPEG 2000
        "1.2.840.10008.1.2.4.203",  # HTJ2K
    )
)


class PixelError(DeidlangError):
    """Pixel data that cannot be decoded, cleaned or encoded.

    The message names the transfer syntax and the reason in plain words; it
    never quotes pixel or element values. A file that raised this was NOT
    cleaned and must not be passed on as if it were.
    """


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


def _frames_first(arr: np.ndarray, samples: int) -> bool:
    """Whether the first axis of a decoded array counts frames (pydicom's shapes:
    (r, c), (r, c, s), (f, r, c), (f, r, c, s))."""
    return arr.ndim == 4 or (arr.ndim == 3 and samples == 1)


def _image_shape(arr: np.ndarray, samples: int) -> tuple[int, int]:
    if _frames_first(arr, samples):
        return int(arr.shape[1]), int(arr.shape[2])
    if arr.ndim in (2, 3):
        return int(arr.shape[0]), int(arr.shape[1])
    raise PixelError(f"decoded pixel data has {arr.ndim} dimensions, which is not an image layout deidlang knows")


def _apply(arr: np.ndarray, blank: np.ndarray, samples: int) -> None:
    """Set the blanked pixels of every frame and every sample to 0, in place."""
    if _frames_first(arr, samples):
        arr[:, blank] = 0
    else:
        arr[blank] = 0


# =========================================================================== decoding


def _pixel_keyword(ds: Dataset) -> str | None:
    for keyword in PIXEL_KEYWORDS:
        if keyword in ds:
            return keyword
    return None


def _transfer_syntax(ds: Dataset, keyword: str) -> UID:
    """The dataset's transfer syntax; a dataset built in memory without file meta
    holds native little-endian pixel data (pydicom's own default)."""
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    if uid:
        return UID(str(uid))
    if ds[keyword].is_undefined_length:
        raise PixelError("cannot decode encapsulated pixel data: the dataset has no (0002,0010) Transfer Syntax UID")
    return ExplicitVRLittleEndian


def _compressed(uid: UID) -> bool:
    """Whether pixel data in ``uid`` is encapsulated; an unknown UID counts as compressed
    (its pixels are never written back in it)."""
    return uid.is_compressed if uid.is_transfer_syntax else True


def _syntax_name(uid: UID) -> str:
    """A transfer syntax's name; an unknown one is not quoted (the UID is data from the file)."""
    return uid.name if uid.is_transfer_syntax else "an unknown transfer syntax (0002,0010)"


def _samples(ds: Dataset) -> int:
    try:
        return int(ds.get("SamplesPerPixel", 1) or 1)
    except (TypeError, ValueError):
        return 1


def _full_rgb_in_ybr422(ds: Dataset, uid: UID, keyword: str) -> bool:
    """deid's ``fix_interpretation``: uncompressed data labelled YBR_FULL_422 that holds
    as many bytes as full RGB (a mislabelled image, common after decompression by
    other tools) is read as RGB."""
    if _compressed(uid) or str(ds.get("PhotometricInterpretation", "")).strip() != "YBR_FULL_422":
        return False
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        size = int(ds.BitsAllocated) // 8
    except (AttributeError, TypeError, ValueError):
        return False
    return len(ds[keyword].value or b"") >= rows * columns * frames * 3 * max(size, 1)


_MISSING_TAG = re.compile(r"\((0028|7FE0),([0-9A-Fa-f]{4})\) '([A-Za-z ]+)'")


def _reason(exc: BaseException) -> str:
    """A plain-words reason for a decoding failure, without numbers from the data."""
    text = str(exc)
    found = _MISSING_TAG.search(text)
    if found and isinstance(exc, AttributeError):
        return f"the element ({found.group(1)},{found.group(2).upper()}) {found.group(3)} is missing"
    if found:
        return f"the value of ({found.group(1)},{found.group(2).upper()}) {found.group(3)} does not fit the pixel data"
    lowered = text.lower()
    if "all available plugins" in lowered or "plugin" in lowered:
        return "no installed plugin could decode it (damaged data, or a variant the plugins do not support)"
    if "less than expected" in lowered or "not enough" in lowered or "shorter" in lowered or "too short" in lowered:
        return "the pixel data is shorter than the image elements say"
    if "missing dependencies" in lowered or "unavailable" in lowered:
        return "its decoder plugins are not installed (pip install 'deidlang[pixels]')"
    return f"decoding failed ({type(exc).__name__})"


def _decode(ds: Dataset, keyword: str, *, fix_interpretation: bool) -> tuple[np.ndarray, dict, UID]:
    """Every frame of the pixel data, colour as RGB, and pydicom's description of it."""
    from pydicom.pixels import get_decoder

    uid = _transfer_syntax(ds, keyword)
    name = _syntax_name(uid)
    try:
        decoder = get_decoder(uid)
    except (NotImplementedError, ValueError):
        raise PixelError(f"cannot decode pixel data in '{name}': pydicom has no decoder for this transfer syntax") from None
    if not decoder.is_available:
        raise PixelError(f"cannot decode pixel data in '{name}': its decoder plugins are not installed (pip install 'deidlang[pixels]')")
    options: dict[str, Any] = {}
    if fix_interpretation and keyword == "PixelData" and _full_rgb_in_ybr422(ds, uid, keyword):
        options["photometric_interpretation"] = "RGB"
    try:
        arr, meta = decoder.as_array(ds, as_rgb=True, **options)
    except MemoryError:
        raise
    except Exception as exc:  # pydicom and its plugins raise many kinds; their text may hold data
        raise PixelError(f"cannot decode pixel data in '{name}': {_reason(exc)}") from exc
    if not arr.flags.writeable:
        arr = arr.copy()
    return arr, dict(meta), uid


# =========================================================================== public API


def masked_array(ds: Dataset, regions: Iterable[Region], *, fix_interpretation: bool = True) -> np.ndarray:
    """The decoded pixels of ``ds`` with ``regions`` blanked (deid's ``clean_pixel_data``).

    Every frame and every sample; colour comes back as RGB (as ``ds.pixel_array``),
    PALETTE COLOR as palette indices, the dtype as decoded. ``fix_interpretation``
    reads uncompressed YBR_FULL_422 data of full RGB length as RGB (as deid does).
    ``ds`` is not changed. Raises :class:`PixelError` when the pixels cannot be decoded.
    """
    keyword = _pixel_keyword(ds)
    if keyword is None:
        raise PixelError("the dataset has no pixel data")
    arr, _meta, _uid = _decode(ds, keyword, fix_interpretation=fix_interpretation)
    samples = _samples(ds)
    rows, columns = _image_shape(arr, samples)
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
    keyword = _pixel_keyword(ds)
    if keyword is None:
        return PixelReport(False, note="no pixel data")
    source = _transfer_syntax(ds, keyword)
    transcode = compression is not None and UID(str(compression)) != source
    untouched = PixelReport(False, str(source), str(ds.get("PhotometricInterpretation", "")))
    if not regions and not transcode:
        return untouched
    rows, columns = _declared_shape(ds)
    declared = blank_mask(rows, columns, regions) if rows and columns else None
    if rows and columns and declared is None and not transcode:
        return untouched

    samples = _samples(ds)
    blank_image = None if previews or declared is None or not declared.all() else _blank_image(ds, keyword)
    if blank_image is not None:  # every pixel is blanked: the old pixels are not needed at all
        arr, meta = blank_image
        blank = declared
    else:
        arr, meta, source = _decode(ds, keyword, fix_interpretation=fix_interpretation)
        blank = blank_mask(*_image_shape(arr, samples), regions)
    if blank is None and not transcode:
        return untouched
    before = _middle_frame(arr, samples).copy() if previews and blank is not None else None
    if blank is not None:
        _apply(arr, blank, samples)
    photometric = str(meta.get("photometric_interpretation") or ds.get("PhotometricInterpretation", ""))
    after = _middle_frame(arr, samples).copy() if before is not None else None
    if before is not None and photometric == "PALETTE COLOR":
        before, after = _palette_rgb(before, ds), _palette_rgb(after, ds)

    target = UID(str(compression)) if compression is not None else source if preserve_compression else None
    note = ""
    recompressed = False
    if target is not None and _compressed(target):
        note = _encode(ds, keyword, arr, meta, target)
        recompressed = not note
    if not recompressed:
        native = target if target is not None and not _compressed(target) else None
        _store_native(ds, keyword, arr, meta, source, native)
    if blank is not None:
        ds.BurnedInAnnotation = "NO"
    out = _transfer_syntax(ds, keyword)
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
    samples = _samples(ds)
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




def _declared_shape(ds: Dataset) -> tuple[int, int]:
    """Rows and columns from the header (0, 0 when unusable: the decoder then decides)."""
    try:
        return int(ds.Rows), int(ds.Columns)
    except (AttributeError, TypeError, ValueError):
        return 0, 0


def _set_image_elements(ds: Dataset, meta: dict, samples: int) -> None:
    """Make the Image Pixel elements describe the decoded array."""
    photometric = meta.get("photometric_interpretation")
    if photometric:
        ds.PhotometricInterpretation = str(photometric)
    if samples > 1:
        ds.PlanarConfiguration = 0  # decoded arrays are always colour-by-pixel


def _store_native(ds: Dataset, keyword: str, arr: np.ndarray, meta: dict, source: UID, out: UID | None = None) -> None:
    """Store ``arr`` as native (uncompressed) pixel data encoded with ``out``.

    By default uncompressed sources keep their transfer syntax (and byte
    order) and compressed ones become Explicit VR Little Endian.
    """
    from pydicom.pixels import pack_bits
    from pydicom.valuerep import VR

    if out is None:
        out = source if not _compressed(source) else ExplicitVRLittleEndian
    bits = int(ds.get("BitsAllocated", 8) or 8)
    if keyword == "PixelData" and bits == 1:
        data = pack_bits(arr, pad=False)
    else:
        if keyword == "PixelData" and arr.dtype.itemsize * 8 != bits:
            raise PixelError(
                f"cannot write pixel data in '{_syntax_name(out)}': the decoded samples do not fit (0028,0100) Bits Allocated"
            )
        if arr.dtype.itemsize > 1:
            arr = arr.astype(arr.dtype.newbyteorder("<" if out.is_little_endian else ">"), copy=False)
        data = arr.tobytes()
    ds._pixel_array = None  # pydicom's cached array describes the old data
    elem = ds[keyword]
    elem.value = data + b"\x00" if len(data) % 2 else data
    elem.is_undefined_length = False
    if keyword == "PixelData":
        elem.VR = VR.OB if bits <= 8 else VR.OW
    for tag in (0x7FE00001, 0x7FE00002):  # extended offset table: only for encapsulated data
        if tag in ds:
            del ds[tag]
    _set_image_elements(ds, meta, _samples(ds))
    file_meta = getattr(ds, "file_meta", None)
    if out != source or _compressed(source) or (file_meta is not None and "TransferSyntaxUID" in file_meta):
        if file_meta is None:
            from pydicom.dataset import FileMetaDataset

            ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = out


def _encode(ds: Dataset, keyword: str, arr: np.ndarray, meta: dict, target: UID) -> str:
    """Encode ``arr`` with ``target`` into ``ds``; ``""`` on success, else why not
    (``ds`` is then left for :func:`_store_native`)."""
    from pydicom.pixels import compress, get_decoder, get_encoder

    name = _syntax_name(target)
    if keyword != "PixelData":
        return f"written uncompressed: float pixel data cannot be encoded with '{name}'"
    if target in LOSSY_ENCODINGS:
        return f"written uncompressed: '{name}' is lossy, and re-encoding would change the pixels again"
    if target not in LOSSLESS_ENCODINGS:
        return f"written uncompressed: '{name}' cannot be encoded here"
    try:
        encoder = get_encoder(target)
    except (NotImplementedError, ValueError):
        return f"written uncompressed: pydicom has no encoder for '{name}'"
    if not encoder.is_available:
        missing = ", ".join(d.split(" ")[0] for d in encoder.missing_dependencies) or "a plugin"
        return f"written uncompressed: encoding '{name}' needs {missing}"
    # what compress() may change, to put back if encoding fails
    tags = (0x00280004, 0x00280006, 0x7FE00001, 0x7FE00002)  # PI, PlanarConfiguration, extended offset table
    saved = {tag: ds[tag] if tag in ds else None for tag in tags}
    elem = ds[keyword]
    original = (elem.value, elem.is_undefined_length, elem.VR)
    had_meta = hasattr(ds, "file_meta")
    meta_uid = ds.file_meta.get("TransferSyntaxUID") if had_meta else None
    _set_image_elements(ds, meta, _samples(ds))
    try:
        compress(ds, target, arr=arr, generate_instance_uid=False)
        back, _ = get_decoder(target).as_array(ds, as_rgb=False)
        if back.shape != arr.shape or not np.array_equal(back, arr):
            raise ValueError("re-encoded pixels differ")
    except Exception as exc:  # noqa: BLE001 - undo, and write uncompressed instead
        elem = ds[keyword]
        elem.value, elem.is_undefined_length, elem.VR = original
        for tag, old in saved.items():
            if old is None:
                if tag in ds:
                    del ds[tag]
            else:
                ds[tag] = old
        if not had_meta:
            if hasattr(ds, "file_meta"):
                del ds.file_meta
        elif meta_uid is None:
            if "TransferSyntaxUID" in ds.file_meta:
                del ds.file_meta.TransferSyntaxUID
        else:
            ds.file_meta.TransferSyntaxUID = meta_uid
        ds._pixel_array = None
        return f"written uncompressed: encoding '{name}' failed ({type(exc).__name__})"
    ds._pixel_array = None
    return ""


# =========================================================================== previews


def _middle_frame(arr: np.ndarray, samples: int) -> np.ndarray:
    return arr[arr.shape[0] // 2] if _frames_first(arr, samples) else arr


def _palette_rgb(frame: np.ndarray, ds: Dataset) -> np.ndarray:
    """Palette indices as the colours a viewer shows (indices kept when the LUT is unusable)."""
    try:
        from pydicom.pixels import apply_color_lut

        return apply_color_lut(frame, ds)
    except Exception:  # noqa: BLE001 - a preview only
        return frame


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
