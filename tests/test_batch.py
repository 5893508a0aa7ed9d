"""The batch engine (deidlang.engine): the run manifest, resuming, large files, URL inputs.

Resume tests interrupt a real `deidc run` subprocess with SIGKILL at a known
point (the test-only ``DEIDLANG_TEST_KILL_AFTER`` seam) and check that
running the same command again gives exactly the outputs of an
uninterrupted run, with one manifest record per file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataelem import RawDataElement

import deidlang
from deidlang import cli, engine
from deidlang.dicomio import damage
from deidlang.engine import digests as engine_digests
from deidlang.engine import naming, plan
from deidlang.privacy import profile
from deidlang.runtime import keys

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_FILES = {engine.MANIFEST, engine.MANIFEST_RECORDS}
PHI = [
    b"ORCHARD",
    b"MAREN",
    b"QUILLFEATHER",
    b"FMH-204418",
    b"19620314",
    b"Quarry Hill",
    b"555-0142",
    b"HALLOWAY",
    b"FENWICK",
    b"Fairhaven Memorial",
    b"Elmsworth",
    b"ACC240611",
]
OTHER_RECIPE = "FORMAT dicom\n\n%header\nREMOVE PatientAddress\nADD PatientIdentityRemoved YES\n"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def outputs(root: Path) -> dict[str, str]:
    """Every output file (manifest and temporary files aside) -> SHA-256."""
    return {
        str(p.relative_to(root)): sha(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in MANIFEST_FILES and not p.name.endswith(engine.TMP_SUFFIX)
    }


def header(out: Path) -> dict:
    return json.loads((out / engine.MANIFEST).read_text(encoding="utf-8"))


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / engine.MANIFEST_RECORDS).read_text(encoding="utf-8").splitlines() if line]


def input_key(relative: str) -> str:
    """What the manifest records for the input at this path (relative to its root), under the tests' key."""
    return naming.input_key(keys.default_key()[0], relative)


def by_input(out: Path, inputs: Path) -> dict[str, dict]:
    """The records by the input path they stand for (the manifest holds keyed digests only)."""
    known = {input_key(p.relative_to(inputs).as_posix()): p.relative_to(inputs).as_posix() for p in inputs.rglob("*") if p.is_file()}
    return {known[r["input_key"]]: r for r in records(out)}


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    target = tmp_path / "scans"
    shutil.copytree(cli.DEMO_DIR, target)
    return target


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """40 files: the demo data four times."""
    root = tmp_path / "corpus"
    for n in range(4):
        shutil.copytree(cli.DEMO_DIR, root / f"site-{n}")
    return root


# =========================================================================== the manifest


class TestManifest:
    def test_header_and_one_record_per_file(self, capsys, demo, tmp_path):
        out = tmp_path / "out"
        code, stdout, err = run(capsys, "run", "--input", demo, "--output", out, "--jobs", "1")
        assert code == 0, err
        assert f"manifest: {out / engine.MANIFEST}" in stdout
        head = header(out)
        assert head["tool"] == {"name": "deidlang", "version": deidlang.__version__}
        assert head["pydicom"] == {"version": pydicom.__version__, "dictionary_edition": pydicom.__dicom_version__}
        assert head["profile"] == {"table": "PS3.15 Table E.1-1", "edition": profile.EDITION}
        assert head["recipes"] == [{"path": str(cli.DEFAULT_RECIPE), "sha256": sha(cli.DEFAULT_RECIPE)}]
        assert head["options"]["remove_private"] is True and head["complete"] is True
        assert head["summary"] == {"files": 10, "written": 10, "quarantined": 0, "skipped": 0, "failed": 0, "resumed": 0}
        recs = records(out)
        assert sorted(r["output"] for r in recs) == sorted(p.replace(os.sep, "/") for p in outputs(out))
        assert "input" not in head and len(head["inputs"]) == 1 and head["layout"] == "mirror"
        for rel, rec in by_input(out, demo).items():
            assert "input" not in rec
            assert rec["status"] == "written" and rec["reason"] == "" and rec["run"] == head["run_key"]
            assert rec["input_sha256"] == sha(demo / rel)
            assert rec["output_sha256"] == sha(out / rec["output"])
            assert rec["counts"]["removed"] > 0
        text = (out / engine.MANIFEST).read_bytes() + (out / engine.MANIFEST_RECORDS).read_bytes()
        assert [s for s in PHI if s in text] == []  # names, ids, dates, places: never in the manifest

    def test_failed_and_kept_files_are_recorded_with_a_reason(self, capsys, demo, tmp_path):
        (demo / "junk.dcm").write_bytes(b"\x00" * 10)
        out = tmp_path / "out"
        kept = out / "patient-003" / "cr-knee" / "cr-001.dcm"
        kept.parent.mkdir(parents=True)
        kept.write_bytes(b"not ours")
        code, _, _ = run(capsys, "run", "--input", demo, "--output", out, "--jobs", "1")
        assert code == 1
        recs = by_input(out, demo)
        assert recs["junk.dcm"]["status"] == "failed"
        assert recs["junk.dcm"]["reason"].startswith("not a DICOM file")
        assert recs["junk.dcm"]["output_sha256"] is None
        assert recs["patient-003/cr-knee/cr-001.dcm"]["status"] == "skipped"
        assert recs["patient-003/cr-knee/cr-001.dcm"]["reason"] == "the output exists"
        assert kept.read_bytes() == b"not ours"

    def test_an_input_named_like_the_manifest_gets_another_name(self, capsys, demo, tmp_path):
        shutil.copy(demo / "patient-003" / "cr-knee" / "cr-001.dcm", demo / engine.MANIFEST)
        out = tmp_path / "out"
        assert run(capsys, "run", "--input", demo, "--output", out, "--jobs", "1")[0] == 0
        assert (out / "deidlang-manifest-2.json").is_file()
        assert header(out)["complete"] is True

    def test_jobs_2_writes_the_same_records(self, capsys, demo, tmp_path):
        for jobs in ("1", "2"):
            assert run(capsys, "run", "--input", demo, "--output", tmp_path / jobs, "--jobs", jobs)[0] == 0
        keep = ("input_key", "input_sha256", "output", "output_sha256", "status", "counts")
        one, two = ([{k: r[k] for k in keep} for r in records(tmp_path / j)] for j in ("1", "2"))
        assert one == two


# =========================================================================== resuming


def _deidc(args: list, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    """`deidc` in its own process group, so that SIGKILL of the run reaches its pool workers too
    (their output goes to files: orphaned workers would hold pipes open)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEIDLANG_TEST_")}
    env.update(env_extra or {})
    with open(os.devnull, "rb") as stdin, _tempfile() as out, _tempfile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "deidlang", *map(str, args)],
            env=env,
            cwd=str(ROOT),
            stdin=stdin,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        code = proc.wait(timeout=120)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # pool workers orphaned by a killed run
        except (ProcessLookupError, PermissionError):
            pass
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(proc.args, code, out.read().decode(), err.read().decode())


def _tempfile():
    import tempfile

    return tempfile.TemporaryFile()


class TestResume:
    @pytest.mark.parametrize("jobs", ["1", "2"])
    def test_killed_run_resumes_to_the_uninterrupted_result(self, corpus, tmp_path, jobs):
        reference = tmp_path / "reference"
        done = _deidc(["run", "--input", corpus, "--output", reference, "--jobs", jobs])
        assert done.returncode == 0, done.stderr

        out = tmp_path / "out"
        killed = _deidc(["run", "--input", corpus, "--output", out, "--jobs", jobs], {"DEIDLANG_TEST_KILL_AFTER": "13"})
        assert killed.returncode == -signal.SIGKILL
        assert header(out)["complete"] is False
        partial = records(out)  # records are written a batch at a time, before the batch's renames
        done = len(partial)
        assert 13 <= done < 40 and all(r["status"] == "written" for r in partial)
        assert 13 <= len(outputs(out)) <= done

        again = _deidc(["run", "--input", corpus, "--output", out, "--jobs", jobs])
        assert again.returncode == 0, again.stderr
        assert f"40 files processed: {40 - done} written, {done} skipped, 0 failed" in again.stdout
        assert f"{done} files already complete from an earlier run of the same job (resumed)" in again.stdout
        assert outputs(out) == outputs(reference)  # byte-identical to the uninterrupted run
        assert not [p for p in out.rglob("*") if p.name.endswith(engine.TMP_SUFFIX)]
        final = records(out)
        assert sorted(r["output"] for r in final) == sorted(p.replace(os.sep, "/") for p in outputs(out))  # one each
        assert all(r["output_sha256"] == sha(out / r["output"]) for r in final)
        assert header(out)["complete"] is True and header(out)["summary"]["resumed"] == done

    def test_record_written_but_file_not_renamed_is_redone(self, capsys, demo, tmp_path):
        """A kill between the record and the rename: the record names an output that is not there."""
        out = tmp_path / "out"
        assert run(capsys, "run", "--input", demo, "--output", out, "--jobs", "1")[0] == 0
        lost = out / "patient-001" / "ct-chest" / "ct-002.dcm"
        expected = lost.read_bytes()
        lost.unlink()
        code, stdout, _ = run(capsys, "run", "--input", demo, "--output", out, "--jobs", "1")
        assert code == 0 and "10 files processed: 1 written, 9 skipped" in stdout
        assert lost.read_bytes() == expected

    def test_another_recipe_redoes_own_outputs_and_keeps_foreign_files(self, capsys, demo, tmp_path):
        out = tmp_path / "out"
        foreign = out / "patient-003" / "mr-knee" / "mr-001.dcm"
        foreign.parent.mkdir(parents=True)
        foreign.write_bytes(b"someone else's")
        assert run(capsys, "run", "--input", demo, "--output", out, "--jobs", "1")[0] == 0
        recipe = tmp_path / "other.dicom"
        recipe.write_text(OTHER_RECIPE, encoding="utf-8")
        code, stdout, _ = run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", out, "--jobs", "1")
        assert code == 0
        assert "10 files processed: 9 written, 1 skipped, 0 failed" in stdout
        assert "1 existing output kept; use --overwrite" in stdout
        assert foreign.read_bytes() == b"someone else's"
        ds = pydicom.dcmread(out / "patient-001" / "ct-chest" / "ct-001.dcm")
        assert "PatientName" in ds  # the other recipe keeps names: the file was redone with it
        assert header(out)["recipes"][0]["sha256"] == sha(recipe)
        assert len(records(out)) == 10  # compacted: the last record per output

    def test_an_output_changed_after_the_run_is_kept_unless_overwrite(self, capsys, demo, tmp_path):
        out = tmp_path / "out"
        assert run(capsys, "run", "--input", demo, "--output", out, "--jobs", "1")[0] == 0
        edited = out / "patient-002" / "us-obstetric" / "us-001.dcm"
        edited.write_bytes(edited.read_bytes() + b"\x00\x00")
        code, stdout, _ = run(capsys, "run", "--input", demo, "--output", out, "--jobs", "1")
        assert code == 0 and "0 written, 10 skipped" in stdout and "1 existing output kept" in stdout
        code, stdout, _ = run(capsys, "run", "--input", demo, "--output", out, "--jobs", "1", "--overwrite")
        assert code == 0 and "10 written, 0 skipped" in stdout  # a complete run is redone with --overwrite

    def test_a_changed_input_is_redone(self, capsys, demo, tmp_path):
        out = tmp_path / "out"
        assert run(capsys, "run", "--input", demo, "--output", out, "--jobs", "1")[0] == 0
        source = demo / "patient-001" / "mr-brain" / "mr-001.dcm"
        target = out / "patient-001" / "mr-brain" / "mr-001.dcm"
        before = sha(target)
        ds = pydicom.dcmread(source)
        ds.InstanceNumber = 77
        ds.save_as(source)
        code, stdout, _ = run(capsys, "run", "--input", demo, "--output", out, "--jobs", "1")
        assert code == 0 and "1 written, 9 skipped" in stdout
        assert sha(target) != before and pydicom.dcmread(target).InstanceNumber == 77
        rec = by_input(out, demo)["patient-001/mr-brain/mr-001.dcm"]
        assert rec["input_sha256"] == sha(source)

    def test_stopping_the_iterator_leaves_a_consistent_manifest(self, demo, tmp_path):
        out = tmp_path / "out"
        job = engine.Job((deidlang.load(cli.DEFAULT_RECIPE),), str(out), inputs=(str(demo),))
        results = engine.run(job)
        first = [next(results) for _ in range(4)]
        results.close()
        assert [r.status for r in first] == ["written"] * 4
        assert header(out)["complete"] is False
        assert [r["output"] for r in records(out)] == [os.path.relpath(r.output, out).replace(os.sep, "/") for r in first]
        assert len(outputs(out)) == 4 and not [p for p in out.rglob("*") if p.name.endswith(engine.TMP_SUFFIX)]


# =========================================================================== the library API


class TestApi:
    def test_results_stream_in_input_order_with_a_summary(self, demo, tmp_path):
        job = engine.Job((deidlang.load(cli.DEFAULT_RECIPE),), str(tmp_path / "out"), inputs=(str(demo),), jobs=2)
        prepared = engine.prepare(job)
        assert prepared.total == 10
        got = [r.display for r in prepared.results()]
        assert got == [t.display for t in plan.plan(engine.roots([str(demo)]), str(tmp_path / "out"), None)]
        assert prepared.summary.written == 10 and prepared.summary.removed > 0

    def test_bad_jobs_raise_batch_error(self, demo, tmp_path):
        program = deidlang.load(cli.DEFAULT_RECIPE)
        with pytest.raises(engine.BatchError, match="does not exist"):
            engine.prepare(engine.Job((program,), str(tmp_path / "o"), inputs=(str(tmp_path / "nope"),)))
        with pytest.raises(engine.BatchError, match="is the input"):
            engine.prepare(engine.Job((program,), str(demo), inputs=(str(demo),)))

    def test_one_run_per_output_at_a_time(self, demo, tmp_path):
        program = deidlang.load(cli.DEFAULT_RECIPE)
        job = engine.Job((program,), str(tmp_path / "out"), inputs=(str(demo),))
        first = engine.run(job)
        next(first)
        with pytest.raises(engine.BatchError, match="another run is writing"):
            next(engine.run(job))
        assert len(list(first)) == 9  # the first run is not disturbed
        assert len(list(engine.run(job))) == 10  # and the output is free again

    def test_ids_travel_once_and_reach_each_file(self, demo, tmp_path):
        recipe = deidlang.compile("FORMAT dicom\n%header\nREPLACE PatientID var:id\n", path="ids.dicom")
        ids = {str(p.resolve()): {"id": f"SUB-{p.stem}"} for p in demo.rglob("*.dcm")}
        job = engine.Job((recipe,), str(tmp_path / "out"), inputs=(str(demo),), ids=ids, jobs=2)
        results = list(engine.run(job))
        assert all(r.status == "written" for r in results)
        for r in results:
            assert pydicom.dcmread(r.output).PatientID == f"SUB-{Path(r.output).stem}"


# =========================================================================== large files and URLs


def _large_file(path: Path, mb: int = 4) -> Path:
    ds = pydicom.dcmread(cli.DEMO_DIR / "patient-001" / "ct-chest" / "ct-001.dcm")
    side = int((mb * 1024 * 1024 / 2) ** 0.5)
    ds.Rows = ds.Columns = side
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.SamplesPerPixel = 16, 12, 11, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = (np.arange(side * side, dtype=np.uint16) % 4096).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


class TestLargeFiles:
    def test_pixel_data_is_deferred_then_streamed_to_the_same_bytes(self, tmp_path):
        source = _large_file(tmp_path / "in" / "big.dcm")
        assert source.stat().st_size > damage.SMALL_FILE
        ds, info = engine.read_input(str(source))
        raw = ds._dict[0x7FE00010]
        assert isinstance(raw, RawDataElement) and raw.value is None  # not read
        assert info.sha256 == sha(source)

        out = tmp_path / "out"
        program = deidlang.load(cli.DEFAULT_RECIPE)
        results = list(engine.run(engine.Job((program,), str(out), inputs=(str(source),))))
        assert [r.status for r in results] == ["written"]
        expected = pydicom.dcmread(source)  # the plain way: everything in memory
        program.apply(expected, path="big.dcm", remove_private=True)
        buffer = io.BytesIO()
        expected.save_as(buffer, enforce_file_format=False)
        assert (out / "big.dcm").read_bytes() == buffer.getvalue()
        assert results[0].output_sha256 == sha(out / "big.dcm")

    def test_a_rule_on_a_deferred_value_still_sees_it(self, tmp_path):
        source = _large_file(tmp_path / "in" / "big.dcm")
        recipe = deidlang.compile("FORMAT dicom\n%header\nREMOVE PixelData\n", path="px.dicom", allow=["W303"])  # no effect, on purpose
        out = tmp_path / "out"
        results = list(engine.run(engine.Job((recipe,), str(out), inputs=(str(source),))))
        assert results[0].status == "written"
        assert "PixelData" in pydicom.dcmread(out / "big.dcm")  # protected, as in deid: kept, streamed


class TestUrlInputs:
    def test_file_url_gives_the_same_outputs_as_a_path(self, capsys, demo, tmp_path):
        pytest.importorskip("fsspec")
        assert run(capsys, "run", "--input", demo, "--output", tmp_path / "path", "--jobs", "1")[0] == 0
        code, _, err = run(capsys, "run", "--input", demo.as_uri(), "--output", tmp_path / "url", "--jobs", "2")
        assert code == 0, err
        assert outputs(tmp_path / "url") == outputs(tmp_path / "path")
        assert {r["input_key"] for r in records(tmp_path / "url")} == {r["input_key"] for r in records(tmp_path / "path")}

    def test_missing_url_stops_the_run(self, capsys, tmp_path):
        pytest.importorskip("fsspec")
        code, _, err = run(capsys, "run", "--input", (tmp_path / "nope").as_uri(), "--output", tmp_path / "o")
        assert code == 1 and "does not exist" in err and not (tmp_path / "o").exists()


def test_preamble_is_zeroed_in_outputs(tmp_path):
    """A marker hidden in the 128-byte preamble must not reach the output."""
    import pydicom

    from deidlang import cli
    from tests.fixtures import build_S

    src = tmp_path / "in"
    src.mkdir()
    ds = build_S()
    ds.preamble = b"DOE^JOHN-PREAMBLE-MARKER".ljust(128, b"\x00")
    ds.save_as(src / "a.dcm", enforce_file_format=True)
    recipe = tmp_path / "r.dicom"
    recipe.write_text("FORMAT dicom\n%header\nREMOVE PatientName\n")
    out = tmp_path / "out"
    assert cli.main(["run", "--recipe", str(recipe), "--input", str(src), "--output", str(out), "--jobs", "1"]) == 0
    written = (out / "a.dcm").read_bytes()
    assert b"PREAMBLE-MARKER" not in written
    assert written[:128] == b"\x00" * 128 and written[128:132] == b"DICM"
    assert pydicom.dcmread(out / "a.dcm").SOPInstanceUID == ds.SOPInstanceUID


def test_atomic_target_leaves_nothing_on_failure(tmp_path):
    """A failed write leaves neither a partial target nor a temporary file."""
    from deidlang.dicomio.atomic import atomic_target

    target = tmp_path / "sub" / "out.dcm"
    try:
        with atomic_target(target) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(b"partial")
            raise RuntimeError("interrupted")
    except RuntimeError:
        pass
    assert list((tmp_path / "sub").iterdir()) == []
    with atomic_target(target) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(b"complete")
    assert target.read_bytes() == b"complete" and [p.name for p in (tmp_path / "sub").iterdir()] == ["out.dcm"]


def test_digest_set_is_a_set():
    """The planner's per-file memory: it must behave exactly like a set of 64-bit ints."""
    import random

    rnd = random.Random(3)
    values = [rnd.getrandbits(64) for _ in range(20_000)] + [1, 2**64 - 1, 1023, 1024, 2048]
    digests, reference = engine_digests.DigestSet(), set()
    for n, v in enumerate(values):
        assert (v in digests) == (v in reference)
        digests.add(v)
        reference.add(v)
        if n % 997 == 0:
            digests.add(v)  # again: no double count
    assert len(digests) == len(reference)
    assert all(v in digests for v in reference)
    assert not any(rnd.getrandbits(64) in digests for _ in range(5_000))
    # colliding low bits: linear probing across the wrap-around
    crowded = engine_digests.DigestSet(k << 32 | 1023 for k in range(1, 400))
    assert len(crowded) == 399 and all((k << 32 | 1023) in crowded for k in range(1, 400))
    assert (400 << 32 | 1023) not in crowded
    assert 0 not in engine_digests.DigestSet() and 0 in engine_digests.DigestSet([0])
