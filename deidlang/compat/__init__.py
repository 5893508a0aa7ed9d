"""A drop-in replacement for deid 0.4.13's Python API, running on deidlang.

Same names, signatures and return shapes as ``deid.config`` and
``deid.dicom``, so that the migration is the import line::

    # from deid.config import DeidRecipe
    # from deid.dicom import get_files, get_identifiers, replace_identifiers
    from deidlang.compat import DeidRecipe, get_files, get_identifiers, replace_identifiers
    # from deid.dicom.pixels import DicomCleaner, has_burned_pixels
    from deidlang.compat import DicomCleaner, has_burned_pixels
    # from deid.dicom.parser import DicomParser
    from deidlang.compat import DicomParser

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
from .lookup import FieldsWithLookups, get_fields_with_lookup
from .parser import DicomParser
from .pixels import DicomCleaner, clean_pixel_data, has_burned_pixels
from .recipe import DeidRecipe, RecipeNotFoundError
from .tags import get_tag
from .utils import (
    get_installdir,
    get_temporary_name,
    is_number,
    read_file,
    read_json,
    recursive_find,
    to_int,
    write_file,
    write_json,
)

__all__ = [
    "DeidRecipe",
    "DicomCleaner",
    "DicomField",
    "DicomParser",
    "FieldsWithLookups",
    "RecipeNotFoundError",
    "clean_pixel_data",
    "get_dataset",
    "get_fields_with_lookup",
    "get_files",
    "get_identifiers",
    "get_installdir",
    "get_tag",
    "get_temporary_name",
    "has_burned_pixels",
    "is_number",
    "read_file",
    "read_json",
    "recursive_find",
    "remove_private_identifiers",
    "replace_identifiers",
    "to_int",
    "write_file",
    "write_json",
]
