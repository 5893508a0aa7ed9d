"""Deprecated alias, kept for one release: residual-PHI verification lives in
:mod:`deidlang.privacy` since 0.2 -- what identifies an original in
:mod:`deidlang.privacy.identifiers` (``harvest``, ``TOOLKIT_UIDS``...), where its values
turn up in :mod:`deidlang.privacy.search` (``search``, ``check_dataset``, ``Leak``), and
the pairing of files and trees for ``deidc verify`` in :mod:`deidlang.engine.verify`.
Import them from there; this module goes in the next release. Nothing in deidlang
imports it.
"""

from __future__ import annotations

from .engine.verify import MANIFEST_NAMES, FileCheck, VerifyReport, manifest_recipes, pairs, verify_files, verify_tree
from .privacy.identifiers import TOOLKIT_UIDS, Harvest, Identifier, harvest, identifies, is_well_known_uid, recipe_facts
from .privacy.search import Leak, check_dataset, search

__all__ = [
    "Identifier",
    "Harvest",
    "Leak",
    "FileCheck",
    "VerifyReport",
    "TOOLKIT_UIDS",
    "harvest",
    "identifies",
    "is_well_known_uid",
    "recipe_facts",
    "search",
    "check_dataset",
    "verify_files",
    "verify_tree",
    "pairs",
    "manifest_recipes",
    "MANIFEST_NAMES",
]
