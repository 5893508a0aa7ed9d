"""The language server: time from a change of deid's 900-line default recipe to
its published diagnostics, through the real protocol (``deidc lsp`` in a
subprocess; tests/lsp_client.py). The issue's target: within 50 ms.

Run with: python -m pytest benchmarks/test_bench_lsp.py --benchmark-enable
(the front end alone against deid's own parse: benchmarks/test_bench_check.py)
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from lsp_client import Client  # noqa: E402

URI = "file:///tmp/deid.dicom"


@pytest.fixture(scope="module")
def server(deid_default_text):
    with Client() as client:
        client.initialize()
        client.open(URI, deid_default_text)
        client.diagnostics(URI, version=1)
        yield client


@pytest.mark.benchmark(group="lsp-deid-default")
def test_lsp_diagnostics_after_a_change(benchmark, server, deid_default_text):
    """One keystroke: the full text changes, the server analyses it and publishes."""
    versions = itertools.count(2)
    edits = [deid_default_text.replace("REMOVE PatientID", "REMOVE PatientI" + c, 1) for c in ("D", "d", "")]

    def change_and_wait():
        v = next(versions)
        server.change(URI, edits[v % 3], v)
        return server.diagnostics(URI, version=v)

    diagnostics = benchmark.pedantic(change_and_wait, rounds=40, iterations=1, warmup_rounds=3)
    assert isinstance(diagnostics, list)


@pytest.mark.benchmark(group="lsp-deid-default")
def test_lsp_hover_on_a_keyword(benchmark, server):
    lines = server.request("textDocument/documentSymbol", {"textDocument": {"uri": URI}})
    assert lines
    result = benchmark.pedantic(
        server.request, args=("textDocument/hover", {"textDocument": {"uri": URI}, "position": {"line": 5, "character": 14}}), rounds=40, iterations=1
    )
    assert result is not None
