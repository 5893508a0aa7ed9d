"""The ``deidc`` command line: ``check``, ``run``, ``inspect``, ``clean``, ``identifiers``
and ``version``.

The only module that prints or exits. :func:`main` takes ``argv`` and
returns an exit status; :func:`run_main` (the console script, and
``python -m deidlang``) turns it into ``SystemExit``.

Exit status (ruff/mypy convention): 0 = nothing wrong; 1 = the input has
problems (recipe errors, or files that failed); 2 = no verdict was reached
(bad usage, an unreadable recipe/ids/functions file, or a bug in deidc).

Streams: ``deidc check`` writes its diagnostics to stdout (they are its
output), and ``deidc inspect`` its report; ``deidc run``, ``deidc clean`` and
``deidc identifiers`` report problems on stderr and a summary on stdout. Element values are never printed: messages name files,
recipe lines and tags only.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import multiprocessing
import os
import secrets
import signal
import sys
import time
import traceback
import warnings
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, TextIO

import attrs

from . import __version__, api
from .diagnostics import ERROR, WARNING, ApplyError, Diagnostic, RecipeError
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
QUARANTINE_DIR = "quarantine"
QUARANTINE_REPORT = "quarantine.json"

#: Suffix of the temporary files a run writes before renaming them into place.
TMP_SUFFIX = ".deidc-tmp"

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
        return handler(args)
    except CliError as err:
        _err(f"error: {err}")
        return 2
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception:  # noqa: BLE001 - the last line of defence
        traceback.print_exc(file=sys.stderr)
        _err("this is a bug in deidc; please report it with the traceback above")
        return 2


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
    check.add_argument("recipes", nargs="+", metavar="RECIPE", help="recipe files")
    check.add_argument("--ids", metavar="IDS.json", help="per-file variables in deid's shape, to check var: references")
    check.add_argument("--functions", metavar="FILE.py", help="Python file whose public functions are the known func: names (it is executed)")
    check.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when problems are found (2 still means failure)")
    check.set_defaults(handler=_cmd_check)

    run = sub.add_parser(
        "run",
        help="de-identify DICOM files with recipes",
        description=(
            "De-identify DICOM files. Without --input, runs on the demo data shipped with deidlang; "
            "without --recipe, applies deidlang's conservative default recipe. Several --recipe "
            "options are applied one after the other, in the order given. Output mirrors the input "
            "tree under --output; inputs are never modified."
        ),
    )
    run.add_argument("--recipe", action="append", metavar="RECIPE", help="recipe to apply (repeatable; applied in order)")
    run.add_argument("--input", action="append", metavar="PATH", help="DICOM file or directory (repeatable; default: the demo data)")
    run.add_argument("--output", default=DEFAULT_OUTPUT, metavar="DIR", help=f"output directory (default: ./{DEFAULT_OUTPUT})")
    run.add_argument("--ids", metavar="IDS.json", help="per-file variables in deid's shape (from `deidc identifiers`)")
    run.add_argument("--functions", metavar="FILE.py", help="Python file providing the func: functions (it is executed)")
    run.add_argument("--overwrite", action="store_true", help="replace outputs that already exist (default: keep them)")
    run.add_argument("--jobs", type=_positive_int, metavar="N", help="worker processes (default: all cores)")
    private = run.add_mutually_exclusive_group()
    private.add_argument("--remove-private", dest="remove_private", action="store_true", default=True, help="remove private elements (default)")
    private.add_argument("--keep-private", dest="remove_private", action="store_false", help="keep private elements")
    run.add_argument("--strict", action="store_true", help="do not run when the recipe has warnings")
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
    run.set_defaults(handler=_cmd_run)

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
    inspect.set_defaults(handler=_cmd_inspect)

    clean = sub.add_parser(
        "clean",
        help="blank burned-in text in DICOM pixels, with before/after previews",
        description=(
            "Blank the regions that the recipe's %filter labels give for each file (every frame and sample) "
            "and write the result under --output, mirroring the input tree. By default the recipe's header "
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
    clean.add_argument("--jobs", type=_positive_int, metavar="N", help="worker processes (default: all cores)")
    clean_private = clean.add_mutually_exclusive_group()
    clean_private.add_argument("--remove-private", dest="remove_private", action="store_true", default=True, help="remove private elements (default, unless --pixels-only)")
    clean_private.add_argument("--keep-private", dest="remove_private", action="store_false", help="keep private elements")
    clean.add_argument("--strict", action="store_true", help="do not run when the recipe has warnings")
    clean.add_argument("--force", action="store_true", help="read files that lack the DICOM preamble")
    clean.set_defaults(handler=_cmd_clean, clean_pixels=True, quarantine=None)

    ids = sub.add_parser(
        "identifiers",
        help="write the identifiers of DICOM files to a JSON file, to edit and pass back with --ids",
        description=(
            "Write, for each file, its elements and values (DICOM JSON model) keyed by deid's element "
            "identifiers, under the file's absolute path. Add your variables to each file's object and "
            "pass the file to `deidc run --ids`. The output holds identifying data: keep it safe."
        ),
    )
    ids.add_argument("--input", action="append", metavar="PATH", help="DICOM file or directory (repeatable; default: the demo data)")
    ids.add_argument("--output", required=True, metavar="IDS.json", help="where to write the JSON")
    ids.add_argument("--recipe", metavar="RECIPE", help="recipe the ids are for: it is checked, and its var: names are listed")
    ids.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    ids.add_argument("--force", action="store_true", help="read files that lack the DICOM preamble")
    ids.set_defaults(handler=_cmd_identifiers)

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
    """Execute the Python file the user named and return its public callables.

    This is the only place where deidc runs code that is not its own, and
    only from a file given with ``--functions``. ``__all__`` decides what is
    public when the file defines it; otherwise every callable whose name
    does not start with ``_`` (classes excluded).
    """
    file = Path(path)
    if not file.is_file():
        raise CliError(f"cannot read functions file '{path}': no such file")
    name = "_deidc_functions_" + "".join(c if c.isalnum() else "_" for c in file.stem)
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise CliError(f"cannot load functions file '{path}': not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so that dataclasses, pickling etc. inside it work
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # noqa: BLE001 - the user's code, reported, not a bug in deidc
        sys.modules.pop(name, None)
        raise CliError(f"cannot load functions file '{path}': {type(err).__name__}: {err}") from None
    public = getattr(module, "__all__", None)
    names = list(public) if public is not None else [n for n in vars(module) if not n.startswith("_")]
    return {
        n: obj
        for n in names
        if callable(obj := getattr(module, n, None)) and not isinstance(obj, type)
    }


def _check_recipes(
    paths: Iterable[str], *, ids: Mapping | None, functions: Iterable[str] | None
) -> tuple[dict[str, str], list[Diagnostic]]:
    texts: dict[str, str] = {}
    for path in paths:
        if path not in texts:
            texts[path] = _read_recipe(path)
    names = sorted(functions) if functions is not None else None
    diagnostics: list[Diagnostic] = []
    for path, text in texts.items():
        diagnostics.extend(api.check(text, path=path, ids=ids, functions=names))
    return texts, diagnostics


def _has_errors(diagnostics: Iterable[Diagnostic], *, strict: bool) -> bool:
    return any(d.severity == ERROR or (strict and d.severity == WARNING) for d in diagnostics)


# =========================================================================== check


def _cmd_check(args: argparse.Namespace) -> int:
    ids = _read_ids(args.ids) if args.ids else None
    functions = _load_functions(args.functions) if args.functions else None
    texts, diagnostics = _check_recipes(args.recipes, ids=ids, functions=functions)
    out = sys.stdout
    if args.format == "json":
        out.write(render_json(diagnostics))
    elif args.format == "sarif":
        out.write(render_sarif(diagnostics, tool_version=__version__))
    elif args.format == "concise":
        out.write(render_concise(diagnostics, texts, recipes=len(texts)))
    else:
        out.write(render_text(diagnostics, texts, color=_want_color(out), recipes=len(texts)))
    if args.exit_zero:
        return 0
    return 1 if _has_errors(diagnostics, strict=args.strict) else 0


# =========================================================================== inputs and outputs


@attrs.frozen
class _Root:
    """One --input as given, and where its files go under the output directory."""

    given: str  # as on the command line ("" for the bundled demo data)
    path: str  # absolute
    is_dir: bool
    prefix: str  # sub-directory of the output for this root ("" = the output itself)


@attrs.frozen
class _Task:
    """One file to process: small and picklable (it crosses to a worker process)."""

    source: str  # absolute input path
    target: str  # absolute output path
    display: str  # how the file is named in messages
    ids: dict | None = None
    quarantine: str | None = None  # absolute path under <output>/quarantine (with --quarantine)


def _roots(inputs: list[str] | None) -> list[_Root]:
    if not inputs:
        return [_Root("", str(DEMO_DIR), True, "")]
    roots: list[_Root] = []
    seen: set[str] = set()
    prefixes: set[str] = set()
    for given in inputs:
        path = os.path.abspath(given)
        if not os.path.exists(path):
            raise CliError(f"input '{given}' does not exist")
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        is_dir = os.path.isdir(path)
        prefix = ""
        if is_dir and len(inputs) > 1:  # several roots: each gets its own sub-directory
            prefix = _unique(os.path.basename(path.rstrip(os.sep)) or "input", prefixes)
        roots.append(_Root(given, path, is_dir, prefix))
    return roots


def _walk(root: _Root, exclude: str) -> Iterator[str]:
    """Files under a root in a stable order, skipping hidden names and the output directory."""
    if not root.is_dir:
        yield root.path
        return
    for directory, dirnames, filenames in os.walk(root.path):
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and os.path.realpath(os.path.join(directory, d)) != exclude
        )
        for name in sorted(filenames):
            if not name.startswith("."):
                yield os.path.join(directory, name)


def _unique(relative: str, taken: set[str]) -> str:
    """``relative``, or ``name-2.ext``, ``name-3.ext``... if it is taken (case-insensitively)."""
    candidate = relative
    stem, ext = os.path.splitext(relative)
    n = 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem}-{n}{ext}"
    taken.add(candidate.lower())
    return candidate


def _plan(
    roots: list[_Root], output: str, ids: Mapping[str, dict] | None, *, quarantine: bool = False
) -> tuple[list[_Task], int]:
    """Every input file with its output path (mirroring the input tree) and its ids.

    With ``quarantine``, each file also gets its place under ``<output>/quarantine``
    (an input directory of that name is written as ``quarantine-input``).
    Returns the tasks and the number of files that found no entry in ``ids``.
    """
    out_real = os.path.realpath(output)
    if os.path.exists(output) and not os.path.isdir(output):
        raise CliError(f"the output '{output}' exists and is not a directory")
    for root in roots:
        if root.is_dir and os.path.realpath(root.path) == out_real:
            raise CliError(f"the output directory '{output}' is the input '{root.given}': choose another --output")
    index = {os.path.normpath(k): v for k, v in ids.items()} if ids is not None else None
    tasks: list[_Task] = []
    taken: set[str] = set()
    seen: set[str] = set()
    missing = 0
    for root in roots:
        for source in _walk(root, out_real):
            real = os.path.realpath(source)
            if real in seen:
                continue
            seen.add(real)
            rel = os.path.relpath(source, root.path) if root.is_dir else os.path.basename(source)
            target_rel = os.path.join(root.prefix, rel) if root.prefix else rel
            if quarantine:
                head, sep, tail = target_rel.partition(os.sep)
                if head.lower() == QUARANTINE_DIR and sep:
                    target_rel = os.path.join(f"{head}-input", tail)
            target_rel = _unique(target_rel, taken)
            display = _display(root, source)
            file_ids = None
            if index is not None:
                file_ids = _lookup_ids(index, (os.path.abspath(source), display, rel))
                if file_ids is None:
                    missing += 1
                    file_ids = {}
            out_dir = os.path.abspath(output)
            hold = os.path.join(out_dir, QUARANTINE_DIR, target_rel) if quarantine else None
            tasks.append(_Task(source, os.path.join(out_dir, target_rel), display, file_ids, hold))
    return tasks, missing


def _display(root: _Root, source: str) -> str:
    """A file as the user named it: the path as given, or relative to the demo data."""
    if not root.is_dir:
        return root.given
    rel = os.path.relpath(source, root.path)
    return os.path.normpath(os.path.join(root.given, rel)) if root.given else rel


def _lookup_ids(index: Mapping[str, dict], keys: Iterable[str]) -> dict | None:
    """deid keys ids by absolute path; also accept the path as given and relative to the input."""
    for key in keys:
        found = index.get(os.path.normpath(key))
        if found is not None:
            return found
    return None


# =========================================================================== processing one file


@attrs.frozen
class FileResult:
    """What happened to one file. Holds counts and reasons, never element values."""

    display: str
    status: str  # "written" | "quarantined" | "skipped" | "failed"
    reason: str = ""
    removed: int = 0
    added: int = 0
    changed: int = 0
    warnings: int = 0
    diagnostic: Diagnostic | None = None  # for a failure at apply time: where in the recipe
    # with --clean-pixels / --quarantine:
    pixels: str = ""  # "cleaned" | "unchanged" ("" when pixels were not asked about)
    verdict: str | None = None  # the first %filter group that flagged the file
    matches: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (group, label, criteria that held)
    note: str = ""  # about the pixels: why they are uncompressed, why nothing was blanked
    output: str = ""  # where the file was written
    previews: int = 0  # PNG files written


@attrs.frozen
class _RunOptions:
    overwrite: bool = False
    remove_private: bool = True
    force: bool = False
    clean_pixels: bool = False
    quarantine: frozenset[str] = frozenset()
    preserve_compression: bool = False
    pixels_only: bool = False  # leave the header alone (deidc clean --pixels-only)
    png: str | None = None  # absolute directory for before/after previews
    output: str = ""  # absolute output directory (to name previews)

    @property
    def inspects(self) -> bool:
        return self.clean_pixels or bool(self.quarantine)


def _comparable(value: Any) -> Any:
    """A value that compares by content; every kind of empty (None, '', []) is the same."""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return tuple(value) if len(value) else ""
    return "" if value is None else value


_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"})


def _normal_text(text: str) -> str:
    return "\\".join(part.strip(" \x00") for part in text.split("\\"))


def _same_text(old, new) -> bool | None:
    """Whether a raw ASCII text element still has its value, without converting it
    (conversion costs more than the rest of the bookkeeping); None when unsure.
    Differences in surrounding spaces only are not counted as changes."""
    if new.VR not in _TEXT_VRS or old.VR not in (new.VR, None):
        return None
    raw = old.value or b""
    value = new.value
    if value is None:
        text = ""
    elif isinstance(value, (str, int, float)):
        text = str(value)
    elif isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        text = "\\".join(str(v) for v in value)
    else:
        return None
    if not (raw.isascii() and text.isascii()):
        return None
    return _normal_text(raw.decode("ascii")) == _normal_text(text)


def _elements(ds) -> dict[int, Any]:
    """Top-level and file-meta elements by tag, without converting raw ones.

    Read from ``Dataset._dict`` (as the runtime's universe does):
    ``Dataset.elements()`` costs about as much as reading the file.
    """
    out: dict[int, Any] = {}
    for dataset in (ds, getattr(ds, "file_meta", None)):
        if dataset is None:
            continue
        elements = getattr(dataset, "_dict", None)
        out.update(elements if isinstance(elements, dict) else {e.tag: e for e in dataset.elements()})
    return out


def _snapshot(ds) -> dict[int, tuple[Any, Any]]:
    """tag -> (element object, its value if it is already converted), before a recipe runs.

    Nothing is converted here, so elements the recipe does not touch stay raw
    and are written back exactly as fast as they were read.
    """
    from pydicom.dataelem import DataElement

    return {
        tag: (elem, _comparable(elem.value) if type(elem) is DataElement and elem.VR != "SQ" else None)
        for tag, elem in _elements(ds).items()
    }


def _changes(before: dict[int, tuple[Any, Any]], ds, encoding: Any) -> tuple[int, int, int]:
    """(removed, added, changed) top-level elements; changes inside sequences are not counted.

    Only elements the recipe touched (a new element object, or a converted
    one) are compared, so the cost grows with what the recipe does, not
    with the size of the dataset.
    """
    from pydicom.dataelem import DataElement, convert_raw_data_element

    after = _elements(ds)
    removed = len(before.keys() - after.keys())
    added = len(after.keys() - before.keys())
    changed = 0
    for tag, (old, old_value) in before.items():
        new = after.get(tag)
        if new is None or (new is old and old_value is None) or type(new) is not DataElement or new.VR == "SQ":
            continue  # removed, untouched (still raw), or a sequence
        if new is not old or old_value is None:
            if type(old) is DataElement:
                if old.VR == "SQ":
                    continue
                old_value = _comparable(old.value)
            else:
                same = _same_text(old, new)
                if same is not None:
                    changed += not same
                    continue
                try:
                    old_value = _comparable(convert_raw_data_element(old, encoding=encoding).value)
                except Exception:  # noqa: BLE001 - an unreadable old value counts as changed
                    changed += 1
                    continue
        changed += old_value != _comparable(new.value)
    return removed, added, changed


def _write_atomic(ds, target: str) -> None:
    """Write to a temporary name in the target's directory, then rename into place.

    An interrupted run leaves either the complete file or nothing under the
    target name; the temporary file is removed on any failure.
    """
    directory = os.path.dirname(target)
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(target)}.{secrets.token_hex(4)}{TMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            ds.save_as(fh, enforce_file_format=False)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class _Worker:
    """Applies the compiled recipes to one file at a time (in this process or in a pool worker)."""

    def __init__(self, programs: list, funcs: Mapping[str, Callable] | None, options: _RunOptions):
        self.programs = programs
        self.funcs = dict(funcs) if funcs else None
        self.options = options

    def __call__(self, task: _Task) -> FileResult:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = self._process(task)
        return attrs.evolve(result, warnings=len(caught)) if caught else result

    def _process(self, task: _Task) -> FileResult:
        import pydicom
        from pydicom.errors import InvalidDicomError

        options = self.options

        def failed(reason: str) -> FileResult:
            return FileResult(task.display, "failed", reason)

        if not options.quarantine:  # the target is known before reading: skip existing outputs cheaply
            early = self._existing(task, task.target)
            if early is not None:
                return early
        try:
            ds = pydicom.dcmread(task.source, force=options.force)
        except InvalidDicomError:
            return failed("not a DICOM file" + ("" if options.force else " (no DICOM preamble; --force reads it anyway)"))
        except IsADirectoryError:
            return failed("cannot read: is a directory")
        except OSError as err:
            return failed(f"cannot read: {err.strerror or type(err).__name__}")
        except Exception as err:  # noqa: BLE001 - a damaged file; its own message could quote data
            return failed(f"cannot read: damaged or unsupported DICOM ({type(err).__name__})")

        inspection = None
        if options.inspects:  # the filters see the original header values
            try:
                inspection = _inspect(self.programs, ds, task.display)
            except ApplyError as err:
                return attrs.evolve(failed(str(err)), diagnostic=err.with_path(task.display).as_diagnostic())
            except Exception as err:  # noqa: BLE001
                return failed(f"internal error while running the %filter sections ({type(err).__name__}); this is a bug in deidlang")
        target, status = task.target, "written"
        if inspection is not None and task.quarantine and inspection.group in options.quarantine:
            target, status = task.quarantine, "quarantined"
        if options.quarantine:
            early = self._existing(task, target)
            if early is not None:
                return early

        removed = added = changed = 0
        if not options.pixels_only:
            encoding = getattr(ds, "original_character_set", None)
            before = _snapshot(ds)
            try:
                for program in self.programs:
                    result = program.apply(ds, ids=task.ids, funcs=self.funcs, path=task.display, remove_private=options.remove_private)
                    ds = result if result is not None else ds
            except ApplyError as err:
                return attrs.evolve(failed(str(err)), diagnostic=err.with_path(task.display).as_diagnostic())
            except Exception as err:  # noqa: BLE001 - keep the batch going; the message must not quote data
                return failed(f"internal error while applying the recipe ({type(err).__name__}); this is a bug in deidlang")
            removed, added, changed = _changes(before, ds, encoding)

        pixel_state, note, report = "", "", None
        if options.clean_pixels and inspection is not None:
            from . import pixels

            try:
                report = pixels.clean_pixels(
                    ds, inspection.regions, preserve_compression=options.preserve_compression, previews=options.png is not None
                )
            except pixels.PixelError as err:
                return failed(f"pixels not cleaned, file not written: {err}")
            except Exception as err:  # noqa: BLE001 - never write a file whose pixels were meant to be cleaned
                return failed(f"pixels not cleaned, file not written: internal error ({type(err).__name__}); this is a bug in deidlang")
            pixel_state, note = ("cleaned" if report.cleaned else "unchanged"), report.note
            if inspection.flagged and not report.cleaned and "PixelData" in ds:
                note = _unblanked_note(inspection)
        try:
            _write_atomic(ds, target)
        except OSError as err:
            return failed(f"cannot write '{target}': {err.strerror or type(err).__name__}")
        except Exception as err:  # noqa: BLE001 - pydicom could not encode a value
            return failed(f"cannot write: a value cannot be encoded ({type(err).__name__})")
        previews = 0
        if report is not None and report.cleaned and options.png:
            try:
                previews = len(_write_previews(report, target, options))
            except Exception as err:  # noqa: BLE001 - a preview is a convenience; the file is written
                note = (note + "; " if note else "") + f"previews not written ({type(err).__name__})"
        return FileResult(
            task.display, status, removed=removed, added=added, changed=changed,
            pixels=pixel_state, note=note, output=target, previews=previews,
            verdict=inspection.group if inspection is not None else None,
            matches=_match_summary(inspection),
        )

    def _existing(self, task: _Task, target: str) -> FileResult | None:
        """The result for a file whose output already exists (or would overwrite the input)."""
        if os.path.lexists(target):
            if os.path.exists(task.source) and os.path.samefile(task.source, target):
                return FileResult(task.display, "failed", "the output would overwrite the input")
            if not self.options.overwrite:
                return FileResult(task.display, "skipped", "the output exists")
        return None


def _inspect(programs: list, ds, path: str):
    """What every recipe's %filter sections say about ``ds``, as one Inspection
    (matches in recipe order: the first is the verdict)."""
    from .runtime.inspection import Inspection

    matches: list = []
    for program in programs:
        if getattr(program, "filters", ()):
            matches.extend(program.inspect(ds, path=path).matches)
    return Inspection(tuple(matches))


def _match_summary(inspection) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    if inspection is None:
        return ()
    return tuple((m.group, m.label, tuple(str(c) for c in m.criteria)) for m in inspection.matches)


def _unblanked_note(inspection) -> str:
    first = inspection.matches[0]
    return f"flagged by '{first.group}' (label '{first.label}') but no region blanks anything: pixels written unchanged"


def _write_previews(report, target: str, options: _RunOptions) -> tuple[str, str]:
    from . import pixels

    rel = os.path.relpath(target, options.output) if options.output else os.path.basename(target)
    stem = os.path.splitext(rel)[0] if rel.lower().endswith((".dcm", ".dicom")) else rel
    base = os.path.join(options.png or "", stem)
    return pixels.write_previews(report, f"{base}-before.png", f"{base}-after.png")


# Pool workers get the compiled recipes once, through the initializer, and
# then only small tasks. Forked workers inherit the user's functions; under
# spawn/forkserver the functions file is executed again in each worker
# (callables from a file loaded by path cannot be pickled by reference).
_POOL_WORKER: _Worker | None = None
_START_METHOD: str | None = None  # the platform's default (a seam for tests)


def _init_pool_worker(
    programs: list, funcs: Mapping[str, Callable] | None, functions_path: str | None, options: _RunOptions
) -> None:
    global _POOL_WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if funcs is None and functions_path:
        funcs = _load_functions(functions_path)
    _POOL_WORKER = _Worker(programs, funcs, options)


def _pool_process(task: _Task) -> FileResult:
    assert _POOL_WORKER is not None, "pool worker was not initialised"
    return _POOL_WORKER(task)


def _default_jobs() -> int:
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counter is not None:
        return counter() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _execute(
    tasks: list[_Task],
    programs: list,
    funcs: Mapping[str, Callable] | None,
    functions_path: str | None,
    options: _RunOptions,
    jobs: int,
) -> Iterator[FileResult]:
    """Results in task order, from this process (one job) or a process pool."""
    if jobs <= 1 or len(tasks) <= 1:
        worker = _Worker(programs, funcs, options)
        for task in tasks:
            yield worker(task)
        return
    chunksize = max(1, min(64, len(tasks) // (jobs * 4)))
    workers = min(jobs, math.ceil(len(tasks) / chunksize))
    context = multiprocessing.get_context(_START_METHOD)
    forked = context.get_start_method() == "fork"
    initargs = (programs, funcs if forked else None, None if forked else functions_path, options)
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_pool_worker, initargs=initargs)
    try:
        yield from pool.map(_pool_process, tasks, chunksize=chunksize)
    except BaseException:
        # Ctrl-C (or the caller stopped reading): let the workers finish the
        # files they are writing (writes are atomic), start nothing new.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _remove_temporaries(output: str) -> None:
    """After an interruption: remove temporary files this tool may have left."""
    for directory, _dirs, files in os.walk(output):
        for name in files:
            if name.startswith(".") and name.endswith(TMP_SUFFIX):
                try:
                    os.unlink(os.path.join(directory, name))
                except OSError:
                    pass


# =========================================================================== progress


class Progress:
    """A one-line progress bar on stderr, for runs that take a while on a terminal.

    Quiet when the stream is not a terminal, and until ``delay`` seconds
    have passed (short runs never show it). ``clock`` is injectable so the
    bar can be tested without waiting.
    """

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO, *, delay: float = 0.5, clock: Callable[[], float] = time.monotonic):
        isatty = getattr(stream, "isatty", None)
        self.enabled = bool(total > 1 and isatty and isatty())
        self.total = total
        self.stream = stream
        self.delay = delay
        self.clock = clock
        self.start = clock()
        self.last = -math.inf
        self.done = 0
        self.shown = False

    def advance(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        now = self.clock()
        if now - self.start < self.delay or (now - self.last < 0.1 and self.done < self.total):
            return
        self.last = now
        filled = self.WIDTH * self.done // self.total
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} files")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * (self.WIDTH + 32) + "\r")
            self.stream.flush()
            self.shown = False

    def message(self, text: str) -> None:
        """Print a line without breaking the bar."""
        self.clear()
        print(text, file=self.stream)


# =========================================================================== run


def _compile(text: str, path: str):
    """Compile one recipe (a seam for tests)."""
    return api.compile(text, path=path)


def _load_programs(recipe_paths: list[str], *, ids, funcs, strict: bool, what: str = "no file was read or written") -> tuple[dict[str, str], list] | None:
    """Check and compile the recipes (in the order given); None after reporting errors."""
    texts, diagnostics = _check_recipes(recipe_paths, ids=ids, functions=funcs)
    if diagnostics:
        sys.stderr.write(render_text(diagnostics, texts, color=_want_color(sys.stderr), recipes=len(texts)))
    if _has_errors(diagnostics, strict=strict):
        _err(f"{what}: fix the recipe first" + (" (--strict: warnings count)" if strict else ""))
        return None
    compiled = {}
    for path, text in texts.items():
        try:
            compiled[path] = _compile(text, path)
        except RecipeError as err:
            sys.stderr.write(render_text(err.diagnostics, texts, color=_want_color(sys.stderr), recipes=len(texts)))
            _err(f"{what}: fix the recipe first")
            return None
    return texts, [compiled[path] for path in recipe_paths]


def _has_filters(programs: list) -> bool:
    return any(getattr(p, "filters", ()) for p in programs)


def _require_pixels() -> None:
    try:
        from . import pixels  # noqa: F401
    except ImportError as err:
        raise CliError(f"pixel cleaning needs numpy and pydicom's decoders ({err.name or 'a module'} is missing): pip install 'deidlang[pixels]'") from None


def _cmd_run(args: argparse.Namespace) -> int:
    return _process_files(args, pixels_only=False, png=None)


def _cmd_clean(args: argparse.Namespace) -> int:
    if args.png:
        try:
            import PIL  # noqa: F401
        except ImportError:
            raise CliError("--png needs Pillow: pip install 'deidlang[pixels]'") from None
    return _process_files(args, pixels_only=args.pixels_only, png=args.png)


def _process_files(args: argparse.Namespace, *, pixels_only: bool, png: str | None) -> int:
    """``deidc run`` and ``deidc clean``: every input file, read, inspected when pixels or
    quarantine are asked for, de-identified, cleaned and written."""
    ids = _read_ids(args.ids) if args.ids else None
    funcs = _load_functions(args.functions) if args.functions else None
    recipe_paths = args.recipe or [str(DEFAULT_RECIPE)]
    quarantine = frozenset(args.quarantine or ())
    clean_pixels = bool(args.clean_pixels)
    if clean_pixels:
        _require_pixels()
    loaded = _load_programs(recipe_paths, ids=ids, funcs=funcs, strict=args.strict)
    if loaded is None:
        return 1
    texts, programs = loaded  # in the order given, applied one after the other
    if (clean_pixels or quarantine) and not _has_filters(programs):
        _err("note: the recipe has no %filter section: no file is flagged" + (", no pixels are cleaned" if clean_pixels else ""))
    elif quarantine:
        known = {f.group for p in programs for f in getattr(p, "filters", ())}
        for group in sorted(quarantine - known):
            _err(f"note: --quarantine '{group}': the recipe has no %filter group of that name" + _suggestion(group, known))

    roots = _roots(args.input)
    tasks, missing_ids = _plan(roots, args.output, ids, quarantine=bool(quarantine))
    options = _RunOptions(
        overwrite=args.overwrite,
        remove_private=args.remove_private and not pixels_only,
        force=args.force,
        clean_pixels=clean_pixels,
        quarantine=quarantine,
        preserve_compression=bool(getattr(args, "preserve_compression", False)),
        pixels_only=pixels_only,
        png=os.path.abspath(png) if png else None,
        output=os.path.abspath(args.output),
    )
    jobs = args.jobs or _default_jobs()
    if missing_ids:
        _err(f"note: {missing_ids} of {len(tasks)} files have no entry in the ids file '{args.ids}'")

    progress = Progress(len(tasks), sys.stderr)
    counts = {"written": 0, "quarantined": 0, "skipped": 0, "failed": 0}
    pixel_counts = {"cleaned": 0, "unchanged": 0, "uncompressed": 0, "previews": 0}
    removed = added = changed = pydicom_warnings = 0
    held: list[FileResult] = []
    flagged_unclean = 0  # written, flagged by a group not held back, pixels not asked about
    notes_shown: set[str] = set()
    shown: set[tuple] = set()  # recipe places already shown with their source line
    try:
        for result in _execute(tasks, programs, funcs, args.functions, options, jobs):
            counts[result.status] += 1
            removed += result.removed
            added += result.added
            changed += result.changed
            pydicom_warnings += result.warnings
            if result.pixels:
                pixel_counts[result.pixels] += 1
                pixel_counts["previews"] += result.previews
            if result.status == "failed":
                progress.message(_failure_report(result, texts, shown))
            elif result.note:
                # Encoding notes repeat for every file of a kind: show each once, count them all.
                # Other notes (flagged, but nothing blanked) matter per file.
                encoding = result.note.startswith("written uncompressed")
                pixel_counts["uncompressed"] += encoding
                if not encoding or result.note not in notes_shown:
                    notes_shown.add(result.note)
                    more = " (further files like it are only counted)" if encoding else ""
                    progress.message(f"{PROG}: note: {result.display}: {result.note}{more}")
            if result.status == "quarantined":
                held.append(result)
            elif result.status == "written" and result.verdict is not None and not clean_pixels:
                flagged_unclean += 1
            progress.advance()
    except KeyboardInterrupt:
        progress.clear()
        _remove_temporaries(os.path.abspath(args.output))
        raise
    progress.clear()

    report = _write_quarantine_report(options.output, held) if quarantine else None
    _print_run_summary(args, recipe_paths, tasks, counts, (removed, added, changed), pydicom_warnings, options=options)
    if clean_pixels:
        _print_pixel_summary(pixel_counts, options)
    if report is not None and (held or os.path.exists(report)):
        print(f"quarantine: {_count(len(held), 'file')} held back in {os.path.dirname(report)}; reasons in {report}")
    if flagged_unclean:
        print(f"{_count(flagged_unclean, 'written file')} flagged by other %filter groups kept their pixels; --clean-pixels blanks their regions")
    return 1 if counts["failed"] else 0


def _suggestion(name: str, known: Iterable[str]) -> str:
    from .suggest import did_you_mean

    found = did_you_mean(name, list(known))
    return f"; {found}" if found else ""


def _write_quarantine_report(output: str, held: list[FileResult]) -> str:
    """Add this run's quarantined files to ``<output>/quarantine/quarantine.json``.

    Entries are keyed by the path under the output directory; entries of
    earlier runs are kept. The report names files, groups, labels and the
    recipe criteria that held, never element values.
    """
    path = os.path.join(output, QUARANTINE_DIR, QUARANTINE_REPORT)
    files: dict[str, Any] = {}
    try:
        with open(path, encoding="utf-8") as fh:
            old = json.load(fh)
        if isinstance(old, dict) and isinstance(old.get("files"), dict):
            files.update(old["files"])
    except (OSError, ValueError):
        pass
    if not held and not files:
        return path
    for result in held:
        files[os.path.relpath(result.output, output)] = {
            "input": result.display,
            "verdict": result.verdict,
            "matches": [{"group": g, "label": label, "criteria": list(c)} for g, label, c in result.matches],
            **({"note": result.note} if result.note else {}),
        }
    text = json.dumps({"version": 1, "files": dict(sorted(files.items()))}, indent=2, ensure_ascii=False) + "\n"
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{QUARANTINE_REPORT}.{secrets.token_hex(4)}{TMP_SUFFIX}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        _err(f"cannot write the quarantine report '{path}': {err.strerror or type(err).__name__}")
    return path


def _print_pixel_summary(counts: Mapping[str, int], options: _RunOptions) -> None:
    line = f"pixels: {_count(counts['cleaned'], 'file')} cleaned, {counts['unchanged']} unchanged"
    if counts["uncompressed"] and options.preserve_compression:
        line += f"; {counts['uncompressed']} written uncompressed (their encoding cannot be redone here)"
    print(line)
    if options.png:
        print(f"previews: {_count(counts['previews'], 'PNG file')} in {options.png}; the 'before' images show the original pixels")


def _failure_report(result: FileResult, texts: Mapping[str, str], shown: set[tuple]) -> str:
    """One line per failed file; the first failure at each recipe place also shows
    the recipe line, as `deidc check` does (style.md 4.2)."""
    line = f"{PROG}: failed: {result.display}: {result.reason}"
    diag = result.diagnostic
    if diag is None:
        return line
    key = (diag.file, diag.line, diag.column, diag.code, diag.message)
    if key in shown:
        return line
    shown.add(key)
    block = render_text([diag], texts, color=_want_color(sys.stderr), summary=False)
    return f"{line}\n{block}"


def _print_run_summary(args, recipe_paths, tasks, counts, changes, pydicom_warnings, *, options: _RunOptions | None = None) -> None:
    out = sys.stdout
    total = len(tasks)
    recipes = "deidlang default recipe" if not args.recipe else ", ".join(recipe_paths)
    source = "demo data shipped with deidlang" if not args.input else ", ".join(args.input)
    print(f"recipe: {recipes}", file=out)
    print(f"input: {source}", file=out)
    print(f"output: {os.path.abspath(args.output)}", file=out)
    held = f"{counts['quarantined']} quarantined, " if options is not None and options.quarantine else ""
    print(
        f"{_count(total, 'file')} processed: {counts['written']} written, {held}"
        f"{counts['skipped']} skipped, {counts['failed']} failed",
        file=out,
    )
    removed, added, changed = changes
    if options is not None and options.pixels_only:
        print("header left as it was (--pixels-only)", file=out)
    elif counts["written"] or counts.get("quarantined"):
        print(
            f"top-level elements in written files: {removed} removed, {changed} changed, {added} added"
            + ("; private elements removed" if args.remove_private else "; private elements kept"),
            file=out,
        )
    if counts["skipped"]:
        print(f"{_count(counts['skipped'], 'existing output')} kept; use --overwrite to replace them", file=out)
    if pydicom_warnings:
        print(f"pydicom gave {_count(pydicom_warnings, 'warning')} while reading or writing (not shown: they can quote element values)", file=out)
    if not total:
        print("no input files found", file=out)


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
    import pydicom
    from pydicom.errors import InvalidDicomError

    recipe_paths = args.recipe or [str(DEFAULT_RECIPE)]
    loaded = _load_programs(recipe_paths, ids=None, funcs=None, strict=False, what="no file was read")
    if loaded is None:
        return 1
    _texts, programs = loaded
    groups: list[str] = []
    for program in programs:
        for label in getattr(program, "filters", ()):
            if label.group not in groups:
                groups.append(label.group)
    if not groups:
        _err("note: the recipe has no %filter section: no file can be flagged")

    flagged: list[dict[str, Any]] = []
    clean: list[str] = []
    unreadable: list[dict[str, str]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warnings can quote element values
        for root in _roots(args.input):
            for source in _walk(root, ""):
                display = _display(root, source)
                try:
                    ds = pydicom.dcmread(source, force=args.force, stop_before_pixels=True)
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
                if inspection.flagged:
                    flagged.append(_inspect_entry(display, inspection))
                else:
                    clean.append(display)

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
    if args.format == "json":
        report = {"recipes": recipe_paths if args.recipe else ["<deidlang default recipe>"], "flagged": flagged,
                  "clean": clean, "unreadable": unreadable, "summary": summary}
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(_inspect_table(flagged, unreadable, summary))
    return 0


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


def _recipe_variables(text: str, path: str) -> list[str]:
    """The ``var:`` names a recipe uses, in order of first use."""
    from . import nodes

    names: list[str] = []
    for section in api.parse(text, path=path).recipe.sections:
        for item in section.body:
            if isinstance(item, nodes.ActionLine) and isinstance(item.value, nodes.VarRef):
                if item.value.name not in names:
                    names.append(item.value.name)
    return names


def _ids_json(ids: Mapping[str, Mapping[str, Any]]) -> str:
    """JSON with one element per line, so the file is easy to read and edit by hand."""

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    files = []
    for path, elements in ids.items():
        body = ",\n".join(f"    {dump(uid)}: {dump(value)}" for uid, value in elements.items())
        files.append(f"  {dump(path)}: {{\n{body}\n  }}" if body else f"  {dump(path)}: {{}}")
    return "{\n" + ",\n".join(files) + "\n}\n" if files else "{}\n"


def _cmd_identifiers(args: argparse.Namespace) -> int:
    import pydicom
    from pydicom.errors import InvalidDicomError

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
        variables = _recipe_variables(texts[args.recipe], args.recipe)

    roots = _roots(args.input)
    result: dict[str, dict] = {}
    failed = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warnings can quote element values
        for root in roots:
            for source in _walk(root, os.path.realpath(output)):
                display = _display(root, source)
                try:
                    ds = pydicom.dcmread(source, force=args.force)
                except InvalidDicomError:
                    failed += 1
                    _err(f"failed: {display}: not a DICOM file")
                    continue
                except OSError as err:
                    failed += 1
                    _err(f"failed: {display}: cannot read: {err.strerror or type(err).__name__}")
                    continue
                except Exception as err:  # noqa: BLE001
                    failed += 1
                    _err(f"failed: {display}: cannot read: damaged or unsupported DICOM ({type(err).__name__})")
                    continue
                result[os.path.abspath(source)] = identifiers_of(ds)

    text = _ids_json(result)
    directory = os.path.dirname(os.path.abspath(output))
    tmp = os.path.join(directory, f".{os.path.basename(output)}.{secrets.token_hex(4)}{TMP_SUFFIX}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, output)
    except OSError as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise CliError(f"cannot write '{output}': {err.strerror or type(err).__name__}") from None
    print(f"wrote the identifiers of {_count(len(result), 'file')} to {output}" + (f" ({failed} failed)" if failed else ""))
    if variables:
        print(f"the recipe uses these variables; add them to each file's object: {', '.join(variables)}")
    print("the file holds identifying data: keep it where the DICOM files are allowed to be")
    return 1 if failed else 0
