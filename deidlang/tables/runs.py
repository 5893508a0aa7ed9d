"""Tables in a batch run (:mod:`deidlang.engine` calls these; each call is one line there).

Per file, in the worker: :func:`record_for` reads the original keys before any
recipe runs and collects what the run did with tables and keyed pseudonyms;
:func:`finish` puts the fallbacks used (names, for the manifest), the linkage
rows (values, for the linkage file only, never the manifest) and the
quarantine note on the file's result. In the main process: :func:`open_linkage`
and :func:`write_linkage` keep the linkage file, written before the files'
manifest records, so that a run stopped in between redoes those files and
finds their rows already there.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import attrs

from .linkage import Linkage, refuse_inside
from .record import FileRecord
from .store import OnMissing

__all__ = ["Linkage", "record_for", "held", "finish", "quarantines", "open_linkage", "write_linkage", "check_linkage"]

#: Results whose pseudonyms leave the run (the others wrote nothing).
_WRITTEN = frozenset(("written", "quarantined"))


def record_for(options: Any, ds: Any, programs: Sequence) -> FileRecord | None:
    """The record of one file (None when the run has neither tables nor a linkage file)."""
    tables = getattr(options, "tables", None)
    linkage = bool(getattr(options, "linkage", False))
    if tables is None and not linkage:
        return None
    return FileRecord(linkage=linkage).remember(ds, programs)


def held(record: FileRecord | None) -> bool:
    """Whether the file goes to the quarantine folder (--on-missing quarantine, a row missing)."""
    return record is not None and bool(record.missing)


def finish(record: FileRecord | None, result: Any) -> Any:
    """``result`` with the record's fallbacks, linkage rows and quarantine note."""
    if record is None:
        return result
    changes: dict[str, Any] = {}
    if record.fallbacks:
        changes["fallbacks"] = record.fallback_names()
    if record.linkage and record.rows:
        changes["linkage"] = record.linkage_rows()
    if record.missing:
        note = record.missing_note()
        changes["note"] = f"{note}; {result.note}" if result.note else note
    return attrs.evolve(result, **changes) if changes else result


def quarantines(options: Any) -> bool:
    """Whether files may be held in the quarantine folder because of a missing row."""
    tables = getattr(options, "tables", None)
    return tables is not None and tables.on_missing is OnMissing.QUARANTINE


def check_linkage(path: str | None, output: str) -> None:
    """Refuse a linkage file inside the output folder (raises :class:`TableError`)."""
    if path:
        refuse_inside(path, output)


def open_linkage(path: str | None, output: str, *, durable: bool = False) -> Linkage | None:
    return Linkage(path, output=output, durable=durable) if path else None


def write_linkage(linkage: Linkage | None, results: Iterable[Any]) -> None:
    """Record the linkage rows of the written (or held) files among ``results``."""
    if linkage is None:
        return
    for result in results:
        rows = getattr(result, "linkage", ())
        if rows and result.status in _WRITTEN:
            linkage.add(rows, result.display)
