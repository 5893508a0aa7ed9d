"""The canary corpus through `deidc run` with the bundled default recipe.

Every element of the corpus (every VR, nested sequences, private blocks)
carries a unique marker (tests/canary.py). After `deidc run` with the
default recipe and its default options, no marker may survive except in
the element it was put in, and only when the recipe keeps that element.

Which elements the recipe keeps is read from the recipe at test time,
through `deidlang.runtime.explain` (an element is kept when no line changes it: a
KEEP, the skip list, or no line selecting it; or when a line only adds
values to it, as DeidentificationMethod is appended to), never from a list
written here; so the test follows the default recipe as it changes. A short list of
attributes that every version of the default recipe must de-identify (facts
of DICOM PS3.15 Table E.1-1) is checked separately.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import attrs
import pydicom
import pytest

import deidlang
from deidlang import cli
from deidlang.runtime.explain import explain

sys.path.insert(0, str(Path(__file__).resolve().parent))
from canary import ALL_VRS, Corpus, build_corpus, element_texts, element_values, expected_leaks, find_markers, recipe_keywords, walk  # noqa: E402

from deidlang.cli import app

#: Attributes the basic profile never keeps (PS3.15 Table E.1-1: X, Z, D or U).
NEVER_KEPT = (
    "(0010,0010)",  # PatientName
    "(0010,0020)",  # PatientID
    "(0010,0030)",  # PatientBirthDate
    "(0010,1040)",  # PatientAddress
    "(0008,0090)",  # ReferringPhysicianName
    "(0008,0080)",  # InstitutionName
    "(0008,0050)",  # AccessionNumber
    "(0020,000D)",  # StudyInstanceUID
    "(0020,000E)",  # SeriesInstanceUID
    "(0008,0018)",  # SOPInstanceUID
)


@attrs.frozen
class Outcome:
    corpus: Corpus
    output: Path
    code: int
    stdout: str
    stderr: str
    kept: dict  # file name -> set of deid uid paths the recipe keeps


def _default_remove_private() -> bool:
    return app.build_parser().parse_args(["run"]).remove_private


def _kept(corpus: Corpus, recipe: Path, remove_private: bool) -> dict[str, set[str]]:
    program = deidlang.load(str(recipe))
    kept = {}
    for name in corpus.files:
        ds = pydicom.dcmread(corpus.directory / name)
        explanation = explain([program], ds, remove_private=remove_private)
        kept[name] = {e.element for e in explanation.elements if e.outcome == "kept" or _extends(e.before, e.after)}
    return kept


def _extends(before: str | None, after: str | None) -> bool:
    """The recipe kept the original value and added to it (DeidentificationMethod is
    appended to, as PS3.15 asks): the original value is kept."""
    return bool(before) and after is not None and after != before and after.startswith(before + "\\")


@pytest.fixture(scope="module")
def outcome(tmp_path_factory) -> Outcome:
    root = tmp_path_factory.mktemp("canary")
    recipe = cli.DEFAULT_RECIPE
    corpus = build_corpus(root / "in", keywords=recipe_keywords(recipe.read_text(encoding="utf-8")), files=2)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["run", "--input", str(root / "in"), "--output", str(root / "out"), "--jobs", "1"])
    return Outcome(corpus, root / "out", code, out.getvalue(), err.getvalue(), _kept(corpus, recipe, _default_remove_private()))


def violations(corpus: Corpus, name: str, ds, data: bytes, kept: set[str]) -> list[str]:
    """Every marker found in an output, except in its own element when that element is kept."""
    strong = corpus.strong_texts
    weak = corpus.weak()
    found: list[str] = []
    for uid, elem in walk(ds):
        for text in element_texts(elem):
            for marker in find_markers(text, strong):
                homes = strong[marker]
                if not any(h.file == name and h.element == uid and uid in kept for h in homes):
                    found.append(f"{name}: {uid} holds the marker of {homes[0].file} {homes[0].element} ({homes[0].vr})")
        for value in element_values(elem):
            for marker in weak.get((elem.VR, value), ()):
                if not (marker.file == name and marker.element == uid and uid in kept):
                    found.append(f"{name}: {uid} holds the value of {marker.file} {marker.element} ({marker.vr})")
    for label, text in (
        ("latin-1", data.decode("latin-1")),
        ("utf-16le", data.decode("utf-16-le", errors="ignore")),
        ("utf-16le+1", data[1:].decode("utf-16-le", errors="ignore")),
    ):
        for marker in find_markers(text, strong):
            homes = strong[marker]
            if not any(h.file == name and h.element in kept for h in homes):
                found.append(f"{name}: the file bytes ({label}) hold the marker of {homes[0].file} {homes[0].element} ({homes[0].vr})")
    return sorted(set(found))


def _outputs(outcome: Outcome) -> list[tuple[str, Path]]:
    return [(name, outcome.output / name) for name in outcome.corpus.files]


# --------------------------------------------------------------------------- the corpus itself


def test_the_corpus_has_every_vr_nested_sequences_and_private_blocks(outcome):
    vrs: set[str] = set()
    private_vrs: set[str] = set()
    depth = 0
    nested_private = False
    for name in outcome.corpus.files:
        ds = pydicom.dcmread(outcome.corpus.directory / name)
        for uid, elem in walk(ds):
            vr = elem.VR
            vrs.add(vr)
            if (elem.tag.group & 1) and "__" not in uid and elem.tag.element >= 0x1000:
                private_vrs.add(vr)
            depth = max(depth, uid.count("__") // 2)
            nested_private = nested_private or ("__" in uid and elem.tag.group & 1 == 1)
    assert set(ALL_VRS) <= vrs
    # explicit VR file: every VR in the private block (UN stays UN only there)
    assert set(ALL_VRS) - {"SQ"} <= private_vrs
    assert depth >= 2
    assert nested_private
    assert len(outcome.corpus.strong_texts) > 300


def test_markers_are_unique(outcome):
    repeated = {text: homes for text, homes in outcome.corpus.strong_texts.items() if len(homes) > 1}
    assert all({h.element for h in homes} == {"(0002,0003)", "(0008,0018)"} for homes in repeated.values())
    assert len(repeated) == len(outcome.corpus.files)  # SOPInstanceUID, repeated in the file meta


# --------------------------------------------------------------------------- the run


def test_run_writes_every_canary_file(outcome):
    assert outcome.code == 0, outcome.stderr
    for _name, path in _outputs(outcome):
        assert path.is_file()


def test_the_default_recipe_de_identifies_the_core_attributes(outcome):
    for name, kept in outcome.kept.items():
        assert not (set(NEVER_KEPT) & kept), f"{name}: the default recipe keeps {sorted(set(NEVER_KEPT) & kept)}"


def test_no_marker_survives_except_in_kept_elements(outcome):
    problems = []
    for name, path in _outputs(outcome):
        data = path.read_bytes()
        ds = pydicom.dcmread(path)
        problems += violations(outcome.corpus, name, ds, data, outcome.kept[name])
    assert not problems, "\n".join(problems[:40])


def test_deidc_verify_reports_nothing_on_the_bundled_recipes_output(outcome, capsys):
    """Precision: the bundled recipe keeps no identifying value, so verify must say nothing
    (before issue 11 it reported the values the recipe keeps where it keeps them)."""
    code = cli.main(["verify", "--original", str(outcome.corpus.directory), "--deidentified", str(outcome.output), "--format", "json"])
    out, _err = capsys.readouterr()
    report = json.loads(out)
    assert report["files"] == len(outcome.corpus.files)
    assert not report["unpaired"] and not report["errors"]
    assert report["leaks"] == [] and code == 0


def test_no_marker_in_what_deidc_prints(outcome, capsys, tmp_path):
    """Issue 6: logs never hold element values: run (also with --verify), its manifest,
    verify, explain and the dry-run report, all without --show-values."""
    streams = [outcome.stdout, outcome.stderr]
    first = str(outcome.corpus.directory / outcome.corpus.files[0])
    for argv in (
        ["verify", "--original", str(outcome.corpus.directory), "--deidentified", str(outcome.output)],
        ["explain", str(cli.DEFAULT_RECIPE), first],
        ["explain", str(cli.DEFAULT_RECIPE), first, "--format", "json"],
        ["run", "--input", str(outcome.corpus.directory), "--output", str(tmp_path / "dry"), "--dry-run", "--report", str(tmp_path / "report.json")],
        ["run", "--input", str(outcome.corpus.directory), "--output", str(tmp_path / "verified"), "--verify", "--jobs", "1"],
    ):
        cli.main(argv)
        out, err = capsys.readouterr()
        streams += [out, err]
    streams.append((tmp_path / "report.json").read_text(encoding="utf-8"))
    for directory in (outcome.output, tmp_path / "verified"):  # manifests and other reports
        streams += [p.read_text(encoding="utf-8") for p in sorted(directory.rglob("*.json*"))]
    strong = outcome.corpus.strong_texts
    for text in streams:
        found = find_markers(text, strong)
        assert not found, f"marker values printed: {found[:5]}"
    assert not (tmp_path / "dry").exists()


# --------------------------------------------------------------------------- the test can fail


def test_an_untouched_file_is_caught(outcome):
    """Negative control: the inputs themselves, judged as outputs, leak everywhere."""
    name = outcome.corpus.files[0]
    path = outcome.corpus.directory / name
    problems = violations(outcome.corpus, name, pydicom.dcmread(path), path.read_bytes(), outcome.kept[name])
    assert len(problems) > 50
    assert any("(0010,0010)" in p for p in problems)
    assert any("file bytes" in p for p in problems)


def test_a_copied_marker_is_caught(outcome):
    """Negative control: the patient's family name copied into another element after the recipe ran."""
    name = outcome.corpus.files[0]
    ds = pydicom.dcmread(outcome.corpus.directory / name)
    program = deidlang.load(str(cli.DEFAULT_RECIPE))
    program.apply(ds, remove_private=_default_remove_private())
    source = pydicom.dcmread(outcome.corpus.directory / name)
    ds.ImageComments = str(source.PatientName.family_name)
    problems = violations(outcome.corpus, name, ds, b"", outcome.kept[name])
    assert problems == [f"{name}: (0020,4000) holds the marker of {name} (0010,0010) (PN)"]


# --------------------------------------------------------------------------- recall: leaks verify must find

#: A recipe that de-identifies nothing: every identifying value of the corpus stays.
KEEP_EVERYTHING = "FORMAT dicom\n\n%header\n\nADD PatientIdentityRemoved NO\n"
#: Applied before the bundled recipe: keeps (as an option recipe would) elements that
#: hold the planted copies and the patient's name and study date where they are.
KEEP_SOME = "FORMAT dicom\n\n%header\n\n" + "".join(
    f"KEEP {field}\n"
    for field in (
        "PatientName",
        "StudyDate",
        "OtherPatientIDs",
        "OtherPatientNames",
        "ImageComments",
        "PatientComments",
        "RequestAttributesSequence",
        *(f'(0013,"PLANTED",0{i})' for i in range(1, 5)),
    )
)
#: Every kind of hiding place tests/canary.py plants a copy in.
HIDING_PLACES = {
    "top level",
    "nested three deep",
    "nested three deep, private",
    "private",
    "private, multi-valued",
    "multi-valued",
    "name components swapped",
    "name component alone",
    "date in DT",
    "date in DT, private",
    "date in free text",
    "date in free text, private",
}


@attrs.frozen
class Recall:
    corpus: Corpus
    expected: set  # (file, output element, original element)
    found: set  # the same, as verify reports it
    outside: set  # (file, output element) verify reports where nothing was expected


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Corpus:
    root = tmp_path_factory.mktemp("planted")
    return build_corpus(root / "in", keywords=recipe_keywords(cli.DEFAULT_RECIPE.read_text(encoding="utf-8")), files=2, plant=True)


def _recall(corpus: Corpus, recipes: list[str], out: Path) -> Recall:
    from deidlang.engine import verify

    argv = ["run", "--input", str(corpus.directory), "--output", str(out), "--keep-private", "--jobs", "1"]
    for text in recipes:
        path = out.parent / f"recipe-{len(list(out.parent.glob('recipe-*')))}.dicom"
        path.write_text(text, encoding="utf-8")
        argv += ["--recipe", str(path)]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        assert cli.main(argv) == 0, err.getvalue()
    expected = expected_leaks(corpus, out)
    report = verify.verify_tree(str(corpus.directory), str(out))
    found = {(Path(leak.file).name, leak.element, source) for leak in report.leaks for source in leak.sources}
    outside = {(f, e) for f, e, _ in found} - {(f, e) for f, e, _ in expected}
    return Recall(corpus, expected, found & expected, outside)


def test_every_hiding_place_is_planted(planted):
    assert {p.how for p in planted.planted} == HIDING_PLACES
    assert all(p.file in planted.files for p in planted.planted)


def test_verify_finds_every_identifying_value_a_recipe_keeps(planted, tmp_path):
    """Recall over every element of the corpus: with a recipe that changes nothing, each
    identifying marker (by Table E.1-1) and each planted copy is reported where it is,
    with the element it came from; and nothing else is."""
    recall = _recall(planted, [KEEP_EVERYTHING], tmp_path / "out")
    assert len(recall.expected) > 1000
    assert recall.expected - recall.found == set()
    assert recall.outside == set()


def test_verify_finds_every_planted_leak_of_a_recipe_that_keeps_some(planted, tmp_path):
    """The bundled recipe after a recipe that KEEPs the planted copies' elements: verify
    reports exactly the kept identifying values and the copies, each hiding place."""
    recall = _recall(planted, [KEEP_SOME, cli.DEFAULT_RECIPE.read_text(encoding="utf-8")], tmp_path / "out")
    planted_places = {(p.file, p.element, p.source) for p in planted.planted}
    assert planted_places <= recall.expected  # the recipe kept every copy
    assert recall.expected - recall.found == set()
    assert recall.outside == set()
    assert {p.how for p in planted.planted if (p.file, p.element, p.source) in recall.found} == HIDING_PLACES
