"""``deidc fmt [--check] RECIPE...``: rewrite recipes in the canonical layout
(:mod:`deidlang.tools.fmt`), or with ``--check`` print what would change.

Exit status: 0 nothing to do (or files rewritten), 1 with ``--check`` when a
file would change, 2 when a file cannot be read or written.
"""

from __future__ import annotations

import argparse
import difflib
import os
import stat
import sys
from typing import Any

from ..tools.fmt import format_text

__all__ = ["register", "run", "read_text"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "fmt",
        help="rewrite recipes in the canonical layout (or check that they are)",
        description=(
            "Rewrite recipes in deidlang's canonical layout: keyword case, one space between the parts of a "
            "line, LABEL blocks indented, blank lines normalised, comments kept where they are. The meaning "
            "never changes (every rewritten line is parsed again and must say the same); lines that do not "
            "parse are left as written. '-' formats standard input to standard output."
        ),
    )
    p.add_argument("recipes", nargs="+", metavar="RECIPE", help="recipe files, or '-' for standard input")
    p.add_argument("--check", action="store_true", help="write nothing; print a diff of each file that would change and exit 1 if any")
    p.set_defaults(handler=run)


def read_text(path: str) -> str:
    """A recipe's text with its line endings as they are in the file."""
    from .common import CliError

    try:
        data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CliError(f"cannot read recipe '{path}': not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise CliError(f"cannot read recipe '{path}': {err.strerror or type(err).__name__}") from None


def _write_in_place(path: str, text: str) -> None:
    """Replace the file atomically, keeping its permissions (a symbolic link is followed)."""
    from ..dicomio.atomic import WriteError, atomic_target
    from .common import CliError

    target = os.path.realpath(path)
    mode = stat.S_IMODE(os.stat(target).st_mode)
    try:
        with atomic_target(target, durable=False, what="recipe") as tmp:
            with open(tmp, "xb") as fh:
                fh.write(text.encode("utf-8"))
            os.chmod(tmp, mode)
    except WriteError as err:
        raise CliError(str(err)) from None


def _plural(n: int) -> str:
    return f"{n} file{'s' if n != 1 else ''}"


def run(args: argparse.Namespace) -> int:
    changed = unchanged = 0
    for path in dict.fromkeys(args.recipes):
        text = read_text(path)
        formatted = format_text(text, path=None if path == "-" else path)
        if path == "-" and not args.check:
            sys.stdout.write(formatted)
            continue
        if formatted == text:
            unchanged += 1
            continue
        changed += 1
        if args.check:
            name = "<stdin>" if path == "-" else path
            diff = difflib.unified_diff(text.splitlines(keepends=True), formatted.splitlines(keepends=True), name, f"{name} (formatted)")
            for line in diff:
                sys.stdout.write(line if line.endswith("\n") else line + "\n")
        else:
            _write_in_place(path, formatted)
    if args.check:
        if changed or unchanged:
            print(f"{_plural(changed)} would be reformatted, {_plural(unchanged)} already formatted", file=sys.stderr)
        return 1 if changed else 0
    if changed or unchanged:
        print(f"{_plural(changed)} reformatted, {_plural(unchanged)} left unchanged", file=sys.stderr)
    return 0
