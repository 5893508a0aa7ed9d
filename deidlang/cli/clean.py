"""``deidc clean``: blank burned-in text in DICOM pixels (the recipe's ``%filter``
regions), with before/after previews; the same run as ``deidc run --clean-pixels``."""

from __future__ import annotations

import argparse
from typing import Any

from ..version import install_hint
from .common import DEFAULT_OUTPUT, CliError, add_layout_option, add_ocr_arguments, add_safety_options, positive_int
from .run import process_files


def register(sub: Any) -> None:
    """``deidc clean``: its arguments, beside its code."""
    p = sub.add_parser(
        "clean",
        help="blank burned-in text in DICOM pixels, with before/after previews",
        description=(
            "Blank the regions that the recipe's %filter labels give for each file (every frame and sample) "
            "and write the result under --output, mirroring the input tree (names holding identifying values "
            "replaced by keyed pseudonyms; --layout). By default the recipe's header "
            "actions are applied too, so the output is de-identified in one pass (as `deidc run "
            "--clean-pixels`); --pixels-only leaves the header as it is, as deid's DicomCleaner does (only "
            "the elements that describe the pixels change: transfer syntax, photometric interpretation, "
            "BurnedInAnnotation). Without --input, runs on the demo data; without --recipe, uses deidlang's "
            "default recipe. A file whose pixels cannot be decoded fails and is not written."
        ),
    )
    p.add_argument("--recipe", action="append", metavar="RECIPE", help="recipe to apply (repeatable; applied in order)")
    p.add_argument("--input", action="append", metavar="PATH", help="DICOM file or directory (repeatable; default: the demo data)")
    p.add_argument("--output", default=DEFAULT_OUTPUT, metavar="DIR", help=f"output directory (default: ./{DEFAULT_OUTPUT})")
    p.add_argument(
        "--png",
        metavar="DIR",
        help="write <name>-before.png and <name>-after.png previews of each cleaned file (middle frame) under DIR; "
        "the 'before' images show the original pixels: keep them where the original data may be",
    )
    p.add_argument("--pixels-only", action="store_true", help="do not apply the recipe's header actions (deid's DicomCleaner)")
    p.add_argument("--preserve-compression", action="store_true", help="re-encode cleaned pixels with their lossless codec where possible")
    p.add_argument("--ids", metavar="IDS.json", help="per-file variables in deid's shape, for the header actions")
    p.add_argument("--functions", metavar="FILE.py", help="Python file providing the func: functions (it is executed)")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that already exist (default: keep them)")
    p.add_argument(
        "--fsync",
        action="store_true",
        help="sync each output and manifest record to the disk before it counts as done (survives power loss and OS crashes, not only a killed deidc; slower)",
    )
    p.add_argument("--jobs", type=positive_int, metavar="N", help="worker processes (default: all cores)")
    clean_private = p.add_mutually_exclusive_group()
    clean_private.add_argument(
        "--remove-private", dest="remove_private", action="store_true", default=True, help="remove private elements (default, unless --pixels-only)"
    )
    clean_private.add_argument("--keep-private", dest="remove_private", action="store_false", help="keep private elements")
    p.add_argument("--strict", action="store_true", help="do not run when the recipe has warnings")
    add_safety_options(p)
    p.add_argument("--force", action="store_true", help="read files that lack the DICOM preamble")
    add_layout_option(p)
    add_ocr_arguments(p, cleaning=True)  # OCR (deidlang/ocr)
    p.set_defaults(handler=run, clean_pixels=True, quarantine=None)


def run(args: argparse.Namespace) -> int:
    if args.png:
        try:
            import PIL  # noqa: F401
        except ImportError:
            raise CliError(f"--png needs Pillow: {install_hint('pixels')}") from None
    return process_files(args, pixels_only=args.pixels_only, png=args.png)
