"""Memory over a long ``deidc run``: is it flat?

    python -m benchmarks.long_run                  # 100,000 files (~4 min on 2 cores with --jobs 2)
    python -m benchmarks.long_run --files 20000 --jobs 1

A corpus of ``--distinct`` generated small files is linked (hard links, so it
costs no disk) into ``--files`` input paths in folders of 1,000; ``deidc run``
with the bundled default recipe processes them in a fresh process while this
script samples the resident memory (RSS) of that process and its workers every
half second from /proc (Linux). It prints the RSS at each tenth of the run and
the peak, the throughput, and the size of the run manifest, which is the only
thing that grows with the number of files (one line per file, streamed to
disk).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import harness as h
from benchmarks.corpus import write_corpus


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            kids = [int(p) for p in fh.read().split()]
    except OSError:
        return []
    return kids + [g for k in kids for g in _children(k)]


def _rss_mb(pid: int) -> tuple[float, float]:
    """RSS in MB of ``pid`` and of all its descendants (the workers)."""
    sizes = []
    for p in [pid, *_children(pid)]:
        kb = 0
        try:
            with open(f"/proc/{p}/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        kb = int(line.split()[1])
        except OSError:
            pass
        sizes.append(kb / 1024)
    return sizes[0], sum(sizes[1:])


def _count(out: Path) -> int:
    manifest = out / "deidlang-manifest.jsonl"
    try:
        with open(manifest, "rb") as fh:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    except OSError:
        return 0


def build(root: Path, files: int, distinct: int) -> None:
    source = root / "distinct"
    write_corpus(source, distinct, seed=5)
    originals = sorted(source.rglob("*.dcm"))
    inputs = root / "in"
    for n in range(files):
        folder = inputs / f"d{n // 1000:04d}"
        if n % 1000 == 0:
            folder.mkdir(parents=True)
        os.link(originals[n % len(originals)], folder / f"f{n:06d}.dcm")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--distinct", type=int, default=1_000)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    if not Path("/proc/self/status").exists():
        print("needs Linux /proc", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="deidlang-long-") as tmp_name:
        tmp = Path(tmp_name)
        start = time.perf_counter()
        build(tmp, args.files, args.distinct)
        print(f"corpus: {args.files:,} files ({args.distinct:,} distinct) in {time.perf_counter() - start:.0f} s", flush=True)
        key = tmp / "key"
        key.write_text(h.BENCH_KEY, encoding="ascii")
        out = tmp / "out"
        cmd = [sys.executable, "-m", "deidlang", "run", "--input", str(tmp / "in"), "--output", str(out), "--jobs", str(args.jobs), "--key-file", str(key)]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        samples: list[tuple[int, float, float]] = []
        while proc.poll() is None:
            main_rss, workers_rss = _rss_mb(proc.pid)
            if main_rss:
                samples.append((_count(out), main_rss, workers_rss))
            time.sleep(0.5)
        seconds = time.perf_counter() - start
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        if proc.returncode != 0:
            print(err, file=sys.stderr)
            return 1
        done = _count(out)
        manifest = (out / "deidlang-manifest.jsonl").stat().st_size / 2**20
        print(f"deidc run --jobs {args.jobs}: {done:,} files in {seconds:.0f} s ({done / seconds:.0f} files/s); manifest {manifest:.0f} MB on disk")
        print("files done  RSS (MB): deidc  its workers  together")
        marks = [args.files * k // 10 for k in range(1, 10)] + [args.files - args.files // 100]
        for mark in marks:
            at = next(((m, w) for n, m, w in samples if n >= mark), None)
            if at is not None:
                print(f"{mark:>10,}  {at[0]:>12.0f}  {at[1]:>11.0f}  {at[0] + at[1]:>8.0f}")
        print(f"peak        {max(m for _, m, _ in samples):>12.0f}  {max(w for _, _, w in samples):>11.0f}  {max(m + w for _, m, w in samples):>8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
