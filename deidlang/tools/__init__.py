"""Tools around recipes: the formatter (:mod:`.fmt`), recipe regression tests
(:mod:`.recipetest`) and review-board documents (:mod:`.reviewdoc`).

These modules are libraries: they return values and raise typed errors; the
commands that print and exit (``deidc fmt``, ``deidc test``, ``deidc doc``)
live in :mod:`deidlang.cli` (``cli/fmt.py``, ``cli/test.py``, ``cli/doc.py``);
:mod:`.findings` (the findings ``deidc check`` shows) and :mod:`.dictionary` (the data
dictionary as the editor tools see it) serve them and the language server.

May import: the library (:mod:`deidlang.engine`, :mod:`deidlang.api` and everything
below it); never :mod:`deidlang.cli` or :mod:`deidlang.lsp`.
"""
