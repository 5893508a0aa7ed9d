"""Reading tables: CSV and TSV (a header row; UTF-8, with or without a BOM), JSON
(a list of objects) and SQLite (``PATH#TABLE``).

Files are read as streams, a chunk of rows at a time, straight into the compact
columns of :class:`~deidlang.tables.store.Table`; the SHA-256 of the file is
computed on the way. Errors name the file, the row and the column, never a
cell's content.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import operator
import os
import sqlite3
from typing import Any, Iterable, Mapping

from .store import Builder, OnMissing, Table, TableError, Tables

__all__ = ["load_table", "load_tables", "parse_spec", "KINDS"]

#: Rows read at once (a chunk is turned into columns with a few C-level passes).
CHUNK = 1 << 16
KINDS = ("csv", "tsv", "json", "sqlite")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_TABLE_NAME = "a letter or '_' first, then letters, digits, '_' or '-'"


def _valid_name(name: str) -> bool:
    return bool(name) and (name[0].isalpha() or name[0] == "_") and all(c.isalnum() or c in "_-" for c in name) and name.isascii()


def parse_spec(spec: str) -> tuple[str, str]:
    """``NAME=PATH`` (the form of ``--table``) as ``(name, path)``."""
    name, sep, path = spec.partition("=")
    name = name.strip()
    if not sep or not path.strip():
        raise TableError(f"--table '{spec}': expected NAME=PATH, e.g. subjects=enrolment.csv")
    if not _valid_name(name):
        raise TableError(f"--table '{spec}': a table name is {_TABLE_NAME}")
    return name, path.strip()


class _Hashing(io.RawIOBase):
    """A binary file that hashes what is read through it."""

    def __init__(self, fh):
        self.fh = fh
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.fh.readinto(buffer)
        if n:
            self.sha.update(memoryview(buffer)[:n])
        return n or 0


def _kind(path: str) -> str:
    base, sep, _table = path.rpartition("#")
    if sep and os.path.isfile(base) and _magic(base) == _SQLITE_MAGIC:
        return "sqlite"
    if os.path.isfile(path) and _magic(path) == _SQLITE_MAGIC:
        raise TableError(f"'{path}' is an SQLite database: name the table too, as PATH#TABLE")
    low = path.lower()
    if low.endswith(".json"):
        return "json"
    if low.endswith((".tsv", ".tab")):
        return "tsv"
    return "csv"


def _magic(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(16)
    except OSError:
        return b""


def _reason(err: OSError) -> str:
    return err.strerror or type(err).__name__


def load_table(name: str, path: str) -> Table:
    """Read one table (the kind from the file: SQLite by its header with ``#TABLE``,
    ``.json``, ``.tsv``/``.tab``, else CSV). Raises :class:`TableError`."""
    if not _valid_name(name):
        raise TableError(f"table name '{name}': a table name is {_TABLE_NAME}")
    path = os.fspath(path)
    kind = _kind(path)
    try:
        if kind == "sqlite":
            return _sqlite(name, path)
        if kind == "json":
            return _json(name, path)
        return _delimited(name, path, "\t" if kind == "tsv" else ",", kind)
    except UnicodeDecodeError as err:
        raise TableError(f"cannot read table '{name}' ({path}): not UTF-8 text (byte {err.start} of a block)") from None
    except OSError as err:
        raise TableError(f"cannot read table '{name}' ({path}): {_reason(err)}") from None


def load_tables(specs: Mapping[str, str] | Iterable[str], on_missing: OnMissing | str = OnMissing.FAIL) -> Tables:
    """Tables from ``{name: path}`` or ``["name=path", ...]``."""
    pairs = list(specs.items()) if isinstance(specs, Mapping) else [parse_spec(s) for s in specs]
    seen: dict[str, str] = {}
    for name, path in pairs:
        if name in seen:
            raise TableError(f"table '{name}' is given twice ({seen[name]} and {path})")
        seen[name] = path
    return Tables({name: load_table(name, path) for name, path in pairs}, on_missing)


# --------------------------------------------------------------------------- CSV and TSV


def _header(row: list[str] | None, path: str, what: str = "header row") -> tuple[str, ...]:
    if row is None:
        raise TableError(f"table '{path}' is empty: it needs a {what} naming its columns")
    names = tuple(c.strip(" \ufeff") for c in row)
    empty = [i + 1 for i, c in enumerate(names) if not c]
    if empty:
        raise TableError(f"table '{path}': column {empty[0]} of the {what} has no name")
    seen: set[str] = set()
    for c in names:
        if c in seen:
            raise TableError(f"table '{path}': two columns are named '{c}'")
        seen.add(c)
    return names


def _delimited(name: str, path: str, delimiter: str, kind: str) -> Table:
    with open(path, "rb") as raw:
        hashing = _Hashing(raw)
        text = io.TextIOWrapper(io.BufferedReader(hashing, 1 << 20), encoding="utf-8-sig", newline="")
        first = text.readline()
        header = next(csv.reader([first], delimiter=delimiter), None) if first.strip("\r\n") else None
        columns = _header(header, path)
        builder = Builder(columns)
        rows = _Rows(name, path, kind, len(columns), builder)
        rest = _plain_blocks(text, delimiter, rows)
        if rest is not None:  # quotes (or a lone carriage return): the csv module reads from there on
            reader = csv.reader(itertools.chain(io.StringIO(rest), text), delimiter=delimiter, strict=True)
            try:
                while True:
                    chunk = [row for row in itertools.islice(reader, CHUNK) if row]
                    if not chunk:
                        break
                    rows.add(chunk)
            except csv.Error as err:
                raise TableError(f"table '{name}' ({path}): malformed {kind.upper()} near row {rows.line} ({err.__class__.__name__})") from None
        # rows are numbered as a spreadsheet numbers them (the header is row 1)
        return builder.build(name=name, source=path, kind=kind, sha256=hashing.sha.hexdigest(), first_row=2, row_word="row")


class _Rows:
    """Checks each chunk's width and adds it to the table."""

    def __init__(self, name: str, path: str, kind: str, width: int, builder: Builder):
        self.name, self.path, self.kind, self.width, self.builder = name, path, kind, width, builder
        self.line = 2  # the row number of the next data row (the header is row 1)

    def _wrong(self, bad: int, cells: int) -> TableError:
        return TableError(f"table '{self.name}' ({self.path}): row {self.line + bad} has {cells} cells where the header names {self.width} columns")

    def add(self, chunk: list) -> None:
        if set(map(len, chunk)) != {self.width}:
            bad = next(i for i, row in enumerate(chunk) if len(row) != self.width)
            raise self._wrong(bad, len(chunk[bad]))
        self.builder.add(list(zip(*chunk)), self.line)
        self.line += len(chunk)

    def add_lines(self, lines: list[str], delimiter: str) -> None:
        """Rows without quotes: every cell at once (a few passes in C over the block)."""
        if set(map(operator.methodcaller("count", delimiter), lines)) != {self.width - 1}:
            bad = next(i for i, line in enumerate(lines) if line.count(delimiter) != self.width - 1)
            raise self._wrong(bad, lines[bad].count(delimiter) + 1)
        flat = delimiter.join(lines).split(delimiter)
        self.builder.add([flat[c :: self.width] for c in range(self.width)], self.line)
        self.line += len(lines)


#: Characters read at once while the rows hold no quote (from the first quote or lone
#: carriage return on, the csv module reads the rest).
BLOCK = 1 << 21


def _plain_blocks(text: io.TextIOBase, delimiter: str, rows: _Rows) -> str | None:
    """Read blocks of whole lines without quotes straight into columns; return the text
    from the first block that holds a quote (None when the file had none)."""
    carry = ""
    while True:
        block = text.read(BLOCK)
        if not block:
            block, carry = carry, ""
            if not block:
                return None
        else:
            block = carry + block
            cut = block.rfind("\n")
            if cut < 0:
                carry = block
                continue
            block, carry = block[: cut + 1], block[cut + 1 :]
        if '"' in block or "\r" in block.replace("\r\n", ""):
            return block + carry
        lines = block.replace("\r\n", "\n").split("\n")
        if not lines[-1]:
            lines.pop()
        if "" in lines:
            lines = [line for line in lines if line]  # blank lines are no rows (as for the csv module)
        if lines:
            rows.add_lines(lines, delimiter)


# --------------------------------------------------------------------------- JSON


def _cell(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TableError(f"{where} holds a {type(value).__name__}: cells are text or numbers")


def _json(name: str, path: str) -> Table:
    with open(path, "rb") as fh:
        data = fh.read()
    sha = hashlib.sha256(data).hexdigest()
    try:
        items = json.loads(data.decode("utf-8-sig"))
    except ValueError as err:
        line = getattr(err, "lineno", None)
        raise TableError(f"table '{name}' ({path}): not valid JSON" + (f" (line {line})" if line else "")) from None
    del data
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise TableError(f'table \'{name}\' ({path}): expected a JSON list of objects, one per row, e.g. [{{"PatientID": "...", "subject_id": "..."}}]')
    columns: dict[str, None] = {}
    for item in items:
        for k in item:
            columns.setdefault(str(k).strip(), None)
    if not columns:
        raise TableError(f"table '{name}' ({path}) has no rows: it needs at least one object naming its columns")
    names = _header(list(columns), path, "objects' keys")
    builder = Builder(names)
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        cols = [[_cell(item.get(c), f"table '{name}' ({path}): item {start + i + 1}, key '{c}'") for i, item in enumerate(chunk)] for c in names]
        builder.add(cols, start + 1)
    return builder.build(name=name, source=path, kind="json", sha256=sha, first_row=1, row_word="item")


# --------------------------------------------------------------------------- SQLite


def _sqlite(name: str, spec: str) -> Table:
    path, _, table = spec.rpartition("#")
    table = table.strip()
    try:
        con = sqlite3.connect(f"file:{_uri_path(path)}?mode=ro", uri=True)
    except sqlite3.Error as err:
        raise TableError(f"cannot open table '{name}' ({path}): {err.__class__.__name__}") from None
    try:
        known = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")]
        if table not in known:
            from ..lang.suggest import did_you_mean

            hint = did_you_mean(table, known) or (f"its tables: {', '.join(known)}" if known else "it has no table")
            raise TableError(f"table '{name}': the database {path} has no table '{table}' ({hint})")
        quoted = '"' + table.replace('"', '""') + '"'
        cursor = con.execute(f"SELECT * FROM {quoted}")
        names = _header([d[0] for d in cursor.description], f"{path}#{table}", "columns")
        builder = Builder(names)
        sha = hashlib.sha256()
        row = 1
        while True:
            chunk = cursor.fetchmany(CHUNK)
            if not chunk:
                break
            cols = [[_sql_cell(r[c], name, row + i, names[c]) for i, r in enumerate(chunk)] for c in range(len(names))]
            for c in cols:
                sha.update("\x00".join(c).encode("utf-8"))
                sha.update(b"\x01")
            builder.add(cols, row)
            row += len(chunk)
    except sqlite3.Error as err:
        raise TableError(f"cannot read table '{name}' ({path}#{table}): {err.__class__.__name__}") from None
    finally:
        con.close()
    return builder.build(name=name, source=spec, kind="sqlite", sha256=sha.hexdigest(), first_row=1, row_word="row")


def _sql_cell(value: Any, name: str, row: int, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise TableError(f"table '{name}': row {row}, column '{column}' holds binary data: cells are text or numbers")
    return str(value)


def _uri_path(path: str) -> str:
    from urllib.parse import quote

    return quote(os.path.abspath(path))
