"""The ``deidc`` command line: :func:`main` builds the parser from the command modules
(one module per command, its arguments beside its code: :data:`COMMANDS`) and runs the
chosen command's handler.

The only module that prints or exits. :func:`main` takes ``argv`` and
returns an exit status; :func:`run_main` (the console script, and
``python -m deidlang``) turns it into ``SystemExit``.

Exit status (ruff/mypy convention): 0 = nothing wrong; 1 = the input has
problems (recipe errors, a recipe finding that stops a run, or files that
failed); 2 = no verdict was reached (bad usage, an unreadable
recipe/ids/functions file, or a bug in deidc).

What stops a recipe from running is decided in the library
(:func:`deidlang.api.vet`, :func:`deidlang.lang.diagnostics.refusing`); ``--allow``
and ``--deid-compat`` only pass the user's choice on.

Streams: ``deidc check`` writes its diagnostics to stdout (they are its
output), and ``deidc inspect`` its report; ``deidc run``, ``deidc clean`` and
``deidc identifiers`` report problems on stderr and a summary on stdout. Element values are never printed: messages name files,
recipe lines and tags only.

Before ``deidc run`` writes anything, inputs and options that cannot be right
(:mod:`deidlang.engine.preflight`: no input file, ids that fit no input, an unknown
``--quarantine`` group, an option that cannot act) stop it with exit 1; Ctrl-C
exits 130 and says that the same command resumes.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
import warnings

from ..engine import preflight
from ..version import __version__
from . import check, clean, doc, explain, fmt, identifiers, inspect, lsp, run, serve, test, verify
from .common import INTERRUPTED, PROG, CliError, print_err

__all__ = ["main", "run_main", "build_parser", "COMMANDS", "INTERRUPTED"]

#: The commands, in the order ``deidc --help`` lists them (``version`` last). Each module
#: defines its sub-command's arguments (``register``) and its handler, which prints and
#: returns the exit status (0 fine, 1 problems found, 2 no verdict).
COMMANDS = (check, run, inspect, clean, identifiers, explain, verify, fmt, test, doc, lsp, serve)


def run_main() -> None:
    """Console-script entry point (``deidc``) and ``python -m deidlang``."""
    raise SystemExit(main())


def main(argv: list[str] | None = None) -> int:
    """Run ``deidc`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    parser = build_parser()
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
        print_err(f"error: {err}")
        return 2
    except preflight.Refusal as err:  # inputs or options that cannot be right: nothing was written
        print_err(f"error: {err}")
        print_err("nothing was written")
        return 1
    except KeyboardInterrupt:
        print_err("interrupted")
        return INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        sys.stderr.write(_bug_report(exc))
        print_err("this is a bug in deidc; please report it with the traceback above")
        return 2


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


# =========================================================================== arguments


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Check and apply deid recipes (DICOM de-identification).",
        epilog="Exit status: 0 no problems, 1 problems found (or files failed), 2 usage error or failure of the tool.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    version = sub.add_parser("version", help="print the version")
    version.set_defaults(handler=_version)
    return parser


def _version(args: argparse.Namespace) -> int:
    print(f"{PROG} {__version__}")
    return 0
