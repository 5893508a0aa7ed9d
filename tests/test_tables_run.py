"""Lookup tables through ``deidc`` and the batch engine: the missing-row policies through
``run``, a Dask cluster of two worker processes (what ``--scheduler local:2`` starts) and
the Python API; the linkage file; nothing identifying in the manifest or the messages
(the canary corpus with a table); the same values whatever the file order and the
number of workers; ``identifiers --keys``; ``check --input`` and ``run --dry-run``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import shutil
import stat
import sys
from pathlib import Path

import pydicom
import pytest

import deidlang
from deidlang import cli, engine
from deidlang.runtime import extras, keyed, keys
from deidlang.tables import load_tables

sys.path.insert(0, str(Path(__file__).resolve().parent))
from canary import build_corpus, find_markers, recipe_keywords  # noqa: E402

KEY_TEXT = "table-tests-key-0123456789abcdef"
KEY = keys.key_from_text(KEY_TEXT)
#: The demo data's patients: two are enrolled, FMH-318805 (3 files) is not.
ENROLLED = {"FMH-100027": ("SUB-001", -120), "FMH-204418": ("SUB-002", 37)}
MISSING = "FMH-318805"
TABLE_RECIPE = """FORMAT dicom

%header
KEEP PatientID deid_func:lookup table=subjects key=PatientID column=subject_id
KEEP PatientName deid_func:lookup table=subjects key=PatientID column=subject_id
KEEP StudyDate deid_func:dateshift table=subjects key=PatientID column=day_offset
"""
VALUES = ("PatientID", "PatientName", "StudyDate", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("DEIDLANG_KEY", KEY_TEXT)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("tables")
    table = root / "subjects.csv"
    with open(table, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["PatientID", "subject_id", "day_offset"])
        for pid, (sub, days) in ENROLLED.items():
            writer.writerow([pid, sub, days])
    recipe = root / "tables.dicom"
    recipe.write_text(TABLE_RECIPE, encoding="utf-8")
    demo = root / "demo"
    shutil.copytree(cli.DEMO_DIR, demo)
    return {"table": table, "recipe": recipe, "demo": demo, "root": root}


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    ) as c:
        yield c


def originals(folder: Path) -> dict[str, str]:
    """Each input's PatientID by file name."""
    return {p.name: str(pydicom.dcmread(p).PatientID) for p in sorted(folder.rglob("*.dcm"))}


def values(folder: Path) -> set[tuple]:
    return {tuple(str(pydicom.dcmread(p).get(k, "")) for k in VALUES) for p in sorted(folder.rglob("*.dcm"))}


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*.dcm"))}


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def run_args(files: dict, out: Path, *more: str) -> list[str]:
    return [
        "run",
        "--recipe",
        str(files["recipe"]),
        "--recipe",
        str(cli.DEFAULT_RECIPE),
        "--input",
        str(files["demo"]),
        "--output",
        str(out),
        "--table",
        f"subjects={files['table']}",
        *more,
    ]


def programs(files: dict, policy: str):
    tables = load_tables({"subjects": str(files["table"])}, policy)
    loaded = [deidlang.compile(Path(p).read_text(encoding="utf-8"), path=str(p), tables=tables) for p in (files["recipe"], cli.DEFAULT_RECIPE)]
    return tables, [keyed.bind(p, KEY) for p in extras.chain(loaded)]


# --------------------------------------------------------------------------- the policies


@pytest.mark.parametrize("where", ["jobs1", "jobs2", "dask"])
def test_fail_policy_writes_nothing_for_a_missing_row(files, tmp_path, where, request):
    tables, progs = programs(files, "fail")
    out = tmp_path / "out"
    scheduler = request.getfixturevalue("cluster").scheduler_address if where == "dask" else None
    job = engine.Job(
        tuple(progs), str(out), inputs=(str(files["demo"]),), options=engine.Options(tables=tables), jobs=2 if where == "jobs2" else 1, scheduler=scheduler
    )
    results = list(engine.run(job))
    failed = [r for r in results if r.status == "failed"]
    assert len(failed) == 3 and len(results) == 10
    for r in failed:
        assert "R006 table 'subjects' has no row for this file's PatientID" in r.reason and MISSING not in r.reason
        assert not (out / r.relative).exists()
    assert {v[0] for v in values(out)} == {"SUB-001", "SUB-002"}


@pytest.mark.parametrize("where", ["jobs1", "dask"])
def test_quarantine_policy_holds_the_files_with_keyed_fallbacks(files, tmp_path, where, request):
    tables, progs = programs(files, "quarantine")
    out = tmp_path / "out"
    scheduler = request.getfixturevalue("cluster").scheduler_address if where == "dask" else None
    job = engine.Job(tuple(progs), str(out), inputs=(str(files["demo"]),), options=engine.Options(tables=tables), scheduler=scheduler)
    run_ = engine.prepare(job)
    results = list(run_.results())
    held = [r for r in results if r.status == "quarantined"]
    assert len(held) == 3 and sum(r.status == "written" for r in results) == 7
    for r in held:
        assert r.output.startswith(str(out / engine.QUARANTINE_DIR))
        assert "table 'subjects' has no row for its PatientID" in r.note
        assert str(pydicom.dcmread(r.output).PatientID) == keys.hash_id(KEY, MISSING)
    assert not (out / "patient-002").exists()
    report = engine.write_quarantine_report(str(out), run_.summary.held)
    assert MISSING not in Path(report).read_text(encoding="utf-8")


def test_quarantine_policy_through_deidc(files, tmp_path, capsys):
    code, out, err = run(run_args(files, tmp_path / "out", "--on-missing", "quarantine"), capsys)
    assert code == 0, err
    assert "10 files processed: 7 written, 3 quarantined" in out
    report = json.loads((tmp_path / "out" / engine.QUARANTINE_DIR / engine.QUARANTINE_REPORT).read_text(encoding="utf-8"))
    assert len(report["files"]) == 3
    assert MISSING not in out + err + json.dumps(report)


def test_hash_policy_through_deidc_local_and_dask(files, tmp_path, capsys):
    outs = {}
    for name, extra in (("local", ["--jobs", "2"]), ("dask", ["--scheduler", "local:2"])):
        outs[name] = tmp_path / name
        code, out, err = run(run_args(files, outs[name], "--on-missing", "hash", *extra), capsys)
        assert code == 0, err
        assert "10 files processed: 10 written" in out and "3 files had no row in a table and got keyed fallbacks" in out
        records = [json.loads(line) for line in (outs[name] / engine.MANIFEST_RECORDS).read_text(encoding="utf-8").splitlines()]
        assert sum(r.get("fallbacks") == ["subjects:PatientID"] for r in records) == 3
        assert MISSING not in (outs[name] / engine.MANIFEST_RECORDS).read_text(encoding="utf-8") + out + err
        head = json.loads((outs[name] / engine.MANIFEST).read_text(encoding="utf-8"))
        assert head["options"]["tables"]["on_missing"] == "hash"
    assert digests(outs["local"]) == digests(outs["dask"])
    assert keys.hash_id(KEY, MISSING) in {v[0] for v in values(outs["local"])}


def test_fail_policy_through_deidc(files, tmp_path, capsys):
    code, out, err = run(run_args(files, tmp_path / "out"), capsys)
    assert code == 1
    assert "10 files processed: 7 written, 0 skipped, 3 failed" in out
    assert "R006 table 'subjects' has no row for this file's PatientID" in err
    assert MISSING not in out + err


def test_a_recipe_that_names_a_table_not_given_does_not_run(files, tmp_path, capsys):
    argv = run_args(files, tmp_path / "out")
    argv = argv[: argv.index("--table")]
    code, _, err = run(argv, capsys)
    assert code == 1 and "E217" in err and "table 'subjects' is not given" in err
    assert not (tmp_path / "out").exists()


def test_a_changed_table_redoes_the_outputs(files, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(run_args(files, out, "--on-missing", "hash"), capsys)[0] == 0
    assert run(run_args(files, out, "--on-missing", "hash"), capsys)[1].count("already complete") == 1  # resumed
    table = tmp_path / "more.csv"
    table.write_text(files["table"].read_text(encoding="utf-8") + f"{MISSING},SUB-003,5\n", encoding="utf-8")
    argv = run_args(files, out, "--on-missing", "hash")
    argv[argv.index(f"subjects={files['table']}")] = f"subjects={table}"
    code, text, _ = run(argv, capsys)
    assert code == 0 and "already complete" not in text  # another table: another run
    assert "SUB-003" in {v[0] for v in values(out)}


# --------------------------------------------------------------------------- linkage


def test_linkage_file_content_mode_and_place(files, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run(run_args(files, out, "--on-missing", "hash", "--linkage", str(out / "link.csv")), capsys)
    assert code == 2 and "inside the output folder" in err and not out.exists()
    link = tmp_path / "broker" / "link.csv"
    code, text, err = run(run_args(files, out, "--on-missing", "hash", "--linkage", str(link)), capsys)
    assert code == 0, err
    assert stat.S_IMODE(link.stat().st_mode) == 0o600
    rows = list(csv.DictReader(link.open(encoding="utf-8")))
    kinds = {r["kind"] for r in rows}
    assert {"PatientID", "PatientName", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "day offset (PatientID)"} <= kinds
    by = {(r["kind"], r["original"]): r["replacement"] for r in rows}
    assert by[("PatientID", "FMH-204418")] == "SUB-002"
    assert by[("day offset (PatientID)", "FMH-204418")] == "37"
    assert by[("PatientID", MISSING)] == keys.hash_id(KEY, MISSING)
    for p in out.rglob("*.dcm"):  # every output UID is in the linkage file
        assert (("SOPInstanceUID", str(pydicom.dcmread(p).SOPInstanceUID)) not in by) and str(pydicom.dcmread(p).SOPInstanceUID) in {
            r["replacement"] for r in rows
        }
    assert "linkage:" in text and str(link) in text
    # a second run into the same linkage file adds nothing twice
    before = link.read_text(encoding="utf-8")
    assert run(run_args(files, tmp_path / "again", "--on-missing", "hash", "--linkage", str(link)), capsys)[0] == 0
    assert link.read_text(encoding="utf-8") == before


def test_a_changed_table_is_reported_against_the_linkage_file(files, tmp_path, capsys):
    """A later run whose table gives an enrolled patient another subject ID: the file keeps the
    first row, and the run says how many originals of which kind now have another replacement
    (never the values)."""
    link = tmp_path / "broker" / "link.csv"
    assert run(run_args(files, tmp_path / "first", "--on-missing", "hash", "--linkage", str(link)), capsys)[0] == 0
    before = link.read_text(encoding="utf-8")
    changed = dict(files)
    changed["table"] = tmp_path / "subjects-v2.csv"
    rows = [["PatientID", "subject_id", "day_offset"], ["FMH-100027", "SUB-901", -120], ["FMH-204418", "SUB-002", 37]]
    with open(changed["table"], "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    code, text, err = run(run_args(changed, tmp_path / "second", "--on-missing", "hash", "--linkage", str(link)), capsys)
    assert code == 0, err
    assert link.read_text(encoding="utf-8") == before  # the first rows are kept, nothing is added twice
    warning = [line for line in text.splitlines() if line.startswith("linkage: warning:")]
    assert len(warning) == 1
    # one patient (two files): its PatientID and PatientName, each counted once
    assert "2 original values" in warning[0] and "(PatientID 1, PatientName 1)" in warning[0] and "cannot be linked back" in warning[0]
    for value in ("FMH-100027", "SUB-901", "SUB-001"):
        assert value not in text + err


@pytest.mark.parametrize("name", ["link.csv", "link.sqlite"])
def test_linkage_counts_conflicts_across_runs_in_both_formats(tmp_path, name):
    from deidlang.tables.linkage import Linkage

    path = tmp_path / name
    with Linkage(str(path)) as first:
        assert first.add([("PatientID", "P1", "SUB-1"), ("PatientID", "P2", "SUB-2")], "a.dcm") == 2
        assert first.add([("PatientID", "P1", "SUB-1"), ("PatientID", "P1", "SUB-9")], "b.dcm") == 0
        assert first.add([("PatientID", "P1", "SUB-9")], "c.dcm") == 0  # the same conflict again: counted once
        assert first.conflicts == {"PatientID": 1}
    with Linkage(str(path)) as second:  # the rows of the first run are read back
        assert second.add([("PatientID", "P1", "SUB-1"), ("PatientID", "P2", "SUB-7"), ("PatientID", "P3", "SUB-3")], "c.dcm") == 1
        assert second.conflicts == {"PatientID": 1}
        assert second.added == 1


def test_without_linkage_nothing_of_the_kind_is_written(files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(run_args(files, tmp_path / "out", "--on-missing", "hash"), capsys)
    assert code == 0, err
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert all(p.startswith("out/") for p in written)
    names = {p.split("/")[-1] for p in written}
    assert names - {"deidlang-manifest.json", "deidlang-manifest.jsonl"} == {Path(p).name for p in written if p.endswith(".dcm")}
    manifest = (tmp_path / "out" / engine.MANIFEST_RECORDS).read_text(encoding="utf-8")
    for pid in [*ENROLLED, MISSING]:
        assert pid not in manifest


# --------------------------------------------------------------------------- consistency


def test_the_same_values_whatever_the_file_order_and_the_workers(files, tmp_path, cluster, capsys):
    """Two runs, months apart as far as the tables and key know: the files in another order
    (renamed so that the walk meets them in reverse), one worker then a Dask cluster of two."""
    shuffled = tmp_path / "shuffled"
    names = sorted(files["demo"].rglob("*.dcm"))
    for i, p in enumerate(names):
        target = shuffled / f"d{len(names) - i:02d}" / f"f{len(names) - i:02d}.dcm"
        target.parent.mkdir(parents=True)
        shutil.copy(p, target)
    first, second = tmp_path / "first", tmp_path / "second"
    assert run(run_args(files, first, "--on-missing", "hash", "--jobs", "1"), capsys)[0] == 0
    argv = run_args(files, second, "--on-missing", "hash", "--scheduler", cluster.scheduler_address)
    argv[argv.index(str(files["demo"]))] = str(shuffled)
    assert run(argv, capsys)[0] == 0
    assert values(first) == values(second)
    assert len(values(first)) == 10
    pids = {v[0] for v in values(first)}
    assert pids == {"SUB-001", "SUB-002", keys.hash_id(KEY, MISSING)}


# --------------------------------------------------------------------------- no value in messages


def test_no_canary_marker_in_manifest_reports_or_messages(tmp_path, capsys):
    recipe = tmp_path / "tables.dicom"
    recipe.write_text(TABLE_RECIPE + "REPLACE AccessionNumber deid_func:lookup table=subjects key=PatientID column=accession\n", encoding="utf-8")
    corpus = build_corpus(tmp_path / "canary", keywords=recipe_keywords(cli.DEFAULT_RECIPE.read_text(encoding="utf-8")), files=2)
    pids = [str(pydicom.dcmread(corpus.directory / f).PatientID) for f in corpus.files]
    table = tmp_path / "subjects.csv"
    table.write_text(f"PatientID,subject_id,day_offset,accession\n{pids[0]},SUB-1,5,ACC-1\n", encoding="utf-8")
    base = ["--recipe", str(recipe), "--recipe", str(cli.DEFAULT_RECIPE), "--input", str(corpus.directory), "--table", f"subjects={table}"]
    streams = []
    for n, policy in enumerate(("fail", "quarantine", "hash")):
        out = tmp_path / f"out{n}"
        code, text, err = run(["run", *base, "--output", str(out), "--on-missing", policy, "--jobs", "1"], capsys)
        assert code == (1 if policy == "fail" else 0), err
        streams += [text, err] + [p.read_text(encoding="utf-8") for p in sorted(out.rglob("*.json*"))]
    code, text, err = run(["run", *base, "--output", str(tmp_path / "dry"), "--dry-run"], capsys)
    streams += [text, err]
    assert "inputs without a row: 1 of 2 files" in text
    code, text, err = run(["check", str(recipe), "--table", f"subjects={table}", "--input", str(corpus.directory)], capsys)
    streams += [text, err]
    assert code == 1 and "table 'subjects' has no row for its PatientID" in text
    strong = corpus.strong_texts
    assert pids[1] in strong  # the missing key is a marker: printing it would be caught
    for stream in streams:
        assert not find_markers(stream, strong), find_markers(stream, strong)[:5]
    _, shown, _ = run(["check", str(recipe), "--table", f"subjects={table}", "--input", str(corpus.directory), "--show-values"], capsys)
    assert pids[1] in shown  # asked for: the value is printed


# --------------------------------------------------------------------------- the table to fill in


def test_identifiers_keys_writes_the_template(files, tmp_path, capsys):
    out = tmp_path / "subjects.csv"
    code, text, err = run(
        ["identifiers", "--input", str(files["demo"]), "--keys", "PatientID", "--format", "csv", "--recipe", str(files["recipe"]), "--output", str(out)], capsys
    )
    assert code == 0, err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0] == ["PatientID", "files", "studies", "subject_id", "day_offset"]
    assert sorted(r[0] for r in rows[1:]) == sorted([*ENROLLED, MISSING])
    assert sum(int(r[1]) for r in rows[1:]) == 10
    assert all(r[3:] == ["", ""] for r in rows[1:])
    assert "wrote 3 rows" in text
    code, _, err = run(["identifiers", "--input", str(files["demo"]), "--keys", "PatientID", "--output", str(out)], capsys)
    assert code == 2 and "add --format csv" in err
    code, _, err = run(["identifiers", "--input", str(files["demo"]), "--keys", "PatientID", "--format", "csv", "--output", str(out)], capsys)
    assert code == 2 and "exists" in err


def test_dry_run_lists_inputs_without_a_row_by_element(files, tmp_path, capsys):
    code, text, err = run(run_args(files, tmp_path / "out", "--dry-run"), capsys)
    assert "inputs without a row: 3 of 10 files (--on-missing fail: they would fail, unwritten)" in text
    assert "table 'subjects' has no row for its PatientID" in text and MISSING not in text + err
    _, shown, _ = run(run_args(files, tmp_path / "out", "--dry-run", "--show-values"), capsys)
    assert f"PatientID '{MISSING}'" in shown
    assert not (tmp_path / "out").exists()


def test_explain_takes_the_tables(files, capsys):
    first = str(files["demo"] / "patient-001" / "ct-chest" / "ct-001.dcm")
    code, text, err = run(["explain", str(files["recipe"]), first, "--table", f"subjects={files['table']}", "--format", "json"], capsys)
    assert code == 0, err
    assert "deid_func:lookup" in text
    code, _, err = run(["explain", str(files["recipe"]), first], capsys)
    assert code == 1 and "E217" in err
