"""``deidc test [PATH...] [--update] [--show-values]``: run recipe regression tests
(:mod:`deidlang.tools.recipetest`).

Exit status: 0 every case passed (or was updated), 1 a case failed or could
not be run, 2 no case found.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..tools import recipetest

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "test",
        help="run recipe regression tests: recipes applied to a file, compared element by element with the expected result",
        description=(
            "Find test cases (NAME.test.json / NAME.test.yaml) under each PATH (default: the current folder), apply "
            "each case's recipes to its DICOM file or dataset description as `deidc run` would, and compare every "
            "element's outcome, deciding line, shadowed lines and value with NAME.expected.json (the JSON of "
            "`deidc explain --format json --show-values`). Differences are printed per element, without values "
            "unless --show-values. --update writes the expected results after you have reviewed the change."
        ),
    )
    p.add_argument("paths", nargs="*", default=["."], metavar="PATH", help="case files or folders (default: .)")
    p.add_argument("--update", action="store_true", help="write each case's actual result as its expected result")
    p.add_argument("--show-values", action="store_true", help="print element values in the differences (identifying data)")
    p.set_defaults(handler=run)


def _write(path, text: str) -> None:
    from ..dicomio.atomic import WriteError, write_text
    from .common import CliError

    try:
        write_text(path, text, durable=False, what="expected result")
    except WriteError as err:
        raise CliError(str(err)) from None


def run(args: argparse.Namespace) -> int:
    from .common import CliError

    for given in args.paths:
        if not os.path.exists(given):
            raise CliError(f"'{given}' does not exist")
    cases = recipetest.discover(args.paths)
    if not cases:
        raise CliError(f"no test cases ({', '.join('*' + s for s in recipetest.SUFFIXES)}) under {', '.join(args.paths)}")
    counts = {"pass": 0, "fail": 0, "error": 0, "updated": 0}
    for path in cases:
        outcome = recipetest.run_case(path, update=args.update, show_values=args.show_values)
        counts[outcome.status] += 1
        shown = os.path.relpath(path)
        if outcome.status == "pass":
            print(f"PASS {shown}")
        elif outcome.status == "updated":
            _write(outcome.case.expected, recipetest.render_expected(outcome.actual))  # type: ignore[arg-type]  # an updated case has its result
            print(f"UPDATED {shown} -> {os.path.relpath(outcome.case.expected)}")
        elif outcome.status == "error":
            print(f"ERROR {shown}: {outcome.reason}")
        else:
            print(f"FAIL {shown}" + (f": {outcome.reason}" if outcome.reason else ""))
            for line in outcome.diff:
                print(f"    {line}")
    summary = f"{counts['pass']} passed, {counts['fail'] + counts['error']} failed"
    if counts["updated"]:
        summary += f", {counts['updated']} updated"
    print(summary, file=sys.stderr)
    return 1 if counts["fail"] or counts["error"] else 0
