"""The command line's table options, for the ``deidc`` commands (each hook there is one call).

``--table NAME=PATH`` (repeatable) on ``check``, ``run``, ``explain``;
``--on-missing fail|quarantine|hash`` and ``--linkage PATH`` on ``run`` (and
``--on-missing`` on ``explain``); ``--input`` and ``--show-values`` on
``check`` (inputs without a row); ``--keys``, ``--format`` and
``--columns`` on ``identifiers``. Errors are the command line's ``CliError``
(exit 2). Reading the tables is :func:`deidlang.cli.common.tables_of` (the language
server and ``deidc serve`` read them too).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Iterable, Mapping, Sequence

from .. import engine
from ..checks.tables import uses_table
from ..dicomio.atomic import WriteError, atomic_write
from ..engine import preflight
from ..lang.parser import parse
from ..runtime.builtins import BadArgument, make_builtin
from ..tables.coverage import render, survey
from ..tables.keys import BadKey
from ..tables.linkage import refuse_inside
from ..tables.record import FileRecord, lookup_of, uses
from ..tables.store import OnMissing, TableError
from ..tables.template import Template
from .common import CliError, read_recipe, tables_of

__all__ = [
    "add_table_option",
    "add_on_missing",
    "add_run_options",
    "add_check_options",
    "add_identifiers_options",
    "run_options",
    "job_options",
    "apply_options",
    "check_inputs",
    "dry_run_report",
    "print_run_summary",
    "identifiers_table",
]

POLICIES = tuple(p.value for p in OnMissing)


# --------------------------------------------------------------------------- arguments


def add_table_option(parser: Any) -> None:
    """``--table NAME=PATH`` on a parser or an argument group."""
    parser.add_argument(
        "--table",
        action="append",
        metavar="NAME=PATH",
        help="a lookup table for deid_func:lookup (repeatable): CSV or TSV with a header row, JSON (a list of objects) or SQLite (PATH#TABLE)",
    )


def add_on_missing(parser: Any) -> None:
    """``--on-missing POLICY`` on a parser or an argument group."""
    parser.add_argument(
        "--on-missing",
        choices=POLICIES,
        default=None,
        metavar="POLICY",
        help="a file whose key has no row in a table: fail (default; nothing is written for it), quarantine "
        "(held in the quarantine folder, written with keyed fallbacks) or hash (the keyed pseudonym of the key, "
        "recorded in the manifest)",
    )


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """``deidc run``: --table, --on-missing, --linkage."""
    group = parser.add_argument_group("lookup tables (deid_func:lookup)")
    add_table_option(group)
    add_on_missing(group)
    group.add_argument(
        "--linkage",
        metavar="PATH",
        help="write what every table and keyed pseudonym stands for (kind, original, replacement, first file) to PATH "
        "(.csv, or .sqlite/.db), mode 0600, outside the output folder: identifying data, for the honest broker only",
    )


def add_explain_options(parser: argparse.ArgumentParser) -> None:
    """``deidc explain``: --table, --on-missing."""
    add_table_option(parser)
    add_on_missing(parser)


def add_check_options(parser: argparse.ArgumentParser) -> None:
    """``deidc check``: --table, and --input/--show-values for the inputs without a row."""
    add_table_option(parser)
    parser.add_argument("--input", action="append", metavar="PATH", help="with --table: say which of these DICOM files or folders have no row (repeatable)")
    parser.add_argument("--show-values", action="store_true", help="with --input: also print each missing key's value (identifying data)")
    parser.add_argument("--force", action="store_true", help="with --input: read files that lack the DICOM preamble")


def add_identifiers_options(parser: argparse.ArgumentParser) -> None:
    """``deidc identifiers``: --keys, --format, --columns."""
    parser.add_argument("--keys", metavar="K1,K2", help="write a table with one row per distinct combination of these elements (with --format csv)")
    parser.add_argument("--format", choices=("json", "csv"), default="json", help="json: every element of every file (the ids); csv: the table of --keys")
    parser.add_argument(
        "--columns", metavar="C1,C2", help="with --keys: empty columns to fill in (default: the columns the --recipe's lookups read, else subject_id)"
    )


# --------------------------------------------------------------------------- the tables


def run_options(args: Any) -> dict[str, Any]:
    """``engine.Options`` keywords: the tables (None when none were given) and whether to
    collect linkage rows."""
    return {"tables": tables_of(args, applying=True) or None, "linkage": bool(getattr(args, "linkage", None))}


def job_options(args: Any) -> dict[str, Any]:
    """``engine.Job`` keywords: the linkage file (refused inside the output folder)."""
    path = getattr(args, "linkage", None)
    if not path:
        return {}
    try:
        refuse_inside(path, os.path.abspath(args.output))
    except TableError as err:
        raise CliError(str(err)) from None
    return {"linkage": path}


def apply_options(args: Any, ds: Any, programs: Sequence) -> dict[str, Any]:
    """``Program.apply`` keywords for one file (explain, dry run): the tables, and a record
    that holds the original keys of every recipe (read before any of them runs)."""
    tables = tables_of(args, applying=True)
    if tables is None or not (len(tables) or uses(programs)):
        return {}
    return {"tables": tables, "record": FileRecord().remember(ds, programs)}


# --------------------------------------------------------------------------- inputs without a row


def _uses_of_texts(texts: Mapping[str, str]) -> list:
    found: dict = {}
    for path, text in texts.items():
        for section in parse(text, path=path).recipe.sections:
            if section.kind != "header":
                continue
            for line in section.body:
                v = line.value
                if not uses_table(v):
                    continue
                try:
                    use = lookup_of(make_builtin(v.name, [(a.name, a.value) for a in v.args], v.text))
                except (BadArgument, BadKey):
                    continue
                if use is not None:
                    found.setdefault(use, None)
    return list(found)


def _datasets(items: Iterable[tuple[str, str]], force: bool):
    """``(name, dataset)`` per input, or ``(name, reason)`` when it cannot be read."""
    for name, source in items:
        try:
            ds = engine.read_input(source, force=force, stop_before_pixels=True)[0]
        except engine.InputError as err:
            yield name, str(err)
        except Exception as err:  # noqa: BLE001 - a damaged file; its own message could quote data
            yield name, f"not DICOM, or damaged ({type(err).__name__})"
        else:
            yield name, ds


def check_inputs(args: Any, texts: Mapping[str, str]) -> int:
    """``deidc check --table ... --input DIR``: print which inputs have no row; 1 when some have none."""
    inputs = getattr(args, "input", None)
    if not inputs:
        return 0
    tables = tables_of(args)
    if tables is None:
        raise CliError("--input says which inputs have no row in the tables: give the tables with --table NAME=PATH")
    try:
        roots = engine.roots(inputs)
    except engine.BatchError as err:
        raise CliError(str(err)) from None
    items = ((engine.display(root, source), source) for root in roots for source in engine.walk(root, ""))
    coverage = survey(_uses_of_texts(texts), tables, _datasets(items, bool(getattr(args, "force", False))))
    for line in render(coverage, show_values=bool(getattr(args, "show_values", False))):
        print(line)
    return 1 if coverage.missing else 0


def dry_run_report(args: Any, tasks: Sequence, programs: Sequence) -> None:
    """``deidc run --dry-run``: the inputs without a row, after the files' lines."""
    tables = tables_of(args, applying=True)
    found = uses(programs)
    if tables is None or not found:
        return
    items = ((t.display, t.source) for t in tasks if not t.refused)
    coverage = survey(found, tables, _datasets(items, bool(getattr(args, "force", False))))
    policy = tables.on_missing.value
    lines = render(coverage, show_values=bool(getattr(args, "show_values", False)))
    if coverage.missing:
        lines[0] += (
            f" (--on-missing {policy}: "
            + {
                "fail": "they would fail, unwritten)",
                "quarantine": "they would be held in the quarantine folder)",
                "hash": "they would get keyed fallbacks)",
            }[policy]
        )
    for line in lines:
        print(line)


def print_run_summary(args: Any, run: Any) -> None:
    """The run summary's lines about tables and the linkage file."""
    summary = run.summary
    tables = run.job.options.tables
    if summary.fallbacks and tables is not None and tables.on_missing is OnMissing.HASH:
        print(
            f"{summary.fallbacks} file{'s' if summary.fallbacks != 1 else ''} had no row in a table and got keyed fallbacks "
            "(--on-missing hash; the manifest names the table and key element)"
        )
    linkage = getattr(run, "linkage", None)
    if linkage is not None:
        print(
            f"linkage: {linkage.added} new row{'s' if linkage.added != 1 else ''} in {linkage.path} "
            "(identifying data, readable by you only: for whoever may re-link findings, never with the outputs)"
        )
        conflicts = linkage.conflicts
        if conflicts:
            total = sum(conflicts.values())
            kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(conflicts.items()))
            print(
                f"linkage: warning: {total} original value{'s' if total != 1 else ''} got another replacement than the one "
                f"{linkage.path} holds for {'them' if total != 1 else 'it'} ({kinds}); the file keeps the first, so those outputs "
                "cannot be linked back through it: did the table, the recipe or the key change since it was written?"
            )


# --------------------------------------------------------------------------- identifiers --keys


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def identifiers_table(args: Any) -> int:
    """``deidc identifiers --keys ... --format csv --output FILE.csv``."""
    keys = _split(getattr(args, "keys", None))
    if not keys:
        raise CliError("--format csv writes the table of --keys: e.g. --keys PatientID,AccessionNumber")
    if args.format != "csv":
        raise CliError("--keys writes a table: add --format csv")
    output = args.output
    if os.path.exists(output) and not args.overwrite:
        raise CliError(f"'{output}' exists (it may hold your edits); use --overwrite to replace it")
    columns = _split(getattr(args, "columns", None))
    if not columns and getattr(args, "recipe", None):
        found = _uses_of_texts({args.recipe: read_recipe(args.recipe)})
        columns = [value for _t, path, key_column, value in found if key_column in keys or path.text in keys]
    try:
        template = Template(keys, columns or ["subject_id"])
    except (BadKey, ValueError) as err:
        raise CliError(f"--keys: {err}") from None
    try:
        roots = engine.roots(getattr(args, "input", None))
    except engine.BatchError as err:
        raise CliError(str(err)) from None
    out_real = os.path.realpath(output)
    failed = 0
    for root in roots:
        items = ((engine.display(root, source), source) for source in engine.walk(root, out_real))
        for name, ds in _datasets(items, bool(getattr(args, "force", False))):
            if isinstance(ds, str):
                failed += 1
                print(f"deidc: failed: {name}: {ds}", file=sys.stderr)
                continue
            template.add(ds)
    preflight.check_found(template.files + failed, getattr(args, "input", None) or ())
    try:
        with atomic_write(output, "w", durable=False, private=True) as fh:
            for text in template.lines():
                fh.write(text)
    except (WriteError, OSError) as err:
        raise CliError(f"cannot write '{output}': {getattr(err, 'strerror', None) or err}") from None
    rows = len(template.rows)
    print(
        f"wrote {rows} row{'s' if rows != 1 else ''} (one per distinct {', '.join(template.keys)}) from "
        f"{template.files} file{'s' if template.files != 1 else ''} to {output}" + (f" ({failed} failed)" if failed else "")
    )
    if template.keyless:
        print(f"{template.keyless} file{'s have' if template.keyless != 1 else ' has'} none of the keys: not in the table")
    print(f"fill in {', '.join(template.columns)}, then: deidc run --table NAME={output} ...")
    print("the table holds identifying data (readable by you only): keep it where the DICOM files are allowed to be")
    return 1 if failed else 0
