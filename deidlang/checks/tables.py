"""Checking the lookups of a recipe against the tables given, before anything runs.

:func:`check_tables` is one of the checker's checks (:data:`deidlang.checks.CHECKS`).
The tables come from the caller through :func:`given` (a context: the checks
take the recipe alone), so that ``deidc check --table``, ``deidc run`` and
``deidlang.check(..., tables=...)`` share one code path:

* ``E217`` a line looks up a table that is not given (with a did-you-mean);
* ``E218`` the key column or the value column is not in the table;
* ``E219`` keys that appear in several rows giving different values (row
  numbers, never the keys);
* ``E308`` cells that the target element cannot hold (a day offset that is
  not a whole number, an identifier longer than its VR allows...);
* ``W209`` a table given that no line looks up (:meth:`Given.unused`, once
  for all the recipes of a run; it points at the table's file);
* ``I202`` without tables (``deidc check`` without ``--table``): the
  lookups are not checked.

A recipe's misspelled lookup arguments are the checker's ``E207``, as for
every built-in. Whole columns are checked at once where a pattern or the
longest cell settles it; single cells are read only for a column that fails.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import re
from typing import Any, Iterator

from ..lang import nodes
from ..lang.diagnostics import Diagnostic
from ..lang.source import Span
from ..lang.suggest import did_you_mean
from ..runtime.builtins import BadArgument, make_builtin
from ..runtime.lookups import is_days
from ..runtime.values import Uncoercible, coerce
from ..tables.keys import BadKey, keyword_tag
from ..tables.store import Table, Tables

__all__ = ["Given", "given", "current", "check_tables", "uses_table"]

#: Rows listed in a message (the rest are counted).
SHOWN = 5


class Given:
    """The tables a check runs with (``None``: not known), and the names the recipes
    checked so far look up."""

    def __init__(self, tables: Tables | None):
        self.tables = tables
        self.used: set[str] = set()
        self._fits: dict[tuple, str] = {}

    def unused(self) -> list[Diagnostic]:
        """``W209`` for each given table no recipe checked in this context looks up."""
        if self.tables is None:
            return []
        out = []
        for name, table in self.tables.items():
            if name not in self.used:
                out.append(
                    Diagnostic.at(
                        Span(1, 1, 1, 2),
                        "W209",
                        f"table '{name}' is given but no line of the recipes looks it up",
                        "remove --table " + name + "=..., or look it up: `REPLACE PatientID deid_func:lookup table=" + name + " key=PatientID column=...`",
                        file=table.source,
                    )
                )
        return out


_GIVEN: contextvars.ContextVar[Given | None] = contextvars.ContextVar("deidlang_tables_given", default=None)


class _Inner:
    """A ``given`` inside another with the same tables (``vet`` around ``check``): the
    outer context collects the names used and says which tables are unused, once."""

    def __init__(self, outer: Given):
        self.tables = outer.tables

    def unused(self) -> list[Diagnostic]:
        return []


@contextlib.contextmanager
def given(tables: Tables | None) -> Iterator[Given | _Inner]:
    """Check recipes with ``tables`` (None: the tables are not known)."""
    outer = _GIVEN.get()
    if outer is not None and outer.tables is tables:
        yield _Inner(outer)
        return
    state = Given(tables)
    token = _GIVEN.set(state)
    try:
        yield state
    finally:
        _GIVEN.reset(token)


def current() -> Given | None:
    return _GIVEN.get()


def uses_table(v: Any) -> bool:
    """Whether a value node looks a table up (``lookup``, or ``dateshift`` with ``table=``)."""
    return isinstance(v, nodes.DeidFunc) and (v.name == "lookup" or (v.name == "dateshift" and any(a.name == "table" for a in v.args)))


def check_tables(ctx: Any) -> Iterator[Diagnostic]:
    """E217, E218, E219, E308 and I202 (see the module docstring)."""
    lines = [(a, a.value) for a in ctx.header if uses_table(a.value)]
    if not lines:
        return
    state = current()
    if state is None or state.tables is None:
        a, v = lines[0]
        yield ctx.diag(
            v.span,
            "I202",
            f"the lookups of {len(lines)} line{'s' if len(lines) != 1 else ''} are not checked: no tables were given",
            "give each table with --table NAME=PATH (in Python: tables=); a run without them fails every file",
        )
        return
    tables = state.tables
    done: set[tuple] = set()
    for a, v in lines:
        try:
            b = make_builtin(v.name, [(x.name, x.value) for x in v.args], v.text)
        except BadArgument:
            continue  # E207 (the checker's)
        args = {x.name: x for x in v.args}
        name = b.option("table")
        state.used.add(name)
        table = tables.get(name)
        if table is None:
            hint = did_you_mean(name, list(tables)) or (f"tables given: {', '.join(tables)}" if tables else "no table was given: --table NAME=PATH")
            yield ctx.diag(args["table"].span, "E217", f"table '{name}' is not given, so `{a.action} {a.field.text}` cannot be carried out", hint)
            continue
        key_arg = "key_column" if "key_column" in args else "key"
        key_column, column = b.option("key_column", b.option("key")), b.option("column")
        absent = [(arg, col) for arg, col in ((key_arg, key_column), ("column", column)) if not table.has(col)]
        for arg, col in absent:
            what = "the keys" if arg != "column" else "the values"
            hint = did_you_mean(col, table.columns, case_insensitive=True) or f"its columns: {', '.join(table.columns)}"
            if arg == "key":
                hint += "; a table's key column is named like the key element, or by key_column="
            yield ctx.diag(args[arg].span, "E218", f"table '{name}' has no column '{col}' (for {what})", hint)
        if absent:
            continue
        if (name, key_column, column) not in done:
            done.add((name, key_column, column))
            diag = _duplicates(ctx, args["key"].span, table, key_column, column)
            if diag is not None:
                yield diag
        need = _need(a, v)
        if need is not None and (name, column, need) not in done:
            done.add((name, column, need))
            problem = state._fits.get((name, column, need))
            if problem is None:
                problem = state._fits[(name, column, need)] = _misfits(table, column, need)
            if problem:
                yield ctx.diag(args["column"].span, "E308", f"column '{column}' of table '{name}': {problem}", _hint(need, a))


def _duplicates(ctx: Any, span: Span, table: Table, key_column: str, column: str) -> Diagnostic | None:
    groups = table.duplicates(key_column, column)
    if not groups:
        return None
    shown = "; ".join(" and ".join(table.label(r) for r in g[:4]) + (f" (+{len(g) - 4})" if len(g) > 4 else "") for g in groups[:SHOWN])
    more = f"; and {len(groups) - SHOWN} more" if len(groups) > SHOWN else ""
    n = len(groups)
    return ctx.diag(
        span,
        "E219",
        f"table '{table.name}': {n} key{'s' if n != 1 else ''} of column '{key_column}' appear{'' if n != 1 else 's'} in several rows "
        f"that give different '{column}' values: {shown}{more}",
        "keep one row per key (a lookup takes the first); rows that agree on the value are fine",
    )


# --------------------------------------------------------------------------- values and VRs

#: Whole days (JITTER's, or dateshift's offset).
DAYS = "days"


def _need(a: nodes.ActionLine, v: nodes.DeidFunc) -> str | None:
    """What the cells must be: ``days``, a VR, or None when the target is not one kind of element."""
    if a.action == "JITTER" or v.name == "dateshift":
        return DAYS
    if a.action not in ("REPLACE", "ADD", "KEEP"):
        return None
    return _target_vr(a.field)


def _target_vr(f: nodes.Field) -> str | None:
    from pydicom.datadict import dictionary_VR

    tag = None
    try:
        if isinstance(f, nodes.Keyword):
            tag = keyword_tag(f.name)
        elif isinstance(f, nodes.NestedName) and f.parts[-1]:
            tag = keyword_tag(f.parts[-1])
        elif isinstance(f, nodes.Tag):
            tag = f.value
        elif isinstance(f, nodes.UidPath):
            tag = f.steps[-1]
        if tag is None:
            return None
        vr = dictionary_VR(tag)
    except (BadKey, KeyError):
        return None
    return vr if " or " not in vr else None


def _hint(need: str, a: nodes.ActionLine) -> str:
    if need == DAYS:
        return "a day offset is a whole number of days, e.g. -120 (an empty cell counts as no row)"
    limit = _RULES.get(need, (None, None))[0]
    size = f" of at most {limit} characters" if limit else ""
    return f"{a.field.text} has VR {need}: each value must be a {need} value{size}; fix those rows, or look the value up for another element"


#: VR -> (longest value in characters, or None; a pattern every cell of a column that is surely
#: fine matches, or None). A column that passes both needs no look at single cells.
_RULES: dict[str, tuple[int | None, str | None]] = {
    "AE": (16, r"[\x20-\x5b\x5d-\x7e]*"),
    "AS": (4, r"[0-9]{3}[DWMY]"),
    "CS": (16, r"[A-Z0-9 _]*"),
    "DA": (8, None),
    "DS": (16, r"[+-]?[0-9]{1,10}(?:\.[0-9]{1,4})?"),
    "DT": (26, None),
    "IS": (12, r"[+-]?[0-9]{1,9}"),
    "LO": (64, ""),
    "LT": (10240, ""),
    "PN": (64, ""),
    "SH": (16, ""),
    "ST": (1024, ""),
    "TM": (14, None),
    "UC": (None, ""),
    "UI": (64, r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*"),
    "UR": (None, ""),
    "UT": (None, ""),
}
_DAYS_FAST = r"[+-]?[0-9]{1,4}"


@functools.lru_cache(maxsize=None)
def _bad_cell(cell: str) -> re.Pattern:
    """Finds, in a NUL-joined column, the start of a cell that is neither empty nor ``cell``
    (a search that keeps no state per cell: a million cells take no more memory than one)."""
    return re.compile(f"(?:\\A|\\x00)(?!(?:{cell})?(?:\\x00|\\Z))", re.DOTALL)


def _cell_fits(text: str, need: str) -> bool:
    """One cell against what it must be (pydicom's own validation of the VR)."""
    if not text:
        return True  # an empty cell is no value: the row counts as missing
    if need == DAYS:
        return is_days(text)
    from pydicom import config
    from pydicom.valuerep import validate_value

    try:
        typed = coerce(text, need)
        for item in typed if isinstance(typed, list) else typed.split("\\") if isinstance(typed, str) else [typed]:
            validate_value(need, item, config.RAISE)
    except (Uncoercible, ValueError, TypeError, OverflowError):
        return False
    return True


def _misfits(table: Table, column: str, need: str) -> str:
    """What is wrong with the cells of ``column`` for ``need`` ("" when nothing)."""
    limit: int | None
    pattern: str | None
    if need == DAYS:
        limit, pattern = None, _DAYS_FAST
    else:
        limit, pattern = _RULES.get(need, (None, None))
    if pattern is not None and (limit is None or table.longest(column) <= limit):
        if pattern == "" or not _bad_cell(pattern).search(table.text(column)):
            return ""
    bad = [row for row, text in enumerate(table.cells(column)) if not _cell_fits(text, need)]
    if not bad:
        return ""
    rows = ", ".join(table.label(r) for r in bad[:SHOWN]) + (f" and {len(bad) - SHOWN} more" if len(bad) > SHOWN else "")
    if need == DAYS:
        return f"{len(bad)} cell{'s are' if len(bad) != 1 else ' is'} not a whole number of days (at most 36500 either way): {rows}"
    return f"{len(bad)} cell{'s' if len(bad) != 1 else ''} cannot be stored in VR {need}: {rows}"
