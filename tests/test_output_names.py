"""Output names without identifying data (issue 11, item 3; deidlang/engine/naming.py).

A PACS export names folders and files after patients, IDs, dates, accession
numbers and UIDs. The tree built here does all of that, for several patients
and studies, in the spellings PACS exports use (``SMITH^JOHN_ID``, ``Smith,
John (ID)``, names run together, dates as 20131210, 2014-02-03, 10.01.2015,
UIDs as file names); every identifying value is taken from the files' own
headers. The tests assert that no output path, manifest line, summary,
report or verify transcript holds any of them, under each layout, with one
and two workers and a Dask cluster, after an interruption, and that
``deidc verify`` finds such names when a tree has them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

from deidlang import cli, engine
from deidlang.engine import naming, verify

sys.path.insert(0, str(Path(__file__).resolve().parent))
import damaged  # noqa: E402

from deidlang.runtime import keys

ROOT = Path(__file__).resolve().parent.parent
UID = "1.2.826.0.1.3680043.10.1007.11."
HEX = re.compile(r"^[0-9a-f]{16}$")

#: (folder path, file name, header values) of the PACS export; "{sop}" in a name is the file's SOPInstanceUID.
PATIENT_A = {"PatientName": "WATERFALL^NAMELESS", "PatientID": "cookie-47", "PatientBirthDate": "19700412"}
PATIENT_B = {"PatientName": "BROOK^ALDA", "PatientID": "Z-99120", "PatientBirthDate": "19811105"}
PATIENT_C = {"PatientName": "QUILLFEATHER^BASTIAN", "PatientID": "QF100027", "PatientBirthDate": "19620314"}
PATIENT_D = {"PatientName": "OSTROWSKA^MAGDALENA", "PatientID": "PX-31415", "PatientBirthDate": "19590921"}
STUDY_A1 = {"StudyDate": "20131210", "AccessionNumber": "ACC80021", "StudyInstanceUID": UID + "1"}
STUDY_A2 = {"StudyDate": "20140203", "AccessionNumber": "ACC55121", "StudyInstanceUID": UID + "2"}
STUDY_B1 = {"StudyDate": "20150110", "AccessionNumber": "ACC71133", "StudyInstanceUID": UID + "3"}
STUDY_C1 = {"StudyDate": "20160229", "AccessionNumber": "ACC90001", "StudyInstanceUID": UID + "4"}
STUDY_D1 = {"StudyDate": "20170707", "AccessionNumber": "ACC12021", "StudyInstanceUID": UID + "5"}
TREE = [
    ("WATERFALL^NAMELESS_cookie-47/20131210_CT", "cookie-47_IM0001.dcm", {**PATIENT_A, **STUDY_A1}),
    ("WATERFALL^NAMELESS_cookie-47/20131210_CT", "cookie-47_IM0002.dcm", {**PATIENT_A, **STUDY_A1}),
    # a presentation state of another system in the same folder: no name, its own ID and date
    (
        "WATERFALL^NAMELESS_cookie-47/20131210_CT",
        "AAA_PR0001.dcm",
        {"PatientName": "", "PatientID": "PS-0001", "StudyDate": "20000102", "StudyInstanceUID": UID + "9"},
    ),
    ("WATERFALL^NAMELESS_cookie-47/2014-02-03 MR/ACC55121", "IM1.dcm", {**PATIENT_A, **STUDY_A2}),
    ("Brook, Alda (Z-99120)/10.01.2015", "{sop}.dcm", {**PATIENT_B, **STUDY_B1}),
    # an ultrasound image the default recipe holds back with --quarantine blacklist
    ("Brook, Alda (Z-99120)/10.01.2015", "{sop}.dcm", {**PATIENT_B, **STUDY_B1, "Modality": "US"}),
    ("quillfeatherbastian_19620314/CR_2016_02_29", "image.dcm", {**PATIENT_C, **STUDY_C1}),
    ("misc/series_001", "image.dcm", {**PATIENT_D, **STUDY_D1}),
]
#: Names of the tree that hold no identifying value: they are kept as they are.
PLAIN = ("misc", "series_001", "image.dcm", "AAA_PR0001.dcm", "IM1.dcm")


def build(root: Path) -> list[Path]:
    """The PACS-style tree under ``root`` (the same bytes on every call)."""
    made = []
    for n, (folder, name, values) in enumerate(TREE, start=1):
        sop = f"{UID}{100 + n}"
        ds = damaged.base_dataset(
            n,
            SOPInstanceUID=sop,
            SeriesInstanceUID=values.get("StudyInstanceUID", UID) + ".1",
            OtherPatientNames="",
            ReferringPhysicianName="HALLORAN^PERPETUA",
            **values,
        )
        path = root / folder / name.replace("{sop}", sop)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(damaged.dicom_bytes(ds))
        made.append(path)
    return made


def identifying(files) -> set[str]:
    """Every identifying value of the files, read from their headers: names and their
    parts, IDs, accession numbers, dates (in the spellings of the tree), UIDs."""
    found: set[str] = set()
    for path in files:
        ds = pydicom.dcmread(path)
        name = str(ds.get("PatientName") or "")
        if name:
            found.add(name)
            found.update(part for part in re.split(r"[\^ ]+", name) if len(part) >= 3)
        for keyword in ("PatientID", "AccessionNumber", "OtherPatientNames", "ReferringPhysicianName"):
            value = str(ds.get(keyword) or "")
            if len(value) >= 4:
                found.add(value)
                found.update(part for part in re.split(r"[\^ ]+", value) if len(part) >= 4)
        for keyword in ("StudyDate", "SeriesDate", "PatientBirthDate"):
            d = str(ds.get(keyword) or "")
            if len(d) == 8 and d not in ("20000102",):
                found.update({d, f"{d[:4]}-{d[4:6]}-{d[6:]}", f"{d[6:]}.{d[4:6]}.{d[:4]}", f"{d[:4]}_{d[4:6]}_{d[6:]}"})
        for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            found.add(str(ds.get(keyword)))
    return {v.lower() for v in found}


def holding(text: str, values: set[str]) -> list[str]:
    low = text.lower()
    return sorted(v for v in values if v in low)


def run(*argv, env: dict | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def tree(root: Path) -> list[str]:
    """Every file and folder under ``root`` (relative, '/'), the manifest's files aside."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.name not in (engine.MANIFEST, engine.MANIFEST_RECORDS))


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.dcm"))}


def texts(out: Path) -> str:
    """Every text file a run left in its output folder (manifests, reports)."""
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(out.rglob("*")) if p.suffix in (".json", ".jsonl"))


@pytest.fixture(scope="module")
def pacs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("export") / "pacs"
    build(root)
    return root


@pytest.fixture(scope="module")
def values(pacs) -> set[str]:
    found = identifying(sorted(pacs.rglob("*.dcm")))
    assert {"waterfall", "nameless", "cookie-47", "z-99120", "acc55121", "2014-02-03", "10.01.2015", "19620314"} <= found
    return found


@pytest.fixture(scope="module")
def default_run(pacs, tmp_path_factory):
    out = tmp_path_factory.mktemp("default") / "out"
    code, stdout, err = run("run", "--input", pacs, "--output", out, "--jobs", "1", "--quarantine", "blacklist")
    assert code == 0, err
    assert "7 written, 1 quarantined" in stdout
    return out, stdout, err


# =========================================================================== the PACS tree


def test_the_export_itself_is_full_of_identifying_names(pacs, values):
    """A control: the check below would find the values in the input tree."""
    assert len(holding("\n".join(tree(pacs)), values)) > 10


def test_no_output_name_manifest_line_or_summary_holds_an_identifying_value(default_run, values):
    out, stdout, err = default_run
    names = tree(out)
    assert len([n for n in names if n.endswith(".dcm")]) == len(TREE)
    report = out / engine.QUARANTINE_DIR / engine.QUARANTINE_REPORT
    assert len(json.loads(report.read_text(encoding="utf-8"))["files"]) == 1  # a report with an entry (checked below)
    assert holding("\n".join(names), values) == []
    assert holding(texts(out), values) == []
    assert holding(stdout, values) == [] and holding(err, values) == []
    head = json.loads((out / engine.MANIFEST).read_text(encoding="utf-8"))
    assert head["layout"] == "mirror" and all(set(r) == {"name_key"} for r in head["inputs"])
    for rec in map(json.loads, (out / engine.MANIFEST_RECORDS).read_text(encoding="utf-8").splitlines()):
        assert "input" not in rec and re.fullmatch(r"[0-9a-f]{32}", rec["input_key"])


def test_names_that_hold_nothing_are_kept_and_the_rest_are_pseudonyms(default_run):
    out, stdout, _ = default_run
    assert (out / "misc" / "series_001" / "image.dcm").is_file()
    for name in tree(out):
        for part in name.split("/"):
            assert part in (*PLAIN, engine.QUARANTINE_DIR, engine.QUARANTINE_REPORT) or HEX.match(part.removesuffix(".dcm")), name
    # 3 patient folders, 4 study folders, 1 accession folder; 2 IDs and 2 UIDs in file names
    assert "output names: 8 folder names and 4 file names held identifying values of their files: replaced by keyed pseudonyms" in stdout


def test_the_files_of_one_folder_stay_together(default_run, pacs):
    """The presentation state has neither the name nor the date of its folder: it still
    goes where its neighbours go (the folder is renamed for all of them)."""
    out, _, _ = default_run
    key = keys.default_key()[0]
    folder = [naming.pseudonym(key, "WATERFALL^NAMELESS_cookie-47"), naming.pseudonym(key, "20131210_CT")]
    assert sorted(p.name for p in out.joinpath(*folder).iterdir()) == sorted(
        ["AAA_PR0001.dcm", naming.pseudonym_name(key, "cookie-47_IM0001.dcm"), naming.pseudonym_name(key, "cookie-47_IM0002.dcm")]
    )


def test_the_same_names_on_every_run_with_any_number_of_workers(default_run, pacs, tmp_path):
    out, _, _ = default_run
    assert run("run", "--input", pacs, "--output", tmp_path / "two", "--jobs", "2", "--quarantine", "blacklist")[0] == 0
    assert tree(tmp_path / "two") == tree(out)
    assert files(tmp_path / "two") == files(out)


def test_a_dask_cluster_gives_the_same_names(default_run, pacs, tmp_path):
    pytest.importorskip("distributed")
    out, _, _ = default_run
    code, _, err = run("run", "--input", pacs, "--output", tmp_path / "dask", "--scheduler", "local:2", "--quarantine", "blacklist")
    assert code == 0, err
    assert tree(tmp_path / "dask") == tree(out)


def test_another_key_gives_other_names(default_run, pacs, tmp_path):
    out, _, _ = default_run
    key_file = tmp_path / "other.key"
    key_file.write_text("0123456789abcdef" * 4, encoding="ascii")
    assert run("run", "--input", pacs, "--output", tmp_path / "other", "--jobs", "1", "--key-file", key_file)[0] == 0
    other = tree(tmp_path / "other")
    assert "misc/series_001/image.dcm" in other
    assert set(other) & set(tree(out)) == {"misc", "misc/series_001", "misc/series_001/image.dcm"}


def test_dry_run_shows_the_planned_names_without_identifying_values(default_run, pacs, values, tmp_path):
    out, _, _ = default_run
    report = tmp_path / "dry.json"
    code, stdout, err = run("run", "--input", pacs, "--output", tmp_path / "dry", "--dry-run", "--report", report)
    assert code == 0, err
    planned = [line.split(": would ")[0] for line in stdout.splitlines() if ": would " in line]
    assert sorted(planned) == sorted(n.removeprefix("quarantine/") for n in tree(out) if n.endswith(".dcm"))
    assert holding(stdout + err + report.read_text(encoding="utf-8"), values) == []
    assert not (tmp_path / "dry").exists()


def test_verify_pairs_the_renamed_outputs_and_finds_nothing(default_run, pacs, values):
    out, _, _ = default_run
    for fmt in ("text", "json"):
        code, stdout, err = run("verify", "--original", pacs, "--deidentified", out, "--format", fmt)
        assert code == 0, stdout + err
        assert holding(stdout + err, values) == []
    assert f"verify: {len(TREE)} files checked: no identifying value" in run("verify", "--original", pacs, "--deidentified", out)[1]


def test_verify_needs_the_runs_key_to_pair(default_run, pacs, tmp_path):
    out, _, _ = default_run
    key_file = tmp_path / "wrong.key"
    key_file.write_text("f" * 64, encoding="ascii")
    code, _, err = run("verify", "--original", pacs, "--deidentified", out, "--key-file", key_file)
    assert code == 2 and "the run's key" in err and "--key-file" in err


def test_verify_flags_identifying_names_and_masks_them(pacs, values, tmp_path):
    """A tree that kept the export's names (as deidlang did before; as other tools do):
    every such name is a leak, at <output path>; the report does not repeat the names."""
    kept = tmp_path / "kept"
    assert run("run", "--input", pacs, "--output", tmp_path / "deid", "--layout", "pseudonym", "--jobs", "1")[0] == 0
    key = keys.default_key()[0]
    for src in sorted(pacs.rglob("*.dcm")):  # the de-identified files back under the input names
        rel = src.relative_to(pacs)
        pseudo = [naming.pseudonym(key, p) for p in rel.parts[:-1]] + [naming.pseudonym_name(key, rel.name)]
        (kept / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "deid" / Path(*pseudo), kept / rel)
    code, stdout, err = run("verify", "--original", pacs, "--deidentified", kept)
    assert code == 1
    assert holding(stdout + err, values) == []
    assert "<output path> folder 1: PatientName" in stdout and "<output path> file name: PatientID" in stdout
    assert f"{verify.MASK}" in stdout
    report = json.loads(run("verify", "--original", pacs, "--deidentified", kept, "--format", "json")[1])
    in_paths = [leak for leak in report["leaks"] if leak["element"] == verify.PATH_ELEMENT]
    assert {leak["path"] for leak in in_paths} >= {"folder 1", "folder 2", "file name"}
    assert all("value" not in leak for leak in in_paths)
    shown = run("verify", "--original", pacs, "--deidentified", kept, "--show-values")[1]
    assert "WATERFALL^NAMELESS_cookie-47" in shown  # asked for: the values and the real paths


@pytest.mark.parametrize("layout", ["mirror", "dicom"])
def test_a_resumed_run_gives_the_uninterrupted_names(pacs, values, tmp_path, layout):
    """A run killed (SIGKILL) after three files, run again: the names and bytes of an
    uninterrupted run, the finished files skipped (the dicom layout finds them by input key)."""
    reference = tmp_path / "reference"
    assert run("run", "--input", pacs, "--output", reference, "--jobs", "1", "--layout", layout)[0] == 0
    again = tmp_path / "again"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEIDLANG_TEST_")}
    args = [sys.executable, "-m", "deidlang", "run", "--input", str(pacs), "--output", str(again), "--jobs", "1", "--layout", layout]
    killed = subprocess.run(args, env={**env, "DEIDLANG_TEST_KILL_AFTER": "3"}, cwd=ROOT, capture_output=True, timeout=120, check=False)
    assert killed.returncode == -signal.SIGKILL
    done = len((again / engine.MANIFEST_RECORDS).read_text(encoding="utf-8").splitlines())
    assert 3 <= done < len(TREE)
    assert holding(texts(again) + "\n".join(tree(again)), values) == []
    finished = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert finished.returncode == 0, finished.stderr
    assert f"{done} files already complete" in finished.stdout
    assert files(again) == files(reference)
    assert tree(again) == tree(reference)  # no folder left over


# =========================================================================== the other layouts


def test_pseudonym_layout_names_everything(pacs, values, tmp_path):
    out = tmp_path / "out"
    code, stdout, _ = run("run", "--input", pacs, "--output", out, "--layout", "pseudonym", "--jobs", "1")
    assert code == 0 and "every folder and file name is a keyed pseudonym" in stdout
    names = tree(out)
    assert all(HEX.match(part.removesuffix(".dcm")) for name in names for part in name.split("/"))
    shape = sorted(str(p.relative_to(pacs)).count(os.sep) for p in pacs.rglob("*.dcm"))
    assert sorted(n.count("/") for n in names if n.endswith(".dcm")) == shape  # the tree keeps its shape
    assert holding("\n".join(names) + texts(out), values) == []


def test_dicom_layout_names_from_the_deidentified_header(pacs, values, tmp_path):
    out = tmp_path / "out"
    code, stdout, err = run("run", "--input", pacs, "--output", out, "--layout", "dicom", "--jobs", "2")
    assert code == 0, err
    assert "patient/study/series/instance from the de-identified headers" in stdout
    written = sorted(out.rglob("*.dcm"))
    assert len(written) == len(TREE)
    for path in written:
        ds = pydicom.dcmread(path)
        assert path.relative_to(out).parts == (ds.PatientID, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID + ".dcm")
    assert holding("\n".join(tree(out)) + texts(out), values) == []
    again = run("run", "--input", pacs, "--output", out, "--layout", "dicom", "--jobs", "1")
    assert again[0] == 0 and f"{len(TREE)} files already complete" in again[1]  # resumed by input key
    assert run("verify", "--original", pacs, "--deidentified", out)[0] == 0


def test_dicom_layout_keeps_no_original_uid_in_a_name(pacs, values, tmp_path):
    """With retain-uids the de-identified header still has the original UIDs: they are
    identifying values of the original, so those names become pseudonyms."""
    out = tmp_path / "out"
    code, stdout, err = run("run", "--input", pacs, "--output", out, "--layout", "dicom", "--option", "retain-uids", "--jobs", "1")
    assert code == 0, err
    assert holding("\n".join(tree(out)), values) == []
    assert pydicom.dcmread(next(out.rglob("*.dcm"))).SOPInstanceUID.startswith(UID)  # the UIDs were kept inside
    assert "held identifying values: replaced by keyed pseudonyms" in stdout


def test_dicom_layout_missing_uids_clashes_and_case(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    recipe = tmp_path / "keep-ids.dicom"
    recipe.write_text("FORMAT dicom\n%header\nREPLACE PatientName ANONYMOUS\n", encoding="utf-8")

    def put(name: str, n: int, **values) -> None:
        (src / name).write_bytes(damaged.dicom_bytes(damaged.base_dataset(n, **values)))

    put("a.dcm", 1, PatientID="abc123x")
    put("b.dcm", 1, PatientID="abc123x")  # the same SOPInstanceUID: a clash
    put("c.dcm", 2, PatientID="ABC123X")  # another patient whose ID differs only in case
    ds = pydicom.dcmread(io.BytesIO(damaged.dicom_bytes(damaged.base_dataset(3, PatientID="no-uids"))))
    for keyword in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"):
        delattr(ds, keyword)
    del ds.file_meta.MediaStorageSOPInstanceUID
    ds.save_as(src / "d.dcm", enforce_file_format=False)
    out = tmp_path / "out"
    code, _, err = run("run", "--recipe", recipe, "--input", src, "--output", out, "--layout", "dicom", "--jobs", "1")
    assert code == 0, err
    names = [n for n in tree(out) if n.endswith(".dcm")]
    key = keys.default_key()[0]
    # IDs and UIDs are the originals' (the recipe keeps them): each is a pseudonym
    patient, patient_upper = naming.pseudonym(key, "abc123x"), naming.pseudonym(key, "ABC123X")
    first = [n for n in names if n.startswith(patient + "/")]
    assert len(first) == 2 and sorted(n.rsplit("/", 1)[1].removesuffix(".dcm")[-2:] for n in first)[0] == "-2"
    assert any(n.startswith(patient_upper + "/") for n in names)
    missing = [n for n in names if n.split("/")[1] == "no-study-uid"]
    assert len(missing) == 1 and missing[0].split("/")[2] == "no-series-uid"
    assert HEX.match(missing[0].rsplit("/", 1)[1].removesuffix(".dcm"))  # no SOPInstanceUID: a pseudonym of the input


def test_dicom_layout_folders_that_differ_only_in_case(tmp_path):
    """PatientIDs that differ only in case would share a folder on a file system that
    ignores case: the second spelling gets its own name, on every file system."""
    src = tmp_path / "in"
    src.mkdir()
    recipe = tmp_path / "ids.dicom"
    recipe.write_text("FORMAT dicom\n%header\nREPLACE PatientID var:id\nREPLACE PatientName ANONYMOUS\n", encoding="utf-8")
    ids = {}
    for n, pid in enumerate(("SUBJ-a", "SUBJ-A"), start=1):
        path = src / f"{n}.dcm"
        path.write_bytes(damaged.dicom_bytes(damaged.base_dataset(n)))
        ids[str(path)] = {"id": pid}
    (tmp_path / "ids.json").write_text(json.dumps(ids), encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = run("run", "--recipe", recipe, "--ids", tmp_path / "ids.json", "--input", src, "--output", out, "--layout", "dicom", "--jobs", "1")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["SUBJ-A-2", "SUBJ-a"]


# =========================================================================== names themselves


@pytest.fixture(scope="module")
def sample():
    return damaged.base_dataset(
        1,
        PatientName="SMITH^JOHN^Q^^MR",
        PatientID="MRN-20931",
        AccessionNumber="A77120",
        StudyDate="20131210",
        PatientBirthDate="19700412",
        OtherPatientIDs=["OLD-55123", "MRN-77881"],
    )


@pytest.mark.parametrize(
    "name, found",
    [
        ("SMITH^JOHN_MRN-20931", True),
        ("Smith John", True),
        ("smithjohn", True),  # run together
        ("JOHN", True),
        ("JOHNSON", False),  # a short part stands apart from letters
        ("JOHN2", True),
        ("MR_brain", False),  # titles and two letters are not looked for
        ("20131210_CT", True),
        ("2013-12-10", True),
        ("2013_12_10", True),
        ("10.12.2013", True),
        ("12102013", True),
        ("x19700412", True),
        ("2013", False),
        ("series_001", False),
        ("A77120", True),
        ("x_MRN-77881", True),  # the second of several values
        (damaged.UID_ROOT + "1001.dcm", True),  # the SOPInstanceUID
        ("IM0001.dcm", False),
    ],
)
def test_which_names_hold_an_identifying_value(sample, name, found):
    raw = pydicom.dcmread(io.BytesIO(damaged.dicom_bytes(sample)))
    assert bool(naming.flags(raw, [name])) is found
    check = naming.NameCheck(naming.path_identifiers(raw))
    assert bool(check.hits(name)) is found  # the quick look at raw bytes decides as the full check
    converted = pydicom.dcmread(io.BytesIO(damaged.dicom_bytes(sample)))
    for tag in list(converted.keys()):
        converted[tag]  # noqa: B018 - converts the element
    assert bool(naming.flags(naming.snapshot(converted), [name])) is found  # and so on converted elements


def test_the_quick_look_agrees_with_the_full_check(pacs):
    """Over the demo data, the tree above and pydicom's character set files (names in
    other scripts, ISO 2022 escapes), the look at raw bytes flags what the full check flags."""
    from pydicom.data import get_charset_files

    names = [
        "ORCHARD^MAREN_FMH-204418",
        "2024-06-11",
        "Brøndum Astrid",
        "ACC24061101",
        "patient-001",
        "ct-chest",
        "1.2.826.0.1.3680043.8.498.90048517076750444901709269782683684010.dcm",
        "QUILLFEATHER",
        "mr-knee",
    ]
    for path in [*sorted(cli.DEMO_DIR.rglob("*.dcm")), *sorted(pacs.rglob("*.dcm")), *sorted(get_charset_files("*.dcm"))]:
        ds = naming.read_header(str(path))
        person = str(pydicom.dcmread(path, stop_before_pixels=True).get("PatientName") or "")
        more = [person, person.replace("^", "_"), "x_" + person.split("=")[-1].replace("^", "") + ".dcm", "Yamada", "Jérôme"]
        assert naming.flags(ds, names + more) == naming.NameCheck(naming.path_identifiers(ds)).flags(names + more), path
        assert not [e for t, e in ds._dict.items() if t != 0x00080005 and type(e).__name__ != "RawDataElement"]  # nothing converted


def test_long_names_become_short_pseudonyms(tmp_path):
    src = tmp_path / "in"
    long_folder = "export_" + "x" * 200 + "_SMITH^JOHN"
    plain_folder = "y" * 240
    for n, folder in enumerate((long_folder, plain_folder), start=1):
        (src / folder).mkdir(parents=True)
        (src / folder / f"{'z' * 230}_SMITH.dcm").write_bytes(damaged.dicom_bytes(damaged.base_dataset(n, PatientName="SMITH^JOHN")))
    out = tmp_path / "out"
    assert run("run", "--input", src, "--output", out, "--jobs", "1")[0] == 0
    names = tree(out)
    key = keys.default_key()[0]
    assert naming.pseudonym(key, long_folder) in names and plain_folder in names
    assert all(len(part) <= 24 for name in names if name.endswith(".dcm") for part in name.split("/")[-1:])


def test_pseudonyms_and_input_keys_are_keyed():
    a, b = keys.key_from_text("a" * 32), keys.key_from_text("b" * 32)
    assert naming.pseudonym(a, "SMITH") == naming.pseudonym(a, "SMITH") != naming.pseudonym(b, "SMITH")
    assert naming.pseudonym_name(a, "x.DCM").endswith(".DCM") and "." not in naming.pseudonym_name(a, "x.SMITH")
    assert naming.input_key(a, "p/x.dcm") != naming.input_key(b, "p/x.dcm")
    assert naming.input_key(a, "latin1-\udce9.dcm") == naming.input_key(a, "latin1-\udce9.dcm")  # not UTF-8: still a key


@pytest.mark.parametrize(
    "text, safe",
    [("2.25.123", "2.25.123"), ("a/b\\c", "a_b_c"), ("..", ""), ("CON", "_CON"), ("nul.txt", "_nul.txt"), (" ", ""), ("x" * 80, "x" * 64)],
)
def test_safe_components(text, safe):
    assert naming.safe_component(text) == safe


def test_the_header_scan_reads_the_elements_pydicom_reads():
    """:func:`naming.top_elements` (the first pass's reader: top-level elements only,
    sequences stepped over) gives the very bytes pydicom reads, on every local test file
    it takes; the others are left to the batch's reader."""
    import glob

    from pydicom.data import get_testdata_file

    folder = os.path.dirname(get_testdata_file("CT_small.dcm"))
    taken = 0
    for path in [*sorted(glob.glob(os.path.join(folder, "*.dcm"))), *sorted(cli.DEMO_DIR.rglob("*.dcm"))]:
        data = Path(path).read_bytes()
        top = naming.top_elements(data)
        if top is None:
            continue
        try:
            full = pydicom.dcmread(io.BytesIO(data))
        except Exception:  # noqa: BLE001 - a file pydicom refuses: nothing to compare
            continue
        taken += 1
        tags = naming._path_tags()
        want = {t: bytes(e.value) for t, e in full._dict.items() if t in tags and type(e).__name__ == "RawDataElement" and e.value}
        got = {t: bytes(e.value) for t, e in top._dict.items() if e.value and t != 0x00080005}
        assert got == want, path
    assert taken > 50
