"""deidlang/dicomio/fastread.py reads a whole file into the very objects ``pydicom.dcmread`` builds.

Every local file (pydicom's test files, deid-data, the demo data, a benchmark
corpus, the damaged-file corpus, and truncations of all of them) is read both
ways. Where the fast reader answers, the two readings must be equal object for
object (the file dataset, the file meta, raw elements with their positions,
which elements are already converted, encoding attributes), stay equal when
every value is then converted, and write the same bytes with pydicom and with
deidlang's encoder.
"""

from __future__ import annotations

import io
import sys
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom import config
from pydicom.dataset import Dataset

from deidlang import engine
from deidlang.dicomio import encode
from deidlang.dicomio.fastread import read_bytes

sys.path.insert(0, str(Path(__file__).resolve().parent))
import damaged  # noqa: E402
from test_sequences import FILES, _same  # noqa: E402
from test_sequences import _convert_all as _convert_every

from deidlang.dicomio import damage


def _pydicom(data: bytes) -> Dataset | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pydicom.dcmread(io.BytesIO(data))
        except Exception:
            return None


def _fast(data: bytes) -> Dataset | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_bytes(data)


def _convert_all(ds: Dataset) -> None:
    """Every value converted by pydicom, at every depth."""
    _convert_every(ds, False, {"fast": 0, "pydicom": 0})


def _written(ds: Dataset) -> tuple[bytes | None, bytes | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        buffer = io.BytesIO()
        try:
            ds.save_as(buffer, enforce_file_format=False)
            by_pydicom = buffer.getvalue()
        except Exception:
            by_pydicom = None
        try:
            by_us = encode.encode(ds)
        except Exception:
            by_us = None
    return by_pydicom, by_us


def _compare(data: bytes, where: str) -> bool:
    """Whether the fast reader answered; if it did, its reading equals pydicom's."""
    fast = _fast(data)
    if fast is None:
        return False
    slow = _pydicom(data)
    assert slow is not None, f"{where}: pydicom cannot read what the fast reader read"
    assert type(fast) is type(slow)
    assert (fast.preamble, fast.filename, fast.timestamp) == (slow.preamble, slow.filename, slow.timestamp), where
    assert fast.buffer.getvalue() == slow.buffer.getvalue() and fast.buffer.tell() == slow.buffer.tell(), where
    _same(fast.file_meta, slow.file_meta, f"{where} file meta")
    _same(fast, slow, where)
    assert _written(fast) == _written(slow), where
    _convert_all(fast)
    _convert_all(slow)
    _same(fast.file_meta, slow.file_meta, f"{where} file meta, converted")
    _same(fast, slow, f"{where}, converted")
    return True


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_same_objects_as_pydicom(path):
    data = path.read_bytes()
    _compare(data, path.name)


def test_the_fast_path_is_taken_for_most_files():
    taken = sum(_compare(p.read_bytes(), p.name) for p in FILES)
    assert taken > len(FILES) // 3, (taken, len(FILES))


@pytest.fixture(scope="module")
def bench_corpus(tmp_path_factory) -> list[Path]:
    from benchmarks.corpus import write_corpus

    root = tmp_path_factory.mktemp("bench")
    write_corpus(root, 40, seed=7)
    return sorted(root.rglob("*.dcm"))


def test_benchmark_corpus_is_read_fast_and_the_same(bench_corpus):
    assert all(_compare(p.read_bytes(), p.name) for p in bench_corpus)


def test_damaged_files_fall_back_or_read_the_same(tmp_path):
    cases = damaged.build(tmp_path)
    compared = 0
    for case in cases:
        path = tmp_path / case.path
        if not path.is_file() or path.is_symlink():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        compared += 1
        _compare(data, path.name)
    assert compared > 20


@pytest.mark.parametrize("path", FILES[::7], ids=lambda p: p.name)
def test_every_truncation_falls_back_or_reads_the_same(path):
    """A file cut anywhere: the fast reader declines or reads exactly what pydicom reads."""
    data = path.read_bytes()[:20_000]
    step = max(1, len(data) // 60)
    for end in range(0, len(data), step):
        _compare(data[:end], f"{path.name}[:{end}]")


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d[:128] + b"DICX" + d[132:],  # no DICM
        lambda d: d.replace(b"1.2.840.10008.1.2.1\x00", b"1.2.840.10008.1.2\x00\x00\x00", 1),  # implicit VR
    ],
)
def test_what_it_declines(edit, bench_corpus):
    data = edit(bench_corpus[0].read_bytes())
    assert _fast(data) is None


def test_pydicom_debugging_and_hooks_are_respected(monkeypatch, bench_corpus):
    data = bench_corpus[0].read_bytes()
    assert _fast(data) is not None
    monkeypatch.setattr(config, "debugging", True)
    assert _fast(data) is None
    monkeypatch.setattr(config, "debugging", False)
    monkeypatch.setattr(config, "data_element_callback", lambda raw, **kw: raw)
    assert _fast(data) is None


def test_the_run_engine_reads_with_it(bench_corpus, monkeypatch):
    """batch.read_input uses the fast reader for whole small files, and its checks still run."""
    from deidlang.dicomio import fastread

    calls = []
    original = fastread.read_bytes
    monkeypatch.setattr(fastread, "read_bytes", lambda data: calls.append(len(data)) or original(data))
    ds, _ = engine.read_input(str(bench_corpus[0]))
    assert calls and ds.filename == str(bench_corpus[0])
    cut = bench_corpus[0].read_bytes()[:-3]
    short = bench_corpus[0].parent / "short.dcm"
    short.write_bytes(cut)
    with pytest.raises(damage.InputError):
        engine.read_input(str(short))


def _undefined_lengths(ds: Dataset) -> None:
    for elem in ds:
        if elem.VR == "SQ":
            elem.is_undefined_length = True
            for item in elem.value:
                item.is_undefined_length_sequence_item = True
                _undefined_lengths(item)


@pytest.mark.parametrize("item_charset", [None, "ISO_IR 192"])
def test_undefined_length_sequences_with_character_sets(item_charset):
    """Sequences of undefined length are read at once (as pydicom does), items inherit the
    character set of their data set or carry their own, nested levels too."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "Müller^Jörg"
    inner = Dataset()
    inner.CodeValue = "X1"
    inner.CodeMeaning = "Größe"
    item = Dataset()
    if item_charset:
        item.SpecificCharacterSet = item_charset
    item.PersonName = "Ångström^Łukasz" if item_charset else "Ångström^Lukas"
    item.ConceptNameCodeSequence = [inner]
    ds.ContentSequence = [item]
    ds.ReferencedImageSequence = [Dataset()]
    ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID = "1.2.3"
    _undefined_lengths(ds)
    ds.ReferencedImageSequence[0].is_undefined_length_sequence_item = False  # a defined-length item inside
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    assert b"\xfe\xff\xdd\xe0" in data  # sequence delimiters: undefined lengths were written
    assert _compare(data, "constructed")
    fast = _fast(data)
    assert fast.ContentSequence[0].PersonName == item.PersonName
    assert fast.ContentSequence[0].ConceptNameCodeSequence[0].CodeMeaning == "Größe"


@pytest.mark.parametrize("undefined", [False, True])
def test_implicit_vr_files(bench_corpus, undefined):
    """Implicit VR little endian: raw elements without a VR (conversion decides it, as in
    pydicom), undefined-length sequences read at once from the dictionary's VR."""
    from pydicom.uid import ImplicitVRLittleEndian

    taken = 0
    for path in bench_corpus[:10]:
        ds = pydicom.dcmread(path)
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        if undefined:
            _undefined_lengths(ds)
        buffer = io.BytesIO()
        ds.save_as(buffer, implicit_vr=True, little_endian=True, enforce_file_format=True)
        data = buffer.getvalue()
        assert (b"\xfe\xff\xdd\xe0" in data) == undefined
        taken += _compare(data, f"implicit {path.name}")
        fast = _fast(data)
        assert fast is not None and all(e.VR is None for e in fast._dict.values() if type(e) is pydicom.dataelem.RawDataElement)
    assert taken == 10


def test_read_path_is_dcmread_of_the_path(bench_corpus):
    """read_path (used by the deid-compatible API) builds what dcmread(path) builds: the
    same objects, and the file's name, opener and time."""
    from deidlang.dicomio.fastread import read_path

    taken = 0
    for path in [*FILES[::3], *bench_corpus[:5]]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fast = read_path(str(path))
            if fast is None:
                continue
            slow = pydicom.dcmread(str(path))
        taken += 1
        assert (fast.filename, fast.fileobj_type, fast.timestamp, fast.buffer) == (slow.filename, slow.fileobj_type, slow.timestamp, slow.buffer)
        _same(fast.file_meta, slow.file_meta, path.name)
        _same(fast, slow, path.name)
        assert _written(fast) == _written(slow)
    assert taken > 20
    assert read_path(str(bench_corpus[0]), limit=100) is None  # larger files: pydicom (deferred values)
