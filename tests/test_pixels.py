"""Pixel cleaning: ``deidlang.pixels`` (mask semantics, decoding, writing, previews).

Every cleaned output is saved, read back with pydicom and decoded: the pixels
inside the blanked regions must be exactly 0 and every other pixel must be the
original decoded value (lossless sources exactly; a lossy source against its
own decoded pixels). The expected mask is computed here pixel by pixel from
Python's slice rules, independently of the module. Where deid 0.4.13 is right,
``masked_array`` is compared with deid's ``DicomCleaner`` on the same file.
"""

from __future__ import annotations

import io
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixtures  # noqa: E402

import deidlang  # noqa: E402
from deidlang import pixels  # noqa: E402
from deidlang.lang.diagnostics import DeidlangError  # noqa: E402
from deidlang.runtime.inspection import Region  # noqa: E402

PIL = pytest.importorskip("PIL.Image")

ROWS, COLS = 6, 8
#: blank a block, keep one pixel inside it, blank a band counted from the right edge
REGIONS = (Region(False, (1, 1, 5, 4)), Region(True, (2, 2, 3, 3)), Region(False, (-2, 3, 100, 100)))
SECRET = "Doe^Secret"


# =========================================================================== helpers


def expected_blank(rows: int, cols: int, regions) -> np.ndarray:
    """The mask by deid's rules (docs/pixels.md), one pixel at a time: True = blanked."""
    keep = [[True] * cols for _ in range(rows)]
    for region in regions:
        if region.box is None:
            ys, xs = range(rows), range(cols)
        else:
            x0, y0, x1, y1 = region.box
            ys = range(*slice(y0, y1).indices(rows))
            xs = range(*slice(x0, x1).indices(cols))
        for y in ys:
            for x in xs:
                keep[y][x] = region.keep
    return ~np.array(keep, dtype=bool)


def values(shape, dtype, *, low: int = 1, high: int = 250) -> np.ndarray:
    """Deterministic, never 0, spread over [low, high]."""
    n = int(np.prod(shape))
    span = high - low + 1
    out = (np.arange(n, dtype=np.int64) * 37 % span) + low
    out[out == 0] = 1
    return out.reshape(shape).astype(dtype)


def image(
    photometric: str = "MONOCHROME2",
    *,
    bits: int = 8,
    signed: bool = False,
    frames: int = 1,
    rows: int = ROWS,
    cols: int = COLS,
    planar: int = 0,
    data: np.ndarray | None = None,
    syntax: str = ExplicitVRLittleEndian,
) -> FileDataset:
    """An uncompressed image with known, non-zero pixel values (a file read back)."""
    samples = 3 if photometric in ("RGB", "YBR_FULL", "YBR_FULL_422") else 1
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = "1.2.3.4.5"
    meta.TransferSyntaxUID = syntax
    ds = FileDataset("img.dcm", Dataset(), file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = "1.2.3.4.5"
    ds.PatientName = SECRET
    ds.Modality = "OT"
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits, bits, bits - 1
    ds.PixelRepresentation = int(signed)
    if samples > 1:
        ds.PlanarConfiguration = planar
    if frames > 1:
        ds.NumberOfFrames = frames
    if data is None:
        shape = ((frames,) if frames > 1 else ()) + (rows, cols) + ((samples,) if samples > 1 else ())
        dtype = np.dtype(f"{'i' if signed else 'u'}{bits // 8}")
        if signed:
            data = values(shape, dtype, low=-(2 ** (bits - 1)) + 1, high=2 ** (bits - 1) - 1)
            data[data == 0] = 3
        else:
            data = values(shape, dtype, high=min(2**bits - 1, 4000))
        if samples > 1 and planar == 1:
            order = (0, 3, 1, 2) if frames > 1 else (2, 0, 1)
            raw = np.ascontiguousarray(data.transpose(order)).tobytes()
        else:
            raw = data.tobytes() if syntax != ExplicitVRBigEndian else data.astype(data.dtype.newbyteorder(">")).tobytes()
    else:
        raw = data.tobytes()
    ds.PixelData = raw + (b"\0" if len(raw) % 2 else b"")
    ds["PixelData"].VR = "OB" if bits <= 8 else "OW"
    if syntax == ExplicitVRBigEndian:
        buf = io.BytesIO()
        pydicom.dcmwrite(buf, ds, implicit_vr=False, little_endian=False, force_encoding=True)
        buf.seek(0)
        return pydicom.dcmread(buf)
    return read_back(ds)


def read_back(ds: Dataset) -> FileDataset:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=False)
    buf.seek(0)
    return pydicom.dcmread(buf)


def decoded(ds: Dataset) -> np.ndarray:
    """What a viewer gets: pydicom's default decoding (colour as RGB)."""
    return ds.pixel_array.copy()


def pydicom_file(name: str) -> str:
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"pydicom's test file '{name}' is not installed")
    return path


def blank_of(arr: np.ndarray, samples: int, regions=REGIONS) -> np.ndarray:
    frames_first = arr.ndim == 4 or (arr.ndim == 3 and samples == 1)
    rows, cols = (arr.shape[1], arr.shape[2]) if frames_first else (arr.shape[0], arr.shape[1])
    return expected_blank(rows, cols, regions)


def check_cleaned(original: np.ndarray, out: FileDataset, samples: int, regions=REGIONS) -> None:
    """Zeros exactly inside the blanked pixels, the original everywhere else."""
    got = out.pixel_array
    assert got.shape == original.shape
    blank = blank_of(original, samples, regions)
    frames_first = original.ndim == 4 or (original.ndim == 3 and samples == 1)
    inside = got[:, blank] if frames_first else got[blank]
    outside = (got[:, ~blank], original[:, ~blank]) if frames_first else (got[~blank], original[~blank])
    assert blank.any()
    assert (inside == 0).all()
    np.testing.assert_array_equal(outside[0], outside[1])
    assert out.BurnedInAnnotation == "NO"
    if samples > 1:
        assert out.PlanarConfiguration == 0


def clean_and_reread(ds: FileDataset, regions=REGIONS, **kwargs) -> tuple[pixels.PixelReport, FileDataset]:
    report = pixels.clean_pixels(ds, regions, **kwargs)
    return report, read_back(ds)


# =========================================================================== mask semantics


class TestMask:
    @pytest.mark.parametrize(
        "regions",
        [
            REGIONS,
            (Region(False, None), Region(True, (1, 1, 3, 3))),
            (Region(True, (1, 1, 3, 3)), Region(False, None)),
            (Region(False, (-2, 0, 8, 1)),),
            (Region(False, (5, 4, 2, 1)),),  # inverted: nothing
            (Region(False, (-100, -100, -7, -5)),),
            (Region(False, (3, 2, 3, 5)),),  # empty width
            (Region(True, (0, 0, 8, 6)),),  # keep alone: nothing
            (Region(False, (0, 0, 800, 600)),),
        ],
    )
    def test_mask_follows_python_slices_and_last_write_wins(self, regions):
        got = pixels.blank_mask(ROWS, COLS, regions)
        want = expected_blank(ROWS, COLS, regions)
        if not want.any():
            assert got is None
        else:
            np.testing.assert_array_equal(got, want)

    def test_no_region_blanks_nothing(self):
        assert pixels.blank_mask(ROWS, COLS, ()) is None

    # CC57, on fixture P (6 x 8, every pixel 9)
    @pytest.mark.parametrize(
        "regions, expected_rows",
        [
            ((Region(False, (1, 2, 4, 3)),), {2: [9, 0, 0, 0, 9, 9, 9, 9]}),
            ((Region(False, (-2, 0, 8, 1)),), {0: [9, 9, 9, 9, 9, 9, 0, 0]}),
        ],
    )
    def test_cc57_rows(self, regions, expected_rows):
        arr = pixels.masked_array(fixtures.read_back(fixtures.make_P()), regions)
        for y in range(6):
            assert arr[y].tolist() == expected_rows.get(y, [9] * 8)

    def test_cc57_all_then_keep(self):
        arr = pixels.masked_array(fixtures.read_back(fixtures.make_P()), (Region(False, None), Region(True, (1, 1, 3, 3))))
        want = np.zeros((6, 8), dtype=np.uint8)
        want[1:3, 1:3] = 9
        np.testing.assert_array_equal(arr, want)
        reverse = pixels.masked_array(fixtures.read_back(fixtures.make_P()), (Region(True, (1, 1, 3, 3)), Region(False, None)))
        assert not reverse.any()

    def test_cc58_every_frame_gets_the_mask(self, tmp_path):
        ds = fixtures.read_back(fixtures.make_M())
        arr = pixels.masked_array(ds, (Region(False, (1, 1, 3, 2)),))
        assert arr.shape == (3, 4, 5)
        assert [int(f.sum()) for f in arr] == [90, 90, 90]
        pixels.clean_dataset(ds, (Region(False, (1, 1, 3, 2)),))
        out = read_back(ds)
        assert [int(f.sum()) for f in out.pixel_array] == [90, 90, 90]
        assert out.PatientName == "Doe^John"  # pixels only: the header is not de-identified

    def test_masked_array_does_not_change_the_dataset(self):
        ds = image("RGB")
        before = ds.PixelData
        arr = pixels.masked_array(ds, REGIONS)
        assert ds.PixelData is before and "BurnedInAnnotation" not in ds
        assert (arr[blank_of(arr, 3)] == 0).all()
        untouched = pixels.masked_array(ds, ())
        np.testing.assert_array_equal(untouched, ds.pixel_array)


# =========================================================================== uncompressed images


UNCOMPRESSED = {
    "mono2-u8": dict(),
    "mono2-u16": dict(bits=16),
    "mono2-s16": dict(bits=16, signed=True),
    "mono2-s8": dict(bits=8, signed=True),
    "mono1-u16": dict(photometric="MONOCHROME1", bits=16),
    "rgb": dict(photometric="RGB"),
    "rgb-planar1": dict(photometric="RGB", planar=1),
    "rgb-16": dict(photometric="RGB", bits=16),
    "ybr-full": dict(photometric="YBR_FULL"),
    "mono2-frames": dict(frames=3, bits=16),
    "rgb-frames": dict(photometric="RGB", frames=2),
    "rgb-frames-planar1": dict(photometric="RGB", frames=2, planar=1),
    "mono2-u32": dict(bits=32),
    "implicit": dict(bits=16, syntax=ImplicitVRLittleEndian),
    "big-endian": dict(bits=16, signed=True, syntax=ExplicitVRBigEndian),
}


class TestUncompressed:
    @pytest.mark.parametrize("kind", list(UNCOMPRESSED))
    def test_round_trip(self, kind):
        options = UNCOMPRESSED[kind]
        ds = image(**options)
        syntax = ds.file_meta.TransferSyntaxUID
        original = decoded(ds)
        samples = ds.SamplesPerPixel
        report, out = clean_and_reread(ds)
        assert report.cleaned and not report.recompressed and report.note == ""
        check_cleaned(original, out, samples)
        assert out.file_meta.TransferSyntaxUID == syntax  # uncompressed sources keep their syntax
        want_pi = "RGB" if options.get("photometric", "").startswith("YBR") else options.get("photometric", "MONOCHROME2")
        assert out.PhotometricInterpretation == want_pi == report.photometric
        assert out.PatientName == SECRET  # the header is the recipe's business

    def test_ybr_full_422_is_written_as_rgb(self):
        cols = COLS
        y = values((ROWS, cols), np.uint8, low=20, high=230)
        cb = values((ROWS, cols // 2), np.uint8, low=90, high=160)
        cr = values((ROWS, cols // 2), np.uint8, low=100, high=150)[:, ::-1]
        raw = np.empty((ROWS, cols // 2, 4), dtype=np.uint8)
        raw[..., 0], raw[..., 1], raw[..., 2], raw[..., 3] = y[:, 0::2], y[:, 1::2], cb, cr
        ds = image("YBR_FULL_422", data=raw)
        assert len(ds.PixelData) == ROWS * cols * 2
        original = decoded(ds)  # pydicom: upsampled and converted to RGB
        report, out = clean_and_reread(ds)
        check_cleaned(original, out, 3)
        assert out.PhotometricInterpretation == "RGB" and len(out.PixelData) == ROWS * cols * 3

    def test_ybr_full_422_label_on_full_rgb_data(self):
        """deid's fix_interpretation: full-length data labelled YBR_FULL_422 is read as RGB."""
        rgb = values((ROWS, COLS, 3), np.uint8)
        ds = image("YBR_FULL_422", data=rgb)
        arr = pixels.masked_array(ds, ())
        np.testing.assert_array_equal(arr, rgb)
        report, out = clean_and_reread(ds)
        assert out.PhotometricInterpretation == "RGB"
        check_cleaned(rgb, out, 3)

    def test_palette_colour_blanks_indices_to_entry_0(self):
        ds = image("PALETTE COLOR", bits=8)
        lut = np.arange(256, dtype=np.uint16) * 256
        for n in range(3):  # Red, Green, Blue
            ds.add_new(0x00281101 + n, "US", [256, 0, 16])
            ds.add_new(0x00281201 + n, "OW", lut.tobytes())
        ds = read_back(ds)
        original = decoded(ds)
        report, out = clean_and_reread(ds, previews=True)
        check_cleaned(original, out, 1)
        assert out.PhotometricInterpretation == "PALETTE COLOR"
        assert report.before.shape == (ROWS, COLS, 3)  # the preview shows the colours

    def test_one_bit_data_is_packed_again(self):
        ds = pydicom.dcmread(pydicom_file("liver_1frame.dcm"))
        assert ds.BitsAllocated == 1
        original = decoded(ds)
        regions = (Region(False, (100, 100, 300, 200)),)
        report, out = clean_and_reread(ds, regions)
        assert len(out.PixelData) == len(ds.PixelData)
        check_cleaned(original, out, 1, regions)

    def test_float_pixel_data(self):
        ds = image(bits=32)
        arr = values((ROWS, COLS), np.float32) / 3
        del ds.PixelData, ds.PixelRepresentation, ds.BitsStored, ds.HighBit
        ds.FloatPixelData = arr.tobytes()
        ds = read_back(ds)
        report, out = clean_and_reread(ds)
        check_cleaned(arr, out, 1)


# =========================================================================== compressed images


def encoded(ds: FileDataset, syntax: str) -> FileDataset:
    pydicom.pixels.compress(ds, syntax, generate_instance_uid=False)
    return read_back(ds)


class TestCompressed:
    @pytest.mark.parametrize("syntax", [RLELossless, JPEG2000Lossless], ids=["rle", "j2k"])
    @pytest.mark.parametrize("kind", ["mono2-u8", "mono2-s16", "mono1-u16", "rgb", "mono2-frames", "rgb-frames"])
    @pytest.mark.parametrize("preserve", [False, True], ids=["uncompressed", "preserve"])
    def test_lossless_round_trip(self, kind, syntax, preserve):
        source = image(**UNCOMPRESSED[kind], rows=36, cols=40)  # openjpeg needs 32 x 32 at least
        original = decoded(source)
        ds = encoded(source, syntax)
        np.testing.assert_array_equal(decoded(ds), original)
        report, out = clean_and_reread(ds, preserve_compression=preserve)
        check_cleaned(original, out, ds.SamplesPerPixel)
        want = syntax if preserve else ExplicitVRLittleEndian
        assert out.file_meta.TransferSyntaxUID == want == report.transfer_syntax
        assert report.recompressed is preserve
        assert out["PixelData"].is_undefined_length is preserve

    @pytest.mark.parametrize(
        "name, photometric_in",
        [
            ("SC_rgb_jpeg_dcmtk.dcm", "YBR_FULL"),  # JPEG Baseline, YCbCr
            ("SC_rgb_dcmtk_+eb+cy+s4.dcm", "YBR_FULL"),
            ("SC_jpeg_no_color_transform.dcm", "RGB"),  # JPEG Baseline, RGB (no colour transform)
            ("SC_rgb_jpeg_gdcm.dcm", "RGB"),  # JPEG Lossless process 14
            ("SC_rgb_rle.dcm", "RGB"),
            ("SC_rgb_rle_2frame.dcm", "RGB"),
            ("MR_small_jp2klossless.dcm", "MONOCHROME2"),
            ("MR_small_RLE.dcm", "MONOCHROME2"),
            ("GDCMJ2K_TextGBR.dcm", "YBR_RCT"),
            ("JPEGLSNearLossless_16.dcm", "MONOCHROME2"),
        ],
    )
    def test_pydicoms_compressed_files(self, name, photometric_in):
        ds = pydicom.dcmread(pydicom_file(name))
        assert ds.PhotometricInterpretation == photometric_in
        original = decoded(ds)  # lossy sources: compared with their own decoded pixels
        regions = (Region(False, (3, 4, 40, 20)), Region(True, (10, 10, 12, 12)), Region(False, (-5, -6, 1000, 1000)))
        report, out = clean_and_reread(ds, regions)
        check_cleaned(original, out, ds.SamplesPerPixel, regions)
        assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert out.PhotometricInterpretation == ("RGB" if ds.SamplesPerPixel == 3 else photometric_in)
        assert not out["PixelData"].is_undefined_length

    @pytest.mark.parametrize(
        "name, why",
        [
            ("SC_rgb_jpeg_dcmtk.dcm", "is lossy"),
            ("SC_rgb_jpeg_gdcm.dcm", "cannot be encoded here"),
            ("JPEGLSNearLossless_16.dcm", "is lossy"),
        ],
    )
    def test_preserve_compression_says_why_it_could_not(self, name, why):
        ds = pydicom.dcmread(pydicom_file(name))
        source = UID(ds.file_meta.TransferSyntaxUID).name
        report, out = clean_and_reread(ds, (Region(False, (0, 0, 5, 5)),), preserve_compression=True)
        assert report.cleaned and not report.recompressed
        assert report.note.startswith("written uncompressed:") and why in report.note
        assert source in report.note
        assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian

    def test_failed_re_encoding_falls_back_to_uncompressed(self):
        report = pixels.clean_pixels(image(bits=16, rows=36, cols=40), REGIONS, compression=JPEG2000Lossless)
        assert report.recompressed and report.note == ""
        small = image(bits=16)  # too small for openjpeg's default number of resolutions
        report, out = clean_and_reread(small, compression=JPEG2000Lossless)
        assert not report.recompressed and report.note.startswith("written uncompressed: encoding")
        assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        check_cleaned(decoded(image(bits=16)), out, 1)

    def test_lossy_compression_flag_is_kept(self):
        ds = pydicom.dcmread(pydicom_file("SC_rgb_jpeg_dcmtk.dcm"))
        ds.LossyImageCompression = "01"
        _, out = clean_and_reread(ds, (Region(False, (0, 0, 5, 5)),))
        assert out.LossyImageCompression == "01"

    def test_explicit_compression(self):
        ds = image("RGB", frames=2)
        original = decoded(ds)
        report, out = clean_and_reread(ds, compression=RLELossless)
        assert report.recompressed and out.file_meta.TransferSyntaxUID == RLELossless
        check_cleaned(original, out, 3)

    def test_encoder_that_is_missing_is_reported(self):
        from pydicom.pixels import get_encoder

        if get_encoder(JPEGLSLossless).is_available:
            pytest.skip("pyjpegls is installed: JPEG-LS can be encoded here")
        ds = image(bits=16)
        report, out = clean_and_reread(ds, compression=JPEGLSLossless)
        assert not report.recompressed and "pyjpegls" in report.note
        assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        check_cleaned(decoded(image(bits=16)), out, 1)


# =========================================================================== nothing to do, and failures


class TestNoOpAndErrors:
    def test_no_regions_leave_the_pixels_alone(self):
        ds = pydicom.dcmread(pydicom_file("SC_rgb_jpeg_dcmtk.dcm"))
        data = ds.PixelData
        for regions in ((), (Region(True, (0, 0, 5, 5)),), (Region(False, (50, 50, 10, 10)),)):
            report = pixels.clean_pixels(ds, regions)
            assert not report.cleaned and ds.PixelData is data
            assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.50" and "BurnedInAnnotation" not in ds

    def test_no_regions_do_not_decode(self):
        ds = pydicom.dcmread(pydicom_file("JPEG-lossy.dcm"))  # cannot be decoded here
        assert pixels.clean_dataset(ds, ()) is ds

    def test_no_pixel_data(self):
        ds = fixtures.read_back(fixtures.make_S())
        report = pixels.clean_pixels(ds, REGIONS)
        assert not report.cleaned and "BurnedInAnnotation" not in ds
        with pytest.raises(pixels.PixelError):
            pixels.masked_array(ds, REGIONS)

    def test_undecodable_pixels_raise_and_change_nothing(self):
        ds = pydicom.dcmread(pydicom_file("JPEG-lossy.dcm"))
        ds.PatientName = SECRET
        data = ds.PixelData
        with pytest.raises(pixels.PixelError) as info:
            pixels.clean_dataset(ds, REGIONS)
        message = str(info.value)
        assert "JPEG Extended" in message and SECRET not in message
        assert isinstance(info.value, DeidlangError)
        assert ds.PixelData is data and "BurnedInAnnotation" not in ds
        with pytest.raises(pixels.PixelError):
            pixels.masked_array(ds, REGIONS)

    def test_blanking_everything_needs_no_decoder(self):
        ds = pydicom.dcmread(pydicom_file("JPEG-lossy.dcm"))  # no decoder here for 12-bit JPEG Extended
        report, out = clean_and_reread(ds, (Region(False, None),))
        assert report.cleaned and out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        arr = out.pixel_array
        assert arr.shape == (out.Rows, out.Columns) and not arr.any()

    @pytest.mark.parametrize("name", ["SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_rle_2frame.dcm", "MR_small_jp2klossless.dcm", "liver_1frame.dcm"])
    def test_blanking_everything_gives_what_decoding_gives(self, name):
        """The no-decode shortcut writes the same file as blanking decoded pixels."""
        everything = (Region(False, None),)
        fast = pydicom.dcmread(pydicom_file(name))
        pixels.clean_pixels(fast, everything)
        slow = pydicom.dcmread(pydicom_file(name))
        pixels.clean_pixels(slow, everything, previews=True)  # previews need the old pixels: decoded
        assert fast.PixelData == slow.PixelData
        for keyword in ("PhotometricInterpretation", "PlanarConfiguration", "BurnedInAnnotation"):
            assert fast.get(keyword) == slow.get(keyword)
        assert fast.file_meta.TransferSyntaxUID == slow.file_meta.TransferSyntaxUID

    def test_truncated_pixel_data(self):
        ds = image(bits=16)
        ds.PixelData = ds.PixelData[:10]
        with pytest.raises(pixels.PixelError, match="Explicit VR Little Endian"):
            pixels.clean_dataset(ds, REGIONS)

    def test_unknown_transfer_syntax(self):
        ds = image()
        ds.file_meta.TransferSyntaxUID = "1.2.3.4.99"
        with pytest.raises(pixels.PixelError, match="no decoder"):
            pixels.clean_dataset(ds, REGIONS)

    def test_missing_image_element(self):
        ds = image()
        del ds.BitsAllocated
        with pytest.raises(pixels.PixelError, match=r"\(0028,0100\) Bits Allocated"):
            pixels.clean_dataset(ds, REGIONS)

    def test_unknown_transfer_syntax_blanked_entirely_is_written_natively(self):
        ds = image()
        ds.file_meta.TransferSyntaxUID = "1.2.3.4.99"
        report, out = clean_and_reread(ds, (Region(False, None),))
        assert report.cleaned and out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert out.pixel_array.shape == (ROWS, COLS) and not out.pixel_array.any()

    def test_failed_encoding_of_a_dataset_without_file_meta_leaves_none(self):
        ds = Dataset()
        ds.Rows, ds.Columns, ds.SamplesPerPixel = ROWS, COLS, 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        ds.PixelData = values((ROWS, COLS), np.uint8).tobytes()
        report = pixels.clean_pixels(ds, REGIONS, compression=JPEG2000Lossless)  # too small for openjpeg
        assert not report.recompressed and report.note
        assert "file_meta" not in ds.__dict__ or "TransferSyntaxUID" not in ds.file_meta
        assert not ds["PixelData"].is_undefined_length and len(ds.PixelData) == ROWS * COLS

    def test_dataset_built_in_memory(self):
        ds = Dataset()
        ds.Rows, ds.Columns, ds.SamplesPerPixel = ROWS, COLS, 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        data = values((ROWS, COLS), np.uint8)
        ds.PixelData = data.tobytes()
        pixels.clean_dataset(ds, REGIONS)
        got = np.frombuffer(ds.PixelData, dtype=np.uint8).reshape(ROWS, COLS)
        blank = expected_blank(ROWS, COLS, REGIONS)
        assert (got[blank] == 0).all() and (got[~blank] == data[~blank]).all()


# =========================================================================== deid 0.4.13 as the oracle


deid_pixels = pytest.importorskip("deid.dicom.pixels")

ORACLE_RECIPE = """FORMAT dicom
%filter graylist
LABEL box
  present Rows
  coordinates 1,1,5,4
  keepcoordinates 2,2,3,3
  ctpcoordinates 4,0,3,2
  coordinates -2,3,100,100
"""
US_RECIPE = """FORMAT dicom
%filter graylist
LABEL us
  present SequenceOfUltrasoundRegions
  coordinates all
  keepcoordinates from:SequenceOfUltrasoundRegions
"""
DEID_DATA = Path(__import__("deid_data").__file__).resolve().parent / "data" if __import__("importlib").util.find_spec("deid_data") else None


def deid_clean(path: str, recipe_path: str) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cleaner = deid_pixels.DicomCleaner(deid=recipe_path, output_folder=os.path.dirname(recipe_path))
        cleaner.detect(path)
        return cleaner.clean()


def ours(path: str, recipe_text: str) -> np.ndarray:
    ds = pydicom.dcmread(path)
    regions = deidlang.compile(recipe_text).inspect(ds).regions
    return pixels.masked_array(ds, regions)


@pytest.mark.differential
class TestAgainstDeid:
    @pytest.mark.parametrize("kind", ["mono2-u8", "mono2-u16", "mono2-s16", "rgb", "mono2-frames", "rgb-frames", "ybr-full"])
    def test_built_images(self, kind, tmp_path):
        path = tmp_path / "img.dcm"
        image(**UNCOMPRESSED[kind]).save_as(path, enforce_file_format=False)
        recipe = tmp_path / "deid.recipe"
        recipe.write_text(ORACLE_RECIPE)
        theirs = deid_clean(str(path), str(recipe))
        mine = ours(str(path), ORACLE_RECIPE)
        assert mine.shape == theirs.shape
        np.testing.assert_array_equal(mine, theirs)

    def test_ybr_full_422_label_on_full_data(self, tmp_path):
        path = tmp_path / "img.dcm"
        image("YBR_FULL_422", data=values((ROWS, COLS, 3), np.uint8)).save_as(path, enforce_file_format=False)
        recipe = tmp_path / "deid.recipe"
        recipe.write_text(ORACLE_RECIPE)
        np.testing.assert_array_equal(ours(str(path), ORACLE_RECIPE), deid_clean(str(path), str(recipe)))

    @pytest.mark.parametrize("name", ["ultrasounds/GREYSCALE_IMAGE.dcm", "ultrasounds/RGB_IMAGE.dcm", "humans/ctbrain1.dcm"])
    def test_deid_data(self, name, tmp_path):
        if DEID_DATA is None or not (DEID_DATA / name).exists():
            pytest.skip("deid-data is not installed")
        path = str(DEID_DATA / name)
        text = US_RECIPE if name.startswith("ultrasounds") else ORACLE_RECIPE.replace("1,1,5,4", "10,20,300,80")
        recipe = tmp_path / "deid.recipe"
        recipe.write_text(text)
        theirs = deid_clean(path, str(recipe))
        mine = ours(path, text)
        np.testing.assert_array_equal(mine, theirs)
        assert (mine == 0).any()


# =========================================================================== PNG previews


class TestPng:
    def test_grey_16_bit_is_windowed(self, tmp_path):
        arr = values((ROWS, COLS), np.uint16, low=1000, high=3000)
        path = pixels.write_png(tmp_path / "a.png", arr)
        with PIL.open(path) as im:
            assert im.mode == "L" and im.size[0] >= 256  # small images are enlarged
            data = np.asarray(im)
        assert data.min() == 0 and data.max() == 255
        assert not [p for p in os.listdir(tmp_path) if p != "a.png"]  # no temporary left

    def test_rgb_is_kept_and_multi_frame_gives_the_middle_frame(self, tmp_path):
        frames = np.zeros((3, 300, 400, 3), dtype=np.uint8)
        frames[1, ..., 0] = 200  # the middle frame is red
        path = pixels.write_png(tmp_path / "rgb.png", frames, title="after")
        with PIL.open(path) as im:
            assert im.mode == "RGB" and im.size == (400, 318)
            assert im.text.get("Title") == "after"
            assert im.getpixel((200, 200)) == (200, 0, 0)

    def test_previews_share_one_window(self, tmp_path):
        ds = image(bits=16)
        report = pixels.clean_pixels(ds, (Region(False, (0, 0, 4, 3)),), previews=True)
        before, after = pixels.write_previews(report, tmp_path / "b.png", tmp_path / "a.png")
        with PIL.open(before) as b, PIL.open(after) as a:
            nb, na = np.asarray(b), np.asarray(a)
        assert nb.shape == na.shape
        bottom = nb.shape[0] - 1  # the bottom-right corner was not blanked: same grey in both
        assert nb[bottom, -1] == na[bottom, -1]

    def test_monochrome1_previews_are_inverted(self, tmp_path):
        ds = image("MONOCHROME1", bits=16)
        report = pixels.clean_pixels(ds, (Region(False, None),), previews=True)
        _, after = pixels.write_previews(report, tmp_path / "b.png", tmp_path / "a.png")
        with PIL.open(after) as a:
            assert np.asarray(a)[-1, -1] == 255  # stored 0 shows as white in MONOCHROME1

    def test_no_previews_kept(self, tmp_path):
        report = pixels.clean_pixels(image(), REGIONS)
        with pytest.raises(pixels.PixelError):
            pixels.write_previews(report, tmp_path / "b.png", tmp_path / "a.png")
