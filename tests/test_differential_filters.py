"""deidlang's ``%filter`` evaluation against the real deid 0.4.13.

``deid.dicom.has_burned_pixels`` and ``deidlang.compat.has_burned_pixels``
are run on the same datasets with the same recipe and must give the same
verdicts and results (deidlang adds a ``"label"`` key, ignored here):

* every recipe in ``tests/recipes/filters`` (each asserted lint-clean: only
  such recipes promise deid's results), on deid-data (dicom-cookies, humans,
  animals, ultrasounds, the zipped cines included), on datasets built here
  and on some of pydicom's test files, one file at a time (a fresh deid
  recipe per call, because deid mutates it: CC59) and as one list;
* deid's three shipped recipes, read from the installed deid package. Their
  labels with warned lines are compared where the difference cannot apply:
  a label with ``||`` lines (W409, deid ANDs them) that deid flags must be
  flagged by deidlang too, since deidlang ORs those lines.

``DicomCleaner.clean()`` arrays are compared with deid's on deid-data images
once ``deidlang.pixels`` exists.
"""

from __future__ import annotations

import copy
import io
import os
import sys
import zipfile
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixtures  # noqa: E402

import deidlang  # noqa: E402
from deidlang import compat  # noqa: E402

pytestmark = [
    pytest.mark.differential,
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

os.environ.setdefault("MESSAGELEVEL", "-10")
deid_config = pytest.importorskip("deid.config")
deid_detect = pytest.importorskip("deid.dicom.pixels.detect")
import deid.logger  # noqa: E402

deid.logger.bot.level = -10  # importing deid.dicom.pixels raised it

HERE = Path(__file__).resolve().parent
RECIPES = sorted((HERE / "recipes" / "filters").glob("*.dicom"))
DEID_RECIPE_DIR = Path(deid_config.__file__).resolve().parent.parent / "data"
SHIPPED = ("deid.dicom", "deid.dicom.ultrasound", "deid.dicom.xray.chest")
PYDICOM_FILES = (
    "CT_small.dcm",
    "MR_small.dcm",
    "reportsi_with_empty_number_tags.dcm",
    "examples_ybr_color.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "rtdose_1frame.dcm",
)


# --------------------------------------------------------------------------- datasets


def _regions(*boxes: tuple[int, int, int, int]) -> Sequence:
    items = []
    for x0, y0, x1, y1 in boxes:
        item = Dataset()
        item.RegionLocationMinX0 = x0
        item.RegionLocationMinY0 = y0
        item.RegionLocationMaxX1 = x1
        item.RegionLocationMaxY1 = y1
        items.append(item)
    return Sequence(items)


def _us(boxes, manufacturer: str) -> Dataset:
    ds = fixtures.make_S()
    ds.Modality = "US"
    ds.Manufacturer = manufacturer
    ds.Rows, ds.Columns = 768, 1024
    ds.SequenceOfUltrasoundRegions = _regions(*boxes)
    return ds


def _secondary_capture() -> Dataset:
    ds = fixtures.make_S()
    ds.Modality = "OT"
    ds.ImageType = ["DERIVED", "SECONDARY", "SCREEN SAVE"]
    ds.ConversionType = "WSD"
    ds.BurnedInAnnotation = "YES"
    ds.Manufacturer = "GE MEDICAL SYSTEMS"
    ds.PatientID = "ab12"
    return ds


def _empties() -> Dataset:
    ds = fixtures.make_S()
    ds.PatientComments = ""
    ds.ImageComments = ""
    ds.PatientName = ""
    ds.ReferencedImageSequence = Sequence([])
    ds.BurnedInAnnotation = "NO"
    del ds.ImageType
    ds.add_new(0x00280002, "US", None)  # SamplesPerPixel, present without a value
    ds.BitsAllocated = 8
    return ds


def _mr_philips() -> Dataset:
    ds = fixtures.make_S()
    ds.Modality = "MR"
    ds.Manufacturer = "Philips Medical Systems"
    ds.Rows = ds.Columns = 512
    ds.PhotometricInterpretation = "MONOCHROME1"
    return ds


BUILT = {
    "S": fixtures.make_S,
    "us_a": lambda: _us([(1, 1, 2, 2)], "Philips"),
    "us_b": lambda: _us([(0, 0, 9, 9), (10, 20, 30, 40)], "GE Healthcare"),
    "sc": _secondary_capture,
    "empties": _empties,
    "mr": _mr_philips,
}


def _deid_data() -> Path | None:
    try:
        import deid_data
    except ImportError:
        return None
    return Path(deid_data.__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """Small files on disk: the built datasets and deid-data's cookies and humans."""
    folder = tmp_path_factory.mktemp("filters")
    out = {}
    for name, build in BUILT.items():
        path = folder / f"{name}.dcm"
        fixtures.write_dataset(build(), path)
        out[name] = str(path)
    base = _deid_data()
    if base is not None:
        for sub in ("dicom-cookies", "humans"):
            for p in sorted((base / sub).glob("*.dcm")):
                out[f"{sub}/{p.name}"] = str(p)
    return out


@pytest.fixture(scope="module")
def headers(files) -> dict[str, Dataset]:
    """Every dataset, read once without its pixel data (both tools get the same objects).

    deid-data's big files (animals, ultrasounds, the zipped cines) are read
    from their headers only: filters look at the header.
    """
    from pydicom.data import get_testdata_file

    out = {name: dcmread(path, stop_before_pixels=True) for name, path in files.items()}
    for name in PYDICOM_FILES:
        found = get_testdata_file(name)
        if found:
            out[f"pydicom/{name}"] = dcmread(found, stop_before_pixels=True)
    base = _deid_data()
    if base is not None:
        for p in sorted((base / "ultrasounds").glob("*.dcm")) + sorted((base / "animals").glob("*.dcm")):
            out[f"{p.parent.name}/{p.name}"] = dcmread(p, stop_before_pixels=True)
        for z in sorted((base / "ultrasounds").glob("*.zip")):
            with zipfile.ZipFile(z) as archive:
                member = sorted(archive.namelist())[0]
                with archive.open(member) as handle:
                    head = handle.read(256 * 1024)  # the header is at the front
            out[f"ultrasounds/{z.stem}.zip"] = dcmread(io.BytesIO(head), stop_before_pixels=True, force=True)
    return out


# --------------------------------------------------------------------------- helpers


def _ours(result: dict) -> dict:
    """deidlang's result without the added "label" keys."""
    out = copy.deepcopy(result)
    for item in out["results"]:
        assert "label" in item
        del item["label"]
    return out


def _deid(ds_or_path, recipe_path) -> dict:
    """deid's verdict with a fresh DeidRecipe (deid rewrites from: coordinates in it)."""
    return deid_detect.has_burned_pixels(ds_or_path, deid=deid_config.DeidRecipe(str(recipe_path)))


def _warned_lines(path) -> tuple[set[int], set[int]]:
    """Lines with a W409 warning, and lines with any other warning or error."""
    diags = deidlang.check(Path(path).read_text(), path=str(path), deid_compat=True)
    w409 = {d.line for d in diags if d.code == "W409"}
    other = {d.line for d in diags if d.code != "W409" and d.severity in ("warning", "error")}
    return w409, other


# --------------------------------------------------------------------------- lint-clean recipes


def test_enough_lint_clean_recipes():
    assert len(RECIPES) >= 20
    for path in RECIPES:
        diags = [d for d in deidlang.check(path.read_text(), path=str(path), deid_compat=True) if d.severity in ("warning", "error")]
        assert diags == [], f"{path.name} is not lint-clean: {diags}"


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_same_results_one_file_at_a_time(recipe, headers):
    ours_recipe = compat.DeidRecipe(str(recipe))
    flagged = 0
    for name, ds in headers.items():
        expected = _deid(ds, recipe)
        actual = compat.has_burned_pixels(ds, deid=ours_recipe)
        assert _ours(actual) == expected, f"{recipe.name} on {name}"
        flagged += expected["flagged"]
    assert flagged > 0, f"{recipe.name} flags nothing on this collection"


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_same_results_for_a_list(recipe, files):
    paths = [files[n] for n in ("S", "sc", "empties", "mr")]
    expected = deid_detect.has_burned_pixels(paths, deid=deid_config.DeidRecipe(str(recipe)))
    actual = compat.has_burned_pixels(paths, deid=str(recipe))
    assert actual["clean"] == expected["clean"]
    assert {k: _ours(v) for k, v in actual["flagged"].items()} == expected["flagged"]


def test_from_coordinates_are_read_per_file(files, headers):
    """CC59: deid reuses the first file's ultrasound regions for every later file of the
    same recipe object; deidlang reads each file's own regions."""
    recipe = HERE / "recipes" / "filters" / "13_us_keep.dicom"
    names = ["us_a", "us_b"]
    paths = [files[n] for n in names]
    deid_multi = deid_detect.has_burned_pixels(paths, deid=deid_config.DeidRecipe(str(recipe)))
    ours_multi = compat.has_burned_pixels(paths, deid=str(recipe))
    # deid: both files carry the first file's box
    assert [deid_multi["flagged"][p]["results"][0]["coordinates"] for p in paths] == [[[0, "all"], [1, ["1,1,2,2"]]]] * 2
    # deidlang: each file its own, as deid gives for a fresh recipe per file
    for p in paths:
        assert _ours(ours_multi["flagged"][p]) == _deid(p, recipe)
    assert ours_multi["flagged"][paths[1]]["results"][0]["coordinates"] == [[0, "all"], [1, ["0,0,9,9", "10,20,30,40"]]]


def test_from_coordinates_on_deid_data_ultrasounds(headers):
    recipe = HERE / "recipes" / "filters" / "12_us_regions.dicom"
    ours = compat.DeidRecipe(str(recipe))
    seen = set()
    for name, ds in headers.items():
        if "SequenceOfUltrasoundRegions" in ds and name.startswith(("ultrasounds/", "animals/")):
            result = compat.has_burned_pixels(ds, deid=ours)
            assert _ours(result) == _deid(ds, recipe)
            seen.add(tuple(result["results"][0]["coordinates"][0][1]))
    if _deid_data() is not None:
        assert len(seen) >= 3  # different files, different regions


# --------------------------------------------------------------------------- deid's shipped recipes


@pytest.mark.parametrize("shipped", SHIPPED)
def test_shipped_recipes(shipped, headers):
    path = DEID_RECIPE_DIR / shipped
    if not path.is_file():
        pytest.skip(f"{shipped} is not installed")
    ours_recipe = compat.DeidRecipe(str(path), allow=True)  # deid's recipes have dead lines (W201)
    program = ours_recipe.program
    w409, other = _warned_lines(path)
    # deid's reasons identify labels (they do not name them); collect those of warned labels
    or_labels, warned = set(), set()
    for label in program.filters:
        lines = {t.span.line for line in label.lines for t in line.predicates}
        key = (label.group, label.reason() if label.lines else None)
        if lines & other:
            warned.add(key)
        elif lines & w409:
            or_labels.add(key)
    assert shipped != "deid.dicom" or or_labels  # the W409 label of deid.dicom is there

    def split(result):
        keep, ors = [], []
        for item in result["results"]:
            key = (item["group"], item["reason"])
            if key in or_labels:
                ors.append(key)
            elif key not in warned:
                keep.append(item)
        return keep, ors

    compared = 0
    for name, ds in headers.items():
        expected = _deid(ds, path)
        actual = _ours(compat.has_burned_pixels(ds, deid=ours_recipe))
        exp_keep, exp_or = split(expected)
        act_keep, act_or = split(actual)
        assert act_keep == exp_keep, f"{shipped} on {name}"
        # W409: deid ANDs the '||' lines, deidlang ORs them: whatever deid flags, deidlang flags
        assert set(exp_or) <= set(act_or), f"{shipped} on {name}"
        if expected["flagged"]:
            assert actual["flagged"]
        compared += len(exp_keep)
    assert shipped == "deid.dicom.ultrasound" or compared > 0 or shipped == "deid.dicom.xray.chest"


def test_w409_label_differs_as_documented(files):
    """deid.dicom's blacklist label ``Burned In Annotation`` is written with '||' lines:
    deid needs all of them, deidlang any (the secondary capture has ImageType SECONDARY
    and no SAVE)."""
    path = DEID_RECIPE_DIR / "deid.dicom"
    ours = compat.has_burned_pixels(files["sc"], deid=compat.DeidRecipe(str(path), allow=True))
    theirs = _deid(files["sc"], path)
    ours_groups = [(r["group"], r["label"]) for r in ours["results"]]
    assert ("blacklist", "Burned In Annotation") in ours_groups
    assert all(r["group"] != "blacklist" or "BurnedInAnnotation" not in r["reason"] for r in theirs["results"])


# --------------------------------------------------------------------------- pixels


CLEANER_IMAGES = (
    "dicom-cookies/image4.dcm",
    "humans/ctbrain1.dcm",
    "animals/cat.dcm",
    "ultrasounds/RGB_IMAGE.dcm",
    "ultrasounds/GREYSCALE_IMAGE.dcm",
    "ultrasounds/ultrasound-multiframe.dcm",
    "ultrasounds/GREYSCALE_CINE.zip",
)

BOXES = (
    "FORMAT dicom\n\n%filter graylist\n\nLABEL everything\n  present Rows\n  coordinates 0,0,100,60\n"
    "  coordinates 200,100,260,700\n  keepcoordinates 10,10,20,20\n  coordinates -30,0,2000,12\n"
    "\nLABEL ultrasound\n  present SequenceOfUltrasoundRegions\n  coordinates all\n"
    "  keepcoordinates from:SequenceOfUltrasoundRegions\n"
)


@pytest.mark.parametrize("image", CLEANER_IMAGES)
def test_cleaner_arrays_match_deid(image, tmp_path):
    """Boxes, a keep box, a negative start, the whole frame and the ultrasound regions,
    on grey, 16-bit, RGB and multi-frame images: deid's arrays are right for these."""
    np = pytest.importorskip("numpy")
    pytest.importorskip("deidlang.pixels")
    clean_mod = pytest.importorskip("deid.dicom.pixels.clean")
    base = _deid_data()
    if base is None:
        pytest.skip("deid-data is not installed")
    path = base / image
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            member = sorted(archive.namelist())[0]
            archive.extract(member, tmp_path)
        path = tmp_path / member
    recipe = tmp_path / "deid.boxes"
    recipe.write_text(BOXES)
    theirs = clean_mod.DicomCleaner(output_folder=str(tmp_path / "deid"), deid=str(recipe))
    ours = compat.DicomCleaner(output_folder=str(tmp_path / "ours"), deid=str(recipe))
    assert _ours(ours.detect(str(path))) == theirs.detect(str(path))
    expected = theirs.clean()
    actual = ours.clean()
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    assert np.array_equal(actual, expected)
    assert not np.array_equal(actual, ours.original)  # something was blanked
