"""``deidc fmt``: canonical, idempotent and behaviour-preserving.

Behaviour-preserving means: the compiled program of the formatted recipe
equals the original's (its name, text digest and diagnostics aside: line
numbers move). Recipes with errors do not compile; for them the parsed
recipe (keyword case aside) and the errors must be the same.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deidlang
from deidlang.lang import nodes
from deidlang.tools.fmt import format_text, is_formatted

sys.path.insert(0, str(Path(__file__).resolve().parent))
import strategies  # noqa: E402

HERE = Path(__file__).parent
ROOT = HERE.parent


def corpus() -> list[str]:
    paths = glob.glob(str(HERE / "recipes" / "**" / "*.dicom"), recursive=True)
    paths += glob.glob(str(ROOT / "examples" / "**" / "*.dicom"), recursive=True)
    paths += glob.glob(str(ROOT / "deidlang" / "data" / "**" / "*.dicom"), recursive=True)
    try:
        import deid

        paths += glob.glob(os.path.join(os.path.dirname(deid.__file__), "data", "deid.*"))
    except ImportError:  # pragma: no cover
        pass
    return sorted(paths)


def _program(text: str):
    p = deidlang.compile(text, path="recipe.dicom", allow=True)  # findings that refuse a run are not the formatter's
    return attrs.evolve(p, sha256="", diagnostics=())


def _normal(obj):
    """A parsed recipe with keywords in one case (what the formatter may change)."""
    if isinstance(obj, nodes.ActionLine):
        obj = attrs.evolve(obj, verb=obj.verb.upper(), comment=obj.comment.strip() if obj.comment else obj.comment)
    elif isinstance(obj, nodes.GroupLine):
        obj = attrs.evolve(obj, verb=obj.verb.upper())
    elif isinstance(obj, nodes.FormatLine):
        obj = attrs.evolve(obj, keyword=obj.keyword.upper())
    if isinstance(obj, tuple):
        return tuple(_normal(x) for x in obj)
    if attrs.has(type(obj)):
        return type(obj)(**{f.name: _normal(getattr(obj, f.name)) for f in attrs.fields(type(obj)) if f.init})
    return obj


def assert_preserves(text: str) -> str:
    formatted = format_text(text)
    assert format_text(formatted) == formatted, "not idempotent"
    before, after = deidlang.parse(text), deidlang.parse(formatted)
    assert _normal(after.recipe) == _normal(before.recipe)
    errors = lambda ds: Counter(d.code for d in ds if d.is_error)  # noqa: E731
    assert errors(deidlang.check(formatted)) == errors(deidlang.check(text))
    if not errors(deidlang.check(text)):
        assert _program(formatted) == _program(text)
    return formatted


# --------------------------------------------------------------------------- the corpus


CORPUS = corpus()


def test_the_corpus_is_big():
    assert len(CORPUS) > 150


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: os.path.relpath(p, ROOT))
def test_corpus_recipe_keeps_its_meaning(path):
    assert_preserves(Path(path).read_text(encoding="utf-8"))


def test_the_comparison_can_fail():
    """The program comparison sees a one-word change and a moved box."""
    text = "FORMAT dicom\n%header\nREMOVE PatientName\n%filter f\nLABEL x\n  contains Modality CT\n  coordinates 0,0,10,10\n"
    assert _program(text) != _program(text.replace("REMOVE", "BLANK"))
    assert _program(text) != _program(text.replace("0,0,10,10", "0,0,10,11"))
    assert _program(text) == _program(text.replace("\n%filter", "\n\n\n%filter"))


# --------------------------------------------------------------------------- the layout


MESSY = """\


format dicom
%HEADER
# who asked for this
  remove    PatientName
ADD   PatientIdentityRemoved   YES   # as the standard says
REPLACE PatientID    deid_func:hashid    length=8   prefix=SUB
  jitter StudyDate 3
%values names
split   PatientName   by=^ ; minlength=2;
field OtherPatientNames
%filter blacklist
  LABEL Burned in
contains Modality US


    + CONTAINS Manufacturer   GE   ||   missing   ImageType
coordinates 0, 0, 512, 80
# next label
LABEL Ultrasound
      ctpcoordinates all



"""

TIDY = """\
format dicom

%header
# who asked for this
REMOVE PatientName
ADD PatientIdentityRemoved YES # as the standard says
REPLACE PatientID deid_func:hashid length=8 prefix=SUB
JITTER StudyDate 3

%values names
SPLIT PatientName by=^;minlength=2
FIELD OtherPatientNames

%filter blacklist

LABEL Burned in
  contains Modality US
  + contains Manufacturer GE || missing ImageType
  coordinates 0,0,512,80

# next label
LABEL Ultrasound
  ctpcoordinates all
"""


def test_layout():
    assert format_text(MESSY) == TIDY.replace("format dicom", "FORMAT dicom")
    assert_preserves(MESSY)
    assert is_formatted(format_text(MESSY))
    assert not is_formatted(MESSY)


def test_values_and_patterns_are_kept_exactly():
    text = "FORMAT dicom\n\n%header\nREPLACE PatientName  Anonymous   Person  \n\n%filter f\n\nLABEL x\n  contains SeriesDescription Dose   Report\n"
    out = format_text(text)
    assert "REPLACE PatientName Anonymous   Person\n" in out
    assert "  contains SeriesDescription Dose   Report\n" in out
    assert_preserves(text)


def test_operator_glued_to_a_value_stays_in_the_value():
    """`x|| missing B` is one value (an operator needs a space before it): the formatter must not split it."""
    text = "FORMAT dicom\n\n%filter f\n\nLABEL x\n  contains A x|| missing B\n"
    assert format_text(text) == text
    assert_preserves(text)


def test_lines_that_do_not_parse_are_kept_as_written():
    text = "FORMAT dicom\n\n%header\nBLNK   PatientName  \nremove  PatientID\n"
    out = format_text(text)
    assert "BLNK   PatientName  \n" in out
    assert "REMOVE PatientID\n" in out


def test_crlf_is_kept_and_empty_stays_empty():
    assert format_text("FORMAT dicom\r\n%header\r\nremove X\r\n") == "FORMAT dicom\r\n\r\n%header\r\nREMOVE X\r\n"
    assert format_text("") == ""
    assert format_text("\n\n  \n") == ""
    assert format_text("# only a comment") == "# only a comment\n"


# --------------------------------------------------------------------------- generated recipes


_SPACES = st.sampled_from([" ", "  ", "\t", " \t "])


@st.composite
def messy(draw, text: str) -> str:
    """The same recipe with its layout disturbed: white space, blank lines, keyword case, comments."""
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if draw(st.integers(0, 5)) == 0:
            out.append(draw(st.sampled_from(["", "   ", "# a note", "\t# another"])))
        if not stripped:
            out.append(line)
            continue
        words = stripped.split(" ")
        head = words[0]
        if head.isalpha() and draw(st.booleans()) and head.upper() in ("ADD", "BLANK", "JITTER", "KEEP", "REMOVE", "REPLACE", "FIELD", "SPLIT", "LABEL"):
            head = draw(st.sampled_from([head.lower(), head.upper(), head.capitalize()]))
        # widen only the separator after the first word: other spaces may belong to a value
        sep = draw(_SPACES) if len(words) > 1 else ""
        new = draw(st.sampled_from(["", " ", "    "])) + head + sep + " ".join(words[1:])
        if draw(st.integers(0, 6)) == 0 and not stripped.startswith(("FORMAT", "%", "LABEL", "coordinates", "ctp", "keep")):
            new += draw(st.sampled_from(["", " "])) + " # trailing"
        out.append(new + draw(st.sampled_from(["", " ", "\t"])))
    return "\n".join(out) + "\n"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_generated_recipes_keep_their_meaning(data):
    text = data.draw(strategies.recipes(strict=True))
    assert_preserves(text)
    disturbed = data.draw(messy(text))
    formatted = assert_preserves(disturbed)
    assert format_text(formatted) == formatted


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(strategies.mutated_recipes())
def test_mutated_recipes_keep_their_meaning(text):
    assert_preserves(text)


# --------------------------------------------------------------------------- the command


def _deidc(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deidlang", *args], capture_output=True, text=True, cwd=cwd, input=stdin, timeout=120)


def test_command_check_and_rewrite(tmp_path):
    messy_file = tmp_path / "messy.dicom"
    messy_file.write_text(MESSY)
    tidy_file = tmp_path / "tidy.dicom"
    tidy_file.write_text(format_text(MESSY))
    os.chmod(messy_file, 0o640)

    r = _deidc("fmt", "--check", str(messy_file), str(tidy_file))
    assert r.returncode == 1, r.stderr
    assert f"--- {messy_file}" in r.stdout and "-  remove    PatientName" in r.stdout and "+REMOVE PatientName" in r.stdout
    assert str(tidy_file) not in r.stdout
    assert "1 file would be reformatted, 1 file already formatted" in r.stderr
    assert messy_file.read_text() == MESSY  # --check writes nothing

    r = _deidc("fmt", str(messy_file), str(tidy_file))
    assert r.returncode == 0, r.stderr
    assert messy_file.read_text() == format_text(MESSY)
    assert os.stat(messy_file).st_mode & 0o777 == 0o640
    assert "1 file reformatted, 1 file left unchanged" in r.stderr
    assert _deidc("fmt", "--check", str(messy_file)).returncode == 0


def test_command_stdin_and_errors(tmp_path):
    r = _deidc("fmt", "-", stdin=MESSY)
    assert r.returncode == 0 and r.stdout == format_text(MESSY)
    r = _deidc("fmt", "--check", "-", stdin=MESSY)
    assert r.returncode == 1 and "+REMOVE PatientName" in r.stdout
    r = _deidc("fmt", str(tmp_path / "missing.dicom"))
    assert r.returncode == 2 and "cannot read recipe" in r.stderr
    (tmp_path / "latin1.dicom").write_bytes(b"%header\nREPLACE PatientName M\xfcller\n")
    r = _deidc("fmt", str(tmp_path / "latin1.dicom"))
    assert r.returncode == 2 and "not UTF-8" in r.stderr
