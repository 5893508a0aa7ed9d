"""``deidc doc RECIPE... [--format md|html] [--option NAME]... [--output PATH]``: the
review-board document (:mod:`deidlang.tools.reviewdoc`).

Exit status: 0 written, 1 a recipe has errors (they are printed), 2 a recipe
cannot be read or the output cannot be written.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    from ..privacy import profile
    from ..tools.reviewdoc import FORMATS

    p = sub.add_parser(
        "doc",
        help="write a review document: what the recipes do to every attribute of the PS3.15 Basic Profile, by which line",
        description=(
            "Write a document for a review board or data-protection officer: the recipes (with SHA-256), the profile "
            "options, the PS3.15 Basic Profile coverage summary, every attribute of Table E.1-1 grouped by the option "
            "that concerns it with what the recipes do to it and which line does it, every header line with what it "
            "selects, the groups, the pixel filters and the checker's findings. The output is stable: the same recipes "
            "give the same bytes, ready for version control."
        ),
    )
    p.add_argument("recipes", nargs="+", metavar="RECIPE", help="recipe files, applied in this order")
    p.add_argument("--format", choices=FORMATS, default="md", help="Markdown (default) or HTML")
    p.add_argument("--profile", choices=("basic",), default="basic", help="the profile the coverage is measured against (default: basic)")
    p.add_argument(
        "--option", action="append", metavar="NAME", choices=[o.name for o in profile.OPTIONS], help="a profile option whose column applies (repeatable)"
    )
    p.add_argument("--deid-compat", action="store_true", help="also list the W4xx findings (lines deid would run differently)")
    p.add_argument("--output", "-o", metavar="PATH", help="write the document here (default: standard output)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..dicomio.atomic import WriteError, write_text
    from ..lang.render import render_concise
    from ..tools import reviewdoc
    from .common import CliError, read_recipe

    texts = [(path, read_recipe(path)) for path in dict.fromkeys(args.recipes)]
    try:
        review = reviewdoc.build(texts, args.option or (), deid_compat=args.deid_compat)
    except reviewdoc.ReviewError as err:
        sys.stderr.write(render_concise(list(err.diagnostics), dict(texts), recipes=len(texts)))
        print("deidc: no review document for recipes with errors", file=sys.stderr)
        return 1
    text = reviewdoc.render_html(review) if args.format == "html" else reviewdoc.render_markdown(review)
    if not args.output:
        sys.stdout.write(text)
        return 0
    try:
        write_text(args.output, text, durable=False, what="review document")
    except WriteError as err:
        raise CliError(str(err)) from None
    return 0
