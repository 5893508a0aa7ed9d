"""Datasets for the differential tests (deidlang against the real deid 0.4.13).

Three sources:

* synthetic datasets built here, each aimed at one family of behaviour
  (deep sequences, private blocks, multi-valued and empty values, numeric
  VRs, file meta, text), written to disk because deid only reads files;
* small files bundled with pydicom (no network needed);
* deid-data's dicom-cookies and humans, when deid-data is installed.

``DATASETS`` lists every name at import time, so tests can be parametrized
before anything is written; :func:`materialize` writes the synthetic ones
into a folder and returns ``{name: path}``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
SR_DOCUMENT = "1.2.840.10008.5.1.4.1.1.88.11"


# --------------------------------------------------------------------------- helpers


def _file_dataset(ds: Dataset, sop_class: str, sop_instance: str) -> FileDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = "1.2.3.999"
    out = FileDataset("", Dataset(), file_meta=meta, preamble=b"\0" * 128)
    out.update(ds)
    return out


def _item(**elements) -> Dataset:
    item = Dataset()
    for keyword, value in elements.items():
        setattr(item, keyword, value)
    return item


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    return _item(CodeValue=value, CodingSchemeDesignator=scheme, CodeMeaning=meaning)


# --------------------------------------------------------------------------- S


def _own_s() -> FileDataset:
    ds = Dataset()
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CT_IMAGE
    ds.SOPInstanceUID = "1.2.3.4.5"
    ds.StudyDate = "20230101"
    ds.AcquisitionDateTime = "20230101120000.000000"
    ds.StudyTime = "120000"
    ds.Modality = "CT"
    ds.Manufacturer = "SIEMENS"
    ds.InstitutionName = "General Hospital"
    ds.ReferringPhysicianName = "Smith^Jane"
    ds.ManufacturerModelName = "SOMATOM Definition AS+"
    ds.ReferencedImageSequence = Sequence(
        [
            _item(ReferencedSOPClassUID="1.2.840.10008.5.1.4.1.1.2", ReferencedSOPInstanceUID="1.2.3.4.6"),
            _item(ReferencedSOPClassUID="1.2.840.10008.5.1.4.1.1.4", ReferencedSOPInstanceUID="1.2.3.4.7"),
        ]
    )
    ds.PatientName = "Doe^John"
    ds.PatientID = "12345"
    ds.PatientBirthDate = "19800101"
    ds.SliceThickness = "1.5"
    ds.StudyInstanceUID = "1.2.3.4"
    ds.Rows = 4
    ds.Columns = 4
    ds.private_block(0x0029, "ACME: Corp", create=True).add_new(0x10, "DA", "20230101")
    ds.private_block(0x0033, "MITRA OBJECT UTF8 ATTRIBUTES 1.0", create=True).add_new(0x1E, "LO", "private value")
    return _file_dataset(ds, CT_IMAGE, "1.2.3.4.5")


def build_s() -> Dataset:
    """S from tests/fixtures.py when the runtime's fixtures exist, else built here (same table)."""
    try:
        from tests.fixtures import build_S  # type: ignore[import-not-found]
    except ImportError:
        try:
            from fixtures import build_S  # type: ignore[import-not-found,no-redef]
        except ImportError:
            return _own_s()
    built = build_S()
    if isinstance(built, (str, os.PathLike)):
        import pydicom

        return pydicom.dcmread(built)
    return built


def build_s_dt() -> Dataset:
    """S+dt: a DT with a UTC offset and a two-valued DA."""
    ds = build_s()
    ds.InstanceCoercionDateTime = "20230101120000+0100"
    ds.SeriesDate = ["20230101", "20230105"]
    return ds


# --------------------------------------------------------------------------- synthetic families


def build_deep() -> FileDataset:
    """Sequences four levels deep, several items per level, keywords repeated at several depths."""
    ds = Dataset()
    ds.SOPClassUID = SR_DOCUMENT
    ds.SOPInstanceUID = "1.2.3.5.1"
    ds.StudyInstanceUID = "1.2.3.5"
    ds.SeriesInstanceUID = "1.2.3.5.2"
    ds.StudyDate = "20230102"
    ds.ContentDate = "20230103"
    ds.Modality = "SR"
    ds.PatientName = "Deep^Patient"
    ds.PatientID = "D-0001"
    ds.PatientBirthDate = "19700202"
    level4 = _item(ValueType="TEXT", TextValue="level four", Date="20230106")
    level3 = Sequence(
        [
            _item(ValueType="DATETIME", DateTime="20230105101010", PersonName="Deep^Third"),
            _item(ValueType="TEXT", TextValue="level three", ContentSequence=Sequence([level4])),
        ]
    )
    ds.ContentSequence = Sequence(
        [
            _item(
                ValueType="TEXT",
                ConceptNameCodeSequence=Sequence([_code("121106", "DCM", "Comment")]),
                TextValue="first comment",
            ),
            _item(
                ValueType="CONTAINER",
                ContentSequence=Sequence(
                    [
                        _item(
                            ValueType="PNAME",
                            PersonName="Observer^One",
                            ConceptNameCodeSequence=Sequence([_code("121008", "DCM", "Person Observer Name")]),
                        ),
                        _item(ValueType="DATE", Date="20230105", ContentSequence=level3),
                    ]
                ),
            ),
            _item(ValueType="PNAME", PersonName="Observer^Two"),
        ]
    )
    ds.RequestAttributesSequence = Sequence(
        [
            _item(
                RequestedProcedureID="RP-1",
                ScheduledProcedureStepID="SPS-1",
                ScheduledProtocolCodeSequence=Sequence([_code("P1", "99LOCAL", "Head"), _code("P2", "99LOCAL", "Neck")]),
            ),
            _item(
                RequestedProcedureID="RP-2",
                ScheduledProcedureStepID="SPS-2",
                ScheduledProtocolCodeSequence=Sequence([_code("P3", "99LOCAL", "Chest")]),
            ),
        ]
    )
    ds.OtherPatientIDsSequence = Sequence(
        [
            _item(PatientID="OTHER-1", IssuerOfPatientID="Hospital A", TypeOfPatientID="TEXT"),
            _item(PatientID="OTHER-2", IssuerOfPatientID="Hospital B", TypeOfPatientID="TEXT"),
        ]
    )
    ds.ReferencedStudySequence = Sequence([])
    ds.SourceImageSequence = Sequence([Dataset()])
    return _file_dataset(ds, SR_DOCUMENT, "1.2.3.5.1")


def build_private() -> FileDataset:
    """Two creators in one group, three private groups, private data inside items and a private sequence."""
    ds = Dataset()
    ds.SOPClassUID = CT_IMAGE
    ds.SOPInstanceUID = "1.2.3.6.1"
    ds.StudyInstanceUID = "1.2.3.6"
    ds.StudyDate = "20230107"
    ds.Modality = "MR"
    ds.PatientName = "Private^Patricia"
    ds.PatientID = "P-77"
    inner = _item(PatientName="Nested^Private")
    inner.private_block(0x0031, "INNER CREATOR", create=True).add_new(0x01, "LO", "inner private")
    acme = ds.private_block(0x0029, "ACME: Corp", create=True)
    acme.add_new(0x10, "DA", "20230101")
    acme.add_new(0x11, "LO", "acme text")
    acme.add_new(0x12, "US", 7)
    acme.add_new(0x13, "SQ", Sequence([inner]))
    csa = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
    csa.add_new(0x08, "CS", "IMAGE NUM 4")
    csa.add_new(0x09, "LO", "20230101")
    ds.private_block(0x0033, "MITRA OBJECT UTF8 ATTRIBUTES 1.0", create=True).add_new(0x1E, "LO", "private value")
    ds.private_block(0x0019, "DEIDLANG TEST", create=True).add_new(0x20, "SH", "another")
    item = _item(ReferencedSOPClassUID=CT_IMAGE, ReferencedSOPInstanceUID="1.2.3.6.9")
    item.private_block(0x0009, "PRIVATE IN ITEM", create=True).add_new(0x10, "LO", "item private")
    ds.ReferencedImageSequence = Sequence([item])
    return _file_dataset(ds, CT_IMAGE, "1.2.3.6.1")


def build_multi() -> FileDataset:
    """Multi-valued CS, DA, DT, DS, IS and LO."""
    ds = Dataset()
    ds.SOPClassUID = CT_IMAGE
    ds.SOPInstanceUID = "1.2.3.7.1"
    ds.StudyInstanceUID = "1.2.3.7"
    ds.ImageType = ["DERIVED", "SECONDARY", "SCREEN SAVE"]
    ds.StudyDate = "20230110"
    ds.SeriesDate = ["20230101", "20230105"]
    ds.InstanceCoercionDateTime = ["20230101120000", "20230102120000+0200"]
    ds.Modality = "CT"
    ds.PatientName = "Multi^Valued"
    ds.PatientID = "M-1"
    ds.PixelSpacing = ["0.5", "0.5"]
    ds.ImagePositionPatient = ["-10.5", "20", "30.25"]
    ds.WindowCenter = ["40", "400"]
    ds.WindowWidth = ["80", "2000"]
    ds.SoftwareVersions = ["v1", "v2", "v3"]
    ds.ReferencedFrameNumber = ["1", "2", "3"]
    ds.SimpleFrameList = [1, 2, 3]
    return _file_dataset(ds, CT_IMAGE, "1.2.3.7.1")


def build_empty() -> FileDataset:
    """Present but empty elements of many VRs."""
    ds = Dataset()
    ds.SOPClassUID = CT_IMAGE
    ds.SOPInstanceUID = "1.2.3.8.1"
    ds.StudyInstanceUID = "1.2.3.8"
    ds.Modality = "CT"
    ds.PatientName = ""
    ds.PatientID = "E-1"
    ds.PatientBirthDate = ""
    ds.StudyDate = ""
    ds.StudyTime = ""
    ds.AcquisitionDateTime = ""
    ds.AccessionNumber = ""
    ds.InstitutionName = ""
    ds.PatientSex = ""
    ds.SeriesInstanceUID = ""
    ds.PatientComments = ""
    ds.SliceThickness = None
    ds.InstanceNumber = None
    ds.PatientWeight = None
    ds.Rows = None
    ds.DiffusionBValue = None
    ds.ICCProfile = b""
    ds.ReferencedImageSequence = Sequence([])
    ds.ReferringPhysicianName = "Present^Value"
    return _file_dataset(ds, CT_IMAGE, "1.2.3.8.1")


def build_numeric() -> FileDataset:
    """One or more elements of every numeric and binary VR deid types literals for."""
    ds = Dataset()
    ds.SOPClassUID = CT_IMAGE
    ds.SOPInstanceUID = "1.2.3.9.1"
    ds.StudyInstanceUID = "1.2.3.9"
    ds.StudyDate = "20230111"
    ds.Modality = "CT"
    ds.PatientName = "Numeric^Nina"
    ds.PatientID = "N-1"
    ds.Rows = 4
    ds.Columns = 4
    ds.BitsAllocated = 16
    ds.SimpleFrameList = [1, 2, 3]
    ds.ReferencePixelX0 = -5
    ds.TagAngleSecondAxis = -3
    ds.RecommendedDisplayFrameRateInFloat = 29.5
    ds.DiffusionBValue = 1000.5
    ds.LongitudinalTemporalOffsetFromEvent = 2.25
    ds.PatientWeight = "70.5"
    ds.PatientSize = "1.8"
    ds.InstanceNumber = "12"
    ds.SeriesNumber = "3"
    ds.ExposureTime = "100"
    ds.RescaleSlope = "1"
    ds.ICCProfile = b"\x00\x01\x02\x03"
    ds.SelectorOWValue = b"\x01\x02\x03\x04"
    ds.SelectorATValue = 0x00100010
    return _file_dataset(ds, CT_IMAGE, "1.2.3.9.1")


def build_filemeta() -> FileDataset:
    """S with a richer file meta group."""
    ds = build_s()
    meta = ds.file_meta
    meta.SourceApplicationEntityTitle = "SRCAE"
    meta.PrivateInformationCreatorUID = "1.2.3.4.99"
    meta.PrivateInformation = b"secret!!"
    meta.ImplementationVersionName = "DEIDLANG_TEST"
    return ds


def build_text() -> FileDataset:
    """Text VRs: UTF-8 names, apostrophes, long text, spaces and punctuation."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = CT_IMAGE
    ds.SOPInstanceUID = "1.2.3.10.1"
    ds.StudyInstanceUID = "1.2.3.10"
    ds.StudyDate = "20230112"
    ds.Modality = "CT"
    ds.PatientName = "Müller^Hans^^Dr."
    ds.PatientID = "T-1"
    ds.ReferringPhysicianName = "O'Brien^Pat"
    ds.InstitutionName = "St. Mary's Hospital"
    ds.StudyDescription = "Head & Neck with Contrast"
    ds.SeriesDescription = "axial 5mm"
    ds.PatientComments = "Line one\r\nLine two"
    ds.AdditionalPatientHistory = "history 123"
    ds.DerivationDescription = "derived: yes"
    ds.PatientAddress = "1 Main Street, Springfield"
    ds.PatientTelephoneNumbers = "555-0100"
    ds.OperatorsName = ["Op^One", "Op^Two"]
    return _file_dataset(ds, CT_IMAGE, "1.2.3.10.1")


SYNTHETIC: dict[str, Callable[[], Dataset]] = {
    "S": build_s,
    "S_dt": build_s_dt,
    "deep": build_deep,
    "private": build_private,
    "multi": build_multi,
    "empty": build_empty,
    "numeric": build_numeric,
    "filemeta": build_filemeta,
    "text": build_text,
}

#: small files bundled with pydicom that load without network access
PYDICOM_FILES: dict[str, str] = {
    "CT_small": "CT_small.dcm",
    "MR_small": "MR_small.dcm",
    "MR_implicit": "MR_small_implicit.dcm",
    "BigEndian": "ExplVR_BigEnd.dcm",
    "rtplan": "rtplan.dcm",
    "rtstruct": "rtstruct.dcm",
    "rtdose": "rtdose_1frame.dcm",
    "JPEG2000": "JPEG2000.dcm",
    "reportsi": "reportsi.dcm",
    "test_SR": "test-SR.dcm",
    "priv_SQ": "priv_SQ.dcm",
    "nested_priv_SQ": "nested_priv_SQ.dcm",
}

#: deid-data's files (dataset folder, file name)
DEID_DATA_FILES: dict[str, tuple[str, str]] = {
    **{f"cookie{i}": ("dicom-cookies", f"image{i}.dcm") for i in range(1, 8)},
    "ctbrain1": ("humans", "ctbrain1.dcm"),
}

DATASETS: tuple[str, ...] = (*SYNTHETIC, *PYDICOM_FILES, *DEID_DATA_FILES)

#: pydicom files that only the recipes naming them (``datasets = ...``) are run on
OPT_IN_FILES: dict[str, str] = {
    "liver": "liver_1frame.dcm",  # enhanced CT: references three levels deep in per-frame groups
}


def deid_data_base() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("deid_data")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def materialize(folder: str | os.PathLike, names: tuple[str, ...] = DATASETS) -> dict[str, str]:
    """Write the synthetic datasets into ``folder``; locate the others. ``{name: path}``.

    Names whose source is not installed (deid-data) are left out.
    """
    from pydicom.data import get_testdata_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, str] = {}
    base = deid_data_base()
    for name in names:
        if name in SYNTHETIC:
            path = folder / f"{name}.dcm"
            SYNTHETIC[name]().save_as(path, enforce_file_format=True)
            out[name] = str(path)
        elif name in PYDICOM_FILES or name in OPT_IN_FILES:
            found = get_testdata_file(PYDICOM_FILES.get(name) or OPT_IN_FILES[name])
            if found:
                out[name] = str(found)
        elif name in DEID_DATA_FILES and base is not None:
            sub, file = DEID_DATA_FILES[name]
            path = base / sub / file
            if path.is_file():
                out[name] = str(path)
    return out


# --------------------------------------------------------------------------- comparing outputs


def written(ds: Dataset):
    """``ds`` as the bytes pydicom writes for it, or the exception writing raised."""
    import io

    buf = io.BytesIO()
    try:
        ds.save_as(buf)
    except Exception as err:  # noqa: BLE001 - reported by the caller
        return err
    return buf.getvalue()


def reread(data: bytes):
    import io

    import pydicom

    return pydicom.dcmread(io.BytesIO(data), force=True)


def roundtrip(ds: Dataset):
    """``ds`` written to bytes and read back, or the exception writing raised.

    Both tools' outputs go through the same writer and reader, so values
    compare in their canonical form (None vs '' after BLANK, int vs '4'...).
    """
    data = written(ds)
    return data if isinstance(data, Exception) else reread(data)


def compare_outputs(expected: Dataset, actual: Dataset, random: dict | None = None) -> list[str]:
    """Differences between deid's output (``expected``) and deidlang's (``actual``).

    Identical bytes when written are equal outright (unless ``random`` rules
    must be checked); otherwise both are read back and compared element by
    element (:func:`diff_datasets`).
    """
    a, b = written(expected), written(actual)
    if isinstance(a, bytes) and isinstance(b, bytes):
        if a == b and not random:
            return []
        return diff_datasets(reread(a), reread(b), random)
    if isinstance(a, Exception) and isinstance(b, Exception):
        return diff_datasets(expected, actual, random)  # neither can be written: compare in memory
    failed = "deid's" if isinstance(a, Exception) else "deidlang's"
    err = a if isinstance(a, Exception) else b
    return [f"only {failed} output cannot be written: {type(err).__name__}: {err}"]


def _scalar(value):
    from pydicom.tag import BaseTag
    from pydicom.valuerep import IS, DSdecimal, DSfloat, PersonName

    if isinstance(value, (PersonName, DSfloat, DSdecimal, IS)):
        return str(value)
    if isinstance(value, BaseTag):
        return int(value)
    if isinstance(value, str):
        return str(value)
    return value


def normalize(element):
    """A plain-Python form of an element value: lists, str, int, float, bytes, None."""
    from pydicom.multival import MultiValue

    value = element.value
    if element.VR == "SQ":
        return [normalize_dataset(item) for item in (value or [])]
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        # an odd-length value read from a file is written back as it was when the
        # element stays raw, and padded to even length once it has been converted
        # (deid converts every element it visits): the same value either way
        return bytes(value) + (b"\0" if len(value) % 2 else b"")
    if isinstance(value, (MultiValue, list, tuple)):
        return [_scalar(v) for v in value]
    return _scalar(value)


def normalize_dataset(ds) -> dict:
    return {int(e.tag): (e.VR, normalize(e)) for e in ds}


def _label(tag: int) -> str:
    from pydicom.datadict import keyword_for_tag

    kw = keyword_for_tag(tag)
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X}){' ' + kw if kw else ''}"


def diff_datasets(expected, actual, random: dict | None = None, path: str = "") -> list[str]:
    """Differences between two datasets (both normalised): every level, file meta included.

    ``random`` maps a keyword or ``GGGGEEEE`` tag to a regex: such elements
    must exist on both sides and both values must match the regex in full.
    """
    import re

    from pydicom.datadict import keyword_for_tag

    random = random or {}
    out: list[str] = []
    if not path:
        em = getattr(expected, "file_meta", None)
        am = getattr(actual, "file_meta", None)
        out += _diff_level(
            normalize_dataset(em) if em is not None else {}, normalize_dataset(am) if am is not None else {}, random, "file_meta", re, keyword_for_tag
        )
        out += _diff_level(normalize_dataset(expected), normalize_dataset(actual), random, "", re, keyword_for_tag)
        return out
    return _diff_level(expected, actual, random, path, re, keyword_for_tag)


def _diff_level(exp: dict, act: dict, random: dict, path: str, re, keyword_for_tag) -> list[str]:
    out: list[str] = []
    for tag in sorted(set(exp) | set(act)):
        where = f"{path}/{_label(tag)}" if path else _label(tag)
        if tag not in act:
            out.append(f"{where}: only in deid's output (deidlang removed it or never added it)")
            continue
        if tag not in exp:
            out.append(f"{where}: only in deidlang's output")
            continue
        (evr, ev), (avr, av) = exp[tag], act[tag]
        if evr != avr:
            out.append(f"{where}: VR deid={evr} deidlang={avr}")
        rule = random.get(keyword_for_tag(tag)) or random.get(f"{tag:08X}")
        if rule is not None:
            for side, value in (("deid", ev), ("deidlang", av)):
                if value is None or not re.fullmatch(rule, str(value)):
                    out.append(f"{where}: {side} value {value!r} does not match /{rule}/")
            continue
        if evr == "SQ" and avr == "SQ":
            if len(ev) != len(av):
                out.append(f"{where}: {len(ev)} items in deid's output, {len(av)} in deidlang's")
            for i, (ei, ai) in enumerate(zip(ev, av)):
                out += _diff_level(ei, ai, random, f"{where}[{i}]", re, keyword_for_tag)
            continue
        if ev != av:
            out.append(f"{where}: deid={_short(ev)} deidlang={_short(av)}")
    return out


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
