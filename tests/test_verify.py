"""Residual-PHI verification: `deidlang.verify`, `deidc verify` and `deidc run --verify`."""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixtures  # noqa: E402

from deidlang import cli, verify  # noqa: E402
from deidlang.verify import harvest, search  # noqa: E402


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


STUDY_UID = "1.2.826.0.1.3680043.2.1143.4711"


def texts(identifiers, kind_prefix: str = "") -> set[str]:
    return {i.text for i in identifiers if i.kind.startswith(kind_prefix)}


def leaks_of(original: Dataset, output: Dataset, data: bytes | None = None):
    return search(harvest(original), output, data, file="out.dcm")


def bare(**values) -> Dataset:
    ds = Dataset()
    for k, v in values.items():
        setattr(ds, k, v)
    return ds


# --------------------------------------------------------------------------- harvesting


class TestHarvest:
    def test_names_and_their_parts(self):
        ids = harvest(bare(PatientName="Doe^Jo^^Dr.", ReferringPhysicianName="Smith^Jane Ann^^^PhD"))
        assert texts(ids, "PatientName") == {"Doe^Jo^^Dr.", "Doe"}  # 'Jo' is too short, 'Dr' a title
        assert texts(ids, "ReferringPhysicianName part") == {"Smith", "Jane", "Ann"}

    def test_identifiers_need_four_characters_five_when_numeric(self):
        ids = harvest(bare(PatientID="AB12", AccessionNumber="1234", StudyID="12345", OtherPatientIDs=["X9Y8Z7", "42"]))
        assert texts(ids) == {"AB12", "12345", "X9Y8Z7"}

    def test_dates_in_several_formats(self):
        ids = harvest(bare(StudyDate="20230105", AcquisitionDateTime="20220304101010", ContentDate="18991231"))
        found = texts(ids, "StudyDate")
        assert {"20230105", "2023-01-05", "05/01/2023", "01/05/2023", "05.01.2023"} <= found
        assert "20220304" in texts(ids, "AcquisitionDateTime")
        assert not texts(ids, "ContentDate")  # before 1900: not a date anyone was born or scanned on

    def test_uids_but_not_class_uids(self):
        ids = harvest(bare(SOPClassUID="1.2.840.10008.5.1.4.1.1.2", StudyInstanceUID=STUDY_UID, ReferencedSOPClassUID="1.9.9"))
        assert texts(ids) == {STUDY_UID}

    def test_phone_numbers_as_digits(self):
        ids = harvest(bare(PatientTelephoneNumbers="+1 555 010-4242"))
        assert [(i.text, i.family) for i in ids] == [("15550104242", "phone"), ("+1 555 010-4242", "word")]

    def test_addresses_institutions_and_free_text_words(self):
        ids = harvest(
            bare(
                PatientAddress="12 Quarry Lane, Springfield",
                InstitutionName="Springfield General Hospital",
                StationName="CT-ROOM-7",
                PatientComments="Patient fell at the Kwik-E-Mart, chest pain",
                BodyPartExamined="CHEST",
                ImageComments="tumbled nearby",
            )
        )
        assert {"12 Quarry Lane, Springfield", "Quarry", "Springfield"} <= texts(ids, "PatientAddress")
        assert texts(ids, "InstitutionName part") == {"Springfield"}  # General, Hospital: common words
        assert "CT-ROOM-7" in texts(ids, "StationName")
        words = texts(ids, "PatientComments")
        assert "Kwik-E-Mart" in words and "pain" not in words and "chest" not in words and "Patient" not in words
        assert texts(ids, "ImageComments") == {"tumbled", "nearby"}

    def test_free_text_words_found_in_other_elements_are_not_searched(self):
        ids = harvest(bare(StudyDescription="CT FOOBARIUS QUUXIUM", BodyPartExamined="FOOBARIUS"))
        assert texts(ids, "StudyDescription") == {"QUUXIUM"}

    def test_private_elements_are_not_harvested(self):
        ds = bare(PatientName="Doe^John")
        ds.private_block(0x0009, "ACME", create=True).add_new(0x01, "LO", "SECRETVALUE")
        assert "SECRETVALUE" not in texts(harvest(ds))


# --------------------------------------------------------------------------- searching


class TestSearch:
    ORIGINAL = bare(PatientName="Doe^Johnathan", PatientID="PID-4711", StudyInstanceUID=STUDY_UID, StudyDate="20230105", PatientTelephoneNumbers="555 010 4242")

    def test_a_clean_output_has_no_leak(self):
        assert leaks_of(self.ORIGINAL, bare(PatientName="ANONYMOUS", PatientID="SUB-001", StudyInstanceUID="2.25.99")) == []

    def test_a_value_left_in_place(self):
        [leak] = leaks_of(self.ORIGINAL, bare(PatientID="PID-4711"))
        assert (leak.element, leak.kinds, leak.sources, leak.in_place) == ("(0010,0020)", ("PatientID",), ("(0010,0020)",), True)

    def test_a_name_part_copied_into_a_private_element_in_a_sequence(self):
        out = bare()
        item = Dataset()
        item.private_block(0x0011, "ACME", create=True).add_new(0x01, "LT", "seen by johnathan today")
        out.ReferencedImageSequence = [item]
        [leak] = leaks_of(self.ORIGINAL, out)
        assert leak.element == "(0008,1140)__0__(0011,1001)"
        assert leak.kind == "PatientName part" and leak.sources == ("(0010,0010)",) and not leak.in_place

    def test_whole_words_only(self):
        assert leaks_of(bare(PatientName="Ann^Lee"), bare(ImageComments="ANNOTATION ANNEX")) == []
        assert len(leaks_of(bare(PatientName="Ann^Lee"), bare(ImageComments="by ann."))) == 1

    def test_dates_in_another_format_and_inside_a_datetime(self):
        assert leaks_of(self.ORIGINAL, bare(ImageComments="scanned 05.01.2023"))[0].kind == "StudyDate (date)"
        assert leaks_of(self.ORIGINAL, bare(AcquisitionDateTime="20230105101010"))[0].kind == "StudyDate (date)"

    def test_a_date_at_the_head_of_a_long_number_is_not_a_date(self):
        """A keyed hash UID (2.25. and 39 random digits) can start with a date's digits."""
        assert leaks_of(self.ORIGINAL, bare(SeriesInstanceUID="2.25.202301051234567890123456789")) == []
        assert leaks_of(self.ORIGINAL, bare(AcquisitionDateTime="202301051010"))[0].kind == "StudyDate (date)"
        assert leaks_of(self.ORIGINAL, bare(AcquisitionDateTime="20230105101010.123456+0100"))[0].kind == "StudyDate (date)"
        assert leaks_of(self.ORIGINAL, bare(SeriesInstanceUID="1.2.3.20230105.7"))[0].kind == "StudyDate (date)"

    def test_uids_whole_or_as_the_tail_of_a_new_uid_but_not_as_a_prefix(self):
        assert leaks_of(self.ORIGINAL, bare(SeriesInstanceUID=STUDY_UID + ".5")) == []
        assert leaks_of(self.ORIGINAL, bare(SeriesInstanceUID=STUDY_UID + "5")) == []
        assert len(leaks_of(self.ORIGINAL, bare(SeriesInstanceUID="2.25." + STUDY_UID))) == 1

    def test_phone_numbers_with_other_separators(self):
        [leak] = leaks_of(self.ORIGINAL, bare(ImageComments="call 555-010-4242 now"))
        assert leak.kind == "PatientTelephoneNumbers (digits)"

    def test_text_in_binary_values_utf16(self):
        out = bare()
        out.add_new(0x00091010, "OB", "Johnathan".encode("utf-16-le"))
        [leak] = leaks_of(self.ORIGINAL, out)
        assert leak.element == "(0009,1010)"

    def test_the_raw_bytes_catch_what_no_element_holds(self):
        ds = fixtures.make_S()
        ds.PatientName = "ANONYMOUS"
        ds.preamble = b"Doe^Johnathan".ljust(128, b"\0")
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        data = buf.getvalue()
        leaks = search(harvest(bare(PatientName="Doe^Johnathan")), pydicom.dcmread(io.BytesIO(data)), data)
        assert leaks and {leak.element for leak in leaks} == {"<file bytes>"}
        assert leaks[0].path.startswith("offset 0, latin-1")

    def test_character_sets(self):
        original = Dataset()
        original.SpecificCharacterSet = "ISO_IR 192"
        original.PatientName = "Müller^Jürgen"
        out = Dataset()
        out.SpecificCharacterSet = "ISO_IR 100"
        out.ImageComments = "MÜLLER was here"
        buf = io.BytesIO()
        fixtures_ds = fixtures.make_S()
        fixtures_ds.update(out)
        fixtures_ds.save_as(buf, enforce_file_format=True)
        read = pydicom.dcmread(io.BytesIO(buf.getvalue()))
        found = search(harvest(original), read, buf.getvalue())
        assert any(leak.kind == "PatientName part" and leak.element == "(0020,4000)" for leak in found)

    def test_check_dataset_serialises_when_no_bytes_are_given(self):
        out = fixtures.make_S()
        leaks = verify.check_dataset(harvest(fixtures.make_S()), out)
        assert {leak.element for leak in leaks} >= {"(0010,0010)", "(0010,0020)"}


# --------------------------------------------------------------------------- deidc verify


@pytest.fixture
def trees(tmp_path) -> tuple[Path, Path]:
    """Originals (the demo data) and their `deidc run` output with the default recipe."""
    original = tmp_path / "scans"
    shutil.copytree(cli.DEMO_DIR, original)
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(original), "--output", str(out), "--jobs", "1"]) == 0
    return original, out


class TestVerifyCommand:
    def test_a_clean_output(self, trees, capsys):
        capsys.readouterr()
        code, out, _ = run(capsys, "verify", "--original", trees[0], "--deidentified", trees[1])
        assert code == 0
        assert "10 files checked: no identifying value of the originals was found" in out

    def test_a_leak_is_named_by_file_element_and_kind_not_value(self, trees, capsys):
        original, out_dir = trees
        target = out_dir / "patient-001" / "ct-chest" / "ct-001.dcm"
        name = str(pydicom.dcmread(original / "patient-001" / "ct-chest" / "ct-001.dcm").PatientName)
        ds = pydicom.dcmread(target)
        ds.ImageComments = f"for {name}"
        ds.save_as(target)
        capsys.readouterr()
        code, out, _ = run(capsys, "verify", "--original", original, "--deidentified", out_dir)
        assert code == 1
        assert os.path.join("patient-001", "ct-chest", "ct-001.dcm") in out
        assert "(0020,4000) ImageComments: PatientName (from (0010,0010))" in out
        assert name not in out and name.split("^")[0] not in out
        code, out, _ = run(capsys, "verify", "--original", original, "--deidentified", out_dir, "--show-values")
        assert name in out
        code, out, _ = run(capsys, "verify", "--original", original, "--deidentified", out_dir, "--format", "json")
        report = json.loads(out)
        assert code == 1 and not report["ok"] and report["files"] == 10
        assert {leak["element"] for leak in report["leaks"]} == {"(0020,4000)"}
        assert all("value" not in leak for leak in report["leaks"])

    def test_an_output_without_original_cannot_be_verified(self, trees, capsys):
        original, out_dir = trees
        shutil.copy(out_dir / "patient-001" / "ct-chest" / "ct-001.dcm", out_dir / "stray.dcm")
        capsys.readouterr()
        code, out, _ = run(capsys, "verify", "--original", original, "--deidentified", out_dir)
        assert code == 1 and "unverified: " in out and "stray.dcm" in out

    def test_single_files(self, trees, capsys):
        original, out_dir = trees
        rel = Path("patient-002") / "us-obstetric" / "us-001.dcm"
        capsys.readouterr()
        code, out, _ = run(capsys, "verify", "--original", original / rel, "--deidentified", out_dir / rel)
        assert code == 0 and "1 file checked" in out

    def test_quarantined_outputs_pair_with_their_original(self, trees, capsys):
        original, out_dir = trees
        rel = Path("patient-001") / "ct-chest" / "ct-001.dcm"
        held = out_dir / "quarantine" / rel
        held.parent.mkdir(parents=True)
        shutil.move(out_dir / rel, held)
        found, unpaired, _ = verify.pairs(str(original), str(out_dir))
        assert not unpaired and (str(original / rel), str(held)) in {(os.path.normpath(a), os.path.normpath(b)) for a, b in found}

    def test_the_manifest_pairs_files_of_several_inputs(self, tmp_path, capsys):
        a, b = tmp_path / "a", tmp_path / "b"
        shutil.copytree(cli.DEMO_DIR / "patient-001", a)
        shutil.copytree(cli.DEMO_DIR / "patient-002", b)
        out_dir = tmp_path / "out"
        assert cli.main(["run", "--input", str(a), "--input", str(b), "--output", str(out_dir), "--jobs", "1"]) == 0
        found, unpaired, _ = verify.pairs(str(tmp_path), str(out_dir))
        assert len(found) == 8 and not unpaired
        assert all(Path(src).relative_to(tmp_path).parts[1:] == Path(dst).relative_to(out_dir).parts[1:] for src, dst in found)
        capsys.readouterr()
        code, out, _ = run(capsys, "verify", "--original", tmp_path, "--deidentified", out_dir)
        assert code == 0, out

    @pytest.mark.parametrize(
        "argv, message",
        [
            (["verify", "--original", "nowhere", "--deidentified", "."], "--original 'nowhere' does not exist"),
            (["verify", "--original", ".", "--deidentified", "nowhere"], "--deidentified 'nowhere' does not exist"),
            (["verify", "--original", "."], "required"),
        ],
    )
    def test_usage_errors_exit_2(self, tmp_path, monkeypatch, capsys, argv, message):
        monkeypatch.chdir(tmp_path)
        code, _out, err = run(capsys, *argv)
        assert code == 2 and message in err

    def test_an_empty_output_is_no_verdict(self, tmp_path, capsys):
        (tmp_path / "in").mkdir()
        (tmp_path / "out").mkdir()
        code, _out, err = run(capsys, "verify", "--original", tmp_path / "in", "--deidentified", tmp_path / "out")
        assert code == 2 and "no DICOM output found" in err


# --------------------------------------------------------------------------- deidc run --verify


class TestRunVerify:
    def test_a_leaking_file_fails_and_is_not_written(self, tmp_path, capsys):
        src = tmp_path / "in"
        src.mkdir()
        fixtures.write_S(src / "s.dcm")
        recipe = tmp_path / "weak.dicom"
        recipe.write_text(fixtures.header("REMOVE PatientName"), encoding="utf-8")
        code, out, err = run(capsys, "run", "--input", src, "--output", tmp_path / "out", "--recipe", recipe, "--verify", "--jobs", "1")
        assert code == 1
        assert not (tmp_path / "out" / "s.dcm").exists()
        assert "verify:" in err and "identifying values of the original found, file not written" in err
        assert "InstitutionName in (0008,0080) InstitutionName" in err
        assert "12345" not in err and "Smith" not in err and "12345" not in out
        code, _out, err = run(capsys, "run", "--input", src, "--output", tmp_path / "out2", "--recipe", recipe, "--verify", "--show-values", "--jobs", "1")
        assert code == 1 and "General Hospital" in err

    def test_a_clean_file_is_written(self, tmp_path, capsys):
        src = tmp_path / "in"
        src.mkdir()
        fixtures.write_S(src / "s.dcm")
        recipe = tmp_path / "strong.dicom"
        recipe.write_text(fixtures.header("REMOVE ALL", "ADD PatientIdentityRemoved YES"), encoding="utf-8")
        code, _out, err = run(capsys, "run", "--input", src, "--output", tmp_path / "out", "--recipe", recipe, "--verify", "--jobs", "1")
        assert code == 0, err
        assert (tmp_path / "out" / "s.dcm").exists()
