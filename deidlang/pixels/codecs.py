"""Pixel data in and out of pydicom: decoding it (with pydicom's decoders and the
pylibjpeg plugins), storing blanked pixels natively, and re-encoding them with a
lossless source's own codec (``preserve_compression``); the transfer syntaxes each
path accepts; :class:`PixelError` when pixels cannot be decoded or written. Messages
name transfer syntaxes, tags and reasons, never pixel or element values."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
)

from ..lang.diagnostics import DeidlangError
from ..version import install_hint

__all__ = ["PIXEL_KEYWORDS", "LOSSLESS_ENCODINGS", "LOSSY_ENCODINGS", "PixelError"]


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


def frames_first(arr: np.ndarray, samples: int) -> bool:
    """Whether the first axis of a decoded array counts frames (pydicom's shapes:
    (r, c), (r, c, s), (f, r, c), (f, r, c, s))."""
    return arr.ndim == 4 or (arr.ndim == 3 and samples == 1)


def image_shape(arr: np.ndarray, samples: int) -> tuple[int, int]:
    if frames_first(arr, samples):
        return int(arr.shape[1]), int(arr.shape[2])
    if arr.ndim in (2, 3):
        return int(arr.shape[0]), int(arr.shape[1])
    raise PixelError(f"decoded pixel data has {arr.ndim} dimensions, which is not an image layout deidlang knows")


def pixel_keyword(ds: Dataset) -> str | None:
    for keyword in PIXEL_KEYWORDS:
        if keyword in ds:
            return keyword
    return None


def transfer_syntax_of(ds: Dataset, keyword: str) -> UID:
    """The dataset's transfer syntax; a dataset built in memory without file meta
    holds native little-endian pixel data (pydicom's own default)."""
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    if uid:
        return UID(str(uid))
    if ds[keyword].is_undefined_length:
        raise PixelError("cannot decode encapsulated pixel data: the dataset has no (0002,0010) Transfer Syntax UID")
    return ExplicitVRLittleEndian


def is_compressed(uid: UID) -> bool:
    """Whether pixel data in ``uid`` is encapsulated; an unknown UID counts as compressed
    (its pixels are never written back in it)."""
    return uid.is_compressed if uid.is_transfer_syntax else True


def _syntax_name(uid: UID) -> str:
    """A transfer syntax's name; an unknown one is not quoted (the UID is data from the file)."""
    return uid.name if uid.is_transfer_syntax else "an unknown transfer syntax (0002,0010)"


def samples_per_pixel(ds: Dataset) -> int:
    try:
        return int(ds.get("SamplesPerPixel", 1) or 1)
    except (TypeError, ValueError):
        return 1


def _full_rgb_in_ybr422(ds: Dataset, uid: UID, keyword: str) -> bool:
    """deid's ``fix_interpretation``: uncompressed data labelled YBR_FULL_422 that holds
    as many bytes as full RGB (a mislabelled image, common after decompression by
    other tools) is read as RGB."""
    if is_compressed(uid) or str(ds.get("PhotometricInterpretation", "")).strip() != "YBR_FULL_422":
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
        return f"its decoder plugins are not installed ({install_hint('pixels')})"
    return f"decoding failed ({type(exc).__name__})"


def decode(ds: Dataset, keyword: str, *, fix_interpretation: bool) -> tuple[np.ndarray, dict, UID]:
    """Every frame of the pixel data, colour as RGB, and pydicom's description of it."""
    from pydicom.pixels import get_decoder

    uid = transfer_syntax_of(ds, keyword)
    name = _syntax_name(uid)
    try:
        decoder = get_decoder(uid)
    except (NotImplementedError, ValueError):
        raise PixelError(f"cannot decode pixel data in '{name}': pydicom has no decoder for this transfer syntax") from None
    if not decoder.is_available:
        raise PixelError(f"cannot decode pixel data in '{name}': its decoder plugins are not installed ({install_hint('pixels')})")
    options: dict[str, Any] = {}
    if fix_interpretation and keyword == "PixelData" and _full_rgb_in_ybr422(ds, uid, keyword):
        options["photometric_interpretation"] = "RGB"
    try:
        arr, meta = decoder.as_array(ds, as_rgb=True, **options)  # type: ignore[arg-type]  # pydicom types its **kwargs as one DecodeOptions
    except MemoryError:
        raise
    except Exception as exc:  # pydicom and its plugins raise many kinds; their text may hold data
        raise PixelError(f"cannot decode pixel data in '{name}': {_reason(exc)}") from exc
    if not arr.flags.writeable:
        arr = arr.copy()
    return arr, dict(meta), uid


def declared_shape(ds: Dataset) -> tuple[int, int]:
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


def store_native(ds: Dataset, keyword: str, arr: np.ndarray, meta: dict, source: UID, out: UID | None = None) -> None:
    """Store ``arr`` as native (uncompressed) pixel data encoded with ``out``.

    By default uncompressed sources keep their transfer syntax (and byte
    order) and compressed ones become Explicit VR Little Endian.
    """
    from pydicom.pixels import pack_bits
    from pydicom.valuerep import VR

    if out is None:
        out = source if not is_compressed(source) else ExplicitVRLittleEndian
    bits = int(ds.get("BitsAllocated", 8) or 8)
    if keyword == "PixelData" and bits == 1:
        data = pack_bits(arr, pad=False)
    else:
        if keyword == "PixelData" and arr.dtype.itemsize * 8 != bits:
            raise PixelError(f"cannot write pixel data in '{_syntax_name(out)}': the decoded samples do not fit (0028,0100) Bits Allocated")
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
    _set_image_elements(ds, meta, samples_per_pixel(ds))
    file_meta = getattr(ds, "file_meta", None)
    if out != source or is_compressed(source) or (file_meta is not None and "TransferSyntaxUID" in file_meta):
        if file_meta is None:
            from pydicom.dataset import FileMetaDataset

            ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = out


def encode(ds: Dataset, keyword: str, arr: np.ndarray, meta: dict, target: UID) -> str:
    """Encode ``arr`` with ``target`` into ``ds``; ``""`` on success, else why not
    (``ds`` is then left for :func:`store_native`)."""
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
    _set_image_elements(ds, meta, samples_per_pixel(ds))
    try:
        compress(ds, target, arr=arr, generate_instance_uid=False)
        back, _ = get_decoder(target).as_array(ds, as_rgb=False)  # type: ignore[arg-type]  # as above
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


def middle_frame(arr: np.ndarray, samples: int) -> np.ndarray:
    return arr[arr.shape[0] // 2] if frames_first(arr, samples) else arr


def palette_rgb(frame: np.ndarray, ds: Dataset) -> np.ndarray:
    """Palette indices as the colours a viewer shows (indices kept when the LUT is unusable)."""
    try:
        from pydicom.pixels import apply_color_lut

        return apply_color_lut(frame, ds)
    except Exception:  # noqa: BLE001 - a preview only
        return frame
