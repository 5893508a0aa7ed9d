"""``deidc lsp``: run the language server on standard input and output
(:mod:`deidlang.lsp`). Editors start it; see docs/toolchain.md."""

from __future__ import annotations

import argparse
from typing import Any

from ..version import install_hint

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "lsp",
        help="run the language server (for editors) on standard input and output",
        description=(
            "Run the deidlang language server over stdio: diagnostics as `deidc check` gives them, completion, "
            "hover, go to definition and references of groups, outline, quick fixes, formatting and semantic "
            "tokens. Settings come from the editor (initializationOptions / workspace/didChangeConfiguration, "
            "section 'deidlang'). Needs the 'lsp' extra: " + install_hint("lsp") + ". Set DEIDLANG_LSP_LOG=INFO for a log on stderr."
        ),
    )
    p.add_argument("--stdio", action="store_true", help="use standard input and output (the default and only transport; accepted for editors that pass it)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from .common import CliError

    try:
        from ..lsp.server import serve
    except ImportError as err:
        raise CliError(f"deidc lsp needs the 'lsp' extra: {install_hint('lsp')} ({err.name} is missing)") from None
    serve()
    return 0
