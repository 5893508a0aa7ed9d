"""``deidc verify --original IN --deidentified OUT``: search de-identified files for
identifying values of their originals (:mod:`deidlang.engine.verify`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .common import CliError, count, ocr_settings
from .explain import EXPLAIN_FORMATS


def register(sub: Any) -> None:
    """``deidc verify``: its arguments, beside its code (docs/explain-verify.md)."""
    p = sub.add_parser(
        "verify",
        help="search de-identified files for identifying values of their originals",
        description=(
            "Harvest identifying values from the originals (names and their parts, IDs, dates in common "
            "formats, UIDs, addresses, phone numbers, institution and station names, free-text words) and "
            "search every element of each de-identified file (sequences, private blocks, file meta) and its "
            "raw bytes for them, and the names of its path (a folder or file name that holds one is a leak; "
            "such names are masked in the report). Outputs pair with originals through the run manifest "
            "when there is one (with the run's key), else by relative path. Each leak is printed with file, element and the kind of value; values "
            "only with --show-values. Exit status: 0 no leak, 1 leaks (or files that could not be verified), "
            "2 usage error."
        ),
    )
    p.add_argument("--original", required=True, metavar="IN", help="the original DICOM file or directory")
    p.add_argument("--deidentified", required=True, metavar="OUT", help="the de-identified file or directory (a `deidc run` output)")
    p.add_argument("--format", choices=EXPLAIN_FORMATS, default="text", help="output format (default: text)")
    p.add_argument("--show-values", action="store_true", help="also print the leaked values (identifying data)")
    p.add_argument(
        "--key-file",
        metavar="PATH",
        help="the run's secret key: its manifest names inputs by keyed digests (default: $DEIDLANG_KEY, $DEIDLANG_KEY_FILE, else the user key file)",
    )
    p.add_argument(
        "--pixels",
        action="store_true",
        help="also read each output's pixels with OCR and report identifying text found there (pip install 'deidlang[ocr]')",
    )
    p.add_argument("--ocr-frames", type=int, default=8, metavar="N", help="with --pixels: frames read in a multi-frame image (default 8)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..engine import verify as verifying
    from ..lang.diagnostics import DeidlangError

    for given, what in ((args.original, "--original"), (args.deidentified, "--deidentified")):
        if not os.path.exists(given):
            raise CliError(f"{what} '{given}' does not exist")
    try:
        key = None
        if args.key_file:
            from ..runtime import keys

            key = keys.key_from_file(args.key_file)
        pixels = ocr_settings(args)  # --pixels (deidlang/ocr)
        report = verifying.verify_tree(args.original, args.deidentified, key=key, show_values=args.show_values, pixels=pixels)
    except DeidlangError as err:
        raise CliError(str(err)) from None
    if not report.files and not report.unpaired:
        raise CliError(f"no DICOM output found under '{args.deidentified}'")
    if args.format == "json":
        sys.stdout.write(json.dumps(report.as_dict(args.show_values), indent=2, ensure_ascii=False) + "\n")
        return 0 if report.ok else 1
    lines: list[str] = []
    for check in report.files:
        if check.error:
            lines.append(f"unverified: {check.output}: {check.error}")
            continue
        if not check.leaks:
            continue
        lines.append(f"{check.output}: {count(len(check.leaks), 'leak')} (original {check.original})")
        by_element: dict[tuple[str, str], list] = {}
        for leak in check.leaks:
            by_element.setdefault((leak.element, leak.path), []).append(leak)
        for (element, path), leaks in by_element.items():
            where = element if path == element else f"{element} {path}"
            kinds: dict[str, None] = {}
            for leak in leaks:
                for kind, source in zip(leak.kinds, leak.sources):
                    if source == element:
                        kinds[f"{kind} (left in place)"] = None
                    elif not leak.in_place:  # a value left in place is not also reported as a copy
                        kinds[f"{kind} (from {source})"] = None
            lines.append(f"  {where}: {'; '.join(kinds)}")
            if args.show_values:
                lines.append("    values: " + ", ".join(f"'{leak.value}'" for leak in leaks))
    for out in report.unpaired:
        lines.append(f"unverified: {out}: no original at the same relative path under '{args.original}'")
    leaky = sum(1 for f in report.files if f.leaks)
    errors = sum(1 for f in report.files if f.error)
    checked = len(report.files) - errors
    summary = f"verify: {count(checked, 'file')} checked"
    if report.ok:
        summary += ": no identifying value of the originals was found"
    else:
        summary += f", {leaky} with leaks ({count(len(report.leaks), 'leak')})"
        if errors or report.unpaired:
            summary += f", {errors + len(report.unpaired)} could not be verified"
    if report.skipped:
        summary += f"; {count(len(report.skipped), 'other file')} (reports, not DICOM) skipped"
    lines.append(summary)
    sys.stdout.write("\n".join(lines) + "\n")
    return 0 if report.ok else 1
