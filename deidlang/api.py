"""The embedding API: text -> Source -> parse -> check -> compile -> Program."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

import attrs

from . import checks
from .checks.tables import given
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
    tables: Any = None,
) -> list[Diagnostic]:
    """Every problem in a recipe, in one pass. Never raises for recipe problems.

    ``ids`` has deid's shape (``{"/path/file.dcm": {"name": value}}``); when
    given, every ``var:NAME`` must be supplied for every file (``{}``: no ids,
    so no ``var:`` has a value). ``functions`` (names) enables checking of
    ``func:NAME`` references. ``deid_compat`` adds the notes about lines deid
    0.4.13 would run differently (W4xx, W101, W102), for recipes that also run
    under deid. ``tables``: the :class:`deidlang.tables.Tables` the recipe's
    lookups read (checked: E217-E219, E308, and W209 for a table no line uses);
    without them the lookups are not checked (I202).
    """
    with collector.paused():  # over both: the tree is still alive between them
        result = parser.parse(source, path=path)
        with given(tables) as seen:
            found = checks.check_recipe(result, ids=ids, functions=functions, deid_compat=deid_compat) + seen.unused()
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
    tables: Any = None,
):
    """Check and compile a recipe into an immutable, reusable, picklable Program.

    Raises :class:`RecipeError` carrying every diagnostic when the recipe has
    a finding that stops a run (:func:`deidlang.lang.diagnostics.refusing`): an
    error, or a line that selects nothing or will not do what it says (and,
    with ``deid_compat``, a line deid would run differently). ``allow`` lets
    findings through by code (``allow=["W201"]``), or all of them
    (``allow=True``); what the compiler cannot build still raises.
    ``ids``/``functions``/``tables`` as for :func:`check`.
    """
    from .compiler import compile_recipe

    with collector.paused():
        result = parser.parse(source, path=path)
        with given(tables) as seen:
            diagnostics = checks.check_recipe(result, ids=ids, functions=functions, deid_compat=deid_compat) + seen.unused()
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
    tables: Any = None,
) -> Vetting:
    """Check recipes (path -> text) that are about to run, as ``deidc run`` does.

    At run time the ids and functions are known: pass ``ids={}`` and
    ``functions=()`` when none were given, so that every ``var:``/``func:``
    without a value is a finding. The findings that stop the run are those
    of :func:`deidlang.lang.diagnostics.refusing` (``strict``: every warning too).
    ``tables``: as for :func:`check` (pass an empty ``Tables()`` when none were
    given, so that every lookup is a finding); a table none of the recipes looks
    up is a warning (W209).
    """
    names = sorted(functions) if functions is not None else None
    diagnostics: list[Diagnostic] = []
    more = {"tables": tables} if tables is not None else {}
    with given(tables) as seen:  # one context for every recipe: a table none of them looks up is W209
        for path, text in texts.items():
            diagnostics.extend(check(text, path=path, ids=ids, functions=names, deid_compat=deid_compat, **more))
        diagnostics.extend(seen.unused())
    refused, allowed = refusing(diagnostics, allow=allow, deid_compat=deid_compat, strict=strict)
    return Vetting(tuple(diagnostics), tuple(refused), tuple(allowed))
