"""Lookup tables at apply time: ``deid_func:lookup``, ``deid_func:dateshift table=``,
the missing-row policy and the per-file record (fallbacks used, linkage rows).

The tables themselves (reading, holding, keys, the record) are :mod:`deidlang.tables`;
this is what a lookup does to a dataset. ``Program.apply(ds, tables=..., record=...)``
calls :func:`begin` before any step runs: it reads, from the dataset as it is then, the
key of every lookup the Program makes (so ``key=`` always reads the original value,
even when an earlier line of the recipe replaced that element). A caller that applies
several recipes to one dataset calls :meth:`deidlang.tables.FileRecord.remember` with
all of them first, so that the later recipes read the original keys too.

Nothing here ever puts a value in a message: a missing row is named by its
table and key element.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from ..tables.keys import BadKey, KeyPath, key_path, read, value_text
from ..tables.record import FileRecord, lookup_of
from ..tables.store import OnMissing, Tables
from . import keys
from .universe import keyword_of, tag_string
from .values import BadArgument, BuiltinFailed

__all__ = [
    "ARGUMENTS",
    "MissingRow",
    "NoTable",
    "begin",
    "check_arguments",
    "evaluate",
    "table_days",
    "link",
    "link_each",
    "is_days",
]

#: The arguments of ``deid_func:lookup`` (table=, key= and column= are required).
ARGUMENTS = ("table", "key", "column", "key_column")
#: The arguments ``deid_func:dateshift`` takes to read its offset from a table.
DATESHIFT_TABLE_ARGUMENTS = ("table", "key", "column", "key_column")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
#: A table cell that is a number of days (at most a hundred years either way).
_DAYS = re.compile(r"[+-]?[0-9]{1,5}")
MAX_DAYS = 36500


class MissingRow(BuiltinFailed):
    """No row for this dataset's key (ApplyError R006)."""

    code = "R006"


class NoTable(BuiltinFailed):
    """A recipe looks up a table that was not given (ApplyError R007)."""

    code = "R007"


# --------------------------------------------------------------------------- arguments


def check_arguments(b: Any) -> None:
    """The arguments of a lookup (``deid_func:lookup``, or ``dateshift`` with ``table=``);
    raises :class:`BadArgument`."""
    what = f"deid_func:{b.name}"
    missing = [k for k in ("table", "key", "column") if not (isinstance(b.option(k), str) and b.option(k).strip())]
    if missing:
        raise BadArgument(f"{what} needs {', '.join(k + '=' for k in missing)}: e.g. `{what} table=subjects key=PatientID column=subject_id`")
    if not _NAME.fullmatch(b.option("table")):
        raise BadArgument(f"{what}: table= takes a table name (a letter or '_' first, then letters, digits, '_' or '-')")
    key_column = b.option("key_column")
    if b.has("key_column") and not (isinstance(key_column, str) and key_column.strip()):
        raise BadArgument(f"{what}: key_column= names the table's column that holds the keys")
    try:
        key_path(b.option("key"))
    except BadKey as exc:
        raise BadArgument(f"{what}: {exc}") from None
    if b.name == "dateshift" and (b.has("patient") or b.has("max_days")):
        raise BadArgument("deid_func:dateshift with table= takes its offset from the table: patient= and max_days= do not apply")


# --------------------------------------------------------------------------- per file


class _State:
    """One ``apply``: the tables, the record and the original keys."""

    __slots__ = ("tables", "record", "originals", "ds")

    def __init__(self, tables: Tables | None, record: FileRecord | None, originals: dict, ds: Any):
        self.tables = tables
        self.record = record
        self.originals = originals
        self.ds = ds


def begin(program: Any, ds: Any, tables: Any, record: FileRecord | None) -> _State | None:
    """The table state of one ``apply`` (None when there is nothing to do: no tables, no
    record and no lookup). Reads the original keys now, before any step runs."""
    found = program.lookups()
    if not found and record is None and tables is None:
        return None
    if tables is not None and not isinstance(tables, Tables):
        tables = _as_tables(tables)
    originals = record.originals if record is not None else {}
    for _table, path, _column, _value in found:
        if path.text not in originals:
            originals[path.text] = read(ds, path)
    return _State(tables, record, originals, ds)


def _as_tables(tables: Any) -> Tables:
    if isinstance(tables, Mapping):
        return Tables(tables)
    raise TypeError(f"tables= takes a deidlang.tables.Tables (or a mapping of names to Tables), not {type(tables).__name__}")


#: Each lookup built-in's (table, key path, key column, value column), by its text.
_PLANS: dict[str, tuple[str, KeyPath, str, str]] = {}


def _plan(b: Any) -> tuple[str, KeyPath, str, str]:
    plan = _PLANS.get(b.text)
    if plan is None:
        plan = lookup_of(b)
        assert plan is not None, "called for lookup built-ins only"  # evaluate and table_days
        if len(_PLANS) > 4096:
            _PLANS.clear()
        _PLANS[b.text] = plan
    return plan


def _found(b: Any, run: Any) -> tuple[Any, str, str, str, KeyPath]:
    """``(table, key value, key column, value column, key path)`` of a lookup in this run."""
    state = run.tables if run is not None else None
    name, path, key_column, column = _plan(b)
    tables = state.tables if state is not None else None
    if state is None or tables is None or name not in tables:
        raise NoTable(f"table '{name}' was not given: give it with --table {name}=PATH (in Python: apply(..., tables=...))")
    key = state.originals.get(path.text)
    if key is None:
        key = state.originals[path.text] = read(state.ds, path)
    return tables[name], key, key_column, column, path


def _cell(table: Any, key: str, key_column: str, column: str) -> str:
    """The value for ``key`` ("" when there is no row, or the row's cell is empty)."""
    return table.value(key_column, key, column) if key else ""


def _missing(b: Any, run: Any, table: Any, key: str, path: KeyPath) -> Any:
    """Apply the missing-row policy: raise, or note the fallback and return its key."""
    state = run.tables
    where = f"table '{table.name}'"
    if not key:
        raise MissingRow(f"this file has no {path.text} (the key of {where}): there is nothing to look up or fall back on")
    policy = state.tables.on_missing
    record = state.record
    if policy is OnMissing.FAIL or (policy is OnMissing.QUARANTINE and record is None):
        raise MissingRow(f"{where} has no row for this file's {path.text} (see --on-missing)")
    if record is not None:
        record.fallbacks.setdefault((table.name, path.text), None)
        if policy is OnMissing.QUARANTINE:
            record.missing.setdefault((table.name, path.text), None)
    return keys.resolve_key(b.key)


def is_days(text: str) -> bool:
    return bool(_DAYS.fullmatch(text)) and abs(int(text)) <= MAX_DAYS


def evaluate(b: Any, field: Any, element: Any, run: Any) -> Any:
    """``deid_func:lookup``: the cell of ``column`` in the row of this file's key.

    A missing row (or an empty cell) follows the tables' policy; the hash fallback is
    the keyed pseudonym of the key: ``hashid`` of its value, ``hashuid`` for a UID
    element, and for a date (the days a JITTER shifts it by) ``dateshift``'s keyed
    day offset."""
    table, key, key_column, column, path = _found(b, run)
    value: str | int = _cell(table, key, key_column, column)
    vr = getattr(element, "VR", None)
    dated = vr in ("DA", "DT", "TM")
    if not value:
        secret = _missing(b, run, table, key, path)
        if dated:
            value = keys.day_offset(secret, key, 365)
        elif vr == "UI":
            value = keys.hash_uid(secret, key)
        else:
            value = keys.hash_id(secret, key)
    record = run.tables.record
    if record is not None and record.linkage:
        if dated and is_days(str(value)):  # a JITTER's days (a date from a table has eight digits)
            record.link(f"day offset ({path.text})", key, value)
        else:
            record.link(_kind(field), _text_of(element), value)
    return value


def table_days(b: Any, run: Any) -> int:
    """``deid_func:dateshift table=...``: the row's offset in days; a missing row follows
    the policy (the hash fallback is dateshift's keyed offset of the key, at most 365 days)."""
    table, key, key_column, column, path = _found(b, run)
    value = _cell(table, key, key_column, column)
    if not value:
        days = keys.day_offset(_missing(b, run, table, key, path), key, 365)
    elif is_days(value):
        days = int(value)
    else:
        raise BuiltinFailed(f"column '{column}' of table '{table.name}' holds no whole number of days for this file (at most {MAX_DAYS} either way)")
    link(run, f"day offset ({path.text})", key, days)
    return days


# --------------------------------------------------------------------------- linkage


def link(run: Any, kind: str, original: str, replacement: Any) -> None:
    """Note one replacement for the linkage file (nothing unless it was asked for)."""
    state = getattr(run, "tables", None) if run is not None else None
    record = state.record if state is not None else None
    if record is not None and record.linkage:
        record.link(kind, original, replacement)


def link_each(run: Any, field: Any, originals: list, replacements: list) -> None:
    """Linkage rows of a keyed built-in's values (one per value of a multi-valued element)."""
    state = run.tables
    record = state.record if state is not None else None
    if record is None or not record.linkage:
        return
    kind = _kind(field)
    for old, new in zip(originals, replacements):
        record.link(kind, str(old).strip(), new)


def _kind(field: Any) -> str:
    """The element's keyword (its tag when it has none): the kind of a linkage row."""
    tag = getattr(field, "tag_int", None)
    if tag is None:
        return str(field)
    return keyword_of(tag) or tag_string(tag)


def _text_of(element: Any) -> str:
    return value_text(getattr(element, "value", None)) if element is not None else ""
