"""The spool: where every object lives from its acknowledgement until its delivery.

Layout (``SPOOL_DIR``)::

    incoming/<seq>-<ae>.dcm        received, on the disk before the sender got its success status
    work/                          de-identified outputs being written (temporary names only)
    outbox/<destination>/<seq>.dcm de-identified, waiting for that destination's acknowledgement
    quarantine/<seq>.dcm + .json   held back: flagged by --quarantine (de-identified), or not
                                   de-identified at all (the original as received), with the reason
    failed/<destination>/<seq>.dcm + .json  refused by a destination (failure statuses), with the reason
    deidlang-manifest.json(l)      the run manifest, one record per de-identified object

``seq`` is a number that grows with arrival time (nanoseconds since the epoch,
kept strictly increasing), so the names sort in arrival order and are never
reused. ``<ae>`` is the calling AE title in hexadecimal (routes are chosen by
it). Names never hold element values.

Every step is a rename or a hard link of a complete file, and a step's source
is removed only after its result is on the disk: an interruption at any point
(``kill -9``, a power cut) leaves every acknowledged object in ``incoming/`` or in
an outbox (possibly both: it is then delivered twice, never lost), and never a
half-written file under a name that is read. Temporary files carry the run's
temporary suffix and are removed at start-up.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from typing import Any, Iterator

import attrs

from ..dicomio.atomic import fsync_directory, is_temporary, remove_quietly, temporary_name, write_text
from ..engine import TMP_SUFFIX

__all__ = ["Entry", "Spool", "SpoolFull", "INCOMING", "WORK", "OUTBOX", "QUARANTINE", "FAILED"]

INCOMING = "incoming"
WORK = "work"
OUTBOX = "outbox"
QUARANTINE = "quarantine"
FAILED = "failed"
_ENTRY = re.compile(r"^(\d{20})-([0-9a-f]*)\.dcm$")
_OUT = re.compile(r"^(\d{20})\.dcm$")


class SpoolFull(OSError):
    """The spool cannot take an object (disk full, read-only, an object over the size limit)."""


@attrs.frozen(order=True)
class Entry:
    """A received object in ``incoming/``."""

    seq: int
    calling_ae: str = attrs.field(order=False)
    path: str = attrs.field(order=False)

    @property
    def name(self) -> str:
        return f"{self.seq:020d}"


def _entry_name(seq: int, calling_ae: str) -> str:
    return f"{seq:020d}-{calling_ae.encode('ascii', 'replace').hex()}.dcm"


def _ae_of(hexa: str) -> str:
    try:
        return bytes.fromhex(hexa).decode("ascii", "replace")
    except ValueError:
        return ""


class Spool:
    """The spool folder (see the module's description). Thread-safe."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.incoming = os.path.join(self.root, INCOMING)
        self.work = os.path.join(self.root, WORK)
        self.outbox = os.path.join(self.root, OUTBOX)
        self.quarantine = os.path.join(self.root, QUARANTINE)
        self.failed = os.path.join(self.root, FAILED)
        self._lock = threading.Lock()
        self._last = 0

    # ------------------------------------------------------------------ start-up
    def open(self, destinations: Iterator[str] | list[str]) -> None:
        """Make the folders and remove what an interrupted node left half-done."""
        for folder in (self.incoming, self.work, self.outbox, self.quarantine, self.failed):
            os.makedirs(folder, exist_ok=True)
        for name in destinations:
            os.makedirs(self.outbox_dir(name), exist_ok=True)
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                if is_temporary(name, TMP_SUFFIX):
                    remove_quietly(os.path.join(folder, name))
        for name in os.listdir(self.work):  # outputs not yet handed to an outbox: redone from incoming/
            remove_quietly(os.path.join(self.work, name))
        self._last = max([e.seq for e in self.pending()] + [s for d in self.outboxes() for s, _ in self.waiting(d)] + [0])

    def next_seq(self) -> int:
        with self._lock:
            self._last = max(time.time_ns(), self._last + 1)
            return self._last

    # ------------------------------------------------------------------ receiving
    def store(self, parts: list, calling_ae: str) -> Entry:
        """Write a received object (``parts``: bytes-like pieces, in order) to ``incoming/``
        and flush it, and its name, to the disk. Raises OSError when the spool cannot take
        it; nothing is left behind then."""
        seq = self.next_seq()
        path = os.path.join(self.incoming, _entry_name(seq, calling_ae))
        tmp = temporary_name(path, TMP_SUFFIX)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            try:
                views = [memoryview(p) for p in parts]
                while views:
                    written = os.writev(fd, views)
                    while views and written >= len(views[0]):
                        written -= len(views[0])
                        views.pop(0)
                    if views and written:
                        views[0] = views[0][written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, path)
        except BaseException:
            remove_quietly(tmp)
            raise
        fsync_directory(self.incoming)
        return Entry(seq, calling_ae, path)

    def pending(self) -> list[Entry]:
        """Received objects not yet de-identified, in arrival order."""
        out = []
        for name in os.listdir(self.incoming):
            m = _ENTRY.match(name)
            if m:
                out.append(Entry(int(m.group(1)), _ae_of(m.group(2)), os.path.join(self.incoming, name)))
        return sorted(out)

    # ------------------------------------------------------------------ de-identified
    def work_target(self, entry: Entry) -> str:
        return os.path.join(self.work, f"{entry.name}.dcm")

    def quarantine_target(self, entry: Entry) -> str:
        return os.path.join(self.quarantine, f"{entry.name}.dcm")

    def outbox_dir(self, destination: str) -> str:
        return os.path.join(self.outbox, destination)

    def outboxes(self) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self.outbox) if os.path.isdir(os.path.join(self.outbox, n)))
        except OSError:
            return []

    def waiting(self, destination: str) -> list[tuple[int, str]]:
        """``(seq, path)`` of the objects waiting for ``destination``, in arrival order."""
        folder = self.outbox_dir(destination)
        try:
            names = os.listdir(folder)
        except OSError:
            return []
        return sorted((int(m.group(1)), os.path.join(folder, n)) for n in names if (m := _OUT.match(n)))

    def hand_over(self, items: list[tuple[Entry, str, tuple[str, ...]]]) -> list[tuple[str, int, str]]:
        """Put de-identified outputs (complete and flushed temporary files) into the outboxes
        of their destinations, then remove them and their received originals.

        ``items``: ``(entry, temporary output, destination names)``. Returns
        ``(destination, seq, outbox path)`` for each hand-over, in order. The outbox
        folders are flushed before any original is removed.
        """
        handed: list[tuple[str, int, str]] = []
        folders: set[str] = set()
        for entry, tmp, destinations in items:
            for dest in destinations:
                target = os.path.join(self.outbox_dir(dest), f"{entry.name}.dcm")
                link = temporary_name(target, TMP_SUFFIX)
                os.link(tmp, link)
                os.replace(link, target)
                folders.add(os.path.dirname(target))
                handed.append((dest, entry.seq, target))
        for folder in folders:
            fsync_directory(folder)
        for entry, tmp, _destinations in items:
            remove_quietly(tmp)
            remove_quietly(entry.path)
        return handed

    def hold(self, entry: Entry, reason: dict[str, Any], *, output_tmp: str | None = None) -> str:
        """Quarantine an object: its de-identified output (``output_tmp``, flagged by a
        ``%filter`` group) or, when it was not de-identified, the original as received.
        The reason goes beside it (``<seq>.json``). Returns the quarantined file."""
        target = self.quarantine_target(entry)
        record = {
            "object": entry.name,
            "calling_ae": entry.calling_ae,
            **reason,
            "content": "de-identified" if output_tmp else "the original as received (not de-identified)",
        }
        write_text(os.path.splitext(target)[0] + ".json", json.dumps(record, indent=2, ensure_ascii=False) + "\n", suffix=TMP_SUFFIX)
        if output_tmp:
            os.replace(output_tmp, target)
            remove_quietly(entry.path)
        else:
            os.replace(entry.path, target)
        fsync_directory(self.quarantine)
        return target

    # ------------------------------------------------------------------ delivered
    def delivered(self, path: str) -> None:
        """The destination acknowledged the object: its outbox entry goes."""
        remove_quietly(path)

    def set_aside(self, destination: str, seq: int, path: str, reason: dict[str, Any]) -> str:
        """The destination refused the object for good: keep it in ``failed/`` with the reason."""
        folder = os.path.join(self.failed, destination)
        os.makedirs(folder, exist_ok=True)
        target = os.path.join(folder, f"{seq:020d}.dcm")
        write_text(
            os.path.join(folder, f"{seq:020d}.json"),
            json.dumps({"object": f"{seq:020d}", "destination": destination, **reason}, indent=2) + "\n",
            suffix=TMP_SUFFIX,
        )
        os.replace(path, target)
        return target

    # ------------------------------------------------------------------ state
    def is_empty(self) -> bool:
        """No object waits: nothing received is left to de-identify or to deliver."""
        return not self.pending() and not any(self.waiting(d) for d in self.outboxes())

    def usage(self) -> dict[str, int]:
        """Objects and bytes per part of the spool (for the status and the docs' sizing)."""
        out: dict[str, int] = {}
        for part in (INCOMING, OUTBOX, QUARANTINE, FAILED):
            count = size = 0
            for folder, _dirs, files in os.walk(os.path.join(self.root, part)):
                for name in files:
                    if name.endswith(".dcm"):
                        count += 1
                        try:
                            size += os.stat(os.path.join(folder, name)).st_size
                        except OSError:
                            pass
            out[f"{part}_objects"] = count
            out[f"{part}_bytes"] = size
        return out
