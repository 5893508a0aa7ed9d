"""Crash safety of ``deidc run``: SIGKILL at random points, a full disk, a read-only output.

The scenarios run the real command in a subprocess (``python -m deidlang run``
through a small driver, :data:`DRIVER`; the few that need no driver call
``cli.main`` in this process) over a corpus of 40 files, with a fixed
key (``DEIDLANG_KEY``) so that outputs are byte-for-byte reproducible, and
compares with an uninterrupted run. How the faults are made:

* SIGKILL at random points: the driver installs a Python audit hook before
  deidlang starts and counts the file-system events under the output folder
  (open, mkdir, rename, remove), across the run's processes (a shared
  anonymous mapping that forked pool workers inherit). At the N-th event, N
  drawn from a seeded RNG, it SIGKILLs the whole process group: the run dies
  just before that operation, at a point a seed reproduces (exactly with
  ``--jobs 1``). Successive kills hit the same output folder, so resumed runs
  are killed too. A second test kills after a random wall-clock delay
  counted from the run's first file-system event.
* Disk full: ``RLIMIT_FSIZE`` set by the driver (a real kernel limit; SIGXFSZ is
  ignored, so writes past the limit fail with EFBIG, after a short write);
  a real ENOSPC from a small tmpfs mounted in a private mount namespace
  (skipped where the container does not allow ``unshare -m``); and ENOSPC
  injected by the audit hook when a file is created (portable).
* Read-only output: EROFS from a read-only bind mount in a private mount
  namespace (skipped where not allowed); EPERM from an immutable folder
  (``chattr +i``, which stops root too; skipped where the file system has no
  such flag); a folder under ``/proc``; a regular file where a folder is
  expected; and EROFS injected by the audit hook (portable).

"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

from deidlang import cli, engine
from deidlang.dicomio import atomic
from deidlang.dicomio.atomic import WriteError
from deidlang.engine import manifest
from deidlang.lang.diagnostics import DeidlangError

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="process groups, audit-hook faults and RLIMIT_FSIZE: Linux")

ROOT = Path(__file__).resolve().parent.parent
KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
MANIFEST_FILES = {engine.MANIFEST, engine.MANIFEST_RECORDS}
FILES = 40
TRACEBACK = "Traceback (most recent call last)"

# --------------------------------------------------------------------------- the driver

DRIVER = r'''
"""Run deidc with a fault at file-system events under one folder (tests/test_crash_safety.py).

argv: OUT MODE ARG deidc-arguments...
  MODE none        no fault
  MODE count       count the events; the total goes to $CRASH_COUNT_FILE at exit
  MODE kill N      SIGKILL the process group just before the N-th event
  MODE match RE@N  SIGKILL the process group just before the N-th event whose text
                   ("EVENT relpath" or "os.rename src -> dst") matches RE
  MODE enospc N    from the N-th event on, creating a file or folder fails with ENOSPC
  MODE erofs N     from the N-th event on, every change fails with EROFS
With CRASH_KILL_MAIN=1 the kills hit the main process only (as `kill -9 PID` does), not its workers.
With CRASH_FSIZE=BYTES the kernel's file size limit (RLIMIT_FSIZE) is set first; SIGXFSZ is
ignored, so writes past it fail with EFBIG.
"""
import atexit, errno, mmap, os, re, resource, runpy, signal, struct, sys

if os.environ.get("CRASH_FSIZE"):
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    LIMIT = int(os.environ["CRASH_FSIZE"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))

OUT = os.path.abspath(sys.argv[1])
MODE, ARG = sys.argv[2], sys.argv[3]
sys.argv = ["deidc", *sys.argv[4:]]
SHARED = mmap.mmap(-1, 16)  # MAP_SHARED|MAP_ANONYMOUS: forked pool workers count into it too
READY_FD = int(os.environ.get("CRASH_READY_FD", "-1"))
MAIN = os.getpid()
KILL_MAIN = os.environ.get("CRASH_KILL_MAIN") == "1"
CHANGES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
EVENTS = ("open", "os.mkdir", "os.rename", "os.remove", "os.rmdir")
if MODE == "match":
    PATTERN, _, NTH = ARG.rpartition("@")
    PATTERN, NTH = re.compile(PATTERN), int(NTH)
else:
    NTH = int(ARG or 0)


def bump(offset):
    value = struct.unpack_from("q", SHARED, offset)[0] + 1
    struct.pack_into("q", SHARED, offset, value)  # a race may lose a count: harmless
    return value


def kill():
    if KILL_MAIN:
        os.kill(MAIN, signal.SIGKILL)
    else:
        os.killpg(0, signal.SIGKILL)


def inside(path):
    return path == OUT or path.startswith(OUT + os.sep)


def hook(event, args):
    if event not in EVENTS or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path = os.path.abspath(os.fsdecode(args[0]))
    if not inside(path):
        return
    changes = event != "open" or bool((args[2] or 0) & CHANGES)
    count = bump(0)
    if count == 1 and READY_FD >= 0:
        try:
            os.write(READY_FD, b"!")
        except OSError:  # two workers both saw count 1 (the race above) and the driver stopped reading
            pass
    if MODE == "kill" and count == NTH:
        kill()
    elif MODE == "match":
        text = f"{event} {os.path.relpath(path, OUT)}"
        if event == "os.rename":
            text += " -> " + os.path.relpath(os.path.abspath(os.fsdecode(args[1])), OUT)
        if PATTERN.search(text) and bump(8) == NTH:
            kill()
    elif MODE in ("enospc", "erofs") and count >= NTH and changes:
        if event == "os.mkdir" and os.path.isdir(path):
            return  # the kernel says EEXIST first (os.makedirs accepts it)
        if MODE == "enospc":
            creates = event == "os.mkdir" or (event == "open" and args[2] & os.O_CREAT and not os.path.exists(path))
            if creates:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        else:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)


if MODE == "count":
    atexit.register(lambda: os.getpid() == MAIN and open(os.environ["CRASH_COUNT_FILE"], "w").write(str(bump(0) - 1)))
sys.addaudithook(hook)
runpy.run_module("deidlang", run_name="__main__", alter_sys=True)
'''


class Deidc:
    """Runs ``deidc`` through the driver, in its own session (so that a kill reaches the pool
    workers and orphans are cleaned up), with stdout and stderr on pipes (pipes are not
    subject to RLIMIT_FSIZE)."""

    def __init__(self, folder: Path):
        self.script = folder / "deidc_driver.py"
        self.script.write_text(DRIVER, encoding="utf-8")

    @staticmethod
    def env(**extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DEIDLANG_TEST_", "CRASH_"))}
        env.update(DEIDLANG_KEY=KEY, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(ROOT), **extra)
        env.pop("DEIDLANG_KEY_FILE", None)
        return env

    def argv(self, out: Path, mode: str, arg: object, args: list) -> list[str]:
        return [sys.executable, str(self.script), str(out), mode, str(arg), *map(str, args)]

    def __call__(
        self, out: Path, args: list, mode: str = "none", arg: object = 0, *, limit: int | None = None, env: dict | None = None
    ) -> subprocess.CompletedProcess:
        env = dict(env or self.env())
        if limit is not None:
            env["CRASH_FSIZE"] = str(limit)  # set by the driver before deidlang starts
        proc = subprocess.Popen(
            self.argv(out, mode, arg, args),
            env=env,
            cwd=str(ROOT),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            stdout, stderr = proc.communicate(timeout=120)
        finally:
            _kill_group(proc.pid)
        return subprocess.CompletedProcess(proc.args, proc.returncode, stdout.decode(), stderr.decode())

    def killed_main(self, out: Path, args: list, pattern: str) -> tuple[subprocess.CompletedProcess, bool]:
        """SIGKILL the main process only (``kill -9 PID``) at the first event matching ``pattern``.
        Returns the result and whether processes of the run outlived it (for 5 seconds)."""
        proc = subprocess.Popen(
            self.argv(out, "match", f"{pattern}@1", args),
            env=self.env(CRASH_KILL_MAIN="1"),
            cwd=str(ROOT),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout=120)
            try:  # the pipes close when the last process of the run is gone
                stdout, stderr = proc.communicate(timeout=5)
                outlived = False
            except subprocess.TimeoutExpired:
                outlived = True
                _kill_group(proc.pid)
                stdout, stderr = proc.communicate(timeout=60)
        finally:
            _kill_group(proc.pid)
        return subprocess.CompletedProcess(proc.args, code, stdout.decode(), stderr.decode()), outlived

    def killed_after(self, out: Path, args: list, delay: float) -> subprocess.CompletedProcess:
        """Run, and SIGKILL the process group ``delay`` seconds after its first event under ``out``."""
        read, write = os.pipe()
        proc = subprocess.Popen(
            self.argv(out, "none", 0, args),
            env=self.env(CRASH_READY_FD=str(write)),
            cwd=str(ROOT),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            pass_fds=(write,),
        )
        os.close(write)
        try:
            with os.fdopen(read, "rb") as ready:
                ready.read(1)  # blocks until the run touches the output folder (or exits)
            try:
                proc.wait(timeout=delay)  # the random delay: the run may finish first
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            stderr = proc.communicate(timeout=120)[1]
        finally:
            _kill_group(proc.pid)
        return subprocess.CompletedProcess(proc.args, proc.returncode, "", stderr.decode())


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)  # pool workers orphaned by a killed run
    except (ProcessLookupError, PermissionError):
        pass


def run_args(corpus: Path, out: Path, jobs: str = "1", *more: str) -> list:
    return ["run", "--input", corpus, "--output", out, "--jobs", jobs, *more]


# --------------------------------------------------------------------------- corpus and reference


def _corpus(root: Path) -> Path:
    """40 files: the demo data three times (small pixel data), five files without pixel
    data, three over 1 MiB (written by streaming: batch.SMALL_FILE) and two deep ones."""
    for n in range(3):
        shutil.copytree(cli.DEMO_DIR, root / f"site-{n}")
    demo = sorted(cli.DEMO_DIR.rglob("*.dcm"))
    extra = root / "extra"
    extra.mkdir()
    for n, path in enumerate(demo[:5]):
        ds = pydicom.dcmread(path)
        del ds.PixelData
        ds.save_as(extra / f"no-pixels-{n}.dcm", enforce_file_format=True)
    for n in range(3):
        ds = pydicom.dcmread(demo[n])
        ds.Rows, ds.Columns = 768, 1024
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.SamplesPerPixel = 16, 12, 11, 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.PixelData = bytes(range(256)) * (768 * 1024 * 2 // 256)
        ds.save_as(extra / f"large-{n}.dcm", enforce_file_format=True)
    deep = extra / "a" / "b c" / "d"
    deep.mkdir(parents=True)
    for n, path in enumerate(demo[5:7]):
        shutil.copy(path, deep / f"deep {n}.dcm")
    assert sum(1 for p in root.rglob("*") if p.is_file()) == FILES
    return root


class Reference:
    """The corpus, the uninterrupted run's outputs, and how many events a whole run makes."""

    def __init__(self, folder: Path):
        self.deidc = Deidc(folder)
        self.corpus = _corpus(folder / "corpus")
        self.inputs = tree_digest(self.corpus)
        self.events: dict[str, int] = {}
        self.outputs: dict[str, bytes] = {}
        for jobs in ("1", "2"):
            out = folder / f"reference-{jobs}"
            count = folder / f"count-{jobs}"
            done = self.deidc(out, run_args(self.corpus, out, jobs), "count", env=self.deidc.env(CRASH_COUNT_FILE=str(count)))
            assert done.returncode == 0, done.stderr
            assert f"{FILES} files processed: {FILES} written, 0 skipped, 0 failed" in done.stdout
            self.events[jobs] = int(count.read_text())
            produced = {rel: p.read_bytes() for rel, p in output_files(out).items()}
            if self.outputs:
                assert produced == self.outputs  # --jobs 2 writes the same bytes as --jobs 1
            self.outputs = produced
        assert len(self.outputs) == FILES and self.events["1"] > 3 * FILES


@pytest.fixture(scope="module")
def ref(tmp_path_factory) -> Reference:
    return Reference(tmp_path_factory.mktemp("crash"))


@pytest.fixture(scope="module")
def deidc(ref) -> Deidc:
    return ref.deidc


# --------------------------------------------------------------------------- what must hold


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tree_digest(root: Path) -> dict[str, tuple[str, int]]:
    return {str(p.relative_to(root)): (sha(p.read_bytes()), p.stat().st_mtime_ns) for p in sorted(root.rglob("*")) if p.is_file()}


def output_files(out: Path) -> dict[str, Path]:
    """Output files by relative path: the manifest and deidlang's temporaries aside."""
    if not out.exists():
        return {}
    return {
        p.relative_to(out).as_posix(): p
        for p in sorted(out.rglob("*"))
        if p.is_file() and not (p.parent == out and p.name in MANIFEST_FILES) and not atomic.is_temporary(p.name, engine.TMP_SUFFIX)
    }


def temporaries(out: Path) -> list[str]:
    return (
        sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and atomic.is_temporary(p.name, engine.TMP_SUFFIX)) if out.exists() else []
    )


def read_records(out: Path, torn: set[str]) -> list[dict]:
    """The manifest's records. Every line must parse, except a last line cut short (added
    to ``torn``) and such a line seen before (a later run ends it with a newline)."""
    path = out / engine.MANIFEST_RECORDS
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    last = lines.pop()  # "" when the file ends with a newline
    if last:
        torn.add(last)
    records = []
    for line in lines:
        if line in torn:
            continue
        records.append(json.loads(line))
    return records


def check_interrupted(out: Path, ref: Reference, torn: set[str], *, failed_ok: bool = False, complete: bool = False) -> int:
    """After a kill: the output folder holds only complete outputs (the uninterrupted run's
    bytes), the manifest and deidlang's temporaries; the manifest parses and records every
    output present (``failed_ok``: records of failed files, without an output, are
    allowed; ``complete``: the run ended normally). Returns how many outputs are present."""
    present = output_files(out)
    for rel, path in present.items():
        data = path.read_bytes()
        assert rel in ref.outputs, f"a file deidlang should not have written: {rel}"
        assert data == ref.outputs[rel], f"{rel}: not the uninterrupted run's bytes (partial or corrupt)"
        pydicom.dcmread(io.BytesIO(data))  # reads back
    head = None
    if (out / engine.MANIFEST).exists():
        head = json.loads((out / engine.MANIFEST).read_text(encoding="utf-8"))
        assert head["manifest_version"] == manifest.MANIFEST_VERSION
        if head["complete"] and not complete:  # killed after the run's last write (while exiting)
            assert len(present) == FILES and head["summary"]["files"] == FILES
        else:
            assert head["complete"] is complete
    records = read_records(out, torn)
    assert not (records and head is None), "records without a manifest header"
    last = {}
    for rec in records:
        assert rec["run"] == head["run_key"]
        if failed_ok and rec["status"] == "failed" and rec["output"] is None:
            continue
        assert rec["output"] in ref.outputs and rec["status"] == "written", rec
        last[rec["output"]] = rec
    for rel, path in present.items():  # never an output without its record
        rec = last.get(rel)
        assert rec is not None, f"{rel} is in the output folder but not in the manifest"
        st = path.stat()
        assert (rec["output_sha256"], rec["output_size"], rec["output_mtime_ns"]) == (sha(ref.outputs[rel]), st.st_size, st.st_mtime_ns)
    return len(present)


def check_complete(out: Path, ref: Reference) -> None:
    """After a run to completion: byte-identical to the uninterrupted run, no temporaries,
    one manifest record per output."""
    assert {rel: p.read_bytes() for rel, p in output_files(out).items()} == ref.outputs
    assert temporaries(out) == []
    head = json.loads((out / engine.MANIFEST).read_text(encoding="utf-8"))
    assert head["complete"] is True
    assert head["summary"]["files"] == FILES and head["summary"]["failed"] == 0
    records = read_records(out, torn := set())
    assert not torn
    assert sorted(r["output"] for r in records) == sorted(ref.outputs)  # every file once
    for rec in records:
        assert rec["status"] == "written" and rec["output_sha256"] == sha(ref.outputs[rec["output"]])
    assert tree_digest(ref.corpus) == ref.inputs  # the input untouched


def no_traceback(stderr: str) -> None:
    assert TRACEBACK not in stderr and "this is a bug" not in stderr and "Exception ignored" not in stderr, stderr


# =========================================================================== SIGKILL


@pytest.mark.parametrize("jobs, kills", [("1", 8), ("2", 8)])
def test_sigkill_at_random_points_then_resume(ref, deidc, tmp_path, jobs, kills):
    """Kill the run at random file-system events, again and again on the same output
    folder (resumed runs are killed too), check the folder after every kill, then let
    a run finish: the result is the uninterrupted run's, byte for byte."""
    rng = random.Random(f"deidlang-crash-{jobs}")
    done = chain = 0
    while done < kills:
        out = tmp_path / f"chain-{chain}"
        chain += 1
        torn: set[str] = set()
        completed = False
        while not completed and done < kills:
            point = rng.randint(1, ref.events[jobs])
            result = deidc(out, run_args(ref.corpus, out, jobs), "kill", point)
            if result.returncode == -signal.SIGKILL:
                done += 1
                check_interrupted(out, ref, torn)
            else:  # the run ended before reaching that event
                assert result.returncode == 0, result.stderr
                completed = True
        if not completed:
            result = deidc(out, run_args(ref.corpus, out, jobs))
            assert result.returncode == 0, result.stderr
            no_traceback(result.stderr)
        check_complete(out, ref)
    if jobs == "1":  # reproducible with one process
        assert chain < kills  # some chains had several kills: resumed runs were killed too


def test_sigkill_after_random_delays(ref, deidc, tmp_path):
    """The same, with kills at random wall-clock delays (``--jobs 2``): between events too."""
    rng = random.Random("deidlang-crash-clock")
    out = tmp_path / "out"
    torn: set[str] = set()
    for _ in range(3):
        result = deidc.killed_after(out, run_args(ref.corpus, out, "2"), rng.uniform(0.0, 0.4))
        assert result.returncode in (0, -signal.SIGKILL), result.stderr
        if result.returncode == 0:  # finished within the delay
            break
        check_interrupted(out, ref, torn)
    result = deidc(out, run_args(ref.corpus, out, "2"))
    assert result.returncode == 0, result.stderr
    check_complete(out, ref)


# Kill points chosen by name (regular expression on "EVENT relative-path", n-th match).
NAMED_POINTS = {
    "after the first batch's records, between two renames": (r"^os\.rename .*\.dcm\.[0-9a-f]{8}\.deidc-tmp ->", 5),
    "before the last output's rename": (r"^os\.rename .*\.dcm\.[0-9a-f]{8}\.deidc-tmp ->", FILES),
    "before the final manifest header is renamed": (r"^os\.rename \.deidlang-manifest\.json\..*-> deidlang-manifest\.json$", 2),
}


@pytest.mark.parametrize("where", list(NAMED_POINTS))
def test_sigkill_at_named_points(ref, deidc, tmp_path, where):
    pattern, nth = NAMED_POINTS[where]
    out = tmp_path / "out"
    result = deidc(out, run_args(ref.corpus, out, "1"), "match", f"{pattern}@{nth}")
    assert result.returncode == -signal.SIGKILL, f"not killed {where}: {result.stderr}"
    check_interrupted(out, ref, set())
    result = deidc(out, run_args(ref.corpus, out, "1"))
    assert result.returncode == 0, result.stderr
    check_complete(out, ref)


def test_sigkill_during_the_compaction_of_a_resumed_run(ref, deidc, tmp_path):
    """A resumed run rewrites the records file at its end (last record per output): kill it
    just before that rename; the old records file is intact and the next run completes."""
    out = tmp_path / "out"
    assert deidc(out, run_args(ref.corpus, out, "1"), "match", r"^os\.rename .*\.dcm\..* ->@20").returncode == -signal.SIGKILL
    killed = deidc(out, run_args(ref.corpus, out, "1"), "match", r"^os\.rename \.deidlang-manifest\.jsonl\..* -> deidlang-manifest\.jsonl$@1")
    assert killed.returncode == -signal.SIGKILL
    assert temporaries(out), "the compaction's temporary records file should be there"
    assert check_interrupted(out, ref, set()) == FILES
    result = deidc(out, run_args(ref.corpus, out, "1"))
    assert result.returncode == 0 and f"{FILES} files processed: 0 written, {FILES} skipped" in result.stdout
    check_complete(out, ref)


def test_sigkill_while_the_first_header_is_renamed(ref, deidc, tmp_path):
    out = tmp_path / "out"
    killed = deidc(out, run_args(ref.corpus, out, "1"), "match", r"^os\.rename \.deidlang-manifest\.json\..*@1")
    assert killed.returncode == -signal.SIGKILL
    assert not (out / engine.MANIFEST).exists() and len(temporaries(out)) == 1
    check_interrupted(out, ref, set())
    result = deidc(out, run_args(ref.corpus, out, "1"))
    assert result.returncode == 0, result.stderr
    check_complete(out, ref)


def test_killing_only_the_main_process_leaves_no_workers_behind(ref, deidc, tmp_path):
    """``kill -9`` of deidc (not of its process group) with a pool of workers: the workers
    must not outlive it (they would hold the output folder's lock and write temporaries
    that no run removes), and the same command run again completes the job."""
    out = tmp_path / "out"
    killed, outlived = deidc.killed_main(out, run_args(ref.corpus, out, "2"), r"^open .*\.dcm\.[0-9a-f]{8}\.deidc-tmp$")
    assert killed.returncode == -signal.SIGKILL
    assert not outlived, "pool workers outlived the killed run"
    check_interrupted(out, ref, set())
    again = deidc(out, run_args(ref.corpus, out, "2"))
    assert again.returncode == 0, again.stderr
    check_complete(out, ref)


def test_a_torn_last_record_is_ignored_on_resume(ref, deidc, tmp_path):
    """A record line cut short (a kill in the middle of its write) belongs to a batch whose
    outputs were not renamed yet: the next run skips the fragment, ends it with a newline
    before appending, redoes those files, and the final manifest drops the fragment."""
    out = tmp_path / "out"
    killed = deidc(out, run_args(ref.corpus, out, "1"), "match", r"^os\.rename .*\.dcm\..* ->@11")
    assert killed.returncode == -signal.SIGKILL  # second batch recorded, none of it renamed
    records_file = out / engine.MANIFEST_RECORDS
    text = records_file.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    assert len(lines) == 20
    last = json.loads(lines[-1])
    assert not (out / last["output"]).exists()
    records_file.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2], encoding="utf-8")
    torn: set[str] = set()
    assert check_interrupted(out, ref, torn) == 10 and len(torn) == 1
    result = deidc(out, run_args(ref.corpus, out, "1"))
    assert result.returncode == 0, result.stderr
    assert f"{FILES} files processed: 30 written, 10 skipped, 0 failed" in result.stdout
    check_complete(out, ref)
    assert next(iter(torn)) not in records_file.read_text(encoding="utf-8").splitlines()


# =========================================================================== disk full


def check_stopped(out: Path, ref: Reference, result: subprocess.CompletedProcess, *words: str) -> None:
    """A run stopped by a write error: non-zero, one plain message naming the file, no
    traceback, nothing partial or temporary left, the input untouched."""
    assert result.returncode not in (0, -signal.SIGKILL), result.stderr
    no_traceback(result.stderr)
    assert "cannot write" in result.stderr and str(out) in result.stderr, result.stderr
    lowered = result.stderr.lower()
    assert any(w in lowered for w in words), result.stderr
    for line in lowered.splitlines():  # files that failed before the run stopped: plain words too
        if "failed:" in line:
            assert "cannot write" in line and any(w in line for w in words), line
    check_interrupted(out, ref, set(), failed_ok=True)
    assert temporaries(out) == []
    assert tree_digest(ref.corpus) == ref.inputs


@pytest.mark.parametrize("limit", [0, 7000], ids=["nothing-fits", "manifest-outgrows-the-limit"])
def test_file_size_limit(ref, deidc, tmp_path, limit):
    """RLIMIT_FSIZE (a real kernel limit): 0 stops the very first write (the manifest);
    7000 bytes lets the small outputs through, fails the large ones one by one, and stops
    the run when the records file outgrows it. Lifted, the same command completes."""
    out = tmp_path / "out"
    result = deidc(out, run_args(ref.corpus, out, "1"), limit=limit)
    check_stopped(out, ref, result, "file size limit")
    again = deidc(out, run_args(ref.corpus, out, "1"))
    assert again.returncode == 0, again.stderr
    check_complete(out, ref)


def test_file_size_limit_on_single_outputs_fails_those_files_only(ref, deidc, tmp_path):
    """A limit only the three large outputs exceed (with records that fit): those files fail,
    each with a plain reason, the others are written, exit 1, nothing partial."""
    out = tmp_path / "out"
    result = deidc(out, run_args(ref.corpus, out, "1"), limit=1 << 20)
    assert result.returncode == 1, result.stderr
    no_traceback(result.stderr)
    failed = [line for line in result.stderr.splitlines() if "failed:" in line]
    assert len(failed) == 3, result.stderr
    assert all("large-" in line and "cannot write" in line and "file size limit" in line for line in failed), result.stderr
    assert check_interrupted(out, ref, set(), failed_ok=True, complete=True) == FILES - 3 and temporaries(out) == []
    again = deidc(out, run_args(ref.corpus, out, "1"))
    assert again.returncode == 0 and "3 written, 37 skipped" in again.stdout
    check_complete(out, ref)


@pytest.mark.parametrize("jobs", ["2"])
def test_disk_full_injected(ref, deidc, tmp_path, jobs):
    """ENOSPC when the 60th file or folder under the output is created (the audit hook), with
    a pool of workers: the error crosses from a worker and stops the run."""
    out = tmp_path / "out"
    result = deidc(out, run_args(ref.corpus, out, jobs), "enospc", 60)
    check_stopped(out, ref, result, "disk is full")
    again = deidc(out, run_args(ref.corpus, out, jobs))
    assert again.returncode == 0, again.stderr
    check_complete(out, ref)


def _namespace_ok() -> bool:
    """Whether this container lets us mount in a private mount namespace (unshare -m)."""
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True)
    return probe.returncode == 0


NAMESPACE_SCRIPT = r"""
set -u
mount -t tmpfs -o "size=$SIZE" tmpfs "$OUT"
"$@" > "$LOG/1.out" 2> "$LOG/1.err"; echo $? > "$LOG/1.rc"
cp -a "$OUT/." "$LOG/after-1/"
mount -o "remount,size=16m" "$OUT"
"$@" > "$LOG/2.out" 2> "$LOG/2.err"; echo $? > "$LOG/2.rc"
cp -a "$OUT/." "$LOG/after-2/"
"""


@pytest.mark.skipif(not _namespace_ok(), reason="needs 'unshare -m' and mount (a private mount namespace)")
def test_disk_full_real_enospc_on_tmpfs(ref, deidc, tmp_path):
    """A real full disk: the output folder is a 96 KiB tmpfs (in a private mount namespace);
    then the tmpfs is enlarged and the same command completes."""
    out, log = tmp_path / "out", tmp_path / "log"
    out.mkdir()
    for name in ("after-1", "after-2"):
        (log / name).mkdir(parents=True)
    env = deidc.env(OUT=str(out), LOG=str(log), SIZE="96k")
    command = deidc.argv(out, "none", 0, run_args(ref.corpus, out, "1"))
    subprocess.run(["unshare", "-m", "sh", "-c", NAMESPACE_SCRIPT, "sh", *command], env=env, check=True, timeout=120)
    first = subprocess.CompletedProcess(command, int((log / "1.rc").read_text()), (log / "1.out").read_text(), (log / "1.err").read_text())
    check_stopped(log / "after-1", ref, _renamed(first, out, log / "after-1"), "disk is full")
    assert int((log / "2.rc").read_text()) == 0, (log / "2.err").read_text()
    check_complete(log / "after-2", ref)


def _renamed(result: subprocess.CompletedProcess, old: Path, new: Path) -> subprocess.CompletedProcess:
    """The messages of a run in ``old`` as if it had run in ``new`` (its copy)."""
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.replace(str(old), str(new)), result.stderr.replace(str(old), str(new)))


# =========================================================================== read-only output


@pytest.mark.parametrize(
    "existing",
    [
        pytest.param(False, id="new-folder"),
        pytest.param(True, id="earlier-run"),
    ],
)
def test_read_only_output_injected(ref, deidc, tmp_path, existing):
    """EROFS on every change under the output folder (the audit hook): a folder to create
    in it, or one holding a complete earlier run (of another recipe: all to redo)."""
    out = tmp_path / "out"
    if existing:
        recipe = tmp_path / "other.dicom"
        recipe.write_text("FORMAT dicom\n%header\nREMOVE PatientAddress\n", encoding="utf-8")
        assert deidc(out, run_args(ref.corpus, out, "1", "--recipe", recipe)).returncode == 0
    before = tree_digest(out) if existing else {}
    result = deidc(out, run_args(ref.corpus, out, "1"), "erofs", 1)
    assert result.returncode not in (0, -signal.SIGKILL)
    no_traceback(result.stderr)
    assert "cannot write" in result.stderr and str(out) in result.stderr and "read-only" in result.stderr.lower(), result.stderr
    assert (tree_digest(out) if existing else {}) == before  # nothing changed
    assert tree_digest(ref.corpus) == ref.inputs


READ_ONLY_SCRIPT = r"""
set -eu
mount --bind "$OUT" "$OUT"
mount -o remount,bind,ro "$OUT"
"$@" > "$LOG/1.out" 2> "$LOG/1.err" || echo $? > "$LOG/1.rc"
"""


@pytest.mark.skipif(not _namespace_ok(), reason="needs 'unshare -m' and mount (a private mount namespace)")
def test_read_only_output_real_erofs(ref, deidc, tmp_path):
    """A real read-only file system: the output folder bind-mounted read-only."""
    out, log = tmp_path / "out", tmp_path / "log"
    out.mkdir()
    log.mkdir()
    (log / "1.rc").write_text("0")
    env = deidc.env(OUT=str(out), LOG=str(log))
    command = deidc.argv(out, "none", 0, run_args(ref.corpus, out, "1"))
    subprocess.run(["unshare", "-m", "sh", "-c", READ_ONLY_SCRIPT, "sh", *command], env=env, check=True, timeout=120)
    result = subprocess.CompletedProcess(command, int((log / "1.rc").read_text()), (log / "1.out").read_text(), (log / "1.err").read_text())
    assert result.returncode not in (0, -signal.SIGKILL)
    no_traceback(result.stderr)
    assert "cannot write" in result.stderr and "read-only" in result.stderr.lower(), result.stderr
    assert list(out.iterdir()) == []


@pytest.fixture
def immutable(tmp_path):
    """``chattr +i`` (root cannot write there either), undone at teardown."""
    if not shutil.which("chattr"):
        pytest.skip("needs chattr")
    made: list[Path] = []

    def make(path: Path) -> Path:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("the file system has no immutable flag (chattr +i)")
        made.append(path)
        return path

    yield make
    for path in reversed(made):
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)


@pytest.fixture
def deidc_here(monkeypatch, capsys):
    """``deidc`` in this process (faster; for faults that need no driver): (code, stdout, stderr)."""
    monkeypatch.setenv("DEIDLANG_KEY", KEY)
    monkeypatch.delenv("DEIDLANG_KEY_FILE", raising=False)

    def call(*argv) -> subprocess.CompletedProcess:
        code = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(argv, code, out, err)

    return call


@pytest.mark.parametrize(
    "where",
    [
        "output",
        pytest.param("parent"),
    ],
)
def test_immutable_output_folder(ref, deidc_here, tmp_path, immutable, where):
    """An immutable output folder (EPERM for root too), or one to be created in an immutable folder."""
    parent = tmp_path / "locked"
    parent.mkdir()
    out = parent / "out"
    if where == "output":
        out.mkdir()
        immutable(out)
    else:
        immutable(parent)
    result = deidc_here(*run_args(ref.corpus, out, "1"))
    assert result.returncode == 2, result.stderr
    no_traceback(result.stderr)
    assert "cannot write" in result.stderr and str(out) in result.stderr and "not permitted" in result.stderr.lower(), result.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_immutable_sub_folder_fails_its_files_only(ref, deidc_here, tmp_path, immutable):
    """One output sub-folder cannot be written (EPERM is about one place, not a full disk): its
    files fail with a plain reason, the batch goes on, exit 1; the next run finishes them."""
    out = tmp_path / "out"
    locked = out / "site-1" / "patient-001" / "ct-chest"
    locked.mkdir(parents=True)
    immutable(locked)
    result = deidc_here(*run_args(ref.corpus, out, "2"))
    assert result.returncode == 1, result.stderr
    no_traceback(result.stderr)
    failed = [line for line in result.stderr.splitlines() if "failed:" in line]
    assert len(failed) == 3, result.stderr
    assert all("ct-chest" in line and "cannot write" in line and "not permitted" in line.lower() for line in failed)
    assert check_interrupted(out, ref, set(), failed_ok=True, complete=True) == FILES - 3 and temporaries(out) == []
    subprocess.run(["chattr", "-i", str(locked)], check=True)
    again = deidc_here(*run_args(ref.corpus, out, "2"))
    assert again.returncode == 0 and "3 written, 37 skipped" in again.stdout, again.stderr
    check_complete(out, ref)


def test_output_under_proc(ref, deidc_here):
    """A folder that cannot be made: under /proc (procfs refuses new entries, for root too)."""
    out = Path("/proc/self/deidlang-output")
    result = deidc_here(*run_args(ref.corpus, out, "1"))
    assert result.returncode == 2, result.stderr
    no_traceback(result.stderr)
    assert "cannot write" in result.stderr and str(out) in result.stderr, result.stderr


def test_output_is_an_existing_regular_file(ref, deidc_here, tmp_path):
    out = tmp_path / "out.dcm"
    out.write_bytes(b"keep me")
    result = deidc_here(*run_args(ref.corpus, out, "1"))
    assert result.returncode == 2
    no_traceback(result.stderr)
    assert f"the output '{out}' exists and is not a directory" in result.stderr
    assert out.read_bytes() == b"keep me"


def test_output_below_a_regular_file(ref, deidc_here, tmp_path):
    (tmp_path / "file").write_bytes(b"keep me")
    out = tmp_path / "file" / "out"
    result = deidc_here(*run_args(ref.corpus, out, "1"))
    assert result.returncode == 2
    no_traceback(result.stderr)
    assert "cannot write" in result.stderr and "is a file, not a folder" in result.stderr, result.stderr
    assert (tmp_path / "file").read_bytes() == b"keep me"


def test_output_inside_the_input_folder(ref, deidc_here, tmp_path):
    """The output may live inside the input folder: it is not read as input (neither on the
    first run nor when the run is repeated), and the input files are untouched. The input
    folder itself is refused as the output."""
    corpus = tmp_path / "corpus"
    shutil.copytree(ref.corpus, corpus)
    out = corpus / "deid"
    for written in (FILES, 0):
        result = deidc_here(*run_args(corpus, out, "2"))
        assert result.returncode == 0, result.stderr
        assert f"{FILES} files processed: {written} written, {FILES - written} skipped, 0 failed" in result.stdout
    check_complete(out, ref)
    assert {k: v for k, v in tree_digest(corpus).items() if not k.startswith("deid/")} == ref.inputs
    same = deidc_here(*run_args(corpus, corpus, "1"))
    assert same.returncode == 2 and "is the input" in same.stderr


# =========================================================================== atomic.py


def test_write_error_is_an_os_error_with_the_target_and_plain_words():
    err = WriteError("/out/a.dcm", errno.ENOSPC, "the output")
    assert isinstance(err, OSError) and isinstance(err, DeidlangError)
    assert (err.path, err.filename, err.errno, err.strerror) == ("/out/a.dcm", "/out/a.dcm", errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert str(err) == "cannot write the output '/out/a.dcm': no space left on the device (the disk is full)"
    assert err.disk_full and err.fatal
    back = pickle.loads(pickle.dumps(err))  # crosses from pool workers
    assert type(back) is WriteError and (back.path, back.errno, back.what, str(back)) == (err.path, err.errno, err.what, str(err))
    assert not WriteError("/x", errno.EFBIG).fatal and WriteError("/x", errno.EROFS).fatal


@pytest.mark.parametrize(
    "code, words",
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EDQUOT, "quota"),
        (errno.EFBIG, "file size limit"),
        (errno.EROFS, "read-only"),
        (errno.ENOTDIR, "is a file, not a folder"),
        (errno.EACCES, "permission denied"),
    ],
)
def test_describe_in_plain_words(code, words):
    text = atomic.describe(OSError(code, os.strerror(code)))
    assert words in text and text == atomic.describe(code) and text[0].islower() and not text.endswith(".")


def test_describe_falls_back_to_strerror_lower_case():
    assert atomic.describe(OSError(errno.ECONNRESET, "Connection reset by peer")) == "connection reset by peer"
    assert atomic.describe(OSError("no errno")) == "the write failed (OSError)"


def test_the_errno_is_found_through_a_re_raised_error():
    """pydicom re-raises a failed write as ``type(exc)(message) from exc``: the errno is only
    on the cause, and the message holds a traceback that must not reach the user."""
    try:
        try:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as exc:
            raise OSError(f"With tag (7FE0,0010) got exception: {exc}\nTraceback ...") from exc
    except OSError as err:
        caught = err
    assert caught.errno is None and atomic.errno_of(caught) == errno.ENOSPC
    assert atomic.describe(caught) == "no space left on the device (the disk is full)"
    err = WriteError.of(caught, "/out/a.dcm")
    assert err.errno == errno.ENOSPC and err.fatal and "Traceback" not in str(err) and "7FE0" not in str(err)


def test_temporary_names_are_recognisable():
    name = os.path.basename(atomic.temporary_name("/out/ct 1.dcm", engine.TMP_SUFFIX))
    assert name.startswith(".ct 1.dcm.") and atomic.is_temporary(name, engine.TMP_SUFFIX)
    assert atomic.is_temporary("/out/" + name, engine.TMP_SUFFIX)
    for other in ("ct.dcm", ".ct.dcm", ".ct.dcm.deidc-tmp", "ct.dcm.0123abcd.deidc-tmp", ".ct.dcm.0123ABCD.deidc-tmp", ".ct.dcm.0123abcd.tmp"):
        assert not atomic.is_temporary(other, engine.TMP_SUFFIX), other


def test_atomic_target_flushes_the_file_then_renames_then_flushes_the_folder(tmp_path, monkeypatch):
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "file"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append("rename"), real_replace(a, b))[1])
    target = tmp_path / "sub" / "a.bin"
    atomic.write_bytes(target, b"complete")
    assert calls == ["file", "rename", "dir"]
    assert target.read_bytes() == b"complete" and [p.name for p in target.parent.iterdir()] == ["a.bin"]
    calls.clear()
    atomic.write_text(target, "again", durable=False)
    assert calls == ["rename"] and target.read_text() == "again"


def test_atomic_target_leaves_nothing_on_any_failure(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic.atomic_write(target) as fh:
            fh.write(b"partial")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_write_errors_name_the_target_not_the_temporary(tmp_path, monkeypatch):
    target = tmp_path / "a.bin"

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a delayed write error, reported by fsync

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(WriteError) as caught:
        atomic.write_bytes(target, b"data", what="the report")
    assert caught.value.path == str(target) and caught.value.disk_full
    assert str(caught.value) == f"cannot write the report '{target}': no space left on the device (the disk is full)"
    assert list(tmp_path.iterdir()) == []


def test_body_errors_about_other_files_pass_through(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        with atomic.atomic_target(tmp_path / "a.bin") as tmp:
            Path(tmp).write_bytes(b"x")
            open(tmp_path / "missing-source")
    assert not isinstance(caught.value, WriteError) and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "setup, code",
    [
        ("folder-is-a-file", errno.EEXIST),
        ("folder-below-a-file", errno.ENOTDIR),
        ("target-is-a-folder", errno.EISDIR),
    ],
)
def test_path_problems_become_write_errors(tmp_path, setup, code):
    (tmp_path / "f").write_bytes(b"")
    if setup == "folder-is-a-file":
        target = tmp_path / "f" / "a.bin"
    elif setup == "folder-below-a-file":
        target = tmp_path / "f" / "sub" / "a.bin"
    else:
        target = tmp_path / "a.bin"
        (target / "inside").mkdir(parents=True)
    with pytest.raises(WriteError) as caught:
        atomic.write_bytes(target, b"data")
    assert caught.value.errno == code and caught.value.path == str(target)
    assert not [p for p in tmp_path.rglob("*") if atomic.is_temporary(p.name)]


def test_a_name_planted_at_the_temporary_path_is_never_followed(tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.write_bytes(b"untouched")
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: "0123abcd")
    (tmp_path / ".a.bin.0123abcd.tmp").symlink_to(victim)
    with pytest.raises(WriteError) as caught:
        atomic.write_bytes(tmp_path / "a.bin", b"data")
    assert caught.value.errno == errno.EEXIST and victim.read_bytes() == b"untouched"
    assert not (tmp_path / "a.bin").exists()


def test_atomic_write_refuses_modes_that_do_not_make_a_new_file(tmp_path):
    for mode in ("a", "r+", "ab", "x"):
        with pytest.raises(ValueError, match="writes a new file"):
            with atomic.atomic_write(tmp_path / "a", mode):
                pass


def test_write_all_retries_short_writes_and_raises_write_errors(tmp_path, monkeypatch):
    path = tmp_path / "log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:3])))
    atomic.write_all(fd, b"0123456789", str(path))
    monkeypatch.undo()
    os.close(fd)
    assert path.read_bytes() == b"0123456789"
    with pytest.raises(WriteError) as caught:
        atomic.write_all(9999, b"x", str(path), "the log")
    assert caught.value.errno == errno.EBADF and "the log" in str(caught.value)


def test_directory_fsync_is_skipped_where_unsupported(tmp_path, monkeypatch):
    def unsupported(fd):
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "fsync", unsupported)
    atomic.fsync_directory(str(tmp_path))  # no error
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
    with pytest.raises(OSError):
        atomic.fsync_directory(str(tmp_path))


CHILD_WRITE = r"""
import os, resource, signal, sys
from deidlang.dicomio import atomic
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
target = sys.argv[1]
for name, data in (("small", b"s" * 100), ("big", b"b" * 10000)):
    try:
        atomic.write_bytes(os.path.join(target, name), data)
        print(name, "written")
    except atomic.WriteError as err:
        print(name, err.errno, err)
fd = os.open(os.path.join(target, "log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
try:
    atomic.write_all(fd, b"x" * 5000, os.path.join(target, "log"))
except atomic.WriteError as err:
    print("log", err.errno, os.fstat(fd).st_size)
"""


def test_atomic_writes_under_a_real_file_size_limit(tmp_path):
    """RLIMIT_FSIZE in a child: a file over the limit fails (after a short write, in the
    kernel) and leaves nothing; a file under it is written."""
    result = subprocess.run([sys.executable, "-c", CHILD_WRITE, str(tmp_path)], capture_output=True, text=True, env=Deidc.env(), timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "small written"
    assert lines[1] == f"big {errno.EFBIG} cannot write '{tmp_path / 'big'}': {atomic.describe(errno.EFBIG)}"
    assert lines[2] == f"log {errno.EFBIG} 4096"  # the short write went through; the rest failed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log", "small"]


@pytest.mark.parametrize("durable", [False, True], ids=["default", "fsync"])
def test_fsync_only_when_asked(monkeypatch, tmp_path, capsys, durable):
    """A killed deidc needs no fsync (the kernel keeps what was written); --fsync flushes
    every output, the manifest records and the folders, for power cuts."""
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    monkeypatch.setenv("DEIDLANG_KEY", KEY)
    args = ["run", "--input", str(cli.DEMO_DIR), "--output", str(tmp_path / "out"), "--jobs", "1"]
    assert cli.main(args + (["--fsync"] if durable else [])) == 0
    outputs = [p for p in (tmp_path / "out").rglob("*.dcm")]
    assert outputs
    if durable:
        assert len(synced) >= 2 * len(outputs)  # each output, and its folder or records
    else:
        assert len(synced) <= 4 < len(outputs)  # the manifest header only (at the start and the end: file, folder)
