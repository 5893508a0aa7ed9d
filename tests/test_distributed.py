"""Runs on a real Dask cluster (deidlang.engine.distributed): a LocalCluster of two single-threaded
worker processes on loopback, started once for the module.

The outputs and manifest records of a cluster run must equal those of a
local run byte for byte; a worker killed while batches are in flight must
cost nothing (every file written once, one record each).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import signal
import sys
from pathlib import Path

import pydicom
import pytest

import deidlang
from deidlang import cli, engine
from deidlang.engine import naming
from deidlang.runtime import keys

distributed = pytest.importorskip("distributed")

MANIFEST_FILES = {engine.MANIFEST, engine.MANIFEST_RECORDS}
KEYS = ("input_key", "input_sha256", "output", "output_sha256", "status", "reason", "counts")
SLOW = "0.03"  # seconds per file in the workers (test-only seam), so that batches are in flight when a worker dies


def outputs(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file() and p.name not in MANIFEST_FILES
    }


def records(out: Path) -> list[dict]:
    lines = (out / engine.MANIFEST_RECORDS).read_text(encoding="utf-8").splitlines()
    return [{k: r[k] for k in KEYS} for r in map(json.loads, lines)]


@pytest.fixture(scope="module")
def cluster():
    old = os.environ.get("DEIDLANG_TEST_SLOW_SECONDS")
    os.environ["DEIDLANG_TEST_SLOW_SECONDS"] = SLOW  # inherited by the worker processes
    os.environ["DEIDLANG_TEST_FAIL_BATCH"] = "poison"  # a batch with such a file raises, every time
    try:
        with distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as c:
            yield c
    finally:
        os.environ.pop("DEIDLANG_TEST_FAIL_BATCH", None)
        if old is None:
            os.environ.pop("DEIDLANG_TEST_SLOW_SECONDS", None)
        else:
            os.environ["DEIDLANG_TEST_SLOW_SECONDS"] = old


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for n in range(3):
        shutil.copytree(cli.DEMO_DIR, root / f"site-{n}")
    return root


@pytest.fixture(scope="module")
def local_run(corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    job = engine.Job((deidlang.load(cli.DEFAULT_RECIPE),), str(out), inputs=(str(corpus),), jobs=1)
    assert all(r.status == "written" for r in engine.run(job))
    return out


def test_cluster_run_equals_local_run(cluster, corpus, local_run, tmp_path):
    out = tmp_path / "out"
    job = engine.Job((deidlang.load(cli.DEFAULT_RECIPE),), str(out), inputs=(str(corpus),), scheduler=cluster.scheduler_address)
    prepared = engine.prepare(job)
    results = list(prepared.results())
    assert [r.status for r in results] == ["written"] * 30
    assert outputs(out) == outputs(local_run)
    assert records(out) == records(local_run)  # same records, same order
    head = json.loads((out / engine.MANIFEST).read_text(encoding="utf-8"))
    assert head["executor"].startswith("dask tcp://127.0.0.1") and head["complete"] is True
    assert prepared.summary.written == 30


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(cluster, corpus, local_run, tmp_path):
    out = tmp_path / "out"
    with distributed.Client(cluster.scheduler_address) as client:
        pids = client.run(os.getpid)
        job = engine.Job((deidlang.load(cli.DEFAULT_RECIPE),), str(out), inputs=(str(corpus),), scheduler=cluster.scheduler_address)
        results = engine.run(job)
        got = [next(results)]  # batches are now in flight on both workers
        os.kill(sorted(pids.values())[0], signal.SIGKILL)
        got.extend(results)
        assert len(client.run(os.getpid)) >= 1
    assert [r.status for r in got] == ["written"] * 30, [r.reason for r in got if r.status != "written"]
    assert outputs(out) == outputs(local_run)
    recs = records(out)
    assert len(recs) == 30 and len({r["output"] for r in recs}) == 30
    assert recs == records(local_run)
    assert not [p for p in out.rglob("*") if p.name.endswith(engine.TMP_SUFFIX)]


def test_a_batch_that_keeps_failing_is_retried_then_reported_by_path(cluster, tmp_path):
    scans = tmp_path / "scans"
    shutil.copytree(cli.DEMO_DIR / "patient-001", scans)
    shutil.copy(scans / "ct-chest" / "ct-001.dcm", scans / "ct-chest" / "poison.dcm")
    job = engine.Job((deidlang.load(cli.DEFAULT_RECIPE),), str(tmp_path / "out"), inputs=(str(scans),), scheduler=cluster.scheduler_address)
    results = list(engine.run(job))
    failed = [r for r in results if r.status == "failed"]
    assert any(r.display.endswith("poison.dcm") for r in failed)
    assert all(r.reason == "lost on the Dask cluster after retries (RuntimeError); not written" for r in failed)
    assert {r.status for r in results} == {"written", "failed"} and len(results) == 6
    assert not (tmp_path / "out" / "ct-chest" / "poison.dcm").exists()
    recorded = {r["input_key"]: r["status"] for r in records(tmp_path / "out")}
    assert recorded[naming.input_key(keys.default_key()[0], "ct-chest/poison.dcm")] == "failed"


def test_ids_and_functions_reach_the_workers(cluster, tmp_path):
    demo = tmp_path / "scans"
    shutil.copytree(cli.DEMO_DIR / "patient-001", demo)
    funcs = tmp_path / "funcs.py"
    funcs.write_text("def tag_it(item=None, value=None, field=None, dicom=None):\n    return 'TAGGED'\n", encoding="utf-8")
    text = "FORMAT dicom\n%header\nREPLACE PatientID var:id\nREPLACE PatientComments func:tag_it\nADD PatientComments func:tag_it\n"
    program = deidlang.compile(text, path="f.dicom")
    ids = {str(p.resolve()): {"id": f"SUB-{p.stem}"} for p in demo.rglob("*.dcm")}
    loaded = engine.load_functions(str(funcs))
    for name, scheduler in (("local", None), ("dask", cluster.scheduler_address)):
        job = engine.Job((program,), str(tmp_path / name), inputs=(str(demo),), ids=ids, funcs=loaded, functions_path=str(funcs), scheduler=scheduler)
        assert all(r.status == "written" for r in engine.run(job))
    assert outputs(tmp_path / "dask") == outputs(tmp_path / "local")
    ds = pydicom.dcmread(tmp_path / "dask" / "ct-chest" / "ct-001.dcm")
    assert (ds.PatientID, ds.PatientComments) == ("SUB-ct-001", "TAGGED")


def test_cli_local_scheduler(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("DEIDLANG_TEST_SLOW_SECONDS", raising=False)
    for name, extra in (("local", ["--jobs", "1"]), ("dask", ["--scheduler", "local:2"])):
        code = cli.main(["run", "--output", str(tmp_path / name), *extra])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert "10 files processed: 10 written" in out
    assert outputs(tmp_path / "dask") == outputs(tmp_path / "local")


def test_without_dask_the_message_names_the_extra(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    code = cli.main(["run", "--output", str(tmp_path / "o"), "--scheduler", "local:2"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "pip install '.[dask]' in a deidlang checkout" in err
    assert not (tmp_path / "o").exists()
