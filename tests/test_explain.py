"""`deidc explain`, `Program.explain` and `deidc run --dry-run`.

Golden files (tests/snapshots/explain/) pin the text and JSON forms on a
fixed dataset and recipe; regenerate them after a deliberate change with::

    UPDATE_SNAPSHOTS=1 python -m pytest tests/test_explain.py
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import pydicom
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixtures  # noqa: E402

import deidlang  # noqa: E402
from deidlang import cli
from deidlang.runtime.explain import Explanation, Tracer, explain, render_json, render_text  # noqa: E402

SNAPSHOTS = Path(__file__).parent / "snapshots" / "explain"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"

GOLDEN_RECIPE = """FORMAT dicom

%header

# exclusion: the REMOVE is cancelled because a REPLACE names the element
REMOVE PatientID
REPLACE PatientID var:pseudonym

# a later line overwrites an earlier one
BLANK PatientName
REPLACE PatientName ANONYMOUS

# KEEP protects an element, ADD does not care
KEEP StudyDate
REMOVE endswith:Date
ADD StudyDate 20000101

# nested elements, and a whole sequence
REPLACE ReferencedSOPInstanceUID 1.2.3.999
REMOVE ReferencedImageSequence

# a condition that does not hold, and a line that comes too late
REMOVE Manufacturer equals:GE
REMOVE InstitutionName
REMOVE InstitutionName

ADD PatientIdentityRemoved YES
"""


def _snapshot(name: str, actual: str) -> None:
    path = SNAPSHOTS / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"missing snapshot {path}; run with UPDATE_SNAPSHOTS=1 to create it"
    assert actual == path.read_text(encoding="utf-8")


@pytest.fixture
def golden(tmp_path, monkeypatch):
    """A working directory with explain.dicom, s.dcm (dataset S) and ids.json."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "explain.dicom").write_text(GOLDEN_RECIPE, encoding="utf-8")
    ds = fixtures.make_S()
    ds.file_meta.ImplementationVersionName = "DEIDLANG_TEST"  # not pydicom's version: stable goldens
    fixtures.write_dataset(ds, tmp_path / "s.dcm")
    (tmp_path / "ids.json").write_text(json.dumps({"s.dcm": {"pseudonym": "SUB-001"}}), encoding="utf-8")
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def program(*lines: str, path: str = "r.dicom", allow=()):
    return deidlang.compile(fixtures.header(*lines), path=path, allow=allow)


# --------------------------------------------------------------------------- golden files


class TestGolden:
    def test_text(self, golden, capsys):
        code, out, _ = run(capsys, "explain", "explain.dicom", "s.dcm", "--ids", "ids.json")
        assert code == 0
        _snapshot("golden.text.txt", out)

    def test_text_with_values(self, golden, capsys):
        code, out, _ = run(capsys, "explain", "explain.dicom", "s.dcm", "--ids", "ids.json", "--show-values")
        assert code == 0
        _snapshot("golden.values.txt", out)

    def test_json(self, golden, capsys):
        code, out, _ = run(capsys, "explain", "explain.dicom", "s.dcm", "--ids", "ids.json", "--format", "json")
        assert code == 0
        json.loads(out)
        _snapshot("golden.json", out)

    def test_json_with_values(self, golden, capsys):
        code, out, _ = run(capsys, "explain", "explain.dicom", "s.dcm", "--ids", "ids.json", "--format", "json", "--show-values", "--keep-private")
        assert code == 0
        _snapshot("golden.values.json", out)


# --------------------------------------------------------------------------- what each element says


def _explain(prog, ds=None, **kw) -> Explanation:
    return explain([prog] if not isinstance(prog, list) else prog, ds if ds is not None else fixtures.build_S(), **kw)


def _row(e: Explanation, element: str):
    found = e.find(element)
    assert found is not None, element
    return found


class TestExplanation:
    def test_exclusion_names_the_line_that_cancelled_the_remove(self):
        e = _explain(program("REMOVE PatientID", "REPLACE PatientID SUB"))
        row = _row(e, "PatientID")
        assert (row.outcome, row.decided_by.line) == ("changed", 6)
        [shadow] = row.shadowed
        assert shadow.rule.line == 5 and shadow.rule.action == "REMOVE"
        assert shadow.reason.startswith("cancelled: r.dicom:6 names this element")

    def test_keep_shadows_every_line_that_selects_the_element(self):
        e = _explain(program("REMOVE ALL", "KEEP ReferencedImageSequence"))
        seq = _row(e, "ReferencedImageSequence")
        assert seq.outcome == "kept" and seq.decided_by.action == "KEEP"
        assert [s.reason for s in seq.shadowed] == ["not applied: KEEP at r.dicom:6 protects this element"]
        nested = _row(e, "(0008,1140)__1__(0008,1155)")
        assert nested.outcome == "kept" and nested.decided_by.line == 6 and nested.note == "inside a kept sequence"
        assert _row(e, "PatientName").outcome == "removed"

    def test_the_skip_list_is_named(self):
        e = _explain(program("REMOVE ALL"), fixtures.read_back(fixtures.make_P()))
        pixels = _row(e, "PixelData")
        assert pixels.outcome == "kept" and pixels.decided_by is None
        assert pixels.note == "protected by deid's skip list"
        assert [s.reason for s in pixels.shadowed] == ["not applied: protected by deid's skip list"]

    def test_a_later_line_overwrites_and_a_later_remove_finds_nothing(self):
        e = _explain(program("BLANK PatientName", "REPLACE PatientName X", "REMOVE StudyDate", "REMOVE StudyDate"))
        name = _row(e, "PatientName")
        assert name.decided_by.line == 6 and name.shadowed[0].reason == "overwritten by r.dicom:6"
        date = _row(e, "StudyDate")
        assert date.outcome == "removed" and date.decided_by.line == 7
        assert date.shadowed[0].reason == "not applied: already removed by r.dicom:7"

    def test_blank_then_nested_elements_go_with_their_sequence(self):
        e = _explain(program("BLANK ReferencedImageSequence"))
        assert _row(e, "ReferencedImageSequence").outcome == "blanked"
        nested = _row(e, "ReferencedImageSequence[0].ReferencedSOPClassUID")
        assert nested.outcome == "removed" and nested.decided_by.line == 5
        assert "emptied with its sequence (0008,1140)" in nested.note

    def test_add_ignores_keep_and_creates(self):
        e = _explain(program("KEEP StudyDate", "ADD StudyDate 20000101", "ADD PatientIdentityRemoved YES"))
        date = _row(e, "StudyDate")
        assert date.outcome == "changed" and date.decided_by.action == "ADD"
        assert date.shadowed[0].reason == "KEEP does not stop ADD"
        assert _row(e, "PatientIdentityRemoved").outcome == "added"

    def test_a_condition_that_does_not_hold_leaves_the_element_unchanged(self):
        e = _explain(program("REMOVE Manufacturer equals:GE"))
        row = _row(e, "Manufacturer")
        assert row.outcome == "unchanged" and row.decided_by is None
        assert row.shadowed[0].reason == "no effect: its condition did not hold"

    def test_a_jitter_that_cannot_apply_says_why(self):
        e = _explain(program("JITTER Modality 3", allow=["W308"]))  # the checker says so too (W308)
        row = _row(e, "Modality")
        assert row.outcome == "unchanged"
        assert row.shadowed[0].reason.startswith("no effect: the value is not a date")

    def test_remove_private_is_named(self):
        e = _explain(program("REMOVE PatientName"), remove_private=True)
        row = _row(e, "(0029,1010)")
        assert row.outcome == "removed" and row.decided_by is None and "--remove-private" in row.note
        assert row.creator == "ACME: Corp"
        assert e.actions()["--remove-private"] == 4

    def test_several_recipes_are_attributed_to_their_file(self):
        first = program("REPLACE PatientName A", path="first.dicom")
        second = program("REPLACE PatientName B", path="second.dicom")
        e = _explain([first, second])
        row = _row(e, "PatientName")
        assert row.decided_by.recipe == "second.dicom"
        assert row.shadowed[0].rule.recipe == "first.dicom"
        assert row.shadowed[0].reason == "overwritten by second.dicom:5"
        assert e.recipes == ("first.dicom", "second.dicom")

    def test_values_group_selections_are_traced(self):
        text = "FORMAT dicom\n\n%values names\nSPLIT PatientName by=^;minlength=3\n\n%header\nREMOVE values:names\n"
        e = _explain(deidlang.compile(text, path="v.dicom"))
        assert _row(e, "PatientName").decided_by.line == 7

    def test_every_element_is_listed_and_agrees_with_apply(self):
        prog = deidlang.load(str(cli.DEFAULT_RECIPE))
        for path in sorted(cli.DEMO_DIR.rglob("*.dcm"))[:4]:
            ds = pydicom.dcmread(path)
            e = explain([prog], ds, remove_private=True)
            applied = prog.apply(pydicom.dcmread(path), remove_private=True)
            after = {x.element for x in e.elements if x.outcome != "removed"}
            from deidlang.runtime.explain import _walk

            assert after == {s.uid for s in _walk(applied)}
            assert sum(e.counts().values()) == len(e.elements)


class TestNoSideEffects:
    def test_the_dataset_is_not_changed(self):
        ds = fixtures.build_S()
        before = fixtures.read_back(copy.deepcopy(ds))
        explain([deidlang.load(str(cli.DEFAULT_RECIPE))], ds, remove_private=True)
        assert ds == before
        assert "PatientName" in ds and str(ds.PatientName) == "Doe^John"

    def test_program_explain_method(self):
        ds = fixtures.build_S()
        e = program("REMOVE PatientName").explain(ds)
        assert _row(e, "PatientName").outcome == "removed"
        assert "PatientName" in ds

    def test_apply_with_and_without_a_tracer_gives_the_same_dataset(self):
        prog = deidlang.load(str(cli.DEFAULT_RECIPE))
        plain = prog.apply(fixtures.build_S(), remove_private=True)
        traced = prog.apply(fixtures.build_S(), remove_private=True, trace=Tracer())
        assert plain == traced

    def test_renderers_hide_values_unless_asked(self):
        e = _explain(program("REPLACE PatientName X"))
        assert "Doe^John" not in render_text(e) and "Doe^John" not in render_json(e)
        assert "Doe^John" in render_text(e, show_values=True) and "Doe^John" in render_json(e, show_values=True)


# --------------------------------------------------------------------------- the command


class TestCommand:
    def test_values_are_hidden_by_default(self, golden, capsys):
        code, out, _ = run(capsys, "explain", "explain.dicom", "s.dcm", "--ids", "ids.json")
        assert code == 0 and "Doe^John" not in out and "General Hospital" not in out
        code, out, _ = run(capsys, "explain", "explain.dicom", "s.dcm", "--ids", "ids.json", "--show-values")
        assert "Doe^John" in out

    def test_recipe_errors_exit_1_and_nothing_is_explained(self, golden, capsys):
        (golden / "bad.dicom").write_text("FORMAT dicom\n%header\nBLNK PatientName\n", encoding="utf-8")
        code, out, err = run(capsys, "explain", "bad.dicom", "s.dcm")
        assert code == 1 and out == "" and "E101" in err

    def test_a_missing_variable_is_an_apply_error(self, golden, capsys):
        # without ids, the recipe is refused before the file is explained (E215)...
        code, out, err = run(capsys, "explain", "explain.dicom", "s.dcm")
        assert code == 1 and out == ""
        assert "E215" in err and "--allow E215" in err and "12345" not in err
        # ... and let through, applying it stops at the variable (R002)
        code, out, err = run(capsys, "explain", "explain.dicom", "s.dcm", "--allow", "E215")
        assert code == 1 and out == ""
        assert "R002" in err and "12345" not in err

    @pytest.mark.parametrize(
        "argv, message",
        [
            (["explain", "explain.dicom", "missing.dcm"], "'missing.dcm' does not exist"),
            (["explain", "explain.dicom", "explain.dicom"], "'explain.dicom' is a recipe, not a DICOM file"),
            (["explain", "explain.dicom"], "'explain.dicom' is a recipe, not a DICOM file: name the DICOM file to explain last"),
            (["explain", "s.dcm", "s.dcm"], "'s.dcm' is a DICOM file, not a recipe"),
        ],
    )
    def test_usage_errors_exit_2(self, golden, capsys, argv, message):
        code, _out, err = run(capsys, *argv)
        assert code == 2 and message in err
        assert "--force" not in err  # a recipe is not a DICOM file without a preamble

    def test_without_a_recipe_the_default_recipe_explains(self, golden, capsys):
        """As `deidc run`, `inspect` and `clean`: no recipe named, the bundled default recipe."""
        code, out, err = run(capsys, "explain", "s.dcm", "--format", "json")
        assert code == 0, err
        data = json.loads(out)
        assert data["recipes"] == [str(cli.DEFAULT_RECIPE)]
        assert any(e["decided_by"] and e["decided_by"]["recipe"] == str(cli.DEFAULT_RECIPE) for e in data["elements"])
        assert run(capsys, "explain", "s.dcm", "--option", "retain-uids", "--format", "json")[0] == 0

    def test_arguments_in_the_wrong_order_are_told_so(self, golden, capsys):
        code, out, err = run(capsys, "explain", "s.dcm", "explain.dicom")
        assert code == 2 and out == ""
        assert "the arguments are in the wrong order: 'explain.dicom' is a recipe and 's.dcm' a DICOM file" in err
        assert "deidc explain [RECIPE...] FILE.dcm" in err
        assert "--force" not in err and "preamble" not in err

    def test_retain_safe_private_without_keep_private_is_refused(self, golden, capsys):
        code, out, err = run(capsys, "explain", "s.dcm", "--option", "retain-safe-private")
        assert code == 1 and out == "" and "add --keep-private" in err
        assert run(capsys, "explain", "s.dcm", "--option", "retain-safe-private", "--keep-private")[0] == 0

    def test_a_raising_function_shows_its_message_only_with_show_values(self, golden, capsys):
        (golden / "f.dicom").write_text("FORMAT dicom\n%header\nREPLACE PatientID func:boom\n", encoding="utf-8")
        (golden / "f.py").write_text(
            "def boom(item=None, value=None, field=None, dicom=None):\n    raise ValueError(f'no {dicom.PatientName}')\n", encoding="utf-8"
        )
        code, _, err = run(capsys, "explain", "f.dicom", "s.dcm", "--functions", "f.py")
        assert code == 1 and "R001 function 'boom' raised ValueError" in err and "Doe^John" not in err
        code, _, err = run(capsys, "explain", "f.dicom", "s.dcm", "--functions", "f.py", "--show-values")
        assert code == 1 and "the function's message: no Doe^John" in err

    def test_several_recipes(self, golden, capsys):
        (golden / "more.dicom").write_text("FORMAT dicom\n%header\nREMOVE PatientIdentityRemoved\n", encoding="utf-8")
        code, out, _ = run(capsys, "explain", "explain.dicom", "more.dicom", "s.dcm", "--ids", "ids.json", "--format", "json")
        data = json.loads(out)
        assert code == 0 and data["recipes"] == ["explain.dicom", "more.dicom"]
        assert all(e["element"] != "(0012,0062)" for e in data["elements"])  # added, then removed: never there


# --------------------------------------------------------------------------- run --dry-run


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def demo(tmp_path) -> Path:
    target = tmp_path / "scans"
    shutil.copytree(cli.DEMO_DIR, target)
    return target


class TestDryRun:
    def test_nothing_is_written_and_the_output_is_not_created(self, demo, tmp_path, capsys):
        before = tree_digest(demo)
        code, out, err = run(capsys, "run", "--input", demo, "--output", tmp_path / "out", "--dry-run", "--jobs", "1")
        assert code == 0, err
        assert not (tmp_path / "out").exists()
        assert tree_digest(demo) == before
        assert "nothing was written" in out
        assert "patient-001/ct-chest/ct-001.dcm: would remove" in out

    def test_an_existing_output_is_left_alone(self, demo, tmp_path, capsys):
        out_dir = tmp_path / "out"
        run(capsys, "run", "--input", demo, "--output", out_dir, "--jobs", "1")
        before = tree_digest(out_dir)
        code, _out, _err = run(capsys, "run", "--input", demo, "--output", out_dir, "--dry-run", "--overwrite")
        assert code == 0 and tree_digest(out_dir) == before

    def test_report(self, demo, tmp_path, capsys):
        report = tmp_path / "report.json"
        code, out, _ = run(capsys, "run", "--input", demo, "--output", tmp_path / "out", "--dry-run", "--report", report)
        assert code == 0 and f"report: {report}" in out
        data = json.loads(report.read_text(encoding="utf-8"))
        assert data["dry_run"] is True and not data["values_shown"] and len(data["files"]) == 10
        first = data["files"][0]
        assert first["output"] == os.path.join("patient-001", "ct-chest", "ct-001.dcm")
        assert first["counts"]["removed"] > 0 and first["elements"]
        assert all("before" not in e for f in data["files"] for e in f["elements"])
        assert data["totals"]["removed"] == sum(f["counts"]["removed"] for f in data["files"])
        original = pydicom.dcmread(demo / "patient-001" / "ct-chest" / "ct-001.dcm")
        assert str(original.PatientName) not in report.read_text(encoding="utf-8")

    def test_report_with_values(self, demo, tmp_path, capsys):
        report = tmp_path / "report.json"
        run(capsys, "run", "--input", demo, "--output", tmp_path / "out", "--dry-run", "--report", report, "--show-values")
        original = pydicom.dcmread(demo / "patient-001" / "ct-chest" / "ct-001.dcm")
        assert str(original.PatientName) in report.read_text(encoding="utf-8")

    def test_report_inside_the_output_is_refused(self, demo, tmp_path, capsys):
        code, _out, err = run(capsys, "run", "--input", demo, "--output", tmp_path / "out", "--dry-run", "--report", tmp_path / "out" / "r.json")
        assert code == 2 and "inside the output directory" in err
        assert not (tmp_path / "out").exists()

    def test_a_file_that_cannot_be_read_fails_and_the_others_are_explained(self, demo, tmp_path, capsys):
        (demo / "notes.txt").write_text("not dicom", encoding="utf-8")
        code, out, err = run(capsys, "run", "--input", demo, "--output", tmp_path / "out", "--dry-run")
        assert code == 1
        assert "failed: notes.txt" in err.replace(str(demo) + os.sep, "")
        assert "10 files explained, 1 failed" in out
        assert not (tmp_path / "out").exists()

    def test_report_needs_dry_run(self, demo, tmp_path, capsys):
        code, _out, err = run(capsys, "run", "--input", demo, "--output", tmp_path / "out", "--report", tmp_path / "r.json")
        assert code == 2 and "--report goes with --dry-run" in err
        assert not (tmp_path / "out").exists()
