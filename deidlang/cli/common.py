"""What the ``deidc`` commands share: the names they print under (:data:`PROG`), the
bundled data, :class:`CliError` (a problem that stops a command before it reaches a
verdict: exit 2), reading the user's files (recipes, ids, functions, DICOM files) with
messages that name the file and never its content, the options several commands take,
the secret key, the lookup tables (:func:`tables_of`), and checking and compiling recipes
as a run needs them (:func:`load_programs`). The language server and ``deidc serve`` reuse these readers so
that their messages are the CLI's.

May import: the library (:mod:`deidlang.engine` and everything below it); never another
command module, nor :mod:`deidlang.lsp`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, TextIO

from .. import api, engine
from ..dicomio import damage
from ..dicomio.atomic import describe, write_text
from ..engine import preflight, worker
from ..lang.diagnostics import ERROR, WARNING, ApplyError, Diagnostic, RecipeError, parse_allow
from ..lang.render import render_text
from ..tables import OnMissing, TableError, Tables, load_tables
from ..version import install_hint

PROG = "deidc"
DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DEFAULT_RECIPE = DATA_DIR / "default.dicom"
DEMO_DIR = DATA_DIR / "demo"
DEFAULT_OUTPUT = "deidlang-output"
FORMATS = ("text", "concise", "json", "sarif")


#: Sub-directory of the output that holds quarantined files, and its report.
QUARANTINE_DIR = engine.QUARANTINE_DIR
QUARANTINE_REPORT = engine.QUARANTINE_REPORT


#: Suffix of the temporary files a run writes before renaming them into place.
TMP_SUFFIX = engine.TMP_SUFFIX


class CliError(Exception):
    """A problem that stops the command before it reaches a verdict (exit 2)."""


def print_err(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got '{text}'")
    return value


def want_color(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def read_recipe(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except UnicodeDecodeError as err:
        raise CliError(f"cannot read recipe '{path}': not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise CliError(f"cannot read recipe '{path}': {err.strerror or type(err).__name__}") from None


def read_ids(path: str) -> dict[str, dict[str, Any]]:
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
            f'cannot use ids file \'{path}\': expected a JSON object mapping file paths to objects of variables, e.g. {{"/data/001.dcm": {{"id": "SUB-001"}}}}'
        )
    return data


def load_functions(path: str) -> dict[str, Callable]:
    """Execute the Python file the user named and return its public callables
    (see :func:`deidlang.engine.inputs.load_functions`)."""
    try:
        return engine.load_functions(path)
    except engine.BatchError as err:
        raise CliError(str(err)) from None


def read_recipes(paths: Iterable[str]) -> dict[str, str]:
    return {path: read_recipe(path) for path in dict.fromkeys(paths)}


_TABLES = "_deidlang_tables"  # where tables_of keeps the tables it read, on the command's arguments
_UNREAD = object()


def tables_of(args: Any, *, applying: bool = False) -> Tables | None:
    """The tables a command was given (``--table NAME=PATH``, under ``--on-missing``), read
    once (``None``: none, and none are needed to check; with ``applying``, an empty set:
    every lookup is then a finding)."""
    if args is None:
        return None
    found: Any = getattr(args, _TABLES, _UNREAD)
    if found is not _UNREAD:
        return found
    specs = getattr(args, "table", None) or []
    policy = getattr(args, "on_missing", None) or OnMissing.FAIL.value
    try:
        if specs:
            found = load_tables(specs, policy)
        else:
            found = Tables(on_missing=policy) if applying else None
    except TableError as err:
        raise CliError(str(err)) from None
    setattr(args, _TABLES, found)
    return found


def check_recipes(
    paths: Iterable[str], *, ids: Mapping | None, functions: Iterable[str] | None, deid_compat: bool = False, tables: Any = None
) -> tuple[dict[str, str], list[Diagnostic]]:
    texts = read_recipes(paths)
    verdict = api.vet(texts, ids=ids, functions=functions, deid_compat=deid_compat, tables=tables)
    return texts, list(verdict.diagnostics)


def add_safety_options(parser: argparse.ArgumentParser) -> None:
    """``--allow CODE`` and ``--deid-compat``: what stops a recipe from running (docs/diagnostics.md)."""
    parser.add_argument(
        "--allow",
        action="append",
        metavar="CODE",
        help="run although the recipe has findings with this code, which otherwise stop it (repeatable; "
        "'all' for every finding); a run records them in its manifest",
    )
    parser.add_argument(
        "--deid-compat",
        action="store_true",
        help="also report the lines deid 0.4.13 would run differently (W4xx), and stop on them",
    )


def has_errors(diagnostics: Iterable[Diagnostic], *, strict: bool) -> bool:
    return any(d.severity == ERROR or (strict and d.severity == WARNING) for d in diagnostics)


def add_layout_option(parser: argparse.ArgumentParser) -> None:
    from ..engine.naming import DEFAULT_LAYOUT, LAYOUTS

    parser.add_argument(
        "--layout",
        choices=LAYOUTS,
        default=DEFAULT_LAYOUT,
        help="how outputs are named: mirror (default) = the input tree, every folder or file name that holds "
        "an identifying value of a file in it (name, ID, accession number, date, UID) replaced by a keyed "
        "pseudonym; pseudonym = every name a keyed pseudonym; dicom = PatientID/StudyInstanceUID/"
        "SeriesInstanceUID/SOPInstanceUID.dcm from the de-identified header",
    )


def add_key_options(parser: argparse.ArgumentParser) -> None:
    from ..privacy import profile

    parser.add_argument(
        "--key-file",
        metavar="PATH",
        help="secret key for deid_func:hashuid/hashid/dateshift (default: $DEIDLANG_KEY, $DEIDLANG_KEY_FILE, "
        "else the user key file ~/.config/deidlang/key, created on first use)",
    )
    parser.add_argument(
        "--option",
        action="append",
        metavar="NAME",
        choices=[o.name for o in profile.OPTIONS if o.recipe],
        help="apply this bundled profile option recipe before the other recipes (repeatable): " + ", ".join(o.name for o in profile.OPTIONS if o.recipe),
    )


def option_recipes(args: argparse.Namespace) -> list[str]:
    from ..privacy import profile

    return [str(profile.option_recipe(name)) for name in profile.in_order(getattr(args, "option", None) or ())]


def compose_programs(programs: list, args: argparse.Namespace, key=None) -> list:
    """The Programs as they run: each honours the KEEP lines of the ones before it, and
    keyed built-ins get the key (read once here, so every worker uses the same one)."""
    from ..runtime import extras

    return bind_key(extras.chain(programs), args, key)


def bind_key(programs: list, args: argparse.Namespace, key=None) -> list:
    """Give the keyed built-ins the key (``key``, else the command's key, saying which)."""
    from ..runtime import keyed

    if not keyed.needs_key(programs):
        return programs
    return [keyed.bind(p, key or resolve_key(args)) for p in programs]


def resolve_key(args: argparse.Namespace, *, notes: list[str] | None = None):
    """The secret key of a command (--key-file, else the default key), with a note on
    where it comes from: printed now, or appended to ``notes`` for the caller to print
    once its run starts (so that the note never precedes an error about the inputs)."""
    from ..runtime import keys

    try:
        if getattr(args, "key_file", None):
            key, created = keys.key_from_file(args.key_file), False
        else:
            key, created = keys.default_key()
    except keys.MissingKey as err:
        raise CliError(str(err)) from None
    note = ""
    if created:
        note = f"note: created a new secret key in '{keys.user_key_path()}' (keep it secret; the same key gives the same pseudonyms)"
    elif not getattr(args, "key_file", None) and not os.environ.get("DEIDLANG_KEY") and not os.environ.get("DEIDLANG_KEY_FILE"):
        note = f"note: keyed pseudonyms use the key in '{keys.user_key_path()}' (fingerprint {key.fingerprint})"
    if note and notes is not None:
        notes.append(note)
    elif note:
        print_err(note)
    return key


def input_roots(inputs: list[str] | None) -> list[engine.Root]:
    try:
        return engine.roots(inputs)
    except engine.NoInput as err:  # an input that cannot be right: exit 1
        raise preflight.Refusal(str(err)) from None
    except engine.BatchError as err:
        raise CliError(str(err)) from None


def compile_vetted(text: str, path: str):
    """Compile one recipe that :func:`load_programs` has vetted (a seam for tests)."""
    return api.compile(text, path=path, allow=True)


def load_programs(
    recipe_paths: list[str],
    *,
    ids,
    funcs,
    strict: bool,
    what: str = "no file was read or written",
    args: argparse.Namespace | None = None,
    applying: bool = True,
    tables: Tables | None = None,
) -> tuple[dict[str, str], list, tuple[Diagnostic, ...]] | None:
    """Check and compile the recipes (in the order given): (texts, programs, the findings
    --allow let through), or None after reporting what stops them.

    ``applying``: the header actions will run, so the ids and functions are known
    (none given: every var:/func: lacks a value), and every finding that
    :func:`deidlang.lang.diagnostics.refusing` names stops the run unless --allow
    names it. Otherwise (inspect) only errors stop it. ``tables``: the lookup tables
    the recipes are checked with (default: the command's, :func:`tables_of`).
    """
    texts = read_recipes(recipe_paths)
    deid_compat = bool(getattr(args, "deid_compat", False))
    try:
        allow = parse_allow(getattr(args, "allow", None)) if applying else frozenset()
    except ValueError as err:
        raise CliError(f"--allow: {err}") from None
    if tables is None:
        tables = tables_of(args, applying=applying)
    if applying:
        verdict = api.vet(texts, ids=ids if ids is not None else {}, functions=funcs or (), allow=allow, deid_compat=deid_compat, strict=strict, tables=tables)
        refused = verdict.refused
    else:
        verdict = api.vet(texts, ids=ids, functions=funcs, deid_compat=deid_compat, tables=tables)
        refused = tuple(d for d in verdict.diagnostics if d.is_error or (strict and d.severity == WARNING))
    if verdict.diagnostics:
        sys.stderr.write(render_text(verdict.diagnostics, texts, color=want_color(sys.stderr), recipes=len(texts)))
    if refused:
        codes = list(dict.fromkeys(d.code for d in refused))
        escape = f"; to run it anyway: {' '.join('--allow ' + c for c in codes)} (a run records it in its manifest)" if applying else ""
        print_err(
            f"{what}: fix the recipe first ({', '.join(codes)} stop{'s' if len(codes) == 1 else ''} it)"
            + (" (--strict: warnings count)" if strict else "")
            + escape
        )
        return None
    if verdict.allowed:
        codes = list(dict.fromkeys(d.code for d in verdict.allowed))
        print_err(f"note: running despite {count(len(verdict.allowed), 'finding')} ({', '.join(codes)}) let through by --allow")
    compiled = {}
    for path, text in texts.items():
        try:
            compiled[path] = compile_vetted(text, path)
        except RecipeError as err:
            sys.stderr.write(render_text(err.refused, texts, color=want_color(sys.stderr), recipes=len(texts)))
            print_err(f"{what}: fix the recipe first (deidlang cannot run these lines, even when allowed)")
            return None
    return texts, [compiled[path] for path in recipe_paths], verdict.allowed


def has_filters(programs: list) -> bool:
    return any(getattr(p, "filters", ()) for p in programs)


def require_pixels() -> None:
    try:
        from .. import pixels  # noqa: F401
    except ImportError as err:
        raise CliError(f"pixel cleaning needs numpy and pydicom's decoders ({err.name or 'a module'} is missing): {install_hint('pixels')}") from None


def add_ocr_arguments(parser: Any, *, cleaning: bool) -> None:
    """``--ocr`` and its settings (:mod:`deidlang.ocr.options`; ``cleaning``: also the blanking ones)."""
    from ..ocr.options import add_arguments

    add_arguments(parser, cleaning=cleaning)


def ocr_settings(args: argparse.Namespace, *, cleaning: bool = False) -> Any:
    """The OCR settings asked for (None without --ocr / --pixels), its engine started."""
    from ..ocr import OcrUnavailable
    from ..ocr.options import require, settings_from

    settings = settings_from(args)
    if settings is None:
        return None
    if cleaning and not args.clean_pixels:
        raise CliError("--ocr goes with --clean-pixels (OCR finds the text that the cleaning blanks)")
    require_pixels()
    try:
        require(settings)
    except OcrUnavailable as err:
        raise CliError(str(err)) from None
    return settings


def count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def read_dicom_or_fail(path: str, force: bool):
    """Read one DICOM file for explain (CliError with a reason, never file content)."""
    from pydicom.errors import InvalidDicomError

    if not os.path.exists(path):
        raise CliError(f"'{path}' does not exist")
    try:
        return engine.read_input(path, force=force)[0]
    except damage.InputError as err:  # not a regular file, empty, cut short, too deep...
        raise CliError(f"cannot read '{path}': {err}") from None
    except InvalidDicomError:
        raise CliError(f"cannot read '{path}': not a DICOM file" + ("" if force else " (no DICOM preamble; --force reads it anyway)")) from None
    except IsADirectoryError:
        raise CliError(f"cannot read '{path}': is a directory (explain takes one file)") from None
    except OSError as err:
        raise CliError(f"cannot read '{path}': {err.strerror or type(err).__name__}") from None
    except Exception as err:  # noqa: BLE001 - a damaged file; its own message could quote data
        raise CliError(f"cannot read '{path}': damaged or unsupported DICOM ({type(err).__name__})") from None


def apply_error_text(err: ApplyError, show_values: bool) -> str:
    """An apply error as printed: with --show-values, also what the user's function said."""
    detail = worker.raised_message(err) if show_values else ""
    return with_detail(str(err), detail)


def with_detail(text: str, detail: str) -> str:
    return f"{text}; the function's message: {detail}" if detail else text


def write_text_atomic(path: str, text: str, *, private: bool = False) -> None:
    """A report, complete or not there (deidlang/dicomio/atomic.py); ``private`` (it holds element
    values): readable by its owner only."""
    try:
        write_text(path, text, suffix=TMP_SUFFIX, durable=False, private=private)
    except OSError as err:
        raise CliError(f"cannot write '{path}': {describe(err)}") from None


#: Exit status after Ctrl-C (128 + SIGINT, as shells report it).
INTERRUPTED = 130
