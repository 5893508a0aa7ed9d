"""Which lookups Programs make, and what one file's run did with tables and keyed
pseudonyms (:class:`FileRecord`).

A lookup is ``(table, key path, key column, value column)``: from a
``deid_func:lookup`` built-in, or a ``deid_func:dateshift`` with ``table=``
(:func:`lookup_of`). What a lookup does at apply time is the runtime's
(:mod:`deidlang.runtime.lookups`); the record is filled there and read by the
caller (``deidc run``: the manifest's fallbacks, the quarantine, the linkage file).
"""

from __future__ import annotations

from typing import Any, Iterable

from .keys import KeyPath, key_path, read

__all__ = ["FileRecord", "lookup_of", "steps_lookups", "uses", "key_uses"]


def lookup_of(b: Any) -> tuple[str, KeyPath, str, str] | None:
    """``(table, key path, key column, value column)`` of a lookup built-in, or None."""
    if getattr(b, "name", None) not in ("lookup", "dateshift") or not b.has("table"):
        return None
    key = b.option("key")
    return b.option("table"), key_path(key), b.option("key_column", key), b.option("column")


def steps_lookups(steps: Iterable[Any]) -> tuple[tuple[str, KeyPath, str, str], ...]:
    """The lookups of a Program's steps, in step order, repeated ones once."""
    out: list[tuple[str, KeyPath, str, str]] = []
    for step in steps:
        use = lookup_of(getattr(step, "value", None))
        if use is not None and use not in out:
            out.append(use)
    return tuple(out)


def _program_uses(program: Any) -> tuple:
    """A Program's lookups (``Program.lookups()`` keeps them; an object without that
    method, such as a stand-in, is read from its steps)."""
    lookups = getattr(program, "lookups", None)
    return lookups() if lookups is not None else steps_lookups(getattr(program, "steps", ()))


def uses(programs: Iterable[Any]) -> list[tuple[str, KeyPath, str, str]]:
    """Every lookup the Programs make (in step order, repeated ones once)."""
    out: dict[tuple, None] = {}
    for program in programs:
        for found in _program_uses(program):
            out.setdefault(found, None)
    return list(out)


def key_uses(programs: Iterable[Any]) -> list[tuple[str, str]]:
    """``(table, key column)`` pairs the Programs look up (the indexes to build)."""
    return list(dict.fromkeys((t, column) for t, _key, column, _value in uses(programs)))


class FileRecord:
    """What tables and keyed pseudonyms did to one file: the fallbacks used
    (``fallbacks``: ``(table, key element)``), the rows that had no match under the
    quarantine policy (``missing``), the linkage rows when ``linkage`` is asked
    (``(kind, original, replacement)``: identifying data, for the linkage file
    only) and the original keys read (``originals``)."""

    __slots__ = ("linkage", "rows", "fallbacks", "missing", "originals")

    def __init__(self, linkage: bool = False):
        self.linkage = linkage
        self.rows: dict[tuple[str, str], str] = {}
        self.fallbacks: dict[tuple[str, str], None] = {}
        self.missing: dict[tuple[str, str], None] = {}
        self.originals: dict[str, str] = {}

    def remember(self, ds: Any, programs: Iterable[Any]) -> FileRecord:
        """Read the keys every one of ``programs`` looks up, before any of them runs."""
        for _table, path, _column, _value in uses(programs):
            if path.text not in self.originals:
                self.originals[path.text] = read(ds, path)
        return self

    def link(self, kind: str, original: str, replacement: Any) -> None:
        if self.linkage and original:
            self.rows.setdefault((kind, original), str(replacement))

    def linkage_rows(self) -> tuple[tuple[str, str, str], ...]:
        return tuple((kind, original, new) for (kind, original), new in self.rows.items())

    def fallback_names(self) -> tuple[str, ...]:
        """``table:key element`` of each fallback (for the manifest: names, never values)."""
        return tuple(f"{t}:{k}" for t, k in self.fallbacks)

    def missing_note(self) -> str:
        names = ", ".join(f"table '{t}' has no row for its {k}" for t, k in self.missing)
        return f"held in quarantine (--on-missing quarantine): {names}; written with keyed fallbacks"
