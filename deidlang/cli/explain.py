"""``deidc explain [RECIPE...] FILE.dcm``: for every element of one file, what the
recipes do to it and which line decides it (:mod:`deidlang.runtime.explain`)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Mapping

from ..engine import inputs as engine_inputs
from ..engine import preflight
from ..lang.diagnostics import ApplyError
from . import tables as cli_tables  # --table, --on-missing (deidlang/tables)
from .common import (
    DEFAULT_RECIPE,
    PROG,
    CliError,
    add_key_options,
    add_safety_options,
    apply_error_text,
    compose_programs,
    load_functions,
    load_programs,
    option_recipes,
    print_err,
    read_dicom_or_fail,
    read_ids,
)

EXPLAIN_FORMATS = ("text", "json")
EXPLAIN_SYNOPSIS = f"{PROG} explain [RECIPE...] FILE.dcm"


def register(sub: Any) -> None:
    """``deidc explain``: its arguments, beside its code (docs/explain-verify.md)."""
    p = sub.add_parser(
        "explain",
        help="show, for every element of one file, what a recipe does to it and which line decides it",
        usage=f"{PROG} explain [-h] [RECIPE ...] FILE.dcm [options]",
        description=(
            "Apply recipes (in the order given; without one, deidlang's default recipe, as `deidc run` does) "
            "to a copy of one DICOM file and list every element, nested "
            "ones too: removed, blanked, changed, added, kept or unchanged, the recipe file:line that decided "
            "it, and the lines it shadowed (a REMOVE cancelled because a REPLACE/JITTER names the element, "
            "lines hidden by KEEP, changes overwritten by a later line). Nothing is written. Element values "
            "are not shown unless --show-values is given."
        ),
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="recipe files (default: deidlang's default recipe), then the DICOM file (last)")
    p.add_argument("--ids", metavar="IDS.json", help="per-file variables in deid's shape (from `deidc identifiers`)")
    p.add_argument("--functions", metavar="FILE.py", help="Python file providing the func: functions (it is executed)")
    p.add_argument("--format", choices=EXPLAIN_FORMATS, default="text", help="output format (default: text)")
    p.add_argument("--show-values", action="store_true", help="also print each element's value before and after (identifying data)")
    explain_private = p.add_mutually_exclusive_group()
    explain_private.add_argument(
        "--remove-private", dest="remove_private", action="store_true", default=True, help="remove private elements, as `deidc run` does (default)"
    )
    explain_private.add_argument("--keep-private", dest="remove_private", action="store_false", help="keep private elements")
    p.add_argument("--force", action="store_true", help="read a file that lacks the DICOM preamble")
    cli_tables.add_explain_options(p)
    add_safety_options(p)
    add_key_options(p)
    p.set_defaults(handler=run)


def _ids_for(ids: Mapping[str, dict] | None, path: str, ds: Any = None) -> dict | None:
    """One file's ids entry, matched as `deidc run` matches it (path, then SOPInstanceUID)."""
    if ids is None:
        return None
    index = {os.path.normpath(k): v for k, v in ids.items()}
    uid = ds.get("SOPInstanceUID") if ds is not None else None
    key = engine_inputs.ids_key_for(index, engine_inputs.ids_by_uid(index), (os.path.abspath(path), path), str(uid).strip("\0 ") if uid else None)
    if key is not None:
        return index[key]
    print_err(f"note: '{path}' has no entry in the ids file")
    return {}


def _explain_paths(paths: list[str]) -> tuple[list[str], str]:
    """``(recipes, file)`` from explain's arguments: recipes first, the DICOM file last
    (only the file: the default recipe). Arguments in the wrong order are told as such."""
    *recipes, file = paths
    if not os.path.exists(file) or preflight.looks_like_dicom(file) or not preflight.looks_like_recipe(file):
        misplaced = next((p for p in recipes if preflight.looks_like_dicom(p)), None)
        if misplaced is not None:
            raise CliError(f"'{misplaced}' is a DICOM file, not a recipe: explain takes one DICOM file, last: {EXPLAIN_SYNOPSIS}")
        return recipes or [str(DEFAULT_RECIPE)], file
    dicom = next((p for p in recipes if preflight.looks_like_dicom(p)), None)
    if dicom is not None:
        raise CliError(
            f"the arguments are in the wrong order: '{file}' is a recipe and '{dicom}' a DICOM file; "
            f"the recipes come first and the file last: {EXPLAIN_SYNOPSIS}"
        )
    raise CliError(f"'{file}' is a recipe, not a DICOM file: name the DICOM file to explain last: {EXPLAIN_SYNOPSIS}")


def run(args: argparse.Namespace) -> int:
    from ..runtime import explain as explaining

    recipes, file = _explain_paths(list(args.paths))
    recipe_paths = option_recipes(args) + recipes
    preflight.check_options(getattr(args, "option", None), remove_private=args.remove_private)
    ids = read_ids(args.ids) if args.ids else None
    funcs = load_functions(args.functions) if args.functions else None
    ds = read_dicom_or_fail(file, args.force)
    loaded = load_programs(recipe_paths, ids=ids, funcs=funcs, strict=False, what="nothing was explained", args=args)
    if loaded is None:
        return 1
    _texts, programs, _allowed = loaded
    programs = compose_programs(programs, args)  # as `deidc run` applies them: earlier KEEPs protect; keys bound
    try:
        explanation = explaining.explain(
            programs,
            ds,
            ids=_ids_for(ids, file, ds),
            funcs=funcs,
            path=file,
            remove_private=args.remove_private,
            **cli_tables.apply_options(args, ds, programs),
        )
    except ApplyError as err:
        print_err(f"error: {apply_error_text(err, args.show_values)}")
        return 1
    if args.format == "json":
        sys.stdout.write(explaining.render_json(explanation, show_values=args.show_values))
    else:
        sys.stdout.write(explaining.render_text(explanation, show_values=args.show_values))
    return 0
