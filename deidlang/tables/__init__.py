"""Lookup tables: pre-assigned pseudonyms and day offsets from a study's enrolment table.

A recipe looks values up with deid's own syntax (a deidlang built-in, as
``hashuid`` is)::

    REPLACE PatientID  deid_func:lookup table=subjects key=PatientID column=subject_id
    JITTER  StudyDate  deid_func:lookup table=subjects key=PatientID column=day_offset

In Python::

    from deidlang.tables import load_tables, FileRecord, OnMissing
    tables = load_tables({"subjects": "enrolment.csv"}, on_missing=OnMissing.FAIL)
    deidlang.check(text, tables=tables)          # E217-E219, E308, W209 before anything runs
    program = deidlang.compile(text, tables=tables)
    record = FileRecord(linkage=True)            # optional: fallbacks used, linkage rows
    program.apply(ds, tables=tables, record=record)

Owns the tables as data: :mod:`.store` (the compact :class:`Table`,
:class:`Tables`, the :class:`OnMissing` policy), :mod:`.readers` (CSV, TSV, JSON,
SQLite), :mod:`.keys` (``key=``: which element, and reading it from a dataset),
:mod:`.record` (the lookups of Programs, :class:`FileRecord`), :mod:`.linkage`
(the linkage file), :mod:`.coverage` (inputs without a row), :mod:`.template`
(``deidc identifiers --keys``) and :mod:`.runs` (what the batch engine does per
file). What a lookup does at apply time is :mod:`deidlang.runtime.lookups`; the
checks are :mod:`deidlang.checks.tables`; the command-line options
:mod:`deidlang.cli.tables`.

May import: :mod:`deidlang.lang` and :mod:`deidlang.dicomio` (it sits below the
runtime, which reads the tables); nothing above.
"""

from __future__ import annotations

from .readers import load_table, load_tables, parse_spec
from .record import FileRecord
from .store import OnMissing, Table, TableError, Tables

__all__ = [
    "Table",
    "Tables",
    "OnMissing",
    "TableError",
    "FileRecord",
    "load_table",
    "load_tables",
    "parse_spec",
]
