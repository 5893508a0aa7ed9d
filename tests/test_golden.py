"""Golden recipe files: the expected diagnostics are written in the recipes.

``tests/recipes/bad/*.dicom`` carry their expectations mypy-style, as marker
comments that start with ``#!``:

* on the offending line, after the recipe text: ``REMOVE PatientsName  #! W201 unknown DICOM keyword``
  (a code, then a piece of the message; several markers are separated by ``#!``);
* on a line of their own, for another line: ``#!L12 W101 missing FORMAT``, or
  ``#!^ W401 ...`` for the nearest line above that is not a marker line (for lines
  whose trailing text is under test, such as comments and FORMAT lines);
* options for the whole file: ``#!ids {"/a.dcm": {"id": "x"}}``, ``#!functions f, g`` and
  ``#!tables NAME=PATH ...`` (lookup tables, paths relative to the recipe; a finding about a
  table itself, such as W209, is on line 1).

Markers are cut out of the text (so they never count as recipe comments)
before the recipe is checked; line numbers do not change. The test asserts the
exact multiset of ``(line, code)`` pairs, so an unexpected diagnostic fails it,
and that each message contains its text. The markers list every finding,
the notes about deid (W4xx...) included: the recipes are checked with
``deid_compat=True``, and again without, where exactly the deid notes go.

``tests/recipes/ok/*.dicom`` must check without errors and without warnings,
with the deid notes on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import attrs
import pytest

import deidlang
from deidlang import checks as checker
from deidlang.lang.diagnostics import CODES, ERROR, WARNING

HERE = Path(__file__).parent / "recipes"
BAD = sorted((HERE / "bad").glob("*.dicom"))
OK = sorted((HERE / "ok").glob("*.dicom"))

_TRAILING = re.compile(r"(?:^|\s)#!(?!L\d)(?!\^)(?!ids\b)(?!functions\b)(?!tables\b)(.*)$")
_LINE_MARKER = re.compile(r"^\s*#!(L\d+|\^)\s+(.*)$")
_EXPECT = re.compile(r"\s*([EWRI]\d{3})\s*(.*?)\s*$")


@attrs.frozen
class Expected:
    line: int
    code: str
    text: str


@attrs.frozen
class Case:
    text: str
    expected: tuple[Expected, ...]
    ids: dict | None = None
    functions: tuple[str, ...] | None = None
    tables: dict | None = None  # name -> path


def _parse_markers(line_no: int, markers: str) -> list[Expected]:
    out = []
    for part in markers.split("#!"):
        if not part.strip():
            continue
        m = _EXPECT.fullmatch(part)
        assert m, f"line {line_no}: bad marker {part!r}"
        out.append(Expected(line_no, m.group(1), m.group(2)))
    return out


def load_case(path: str | Path) -> Case:
    """Read a golden recipe: its text with the markers cut out, and the expectations."""
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    expected: list[Expected] = []
    ids = None
    functions = None
    tables = None
    clean = []
    last_recipe_line = 0
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith("#!ids "):
            ids = json.loads(stripped[len("#!ids ") :])
            clean.append("")
            continue
        if stripped.startswith("#!tables "):
            pairs = (p.split("=", 1) for p in stripped[len("#!tables ") :].split())
            tables = {name: str((Path(path).parent / where).resolve()) for name, where in pairs}
            clean.append("")
            continue
        if stripped.startswith("#!functions"):
            functions = tuple(f.strip() for f in stripped[len("#!functions") :].split(",") if f.strip())
            clean.append("")
            continue
        m = _LINE_MARKER.match(line)
        if m:
            target = last_recipe_line if m.group(1) == "^" else int(m.group(1)[1:])
            expected.extend(_parse_markers(target, m.group(2)))
            clean.append("")
            continue
        last_recipe_line = number
        m = _TRAILING.search(line)
        if m:
            expected.extend(_parse_markers(number, m.group(1)))
            line = line[: m.start()].rstrip()
        clean.append(line)
    return Case("\n".join(clean), tuple(expected), ids, functions, tables)


@pytest.fixture(autouse=True)
def _raise_on_checker_bugs(monkeypatch):
    monkeypatch.setattr(checker, "RAISE_ON_BUG", True)


def _check(case: Case, path: Path, deid_compat: bool = True):
    from deidlang.tables import load_tables

    tables = load_tables(case.tables) if case.tables is not None else None
    return deidlang.check(case.text, path=str(path), ids=case.ids, functions=case.functions, deid_compat=deid_compat, tables=tables)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_recipe(path: Path):
    case = load_case(path)
    assert case.expected, f"{path.name} has no expectations"
    diags = _check(case, path)
    got = sorted((d.line, d.code) for d in diags)
    want = sorted((e.line, e.code) for e in case.expected)
    shown = "\n".join(f"  {d.line}:{d.column} {d.code} {d.message}" for d in diags)
    assert got == want, f"diagnostics differ from the markers in {path.name}:\n{shown}"
    for e in case.expected:
        messages = [d.message for d in diags if d.line == e.line and d.code == e.code]
        assert any(e.text in m for m in messages), f"{path.name}:{e.line} {e.code}: no message contains {e.text!r}; got {messages}"


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_recipe_without_deid_notes(path: Path):
    """Without deid_compat, the same findings minus exactly the notes about deid."""
    case = load_case(path)
    got = sorted((d.line, d.code) for d in _check(case, path, deid_compat=False))
    want = sorted((e.line, e.code) for e in case.expected if not CODES[e.code].deid)
    assert got == want


@pytest.mark.parametrize("path", OK, ids=lambda p: p.stem)
def test_ok_recipe(path: Path):
    case = load_case(path)
    assert not case.expected, f"{path.name} is an ok recipe but has expectations"
    diags = [d for d in _check(case, path) if d.severity in (ERROR, WARNING)]
    assert diags == [], "\n".join(f"{d.line}:{d.column} {d.code} {d.message}" for d in diags)


def test_there_are_enough_golden_files():
    assert len(BAD) >= 25
    assert len(OK) >= 4


def test_marker_reader(tmp_path):
    case_text = "FORMAT dicom\n%header\nREMOVE PatientsName  #! W201 unknown #! W999 x\n#!L1 W101 y\nREMOVE X # c #! W401 z\n#!^ W406 w\n"
    tmp = tmp_path / "probe.dicom"
    tmp.write_text(case_text, encoding="utf-8")
    case = load_case(tmp)
    assert case.text.split("\n")[2] == "REMOVE PatientsName"
    assert case.text.split("\n")[3] == ""
    assert case.text.split("\n")[4] == "REMOVE X # c"
    assert case.expected == (
        Expected(3, "W201", "unknown"),
        Expected(3, "W999", "x"),
        Expected(1, "W101", "y"),
        Expected(5, "W401", "z"),
        Expected(5, "W406", "w"),
    )
