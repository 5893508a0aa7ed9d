"""Dataset builders for the tests. Depends on pydicom only.

* :func:`make_S` - the in-memory dataset S (not yet written);
* :func:`write_S` - S written to a path (Explicit VR Little Endian, file meta
  completed by pydicom), as deid's conformance cases use it;
* :func:`build_S` - S written and read back, like ``dcmread`` of the file
  (pass ``path`` to keep the file, else it is read from memory);
* ``dt=True`` gives S+dt; :func:`make_P` / :func:`make_M` the pixel variants;
* :func:`write_recipe` writes recipe text with the usual ``FORMAT dicom`` /
  ``%header`` preamble.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

__all__ = [
    "CT_IMAGE_STORAGE",
    "make_S",
    "write_S",
    "build_S",
    "S_bytes",
    "make_P",
    "make_M",
    "write_dataset",
    "read_back",
    "write_recipe",
    "header",
]

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"


def make_S(*, dt: bool = False) -> FileDataset:
    """Dataset S, the tests' small CT (with ``dt``: S+dt), in memory, file meta set."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = "1.2.3.4.5"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = "1.2.3.999"

    ds = FileDataset("S.dcm", Dataset(), file_meta=meta, preamble=b"\0" * 128)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = "1.2.3.4.5"
    ds.StudyDate = "20230101"
    ds.AcquisitionDateTime = "20230101120000.000000"
    ds.StudyTime = "120000"
    ds.Modality = "CT"
    ds.Manufacturer = "SIEMENS"
    ds.InstitutionName = "General Hospital"
    ds.ReferringPhysicianName = "Smith^Jane"
    ds.ManufacturerModelName = "SOMATOM Definition AS+"
    items = []
    for cls, inst in ((CT_IMAGE_STORAGE, "1.2.3.4.6"), (MR_IMAGE_STORAGE, "1.2.3.4.7")):
        item = Dataset()
        item.ReferencedSOPClassUID = cls
        item.ReferencedSOPInstanceUID = inst
        items.append(item)
    ds.ReferencedImageSequence = items
    ds.PatientName = "Doe^John"
    ds.PatientID = "12345"
    ds.PatientBirthDate = "19800101"
    ds.SliceThickness = "1.5"
    ds.StudyInstanceUID = "1.2.3.4"
    ds.Rows = 4
    ds.Columns = 4
    acme = ds.private_block(0x0029, "ACME: Corp", create=True)
    acme.add_new(0x10, "DA", "20230101")
    mitra = ds.private_block(0x0033, "MITRA OBJECT UTF8 ATTRIBUTES 1.0", create=True)
    mitra.add_new(0x1E, "LO", "private value")
    if dt:
        ds.add_new(0x00080015, "DT", "20230101120000+0100")  # InstanceCoercionDateTime
        ds.SeriesDate = ["20230101", "20230105"]
    return ds


def make_P(*, dt: bool = False) -> FileDataset:
    """S plus an 8-bit MONOCHROME2 image of 6 rows x 8 columns, every pixel 9."""
    ds = make_S(dt=dt)
    _pixels(ds, rows=6, cols=8, frames=1, value=9)
    return ds


def make_M(*, dt: bool = False) -> FileDataset:
    """S plus 3 frames of 4 x 5 pixels, every pixel 5."""
    ds = make_S(dt=dt)
    _pixels(ds, rows=4, cols=5, frames=3, value=5)
    return ds


def _pixels(ds: Dataset, *, rows: int, cols: int, frames: int, value: int) -> None:
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = bytes([value]) * (rows * cols * frames)


def write_dataset(ds: Dataset, path: str | os.PathLike) -> Path:
    """Save with a complete file meta (``enforce_file_format=True``)."""
    ds.save_as(os.fspath(path), enforce_file_format=True)
    return Path(path)


def write_S(path: str | os.PathLike, *, dt: bool = False) -> Path:
    """Write S (or S+dt) to ``path`` and return it."""
    return write_dataset(make_S(dt=dt), path)


_S_BYTES: dict[bool, bytes] = {}


def S_bytes(*, dt: bool = False) -> bytes:
    """The bytes of the S file (cached)."""
    if dt not in _S_BYTES:
        buf = io.BytesIO()
        make_S(dt=dt).save_as(buf, enforce_file_format=True)
        _S_BYTES[dt] = buf.getvalue()
    return _S_BYTES[dt]


def build_S(path: str | os.PathLike | None = None, *, dt: bool = False) -> FileDataset:
    """S as read back from its file: from ``path`` (written there) or from memory."""
    if path is not None:
        write_S(path, dt=dt)
        return dcmread(os.fspath(path))
    return dcmread(io.BytesIO(S_bytes(dt=dt)))


def read_back(ds: Dataset) -> FileDataset:
    """``ds`` saved to memory and read again (to see values as a file holds them)."""
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    buf.seek(0)
    return dcmread(buf)


def header(*lines: str) -> str:
    """Recipe text: ``FORMAT dicom``, ``%header`` and the lines."""
    return "FORMAT dicom\n\n%header\n\n" + "\n".join(lines) + "\n"


def write_recipe(path: str | os.PathLike, text: str) -> Path:
    """Write recipe text (use :func:`header` for the usual preamble)."""
    p = Path(path)
    p.write_text(text, encoding="utf-8")
    return p
