"""Hostile recipes and data (issue 6, "Hostile input"): recipe text and ids are data,
never code; recipe regexes run at a bounded cost with Python's meaning; values
harvested from data are matched literally.

* :mod:`deidlang.lang.regexes` against Python's ``re`` on a corpus of patterns and
  texts (both engines), exhaustively for ``\\d \\w \\s`` and case folding;
* catastrophic patterns finish (in a subprocess with a generous timeout, so a
  regression fails instead of hanging the suite); the time-limited engine
  raises a typed error naming no value; the checker's E213;
* ``%values`` and ``var:``/``func:`` values with metacharacters stay text;
* the package source runs no recipe text or data as code, and ``func:`` /
  ``deid_func:`` names resolve only to what the user supplied.
"""

from __future__ import annotations

import ast
import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fixtures import header, make_S
from pydicom.dataset import Dataset

import deidlang
from deidlang import ApplyError, RecipeError
from deidlang.compiler import compile_recipe
from deidlang.lang import parser, regexes

PACKAGE = Path(deidlang.__file__).resolve().parent


# =========================================================================== the regex engines


PATTERNS = [
    # from the recipes and tests of this project and deid's docs
    "",
    "patient",
    "Patient",
    "^patient",
    "name$",
    "^\\d+$",
    "^\\D+$",
    "Date\\D",
    "date\\d",
    "(a+)+$",
    "a|p",
    "^(a|p)",
    "(id)$",
    "(uid)$",
    "0010",
    "\\(0010,0010\\)",
    "1\\.2\\.3",
    "1.2.3",
    "ct|mr",
    "^primary$",
    "ORIGINAL.PRIMARY",
    "DERIVED+SECONDARY",
    "ct # c",
    '(0029,"ACME: Corp",10)',
    "Modality|SOPClassUID|Rows",
    # classes and categories
    "[a-z]+",
    "[A-Z]+",
    "[^a-z]",
    "[^\\W\\d]+",
    "[\\w.]+",
    "[\\d,]+",
    "[\\s]",
    "\\s+",
    "\\S+",
    "\\W",
    "[\\W]",
    "[\\Wa]",
    "[^\\Wa]",
    "[a\\d]",
    "[^\\d]",
    "[^\\s]+",
    "\\d{3}",
    "\\w+\\s\\w+",
    "[-a]",
    "[a-]",
    "[]a]",
    "[\\]]",
    "[.]",
    "[\\x00-\\x7f]+$",
    "[à-ÿ]+",
    "[α-ω]+",
    "[K-k]",
    "[a-z]{2}$",
    "[^\\n]+",
    "[\\ud800-\\udfff]",
    # quantifiers, groups, flags
    "x*",
    "x?y",
    "a{2,3}",
    "a{2}",
    "a{2,}",
    "a*?b",
    "x{0,1000}",
    "x{1001}",
    "(ab|cd)*x",
    "a[bc]*d",
    ".*x.*y",
    "(?i)ct",
    "(?-i:CT)",
    "(?i:A)b",
    "A(?-i:b)",
    "(?s)a.b",
    "a.b",
    "(?x) a b c",
    "(?u)\\w",
    "(?a)\\w+",
    "(?a)k",
    "(?P<x>a)b",
    "a++",
    "(?>a+)b",
    # anchors
    "^$",
    "$",
    "^",
    "\\Aab",
    "ab\\Z",
    "(?m)^b",
    "(?m)a$",
    "a$\\n",
    "(a$)?",
    "(?:a|b$)",
    "(a$|b)c",
    "(a$)$",
    "a$$",
    "a$\\Z",
    "\\s$",
    "a\\n?$",
    "\\d+\\Z",
    # what RE2 cannot express
    "\\bct\\b",
    "\\Bt",
    "\\B",
    "(?=a)a",
    "(?!a)b",
    "(?<=a)b",
    "(?<!a)b",
    "(a)\\1",
    "(?P<x>a)(?P=x)",
    "(a)?(?(1)b|c)",
    # escapes and literals
    "a\\tb",
    "\\x41",
    "\\u00e9",
    "\\N{LATIN SMALL LETTER E WITH ACUTE}",
    "\\^",
    "\\$",
    "a\\\\b",
    "\\.",
    "\\0",
    "müller",
    "MÜLLER",
    "straße",
    "ß",
    "ẞ",
    "σ",
    "Σ",
    "ς",
    "k",
    "K",
    "\u212a",
    "s",
    "\u017f",
    "i",
    "I",
    "İ",
    "ı",
    "[i]",
    "[h-j]",
    "[^i]",
    "é",
    "ω",
    "Ω",
    "\u0345",
    "ι",
    "ǅ",
    "ﬀ",
    "\u00b5",
    "\u039c",
    "[\u00b5]",
    "中文",
    "山田",
]

TEXTS = [
    "",
    "patientname",
    "PatientName",
    "PATIENTNAME",
    "ReferencedPatientSequence",
    "(0010,0010)",
    "00100010",
    "Patient's Name",
    "StudyInstanceUID",
    "PatientID",
    "Date",
    "Date2",
    "DateX",
    "12345",
    "1.2.3.4",
    "1x2x3",
    "a",
    "aa",
    "aaaa!",
    "ab",
    "abc",
    "a\nb",
    "a\n",
    "b\n",
    "\n",
    "a\n\n",
    "CT",
    "ct",
    "x ct y",
    "xcty",
    '(0029,"ACME: Corp",10)',
    '0029,"ACME: Corp",10',
    "['ORIGINAL', 'PRIMARY', 'AXIAL']",
    "ORIGINAL\\PRIMARY",
    "Müller",
    "MÜLLER",
    "Straße",
    "STRAẞE",
    "ss",
    "σ",
    "Σ",
    "ς",
    "k",
    "K",
    "\u212a",
    "S",
    "\u017f",
    "i",
    "I",
    "İ",
    "ı",
    "é",
    "É",
    "ÀÉÎ",
    "ΩΜΕΓΑ",
    "ωμέγα",
    "\u0345",
    "ι",
    "Ι",
    "\u1fbe",
    "٣٤٥",
    "１２３",
    "\u00a0",
    "\u2003",
    "\x1c",
    "\x0b",
    "\u0085",
    "_",
    "a_b",
    "a-b",
    "x" * 50 + "y",
    "DERIVEDDD",
    "ǅ",
    "ǆ",
    "Ǆ",
    "ﬀ",
    "FF",
    "\u00b5",
    "\u039c",
    "\u03bc",
    "a\\b",
    "a.b",
    "a^b",
    "$",
    "^",
    "]",
    "-",
    "\x00",
    "\t",
    "2023",
    "a$b",
    "ct # c",
    "中文名字",
    "山田^太郎",
    "𝟘𝟙",
    "x\ud800y",
    "\ud800",
    "aa\ud800!",
]


def _valid(pattern: str) -> bool:
    try:
        re.compile(pattern, re.IGNORECASE)
    except re.error:
        return False
    return True


@pytest.mark.parametrize("pattern", [p for p in PATTERNS if _valid(p)])
def test_matcher_finds_what_python_re_finds(pattern):
    """Both engines (RE2, and the time-limited one) answer as ``re.search(p, t, re.I)``."""
    rx = re.compile(pattern, re.IGNORECASE)
    m = regexes.compile(pattern)
    wrong = [t for t in TEXTS if (rx.search(t) is not None) != m.search(t)]
    assert wrong == [], f"{m!r} differs from re on {wrong!r}"
    wrong = [t for t in TEXTS if (rx.search(t) is not None) != m._backtrack(t, 5.0)]
    assert wrong == [], f"the backtracking engine differs from re on {wrong!r}"


@pytest.mark.parametrize("pattern", [p for p in PATTERNS if _valid(p)])
def test_case_sensitive_matcher_finds_what_python_re_finds(pattern):
    rx = re.compile(pattern)
    m = regexes.compile(pattern, ignorecase=False)
    assert [t for t in TEXTS if (rx.search(t) is not None) != m.search(t)] == []


@pytest.mark.parametrize("pattern", ["(0010", "Patient[", "a{2,1}", "(?P<x>a)(?P<x>b)", "\\", "*a", "(?<=a+)b", "\\p{L}"])
def test_exactly_the_patterns_python_rejects_are_invalid(pattern):
    with pytest.raises(re.error) as err:
        re.compile(pattern, re.IGNORECASE)
    with pytest.raises(re.error) as ours:
        regexes.compile(pattern)
    assert (ours.value.msg, ours.value.pos) == (err.value.msg, err.value.pos)


@pytest.mark.parametrize(
    "pattern, engine",
    [
        ("patient", "linear"),
        ("(a+)+$", "linear"),
        ("^(\\w+\\s?)*$", "linear"),
        ("(a|aa)*c", "linear"),
        ("Date\\D", "linear"),
        ("x{1000}", "linear"),
        ("(a$)$", "linear"),
        ("\\bct\\b", "backtracking"),
        ("(?=a)a", "backtracking"),
        ("(a)\\1", "backtracking"),
        ("a$\\Z", "backtracking"),
        ("x{1001}", "backtracking"),
        ("(?a)\\w", "backtracking"),
        ("a++", "backtracking"),
    ],
)
def test_engine_choice(pattern, engine):
    m = regexes.compile(pattern)
    assert m.engine == engine
    assert bool(m.reason) == (engine == "backtracking")


def _every_code_point(surrogates: bool = False) -> str:
    text = regexes._every_code_point()
    return text if surrogates else text[:0xD800] + text[0xE000:]


@pytest.mark.parametrize("escape", ["\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "[^\\W\\d_]", "[\\s\\d]"])
@pytest.mark.parametrize("flags", [0, re.IGNORECASE])
def test_categories_are_pythons_over_all_of_unicode(escape, flags):
    """RE2 knows ``\\d`` etc. as ASCII, or by its own (newer) Unicode tables: the translation
    writes out Python's, checked here on every code point (RE2 runs the translated pattern)."""
    import re2

    every = _every_code_point()
    pattern = f"(?:{escape})+"
    want = [m.span() for m in re.finditer(pattern, every, flags)]
    rx = re2.compile(regexes._translate(pattern, flags))
    got = [m.span() for m in rx.finditer(every)]
    assert got == want


def test_case_folding_is_pythons_for_every_cased_character():
    """A literal under IGNORECASE matches the characters Python's ``re`` matches with it,
    for every character that has a case (the dotless and dotted i are the only ones
    where RE2's Unicode folding alone would differ: regexes._TURKISH_I)."""
    import re2

    cased = []
    for cp in range(0x110000):
        c = chr(cp)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        if c.lower() != c or c.upper() != c or c.casefold() != c:
            cased.append(c)
            cased.extend(x for x in (c.lower(), c.upper(), c.casefold(), c.title()) if len(x) == 1)
    pool = "".join(sorted(set(cased)))
    wrong = []
    for c in sorted(set(cased)):
        want = {m.group() for m in re.finditer(re.escape(c), pool, re.IGNORECASE)}
        got = {m.group() for m in re2.compile(regexes._translate(re.escape(c), re.IGNORECASE)).finditer(pool)}
        if want != got:
            wrong.append((c, sorted(want ^ got)))
    assert wrong == []


def test_matchers_pickle_as_their_pattern():
    for pattern in ("(a+)+$", "\\bct\\b", "Date\\D"):
        m = regexes.compile(pattern)
        back = pickle.loads(pickle.dumps(m))
        assert back == m and back.engine == m.engine
        assert back.search("x CT y") == m.search("x CT y")
    values = regexes.literal_any(["Doe^John", "a.b"])
    back = pickle.loads(pickle.dumps(values))
    assert back.search("MR DOE^JOHN") and not back.search("axb")


def test_a_pickled_program_matches_after_unpickling():
    program = deidlang.compile(header("REMOVE contains:(a+)+$", "REMOVE ALL contains:^\\d+$", "REMOVE contains:\\bID\\b"))
    program = pickle.loads(pickle.dumps(program))
    ds = make_S()
    ds.PatientComments = "1234"
    program.apply(ds)
    assert "PatientComments" not in ds and "Rows" not in ds  # ^\d+$ on the values
    assert "Modality" in ds


def test_a_literal_matcher_never_shows_its_values():
    m = regexes.literal_any(["Doe^John"])
    assert "Doe" not in repr(m) and "Doe" not in m.label


# =========================================================================== bounded cost


CATASTROPHIC_SCRIPT = r"""
import json, sys
import deidlang
from pydicom.dataset import Dataset

text = r'''FORMAT dicom
%header
REMOVE contains:(a+)+$
REMOVE contains:0029,"(a+)+",10
REMOVE ALL contains:(a+)+$
REMOVE InstitutionName notcontains:^(\w+\s?)*$
%filter hostile
LABEL Runaway
contains PatientComments (a+)+$
  || contains InstitutionName ^(\w+\s?)*$
'''
program = deidlang.compile(text)
ds = Dataset()
ds.PatientComments = "a" * 50000 + "!"
ds.StudyDescription = "a" * 5000
ds.InstitutionName = "word " * 5000 + "!"
ds.private_block(0x0029, "a" * 60 + "!", create=True).add_new(0x10, "LO", "v")  # a long private creator
found = program.inspect(ds)
program.apply(ds)
print(json.dumps({"flagged": bool(found.flagged), "kept": sorted(e.keyword or str(e.tag) for e in ds)}))
"""


def test_catastrophic_patterns_finish():
    """``(a+)+$`` and friends against long ``aaaa...!`` values and a long private
    creator: Python's ``re`` (and deid) would take longer than the universe's age.
    Run in a subprocess so that a regression fails after the timeout instead of hanging."""
    out = subprocess.run([sys.executable, "-c", CATASTROPHIC_SCRIPT], capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(out.stdout)
    assert result["flagged"] is False  # the '!' ends every value: nothing matched
    # kept: the '!'-ended comments and the private creator; removed: the all-'a' value,
    # the private element (its name 'Private tag data' ends with an a), the institution
    assert result["kept"] == ["(0029,0010)", "PatientComments"]


def test_the_backtracking_engine_stops_with_a_typed_error(monkeypatch):
    """A pattern only the backtracking engine runs, which the checker rejects (E213),
    let through by the compiler alone: apply stops after the time limit with an
    ApplyError naming the line and element, never the value."""
    monkeypatch.setattr(regexes, "TIME_LIMIT", 0.05)
    text = header("REMOVE ALL contains:(a|aa)+(?=b)c")
    assert "E213" in {d.code for d in deidlang.check(text)}
    program = compile_recipe(parser.parse(text).recipe, name="hostile.dicom", text=text)
    ds = Dataset()
    ds.PatientComments = "a" * 40 + "SECRET"
    with pytest.raises(ApplyError) as err:
        program.apply(ds)
    assert err.value.code == "R004" and "PatientComments" in err.value.element
    assert isinstance(err.value.__cause__, regexes.PatternTimeout)
    assert "SECRET" not in str(err.value) and "aaaa" not in str(err.value)


def test_time_limit_error_is_a_deidlang_error():
    m = regexes.compile("(a|aa)+(?=b)c")
    with pytest.raises(deidlang.DeidlangError, match="took longer than 0.01 s"):
        m.search("a" * 60, limit=0.01)


@pytest.mark.parametrize(
    "line, column",
    [
        ("REMOVE contains:(a+)+(?=x)", 17),
        ("REMOVE endswith:(\\w+\\s?)*\\b", 17),
        ("REMOVE ALL contains:\\b(a|aa)*c", 21),
        ("REMOVE ALL notcontains:(.*)*\\1", 24),
    ],
)
def test_checker_rejects_unbounded_patterns(line, column):
    diags = [d for d in deidlang.check(header(line)) if d.code == "E213"]
    assert len(diags) == 1 and diags[0].column == column
    assert "exponential" in diags[0].message
    with pytest.raises(RecipeError):
        deidlang.compile(header(line))


def test_checker_rejects_unbounded_filter_criteria():
    text = "FORMAT dicom\n%filter f\nLABEL l\ncontains Modality (?!x)(a|b+)+c\n"
    assert [d.code for d in deidlang.check(text) if d.is_error] == ["E213"]


@pytest.mark.parametrize(
    "line",
    [
        "REMOVE contains:(a+)+$",  # linear on RE2: fine however nested
        "REMOVE contains:\\bPatient\\b",  # backtracking, but nothing nested
        "REMOVE contains:(Patient)(?=Name)",
        "REMOVE contains:\\b(CT|MR)+\\b",  # alternatives that start differently
    ],
)
def test_checker_accepts_bounded_patterns(line):
    assert [d for d in deidlang.check(header(line)) if d.is_error] == []


def test_invalid_patterns_are_still_e209():
    assert [d.code for d in deidlang.check(header("REMOVE contains:(0010")) if d.is_error] == ["E209"]


# =========================================================================== data is matched and inserted literally


def _values_program(extra: str = "REMOVE values:v") -> deidlang.Program:
    text = f"FORMAT dicom\n\n%values v\nFIELD PatientComments\n\n%header\n{extra}\n"
    return deidlang.compile(text)


@pytest.mark.parametrize("name", ["a.(b*\\", "O'Brien (Jr.)", "x|y", "[z]+", "^$", "\\d+", "a{2}"])
def test_values_with_regex_characters_match_only_literally(name):
    """deid builds one unescaped regex from %values: a '(' crashes it, a '.' matches anything."""
    program = _values_program()
    ds = Dataset()  # LT elements: a backslash is text there, not a value separator
    ds.PatientComments = name
    ds.ImageComments = f"before {name.upper()} after"  # the value, literally (any case)
    ds.AdditionalPatientHistory = name.replace(".", "X").replace("*", "").replace("\\", "").replace("|", "")[:-1] + "Q"
    ds.InstitutionName = "dx xy zz 12 aa"  # what the metacharacters would match as a pattern
    program.apply(ds)
    assert "PatientComments" not in ds and "ImageComments" not in ds
    assert "AdditionalPatientHistory" in ds and "InstitutionName" in ds


def test_values_filter_in_the_value_slot_is_literal_too():
    program = _values_program("REMOVE ALL values:v")
    ds = Dataset()
    ds.PatientComments = "1.2"
    ds.StudyDescription = "x 1.2 y"
    ds.SeriesDescription = "1x2"
    program.apply(ds)
    assert "StudyDescription" not in ds and "SeriesDescription" in ds


METACHARACTERS = "{0}{name}%s%(x)s%%\\1\\g<0>.*$&^(|)[]"  # for LT elements (a backslash is text)
NO_BACKSLASH = "{0}{name}%s%(x)s%%$1$&.*^(|)[]"  # for LO (a backslash separates values)


def test_var_values_are_inserted_literally():
    program = deidlang.compile(header("REPLACE PatientComments var:x", "ADD StudyDescription var:y"))
    ds = Dataset()
    ds.PatientComments = "old"
    program.apply(ds, ids={"x": METACHARACTERS, "y": NO_BACKSLASH})
    assert ds.PatientComments == METACHARACTERS
    assert ds.StudyDescription == NO_BACKSLASH


def test_func_results_and_recipe_literals_are_inserted_literally():
    program = deidlang.compile(header("REPLACE PatientComments func:f", "ADD ImageComments {x}%d%%$1\\1.*"))
    ds = Dataset()
    ds.PatientComments = "old"
    program.apply(ds, funcs={"f": lambda **kwargs: METACHARACTERS})
    assert ds.PatientComments == METACHARACTERS
    assert ds.ImageComments == "{x}%d%%$1\\1.*"


# =========================================================================== no code from recipes or data


_ALLOWED = {
    # the --functions FILE.py loader: runs the file the user named, nothing else
    ("inputs.py", "load_functions", "exec"),
    ("inputs.py", "load_functions", "compile-exec"),
    # Dask workers unpickle the Programs their own client pickled (never user data)
    ("distributed.py", "setup", "pickle.loads"),
}

_DANGEROUS_NAMES = {"eval", "exec", "__import__", "execfile", "input", "breakpoint"}
_DANGEROUS_ATTRS = {
    ("pickle", "load"),
    ("pickle", "loads"),
    ("pickle", "Unpickler"),
    ("marshal", "load"),
    ("marshal", "loads"),
    ("shelve", "open"),
    ("yaml", "load"),
    ("yaml", "unsafe_load"),
    ("importlib", "import_module"),
    ("os", "system"),
    ("os", "popen"),
    ("os", "execv"),
    ("os", "execvp"),
    ("subprocess", "run"),
    ("subprocess", "Popen"),
    ("subprocess", "call"),
    ("subprocess", "check_output"),
    ("dill", "loads"),
}


def _dangerous_calls() -> set[tuple[str, str, str]]:
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))

        def visit(node: ast.AST, function: str) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    visit(child, child.name)
                    continue
                if isinstance(child, ast.Call):
                    f = child.func
                    if isinstance(f, ast.Name) and f.id in _DANGEROUS_NAMES:
                        found.add((path.name, function, f.id))  # noqa: B023 - visit() runs within this iteration
                    if isinstance(f, ast.Name) and f.id == "compile":
                        modes = [a for a in child.args[2:3]] + [k.value for k in child.keywords if k.arg == "mode"]
                        if any(isinstance(m, ast.Constant) and m.value in ("exec", "eval", "single") for m in modes):
                            found.add((path.name, function, "compile-exec"))  # noqa: B023
                    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and (f.value.id, f.attr) in _DANGEROUS_ATTRS:
                        found.add((path.name, function, f"{f.value.id}.{f.attr}"))  # noqa: B023
                visit(child, function)

        visit(tree, "<module>")
    return found


def test_package_source_runs_no_text_or_data_as_code():
    """No eval/exec, no unpickling of user data, no shell: only the documented
    ``--functions FILE.py`` loader runs code that is not deidlang's own."""
    assert _dangerous_calls() == _ALLOWED


def test_the_scan_finds_what_it_looks_for(tmp_path, monkeypatch):
    """The scan is not vacuous: it finds a planted eval and pickle.loads."""
    fake = tmp_path / "pkg"
    fake.mkdir()
    (fake / "bad.py").write_text("import pickle\ndef f(x):\n    return eval(x) or pickle.loads(x)\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert _dangerous_calls() == {("bad.py", "f", "eval"), ("bad.py", "f", "pickle.loads")}


@pytest.mark.parametrize("name", ["os.system", "__import__", "print", "eval", "exec", "open", "builtins.eval"])
def test_func_names_resolve_only_to_supplied_callables(name, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "system", lambda *a, **k: calls.append(a))
    text = header(f"REPLACE PatientComments func:{name}")
    # known function names: the checker says which are unknown
    diags = deidlang.check(text, functions=["mine"])
    assert [d.code for d in diags if d.is_error] == ["E205"]
    assert f"unknown function '{name}'" in diags[0].message
    # unknown names at compile time: nothing runs, apply fails cleanly
    program = deidlang.compile(text)
    ds = Dataset()
    ds.PatientComments = "echo pwned"
    with pytest.raises(ApplyError) as err:
        program.apply(ds, funcs={"mine": lambda **kwargs: "ok"})
    assert err.value.code == "R002" and name in err.value.message
    assert ds.PatientComments == "echo pwned" and calls == []


def test_a_non_callable_in_the_ids_is_never_called():
    program = deidlang.compile(header("REPLACE PatientComments func:f"))
    ds = Dataset()
    ds.PatientComments = "x"
    with pytest.raises(ApplyError) as err:
        program.apply(ds, ids={"f": "os.system('echo pwned')"})
    assert err.value.code == "R001"


@pytest.mark.parametrize("name", ["__import__", "os.system", "eval", "print", "nosuchthing"])
def test_deid_func_names_resolve_only_to_builtins(name):
    text = header(f"REPLACE PatientComments deid_func:{name}")
    diags = deidlang.check(text)
    assert [d.code for d in diags if d.is_error] == ["E206"]
    with pytest.raises(RecipeError):
        deidlang.compile(text)


def test_functions_file_exposes_only_its_own_public_callables(tmp_path):
    """``--functions FILE.py``: the file the user named is the only code run, and only its
    public callables become func: names (not what it imported)."""
    from deidlang.engine.inputs import load_functions

    path = tmp_path / "funcs.py"
    path.write_text(
        textwrap.dedent(
            """
            import os
            from os import system
            def pseudonym(item, value, field, dicom):
                return "P"
            def _private(**kwargs):
                return "x"
            __all__ = ["pseudonym"]
            """
        )
    )
    funcs = load_functions(str(path))
    assert set(funcs) == {"pseudonym"}
    text = header("REPLACE PatientComments func:system")
    assert [d.code for d in deidlang.check(text, functions=funcs)] == ["E205"]


@pytest.mark.parametrize("kind", ["contains", "startswith", "endswith", "except"])
@pytest.mark.parametrize("pattern", ["(?i)patient", "(?i:patient)", "(0010", "a{2,1}", "(a+)+$", "\\bid\\b", "(?=x)(a+)+"])
@pytest.mark.parametrize("slot", ["field", "value"])
def test_checker_and_compiler_agree_on_every_pattern(kind, pattern, slot):
    """Whatever the checker lets through compiles (an inline flag that R allows at its
    start is not at the start of startswith's ^(R) any more)."""
    if slot == "value" and kind == "except":
        kind = "notcontains"
    line = f"REMOVE {kind}:{pattern}" if slot == "field" else f"REMOVE ALL {kind}:{pattern}"
    errors = [d for d in deidlang.check(header(line)) if d.is_error]
    try:
        deidlang.compile(header(line))
    except RecipeError as err:
        assert errors, f"check found no error, compile did: {err}"
