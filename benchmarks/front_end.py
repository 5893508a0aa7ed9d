"""deidlang's front end on deid's default recipe against deid's own reading of it,
interleaved in one process.

    python -m benchmarks.front_end                      # 300 rounds, about 10 s
    python -m benchmarks.front_end --rounds 1000
    python -m benchmarks.front_end --base ../other-checkout   # also time another checkout's deidlang
    python -m benchmarks.front_end --cold 0             # no first-call figures

Workloads, each reading ``deid/data/deid.dicom`` (897 lines) from disk as deid does:

* ``deid load_deid``: deid 0.4.13 reads the recipe into its dict (no checks at all);
* ``deidlang parse``: the tree and the syntax diagnostics (:func:`deidlang.parse`);
* ``deidlang check``: parse and every check, as ``deidc check`` and the language server
  run them (:func:`deidlang.check`);
* ``... new lines``: the same, the parser's plans of the lines of earlier parses
  forgotten before each run (untimed): the cost for a text never parsed before. The
  other deidlang rows parse a text whose lines the process has seen (as the language
  server does on every change); every run still builds the whole tree and every
  diagnostic (the parser keeps per-line plans, never a tree: deidlang.lang.parser).

Rounds are interleaved round-robin (``harness.timings``), so that a busy moment on
the machine hits every workload alike. Printed per workload: the fastest round, the
median round, and the median over rounds of its time over deid's in the same round.
``--base DIR`` loads the ``deidlang`` package of another checkout under another name
(its modules import each other relatively) and times its parse and check in the same
rounds: before and after of a change, measured together.

Cold: the first call of each workload in a fresh process (``--cold N`` processes per
workload, 5 by default; the imports are done before the clock starts), printed as the
median. deidlang's first call also builds what later calls reuse: the grammar and its
fast path, pydicom's dictionary tables, and its caches of words and patterns (DICOM
keywords, criterion values) -- nothing that holds a parse: every call parses its text.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("MESSAGELEVEL", "QUIET")  # deid's logger


def deid_recipe() -> str:
    import deid

    return os.path.join(os.path.dirname(deid.__file__), "data", "deid.dicom")


def load_other(checkout: str, alias: str = "deidlang_base"):
    """The ``deidlang`` package of another checkout, imported as ``alias``; its ``api`` module."""
    init = Path(checkout).resolve() / "deidlang" / "__init__.py"
    spec = importlib.util.spec_from_file_location(alias, init, submodule_search_locations=[str(init.parent)])
    if spec is None or spec.loader is None:
        raise SystemExit(f"no deidlang package in {checkout}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    return importlib.import_module(f"{alias}.api")


def workloads(path: str, base=None) -> dict[str, Callable[[], object]]:
    from deid.config.utils import load_deid

    import deidlang

    def read() -> str:
        with open(path, encoding="utf-8") as fh:
            return fh.read()

    out: dict[str, Callable[[], object]] = {
        "deid load_deid": lambda: load_deid(path),
        "deidlang parse": lambda: deidlang.parse(read(), path="deid.dicom"),
        "deidlang check": lambda: deidlang.check(read(), path="deid.dicom"),
        "parse new lines": lambda: deidlang.parse(read(), path="deid.dicom"),
        "check new lines": lambda: deidlang.check(read(), path="deid.dicom"),
    }
    if base is not None:
        out["base parse"] = lambda: base.parse(read(), path="deid.dicom")
        out["base check"] = lambda: base.check(read(), path="deid.dicom")
    return out


def measure(rounds: int, base=None) -> dict[str, list[float]]:
    """Seconds per workload per round, interleaved; every workload runs a few times first
    (lru caches, the grammar, deid's imports) outside the measurement."""
    from benchmarks.harness import timings
    from deidlang.lang.parser import forget_lines

    work = workloads(deid_recipe(), base)
    for _ in range(5):
        for fn in work.values():
            fn()
    gc.collect()
    return timings(work, rounds, setup={"parse new lines": forget_lines, "check new lines": forget_lines})


def first_call(name: str, base: str | None = None) -> float:
    """Seconds of the first call of workload ``name`` in this process (see :func:`cold`)."""
    work = workloads(deid_recipe(), load_other(base) if base else None)[name]
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def cold(processes: int, base: str | None = None) -> dict[str, list[float]]:
    """Seconds of each workload's first call, each in ``processes`` fresh processes."""
    root = str(Path(__file__).resolve().parent.parent)
    names = ["deid load_deid", "deidlang parse", "deidlang check"] + (["base parse", "base check"] if base else [])
    out: dict[str, list[float]] = {name: [] for name in names}
    code = "import sys; from benchmarks.front_end import first_call; print(first_call(sys.argv[1], sys.argv[2] or None))"
    for _ in range(processes):
        for name in names:
            run = subprocess.run([sys.executable, "-c", code, name, base or ""], cwd=root, capture_output=True, text=True, check=True)
            out[name].append(float(run.stdout.split()[-1]))
    return out


def report(times: dict[str, list[float]]) -> str:
    base = times["deid load_deid"]
    rows = [("workload", "min ms", "median ms", "x deid (median of rounds)")]
    for name, t in times.items():
        ratio = statistics.median(a / b for a, b in zip(t, base))
        rows.append((name, f"{min(t) * 1e3:.2f}", f"{statistics.median(t) * 1e3:.2f}", f"{ratio:.2f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--base", metavar="DIR", help="another checkout whose deidlang is timed in the same rounds")
    ap.add_argument("--cold", type=int, default=5, metavar="N", help="fresh processes per workload for the first-call figures (0: none)")
    args = ap.parse_args(argv)
    base = load_other(args.base) if args.base else None
    times = measure(args.rounds, base)
    print(f"deid's default recipe ({deid_recipe()}), {args.rounds} interleaved rounds")
    print(report(times))
    if args.cold:
        firsts = cold(args.cold, str(Path(args.base).resolve()) if args.base else None)
        print(f"\nfirst call in a fresh process (median of {args.cold} processes per workload):")
        for name, t in firsts.items():
            print(f"  {name:<16}{statistics.median(t) * 1e3:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
