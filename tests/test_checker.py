"""The checker: deid's own recipes, the API contract, robustness, and deid as an oracle.

Per-code behaviour is covered by the golden recipes (tests/recipes, see
test_golden.py); this file tests what cuts across them.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_golden import BAD, OK, load_case

import deidlang
from deidlang import checks as checker
from deidlang.checks import context, filters, names, values
from deidlang.checks import deid as checks_deid
from deidlang.lang import parser
from deidlang.lang.diagnostics import CODES, ERROR, INFO, WARNING, Diagnostic
from deidlang.lang.suggest import pretty

deid = pytest.importorskip("deid")
DEID_DATA = Path(deid.__file__).parent / "data"


@pytest.fixture(autouse=True)
def _raise_on_checker_bugs(monkeypatch):
    monkeypatch.setattr(checker, "RAISE_ON_BUG", True)


def check(text: str, **kw) -> list[Diagnostic]:
    """deidlang.check with the notes about deid on (this file holds the deid oracle tests);
    ``deid_compat=False`` for the default view."""
    kw.setdefault("deid_compat", True)
    return deidlang.check(text, **kw)


def codes(text: str, **kw) -> list[tuple[int, str]]:
    return [(d.line, d.code) for d in check(text, **kw)]


# --------------------------------------------------------------------------- deid's shipped recipes


def _shipped(name: str) -> str:
    return (DEID_DATA / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["deid.dicom", "deid.dicom.ultrasound", "deid.dicom.xray.chest"])
def test_deid_shipped_recipes_have_no_errors(name):
    diags = check(_shipped(name), path=name)
    assert [d for d in diags if d.is_error] == []


def test_deid_default_recipe_warnings_are_exactly_these():
    """Every warning on deid's default recipe points at a line that misbehaves under deid.

    153: `+ equals WindowWidth 1` compares the list text when WindowWidth is multi-valued;
    490/497/504: misspelled Manufacturer (the criterion never sees a value);
    813-819: `||` lines that deid ANDs; 840/897: REMOVE PatientsName / REMOVE jitter
    match nothing; 844: REMOVE endswith:ID also removes every ...UID. Without the
    notes about deid, the lines that misbehave under deidlang too remain.
    """
    got = [(d.line, d.code) for d in check(_shipped("deid.dicom"))]
    want = [(153, "W411"), (490, "W201"), (497, "W201"), (504, "W201")]
    want += [(n, "W409") for n in range(813, 820)]
    want += [(840, "W201"), (844, "W208"), (897, "W201")]
    assert got == want
    default = [(d.line, d.code) for d in check(_shipped("deid.dicom"), deid_compat=False)]
    assert default == [(490, "W201"), (497, "W201"), (504, "W201"), (840, "W201"), (844, "W208"), (897, "W201")]


def test_deid_default_recipe_typo_beside_the_line_it_means_is_a_dead_line_not_an_error():
    """Lines 839-840: REMOVE PatientName / REMOVE PatientsName. Alone, the typo leaks (E214)."""
    by_line = {d.line: d for d in check(_shipped("deid.dicom"))}
    assert by_line[840].code == "W201" and not by_line[840].is_error
    assert "PatientName is handled by line 839" in by_line[840].message
    (alone,) = check("FORMAT dicom\n%header\nREMOVE PatientsName\n")
    assert alone.code == "E214" and alone.is_error


def test_deid_default_recipe_suggestions():
    by_line = {d.line: d for d in check(_shipped("deid.dicom"))}
    assert "'PatientName'" in by_line[840].hint
    assert "'Manufacturer'" in by_line[490].hint
    assert by_line[897].message == "unknown DICOM keyword 'jitter': this line matches nothing"


def test_deid_ultrasound_and_chest_warnings():
    us = [(d.line, d.code) for d in check(_shipped("deid.dicom.ultrasound"))]
    assert us == [(37, "W201"), (41, "W208"), (94, "W201")]
    chest = [(d.line, d.code) for d in check(_shipped("deid.dicom.xray.chest"))]
    assert chest == [(7, "W409"), (12, "W409"), (23, "W409"), (24, "W409")]


# --------------------------------------------------------------------------- contract


def test_returns_parser_diagnostics_too_and_sorted():
    text = "FORMAT dicom\n%header\nREMOVE PatientsName\nBLNK PatientName\nREMOVE select:VR:XX\n"
    diags = check(text)
    assert [(d.line, d.code) for d in diags] == [(3, "E214"), (4, "E101"), (5, "E210")]
    assert diags == sorted(diags, key=Diagnostic.sort_key)
    result = parser.parse(text)
    assert set(result.diagnostics) <= set(checker.check_recipe(result))


def test_ten_independent_mistakes_give_ten_diagnostics():
    path = next(p for p in BAD if p.stem == "26_ten_mistakes")
    case = load_case(path)
    diags = check(case.text)
    assert len(diags) == 10
    assert len({d.line for d in diags}) == 10


def test_file_name_is_reported():
    (d,) = check("%header\nREMOVE PatientName\n", path="recipes/site.dicom")
    assert d.file == "recipes/site.dicom" and d.code == "W101"


def test_a_crashing_check_does_not_hide_the_others(monkeypatch):
    def broken(ctx):
        raise RuntimeError("boom")
        yield  # pragma: no cover

    monkeypatch.setattr(checker, "RAISE_ON_BUG", False)
    monkeypatch.setattr(checker, "CHECKS", (broken, *checker.CHECKS))
    diags = check("FORMAT dicom\n%header\nREMOVE PatientsName\n")
    assert [(d.code, d.line) for d in diags] == [("E100", 1), ("E214", 3)]
    assert "broken" in diags[0].message and "RuntimeError" in diags[0].message
    assert "boom" not in diags[0].message  # no user text or data in the message


def test_a_crashing_check_is_raised_when_asked(monkeypatch):
    def broken(ctx):
        raise RuntimeError("boom")
        yield  # pragma: no cover

    monkeypatch.setattr(checker, "CHECKS", (broken,))
    with pytest.raises(RuntimeError):
        check("FORMAT dicom\n")


def test_checks_are_small_functions_of_a_context():
    assert len(checker.CHECKS) >= 10
    assert all(callable(c) and c.__doc__ for c in checker.CHECKS)
    ctx = context.Context.build(parser.parse("FORMAT dicom\n%header\nREMOVE PatientName\n"))
    assert ctx.header[0].field.name == "PatientName"
    for c in checker.CHECKS:
        assert list(c(ctx)) == []


def _checker_source() -> str:
    """The text of every module of the checker (deidlang/checks/)."""
    return "".join(p.read_text(encoding="utf-8") for p in sorted(Path(checker.__file__).parent.glob("*.py")))


def test_every_emitted_code_is_registered_and_covered_by_a_golden_file():
    source = _checker_source()
    emitted = set(re.findall(r'"([EWI][1-4]\d\d)"', source)) - {"E100"}
    assert emitted <= set(CODES)
    covered = {e.code for p in BAD for e in load_case(p).expected}
    assert emitted - covered == set(), "codes without a golden file"


def test_retired_codes_are_registered_and_never_emitted():
    """A retired code keeps its row (so it is never reused) and says what replaced it."""
    lang = Path(parser.__file__).parent
    parser_source = "".join((lang / name).read_text(encoding="utf-8") for name in ("parser.py", "fastlines.py"))
    source = _checker_source() + parser_source
    emitted = set(re.findall(r'"([EWI][1-4]\d\d)"', source))
    retired = {c.code for c in CODES.values() if c.retired}
    assert retired >= {"E201", "W204", "W302", "W415"}
    assert emitted & retired == set()
    for code in retired:
        assert re.search(r"[EWI]\d{3}", CODES[code].retired), code
    covered = {e.code for p in BAD for e in load_case(p).expected}
    assert covered & retired == set()


def test_messages_follow_the_house_style():
    for p in BAD:
        case = load_case(p)
        from_parser = set(parser.parse(case.text).diagnostics)
        for d in check(case.text, ids=case.ids, functions=case.functions):
            if d in from_parser:
                continue
            assert d.message[0] == d.message[0].lower() or d.message[0] == "'", d.message
            assert not d.message.endswith("."), d.message
            assert d.column >= 1 and (d.end_line, d.end_column) > (d.line, d.column), d
            assert d.severity in (ERROR, WARNING, INFO)


def test_ok_recipes_are_clean_even_with_functions_and_ids():
    ids = {"/data/a.dcm": {"id": "A", "source_id": "S", "pseudonym": "P", "pseudo_id": "Q", "accession": "X", "shift": -3}}
    functions = ["generate_uid", "shift_days", "is_adult"]
    for p in OK:
        diags = [d for d in check(load_case(p).text, ids=ids, functions=functions) if d.severity != INFO]
        assert diags == [], (p.name, diags)


# --------------------------------------------------------------------------- ids and functions


def test_ids_count_files_missing_a_variable():
    text = "FORMAT dicom\n%header\nREPLACE PatientID var:id\nREPLACE PatientName var:name\n"
    ids = {"/a.dcm": {"id": 1, "name": "x"}, "/b.dcm": {"id": 2}}
    (d,) = check(text, ids=ids)
    assert (d.line, d.code) == (4, "E215") and d.is_error  # REPLACE leaves the name as it was
    assert "missing in 1 of 2 files" in d.message
    assert check(text, ids={"/a.dcm": {"id": 1, "name": "x"}}) == []
    assert check(text) == []  # ids not known: nothing to compare with
    assert [(x.line, x.code) for x in check(text, ids={})] == [(3, "E215"), (4, "E215")]  # known: none given


def test_ids_suggest_a_close_name():
    (d,) = check("FORMAT dicom\n%header\nREPLACE PatientID var:pseudo_di\n", ids={"/a.dcm": {"pseudo_id": "P"}})
    assert d.hint == "did you mean 'pseudo_id'?"


def test_functions_are_checked_only_when_given():
    text = "FORMAT dicom\n%header\nREPLACE StudyInstanceUID func:generate_uid\n"
    (note,) = check(text)
    assert note.code == "I201" and note.severity == INFO and "--functions" in note.hint
    assert check(text, functions=["generate_uid"]) == []
    (d,) = check(text, functions=("make_uid",))
    assert d.code == "E205" and d.is_error
    (d,) = check(text, functions=())
    assert d.code == "E205" and "no functions were given" in d.message and "--functions" in d.hint


# --------------------------------------------------------------------------- suggestions


@pytest.mark.parametrize("word", ["PatientsName", "Modalty", "Manfacturer", "PatientNmae", "SOPInstanceUI", "jitter", "StudyDat"])
def test_keyword_suggestions_equal_difflib(word):
    from pydicom.datadict import keyword_dict

    by_lower = {k.lower(): k for k in keyword_dict if k}
    expected = [by_lower[m] for m in difflib.get_close_matches(word.lower(), list(by_lower), n=3, cutoff=0.75)]
    got = context.suggest_keyword(word)
    assert got == (f"did you mean {pretty(expected)}?" if expected else "")


# --------------------------------------------------------------------------- robustness

_LINE = st.one_of(
    st.sampled_from(
        [
            "FORMAT dicom",
            "%header",
            "%filter f",
            "%values v",
            "%fields f",
            "LABEL x",
            "  coordinates 1,2,3,4",
            "REMOVE PatientName",
            "ADD (0010,0010) x",
            "REPLACE X var:",
            "JITTER StudyDate deid_func:jitter days=1",
            "  contains Modality CT + missing X",
            "SPLIT PatientName by=^;",
            "FIELD fields:f",
            "REMOVE values:v",
            "  ctpcoordinates from:X",
            "KEEP a__b__c",
            "REMOVE (0008,1140)__0__(0008,1155)",
            "REMOVE select:group:",
        ]
    ),
    st.text(alphabet="ABCXYZabcxyz:_%#+|()\",^=0123456789 \t-.'\\", max_size=40),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LINE, max_size=8))
def test_check_never_raises(lines):
    diags = check("\n".join(lines))
    for d in diags:
        assert d.code in CODES


# --------------------------------------------------------------------------- deid as an oracle


def _deid_load(text: str):
    """deid 0.4.13's parse of a recipe: its dict, 'EXIT' or 'CRASH'."""
    from deid.config import DeidRecipe

    fd, path = tempfile.mkstemp(suffix=".dicom")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            return DeidRecipe(path, base=False).deid
        except SystemExit:
            return "EXIT"
        except Exception:
            return "CRASH"
    finally:
        os.unlink(path)


def _header(text: str):
    return _deid_load("FORMAT dicom\n%header\n" + text + "\n").get("header", [])


differential = pytest.mark.differential


@differential
def test_oracle_lower_case_actions_are_dropped_and_warned():
    assert _header("remove PatientName\nRemove PatientID") == []
    assert [c for _, c in codes("FORMAT dicom\n%header\nremove PatientName\n")] == ["W405"]


@differential
def test_oracle_trailing_comments():
    assert _header("REMOVE PatientName # c") == [{"action": "REMOVE", "field": "PatientName", "value": ""}]
    assert _header("ADD PatientIdentityRemoved YES # c")[0]["value"] == "YES "
    assert _header("REMOVE PatientName#x")[0]["field"] == "PatientName#x"
    for line in ("REMOVE PatientName # c", "ADD PatientIdentityRemoved YES # c", "REMOVE PatientName#x", "REPLACE PatientID var:id # c"):
        assert [c for _, c in codes(f"FORMAT dicom\n%header\n{line}\n")] == ["W401"], line
    # comments deid handles like deidlang: no warning
    for line in ("KEEP PatientName # c", "JITTER StudyDate 5 # c", "ADD PatientIdentityRemoved YES#c"):
        assert codes(f"FORMAT dicom\n%header\n{line}\n") == [], line


@differential
def test_oracle_quotes_and_apostrophes():
    assert _header('REPLACE PatientName "Doe"')[0]["value"] == '"Doe"'
    assert _header("REPLACE PatientName O'Brien")[0]["value"] == "O Brien"
    assert _header("REPLACE PatientName a   b")[0]["value"] == "a b"
    (d,) = check("FORMAT dicom\n%header\nREPLACE PatientName O'Brien\n")
    assert d.code == "W403" and "'O Brien'" in d.message


@differential
def test_oracle_value_filters_are_plain_values():
    assert _header("REMOVE ALL contains:Doe")[0]["value"] == "contains:Doe"


@differential
@pytest.mark.parametrize(
    "text,code",
    [
        ("format dicom\n", "W412"),
        ("FORMAT dicom # c\n", "W412"),
        ("FORMAT nifti\n", "E103"),
        ("FORMAT dicom\n%filter f\nLABEL a\n  contains X a+ || contains Y b\n", "W412"),
        ("FORMAT dicom\n%filter f\nLABEL a\n  contains X a+empty\n", "W412"),
        ("FORMAT dicom\n%filter f\nLABEL a\n  CTPcoordinates 1,2,3,4\n", "W412"),
        ("FORMAT dicom\n%filter f\nLABEL a\n  ctpcoordinates from:SequenceOfUltrasoundRegions\n", "W412"),
        ("FORMAT dicom\n%filter f\nLABEL a\n  contains Modality\n", "E303"),
        ("FORMAT dicom\n%header\nADD PatientIdentityRemoved\n", "E102"),
    ],
)
def test_oracle_lines_deid_rejects_are_diagnosed(text, code):
    assert _deid_load(text) in ("EXIT", "CRASH")
    assert code in [c for _, c in codes(text)]


_CRITERION_LINES = [
    "contains Modality CT",
    "contains Modality CT + CONTAINS Modality CT",
    "contains  Modality CT",
    "missing X + contains Modality CT",
    "contains ManufacturerModelName SOMATOM Definition AS+",
    "contains ImageType DERIVED+SECONDARY+SCREEN SAVE",
    "contains X a+ || contains Y b",
    "contains SeriesDescription a+empty",
    "contains Modality CT || equals Rows 512 + present BurnedInAnnotation",
    "contains Modality a || b",
    "equals Rows 5+missing X",
    "present X + contains Y a+b",
    "contains X a||b + missing Z",
]


@differential
@pytest.mark.parametrize("line", _CRITERION_LINES)
def test_oracle_criterion_line_splitting(line):
    """The checker's model of deid's chain splitting agrees with deid's parser."""
    got = _deid_load(f"FORMAT dicom\n%filter f\nLABEL a\n  {line}\n")
    model = filters._deid_pieces(line)
    if got in ("EXIT", "CRASH"):
        assert model is None
        return
    entry = got["filter"]["f"][0]["filters"][0]
    assert model is not None
    assert [p for p, _, _ in model] == entry["action"]
    assert [f for _, f, _ in model] == entry["field"]
    assert [v for _, _, v in model if v is not None] == entry["value"]


@differential
@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["contains", "equals", "missing", "empty", "CONTAINS", "X", "Y", "a+", "b", "+", "||", "a+b", "  ", "c||d", "present"]),
        min_size=1,
        max_size=8,
    )
)
def test_oracle_criterion_splitting_fuzz(words):
    from deid.config.utils import parse_member

    line = "contains Modality " + " ".join(words)
    try:
        entry = parse_member(line)
    except (SystemExit, Exception):
        entry = None
    model = filters._deid_pieces(line)
    if entry is None:
        assert model is None
    else:
        assert model is not None
        assert [p for p, _, _ in model] == entry["action"]
        assert [f for _, f, _ in model] == entry["field"]
        assert [v for _, _, v in model if v is not None] == entry["value"]


@differential
def test_oracle_split_options():
    from deid.dicom.groups import extract_values_list
    from pydicom.dataset import Dataset, FileDataset, FileMetaDataset

    body = Dataset()
    body.PatientName = "Doe^John"
    ds = FileDataset("memory.dcm", body, file_meta=FileMetaDataset(), preamble=b"\0" * 128)
    assert sorted(extract_values_list(ds, [{"action": "SPLIT", "field": "PatientName", "value": "splitval=^"}])) == ["Doe^John"]
    with pytest.raises(ValueError):
        extract_values_list(ds, [{"action": "SPLIT", "field": "PatientName", "value": "minlength='4'"}])
    with pytest.raises(ValueError):
        extract_values_list(ds, [{"action": "SPLIT", "field": "PatientName", "value": "by=^;"}])


# --------------------------------------------------------------------------- lines found by the differential suite


@differential
@pytest.mark.parametrize("text", ["VAR:x", "Func:x", "FUNC:x", "DEID_FUNC:basic_uuid", "var :x"])
def test_oracle_reference_like_values_are_literal(text):
    from deid.utils.actions import parse_value

    assert parse_value(None, text, item={"x": "V", "x ": "V"}) == text
    assert parse_value(None, "var:x", item={"x": "V"}) == "V"  # the control: a real reference
    found = check(f"FORMAT dicom\n%header\nREPLACE PatientName {text}\n")
    assert [d.code for d in found] == [values._REFERENCE_LIKE]
    assert "literal text" in found[0].message


@differential
def test_oracle_jitter_of_a_time_guesses_a_date_under_deid_only():
    """What the JITTER warning says: deid turns a TM value into a date, deidlang leaves it."""
    from types import SimpleNamespace

    from deid.dicom.actions.jitter import jitter_timestamp
    from pydicom.dataelem import DataElement

    from deidlang.runtime.dates import jitter_item

    field = SimpleNamespace(element=DataElement(0x00080030, "TM", "072730"), name="StudyTime")
    assert jitter_timestamp(field, 5) != "072730"
    assert jitter_item("072730", "TM", 5) is None  # None: left unchanged
    (d,) = check("FORMAT dicom\n%header\nJITTER StudyTime 5\n")
    assert d.code == "W308" and "is TM" in d.message and "leaves them as they are" in d.message
    (d,) = check("FORMAT dicom\n%header\nJITTER contains:Time 5\n")
    assert d.code == values._JITTER_NOT_DATE and CODES[d.code].deid


def test_nested_keywords_are_dictionary_keywords_never_top_level_in_test_files():
    """The curated KEEP list: real keywords, and no bundled test file has one at top level."""
    import glob
    import warnings

    import pydicom
    from pydicom.datadict import keyword_dict

    assert set(checks_deid.NESTED_KEYWORDS) <= set(keyword_dict)
    tags = {keyword_dict[k] for k in checks_deid.NESTED_KEYWORDS}
    folder = Path(pydicom.__file__).parent / "data" / "test_files"
    nested_seen = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in glob.glob(str(folder / "**" / "*.dcm"), recursive=True):
            try:
                ds = pydicom.dcmread(path, force=True, stop_before_pixels=True)
                top = set(ds.keys())
            except Exception:
                continue
            assert not (top & tags), f"{path} has {sorted(top & tags)} at top level"
            nested_seen += any(t in item for e in ds if e.VR == "SQ" and e.value for item in e.value for t in tags)
    assert nested_seen >= 5  # the files do carry them, inside items


def test_add_by_number_uses_the_recipe_creator_for_private_tags():
    text = "FORMAT dicom\n%header\nADD 00990010 SITE\nADD 00991002 x\nADD 00291118 MR\n"
    assert [(d.line, d.code) for d in check(text)] == [(5, names._ADD_BY_NUMBER)]
    # with a creator pydicom knows, its VR is the one deidlang uses
    known = "FORMAT dicom\n%header\nADD 00290011 SIEMENS CSA HEADER\nADD 00291118 MR\n"
    (d,) = check(known)
    assert d.line == 4 and "'SIEMENS CSA HEADER' gives CS" in d.message


def test_fields_members_warn_only_when_the_group_is_used():
    group = "FORMAT dicom\n%fields refs\nFIELD (0008,1140)__0__(0008,1150)\n%header\n"
    assert [d.code for d in check(group + "REPLACE PatientID x\n")] == ["W207"]
    (d,) = check(group + "BLANK fields:refs\n")
    assert (d.line, d.code) == (3, "W407") and "BLANK fields:refs (line 5)" in d.message


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="aZ09 _-.|^$#:'\"=/%&é\t", max_size=20))
def test_plain_criterion_values_are_quiet_as_the_full_analysis_says(value):
    """filters.quiet_pattern skips compiling values without quantifiers, classes, groups
    or escapes: the full analysis (the E209/E213/W407 checks) finds nothing in them either."""
    from deidlang.checks.context import UPPER_ESCAPE_RE, regex_cost, regex_error
    from deidlang.checks.filters import quiet_pattern

    full = regex_error(value) is None and not ("\\" in value and UPPER_ESCAPE_RE.search(value))
    cost = regex_cost(value.strip()) if full else None
    assert quiet_pattern(value) == (full and (cost is None or not cost.risk))
