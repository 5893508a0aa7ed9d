"""A run's inputs: the roots given on the command line (local paths or fsspec URLs, the
demo data when none), the files under them in a stable order (:func:`walk`), how each
is shown, reading one input completely with the SHA-256 of its bytes
(:func:`read_input`, on :mod:`deidlang.dicomio.damage`'s rules), matching files to their
ids entries (by path or SOPInstanceUID), and the user's functions file
(:func:`load_functions`, the only place deidlang runs code that is not its own)."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import attrs

from ..dicomio.damage import DEFER_SIZE, EMPTY, SMALL_FILE, InputError, open_regular, os_reason, parse_dicom, read_all, read_chunk, refuse_archive
from .job import BatchError, NoInput
from .paths import is_url, unique_name

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DEMO_DIR = DATA_DIR / "demo"


@attrs.frozen
class Root:
    """One input as given, and where its files go under the output directory."""

    given: str  # as on the command line ("" for the bundled demo data)
    path: str  # absolute path, or the URL
    is_dir: bool
    prefix: str  # sub-directory of the output for this root ("" = the output itself)
    url: bool = False


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
    prefixes: set[int] = set()  # digests of the names taken (paths.unique_name)
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
                prefix = unique_name(name if name not in ("", ".", "..") else "input", prefixes)
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
            prefix = unique_name(os.path.basename(path.rstrip(os.sep)) or "input", prefixes)
        out.append(Root(given, path, is_dir, prefix))
    return out


def walk(root: Root, exclude: str) -> Iterator[str]:
    """Files under a root in a stable order, skipping hidden names and the output directory."""
    for path, _real in walk_real(root, exclude):
        yield path


def walk_real(root: Root, exclude: str) -> Iterator[tuple[str, str]]:
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
    files: list[os.DirEntry[str]] = []
    dirs: list[os.DirEntry[str]] = []
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


def relative_path(root: Root, source: str) -> str:
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


def lookup_ids(index: Mapping[str, dict], keys: Iterable[str]) -> str | None:
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
            with open_regular(source) as fh:
                ds = pydicom.dcmread(fh, force=force, stop_before_pixels=True, specific_tags=[0x00080018])
            value = ds.get(0x00080018)
            text = str(value.value).strip("\0 ") if value is not None and value.value else ""
    except Exception:  # noqa: BLE001 - not readable here: the run reports it when it reads the file
        return None
    return text or None


def ids_key_for(index: Mapping[str, Any], by_uid: Mapping[str, str], paths: Iterable[str], uid: str | None = None) -> str | None:
    """The key of a file's ids entry: by path (:func:`lookup_ids`), else by its SOPInstanceUID."""
    key = lookup_ids(index, paths)
    if key is None and uid:
        key = by_uid.get(uid)
    return key


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
    opts: dict[str, Any] = {"force": force, "stop_before_pixels": stop_before_pixels}
    if is_url(source):
        try:
            with _fsspec().open(source, "rb") as fh:
                data = fh.read()
        except OSError as err:
            raise InputError(os_reason(err)) from None
        if not data:
            raise InputError(EMPTY)
        refuse_archive(data)
        ds = parse_dicom(io.BytesIO(data), len(data), data=data, **opts)
        return ds, _Input(hashlib.sha256(data).hexdigest(), len(data), None)
    with open_regular(source) as fh:
        st = os.fstat(fh.fileno())
        if st.st_size == 0:
            raise InputError(EMPTY)
        if st.st_size <= SMALL_FILE:
            data = read_all(fh)
            refuse_archive(data)
            info = _Input(hashlib.sha256(data).hexdigest(), len(data), st.st_mtime_ns)
            ds = parse_dicom(io.BytesIO(data), len(data), data=data, **opts)
            ds.filename = source
            return ds, info
        digest = hashlib.sha256()
        size = 0
        while chunk := read_chunk(fh):
            if not size:
                refuse_archive(chunk)
            digest.update(chunk)
            size += len(chunk)
        info = _Input(digest.hexdigest(), size, st.st_mtime_ns)
    # parsed from the path, so that pydicom can read a deferred value when a rule needs it
    ds = parse_dicom(source, size, defer_size=DEFER_SIZE, **opts)
    return ds, info


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
            spec.loader.exec_module(module)  # type: ignore[union-attr]  # checked when the spec was made
        else:
            exec(compile(text, str(file), "exec"), module.__dict__)  # type: ignore[arg-type]  # the user's own functions file (text given here)
    except Exception as err:  # noqa: BLE001 - the user's code, reported, not a bug in deidlang
        sys.modules.pop(name, None)
        raise BatchError(f"cannot load functions file '{path}': {type(err).__name__}: {err}") from None
    public = getattr(module, "__all__", None)
    names = list(public) if public is not None else [n for n in vars(module) if not n.startswith("_")]
    return {n: obj for n in names if callable(obj := getattr(module, n, None)) and not isinstance(obj, type)}
