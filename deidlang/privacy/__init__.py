"""What must not leak, and how to tell: the DICOM Basic Application Level
Confidentiality Profile as data (:mod:`.profile`, :mod:`.table`), how recipes cover it
(:mod:`.coverage`, ``deidc check --profile basic``), HIPAA Safe Harbor's eighteen kinds of
identifiers (:mod:`.safeharbor`, ``deidc check --profile safe-harbor``), and the
residual-PHI search of
``deidc verify`` and ``deidc run --verify``: what identifies an original
(:mod:`.identifiers`) and where its values turn up in an output (:mod:`.search`).

Owns: the profile's rows and options (the bundled recipes are generated from them by
docs/gen_profile_recipes.py) and every rule about what counts as identifying.
May import: :mod:`deidlang.lang`, :mod:`deidlang.dicomio`, :mod:`deidlang.runtime` and
:mod:`deidlang.compiler` (coverage reads recipes as compiled selectors); nothing above.
Pairing whole trees of inputs and outputs through a run's manifest is the engine's
(:mod:`deidlang.engine.verify`).
"""
