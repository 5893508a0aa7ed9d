"""Lookup tables: loading a big table, and the bundled recipe with and without lookups.

    python -m pytest benchmarks/test_bench_tables.py --benchmark-enable

The figures in docs/language.md come from ``python -m benchmarks.tables`` (a million
rows, 1,000 files, memory and sharing); these are the same workloads at a size that
pytest-benchmark repeats comfortably.
"""

from __future__ import annotations

import shutil

import pydicom
import pytest

from benchmarks.corpus import write_corpus
from benchmarks.tables import BUNDLED, _engine, _programs, write_table

ROWS = 200_000
FILES = 200


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("tables")
    paths = write_corpus(root / "corpus", FILES, seed=99)
    keys = sorted({str(pydicom.dcmread(p).PatientID) for p in paths})
    table = root / "subjects.csv"
    write_table(table, keys, ROWS)
    return root, table


def test_load_table(benchmark, setup):
    from deidlang.tables import load_tables

    _, table = setup

    def load():
        tables = load_tables({"subjects": str(table)})
        tables.prepare([("subjects", "PatientID")])
        return tables

    benchmark.group = f"load a table of {ROWS:,} rows and index it"
    tables = benchmark.pedantic(load, rounds=3, iterations=1, warmup_rounds=1)
    assert tables["subjects"].rows == ROWS


@pytest.mark.parametrize("lookups", [False, True], ids=["bundled", "bundled-with-lookups"])
def test_bundled_recipe_with_and_without_lookups(benchmark, setup, lookups, tmp_path):
    from deidlang.tables import load_tables

    root, table = setup
    text = BUNDLED.read_text(encoding="utf-8")
    tables = None
    if lookups:
        tables = load_tables({"subjects": str(table)})
        text = (
            text.replace("REPLACE PatientID deid_func:hashid", "REPLACE PatientID deid_func:lookup table=subjects key=PatientID column=subject_id")
            .replace("BLANK PatientName", "REPLACE PatientName deid_func:lookup table=subjects key=PatientID column=subject_id")
            .replace("BLANK StudyDate", "JITTER StudyDate deid_func:lookup table=subjects key=PatientID column=day_offset")
        )
        tables.prepare([("subjects", "PatientID")])
    programs = _programs([text], tables)
    benchmark.group = f"bundled recipe over {FILES} small files, with and without lookups in a table of {ROWS:,} rows"
    benchmark.pedantic(_engine, args=(programs, tables, root / "corpus", tmp_path / "out"), rounds=3, iterations=1, warmup_rounds=1)
    shutil.rmtree(tmp_path / "out", ignore_errors=True)
