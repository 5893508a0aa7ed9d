"""Differential property: for random tables and random datasets, a recipe of lookups gives
what a reference written here in plain pydicom gives (find the first row of the
dataset's key, replace, shift dates by whole days), under each missing-row policy.

The hash fallback's reference is an HMAC-SHA256 written here with the standard library
(the documented construction: ``HMAC(key, domain NUL value)``), not deidlang's code.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import io

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

import deidlang
from deidlang import ApplyError
from deidlang.runtime import keyed, keys
from deidlang.tables import FileRecord, Table, Tables

SECRET = "differential-key-0123456789abcdef"
KEY = keys.key_from_text(SECRET)

RECIPE = """FORMAT dicom
%header
REPLACE PatientID deid_func:lookup table=t key=PatientID column=subject_id
REPLACE PatientName deid_func:lookup table=t key=PatientID column=subject_id
JITTER StudyDate deid_func:lookup table=t key=PatientID column=day_offset
KEEP AcquisitionDate deid_func:dateshift table=t key=PatientID column=day_offset
"""

_ID = st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-", min_size=1, max_size=12)
_DATE = st.dates(datetime.date(1950, 1, 1), datetime.date(2040, 12, 31))
_ROW = st.tuples(_ID, _ID.map(lambda s: "SUB-" + s), st.integers(-400, 400))


@st.composite
def cases(draw):
    rows = draw(st.lists(_ROW, min_size=1, max_size=12))
    keys = [r[0] for r in rows]
    pid = draw(st.one_of(st.sampled_from(keys), _ID))
    padded = draw(st.booleans())  # a key with DICOM padding around it is the same key
    return rows, (pid + " ") if padded else pid, draw(_DATE), draw(_DATE), draw(st.booleans())


def _dataset(pid: str, study: datetime.date, acquisition: datetime.date, raw: bool) -> Dataset:
    ds = Dataset()
    ds.PatientID = pid
    ds.PatientName = "Doe^Jane"
    ds.StudyDate = study.strftime("%Y%m%d")
    ds.AcquisitionDate = acquisition.strftime("%Y%m%d")
    if not raw:
        return ds
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3"
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return pydicom.dcmread(io.BytesIO(buf.getvalue()))  # raw elements, as deidc run reads them


def _hmac(domain: str, text: str) -> bytes:
    return hmac.new(SECRET.encode(), domain.encode() + b"\x00" + text.encode(), hashlib.sha256).digest()


def _reference(rows, pid, study, acquisition, policy):
    """What the recipe must do, in plain Python: None when the file must fail."""
    key = pid.strip(" ")
    row = next((r for r in rows if r[0] == key), None)
    if row is None:
        if policy == "fail":
            return None
        subject = _hmac("deidlang:id", key).hex().upper()[:16]
        n = int.from_bytes(_hmac("deidlang:dateshift", key)[:8], "big") % 730
        days = n - 365 if n < 365 else n - 364
    else:
        subject, days = row[1], row[2]
    shift = lambda d: (d + datetime.timedelta(days=days)).strftime("%Y%m%d")  # noqa: E731
    return {"PatientID": subject, "PatientName": subject, "StudyDate": shift(study), "AcquisitionDate": shift(acquisition)}


PROGRAM = keyed.bind(deidlang.compile(RECIPE, allow=["E219"]), KEY)


@pytest.mark.parametrize("policy", ["fail", "hash", "quarantine"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_lookups_equal_the_plain_pydicom_reference(policy, case):
    rows, pid, study, acquisition, raw = case
    tables = Tables([Table.from_rows("t", ["PatientID", "subject_id", "day_offset"], rows)], policy)
    ds = _dataset(pid, study, acquisition, raw)
    want = _reference(rows, pid, study, acquisition, policy)
    record = FileRecord()
    if want is None:
        with pytest.raises(ApplyError) as err:
            PROGRAM.apply(ds, tables=tables, record=record)
        assert err.value.code == "R006"
        return
    PROGRAM.apply(ds, tables=tables, record=record)
    got = {k: str(ds[k].value) for k in want}
    assert got == want
    missed = not any(r[0] == pid.strip(" ") for r in rows)
    assert bool(record.fallbacks) == missed
    assert bool(record.missing) == (missed and policy == "quarantine")
