"""The run manifest: ``<output>/deidlang-manifest.json`` (the tools, recipes, options and
summary of a run) and ``deidlang-manifest.jsonl`` (one record per file, appended as files
complete), which lets the same command resume, and the quarantine report. Inputs are
recorded by keyed digests (:func:`deidlang.engine.naming.input_key`), never by name, and
no element value is ever written here."""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any, Sequence

import attrs

from ..dicomio.atomic import WriteError, atomic_target, write_all
from ..dicomio.damage import CHUNK
from ..privacy.profile import EDITION as PROFILE_EDITION
from ..version import __version__
from .digests import path_digest
from .inputs import Root
from .job import QUARANTINE_DIR, QUARANTINE_REPORT, BatchError, FileResult, Job, Summary
from .outputs import TMP_SUFFIX, OutputError, make_folders, remove_temporaries
from .paths import is_url

#: The run manifest (header, written atomically) and its per-file records (JSON Lines).
MANIFEST = "deidlang-manifest.json"
MANIFEST_RECORDS = "deidlang-manifest.jsonl"
MANIFEST_VERSION = 1


#: File descriptors a forked child must not keep: the manifest's, whose lock is the output
#: folder's (a lock held through an inherited descriptor outlives the run that took it).
PARENT_ONLY_FDS: set[int] = set()


def _close_parent_only_fds() -> None:
    for fd in PARENT_ONLY_FDS:
        try:
            os.close(fd)
        except OSError:
            pass
    PARENT_ONLY_FDS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_parent_only_fds)


def _tool_fingerprint() -> dict[str, Any]:
    import platform

    import pydicom

    return {
        "deidlang": __version__,
        "pydicom": pydicom.__version__,
        # the edition of the DICOM standard pydicom's data dictionary (keywords, VRs) was
        # built from: not the edition of the confidentiality profile (PROFILE_EDITION)
        "dicom_dictionary": getattr(pydicom, "__dicom_version__", ""),
        "python": platform.python_version(),
    }


def _file_sha256(path: str | None) -> str | None:
    if not path:
        return None
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _json_text(data: Any, indent: int | None = None) -> str:
    """JSON as UTF-8 can hold it: a file name with bytes that are not UTF-8 (Python
    holds them as lone surrogates) is written with ``\\u`` escapes instead."""
    text = json.dumps(data, indent=indent, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(data, indent=indent, ensure_ascii=True)
    return text


def write_json_atomic(path: str, data: Any) -> None:
    with atomic_target(path, suffix=TMP_SUFFIX) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(_json_text(data, indent=2) + "\n")


@attrs.frozen
class _Previous:
    """What the manifest remembers about one output of an earlier run (compactly)."""

    run: str
    status: str
    input_size: int
    input_mtime_ns: int | None
    output_size: int
    output_mtime_ns: int | None
    source: int = 0  # the input it was written for (:func:`source_digest`; 0: not recorded)


def _rel(path: str, output: str) -> str:
    return os.path.relpath(path, output).replace(os.sep, "/")


class Manifest:
    """``<output>/deidlang-manifest.json`` (the run: tools, recipes, options, summary)
    and ``deidlang-manifest.jsonl`` (one record per file, appended as files complete).

    The per-file record of an output is the last line that names it. On
    opening, the records of earlier runs are read into a compact index
    (output path digest -> run key, status, sizes, mtimes) to decide what is
    complete; at the end of a run whose file held older records, the file is
    rewritten with the last record per output only.

    Inputs are recorded by their input key (:func:`deidlang.engine.naming.input_key`), never
    by name. ``by_input``: also index the earlier outputs by input (the dicom layout,
    whose names are known only once a file is read, resumes by input).
    """

    def __init__(self, output: str, header: dict[str, Any], *, durable: bool = False, by_input: bool = False):
        self.by_input: dict[int, str] | None = {} if by_input else None
        self.durable = durable
        self.output = output
        self.header = header
        self.key = header["run_key"]
        self.path = os.path.join(output, MANIFEST)
        self.records_path = os.path.join(output, MANIFEST_RECORDS)
        self.previous: dict[int, _Previous] = {}
        self.previous_run: dict[str, Any] | None = None
        self.old_lines = 0
        self._fd: int | None = None

    # -- opening
    def open(self) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:  # appended to, so never through a symbolic link (it could point anywhere)
            fd = os.open(self.records_path, flags, 0o666)
        except OSError as err:
            if os.path.islink(self.records_path):
                raise BatchError(f"the manifest '{self.records_path}' is a symbolic link: not followed; remove it, or choose another --output") from None
            raise WriteError.of(err, self.records_path, "the run manifest") from None
        self._fd = fd
        try:  # one run per output at a time; the lock goes with the process, even on SIGKILL
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - not POSIX: no lock
            pass
        except OSError:
            os.close(fd)
            self._fd = None
            raise BatchError(f"another run is writing to '{self.output}' (its manifest is locked): wait for it, or choose another --output") from None
        PARENT_ONLY_FDS.add(fd)
        try:
            with open(self.path, encoding="utf-8") as fh:
                old = json.load(fh)
            if isinstance(old, dict):
                self.previous_run = old
        except (OSError, ValueError):
            pass
        self._load_records()
        if self.previous_run is None or not self.previous_run.get("complete", True):
            remove_temporaries(self.output)  # left by an interrupted run (the lock says no run is writing)
        self.header["started"] = _now()
        self._write_header()
        needs_newline = False
        try:
            with open(self.records_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                if fh.tell():
                    fh.seek(-1, os.SEEK_END)
                    needs_newline = fh.read(1) != b"\n"
        except OSError:
            pass
        if needs_newline:  # a record cut short (disk full): end it, it is skipped when read
            write_all(self._fd, b"\n", self.records_path, "the run manifest")

    def _load_records(self) -> None:
        try:
            fh = open(self.records_path, encoding="utf-8", errors="surrogateescape")
        except OSError:
            return
        with fh:
            for line in fh:
                self.old_lines += 1
                try:
                    rec = json.loads(line)
                    out = rec["output"]
                except (ValueError, KeyError, TypeError):
                    continue
                if not out:
                    continue
                root, ikey = rec.get("root"), rec.get("input_key")
                source = source_digest(root, ikey) if isinstance(root, int) and isinstance(ikey, str) else 0
                status = str(rec.get("status", ""))
                self.previous[path_digest(out)] = _Previous(
                    str(rec.get("run", "")),
                    status,
                    int(rec.get("input_size", -1) if rec.get("input_size") is not None else -1),
                    rec.get("input_mtime_ns"),
                    int(rec.get("output_size", -1) if rec.get("output_size") is not None else -1),
                    rec.get("output_mtime_ns"),
                    source,
                )
                if self.by_input is not None and source and status in ("written", "quarantined"):
                    self.by_input[source] = out

    def resuming(self, overwrite: bool) -> bool:
        """Whether complete outputs of the same job may be skipped: always, unless
        ``--overwrite`` asks for a fresh run after a run that completed."""
        if not overwrite:
            return True
        prev = self.previous_run or {}
        return prev.get("run_key") == self.key and not prev.get("complete", True)

    def output_of(self, root: int, input_key: str) -> str | None:
        """The output (relative, '/' between names) the last record of this input names."""
        if self.by_input is None:
            return None
        return self.by_input.get(source_digest(root, input_key))

    def holder(self, path: str) -> int | None:
        """The input (:func:`source_digest`) whose output ``path`` is, when an earlier run
        of this tool wrote it and it has not changed since; None otherwise."""
        prev = self.previous.get(path_digest(_rel(path, self.output)))
        if prev is None or prev.status not in ("written", "quarantined"):
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        if (st.st_size, st.st_mtime_ns) != (prev.output_size, prev.output_mtime_ns):
            return None
        return prev.source

    def state(self, path: str, source: str) -> str:
        """``"complete"`` (this job wrote it; intact; same input), ``"stale"`` (this tool
        wrote it, for another job or input: redo it), ``"foreign"`` (exists, not
        ours, or changed since) or ``"absent"``."""
        prev = self.previous.get(path_digest(_rel(path, self.output)))
        try:
            st = os.stat(path)
        except OSError:
            return "absent"
        if prev is None or prev.status not in ("written", "quarantined"):
            return "foreign"
        if (st.st_size, st.st_mtime_ns) != (prev.output_size, prev.output_mtime_ns):
            return "foreign"
        if prev.run != self.key:
            return "stale"
        try:
            if is_url(source):
                same_input = prev.input_size >= 0
            else:
                ist = os.stat(source)
                same_input = (ist.st_size, ist.st_mtime_ns) == (prev.input_size, prev.input_mtime_ns)
        except OSError:
            same_input = False
        return "complete" if same_input else "stale"

    # -- recording
    def record(self, result: FileResult) -> None:
        self.record_many([result])

    def record_many(self, results: Sequence[FileResult]) -> None:
        """Append one line per file and hand them to the OS in one write."""
        if not results:
            return
        assert self._fd is not None
        data = "".join(self._line(r) for r in results).encode("utf-8", "surrogateescape")
        write_all(self._fd, data, self.records_path, "the run manifest")
        if not self.durable:
            return  # handed to the OS in one write: a killed process loses nothing; power loss may
        try:
            os.fsync(self._fd)  # the records are on the disk before their outputs are renamed
        except OSError as err:
            raise WriteError.of(err, self.records_path, "the run manifest") from None

    def _line(self, result: FileResult) -> str:
        rec = {
            "input_key": result.input_key or None,
            "root": result.root,
            "input_sha256": result.input_sha256 or None,
            "input_size": result.input_size if result.input_size >= 0 else None,
            "input_mtime_ns": result.input_mtime_ns,
            "output": _rel(result.output, self.output) if result.output else None,
            "output_sha256": result.output_sha256 or None,
            "output_size": result.output_size if result.output_size >= 0 else None,
            "output_mtime_ns": result.output_mtime_ns,
            "status": result.status,
            "reason": result.reason,
            "counts": {"removed": result.removed, "added": result.added, "changed": result.changed},
            "warnings": result.warnings,
            "run": self.key,
        }
        if result.pixels:
            rec["pixels"] = result.pixels
        if result.verdict is not None:
            rec["verdict"] = result.verdict
        if result.note:
            rec["note"] = result.note
        if result.fallbacks:  # table and key element names, never values (deidlang/tables)
            rec["fallbacks"] = list(result.fallbacks)
        return _json_text(rec) + "\n"

    # -- closing
    def finish(self, summary: Summary, *, complete: bool) -> None:
        if self._fd is not None:
            try:
                if complete and self.old_lines:
                    self._compact()  # while the lock is held
            finally:
                PARENT_ONLY_FDS.discard(self._fd)
                os.close(self._fd)
                self._fd = None
        self.header["finished"] = _now()
        self.header["complete"] = complete
        self.header["summary"] = summary.counts()
        self._write_header()

    def _compact(self) -> None:
        """Keep the last record per output (two passes; what is remembered per
        record is a line number keyed by a 64-bit digest)."""
        last: dict[int, int] = {}
        with open(self.records_path, encoding="utf-8", errors="surrogateescape") as fh:
            for n, line in enumerate(fh):
                key = _record_key(line)
                if key is not None:
                    last[key] = n
        with (
            atomic_target(self.records_path, suffix=TMP_SUFFIX) as tmp,
            open(self.records_path, encoding="utf-8", errors="surrogateescape") as src,
            open(tmp, "w", encoding="utf-8", errors="surrogateescape") as dst,
        ):
            for n, line in enumerate(src):
                key = _record_key(line)
                if key is not None and last.get(key) == n:
                    dst.write(line if line.endswith("\n") else line + "\n")

    def _write_header(self) -> None:
        write_json_atomic(self.path, self.header)


def _record_key(line: str) -> int | None:
    try:
        out = json.loads(line)["output"]
    except (ValueError, KeyError, TypeError):
        return None
    return path_digest(out) if out else None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _key_fingerprints(programs: Sequence) -> list[str]:
    """Fingerprints (never the secrets) of the keys bound to keyed built-ins: another
    key gives other pseudonyms, so it is part of what decides the output."""
    found: set[str] = set()
    for program in programs:
        for step in getattr(program, "steps", ()):
            key = getattr(getattr(step, "value", None), "key", None)
            fingerprint = getattr(key, "fingerprint", None)
            if isinstance(fingerprint, str):
                found.add(fingerprint)
    return sorted(found)


def _root_key(key: Any, root: Root) -> str | None:
    """The keyed digest of an input root's own name (what ``deidc verify`` matches a folder
    of several inputs with)."""
    from .naming import input_key

    if key is None:
        return None
    name = root.path.rstrip("/" + os.sep).replace("\\", "/").rsplit("/", 1)[-1]
    return input_key(key, name)


def manifest_header(job: Job, root_list: Sequence[Root], executor: str) -> dict[str, Any]:
    """The manifest's description of a run; ``run_key`` hashes what decides the output bytes."""
    tools = _tool_fingerprint()
    recipes: list[dict[str, Any]] = [{"path": r.path, "sha256": r.sha256} for r in job.recipes]
    if not recipes:
        recipes = [{"path": getattr(p, "name", "<program>"), "sha256": getattr(p, "sha256", None)} for p in job.programs]
    ids = {"path": job.ids_path, "sha256": _file_sha256(job.ids_path)} if job.ids_path else None
    if job.ids is not None and ids is None:
        ids = {"path": None, "sha256": hashlib.sha256(json.dumps(job.ids, sort_keys=True, default=str).encode()).hexdigest()}
    functions = {"path": job.functions_path, "sha256": _file_sha256(job.functions_path)} if job.functions_path else None
    options = job.options.fingerprint()
    keys = _key_fingerprints(job.programs)
    path_key = job.options.key
    if path_key is not None and path_key.fingerprint not in keys:  # output names and input keys
        keys = sorted([*keys, path_key.fingerprint])
    keyed = {
        "deidlang": tools["deidlang"],
        "pydicom": tools["pydicom"],
        "dicom_dictionary": tools["dicom_dictionary"],
        "recipes": [r["sha256"] for r in recipes],
        "ids": ids["sha256"] if ids else None,
        "functions": functions["sha256"] if functions else None,
        "options": options,
        "keys": keys,
    }
    run_key = hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()[:32]
    return {
        "manifest_version": MANIFEST_VERSION,
        "tool": {"name": "deidlang", "version": tools["deidlang"]},
        # two editions of the DICOM standard, which need not agree: pydicom's data dictionary
        # (keywords and VRs), and PS3.15 Table E.1-1, which the bundled recipe, its options and
        # --verify follow (docs/running.md, "The manifest")
        "pydicom": {"version": tools["pydicom"], "dictionary_edition": tools["dicom_dictionary"]},
        "profile": {"table": "PS3.15 Table E.1-1", "edition": PROFILE_EDITION},
        "python": tools["python"],
        "recipes": recipes,
        "ids": ids,
        "functions": functions,
        "options": options,
        "keys": keys,
        "allowed": _allowed_record(job),
        # the inputs by keyed digests of their folder names (a path given on the command line can name a patient)
        "inputs": [{"name_key": _root_key(path_key, r)} for r in root_list],
        "layout": job.options.layout,
        "output": os.path.abspath(job.output),
        "executor": executor,
        "run_key": run_key,
        "records": MANIFEST_RECORDS,
        "complete": False,
    }


def _allowed_record(job: Job) -> dict[str, Any] | None:
    """What ``--allow`` let through: the codes given and each finding (file, line, code)."""
    if not job.allow and not job.allowed:
        return None
    findings = [{"file": d.file, "line": d.line, "column": d.column, "code": d.code} for d in job.allowed]
    return {"codes": list(job.allow), "findings": findings}


def source_digest(root: int, input_key: str) -> int:
    """What identifies an input among the manifest's records: its root and input key."""
    return path_digest(f"{root}:{input_key}") if input_key else 0


def write_quarantine_report(output: str, held: Sequence[FileResult]) -> str:
    """Add this run's quarantined files to ``<output>/quarantine/quarantine.json``.

    Entries are keyed by the path under the output directory; entries of
    earlier runs are kept. The report names output files, groups, labels and the
    recipe criteria that held, never element values, and never an input path
    (its keyed digest, as in the manifest). Raises OSError when it cannot be written.
    """
    path = os.path.join(output, QUARANTINE_DIR, QUARANTINE_REPORT)
    files: dict[str, Any] = {}
    try:
        with open(path, encoding="utf-8") as fh:
            old = json.load(fh)
        if isinstance(old, dict) and isinstance(old.get("files"), dict):
            files.update(old["files"])
    except (OSError, ValueError):
        pass
    if not held and not files:
        return path
    try:
        make_folders(output, os.path.dirname(path))
    except OutputError as err:  # a symbolic link on the way: said as the OSError callers expect
        import errno

        raise OSError(errno.ENOTDIR, str(err)) from None
    for result in held:
        files[os.path.relpath(result.output, output)] = {
            "input_key": result.input_key or None,
            "verdict": result.verdict,
            "matches": [{"group": g, "label": label, "criteria": list(c)} for g, label, c in result.matches],
            **({"note": result.note} if result.note else {}),
        }
    write_json_atomic(path, {"version": 1, "files": dict(sorted(files.items()))})
    return path
