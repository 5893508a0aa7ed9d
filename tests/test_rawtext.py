"""runtime/rawtext.py writes and reads some values without pydicom's conversion: the
bytes must be exactly what pydicom would have written and read."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom import config
from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element

from deidlang.dicomio import rawtext

TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126, blacklist_characters="\\"), max_size=20)
VALUE = st.one_of(TEXT, st.lists(TEXT, min_size=1, max_size=4))


def _pydicom_bytes(vr: str, value, encoding: str) -> bytes:
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_data_element(fp, DataElement(0x00100010, vr, value), encoding)
    written = fp.getvalue()
    header = 12 if vr in ("UC", "UR", "UT") else 8
    return written[header:]


@settings(max_examples=300, deadline=None)
@given(vr=st.sampled_from(sorted(rawtext.TEXT_VRS)), value=VALUE, encoding=st.sampled_from(["iso8859", "utf_8", "gb18030", ["iso8859", "iso2022_jp"]]))
def test_same_bytes_as_pydicom(vr, value, encoding):
    data = rawtext.encode(value, vr)
    if isinstance(value, list) and vr in ("LT", "ST", "UR", "UT"):
        assert data is None
        return
    if vr == "PN" and "=" in "".join(value if isinstance(value, list) else [value]):
        assert data is None  # component groups: pydicom drops empty trailing ones
        return
    assert data is not None
    assert data == _pydicom_bytes(vr, value, encoding)


@pytest.mark.parametrize("value", ["Müller", ["A", "Zoë"], 5, b"AB", ["A", 1]])
def test_what_pydicom_must_encode_is_left_to_it(value):
    assert rawtext.encode(value, "LO") is None


def test_numbers_and_binary_vrs_are_left_to_pydicom():
    for vr in ("DS", "IS", "US", "OB", "SQ", "UN"):
        assert rawtext.encode("1", vr) is None


def test_pydicom_set_to_raise_is_respected(monkeypatch):
    monkeypatch.setattr(config.settings, "writing_validation_mode", config.RAISE)
    assert rawtext.encode("X", "LO") is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.from_regex(r"\A[0-9][0-9.]{0,40}\Z"), min_size=1, max_size=3), st.sampled_from(["", " ", "\x00"]))
def test_uid_texts_match_pydicom(uids, pad):
    data = "\\".join(uids).encode("ascii") + pad.encode("ascii")
    raw = RawDataElement(0x00080018, "UI", len(data), data, 0, False, True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = convert_raw_data_element(raw).value
    expected = [str(v) for v in value] if isinstance(value, list) or type(value).__name__ == "MultiValue" else [str(value)]
    assert rawtext.uid_texts(raw) == expected


def test_uid_texts_only_for_ui():
    raw = RawDataElement(0x00100020, "LO", 2, b"AB", 0, False, True)
    assert rawtext.uid_texts(raw) is None


def test_element_keeps_the_encoding_of_the_original():
    raw = RawDataElement(0x00100020, "LO", 2, b"AB", 10, False, True)
    new = rawtext.element(raw, b"CD")
    assert (new.tag, new.VR, new.length, new.value, new.is_implicit_VR, new.is_little_endian) == (raw.tag, "LO", 2, b"CD", False, True)
