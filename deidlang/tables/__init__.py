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

Modules: :mod:`.store` (the compact :class:`Table`, :class:`Tables`, the
:class:`OnMissing` policy), :mod:`.readers` (CSV, TSV, JSON, SQLite),
:mod:`.keys` (``key=``), :mod:`.lookup` (apply time), :mod:`.check` (the
checks), :mod:`.linkage` (the linkage file), :mod:`.coverage` (inputs
without a row), :mod:`.template` (``deidc identifiers --keys``) and
:mod:`.options` (the command-line options).
"""

from __future__ import annotations

from .lookup import FileRecord, MissingRow, NoTable
from .readers import load_table, load_tables, parse_spec
from .store import OnMissing, Table, TableError, Tables

__all__ = [
    "Table",
    "Tables",
    "OnMissing",
    "TableError",
    "FileRecord",
    "MissingRow",
    "NoTable",
    "load_table",
    "load_tables",
    "parse_spec",
]
