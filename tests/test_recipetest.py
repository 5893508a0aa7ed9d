"""``deidc test``: recipe regression tests (golden cases, a failing case, --update, broken cases)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deidlang.tools import recipetest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def deidc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deidlang", *args], capture_output=True, text=True, cwd=cwd, timeout=180)


def test_the_shipped_examples_pass():
    r = deidc("test", str(EXAMPLES / "tests"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS" in r.stdout and "FAIL" not in r.stdout
    assert r.stderr.strip().endswith("2 passed, 0 failed")


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """The research-export example in a folder of its own (recipe beside the tests)."""
    (tmp_path / "tests").mkdir()
    shutil.copy(EXAMPLES / "research-export.dicom", tmp_path / "research-export.dicom")
    for name in ("research-export.test.yaml", "research-export.expected.json"):
        shutil.copy(EXAMPLES / "tests" / name, tmp_path / "tests" / name)
    return tmp_path


def test_a_changed_recipe_fails_with_a_readable_diff(suite: Path):
    recipe = suite / "research-export.dicom"
    recipe.write_text(recipe.read_text().replace("BLANK ReferringPhysicianName", "REMOVE ReferringPhysicianName"))
    r = deidc("test", "tests", cwd=suite)
    assert r.returncode == 1
    assert "FAIL tests/research-export.test.yaml" in r.stdout
    line = next(x for x in r.stdout.splitlines() if "ReferringPhysicianName" in x)
    assert line.strip().startswith("(0008,0090) ReferringPhysicianName:")
    assert 'outcome: expected "blanked", got "removed"' in line
    assert (
        "decided_by: expected ../research-export.dicom:31 `BLANK ReferringPhysicianName`, got ../research-export.dicom:31 `REMOVE ReferringPhysicianName`"
        in line
    )
    assert "after differs (--show-values prints the values)" in line
    assert "Pretend" not in r.stdout + r.stderr  # element values stay hidden
    assert len([x for x in r.stdout.splitlines() if x.startswith("    ")]) == 1  # only the element that changed
    assert r.stderr.strip().endswith("0 passed, 1 failed")

    r = deidc("test", "tests", "--show-values", cwd=suite)
    assert 'after: expected "", got null' in r.stdout

    r = deidc("test", "tests", "--update", cwd=suite)
    assert r.returncode == 0 and "UPDATED tests/research-export.test.yaml -> tests/research-export.expected.json" in r.stdout
    expected = json.loads((suite / "tests" / "research-export.expected.json").read_text())
    assert next(e for e in expected["elements"] if e["keyword"] == "ReferringPhysicianName")["outcome"] == "removed"
    assert deidc("test", "tests", cwd=suite).returncode == 0


def test_a_changed_value_is_a_failure(suite: Path):
    case = suite / "tests" / "research-export.test.yaml"
    case.write_text(case.read_text().replace("subject: SUB-001", "subject: SUB-002"))
    outcome = recipetest.run_case(case)
    assert outcome.status == "fail"
    assert outcome.diff == (
        "(0010,0010) PatientName: after differs (--show-values prints the values)",
        "(0010,0020) PatientID: after differs (--show-values prints the values)",
    )
    shown = recipetest.run_case(case, show_values=True)
    assert 'after: expected "SUB-001", got "SUB-002"' in shown.diff[0]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "case, message",
    [
        ("recipes: [r.dicom]\ninput: x.dcm\ndataset: {PatientName: A}\n", "exactly one of 'input'"),
        ("recipes: [r.dicom]\ndataset: {PatientName: A}\nfrobnicate: 1\n", "unknown key 'frobnicate'"),
        ("dataset: {PatientName: A}\n", "'recipes' is missing"),
        ("recipes: [r.dicom]\ndataset: [1, 2]\n", "'dataset' must be an object"),
        ("recipes: [r.dicom]\ndataset: {NotAKeyword: A}\n", "'NotAKeyword' is neither a DICOM keyword nor a tag"),
        ("recipes: [r.dicom]\ndataset: {'(0009,1001)': x}\n", "give the VR of (0009,1001)"),
        ("recipes: [missing.dicom]\ndataset: {PatientName: A}\n", "cannot read recipe 'missing.dicom'"),
        ("recipes: [bad.dicom]\ndataset: {PatientName: A}\n", "recipe 'bad.dicom' is refused: 1 finding(s), first at line 3: E101"),
        ("recipes: [keyed.dicom]\ndataset: {PatientName: A}\n", "give the case a 'key'"),
        ("recipes: [r.dicom]\ninput: nothing.dcm\n", "cannot read input 'nothing.dcm' as DICOM"),
        ("recipes: [r.dicom]\ndataset: {PatientName: A\n", "not valid YAML"),
        ("recipes: [r.dicom]\ndataset: {Rows: not a number}\n", "cannot store the value of Rows as VR US"),
    ],
)
def test_broken_cases_are_errors(tmp_path: Path, case: str, message: str):
    write(tmp_path / "r.dicom", "FORMAT dicom\n%header\nREMOVE PatientName\n")
    write(tmp_path / "bad.dicom", "FORMAT dicom\n%header\nBLNK PatientName\n")
    write(tmp_path / "keyed.dicom", "FORMAT dicom\n%header\nREPLACE PatientID deid_func:hashid\n")
    write(tmp_path / "nothing.dcm", "not DICOM at all")
    path = write(tmp_path / "c.test.yaml", case)
    outcome = recipetest.run_case(path)
    assert outcome.status == "error"
    assert message in outcome.reason


def test_a_broken_case_fails_the_run(tmp_path: Path):
    path = write(tmp_path / "c.test.json", '{"recipes": ["r.dicom"], "dataset": {"PatientName": "A"}}')
    r = deidc("test", path.name, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout.startswith("ERROR c.test.json: cannot read recipe 'r.dicom'")


def test_json_cases_descriptions_and_no_cases(tmp_path: Path):
    write(
        tmp_path / "r.dicom",
        "FORMAT dicom\n%header\nREMOVE OtherPatientIDs\nREPLACE PatientID var:pid\nBLANK ReferencedImageSequence__ReferencedSOPInstanceUID\n",
    )
    case = {
        "recipes": ["r.dicom"],
        "ids": {"pid": "P-9"},
        "remove_private": False,
        "dataset": {
            "PatientID": "123",
            "OtherPatientIDs": ["A", "B"],
            "Rows": 512,
            "PixelSpacing": [0.5, 0.5],
            "ReferencedImageSequence": [{"ReferencedSOPInstanceUID": "1.2.3"}, {"ReferencedSOPInstanceUID": "1.2.4"}],
            "(0009,0010)": {"vr": "LO", "value": "ACME"},
        },
    }
    path = write(tmp_path / "one.test.json", json.dumps(case))
    outcome = recipetest.run_case(path, update=True)
    assert outcome.status == "updated"
    by_path = {e["path"]: e for e in outcome.actual["elements"]}
    assert by_path["OtherPatientIDs"]["outcome"] == "removed" and by_path["OtherPatientIDs"]["before"] == "A\\B"
    assert by_path["PatientID"]["after"] == "P-9"
    assert by_path["ReferencedImageSequence[1].ReferencedSOPInstanceUID"]["outcome"] == "blanked"
    assert by_path["Rows"]["before"] == "512" and by_path["(0009,0010)"]["outcome"] == "kept"
    assert outcome.actual["file"] == "<dataset>"
    r = deidc("test", str(tmp_path), "--update")
    assert r.returncode == 0 and (tmp_path / "one.expected.json").exists()
    assert deidc("test", str(tmp_path)).returncode == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    r = deidc("test", str(empty))
    assert r.returncode == 2 and "no test cases" in r.stderr
    r = deidc("test", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_no_element_value_in_the_output_without_show_values(tmp_path: Path):
    """Over the canary corpus (a unique marker in every element): a failing case prints
    element paths and outcomes, never a marker, unless --show-values."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from canary import build_corpus, find_markers

    corpus = build_corpus(tmp_path / "in", files=1)
    recipe = tmp_path / "r.dicom"
    recipe.write_text((ROOT / "deidlang" / "data" / "default.dicom").read_text())
    case = write(
        tmp_path / "canary.test.json", json.dumps({"recipes": ["r.dicom"], "input": f"in/{corpus.files[0]}", "key": "canary tests only, not a real key"})
    )
    assert deidc("test", case.name, "--update", cwd=tmp_path).returncode == 0
    assert find_markers((tmp_path / "canary.expected.json").read_text(), corpus.strong_texts)  # the expectations hold values
    recipe.write_text(recipe.read_text() + "\n%header\nKEEP PatientName\nREPLACE StudyDescription X\n")
    case.write_text(json.dumps({"recipes": ["r.dicom"], "input": f"in/{corpus.files[0]}", "key": "canary tests only, not a real key", "allow": ["W307"]}))
    r = deidc("test", case.name, cwd=tmp_path)
    assert r.returncode == 1 and "PatientName" in r.stdout
    assert find_markers(r.stdout + r.stderr, corpus.strong_texts) == []
    shown = deidc("test", case.name, "--show-values", cwd=tmp_path)
    assert find_markers(shown.stdout, corpus.strong_texts)
