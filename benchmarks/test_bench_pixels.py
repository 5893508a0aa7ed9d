"""Inspecting and cleaning pixels: deidlang against deid 0.4.13, on the same files.

    python -m pytest benchmarks/test_bench_pixels.py --benchmark-enable

Two corpora: the DICOM images of deid-data (7 JPEG "cookies" of 2048 x 1536
RGB, 2 JPEG CT secondary captures, 3 ultrasounds, one of them 30 frames, and
a 2614 x 3072 DX), and a generated set (CT 512 x 512 16-bit, RGB ultrasound
with calibrated regions, multi-frame ultrasound, RLE-compressed CT). Each
group compares like with like:

* inspect: deid's ``has_burned_pixels(files)`` against deidlang's
  ``Program.inspect`` (what ``deidc inspect`` does: headers only; and after a
  full read, as deid reads);
* clean: deid's ``DicomCleaner`` (detect, clean, save_dicom for flagged files)
  against deidlang (read, inspect, ``pixels.clean_dataset``, write), both
  writing the cleaned files to disk, and the whole ``deidc clean`` command.
"""

from __future__ import annotations

import glob
import os
import random
import shutil
import warnings

import pydicom
import pytest

import deidlang

np = pytest.importorskip("numpy")
pytest.importorskip("deid")
os.environ.setdefault("MESSAGELEVEL", "QUIET")

from deidlang import pixels  # noqa: E402
from deidlang.cli.common import DEFAULT_RECIPE  # noqa: E402

GENERATED_RECIPE = """FORMAT dicom

%filter graylist
LABEL Ultrasound regions
  contains Modality US
  present SequenceOfUltrasoundRegions
  coordinates all
  keepcoordinates from:SequenceOfUltrasoundRegions
LABEL CT banners
  contains Modality CT
  coordinates 0,0,512,40
  coordinates 0,472,512,512
"""


# =========================================================================== corpora


def deid_data_files() -> list[str]:
    deid_data = pytest.importorskip("deid_data")
    root = os.path.join(os.path.dirname(deid_data.__file__), "data")
    return sorted(glob.glob(os.path.join(root, "**", "*.dcm"), recursive=True))


def _base(rnd: random.Random, modality: str) -> pydicom.dataset.FileDataset:
    from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2" if modality == "CT" else "1.2.840.10008.5.1.4.1.1.6.1"
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[str(rnd.random())])
    ds = FileDataset("gen.dcm", Dataset(), file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.PatientName = f"Bench^{rnd.randint(0, 999)}"
    ds.PatientID = str(rnd.randint(10000, 99999))
    return ds


def _ct(rnd: random.Random, rle: bool = False):
    ds = _base(rnd, "CT")
    ds.Rows = ds.Columns = 512
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 1
    arr = np.random.default_rng(rnd.randint(0, 2**31)).integers(-1024, 2047, size=(512, 512), dtype=np.int16)
    ds.PixelData = arr.tobytes()
    if rle:
        ds.compress(pydicom.uid.RLELossless, generate_instance_uid=False)
    return ds


def _us(rnd: random.Random, frames: int = 1):
    from pydicom.dataset import Dataset

    rows, cols = (480, 640) if frames == 1 else (240, 320)
    ds = _base(rnd, "US")
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if frames > 1:
        ds.NumberOfFrames = frames
    region = Dataset()
    region.RegionLocationMinX0, region.RegionLocationMinY0 = 20, 40
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = cols - 20, rows - 10
    ds.SequenceOfUltrasoundRegions = [region]
    shape = ((frames,) if frames > 1 else ()) + (rows, cols, 3)
    ds.PixelData = np.random.default_rng(rnd.randint(0, 2**31)).integers(0, 255, size=shape, dtype=np.uint8).tobytes()
    return ds


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> list[str]:
    """40 files: 20 CT, 5 RLE CT, 10 RGB ultrasounds, 5 ultrasound cines of 10 frames."""
    root = tmp_path_factory.mktemp("pixels")
    rnd = random.Random(4)
    makers = [lambda: _ct(rnd)] * 20 + [lambda: _ct(rnd, rle=True)] * 5 + [lambda: _us(rnd)] * 10 + [lambda: _us(rnd, 10)] * 5
    paths = []
    for n, make in enumerate(makers):
        path = str(root / f"img{n:03d}.dcm")
        make().save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def recipes(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("recipes")
    generated_path = root / "generated.dicom"
    generated_path.write_text(GENERATED_RECIPE, encoding="utf-8")
    return {"deid-data": str(DEFAULT_RECIPE), "generated": str(generated_path)}


def corpus(name: str, generated: list[str]) -> list[str]:
    return deid_data_files() if name == "deid-data" else generated


CORPORA = ["deid-data", "generated"]


def _rounds(name: str) -> int:
    return 2 if name == "deid-data" else 7  # the generated set is quick and noisier


# =========================================================================== inspect


def deid_inspect(recipe: str, paths: list[str]) -> int:
    from deid.config import DeidRecipe
    from deid.dicom import has_burned_pixels

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return len(has_burned_pixels(paths, deid=DeidRecipe(recipe))["flagged"])


def deidlang_inspect(program, paths: list[str], headers_only: bool = True) -> int:
    flagged = 0
    for path in paths:
        ds = pydicom.dcmread(path, stop_before_pixels=headers_only)
        flagged += program.inspect(ds, path=path).flagged
    return flagged


@pytest.mark.parametrize("name", CORPORA)
def test_inspect_deid(benchmark, name, generated, recipes):
    paths = corpus(name, generated)
    benchmark.group = f"inspect {name} ({len(paths)} files)"
    assert benchmark.pedantic(deid_inspect, args=(recipes[name], paths), rounds=3, iterations=1, warmup_rounds=1) > 0


@pytest.mark.parametrize("name", CORPORA)
def test_inspect_deidlang_headers_only(benchmark, name, generated, recipes):
    paths = corpus(name, generated)
    benchmark.group = f"inspect {name} ({len(paths)} files)"
    program = deidlang.load(recipes[name], allow=["W201"])  # deid's recipe has dead lines (W201)
    expected = deid_inspect(recipes[name], paths)
    assert benchmark.pedantic(deidlang_inspect, args=(program, paths), rounds=3, iterations=1, warmup_rounds=1) == expected


@pytest.mark.parametrize("name", CORPORA)
def test_inspect_deidlang_full_read(benchmark, name, generated, recipes):
    paths = corpus(name, generated)
    benchmark.group = f"inspect {name} ({len(paths)} files)"
    program = deidlang.load(recipes[name], allow=["W201"])  # deid's recipe has dead lines (W201)
    benchmark.pedantic(deidlang_inspect, args=(program, paths, False), rounds=3, iterations=1, warmup_rounds=1)


# =========================================================================== clean


def deid_clean(recipe: str, paths: list[str], out: str) -> int:
    from deid.dicom.pixels import DicomCleaner

    cleaned = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in paths:
            cleaner = DicomCleaner(deid=recipe, output_folder=out)
            if cleaner.detect(path).get("flagged"):
                cleaner.clean()
                cleaner.save_dicom()
                cleaned += 1
    return cleaned


def deidlang_clean(program, paths: list[str], out: str) -> int:
    cleaned = 0
    for path in paths:
        ds = pydicom.dcmread(path)
        inspection = program.inspect(ds, path=path)
        if inspection.flagged:
            pixels.clean_dataset(ds, inspection.regions)
            ds.save_as(os.path.join(out, f"cleaned-{os.path.basename(path)}"), enforce_file_format=False)
            cleaned += 1
    return cleaned


@pytest.mark.parametrize("name", CORPORA)
def test_clean_deid(benchmark, name, generated, recipes, tmp_path):
    paths = corpus(name, generated)
    benchmark.group = f"clean {name} ({len(paths)} files)"
    assert benchmark.pedantic(deid_clean, args=(recipes[name], paths, str(tmp_path)), rounds=_rounds(name), iterations=1) > 0


@pytest.mark.parametrize("name", CORPORA)
def test_clean_deidlang(benchmark, name, generated, recipes, tmp_path):
    paths = corpus(name, generated)
    benchmark.group = f"clean {name} ({len(paths)} files)"
    program = deidlang.load(recipes[name], allow=["W201"])  # deid's recipe has dead lines (W201)
    assert benchmark.pedantic(deidlang_clean, args=(program, paths, str(tmp_path)), rounds=_rounds(name), iterations=1, warmup_rounds=1) > 0


@pytest.mark.parametrize("name", CORPORA)
def test_clean_deidc_command(benchmark, name, generated, recipes, tmp_path):
    """``deidc clean --pixels-only --jobs 1``: every file written (clean ones too), atomically."""
    from deidlang import cli

    paths = corpus(name, generated)
    benchmark.group = f"clean {name} ({len(paths)} files)"
    roots = sorted({os.path.dirname(p) for p in paths})
    out = tmp_path / "out"

    def run():
        shutil.rmtree(out, ignore_errors=True)
        argv = ["clean", "--recipe", recipes[name], "--output", str(out), "--pixels-only", "--jobs", "1"]
        for root in roots:
            argv += ["--input", root]
        return cli.main(argv)

    benchmark.pedantic(run, rounds=_rounds(name), iterations=1)
