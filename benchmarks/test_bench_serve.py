"""``deidc serve`` against a plain pynetdicom store-and-forward node, on loopback.

    python -m pytest benchmarks/test_bench_serve.py --benchmark-enable

Each benchmark pushes 200 small CT images from 4 concurrent DCMTK ``storescu``
senders through a node to DCMTK's ``storescp`` and waits until all have arrived
(benchmarks/serve_bench.py describes both nodes; ``python -m benchmarks.serve_bench``
also runs the memory soak). Needs DCMTK (Debian package ``dcmtk``).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from peers import make_objects

from benchmarks.serve_bench import SENDERS, measure

OBJECTS = 200


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    if not shutil.which("storescu") or not shutil.which("storescp"):
        pytest.skip("DCMTK is not installed")
    base = tmp_path_factory.mktemp("serve-bench")
    return [make_objects(base / f"in-{n}", OBJECTS // SENDERS, studies=5, tag=f"bench{n}") for n in range(SENDERS)], base


@pytest.mark.parametrize("kind", ["plain", "serve"])
def test_bench_store_and_forward(benchmark, batches, kind):
    files, base = batches
    key = base / "key"
    key.write_text("serve-benchmark-key-0123456789abcdef\n")
    results = []

    def once():
        work = Path(tempfile.mkdtemp(dir=base)) / kind
        results.append(measure(kind, files, work, key))

    benchmark.pedantic(once, rounds=2, iterations=1)
    benchmark.extra_info["forwarded_per_s"] = [round(r["forwarded_per_s"], 1) for r in results]
    benchmark.extra_info["received_per_s"] = [round(r["received_per_s"], 1) for r in results]
