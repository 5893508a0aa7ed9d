"""Writing one output: to a new temporary name next to its target (:func:`write_output`:
small datasets encoded in memory, large ones streamed with their deferred values copied
in chunks), the folders on its way made inside the output folder and never through a
symbolic link (:func:`make_folders`); the temporary files an interrupted run leaves
are removed by :func:`remove_temporaries`."""

from __future__ import annotations

import hashlib
import os
import stat

import attrs

from ..dicomio.atomic import atomic_target, remove_quietly, temporary_name
from ..dicomio.damage import CHUNK
from ..dicomio.encode import conform_file_meta, save, to_bytes
from ..dicomio.stream import HashingFile, stream_deferred
from ..lang.diagnostics import DeidlangError
from .job import OUTSIDE
from .paths import NAME_MAX, confined, is_url, printable, shorten

#: Suffix of the temporary files a run writes before renaming them into place.
TMP_SUFFIX = ".deidc-tmp"


class OutputError(DeidlangError):
    """One output cannot be written where it belongs (it would leave the output folder,
    or a folder on its way is a symbolic link). The message is the reason."""


#: What a temporary name adds to the target's name: '.', '.' and 8 hex digits, the suffix.
_TMP_EXTRA = 10 + len(TMP_SUFFIX)


def _tmp_name(target: str) -> str:
    """A temporary name beside ``target``; for a target whose name is near the limit of
    the file system, the temporary name starts with a shortened form of it."""
    directory, name = os.path.split(target)
    room = NAME_MAX - _TMP_EXTRA
    if len(os.fsencode(name)) > room:
        name = shorten(name, room)
    return temporary_name(os.path.join(directory, name), TMP_SUFFIX)


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
                    stream_deferred(ds, source, opened)
                sink = HashingFile(fh)
                old = config.settings.buffered_read_size
                config.settings.buffered_read_size = CHUNK
                try:
                    save(ds, sink)
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
        save(ds, fh)


def remove_temporaries(output: str) -> None:
    """After an interruption: remove temporary files this tool may have left."""
    for directory, _dirs, files in os.walk(output):
        for name in files:
            if name.startswith(".") and name.endswith(TMP_SUFFIX):
                try:
                    os.unlink(os.path.join(directory, name))
                except OSError:
                    pass
