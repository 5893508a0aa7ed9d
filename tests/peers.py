"""Real DICOM software for the ``deidc serve`` tests, on loopback only.

* DCMTK (Debian package ``dcmtk``): ``storescp`` as a destination,
  ``storescu`` and ``echoscu`` as senders;
* Orthanc (Debian package ``orthanc``) as a destination, started on free
  loopback ports with a generated configuration (no plugins, no remote
  access, no authentication) and read back through its REST API;
* ``deidc serve`` itself, in a subprocess, with its JSON log in a file.

Every wait is bounded and every process is stopped by the fixture that
started it. Where a program is missing the test is skipped locally; under
``CI=true`` it fails instead (CI installs the packages: the tests must run).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pytest

LOOPBACK = "127.0.0.1"
ORTHANC = "/usr/sbin/Orthanc"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def need(program: str) -> str:
    """The path of ``program``; skip (locally) or fail (in CI) when it is missing."""
    found = shutil.which(program) or (program if os.path.isabs(program) and os.access(program, os.X_OK) else None)
    if found:
        return found
    message = f"'{program}' is not installed (Debian packages: dcmtk, orthanc, orthanc-dicomweb, openssl)"
    if in_ci():
        pytest.fail(message + ": CI must install it")
    pytest.skip(message)


#: DCMTK as packaged by Debian leaves Nagle's algorithm on unless TCP_NODELAY=1 is in the
#: environment: every message then waits for the peer's delayed acknowledgement (about
#: 90 ms per object on loopback).
DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.05, what: str = "a condition"):
    """Poll ``predicate`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((LOOPBACK, port)) == 0


def stop_process(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# =========================================================================== DCMTK


class StoreSCP:
    """``storescp`` writing every object it receives to ``folder`` under a unique name
    (a duplicate delivery shows as a second file); accepts every syntax DCMTK knows."""

    def __init__(self, folder: Path, ae_title: str = "DEST", port: int | None = None, extra: Iterable[str] = ()):
        self.folder = Path(folder)
        self.ae_title = ae_title
        self.port = port or free_port()
        self.extra = list(extra)
        self.proc: subprocess.Popen | None = None

    def start(self) -> "StoreSCP":
        self.folder.mkdir(parents=True, exist_ok=True)
        cmd = [need("storescp"), "-aet", self.ae_title, "+xa", "+uf", "-od", str(self.folder), *self.extra, str(self.port)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=DCMTK_ENV)
        wait_until(lambda: listening(self.port), 15, what="storescp to listen")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    @property
    def address(self) -> str:
        return f"{self.ae_title}@{LOOPBACK}:{self.port}"

    def files(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if p.is_file() and not p.name.startswith("."))

    def __enter__(self) -> "StoreSCP":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


_SENDING = re.compile(r"^I: Sending file: (.*)$")
_RESPONSE = re.compile(r"^I: Received Store Response \((.*)\)$")


def storescu(
    port: int, files: Iterable[str | Path], *, calling: str = "SENDER", called: str = "DEIDC", extra: Iterable[str] = (), timeout: float = 300.0
) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """Send ``files`` with one ``storescu`` association; returns the process and, per file
    sent, the response it saw (``Success``, a failure text, or missing when no answer came)."""
    cmd = [need("storescu"), "-v", "-aet", calling, "-aec", called, *extra, LOOPBACK, str(port), *map(str, files)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=DCMTK_ENV)
    return proc, parse_acks(proc.stdout + proc.stderr)


def parse_acks(output: str) -> dict[str, str]:
    acks: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        m = _SENDING.match(line)
        if m:
            current = m.group(1)
            continue
        m = _RESPONSE.match(line)
        if m and current is not None:
            acks[current] = m.group(1)
            current = None
    return acks


def storescu_popen(port: int, files: Iterable[str | Path], *, calling: str = "SENDER", called: str = "DEIDC", out: Path | None = None) -> subprocess.Popen:
    """A ``storescu`` sending in the background; its verbose output goes to ``out``."""
    cmd = [need("storescu"), "-v", "-aet", calling, "-aec", called, LOOPBACK, str(port), *map(str, files)]
    sink = open(out, "w") if out else subprocess.DEVNULL
    try:
        return subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=DCMTK_ENV)
    finally:
        if out:
            sink.close()


def send_raw(port: int, parts: list[tuple[str, bytes]], *, calling: str = "RAW") -> list[int]:
    """C-STORE each (name, Part 10 bytes) as it is over one pynetdicom association."""
    from pydicom.filereader import read_file_meta_info
    from pynetdicom import AE, _config

    folder = Path(os.environ.get("TMPDIR", "/tmp"))
    ae = AE(ae_title=calling)
    paths = []
    for name, data in parts:
        path = folder / f"deidlang-serve-raw-{os.getpid()}-{name}.dcm"
        path.write_bytes(data)
        paths.append(path)
        meta = read_file_meta_info(path)
        ae.add_requested_context(meta.MediaStorageSOPClassUID, [meta.TransferSyntaxUID])
    _config.STORE_SEND_CHUNKED_DATASET = True
    try:
        assoc = ae.associate(LOOPBACK, port, ae_title="DEIDC")
        assert assoc.is_established
        statuses = [int(assoc.send_c_store(p).Status) for p in paths]
        assoc.release()
    finally:
        _config.STORE_SEND_CHUNKED_DATASET = False
        for p in paths:
            p.unlink()
    return statuses


def echoscu(port: int, *, calling: str = "SENDER", called: str = "DEIDC", extra: Iterable[str] = ()) -> subprocess.CompletedProcess:
    return subprocess.run(
        [need("echoscu"), "-v", "-aet", calling, "-aec", called, *extra, LOOPBACK, str(port)], capture_output=True, text=True, timeout=60, env=DCMTK_ENV
    )


# =========================================================================== Orthanc


class Orthanc:
    """Orthanc on free loopback ports with a generated configuration."""

    def __init__(self, folder: Path, ae_title: str = "ORTHANC", plugins: Iterable[str] = ()):
        self.folder = Path(folder)
        self.ae_title = ae_title
        self.http_port = free_port()
        self.dicom_port = free_port()
        self.plugins = list(plugins)
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Orthanc":
        binary = need(ORTHANC)
        self.folder.mkdir(parents=True, exist_ok=True)
        config = {
            "Name": "deidlang-test",
            "StorageDirectory": str(self.folder / "storage"),
            "IndexDirectory": str(self.folder / "index"),
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": self.ae_title,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "HttpServerEnabled": True,
            "DicomServerEnabled": True,
            "Plugins": self.plugins,
            "DicomCheckCalledAet": False,
            "UnknownSopClassAccepted": True,
            "StableAge": 1,
            "ConcurrentJobs": 1,
            "HttpThreadsCount": 4,
            "SaveJobs": False,
            "StorageCompression": False,
            "OverwriteInstances": False,
        }
        if self.plugins:
            config["DicomWeb"] = {"Enable": True, "Root": "/dicom-web/"}
        path = self.folder / "orthanc.json"
        path.write_text(json.dumps(config, indent=2))
        self.log = open(self.folder / "orthanc.log", "w")
        self.proc = subprocess.Popen([binary, str(path)], stdout=self.log, stderr=subprocess.STDOUT, cwd=self.folder)
        wait_until(self._up, 60, 0.2, what="Orthanc's REST API")
        wait_until(lambda: listening(self.dicom_port), 30, what="Orthanc's DICOM port")
        return self

    def _up(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"Orthanc exited: {(self.folder / 'orthanc.log').read_text()[-2000:]}")
        try:
            self.get("/system")
            return True
        except (OSError, urllib.error.URLError):
            return False

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, 30)
            self.proc = None
            self.log.close()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}"

    @property
    def address(self) -> str:
        return f"{self.ae_title}@{LOOPBACK}:{self.dicom_port}"

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            data = response.read()
        return json.loads(data) if response.headers.get_content_type() == "application/json" else data

    def instances(self) -> list[str]:
        return self.get("/instances")

    def instance_file(self, ident: str) -> bytes:
        return self.get(f"/instances/{ident}/file")

    def statistics(self) -> dict:
        return self.get("/statistics")

    def __enter__(self) -> "Orthanc":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# =========================================================================== deidc serve


class Serve:
    """``deidc serve`` in a subprocess. ``events()`` reads its JSON log."""

    def __init__(self, spool: Path, args: Iterable[str], *, port: int | None = None, log: Path | None = None, env: dict | None = None, ae_title: str = "DEIDC"):
        self.spool = Path(spool)
        self.args = list(args)
        self.port = port or free_port()
        self.log = Path(log) if log else self.spool.parent / f"{self.spool.name}-serve.jsonl"
        self.env = env
        self.ae_title = ae_title
        self.proc: subprocess.Popen | None = None
        self.stderr_path = self.log.with_suffix(".stderr")

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "deidlang",
            "serve",
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
            "--ae-title",
            self.ae_title,
            "--spool",
            str(self.spool),
            "--log",
            str(self.log),
            *self.args,
        ]

    def start(self, wait: bool = True) -> "Serve":
        env = {**os.environ, **(self.env or {})}
        self._stderr = open(self.stderr_path, "a")
        self._lines_before = len(self.events())
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=self._stderr, env=env)
        if wait:
            wait_until(self._started, 60, 0.1, what="deidc serve to start")
        return self

    def _started(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"deidc serve exited ({self.proc.returncode}): {self.stderr_path.read_text()[-3000:]}")
        return any(e["event"] == "started" for e in self.events()[self._lines_before :])

    def events(self, kind: str | None = None) -> list[dict]:
        try:
            lines = self.log.read_text().splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line cut by kill -9
        return [e for e in out if kind is None or e["event"] == kind]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(10)
        self.proc = None
        self._stderr.close()
        return code

    def kill(self) -> None:
        """``kill -9``."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None
            self._stderr.close()

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Until every received object is delivered (the spool's queues are empty)."""
        wait_until(lambda: spool_empty(self.spool), timeout, 0.1, what="the spool to empty")

    def __enter__(self) -> "Serve":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def spool_objects(spool: Path) -> list[Path]:
    """Objects that wait in the spool (received, or de-identified and not yet delivered)."""
    out = []
    for part in ("incoming", "outbox"):
        base = Path(spool) / part
        if base.exists():
            out.extend(p for p in base.rglob("*.dcm") if not p.name.startswith("."))
    return out


def spool_empty(spool: Path) -> bool:
    return (Path(spool) / "incoming").exists() and not spool_objects(spool)


def rss_kib(pid: int) -> int:
    """Resident set size of a process (Linux)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    """Every descendant of a process (the node's forkserver and its worker processes)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            kids = [int(x) for x in fh.read().split()]
    except OSError:
        return []
    return kids + [grandchild for kid in kids for grandchild in children(kid)]


def dataset_bytes(data: bytes) -> bytes:
    """A Part 10 file's bytes after its file meta group (the data set as encoded)."""
    import io

    from pydicom.filereader import _read_file_meta_info, read_preamble

    fp = io.BytesIO(data)
    read_preamble(fp, False)
    _read_file_meta_info(fp)
    return data[fp.tell() :]


def iter_dicom(folder: Path) -> Iterator[Path]:
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            yield path


# =========================================================================== objects to send


def make_objects(folder: Path, count: int, *, studies: int = 1, tag: str = "obj", pixels: int = 64) -> list[Path]:
    """``count`` small CT images with unique UIDs (deterministic from ``tag``), spread over
    ``studies`` studies, InstanceNumber counting up within each study (to check order)."""
    import pydicom
    from pydicom.data import get_testdata_file
    from pydicom.uid import generate_uid

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    template = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    template.Rows = template.Columns = pixels
    template.PixelData = bytes(range(256)) * (pixels * pixels * 2 // 256)
    out = []
    for n in range(count):
        study = n % studies
        ds = template.copy()
        ds.file_meta = template.file_meta.copy()
        ds.PatientID = f"{tag}-patient-{study}"
        ds.PatientName = f"{tag}^study{study}"
        ds.StudyInstanceUID = generate_uid(entropy_srcs=[tag, "study", str(study)])
        ds.SeriesInstanceUID = generate_uid(entropy_srcs=[tag, "series", str(study)])
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[tag, "instance", str(n)])
        ds.InstanceNumber = n // studies + 1
        path = folder / f"{tag}-{n:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        out.append(path)
    return out
