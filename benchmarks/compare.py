"""deidlang, deid 0.4.13 and the pydicom floor, side by side, with the ratios.

    python -m benchmarks.compare              # about 3 minutes on 2 cores
    python -m benchmarks.compare --quick      # about 40 s: fewer files, no jobs/memory sections

Sections (every workload reads files from disk and writes files to disk):

1. small files: files per second for the floor (pydicom read + write, nothing
   changed), the ``deidc run`` engine with deidlang's bundled default recipe and
   with deid's default recipe, and deid's ``replace_identifiers`` alone and after
   ``get_identifiers`` (deid's usual workflow) with deid's default recipe;
2. header size: apply alone on parsed datasets of 50, 500 and 5,000 elements
   (nested sequences included), as microseconds per element;
3. ``--jobs 1`` against ``--jobs 2`` on 1,000 files;
4. peak memory (RSS) of whole runs in fresh processes: small files, and files
   with ~48 MiB of pixel data.

Timings are the fastest of several interleaved rounds (see harness.timings); section 1
also gives the median over rounds of each workload's time over the floor's in the same
round, which is steadier when the machine's speed drifts.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import harness as h
from benchmarks.corpus import count_elements, write_corpus

SIZES = {50: 0, 500: 450, 5000: 4950}


def small_files(tmp: Path, files: int, rounds: int, with_deid: bool, markdown: bool = False) -> tuple[str, dict[str, float]]:
    root = tmp / "small"
    write_corpus(root, files, seed=42)
    paths = h.all_paths(root)
    deid_recipe = h.deid_recipe()
    default = h.load(h.DEIDLANG_DEFAULT)
    workloads = {
        "floor": lambda: h.floor(paths, str(tmp / "o-floor")),
        "default": lambda: h.deidlang_run(default, str(root), str(tmp / "o-default")),
    }
    if deid_recipe:
        deid_program = h.load(deid_recipe)
        workloads["deidlang-deid"] = lambda: h.deidlang_run(deid_program, str(root), str(tmp / "o-deidrecipe"))
        if with_deid:
            workloads["deid-replace"] = lambda: h.deid_replace(deid_recipe, paths, str(tmp / "o-deid1"))
            workloads["deid-get-replace"] = lambda: h.deid_get_then_replace(deid_recipe, paths, str(tmp / "o-deid2"))
    once = frozenset({"deid-replace", "deid-get-replace"})
    times = h.timings(workloads, rounds, once=once)
    best = {name: min(t) for name, t in times.items()}
    n = len(paths)
    floor = best["floor"]
    labels = {
        "floor": "pydicom read+write (the floor)",
        "default": "deidlang, bundled default recipe",
        "deidlang-deid": "deidlang, deid's default recipe",
        "deid-replace": "deid replace_identifiers, deid's recipe",
        "deid-get-replace": "deid get_identifiers + replace, deid's recipe",
    }
    rows = []
    for key, seconds in best.items():
        vs_deidlang = ""
        if key.startswith("deid-") and "deidlang-deid" in best:
            vs_deidlang = f"{seconds / best['deidlang-deid']:.1f}x slower"
        paired = f"{h.paired_ratio(times, key):.2f}" if key not in once else "-"
        rows.append([labels[key], f"{n / seconds:.0f}", f"{seconds * 1000 / n:.2f}", f"{seconds / floor:.2f}", paired, vs_deidlang])
    text = h.table(["workload", "files/s", "ms/file", "x floor", "x floor (median of rounds)", "than deidlang (same recipe)"], rows, markdown)
    return f"1. {n} small files (~3 KB, ~55 elements, 2 sequences, a private block)\n{text}", best


def header_sizes(tmp: Path, rounds: int, with_deid: bool, markdown: bool = False) -> str:
    import pydicom

    deid_recipe = h.deid_recipe() or h.DEIDLANG_DEFAULT
    program = h.load(deid_recipe)
    rows = []
    for size, extra in SIZES.items():
        root = tmp / f"size{size}"
        paths = [str(p) for p in write_corpus(root, 5, extra=extra, seed=size)]
        blobs = [Path(p).read_bytes() for p in paths]
        elements = count_elements(pydicom.dcmread(paths[0]))

        def parsed():
            out = [pydicom.dcmread(io.BytesIO(b)) for b in blobs]  # noqa: B023 - timed within this iteration
            for ds in out:
                count_elements(ds)  # every sequence parsed before timing
            return out

        best = float("inf")
        for _ in range(rounds):
            dss = parsed()
            start = time.perf_counter()
            for ds in dss:
                program.apply(ds, ids={"id": "SUBJ-1"})
            best = min(best, time.perf_counter() - start)
        per = best / len(blobs) / elements * 1e6
        deid_cell = ""
        if with_deid and h.deid_recipe() and size <= 500:
            from deid.config import DeidRecipe
            from deid.dicom import replace_identifiers

            recipe = DeidRecipe(deid_recipe)
            dss = parsed()
            start = time.perf_counter()
            replace_identifiers(dss, deid=recipe, save=False)
            deid_per = (time.perf_counter() - start) / len(dss) / elements * 1e6
            deid_cell = f"{deid_per:.1f}"
        rows.append([f"{elements}", f"{best / len(blobs) * 1000:.2f}", f"{per:.2f}", deid_cell])
    text = h.table(["elements", "deidlang ms/file", "deidlang us/element", "deid us/element"], rows, markdown)
    return f"2. apply alone, deid's default recipe, by header size (per-element cost should stay flat)\n{text}"


def jobs(tmp: Path, files: int, rounds: int, markdown: bool = False) -> str:
    root = tmp / "jobs"
    write_corpus(root, files, seed=7)
    paths = h.all_paths(root)
    default = h.load(h.DEIDLANG_DEFAULT)
    best = h.best_of(
        {
            "1": lambda: h.deidlang_run(default, str(root), str(tmp / "o-j1"), jobs=1),
            "2": lambda: h.deidlang_run(default, str(root), str(tmp / "o-j2"), jobs=2),
            "floor2": lambda: _floor_two_processes(paths, tmp / "o-f2"),
            "floor1": lambda: h.floor(paths, str(tmp / "o-f1")),
        },
        rounds,
    )
    n = len(paths)
    rows = [
        ["deidlang --jobs 1", f"{n / best['1']:.0f}", ""],
        ["deidlang --jobs 2", f"{n / best['2']:.0f}", f"{best['1'] / best['2']:.2f}x"],
        ["floor, 1 process", f"{n / best['floor1']:.0f}", ""],
        ["floor, 2 processes", f"{n / best['floor2']:.0f}", f"{best['floor1'] / best['floor2']:.2f}x"],
    ]
    return f"3. {n} files, bundled default recipe, {os.cpu_count()} cores\n" + h.table(["run", "files/s", "speed-up"], rows, markdown)


def _floor_two_processes(paths: list[str], out: Path) -> None:
    from concurrent.futures import ProcessPoolExecutor

    out = Path(h.fresh(out))
    half = len(paths) // 2
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(h.floor, [paths[:half], paths[half:]], [str(out / "a"), str(out / "b")]))


_MEMORY_SCRIPT = """
import resource, sys
sys.path.insert(0, {root!r})
from benchmarks import harness as h
mode, corpus, out = sys.argv[1:4]
paths = h.all_paths(corpus)
if mode == "deidlang":
    h.deidlang_run(h.load(h.DEIDLANG_DEFAULT), corpus, out)
elif mode == "floor":
    h.floor(paths, out)
elif mode == "deid":
    h.deid_replace(h.deid_recipe(), paths, out)
# VmHWM: this process's peak (ru_maxrss would carry the parent's peak across fork + exec)
with open("/proc/self/status") as fh:
    peak = [line.split()[1] for line in fh if line.startswith("VmHWM:")]
print(peak[0] if peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_mb(mode: str, corpus: Path, out: Path) -> float:
    script = _MEMORY_SCRIPT.format(root=str(Path(__file__).resolve().parent.parent))
    done = subprocess.run([sys.executable, "-c", script, mode, str(corpus), str(out)], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1]) / 1024


def memory(tmp: Path, files: int, with_deid: bool, markdown: bool = False) -> str:
    small = tmp / "mem-small"
    write_corpus(small, files, seed=11)
    large = tmp / "mem-large"
    write_corpus(large, 3, size="large", seed=12)
    size = max(p.stat().st_size for p in large.rglob("*.dcm")) / 2**20
    rows = []
    modes = ["floor", "deidlang"] + (["deid"] if with_deid and h.deid_recipe() else [])
    for mode in modes:
        small_peak = _peak_mb(mode, small, tmp / f"mo-{mode}")
        large_peak = _peak_mb(mode, large, tmp / f"ml-{mode}") if mode != "deid" else None
        rows.append([mode, f"{small_peak:.0f}", f"{large_peak:.0f}" if large_peak else "-"])
    return f"4. peak memory (RSS, MB) of a whole run in a fresh process: {files} small files; 3 files of {size:.0f} MiB\n" + h.table(
        ["tool", f"{files} small files", "3 large files"], rows, markdown
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=300, help="small files in section 1 (default 300)")
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds; the fastest counts (default 7)")
    ap.add_argument("--quick", action="store_true", help="100 files, 3 rounds, sections 1 and 2 only")
    ap.add_argument("--no-deid", action="store_true", help="leave deid out (it is slow)")
    ap.add_argument("--markdown", action="store_true", help="print the tables as Markdown (for the README)")
    args = ap.parse_args(argv)
    files, rounds = (100, 3) if args.quick else (args.files, args.rounds)
    with_deid = not args.no_deid and h.deid_recipe() is not None
    with tempfile.TemporaryDirectory(prefix="deidlang-bench-") as tmp_name:
        tmp = Path(tmp_name)
        md = args.markdown
        print(f"deidlang benchmarks: {h.machine()}\n", flush=True)
        text, best = small_files(tmp, files, rounds, with_deid, md)
        print(text + "\n", flush=True)
        print(header_sizes(tmp, rounds, with_deid, md) + "\n", flush=True)
        if not args.quick:
            print(jobs(tmp, 1000, 3, md) + "\n", flush=True)
            print(memory(tmp, 1000, with_deid, md) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
