"""Whole runs by input shape: the floor, the ``deidc run`` engine and deid, file to file.

    python -m pytest benchmarks/test_bench_shapes.py --benchmark-enable

Groups are named by input shape (pixel size, header size); compare the rows
of a group. ``python -m benchmarks.compare`` prints the same comparisons as
one table with the ratios.
"""

from __future__ import annotations

import pytest

from benchmarks import harness as h
from benchmarks.corpus import write_corpus

#: shape -> (files, size, extra elements)
SHAPES = {
    "tiny-pixels": (100, "tiny", 0),
    "small-pixels": (100, "small", 0),
    "ct-slice-512KiB": (20, "ct", 0),
    "large-48MiB": (2, "large", 0),
    "header-500-elements": (20, "small", 450),
    "header-5000-elements": (5, "small", 4950),
}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    out = {}
    for shape, (files, size, extra) in SHAPES.items():
        root = tmp_path_factory.mktemp(shape)
        write_corpus(root, files, size=size, extra=extra, seed=len(shape))
        out[shape] = root
    return out


@pytest.fixture(scope="module")
def programs():
    out = {"deidlang-default": h.load(h.DEIDLANG_DEFAULT)}
    if h.deid_recipe():
        out["deid-default"] = h.load(h.deid_recipe())
    return out


@pytest.mark.parametrize("shape", list(SHAPES))
def test_floor(benchmark, corpora, shape, tmp_path):
    benchmark.group = f"shape {shape}"
    paths = h.all_paths(corpora[shape])
    benchmark.pedantic(h.floor, args=(paths, str(tmp_path / "o")), rounds=3, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("recipe", ["deidlang-default", "deid-default"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_deidlang_run(benchmark, corpora, programs, shape, recipe, tmp_path):
    if recipe not in programs:
        pytest.skip("deid is not installed")
    benchmark.group = f"shape {shape}"
    benchmark.pedantic(h.deidlang_run, args=(programs[recipe], str(corpora[shape]), str(tmp_path / "o")), rounds=3, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("shape", ["tiny-pixels", "small-pixels", "header-500-elements"])
def test_deid_replace_identifiers(benchmark, corpora, shape, tmp_path):
    if not h.deid_recipe():
        pytest.skip("deid is not installed")
    benchmark.group = f"shape {shape}"
    paths = h.all_paths(corpora[shape])
    benchmark.pedantic(h.deid_replace, args=(h.deid_recipe(), paths, str(tmp_path / "o")), rounds=1, iterations=1)
