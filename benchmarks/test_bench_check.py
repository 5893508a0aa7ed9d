"""Front end: parse + check, against deid merely parsing the same recipe.

Run with: python -m pytest benchmarks/test_bench_check.py --benchmark-enable
"""

from __future__ import annotations

import pytest

import deidlang
from benchmarks.conftest import deid_recipe_path, generated_recipe


@pytest.mark.benchmark(group="default-recipe")
def test_deidlang_check_deid_default(benchmark, deid_default_text):
    diagnostics = benchmark(deidlang.check, deid_default_text, path="deid.dicom")
    assert not [d for d in diagnostics if d.is_error]


@pytest.mark.benchmark(group="default-recipe")
def test_deidlang_check_deid_default_new_lines(benchmark, deid_default_text):
    """The same, as for a text never parsed before: the parser's plans of the lines it has
    seen are forgotten (untimed) before each round (see deidlang.lang.parser)."""
    from deidlang.lang.parser import forget_lines

    diagnostics = benchmark.pedantic(deidlang.check, args=(deid_default_text,), kwargs={"path": "deid.dicom"}, setup=forget_lines, rounds=200)
    assert not [d for d in diagnostics if d.is_error]


@pytest.mark.benchmark(group="default-recipe")
def test_deidlang_parse_deid_default(benchmark, deid_default_text):
    result = benchmark(deidlang.parse, deid_default_text, path="deid.dicom")
    assert result.recipe.header


@pytest.mark.benchmark(group="default-recipe")
def test_deid_parse_deid_default(benchmark):
    """Baseline: deid 0.4.13's own recipe loader on the same file (parsing only, no checks)."""
    import os

    os.environ.setdefault("MESSAGELEVEL", "QUIET")
    from deid.config.utils import load_deid

    path = deid_recipe_path()
    parsed = benchmark(load_deid, path)
    assert parsed["header"]


@pytest.fixture(scope="module")
def recipe_10k() -> str:
    return generated_recipe(10_000)


@pytest.mark.benchmark(group="10k-lines")
def test_deidlang_check_10k_lines(benchmark, recipe_10k):
    diagnostics = benchmark.pedantic(deidlang.check, args=(recipe_10k,), rounds=5, iterations=1)
    assert not [d for d in diagnostics if d.is_error], diagnostics[:3]


@pytest.mark.benchmark(group="10k-lines")
def test_deid_parse_10k_lines(benchmark, recipe_10k, tmp_path):
    import os

    os.environ.setdefault("MESSAGELEVEL", "QUIET")
    from deid.config.utils import load_deid

    p = tmp_path / "deid.big"
    p.write_text(recipe_10k)
    benchmark.pedantic(load_deid, args=(str(p),), rounds=5, iterations=1)
