"""The DICOM PS3.15 Basic Profile as deidlang's default recipe: the table against an
independent copy, row coverage of the bundled recipes, option composition, the
validity of the outputs, and ``deidc check --profile``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import corpus
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID

import deidlang
from deidlang import cli
from deidlang.privacy import coverage, profile
from deidlang.runtime import extras, keyed, keys

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "docs"))

ROOT = Path(__file__).resolve().parent.parent
DEID_RECIPE = Path(__import__("deid").__file__).parent / "data" / "deid.dicom"
KEY = keys.key_from_text("profile-test-key-0123456789abcdef", "test")
BUNDLED = [o.name for o in profile.OPTIONS if o.recipe]


def parsed(*paths) -> list:
    return [(str(p), deidlang.parse(Path(p).read_text(encoding="utf-8"), path=str(p)).recipe) for p in paths]


def chain(*paths):
    return [keyed.bind(p, KEY) for p in extras.chain([deidlang.load(str(p)) for p in paths])]


def apply_all(programs, ds):
    for p in programs:
        p.apply(ds)
    return ds


# --------------------------------------------------------------------------- the table


def test_every_row_of_the_cross_check_table_is_in_ours_with_the_same_code():
    """dicom-anonymizer's machine-readable copy of Table E.1-1 (2026c edition)."""
    from dicomanonymizer.dicom_anonymization_databases import dicomfields_2026c as kit

    codes = {
        "D_TAGS": "D",
        "Z_TAGS": "Z",
        "X_TAGS": "X",
        "U_TAGS": "U",
        "Z_D_TAGS": "Z/D",
        "X_Z_TAGS": "X/Z",
        "X_D_TAGS": "X/D",
        "X_Z_D_TAGS": "X/Z/D",
        "X_Z_U_STAR_TAGS": "X/Z/U*",
    }
    masks = {(0x5000, 0x0000, 0xFF00, 0x0000): "50xx,xxxx", (0x6000, 0x3000, 0xFF00, 0xFFFF): "60xx,3000", (0x6000, 0x4000, 0xFF00, 0xFFFF): "60xx,4000"}
    ours = {r.pattern: r.code for r in profile.rows()}
    theirs = {}
    for name, code in codes.items():
        for entry in getattr(kit, name):
            key = masks[tuple(entry)] if len(entry) == 4 else f"{entry[0]:04X},{entry[1]:04X}"
            theirs[key] = code
    assert len(theirs) >= 650
    assert {k: v for k, v in theirs.items() if ours.get(k) != v} == {}
    assert set(ours) - set(theirs) == {"private"}  # the table's "Private Attributes" row
    assert ours["private"] == "X"


def test_options_and_their_codes():
    assert profile.PROFILE == ("113100", "Basic Application Confidentiality Profile")
    codes = {o.name: o.code for o in profile.OPTIONS}
    assert codes["retain-uids"] == "113110" and codes["retain-safe-private"] == "113111"
    assert codes["retain-full-dates"] == "113106" and codes["retain-modified-dates"] == "113107"
    assert codes["clean-descriptors"] == "113105" and codes["retain-institution-identity"] == "113112"
    assert codes["retain-device-identity"] == "113109" and codes["retain-patient-characteristics"] == "113108"
    for name in BUNDLED:
        assert profile.option_recipe(name).is_file()
    uids = [r for r in profile.rows() if r.code == "U"]
    assert sum(r.option_code("retain-uids") == "K" for r in uids) >= 50  # rows newer than the option columns have none


def test_generated_recipes_are_current():
    proc = subprocess.run([sys.executable, str(ROOT / "docs" / "gen_profile_recipes.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_bundled_recipes_check_clean():
    assert deidlang.check(profile.default_recipe().read_text(encoding="utf-8"), path="default.dicom") == []
    text = profile.default_recipe().read_text(encoding="utf-8")
    assert f"PS3.15 {profile.EDITION}" in text.split("%header")[0]  # the edition, in %labels
    for name in BUNDLED:
        diags = deidlang.check(profile.option_recipe(name).read_text(encoding="utf-8"))
        assert not [d for d in diags if d.is_error] and {d.code for d in diags} <= {"W408"}, (name, diags)


# --------------------------------------------------------------------------- coverage


def test_default_recipe_handles_every_row_as_resolved():
    report = coverage.coverage(parsed(profile.default_recipe()))
    assert not report.failed
    assert {h.status for h in report.handlings} == {"ok"}
    want = {"X": "X", "Z": "Z", "D": "D", "P": "D", "U": "U", "-": "K"}
    wrong = [(h.row.label, h.effect) for h in report.handlings if h.effect != want[profile.resolution(h.row)]]
    assert wrong == []
    assert sum(1 for h in report.handlings if h.line is not None) == len(report.handlings) - 2  # the two X/Z/U* sequences


@pytest.mark.parametrize("name", BUNDLED)
def test_each_option_composes_with_the_profile(name):
    report = coverage.coverage(parsed(profile.option_recipe(name), profile.default_recipe()), [name])
    assert report.count("gap") == 0 and report.count("contradicts") == 0, [
        (h.row.label, h.status, h.note) for h in report.handlings if h.status in ("gap", "contradicts")
    ]
    retained = [h for h in report.handlings if h.row.option_code(name)]
    assert retained and all(h.status in ("ok", "stricter") for h in retained)
    assert sum(h.status == "ok" for h in retained) >= len(retained) - 5


def test_every_bundled_option_at_once():
    options = [n for n in BUNDLED if n != "retain-full-dates"]
    report = coverage.coverage(parsed(*[profile.option_recipe(n) for n in options], profile.default_recipe()), options)
    assert not report.failed


def test_contradictions_and_gaps_are_found(tmp_path):
    recipe = tmp_path / "r.dicom"
    recipe.write_text(
        "FORMAT dicom\n%header\nKEEP PatientName\nREPLACE SOPInstanceUID 1.2.3\nREMOVE StudyInstanceUID\n"
        "REPLACE SeriesInstanceUID deid_func:pydicom_uuid\nBLANK PatientSex\nREMOVE PatientBirthDate\n",
        encoding="utf-8",
    )
    report = coverage.coverage(parsed(recipe))
    by = {h.row.keyword: h for h in report.handlings}
    assert by["PatientName"].status == "contradicts" and by["PatientName"].line[1] == 3
    assert by["SOPInstanceUID"].status == "contradicts" and "fixed value" in by["SOPInstanceUID"].note
    assert by["StudyInstanceUID"].status == "contradicts" and "removed" in by["StudyInstanceUID"].note
    assert by["SeriesInstanceUID"].status == "ok" and "unkeyed" in by["SeriesInstanceUID"].note
    assert by["PatientSex"].status == "ok"
    assert by["PatientBirthDate"].status == "differs"
    assert by["PatientAddress"].status == "gap" and by["PatientAddress"].line is None
    with_option = coverage.coverage(parsed(recipe), ["retain-uids"])
    assert {h.row.keyword: h for h in with_option.handlings}["StudyInstanceUID"].status == "stricter"


def test_keep_in_an_earlier_recipe_decides(tmp_path):
    first = tmp_path / "a.dicom"
    first.write_text("FORMAT dicom\n%header\nKEEP InstitutionName\n", encoding="utf-8")
    report = coverage.coverage(parsed(first, profile.default_recipe()))
    h = {h.row.keyword: h for h in report.handlings}["InstitutionName"]
    assert h.status == "contradicts" and h.line[0] == str(first)
    ok = coverage.coverage(parsed(first, profile.default_recipe()), ["retain-institution-identity"])
    assert {h.row.keyword: h for h in ok.handlings}["InstitutionName"].status == "ok"


def test_deids_default_recipe_has_gaps_and_contradictions():
    report = coverage.coverage(parsed(DEID_RECIPE))
    by = {h.row.keyword: h for h in report.handlings}
    assert report.count("gap") > 100 and report.count("contradicts") > 20
    assert by["SOPInstanceUID"].status == "contradicts"  # deid removes every UID
    assert by["InstitutionName"].status == "gap"
    assert {h.row.pattern: h for h in report.handlings}["private"].status == "gap"


# --------------------------------------------------------------------------- the command line


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


class TestCheckProfile:
    def test_default_recipe(self, capsys):
        code, out, _ = run(capsys, "check", "--profile", "basic", "--strict")
        assert code == 0 and "656 rows: 0 contradicts, 0 gap, 0 differs, 0 stricter, 656 ok" in out
        assert f"PS3.15 {profile.EDITION}" in out

    def test_deid_recipe_text_and_json(self, capsys):
        code, out, _ = run(capsys, "check", "--profile", "basic", DEID_RECIPE)
        assert code == 0 and "gap (" in out and "contradicts (" in out and "REMOVE endswith:ID" in out
        assert run(capsys, "check", "--profile", "basic", "--strict", DEID_RECIPE)[0] == 1
        code, out, _ = run(capsys, "check", "--profile", "basic", "--format", "json", DEID_RECIPE)
        data = json.loads(out)
        assert data["profile"]["code"] == "113100" and len(data["rows"]) == 656
        row = next(r for r in data["rows"] if r["keyword"] == "SOPInstanceUID")
        assert row["status"] == "contradicts" and row["line"]["file"] == str(DEID_RECIPE) and row["line"]["line"] > 0

    def test_options_default_to_the_bundled_recipes(self, capsys):
        code, out, _ = run(capsys, "check", "--profile", "basic", "--option", "retain-uids", "--option", "retain-modified-dates", "--all", "--strict")
        assert code == 0 and "retain-uids.dicom" in out and "retain-modified-dates.dicom" in out
        assert "retain-uids (113110)" in out and "KEEP SOPInstanceUID" in out

    def test_option_not_applied_is_reported(self, capsys):
        code, out, _ = run(capsys, "check", "--profile", "basic", "--option", "retain-uids", "--strict", profile.default_recipe())
        assert code == 0 and "stricter" in out  # the recipe replaces UIDs the option would keep

    def test_recipe_errors_stop_the_report(self, capsys, tmp_path):
        bad = tmp_path / "bad.dicom"
        bad.write_text("FORMAT dicom\n%header\nBLNK PatientName\n", encoding="utf-8")
        code, out, _ = run(capsys, "check", "--profile", "basic", bad)
        assert code == 1 and "E101" in out and "rows:" not in out

    def test_check_without_recipe_needs_profile(self, capsys):
        assert run(capsys, "check")[0] == 2


# --------------------------------------------------------------------------- outputs stay valid


def _uids(ds: Dataset) -> list[tuple[int, str]]:
    out = []
    for elem in ds.iterall():
        if elem.VR == "UI" and elem.value:
            values = elem.value if isinstance(elem.value, (list, pydicom.multival.MultiValue)) else [elem.value]
            out += [(int(elem.tag), str(v)) for v in values]
    return out


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    return corpus.materialize(tmp_path_factory.mktemp("profile-corpus"))


def test_outputs_of_the_default_recipe_stay_valid(datasets, tmp_path):
    """UIDs replaced never deleted, no value that was there emptied unless the row says Z,
    file meta consistent, SOP Class kept, readable by pydicom, no private element left."""
    assert len(datasets) >= 20
    program = chain(profile.default_recipe())
    resolved = {r.tag: profile.resolution(r) for r in profile.rows() if r.tag is not None}
    for name, path in datasets.items():
        before = pydicom.dcmread(path, force=True)
        ds = pydicom.dcmread(path, force=True)
        apply_all(program, ds)
        out = tmp_path / f"{name}.dcm"
        ds.save_as(out, enforce_file_format=False)
        back = pydicom.dcmread(out, force=True)
        assert back.get("SOPClassUID") == before.get("SOPClassUID"), name
        assert back.PatientIdentityRemoved == "YES"
        assert [i.CodeValue for i in back.DeidentificationMethodCodeSequence] == ["113100"]
        assert not [e.tag for e in back.iterall() if e.tag.is_private], name
        if "SOPInstanceUID" in before:
            assert back.SOPInstanceUID != before.SOPInstanceUID and UID(back.SOPInstanceUID).is_valid, name
            meta = getattr(before, "file_meta", {})
            if meta.get("MediaStorageSOPInstanceUID") == before.SOPInstanceUID:  # consistent before, consistent after
                assert back.file_meta.MediaStorageSOPInstanceUID == back.SOPInstanceUID, name
        for tag in (0x0020000D, 0x0020000E, 0x00200052):
            if tag in before and before[tag].value:
                assert tag in back and UID(back[tag].value).is_valid and back[tag].value != before[tag].value, (name, hex(tag))
        assert all(UID(v).is_valid or len(v) <= 64 for _, v in _uids(back)), name
        for elem in before:
            tag = int(elem.tag)
            if tag in back and elem.VR not in ("SQ",) and elem.value not in (None, "", b"") and back[tag].value in (None, "", b""):
                assert resolved.get(tag) == "Z", (name, elem.keyword)


def test_relations_survive_across_files(datasets):
    program = chain(profile.default_recipe())
    first = pydicom.dcmread(datasets["CT_small"])
    second = pydicom.dcmread(datasets["CT_small"])
    second.SOPInstanceUID = "1.2.3.4.5.6.7.8"
    ref = Dataset()
    ref.ReferencedSOPClassUID = first.SOPClassUID
    ref.ReferencedSOPInstanceUID = first.SOPInstanceUID
    second.ReferencedImageSequence = Sequence([ref])
    apply_all(program, first)
    apply_all(program, second)
    assert second.ReferencedImageSequence[0].ReferencedSOPInstanceUID == first.SOPInstanceUID
    assert second.StudyInstanceUID == first.StudyInstanceUID and second.SOPInstanceUID != first.SOPInstanceUID


# --------------------------------------------------------------------------- options at run time


def _rich(patient="PAT-1", sop="1.2.3.9.1") -> Dataset:
    ds = pydicom.dcmread(pydicom.data.get_testdata_file("CT_small.dcm"))
    ds.PatientID = patient
    ds.PatientName = "Doe^John"
    ds.SOPInstanceUID = sop
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.StudyDate = "20240611"
    ds.PatientSex = "F"
    ds.PatientAge = "061Y"
    ds.InstitutionName = "Fairhaven Memorial"
    ds.DeviceSerialNumber = "SN-1234"
    ds.StudyDescription = "CT chest for John Doe"
    block = ds.private_block(0x0019, "GEMS_ACQU_01", create=True)
    block.add_new(0x23, "DS", "12.5")
    block.add_new(0x40, "LO", "private secret")
    return ds


def _with(name: str, ds=None) -> Dataset:
    return apply_all(chain(profile.option_recipe(name), profile.default_recipe()), ds if ds is not None else _rich())


def _codes(ds) -> list[str]:
    return [i.CodeValue for i in ds.DeidentificationMethodCodeSequence]


def test_option_retain_uids():
    before = _rich()
    ds = _with("retain-uids")
    assert ds.SOPInstanceUID == before.SOPInstanceUID and ds.StudyInstanceUID == before.StudyInstanceUID
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert _codes(ds) == ["113100", "113110"] and "Retain UIDs Option" in list(ds.DeidentificationMethod)
    assert not ds.PatientName


def test_option_full_and_modified_dates():
    full = _with("retain-full-dates")
    assert full.StudyDate == "20240611" and full.LongitudinalTemporalInformationModified == "UNMODIFIED"
    assert _codes(full) == ["113100", "113106"]
    one = _with("retain-modified-dates")
    two = _with("retain-modified-dates", _rich(sop="1.2.3.9.2"))
    other = _with("retain-modified-dates", _rich(patient="PAT-2"))
    assert one.StudyDate == two.StudyDate not in ("", "20240611") and one.LongitudinalTemporalInformationModified == "MODIFIED"
    assert _codes(one) == ["113100", "113107"]
    assert other.StudyDate != one.StudyDate  # another patient, another offset (with this key)
    base = apply_all(chain(profile.default_recipe()), _rich())
    assert not base.StudyDate and "LongitudinalTemporalInformationModified" not in base


def test_option_identities_and_characteristics():
    dev = _with("retain-device-identity")
    assert dev.DeviceSerialNumber == "SN-1234" and _codes(dev) == ["113100", "113109"]
    inst = _with("retain-institution-identity")
    assert inst.InstitutionName == "Fairhaven Memorial" and _codes(inst) == ["113100", "113112"]
    pat = _with("retain-patient-characteristics")
    assert pat.PatientSex == "F" and pat.PatientAge == "061Y" and _codes(pat) == ["113100", "113108"]
    base = apply_all(chain(profile.default_recipe()), _rich())
    assert base.DeviceSerialNumber == "ANONYMOUS" and base.InstitutionName == "ANONYMOUS" and not base.PatientSex


def test_option_safe_private_and_clean_descriptors():
    ds = _with("retain-safe-private")
    safe = {(c.lower(), g, low) for c, g, low, _ in __import__("gen_profile_recipes").SAFE_PRIVATE}
    kept = [e for e in ds if e.tag.is_private and e.tag.element >= 0x100]
    assert kept and all((str(e.private_creator).lower(), e.tag.group, e.tag.element & 0xFF) in safe for e in kept)
    assert ds[0x00191023].value == "12.5" and 0x00191040 not in ds and ds[0x00190010].value == "GEMS_ACQU_01"
    assert _codes(ds) == ["113100", "113111"]
    clean = _with("clean-descriptors")
    assert clean.StudyDescription == "CT chest for" and _codes(clean) == ["113100", "113105"]


def test_run_with_options_and_a_key_file(capsys, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _rich().save_as(src / "a.dcm", enforce_file_format=True)
    key = tmp_path / "key"
    key.write_text("k" * 40 + "\n", encoding="utf-8")
    outputs = {}
    for label, extra in (("plain", []), ("uids", ["--option", "retain-uids"]), ("again", []), ("other", ["--key-file", tmp_path / "key2"])):
        if label == "other":
            (tmp_path / "key2").write_text("z" * 40, encoding="utf-8")
        args = ["run", "--input", src, "--output", tmp_path / label, "--jobs", "1", *extra]
        if "--key-file" not in extra:
            args += ["--key-file", key]
        code, _, err = run(capsys, *args)
        assert code == 0, err
        outputs[label] = pydicom.dcmread(tmp_path / label / "a.dcm")
    assert outputs["uids"].SOPInstanceUID == "1.2.3.9.1"
    assert outputs["plain"].SOPInstanceUID == outputs["again"].SOPInstanceUID != "1.2.3.9.1"
    assert outputs["other"].SOPInstanceUID != outputs["plain"].SOPInstanceUID
    assert run(capsys, "run", "--input", src, "--output", tmp_path / "x", "--key-file", tmp_path / "nokey")[0] == 2
