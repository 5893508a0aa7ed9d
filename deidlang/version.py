"""deidlang's version: the one place it is written (the package, the manifest, SARIF
and ``deidc --version`` read it here; the build reads it from this file)."""

__version__ = "0.1.0"
