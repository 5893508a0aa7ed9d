"""The embedding API: text -> Source -> parse -> check -> compile -> Program."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

import attrs

from . import checks
from .lang import collector, parser
from .lang.diagnostics import Diagnostic, RecipeError, refusing
from .lang.source import Source

__all__ = ["parse", "check", "compile", "load", "vet", "Vetting"]


def parse(source: str | Source, *, path: str | None = None) -> parser.ParseResult:
    """Parse recipe text into an AST plus syntax diagnostics (never raises for recipe problems)."""
    return parser.parse(source, path=path)


def check(
    source: str | Source,
    *,
    path: str | None = None,
    ids: Mapping[str, Mapping[str, Any]] | None = None,
    functions: Iterable[str] | None = None,
    deid_compat: bool = False,
) -> list[Diagnostic]:
    """Every problem in a recipe, in one pass. Never raises for recipe problems.

    ``ids`` has deid's shape (``{"/path/file.dcm": {"name": value}}``); when
    given, every ``var:NAME`` must be supplied for every file (``{}``: no ids,
    so no ``var:`` has a value). ``functions`` (names) enables checking of
    ``func:NAME`` references. ``deid_compat`` adds the notes about lines deid
    0.4.13 would run differently (W4xx, W101, W102), for recipes that also run
    under deid.
    """
    with collector.paused():  # over both: the tree is still alive between them
        result = parser.parse(source, path=path)
        found = checks.check_recipe(result, ids=ids, functions=functions, deid_compat=deid_compat)
        del result  # let the tree go before the collector is back (see lang/collector.py)
    return found


def compile(
    source: str | Source,
    *,
    path: str | None = None,
    allow: Iterable[str] | bool = (),
    deid_compat: bool = False,
    ids: Mapping[str, Mapping[str, Any]] | None = None,
    functions: Iterable[str] | None = None,
):
    """Check and compile a recipe into an immutable, reusable, picklable Program.

    Raises :class:`RecipeError` carrying every diagnostic when the recipe has
    a finding that stops a run (:func:`deidlang.lang.diagnostics.refusing`): an
    error, or a line that selects nothing or will not do what it says (and,
    with ``deid_compat``, a line deid would run differently). ``allow`` lets
    findings through by code (``allow=["W201"]``), or all of them
    (``allow=True``); what the compiler cannot build still raises.
    ``ids``/``functions`` as for :func:`check`.
    """
    from .compiler import compile_recipe

    with collector.paused():
        result = parser.parse(source, path=path)
        diagnostics = checks.check_recipe(result, ids=ids, functions=functions, deid_compat=deid_compat)
    refused, _allowed = refusing(diagnostics, allow=allow, deid_compat=deid_compat)
    if refused:
        raise RecipeError(diagnostics, refused=refused)
    return compile_recipe(result.recipe, name=result.source.name, text=result.source.text, diagnostics=tuple(diagnostics))


def load(path: str | Path, *, allow: Iterable[str] | bool = (), deid_compat: bool = False):
    """Read, check and compile a recipe file (see :func:`compile`)."""
    p = Path(path)
    return compile(p.read_text(encoding="utf-8"), path=str(path), allow=allow, deid_compat=deid_compat)


@attrs.frozen
class Vetting:
    """The verdict on recipes about to run: every finding to show, those that
    stop the run (``refused``) and those the caller let through (``allowed``)."""

    diagnostics: tuple[Diagnostic, ...]
    refused: tuple[Diagnostic, ...]
    allowed: tuple[Diagnostic, ...]


def vet(
    texts: Mapping[str, str],
    *,
    ids: Mapping[str, Mapping[str, Any]] | None = None,
    functions: Iterable[str] | None = None,
    allow: Iterable[str] | bool = (),
    deid_compat: bool = False,
    strict: bool = False,
) -> Vetting:
    """Check recipes (path -> text) that are about to run, as ``deidc run`` does.

    At run time the ids and functions are known: pass ``ids={}`` and
    ``functions=()`` when none were given, so that every ``var:``/``func:``
    without a value is a finding. The findings that stop the run are those
    of :func:`deidlang.lang.diagnostics.refusing` (``strict``: every warning too).
    """
    names = sorted(functions) if functions is not None else None
    diagnostics: list[Diagnostic] = []
    for path, text in texts.items():
        diagnostics.extend(check(text, path=path, ids=ids, functions=names, deid_compat=deid_compat))
    refused, allowed = refusing(diagnostics, allow=allow, deid_compat=deid_compat, strict=strict)
    return Vetting(tuple(diagnostics), tuple(refused), tuple(allowed))
