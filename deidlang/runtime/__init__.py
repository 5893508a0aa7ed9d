"""The deidlang runtime: an immutable :class:`Program` applied to pydicom datasets.

``Program.apply`` (:mod:`.program`) follows deid 0.4.13's pipeline: strip
sequences / private tags if asked, build the field universe (:mod:`.universe`, after the
KEEP pre-pass), compute the ``%values``/``%fields`` groups, run the header actions
(:mod:`.actions`, choosing fields with :mod:`.selectors`, values from :mod:`.values` and
the built-ins of :mod:`.builtins`) in recipe order, then the config's ``put.actions``.
:mod:`.filters` runs the ``%filter`` sections (``Program.inspect``), :mod:`.explain`
traces which line decides each element, :mod:`.keys` holds the secret key of the keyed
pseudonyms and :mod:`.keyed` binds it to Programs, :mod:`.extras` chains Programs, and
:mod:`.lookups` looks values up in the lookup tables (``deid_func:lookup``).

Cost model: every element of a dataset (nested ones included) is walked once; the
static selectors of the Program are evaluated once per distinct (tag, nested name,
private creator, VR) and the answers are cached on the Program across datasets (the
cache is neither pickled nor compared); each action then reads its ready-made
selection. Raw elements that no rule reads are never converted.

Owns: what a compiled recipe does to a dataset. May import: :mod:`deidlang.lang`,
:mod:`deidlang.dicomio` and :mod:`deidlang.tables` (the tables a lookup reads); nothing
above (the compiler builds Programs from above).
"""

from __future__ import annotations

from . import universe
from .program import Program
from .universe import DEFAULT_SKIP, DicomField

__all__ = ["Program", "DicomField", "DEFAULT_SKIP", "universe"]
