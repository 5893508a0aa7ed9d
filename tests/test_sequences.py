"""runtime/sequences.py reads raw sequences into the very objects pydicom builds.

Every file of pydicom's test data, deid-data and the demo data is read twice;
in one copy pydicom converts every sequence (at every depth), in the other the
fast reader does wherever it can. The two must be equal object for object (raw
elements with their positions, item and sequence attributes) and write the same
bytes.
"""

from __future__ import annotations

import io
import sys
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deidlang.cli.common import DEMO_DIR
from deidlang.dicomio import sequences

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import deid_data_base  # noqa: E402

_IGNORED = frozenset({"_dict", "_pixel_array_opts", "buffer", "fileobj_type"})  # the file objects differ per read


def _files() -> list[Path]:
    """Files on this machine only (pydicom's bundled test files, never its downloads)."""
    import pydicom.data

    paths = sorted((Path(pydicom.data.__file__).parent / "test_files").rglob("*.dcm"))
    base = deid_data_base()
    if base is not None:
        paths += sorted(base.rglob("*.dcm"))
    paths += sorted(Path(DEMO_DIR).rglob("*.dcm"))
    return [p for p in paths if p.stat().st_size < 8_000_000]


FILES = _files()


def _read(path: Path) -> Dataset | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pydicom.dcmread(path, force=True)
        except Exception:
            return None


def _convert_all(ds: Dataset, fast: bool, counts: dict) -> None:
    for key in list(ds._dict):
        elem = ds._dict[key]
        if type(elem) is RawDataElement and elem.VR == "SQ" and fast:
            if sequences.convert(ds, key, elem):
                counts["fast"] += 1
            else:
                counts["pydicom"] += 1
        try:
            value = ds[key].value
        except Exception:
            continue
        if isinstance(value, Sequence):
            for item in value:
                _convert_all(item, fast, counts)


def _same(a: Dataset, b: Dataset, where: str) -> None:
    state_a = {k: v for k, v in a.__dict__.items() if k not in _IGNORED}
    state_b = {k: v for k, v in b.__dict__.items() if k not in _IGNORED}
    assert state_a == state_b, where
    assert a._pixel_array_opts == b._pixel_array_opts, where
    assert list(a._dict) == list(b._dict), where
    for key, ea in a._dict.items():
        eb = b._dict[key]
        assert type(ea) is type(eb), f"{where} {key}"
        if type(ea) is RawDataElement:
            assert ea == eb, f"{where} {key}"
            continue
        assert (ea.tag, ea.VR, ea.file_tell, ea.is_undefined_length) == (eb.tag, eb.VR, eb.file_tell, eb.is_undefined_length), f"{where} {key}"
        if isinstance(ea.value, Sequence):
            assert isinstance(eb.value, Sequence) and len(ea.value) == len(eb.value), f"{where} {key}"
            assert getattr(ea.value, "is_undefined_length", None) == getattr(eb.value, "is_undefined_length", None), f"{where} {key}"
            for i, (ia, ib) in enumerate(zip(ea.value, eb.value)):
                _same(ia, ib, f"{where} {key}[{i}]")
        else:
            assert ea.value == eb.value, f"{where} {key}"


def _written(ds: Dataset) -> bytes | None:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds.save_as(buffer, enforce_file_format=False)
        except Exception:
            return None
    return buffer.getvalue()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_same_objects_and_bytes_as_pydicom(path):
    slow, fast = _read(path), _read(path)
    if slow is None:
        pytest.skip("pydicom cannot read this file")
    counts = {"fast": 0, "pydicom": 0}
    _convert_all(slow, False, counts)
    _convert_all(fast, True, counts)
    _same(slow, fast, path.name)
    assert _written(slow) == _written(fast)


def test_the_fast_path_is_taken():
    """The comparison above means something only if the fast reader did the work."""
    counts = {"fast": 0, "pydicom": 0}
    for path in FILES:
        ds = _read(path)
        if ds is not None:
            _convert_all(ds, True, counts)
    assert counts["fast"] > 50, counts


def test_custom_pydicom_conversion_is_respected(monkeypatch):
    from pydicom import config

    ds = pydicom.dcmread(next(p for p in sorted(Path(DEMO_DIR).rglob("*.dcm"))))
    key, raw = next((k, e) for k, e in ds._dict.items() if type(e) is RawDataElement and e.VR == "SQ")
    monkeypatch.setattr(config, "data_element_callback", lambda raw, **kw: raw)
    assert sequences.convert(ds, key, raw) is False


@pytest.mark.parametrize(
    "data",
    [
        b"\xfe\xff\x00\xe0\x00\x00\x00\x00",  # an empty item
        b"\xfe\xff\x00\xe0\x0a\x00\x00\x00\x10\x00\x10\x00\x06\x00AB",  # VR bytes missing (implicit)
        b"\xfe\xff\x00\xe0\x10\x00\x00\x00\x10\x00\x10\x00PN\x10\x00ABCD",  # value longer than the data
        b"\xfe\xff\x00\xe0",  # cut in the item header
        b"\xfe\xff\xdd\xe0\x00\x00\x00\x00",  # a sequence delimiter in a defined-length sequence
    ],
)
def test_odd_data_is_left_to_pydicom(data):
    assert sequences.read_items(data, ["iso8859"], 0) is None


# --------------------------------------------------------------------------- nesting depth from the bytes


def _depth_of(elem, ds) -> int:
    """How many sequence levels ``elem`` holds (itself 1), by converting it."""
    seq = ds[elem.tag].value if type(elem) is RawDataElement else elem.value
    deepest = 0
    for item in seq or ():
        for key in list(item._dict):
            if item[key].VR == "SQ":
                deepest = max(deepest, _depth_of(item[key], item))
    return 1 + deepest


def _nested(levels: int, undefined: bool) -> Dataset:
    from pydicom.dataset import FileMetaDataset

    inner = Dataset()
    inner.PatientID = "X"
    for _ in range(levels):
        outer = Dataset()
        outer.CodeValue = "1"
        outer.ContentSequence = Sequence([inner])
        outer["ContentSequence"].is_undefined_length = undefined
        inner = outer
    inner["ContentSequence"].is_undefined_length = False  # pydicom reads a top-level undefined one at once
    inner.file_meta = FileMetaDataset()
    inner.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    return inner


@pytest.mark.parametrize("undefined", [False, True], ids=["defined", "undefined-inside"])
@pytest.mark.parametrize("levels", [1, 2, 5, 30])
def test_nesting_depth_from_the_bytes(levels, undefined):
    buffer = io.BytesIO()
    _nested(levels, undefined).save_as(buffer, enforce_file_format=False)
    ds = pydicom.dcmread(io.BytesIO(buffer.getvalue()), force=True)
    raw = ds._dict[0x0040A730]
    assert type(raw) is RawDataElement
    for limit in range(1, levels + 3):
        assert sequences.nested_deeper(raw.value, 1, limit) is (levels > limit), limit


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_nesting_depth_agrees_with_pydicom(path):
    ds = _read(path)
    if ds is None:
        pytest.skip("pydicom cannot read this file")
    for key, raw in list(ds._dict.items()):
        if type(raw) is not RawDataElement or raw.VR != "SQ" or raw.is_implicit_VR or not raw.is_little_endian or not raw.value:
            continue
        try:
            depth = _depth_of(raw, ds)
        except Exception:
            continue
        for limit in range(1, depth + 2):
            got = sequences.nested_deeper(raw.value, 1, limit)
            assert got in (None, depth > limit), (key, limit)


def test_odd_bytes_are_left_to_pydicom_when_counting_levels():
    assert sequences.nested_deeper(b"\xfe\xff\x00\xe0\x10\x00\x00\x00", 1, 5) is None  # item past the end
    assert sequences.nested_deeper(b"\x10\x00\x10\x00PN\x02\x00AB", 1, 5) is None  # an element where an item belongs


def test_nesting_depth_is_answered_from_the_bytes_for_most_sequences():
    """The agreement test above accepts None ('ask pydicom'): it means something only if
    the byte reader answers for most sequences."""
    answered = asked = 0
    for path in FILES:
        ds = _read(path)
        if ds is None:
            continue
        for raw in ds._dict.values():
            if type(raw) is RawDataElement and raw.VR == "SQ" and not raw.is_implicit_VR and raw.is_little_endian and raw.value:
                asked += 1
                answered += sequences.nested_deeper(raw.value, 1, 100) is not None
    assert asked > 50 and answered > asked * 3 // 4, (answered, asked)
