"""The findings ``deidc check`` shows for a parsed recipe, for the tools that
show them too (the language server, ``deidc doc``).

deid-compatibility notes (the W4xx findings: lines deid would run
differently) are shown only when asked (``deidc check --deid-compat``). The
checker and :mod:`deidlang.lang.diagnostics` decide which findings those are when
they know (``check_recipe(deid_compat=...)``, ``diagnostics.visible``);
until then the W4xx codes are left out here.
"""

from __future__ import annotations

import inspect
from typing import Any, Iterable, Mapping

from .. import checks
from ..lang import diagnostics
from ..lang.diagnostics import Diagnostic
from ..lang.parser import ParseResult

__all__ = ["findings"]

_CHECK_TAKES_COMPAT = "deid_compat" in inspect.signature(checks.check_recipe).parameters


def findings(
    result: ParseResult,
    *,
    ids: Mapping[str, Mapping[str, Any]] | None = None,
    functions: Iterable[str] | None = None,
    deid_compat: bool = False,
) -> list[Diagnostic]:
    """``deidc check [--deid-compat]``'s findings for one parsed recipe."""
    options: dict[str, Any] = {"deid_compat": deid_compat} if _CHECK_TAKES_COMPAT else {}
    found = checks.check_recipe(result, ids=ids, functions=functions, **options)
    visible = getattr(diagnostics, "visible", None)
    if visible is not None:
        return list(visible(found, deid_compat=deid_compat))
    return found if deid_compat else [d for d in found if not d.code.startswith("W4")]
