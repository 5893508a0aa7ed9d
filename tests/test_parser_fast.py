"""The parser's fast path must agree with lark on every line it accepts.

``parser._FastLines`` recognises common line shapes without lark (for speed);
whenever it returns a node, that node (spans included) must equal what the
lark grammar produces for the same line. It may return None (defer to lark)
at any time.
"""

from __future__ import annotations

import glob
import os

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from deidlang.lang import nodes, parser
from deidlang.lang.source import Span


def _spans(node):
    """Every (path, span) in a node tree, so span differences are caught too."""
    out = []

    def walk(obj, path):
        if isinstance(obj, Span):
            out.append((path, tuple(obj)))
        elif attrs.has(type(obj)):
            for f in attrs.fields(type(obj)):
                walk(getattr(obj, f.name), f"{path}.{f.name}")
        elif isinstance(obj, tuple):
            for i, x in enumerate(obj):
                walk(x, f"{path}[{i}]")

    walk(node, "")
    return out


def _lark_line(line: str, number: int = 7):
    lines = [""] * (number - 1) + [line]
    try:
        tree = parser._lark().parse(line, start="line")
        return parser.ToNodes(lines, number - 1).transform(tree)
    except Exception:  # noqa: BLE001 - any lark failure means "lark rejects"
        return "REJECT"


def _fast_line(line: str, number: int = 7):
    lines = [""] * (number - 1) + [line]
    tx = parser.ToNodes(lines, number - 1)
    try:
        return parser._fast().line(line, tx)
    except Exception as exc:  # the fast path must never raise
        raise AssertionError(f"fast path raised on {line!r}") from exc


def assert_agrees(line: str):
    fast = _fast_line(line)
    if fast is None:
        return
    slow = _lark_line(line)
    assert slow != "REJECT", f"fast path accepted a line lark rejects: {line!r}"
    assert fast == slow, line
    assert _spans(fast) == _spans(slow), line


def _recipe_lines():
    lines = set()
    here = os.path.dirname(__file__)
    paths = glob.glob(os.path.join(here, "recipes", "**", "*.dicom"), recursive=True)
    paths += glob.glob(os.path.join(here, "..", "examples", "**", "*.dicom"), recursive=True)
    try:
        import deid

        paths += glob.glob(os.path.join(os.path.dirname(deid.__file__), "data", "deid.*"))
    except ImportError:  # pragma: no cover
        pass
    for p in paths:
        with open(p, encoding="utf-8") as fh:
            for line in fh.read().splitlines():
                if line.strip() and not line.strip().startswith("#"):
                    lines.add(line)
    return sorted(lines)


REAL_LINES = _recipe_lines()


@pytest.mark.parametrize("line", REAL_LINES)
def test_real_recipe_lines_agree(line):
    assert_agrees(line)


def test_fast_path_covers_common_lines():
    """The fast path is only worth having if it takes the usual lines."""
    common = [
        "REMOVE PatientName",
        "REPLACE PatientID var:id",
        "ADD PatientIdentityRemoved YES",
        "JITTER StudyDate -3",
        "%header",
        "%filter blacklist",
        "LABEL CT Dose Series # (CTP)",
        "  contains Modality CT",
        "  + contains ImageType SCREEN SAVE || contains SeriesDescription Dose",
        "  coordinates 0,0,512,121",
        "  ctpcoordinates 0,0,512,110",
        "  missing ImageType || empty ImageType",
        "FIELD PatientName",
        "REMOVE endswith:Date",
    ]
    for line in common:
        assert _fast_line(line) is not None, line
        assert_agrees(line)


ATOMS = [
    "REMOVE",
    "REPLACE",
    "ADD",
    "BLANK",
    "KEEP",
    "JITTER",
    "remove",
    "Replace",
    "FIELD",
    "SPLIT",
    "LABEL",
    "label",
    "FORMAT",
    "%header",
    "%filter",
    "%values",
    "%",
    "%pixels",
    "contains",
    "notcontains",
    "equals",
    "notequals",
    "missing",
    "present",
    "empty",
    "CONTAINS",
    "coordinates",
    "keepcoordinates",
    "ctpcoordinates",
    "Coordinates",
    "+",
    "||",
    "|",
    "#",
    "# c",
    "all",
    "ALL",
    "from:Seq",
    "from:",
    ":",
    ",",
    "=",
    ";",
    "PatientName",
    "Patient's",
    "(0010,0010)",
    "0010,0010",
    "00100010",
    "0x00100010",
    "(0010, 0010)",
    '(0033,"MITRA OBJECT",1E)',
    '0033,"A B",1e',
    '"',
    "'",
    '"quoted value"',
    "'single'",
    "Seq__Child",
    "(0008,1140)__0__(0008,1150)",
    "startswith:Patient",
    "contains:(0010",
    "select:VR:DA",
    "select:group:0010",
    "fields:f",
    "values:v",
    "var:id",
    "func:f",
    "deid_func:jitter",
    "days=3",
    "by=^",
    "minlength=4",
    "1",
    "-2",
    "+5",
    "1.5",
    "a+b",
    "x||y",
    "SOMATOM",
    "Definition",
    "AS+",
    "0,0,512,121",
    "450,0,672,",
    " 85",
    "\t",
    "  ",
    "é",
    "\x00",
    # words near the fast path's shortcuts: eight hex digits (a TAG), ALL in any case, other white space
    "DEADBEEF",
    "ABCDEF12x",
    "aLL",
    "All",
    "Rows",
    "LaBeL",
    "ctpkeepcoordinates",
    "\u00a0",
    "\x0c",
    "x:y",
    "0,0,1,1",
]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(ATOMS), min_size=1, max_size=7), st.lists(st.sampled_from([" ", "  ", "\t", ""]), min_size=7, max_size=7))
@example(["contains", "X", "a+", "||", "contains", "Y", "b"], [" "] * 7)
def test_generated_lines_agree(words, seps):
    line = "".join(w + s for w, s in zip(words, seps))
    if not line.strip() or line.strip().startswith("#"):
        return
    assert_agrees(line)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(REAL_LINES or ["REMOVE X"]), st.data())
def test_mutated_real_lines_agree(line, data):
    i = data.draw(st.integers(0, len(line)))
    j = data.draw(st.integers(i, min(len(line), i + 4)))
    ins = data.draw(st.sampled_from(["", " ", "#", '"', "'", "+", "||", ",", ":", "x", "\t", "%", "=", "(", ")"]))
    mutated = line[:i] + ins + line[j:]
    if not mutated.strip() or mutated.strip().startswith("#"):
        return
    assert_agrees(mutated)


def test_nodes_do_not_leak_lark_types():
    result = parser.parse("FORMAT dicom\n%header\nREMOVE PatientName\n%filter f\nLABEL x\ncontains Modality CT\n")
    seen = []

    def walk(obj):
        seen.append(type(obj).__module__)
        if attrs.has(type(obj)):
            for f in attrs.fields(type(obj)):
                walk(getattr(obj, f.name))
        elif isinstance(obj, tuple):
            for x in obj:
                walk(x)

    walk(result.recipe)
    assert not any(m.startswith("lark") for m in seen)
    assert isinstance(result.recipe, nodes.Recipe)
