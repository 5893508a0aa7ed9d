"""No PHI in logs (issue 6): the whole CLI over the canary corpus, every failure mode.

The canary corpus (tests/canary.py) puts a unique marker in every element of
every file; this module adds damaged files that carry markers of their own
(values that violate their VR, a truncated copy, a file without preamble, a
text file, an empty file, pixels that cannot be decoded) and then runs every
``deidc`` command over them with every failure it can trigger:

* ``deidc check`` (text, concise, json, sarif, ``--profile``) of a recipe with
  errors and warnings, with an ids file whose values are markers;
* ``deidc run``: the default recipe over every input (unreadable, truncated,
  non-DICOM files mixed in), a ``func:`` that raises (its message quotes a
  value), a missing ``var:`` that a REMOVE also selects, values a VR cannot
  hold (from a function and from the ids), a JITTER left undone, pixel
  cleaning that fails, ``--quarantine``, ``--verify`` failures, ``--strict``,
  ``--force``, a resumed run, ``--dry-run --report``, progress on a terminal,
  a run in a subprocess with a process pool;
* runs refused before they write (issue 11): ids that match no input, a partial
  match under ``--strict``, ``var:`` without ``--ids``, an empty input, a mistyped
  ``--quarantine`` group, ``retain-safe-private`` without ``--keep-private``, a
  mistyped ``--scheduler``, a zip archive; a raising function with ``--show-values``;
* ``deidc explain`` (text, json, a failing recipe, a non-DICOM file, no recipe named,
  arguments swapped),
  ``deidc verify`` (text, json), ``deidc inspect`` (table, json),
  ``deidc identifiers``, ``deidc clean``;

and asserts that no marker appears in stdout, stderr, the run manifests
(``deidlang-manifest.json`` and ``.jsonl``), the quarantine report, the
dry-run report or any other text file a command leaves in its output folder.
Each failure mode is asserted to have happened (a test that triggers nothing
proves nothing). Negative controls: with ``--show-values`` the markers do
appear where the CLI promises them (explain, verify, the dry-run report,
``run --verify`` failures on stderr -- but never in the manifest), and in the
file ``deidc identifiers`` writes.

Leaks found are ``xfail(strict=True)`` tests at the end, each with a minimal
repro; their triggers are kept out of the main scene so that it keeps
guarding everything else.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import attrs
import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.encaps import encapsulate
from pydicom.tag import Tag

from deidlang import cli
from deidlang.engine import naming

sys.path.insert(0, str(Path(__file__).resolve().parent))
from canary import UID_ROOT, build_corpus, find_markers, recipe_keywords  # noqa: E402

from deidlang.runtime import keys

# =========================================================================== the scene

#: Markers of the damaged files (the corpus counts from 1 upwards; these cannot collide).
INVALID_VALUES = {  # tag: (VR, marker as the raw value)
    0x00200013: ("IS", "QZX90001"),
    0x00080020: ("DA", "QZX90002"),
    0x00180050: ("DS", "QZX90003"),
    0x00080030: ("TM", "QZX90004"),
    0x00101010: ("AS", "QZX90005"),
    0x00080060: ("CS", "QZX90006"),
}
TEXT_FILE_MARKERS = ("QZX90010", "QZX90011")
PIXEL_MARKER = "QZX90020"
UNKNOWN_SYNTAX = f"{UID_ROOT}190021"
IDS_MARKERS = ("QZX90031", "QZX90032", "QZX90041", "QZX90042")
EXTRA_MARKERS = [m for _, m in INVALID_VALUES.values()] + list(TEXT_FILE_MARKERS) + [PIXEL_MARKER, UNKNOWN_SYNTAX, *IDS_MARKERS]

FUNCTIONS = """
def boom(item=None, value=None, field=None, dicom=None):
    # the message quotes element values: deidlang must not pass it on
    raise ValueError(f"cannot handle {dicom.PatientName} {dicom.PatientID}")


def echo_name(item=None, value=None, field=None, dicom=None):
    return str(dicom.PatientName)  # a name into an integer element: not storable
"""

RECIPES = {
    # errors and warnings, and var:/func: names checked against the ids and the functions
    "errors.dicom": "FORMAT dicom\n%header\nREMOVE PatientsName\nREPLACE PatientID var:id\nREPLACE PatientID var:nowhere\n"
    "BLNK StudyDate\nJITTER StudyDate abc\nremove PatientBirthDate\nREPLACE StudyID func:missing\nREPLACE Rows QZX\n",
    "warnings.dicom": "%header\nremove PatientName\nREMOVE PatientName # trailing\nKEEP Modality x\n",
    "func-raises.dicom": "FORMAT dicom\n%header\nREPLACE PatientID func:boom\n",
    "var-missing.dicom": "FORMAT dicom\n%header\nREMOVE PatientName\nREPLACE PatientName var:nowhere\n",
    "vr-from-func.dicom": "FORMAT dicom\n%header\nREPLACE InstanceNumber func:echo_name\n",
    "vr-from-ids.dicom": "FORMAT dicom\n%header\nADD ImagesInAcquisition var:count\n",
    "jitter-undone.dicom": "FORMAT dicom\n%header\nREMOVE PatientName\nJITTER PatientName 5\n",
    "filters.dicom": "FORMAT dicom\n%filter graylist\nLABEL Canary\n  contains PatientName QZX || present PatientName\n"
    "  coordinates 0,0,4,4\n%header\nREMOVE ALL\n",
    "leaky.dicom": "FORMAT dicom\n%header\nADD PatientIdentityRemoved YES\n",
}

#: Findings that stop these recipes before they run (a missing var: E215, a JITTER of a
#: person name W308), let through so that the run reaches the failure under test.
LET_THROUGH = {"var-missing": ("E215",), "jitter-undone": ("W308",)}

#: Files in the main scene's input folder besides the canary files, and what `deidc run` says of each.
DAMAGED = {
    "invalid-values.dcm": None,  # readable: values that violate their VR
    "truncated.dcm": "failed",
    "not-dicom.dcm": "failed",
    "empty.dcm": "failed",
    "no-preamble.dcm": "failed",  # without --force
    "bad-pixels.dcm": None,  # readable; its pixels cannot be decoded
}


@attrs.frozen
class Transcript:
    """What one command printed and left behind (report files by name)."""

    argv: tuple[str, ...]
    code: int
    out: str
    err: str
    files: dict = attrs.field(factory=dict)

    def texts(self) -> dict[str, str]:
        return {"stdout": self.out, "stderr": self.err, **self.files}


@attrs.define
class Scene:
    root: Path
    strong: dict
    canary: list[str]
    transcripts: dict[str, Transcript] = attrs.Factory(dict)

    def markers_in(self, text: str) -> list[str]:
        return find_markers(text, self.strong)

    def path(self, *parts: str) -> str:
        return str(self.root.joinpath(*parts))


class _Terminal(io.StringIO):
    """stderr as a terminal (so that the progress bar draws)."""

    def isatty(self) -> bool:
        return True


def _write_damaged(directory: Path, source: Path) -> None:
    ds = pydicom.dcmread(source)
    for tag, (vr, marker) in INVALID_VALUES.items():
        data = marker.encode("ascii")
        ds._dict[Tag(tag)] = RawDataElement(Tag(tag), vr, len(data), data, 0, False, True)
    ds.save_as(directory / "invalid-values.dcm")
    data = source.read_bytes()
    (directory / "truncated.dcm").write_bytes(data[: len(data) * 6 // 10])
    (directory / "not-dicom.dcm").write_bytes(" ".join(["Doe^John", *TEXT_FILE_MARKERS, "\n"]).encode() * 20)
    (directory / "empty.dcm").write_bytes(b"")
    (directory / "no-preamble.dcm").write_bytes(data[132:])  # neither preamble nor 'DICM'

    ds = pydicom.dcmread(source)
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 8, 8, 7
    ds.PixelRepresentation, ds.SamplesPerPixel, ds.PhotometricInterpretation = 0, 1, "MONOCHROME2"
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.50"  # JPEG baseline, and the bytes are no JPEG
    ds.PixelData = encapsulate([f"{PIXEL_MARKER} is not a JPEG stream ".encode() * 3])
    ds["PixelData"].VR = "OB"
    ds.save_as(directory / "bad-pixels.dcm", enforce_file_format=True)


def _unknown_syntax_file(path: Path, source: Path) -> None:
    """Undecodable pixels under a transfer syntax UID that names no transfer syntax (a marker)."""
    ds = pydicom.dcmread(source)
    ds.file_meta.TransferSyntaxUID = UNKNOWN_SYNTAX
    ds.save_as(path, enforce_file_format=True)


def _report_files(*directories: Path) -> dict[str, str]:
    """Every text file a command left in its output folders (manifests, reports, logs)."""
    out = {}
    for d in directories:
        if not d.exists():
            continue
        for p in sorted(d.rglob("*")):
            if p.is_file() and p.suffix.lower() in (".json", ".jsonl", ".csv", ".txt", ".log", ".md", ".html", ".tsv"):
                out[str(p.relative_to(d.parent))] = p.read_text(encoding="utf-8", errors="replace")
    return out


def _deidc(argv: list, *, terminal: bool = False) -> tuple[int, str, str]:
    out = io.StringIO()
    err = _Terminal() if terminal else io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Scene:
    root = tmp_path_factory.mktemp("no-phi")
    corpus = build_corpus(root / "in", keywords=recipe_keywords(cli.DEFAULT_RECIPE.read_text(encoding="utf-8")), files=2)
    canary = list(corpus.files)
    _write_damaged(root / "in", root / "in" / canary[0])
    strong = dict(corpus.strong_texts)
    for m in EXTRA_MARKERS:
        assert m not in strong
        strong[m] = ["extra"]
    for name, text in RECIPES.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "funcs.py").write_text(FUNCTIONS, encoding="utf-8")
    ids = {str(root / "in" / name): {"id": IDS_MARKERS[i], "count": IDS_MARKERS[2 + i]} for i, name in enumerate(canary)}
    (root / "ids.json").write_text(json.dumps(ids), encoding="utf-8")
    s = Scene(root, strong, canary)
    inp, first = s.path("in"), s.path("in", canary[0])
    # a one-file tree for the slower commands whose outputs are checked for values shown on purpose
    (root / "one").mkdir()
    (root / "one" / canary[0]).write_bytes((root / "in" / canary[0]).read_bytes())
    one = s.path("one")
    (root / "bad").mkdir()  # the same for the file whose values violate their VR
    (root / "bad" / "invalid-values.dcm").write_bytes((root / "in" / "invalid-values.dcm").read_bytes())

    def record(label: str, argv: list, *outputs: str, terminal: bool = False) -> None:
        code, out, err = _deidc(argv, terminal=terminal)
        files = _report_files(*(root / o for o in outputs))
        s.transcripts[label] = Transcript(tuple(str(a) for a in argv), code, out, err, files)

    r = s.path
    for fmt in ("text", "concise", "json", "sarif"):
        record(f"check-{fmt}", ["check", r("errors.dicom"), r("warnings.dicom"), "--ids", r("ids.json"), "--functions", r("funcs.py"), "--format", fmt])
    record("check-strict", ["check", r("warnings.dicom"), "--strict"])
    record("check-profile", ["check", "--profile", "basic", "--all"])
    record("run-default", ["run", "--input", inp, "--output", r("out-default"), "--jobs", "1"], "out-default")
    record("run-resumed", ["run", "--input", inp, "--output", r("out-default"), "--jobs", "1"], "out-default")
    record(
        "run-force-keep-private",
        ["run", "--input", inp, "--output", r("out-force"), "--jobs", "1", "--force", "--keep-private", "--ids", r("ids.json")],
        "out-force",
    )
    for name in ("func-raises", "var-missing", "vr-from-func", "vr-from-ids", "jitter-undone"):
        # the checker stops two of these recipes first (E215, W308): let them through to reach the apply-time failure
        allow = [a for code in LET_THROUGH.get(name, ()) for a in ("--allow", code)]
        record(
            f"run-{name}",
            [
                "run",
                "--input",
                inp,
                "--output",
                r(f"out-{name}"),
                "--jobs",
                "1",
                "--recipe",
                r(f"{name}.dicom"),
                "--functions",
                r("funcs.py"),
                "--ids",
                r("ids.json"),
                *allow,
            ],
            f"out-{name}",
        )
    record(
        "run-pixels-quarantine",
        ["run", "--input", inp, "--output", r("out-pixels"), "--jobs", "1", "--recipe", r("filters.dicom"), "--clean-pixels", "--quarantine", "graylist"],
        "out-pixels",
    )
    record("run-verify", ["run", "--input", inp, "--output", r("out-verify"), "--jobs", "1", "--recipe", r("leaky.dicom"), "--verify"], "out-verify")
    record("run-strict", ["run", "--input", inp, "--output", r("out-strict"), "--jobs", "1", "--recipe", r("warnings.dicom"), "--strict"], "out-strict")
    record("run-recipe-errors", ["run", "--input", inp, "--output", r("out-errors"), "--jobs", "1", "--recipe", r("errors.dicom")], "out-errors")
    record("run-dry-run", ["run", "--input", inp, "--output", r("out-dry"), "--dry-run", "--report", r("reports", "dry.json")], "reports")
    with pytest.MonkeyPatch.context() as mp:  # a terminal, and a progress bar that draws at once
        original = cli.Progress
        mp.setattr(cli, "Progress", lambda total, stream, **kw: original(total, stream, delay=0.0))
        record("run-progress", ["run", "--input", inp, "--output", r("out-progress"), "--jobs", "1"], "out-progress", terminal=True)
    record("run-leaky", ["run", "--input", inp, "--output", r("out-leaky"), "--jobs", "1", "--recipe", r("leaky.dicom")], "out-leaky")
    record("run-leaky-bad", ["run", "--input", r("bad"), "--output", r("out-leaky-bad"), "--jobs", "1", "--recipe", r("leaky.dicom")], "out-leaky-bad")
    record("run-leaky-one", ["run", "--input", one, "--output", r("out-leaky-one"), "--jobs", "1", "--recipe", r("leaky.dicom")], "out-leaky-one")
    record(
        "clean-pixels-only", ["clean", "--input", inp, "--output", r("out-clean"), "--jobs", "1", "--recipe", r("filters.dicom"), "--pixels-only"], "out-clean"
    )
    for fmt in ("text", "json"):
        record(f"explain-{fmt}", ["explain", str(cli.DEFAULT_RECIPE), first, "--format", fmt])
        record(f"explain-invalid-{fmt}", ["explain", str(cli.DEFAULT_RECIPE), s.path("in", "invalid-values.dcm"), "--format", fmt])
        record(f"verify-{fmt}", ["verify", "--original", one, "--deidentified", r("out-leaky-one"), "--format", fmt])
    record("explain-keep-private", ["explain", str(cli.DEFAULT_RECIPE), first, "--keep-private"])
    record("explain-func-raises", ["explain", r("func-raises.dicom"), first, "--functions", r("funcs.py")])
    record("explain-var-missing", ["explain", r("var-missing.dicom"), first, "--ids", r("ids.json"), "--allow", "E215"])
    record("explain-not-dicom", ["explain", str(cli.DEFAULT_RECIPE), s.path("in", "not-dicom.dcm")])
    record("explain-truncated", ["explain", str(cli.DEFAULT_RECIPE), s.path("in", "truncated.dcm")])
    record("verify-default", ["verify", "--original", inp, "--deidentified", r("out-default")])
    for fmt in ("table", "json"):
        record(f"inspect-{fmt}", ["inspect", "--input", inp, "--recipe", r("filters.dicom"), "--format", fmt])
    record("identifiers", ["identifiers", "--input", inp, "--output", r("ids-written.json"), "--recipe", r("var-missing.dicom")])
    # --show-values: the negative controls (values where the CLI promises them)
    record("explain-show", ["explain", str(cli.DEFAULT_RECIPE), first, "--show-values"])
    record("explain-show-json", ["explain", str(cli.DEFAULT_RECIPE), first, "--show-values", "--format", "json"])
    record("verify-show", ["verify", "--original", one, "--deidentified", r("out-leaky-one"), "--show-values"])
    record("verify-show-json", ["verify", "--original", one, "--deidentified", r("out-leaky-one"), "--show-values", "--format", "json"])
    record(
        "run-dry-run-show",
        ["run", "--input", one, "--output", r("out-dry"), "--dry-run", "--report", r("reports-show", "dry.json"), "--show-values"],
        "reports-show",
    )
    record(
        "run-verify-show",
        ["run", "--input", one, "--output", r("out-verify-show"), "--jobs", "1", "--recipe", r("leaky.dicom"), "--verify", "--show-values"],
        "out-verify-show",
    )
    record(
        "run-func-raises-show",
        [
            "run",
            "--input",
            one,
            "--output",
            r("out-func-show"),
            "--jobs",
            "1",
            "--recipe",
            r("func-raises.dicom"),
            "--functions",
            r("funcs.py"),
            "--show-values",
        ],
        "out-func-show",
    )
    record("explain-func-raises-show", ["explain", r("func-raises.dicom"), first, "--functions", r("funcs.py"), "--show-values"])
    # inputs that cannot be right, refused before anything is written (issue 11); the ids hold markers
    (root / "elsewhere-ids.json").write_text(json.dumps({"/elsewhere/x.dcm": {"id": IDS_MARKERS[0], "count": IDS_MARKERS[2]}}), encoding="utf-8")
    record(
        "run-ids-match-none",
        ["run", "--input", inp, "--output", r("out-ids-none"), "--recipe", r("vr-from-ids.dicom"), "--ids", r("elsewhere-ids.json")],
        "out-ids-none",
    )
    record(
        "run-ids-partial-strict",
        ["run", "--input", inp, "--output", r("out-ids-strict"), "--recipe", r("vr-from-ids.dicom"), "--ids", r("ids.json"), "--strict"],
        "out-ids-strict",
    )
    record("run-var-without-ids", ["run", "--input", inp, "--output", r("out-no-ids"), "--recipe", r("vr-from-ids.dicom")], "out-no-ids")
    (root / "empty").mkdir()
    record("run-empty-input", ["run", "--input", r("empty"), "--output", r("out-empty")], "out-empty")
    record(
        "run-quarantine-typo",
        ["run", "--input", inp, "--output", r("out-typo"), "--recipe", r("filters.dicom"), "--clean-pixels", "--quarantine", "graylst"],
        "out-typo",
    )
    record("run-safe-private", ["run", "--input", inp, "--output", r("out-safe-private"), "--option", "retain-safe-private"], "out-safe-private")
    record("run-scheduler-typo", ["run", "--input", inp, "--output", r("out-scheduler"), "--scheduler", "foo"], "out-scheduler")
    import zipfile

    (root / "zipped").mkdir()
    with zipfile.ZipFile(root / "zipped" / f"{canary[0]}.zip", "w") as z:
        z.write(root / "in" / canary[0], canary[0])
    record("run-zip", ["run", "--input", r("zipped"), "--output", r("out-zip"), "--jobs", "1"], "out-zip")
    record("explain-default-recipe", ["explain", first])
    record("explain-swapped", ["explain", first, r("filters.dicom")])
    record("identifiers-empty", ["identifiers", "--input", r("empty"), "--output", r("ids-empty.json")])
    return s


#: Transcripts that show values on purpose, and where.
SHOWN = {
    "explain-show": ("stdout",),
    "explain-show-json": ("stdout",),
    "verify-show": ("stdout",),
    "verify-show-json": ("stdout",),
    "run-dry-run-show": ("reports-show/dry.json",),
    "run-verify-show": ("stderr",),
    "run-func-raises-show": ("stderr",),  # the function's message quotes values; never the manifest
    "explain-func-raises-show": ("stderr",),
}

LABELS = [
    *(f"check-{f}" for f in ("text", "concise", "json", "sarif")),
    "check-strict",
    "check-profile",
    "run-default",
    "run-resumed",
    "run-force-keep-private",
    *(f"run-{n}" for n in ("func-raises", "var-missing", "vr-from-func", "vr-from-ids", "jitter-undone")),
    "run-pixels-quarantine",
    "run-verify",
    "run-strict",
    "run-recipe-errors",
    "run-dry-run",
    "run-progress",
    "run-leaky",
    "clean-pixels-only",
    "explain-text",
    "explain-json",
    "explain-keep-private",
    "explain-invalid-text",
    "explain-invalid-json",
    "explain-func-raises",
    "explain-var-missing",
    "explain-not-dicom",
    "explain-truncated",
    "run-leaky-one",
    "run-leaky-bad",
    "verify-text",
    "verify-json",
    "verify-default",
    "inspect-table",
    "inspect-json",
    "identifiers",
    "run-ids-match-none",
    "run-ids-partial-strict",
    "run-var-without-ids",
    "run-empty-input",
    "run-quarantine-typo",
    "run-safe-private",
    "run-scheduler-typo",
    "run-zip",
    "explain-default-recipe",
    "explain-swapped",
    "identifiers-empty",
]


#: Commands that stop with exit status 2 (a file explain cannot read).
STOPPED = frozenset({"explain-not-dicom", "explain-truncated", "run-scheduler-typo", "explain-swapped"})  # a cut-short file is refused (docs/robustness.md)


def _leaks(scene: Scene, transcript: Transcript, skip: tuple[str, ...] = ()) -> dict[str, list[str]]:
    found = {}
    for where, text in transcript.texts().items():
        if where in skip:
            continue
        markers = scene.markers_in(text)
        if markers:
            found[where] = markers[:5]
    return found


# =========================================================================== no marker anywhere


@pytest.mark.parametrize("label", LABELS)
def test_no_marker_in_what_deidc_prints_or_writes(scene, label):
    t = scene.transcripts[label]
    assert t.code in ((0, 1) if label not in STOPPED else (2,)), f"{label}: exit {t.code}\n{t.err[-2000:]}"
    assert "Traceback" not in t.err and "bug in deid" not in t.err, t.err[-2000:]
    assert not _leaks(scene, t), f"{label} ({' '.join(t.argv[:1])}): element values printed or recorded: {_leaks(scene, t)}"


@pytest.mark.parametrize("label", sorted(SHOWN))
def test_show_values_prints_the_markers_where_promised(scene, label):
    """Negative control: the same search finds the values where --show-values puts them,
    and nowhere else."""
    t = scene.transcripts[label]
    leaks = _leaks(scene, t)
    for where in SHOWN[label]:
        assert where in leaks, f"{label}: --show-values shows no value in {where}: {t.texts()[where][:500]}"
    assert set(leaks) <= set(SHOWN[label]), f"{label}: values outside {SHOWN[label]}: {leaks}"


def test_refusals_happened_and_wrote_nothing(scene):
    """Each input that cannot be right stopped its run (exit 1, a reason, no output folder)."""
    expected = {
        "run-ids-match-none": "has an entry in the ids file",
        "run-ids-partial-strict": "(--strict)",
        "run-var-without-ids": "E215",  # the checker stops it before the preflight check
        "run-empty-input": "no input files found",
        "run-quarantine-typo": "did you mean 'graylist'?",
        "run-safe-private": "add --keep-private",
        "identifiers-empty": "no input files found",
    }
    for label, words in expected.items():
        t = scene.transcripts[label]
        said_so = "nothing was written" in t.err or "no file was read or written" in t.err
        assert t.code == 1 and words in t.err and said_so, (label, t.err)
        assert not t.files, label
    assert "local:N" in scene.transcripts["run-scheduler-typo"].err
    assert "a zip archive" in scene.transcripts["run-zip"].err and scene.transcripts["run-zip"].code == 1
    assert "wrong order" in scene.transcripts["explain-swapped"].err
    assert scene.transcripts["explain-default-recipe"].code == 0
    assert "R001" in scene.transcripts["run-func-raises-show"].err and "the function's message" in scene.transcripts["run-func-raises-show"].err


def test_run_func_raises_show_values_keeps_them_out_of_the_manifest(scene):
    t = scene.transcripts["run-func-raises-show"]
    manifests = {k: v for k, v in t.files.items() if "deidlang-manifest" in k}
    assert len(manifests) == 2 and "R001" in manifests["out-func-show/deidlang-manifest.jsonl"]
    assert not [k for k, v in manifests.items() if scene.markers_in(v)]


def test_run_verify_show_values_keeps_them_out_of_the_manifest(scene):
    t = scene.transcripts["run-verify-show"]
    manifests = {k: v for k, v in t.files.items() if "deidlang-manifest" in k}
    assert len(manifests) == 2
    assert not [k for k, v in manifests.items() if scene.markers_in(v)]
    assert "verify:" in manifests["out-verify-show/deidlang-manifest.jsonl"]


def test_the_identifiers_file_holds_the_values(scene):
    """Negative control: `deidc identifiers` writes values to its output file (documented),
    so the marker search does find them there."""
    text = Path(scene.path("ids-written.json")).read_text(encoding="utf-8")
    assert len(scene.markers_in(text)) > 100


# =========================================================================== every failure happened


def _records(scene: Scene, label: str) -> dict[str, dict]:
    t = scene.transcripts[label]
    lines = next(v for k, v in t.files.items() if k.endswith("deidlang-manifest.jsonl")).splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    key = keys.default_key()[0]
    names = {naming.input_key(key, name): name for name in [*scene.canary, *DAMAGED]}  # the manifest holds keyed digests
    return {names.get(rec["input_key"], rec["input_key"]): rec for rec in records if "input_key" in rec}


def _reasons(scene: Scene, label: str) -> str:
    return "\n".join(r.get("reason") or "" for r in _records(scene, label).values())


@pytest.mark.parametrize(
    "label,expected",
    [
        ("run-func-raises", "R001"),
        ("run-var-missing", "R002"),
        ("run-vr-from-func", "R003"),
        ("run-vr-from-ids", "R003"),
        ("run-jitter-undone", "R00"),
        ("run-pixels-quarantine", "pixels not cleaned"),
        ("run-verify", "verify:"),
    ],
)
def test_each_failure_mode_was_triggered(scene, label, expected):
    reasons = _reasons(scene, label)
    assert expected in reasons, reasons
    assert scene.transcripts[label].code == 1
    assert expected in scene.transcripts[label].err


def test_the_default_run_failed_the_damaged_files_and_wrote_the_rest(scene):
    records = _records(scene, "run-default")
    for name in scene.canary:
        assert records[name]["status"] == "written", records[name]
    for name, status in DAMAGED.items():
        if status is not None:
            assert records[name]["status"] == status, records[name]
    assert scene.transcripts["run-default"].code == 1
    assert "no-preamble.dcm" in scene.transcripts["run-default"].err
    forced = _records(scene, "run-force-keep-private")
    assert forced["no-preamble.dcm"]["status"] == "written"


def test_the_other_commands_met_their_failures(scene):
    t = scene.transcripts
    assert t["check-text"].code == 1 and "error" in t["check-text"].out and "warning" in t["check-text"].out
    assert t["check-strict"].code == 1
    assert t["run-strict"].code == 1 and "--strict" in t["run-strict"].err
    assert t["run-recipe-errors"].code == 1 and "fix the recipe first" in t["run-recipe-errors"].err
    assert t["run-dry-run"].code == 1 and "failed" in t["run-dry-run"].err
    assert "R001" in t["explain-func-raises"].err
    assert "R002" in t["explain-var-missing"].err
    assert "not a DICOM file" in t["explain-not-dicom"].err
    assert "unreadable" in t["inspect-table"].out
    assert t["identifiers"].code == 1 and "failed" in t["identifiers"].err
    assert t["verify-text"].code == 1 and "leak" in t["verify-text"].out
    assert "[" in t["run-progress"].err and "files" in t["run-progress"].err  # the bar did draw
    assert "resumed" in t["run-resumed"].out or "kept" in t["run-resumed"].out
    assert t["clean-pixels-only"].code == 1 and "pixels not cleaned" in t["clean-pixels-only"].err


# =========================================================================== subprocesses


def _subprocess(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONWARNINGS="default", NO_COLOR="1")  # what a user's shell shows
    return subprocess.run([sys.executable, "-m", "deidlang", *argv], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_no_marker_from_a_deidc_process_with_a_process_pool(scene, tmp_path):
    """`deidc run` as users start it: a separate process, worker processes, pydicom's
    warnings shown as Python shows them by default."""
    p = _subprocess(
        "run",
        "--input",
        scene.path("in"),
        "--output",
        str(tmp_path / "out"),
        "--jobs",
        "2",
        "--recipe",
        scene.path("func-raises.dicom"),
        "--recipe",
        str(cli.DEFAULT_RECIPE),
        "--functions",
        scene.path("funcs.py"),
        cwd=tmp_path,
    )
    assert p.returncode == 1, p.stderr[-2000:]
    assert "R001" in p.stderr and "not a DICOM file" in p.stderr
    for where, text in {"stdout": p.stdout, "stderr": p.stderr, **_report_files(tmp_path / "out")}.items():
        assert not scene.markers_in(text), f"{where}: {scene.markers_in(text)[:5]}"


def test_no_marker_from_deidc_check_in_a_process(scene, tmp_path):
    p = _subprocess("check", scene.path("errors.dicom"), "--ids", scene.path("ids.json"), "--format", "sarif", cwd=tmp_path)
    assert p.returncode == 1
    assert not scene.markers_in(p.stdout + p.stderr)


# =========================================================================== leaks found, now fixed (minimal repros)


def test_leak_unknown_transfer_syntax_uid_in_pixel_failure(scene, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    _unknown_syntax_file(source / "x.dcm", Path(scene.path("in", "bad-pixels.dcm")))
    code, out, err = _deidc(["run", "--input", source, "--output", tmp_path / "out", "--jobs", "1", "--recipe", scene.path("filters.dicom"), "--clean-pixels"])
    assert code == 1 and "pixels not cleaned" in err
    texts = {"stdout": out, "stderr": err, **_report_files(tmp_path / "out")}
    assert not {k: scene.markers_in(v) for k, v in texts.items() if scene.markers_in(v)}


@pytest.mark.parametrize(
    "command",
    [
        "explain",
        "dry-run",
        "verify",
    ],
)
def test_leak_pydicom_warnings_quote_invalid_values(scene, tmp_path, command):
    """pydicom warns 'Invalid value for VR IS: <value>' when it converts such an element;
    `deidc run` counts these warnings without showing them, these commands show them."""
    bad = scene.path("in", "invalid-values.dcm")
    if command == "explain":
        argv = ["explain", str(cli.DEFAULT_RECIPE), bad]
    elif command == "dry-run":
        argv = ["run", "--input", bad, "--output", str(tmp_path / "out"), "--dry-run"]
    else:
        argv = ["verify", "--original", scene.path("bad"), "--deidentified", scene.path("out-leaky-bad")]
    p = _subprocess(*argv, cwd=tmp_path)
    assert p.returncode in (0, 1), p.stderr[-2000:]
    assert not scene.markers_in(p.stdout + p.stderr), [line for line in p.stderr.splitlines() if "QZX" in line][:3]
