"""The recipe language, with nothing of DICOM: text -> :class:`~.source.Source` ->
:mod:`.parser` (:mod:`.fastlines` its fast path) -> :mod:`.nodes` (the typed AST), and
:mod:`.diagnostics` (findings as values, their codes, what stops a run), :mod:`.render`
(diagnostics as text, JSON, SARIF), :mod:`.regexes` (a recipe's patterns at a bounded
cost), :mod:`.suggest` (did-you-mean) and :mod:`.collector` (the cyclic garbage collector
paused while a recipe is parsed and checked).

Owns: the grammar's meaning, every diagnostic code, the base error
(:class:`~.diagnostics.DeidlangError`) that all library errors derive from.
May import: nothing of deidlang outside ``lang/`` (the ground floor: every other folder
may import it). Only :mod:`.parser` imports lark.
"""
