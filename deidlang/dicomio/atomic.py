"""Writing a file so that its target name only ever holds a complete file.

Every file deidlang writes goes to a fresh temporary name beside its target
(``.NAME.XXXXXXXX.SUFFIX``: hidden, in the same folder so that the rename is
atomic), is flushed to the disk (``fsync``), and is then renamed over the
target; the folder is flushed too, so that the rename itself survives a
power cut. An interruption at any point (an exception, Ctrl-C, SIGKILL, a
full disk) leaves either the complete file or nothing under the target name,
and at most a temporary file that :func:`is_temporary` recognises by name.

A failed write raises :class:`WriteError`: it names the file deidlang meant
to write (never the temporary name), carries the ``errno``, and says what
went wrong in plain words (:func:`describe`). It is an ``OSError`` as well,
so code that catches ``OSError`` keeps working.
"""

from __future__ import annotations

import contextlib
import errno as errnos
import os
import re
import secrets
from typing import IO, Iterator

from ..lang.diagnostics import DeidlangError

__all__ = [
    "WriteError",
    "FATAL_ERRNOS",
    "describe",
    "errno_of",
    "temporary_name",
    "is_temporary",
    "atomic_target",
    "atomic_write",
    "write_bytes",
    "write_text",
    "write_all",
    "fsync_file",
    "fsync_directory",
    "remove_quietly",
]

#: Errors after which every later write to the same place fails too: a run should stop.
FATAL_ERRNOS = frozenset(code for code in (errnos.ENOSPC, getattr(errnos, "EDQUOT", None), errnos.EROFS) if code is not None)

# What an errno means, in words a user acts on (os.strerror is terse and platform-worded).
_PLAIN = {
    errnos.ENOSPC: "no space left on the device (the disk is full)",
    errnos.EFBIG: "the file size limit is reached (the file system's, or the process limit: see 'ulimit -f')",
    errnos.EROFS: "the file system is read-only",
    errnos.EACCES: "permission denied",
    errnos.EPERM: "operation not permitted (is the folder read-only or immutable?)",
    errnos.ENOTDIR: "a part of the path is a file, not a folder",
    errnos.ENOENT: "a folder on the path does not exist and cannot be created",
    errnos.EISDIR: "a folder of that name is in the way",
    errnos.EEXIST: "a file of that name is in the way",
    errnos.ENAMETOOLONG: "the name is too long for the file system",
    errnos.EIO: "input/output error (a failing disk or a lost network file system)",
    errnos.EMFILE: "too many open files",
}
if hasattr(errnos, "EDQUOT"):
    _PLAIN[errnos.EDQUOT] = "the disk quota is exceeded (the disk is full for this user)"

# Folders whose fsync the file system does not support: the rename is done, durability is the OS's.
_NO_DIRECTORY_FSYNC = frozenset(
    code for code in (errnos.EINVAL, errnos.EBADF, errnos.EACCES, errnos.EPERM, errnos.EISDIR, getattr(errnos, "ENOTSUP", None)) if code is not None
)


def _os_error_of(error: BaseException) -> OSError | None:
    """The first OSError with an errno in ``error`` and the exceptions it was raised from."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            return current
        current = current.__cause__ or current.__context__
    return None


def errno_of(error: BaseException) -> int | None:
    """The errno of an error, looked up through the exceptions it was raised from:
    pydicom re-raises a failed write as a new ``OSError`` that carries only a message."""
    found = _os_error_of(error)
    return found.errno if found is not None else None


def _strerror_of(error: BaseException) -> str | None:
    found = _os_error_of(error)
    return found.strerror if found is not None else None


def describe(error: BaseException | int) -> str:
    """An ``OSError`` (or an errno) in plain words: lower-case, no trailing period. Never
    the error's own message (pydicom's can hold a traceback)."""
    code = error if isinstance(error, int) else errno_of(error)
    if code in _PLAIN:
        return _PLAIN[code]
    if code is None:
        return f"the write failed ({type(error).__name__})"
    text = (None if isinstance(error, int) else _strerror_of(error)) or os.strerror(code)
    return text[:1].lower() + text[1:].rstrip(".")


class WriteError(DeidlangError, OSError):
    """Writing ``path`` failed with ``errno``; ``what`` says which file it is ("the run
    manifest"; empty for an output). ``str()`` is the message for the user; it names
    the path deidlang meant to write, never the temporary name, and never data."""

    def __init__(self, path: str, errno: int | None, what: str = "", strerror: str | None = None):
        OSError.__init__(self, errno, strerror or (os.strerror(errno) if errno else "write failed"), path)
        self.path = path
        self.what = what

    @classmethod
    def of(cls, error: BaseException, path: str | os.PathLike, what: str = "") -> "WriteError":
        """``error`` (from writing ``path`` or its temporary file) as a WriteError about ``path``."""
        if isinstance(error, WriteError):
            return error
        return cls(os.fspath(path), errno_of(error), what, _strerror_of(error))

    @property
    def disk_full(self) -> bool:
        return self.errno in (errnos.ENOSPC, getattr(errnos, "EDQUOT", -1))

    @property
    def fatal(self) -> bool:
        """Every later write to the same place would fail too (disk full, read-only)."""
        return self.errno in FATAL_ERRNOS

    def __str__(self) -> str:
        what = f"{self.what} " if self.what else ""
        return f"cannot write {what}'{self.path}': {describe(self)}"

    def __reduce__(self):  # crosses from pool workers to the main process
        return (type(self), (self.path, self.errno, self.what, self.strerror))


# =========================================================================== names


def temporary_name(target: str, suffix: str = ".tmp") -> str:
    """A fresh hidden name beside ``target`` (same folder, so the rename is atomic)."""
    return os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.{secrets.token_hex(4)}{suffix}")


def is_temporary(name: str, suffix: str = ".tmp") -> bool:
    """Whether a file name (no folder) is one that :func:`temporary_name` makes with ``suffix``."""
    return re.fullmatch(r"\..+\.[0-9a-f]{8}" + re.escape(suffix), os.path.basename(name), re.DOTALL) is not None


# =========================================================================== primitives


def fsync_file(path: str) -> None:
    """Flush a closed file's data to the disk (a delayed write error, such as a full
    quota on a network file system, shows up here rather than as a short file later)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(path: str) -> None:
    """Flush a folder's entries (a rename in it) to the disk, where the platform can."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno in _NO_DIRECTORY_FSYNC:
            return  # Windows and some file systems cannot open a folder: nothing to flush
        raise
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in _NO_DIRECTORY_FSYNC:
            raise
    finally:
        os.close(fd)


def remove_quietly(path: str) -> bool:
    """Remove a file if it is there; True if it was removed (never raises)."""
    try:
        os.unlink(path)
        return True
    except OSError:
        return False


def write_all(fd: int, data: bytes, path: str, what: str = "") -> None:
    """Write all of ``data`` to a raw file descriptor (a short write is retried; an error
    raises :class:`WriteError` about ``path``). Nothing stays buffered in this process,
    so a later close cannot fail with the same error again."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except OSError as err:
        raise WriteError.of(err, path, what) from None


def _makedirs(directory: str, target: str, what: str) -> None:
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as err:
        raise WriteError.of(err, target, what) from None


def _about_this_write(err: OSError, tmp: str, target: str) -> bool:
    """An OSError from the body of :func:`atomic_target` is about the write when it names
    no file (a write or flush) or the temporary file or the target."""
    return err.filename is None or os.fspath(err.filename) in (tmp, target)


# =========================================================================== atomic writes


@contextlib.contextmanager
def atomic_target(target: str | os.PathLike, *, suffix: str = ".tmp", durable: bool = True, what: str = "") -> Iterator[str]:
    """Yield a temporary path to write; on success flush it to the disk and rename it
    to ``target``; on any failure (interruptions included) remove it and re-raise.

    OSErrors about the write (creating the folder, writing, flushing, renaming)
    are raised as :class:`WriteError` naming ``target``. ``durable=False`` skips
    the ``fsync`` calls (for files that are cheap to redo).
    """
    target = os.path.abspath(os.fspath(target))
    directory = os.path.dirname(target)
    _makedirs(directory, target, what)
    tmp = temporary_name(target, suffix)
    try:
        yield tmp
        if durable:
            fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        remove_quietly(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, WriteError) and _about_this_write(exc, tmp, target):
            raise WriteError.of(exc, target, what) from None
        raise
    if durable:
        try:
            fsync_directory(directory)
        except OSError as err:  # the file is complete in place; say that it may not be on the disk yet
            raise WriteError.of(err, target, what) from None


@contextlib.contextmanager
def atomic_write(
    target: str | os.PathLike,
    mode: str = "wb",
    *,
    encoding: str | None = None,
    errors: str | None = None,
    suffix: str = ".tmp",
    durable: bool = True,
    what: str = "",
    private: bool = False,
) -> Iterator[IO]:
    """Yield an open file (``mode`` "w", "wb", "wt") whose content appears under
    ``target`` only once it is complete and flushed (see :func:`atomic_target`).
    ``private``: created readable and writable by its owner only (mode 0600, whatever
    the umask), for files that hold identifying data."""
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"atomic_write writes a new file: mode 'w', 'wt' or 'wb', not '{mode}'")
    exclusive = mode.replace("w", "x")  # never follow a name someone planted at the temporary path
    if "b" in mode:
        encoding = errors = None
    elif encoding is None:
        encoding = "utf-8"
    with atomic_target(target, suffix=suffix, durable=durable, what=what) as tmp:
        opener = _private_opener if private else None
        with open(tmp, exclusive, encoding=encoding, errors=errors, opener=opener) as fh:
            yield fh


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def write_bytes(target: str | os.PathLike, data: bytes, **options) -> None:
    """Write ``data`` to ``target`` atomically (options as for :func:`atomic_target`)."""
    with atomic_write(target, "wb", **options) as fh:
        fh.write(data)


def write_text(target: str | os.PathLike, text: str, *, encoding: str = "utf-8", **options) -> None:
    """Write ``text`` to ``target`` atomically (options as for :func:`atomic_target`)."""
    with atomic_write(target, "w", encoding=encoding, **options) as fh:
        fh.write(text)
