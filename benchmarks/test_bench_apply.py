"""Applying recipes: deidlang against deid 0.4.13 and the plain pydicom floor, in one run.

    python -m pytest benchmarks/test_bench_apply.py --benchmark-enable

Each benchmark processes a whole corpus (read, de-identify, write) per round;
groups compare like with like, so the ratio column is the figure to read:
``floor`` is pydicom's dcmread + save_as with no changes at all.
"""

from __future__ import annotations

import io
import os
import shutil

import pydicom
import pytest

import deidlang
from benchmarks.conftest import deid_recipe_path
from benchmarks.corpus import write_corpus

os.environ.setdefault("MESSAGELEVEL", "QUIET")

SMALL_RECIPE = """FORMAT dicom
%header
ADD PatientIdentityRemoved YES
REPLACE PatientID var:id
REPLACE SOPInstanceUID deid_func:pydicom_uuid
REMOVE PatientName
REMOVE PatientBirthDate
REMOVE OtherPatientIDs
BLANK ReferringPhysicianName
JITTER StudyDate 3
"""

N_SMALL = 200


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    return [str(p) for p in write_corpus(root, N_SMALL, seed=42)]


@pytest.fixture(scope="module")
def small_recipe_path(tmp_path_factory):
    p = tmp_path_factory.mktemp("recipe") / "deid.small"
    p.write_text(SMALL_RECIPE)
    return str(p)


def _sink():
    return io.BytesIO()


def floor(paths):
    for p in paths:
        ds = pydicom.dcmread(p)
        ds.save_as(_sink(), enforce_file_format=False)


def deidlang_run(program, paths, ids=None):
    for p in paths:
        ds = pydicom.dcmread(p)
        program.apply(ds, ids=ids or {"id": "SUBJ-1"})
        ds.save_as(_sink(), enforce_file_format=False)


def deid_replace(recipe_path, paths, out):
    from deid.config import DeidRecipe
    from deid.dicom import replace_identifiers

    recipe = DeidRecipe(recipe_path)
    ids = {os.path.abspath(p): {"id": "SUBJ-1"} for p in paths}
    replace_identifiers(paths, deid=recipe, ids=ids, save=True, output_folder=out, overwrite=True)


def deid_get_then_replace(recipe_path, paths, out):
    from deid.config import DeidRecipe
    from deid.dicom import get_identifiers, replace_identifiers

    recipe = DeidRecipe(recipe_path)
    ids = get_identifiers(paths)
    for p in ids:
        ids[p]["id"] = "SUBJ-1"
    replace_identifiers(paths, deid=recipe, ids=ids, save=True, output_folder=out, overwrite=True)


RECIPES = {"deid-default": None, "small": "small"}


def _recipe(name, small_recipe_path):
    return deid_recipe_path() if name == "deid-default" else small_recipe_path


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_floor_pydicom_read_write(benchmark, corpus, recipe):
    benchmark.group = f"apply {N_SMALL} small files, {recipe} recipe"
    benchmark.pedantic(floor, args=(corpus,), rounds=3, iterations=1, warmup_rounds=1)


def floor_to_disk(paths, out):
    """The floor for tools that write files: read, then write to a temporary name and rename."""
    for i, p in enumerate(paths):
        ds = pydicom.dcmread(p)
        tmp = os.path.join(out, f".{i}.tmp")
        ds.save_as(tmp, enforce_file_format=False)
        os.replace(tmp, os.path.join(out, f"{i}.dcm"))


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_floor_pydicom_read_write_to_disk(benchmark, corpus, recipe, tmp_path):
    benchmark.group = f"apply {N_SMALL} small files, {recipe} recipe"
    benchmark.pedantic(floor_to_disk, args=(corpus, str(tmp_path)), rounds=3, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_deidlang_apply(benchmark, corpus, recipe, small_recipe_path):
    benchmark.group = f"apply {N_SMALL} small files, {recipe} recipe"
    program = deidlang.load(_recipe(recipe, small_recipe_path), allow=["W201"])  # deid's recipe has dead lines
    benchmark.pedantic(deidlang_run, args=(program, corpus), rounds=3, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_deidlang_compat_replace_identifiers(benchmark, corpus, recipe, small_recipe_path, tmp_path):
    """The drop-in facade, called exactly as deid's replace_identifiers is below."""
    from deidlang.compat import DeidRecipe, replace_identifiers

    benchmark.group = f"apply {N_SMALL} small files, {recipe} recipe"
    ids = {os.path.abspath(p): {"id": "SUBJ-1"} for p in corpus}

    def run():
        recipe_ = DeidRecipe(_recipe(recipe, small_recipe_path), allow=["W201"])  # deid's recipe has dead lines
        replace_identifiers(corpus, deid=recipe_, ids=ids, save=True, output_folder=str(tmp_path), overwrite=True)

    benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_deid_replace_identifiers(benchmark, corpus, recipe, small_recipe_path, tmp_path):
    pytest.importorskip("deid")
    benchmark.group = f"apply {N_SMALL} small files, {recipe} recipe"
    benchmark.pedantic(deid_replace, args=(_recipe(recipe, small_recipe_path), corpus, str(tmp_path)), rounds=2, iterations=1)


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_deid_get_then_replace(benchmark, corpus, recipe, small_recipe_path, tmp_path):
    pytest.importorskip("deid")
    benchmark.group = f"apply {N_SMALL} small files, {recipe} recipe"
    benchmark.pedantic(deid_get_then_replace, args=(_recipe(recipe, small_recipe_path), corpus, str(tmp_path)), rounds=2, iterations=1)


def test_deidc_run_cli(benchmark, corpus, tmp_path):
    """The whole command (discovery, read, apply, atomic write, report) with deid's default recipe."""
    from deidlang import cli

    benchmark.group = f"apply {N_SMALL} small files, deid-default recipe"
    root = os.path.commonpath(corpus)
    out = tmp_path / "out"

    def run():
        shutil.rmtree(out, ignore_errors=True)
        code = cli.main(["run", "--recipe", deid_recipe_path(), "--input", root, "--output", str(out), "--jobs", "1", "--keep-private"])
        assert code == 0

    benchmark.pedantic(run, rounds=2, iterations=1)


# ---------------------------------------------------------------- header size scaling

SIZES = {50: 0, 500: 450, 5000: 4950}


@pytest.fixture(scope="module")
def sized(tmp_path_factory):
    out = {}
    for size, extra in SIZES.items():
        root = tmp_path_factory.mktemp(f"size{size}")
        out[size] = [str(p) for p in write_corpus(root, 5, extra=extra, seed=size)]
    return out


@pytest.mark.parametrize("size", list(SIZES))
def test_scaling_floor(benchmark, sized, size):
    benchmark.group = f"header size {size} elements (5 files, deid default recipe)"
    benchmark.pedantic(floor, args=(sized[size],), rounds=3, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("size", list(SIZES))
def test_scaling_deidlang(benchmark, sized, size):
    benchmark.group = f"header size {size} elements (5 files, deid default recipe)"
    program = deidlang.load(deid_recipe_path(), allow=["W201"])  # deid's recipe has dead lines
    benchmark.pedantic(deidlang_run, args=(program, sized[size]), rounds=3, iterations=1, warmup_rounds=1)


@pytest.fixture(scope="module")
def parsed(sized):
    """Datasets read and fully parsed (sequences included), so apply is timed alone."""
    out = {}
    for size, paths in sized.items():
        data = []
        for p in paths:
            with open(p, "rb") as fh:
                data.append(fh.read())
        out[size] = data
    return out


@pytest.mark.parametrize("size", list(SIZES))
def test_scaling_apply_only_per_element(benchmark, parsed, size):
    """Apply alone on already-parsed datasets: divide by the element count to see the per-element cost."""
    from benchmarks.corpus import count_elements

    program = deidlang.load(deid_recipe_path(), allow=["W201"])  # deid's recipe has dead lines
    benchmark.group = "apply only, deid default recipe, per header size (time / elements = per-element cost)"

    def setup():
        dss = [pydicom.dcmread(io.BytesIO(b)) for b in parsed[size]]
        for ds in dss:
            count_elements(ds)  # forces pydicom to parse every sequence before timing
        return (dss,), {}

    def run(dss):
        for ds in dss:
            program.apply(ds)

    benchmark.extra_info["elements_per_file"] = size
    benchmark.pedantic(run, setup=setup, rounds=5, iterations=1)


@pytest.mark.parametrize("size", [50, 500])
def test_scaling_deid(benchmark, sized, size, tmp_path):
    """deid at 5,000 elements takes ~0.7 s a file; 50 and 500 show the trend."""
    pytest.importorskip("deid")
    benchmark.group = f"header size {size} elements (5 files, deid default recipe)"
    benchmark.pedantic(deid_replace, args=(deid_recipe_path(), sized[size], str(tmp_path)), rounds=1, iterations=1)
