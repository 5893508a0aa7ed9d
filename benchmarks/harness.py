"""What the benchmarks run, shared by ``python -m benchmarks.compare`` and the pytest-benchmark suites.

Every workload reads files from disk and writes files to disk, as a
de-identification tool does:

* ``floor``: pydicom ``dcmread`` + ``save_as`` to a temporary name + rename,
  no changes at all: the least any tool that rewrites files can cost;
* ``deidlang_run``: the whole ``deidc run`` engine (:mod:`deidlang.engine`):
  hashing in and out, the recipe, atomic writes, the run manifest;
* ``deid_replace`` / ``deid_get_then_replace``: deid 0.4.13's
  ``replace_identifiers`` alone, and after ``get_identifiers`` (deid's usual
  workflow), saving to an output folder.

The keyed built-ins of deidlang's default recipe get a fixed benchmark key
(never use it for real data).
"""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Callable, Mapping

import pydicom

import deidlang
from deidlang import engine
from deidlang.runtime import keys

os.environ.setdefault("MESSAGELEVEL", "QUIET")  # deid's logger

BENCH_KEY = "deidlang-benchmark-key-not-a-secret-0123456789abcdef"
DEIDLANG_DEFAULT = str(Path(deidlang.__file__).resolve().parent / "data" / "default.dicom")


def deid_recipe() -> str | None:
    """deid's own default recipe (``deid/data/deid.dicom``), or None without deid."""
    try:
        import deid
    except ImportError:
        return None
    return os.path.join(os.path.dirname(deid.__file__), "data", "deid.dicom")


#: deid's own default recipe has dead lines (REMOVE PatientsName, REMOVE jitter: W201)
DEAD_LINES = ("W201",)


def load(path: str):
    """A Program as ``deidc run`` uses it: compiled, with the benchmark key bound.
    deid's own recipe has dead lines (W201), which a run lets through with --allow W201."""
    program = deidlang.load(path, allow=DEAD_LINES)
    try:
        from deidlang.runtime import keyed
    except ImportError:
        return program
    if keyed.needs_key([program]):
        program = keyed.bind(program, keys.key_from_text(BENCH_KEY, "benchmark"))
    return program


_RUNS = itertools.count(1)


def fresh(out: str | os.PathLike) -> str:
    """A new, empty directory named after ``out`` (each run writes to its own, so that no
    run pays for deleting the last one's files, and no run finds outputs to skip)."""
    path = f"{os.fspath(out)}-{next(_RUNS)}"
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def floor(paths: list[str], out: str) -> None:
    """pydicom read + write to a temporary name + rename: nothing changed."""
    out = fresh(out)
    for i, p in enumerate(paths):
        ds = pydicom.dcmread(p)
        tmp = os.path.join(out, f".{i}.tmp")
        ds.save_as(tmp, enforce_file_format=False)
        os.replace(tmp, os.path.join(out, f"{i}.dcm"))


def floor_in_memory(paths: list[str], out: str | None = None) -> None:
    """pydicom read + encode to memory (no file written)."""
    import io

    for p in paths:
        ds = pydicom.dcmread(p)
        ds.save_as(io.BytesIO(), enforce_file_format=False)


def deidlang_run(program, root: str, out: str, *, jobs: int = 1, remove_private: bool = True) -> engine.Summary:
    """The ``deidc run`` engine on a directory."""
    out = fresh(out)
    options = engine.Options(remove_private=remove_private, output=os.path.abspath(out))
    job = engine.Job((program,), out, inputs=(root,), options=options, jobs=jobs)
    prepared = engine.prepare(job)
    for _ in prepared.results():
        pass
    assert prepared.summary.failed == 0, "benchmark files must not fail"
    return prepared.summary


def deid_replace(recipe_path: str, paths: list[str], out: str) -> None:
    from deid.config import DeidRecipe
    from deid.dicom import replace_identifiers

    out = fresh(out)
    recipe = DeidRecipe(recipe_path)
    ids = {os.path.abspath(p): {"id": "SUBJ-1"} for p in paths}
    replace_identifiers(paths, deid=recipe, ids=ids, save=True, output_folder=out, overwrite=True)


def deid_get_then_replace(recipe_path: str, paths: list[str], out: str) -> None:
    from deid.config import DeidRecipe
    from deid.dicom import get_identifiers, replace_identifiers

    out = fresh(out)
    recipe = DeidRecipe(recipe_path)
    ids = get_identifiers(paths)
    for p in ids:
        ids[p]["id"] = "SUBJ-1"
    replace_identifiers(paths, deid=recipe, ids=ids, save=True, output_folder=out, overwrite=True)


def timings(
    workloads: Mapping[str, Callable[[], object]],
    rounds: int,
    *,
    once: frozenset[str] = frozenset(),
    setup: Mapping[str, Callable[[], object]] | None = None,
) -> dict[str, list[float]]:
    """Seconds per workload per round, the rounds interleaved round-robin so that a busy
    moment on the machine hits every workload alike (``once``: run those a single time;
    they are slow enough not to need more; ``setup``: by workload, what runs before each
    of its runs, untimed)."""
    times: dict[str, list[float]] = {name: [] for name in workloads}
    before = setup or {}
    for n in range(rounds):
        for name, fn in workloads.items():
            if name in once and n:
                continue
            if name in before:
                before[name]()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def best_of(workloads: Mapping[str, Callable[[], object]], rounds: int, *, once: frozenset[str] = frozenset()) -> dict[str, float]:
    """Seconds per workload: the fastest of ``rounds`` interleaved runs (see :func:`timings`)."""
    return {name: min(times) for name, times in timings(workloads, rounds, once=once).items()}


def paired_ratio(times: Mapping[str, list[float]], name: str, base: str = "floor") -> float:
    """The median over rounds of ``name``'s time over ``base``'s in the same round: steadier
    than a ratio of two minima on a machine whose speed drifts for seconds at a time."""
    return statistics.median(a / b for a, b in zip(times[name], times[base]))


def all_paths(root: str | os.PathLike) -> list[str]:
    return sorted(str(p) for p in Path(root).rglob("*.dcm"))


def machine() -> str:
    """The date and the machine a measurement was taken on, as printed above its tables."""
    import datetime
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    return (
        f"{datetime.date.today().isoformat()}, {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, pydicom {pydicom.__version__}, deidlang {deidlang.__version__}, "
        f"load average {os.getloadavg()[0]:.1f} at the start (other work on the machine slows every row alike)"
    )


def table(header: list[str], rows: list[list[str]], markdown: bool = False) -> str:
    """Rows under a header: aligned columns for a terminal, or a Markdown table (after a
    blank line, so that it never continues the paragraph above it)."""
    if markdown:
        lines = ["", "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def row(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([row(header), row(["-" * w for w in widths]), *map(row, rows)])
