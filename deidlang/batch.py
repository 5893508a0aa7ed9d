"""The batch engine behind ``deidc run`` and ``deidc clean``: many files, one recipe.

Public API::

    job = Job(programs=(program,), output="out", inputs=("scans/",), recipes=(recipe_ref(path, text),))
    batch = prepare(job)            # checks inputs and output, counts the files, reads the manifest
    for result in batch.results():  # FileResult per file, in input order, streamed
        ...
    batch.summary                   # Summary: counts, never element values

    run(job) -> Iterator[FileResult]  # prepare(job).results()

What it does for every file (:class:`Worker`): read it (hashing the bytes
as they are read; large values such as pixel data are *deferred*, not
read), run the ``%filter`` sections when pixels or quarantine are asked
about, apply the recipes, clean the pixels if asked, and write the result
to a temporary name next to its target (hashing the bytes as they are
written; deferred pixel data is copied from the input in chunks, never
held in memory). The main process then appends the file's record to the
run manifest and renames the temporary file into place, in that order, so
that an interruption at any point leaves either a complete output with its
record, or no output.

A file that is not a complete DICOM file (empty, not DICOM, cut short, not
a regular file, nested too deeply, a DICOMDIR) fails with a reason in plain
words and the batch goes on; outputs never leave the output folder (no
``..``, no symbolic link on the way is followed). docs/robustness.md lists
every case.

Parallel runs (``Job.jobs > 1``) use a process pool whose workers receive
the compiled Programs, functions and ids once, through the pool
initializer, and then only batches of small :class:`Task` records; at most
a few batches per worker are in flight, so memory does not grow with the
number of files. ``Job.scheduler`` sends the same batches to a Dask
cluster instead (:mod:`deidlang.distributed`).

The run manifest (``<output>/deidlang-manifest.json`` plus one JSON line
per file in ``deidlang-manifest.jsonl``) records the tool, pydicom and
dictionary versions, the recipes' SHA-256, the options, and per file its
input and output paths (relative), SHA-256, sizes, status, reason and
counts. It never holds element values. Re-running the same command skips
the outputs the manifest says are complete (same recipes, options, tool
version and input); outputs of an earlier, different run are redone.

Library code: raises :class:`BatchError` for problems with the job itself,
never prints, never exits.
"""

from __future__ import annotations

import array
import hashlib
import importlib.util
import io
import json
import math
import multiprocessing
import os
import signal
import stat
import sys
import time
import warnings
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import attrs

from . import __version__
from .atomic import (
    FATAL_ERRNOS,
    WriteError,
    atomic_target,
    describe,
    errno_of,
    fsync_directory,
    remove_quietly,
    temporary_name,
    write_all,
)
from .diagnostics import ApplyError, DeidlangError, Diagnostic
from .encode import conform_file_meta, to_bytes
from .runtime.sequences import nested_deeper

__all__ = [
    "BatchError",
    "InputError",
    "OutputError",
    "read_input",
    "cut_short",
    "too_deep",
    "is_dicomdir",
    "confined",
    "make_folders",
    "printable",
    "Job",
    "Options",
    "Task",
    "FileResult",
    "Summary",
    "Batch",
    "Worker",
    "prepare",
    "run",
    "execute",
    "recipe_ref",
    "load_functions",
    "write_atomic",
    "remove_temporaries",
    "snapshot",
    "changes",
    "MANIFEST",
    "MANIFEST_RECORDS",
    "TMP_SUFFIX",
    "QUARANTINE_DIR",
    "QUARANTINE_REPORT",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
DEMO_DIR = DATA_DIR / "demo"

#: Sub-directory of the output that holds quarantined files, and its report.
QUARANTINE_DIR = "quarantine"
QUARANTINE_REPORT = "quarantine.json"

#: The run manifest (header, written atomically) and its per-file records (JSON Lines).
MANIFEST = "deidlang-manifest.json"
MANIFEST_RECORDS = "deidlang-manifest.jsonl"
MANIFEST_VERSION = 1

#: Suffix of the temporary files a run writes before renaming them into place.
TMP_SUFFIX = ".deidc-tmp"

#: Files up to this size are read into memory in one go (hashed and parsed from
#: the bytes); larger ones are parsed from the file with large values deferred.
SMALL_FILE = 1 << 20
#: Values longer than this are not read while parsing a large file (pydicom's ``defer_size``).
DEFER_SIZE = 64 << 10
#: Chunk size for hashing and for copying deferred values to the output.
CHUNK = 1 << 20

STATUSES = ("written", "quarantined", "skipped", "failed")

#: The SOP Class of a DICOMDIR file.
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"


class BatchError(DeidlangError):
    """The job cannot start: a missing input, an output that is a file or the input, an
    unreadable functions file. Messages name paths, never element values."""


class NoInput(BatchError):
    """An input named on the command line does not exist."""


class InputError(DeidlangError):
    """One input file cannot be processed: its message is the reason, in plain words,
    as the run reports it (it names no element values, and not the file: the caller does)."""


class OutputError(DeidlangError):
    """One output cannot be written where it belongs (it would leave the output folder,
    or a folder on its way is a symbolic link). The message is the reason."""


# The reasons a file is reported with (docs/robustness.md lists them with the kinds of
# damage that lead to each).
EMPTY = "the file is empty"
NOT_DICOM = "not a DICOM file"
NO_PREAMBLE_HINT = " (no DICOM preamble; --force reads it anyway)"
TOO_SHORT_HINT = " (shorter than the DICOM preamble: cut short?)"
CUT_SHORT = "file ends before its last element (cut short, or an element length is wrong)"
META_ONLY = "the file holds file meta information but no data set (cut short?)"
#: Sequences nested deeper than this are refused: pydicom reads, and writes, nested
#: sequences by recursion, and fails (or, writing, slows to a crawl) near 200 levels.
MAX_DEPTH = 100
TOO_DEEP = f"sequences nested too deeply to process (more than {MAX_DEPTH} levels)"
DAMAGED = "damaged or unsupported DICOM"
DICOMDIR = (
    "a DICOMDIR (a media index): not de-identified, as its byte offsets would no longer "
    "match; make a new one from the outputs"
)
DANGLING = "a symbolic link whose target does not exist"
LOOP = "a symbolic link loop"
UNLISTABLE = "cannot read: the folder cannot be listed"
OUTSIDE = "its output path would leave the output folder ('..' or an absolute name): not processed"
#: A zip archive, given or found among the inputs. deidlang reads DICOM files, not archives:
#: a member's name can point outside the folder it is extracted to, its size can be a
#: thousand times the archive's, and an extraction interrupted half-way leaves half a
#: study. The same words in deidlang.compat.get_files (docs/robustness.md).
ZIP_ARCHIVE = (
    "a zip archive: deidlang does not open archives (their member names and sizes are not "
    "checked as a folder's files are); extract it first, for example `unzip -d FOLDER ARCHIVE.zip`, "
    "and give the folder as input"
)
#: A file the recipes' var: lines need an ids entry for, and which has none.
NO_IDS_ENTRY = (
    "no entry in the ids file (matched by path or SOPInstanceUID), and the recipe's var: lines need one: not written"
)


# =========================================================================== the job


@attrs.frozen
class Options:
    """What to do with each file (everything but the recipes, ids and functions)."""

    overwrite: bool = False
    remove_private: bool = True
    force: bool = False
    clean_pixels: bool = False
    quarantine: frozenset[str] = frozenset()
    preserve_compression: bool = False
    pixels_only: bool = False  # leave the header alone (deidc clean --pixels-only)
    png: str | None = None  # absolute directory for before/after previews
    output: str = ""  # absolute output directory (to name previews)
    verify: bool = False  # search each output for identifying values of its original before it is kept
    show_values: bool = False  # keep the leaked values on failed results (for the terminal; never the manifest)
    durable: bool = False  # fsync outputs, manifest records and folders (deidc run --fsync)
    layout: str = "mirror"  # how outputs are named: mirror | pseudonym | dicom (deidlang.naming)
    key: Any = attrs.field(default=None, eq=False, repr=False)  # the Key of output-name pseudonyms and input keys
    ocr: Any = None  # deidlang.ocr.Settings with --ocr: OCR finds text to blank, then proves it gone

    @property
    def inspects(self) -> bool:
        return self.clean_pixels or bool(self.quarantine)

    @property
    def holds(self) -> bool:
        """Whether files can be held back in the quarantine folder (--quarantine, or --ocr's proof)."""
        return bool(self.quarantine) or self.ocr is not None

    def fingerprint(self) -> dict[str, Any]:
        """The options that change output bytes (in the manifest, and in the run key)."""
        return {
            "remove_private": self.remove_private,
            "force": self.force,
            "clean_pixels": self.clean_pixels,
            "quarantine": sorted(self.quarantine),
            "preserve_compression": self.preserve_compression,
            "pixels_only": self.pixels_only,
            "verify": self.verify,
            "layout": self.layout,
            **({"ocr": self.ocr.fingerprint()} if self.ocr is not None else {}),
        }


@attrs.frozen
class RecipeRef:
    """A recipe as the manifest names it: its path and the SHA-256 of its text."""

    path: str
    sha256: str


def recipe_ref(path: str, text: str) -> RecipeRef:
    return RecipeRef(path, hashlib.sha256(text.encode("utf-8")).hexdigest())


@attrs.frozen
class Job:
    """One batch run. ``inputs``: files, directories or fsspec URLs (empty: the
    demo data shipped with deidlang). ``programs``: compiled recipes, applied in
    order. ``ids``: deid's ``{path: {name: value}}`` (matched by absolute path,
    path as given, path relative to its input, or the file's SOPInstanceUID: see
    :func:`ids_by_uid`). ``require_ids``: the recipes' ``var:`` lines need an
    entry; a file without one fails and is not written. ``funcs``: callables for
    ``func:``; ``functions_path``: the file they came from (executed again in
    workers that cannot inherit them). ``jobs``: local worker processes.
    ``scheduler``: a Dask scheduler address or ``local:N`` (needs ``deidlang[dask]``).
    ``manifest``: write the run manifest and resume from it. ``allow``: the
    codes the user let through (``deidc run --allow``) and ``allowed``: the
    recipe findings they let through, recorded in the manifest.
    """

    programs: tuple
    output: str
    inputs: tuple[str, ...] = ()
    recipes: tuple[RecipeRef, ...] = ()
    ids: Mapping[str, Mapping[str, Any]] | None = attrs.field(default=None, eq=False)
    ids_path: str | None = None
    funcs: Mapping[str, Callable] | None = attrs.field(default=None, eq=False)
    functions_path: str | None = None
    options: Options = Options()
    jobs: int = 1
    scheduler: str | None = None
    manifest: bool = True
    start_method: str | None = None  # multiprocessing start method (None: the platform's default)
    require_ids: bool = False  # the recipes need ids (var:): a file without an entry fails, unwritten
    allow: tuple[str, ...] = ()
    allowed: tuple = ()  # Diagnostics


# =========================================================================== planning


@attrs.frozen
class Root:
    """One input as given, and where its files go under the output directory."""

    given: str  # as on the command line ("" for the bundled demo data)
    path: str  # absolute path, or the URL
    is_dir: bool
    prefix: str  # sub-directory of the output for this root ("" = the output itself)
    url: bool = False


@attrs.frozen
class Task:
    """One file to process: small and picklable (it crosses to a worker process).

    ``replace_target`` / ``replace_quarantine``: an existing file at that path
    may be replaced without ``--overwrite`` (the manifest shows that an earlier,
    different run of this tool wrote it).
    """

    source: str  # absolute input path, or URL
    target: str  # absolute output path
    display: str  # how the file is named in messages
    ids: dict | None = None  # this file's variables (None: no ids given)
    quarantine: str | None = None  # absolute path under <output>/quarantine (with --quarantine)
    ids_key: str | None = None  # the file's key in the worker's ids index (instead of ``ids``)
    root: int = 0  # index of its input root
    relative: str = ""  # path relative to its input root
    replace_target: bool = False
    replace_quarantine: bool = False
    base: str = ""  # the output folder (absolute): outputs are confined to it
    refused: str = ""  # why the file is not processed at all (its output path would leave the output folder)
    scan: bool = False  # only say which of ``names`` hold identifying values (the mirror layout's first pass)
    names: tuple[str, ...] = ()  # with ``scan``: the output path's names (folders, then the file)


def is_url(text: str) -> bool:
    """An fsspec URL (``s3://bucket/key``, ``file:///data``), not a Windows drive path."""
    scheme, sep, _ = text.partition("://")
    return bool(sep) and len(scheme) > 1 and scheme.replace("+", "").replace("-", "").isalnum()


def _fsspec():
    try:
        import fsspec
    except ImportError:
        raise BatchError("URL inputs need fsspec: pip install fsspec (and s3fs for s3://, gcsfs for gs://)") from None
    return fsspec


def roots(inputs: Sequence[str] | None) -> list[Root]:
    """The inputs as roots; several directories each get their own output sub-directory."""
    if not inputs:
        return [Root("", str(DEMO_DIR), True, "")]
    out: list[Root] = []
    seen: set[str] = set()
    prefixes: set[str] = set()
    for given in inputs:
        if is_url(given):
            fs, path = _fsspec().core.url_to_fs(given)
            try:
                exists = fs.exists(path)
            except Exception as err:  # noqa: BLE001 - credentials, network: name the input only
                raise BatchError(f"input '{given}' cannot be listed ({type(err).__name__})") from None
            if not exists:
                raise NoInput(f"input '{given}' does not exist")
            if given in seen:
                continue
            seen.add(given)
            is_dir = fs.isdir(path)
            prefix = ""
            if is_dir and len(inputs) > 1:
                name = path.rstrip("/").rsplit("/", 1)[-1]
                prefix = _unique(name if name not in ("", ".", "..") else "input", prefixes)
            out.append(Root(given, given.rstrip("/") if is_dir else given, is_dir, prefix, url=True))
            continue
        path = os.path.abspath(given)
        if not os.path.exists(path):
            raise NoInput(f"input '{given}' does not exist")
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        is_dir = os.path.isdir(path)
        prefix = ""
        if is_dir and len(inputs) > 1:  # several roots: each gets its own sub-directory
            prefix = _unique(os.path.basename(path.rstrip(os.sep)) or "input", prefixes)
        out.append(Root(given, path, is_dir, prefix))
    return out


def walk(root: Root, exclude: str) -> Iterator[str]:
    """Files under a root in a stable order, skipping hidden names and the output directory."""
    for path, _real in _walk_real(root, exclude):
        yield path


def _walk_real(root: Root, exclude: str) -> Iterator[tuple[str, str]]:
    """``(path, real path)`` of every file under a root, in ``os.walk`` order (a directory's
    files, sorted, then its sub-directories, sorted; symbolic links to directories are not
    followed; a directory that cannot be listed is an entry itself, so that it is reported).
    Real paths come from the directory's real path, so that only symbolic links cost a
    ``realpath``."""
    if root.url:
        for url in _walk_url(root):
            yield url, url
        return
    if not root.is_dir:
        yield root.path, os.path.realpath(root.path)
        return
    yield from _scan(root.path, os.path.realpath(root.path), exclude)


def _scan(directory: str, real_dir: str, exclude: str) -> Iterator[tuple[str, str]]:
    try:
        with os.scandir(directory) as it:
            entries = list(it)
    except OSError:
        # listed as an entry of its own, so that the run reports it ("cannot read")
        # instead of leaving out what it holds without a word
        yield directory, real_dir
        return
    files, dirs = [], []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        (dirs if is_dir else files).append(entry)
    for entry in sorted(files, key=_name):
        path = os.path.join(directory, entry.name)
        yield path, (os.path.realpath(path) if _is_link(entry) else os.path.join(real_dir, entry.name))
    for entry in sorted(dirs, key=_name):
        if _is_link(entry):
            continue  # not followed (os.walk's default)
        real = os.path.join(real_dir, entry.name)
        if real == exclude:
            continue
        yield from _scan(os.path.join(directory, entry.name), real, exclude)


def _name(entry) -> str:
    return entry.name


def _is_link(entry) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return False


def _walk_url(root: Root) -> Iterator[str]:
    if not root.is_dir:
        yield root.path
        return
    fs, base = _fsspec().core.url_to_fs(root.path)
    base = base.rstrip("/")
    protocol = root.path.split("://", 1)[0]
    found = sorted(fs.find(base))
    for path in found:
        rel = path[len(base) :].lstrip("/")
        if not rel or any(part.startswith(".") and part not in (".", "..") for part in rel.split("/")):
            continue  # hidden names are skipped; '.' and '..' are listed, to be refused by name
        yield f"{protocol}://{path}" if protocol not in ("file", "local") else "file://" + path


def _relative(root: Root, source: str) -> str:
    if root.url:  # object names: empty parts ('a//b') collapse
        return os.sep.join(p for p in source[len(root.path) :].split("/") if p) if root.is_dir else source.rsplit("/", 1)[-1]
    return os.path.relpath(source, root.path) if root.is_dir else os.path.basename(source)


def display(root: Root, source: str) -> str:
    """A file as the user named it: the path as given, or relative to the demo data."""
    if not root.is_dir:
        return root.given
    if root.url:
        return source
    rel = os.path.relpath(source, root.path)
    return os.path.normpath(os.path.join(root.given, rel)) if root.given else rel


def _digest(text: str) -> int:
    """A 64-bit digest of a path: what the planner remembers per file (not the path)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=8).digest(), "little")


class DigestSet:
    """A set of 64-bit digests in about 24 bytes each (a Python set of ints takes about 75):
    open addressing with linear probing over an array of unsigned 64-bit slots, at most
    half full; 0 marks an empty slot (a digest of 0 is stored as 1). What the planner
    keeps per file, so the memory of a run of a million files stays small."""

    __slots__ = ("_slots", "_mask", "_count")

    def __init__(self, items: Iterable[int] = ()) -> None:
        self._slots = array.array("Q", bytes(8 * 1024))
        self._mask = 1023
        self._count = 0
        for item in items:
            self.add(item)

    def __len__(self) -> int:
        return self._count

    def _find(self, digest: int) -> int:
        """The slot holding ``digest``, or the empty slot where it would go."""
        slots, mask = self._slots, self._mask
        i = digest & mask  # the digests are uniformly distributed
        while True:
            value = slots[i]
            if value == digest or value == 0:
                return i
            i = (i + 1) & mask

    def __contains__(self, digest: int) -> bool:
        digest = digest or 1
        return self._slots[self._find(digest)] == digest

    def add(self, digest: int) -> None:
        digest = digest or 1
        i = self._find(digest)
        if self._slots[i] == digest:
            return
        self._slots[i] = digest
        self._count += 1
        if self._count * 2 > len(self._slots):
            old = self._slots
            self._slots = array.array("Q", bytes(16 * len(old)))
            self._mask = len(self._slots) - 1
            for value in old:
                if value:
                    self._slots[self._find(value)] = value


def _unique(relative: str, taken: DigestSet) -> str:
    """``relative``, or ``name-2.ext``, ``name-3.ext``... if it is taken (case-insensitively)."""
    candidate = relative
    stem, ext = os.path.splitext(relative)
    n = 1
    while _digest(candidate.lower()) in taken:
        n += 1
        suffix = f"-{n}{ext}"
        head, base = os.path.split(stem)
        room = NAME_MAX - len(os.fsencode(suffix))
        candidate = os.path.join(head, _shorten(base, room) + suffix) if len(os.fsencode(base)) > room else f"{stem}{suffix}"
    taken.add(_digest(candidate.lower()))
    return candidate


def _lookup_ids(index: Mapping[str, dict], keys: Iterable[str]) -> str | None:
    """deid keys ids by absolute path; also accept the path as given and relative to the input."""
    for key in keys:
        key = os.path.normpath(key)
        if key in index:
            return key
    return None


#: Where an ids entry holds its file's SOPInstanceUID: the identifier `deidc identifiers`
#: writes (DICOM JSON model), or a plain value under the keyword.
_SOP_INSTANCE_UID_KEYS = ("(0008,0018)", "SOPInstanceUID")


def _entry_uid(entry: Any) -> str | None:
    if not isinstance(entry, Mapping):
        return None
    for name in _SOP_INSTANCE_UID_KEYS:
        value = entry.get(name)
        if isinstance(value, Mapping):  # {"vr": "UI", "Value": ["1.2.3"]}
            value = value.get("Value")
        if isinstance(value, list):
            value = value[0] if len(value) == 1 else None
        if isinstance(value, str) and value.strip("\0 "):
            return value.strip("\0 ")
    return None


def ids_by_uid(index: Mapping[str, Any]) -> dict[str, str]:
    """SOPInstanceUID -> the key of the ids entry that records it, so that an ids file
    still matches its files after they have moved. A UID that two entries record picks
    neither (the entries may differ)."""
    out: dict[str, str] = {}
    shared: set[str] = set()
    for key, entry in index.items():
        uid = _entry_uid(entry)
        if uid is None:
            continue
        if uid in out and out[uid] != key:
            shared.add(uid)
        out[uid] = key
    for uid in shared:
        del out[uid]
    return out


def read_sop_instance_uid(source: str, *, force: bool = False) -> str | None:
    """A local file's SOPInstanceUID, reading its header only (None when it cannot be read
    or has none). Warnings are not passed on: pydicom's can quote values."""
    import pydicom

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with _open_regular(source) as fh:
                ds = pydicom.dcmread(fh, force=force, stop_before_pixels=True, specific_tags=[0x00080018])
            value = ds.get(0x00080018)
            text = str(value.value).strip("\0 ") if value is not None and value.value else ""
    except Exception:  # noqa: BLE001 - not readable here: the run reports it when it reads the file
        return None
    return text or None


def ids_key_for(index: Mapping[str, Any], by_uid: Mapping[str, str], paths: Iterable[str], uid: str | None = None) -> str | None:
    """The key of a file's ids entry: by path (:func:`_lookup_ids`), else by its SOPInstanceUID."""
    key = _lookup_ids(index, paths)
    if key is None and uid:
        key = by_uid.get(uid)
    return key


def check_output(output: str, root_list: Sequence[Root]) -> None:
    """Refuse an output that is a file, a URL (outputs are written to a local folder), a
    symbolic link to nothing, or one of the input directories."""
    if is_url(output) or "://" in output:  # chained fsspec URLs too (simplecache::s3://...)
        raise BatchError(f"the output '{output}' is a URL: outputs go to a local folder; choose a local --output")
    if os.path.exists(output) and not os.path.isdir(output):
        raise BatchError(f"the output '{output}' exists and is not a directory")
    if os.path.islink(output) and not os.path.exists(output):
        raise BatchError(f"the output '{output}' is a symbolic link to a folder that does not exist")
    out_real = os.path.realpath(output)
    for root in root_list:
        if root.is_dir and not root.url and os.path.realpath(root.path) == out_real:
            raise BatchError(f"the output directory '{output}' is the input '{root.given}': choose another --output")


def _files(root_list: Sequence[Root], output: str) -> Iterator[tuple[int, Root, str, str]]:
    """``(root index, root, path or URL, path relative to its root)`` of every input file,
    each once (a file reached twice, through a link or two roots, is listed the first time)."""
    out_real = os.path.realpath(output)
    seen = DigestSet()
    for n, root in enumerate(root_list):
        for source, real in _walk_real(root, out_real):
            key = _digest(real)
            if key in seen:
                continue
            seen.add(key)
            yield n, root, source, _relative(root, source)


def mirror_names(root: Root, relative: str) -> list[str]:
    """The names on a file's output path as the input tree gives them: its input's folder
    (when there are several inputs), the folders below it, the file name."""
    parts = relative.split(os.sep)
    return [root.prefix, *parts] if root.prefix else parts


class NameFlags:
    """What the mirror layout's first pass found (:meth:`Batch.scan_names`): which folders
    and files of the input tree have a name that holds an identifying value of a file they
    hold, as 64-bit digests of (input root, path), never the names. ``folders``/``files``:
    how many distinct ones were renamed in the plan (for the summary)."""

    def __init__(self) -> None:
        self._folders = DigestSet()
        self._files = DigestSet()
        self._counted = DigestSet()
        self.folders = 0
        self.files = 0

    @staticmethod
    def _key(root: int, names: Sequence[str]) -> int:
        return _digest(f"{root}\0" + "\0".join(names))

    def add(self, root: int, names: Sequence[str], flagged: Iterable[int]) -> None:
        last = len(names) - 1
        for i in flagged:
            (self._files if i == last else self._folders).add(self._key(root, names[: i + 1]))

    def rename(self, key: Any, root: int, names: Sequence[str]) -> list[str]:
        """``names`` with the flagged ones replaced by their keyed pseudonyms."""
        from .naming import pseudonym, pseudonym_name

        out = list(names)
        for i in range(len(names)):
            flagged = self._key(root, names[: i + 1])
            last = i == len(names) - 1
            if flagged in (self._files if last else self._folders):
                out[i] = pseudonym_name(key, names[i]) if last else pseudonym(key, names[i])
                if last:
                    self.files += 1
                elif flagged not in self._counted:
                    self._counted.add(flagged)
                    self.folders += 1
        return out


def plan(
    root_list: Sequence[Root],
    output: str,
    index: Mapping[str, Any] | None,
    *,
    quarantine: bool = False,
    layout: str = "mirror",
    key: Any = None,
    flags: NameFlags | None = None,
) -> Iterator[Task]:
    """Every input file with its output path, lazily.

    ``layout`` (:mod:`deidlang.naming`): ``mirror`` mirrors the input tree, with the
    names ``flags`` marks replaced by keyed pseudonyms (under ``key``); ``pseudonym``
    replaces every name; ``dicom`` leaves the target to the worker (named after the
    de-identified header: ``Task.target`` is empty, ``Task.quarantine`` the quarantine
    folder). ``index``: the ids, keyed by normalised path; each task gets its key
    (``ids_key``; ``""`` when the file has no entry). With ``quarantine``, each file
    also gets its place under ``<output>/quarantine`` (an input directory of that name
    is written as ``quarantine-input``). The manifest's names are reserved at the top
    of the output. What is kept per file is a 64-bit digest of its path (to spot
    duplicates and name clashes).
    """
    from .naming import pseudonym, pseudonym_name

    out_dir = os.path.abspath(output)
    taken = DigestSet((_digest(MANIFEST.lower()), _digest(MANIFEST_RECORDS.lower())))
    for n, root, source, rel in _files(root_list, output):
        target_rel = os.path.join(root.prefix, rel) if root.prefix else rel
        shown = display(root, source)
        if not confined(target_rel):  # from a URL (object names may hold '..'), or an input folder that cannot be listed
            refused = UNLISTABLE if rel == os.curdir and not root.url else OUTSIDE
            yield Task(source, "", printable(shown), root=n, relative=rel, base=out_dir, refused=refused)
            continue
        ids_key = None
        if index is not None:
            ids_key = _lookup_ids(index, (source if root.url else os.path.abspath(source), shown, rel)) or ""
        if layout == "dicom":
            hold = os.path.join(out_dir, QUARANTINE_DIR) if quarantine else None
            yield Task(source, "", printable(shown), None, hold, ids_key, n, rel, base=out_dir)
            continue
        names = mirror_names(root, rel)
        if layout == "pseudonym":
            names = [pseudonym(key, name) for name in names[:-1]] + [pseudonym_name(key, names[-1])]
        elif flags is not None:
            names = flags.rename(key, n, names)
        target_rel = os.path.join(*names)
        if quarantine:
            head, sep, tail = target_rel.partition(os.sep)
            if head.lower() == QUARANTINE_DIR and sep:
                target_rel = os.path.join(f"{head}-input", tail)
        target_rel = _unique(target_rel, taken)
        hold = os.path.join(out_dir, QUARANTINE_DIR, target_rel) if quarantine else None
        yield Task(source, os.path.join(out_dir, target_rel), printable(shown), None, hold, ids_key, n, rel, base=out_dir)


def confined(relative: str) -> bool:
    """Whether a relative output path stays inside the output folder: not absolute, and
    no empty, '.' or '..' part (names read from a folder never have them; object names
    behind a URL may)."""
    if not relative or "\0" in relative or os.path.isabs(relative):
        return False
    parts = relative.split(os.sep)
    if os.altsep:
        parts = [p for part in parts for p in part.split(os.altsep)]
    return all(part not in ("", ".", "..") for part in parts)


# =========================================================================== results


@attrs.frozen
class FileResult:
    """What happened to one file. Holds counts, hashes and reasons, never element values."""

    display: str
    status: str  # "written" | "quarantined" | "skipped" | "failed"
    reason: str = ""
    removed: int = 0
    added: int = 0
    changed: int = 0
    warnings: int = 0
    diagnostic: Diagnostic | None = None  # for a failure at apply time: where in the recipe
    # with --clean-pixels / --quarantine:
    pixels: str = ""  # "cleaned" | "unchanged" ("" when pixels were not asked about)
    verdict: str | None = None  # the first %filter group that flagged the file
    matches: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (group, label, criteria that held)
    note: str = ""  # about the pixels: why they are uncompressed, why nothing was blanked
    ocr: str = ""  # with --ocr: "proven" (read again: no identifying text) | "blank" (the recipe blanks every pixel) | "failed" (still found: quarantined) | ""
    ocr_boxes: int = 0  # with --ocr: text boxes OCR blanked
    output: str = ""  # where the file was (or is to be) written
    previews: int = 0  # PNG files written
    # for the manifest and resuming:
    resumed: bool = False  # skipped because an earlier run of the same job completed it
    tmp: str = ""  # the temporary file to rename to ``output`` (set by workers, cleared once renamed)
    input_sha256: str = ""
    input_size: int = -1
    input_mtime_ns: int | None = None
    output_sha256: str = ""
    output_size: int = -1
    output_mtime_ns: int | None = None
    root: int = 0
    relative: str = ""
    leaks: tuple = attrs.field(default=(), eq=False, repr=False)  # verify: what was found (holds values; never recorded)
    detail: str = attrs.field(default="", eq=False, repr=False)  # with --show-values: the message a user's function raised (never recorded)
    # output names (deidlang.naming):
    flags: tuple[int, ...] = ()  # a name scan: which names of the output path hold identifying values
    renamed: tuple[int, ...] = ()  # the dicom layout: which names of the output path were replaced by pseudonyms
    input_key: str = ""  # the keyed digest that stands for the input in the manifest and reports


@attrs.define
class Summary:
    """Counts over a run (what ``deidc`` prints at the end). Quarantined results are kept
    for the quarantine report; nothing else per file."""

    files: int = 0
    written: int = 0
    quarantined: int = 0
    skipped: int = 0
    failed: int = 0
    resumed: int = 0
    removed: int = 0
    added: int = 0
    changed: int = 0
    warnings: int = 0
    cleaned: int = 0
    unchanged: int = 0
    uncompressed: int = 0
    previews: int = 0
    flagged_unclean: int = 0  # written, flagged by a group not held back, pixels not asked about
    ocr_read: int = 0  # with --ocr: files whose pixels OCR read
    ocr_blanked: int = 0  # ... in which it blanked text
    ocr_failed: int = 0  # ... that still showed identifying text after cleaning
    layout: str = "mirror"
    renamed_folders: int = 0  # distinct output folders whose input name held an identifying value (replaced)
    renamed_files: int = 0  # file names that held an identifying value (replaced)
    held: list = attrs.field(factory=list)
    clean_pixels: bool = False

    def add(self, result: FileResult) -> None:
        self.files += 1
        setattr(self, result.status, getattr(self, result.status) + 1)
        self.resumed += result.resumed
        self.removed += result.removed
        self.added += result.added
        self.changed += result.changed
        self.warnings += result.warnings
        if result.pixels:
            setattr(self, result.pixels, getattr(self, result.pixels) + 1)
            self.previews += result.previews
        if result.status != "failed" and result.note.startswith("written uncompressed"):
            self.uncompressed += 1
        if result.ocr in ("proven", "failed"):
            self.ocr_read += 1
            self.ocr_blanked += result.ocr_boxes > 0
            self.ocr_failed += result.ocr == "failed"
        if result.status == "quarantined":
            self.held.append(result)
        elif result.status == "written" and result.verdict is not None and not self.clean_pixels:
            self.flagged_unclean += 1

    def names_text(self) -> str:
        """What happened to the output names, in one sentence (for the run's summary)."""
        if self.layout == "pseudonym":
            return "output names: every folder and file name is a keyed pseudonym (--layout pseudonym)"
        folders, files = self.renamed_folders, self.renamed_files
        changed = f"{folders} folder name{'' if folders == 1 else 's'} and {files} file name{'' if files == 1 else 's'}"
        if self.layout == "dicom":
            text = "output names: patient/study/series/instance from the de-identified headers (--layout dicom)"
            return text + (f"; {changed} held identifying values: replaced by keyed pseudonyms" if folders or files else "")
        if folders or files:
            return f"output names: {changed} held identifying values of their files: replaced by keyed pseudonyms"
        return "output names: as in the input (no folder or file name holds an identifying value of its files)"

    def counts(self) -> dict[str, int]:
        return {
            "files": self.files,
            "written": self.written,
            "quarantined": self.quarantined,
            "skipped": self.skipped,
            "failed": self.failed,
            "resumed": self.resumed,
        }


# =========================================================================== changes


def _comparable(value: Any) -> Any:
    """A value that compares by content; every kind of empty (None, '', []) is the same."""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return tuple(value) if len(value) else ""
    return "" if value is None else value


_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"})


def _normal_text(text: str) -> str:
    return "\\".join(part.strip(" \x00") for part in text.split("\\"))


def _same_bytes(old: bytes, new: bytes) -> bool:
    """Whether two encoded text values are equal but for spaces/NULs around each value."""
    if old == new:
        return True
    if b"\\" not in old and b"\\" not in new:
        return old.strip(b" \x00") == new.strip(b" \x00")
    return _normal_text(old.decode("latin-1")) == _normal_text(new.decode("latin-1"))


def _same_text(old, new) -> bool | None:
    """Whether a raw ASCII text element still has its value, without converting it
    (conversion costs more than the rest of the bookkeeping); None when unsure.
    Differences in surrounding spaces only are not counted as changes."""
    if new.VR not in _TEXT_VRS or old.VR not in (new.VR, None):
        return None
    raw = old.value or b""
    value = new.value
    if value is None:
        text = ""
    elif isinstance(value, (str, int, float)):
        text = str(value)
    elif isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        text = "\\".join(str(v) for v in value)
    else:
        return None
    if not (raw.isascii() and text.isascii()):
        return None
    return _normal_text(raw.decode("ascii")) == _normal_text(text)


def _elements(ds) -> dict[int, Any]:
    """Top-level and file-meta elements by tag, without converting raw ones.

    Read from ``Dataset._dict`` (as the runtime's universe does):
    ``Dataset.elements()`` costs about as much as reading the file.
    """
    out: dict[int, Any] = {}
    for dataset in (ds, getattr(ds, "file_meta", None)):
        if dataset is None:
            continue
        elements = getattr(dataset, "_dict", None)
        out.update(elements if isinstance(elements, dict) else {e.tag: e for e in dataset.elements()})
    return out


def snapshot(ds) -> dict[int, tuple[Any, Any]]:
    """tag -> (element object, its value if it is already converted), before a recipe runs.

    Nothing is converted here, so elements the recipe does not touch stay raw
    and are written back exactly as fast as they were read.
    """
    from pydicom.dataelem import DataElement

    return {
        tag: (elem, _comparable(elem.value) if type(elem) is DataElement and elem.VR != "SQ" else None)
        for tag, elem in _elements(ds).items()
    }


def changes(before: dict[int, tuple[Any, Any]], ds, encoding: Any) -> tuple[int, int, int]:
    """(removed, added, changed) top-level elements; changes inside sequences are not counted.

    Only elements the recipe touched (a new element object, or a converted
    one) are compared, so the cost grows with what the recipe does, not
    with the size of the dataset.
    """
    from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element

    after = _elements(ds)
    removed = len(before.keys() - after.keys())
    added = len(after.keys() - before.keys())
    changed = 0
    for tag, (old, old_value) in before.items():
        new = after.get(tag)
        if type(new) is RawDataElement and new is not old and isinstance(new.value, bytes):
            # a value the runtime wrote as bytes (runtime/rawtext.py: ASCII text)
            if type(old) is RawDataElement and isinstance(old.value, bytes):
                changed += not _same_bytes(old.value, new.value)
                continue
            new = convert_raw_data_element(new, encoding=encoding)
        if new is None or (new is old and old_value is None) or type(new) is not DataElement or new.VR == "SQ":
            continue  # removed, untouched (still raw), or a sequence
        if new is not old or old_value is None:
            if type(old) is DataElement:
                if old.VR == "SQ":
                    continue
                old_value = _comparable(old.value)
            else:
                same = _same_text(old, new)
                if same is not None:
                    changed += not same
                    continue
                if old.value is None and old.length:  # a deferred (large) value that was replaced
                    changed += 1
                    continue
                try:
                    old_value = _comparable(convert_raw_data_element(old, encoding=encoding).value)
                except Exception:  # noqa: BLE001 - an unreadable old value counts as changed
                    changed += 1
                    continue
        changed += old_value != _comparable(new.value)
    return removed, added, changed


# =========================================================================== reading and writing


@attrs.frozen
class _Input:
    sha256: str
    size: int
    mtime_ns: int | None


def read_input(source: str, *, force: bool = False, stop_before_pixels: bool = False):
    """``(dataset, _Input)``: the file parsed, with the SHA-256 of its bytes.

    Small files are read in one go and parsed from memory. Larger ones are
    hashed in chunks and parsed with large values deferred (pydicom's
    ``defer_size``): pixel data is read only if a rule needs it, and is
    otherwise copied to the output in chunks by :func:`write_output`.

    Raises :class:`InputError` (the reason in plain words) for anything that
    is not a complete DICOM file: not a regular file (a pipe would block, a
    device never ends), empty, not DICOM, cut short (pydicom reads a file that
    ends inside an element without complaint, handing back a short value;
    writing that would make a short output), or nested too deeply.
    ``stop_before_pixels``: for commands that only look at the header (the
    elements read are checked; what follows them is not).
    """
    opts = {"force": force, "stop_before_pixels": stop_before_pixels}
    if is_url(source):
        try:
            with _fsspec().open(source, "rb") as fh:
                data = fh.read()
        except OSError as err:
            raise InputError(_os_reason(err)) from None
        if not data:
            raise InputError(EMPTY)
        _refuse_archive(data)
        ds = _parse(io.BytesIO(data), len(data), data=data, **opts)
        return ds, _Input(hashlib.sha256(data).hexdigest(), len(data), None)
    with _open_regular(source) as fh:
        st = os.fstat(fh.fileno())
        if st.st_size == 0:
            raise InputError(EMPTY)
        if st.st_size <= SMALL_FILE:
            data = _read_all(fh)
            _refuse_archive(data)
            info = _Input(hashlib.sha256(data).hexdigest(), len(data), st.st_mtime_ns)
            ds = _parse(io.BytesIO(data), len(data), data=data, **opts)
            ds.filename = source
            return ds, info
        digest = hashlib.sha256()
        size = 0
        while chunk := _read_chunk(fh):
            if not size:
                _refuse_archive(chunk)
            digest.update(chunk)
            size += len(chunk)
        info = _Input(digest.hexdigest(), size, st.st_mtime_ns)
    # parsed from the path, so that pydicom can read a deferred value when a rule needs it
    ds = _parse(source, size, defer_size=DEFER_SIZE, **opts)
    return ds, info


#: How a zip archive starts: a local file header, or the end record of an empty archive.
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def is_zip_archive(head: bytes) -> bool:
    """Whether a file that starts with ``head`` (at least its first 132 bytes, when it
    has them) is a zip archive and not a DICOM file (``DICM`` after the preamble wins)."""
    return head[:4] in _ZIP_MAGIC and head[128:132] != b"DICM"


def _refuse_archive(head: bytes) -> None:
    if is_zip_archive(head):
        raise InputError(ZIP_ARCHIVE)


_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISDIR, "a folder"),
)


def _not_regular(mode: int) -> str:
    """The reason for an entry that is not a regular file, naming what it is."""
    kind = next((name for test, name in _KINDS if test(mode)), "something else")
    return f"not a regular file ({kind})"


def _open_regular(source: str):
    """Open ``source`` for reading only if it is a regular file (after following
    symbolic links). Opened without blocking, so that a named pipe cannot stall
    the batch; a device (``/dev/zero`` never ends) or a socket is refused."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(source, flags)
    except OSError as err:
        raise InputError(_open_reason(source, err)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(_not_regular(mode))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_reason(source: str, err: OSError) -> str:
    """Why a path cannot be opened, in plain words."""
    import errno

    if err.errno == errno.ELOOP:
        return LOOP
    if err.errno == errno.ENOENT and os.path.islink(source):
        return DANGLING
    if err.errno in (errno.EACCES, errno.EPERM):
        return _os_reason(err)
    try:
        mode = os.stat(source).st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        return _not_regular(mode)
    return _os_reason(err)


def _os_reason(err: OSError) -> str:
    text = err.strerror or type(err).__name__
    return f"cannot read: {text[:1].lower()}{text[1:]}"


def _read_all(fh) -> bytes:
    try:
        return fh.read()
    except OSError as err:
        raise InputError(_os_reason(err)) from None


def _read_chunk(fh) -> bytes:
    try:
        return fh.read(CHUNK)
    except OSError as err:
        raise InputError(_os_reason(err)) from None


def _parse(src, size: int, *, force: bool, stop_before_pixels: bool = False, defer_size: int | None = None, data: bytes | None = None):
    """Parse with pydicom (or, for the common case of a whole file in memory, ``data``,
    with :mod:`deidlang.fastread`, which builds the same objects), then make sure the
    file was complete (see :func:`cut_short`)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    from .fastread import read_bytes

    try:
        ds = read_bytes(data) if data is not None and not stop_before_pixels else None
        if ds is None:
            ds = pydicom.dcmread(src, force=force, defer_size=defer_size, stop_before_pixels=stop_before_pixels)
    except InvalidDicomError:
        if not force and size < _PREAMBLE_END:
            raise InputError(NOT_DICOM + TOO_SHORT_HINT) from None
        raise InputError(NOT_DICOM + ("" if force else NO_PREAMBLE_HINT)) from None
    except RecursionError:
        raise InputError(TOO_DEEP) from None
    except EOFError:
        raise InputError(CUT_SHORT) from None
    except OSError as err:
        if err.errno is None:  # pydicom's own "no tag to read at ...": the file ended inside a sequence
            raise InputError(CUT_SHORT) from None
        raise InputError(_os_reason(err)) from None
    except Exception as err:  # noqa: BLE001 - a damaged file; its own message could quote data
        raise InputError(f"cannot read: {DAMAGED} ({type(err).__name__})") from None
    reason = cut_short(ds, size, whole=not stop_before_pixels)
    if reason:
        raise InputError(reason)
    if too_deep(ds):
        raise InputError(TOO_DEEP)
    return ds


_UNDEFINED = 0xFFFFFFFF
#: Where the 128-byte preamble and 'DICM' end.
_PREAMBLE_END = 132
#: The fewest bytes one more level of nesting takes (an item header and an element header).
_LEVEL_BYTES = 16


def too_deep(ds, limit: int = MAX_DEPTH) -> bool:
    """Whether sequences in ``ds`` nest more than ``limit`` levels deep.

    Checked without recursion and without converting ``ds``'s elements (what a
    recipe does not touch is written back byte for byte): a sequence too short to
    hold the levels left before the limit is not opened; an explicit VR little
    endian one is read from its bytes (runtime/sequences.py); others are converted
    on throwaway copies, level by level.
    """
    from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element

    stack = [(elem, 1) for elem in ds._dict.values() if _is_sequence(elem)]
    while stack:
        elem, depth = stack.pop()
        if depth > limit:
            return True
        if type(elem) is RawDataElement:
            if elem.length != _UNDEFINED and elem.length < _LEVEL_BYTES * (limit - depth + 1):
                continue  # cannot hold enough levels to pass the limit
            if elem.value is None:  # deferred: read its bytes for the check only
                elem = _load_deferred(ds, elem)
                if elem is None:
                    continue
            if not elem.is_implicit_VR and elem.is_little_endian and elem.length != _UNDEFINED:
                deeper = nested_deeper(elem.value, depth, limit)  # from the bytes: no items built
                if deeper is not None:
                    if deeper:
                        return True
                    continue
            try:
                elem = convert_raw_data_element(elem, encoding=None)
            except Exception:  # noqa: BLE001 - damage is for reading and writing to report
                continue
        if type(elem) is not DataElement or elem.VR != "SQ":
            continue
        for item in elem.value or ():
            stack.extend((sub, depth + 1) for sub in item._dict.values() if _is_sequence(sub))
    return False


def _is_sequence(elem) -> bool:
    vr = elem.VR
    if vr is None:  # implicit VR, still raw: the dictionary knows (an unknown private tag is not)
        from pydicom.datadict import dictionary_VR

        try:
            return dictionary_VR(elem.tag) == "SQ"
        except KeyError:
            return elem.length == _UNDEFINED
    return vr == "SQ"


def _load_deferred(ds, elem):
    path = getattr(ds, "filename", None)
    if not isinstance(path, str) or not path:
        return None
    try:
        with open(path, "rb") as fh:
            fh.seek(elem.value_tell)
            return elem._replace(value=fh.read(elem.length))
    except OSError:
        return None


def cut_short(ds, size: int, *, whole: bool = True) -> str:
    """Why a parsed file is not complete ('' when it is).

    pydicom stops quietly at the end of the data: a value cut short comes back
    shorter than its length says, a deferred one is simply past the end, and a
    file that ends inside an element header ends the data set there. So: every
    top-level element (file meta included) must be whole, and the last one must
    end where the file ends. A file cut exactly between two elements cannot be
    told from a complete one. Deflated files, and files not read ``whole``
    (stopped before the pixel data), are checked element by element only (a
    deflated file's offsets are in the inflated stream).
    """
    from pydicom.dataelem import RawDataElement
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    meta = getattr(ds, "file_meta", None)
    deflated = meta is not None and meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian
    last_end = -1
    elements = 0
    for dataset, is_meta in ((meta, True), (ds, False)):
        if dataset is None:
            continue
        for elem in dataset._dict.values():
            elements += not is_meta
            if type(elem) is not RawDataElement:
                last_end = -1  # converted while reading (a sequence of undefined length): no known end
                continue
            if elem.length == _UNDEFINED:
                value = elem.value
                last_end = -1 if value is None else elem.value_tell + len(value) + 8  # the value, then its delimiter
                continue
            value = elem.value
            if value is not None:
                if len(value) < elem.length:
                    return CUT_SHORT
            elif not deflated and elem.value_tell + elem.length > size:  # deferred: not read, only skipped
                return CUT_SHORT
            last_end = elem.value_tell + elem.length
    if whole and not deflated and 0 <= last_end != size:
        return CUT_SHORT
    if elements == 0 and meta is not None and len(meta):
        return META_ONLY
    return ""


class _Region(io.BufferedIOBase):
    """A read-only, seekable window on a file: the value of a deferred element,
    handed to pydicom as a *buffered* value so that it is written in chunks."""

    def __init__(self, fh, offset: int, length: int):
        super().__init__()
        self._fh = fh
        self._offset = offset
        self._length = length
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            pos += self._pos
        elif whence == io.SEEK_END:
            pos += self._length
        self._pos = max(0, min(pos, self._length))
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        left = self._length - self._pos
        if size is None or size < 0 or size > left:
            size = left
        if size <= 0:
            return b""
        self._fh.seek(self._offset + self._pos)
        data = self._fh.read(size)
        self._pos += len(data)
        return data

    read1 = read


_STREAMABLE_VRS = frozenset({"OB", "OW", "OD", "OF", "OL", "OV", "UN"})


def _stream_deferred(ds, source: str, opened: list) -> None:
    """Replace deferred top-level byte values by windows on the input file, so that
    writing copies them in chunks instead of reading them whole into memory."""
    from pydicom.dataelem import DataElement, RawDataElement

    fh = None
    for tag, elem in list(ds._dict.items()):
        if type(elem) is not RawDataElement or elem.value is not None or not elem.length or elem.length == 0xFFFFFFFF:
            continue
        vr = elem.VR
        if vr is None:  # implicit VR: only pixel data is worth streaming, and its VR is known by the header
            if tag != 0x7FE00010:
                continue
            vr = "OW" if (ds.get("BitsAllocated") or 16) > 8 else "OB"
        if vr not in _STREAMABLE_VRS:
            continue
        if fh is None:
            fh = open(source, "rb")
            opened.append(fh)
        new = DataElement(tag, vr, _Region(fh, elem.value_tell, elem.length))
        ds._dict[tag] = new


class _HashingFile:
    """A write-only file wrapper that hashes what goes through it (pydicom writes
    small pieces; they are buffered by the file object underneath)."""

    def __init__(self, fh):
        self._fh = fh
        self._hash = hashlib.sha256()
        self._pos = 0
        self.name = getattr(fh, "name", None)

    def write(self, data) -> int:
        self._hash.update(data)
        n = self._fh.write(data)
        self._pos += n
        return n

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR and pos == 0 or pos == self._pos and whence == io.SEEK_SET:
            return self._pos
        raise io.UnsupportedOperation("the output is written front to back")

    def flush(self) -> None:
        self._fh.flush()

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


#: Longest file name most file systems take (bytes).
NAME_MAX = 255
#: What a temporary name adds to the target's name: '.', '.' and 8 hex digits, the suffix.
_TMP_EXTRA = 10 + len(TMP_SUFFIX)


def _tmp_name(target: str) -> str:
    """A temporary name beside ``target``; for a target whose name is near the limit of
    the file system, the temporary name starts with a shortened form of it."""
    directory, name = os.path.split(target)
    room = NAME_MAX - _TMP_EXTRA
    if len(os.fsencode(name)) > room:
        name = _shorten(name, room)
    return temporary_name(os.path.join(directory, name), TMP_SUFFIX)


def _shorten(name: str, limit: int) -> str:
    """``name`` cut to at most ``limit`` bytes (as the file system counts them)."""
    while len(os.fsencode(name)) > limit:
        name = name[:-1]
    return name


@attrs.frozen
class _Output:
    tmp: str
    sha256: str
    size: int
    mtime_ns: int
    data: bytes | None = None  # the bytes written (small datasets, when asked for)


def write_output(
    ds,
    target: str,
    *,
    source: str | None = None,
    large: bool = False,
    keep_data: bool = False,
    base: str | None = None,
    durable: bool = False,
    staging: str | None = None,
) -> _Output:
    """Write ``ds`` to a new temporary file next to ``target`` (not renamed yet).

    Small datasets are encoded in memory, hashed and written with one call;
    ``large`` ones are written through a hashing file, with deferred values
    copied from ``source`` in chunks. The temporary file is removed on any failure.

    ``base``: the output folder. The folders between it and ``target`` are
    made here, and none of them may be a symbolic link (:class:`OutputError`),
    so that nothing is written outside the output folder. The temporary file
    is created new (never through an existing name), and the rename that puts
    it in place replaces a symbolic link at ``target`` rather than following it.
    ``staging``: write the temporary file in this folder instead, making no folder
    (the dicom layout: the main process settles the name and makes its folders).
    """
    from pydicom import config

    conform_file_meta(ds)  # the file meta says what the data set is (its SOP UIDs, its transfer syntax)
    directory = os.path.dirname(target)
    if staging:
        make_folders(base or staging, staging)
        tmp = _tmp_name(os.path.join(staging, os.path.basename(target)))
    else:
        if base:
            make_folders(base, directory)
        else:
            os.makedirs(directory, exist_ok=True)
        tmp = _tmp_name(target)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    opened: list = []
    try:
        with os.fdopen(fd, "wb") as fh:
            if large:
                if source is not None and not is_url(source):
                    _stream_deferred(ds, source, opened)
                sink = _HashingFile(fh)
                old = config.settings.buffered_read_size
                config.settings.buffered_read_size = CHUNK
                try:
                    ds.save_as(sink, enforce_file_format=False)
                finally:
                    config.settings.buffered_read_size = old
                digest, size = sink.hexdigest(), sink.tell()
            else:
                data = to_bytes(ds)  # byte for byte what pydicom writes, faster for mostly raw datasets
                fh.write(data)
                digest, size = hashlib.sha256(data).hexdigest(), len(data)
            fh.flush()
            if durable:  # on the disk before the rename (a delayed ENOSPC shows up here)
                os.fsync(fh.fileno())
            mtime = os.fstat(fh.fileno()).st_mtime_ns
        return _Output(tmp, digest, size, mtime, data if keep_data and not large else None)
    except BaseException:
        remove_quietly(tmp)
        raise
    finally:
        for f in opened:
            f.close()


def make_folders(base: str, directory: str) -> None:
    """Make ``directory`` and the folders above it, up to the output folder ``base``
    (which is made if missing, and may itself be a symbolic link: the user named it).
    Raises :class:`OutputError` when ``directory`` is not inside ``base`` or a folder
    on the way is a symbolic link or not a folder; OSError when one cannot be made."""
    base = os.path.abspath(base)
    rel = os.path.relpath(os.path.abspath(directory), base)
    if rel == os.curdir:
        os.makedirs(base, exist_ok=True)
        return
    if not confined(rel):
        raise OutputError(OUTSIDE)
    os.makedirs(base, exist_ok=True)
    current = base
    for part in rel.split(os.sep):
        current = os.path.join(current, part)
        try:
            os.mkdir(current)
        except FileExistsError:
            pass
        mode = os.lstat(current).st_mode
        if stat.S_ISLNK(mode):
            shown = printable(os.path.relpath(current, base))
            raise OutputError(f"the output folder holds a symbolic link at '{shown}': not followed, file not written")
        if not stat.S_ISDIR(mode):
            shown = printable(os.path.relpath(current, base))
            raise OutputError(f"the output folder holds a file at '{shown}' where a folder is needed: file not written")


def write_atomic(ds, target: str) -> None:
    """Write to a temporary name in the target's directory, then rename into place.

    An interrupted run leaves either the complete file or nothing under the
    target name; the temporary file is removed on any failure.
    """
    with atomic_target(target, suffix=TMP_SUFFIX, durable=False) as tmp, open(tmp, "xb") as fh:
        ds.save_as(fh, enforce_file_format=False)


def remove_temporaries(output: str) -> None:
    """After an interruption: remove temporary files this tool may have left."""
    for directory, _dirs, files in os.walk(output):
        for name in files:
            if name.startswith(".") and name.endswith(TMP_SUFFIX):
                try:
                    os.unlink(os.path.join(directory, name))
                except OSError:
                    pass


# =========================================================================== functions


def load_functions(path: str, text: str | None = None) -> dict[str, Callable]:
    """Execute the user's Python file and return its public callables.

    This is the only place where deidlang runs code that is not its own, and
    only from a file the user named (``--functions``). ``__all__`` decides
    what is public when the file defines it; otherwise every callable whose
    name does not start with ``_`` (classes excluded). ``text``: the file's
    source, for workers on other machines (the path then only names it).
    """
    file = Path(path)
    name = "_deidc_functions_" + "".join(c if c.isalnum() else "_" for c in file.stem)
    if text is None:
        if not file.is_file():
            raise BatchError(f"cannot read functions file '{path}': no such file")
        spec = importlib.util.spec_from_file_location(name, file)
        if spec is None or spec.loader is None:
            raise BatchError(f"cannot load functions file '{path}': not a Python file")
        module = importlib.util.module_from_spec(spec)
    else:
        import types

        module = types.ModuleType(name)
        module.__file__ = str(file)
        spec = None
    sys.modules[name] = module  # so that dataclasses, pickling etc. inside it work
    try:
        if spec is not None:
            spec.loader.exec_module(module)
        else:
            exec(compile(text, str(file), "exec"), module.__dict__)  # the user's own functions file
    except Exception as err:  # noqa: BLE001 - the user's code, reported, not a bug in deidlang
        sys.modules.pop(name, None)
        raise BatchError(f"cannot load functions file '{path}': {type(err).__name__}: {err}") from None
    public = getattr(module, "__all__", None)
    names = list(public) if public is not None else [n for n in vars(module) if not n.startswith("_")]
    return {n: obj for n in names if callable(obj := getattr(module, n, None)) and not isinstance(obj, type)}


# =========================================================================== processing one file


def inspect_programs(programs: Sequence, ds, path: str):
    """What every recipe's %filter sections say about ``ds``, as one Inspection
    (matches in recipe order: the first is the verdict)."""
    from .runtime.inspection import Inspection

    matches: list = []
    for program in programs:
        if getattr(program, "filters", ()):
            matches.extend(program.inspect(ds, path=path).matches)
    return Inspection(tuple(matches))


def _match_summary(inspection) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    if inspection is None:
        return ()
    return tuple((m.group, m.label, tuple(str(c) for c in m.criteria)) for m in inspection.matches)


def _unblanked_note(inspection) -> str:
    first = inspection.matches[0]
    return f"flagged by '{first.group}' (label '{first.label}') but no region blanks anything: pixels written unchanged"


def raised_message(err: ApplyError) -> str:
    """The message of the exception a user's ``func:`` raised (R001), which can quote
    element values: shown only with ``--show-values``, never recorded ("" otherwise)."""
    cause = err.__cause__
    if err.code != "R001" or cause is None:
        return ""
    try:
        return str(cause)
    except Exception:  # noqa: BLE001 - the user's exception cannot say what it is
        return ""


def verify_reason(leaks: Sequence, show_values: bool = False) -> str:
    """Why a file failed ``--verify``: the kinds of value and the elements, never the
    values unless ``show_values`` (which is never used for the manifest)."""
    shown = []
    for leak in leaks[:5]:
        where = leak.element if leak.element == "<file bytes>" else f"{leak.element} {leak.path}" if leak.path != leak.element else leak.element
        text = f"{leak.kind} in {where}"
        if show_values:
            text += f" ('{leak.value}')"
        shown.append(text)
    more = f"; and {len(leaks) - 5} more" if len(leaks) > 5 else ""
    n = len(leaks)
    return f"verify: {n} identifying value{'' if n == 1 else 's'} of the original found, file not written: " + "; ".join(shown) + more


def _write_previews(report, target: str, options: Options) -> tuple[str, str]:
    from . import pixels

    rel = os.path.relpath(target, options.output) if options.output else os.path.basename(target)
    stem = os.path.splitext(rel)[0] if rel.lower().endswith((".dcm", ".dicom")) else rel
    base = os.path.join(options.png or "", stem)
    return pixels.write_previews(report, f"{base}-before.png", f"{base}-after.png")


class Worker:
    """Applies the compiled recipes to one file at a time (in this process, a pool
    worker or a Dask worker). Holds no per-file state between files."""

    def __init__(
        self,
        programs: Sequence,
        funcs: Mapping[str, Callable] | None,
        options: Options,
        ids_index: Mapping[str, Any] | None = None,
    ):
        self.programs = list(programs)
        self.funcs = dict(funcs) if funcs else None
        self.options = options
        self.ids_index = ids_index

    def batch(self, tasks: Iterable[Task]) -> list[FileResult]:
        return [self.scan(task) if task.scan else self(task) for task in tasks]

    def scan(self, task: Task) -> FileResult:
        """The mirror layout's first pass: which of ``task.names`` hold an identifying value
        of the file (status ``"scanned"``), or ``"failed"`` when it cannot be read."""
        from .naming import scan_flags

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warnings can quote values; the run reports the file
            found = scan_flags(task.source, task.names, force=self.options.force)
        status = "failed" if found is None else "scanned"
        return FileResult(task.display, status, flags=found or (), root=task.root, relative=task.relative)

    def __call__(self, task: Task) -> FileResult:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = self._process(task)
            except RecursionError:  # reading, the recipe or writing followed sequences too deep
                result = FileResult(task.display, "failed", TOO_DEEP)
        result = attrs.evolve(result, root=task.root, relative=task.relative)
        return attrs.evolve(result, warnings=len(caught)) if caught else result

    def name(self, task: Task) -> str:
        """Where ``task``'s output would go (the dicom layout names it from the de-identified
        header: the file is read and de-identified in memory); '' when the file fails."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                result = self._process(task, write=False)
            except RecursionError:
                return ""
        return result.output if result.status != "failed" else ""

    def _ids(self, task: Task) -> dict | None:
        if task.ids is not None or task.ids_key is None:
            return task.ids
        found = self.ids_index.get(task.ids_key) if (self.ids_index is not None and task.ids_key) else None
        return found if found is not None else {}

    def _process(self, task: Task, write: bool = True) -> FileResult:
        options = self.options

        def failed(reason: str, **more) -> FileResult:
            return FileResult(task.display, "failed", reason, **more)

        if task.refused:
            return failed(task.refused)

        named_here = options.layout == "dicom"  # the target comes from the de-identified header
        if not options.holds and not named_here:  # the target is known before reading: skip existing outputs cheaply
            early = self._existing(task, task.target, task.replace_target)
            if early is not None:
                return early
        try:
            ds, source = read_input(task.source, force=options.force)
        except InputError as err:
            return failed(str(err))
        except Exception as err:  # noqa: BLE001 - a damaged file; its own message could quote data
            return failed(f"cannot read: {DAMAGED} ({type(err).__name__})")
        hashes = {"input_sha256": source.sha256, "input_size": source.size, "input_mtime_ns": source.mtime_ns}
        if is_dicomdir(ds):
            return failed(DICOMDIR, **hashes)
        identifiers = None
        if options.verify or options.ocr is not None:  # what identifies the original, harvested before anything changes
            from . import verify as verifying

            try:
                identifiers = verifying.harvest(ds, recipes=self.programs)
            except Exception as err:  # noqa: BLE001
                return failed(f"verify: cannot read the original's values ({type(err).__name__})", **hashes)

        inspection = None
        if options.inspects:  # the filters see the original header values
            try:
                inspection = inspect_programs(self.programs, ds, task.display)
            except ApplyError as err:
                return failed(str(err), diagnostic=err.with_path(task.display).as_diagnostic(), **hashes)
            except Exception as err:  # noqa: BLE001
                return failed(f"internal error while running the %filter sections ({type(err).__name__}); this is a bug in deidlang", **hashes)
        target, status, replace = task.target, "written", task.replace_target
        if inspection is not None and task.quarantine and inspection.group in options.quarantine:
            target, status, replace = task.quarantine, "quarantined", task.replace_quarantine
        if options.holds and not named_here:
            early = self._existing(task, target, replace)
            if early is not None:
                return attrs.evolve(early, **hashes)
        naming_state = None
        if named_here:  # what the names are checked against, and fall back on, before the recipe changes it
            from . import naming

            naming_state = naming.snapshot(ds)

        removed = added = changed = 0
        if not options.pixels_only:
            encoding = getattr(ds, "original_character_set", None)
            before = snapshot(ds)
            ids = self._ids(task)
            try:
                for program in self.programs:
                    result = program.apply(ds, ids=ids, funcs=self.funcs, path=task.display, remove_private=options.remove_private)
                    ds = result if result is not None else ds
            except ApplyError as err:
                detail = raised_message(err) if options.show_values else ""
                return failed(str(err), diagnostic=err.with_path(task.display).as_diagnostic(), detail=detail, **hashes)
            except Exception as err:  # noqa: BLE001 - keep the batch going; the message must not quote data
                return failed(f"internal error while applying the recipe ({type(err).__name__}); this is a bug in deidlang", **hashes)
            removed, added, changed = changes(before, ds, encoding)
            del before
        renamed: tuple[int, ...] = ()
        if naming_state is not None:
            try:
                parts, renamed = naming.dicom_parts(ds, naming_state, options.key, f"{task.root}/{task.relative}")
            except Exception as err:  # noqa: BLE001 - a value that names nothing readable
                return failed(f"cannot read the values that name the output ({type(err).__name__})", **hashes)
            if status == "quarantined":
                target = os.path.join(target, *parts)
            else:
                if parts[0].lower() == QUARANTINE_DIR:
                    parts[0] += "-input"
                target = os.path.join(task.base, *parts)
        if not write:
            return FileResult(task.display, status, output=target, renamed=renamed)

        # The 128-byte preamble is free-form bytes that can carry identifying text
        # (deid passes it through). An output of ours holds zeros there, the
        # standard's content for an unused preamble (dual TIFF/DICOM files lose
        # their TIFF side: docs/differences-from-deid.md).
        if getattr(ds, "preamble", None) and any(ds.preamble):
            ds.preamble = b"\x00" * 128

        pixel_state, note, report, ocr_state, ocr_boxes = "", "", None, "", 0
        if options.clean_pixels and inspection is not None:
            from . import pixels

            try:
                if options.ocr is not None:  # --ocr: the recipe's regions and the text OCR finds, then the proof (deidlang/ocr)
                    from .ocr.run import clean_file

                    report, ocr_state, ocr_boxes, held = clean_file(ds, inspection.regions, identifiers, options)
                    if held and task.quarantine and status != "quarantined":
                        target, status, replace = task.quarantine, "quarantined", task.replace_quarantine
                        early = None if named_here else self._existing(task, target, replace)
                        if early is not None:
                            return attrs.evolve(early, **hashes)
                else:
                    report = pixels.clean_pixels(
                        ds, inspection.regions, preserve_compression=options.preserve_compression, previews=options.png is not None
                    )
            except pixels.PixelError as err:
                return failed(f"pixels not cleaned, file not written: {err}", **hashes)
            except Exception as err:  # noqa: BLE001 - never write a file whose pixels were meant to be cleaned
                return failed(f"pixels not cleaned, file not written: internal error ({type(err).__name__}); this is a bug in deidlang", **hashes)
            pixel_state, note = ("cleaned" if report.cleaned else "unchanged"), report.note
            if inspection.flagged and not report.cleaned and "PixelData" in ds and options.ocr is None:
                note = _unblanked_note(inspection)
            if ocr_state == "failed":
                note = "OCR still found identifying text after cleaning: held in quarantine" + (f"; {note}" if note else "")
        identifiers = identifiers if options.verify else None  # from here on: what --verify searches for
        large = source.size > SMALL_FILE and identifiers is None
        try:
            written = write_output(
                ds,
                target,
                source=task.source,
                large=large,
                keep_data=identifiers is not None,
                base=task.base or None,
                durable=self.options.durable,
                staging=task.base if named_here else None,
            )
        except OutputError as err:
            return failed(str(err), **hashes)
        except OSError as err:
            if errno_of(err) in FATAL_ERRNOS:  # disk full, read-only: every later file would fail too
                raise WriteError.of(err, target) from None
            return failed(f"cannot write '{target}': {describe(err)}", **hashes)
        except Exception as err:  # noqa: BLE001 - pydicom could not encode a value
            return failed(f"cannot write: a value cannot be encoded ({type(err).__name__})", **hashes)
        try:
            if identifiers is not None:
                leaks = verifying.check_dataset(identifiers, ds, file=task.display, data=written.data)
                if leaks:
                    remove_quietly(written.tmp)
                    return failed(verify_reason(leaks), leaks=tuple(leaks) if options.show_values else (), **hashes)
            del ds
            previews = 0
            if report is not None and report.cleaned and options.png:
                try:
                    previews = len(_write_previews(report, target, options))
                except Exception as err:  # noqa: BLE001 - a preview is a convenience; the file is written
                    note = (note + "; " if note else "") + f"previews not written ({type(err).__name__})"
        except BaseException:  # never leave the temporary file of a result that is not returned
            remove_quietly(written.tmp)
            raise
        return FileResult(
            task.display, status, removed=removed, added=added, changed=changed,
            pixels=pixel_state, note=note, output=target, previews=previews, renamed=renamed, ocr=ocr_state, ocr_boxes=ocr_boxes,
            verdict=inspection.group if inspection is not None else None,
            matches=_match_summary(inspection),
            tmp=written.tmp, output_sha256=written.sha256, output_size=written.size, output_mtime_ns=written.mtime_ns,
            **hashes,
        )

    def _existing(self, task: Task, target: str, replace: bool) -> FileResult | None:
        """The result for a file whose output already exists (or would overwrite the input)."""
        if os.path.lexists(target):
            if (
                not is_url(task.source)
                and not os.path.islink(target)  # a link there is replaced, never written through
                and os.path.exists(task.source)
                and os.path.samefile(task.source, target)
            ):
                return FileResult(task.display, "failed", "the output would overwrite the input")
            if not (self.options.overwrite or replace):
                return FileResult(task.display, "skipped", "the output exists", output=target)
        return None


def is_dicomdir(ds) -> bool:
    """A DICOMDIR (Media Storage Directory): an index of other files by byte offset."""
    if 0x00041220 in ds._dict:  # DirectoryRecordSequence
        return True
    meta = ds.__dict__.get("file_meta")
    if meta is None:
        return False
    elem = meta._dict.get(0x00020002)  # MediaStorageSOPClassUID
    if elem is None:
        return False
    value = elem.value
    if isinstance(value, bytes):  # still raw (any VR reading): read from the bytes, no conversion
        value = value.decode("latin-1").strip(" \x00")
    return value == MEDIA_STORAGE_DIRECTORY


def printable(text: str) -> str:
    """A path as it can be shown on one line of a log: control characters (a newline in
    a file name would start a line of its own) and bytes that are not UTF-8 are escaped."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


# =========================================================================== the local process pool

# Pool workers get the compiled recipes once, through the initializer, and
# then only batches of small tasks. Forked workers inherit the user's
# functions; under spawn/forkserver the functions file is executed again in
# each worker (callables from a file loaded by path cannot be pickled by reference).
_POOL_WORKER: Worker | None = None


def _init_pool_worker(
    programs: list, funcs: Mapping[str, Callable] | None, functions_path: str | None, options: Options, ids_index=None,
    parent: int | None = None,
) -> None:
    global _POOL_WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with_parent(parent)
    if funcs is None and functions_path:
        funcs = load_functions(functions_path)
    _POOL_WORKER = Worker(programs, funcs, options, ids_index)


def _die_with_parent(parent: int | None) -> None:
    """A pool worker must not outlive its run: after a ``kill -9`` of deidc it would wait
    for work forever, keeping the output folder's lock (and writing temporary files that
    no run removes). Linux: the kernel kills it when the parent dies."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no libc
            pass
    if parent is not None and os.getppid() != parent:
        os._exit(1)  # the run died before this worker started


#: File descriptors a forked child must not keep: the manifest's, whose lock is the output
#: folder's (a lock held through an inherited descriptor outlives the run that took it).
_PARENT_ONLY_FDS: set[int] = set()


def _close_parent_only_fds() -> None:
    for fd in _PARENT_ONLY_FDS:
        try:
            os.close(fd)
        except OSError:
            pass
    _PARENT_ONLY_FDS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_parent_only_fds)


def _pool_batch(tasks: list[Task]) -> list[FileResult]:
    assert _POOL_WORKER is not None, "pool worker was not initialised"
    _test_hook(_files_to_write(tasks))
    return _POOL_WORKER.batch(tasks)


def _files_to_write(tasks: Sequence[Task]) -> int:
    """The tasks of a batch that process a file (not a name scan's)."""
    return sum(not t.scan for t in tasks)


def _test_hook(n: int) -> None:
    """Test-only seams (never set them in production): ``DEIDLANG_TEST_SLOW_SECONDS``
    pauses each batch that long per file, so that a test can kill a worker while
    batches are in flight; ``DEIDLANG_TEST_KILL_AFTER=N`` makes the run kill itself
    (SIGKILL) once N files are done, to test resuming."""
    delay = os.environ.get("DEIDLANG_TEST_SLOW_SECONDS")
    if delay:
        time.sleep(float(delay) * n)


def default_jobs() -> int:
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counter is not None:
        return counter() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def batch_size(total: int, workers: int) -> int:
    """Files per batch: a few batches per worker (so the last ones finish together),
    at most 64 files (so results stream and a lost batch costs little)."""
    return max(1, min(64, total // (max(workers, 1) * 4)))


class _Executor:
    """Runs batches of tasks and returns their results in submission order."""

    def submit(self, tasks: list[Task]) -> Future:  # pragma: no cover - interface
        raise NotImplementedError

    @property
    def window(self) -> int:
        return 1

    def close(self, *, cancel: bool = False) -> None:
        pass


class _InProcess(_Executor):
    def __init__(self, worker: Worker):
        self.worker = worker

    def submit(self, tasks: list[Task]) -> Future:
        future: Future = Future()
        _test_hook(_files_to_write(tasks))
        future.set_result(self.worker.batch(tasks))
        return future


class _Pool(_Executor):
    def __init__(self, job: Job, workers: int, ids_index):
        context = multiprocessing.get_context(job.start_method)
        forked = context.get_start_method() == "fork"
        initargs = (
            list(job.programs),
            job.funcs if forked else None,
            None if forked else job.functions_path,
            job.options,
            ids_index,
            os.getpid(),
        )
        self.workers = workers
        self.pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_pool_worker, initargs=initargs)

    @property
    def window(self) -> int:
        return self.workers * 2

    def submit(self, tasks: list[Task]) -> Future:
        return self.pool.submit(_pool_batch, tasks)

    def close(self, *, cancel: bool = False) -> None:
        # On Ctrl-C (or when the caller stops reading): let the workers finish the
        # files they are writing (to temporary names), start nothing new.
        self.pool.shutdown(wait=True, cancel_futures=cancel)


def _batched(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _ordered(executor: _Executor, items: Iterable, size: int) -> Iterator[list[FileResult]]:
    """Results for ``items`` (tasks, or results decided without a worker) in order, one
    list per batch, with at most ``executor.window`` batches in flight."""
    inflight: deque[tuple[list, Future | None]] = deque()

    def drain_one() -> list[FileResult]:
        chunk, future = inflight.popleft()
        done = iter(future.result()) if future is not None else iter(())
        return [next(done) if isinstance(item, Task) else item for item in chunk]

    for chunk in _batched(items, size):
        tasks = [item for item in chunk if isinstance(item, Task)]
        inflight.append((chunk, executor.submit(tasks) if tasks else None))
        while len(inflight) > executor.window:
            yield drain_one()
    while inflight:
        yield drain_one()


# =========================================================================== the manifest


def _tool_fingerprint() -> dict[str, Any]:
    import platform

    import pydicom

    return {
        "deidlang": __version__,
        "pydicom": pydicom.__version__,
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


def _write_json_atomic(path: str, data: Any) -> None:
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
    source: int = 0  # the input it was written for (:func:`_source_digest`; 0: not recorded)


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

    Inputs are recorded by their input key (:func:`deidlang.naming.input_key`), never
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
                raise BatchError(
                    f"the manifest '{self.records_path}' is a symbolic link: not followed; remove it, or choose another --output"
                ) from None
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
        _PARENT_ONLY_FDS.add(fd)
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
                source = _source_digest(root, ikey) if isinstance(root, int) and isinstance(ikey, str) else 0
                status = str(rec.get("status", ""))
                self.previous[_digest(out)] = _Previous(
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
        return self.by_input.get(_source_digest(root, input_key))

    def holder(self, path: str) -> int | None:
        """The input (:func:`_source_digest`) whose output ``path`` is, when an earlier run
        of this tool wrote it and it has not changed since; None otherwise."""
        prev = self.previous.get(_digest(_rel(path, self.output)))
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
        prev = self.previous.get(_digest(_rel(path, self.output)))
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
        return _json_text(rec) + "\n"

    # -- closing
    def finish(self, summary: Summary, *, complete: bool) -> None:
        if self._fd is not None:
            try:
                if complete and self.old_lines:
                    self._compact()  # while the lock is held
            finally:
                _PARENT_ONLY_FDS.discard(self._fd)
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
        with atomic_target(self.records_path, suffix=TMP_SUFFIX) as tmp, open(
            self.records_path, encoding="utf-8", errors="surrogateescape"
        ) as src, open(tmp, "w", encoding="utf-8", errors="surrogateescape") as dst:
            for n, line in enumerate(src):
                key = _record_key(line)
                if key is not None and last.get(key) == n:
                    dst.write(line if line.endswith("\n") else line + "\n")

    def _write_header(self) -> None:
        _write_json_atomic(self.path, self.header)


def _record_key(line: str) -> int | None:
    try:
        out = json.loads(line)["output"]
    except (ValueError, KeyError, TypeError):
        return None
    return _digest(out) if out else None


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
    recipes = [{"path": r.path, "sha256": r.sha256} for r in job.recipes]
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
        "pydicom": {"version": tools["pydicom"], "dictionary": tools["dicom_dictionary"]},
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


# =========================================================================== the run


class Batch:
    """A prepared run: inputs and output checked, files counted (``total``, ``missing_ids``:
    files with no ids entry, by path or by SOPInstanceUID).

    :meth:`results` runs it, streaming one :class:`FileResult` per file in
    input order and keeping ``summary`` up to date; iterate it to the end
    (or close it) so that the manifest is completed and the workers stop.
    """

    def __init__(self, job: Job):
        from .naming import LAYOUTS

        options = job.options
        if options.layout not in LAYOUTS:
            raise BatchError(f"unknown output layout '{options.layout}': expected one of {', '.join(LAYOUTS)}")
        if options.key is None:  # output names and the manifest's input keys use the recipe's key
            job = attrs.evolve(job, options=attrs.evolve(options, key=_run_key(job.programs)))
        self.job = job
        self.key = job.options.key
        self.layout = job.options.layout
        self.roots = roots(job.inputs)
        check_output(job.output, self.roots)
        self.output = os.path.abspath(job.output)
        self.index = {os.path.normpath(k): v for k, v in job.ids.items()} if job.ids is not None else None
        self.names: NameFlags | None = None  # the mirror layout: what the first pass found (scan_names)
        self.total = 0
        self.missing_ids = 0
        #: files matched to their ids entry by SOPInstanceUID (not by path): digest of the source -> key
        self.uid_matches: dict[int, str] = {}
        if self.index is not None:  # the whole plan, to count the files without ids
            by_uid = ids_by_uid(self.index)
            for task in self._planned():
                self.total += 1
                if task.ids_key == "" and by_uid and not task.refused and not is_url(task.source):
                    key = by_uid.get(read_sop_instance_uid(task.source, force=job.options.force) or "")
                    if key is not None:
                        self.uid_matches[_digest(task.source)] = key
                        continue
                self.missing_ids += task.ids_key == ""
        else:  # a count is enough (for the progress bar and the batch size)
            out_real = os.path.realpath(job.output)
            self.total = sum(1 for root in self.roots for _ in _walk_real(root, out_real))
        self.summary = Summary(clean_pixels=job.options.clean_pixels, layout=self.layout)
        self.manifest: Manifest | None = None
        self._claims: _Claims | None = None  # the dicom layout: output names taken so far

    def _planned(self) -> Iterator[Task]:
        return plan(
            self.roots, self.job.output, self.index, quarantine=self.job.options.holds,
            layout=self.layout, key=self.key, flags=self.names,
        )

    def scan_names(self, executor: _Executor | None = None, size: int | None = None) -> NameFlags | None:
        """The mirror layout's first pass: read every input's header and note which names
        on its output path (its input's folder, the folders below, its own name) hold an
        identifying value of it (:func:`deidlang.naming.flags`). A folder is renamed when
        any file below it says so, so the files of one folder stay together whatever the
        order, the number of workers or an interruption. A file that cannot be read has its
        own name replaced (it fails later, unless it was a passing fault). Done once;
        ``None`` for the other layouts."""
        if self.layout != "mirror" or self.names is not None:
            return self.names
        own = executor is None
        if executor is None:
            executor = _InProcess(Worker(self.job.programs, self.job.funcs, self.job.options))
        found = NameFlags()
        tasks = (
            Task(source, "", "", root=n, relative=rel, scan=True, names=tuple(mirror_names(root, rel)))
            for n, root, source, rel in _files(self.roots, self.job.output)
            if confined(os.path.join(root.prefix, rel) if root.prefix else rel)
        )
        try:
            for chunk in _ordered(executor, tasks, size or batch_size(self.total, 1)):
                for result in chunk:
                    names = mirror_names(self.roots[result.root], result.relative)
                    found.add(result.root, names, result.flags if result.status == "scanned" else (len(names) - 1,))
        finally:
            if own:
                executor.close()
        self.names = found
        return found

    def _plan(self) -> Iterator[Task]:
        """The planned files with the ids entries found by SOPInstanceUID; with
        ``require_ids``, a file without an entry is refused (fails, not written)."""
        for task in self._planned():
            if task.ids_key == "":
                key = self.uid_matches.get(_digest(task.source)) if self.uid_matches else None
                if key is not None:
                    task = attrs.evolve(task, ids_key=key)
                elif self.job.require_ids and not task.refused:
                    task = attrs.evolve(task, refused=NO_IDS_ENTRY)
            yield task

    def tasks(self) -> Iterator[Task]:
        """The planned files with their own ids (``Task.ids``), for callers that process
        files themselves (``deidc run --dry-run``). Under the dicom layout the target is
        the name the file would get (the recipes are applied in memory to know it)."""
        self.scan_names()
        worker = Worker(self.job.programs, self.job.funcs, attrs.evolve(self.job.options, verify=False), self.index) if self.layout == "dicom" else None
        claims = _Claims(self.output, None, overwrite=True, disk=False) if worker is not None else None
        for task in self._plan():
            if task.ids_key is not None:
                found = self.index.get(task.ids_key) if (self.index is not None and task.ids_key) else None
                task = attrs.evolve(task, ids=found if found is not None else {})
            if worker is not None and not task.refused:
                named = worker.name(task)
                if named:
                    task = attrs.evolve(task, target=claims.name(named))
            yield task

    def _executor_name(self) -> str:
        if self.job.scheduler:
            return f"dask {self.job.scheduler}"
        return f"local, {self.workers()} process{'es' if self.workers() > 1 else ''}"

    def workers(self) -> int:
        size = batch_size(self.total, self.job.jobs)
        return max(1, min(self.job.jobs, math.ceil(self.total / size) if self.total else 1))

    def _decide(self, task: Task) -> Task | FileResult:
        """Done here, without a worker: outputs an earlier run of this job completed.
        Outputs an earlier, different run wrote may be replaced."""
        if task.refused:
            return FileResult(task.display, "failed", task.refused, root=task.root, relative=task.relative)
        manifest = self.manifest
        if manifest is None or not manifest.previous:
            return task
        resume = manifest.resuming(self.job.options.overwrite)
        if self.layout == "dicom":  # the target is not known yet: this input's output of the earlier run
            from .naming import input_key

            ikey = input_key(self.key, task.relative)
            earlier = manifest.output_of(task.root, ikey)
            if earlier is not None and resume:
                path = os.path.join(self.output, *earlier.split("/"))
                mine = manifest.holder(path) == _source_digest(task.root, ikey)
                if mine and manifest.state(path, task.source) == "complete":
                    return FileResult(
                        task.display, "skipped", "complete in the manifest of an earlier run of the same job",
                        output=path, resumed=True, root=task.root, relative=task.relative,
                    )
            return task
        replace = {}
        for name, path in (("target", task.target), ("quarantine", task.quarantine)):
            if path is None:
                continue
            state = manifest.state(path, task.source)
            if state == "complete" and resume:
                return FileResult(
                    task.display, "skipped", "complete in the manifest of an earlier run of the same job",
                    output=path, resumed=True, root=task.root, relative=task.relative,
                )
            replace[name] = state in ("stale", "complete")
        if replace.get("target") or replace.get("quarantine"):
            return attrs.evolve(task, replace_target=replace.get("target", False), replace_quarantine=replace.get("quarantine", False))
        return task

    def _executor(self) -> _Executor:
        job = self.job
        if job.scheduler:
            from . import distributed

            return distributed.executor(job, self.index)
        workers = self.workers()
        if workers <= 1 or self.total <= 1:
            return _InProcess(Worker(job.programs, job.funcs, job.options, self.index))
        return _Pool(job, workers, self.index)

    def results(self) -> Iterator[FileResult]:
        job = self.job
        if job.manifest:
            self.manifest = Manifest(
                self.output, manifest_header(job, self.roots, self._executor_name()), durable=job.options.durable,
                by_input=self.layout == "dicom",
            )
            try:
                os.makedirs(self.output, exist_ok=True)
            except OSError as err:
                raise WriteError.of(err, self.output, "the output folder") from None
            self.manifest.open()
        executor = self._executor()
        size = batch_size(self.total, job.jobs if not job.scheduler else getattr(executor, "workers", job.jobs))
        if self.layout == "dicom":
            self._claims = _Claims(self.output, self.manifest, overwrite=job.options.overwrite)
        complete = False
        try:
            self.scan_names(executor, size)
            kill_after = int(os.environ.get("DEIDLANG_TEST_KILL_AFTER") or 0)  # tests only: see _test_hook
            for chunk in _ordered(executor, (self._decide(t) for t in self._plan()), size):
                for result in self._finalize(chunk):
                    self.summary.add(result)
                    if kill_after and self.summary.files >= kill_after:
                        os.kill(os.getpid(), signal.SIGKILL)  # an interruption at a known point, for the resume tests
                    yield result
            complete = True
        finally:
            executor.close(cancel=not complete)
            if self.names is not None:
                self.summary.renamed_folders, self.summary.renamed_files = self.names.folders, self.names.files
            if not complete:
                remove_temporaries(self.output)
            if self.manifest is not None:
                try:
                    self.manifest.finish(self.summary, complete=complete)
                except OSError as err:
                    if complete:
                        raise WriteError.of(err, self.manifest.path, "the run manifest") from None
                    # stopping already (that error is the one reported); the header stays incomplete

    def _finalize(self, chunk: list[FileResult]) -> list[FileResult]:
        """Record a batch of files in the manifest (one write), then rename their temporary
        files into place: an interruption in between leaves records whose outputs are
        missing (redone on resuming), never outputs without records. Under the dicom
        layout each output's name is settled here first, in input order (:class:`_Claims`)."""
        from .naming import input_key

        chunk = [attrs.evolve(r, input_key=input_key(self.key, r.relative)) if r.relative else r for r in chunk]
        if self._claims is not None:
            chunk = [self._settle(r) for r in chunk]
        if self.manifest is not None:
            self.manifest.record_many([r for r in chunk if not r.resumed])
        out: list[FileResult] = []
        lost: list[FileResult] = []
        for result in chunk:
            if result.tmp:
                try:
                    os.replace(result.tmp, result.output)
                    result = attrs.evolve(result, tmp="")
                except OSError as err:
                    remove_quietly(result.tmp)
                    result = attrs.evolve(
                        result, status="failed", reason=f"cannot write '{result.output}': {describe(err)}",
                        tmp="", output_sha256="", output_size=-1, output_mtime_ns=None,
                    )
                    lost.append(result)
            out.append(result)
        if lost and self.manifest is not None:
            self.manifest.record_many(lost)  # the later record of an output is the one that counts
        if self.job.options.durable:
            for folder in {os.path.dirname(r.output) for r in chunk if r.tmp and r.output}:
                try:
                    fsync_directory(folder)  # the renames on the disk (best effort: they are redone if lost)
                except OSError:
                    pass
        return out

    def _settle(self, result: FileResult) -> FileResult:
        """The dicom layout: the name a worker's output settles on (see :class:`_Claims`);
        counts the names that were replaced by pseudonyms."""
        claims = self._claims
        assert claims is not None
        if result.resumed and result.output:
            claims.claim(result.output)
            return result
        if not result.tmp:
            return result
        source = _source_digest(result.root, result.input_key)
        try:
            final = claims.name(result.output, source)
        except OutputError as err:
            remove_quietly(result.tmp)
            return attrs.evolve(result, status="failed", reason=str(err), tmp="", output="", output_sha256="", output_size=-1, output_mtime_ns=None)
        reason = "the output exists" if final is None else ""
        root = self.roots[result.root]
        if final is not None and not root.url and os.path.lexists(final):
            try:
                if os.path.samefile(_task_source(root, result.relative), final):
                    reason = "the output would overwrite the input"
            except OSError:
                pass
        if reason:
            remove_quietly(result.tmp)
            return attrs.evolve(
                result, status="skipped" if final is None else "failed", reason=reason, tmp="",
                output=result.output if final is None else "", output_sha256="", output_size=-1, output_mtime_ns=None, renamed=(),
            )
        if result.renamed:
            from .naming import DICOM_LEVELS

            last = len(DICOM_LEVELS) - 1
            self.summary.renamed_files += last in result.renamed
            self.summary.renamed_folders += claims.count_folders(final, [i for i in result.renamed if i != last])
        return attrs.evolve(result, output=final)


def _task_source(root: Root, relative: str) -> str:
    """The local path of an input from its root and relative path."""
    return os.path.join(root.path, relative) if root.is_dir else root.path


def _source_digest(root: int, input_key: str) -> int:
    """What identifies an input among the manifest's records: its root and input key."""
    return _digest(f"{root}:{input_key}") if input_key else 0


def _run_key(programs: Sequence):
    """The key of a run's output names and input keys: the one bound to the recipes' keyed
    built-ins, else the default key (:func:`deidlang.runtime.keyed.default_key`)."""
    from .runtime import keyed

    for program in programs:
        for step in getattr(program, "steps", ()):
            key = getattr(getattr(step, "value", None), "key", None)
            if isinstance(key, keyed.Key):
                return key
    try:
        return keyed.default_key()[0]
    except keyed.MissingKey as err:
        raise BatchError(f"output names need a key: {err}") from None


class _Claims:
    """The dicom layout's output names, settled by the main process in input order, so
    that they do not depend on the number of workers.

    A folder keeps the spelling it first had in the run (another spelling that differs
    only in case gets ``-2``: the same names on file systems that ignore case and on
    those that do not); a file name taken in this run, or on the disk by an output of
    another input (the manifest says whose an output is), gets ``-2``, ``-3``...; a file
    this tool did not write is kept unless ``overwrite`` (the name is then skipped).
    What is kept per name is a 64-bit digest."""

    def __init__(self, output: str, manifest: "Manifest | None", *, overwrite: bool, disk: bool = True):
        self.output = output
        self.manifest = manifest
        self.overwrite = overwrite
        self.disk = disk
        self.taken = DigestSet((_digest(MANIFEST.lower()), _digest(MANIFEST_RECORDS.lower())))
        self.folders: dict[int, int] = {}  # digest of the lower-cased path -> digest of its first spelling
        self.counted = DigestSet()

    def folder(self, head: str) -> str:
        out: list[str] = []
        for part in head.split(os.sep) if head else ():
            n = 1
            while True:
                candidate = part if n == 1 else f"{part}-{n}"
                path = os.path.join(*out, candidate)
                low, exact = _digest(path.lower()), _digest(path)
                first = self.folders.setdefault(low, exact)
                if first == exact:
                    break
                n += 1
            out.append(candidate)
        return os.path.join(*out) if out else ""

    def claim(self, path: str) -> None:
        """An output already there (resumed): its folder spellings and name are taken."""
        rel = os.path.relpath(path, self.output)
        head, name = os.path.split(rel)
        self.taken.add(_digest(os.path.join(self.folder(head), name).lower()))

    def name(self, path: str, source: int = 0) -> str | None:
        """Where the output a worker wrote for ``path`` goes (absolute); None when a file
        that is not this tool's holds the name and ``overwrite`` is off. Raises
        :class:`OutputError` when its folder cannot be made."""
        rel = os.path.relpath(path, self.output)
        head, name = os.path.split(rel)
        head = self.folder(head)
        stem, ext = os.path.splitext(name)
        n = 1
        while True:
            candidate = os.path.join(head, name if n == 1 else f"{stem}-{n}{ext}")
            key = _digest(candidate.lower())
            if key not in self.taken:
                full = os.path.join(self.output, candidate)
                if not self.disk or not os.path.lexists(full):
                    break
                holder = self.manifest.holder(full) if self.manifest is not None else None
                if holder is None:  # not written by this tool (or changed since)
                    if self.overwrite:
                        break
                    return None
                if holder == source:  # this input's own earlier output
                    break
            n += 1
        self.taken.add(key)
        final = os.path.join(self.output, candidate)
        if self.disk:  # the worker wrote to the output folder itself (write_output's staging)
            try:
                make_folders(self.output, os.path.dirname(final))
            except OSError as err:
                if errno_of(err) in FATAL_ERRNOS:  # disk full, read-only: every later file would fail too
                    raise WriteError.of(err, os.path.dirname(final)) from None
                raise OutputError(f"cannot make the folder of '{candidate}': {describe(err)}") from None
        return final

    def count_folders(self, final: str, levels: Sequence[int]) -> int:
        """How many of the folders at ``levels`` (of the layout's names, at the end of
        ``final``'s path) were not counted yet."""
        from .naming import DICOM_LEVELS

        parts = os.path.relpath(final, self.output).split(os.sep)
        offset = len(parts) - len(DICOM_LEVELS)
        new = 0
        for i in levels:
            key = _digest(os.sep.join(parts[: offset + i + 1]))
            if key not in self.counted:
                self.counted.add(key)
                new += 1
        return new


def prepare(job: Job) -> Batch:
    """Check the job's inputs and output and count its files (raises :class:`BatchError`)."""
    return Batch(job)


def run(job: Job) -> Iterator[FileResult]:
    """Run ``job``: one :class:`FileResult` per file, in input order."""
    return prepare(job).results()


def execute(
    tasks: Sequence[Task],
    programs: Sequence,
    funcs: Mapping[str, Callable] | None,
    functions_path: str | None,
    options: Options,
    jobs: int,
    *,
    start_method: str | None = None,
) -> Iterator[FileResult]:
    """Process given tasks (no planning, no manifest): results in task order, outputs in place."""
    job = Job(tuple(programs), options.output or os.getcwd(), funcs=funcs, functions_path=functions_path,
              options=options, jobs=jobs, manifest=False, start_method=start_method)
    size = batch_size(len(tasks), jobs)
    workers = min(jobs, math.ceil(len(tasks) / size) if tasks else 1)
    executor: _Executor = _Pool(job, workers, None) if workers > 1 and len(tasks) > 1 else _InProcess(Worker(programs, funcs, options))
    complete = False
    try:
        for chunk in _ordered(executor, tasks, size):
            for result in chunk:
                if result.tmp:
                    os.replace(result.tmp, result.output)
                    result = attrs.evolve(result, tmp="")
                yield result
        complete = True
    finally:
        executor.close(cancel=not complete)


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
    _write_json_atomic(path, {"version": 1, "files": dict(sorted(files.items()))})
    return path
