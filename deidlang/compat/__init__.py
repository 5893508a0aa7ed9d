"""A drop-in replacement for deid 0.4.13's Python API, running on deidlang.

Same names, signatures and return shapes as ``deid.config`` and
``deid.dicom``, so that the migration is the import line::

    # from deid.config import DeidRecipe
    # from deid.dicom import get_files, get_identifiers, replace_identifiers
    from deidlang.compat import DeidRecipe, get_files, get_identifiers, replace_identifiers
    # from deid.dicom.pixels import DicomCleaner, has_burned_pixels
    from deidlang.compat import DicomCleaner, has_burned_pixels

Where deid exits, crashes or silently does nothing, the facade raises a
typed :class:`deidlang.DeidlangError` with a message instead. Every
deliberate difference is listed in ``docs/compat.md``.

May import: the library (:mod:`deidlang.engine`, :mod:`deidlang.api` and everything
below it); never :mod:`deidlang.cli`, :mod:`deidlang.tools` or :mod:`deidlang.lsp`.
"""

from __future__ import annotations

from .data import get_dataset
from .fields import DicomField, get_identifiers
from .files import get_files
from .header import remove_private_identifiers, replace_identifiers
from .pixels import DicomCleaner, clean_pixel_data, has_burned_pixels
from .recipe import DeidRecipe, RecipeNotFoundError

__all__ = [
    "DeidRecipe",
    "DicomCleaner",
    "DicomField",
    "RecipeNotFoundError",
    "clean_pixel_data",
    "get_dataset",
    "get_files",
    "get_identifiers",
    "has_burned_pixels",
    "remove_private_identifiers",
    "replace_identifiers",
]
