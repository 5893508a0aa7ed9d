"""A lookup table held compactly, and the set of tables a run is given.

A table of a million rows must load in a second or two, take tens of
megabytes rather than hundreds, and be shared by worker processes rather
than copied for each file. So a :class:`Table` holds no Python object per
cell: each column is one ``bytes`` value (the cells in UTF-8, separated by a
NUL, which no cell may hold) and one array of the cells' start offsets. Each
key column that a recipe looks up gets an index, a dict from key to row
number, built once (in the parent of forked workers, which then share it:
a lookup writes nothing into the pages that hold it); spawned and Dask
workers receive the columns once each, pickled as a few byte strings, and
build the index they use once.

Cells are read with surrounding spaces and NUL padding removed, as DICOM
reads a value, and keys are compared exactly after that: ``abc`` and
``ABC`` are different keys (an identifier's case is part of it).
"""

from __future__ import annotations

import array
import collections
import enum
import hashlib
import itertools
import threading
from typing import Any, Iterable, Iterator, Mapping, Sequence

from ..lang.diagnostics import DeidlangError

__all__ = ["Table", "Tables", "OnMissing", "TableError", "Builder", "normal"]

#: A cell's separator inside a column's bytes (cells holding one are refused).
SEP = "\x00"
_BSEP = b"\x00"


class TableError(DeidlangError):
    """A table that cannot be read or used (the message names the file, row and column, never a cell)."""


class OnMissing(enum.Enum):
    """What happens to a file whose key has no row in a table a recipe looks it up in.

    ``FAIL``: the file fails (R006), nothing is written for it. ``QUARANTINE``: the
    file is de-identified with the keyed fallback of ``HASH`` and held in the
    quarantine folder instead of the output (a caller that cannot hold files,
    such as ``Program.apply`` without a record, treats it as ``FAIL``).
    ``HASH``: the value falls back to the keyed pseudonym of the same key (the
    ``hashid``/``hashuid`` of the key's value, or ``dateshift``'s keyed day
    offset), and the fallback is recorded (the run manifest names the table and
    key element)."""

    FAIL = "fail"
    QUARANTINE = "quarantine"
    HASH = "hash"

    @classmethod
    def parse(cls, value: "OnMissing | str") -> "OnMissing":
        if isinstance(value, OnMissing):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise TableError(f"unknown missing-row policy '{value}': expected {', '.join(p.value for p in cls)}") from None


def normal(text: str) -> str:
    """A cell or key as compared: without surrounding spaces and NUL padding."""
    return text.strip(" \x00")


def _offsets(total: int) -> array.array:
    return array.array("I" if total < 2**32 - 1 else "Q")


class _Column:
    """One column: the cells joined by NUL, and where each starts (``starts[n]`` is one past the end)."""

    __slots__ = ("data", "starts")

    def __init__(self, data: bytes, starts: array.array):
        self.data = data
        self.starts = starts

    def cell(self, row: int) -> bytes:
        starts = self.starts
        return self.data[starts[row] : starts[row + 1] - 1]

    def cells(self) -> list[bytes]:
        return self.data.split(_BSEP) if self.starts and len(self.starts) > 1 else []

    def nbytes(self) -> int:
        return len(self.data) + self.starts.itemsize * len(self.starts)


class Builder:
    """Collects rows column by column (in chunks of Python strings) into a :class:`Table`.

    ``add(columns)`` takes one list of cell texts per column, all of the same length."""

    def __init__(self, columns: Sequence[str]):
        self.columns = tuple(columns)
        self._parts: list[list[bytes]] = [[] for _ in self.columns]
        self._lengths: list[list[int]] = [[] for _ in self.columns]
        self.rows = 0

    def add(self, columns: Sequence[Sequence[str]], first_row: int) -> None:
        """``first_row``: the label number of the first of these rows (for a refused cell)."""
        if not columns or not columns[0]:
            return
        n = len(columns[0])
        for c, values in enumerate(columns):
            joined = SEP.join(values)
            if " " in joined or joined.count(SEP) != n - 1:  # surrounding spaces and padding are not part of a value
                values = [normal(v) for v in values]
                joined = SEP.join(values)
                if joined.count(SEP) != n - 1:
                    bad = next(i for i, v in enumerate(values) if SEP in v)
                    raise TableError(f"row {first_row + bad}, column '{self.columns[c]}' holds a NUL character")
            data = joined.encode("utf-8")
            if len(data) == len(joined):
                lengths = list(map(len, values))
            else:
                lengths = [len(v.encode("utf-8")) for v in values]
            self._parts[c].append(data)
            self._lengths[c].extend(lengths)
        self.rows += n

    def build(self, *, name: str, source: str, kind: str, sha256: str, first_row: int, row_word: str) -> "Table":
        columns = []
        for parts, lengths in zip(self._parts, self._lengths):
            data = _BSEP.join(parts)
            starts = _offsets(len(data) + 1)
            starts.append(0)
            # each cell takes its length plus its separator (the last one an imaginary one past the end)
            starts.extend(itertools.accumulate(n + 1 for n in lengths))
            columns.append(_Column(data, starts))
        self._parts, self._lengths = [], []
        return Table(name, source, kind, sha256, self.columns, columns, self.rows, first_row, row_word)


class Table:
    """One lookup table: named columns of text cells, looked up by a key column.

    ``name`` is the table's name in recipes; ``source`` the path it came from (as
    given); ``kind`` ``csv``/``tsv``/``json``/``sqlite``; ``sha256`` of the file (of
    the SQLite table's rows for SQLite). Never holds a Python object per cell."""

    def __init__(
        self,
        name: str,
        source: str,
        kind: str,
        sha256: str,
        columns: Sequence[str],
        data: Sequence[_Column],
        rows: int,
        first_row: int = 1,
        row_word: str = "row",
    ):
        self.name = name
        self.source = source
        self.kind = kind
        self.sha256 = sha256
        self.columns = tuple(columns)
        self._data = list(data)
        self.rows = rows
        self.first_row = first_row
        self.row_word = row_word
        self._where = {c: i for i, c in enumerate(self.columns)}
        self._indexes: dict[int, dict[str, int]] = {}
        self._named: dict[str, dict[str, int]] = {}  # the same indexes by column name
        self._lock = threading.Lock()

    @classmethod
    def from_rows(cls, name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, source: str = "<memory>") -> "Table":
        """A table from Python rows (tests, and callers that hold their rows already)."""
        builder = Builder(columns)
        width = len(builder.columns)
        chunk = [tuple("" if v is None else str(v) for v in row) for row in rows]
        for i, row in enumerate(chunk):
            if len(row) != width:
                raise TableError(f"{source}: row {i + 1} has {len(row)} cells where there are {width} columns")
        if chunk:
            builder.add([list(col) for col in zip(*chunk)], 1)
        digest = hashlib.sha256(repr((tuple(columns), chunk)).encode("utf-8", "surrogatepass")).hexdigest()
        return builder.build(name=name, source=source, kind="memory", sha256=digest, first_row=1, row_word="row")

    # -- pickling: a few byte strings and arrays; a process that unpickles a table builds
    # the key indexes it uses once (a forked worker shares its parent's)
    def __getstate__(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "kind": self.kind,
            "sha256": self.sha256,
            "columns": self.columns,
            "data": [(c.data, c.starts) for c in self._data],
            "rows": self.rows,
            "first_row": self.first_row,
            "row_word": self.row_word,
        }

    def __setstate__(self, state: dict) -> None:
        Table.__init__(
            self,
            state["name"],
            state["source"],
            state["kind"],
            state["sha256"],
            state["columns"],
            [_Column(d, s) for d, s in state["data"]],
            state["rows"],
            state["first_row"],
            state["row_word"],
        )

    def __repr__(self) -> str:
        return f"<Table {self.name} from {self.source}: {self.rows} rows, columns {', '.join(self.columns)}>"

    # -- reading
    def has(self, column: str) -> bool:
        return column in self._where

    def column_index(self, column: str) -> int:
        try:
            return self._where[column]
        except KeyError:
            raise TableError(f"table '{self.name}' has no column '{column}'") from None

    def cell(self, row: int, column: str | int) -> str:
        c = column if isinstance(column, int) else self.column_index(column)
        return self._data[c].cell(row).decode("utf-8")

    def cells(self, column: str | int) -> list[str]:
        """Every cell of a column, in row order (for checks and tests: a Python string per cell)."""
        c = column if isinstance(column, int) else self.column_index(column)
        return [b.decode("utf-8") for b in self._data[c].cells()]

    def text(self, column: str | int) -> str:
        """A column's cells as one string, NUL between cells (for whole-column checks)."""
        c = column if isinstance(column, int) else self.column_index(column)
        return self._data[c].data.decode("utf-8")

    def longest(self, column: str | int) -> int:
        """The largest cell of a column in bytes (an upper bound of its length in characters)."""
        c = column if isinstance(column, int) else self.column_index(column)
        starts = self._data[c].starts
        if len(starts) < 2:
            return 0
        return max(map(int.__sub__, starts[1:], starts[:-1])) - 1

    def label(self, row: int) -> str:
        """How a row is named in messages: ``row 12`` (CSV/TSV: the line, the header being row 1)."""
        return f"{self.row_word} {row + self.first_row}"

    def nbytes(self) -> int:
        """Bytes held by the cells and offsets (the key indexes come on top: about 120 bytes a row)."""
        return sum(c.nbytes() for c in self._data)

    # -- lookups
    def index(self, column: str | int) -> dict[str, int]:
        """The key index of ``column``: each key to its first row (built once, then shared)."""
        c = column if isinstance(column, int) else self.column_index(column)
        found = self._indexes.get(c)
        if found is not None:
            return found
        with self._lock:
            found = self._indexes.get(c)
            if found is None:
                keys = self._keys(c)
                # built backwards so that the first row of a repeated key is the one kept
                found = self._indexes[c] = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1)))
        return found

    def _keys(self, c: int) -> list[str]:
        return self._data[c].data.decode("utf-8").split(SEP) if self.rows else []

    def value(self, key_column: str, key: str, column: str) -> str:
        """The ``column`` cell of the first row whose ``key_column`` holds ``key`` (already
        normalised), or "" (the lookup of every file: kept short)."""
        index = self._named.get(key_column)
        if index is None:
            index = self._named[key_column] = self.index(key_column)
        row = index.get(key, -1)
        if row < 0:
            return ""
        data = self._data[self._where[column]]
        starts = data.starts
        return data.data[starts[row] : starts[row + 1] - 1].decode("utf-8")

    def find(self, column: str | int, key: str) -> int:
        """The first row (in file order) whose ``column`` holds ``key`` (normalised), or -1."""
        index = self._indexes.get(column) if isinstance(column, int) else None
        if index is None:
            index = self.index(column)
        return index.get(normal(key), -1)

    def duplicates(self, key: str | int, column: str | int | None = None) -> list[list[int]]:
        """Groups of rows (in file order) that share a key; with ``column``, only the groups
        whose rows do not all give the same value there (those the lookup could answer
        two ways). Row numbers, never cells."""
        k = key if isinstance(key, int) else self.column_index(key)
        if len(self.index(k)) == self.rows:
            return []
        keys = self._keys(k)
        repeated = {key for key, n in collections.Counter(keys).items() if n > 1}
        rows_of: dict[str, list[int]] = {}
        for row, key_text in enumerate(keys):
            if key_text in repeated:
                rows_of.setdefault(key_text, []).append(row)
        c = None if column is None else (column if isinstance(column, int) else self.column_index(column))
        groups = []
        for rows in rows_of.values():
            if c is not None and len({self._data[c].cell(r) for r in rows}) < 2:
                continue
            groups.append(rows)
        groups.sort()
        return groups


class Tables(Mapping[str, Table]):
    """The tables a recipe may look up, by name, and the missing-row policy.

    Immutable once made; share one between threads, processes (it pickles as its
    tables' bytes) and requests. ``Program.apply(ds, tables=tables)`` reads it."""

    def __init__(self, tables: Mapping[str, Table] | Iterable[Table] = (), on_missing: OnMissing | str = OnMissing.FAIL):
        if isinstance(tables, Mapping):
            items = dict(tables)
        else:
            items = {t.name: t for t in tables}
        for name, table in items.items():
            if not isinstance(table, Table):
                raise TypeError(f"table '{name}' is a {type(table).__name__}, not a deidlang.tables.Table")
        self._tables = items
        self.on_missing = OnMissing.parse(on_missing)

    def __getitem__(self, name: str) -> Table:
        return self._tables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def __repr__(self) -> str:
        return f"<Tables {', '.join(self._tables) or '(none)'}; on missing: {self.on_missing.value}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tables) and self.fingerprint() == other.fingerprint()

    __hash__ = None  # type: ignore[assignment]

    def with_policy(self, on_missing: OnMissing | str) -> "Tables":
        """The same tables (shared, not copied) under another missing-row policy."""
        return Tables(self._tables, on_missing)

    def fingerprint(self) -> dict[str, Any]:
        """What decides the output (for the run manifest and its run key): each table's
        name, kind and SHA-256, and the policy. Never a cell."""
        return {
            "tables": [{"name": n, "kind": t.kind, "sha256": t.sha256, "rows": t.rows} for n, t in sorted(self._tables.items())],
            "on_missing": self.on_missing.value,
        }

    def prepare(self, uses: Iterable[tuple[str, str]]) -> None:
        """Build the key indexes of ``(table, key column)`` pairs now (in the parent of
        forked workers, so that they share them). Unknown names are left to the checks."""
        for name, column in uses:
            table = self._tables.get(name)
            if table is not None and table.has(column):
                table.index(column)
