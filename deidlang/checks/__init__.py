"""The checker: recipe AST -> diagnostics: names, values, meaning, and deid divergences.

The parser reports what a line looks like (E1xx). The checker reports what a
line *means*: DICOM names checked against pydicom's data dictionary (E2xx/W2xx),
values and their use (E3xx/W3xx), and the lines that deid 0.4.13 would run
differently from what they say (W4xx). Every W4xx message names both sides:
what deid does with the line and what deidlang does; those notes (the codes
marked ``deid`` in diagnostics.CODES) are returned only with ``deid_compat``.
Severity follows risk (docs/diagnostics.md): an error can leak or lose data.

Checks are small functions ``(ctx) -> Iterator[Diagnostic]`` listed in
:data:`CHECKS` and run in order (sqlglot's ``RULES``), one module per family:
:mod:`.structure` (FORMAT, sections, verbs), :mod:`.names` (the fields of action and
group lines), :mod:`.values` (values, built-ins, JITTER targets, ``var:`` names),
:mod:`.groups` (``%values``/``%fields``), :mod:`.filters` (``%filter`` criteria and
coordinates), :mod:`.tables` (lookups against the tables given) and :mod:`.deid` (lines deid runs differently from what they say: comments,
REMOVE cancelled by REPLACE/JITTER, KEEP). What they share -- the :class:`~.context.Context`
of one recipe, the vocabulary and the data-dictionary lookups -- is :mod:`.context`.
A check that raises is a bug in deidlang; it is reported as a diagnostic so that the
other checks still run (set :data:`RAISE_ON_BUG` to re-raise, as the tests do).

Speed matters: the DICOM dictionary lookups are built once per process,
name resolutions and regex compilations are cached, and "did you mean"
suggestions are computed only for names that fail to resolve.

The checker stands above the runtime and the profile: built-in arguments and VR ranges
are checked by the runtime's own code (:mod:`deidlang.runtime.builtins`,
:mod:`deidlang.runtime.values`), so check and run cannot disagree; KEEP lines are
compared with :mod:`deidlang.privacy.profile`. May import: :mod:`deidlang.lang`,
:mod:`deidlang.tables`, :mod:`deidlang.runtime`, :mod:`deidlang.privacy`; nothing above.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from ..lang import collector
from ..lang.diagnostics import Diagnostic, visible
from ..lang.parser import ParseResult
from ..lang.source import Span
from .context import Context
from .deid import check_comments, check_keep_nested, check_keep_shadows, check_remove_cancelled
from .filters import check_coordinates, check_criteria
from .groups import check_fields_members, check_groups
from .names import check_action_fields, check_group_fields
from .structure import check_action_verbs, check_format, check_structure
from .tables import check_tables
from .values import check_jitter_targets, check_values, check_variables

__all__ = ["CHECKS", "Context", "RAISE_ON_BUG", "check_recipe"]

#: Re-raise exceptions from checks instead of reporting them (tests set this).
RAISE_ON_BUG = False


# --------------------------------------------------------------------------- driver


Check = Callable[[Context], Iterable[Diagnostic]]

#: Every check, in the order they run.
CHECKS: tuple[Check, ...] = (
    check_format,
    check_structure,
    check_action_verbs,
    check_action_fields,
    check_values,
    check_comments,
    check_remove_cancelled,
    check_jitter_targets,
    check_fields_members,
    check_keep_nested,
    check_keep_shadows,
    check_variables,
    check_group_fields,
    check_groups,
    check_criteria,
    check_coordinates,
    check_tables,
)


def check_recipe(
    result: ParseResult,
    *,
    ids: Mapping[str, Mapping[str, Any]] | None = None,
    functions: Iterable[str] | None = None,
    deid_compat: bool = False,
) -> list[Diagnostic]:
    """The parser's diagnostics plus every checker diagnostic, sorted.

    Notes about what deid would do differently (W4xx, W101, W102) are
    included only with ``deid_compat``. Never raises for problems in the recipe. An exception inside a check is a
    deidlang bug: it becomes an E100 diagnostic naming the check (or is
    re-raised when :data:`RAISE_ON_BUG` is set), and the other checks still run.
    The cyclic garbage collector is paused meanwhile (:mod:`deidlang.lang.collector`).
    """
    with collector.paused():
        return _check_recipe(result, ids, functions, deid_compat)


def _check_recipe(
    result: ParseResult,
    ids: Mapping[str, Mapping[str, Any]] | None,
    functions: Iterable[str] | None,
    deid_compat: bool,
) -> list[Diagnostic]:
    diags = list(result.diagnostics)
    try:
        ctx = Context.build(result, ids, functions)
    except Exception as exc:  # pragma: no cover - defensive
        if RAISE_ON_BUG:
            raise
        diags.append(_bug(result.source.name, "Context.build", exc))
        return sorted(diags, key=Diagnostic.sort_key)
    for check in CHECKS:
        try:
            diags.extend(check(ctx))
        except Exception as exc:
            if RAISE_ON_BUG:
                raise
            diags.append(_bug(ctx.name, check.__name__, exc))
    diags = visible(diags, deid_compat=deid_compat)
    diags.sort(key=Diagnostic.sort_key)
    return diags


def _bug(name: str, where: str, exc: Exception) -> Diagnostic:
    return Diagnostic.at(
        Span(1, 1, 1, 2),
        "E100",
        f"internal error in check '{where}': {type(exc).__name__}",
        "this is a bug in deidlang; the other checks still ran. Please report it with the recipe",
        file=name,
    )
