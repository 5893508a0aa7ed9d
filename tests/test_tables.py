"""Lookup tables (deidlang/tables): reading, keys, lookups and the missing-row policy in
Python, the linkage file, the identifiers template and the inputs without a row.

The command line, the batch engine and Dask are in test_tables_run.py; the
differential property against plain pydicom is in test_tables_property.py; the
diagnostics are golden recipes (tests/recipes/bad/38_tables.dicom, 39_..., ok/tables.dicom).
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import pickle
import sqlite3
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

import deidlang
from deidlang import ApplyError
from deidlang.runtime import keyed, keys
from deidlang.tables import FileRecord, OnMissing, Table, TableError, Tables, load_table, load_tables, parse_spec
from deidlang.tables.keys import BadKey, key_path, read
from deidlang.tables.linkage import Linkage
from deidlang.tables.template import Template

KEY = keys.key_from_text("0123456789abcdef0123456789abcdef", "test")

RECIPE = """FORMAT dicom
%header
REPLACE PatientID deid_func:lookup table=subjects key=PatientID column=subject_id
REPLACE PatientName deid_func:lookup table=subjects key=PatientID column=subject_id
JITTER StudyDate deid_func:lookup table=subjects key=PatientID column=day_offset
REPLACE StudyInstanceUID deid_func:hashuid
"""


def subjects(*rows, policy=OnMissing.FAIL) -> Tables:
    rows = rows or (("P1", "SUB-1", "10"), ("P2", "SUB-2", "-3"))
    return Tables([Table.from_rows("subjects", ["PatientID", "subject_id", "day_offset"], rows)], policy)


def program(text: str = RECIPE, tables=None, allow=()):
    return keyed.bind(deidlang.compile(text, tables=tables if tables is not None else subjects(), allow=allow), KEY)


def dataset(pid: str = "P1", **more) -> Dataset:
    ds = Dataset()
    ds.PatientID = pid
    ds.PatientName = "Doe^Jane"
    ds.StudyDate = "20200101"
    ds.StudyInstanceUID = "1.2.3.4"
    for k, v in more.items():
        setattr(ds, k, v)
    return ds


# --------------------------------------------------------------------------- reading


def test_csv_with_a_bom_padding_quotes_and_crlf(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes('\ufeffPatientID, subject_id ,note\r\nP1 ,SUB-1,plain\r\n\r\n  P2,SUB-2,"with, a comma\r\nand a line"\r\nP3,SUB-3,\r\n'.encode("utf-8"))
    t = load_table("s", str(path))
    assert t.columns == ("PatientID", "subject_id", "note") and t.rows == 3 and t.kind == "csv"
    assert t.cells("PatientID") == ["P1", "P2", "P3"]
    assert t.cell(t.find("PatientID", "P2"), "note") == "with, a comma\r\nand a line"
    assert t.find("PatientID", "  P3\x00") == 2  # keys compare after DICOM normalisation
    assert t.find("PatientID", "p3") == -1  # case is part of an identifier
    assert t.cell(2, "note") == ""


def test_the_fast_reader_and_the_csv_module_agree(tmp_path):
    """Rows without quotes are read a block at a time; a file with quotes goes through the
    csv module from its first quote: both give what the csv module reads."""
    rows = [[f"K{i}", f"V {i}", str(i % 7 - 3)] for i in range(3000)]
    for quoted in (False, True):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["k", "v", "d"])
        for i, row in enumerate(rows):
            writer.writerow([*row[:2], f'"{row[2]}"' if quoted and i == 2000 else row[2]])
        path = tmp_path / f"t{quoted}.csv"
        path.write_text(buf.getvalue(), encoding="utf-8")
        t = load_table("t", str(path))
        expect = list(csv.reader(io.StringIO(buf.getvalue())))[1:]
        assert [t.cells(c) for c in range(3)] == [[r[c].strip() for r in expect] for c in range(3)]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=8),
            st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=8),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_cells_read_back_normalised(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["a", "b"])
        writer.writerows(rows)
    kept = rows  # two cells: never a blank line
    t = load_table("t", str(path))
    assert t.rows == len(kept)
    assert t.cells("a") == [r[0].strip(" \x00") for r in kept]
    assert t.cells("b") == [r[1].strip(" \x00") for r in kept]


def test_tsv_json_and_sqlite(tmp_path):
    (tmp_path / "t.tsv").write_text("PatientID\tsubject_id\nP1\tSUB-1\n", encoding="utf-8")
    (tmp_path / "t.json").write_text(json.dumps([{"PatientID": "P1", "subject_id": "SUB-1", "n": 3}, {"PatientID": "P2"}]), encoding="utf-8")
    db = tmp_path / "t.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE enrolment (PatientID TEXT, subject_id TEXT, day_offset INTEGER)")
        con.executemany("INSERT INTO enrolment VALUES (?, ?, ?)", [("P1", "SUB-1", -4), ("P2", None, 7)])
    con.close()
    tsv = load_table("a", str(tmp_path / "t.tsv"))
    js = load_table("b", str(tmp_path / "t.json"))
    sq = load_table("c", f"{db}#enrolment")
    assert (tsv.kind, js.kind, sq.kind) == ("tsv", "json", "sqlite")
    assert tsv.cell(tsv.find("PatientID", "P1"), "subject_id") == "SUB-1"
    assert js.columns == ("PatientID", "subject_id", "n") and js.cells("n") == ["3", ""] and js.label(1) == "item 2"
    assert sq.cells("day_offset") == ["-4", "7"] and sq.cells("subject_id") == ["SUB-1", ""]
    with pytest.raises(TableError, match="no table 'enrolmnt' .*did you mean 'enrolment'"):
        load_table("c", f"{db}#enrolmnt")
    with pytest.raises(TableError, match="name the table too, as PATH#TABLE"):
        load_table("c", str(db))


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is empty"),
        ("a,,b\n1,2,3\n", "column 2 of the header row has no name"),
        ("a,a\n1,2\n", "two columns are named 'a'"),
        ("a,b\nSECRET-1,SECRET-2,SECRET-3\n", "row 2 has 3 cells where the header names 2 columns"),
        ('a,b\n"SECRET,1",x,y\n', "row 2 has 3 cells"),
        ("a,b\nSECRET\x00X,y\n", "row 2, column 'a' holds a NUL character"),
    ],
)
def test_a_bad_table_is_refused_naming_rows_never_cells(tmp_path, text, message):
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TableError, match=message) as err:
        load_table("t", str(path))
    assert "SECRET" not in str(err.value)


def test_specs_and_names(tmp_path):
    assert parse_spec("subjects=/a/b.csv") == ("subjects", "/a/b.csv")
    for bad in ("subjects", "=a.csv", "1x=a.csv", "a b=c.csv"):
        with pytest.raises(TableError):
            parse_spec(bad)
    (tmp_path / "t.csv").write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(TableError, match="given twice"):
        load_tables([f"t={tmp_path / 't.csv'}", f"t={tmp_path / 't.csv'}"])
    with pytest.raises(TableError, match="cannot read table 'u'"):
        load_tables({"u": str(tmp_path / "missing.csv")})


def test_a_table_pickles_as_bytes_and_looks_up_the_same(tmp_path):
    t = subjects()["subjects"]
    t.index("PatientID")
    copy = pickle.loads(pickle.dumps(t))
    assert not copy._indexes  # a process that unpickles it builds the index it uses, once
    assert copy.find("PatientID", "P2") == 1 and copy.cell(1, "subject_id") == "SUB-2"
    tables = pickle.loads(pickle.dumps(subjects(policy="hash")))
    assert tables.on_missing is OnMissing.HASH and tables == subjects(policy="hash")


def test_duplicates_are_row_numbers_and_only_those_that_disagree():
    t = Table.from_rows("s", ["k", "v", "w"], [("a", "1", "x"), ("b", "2", "x"), ("a", "1", "y"), ("a", "1", "z")])
    assert t.duplicates("k") == [[0, 2, 3]]
    assert t.duplicates("k", "v") == []  # the rows agree on v: a lookup of v has one answer
    assert t.duplicates("k", "w") == [[0, 2, 3]]
    assert t.find("k", "a") == 0  # the first row in file order


# --------------------------------------------------------------------------- keys


def test_key_forms_and_nested_reads():
    ds = dataset()
    other = Dataset()
    other.PatientID = "OTHER-1"
    ds.OtherPatientIDsSequence = Sequence([Dataset(), other])
    ds.ReferencedStudySequence = Sequence([Dataset()])
    ds.ReferencedStudySequence[0].ReferencedSOPInstanceUID = "1.2.9"
    block = ds.private_block(0x0009, "ACME", create=True)
    block.add_new(0x10, "LO", "PRIVATE-KEY")
    assert read(ds, key_path("PatientID")) == "P1"
    assert read(ds, key_path("(0010,0020)")) == "P1"
    assert read(ds, key_path("OtherPatientIDsSequence__PatientID")) == "OTHER-1"
    assert read(ds, key_path("(0008,1110)__0__(0008,1155)")) == "1.2.9"
    assert read(ds, key_path("(0008,1110)__1__(0008,1155)")) == ""
    assert read(ds, key_path('(0009,"ACME",10)')) == "PRIVATE-KEY"
    assert read(ds, key_path("AccessionNumber")) == ""
    with pytest.raises(BadKey, match="did you mean 'PatientID'"):
        key_path("PatientsID")
    with pytest.raises(BadKey, match="can name several elements"):
        key_path("startswith:Patient")


# --------------------------------------------------------------------------- apply


def test_lookup_replaces_and_shifts_reading_the_original_key():
    out = program().apply(dataset("P2"), tables=subjects())
    # PatientName is looked up by the original PatientID, which the line before replaced
    assert (out.PatientID, out.PatientName, out.StudyDate) == ("SUB-2", "SUB-2", "20191229")


def test_a_missing_row_fails_by_default_naming_table_and_element_never_the_value():
    with pytest.raises(ApplyError) as err:
        program().apply(dataset("SECRET-PID-77"), tables=subjects())
    assert err.value.code == "R006"
    assert "table 'subjects' has no row for this file's PatientID" in str(err.value)
    assert "SECRET" not in str(err.value)
    with pytest.raises(ApplyError, match="R006 this file has no PatientID"):
        program().apply(dataset(""), tables=subjects(policy="hash"))


def test_a_table_not_given_is_r007():
    p = program()
    with pytest.raises(ApplyError) as err:
        p.apply(dataset())
    assert err.value.code == "R007" and "--table subjects=PATH" in str(err.value)


def test_hash_falls_back_to_the_keyed_pseudonym_of_the_key_and_records_it():
    text = RECIPE + "REPLACE FrameOfReferenceUID deid_func:lookup table=subjects key=PatientID column=subject_id\n"
    record = FileRecord()
    p = program(text, allow=["E308"])  # a subject ID is no UID: the hash fallback is
    out = p.apply(dataset("P9", FrameOfReferenceUID="1.2.5"), tables=subjects(policy="hash"), record=record)
    assert out.PatientID == out.PatientName == keys.hash_id(KEY, "P9")
    assert out.FrameOfReferenceUID == keys.hash_uid(KEY, "P9")
    days = keys.day_offset(KEY, "P9", 365)
    assert out.StudyDate == (datetime.date(2020, 1, 1) + datetime.timedelta(days=days)).strftime("%Y%m%d")
    assert record.fallback_names() == ("subjects:PatientID",) and not record.missing


def test_quarantine_needs_a_record_else_it_fails():
    with pytest.raises(ApplyError, match="R006"):
        program().apply(dataset("P9"), tables=subjects(policy="quarantine"))
    record = FileRecord()
    out = program().apply(dataset("P9"), tables=subjects(policy="quarantine"), record=record)
    assert out.PatientID == keys.hash_id(KEY, "P9")
    assert list(record.missing) == [("subjects", "PatientID")]
    assert "SECRET" not in record.missing_note() and "no row for its PatientID" in record.missing_note()


def test_an_empty_cell_counts_as_no_row():
    tables = subjects(("P1", "", "4"))
    with pytest.raises(ApplyError, match="R006"):
        program(tables=tables).apply(dataset("P1"), tables=tables)


def test_dateshift_with_a_table_and_a_key_column():
    text = "FORMAT dicom\n%header\nKEEP StudyDate deid_func:dateshift table=subjects key=(0010,0020) key_column=PatientID column=day_offset\n"
    assert program(text).apply(dataset("P1"), tables=subjects()).StudyDate == "20200111"
    hashed = program(text).apply(dataset("P9"), tables=subjects(policy="hash"))
    plain = keyed.bind(deidlang.compile("FORMAT dicom\n%header\nKEEP StudyDate deid_func:dateshift\n"), KEY).apply(dataset("P9"))
    assert hashed.StudyDate == plain.StudyDate  # the fallback is dateshift's own keyed offset


def test_several_recipes_read_the_original_keys():
    first = program("FORMAT dicom\n%header\nREPLACE PatientID deid_func:hashid\n")
    second = program("FORMAT dicom\n%header\nREPLACE PatientName deid_func:lookup table=subjects key=PatientID column=subject_id\n")
    ds = dataset("P1")
    record = FileRecord().remember(ds, [first, second])
    for p in (first, second):
        p.apply(ds, tables=subjects(), record=record)
    assert ds.PatientName == "SUB-1"


def test_linkage_rows_are_collected_only_when_asked():
    record = FileRecord(linkage=True)
    program().apply(dataset("P1"), tables=subjects(), record=record)
    rows = set(record.linkage_rows())
    assert ("PatientID", "P1", "SUB-1") in rows and ("PatientName", "Doe^Jane", "SUB-1") in rows
    assert ("day offset (PatientID)", "P1", "10") in rows
    assert ("StudyInstanceUID", "1.2.3.4", keys.hash_uid(KEY, "1.2.3.4")) in rows
    quiet = FileRecord()
    program().apply(dataset("P1"), tables=subjects(), record=quiet)
    assert quiet.linkage_rows() == ()


def test_check_and_compile_take_the_tables():
    bad = subjects(("P1", "SUB-1", "ten"))
    codes = [d.code for d in deidlang.check(RECIPE, tables=bad)]
    assert codes == ["E308"]
    with pytest.raises(deidlang.RecipeError, match="E308"):
        deidlang.compile(RECIPE, tables=bad)
    assert [d.code for d in deidlang.check(RECIPE)] == ["I202"]
    assert [d.code for d in deidlang.check(RECIPE, tables=Tables())] == ["E217", "E217", "E217"]


def test_a_big_column_is_checked_without_a_look_at_every_cell():
    rows = [(f"P{i}", f"SUB-{i}", str(i % 100 - 50)) for i in range(50_000)]
    tables = subjects(*rows)
    assert [d.code for d in deidlang.check(RECIPE, tables=tables)] == []
    rows[40_000] = ("P40000", "SUB-40000", "1e3")
    codes = [(d.code, d.message) for d in deidlang.check(RECIPE, tables=subjects(*rows))]
    assert codes == [("E308", "column 'day_offset' of table 'subjects': 1 cell is not a whole number of days (at most 36500 either way): row 40001")]


# --------------------------------------------------------------------------- linkage file


def test_linkage_file_mode_content_and_resume(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(TableError, match="inside the output folder"):
        Linkage(str(out / "link.csv"), output=str(out))
    path = tmp_path / "keep" / "link.csv"
    with Linkage(str(path), output=str(out)) as link:
        assert link.add([("PatientID", "P1", "SUB-1"), ("PatientName", "Doe^Jane", "SUB-1")], "a.dcm") == 2
        assert link.add([("PatientID", "P1", "SUB-1")], "b.dcm") == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with Linkage(str(path)) as link:  # a second run adds what it does not hold yet
        assert link.add([("PatientID", "P1", "SUB-1"), ("PatientID", "P2", "SUB-2")], "c.dcm") == 1
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows == [
        ["kind", "original", "replacement", "first_file"],
        ["PatientID", "P1", "SUB-1", "a.dcm"],
        ["PatientName", "Doe^Jane", "SUB-1", "a.dcm"],
        ["PatientID", "P2", "SUB-2", "c.dcm"],
    ]
    db = tmp_path / "link.sqlite"
    with Linkage(str(db)) as link:
        link.add([("PatientID", "P1", "SUB-1")], "a.dcm")
    with Linkage(str(db)) as link:
        link.add([("PatientID", "P1", "SUB-1"), ("PatientID", "P2", "SUB-2")], "b.dcm")
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT kind, original, replacement, first_file FROM linkage ORDER BY original").fetchall() == [
            ("PatientID", "P1", "SUB-1", "a.dcm"),
            ("PatientID", "P2", "SUB-2", "b.dcm"),
        ]
    con.close()
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(TableError, match="not a linkage file"):
        Linkage(str(other))


def test_an_existing_linkage_file_becomes_private(tmp_path):
    path = tmp_path / "link.csv"
    path.write_text("kind,original,replacement,first_file\n", encoding="utf-8")
    os.chmod(path, 0o644)
    Linkage(str(path)).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# --------------------------------------------------------------------------- template


def test_template_rows_counts_and_columns():
    t = Template(["PatientID", "AccessionNumber"], ["subject_id", "day_offset"])
    for pid, acc, study in (("P2", "A1", "1.1"), ("P1", "A9", "1.2"), ("P2", "A1", "1.3"), ("P2", "A1", "1.3"), ("", "", "1.4")):
        ds = Dataset()
        if pid:
            ds.PatientID, ds.AccessionNumber = pid, acc
        ds.StudyInstanceUID = study
        t.add(ds)
    assert "".join(t.lines()) == ("PatientID,AccessionNumber,files,studies,subject_id,day_offset\nP1,A9,1,1,,\nP2,A1,3,2,,\n")
    assert (t.files, t.keyless) == (5, 1)
    with pytest.raises(ValueError, match="named twice"):
        Template(["PatientID"], ["files"])


def test_memory_stays_compact():
    rows = [(f"PAT{i:07d}", f"SUB-{i:07d}", str(i % 731 - 365)) for i in range(20_000)]
    t = subjects(*rows)["subjects"]
    assert t.nbytes() < 40 * len(rows)  # the cells and offsets: no Python object per cell


def test_compat_replace_identifiers_takes_the_tables(tmp_path, monkeypatch):
    import warnings

    from deidlang.compat import replace_identifiers

    monkeypatch.setenv("DEIDLANG_KEY", "0123456789abcdef0123456789abcdef")
    recipe = tmp_path / "deid.tables"
    recipe.write_text("FORMAT dicom\n%header\nREPLACE PatientID deid_func:lookup table=subjects key=PatientID column=subject_id\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # I202: the recipe is checked without the tables when it is loaded
        assert replace_identifiers([dataset("P2")], deid=str(recipe), tables=subjects())[0].PatientID == "SUB-2"
        for policy in ("fail", "quarantine"):  # compat holds no files: quarantine fails as fail does
            with pytest.raises(ApplyError, match="R006"):
                replace_identifiers([dataset("P9")], deid=str(recipe), tables=subjects(policy=policy))
        out = replace_identifiers([dataset("P9")], deid=str(recipe), tables=subjects(policy="hash"))[0]
    assert out.PatientID == keys.hash_id(keys.default_key()[0], "P9")
