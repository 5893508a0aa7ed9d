"""The linkage file (``deidc run --linkage PATH``): what each pseudonym stands for.

One row per value a run replaced through a table or a keyed hash --
``(kind, original, replacement, first_file)``: the element's keyword (or
``day offset (KEY)`` for a per-patient shift), the original value, its
replacement, and the first input the run found it in. With it, an honest
broker can take a finding about ``SUB-0042`` back to the patient; without it
(and without the key) nobody can. It is identifying data: created readable by
its owner only (mode 0600), never inside the output folder (which is meant to
be shared), and only when asked: without ``--linkage`` no such record is kept
anywhere.

``PATH`` ending in ``.sqlite``, ``.sqlite3`` or ``.db`` is an SQLite database
(table ``linkage``, one row per ``(kind, original)``); any other name is CSV
with a header row. A second run with the same file adds the rows it does not
hold yet (so a resumed run, or a later batch of the same study, completes it).
An original it already holds with another replacement (a table changed between
runs, another key) is not written again: the file keeps the first, and
``conflicts`` counts them by kind for the run's summary (never the values).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import sqlite3
import stat
from typing import Iterable

from .store import TableError

__all__ = ["Linkage", "COLUMNS", "refuse_inside"]

COLUMNS = ("kind", "original", "replacement", "first_file")
_SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")


def _inside(path: str, folder: str) -> bool:
    path = os.path.realpath(path)
    folder = os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def refuse_inside(path: str, output: str) -> None:
    """Raise :class:`TableError` when ``path`` is in the output folder (or is it)."""
    if _inside(path, output):
        raise TableError(
            f"--linkage '{path}' is inside the output folder '{output}', which is meant to be shared: "
            "the linkage file re-identifies every output; keep it elsewhere, with whoever may re-link (the honest broker)"
        )


def _digest(kind: str, original: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{kind}\x00{original}".encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def _private_file(path: str, *, append: bool) -> int:
    """Open ``path`` for writing, created with mode 0600; an existing one is made 0600 too."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != 0o600:
            os.fchmod(fd, 0o600)
    except BaseException:
        os.close(fd)
        raise
    return fd


class Linkage:
    """An open linkage file. ``add(rows, first_file)`` records the rows it does not hold yet;
    ``close()`` when the run ends. ``durable``: each batch reaches the disk before returning."""

    def __init__(self, path: str, *, output: str | None = None, durable: bool = False):
        self.path = os.path.abspath(path)
        if output is not None:
            refuse_inside(self.path, output)
        if os.path.isdir(self.path):
            raise TableError(f"--linkage '{path}' is a folder: name a file (.csv, or .sqlite for a database)")
        self.sqlite = self.path.lower().endswith(_SQLITE_SUFFIXES)
        self.durable = durable
        self.seen: dict[int, int] = {}  # digest of (kind, original) -> digest of its replacement
        self.added = 0
        self._conflicted: dict[int, str] = {}  # digest of (kind, original) -> kind, for originals linked elsewhere
        self._fd: int | None = None
        self._db: sqlite3.Connection | None = None
        try:
            self._open()
        except OSError as err:
            raise TableError(f"cannot write the linkage file '{path}': {err.strerror or type(err).__name__}") from None
        except sqlite3.Error as err:
            raise TableError(f"cannot use the linkage database '{path}': {type(err).__name__}") from None

    def _open(self) -> None:
        folder = os.path.dirname(self.path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.sqlite:
            os.close(_private_file(self.path, append=True))
            self._db = sqlite3.connect(self.path)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS linkage (kind TEXT NOT NULL, original TEXT NOT NULL, replacement TEXT NOT NULL, "
                "first_file TEXT, PRIMARY KEY (kind, original))"
            )
            self._db.commit()
            for kind, original, replacement in self._db.execute("SELECT kind, original, replacement FROM linkage"):
                self.seen[_digest(kind, original)] = _digest(kind, replacement)
            return
        existed = os.path.exists(self.path) and os.path.getsize(self.path) > 0
        if existed:
            with open(self.path, encoding="utf-8", newline="") as fh:
                rows = csv.reader(fh)
                header = next(rows, None)
                if header is not None and tuple(header) != COLUMNS:
                    raise TableError(f"'{self.path}' is not a linkage file of deidlang (its header is not {', '.join(COLUMNS)}): name another file")
                for row in rows:
                    if len(row) >= 3:
                        self.seen[_digest(row[0], row[1])] = _digest(row[0], row[2])
        self._fd = _private_file(self.path, append=True)
        if not existed:
            self._write(self._csv([COLUMNS]))

    @staticmethod
    def _csv(rows: Iterable[Iterable[str]]) -> bytes:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        return buf.getvalue().encode("utf-8", "surrogateescape")

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        if self.durable:
            os.fsync(self._fd)

    def add(self, rows: Iterable[tuple[str, str, str]], first_file: str) -> int:
        """Record ``(kind, original, replacement)`` rows first seen in ``first_file``;
        returns how many were new. A row whose original is held with another
        replacement is counted in ``conflicts`` and not written."""
        new = []
        for kind, original, replacement in rows:
            digest = _digest(kind, original)
            held = self.seen.get(digest)
            if held is not None:
                if held != _digest(kind, replacement):
                    self._conflicted[digest] = kind  # each original counted once
                continue
            self.seen[digest] = _digest(kind, replacement)
            new.append((kind, original, replacement, first_file))
        if not new:
            return 0
        if self._db is not None:
            self._db.executemany("INSERT OR IGNORE INTO linkage VALUES (?, ?, ?, ?)", new)
            self._db.commit()
        else:
            self._write(self._csv(new))
        self.added += len(new)
        return len(new)

    @property
    def conflicts(self) -> dict[str, int]:
        """Originals held with another replacement than a later file gave them, counted by kind."""
        out: dict[str, int] = {}
        for kind in self._conflicted.values():
            out[kind] = out.get(kind, 0) + 1
        return out

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> "Linkage":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
