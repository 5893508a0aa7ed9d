"""deidlang's front end on deid's default recipe against deid's own reading of it,
interleaved in one process.

    python -m benchmarks.front_end                      # 300 rounds, about 10 s
    python -m benchmarks.front_end --rounds 1000
    python -m benchmarks.front_end --base ../other-checkout   # also time another checkout's deidlang

Workloads, each reading ``deid/data/deid.dicom`` (897 lines) from disk as deid does:

* ``deid load_deid``: deid 0.4.13 reads the recipe into its dict (no checks at all);
* ``deidlang parse``: the tree and the syntax diagnostics (:func:`deidlang.parse`);
* ``deidlang check``: parse and every check, as ``deidc check`` and the language server
  run them (:func:`deidlang.check`).

Rounds are interleaved round-robin (``harness.timings``), so that a busy moment on
the machine hits every workload alike. Printed per workload: the fastest round, the
median round, and the median over rounds of its time over deid's in the same round.
``--base DIR`` loads the ``deidlang`` package of another checkout under another name
(its modules import each other relatively) and times its parse and check in the same
rounds: before and after of a change, measured together.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import statistics
import sys
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
    }
    if base is not None:
        out["base parse"] = lambda: base.parse(read(), path="deid.dicom")
        out["base check"] = lambda: base.check(read(), path="deid.dicom")
    return out


def measure(rounds: int, base=None) -> dict[str, list[float]]:
    """Seconds per workload per round, interleaved; every workload runs a few times first
    (lru caches, the grammar, deid's imports) outside the measurement."""
    from benchmarks.harness import timings

    work = workloads(deid_recipe(), base)
    for _ in range(5):
        for fn in work.values():
            fn()
    gc.collect()
    return timings(work, rounds)


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
    args = ap.parse_args(argv)
    base = load_other(args.base) if args.base else None
    times = measure(args.rounds, base)
    print(f"deid's default recipe ({deid_recipe()}), {args.rounds} interleaved rounds")
    print(report(times))
    return 0


if __name__ == "__main__":
    sys.exit(main())
