"""Which inputs have no row: ``deidc check --table ... --input DIR`` and ``deidc run --dry-run``.

Each input's header is read (up to the pixel data) and every key the recipes
look up is looked up. The report names the file and the key *element*; the
key's value only when the user asks (``--show-values``).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import attrs

from .keys import KeyPath, read
from .store import Tables

__all__ = ["Missing", "Coverage", "survey", "render"]


@attrs.frozen
class Missing:
    """One input, one lookup without an answer. ``value``: the key ("" when the file has
    none); shown only when asked."""

    file: str
    table: str
    key: str
    value: str = attrs.field(repr=False)


@attrs.frozen
class Coverage:
    files: int
    unreadable: tuple[str, ...]
    missing: tuple[Missing, ...]

    @property
    def without_row(self) -> int:
        return len({m.file for m in self.missing})


def survey(uses: Sequence[tuple[str, KeyPath, str, str]], tables: Tables, items: Iterable[tuple[str, Any]]) -> Coverage:
    """Look up every key of ``uses`` for each ``(name, dataset or reason)`` of ``items``
    (a string instead of a dataset: the file could not be read, and why)."""
    lookups = list(dict.fromkeys((t, path, column) for t, path, column, _value in uses if t in tables and tables[t].has(column)))
    files = 0
    unreadable: list[str] = []
    missing: list[Missing] = []
    for name, ds in items:
        files += 1
        if isinstance(ds, str):
            unreadable.append(f"{name}: {ds}")
            continue
        for table, path, column in lookups:
            value = read(ds, path)
            if not value or tables[table].find(column, value) < 0:
                missing.append(Missing(name, table, path.text, value))
    return Coverage(files, tuple(unreadable), tuple(missing))


def render(coverage: Coverage, *, show_values: bool = False) -> list[str]:
    """The report's lines: a summary, then one line per input and lookup."""
    n = coverage.without_row
    lines = [
        f"inputs without a row: {n} of {coverage.files} file{'s' if coverage.files != 1 else ''}"
        + ("" if n else " (every input has a row in every table it is looked up in)")
    ]
    for m in coverage.missing:
        if not m.value:
            lines.append(f"  {m.file}: no {m.key} (the key of table '{m.table}')")
            continue
        shown = f" '{m.value}'" if show_values else ""
        lines.append(f"  {m.file}: table '{m.table}' has no row for its {m.key}{shown}")
    for line in coverage.unreadable:
        lines.append(f"  not read: {line}")
    return lines
