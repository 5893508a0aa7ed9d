"""The ``deidc`` command line, one module per command, each with its arguments beside
its code: :mod:`.check`, :mod:`.run`, :mod:`.inspect`, :mod:`.clean`,
:mod:`.identifiers`, :mod:`.explain`, :mod:`.verify`, :mod:`.fmt`, :mod:`.test`,
:mod:`.doc`, :mod:`.lsp`; :mod:`.app` builds the parser from them and runs one;
:mod:`.common` holds what several commands share (reading the user's files, the
options they have in common, loading recipes), :mod:`.progress` the progress bar.

The only package that prints or exits. It may import everything else in deidlang;
nothing imports it but :mod:`deidlang.__main__` and, for the readers of
:mod:`.common` only, :mod:`deidlang.lsp`.

This module is the package's face: ``deidlang.cli:run_main`` is the ``deidc`` console
script, :func:`main` runs ``deidc`` with a list of arguments. The names marked
``one release`` are kept for code written against the flat ``deidlang/cli.py`` of
0.1 (``deidc serve``'s branch among it) and go in the next release; use their homes in
:mod:`.common`.
"""

from __future__ import annotations

from ..engine import FileResult  # noqa: F401 - one release: the flat module exported it
from .app import main, run_main
from .common import DATA_DIR, DEFAULT_RECIPE, DEMO_DIR, INTERRUPTED, TMP_SUFFIX, CliError
from .common import compose_programs as _compose_programs  # noqa: F401 - one release, as below
from .common import load_programs as _load_programs  # noqa: F401 - one release (deidc serve's branch)
from .common import option_recipes as _option_recipes  # noqa: F401 - one release
from .common import require_pixels as _require_pixels  # noqa: F401 - one release
from .identifiers import identifiers_of
from .progress import Progress

__all__ = [
    "CliError",
    "DATA_DIR",
    "DEFAULT_RECIPE",
    "DEMO_DIR",
    "INTERRUPTED",
    "Progress",
    "TMP_SUFFIX",
    "identifiers_of",
    "main",
    "run_main",
]
