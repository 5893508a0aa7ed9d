"""Keyed pseudonyms (deid_func:hashuid, hashid, dateshift), VR-aware dummies, scrub,
private-element selection, KEEP with a value, and where keys come from."""

from __future__ import annotations

import pickle
import stat

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID

import deidlang
from deidlang.lang.diagnostics import WARNING, ApplyError
from deidlang.runtime import extras, keyed, keys

KEY_A = keys.key_from_text("a" * 32, "test")
KEY_B = keys.key_from_text("b" * 32, "test")


@pytest.fixture(autouse=True)
def _no_ambient_key(monkeypatch, tmp_path):
    """No key from the environment or the real user key file unless a test sets one."""
    monkeypatch.delenv("DEIDLANG_KEY", raising=False)
    monkeypatch.delenv("DEIDLANG_KEY_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def program(*lines: str, key=KEY_A, allow=()):
    p = deidlang.compile("FORMAT dicom\n%header\n" + "\n".join(lines) + "\n", allow=allow)
    return keyed.bind(p, key) if key is not None else p


def image(study="1.2.3.4.1", sop="1.2.3.4.1.1.1", patient="PAT-1", **extra) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = sop
    ds.StudyInstanceUID = study
    ds.PatientID = patient
    ds.PatientName = "Doe^John"
    ds.StudyDate = "20240611"
    for k, v in extra.items():
        setattr(ds, k, v)
    return ds


UIDS = (
    "REPLACE SOPInstanceUID deid_func:hashuid",
    "REPLACE MediaStorageSOPInstanceUID deid_func:hashuid",
    "REPLACE StudyInstanceUID deid_func:hashuid",
    "REPLACE ReferencedSOPInstanceUID deid_func:hashuid",
)


# --------------------------------------------------------------------------- hashuid


def test_hashuid_is_a_valid_uid_and_a_known_answer():
    out = keys.hash_uid(KEY_A, "1.2.3.4")
    assert out == keys.hash_uid(KEY_A, "1.2.3.4") and UID(out).is_valid and out.startswith("2.25.")
    assert len(out) <= 64
    # pinned: the same input and key give this UID on every machine and in every version
    assert out == keys.hash_uid(keys.key_from_text("a" * 32), "1.2.3.4 ")
    assert out == "2.25.604304200413671081020535904308912352"


@pytest.mark.parametrize("size", [16, 32, 63, 64, 65, 200])
def test_digest_is_hmac_sha256(size):
    """Key.digest builds HMAC from saved pad states: it must equal the standard library's."""
    import hmac

    secret = bytes((7 * i + size) % 251 for i in range(size))
    key = keys.Key(secret)
    for domain, text in (("deidlang:uid", "1.2.3"), ("deidlang:id", ""), ("deidlang:id", "Ünïcode ☃" * 20)):
        expected = hmac.digest(secret, domain.encode("ascii") + b"\x00" + text.encode("utf-8"), "sha256")
        assert key.digest(domain, text) == expected


def test_hashid_reads_raw_text_as_pydicom_does(tmp_path):
    """hashid reads plain ASCII LO/SH values from the bytes; the result equals the converted path."""
    ds = image(patient="PAT-7 ")
    ds.OtherPatientIDs = ["A1", " ", "B2"]
    ds.AccessionNumber = "ACC\\X"
    path = tmp_path / "a.dcm"
    ds.save_as(path, enforce_file_format=True, implicit_vr=False, little_endian=True)
    lines = ("REPLACE PatientID deid_func:hashid", "REPLACE OtherPatientIDs deid_func:hashid", "REPLACE AccessionNumber deid_func:hashid")
    original = pydicom.dcmread(path)
    assert all(type(original._dict[pydicom.datadict.tag_for_keyword(kw)]) is pydicom.dataelem.RawDataElement for kw in ("PatientID", "OtherPatientIDs"))
    original = pydicom.dcmread(path)
    from_file = program(*lines).apply(original)  # raw elements: read from the bytes
    converted = pydicom.dcmread(path)
    for kw in ("PatientID", "OtherPatientIDs", "AccessionNumber"):
        converted[kw].value  # noqa: B018 - converted first: the hash reads the pydicom value
    converted = program(*lines).apply(converted)
    for kw in ("PatientID", "OtherPatientIDs", "AccessionNumber"):
        assert from_file[kw].value == converted[kw].value
    assert from_file.PatientID == keys.hash_id(KEY_A, "PAT-7")
    assert list(from_file.OtherPatientIDs)[1] == ""


def test_hashuid_same_key_same_output_across_programs_and_files():
    a = program(*UIDS).apply(image())
    b = pickle.loads(pickle.dumps(program(*UIDS))).apply(image())
    assert a.SOPInstanceUID == b.SOPInstanceUID and a.StudyInstanceUID == b.StudyInstanceUID
    assert a.SOPInstanceUID != "1.2.3.4.1.1.1" and UID(a.SOPInstanceUID).is_valid


def test_different_keys_give_different_uids():
    a = program(*UIDS, key=KEY_A).apply(image())
    b = program(*UIDS, key=KEY_B).apply(image())
    assert a.SOPInstanceUID != b.SOPInstanceUID and a.StudyInstanceUID != b.StudyInstanceUID


def test_relations_between_uids_survive():
    first = image(sop="1.2.3.4.1.1.1")
    second = image(sop="1.2.3.4.1.1.2")
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ref.ReferencedSOPInstanceUID = "1.2.3.4.1.1.1"
    second.ReferencedImageSequence = Sequence([ref])
    study_ref = Dataset()
    study_ref.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    study_ref.ReferencedSOPInstanceUID = "1.2.3.4.1"
    second.ReferencedStudySequence = Sequence([study_ref])
    p = program(*UIDS)
    p.apply(first)
    p.apply(second)
    assert second.ReferencedImageSequence[0].ReferencedSOPInstanceUID == first.SOPInstanceUID
    assert second.ReferencedStudySequence[0].ReferencedSOPInstanceUID == second.StudyInstanceUID == first.StudyInstanceUID
    assert first.file_meta.MediaStorageSOPInstanceUID == first.SOPInstanceUID
    assert second.ReferencedImageSequence[0].ReferencedSOPClassUID == "1.2.840.10008.5.1.4.1.1.2"


def test_hashuid_maps_every_value_and_keeps_empty_ones():
    ds = Dataset()
    ds.FailedSOPInstanceUIDList = ["1.2.3", "1.2.4"]
    ds.StudyInstanceUID = ""
    program("REPLACE FailedSOPInstanceUIDList deid_func:hashuid", "REPLACE StudyInstanceUID deid_func:hashuid").apply(ds)
    assert list(ds.FailedSOPInstanceUIDList) == [keys.hash_uid(KEY_A, "1.2.3"), keys.hash_uid(KEY_A, "1.2.4")]
    assert ds.StudyInstanceUID == ""


def test_hashuid_with_an_organisation_root():
    ds = program("REPLACE StudyInstanceUID deid_func:hashuid prefix=1.2.826.0.1.3680043.10.99.").apply(image())
    assert ds.StudyInstanceUID.startswith("1.2.826.0.1.3680043.10.99.") and len(ds.StudyInstanceUID) <= 64
    assert UID(ds.StudyInstanceUID).is_valid


def test_hashid_is_a_keyed_pseudonym():
    a = program("REPLACE PatientID deid_func:hashid length=20 prefix=SUB-").apply(image(patient="PAT-1"))
    b = program("REPLACE PatientID deid_func:hashid length=20 prefix=SUB-").apply(image(patient="PAT-1"))
    c = program("REPLACE PatientID deid_func:hashid length=20 prefix=SUB-").apply(image(patient="PAT-2"))
    assert a.PatientID == b.PatientID != c.PatientID
    assert a.PatientID.startswith("SUB-") and len(a.PatientID) == 24 and "PAT" not in a.PatientID


# --------------------------------------------------------------------------- dateshift


def test_dateshift_is_per_patient_and_consistent_across_files():
    p = program(
        "REPLACE StudyDate deid_func:dateshift max_days=100",
        "REPLACE AcquisitionDateTime deid_func:dateshift max_days=100",
        "REPLACE StudyTime deid_func:dateshift max_days=100",
    )
    one = p.apply(image(patient="PAT-1", sop="1.1", AcquisitionDateTime="20240611093000.5+0100", StudyTime="093015"))
    two = p.apply(image(patient="PAT-1", sop="1.2", StudyDate="20240101"))
    offset = keys.day_offset(KEY_A, "PAT-1", 100)
    assert 1 <= abs(offset) <= 100
    import datetime as dt

    def shifted(day: str) -> str:
        d = dt.date(int(day[:4]), int(day[4:6]), int(day[6:])) + dt.timedelta(days=offset)
        return d.strftime("%Y%m%d")

    assert one.StudyDate == shifted("20240611") and two.StudyDate == shifted("20240101")
    assert one.AcquisitionDateTime == shifted("20240611") + "093000.5+0100"
    assert one.StudyTime == "093015"
    others = {keys.day_offset(KEY_A, f"PAT-{n}", 100) for n in range(20)}
    assert len(others) > 10  # different patients get different offsets


def test_dateshift_reads_the_patient_from_a_variable():
    p = program("REPLACE StudyDate deid_func:dateshift max_days=30 patient=var:subject")
    a = p.apply(image(patient="X"), ids={"subject": "S-1"})
    b = p.apply(image(patient="Y"), ids={"subject": "S-1"})
    assert a.StudyDate == b.StudyDate != "20240611"
    with pytest.raises(ApplyError) as err:
        p.apply(image())
    assert err.value.code == "R004" and "subject" in str(err.value)


def test_dateshift_empties_what_is_not_a_date():
    ds = Dataset()
    ds.PatientID = "P"
    ds.StudyDate = "2024"
    program("REPLACE StudyDate deid_func:dateshift").apply(ds)
    assert ds.StudyDate == ""


# --------------------------------------------------------------------------- keys


def test_missing_key_is_an_error_never_an_unkeyed_hash(monkeypatch, tmp_path):
    monkeypatch.setenv("DEIDLANG_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ApplyError) as err:
        program("REPLACE SOPInstanceUID deid_func:hashuid", key=None).apply(image())
    assert err.value.code == "R005" and "needs a key" in str(err.value) and "1.2.3.4" not in str(err.value)


def test_short_keys_are_refused(monkeypatch):
    monkeypatch.setenv("DEIDLANG_KEY", "short")
    with pytest.raises(ApplyError) as err:
        program("REPLACE SOPInstanceUID deid_func:hashuid", key=None).apply(image())
    assert err.value.code == "R005" and "too short" in str(err.value)


def test_key_from_environment_equals_bound_key(monkeypatch):
    monkeypatch.setenv("DEIDLANG_KEY", "a" * 32)
    env = program(*UIDS, key=None).apply(image())
    bound = program(*UIDS, key=KEY_A).apply(image())
    assert env.SOPInstanceUID == bound.SOPInstanceUID


def test_user_key_file_is_created_once_and_private(tmp_path):
    key, created = keys.default_key()
    path = keys.user_key_path()
    assert created and path.is_file() and str(path).startswith(str(tmp_path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = keys.default_key()
    assert again == key and not created_again
    a = program(*UIDS, key=None).apply(image())
    b = program(*UIDS, key=keys.key_from_file(path)).apply(image())
    assert a.SOPInstanceUID == b.SOPInstanceUID


def test_keys_never_show_in_reprs_or_programs():
    p = program(*UIDS)
    assert "a" * 32 not in repr(KEY_A) and "a" * 32 not in str(KEY_A)
    assert "a" * 32 not in repr(p) and "a" * 32 not in repr(p.steps)
    assert KEY_A.fingerprint == keys.key_from_text("a" * 32).fingerprint != KEY_B.fingerprint


def test_needs_key_and_bind_leave_other_programs_alone():
    plain = program("REMOVE PatientName", key=None)
    assert not keyed.needs_key([plain]) and keyed.needs_key([program(*UIDS, key=None)])
    assert keyed.bind(plain, KEY_A) is plain
    assert keyed.bind("not a program", KEY_A) == "not a program"


# --------------------------------------------------------------------------- checker


def test_unkeyed_hash_gets_a_warning_keyed_does_not():
    diags = deidlang.check("FORMAT dicom\n%header\nREPLACE SOPInstanceUID deid_func:pydicom_uuid\n")
    assert [(d.code, d.severity) for d in diags] == [("W305", WARNING)]
    assert "unkeyed" in diags[0].message and "hashuid" in diags[0].hint
    assert deidlang.check("FORMAT dicom\n%header\nREPLACE SOPInstanceUID deid_func:hashuid\n") == []
    assert deidlang.check("FORMAT dicom\n%header\nREPLACE SOPInstanceUID deid_func:pydicom_uuid stable_remapping=false\n") == []


def test_keyed_lines_parse_the_same_on_both_parser_paths():
    from deidlang.lang import parser

    lines = [
        'KEEP select:creator:"SIEMENS CSA HEADER"',
        "REMOVE select:private",
        'ADD DeidentificationMethodCodeSequence deid_func:code value=113100 scheme=DCM meaning="Basic Application Confidentiality Profile"',
        "KEEP StudyDate deid_func:dateshift max_days=365",
    ]
    fast = parser._fast()
    for line in lines:
        tree = parser._lark().parse(line, start="line")
        slow = parser.ToNodes([line], 0).transform(tree)
        quick = fast.line(line, parser.ToNodes([line], 0))
        assert quick is None or quick == slow, line


# --------------------------------------------------------------------------- dummy, scrub, code, append


def test_dummy_values_are_valid_for_their_vr(tmp_path):
    ds = image()
    ds.PatientAge = "045Y"
    ds.PatientWeight = "81.5"
    ds.StudyTime = "101010"
    ds.AcquisitionDateTime = "20240611101010"
    ds.StationName = "CT-ROOM-7-WITH-A-VERY-LONG-NAME"[:16]
    item = Dataset()
    item.TextValue = "Doe said hello"
    item.ValueType = "TEXT"
    item.ConceptNameCodeSequence = Sequence([Dataset()])
    item.ConceptNameCodeSequence[0].CodeValue = "121071"
    ds.ContentSequence = Sequence([item])
    lines = [
        f"REPLACE {k} deid_func:dummy"
        for k in (
            "PatientName",
            "PatientAge",
            "PatientWeight",
            "StudyTime",
            "AcquisitionDateTime",
            "StationName",
            "StudyDate",
            "ContentSequence",
            "StudyInstanceUID",
        )
    ]
    program(*lines).apply(ds)
    assert ds.PatientName == "ANONYMOUS" and ds.PatientAge == "000D" and ds.StudyTime == "000000"
    assert ds.StudyDate == "19000101" and ds.AcquisitionDateTime == "19000101000000" and ds.PatientWeight == 0
    assert ds.ContentSequence[0].TextValue == "ANONYMOUS" and ds.ContentSequence[0].ValueType == "TEXT"
    assert ds.ContentSequence[0].ConceptNameCodeSequence[0].CodeValue == "ANONYMOUS"
    assert UID(ds.StudyInstanceUID).is_valid
    path = tmp_path / "d.dcm"
    ds.save_as(path, enforce_file_format=True)
    back = pydicom.dcmread(path)
    assert back.PatientAge == "000D" and back.ContentSequence[0].TextValue == "ANONYMOUS"


def test_scrub_removes_this_files_identifying_values():
    ds = image(StudyDescription="Knee MRI for John DOE, born 1962-03-14, MRN PAT-1", PatientBirthDate="19620314")
    program("REPLACE StudyDescription deid_func:scrub").apply(ds)
    assert ds.StudyDescription == "Knee MRI for , born , MRN"
    assert "John" not in ds.StudyDescription and "1962" not in ds.StudyDescription


def test_scrub_removes_the_words_of_an_address():
    """Issue 11: with --option clean-descriptors, the town of the patient's address stayed in
    AdditionalPatientHistory ("...seen at Elmsworth Clinic"), found by deidc verify."""
    ds = image(AdditionalPatientHistory="Seen at Elmsworth Clinic, Quarry Road", PatientAddress="17 Quarry Hill Road, Elmsworth, ZZ 09921")
    program("REPLACE AdditionalPatientHistory deid_func:scrub").apply(ds)
    assert ds.AdditionalPatientHistory == "Seen at Clinic, Road"


def test_code_and_append_build_the_method_attributes():
    lines = [
        'ADD DeidentificationMethod deid_func:append value="Retain UIDs Option"',
        'ADD DeidentificationMethod deid_func:append value="Basic Application Confidentiality Profile"',
        'ADD DeidentificationMethod deid_func:append value="Retain UIDs Option"',
        'ADD DeidentificationMethodCodeSequence deid_func:code value=113110 scheme=DCM meaning="Retain UIDs Option"',
        'ADD DeidentificationMethodCodeSequence deid_func:code value=113100 scheme=DCM meaning="Basic Application Confidentiality Profile"',
        'ADD DeidentificationMethodCodeSequence deid_func:code value=113100 scheme=DCM meaning="Basic Application Confidentiality Profile"',
    ]
    ds = program(*lines).apply(image())
    assert list(ds.DeidentificationMethod) == ["Retain UIDs Option", "Basic Application Confidentiality Profile"]
    assert [i.CodeValue for i in ds.DeidentificationMethodCodeSequence] == ["113100", "113110"]
    assert {i.CodingSchemeDesignator for i in ds.DeidentificationMethodCodeSequence} == {"DCM"}


# --------------------------------------------------------------------------- private elements, KEEP with a value, composition


def _with_private() -> Dataset:
    ds = image()
    safe = ds.private_block(0x0019, "GEMS_ACQU_01", create=True)
    safe.add_new(0x23, "DS", "12.5")
    safe.add_new(0x40, "LO", "secret")
    other = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
    other.add_new(0x10, "OB", b"\x00\x01")
    item = Dataset()
    item.private_block(0x0011, "ACME", create=True).add_new(0x01, "LO", "nested secret")
    ds.ReferencedImageSequence = Sequence([item])
    return ds


def test_remove_private_keeps_a_kept_block_with_its_creator():
    ds = program("REMOVE select:private", 'KEEP (0019,"GEMS_ACQU_01",23)').apply(_with_private())
    private = sorted(int(e.tag) for e in ds if e.tag.is_private)
    assert private == [0x00190010, 0x00191023]
    assert not any(e.tag.is_private for e in ds.ReferencedImageSequence[0])


def test_select_creator_keeps_a_whole_block():
    ds = program("REMOVE select:private", 'KEEP select:creator:"siemens csa header"').apply(_with_private())
    assert sorted(int(e.tag) for e in ds if e.tag.is_private) == [0x00290010, 0x00291010]


def test_keep_with_a_value_sets_then_protects():
    recipe = program("KEEP StudyDate deid_func:dateshift max_days=10", "REMOVE StudyDate", "BLANK StudyDate", allow=["W307"])
    ds = recipe.apply(image())
    assert ds.StudyDate not in ("", "20240611") and len(ds.StudyDate) == 8


def test_a_recipe_keep_protects_in_later_recipes():
    first = program("KEEP StudyDate deid_func:dateshift max_days=10", "KEEP PatientName")
    second = program("REMOVE StudyDate", "BLANK PatientName", "REPLACE PatientID X")
    ds = image()
    for p in extras.chain([first, second]):
        p.apply(ds)
    assert ds.StudyDate not in ("", "20240611") and ds.PatientName == "Doe^John" and ds.PatientID == "X"
    alone = second.apply(image())
    assert "StudyDate" not in alone and not alone.PatientName
