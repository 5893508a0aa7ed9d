"""The ``deidc`` command line: ``check``, ``run``, ``inspect``, ``clean``, ``identifiers``
and ``version``.

The only module that prints or exits. :func:`main` takes ``argv`` and
returns an exit status; :func:`run_main` (the console script, and
``python -m deidlang``) turns it into ``SystemExit``.

Exit status (ruff/mypy convention): 0 = nothing wrong; 1 = the input has
problems (recipe errors, a recipe finding that stops a run, or files that
failed); 2 = no verdict was reached (bad usage, an unreadable
recipe/ids/functions file, or a bug in deidc).

What stops a recipe from running is decided in the library
(:func:`deidlang.api.vet`, :func:`deidlang.diagnostics.refusing`); ``--allow``
and ``--deid-compat`` only pass the user's choice on.

Streams: ``deidc check`` writes its diagnostics to stdout (they are its
output), and ``deidc inspect`` its report; ``deidc run``, ``deidc clean`` and
``deidc identifiers`` report problems on stderr and a summary on stdout. Element values are never printed: messages name files,
recipe lines and tags only.

Before ``deidc run`` writes anything, inputs and options that cannot be right
(:mod:`deidlang.preflight`: no input file, ids that fit no input, an unknown
``--quarantine`` group, an option that cannot act) stop it with exit 1; Ctrl-C
exits 130 and says that the same command resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
import warnings
from collections import deque
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, TextIO

import attrs

from . import __version__, api, batch, preflight
from .atomic import WriteError, describe, write_text
from .diagnostics import ERROR, WARNING, ApplyError, Diagnostic, RecipeError, parse_allow, refusing
from .render import render_concise, render_json, render_sarif, render_text

__all__ = ["main", "run_main", "FileResult", "Progress", "identifiers_of"]

PROG = "deidc"
DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_RECIPE = DATA_DIR / "default.dicom"
DEMO_DIR = DATA_DIR / "demo"
DEFAULT_OUTPUT = "deidlang-output"
FORMATS = ("text", "concise", "json", "sarif")
INSPECT_FORMATS = ("table", "json")

#: Sub-directory of the output that holds quarantined files, and its report.
QUARANTINE_DIR = batch.QUARANTINE_DIR
QUARANTINE_REPORT = batch.QUARANTINE_REPORT

#: Suffix of the temporary files a run writes before renaming them into place.
TMP_SUFFIX = batch.TMP_SUFFIX

#: Elements deid never lists as identifiers (its ``get.skip`` list): bulk
#: pixel data and the file-meta elements that describe the encoding.
IDENTIFIER_SKIP = frozenset(
    {
        0x7FE00010,  # PixelData
        0x00281201,  # RedPaletteColorLookupTableData
        0x00281202,  # GreenPaletteColorLookupTableData
        0x00281203,  # BluePaletteColorLookupTableData
        0x00283010,  # VOILUTSequence
        0x00020000,  # FileMetaInformationGroupLength
        0x00020001,  # FileMetaInformationVersion
        0x00020010,  # TransferSyntaxUID
        0x00020012,  # ImplementationClassUID
    }
)
#: Binary values longer than this are not identifiers anyone edits; leave them out.
IDENTIFIER_MAX_BINARY = 1024


class CliError(Exception):
    """A problem that stops the command before it reaches a verdict (exit 2)."""


# =========================================================================== entry points


def run_main() -> None:
    """Console-script entry point (``deidc``) and ``python -m deidlang``."""
    raise SystemExit(main())


def main(argv: list[str] | None = None) -> int:
    """Run ``deidc`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: --help, --version, usage errors
        return exit_.code if isinstance(exit_.code, int) else 2
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        with warnings.catch_warnings():
            # pydicom's warnings quote element values (an invalid date, a name...): deidc
            # reports what matters itself, naming files, lines and tags only
            warnings.simplefilter("ignore")
            return handler(args)
    except CliError as err:
        _err(f"error: {err}")
        return 2
    except preflight.Refusal as err:  # inputs or options that cannot be right: nothing was written
        _err(f"error: {err}")
        _err("nothing was written")
        return 1
    except KeyboardInterrupt:
        _err("interrupted")
        return INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        sys.stderr.write(_bug_report(exc))
        _err("this is a bug in deidc; please report it with the traceback above")
        return 2


#: Exit status after Ctrl-C (128 + SIGINT, as shells report it).
INTERRUPTED = 130

#: Set to "full" to see the messages of an internal error (they may quote element values).
TRACEBACK_ENV = "DEIDLANG_TRACEBACK"


def _bug_report(exc: BaseException) -> str:
    """The traceback of an internal error: where it happened (files, lines, code) and the
    exception types. The messages are left out unless DEIDLANG_TRACEBACK=full: an
    exception raised while handling a dataset can quote a value from it (a name, an ID)."""
    report = traceback.TracebackException.from_exception(exc)
    if os.environ.get(TRACEBACK_ENV, "").lower() == "full":
        return "".join(report.format())
    withheld = f"(message withheld: it may quote data from the files; set {TRACEBACK_ENV}=full to show it)"
    chain: list[tuple[traceback.TracebackException, str]] = []  # outermost first, each with the line that leads on from it
    current: traceback.TracebackException | None = report
    link = ""
    while current is not None:
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, "\nThe above exception was the direct cause of the following exception:\n\n"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, "\nDuring handling of the above exception, another exception occurred:\n\n"
        else:
            current = None
    out: list[str] = []
    for entry, lead in reversed(chain):  # as Python prints it: the first cause first
        out.append("Traceback (most recent call last):\n")
        out.extend(entry.stack.format())
        out.append(f"{entry.exc_type.__module__}.{entry.exc_type.__qualname__}: {withheld}\n")
        out.append(lead)
    return "".join(out)


def _err(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


# =========================================================================== arguments


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got '{text}'")
    return value


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Check and apply deid recipes (DICOM de-identification).",
        epilog="Exit status: 0 no problems, 1 problems found (or files failed), 2 usage error or failure of the tool.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    check = sub.add_parser(
        "check",
        help="report every problem in recipes, without running them",
        description="Report every problem in one or more recipes. Diagnostics go to stdout.",
    )
    check.add_argument("recipes", nargs="*", metavar="RECIPE", help="recipe files (with --profile: applied in this order; default: the bundled option recipes, then the default recipe)")
    check.add_argument("--ids", metavar="IDS.json", help="per-file variables in deid's shape, to check var: references")
    check.add_argument("--functions", metavar="FILE.py", help="Python file whose public functions are the known func: names (it is executed)")
    check.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    check.add_argument("--deid-compat", action="store_true", help="also report the lines deid 0.4.13 would run differently (W4xx), for recipes that also run under deid")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when problems are found (2 still means failure)")
    _add_profile_options(check)
    check.set_defaults(handler=_cmd_check)

    run = sub.add_parser(
        "run",
        help="de-identify DICOM files with recipes",
        description=(
            "De-identify DICOM files. Without --input, runs on the demo data shipped with deidlang; "
            "without --recipe, applies deidlang's default recipe (the DICOM PS3.15 Basic Application Level "
            "Confidentiality Profile; --option adds its options). Several --recipe "
            "options are applied one after the other, in the order given. Output mirrors the input "
            "tree under --output, except that a folder or file name holding an identifying value of a file "
            "in it is replaced by a keyed pseudonym (--layout chooses another naming); inputs are never modified."
        ),
    )
    run.add_argument("--recipe", action="append", metavar="RECIPE", help="recipe to apply (repeatable; applied in order)")
    run.add_argument("--input", action="append", metavar="PATH", help="DICOM file or directory (repeatable; default: the demo data)")
    run.add_argument("--output", default=DEFAULT_OUTPUT, metavar="DIR", help=f"output directory (default: ./{DEFAULT_OUTPUT})")
    run.add_argument("--ids", metavar="IDS.json", help="per-file variables in deid's shape (from `deidc identifiers`)")
    run.add_argument("--functions", metavar="FILE.py", help="Python file providing the func: functions (it is executed)")
    run.add_argument("--overwrite", action="store_true", help="replace outputs that already exist (default: keep them)")
    run.add_argument(
        "--fsync",
        action="store_true",
        help="sync each output and manifest record to the disk before it counts as done (survives power loss "
        "and OS crashes, not only a killed deidc; slower)",
    )
    run.add_argument("--jobs", type=_positive_int, metavar="N", help="worker processes (default: all cores)")
    run.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="run on a Dask cluster: a scheduler address (tcp://HOST:8786) or local:N for a local cluster "
        "of N worker processes (needs deidlang[dask]); outputs and manifest are the same as a local run",
    )
    private = run.add_mutually_exclusive_group()
    private.add_argument("--remove-private", dest="remove_private", action="store_true", default=True, help="remove private elements (default)")
    private.add_argument("--keep-private", dest="remove_private", action="store_false", help="keep private elements")
    run.add_argument("--strict", action="store_true", help="do not run when the recipe has warnings")
    _add_safety_options(run)
    run.add_argument("--force", action="store_true", help="read files that lack the DICOM preamble")
    pixels = run.add_argument_group("pixels (the recipe's %filter sections)")
    pixels.add_argument(
        "--clean-pixels", action="store_true",
        help="also blank the regions the %%filter labels give, in the same pass (one output file); "
        "a file whose pixels cannot be cleaned fails and is not written",
    )
    pixels.add_argument(
        "--quarantine", action="append", metavar="GROUP",
        help=f"write files whose verdict (first matching %%filter group) is GROUP to <output>/{QUARANTINE_DIR}/ "
        f"instead, listed with the reason in {QUARANTINE_DIR}/{QUARANTINE_REPORT} (repeatable)",
    )
    pixels.add_argument(
        "--preserve-compression", action="store_true",
        help="re-encode cleaned pixels with their lossless codec (RLE, JPEG 2000 lossless, JPEG-LS lossless); "
        "other sources are written uncompressed (default: always uncompressed)",
    )
    _ocr_arguments(pixels, cleaning=True)  # OCR (deidlang/ocr)
    run.set_defaults(handler=_cmd_run)
    _add_layout_option(run)
    _add_key_options(run)
    _add_run_proof_options(run)

    inspect = sub.add_parser(
        "inspect",
        help="list the files the recipe's %%filter groups flag as having burned-in text, and why",
        description=(
            "Run the %filter sections of recipes on DICOM files and list, for every flagged file, its verdict "
            "(the first group that flags it), each matching label with the criteria that held and the regions "
            "it would blank, then a count per group. Only headers are read; nothing is written. Without "
            "--input, runs on the demo data; without --recipe, uses deidlang's default recipe. Unreadable "
            "files are listed and do not change the exit status."
        ),
    )
    inspect.add_argument("--recipe", action="append", metavar="RECIPE", help="recipe whose %%filter sections to run (repeatable)")
    inspect.add_argument("--input", action="append", metavar="PATH", help="DICOM file or directory (repeatable; default: the demo data)")
    inspect.add_argument("--format", choices=INSPECT_FORMATS, default="table", help="output format (default: table)")
    inspect.add_argument("--force", action="store_true", help="read files that lack the DICOM preamble")
    _ocr_arguments(inspect, cleaning=False)  # OCR (deidlang/ocr)
    inspect.add_argument("--show-values", action="store_true", help="with --ocr: also print the text read (identifying data)")
    inspect.set_defaults(handler=_cmd_inspect)

    clean = sub.add_parser(
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
    clean.add_argument("--recipe", action="append", metavar="RECIPE", help="recipe to apply (repeatable; applied in order)")
    clean.add_argument("--input", action="append", metavar="PATH", help="DICOM file or directory (repeatable; default: the demo data)")
    clean.add_argument("--output", default=DEFAULT_OUTPUT, metavar="DIR", help=f"output directory (default: ./{DEFAULT_OUTPUT})")
    clean.add_argument(
        "--png", metavar="DIR",
        help="write <name>-before.png and <name>-after.png previews of each cleaned file (middle frame) under DIR; "
        "the 'before' images show the original pixels: keep them where the original data may be",
    )
    clean.add_argument("--pixels-only", action="store_true", help="do not apply the recipe's header actions (deid's DicomCleaner)")
    clean.add_argument("--preserve-compression", action="store_true", help="re-encode cleaned pixels with their lossless codec where possible")
    clean.add_argument("--ids", metavar="IDS.json", help="per-file variables in deid's shape, for the header actions")
    clean.add_argument("--functions", metavar="FILE.py", help="Python file providing the func: functions (it is executed)")
    clean.add_argument("--overwrite", action="store_true", help="replace outputs that already exist (default: keep them)")
    clean.add_argument(
        "--fsync",
        action="store_true",
        help="sync each output and manifest record to the disk before it counts as done (survives power loss "
        "and OS crashes, not only a killed deidc; slower)",
    )
    clean.add_argument("--jobs", type=_positive_int, metavar="N", help="worker processes (default: all cores)")
    clean_private = clean.add_mutually_exclusive_group()
    clean_private.add_argument("--remove-private", dest="remove_private", action="store_true", default=True, help="remove private elements (default, unless --pixels-only)")
    clean_private.add_argument("--keep-private", dest="remove_private", action="store_false", help="keep private elements")
    clean.add_argument("--strict", action="store_true", help="do not run when the recipe has warnings")
    _add_safety_options(clean)
    clean.add_argument("--force", action="store_true", help="read files that lack the DICOM preamble")
    _add_layout_option(clean)
    _ocr_arguments(clean, cleaning=True)  # OCR (deidlang/ocr)
    clean.set_defaults(handler=_cmd_clean, clean_pixels=True, quarantine=None)

    ids = sub.add_parser(
        "identifiers",
        help="write the identifiers of DICOM files to a JSON file, to edit and pass back with --ids",
        description=(
            "Write, for each file, its elements and values (DICOM JSON model) keyed by deid's element "
            "identifiers, under the file's absolute path. Add your variables to each file's object and "
            "pass the file to `deidc run --ids` (entries match by path, or by the SOPInstanceUID they "
            "record when the files have moved). The output holds identifying data: it is created "
            "readable by you only (mode 0600); keep it safe."
        ),
    )
    ids.add_argument("--input", action="append", metavar="PATH", help="DICOM file or directory (repeatable; default: the demo data)")
    ids.add_argument("--output", required=True, metavar="IDS.json", help="where to write the JSON")
    ids.add_argument("--recipe", metavar="RECIPE", help="recipe the ids are for: it is checked, and its var: names are listed")
    ids.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    ids.add_argument("--force", action="store_true", help="read files that lack the DICOM preamble")
    ids.set_defaults(handler=_cmd_identifiers)

    _add_proof_commands(sub)
    from .commands import register as register_toolchain  # fmt, test, doc, lsp: deidlang/commands/

    register_toolchain(sub)

    version = sub.add_parser("version", help="print the version")
    version.set_defaults(handler=_cmd_version)
    return parser


# =========================================================================== shared helpers


def _cmd_version(args: argparse.Namespace) -> int:
    print(f"{PROG} {__version__}")
    return 0


def _want_color(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _read_recipe(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except UnicodeDecodeError as err:
        raise CliError(f"cannot read recipe '{path}': not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise CliError(f"cannot read recipe '{path}': {err.strerror or type(err).__name__}") from None


def _read_ids(path: str) -> dict[str, dict[str, Any]]:
    """An ids file in deid's shape: ``{"/path/file.dcm": {"name": value, ...}, ...}``."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except UnicodeDecodeError as err:
        raise CliError(f"cannot read ids file '{path}': not UTF-8 text (byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise CliError(f"cannot read ids file '{path}': invalid JSON at line {err.lineno} column {err.colno} ({err.msg})") from None
    except OSError as err:
        raise CliError(f"cannot read ids file '{path}': {err.strerror or type(err).__name__}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise CliError(
            f"cannot use ids file '{path}': expected a JSON object mapping file paths to objects of variables, "
            'e.g. {"/data/001.dcm": {"id": "SUB-001"}}'
        )
    return data


def _load_functions(path: str) -> dict[str, Callable]:
    """Execute the Python file the user named and return its public callables
    (see :func:`deidlang.batch.load_functions`)."""
    try:
        return batch.load_functions(path)
    except batch.BatchError as err:
        raise CliError(str(err)) from None


def _read_recipes(paths: Iterable[str]) -> dict[str, str]:
    return {path: _read_recipe(path) for path in dict.fromkeys(paths)}


def _check_recipes(
    paths: Iterable[str], *, ids: Mapping | None, functions: Iterable[str] | None, deid_compat: bool = False
) -> tuple[dict[str, str], list[Diagnostic]]:
    texts = _read_recipes(paths)
    verdict = api.vet(texts, ids=ids, functions=functions, deid_compat=deid_compat)
    return texts, list(verdict.diagnostics)


def _add_safety_options(parser: argparse.ArgumentParser) -> None:
    """``--allow CODE`` and ``--deid-compat``: what stops a recipe from running (docs/diagnostics.md)."""
    parser.add_argument(
        "--allow", action="append", metavar="CODE",
        help="run although the recipe has findings with this code, which otherwise stop it (repeatable; "
        "'all' for every finding); a run records them in its manifest",
    )
    parser.add_argument(
        "--deid-compat", action="store_true",
        help="also report the lines deid 0.4.13 would run differently (W4xx), and stop on them",
    )


def _has_errors(diagnostics: Iterable[Diagnostic], *, strict: bool) -> bool:
    return any(d.severity == ERROR or (strict and d.severity == WARNING) for d in diagnostics)


# =========================================================================== check


def _cmd_check(args: argparse.Namespace) -> int:
    if getattr(args, "profile", None):
        return _cmd_check_profile(args)
    if not args.recipes:
        raise CliError("check needs at least one RECIPE (or --profile basic)")
    ids = _read_ids(args.ids) if args.ids else None
    functions = _load_functions(args.functions) if args.functions else None
    texts, diagnostics = _check_recipes(args.recipes, ids=ids, functions=functions, deid_compat=args.deid_compat)
    out = sys.stdout
    if args.format == "json":
        out.write(render_json(diagnostics))
    elif args.format == "sarif":
        out.write(render_sarif(diagnostics, tool_version=__version__))
    elif args.format == "concise":
        out.write(render_concise(diagnostics, texts, recipes=len(texts)))
    else:
        out.write(render_text(diagnostics, texts, color=_want_color(out), recipes=len(texts)))
    stopping = [d for d in refusing(diagnostics, deid_compat=args.deid_compat)[0] if not d.is_error]
    if stopping:
        codes = list(dict.fromkeys(d.code for d in stopping))
        _err(f"note: `{PROG} run` stops on {len(stopping)} of these warnings ({', '.join(codes)}): lines that select "
             "nothing or will not do what they say; fix them, or run with " + " ".join(f"--allow {c}" for c in codes))
    if args.exit_zero:
        return 0
    return 1 if _has_errors(diagnostics, strict=args.strict) else 0


# =========================================================================== check --profile, keys


def _add_profile_options(parser: argparse.ArgumentParser) -> None:
    from . import profile

    group = parser.add_argument_group("profile coverage (DICOM PS3.15 Annex E)")
    group.add_argument("--profile", choices=("basic",), help="report, row by row, how the recipes handle Table E.1-1 of the Basic Application Level Confidentiality Profile")
    group.add_argument("--option", action="append", metavar="NAME", choices=[o.name for o in profile.OPTIONS], help="a profile option whose column applies (repeatable): " + ", ".join(o.name for o in profile.OPTIONS))
    group.add_argument("--all", action="store_true", help="with --profile: list every row, not only gaps and contradictions")


def _add_layout_option(parser: argparse.ArgumentParser) -> None:
    from .naming import DEFAULT_LAYOUT, LAYOUTS

    parser.add_argument(
        "--layout", choices=LAYOUTS, default=DEFAULT_LAYOUT,
        help="how outputs are named: mirror (default) = the input tree, every folder or file name that holds "
        "an identifying value of a file in it (name, ID, accession number, date, UID) replaced by a keyed "
        "pseudonym; pseudonym = every name a keyed pseudonym; dicom = PatientID/StudyInstanceUID/"
        "SeriesInstanceUID/SOPInstanceUID.dcm from the de-identified header",
    )


def _add_key_options(parser: argparse.ArgumentParser) -> None:
    from . import profile

    parser.add_argument(
        "--key-file", metavar="PATH",
        help="secret key for deid_func:hashuid/hashid/dateshift (default: $DEIDLANG_KEY, $DEIDLANG_KEY_FILE, "
        "else the user key file ~/.config/deidlang/key, created on first use)",
    )
    parser.add_argument(
        "--option", action="append", metavar="NAME", choices=[o.name for o in profile.OPTIONS if o.recipe],
        help="apply this bundled profile option recipe before the other recipes (repeatable): "
        + ", ".join(o.name for o in profile.OPTIONS if o.recipe),
    )


def _option_recipes(args: argparse.Namespace) -> list[str]:
    from . import profile

    return [str(profile.option_recipe(name)) for name in dict.fromkeys(getattr(args, "option", None) or ())]


def _compose_programs(programs: list, args: argparse.Namespace, key=None) -> list:
    """The Programs as they run: each honours the KEEP lines of the ones before it, and
    keyed built-ins get the key (read once here, so every worker uses the same one)."""
    from .runtime import extras

    return _bind_key(extras.chain(programs), args, key)


def _bind_key(programs: list, args: argparse.Namespace, key=None) -> list:
    """Give the keyed built-ins the key (``key``, else the command's key, saying which)."""
    from .runtime import keyed

    if not keyed.needs_key(programs):
        return programs
    return [keyed.bind(p, key or _resolve_key(args)) for p in programs]


def _resolve_key(args: argparse.Namespace, *, notes: list[str] | None = None):
    """The secret key of a command (--key-file, else the default key), with a note on
    where it comes from: printed now, or appended to ``notes`` for the caller to print
    once its run starts (so that the note never precedes an error about the inputs)."""
    from .runtime import keyed

    try:
        if getattr(args, "key_file", None):
            key, created = keyed.key_from_file(args.key_file), False
        else:
            key, created = keyed.default_key()
    except keyed.MissingKey as err:
        raise CliError(str(err)) from None
    note = ""
    if created:
        note = f"note: created a new secret key in '{keyed.user_key_path()}' (keep it secret; the same key gives the same pseudonyms)"
    elif not getattr(args, "key_file", None) and not os.environ.get("DEIDLANG_KEY") and not os.environ.get("DEIDLANG_KEY_FILE"):
        note = f"note: keyed pseudonyms use the key in '{keyed.user_key_path()}' (fingerprint {key.fingerprint})"
    if note and notes is not None:
        notes.append(note)
    elif note:
        _err(note)
    return key


def _cmd_check_profile(args: argparse.Namespace) -> int:
    from . import profile

    options = list(dict.fromkeys(args.option or ()))
    paths = list(args.recipes)
    if not paths:
        paths = [str(profile.option_recipe(o)) for o in options if profile.option(o).recipe] + [str(DEFAULT_RECIPE)]
    texts: dict[str, str] = {}
    parsed = []
    diagnostics: list[Diagnostic] = []
    for path in paths:
        text = texts.get(path) or _read_recipe(path)
        texts[path] = text
        result = api.parse(text, path=path)
        parsed.append((path, result.recipe))
        diagnostics.extend(d for d in api.check(text, path=path) if d.is_error)
    if diagnostics:
        sys.stdout.write(render_text(diagnostics, texts, color=_want_color(sys.stdout), recipes=len(texts)))
        return 0 if args.exit_zero else 1
    report = profile.coverage(parsed, options)
    if args.format == "json":
        sys.stdout.write(profile.render_json(report))
    else:
        sys.stdout.write(profile.render_text(report, all_rows=args.all))
    if args.exit_zero:
        return 0
    return 1 if args.strict and report.failed else 0


# =========================================================================== inputs and outputs
# The file machinery lives in deidlang.batch; these names are the seams the
# commands (and their tests) use.

_Root = batch.Root
_Task = batch.Task
FileResult = batch.FileResult
_RunOptions = batch.Options
_snapshot = batch.snapshot
_changes = batch.changes
_write_atomic = batch.write_atomic
_remove_temporaries = batch.remove_temporaries
_walk = batch.walk
_display = batch.display
_inspect = batch.inspect_programs
_default_jobs = batch.default_jobs
_START_METHOD: str | None = None  # the platform's default multiprocessing start method (a seam for tests)


def _roots(inputs: list[str] | None) -> list[batch.Root]:
    try:
        return batch.roots(inputs)
    except batch.NoInput as err:  # an input that cannot be right: exit 1
        raise preflight.Refusal(str(err)) from None
    except batch.BatchError as err:
        raise CliError(str(err)) from None


def _execute(
    tasks: list[batch.Task],
    programs: list,
    funcs: Mapping[str, Callable] | None,
    functions_path: str | None,
    options: batch.Options,
    jobs: int,
) -> Iterator[FileResult]:
    """Results in task order, from this process (one job) or a process pool (no manifest)."""
    return batch.execute(tasks, programs, funcs, functions_path, options, jobs, start_method=_START_METHOD)


# =========================================================================== progress


class Progress:
    """How far a run is, on stderr.

    On a terminal: a bar (tqdm) with the files done, the rate, the time elapsed and
    the time left, drawn once the run has lasted ``delay`` seconds (short runs never
    show it), redrawn at most every ``refresh`` seconds, and cleared at the end.
    Elsewhere (a log file, CI): a plain line every ``every`` seconds, the first after
    ``every`` seconds. ``clock`` is injectable so that the plain lines can be tested
    without waiting.
    """

    FORMAT = "{n_fmt}/{total_fmt} files |{bar}| {percentage:3.0f}% [{elapsed} elapsed, {remaining} left, {rate_fmt}]"

    def __init__(
        self, total: int, stream: TextIO, *, delay: float = 0.5, every: float = 10.0, refresh: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ):
        isatty = getattr(stream, "isatty", None)
        self.terminal = bool(isatty and isatty())
        self.total = total
        self.stream = stream
        self.every = every
        self.clock = clock
        self.start = clock()
        self.next_line = self.start + every
        self.done = 0
        self.bar: Any = None
        if self.terminal and total > 1:
            from tqdm import tqdm

            # a terminal that says it is 0 x 0 (a pseudo-terminal without a size) gets 80 x 24
            width = {"dynamic_ncols": True} if _columns(stream) else {"ncols": 80, "nrows": 24}
            self.bar = tqdm(
                total=total, file=stream, delay=delay, unit=" files", bar_format=self.FORMAT,
                leave=False, smoothing=0.1, mininterval=refresh, miniters=1, **width,
            )

    def elapsed(self) -> float:
        return self.clock() - self.start

    def advance(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
            return
        if self.terminal or self.done >= self.total:
            return
        now = self.clock()
        if now >= self.next_line:
            self.next_line = now + self.every
            print(f"{PROG}: {self.line(now - self.start)}", file=self.stream, flush=True)

    def line(self, elapsed: float) -> str:
        """``120 of 5000 files (2%), 40.1 files/s, 0:03 elapsed, about 2:01 left``."""
        rate = self.done / elapsed if elapsed > 0 else 0.0
        text = f"{self.done} of {self.total} files ({100 * self.done // max(self.total, 1)}%)"
        if rate > 0:
            left = (self.total - self.done) / rate
            text += f", {rate:.1f} files/s, {_duration(elapsed)} elapsed, about {_duration(left)} left"
        return text

    def message(self, text: str) -> None:
        """Print a line without breaking the bar."""
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream)

    def clear(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _columns(stream: TextIO) -> int:
    """The width of the terminal ``stream`` writes to (0 when it does not say)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0


def _duration(seconds: float) -> str:
    """``0.4 s``, ``12.0 s``, ``3:07`` or ``1:02:03``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    from tqdm import tqdm

    return tqdm.format_interval(seconds)


# =========================================================================== run


def _compile(text: str, path: str):
    """Compile one recipe that :func:`_load_programs` has vetted (a seam for tests)."""
    return api.compile(text, path=path, allow=True)


def _load_programs(
    recipe_paths: list[str], *, ids, funcs, strict: bool, what: str = "no file was read or written",
    args: argparse.Namespace | None = None, applying: bool = True,
) -> tuple[dict[str, str], list, tuple[Diagnostic, ...]] | None:
    """Check and compile the recipes (in the order given): (texts, programs, the findings
    --allow let through), or None after reporting what stops them.

    ``applying``: the header actions will run, so the ids and functions are known
    (none given: every var:/func: lacks a value), and every finding that
    :func:`deidlang.diagnostics.refusing` names stops the run unless --allow
    names it. Otherwise (inspect) only errors stop it.
    """
    texts = _read_recipes(recipe_paths)
    deid_compat = bool(getattr(args, "deid_compat", False))
    try:
        allow = parse_allow(getattr(args, "allow", None)) if applying else frozenset()
    except ValueError as err:
        raise CliError(f"--allow: {err}") from None
    if applying:
        verdict = api.vet(texts, ids=ids if ids is not None else {}, functions=funcs or (), allow=allow, deid_compat=deid_compat, strict=strict)
        refused = verdict.refused
    else:
        verdict = api.vet(texts, ids=ids, functions=funcs, deid_compat=deid_compat)
        refused = tuple(d for d in verdict.diagnostics if d.is_error or (strict and d.severity == WARNING))
    if verdict.diagnostics:
        sys.stderr.write(render_text(verdict.diagnostics, texts, color=_want_color(sys.stderr), recipes=len(texts)))
    if refused:
        codes = list(dict.fromkeys(d.code for d in refused))
        escape = f"; to run it anyway: {' '.join('--allow ' + c for c in codes)} (a run records it in its manifest)" if applying else ""
        _err(f"{what}: fix the recipe first ({', '.join(codes)} stop{'s' if len(codes) == 1 else ''} it)"
             + (" (--strict: warnings count)" if strict else "") + escape)
        return None
    if verdict.allowed:
        codes = list(dict.fromkeys(d.code for d in verdict.allowed))
        _err(f"note: running despite {_count(len(verdict.allowed), 'finding')} ({', '.join(codes)}) let through by --allow")
    compiled = {}
    for path, text in texts.items():
        try:
            compiled[path] = _compile(text, path)
        except RecipeError as err:
            sys.stderr.write(render_text(err.refused, texts, color=_want_color(sys.stderr), recipes=len(texts)))
            _err(f"{what}: fix the recipe first (deidlang cannot run these lines, even when allowed)")
            return None
    return texts, [compiled[path] for path in recipe_paths], verdict.allowed


def _has_filters(programs: list) -> bool:
    return any(getattr(p, "filters", ()) for p in programs)


def _require_pixels() -> None:
    try:
        from . import pixels  # noqa: F401
    except ImportError as err:
        raise CliError(f"pixel cleaning needs numpy and pydicom's decoders ({err.name or 'a module'} is missing): pip install 'deidlang[pixels]'") from None


# --------------------------------------------------------------------------- OCR (deidlang/ocr)


def _ocr_arguments(parser: Any, *, cleaning: bool) -> None:
    from .ocr.options import add_arguments

    add_arguments(parser, cleaning=cleaning)


def _ocr_settings(args: argparse.Namespace, *, cleaning: bool = False):
    """The OCR settings asked for (None without --ocr / --pixels), its engine started."""
    from .ocr import OcrUnavailable
    from .ocr.options import require, settings_from

    settings = settings_from(args)
    if settings is None:
        return None
    if cleaning and not args.clean_pixels:
        raise CliError("--ocr goes with --clean-pixels (OCR finds the text that the cleaning blanks)")
    _require_pixels()
    try:
        require(settings)
    except OcrUnavailable as err:
        raise CliError(str(err)) from None
    return settings


def _cmd_run(args: argparse.Namespace) -> int:
    if getattr(args, "report", None) and not getattr(args, "dry_run", False):
        raise CliError("--report goes with --dry-run (a run records what it did in its manifest)")
    return _process_files(args, pixels_only=False, png=None)


def _cmd_clean(args: argparse.Namespace) -> int:
    if args.png:
        try:
            import PIL  # noqa: F401
        except ImportError:
            raise CliError("--png needs Pillow: pip install 'deidlang[pixels]'") from None
    return _process_files(args, pixels_only=args.pixels_only, png=args.png)


def _process_files(args: argparse.Namespace, *, pixels_only: bool, png: str | None) -> int:
    """``deidc run`` and ``deidc clean``: check and compile the recipes, refuse inputs and
    options that cannot be right (:mod:`deidlang.preflight`), hand the files to
    :mod:`deidlang.batch` and report what it says."""
    from .runtime import extras

    ids = _read_ids(args.ids) if args.ids else None
    funcs = _load_functions(args.functions) if args.functions else None
    recipe_paths = _option_recipes(args) + (args.recipe or [str(DEFAULT_RECIPE)])
    quarantine = frozenset(args.quarantine or ())
    clean_pixels = bool(args.clean_pixels)
    remove_private = args.remove_private and not pixels_only
    scheduler = getattr(args, "scheduler", None)
    if scheduler:
        _require_dask(scheduler)
    preflight.check_options(getattr(args, "option", None), remove_private=remove_private)
    if clean_pixels:
        _require_pixels()
    ocr = _ocr_settings(args, cleaning=True)
    loaded = _load_programs(recipe_paths, ids=ids, funcs=funcs, strict=args.strict, args=args, applying=not pixels_only)
    if loaded is None:
        return 1
    texts, programs, allowed = loaded  # in the order given, applied one after the other
    preflight.check_quarantine(quarantine, programs)
    if clean_pixels and not _has_filters(programs):
        _err("note: the recipe has no %filter section: no file is flagged, no pixels are cleaned")
    variables = [] if pixels_only else preflight.needed_variables(texts, funcs)
    key_notes: list[str] = []  # printed once the run starts, after its inputs are checked
    key = _resolve_key(args, notes=key_notes)  # keyed built-ins, output names and the manifest's input keys
    programs = extras.chain(programs)  # earlier KEEPs protect; the key is bound once the run starts

    options = batch.Options(
        overwrite=args.overwrite,
        remove_private=remove_private,
        force=args.force,
        clean_pixels=clean_pixels,
        quarantine=quarantine,
        preserve_compression=bool(getattr(args, "preserve_compression", False)),
        pixels_only=pixels_only,
        png=os.path.abspath(png) if png else None,
        output=os.path.abspath(args.output),
        verify=bool(getattr(args, "verify", False)),
        show_values=bool(getattr(args, "show_values", False)),
        durable=bool(getattr(args, "fsync", False)),
        ocr=ocr,
        layout=args.layout,
        key=key,
    )
    job = batch.Job(
        programs=tuple(programs),
        output=args.output,
        inputs=tuple(args.input or ()),
        recipes=tuple(batch.recipe_ref(path, texts[path]) for path in recipe_paths),
        ids=ids,
        ids_path=args.ids,
        funcs=funcs,
        functions_path=args.functions,
        options=options,
        jobs=args.jobs or _default_jobs(),
        scheduler=scheduler,
        start_method=_START_METHOD,
        require_ids=bool(variables),
        allow=tuple(sorted(parse_allow(args.allow))),
        allowed=allowed,
    )
    try:
        run = batch.prepare(job)
    except batch.NoInput as err:
        raise preflight.Refusal(str(err)) from None
    except batch.BatchError as err:
        raise CliError(str(err)) from None
    preflight.check_found(run.total, args.input or ())
    note = preflight.check_ids(variables, ids_path=args.ids, total=run.total, missing=run.missing_ids, strict=args.strict)
    if note:
        _err(f"note: {note}")
    # the run starts: bind the key (saying which), into the job the workers get
    for note in key_notes:
        _err(note)
    programs = _bind_key(programs, args, key)
    run.job = attrs.evolve(run.job, programs=tuple(programs))
    if getattr(args, "dry_run", False):
        return _dry_run(args, list(run.tasks()), programs, funcs)

    progress = Progress(run.total, sys.stderr)
    notes_shown: set[str] = set()
    shown: set[tuple] = set()  # recipe places already shown with their source line
    try:
        for result in run.results():
            if result.status == "failed":
                if result.leaks and options.show_values:  # values on the terminal only when asked, never in the manifest
                    result = attrs.evolve(result, reason=batch.verify_reason(result.leaks, show_values=True))
                progress.message(_failure_report(result, texts, shown))
            elif result.note:
                # Encoding notes repeat for every file of a kind: show each once, count them all.
                # Other notes (flagged, but nothing blanked) matter per file.
                encoding = result.note.startswith("written uncompressed")
                if not encoding or result.note not in notes_shown:
                    notes_shown.add(result.note)
                    more = " (further files like it are only counted)" if encoding else ""
                    progress.message(f"{PROG}: note: {result.display}: {result.note}{more}")
            progress.advance()
    except WriteError as err:  # disk full, read-only: the run stopped
        progress.clear()
        _err(f"error: {err}")
        _err("note: the run stopped; the outputs in the folder are complete and recorded in its manifest: "
             "make room (or make the folder writable) and run the same command again to finish")
        return 2
    except batch.BatchError as err:
        progress.clear()
        raise CliError(str(err)) from None
    except KeyboardInterrupt:
        progress.clear()
        _err(
            f"interrupted after {run.summary.files} of {_count(run.total, 'file')}: the outputs in '{args.output}' "
            "are complete and recorded in its manifest; run the same command again to resume (finished files are skipped)"
        )
        return INTERRUPTED
    progress.clear()

    summary = run.summary
    report = _write_quarantine_report(options.output, summary.held) if quarantine or ocr is not None else None
    _print_run_summary(args, recipe_paths, summary, options=options, elapsed=progress.elapsed())
    if clean_pixels:
        _print_pixel_summary(summary, options)
    if report is not None and (summary.held or os.path.exists(report)):
        print(f"quarantine: {_count(len(summary.held), 'file')} held back in {os.path.dirname(report)}; reasons in {report}")
    if summary.flagged_unclean:
        print(f"{_count(summary.flagged_unclean, 'written file')} flagged by other %filter groups kept their pixels; --clean-pixels blanks their regions")
    return 1 if summary.failed else 0


def _require_dask(scheduler: str) -> None:
    """The form of ``--scheduler`` first (a typo is told as one), then the extra it needs."""
    from . import distributed

    try:
        distributed.parse_address(scheduler)
        distributed.require()
    except batch.BatchError as err:
        raise CliError(str(err)) from None


def _write_quarantine_report(output: str, held: list[FileResult]) -> str:
    """Add this run's quarantined files to ``<output>/quarantine/quarantine.json``
    (see :func:`deidlang.batch.write_quarantine_report`)."""
    try:
        return batch.write_quarantine_report(output, held)
    except OSError as err:
        path = os.path.join(output, QUARANTINE_DIR, QUARANTINE_REPORT)
        _err(f"cannot write the quarantine report '{path}': {err.strerror or type(err).__name__}")
        return path


def _print_pixel_summary(summary: batch.Summary, options: batch.Options) -> None:
    line = f"pixels: {_count(summary.cleaned, 'file')} cleaned, {summary.unchanged} unchanged"
    if summary.uncompressed and options.preserve_compression:
        line += f"; {summary.uncompressed} written uncompressed (their encoding cannot be redone here)"
    print(line)
    if options.ocr is not None:
        print(f"OCR: {_count(summary.ocr_read, 'file')} read, text blanked in {summary.ocr_blanked}, "
              f"{summary.ocr_failed} still showing identifying text after cleaning (quarantined)")
    if options.png:
        print(f"previews: {_count(summary.previews, 'PNG file')} in {options.png}; the 'before' images show the original pixels")


def _failure_report(result: FileResult, texts: Mapping[str, str], shown: set[tuple]) -> str:
    """One line per failed file; the first failure at each recipe place also shows
    the recipe line, as `deidc check` does (style.md 4.2)."""
    line = f"{PROG}: failed: {result.display}: {_with_detail(result.reason, result.detail)}"
    diag = result.diagnostic
    if diag is None:
        return line
    key = (diag.file, diag.line, diag.column, diag.code, diag.message)
    if key in shown:
        return line
    shown.add(key)
    block = render_text([diag], texts, color=_want_color(sys.stderr), summary=False)
    return f"{line}\n{block}"


def _print_run_summary(
    args, recipe_paths, summary: batch.Summary, *, options: batch.Options | None = None, elapsed: float | None = None
) -> None:
    out = sys.stdout
    total = summary.files
    recipes = "deidlang default recipe" if not args.recipe else ", ".join(recipe_paths)
    if getattr(args, "option", None):  # bundled profile options, applied first
        recipes = ", ".join(f"option {o}" for o in dict.fromkeys(args.option)) + ", " + (recipes if args.recipe else "the default recipe (DICOM PS3.15 Basic Profile)")
    source = "demo data shipped with deidlang" if not args.input else ", ".join(args.input)
    print(f"recipe: {recipes}", file=out)
    print(f"input: {source}", file=out)
    print(f"output: {os.path.abspath(args.output)}", file=out)
    held = f"{summary.quarantined} quarantined, " if options is not None and options.quarantine else ""
    print(
        f"{_count(total, 'file')} processed: {summary.written} written, {held}"
        f"{summary.skipped} skipped, {summary.failed} failed",
        file=out,
    )
    if elapsed is not None:
        rate = f" ({total / elapsed:.1f} files/s)" if total and elapsed > 0 else ""
        print(f"time: {_duration(elapsed)}{rate}", file=out)
    if options is not None and options.pixels_only:
        print("header left as it was (--pixels-only)", file=out)
    elif summary.written or summary.quarantined:
        print(
            f"top-level elements in written files: {summary.removed} removed, {summary.changed} changed, {summary.added} added"
            + ("; private elements removed" if args.remove_private else "; private elements kept"),
            file=out,
        )
    if summary.written or summary.quarantined:
        print(summary.names_text(), file=out)
    if summary.resumed:
        print(f"{_count(summary.resumed, 'file')} already complete from an earlier run of the same job (resumed)", file=out)
    kept = summary.skipped - summary.resumed
    if kept:
        print(f"{_count(kept, 'existing output')} kept; use --overwrite to replace them", file=out)
    if summary.warnings:
        print(f"pydicom gave {_count(summary.warnings, 'warning')} while reading or writing (not shown: they can quote element values)", file=out)
    print(f"manifest: {os.path.join(os.path.abspath(args.output), batch.MANIFEST)}", file=out)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# =========================================================================== inspect


def _region_text(region) -> str:
    where = "all" if region.box is None else ",".join(str(v) for v in region.box)
    return f"{'keep' if region.keep else 'blank'} {where}"


def _inspect_entry(display: str, inspection) -> dict[str, Any]:
    return {
        "file": display,
        "verdict": inspection.group,
        "matches": [
            {
                "group": m.group,
                "label": m.label,
                "criteria": [str(c) for c in m.criteria],
                "regions": [
                    {"action": "keep" if r.keep else "blank", "box": None if r.box is None else list(r.box)} for r in m.regions
                ],
                "recipe": f"{m.recipe}:{m.span.line}" if m.span is not None else m.recipe,
            }
            for m in inspection.matches
        ],
    }


def _cmd_inspect(args: argparse.Namespace) -> int:
    from pydicom.errors import InvalidDicomError

    recipe_paths = args.recipe or [str(DEFAULT_RECIPE)]
    loaded = _load_programs(recipe_paths, ids=None, funcs=None, strict=False, what="no file was read", applying=False)
    if loaded is None:
        return 1
    _texts, programs, _allowed = loaded
    groups: list[str] = []
    for program in programs:
        for label in getattr(program, "filters", ()):
            if label.group not in groups:
                groups.append(label.group)
    if not groups:
        _err("note: the recipe has no %filter section: no file can be flagged")
    ocr = _ocr_settings(args)
    texts: dict[str, list] = {}  # with --ocr: what was read, per file

    flagged: list[dict[str, Any]] = []
    clean: list[str] = []
    unreadable: list[dict[str, str]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warnings can quote element values
        for root in _roots(args.input):
            for source in _walk(root, ""):
                display = _display(root, source)
                try:
                    ds = batch.read_input(source, force=args.force, stop_before_pixels=ocr is None)[0]
                except batch.InputError as err:  # not a regular file, empty, cut short, too deep...
                    unreadable.append({"file": display, "reason": str(err)})
                    continue
                except InvalidDicomError:
                    unreadable.append({"file": display, "reason": "not a DICOM file" + ("" if args.force else " (no DICOM preamble; --force reads it anyway)")})
                    continue
                except OSError as err:
                    unreadable.append({"file": display, "reason": f"cannot read: {err.strerror or type(err).__name__}"})
                    continue
                except Exception as err:  # noqa: BLE001 - a damaged file; its own message could quote data
                    unreadable.append({"file": display, "reason": f"cannot read: damaged or unsupported DICOM ({type(err).__name__})"})
                    continue
                try:
                    inspection = _inspect(programs, ds, display)
                except ApplyError as err:
                    unreadable.append({"file": display, "reason": err.message})
                    continue
                except Exception as err:  # noqa: BLE001
                    unreadable.append({"file": display, "reason": f"internal error while running the %filter sections ({type(err).__name__}); this is a bug in deidlang"})
                    continue
                if ocr is not None:
                    try:
                        texts[display] = _ocr_read(ds, programs, ocr)
                    except Exception as err:  # noqa: BLE001 - pixels that cannot be decoded: said, never quoted
                        unreadable.append({"file": display, "reason": _ocr_failure(err)})
                        continue
                if inspection.flagged or texts.get(display):
                    flagged.append(_inspect_entry(display, inspection))
                else:
                    clean.append(display)

    preflight.check_found(len(flagged) + len(clean) + len(unreadable), args.input or ())
    summary = {
        "files": len(flagged) + len(clean) + len(unreadable),
        "flagged": len(flagged),
        "clean": len(clean),
        "unreadable": len(unreadable),
        "groups": {
            g: {
                "verdict": sum(1 for f in flagged if f["verdict"] == g),
                "matched": sum(1 for f in flagged if any(m["group"] == g for m in f["matches"])),
            }
            for g in groups
        },
    }
    if ocr is not None:
        _add_ocr_findings(flagged, summary, texts, args)
    if args.format == "json":
        flagged = [{k: v for k, v in f.items() if k != "ocr_table"} for f in flagged]
        report = {"recipes": recipe_paths if args.recipe else ["<deidlang default recipe>"], "flagged": flagged,
                  "clean": clean, "unreadable": unreadable, "summary": summary}
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(_inspect_table(flagged, unreadable, summary))
    return 1 if unreadable else 0  # as deidc run: a file that could not be looked at is not clean


def _ocr_failure(err: Exception) -> str:
    from .diagnostics import DeidlangError

    return f"OCR: {err}" if isinstance(err, DeidlangError) else f"OCR failed ({type(err).__name__})"  # typed errors name no value


def _ocr_read(ds, programs, ocr) -> list:
    from . import verify as verifying
    from .ocr.report import inspect_dataset

    return inspect_dataset(ds, verifying.harvest(ds, recipes=programs), ocr)


def _add_ocr_findings(flagged: list[dict[str, Any]], summary: dict[str, Any], texts: Mapping[str, list], args) -> None:
    """Each flagged entry gets the text OCR found in it (``ocr``); the summary counts."""
    from .ocr.report import entries, table_lines

    for entry in flagged:
        frames = texts.get(entry["file"], [])
        entry["ocr"] = entries(frames, args.show_values)
        entry["ocr_table"] = table_lines(frames, args.show_values)
    summary["ocr"] = {
        "with_text": sum(1 for f in flagged if f["ocr"]),
        "with_identifying_text": sum(1 for f in flagged if any(line["identifying"] for fr in f["ocr"] for line in fr["lines"])),
    }


def _inspect_table(flagged: list[dict[str, Any]], unreadable: list[dict[str, str]], summary: Mapping[str, Any]) -> str:
    """Flagged files, one row per matching label; then unreadable files; then the counts."""
    header = ("FILE", "VERDICT", "GROUP", "LABEL", "CRITERIA", "REGIONS")
    rows: list[tuple[str, ...]] = []
    for entry in flagged:
        for n, m in enumerate(entry["matches"]):
            regions = ", ".join(
                f"{r['action']} {'all' if r['box'] is None else ','.join(str(v) for v in r['box'])}" for r in m["regions"]
            )
            rows.append((
                entry["file"] if n == 0 else "",
                entry["verdict"] if n == 0 else "",
                m["group"],
                m["label"],
                "; ".join(m["criteria"]) or "(coordinates only)",
                regions or "-",
            ))
    lines: list[str] = []
    if rows:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
        for row in [header, *rows]:
            cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
            lines.append("  ".join([*cells, row[-1]]).rstrip())
        lines.append("")
    for entry in flagged:  # with --ocr
        if entry.get("ocr_table"):
            lines.append(f"text read by OCR in {entry['file']}:")
            lines.extend(entry["ocr_table"])
    if any(entry.get("ocr_table") for entry in flagged):
        lines.append("")
    for item in unreadable:
        lines.append(f"unreadable: {item['file']}: {item['reason']}")
    if unreadable:
        lines.append("")
    lines.append(
        f"{_count(summary['files'], 'file')}: {summary['flagged']} flagged, {summary['clean']} clean, "
        f"{summary['unreadable']} unreadable"
    )
    for group, n in summary["groups"].items():
        lines.append(f"  {group}: verdict for {_count(n['verdict'], 'file')}, matches {_count(n['matched'], 'file')}")
    if "ocr" in summary:
        lines.append(f"  OCR: text in {_count(summary['ocr']['with_text'], 'file')}, identifying text in {summary['ocr']['with_identifying_text']}")
    return "\n".join(lines) + "\n"


# =========================================================================== identifiers


def _uid(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _json_value(elem) -> dict | None:
    """An element in the DICOM JSON model, or None when it has no value worth listing."""
    if elem.VR == "SQ" or elem.tag in IDENTIFIER_SKIP or elem.is_empty:
        return None
    value = elem.value
    if isinstance(value, (bytes, bytearray)) and len(value) > IDENTIFIER_MAX_BINARY:
        return None
    try:
        encoded = elem.to_json_dict(None, IDENTIFIER_MAX_BINARY)
    except Exception:  # noqa: BLE001 - a value pydicom cannot model: keep its text
        encoded = {"vr": elem.VR, "Value": [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]}
    if "Value" not in encoded and "InlineBinary" not in encoded:
        return None
    return encoded


def identifiers_of(ds) -> dict[str, dict]:
    """deid's element identifiers -> DICOM JSON values, in deid's universe order:
    top-level elements, then file meta, then sequence contents breadth-first.

    Sequences are listed through their contents; elements with no value,
    pixel data and encoding file-meta elements are left out.
    """
    try:
        from .runtime.universe import fields
    except ImportError:  # the runtime is optional for this command
        return _identifiers_walk(ds)
    out: dict[str, dict] = {}
    for field in fields(ds):
        encoded = _json_value(field.element)
        if encoded is not None:
            out[field.uid] = encoded
    return out


def _identifiers_walk(ds) -> dict[str, dict]:
    """The same as :func:`identifiers_of`, walking the dataset here."""
    out: dict[str, dict] = {}
    queue: deque[tuple[str, Any]] = deque()

    def visit(dataset, prefix: str) -> None:
        for elem in dataset:
            if elem.tag in IDENTIFIER_SKIP:
                continue
            uid = prefix + _uid(elem.tag)
            if elem.VR == "SQ":
                for i, item in enumerate(elem.value or ()):
                    queue.append((f"{uid}__{i}__", item))
                continue
            encoded = _json_value(elem)
            if encoded is not None:
                out[uid] = encoded

    visit(ds, "")
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        visit(meta, "")
    while queue:
        prefix, item = queue.popleft()
        visit(item, prefix)
    return out


def _ids_entry(path: str, elements: Mapping[str, Any]) -> str:
    """One file's object in the ids file: one element per line, so that the file is
    easy to read and edit by hand."""

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    body = ",\n".join(f"    {dump(uid)}: {dump(value)}" for uid, value in elements.items())
    return f"  {dump(path)}: {{\n{body}\n  }}" if body else f"  {dump(path)}: {{}}"


def _cmd_identifiers(args: argparse.Namespace) -> int:
    """Each file's identifiers, written as it is read (memory does not grow with the
    number of files) to a file only its owner can read (it holds identifying data),
    which appears under its name once complete."""
    from pydicom.errors import InvalidDicomError

    from .atomic import atomic_write

    output = args.output
    if os.path.exists(output) and not args.overwrite:
        raise CliError(f"'{output}' exists (it may hold your edits); use --overwrite to replace it")
    variables: list[str] = []
    if args.recipe:
        texts, diagnostics = _check_recipes([args.recipe], ids=None, functions=None)
        if diagnostics:
            sys.stderr.write(render_text(diagnostics, texts, color=_want_color(sys.stderr), recipes=1))
        if _has_errors(diagnostics, strict=False):
            _err("nothing was written: fix the recipe first")
            return 1
        variables = preflight.recipe_variables(texts[args.recipe], args.recipe)

    roots = _roots(args.input)
    written = batch.DigestSet()  # the files already listed (a file given and its folder: once)
    found = failed = 0
    try:
        with warnings.catch_warnings(), atomic_write(output, "w", suffix=TMP_SUFFIX, durable=False, private=True) as fh:
            warnings.simplefilter("ignore")  # pydicom warnings can quote element values
            fh.write("{")
            for root in roots:
                for source in _walk(root, os.path.realpath(output)):
                    found += 1
                    display = _display(root, source)
                    reason = ""
                    try:
                        ds = batch.read_input(source, force=args.force)[0]
                    except batch.InputError as err:
                        reason = str(err)
                    except InvalidDicomError:
                        reason = "not a DICOM file"
                    except OSError as err:
                        reason = f"cannot read: {err.strerror or type(err).__name__}"
                    except Exception as err:  # noqa: BLE001
                        reason = f"cannot read: damaged or unsupported DICOM ({type(err).__name__})"
                    if reason:
                        failed += 1
                        _err(f"failed: {display}: {reason}")
                        continue
                    path = os.path.abspath(source)
                    digest = batch._digest(path)
                    if digest in written:
                        continue
                    fh.write(("\n" if not len(written) else ",\n") + _ids_entry(path, identifiers_of(ds)))
                    written.add(digest)
                    del ds
            preflight.check_found(found, args.input or ())  # nothing found: the file is not written
            fh.write("\n}\n" if len(written) else "}\n")
    except WriteError as err:
        raise CliError(str(err)) from None
    print(f"wrote the identifiers of {_count(len(written), 'file')} to {output}" + (f" ({failed} failed)" if failed else ""))
    if variables:
        print(f"the recipe uses these variables; add them to each file's object: {', '.join(variables)}")
    print("the file holds identifying data (readable by you only): keep it where the DICOM files are allowed to be")
    return 1 if failed else 0


# =========================================================================== explain, dry run, verify


EXPLAIN_FORMATS = ("text", "json")
EXPLAIN_SYNOPSIS = f"{PROG} explain [RECIPE...] FILE.dcm"


def _add_proof_commands(sub: Any) -> None:
    """``deidc explain`` and ``deidc verify`` (docs/explain-verify.md)."""
    explain = sub.add_parser(
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
    explain.add_argument("paths", nargs="+", metavar="PATH", help="recipe files (default: deidlang's default recipe), then the DICOM file (last)")
    explain.add_argument("--ids", metavar="IDS.json", help="per-file variables in deid's shape (from `deidc identifiers`)")
    explain.add_argument("--functions", metavar="FILE.py", help="Python file providing the func: functions (it is executed)")
    explain.add_argument("--format", choices=EXPLAIN_FORMATS, default="text", help="output format (default: text)")
    explain.add_argument("--show-values", action="store_true", help="also print each element's value before and after (identifying data)")
    explain_private = explain.add_mutually_exclusive_group()
    explain_private.add_argument("--remove-private", dest="remove_private", action="store_true", default=True, help="remove private elements, as `deidc run` does (default)")
    explain_private.add_argument("--keep-private", dest="remove_private", action="store_false", help="keep private elements")
    explain.add_argument("--force", action="store_true", help="read a file that lacks the DICOM preamble")
    _add_safety_options(explain)
    _add_key_options(explain)
    explain.set_defaults(handler=_cmd_explain)

    verify = sub.add_parser(
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
    verify.add_argument("--original", required=True, metavar="IN", help="the original DICOM file or directory")
    verify.add_argument("--deidentified", required=True, metavar="OUT", help="the de-identified file or directory (a `deidc run` output)")
    verify.add_argument("--format", choices=EXPLAIN_FORMATS, default="text", help="output format (default: text)")
    verify.add_argument("--show-values", action="store_true", help="also print the leaked values (identifying data)")
    verify.add_argument(
        "--key-file", metavar="PATH",
        help="the run's secret key: its manifest names inputs by keyed digests (default: $DEIDLANG_KEY, "
        "$DEIDLANG_KEY_FILE, else the user key file)",
    )
    verify.add_argument("--pixels", action="store_true", help="also read each output's pixels with OCR and report identifying text found there (pip install 'deidlang[ocr]')")
    verify.add_argument("--ocr-frames", type=int, default=8, metavar="N", help="with --pixels: frames read in a multi-frame image (default 8)")
    verify.set_defaults(handler=_cmd_verify)


def _add_run_proof_options(run: Any) -> None:
    """``deidc run --dry-run [--report PATH]`` and ``--verify``."""
    proof = run.add_argument_group("seeing and proving what the recipe does")
    proof.add_argument("--dry-run", action="store_true", help="read and de-identify in memory only: say what would change per file; write nothing")
    proof.add_argument("--report", metavar="PATH", help="with --dry-run: write every file's per-element explanation to PATH (JSON)")
    proof.add_argument(
        "--verify", action="store_true",
        help="search each output for identifying values of its original before writing it; "
        "a file with a leak fails and is not written",
    )
    proof.add_argument("--show-values", action="store_true", help="include element values in the --dry-run report and --verify failures (identifying data)")


def _ids_for(ids: Mapping[str, dict] | None, path: str, ds: Any = None) -> dict | None:
    """One file's ids entry, matched as `deidc run` matches it (path, then SOPInstanceUID)."""
    if ids is None:
        return None
    index = {os.path.normpath(k): v for k, v in ids.items()}
    uid = ds.get("SOPInstanceUID") if ds is not None else None
    key = batch.ids_key_for(index, batch.ids_by_uid(index), (os.path.abspath(path), path), str(uid).strip("\0 ") if uid else None)
    if key is not None:
        return index[key]
    _err(f"note: '{path}' has no entry in the ids file")
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


def _read_dicom_or_fail(path: str, force: bool):
    """Read one DICOM file for explain (CliError with a reason, never file content)."""
    from pydicom.errors import InvalidDicomError

    if not os.path.exists(path):
        raise CliError(f"'{path}' does not exist")
    try:
        return batch.read_input(path, force=force)[0]
    except batch.InputError as err:  # not a regular file, empty, cut short, too deep...
        raise CliError(f"cannot read '{path}': {err}") from None
    except InvalidDicomError:
        raise CliError(f"cannot read '{path}': not a DICOM file" + ("" if force else " (no DICOM preamble; --force reads it anyway)")) from None
    except IsADirectoryError:
        raise CliError(f"cannot read '{path}': is a directory (explain takes one file)") from None
    except OSError as err:
        raise CliError(f"cannot read '{path}': {err.strerror or type(err).__name__}") from None
    except Exception as err:  # noqa: BLE001 - a damaged file; its own message could quote data
        raise CliError(f"cannot read '{path}': damaged or unsupported DICOM ({type(err).__name__})") from None


def _cmd_explain(args: argparse.Namespace) -> int:
    from . import explain as explaining

    recipes, file = _explain_paths(list(args.paths))
    recipe_paths = _option_recipes(args) + recipes
    preflight.check_options(getattr(args, "option", None), remove_private=args.remove_private)
    ids = _read_ids(args.ids) if args.ids else None
    funcs = _load_functions(args.functions) if args.functions else None
    ds = _read_dicom_or_fail(file, args.force)
    loaded = _load_programs(recipe_paths, ids=ids, funcs=funcs, strict=False, what="nothing was explained", args=args)
    if loaded is None:
        return 1
    _texts, programs, _allowed = loaded
    programs = _compose_programs(programs, args)  # as `deidc run` applies them: earlier KEEPs protect; keys bound
    try:
        explanation = explaining.explain(programs, ds, ids=_ids_for(ids, file, ds), funcs=funcs, path=file, remove_private=args.remove_private)
    except ApplyError as err:
        _err(f"error: {_apply_error_text(err, args.show_values)}")
        return 1
    if args.format == "json":
        sys.stdout.write(explaining.render_json(explanation, show_values=args.show_values))
    else:
        sys.stdout.write(explaining.render_text(explanation, show_values=args.show_values))
    return 0


def _dry_run(args: argparse.Namespace, tasks: list, programs: list, funcs: Mapping[str, Callable] | None) -> int:
    """``deidc run --dry-run``: explain every file; write nothing but the optional --report."""
    from . import explain as explaining

    output = os.path.abspath(args.output)
    report_path = os.path.abspath(args.report) if args.report else None
    if report_path and (report_path + os.sep).startswith(output + os.sep):
        raise CliError(f"--report '{args.report}' is inside the output directory, which a dry run leaves alone: choose another path")
    show = bool(getattr(args, "show_values", False))
    totals = dict.fromkeys(explaining.OUTCOMES, 0)
    actions: dict[str, int] = {}
    entries: list[dict[str, Any]] = []
    failed = 0
    for task in tasks:
        reason = ""
        explanation = None
        try:
            if task.refused:  # no ids entry for a recipe that needs one; a path that would leave the output
                raise CliError(task.refused)
            ds = _read_dicom_or_fail(task.source, args.force)
            explanation = explaining.explain(programs, ds, ids=task.ids, funcs=funcs, path=task.display, remove_private=args.remove_private)
        except CliError as err:
            reason = str(err)
        except ApplyError as err:
            reason = _apply_error_text(err, show)
        except Exception as err:  # noqa: BLE001 - keep going; the message must not quote data
            reason = f"internal error while explaining ({type(err).__name__}); this is a bug in deidlang"
        rel = os.path.relpath(task.target, output) if task.target else ""  # the planned output name: no input path
        shown_file = task.display if show else rel
        if explanation is None:
            failed += 1
            _err(f"failed: {task.display}: {reason}")
            entries.append({"file": shown_file, "output": rel, "error": reason})
            continue
        counts = explanation.counts()
        for k, n in counts.items():
            totals[k] = totals.get(k, 0) + n
        for k, n in explanation.actions().items():
            actions[k] = actions.get(k, 0) + n
        summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n and k != "kept") or "no change"
        print(f"{rel}: would {_would(counts)}" if summary != "no change" else f"{rel}: no change")
        entry = explaining.to_dict(explanation, show_values=show)
        entry["file"], entry["output"] = shown_file, rel
        entries.append(entry)
    if report_path:
        data = {
            "dry_run": True,
            "tool": f"{PROG} {__version__}",
            "recipes": _option_recipes(args) + [str(p) for p in (args.recipe or [str(DEFAULT_RECIPE)])],
            "remove_private": bool(args.remove_private),
            "values_shown": show,
            "totals": totals,
            "actions": actions,
            "files": entries,
        }
        _write_text_atomic(report_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n", private=show)
    done = len(tasks) - failed
    print(
        f"dry run: {_count(done, 'file')} explained" + (f", {failed} failed" if failed else "")
        + f"; nothing was written to {args.output}"
    )
    if done:
        print(f"would {_would(totals)} in all" if any(n for k, n in totals.items() if k != "kept") else "no element would change")
        if actions:
            print("decided by: " + ", ".join(f"{k} {n}" for k, n in actions.items()))
    if report_path:
        print(f"report: {args.report}" + (" (holds element values: keep it with the data)" if show else ""))
    return 1 if failed else 0


def _apply_error_text(err: ApplyError, show_values: bool) -> str:
    """An apply error as printed: with --show-values, also what the user's function said."""
    detail = batch.raised_message(err) if show_values else ""
    return _with_detail(str(err), detail)


def _with_detail(text: str, detail: str) -> str:
    return f"{text}; the function's message: {detail}" if detail else text


def _would(counts: Mapping[str, int]) -> str:
    verbs = {"removed": "remove", "blanked": "blank", "changed": "change", "added": "add"}
    parts = [f"{verbs[k]} {n}" for k, n in counts.items() if n and k in verbs]
    text = ", ".join(parts) if parts else "change nothing"
    if counts.get("unchanged"):
        text += f" ({counts['unchanged']} selected but left unchanged)"
    return text + " elements" if parts else text


def _write_text_atomic(path: str, text: str, *, private: bool = False) -> None:
    """A report, complete or not there (deidlang/atomic.py); ``private`` (it holds element
    values): readable by its owner only."""
    try:
        write_text(path, text, suffix=TMP_SUFFIX, durable=False, private=private)
    except OSError as err:
        raise CliError(f"cannot write '{path}': {describe(err)}") from None


def _cmd_verify(args: argparse.Namespace) -> int:
    from . import verify as verifying
    from .diagnostics import DeidlangError

    for given, what in ((args.original, "--original"), (args.deidentified, "--deidentified")):
        if not os.path.exists(given):
            raise CliError(f"{what} '{given}' does not exist")
    try:
        key = None
        if args.key_file:
            from .runtime import keyed

            key = keyed.key_from_file(args.key_file)
        pixels = _ocr_settings(args)  # --pixels (deidlang/ocr)
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
        lines.append(f"{check.output}: {_count(len(check.leaks), 'leak')} (original {check.original})")
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
    summary = f"verify: {_count(checked, 'file')} checked"
    if report.ok:
        summary += ": no identifying value of the originals was found"
    else:
        summary += f", {leaky} with leaks ({_count(len(report.leaks), 'leak')})"
        if errors or report.unpaired:
            summary += f", {errors + len(report.unpaired)} could not be verified"
    if report.skipped:
        summary += f"; {_count(len(report.skipped), 'other file')} (reports, not DICOM) skipped"
    lines.append(summary)
    sys.stdout.write("\n".join(lines) + "\n")
    return 0 if report.ok else 1
