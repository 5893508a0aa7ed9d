"""What stops a recipe from running: one policy for the CLI, the API and the compat facade.

``deidlang.refusing`` decides (docs/diagnostics.md, "Severity, and what stops a
run"); these tests pin the policy itself and the Python entry points that use
it. The command line is tested in test_cli.py (TestRecipeSafety), the facade in
test_compat.py, the findings line by line in the golden recipes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import deidlang
from deidlang import api
from deidlang.lang.diagnostics import CODES, ERROR, INFO, WARNING, Diagnostic, UnknownCode, parse_allow, refusing
from deidlang.lang.source import Span

ROOT = Path(__file__).resolve().parent.parent
TYPO = "FORMAT dicom\n%header\nREMOVE PatientsName\n"
DEAD = "FORMAT dicom\n%header\nREMOVE PatientName\nREMOVE PatientsName\n"
LOWER = "FORMAT dicom\n%header\nremove PatientName\n"  # deid drops the line: W405


def _diag(code: str, severity: str | None = None) -> Diagnostic:
    return Diagnostic.at(Span(1, 1, 1, 2), code, "m", severity=severity)


# --------------------------------------------------------------------------- the policy


class TestRefusing:
    def test_errors_and_the_warnings_that_mean_a_dead_line_stop(self):
        found = [_diag("E214"), _diag("W201"), _diag("W202"), _diag("W305")]
        refused, allowed = refusing(found)
        assert [d.code for d in refused] == ["E214", "W201"] and allowed == []

    def test_strict_adds_every_other_warning_never_a_note(self):
        found = [_diag("W202"), _diag("W207"), _diag("I201"), _diag("W205", INFO)]
        assert [d.code for d in refusing(found, strict=True)[0]] == ["W202"]

    def test_deid_notes_stop_only_when_deid_behaviour_is_asked_for(self):
        found = [_diag("W405"), _diag("W408"), _diag("W101")]
        assert refusing(found) == ([], [])
        assert refusing(found, strict=True) == ([], [])  # not even under --strict: they are not shown
        assert [d.code for d in refusing(found, deid_compat=True)[0]] == ["W405", "W408", "W101"]

    def test_allow_by_code_or_all(self):
        found = [_diag("E214"), _diag("W201"), _diag("W201")]
        refused, allowed = refusing(found, allow=["W201"])
        assert [d.code for d in refused] == ["E214"] and [d.code for d in allowed] == ["W201", "W201"]
        for everything in (True, ["all"], "ALL"):
            assert refusing(found, allow=everything) == ([], found)

    def test_allow_names_real_codes_only(self):
        assert parse_allow(["w201", " E214 "]) == {"W201", "E214"}
        assert parse_allow(None) == parse_allow(False) == parse_allow(()) == frozenset()
        with pytest.raises(UnknownCode, match="unknown diagnostic code 'W999'"):
            parse_allow(["W999"])
        with pytest.raises(UnknownCode):
            parse_allow(["R002"])  # apply-time errors are no recipe findings
        assert issubclass(UnknownCode, ValueError) and issubclass(UnknownCode, deidlang.DeidlangError)

    def test_the_code_table_says_what_stops(self):
        deid_notes = {c.code for c in CODES.values() if c.deid}
        assert deid_notes == {c for c in CODES if c.startswith("W4")} | {"W101", "W102"}
        for c in CODES.values():
            assert not (c.refuses and c.severity != WARNING), c  # errors stop anyway; notes never
            assert not (c.refuses and c.deid), c
            assert c.code[0] == {"error": "E", "warning": "W", "info": "I"}[c.severity] or c.code in ("W205", "W206", "W207") or c.code[0] == "R", c
        stops = {c.code for c in CODES.values() if c.refuses and not c.retired}
        assert stops == {"W201", "W301", "W303", "W304", "W306", "W307", "W308", "W309"}

    def test_the_doc_lists_the_warnings_that_stop(self):
        doc = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
        for code in ("W201", "W307", "W309"):
            assert re.search(rf"\| `{code}` \| warning \| stops \|", doc), code


# --------------------------------------------------------------------------- compile, load, vet


class TestCompile:
    def test_a_typo_that_leaks_is_refused(self):
        with pytest.raises(deidlang.RecipeError) as err:
            deidlang.compile(TYPO)
        assert [d.code for d in err.value.refused] == ["E214"]
        assert "E214" in str(err.value)

    def test_a_dead_line_is_refused_with_a_message_that_names_the_opt_out(self):
        with pytest.raises(deidlang.RecipeError) as err:
            deidlang.compile(DEAD)
        assert [d.code for d in err.value.refused] == ["W201"] and err.value.errors == ()
        assert "allow=['W201']" in str(err.value)

    def test_allow_lets_it_through(self):
        assert isinstance(deidlang.compile(DEAD, allow=["W201"]), deidlang.Program)
        assert isinstance(deidlang.compile(TYPO, allow=True), deidlang.Program)

    def test_deid_compat_refuses_the_lines_deid_runs_differently(self):
        assert isinstance(deidlang.compile(LOWER), deidlang.Program)
        with pytest.raises(deidlang.RecipeError) as err:
            deidlang.compile(LOWER, deid_compat=True)
        assert [d.code for d in err.value.refused] == ["W405"]

    def test_load_takes_the_same_options(self, tmp_path):
        path = tmp_path / "dead.dicom"
        path.write_text(DEAD, encoding="utf-8")
        with pytest.raises(deidlang.RecipeError):
            deidlang.load(path)
        assert deidlang.load(path, allow=["W201"]).diagnostics[0].code == "W201"

    def test_what_the_compiler_cannot_build_still_raises(self):
        with pytest.raises(deidlang.RecipeError):
            deidlang.compile("FORMAT dicom\n%header\nJITTER StudyDate soon\n", allow=True)

    def test_an_add_of_an_unknown_keyword_let_through_adds_nothing(self):
        from pydicom.dataset import Dataset

        program = deidlang.compile("FORMAT dicom\n%header\nADD PatientsAge 040Y\nADD PatientIdentityRemoved YES\n", allow=["E214"])
        ds = program.apply(Dataset())
        assert [e.keyword for e in ds] == ["PatientIdentityRemoved"]

    def test_ids_and_functions_known_at_run_time(self):
        text = "FORMAT dicom\n%header\nREPLACE PatientID var:id\nREPLACE StudyInstanceUID func:new_uid\n"
        verdict = api.vet({"r.dicom": text}, ids={}, functions=())
        assert [(d.code, d.severity) for d in verdict.refused] == [("E215", ERROR), ("E205", ERROR)]
        verdict = api.vet({"r.dicom": text}, ids={"/a.dcm": {"id": "X"}}, functions=["new_uid"])
        assert verdict.refused == () and verdict.diagnostics == ()
        unknown = api.vet({"r.dicom": text})  # not known: a note, nothing stops
        assert [d.code for d in unknown.diagnostics] == ["I201"] and unknown.refused == ()


# --------------------------------------------------------------------------- the recipes deidlang ships, and deid's


def _bundled() -> list[Path]:
    data = ROOT / "deidlang" / "data"
    return [data / "default.dicom", *sorted((data / "options").glob("*.dicom")), *sorted((ROOT / "examples").glob("*.dicom"))]


@pytest.mark.parametrize("path", _bundled(), ids=lambda p: p.name)
def test_bundled_recipes_stop_nothing_even_under_strict(path):
    verdict = api.vet({str(path): path.read_text(encoding="utf-8")}, strict=True)
    assert verdict.refused == (), [(d.line, d.code) for d in verdict.refused]
    assert all(d.severity == INFO for d in verdict.diagnostics)


def test_deids_default_recipe_has_no_error_but_dead_lines():
    deid = pytest.importorskip("deid")
    path = Path(deid.__file__).parent / "data" / "deid.dicom"
    found = deidlang.check(path.read_text(encoding="utf-8"), path=str(path))
    assert [d for d in found if d.is_error] == []
    assert {d.code for d in refusing(found)[0]} == {"W201"}
