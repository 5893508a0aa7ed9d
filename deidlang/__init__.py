"""deidlang: a checked, fast, deid-compatible compiler and interpreter for
DICOM de-identification recipes.

    >>> import deidlang
    >>> diagnostics = deidlang.check(text, path="deid.dicom")      # never raises for recipe problems
    >>> program = deidlang.compile(text, path="deid.dicom")        # raises RecipeError on a finding that stops a run
    >>> program = deidlang.compile(text, allow=["W201"])           # ... unless allowed, by code (or allow=True)
    >>> program.apply(dataset, ids={"id": "SUB-001"})              # compile once, apply many
"""

from .api import check, compile, load, parse
from .lang.diagnostics import ApplyError, DeidlangError, DeidlangWarning, Diagnostic, RecipeError, refusing
from .version import __version__

__all__ = [
    "ApplyError",
    "DeidlangError",
    "DeidlangWarning",
    "Diagnostic",
    "RecipeError",
    "check",
    "compile",
    "load",
    "parse",
    "refusing",
    "__version__",
]


def __getattr__(name):  # Program lives in the runtime; import it lazily
    if name == "Program":
        from .runtime import Program

        return Program
    raise AttributeError(name)
