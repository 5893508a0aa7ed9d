"""deidlang's version: the one place it is written (the package, the manifest, SARIF
and ``deidc --version`` read it here; the build reads it from this file); and how an
optional extra is installed, in the one wording every message and document uses."""

__version__ = "0.1.0"


def install_hint(extra: str) -> str:
    """How to install the optional ``extra`` (``pixels``, ``dask``, ``lsp``, ``serve``).
    deidlang is not on the package index: it is installed from a checkout of its
    repository (README.md, "Install")."""
    return f"pip install '.[{extra}]' in a deidlang checkout"
