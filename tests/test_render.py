"""Rendering of diagnostics: exact snapshots of the four formats, caret placement, SARIF shape.

The diagnostics here are built by hand (they are what style.md 4.2 shows for
its broken recipe), so these tests pin the renderer alone, whatever the
checker's wording becomes.

Regenerate the snapshots after a deliberate change with::

    UPDATE_SNAPSHOTS=1 python -m pytest tests/test_render.py
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import attrs
import pytest

from deidlang.lang.diagnostics import CODES, Diagnostic
from deidlang.lang.render import SARIF_SCHEMA, render_concise, render_json, render_sarif, render_text, summary_line
from deidlang.lang.source import Source, Span

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

BROKEN_NAME = "examples/broken/broken.dicom"
BROKEN_TEXT = """FORMAT dicom

%header
ADD PatientIdentityRemoved YES
BLNK PatientName
REPLACE PatientID
JITTER StudyDate var:jiter
REMOVE PatientsName
"""


def _broken_diagnostics() -> list[Diagnostic]:
    d = BROKEN_NAME
    return [
        # deliberately out of order: renderers sort by file, line, column
        Diagnostic.at(Span(8, 8, 8, 20), "E201", "unknown DICOM keyword 'PatientsName'", "did you mean 'PatientName'?", file=d),
        Diagnostic.at(Span(5, 1, 5, 5), "E101", "unknown action or statement 'BLNK'", "did you mean 'BLANK'?", file=d),
        Diagnostic.at(
            Span.point(6, 18),
            "E102",
            "'REPLACE' needs a value after the field",
            "write `REPLACE <field> <value>`, e.g. `REPLACE PatientID var:new_id`",
            file=d,
        ),
        Diagnostic.at(Span(7, 18, 7, 27), "W204", "variable 'jiter' is not supplied by the ids", "did you mean 'jitter'?", file=d),
        Diagnostic.at(Span(4, 5, 4, 27), "W303", "'PatientIdentityRemoved' is set to 'YES' by this line", "", file=d, severity="info"),
    ]


def _snapshot(name: str, actual: str) -> None:
    path = SNAPSHOTS / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"missing snapshot {path}; run with UPDATE_SNAPSHOTS=1 to create it"
    assert actual == path.read_text(encoding="utf-8")


class TestSnapshots:
    """The four formats for one broken recipe, byte for byte."""

    def test_text(self):
        _snapshot("broken.text.txt", render_text(_broken_diagnostics(), {BROKEN_NAME: BROKEN_TEXT}))

    def test_concise(self):
        _snapshot("broken.concise.txt", render_concise(_broken_diagnostics(), {BROKEN_NAME: BROKEN_TEXT}))

    def test_json(self):
        _snapshot("broken.json", render_json(_broken_diagnostics()))

    def test_sarif(self):
        _snapshot("broken.sarif", render_sarif(_broken_diagnostics(), tool_version="0.0.0-test"))


class TestText:
    def test_layout_of_one_diagnostic(self):
        diag = Diagnostic.at(Span(5, 1, 5, 5), "E101", "unknown action or statement 'BLNK'", "did you mean 'BLANK'?", file="r.dicom")
        assert render_text([diag], {"r.dicom": BROKEN_TEXT}) == (
            "error[E101]: unknown action or statement 'BLNK'\n"
            " --> r.dicom:5:1\n"
            "  |\n"
            "5 | BLNK PatientName\n"
            "  | ^^^^\n"
            "  |\n"
            "  = help: did you mean 'BLANK'?\n"
            "\n"
            "Found 1 error in 1 recipe.\n"
        )

    def test_source_may_be_a_source_object(self):
        diag = Diagnostic.at(Span(5, 1, 5, 5), "E101", "m", file="r.dicom")
        assert render_text([diag], {"r.dicom": Source(BROKEN_TEXT, "r.dicom")}) == render_text([diag], {"r.dicom": BROKEN_TEXT})

    def test_no_hint_no_help_line(self):
        diag = Diagnostic.at(Span(5, 1, 5, 5), "E101", "m", file="r.dicom")
        out = render_text([diag], {"r.dicom": BROKEN_TEXT})
        assert "help" not in out
        assert out.splitlines()[:6] == ["error[E101]: m", " --> r.dicom:5:1", "  |", "5 | BLNK PatientName", "  | ^^^^", "  |"]

    def test_unknown_source_gives_no_snippet(self):
        diag = Diagnostic.at(Span(5, 1, 5, 5), "E101", "m", "h", file="elsewhere.dicom")
        assert render_text([diag], {}) == "error[E101]: m\n --> elsewhere.dicom:5:1\n  = help: h\n\nFound 1 error in 1 recipe.\n"

    def test_wide_line_numbers_widen_the_gutter(self):
        text = "\n" * 11 + "REMOVE PatientsName\n"
        diag = Diagnostic.at(Span(12, 8, 12, 20), "E201", "m", file="r")
        lines = render_text([diag], {"r": text}).splitlines()
        assert lines[1:5] == ["  --> r:12:8", "   |", "12 | REMOVE PatientsName", "   |        ^^^^^^^^^^^^"]

    def test_zero_width_span_gets_one_caret_after_the_text(self):
        diag = Diagnostic.at(Span.point(6, 18), "E102", "m", file="r")
        lines = render_text([diag], {"r": BROKEN_TEXT}).splitlines()
        assert lines[3] == "6 | REPLACE PatientID"
        assert lines[4] == "  |                  ^"

    @pytest.mark.parametrize(
        "line, word",
        [
            ("\tREMOVE\tPatientsName", "PatientsName"),
            ("REMOVE \t PatientsName # x", "PatientsName"),
            ("  \t  ADD\tPatientComments x", "PatientComments"),
            ("ADD PatientComments 日本語\tx", "x"),
        ],
    )
    def test_carets_stay_under_the_span_after_tabs_and_wide_characters(self, line, word):
        start = line.index(word)
        diag = Diagnostic.at(Span(1, start + 1, 1, start + 1 + len(word)), "E201", "m", file="r")
        shown, carets = render_text([diag], {"r": line}).splitlines()[3:5]
        shown, carets = shown[len("1 | ") :], carets[len("  | ") :]
        assert "\t" not in shown
        assert shown.replace(" ", "") == line.replace("\t", "").replace(" ", "")
        # the display column of the word (wide characters take two cells)
        prefix = shown[: shown.index(word)]
        cells = sum(2 if "\u3000" <= ch <= "\u9fff" else 1 for ch in prefix)
        assert carets == " " * cells + "^" * len(word)

    def test_tab_expands_to_the_next_tab_stop(self):
        line = "ab\tREMOVE X"
        diag = Diagnostic.at(Span(1, 4, 1, 10), "E101", "m", file="r")
        shown, carets = render_text([diag], {"r": line}).splitlines()[3:5]
        assert shown == "1 | ab  REMOVE X"
        assert carets == "  |     ^^^^^^"

    def test_wide_span_covers_wide_characters(self):
        line = "ADD PatientComments 日本語"
        diag = Diagnostic.at(Span(1, 21, 1, 24), "W403", "m", file="r")
        carets = render_text([diag], {"r": line}).splitlines()[4]
        assert carets == "  | " + " " * 20 + "^" * 6

    def test_long_span_is_covered_in_full(self):
        line = "REPLACE StudyInstanceUID func:a_very_long_function_name_indeed"
        start = line.index("func:")
        diag = Diagnostic.at(Span(1, start + 1, 1, len(line) + 1), "E205", "m", file="r")
        carets = render_text([diag], {"r": line}).splitlines()[4]
        assert carets == "  | " + " " * start + "^" * (len(line) - start)

    def test_span_over_two_lines_shows_both(self):
        text = "%header\nREMOVE A\nREMOVE B\n"
        diag = Diagnostic.at(Span(2, 8, 3, 9), "E201", "m", file="r")
        lines = render_text([diag], {"r": text}).splitlines()
        assert lines[3:7] == ["2 | REMOVE A", "  |        ^", "3 | REMOVE B", "  | ^^^^^^^^"]

    def test_label_is_shown_after_the_carets_when_present(self):
        @attrs.frozen
        class Labelled(Diagnostic):
            label: str = ""

        diag = Labelled("r", 5, 1, 5, 5, "error", "E101", "m", "", label="expected one of ADD, BLANK")
        assert render_text([diag], {"r": BROKEN_TEXT}).splitlines()[4] == "  | ^^^^ expected one of ADD, BLANK"

    def test_without_summary(self):
        diag = Diagnostic.at(Span(5, 1, 5, 5), "R001", "m", "while applying to a.dcm", file="r")
        out = render_text([diag], {"r": BROKEN_TEXT}, summary=False)
        assert out.endswith("  |\n  = help: while applying to a.dcm\n") and "Found" not in out
        assert render_text([], {}, summary=False) == ""

    def test_colour_only_when_asked(self):
        diags = _broken_diagnostics()
        plain = render_text(diags, {BROKEN_NAME: BROKEN_TEXT})
        coloured = render_text(diags, {BROKEN_NAME: BROKEN_TEXT}, color=True)
        assert "\x1b[" not in plain
        assert "\x1b[1;31merror[E101]" in coloured and "\x1b[1;33mwarning[W204]" in coloured
        assert ANSI.sub("", coloured) == plain

    def test_blank_line_between_diagnostics_and_before_summary(self):
        out = render_text(_broken_diagnostics(), {BROKEN_NAME: BROKEN_TEXT})
        blocks = out.rstrip("\n").split("\n\n")
        assert len(blocks) == 6
        assert blocks[-1] == "Found 3 errors and 1 warning in 1 recipe."


class TestSummary:
    def _diags(self, errors: int, warnings: int, infos: int = 0) -> list[Diagnostic]:
        span = Span(1, 1, 1, 2)
        return (
            [Diagnostic.at(span, "E201", "e")] * errors
            + [Diagnostic.at(span, "W202", "w")] * warnings
            + [Diagnostic.at(span, "W202", "i", severity="info")] * infos
        )

    @pytest.mark.parametrize(
        "errors, warnings, recipes, expected",
        [
            (0, 0, 1, "No problems found in 1 recipe."),
            (0, 0, 3, "No problems found in 3 recipes."),
            (1, 0, 1, "Found 1 error in 1 recipe."),
            (4, 0, 1, "Found 4 errors in 1 recipe."),
            (0, 1, 2, "Found 1 warning in 2 recipes."),
            (2, 1, 1, "Found 2 errors and 1 warning in 1 recipe."),
            (1, 5, 7, "Found 1 error and 5 warnings in 7 recipes."),
        ],
    )
    def test_pluralisation(self, errors, warnings, recipes, expected):
        assert summary_line(self._diags(errors, warnings), recipes) == expected

    def test_infos_are_not_problems_but_are_counted(self):
        assert summary_line(self._diags(0, 0, infos=2), 1) == "No problems found in 1 recipe (2 notes above)."
        assert summary_line(self._diags(0, 0, infos=1), 1) == "No problems found in 1 recipe (1 note above)."

    def test_no_diagnostics(self):
        assert render_text([], {"a": "", "b": ""}) == "No problems found in 2 recipes.\n"
        assert render_concise([], recipes=1) == "No problems found in 1 recipe.\n"
        assert render_json([]) == "[]\n"


class TestConcise:
    def test_flake8_layout(self):
        out = render_concise(_broken_diagnostics(), {BROKEN_NAME: BROKEN_TEXT}).splitlines()
        assert out[1] == "examples/broken/broken.dicom:5:1: E101 unknown action or statement 'BLNK'; did you mean 'BLANK'?"
        assert out[2] == "examples/broken/broken.dicom:6:18: E102 'REPLACE' needs a value after the field"
        assert all(re.match(r"^[^:]+:\d+:\d+: [EWR]\d{3} ", line) for line in out[:-1])


class TestJson:
    def test_one_array_with_exactly_the_diagnostic_keys(self):
        data = json.loads(render_json(_broken_diagnostics()))
        assert isinstance(data, list) and len(data) == 5
        keys = [f.name for f in attrs.fields(Diagnostic)]
        assert keys == ["file", "line", "column", "end_line", "end_column", "severity", "code", "message", "hint"]
        for obj in data:
            assert list(obj) == keys
        assert [d["line"] for d in data] == [4, 5, 6, 7, 8]

    def test_round_trip(self):
        diags = sorted(_broken_diagnostics(), key=Diagnostic.sort_key)
        assert [Diagnostic(**obj) for obj in json.loads(render_json(diags))] == diags


def check_sarif(log: dict) -> None:
    """The parts of the SARIF 2.1.0 schema this tool uses, checked by hand
    (jsonschema is not a dependency, and the schema is not fetched)."""
    assert log["version"] == "2.1.0"
    assert log["$schema"] == SARIF_SCHEMA
    assert isinstance(log["runs"], list) and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "deidc"
    assert isinstance(driver["version"], str) and driver["version"]
    assert "informationUri" not in driver  # deidlang has no home page on the package index to point at
    rule_ids = [r["id"] for r in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    for rule in driver["rules"]:
        assert isinstance(rule["shortDescription"]["text"], str) and rule["shortDescription"]["text"]
    assert isinstance(run["results"], list)
    for result in run["results"]:
        assert result["ruleId"] in rule_ids
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        assert isinstance(result["message"]["text"], str) and result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert isinstance(physical["artifactLocation"]["uri"], str)
        region = physical["region"]
        for key in ("startLine", "startColumn", "endLine", "endColumn"):
            assert isinstance(region[key], int) and region[key] >= 1
        assert (region["endLine"], region["endColumn"]) >= (region["startLine"], region["startColumn"])


class TestSarif:
    def test_structure(self):
        log = json.loads(render_sarif(_broken_diagnostics(), tool_version="1.2.3"))
        check_sarif(log)
        run = log["runs"][0]
        assert run["tool"]["driver"]["version"] == "1.2.3"
        assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["E101", "E102", "E201", "W204", "W303"]
        assert run["tool"]["driver"]["rules"][0]["shortDescription"]["text"] == CODES["E101"].summary
        assert [r["level"] for r in run["results"]] == ["note", "error", "error", "warning", "error"]
        assert run["results"][0]["ruleId"] == "W303"

    def test_region_uses_span_numbers_unchanged(self):
        log = json.loads(render_sarif(_broken_diagnostics(), tool_version="1"))
        regions = [r["locations"][0]["physicalLocation"]["region"] for r in log["runs"][0]["results"]]
        assert regions[-1] == {"startLine": 8, "startColumn": 8, "endLine": 8, "endColumn": 20}
        assert regions[2] == {"startLine": 6, "startColumn": 18, "endLine": 6, "endColumn": 18}

    def test_message_holds_message_and_hint(self):
        log = json.loads(render_sarif(_broken_diagnostics(), tool_version="1"))
        assert log["runs"][0]["results"][-1]["message"]["text"] == "unknown DICOM keyword 'PatientsName'; did you mean 'PatientName'?"

    def test_uris(self, tmp_path):
        diags = [
            Diagnostic.at(Span(1, 1, 1, 2), "E201", "m", file="my recipes/a.dicom"),
            Diagnostic.at(Span(1, 1, 1, 2), "E201", "m", file=str(tmp_path / "b.dicom")),
        ]
        results = json.loads(render_sarif(diags, tool_version="1"))["runs"][0]["results"]
        uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results)
        assert "my%20recipes/a.dicom" in uris
        assert (tmp_path / "b.dicom").as_uri() in uris

    def test_empty(self):
        log = json.loads(render_sarif([], tool_version="1"))
        check_sarif(log)
        assert log["runs"][0]["results"] == [] and log["runs"][0]["tool"]["driver"]["rules"] == []
