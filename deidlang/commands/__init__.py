"""The toolchain commands of ``deidc``: ``fmt``, ``test``, ``doc`` and ``lsp``.

Each module defines its sub-command's arguments (``register``) and its
handler, which prints and returns the exit status as the rest of
:mod:`deidlang.cli` does (0 fine, 1 problems found, 2 no verdict). The work
itself is done by libraries (:mod:`deidlang.tools`, :mod:`deidlang.lsp`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the toolchain sub-commands to ``deidc``'s sub-parsers."""
    from . import doc, fmt, lsp, test

    for module in (fmt, test, doc, lsp):
        module.register(sub)
