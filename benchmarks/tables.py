"""Lookup tables at scale: a table of a million rows (load time, memory held, shared by
worker processes) and the per-file cost of lookups over 1,000 small files.

    python -m benchmarks.tables                  # ~2 min: the figures of docs/language.md
    python -m benchmarks.tables --rows 100000 --files 200 --rounds 3   # quicker

* **load**: a fresh process reads the CSV (1,000,000 rows: PatientID, subject_id,
  day_offset; keys in random order) and builds the PatientID index; seconds and
  the memory it then holds (resident set after minus before, from /proc);
* **per file**: the batch engine (``deidc run --jobs 1``'s) over the files, each
  workload timed in interleaved rounds (wall and CPU time), as the median of the
  per-round ratios to the same run without a table: the bundled recipe with its
  PatientID from the table instead of its keyed ``hashid``; PatientID,
  PatientName and StudyDate from the table against the same three lines keyed
  (``hashid``, ``hashid``, ``dateshift``); and a table recipe applied before the
  bundled recipe (the README's worked example) against the same recipe with
  keyed values (a second recipe pass costs what it costs with or without a
  table: that pair is also compared with the bundled recipe alone). The table
  is loaded once, outside the timing;
* **sharing**: ``deidc run --jobs 2`` over the files, with and without the table;
  each worker's memory is sampled from ``/proc/PID/smaps_rollup`` while it runs:
  a worker's private memory is what it does not share with the parent.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pydicom

from benchmarks.corpus import write_corpus

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "deidlang" / "data" / "default.dicom"
TABLE_RECIPE = """FORMAT dicom

%header
KEEP PatientID deid_func:lookup table=subjects key=PatientID column=subject_id
KEEP PatientName deid_func:lookup table=subjects key=PatientID column=subject_id
KEEP StudyDate deid_func:dateshift table=subjects key=PatientID column=day_offset
"""
#: The same recipe without a table: keyed pseudonyms and offsets.
KEYED_RECIPE = """FORMAT dicom

%header
KEEP PatientID deid_func:hashid
KEEP PatientName deid_func:hashid
KEEP StudyDate deid_func:dateshift
"""


def write_table(path: Path, keys: list[str], rows: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    filler = [f"F{i:08d}" for i in range(rows - len(keys))]
    every = keys + filler
    rnd.shuffle(every)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["PatientID", "subject_id", "day_offset"])
        for i, key in enumerate(every):
            writer.writerow([key, f"SUB-{i:07d}", rnd.randint(-365, 365)])


_LOAD = """
import gc, json, sys, time, tracemalloc
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
from deidlang.tables import load_tables
traced = sys.argv[2] == "traced"
gc.collect()
if traced:
    tracemalloc.start()
before = rss()
start, cpu = time.perf_counter(), time.process_time()
tables = load_tables({"subjects": sys.argv[1]})
loaded, loaded_cpu = time.perf_counter(), time.process_time()
tables.prepare([("subjects", "PatientID")])
done, done_cpu = time.perf_counter(), time.process_time()
gc.collect()
after = rss()
live, peak = tracemalloc.get_traced_memory() if traced else (0, 0)
t = tables["subjects"]
print(json.dumps({"read": loaded - start, "index": done - loaded, "total": done - start, "cpu": done_cpu - cpu,
                  "read_cpu": loaded_cpu - cpu, "index_cpu": done_cpu - loaded_cpu, "rss_growth": after - before,
                  "live": live, "peak": peak, "cells": t.nbytes(), "rows": t.rows}))
"""


def measure_load(table: Path, rounds: int, traced: bool = False) -> list[dict]:
    """Fresh processes; ``traced``: under tracemalloc (slower: for the memory figures only)."""
    out = []
    for _ in range(rounds):
        argv = [sys.executable, "-c", _LOAD, str(table), "traced" if traced else "timed"]
        out.append(json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout))
    return out


def _programs(texts: list[str], tables):
    import deidlang
    from deidlang.runtime import extras, keyed, keys

    key = keys.key_from_text("benchmark-key-0123456789abcdef")
    compiled = [deidlang.compile(t, path=f"recipe{i}.dicom", tables=tables) for i, t in enumerate(texts)]
    return tuple(keyed.bind(p, key) for p in extras.chain(compiled))


def _engine(programs, tables, root: Path, out: Path) -> None:
    import shutil

    from deidlang import engine as batch

    shutil.rmtree(out, ignore_errors=True)
    options = batch.Options(output=str(out), tables=tables, layout="pseudonym")
    job = batch.Job(programs, str(out), inputs=(str(root),), options=options, jobs=1)
    prepared = batch.prepare(job)
    for _ in prepared.results():
        pass
    assert prepared.summary.failed == 0, "benchmark files must not fail"


def _lines(text: str, table: bool) -> str:
    """The bundled recipe with PatientID, PatientName and StudyDate given values: from the
    table, or (``table=False``) keyed (hashid, hashid, dateshift) as without a table."""
    if table:
        pid = "REPLACE PatientID deid_func:lookup table=subjects key=PatientID column=subject_id"
        name = "REPLACE PatientName deid_func:lookup table=subjects key=PatientID column=subject_id"
        date = "JITTER StudyDate deid_func:lookup table=subjects key=PatientID column=day_offset"
    else:
        pid, name, date = "REPLACE PatientID deid_func:hashid", "REPLACE PatientName deid_func:hashid", "REPLACE StudyDate deid_func:dateshift"
    out = text.replace("REPLACE PatientID deid_func:hashid", pid).replace("BLANK PatientName", name).replace("BLANK StudyDate", date)
    assert out.count(pid) == 1 and out.count(name) == 1 and out.count(date) == 1, "the bundled recipe's lines changed: update the benchmark"
    return out


def per_file(root: Path, table: Path, tmp: Path, rounds: int, files: int) -> dict:
    from deidlang.tables import load_tables

    tables = load_tables({"subjects": str(table)})
    bundled = BUNDLED.read_text(encoding="utf-8")
    one = bundled.replace("REPLACE PatientID deid_func:hashid", "REPLACE PatientID deid_func:lookup table=subjects key=PatientID column=subject_id")
    tables.prepare([("subjects", "PatientID")])
    # name: (programs, tables, the workload it is compared with)
    workloads = {
        "bundled recipe": (_programs([bundled], None), None, None),
        "bundled recipe, PatientID from the table (not hashid)": (_programs([one], tables), tables, "bundled recipe"),
        "bundled recipe, 3 lines keyed (hashid, hashid, dateshift)": (_programs([_lines(bundled, False)], None), None, "bundled recipe"),
        "bundled recipe, the same 3 lines from the table": (
            _programs([_lines(bundled, True)], tables),
            tables,
            "bundled recipe, 3 lines keyed (hashid, hashid, dateshift)",
        ),
        "keyed recipe + bundled recipe (the same KEEP lines, keyed)": (_programs([KEYED_RECIPE, bundled], None), None, "bundled recipe"),
        "table recipe + bundled recipe (the README's example)": (
            _programs([TABLE_RECIPE, bundled], tables),
            tables,
            "keyed recipe + bundled recipe (the same KEEP lines, keyed)",
        ),
    }
    jobs = {name: (lambda p=p, t=t, n=n: _engine(p, t, root, tmp / f"out{n}")) for n, (name, (p, t, _)) in enumerate(workloads.items())}
    wall: dict[str, list[float]] = {name: [] for name in workloads}
    cpu: dict[str, list[float]] = {name: [] for name in workloads}
    for fn in jobs.values():  # warm-up (imports, caches, the page cache): not timed
        fn()
    for _ in range(rounds):  # interleaved, so that a busy moment on the machine hits every workload alike
        for name, fn in jobs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    out = {}
    for name, (_, _, base) in workloads.items():
        base = base or name
        out[name] = {
            "base": base,
            "ms_per_file": 1000 * statistics.median(wall[name]) / files,
            "cpu_ms_per_file": 1000 * statistics.median(cpu[name]) / files,
            "ratio": statistics.median(a / b for a, b in zip(wall[name], wall[base])),
            "cpu_ratio": statistics.median(a / b for a, b in zip(cpu[name], cpu[base])),
        }
    sample = pydicom.dcmread(next((tmp / "out1").rglob("*.dcm")))
    assert str(sample.PatientID).startswith("SUB-"), "the values came from the table"
    return out


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                found += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return found


def _smaps(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3 and parts[1].isdigit():
                    out[parts[0].rstrip(":")] = int(parts[1]) * 1024
    except OSError:
        return {}
    return out


def sharing(root: Path, table: Path, recipe: Path, tmp: Path) -> dict:
    """Peak per-worker memory of `deidc run --jobs 2`, with and without the table."""
    deidc = [sys.executable, "-m", "deidlang"]
    env = dict(os.environ, DEIDLANG_KEY="benchmark-key-0123456789abcdef")
    runs = {
        "without table": [*deidc, "run", "--input", str(root), "--output", str(tmp / "s1"), "--jobs", "2"],
        "with table": [
            *deidc,
            "run",
            "--recipe",
            str(recipe),
            "--recipe",
            str(BUNDLED),
            "--input",
            str(root),
            "--output",
            str(tmp / "s2"),
            "--jobs",
            "2",
            "--table",
            f"subjects={table}",
        ],
    }
    result = {}
    for name, argv in runs.items():
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        peak: dict[int, dict] = {}
        parent_peak = 0
        while proc.poll() is None:
            parent_peak = max(parent_peak, _smaps(proc.pid).get("Rss", 0))
            for child in _children(proc.pid):
                m = _smaps(child)
                if not m:
                    continue
                private = m.get("Private_Clean", 0) + m.get("Private_Dirty", 0)
                old = peak.get(child)
                if old is None or private > old["private"]:
                    peak[child] = {
                        "rss": m.get("Rss", 0),
                        "pss": m.get("Pss", 0),
                        "private": private,
                        "shared": m.get("Shared_Clean", 0) + m.get("Shared_Dirty", 0),
                    }
            time.sleep(0.05)
        assert proc.returncode == 0, f"{name}: exit {proc.returncode}"
        result[name] = {"parent_rss": parent_peak, "workers": list(peak.values())}
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    mb = 1 << 20
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        paths = write_corpus(tmp / "corpus", args.files, seed=99)
        keys = sorted({str(pydicom.dcmread(p).PatientID) for p in paths})
        table = tmp / "subjects.csv"
        write_table(table, keys, args.rows)
        recipe = tmp / "tables.dicom"
        recipe.write_text(TABLE_RECIPE, encoding="utf-8")
        print(f"table: {args.rows:,} rows, {table.stat().st_size / mb:.1f} MB of CSV; corpus: {args.files} small files")

        loads = measure_load(table, 5)
        med = lambda key: statistics.median(x[key] for x in loads)  # noqa: E731
        walls = ", ".join(f"{x['total']:.2f}" for x in loads)
        cpus = ", ".join(f"{x['cpu']:.2f}" for x in loads)
        print(
            f"load (read + index), fresh process, 5 runs: wall {walls} s; CPU {cpus} s (median read {med('read_cpu'):.2f} + index {med('index_cpu'):.2f} s CPU)"
        )
        traced = measure_load(table, 1, traced=True)[0]
        print(
            f"memory held after load: {traced['live'] / mb:.0f} MB live (tracemalloc; cells and offsets "
            f"{traced['cells'] / mb:.0f} MB, the rest the PatientID index); peak while loading {traced['peak'] / mb:.0f} MB; "
            f"resident set grew by {med('rss_growth') / mb:.0f} MB (freed memory the allocator keeps included)"
        )

        costs = per_file(tmp / "corpus", table, tmp, args.rounds, args.files)
        for name, c in costs.items():
            versus = (
                ""
                if c["base"] == name
                else (f" ({(c['ratio'] - 1) * 100:+.1f}% wall, {(c['cpu_ratio'] - 1) * 100:+.1f}% CPU vs '{c['base']}'; medians of per-round ratios)")
            )
            print(f"per file: {name}: {c['ms_per_file']:.2f} ms wall, {c['cpu_ms_per_file']:.2f} ms CPU{versus}")

        shared = sharing(tmp / "corpus", table, recipe, tmp)
        for name, s in shared.items():
            workers = ", ".join(f"RSS {w['rss'] / mb:.0f} MB / private {w['private'] / mb:.0f} MB / shared {w['shared'] / mb:.0f} MB" for w in s["workers"])
            print(f"deidc run --jobs 2 {name}: parent peak RSS {s['parent_rss'] / mb:.0f} MB; workers (peak): {workers}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
