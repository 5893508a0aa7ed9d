"""Tools around recipes: the formatter (:mod:`.fmt`), recipe regression tests
(:mod:`.recipetest`) and review-board documents (:mod:`.reviewdoc`).

These modules are libraries: they return values and raise typed errors; the
commands that print and exit (``deidc fmt``, ``deidc test``, ``deidc doc``)
live in :mod:`deidlang.commands`.
"""
