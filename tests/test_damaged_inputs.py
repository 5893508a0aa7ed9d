"""Damaged, odd and hostile input files through ``deidc run`` (issue 6, broken inputs).

The corpus (tests/damaged.py) is generated once per module and run through
the whole command: in process with the bundled default recipe (one worker)
and with a small deid-style recipe (two worker processes), and once as a
subprocess. For every kind of damage the documented outcome is checked
(docs/robustness.md): either a correct output (reads back, names gone,
character set kept, complete), or a failure reported by path with a reason
in plain words, in stderr and in the manifest, and no output file. The
batch always goes on; the exit status is 1; outputs plus failures are the
inputs; no element value appears in any message.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pydicom
import pytest

from deidlang import cli, engine
from deidlang.engine import naming

sys.path.insert(0, str(Path(__file__).resolve().parent))
import damaged  # noqa: E402

from deidlang.dicomio import damage
from deidlang.engine import job
from deidlang.runtime import keys

# pydicom warns when it reads the values made invalid on purpose
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SMALL_RECIPE = """FORMAT dicom

# a small deid-style recipe
%header

ADD PatientIdentityRemoved YES
REPLACE PatientName ANONYMOUS
REMOVE OtherPatientNames
REMOVE PatientBirthDate
REMOVE PatientID
BLANK ReferringPhysicianName
REMOVE InstitutionName
"""

#: Values of the corpus that must never show up in a message, the manifest or a report.
VALUES = [
    "DAMAGEDCANARY",
    "QUENTIN",
    "DAMAGEDOTHER",
    "REFERRER^DAMAGED",
    "DMG-0000",
    "19620314",
    "ACCDMG0001",
    "Damaged Memorial",
    "MÜLLER",
    "Ørsted",
    "王",
    "山田",
    "12AB",
    "20231301",
    "ABDOMENPELVISCHESZ",
    "DEEPEST",
]


def _cases() -> list[damaged.Case]:
    """The corpus' cases (built once in a scratch folder, to name the tests)."""
    with tempfile.TemporaryDirectory() as scratch:
        return damaged.build(scratch)


CASES = _cases()
#: Every input the corpus holds, by path (the manifest records keyed digests of them).
INPUT_NAMES = [c.path for c in CASES] + ["duplicates/CASE.dcm", "duplicates/case.dcm", "duplicates/site-a/scan.dcm", "duplicates/site-b/scan.dcm"]
BY_KIND = {case.kind: case for case in CASES}
KINDS = [case.kind for case in CASES]
assert len(KINDS) == len(BY_KIND), "kinds must be unique"


class Run:
    """One `deidc run` over the corpus: exit status, output, manifest records by input."""

    def __init__(self, code: int, out: str, err: str, output: Path, recipe: str):
        self.code, self.out, self.err, self.output, self.recipe = code, out, err, output, recipe
        lines = (output / engine.MANIFEST_RECORDS).read_text(encoding="utf-8").splitlines()
        self.records = [json.loads(line) for line in lines if line]
        known = {naming.input_key(keys.default_key()[0], name): name for name in INPUT_NAMES}
        self.by_input = {known.get(rec["input_key"], rec["input_key"]): rec for rec in self.records}  # by input path
        self.header = json.loads((output / engine.MANIFEST).read_text(encoding="utf-8"))


def _in_process(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("damaged") / "corpus"
    root.mkdir()
    assert [c.kind for c in damaged.build(root)] == KINDS  # deterministic
    return root


@pytest.fixture(scope="module")
def small_recipe(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("recipe") / "small.dicom"
    path.write_text(SMALL_RECIPE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def default_run(corpus, tmp_path_factory) -> Run:
    output = tmp_path_factory.mktemp("default") / "out"
    code, out, err = _in_process(["run", "--input", str(corpus), "--output", str(output), "--jobs", "1"])
    return Run(code, out, err, output, "default")


@pytest.fixture(scope="module")
def small_run(corpus, small_recipe, tmp_path_factory) -> Run:
    output = tmp_path_factory.mktemp("small") / "out"
    code, out, err = _in_process(["run", "--recipe", str(small_recipe), "--input", str(corpus), "--output", str(output), "--jobs", "2"])
    return Run(code, out, err, output, "small")


@pytest.fixture(params=["default", "small"])
def a_run(request, default_run, small_run) -> Run:
    return default_run if request.param == "default" else small_run


# =========================================================================== every kind


def _expected(case: damaged.Case, run: Run) -> str:
    return case.expect_small if run.recipe == "small" and case.expect_small else case.expect


def _charset(ds) -> object:
    value = ds.get("SpecificCharacterSet")
    return tuple(value) if isinstance(value, pydicom.multival.MultiValue) else value


@pytest.mark.parametrize("kind", KINDS)
def test_documented_outcome(kind, a_run, corpus):
    case = BY_KIND[kind]
    expect = _expected(case, a_run)
    if expect == "absent":
        assert case.path not in a_run.by_input
        assert not (a_run.output / case.path).exists()
        return
    rec = a_run.by_input.get(case.path)
    assert rec is not None, f"{case.path!r} has no manifest record"
    assert rec["status"] == expect, rec
    shown = engine.printable(os.path.join(str(corpus), case.path))
    if expect == "failed":
        assert case.reason in rec["reason"], rec["reason"]
        assert f"deidc: failed: {shown}: {rec['reason']}\n" in a_run.err
        assert rec["output"] is None and rec["output_sha256"] is None
        mirrored = a_run.output / case.path
        assert not os.path.lexists(mirrored), "a failed file left an output"
        return
    _check_output(case, a_run, rec, corpus)


def _check_output(case: damaged.Case, run: Run, rec: dict, corpus: Path) -> None:
    out = run.output / rec["output"]
    assert out.is_file() and not out.is_symlink()
    data = out.read_bytes()
    assert hashlib.sha256(data).hexdigest() == rec["output_sha256"] and len(data) == rec["output_size"]
    ds = pydicom.dcmread(io.BytesIO(data), force=case.force)
    assert damage.cut_short(ds, len(data)) == "", "the output is not complete"
    for name in case.names:
        assert name not in data, f"identifying bytes {name!r} survived"
    assert ds.PatientIdentityRemoved == "YES"
    assert str(ds.get("PatientName", "")) == ("" if run.recipe == "default" else "ANONYMOUS")
    assert "OtherPatientNames" not in ds
    original = pydicom.dcmread(corpus / case.path, force=True)
    assert _charset(ds) == _charset(original)
    if case.charset is not None:
        assert _charset(ds) == case.charset
    for keyword, text in case.decoded:
        if keyword in ds:  # kept by the recipe: decoded as it was written
            assert str(ds[keyword].value) == text
    if "TransferSyntaxUID" in original.file_meta:  # written in the transfer syntax it came in
        assert ds.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
    if "PixelData" in original:
        assert ds.PixelData == original.PixelData


def test_the_small_recipe_keeps_what_it_does_not_touch(small_run, corpus):
    """Values that violate their VR, and text in every character set, come out as they went in."""
    for kind in ("vr-violations", "charset-latin1", "charset-utf8", "charset-gb18030", "charset-iso2022-jp"):
        case = BY_KIND[kind]
        ds = pydicom.dcmread(small_run.output / small_run.by_input[case.path]["output"])
        for keyword, text in case.decoded:
            assert str(ds[keyword].value) == text, (kind, keyword)


# =========================================================================== the batch as a whole


def test_the_batch_goes_on_and_exits_1(a_run):
    assert a_run.code == 1, a_run.err
    inputs = [c for c in CASES if _expected(c, a_run) != "absent"]
    written = [c for c in inputs if _expected(c, a_run) == "written"]
    failed = [c for c in inputs if _expected(c, a_run) == "failed"]
    assert len(a_run.records) == len(inputs)  # one record per input, nothing more
    assert f"{len(inputs)} files processed: {len(written)} written, 0 skipped, {len(failed)} failed" in a_run.out
    assert a_run.header["complete"] is True
    assert a_run.header["summary"]["written"] + a_run.header["summary"]["failed"] == len(inputs)
    assert a_run.err.count("deidc: failed: ") == len(failed)


def test_outputs_are_whole_and_nothing_else_is_left(a_run):
    files = [p for p in a_run.output.rglob("*") if p.is_file() or p.is_symlink()]
    names = {p.name for p in files}
    assert not [n for n in names if n.endswith(engine.TMP_SUFFIX)]
    outputs = {str(p.relative_to(a_run.output)) for p in files} - {engine.MANIFEST, engine.MANIFEST_RECORDS}
    assert outputs == {r["output"] for r in a_run.records if r["status"] == "written"}


def test_no_values_in_messages_or_manifest(a_run):
    manifest = (a_run.output / engine.MANIFEST).read_text(encoding="utf-8") + (a_run.output / engine.MANIFEST_RECORDS).read_text(encoding="utf-8")
    for text in (a_run.out, a_run.err, manifest):
        assert [v for v in VALUES if v in text] == []


def test_reasons_are_plain_words(a_run):
    for rec in a_run.records:
        if rec["status"] == "failed":
            reason = rec["reason"]
            assert reason and reason[0].islower() and not reason.endswith(".")
            assert "Error" not in reason.replace("DICOMDIR", ""), reason  # no bare exception names


def test_a_name_with_a_newline_is_shown_on_one_line(default_run, corpus):
    case = BY_KIND["name-newline-failing"]
    line = f"deidc: failed: {corpus}/names/broken\\nname.dcm: not a DICOM file"
    assert line in default_run.err
    assert "broken" not in (default_run.output / engine.MANIFEST_RECORDS).read_text(encoding="utf-8")  # a keyed digest
    assert default_run.by_input[case.path]["status"] == "failed"


def test_names_that_differ_only_in_case_get_distinct_outputs(default_run):
    upper = default_run.by_input["duplicates/CASE.dcm"]["output"]
    lower = default_run.by_input["duplicates/case.dcm"]["output"]
    assert upper == "duplicates/CASE.dcm" and lower == "duplicates/case-2.dcm"
    assert default_run.by_input["duplicates/site-a/scan.dcm"]["output"] == "duplicates/site-a/scan.dcm"
    assert default_run.by_input["duplicates/site-b/scan.dcm"]["output"] == "duplicates/site-b/scan.dcm"


def test_a_name_that_is_not_utf8_is_kept_in_the_output_and_manifest(default_run):
    case = BY_KIND["name-not-utf8"]
    rec = default_run.by_input[case.path]
    assert rec["output"] == case.path
    assert os.fsencode(default_run.output / case.path).endswith(b"latin1-\xe9.dcm")
    raw = (default_run.output / engine.MANIFEST_RECORDS).read_bytes()
    raw.decode("utf-8")  # the manifest stays valid UTF-8 (the name is escaped)


def test_same_outcomes_as_a_subprocess(corpus, small_recipe, small_run, tmp_path):
    output = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "deidlang", "run", "--recipe", str(small_recipe), "--input", str(corpus), "--output", str(output), "--jobs", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    run = Run(proc.returncode, proc.stdout, proc.stderr, output, "small")
    outcome = {k: (r["status"], r["reason"], r["output_sha256"]) for k, r in run.by_input.items()}
    assert outcome == {k: (r["status"], r["reason"], r["output_sha256"]) for k, r in small_run.by_input.items()}
    assert [v for v in VALUES if v in proc.stdout + proc.stderr] == []


def test_force_reads_files_without_preamble_or_meta(corpus, tmp_path):
    code, out, err = _in_process(["run", "--input", str(corpus / "layout"), "--output", str(tmp_path / "o"), "--jobs", "1", "--force"])
    assert code == 0, err
    assert "3 files processed: 3 written, 0 skipped, 0 failed" in out
    for name in ("bare-dataset.dcm", "no-preamble.dcm", "no-meta.dcm"):
        data = (tmp_path / "o" / name).read_bytes()
        ds = pydicom.dcmread(io.BytesIO(data), force=True)
        assert damaged.NAME.encode() not in data and str(ds.PatientName) == ""


def test_a_rerun_skips_nothing_it_did_not_complete(corpus, tmp_path):
    """Running again over the same output: every written file is complete in the manifest,
    every failed one is tried (and fails) again."""
    args = ["run", "--input", str(corpus), "--output", str(tmp_path / "o"), "--jobs", "1", "--recipe"]
    recipe = tmp_path / "r.dicom"
    recipe.write_text(SMALL_RECIPE, encoding="utf-8")
    first = _in_process(args + [str(recipe)])
    second = _in_process(args + [str(recipe)])
    assert first[0] == second[0] == 1
    n_written = sum(1 for c in CASES if c.expect == "written")
    n_failed = sum(1 for c in CASES if c.expect == "failed")
    assert f"{n_written} skipped, {n_failed} failed" in second[1]
    assert f"{n_written} files already complete" in second[1]


@pytest.mark.skipif(damaged.IS_ROOT, reason="root reads files and folders whatever their mode")
def test_unreadable_folder_is_reported(tmp_path):
    src = tmp_path / "in"
    (src / "locked").mkdir(parents=True)
    (src / "ok.dcm").write_bytes(damaged.dicom_bytes(damaged.base_dataset(1)))
    (src / "locked" / "x.dcm").write_bytes(damaged.dicom_bytes(damaged.base_dataset(2)))
    (src / "locked").chmod(0)
    try:
        code, out, err = _in_process(["run", "--input", str(src), "--output", str(tmp_path / "o"), "--jobs", "1"])
        code2, out2, err2 = _in_process(["run", "--input", str(src / "locked"), "--output", str(tmp_path / "o2"), "--jobs", "1"])
    finally:
        (src / "locked").chmod(0o755)
    assert code == 1
    assert f"failed: {src / 'locked'}: cannot read: permission denied" in err
    assert "2 files processed: 1 written, 0 skipped, 1 failed" in out
    assert code2 == 1 and f"failed: {src / 'locked'}: {job.UNLISTABLE}" in err2


# =========================================================================== the documentation


def test_robustness_doc_names_every_kind_and_reason():
    import re

    doc = (Path(__file__).resolve().parent.parent / "docs" / "robustness.md").read_text(encoding="utf-8")
    for reason in (
        damage.EMPTY,
        damage.NOT_DICOM + damage.NO_PREAMBLE_HINT,
        damage.NOT_DICOM + damage.TOO_SHORT_HINT,
        damage.CUT_SHORT,
        damage.META_ONLY,
        damage.TOO_DEEP,
        damage.DICOMDIR,
        damage.DANGLING,
        damage.LOOP,
        job.UNLISTABLE,
        job.OUTSIDE,
    ):
        assert f"`{reason}`" in doc, reason
    tokens = set(re.findall(r"`([^`]+)`", doc))
    wildcards = [t[:-1] for t in tokens if t.endswith("*")]
    for kind in KINDS:
        ranged = re.fullmatch(r"truncated-[2-9]0", kind) and "`truncated-20` ... `truncated-90`" in doc
        assert kind in tokens or ranged or any(kind.startswith(w) for w in wildcards), f"docs/robustness.md does not name '{kind}'"
