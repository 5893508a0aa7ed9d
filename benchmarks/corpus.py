"""A deterministic generator of realistic DICOM corpora for benchmarks.

Headers carry what de-identification cares about: patient, study, series and
equipment modules with fake PHI, nested sequences (referenced images, a
procedure code, a content sequence), a private block with a creator,
multi-valued dates (top level and private) and a pixel matrix. ``extra``
adds elements (half top-level private text, half in nested sequence items)
so the same shape can be measured at 50, 500 and 5,000 elements; ``size``
picks the pixel matrix, from tiny to large (``SIZES``).

    python -m benchmarks.corpus OUT_DIR --files 300 --extra 0 --size small
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

FIRST = ["Ada", "Brook", "Carmen", "Dmitri", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas"]
LAST = ["Lovelace", "Okafor", "Ruiz", "Petrov", "Yilmaz", "Haddad", "Hopper", "Tanaka", "Costa", "Berg"]
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"

#: Pixel matrices by name: (rows, columns, frames) of 16-bit samples.
SIZES = {
    "tiny": (4, 4, 1),  # 32 bytes of pixels: the header is everything
    "small": (16, 16, 1),  # 512 bytes (the default)
    "ct": (512, 512, 1),  # 512 KiB, a CT slice
    "large": (2048, 2048, 6),  # 48 MiB, a multi-frame image
}


def _uid(rnd: random.Random) -> str:
    return "2.25." + str(rnd.getrandbits(100))


def make_dataset(rnd: random.Random, *, extra: int = 0, rows: int = 16, cols: int = 16, frames: int = 1) -> Dataset:
    ds = Dataset()
    name = f"{rnd.choice(LAST)}^{rnd.choice(FIRST)}"
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CT_IMAGE
    ds.SOPInstanceUID = _uid(rnd)
    ds.StudyDate = f"20{rnd.randint(10, 24):02d}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
    ds.SeriesDate = ds.StudyDate
    ds.AcquisitionDateTime = ds.StudyDate + "101500.000000"
    ds.StudyTime = "101500"
    ds.AccessionNumber = f"ACC{rnd.randint(100000, 999999)}"
    ds.Modality = rnd.choice(["CT", "MR", "US"])
    ds.Manufacturer = rnd.choice(["SIEMENS", "GE MEDICAL SYSTEMS", "Philips"])
    ds.InstitutionName = "Riverside General Hospital"
    ds.InstitutionAddress = "12 Harbour Road, Springfield"
    ds.ReferringPhysicianName = f"{rnd.choice(LAST)}^{rnd.choice(FIRST)}^^Dr."
    ds.StationName = f"CT{rnd.randint(1, 9)}"
    ds.StudyDescription = "CT CHEST W/O CONTRAST"
    ds.SeriesDescription = "AXIAL 1.25mm"
    ds.OperatorsName = f"{rnd.choice(LAST)}^{rnd.choice(FIRST)}"
    ds.DateOfLastCalibration = [f"20{rnd.randint(10, 24):02d}0105", f"20{rnd.randint(10, 24):02d}0612"]
    ds.ManufacturerModelName = "SOMATOM Definition AS+"
    ds.ReferencedImageSequence = Sequence([_ref(rnd) for _ in range(2)])
    code = Dataset()
    code.CodeValue = "CTCHEST"
    code.CodingSchemeDesignator = "L"
    code.CodeMeaning = "CT Chest"
    ds.ProcedureCodeSequence = Sequence([code])
    ds.PatientName = name
    ds.PatientID = f"MRN{rnd.randint(1000000, 9999999)}"
    ds.PatientBirthDate = f"19{rnd.randint(30, 99)}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
    ds.PatientSex = rnd.choice(["F", "M", "O"])
    ds.PatientAge = f"0{rnd.randint(18, 90)}Y"
    ds.PatientAddress = f"{rnd.randint(1, 200)} Elm Street, Springfield"
    ds.OtherPatientIDs = f"ALT{rnd.randint(1000, 9999)}"
    ds.PatientComments = f"Call {rnd.choice(FIRST)} at 555-01{rnd.randint(10, 99)}"
    ds.SliceThickness = "1.25"
    ds.StudyInstanceUID = _uid(rnd)
    ds.SeriesInstanceUID = _uid(rnd)
    ds.StudyID = str(rnd.randint(1, 9999))
    ds.SeriesNumber = rnd.randint(1, 20)
    ds.InstanceNumber = rnd.randint(1, 300)
    ds.FrameOfReferenceUID = _uid(rnd)
    ds.ImageComments = "scout reviewed"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    block = ds.private_block(0x0029, "RIVERSIDE PACS 1.0", create=True)
    block.add_new(0x10, "LO", name)
    block.add_new(0x11, "DA", [ds.StudyDate, ds.PatientBirthDate])
    block.add_new(0x12, "SH", "site-7")
    if extra:
        top = extra // 2
        eb = ds.private_block(0x0031, "RIVERSIDE BULK 2.0", create=True)
        for i in range(min(top, 0xFF - 0x10)):
            eb.add_new(0x10 + i, "LO", f"note {i}")
        remaining = extra - min(top, 0xFF - 0x10)
        items = []
        while remaining > 0:
            item = Dataset()
            item.RelationshipType = "CONTAINS"
            item.ValueType = "TEXT"
            item.TextValue = f"finding {remaining}"
            concept = Dataset()
            concept.CodeValue = str(remaining)
            concept.CodingSchemeDesignator = "DCM"
            concept.CodeMeaning = "Finding"
            item.ConceptNameCodeSequence = Sequence([concept])
            item.ObservationDateTime = ds.AcquisitionDateTime
            items.append(item)
            remaining -= 8
        ds.ContentSequence = Sequence(items)
    if frames > 1:
        ds.NumberOfFrames = frames
    size = rows * cols * 2 * frames
    ds.PixelData = rnd.randbytes(size) if size > 4096 else bytes(rnd.getrandbits(8) for _ in range(size))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = generate_uid(entropy_srcs=["deidlang-bench"])
    ds.file_meta = meta
    return ds


def _ref(rnd: random.Random) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = CT_IMAGE
    item.ReferencedSOPInstanceUID = _uid(rnd)
    return item


def count_elements(ds: Dataset) -> int:
    n = 0
    for elem in ds:
        n += 1
        if elem.VR == "SQ":
            for item in elem.value:
                n += count_elements(item)
    return n


def write_corpus(out: Path, files: int, *, extra: int = 0, seed: int = 1234, folders: int = 4, size: str = "small") -> list[Path]:
    """Write ``files`` DICOM files under ``out`` (spread over sub-folders); return their paths.

    The same arguments always give the same bytes."""
    rows, cols, frames = SIZES[size]
    rnd = random.Random(seed)
    paths = []
    for i in range(files):
        folder = out / f"patient{i % folders:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"img{i:05d}.dcm"
        make_dataset(rnd, extra=extra, rows=rows, cols=cols, frames=frames).save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--files", type=int, default=300)
    ap.add_argument("--extra", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--size", choices=list(SIZES), default="small", help="pixel matrix (default: small)")
    args = ap.parse_args(argv)
    paths = write_corpus(args.out, args.files, extra=args.extra, seed=args.seed, size=args.size)
    print(f"wrote {len(paths)} files under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
