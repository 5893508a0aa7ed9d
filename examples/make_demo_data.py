"""Regenerate the synthetic demo DICOM files shipped in deidlang/data/demo/.

    python examples/make_demo_data.py            # rewrite deidlang/data/demo/
    python examples/make_demo_data.py --output DIR

Every value is invented: the people, hospitals, addresses, phone numbers
(555-01xx is reserved for fiction) and IDs do not exist. The files are
nevertheless shaped like real clinical data, with the identifying elements a
de-identification recipe has to deal with: names of patients and staff,
IDs, addresses, dates and times (some multi-valued), UIDs that refer to each
other, nested sequences (two levels deep), a private block that repeats the
patient's name, and free-text comments.

The output is deterministic: UIDs are derived from fixed strings, there is
no timestamp, and pixel data (16x16) come from a formula, so running this
twice gives byte-identical files (for a given pydicom version).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    PYDICOM_ROOT_UID,
    ComputedRadiographyImageStorage,
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    SecondaryCaptureImageStorage,
    UltrasoundImageStorage,
    generate_uid,
)

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "deidlang" / "data" / "demo"
SIZE = 16
IMPLEMENTATION_UID = PYDICOM_ROOT_UID + "1"
PRIVATE_CREATOR = "DEIDLANG DEMO 1.0"


def uid(*parts: str) -> str:
    """A valid, stable UID for a name (the same parts give the same UID)."""
    return generate_uid(prefix=PYDICOM_ROOT_UID, entropy_srcs=["deidlang-demo", *parts])


# --------------------------------------------------------------------------- people and places (all invented)

PATIENTS = {
    "patient-001": {
        "PatientName": "ORCHARD^MAREN^TILDE",
        "PatientID": "FMH-204418",
        "IssuerOfPatientID": "FAIRHAVEN MEMORIAL",
        "OtherIDs": [("NHX-7730-1962", "NORTHGATE HEALTH EXCHANGE")],
        "PatientBirthDate": "19620314",
        "PatientSex": "F",
        "PatientAge": "062Y",
        "PatientSize": "1.68",
        "PatientWeight": "71.5",
        "PatientAddress": "17 Quarry Hill Road, Elmsworth, ZZ 09921",
        "PatientTelephoneNumbers": "555-0142",
        "AdditionalPatientHistory": "Follow-up for nodule seen at Elmsworth Clinic; patient prefers calls to her daughter Ida.",
        "PatientComments": "Interpreter not needed. Contact M. Orchard at 555-0142.",
    },
    "patient-002": {
        "PatientName": "BRØNDUM^ASTRID",
        "PatientID": "FMH-318805",
        "IssuerOfPatientID": "FAIRHAVEN MEMORIAL",
        "OtherIDs": [("KV-55-0193", "KESTREL VALLEY CLINIC"), ("NHX-1180-1990", "NORTHGATE HEALTH EXCHANGE")],
        "PatientBirthDate": "19900729",
        "PatientSex": "F",
        "PatientAge": "034Y",
        "PatientSize": "1.74",
        "PatientWeight": "64",
        "PatientAddress": "Flat 3, 9 Tannery Lane, Kestrel Valley, ZZ 04417",
        "PatientTelephoneNumbers": "555-0187",
        "AdditionalPatientHistory": "Second trimester; referred by Dr. Halloway.",
        "PatientComments": "Prefers Danish-speaking staff.",
    },
    "patient-003": {
        "PatientName": "QUILLFEATHER^BASTIAN^O^^MR",
        "PatientID": "FMH-100027",
        "IssuerOfPatientID": "FAIRHAVEN MEMORIAL",
        "OtherIDs": [],
        "PatientBirthDate": "19481102",
        "PatientSex": "M",
        "PatientAge": "076Y",
        "PatientSize": "1.80",
        "PatientWeight": "88.2",
        "PatientAddress": "Ravensfold Care Home, 2 Mill Street, Elmsworth, ZZ 09920",
        "PatientTelephoneNumbers": "555-0119",
        "AdditionalPatientHistory": "Fall at Ravensfold Care Home; knee pain.",
        "PatientComments": "Hard of hearing.",
    },
}

INSTITUTION = {
    "InstitutionName": "Fairhaven Memorial Hospital",
    "InstitutionAddress": "400 Lantern Avenue, Fairhaven, ZZ 09900",
    "InstitutionalDepartmentName": "Diagnostic Imaging",
}

STAFF = {
    "referring": "HALLOWAY^PERPETUA^^DR",
    "radiologist": "NAKAMURA-OYELARAN^KENJI^^DR",
    "operators": ["FENWICK^TOBIAS", "LINDQVIST^SAGA"],
    "performing": "ABERNATHY^COLM^^DR",
}

# (patient, study key, modality, series description, files, study date, SOP class, body part)
STUDIES = [
    ("patient-001", "ct-chest", "CT", "CHEST 1.25MM AXIAL", 3, "20240611", CTImageStorage, "CHEST"),
    ("patient-001", "mr-brain", "MR", "T1 SAG", 2, "20240618", MRImageStorage, "HEAD"),
    ("patient-002", "us-obstetric", "US", "OB SECOND TRIMESTER", 2, "20240903", UltrasoundImageStorage, "ABDOMEN"),
    ("patient-002", "sc-report", "OT", "SCANNED REFERRAL", 1, "20240903", SecondaryCaptureImageStorage, ""),
    ("patient-003", "cr-knee", "CR", "KNEE AP", 1, "20241120", ComputedRadiographyImageStorage, "KNEE"),
    ("patient-003", "mr-knee", "MR", "PD FS COR", 1, "20241122", MRImageStorage, "KNEE"),
]


# --------------------------------------------------------------------------- building blocks


def pixels(seed: int, *, samples: int = 1, bits: int = 16) -> bytes:
    """A small deterministic gradient with a bright square (no randomness)."""
    out = bytearray()
    top = (1 << (12 if bits == 16 else 8)) - 1
    for y in range(SIZE):
        for x in range(SIZE):
            value = (x * 37 + y * 11 + seed * 53) % (top // 2)
            if 5 <= x < 11 and 5 <= y < 11:
                value = top - seed
            for s in range(samples):
                v = (value + s * 40) % (top + 1)
                out += v.to_bytes(2, "little") if bits == 16 else bytes([v & 0xFF])
    return bytes(out)


def code_item(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def patient_module(ds: Dataset, p: dict) -> None:
    ds.PatientName = p["PatientName"]
    ds.PatientID = p["PatientID"]
    ds.IssuerOfPatientID = p["IssuerOfPatientID"]
    ds.PatientBirthDate = p["PatientBirthDate"]
    ds.PatientSex = p["PatientSex"]
    if p["OtherIDs"]:
        items = []
        for other_id, issuer in p["OtherIDs"]:
            item = Dataset()
            item.PatientID = other_id
            item.IssuerOfPatientID = issuer
            item.TypeOfPatientID = "TEXT"
            items.append(item)
        ds.OtherPatientIDsSequence = Sequence(items)
    ds.PatientAge = p["PatientAge"]
    ds.PatientSize = p["PatientSize"]
    ds.PatientWeight = p["PatientWeight"]
    ds.PatientAddress = p["PatientAddress"]
    ds.PatientTelephoneNumbers = p["PatientTelephoneNumbers"]
    ds.AdditionalPatientHistory = p["AdditionalPatientHistory"]
    ds.PatientComments = p["PatientComments"]


def request_attributes(patient: str, study: str, study_date: str, description: str) -> Sequence:
    """RequestAttributesSequence > item > RequestedProcedureCodeSequence > item (two levels)."""
    item = Dataset()
    item.RequestedProcedureID = f"RP-{study_date}-{patient[-3:]}"
    item.ScheduledProcedureStepID = f"SPS-{study_date}-{patient[-3:]}"
    item.RequestedProcedureDescription = description
    item.ReasonForTheRequestedProcedure = "Clinical question from Dr. Halloway, Elmsworth Clinic"
    item.RequestedProcedureCodeSequence = Sequence([code_item(f"FMH{study[:2].upper()}01", "99FMH", description)])
    return Sequence([item])


def build(patient: str, study: str, modality: str, series_desc: str, index: int, study_date: str, sop_class: str, body_part: str) -> Dataset:
    p = PATIENTS[patient]
    number = index + 1
    study_uid = uid(patient, study)
    series_uid = uid(patient, study, "series")
    sop_uid = uid(patient, study, str(number))
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"] if modality in ("CT", "MR") else ["ORIGINAL", "PRIMARY"]
    if modality == "OT":
        ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.InstanceCreationDate = study_date
    ds.InstanceCreationTime = f"1{number}2233"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = study_date
    ds.SeriesDate = study_date
    ds.AcquisitionDate = study_date
    ds.ContentDate = study_date
    ds.StudyTime = "093015"
    ds.SeriesTime = "093512"
    ds.AcquisitionTime = f"0936{number:02d}.250000"
    ds.ContentTime = f"0936{number:02d}"
    ds.AccessionNumber = f"ACC{study_date[2:]}{patient[-2:]}"
    ds.Modality = modality
    if modality == "OT":
        ds.ConversionType = "DF"
    ds.Manufacturer = "DEIDLANG SYNTHETIC"
    ds.InstitutionName = INSTITUTION["InstitutionName"]
    ds.InstitutionAddress = INSTITUTION["InstitutionAddress"]
    ds.ReferringPhysicianName = STAFF["referring"]
    ds.ReferringPhysicianTelephoneNumbers = "555-0160"
    ds.StationName = f"FMH-{modality}01"
    ds.StudyDescription = f"{body_part or 'REFERRAL'} {modality} for ORCHARD follow-up" if patient == "patient-001" else f"{body_part or 'REFERRAL'} {modality}"
    ds.SeriesDescription = series_desc
    ds.InstitutionalDepartmentName = INSTITUTION["InstitutionalDepartmentName"]
    ds.PhysiciansOfRecord = STAFF["referring"]
    ds.PerformingPhysicianName = STAFF["performing"]
    ds.NameOfPhysiciansReadingStudy = STAFF["radiologist"]
    ds.OperatorsName = STAFF["operators"]
    ds.ManufacturerModelName = f"Synthetic {modality} 2000"
    if number > 1:
        ref = Dataset()
        ref.ReferencedSOPClassUID = sop_class
        ref.ReferencedSOPInstanceUID = uid(patient, study, str(number - 1))
        ds.ReferencedImageSequence = Sequence([ref])
    patient_module(ds, p)
    if body_part:
        ds.BodyPartExamined = body_part
    ds.DeviceSerialNumber = f"SN-{modality}-00{len(modality)}417"
    ds.DateOfLastCalibration = ["20240105", "20240612"]
    ds.TimeOfLastCalibration = ["071500", "064500"]
    if modality in ("CT", "MR"):
        ds.SliceThickness = "1.25" if modality == "CT" else "3.0"
    ds.ProtocolName = f"{body_part or 'OTHER'} ROUTINE"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = f"S{study_date[4:]}{patient[-1]}"
    ds.SeriesNumber = 1
    ds.InstanceNumber = number
    if modality in ("CT", "MR"):
        ds.FrameOfReferenceUID = uid(patient, study, "frame")
        ds.ImagePositionPatient = [-120.0, -120.0, float(-40 + 1.25 * index)]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImageComments = f"Prelim read by {STAFF['radiologist'].split('^')[0].title()}; compare with Elmsworth Clinic images"
    ds.RequestAttributesSequence = request_attributes(patient, study, study_date, series_desc)
    image_module(ds, modality, number)
    private_block(ds, p, modality)
    ds.file_meta = file_meta(sop_class, sop_uid)
    return ds


def image_module(ds: Dataset, modality: str, number: int) -> None:
    ds.Rows = SIZE
    ds.Columns = SIZE
    if modality == "US":
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
        ds.BitsAllocated = 8
        ds.BitsStored = 8
        ds.HighBit = 7
        ds.PixelRepresentation = 0
        ds.PixelData = pixels(number, samples=3, bits=8)
        return
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    if modality == "OT":
        ds.BitsAllocated = 8
        ds.BitsStored = 8
        ds.HighBit = 7
        ds.PixelRepresentation = 0
        ds.BurnedInAnnotation = "YES"
        ds.PixelData = pixels(number, bits=8)
        return
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    if modality == "CT":
        ds.RescaleIntercept = "-1024"
        ds.RescaleSlope = "1"
    ds.WindowCenter = "400"
    ds.WindowWidth = "1500"
    ds.PixelData = pixels(number)


def private_block(ds: Dataset, p: dict, modality: str) -> None:
    """A vendor block that, as real ones often do, repeats identifying text."""
    block = ds.private_block(0x0009, PRIVATE_CREATOR, create=True)
    block.add_new(0x01, "LO", p["PatientName"].replace("^", " "))
    block.add_new(0x02, "LO", f"{modality} workstation FMH-{modality}01")
    block.add_new(0x03, "DS", "1.5")


def file_meta(sop_class: str, sop_uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPLEMENTATION_UID
    meta.ImplementationVersionName = "DEIDLANG_DEMO"
    return meta


# --------------------------------------------------------------------------- main


def generate(output: Path) -> list[Path]:
    output.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for patient, study, modality, series_desc, count, study_date, sop_class, body_part in STUDIES:
        for index in range(count):
            ds = build(patient, study, modality, series_desc, index, study_date, sop_class, body_part)
            path = output / patient / study / f"{modality.lower()}-{index + 1:03d}.dcm"
            path.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(path, enforce_file_format=True)
            written.append(path)
    for stale in output.rglob("*.dcm"):  # files from an older layout
        if stale not in written:
            stale.unlink()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"where to write (default: {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    written = generate(args.output)
    total = sum(p.stat().st_size for p in written)
    print(f"wrote {len(written)} files ({total} bytes) under {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
