"""``deidc check RECIPE...`` (every problem in recipes, without running them) and
``deidc check --profile basic`` (how they cover PS3.15 Table E.1-1)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .. import api
from ..lang.diagnostics import Diagnostic, refusing
from ..lang.render import render_concise, render_json, render_sarif, render_text
from ..version import __version__
from . import tables as cli_tables  # --table, --input (deidlang/tables)
from .common import (
    DEFAULT_RECIPE,
    FORMATS,
    PROG,
    CliError,
    check_recipes,
    has_errors,
    load_functions,
    print_err,
    read_ids,
    read_recipe,
    tables_of,
    want_color,
)


def register(sub: Any) -> None:
    """``deidc check``: its arguments, beside its code."""
    p = sub.add_parser(
        "check",
        help="report every problem in recipes, without running them",
        description="Report every problem in one or more recipes. Diagnostics go to stdout.",
    )
    p.add_argument(
        "recipes",
        nargs="*",
        metavar="RECIPE",
        help="recipe files (with --profile: applied in this order; default: the bundled option recipes, then the default recipe)",
    )
    p.add_argument("--ids", metavar="IDS.json", help="per-file variables in deid's shape, to check var: references")
    p.add_argument("--functions", metavar="FILE.py", help="Python file whose public functions are the known func: names (it is executed)")
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    p.add_argument(
        "--deid-compat", action="store_true", help="also report the lines deid 0.4.13 would run differently (W4xx), for recipes that also run under deid"
    )
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when problems are found (2 still means failure)")
    add_profile_options(p)
    cli_tables.add_check_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "profile", None):
        return _run_profile(args)
    if not args.recipes:
        raise CliError("check needs at least one RECIPE (or --profile basic)")
    ids = read_ids(args.ids) if args.ids else None
    functions = load_functions(args.functions) if args.functions else None
    texts, diagnostics = check_recipes(args.recipes, ids=ids, functions=functions, deid_compat=args.deid_compat, tables=tables_of(args))
    out = sys.stdout
    if args.format == "json":
        out.write(render_json(diagnostics))
    elif args.format == "sarif":
        out.write(render_sarif(diagnostics, tool_version=__version__))
    elif args.format == "concise":
        out.write(render_concise(diagnostics, texts, recipes=len(texts)))
    else:
        out.write(render_text(diagnostics, texts, color=want_color(out), recipes=len(texts)))
    stopping = [d for d in refusing(diagnostics, deid_compat=args.deid_compat)[0] if not d.is_error]
    if stopping:
        codes = list(dict.fromkeys(d.code for d in stopping))
        print_err(
            f"note: `{PROG} run` stops on {len(stopping)} of these warnings ({', '.join(codes)}): lines that select "
            "nothing or will not do what they say; fix them, or run with " + " ".join(f"--allow {c}" for c in codes)
        )
    missing = cli_tables.check_inputs(args, texts)  # --input: the inputs without a row in a table
    if args.exit_zero:
        return 0
    return 1 if missing or has_errors(diagnostics, strict=args.strict) else 0


def add_profile_options(parser: argparse.ArgumentParser) -> None:
    from ..privacy import profile

    group = parser.add_argument_group("profile coverage (DICOM PS3.15 Annex E)")
    group.add_argument(
        "--profile",
        choices=("basic", "safe-harbor"),
        help="report, row by row, how the recipes handle Table E.1-1 of the Basic Application Level Confidentiality Profile "
        "(safe-harbor: with the safe-harbor option's column, then HIPAA Safe Harbor's eighteen kinds of identifiers)",
    )
    group.add_argument(
        "--option",
        action="append",
        metavar="NAME",
        choices=[o.name for o in profile.OPTIONS],
        help="a profile option whose column applies (repeatable): " + ", ".join(o.name for o in profile.OPTIONS),
    )
    group.add_argument("--all", action="store_true", help="with --profile: list every row, not only gaps and contradictions")


def _run_profile(args: argparse.Namespace) -> int:
    from ..privacy import coverage, profile, safeharbor

    options = profile.in_order(([args.profile] if args.profile == "safe-harbor" else []) + list(args.option or ()))
    paths = list(args.recipes)
    if not paths:
        paths = [str(profile.option_recipe(o)) for o in options if profile.option(o).recipe] + [str(DEFAULT_RECIPE)]
    texts: dict[str, str] = {}
    parsed = []
    diagnostics: list[Diagnostic] = []
    for path in paths:
        text = texts.get(path) or read_recipe(path)
        texts[path] = text
        result = api.parse(text, path=path)
        parsed.append((path, result.recipe))
        diagnostics.extend(d for d in api.check(text, path=path) if d.is_error)
    if diagnostics:
        sys.stdout.write(render_text(diagnostics, texts, color=want_color(sys.stdout), recipes=len(texts)))
        return 0 if args.exit_zero else 1
    report = coverage.coverage(parsed, options)
    findings = safeharbor.categories(report, safeharbor.applies_patterns(parsed)) if args.profile == "safe-harbor" else None
    if args.format == "json":
        data = json.loads(coverage.render_json(report))
        if findings is not None:
            data["safe_harbor"] = safeharbor.to_json(findings)
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(coverage.render_text(report, all_rows=args.all))
        if findings is not None:
            sys.stdout.write("\n" + safeharbor.render_text(findings))
    if args.exit_zero:
        return 0
    return 1 if args.strict and (report.failed or (findings is not None and safeharbor.failed(findings))) else 0
