"""HIPAA Safe Harbor (``--option safe-harbor``, ``deid_func:safeharbor``,
``deidc check --profile safe-harbor``) and the three options of this change on the public
sample files: as valid as their inputs (tests/test_validity.py runs every bundled option),
and nothing for ``deidc verify`` to report."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.datadict import DicomDictionary
from test_validity import KEY, dciodvfy_errors, deidentify, need_dciodvfy, new_errors

import deidlang
from deidlang import cli
from deidlang.privacy import profile, safeharbor
from deidlang.runtime import extras, keyed
from deidlang.runtime.safeharbor import aggregate_age, year_of

OPTION = "safe-harbor"
FREE_TEXT = (
    "CT for Doe, call 555-123-4567 or (617) 555-0100, ZIP 02139-1234, mail j.doe@example.org, SSN 123-45-6789, "
    "host 10.20.30.40, see https://example.org/p?id=7, MRN 12345678, seen 03/14/2021"
)
GONE = ("555", "0100", "02139", "@", "123-45", "10.20", "https://", "12345678", "03/14", "Doe")


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def rich(birth: str = "19700611", age: str = "053Y", **values) -> pydicom.Dataset:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.PatientName = "Doe^John"
    ds.PatientID = "PAT-4711"
    ds.PatientBirthDate = birth
    ds.PatientAge = age
    ds.StudyDate = "20240611"
    ds.StudyTime = "101010"
    ds.SeriesDate = "20240611"
    ds.AcquisitionDateTime = "20240611101010.123456"
    ds.StudyDescription = FREE_TEXT
    for k, v in values.items():
        setattr(ds, k, v)
    return ds


def apply(ds: pydicom.Dataset, *options: str) -> pydicom.Dataset:
    paths = [profile.option_recipe(o) for o in profile.in_order(options)] + [profile.default_recipe()]
    for program in [keyed.bind(p, KEY) for p in extras.chain([deidlang.load(str(p)) for p in paths])]:
        program.apply(ds)
    return ds


# --------------------------------------------------------------------------- the built-in


@pytest.mark.parametrize(
    "value, expected",
    [
        ("089Y", "089Y"),
        ("090Y", "090Y"),
        ("095Y", "090Y"),
        ("120Y", "090Y"),
        ("011M", "011M"),
        ("999M", "999M"),
        ("003W", "003W"),
        ("75Y", "075Y"),
        ("95 Y", "090Y"),
        ("52", ""),
        ("1234Y", ""),
    ],
)
def test_ages_over_89_become_one_category(value, expected):
    assert aggregate_age(value) == expected


@pytest.mark.parametrize(
    "value, vr, expected",
    [
        ("20240611", "DA", "20240101"),
        ("2024.06.11", "DA", "20240101"),
        ("20240231", "DA", ""),
        ("20240611101010.5+0100", "DT", "2024"),
        ("2024", "DT", "2024"),
        ("x", "DT", ""),
    ],
)
def test_dates_keep_their_year(value, vr, expected):
    assert year_of(value, vr) == expected


def test_the_option_keeps_years_and_ages_and_says_so():
    ds = apply(rich(), OPTION)
    assert ds.PatientAge == "053Y" and ds.PatientBirthDate == "19700101"
    assert ds.StudyDate == "20240101" and ds.SeriesDate == "20240101" and ds.AcquisitionDateTime == "2024"
    assert not ds.get("StudyTime")  # a time of day is more than a year: the profile empties it
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
    assert "HIPAA Safe Harbor (45 CFR 164.514(b)(2))" in list(ds.DeidentificationMethod)
    assert [c.CodeValue for c in ds.DeidentificationMethodCodeSequence] == ["113100"]  # Safe Harbor has no CID 7050 code
    assert ds.PatientIdentityRemoved == "YES" and not ds.PatientName


def test_the_profile_alone_keeps_no_year():
    ds = apply(rich())
    assert not ds.StudyDate and "PatientAge" not in ds


def test_an_age_over_89_is_aggregated_and_the_year_of_birth_goes():
    old = apply(rich(birth="19300201", age="094Y"), OPTION)
    assert old.PatientAge == "090Y" and old.PatientBirthDate == ""  # Type 2: present, empty
    # the age says 90 or older though the date of birth does not: the year goes all the same
    said = apply(rich(birth="19900201", age="091Y"), OPTION)
    assert said.PatientBirthDate == ""
    # no age given: 90 years or more since the date of birth, today
    born = dt.date.today().year - 91
    assert apply(rich(birth=f"{born}0101", age=""), OPTION).PatientBirthDate == ""
    assert apply(rich(birth=f"{born + 5}0101", age=""), OPTION).PatientBirthDate == f"{born + 5}0101"


@pytest.mark.parametrize("order", [("clean-descriptors", OPTION), (OPTION, "clean-descriptors")])
def test_free_text_loses_what_safe_harbor_names_whatever_the_order_of_the_options(order):
    ds = apply(rich(), *order)
    text = ds.StudyDescription
    assert text.startswith("CT for") and "call" in text and "mail" in text
    assert [g for g in GONE if g in text] == []
    plain = apply(rich(), "clean-descriptors")  # the file's values only: the patterns stay
    assert "555-123-4567" in plain.StudyDescription


def test_long_free_text_anywhere_is_cleaned():
    """An LT element the table does not list (the profile keeps it) loses the patterns too."""
    listed = {r.tag for r in profile.rows() if r.tag is not None}
    tag = next(t for t, e in sorted(DicomDictionary.items()) if e[0] == "LT" and t not in listed and "Retired" not in e[3] and t >> 16 not in (0x0002,))
    ds = rich()
    ds.add_new(tag, "LT", FREE_TEXT)
    out = apply(ds, OPTION)
    assert [g for g in GONE if g in out[tag].value] == [] and "call" in out[tag].value
    assert apply(rich(), OPTION) is not None


def test_options_that_keep_what_safe_harbor_forbids_are_refused(capsys, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    rich().save_as(src / "a.dcm", enforce_file_format=True)
    for other in ("retain-uids", "retain-full-dates", "retain-modified-dates", "retain-device-identity"):
        code, _, err = run(capsys, "run", "--input", src, "--output", tmp_path / other, "--option", other, "--option", OPTION, "--jobs", "1")
        assert code == 1 and f"--option safe-harbor cannot be combined with --option {other}" in err, err
        assert not (tmp_path / other).exists() or not list((tmp_path / other).rglob("*.dcm"))


def test_safe_harbor_applies_first_whatever_the_order_given():
    assert profile.in_order(["retain-patient-characteristics", OPTION, "clean-descriptors"]) == [OPTION, "retain-patient-characteristics", "clean-descriptors"]
    ds = apply(rich(birth="19300201", age="097Y"), "retain-patient-characteristics", OPTION)
    assert ds.PatientAge == "090Y" and ds.PatientSex  # the characteristics stay, the age aggregated


# --------------------------------------------------------------------------- deidc check --profile safe-harbor


def test_check_profile_safe_harbor_reports_rows_and_categories(capsys):
    code, out, _ = run(capsys, "check", "--profile", OPTION, "--strict")
    assert code == 0
    assert "options: safe-harbor (HIPAA)" in out and "0 gap" in out
    assert "(A) covered  Names" in out and "(Q) partly" in out and "(P) outside" in out
    assert "actual knowledge" in out
    code, out, _ = run(capsys, "check", "--profile", OPTION, "--format", "json")
    data = json.loads(out)
    assert [c["letter"] for c in data["safe_harbor"]["categories"]] == list("ABCDEFGHIJKLMNOPQR")
    assert data["options"][0] == {"name": OPTION, "code": None, "meaning": "HIPAA Safe Harbor (45 CFR 164.514(b)(2))"}
    dates = {r["keyword"]: r for r in data["rows"]}
    assert dates["StudyDate"]["status"] == "ok" and dates["StudyDate"]["required"] == "C"
    assert dates["PatientAge"]["line"]["text"] == "KEEP PatientAge deid_func:safeharbor"


def test_check_profile_safe_harbor_finds_what_a_recipe_leaves(capsys, tmp_path):
    recipe = tmp_path / "weak.dicom"
    recipe.write_text(Path(profile.default_recipe()).read_text(encoding="utf-8").replace("BLANK PatientName", "KEEP PatientName"), encoding="utf-8")
    code, out, _ = run(capsys, "check", "--profile", OPTION, "--strict", recipe)
    assert code == 1 and "(A) gap" in out
    assert "(C) partly" in out  # dates handled by the profile, free text not cleaned: no line runs safeharbor


def test_every_category_maps_to_rows_that_exist():
    for c in safeharbor.CATEGORIES:
        known = {r.keyword for r in profile.rows()}
        assert set(c.keywords) <= known, c.letter
        if c.letter not in "LOP":
            assert c.rows(), c.letter


# --------------------------------------------------------------------------- the public samples


def _public_samples(root: Path) -> Path:
    import deid_data
    import pydicom.data

    shutil.copytree(Path(pydicom.data.__file__).parent / "test_files", root / "pydicom", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shutil.copytree(Path(deid_data.__file__).parent / "data", root / "deid-data", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return root


@pytest.mark.parametrize("option", ["clean-structured-content", "clean-graphics", OPTION])
def test_verify_finds_nothing_in_the_public_samples(option, tmp_path, capsys):
    originals = _public_samples(tmp_path / "in")
    key = tmp_path / "key"
    key.write_text("k" * 40, encoding="utf-8")
    code, _, err = run(capsys, "run", "--input", originals, "--output", tmp_path / "out", "--option", option, "--force", "--jobs", "1", "--key-file", key)
    written = json.loads((tmp_path / "out" / "deidlang-manifest.json").read_text(encoding="utf-8"))["summary"]["written"]
    assert written > 150, err
    code, out, _ = run(capsys, "verify", "--original", originals, "--deidentified", tmp_path / "out", "--format", "json", "--key-file", key)
    report = json.loads(out)
    assert report["leaks"] == [] and report["files"] == written


def test_a_year_only_date_time_is_valid(tmp_path):
    need_dciodvfy()
    source = tmp_path / "in.dcm"
    rich().save_as(source, enforce_file_format=True)
    output = deidentify(OPTION, [str(source)], tmp_path / "out")[str(source)]
    assert pydicom.dcmread(output).AcquisitionDateTime == "2024"
    assert new_errors(str(source), output, dciodvfy_errors(source), dciodvfy_errors(output)) == []
