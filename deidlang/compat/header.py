"""``replace_identifiers`` and ``remove_private_identifiers``.

The recipe is compiled once per call and applied to each input in turn.
Inputs are paths (read with ``dcmread(force=force)``) or pydicom datasets
(FileDataset or plain Dataset), which are changed in place, as in deid.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from pydicom.dataset import Dataset

from .files import Saver, _as_list, load_dataset
from .recipe import as_recipe

__all__ = ["replace_identifiers", "remove_private_identifiers"]


def replace_identifiers(
    dicom_files,
    ids=None,
    deid=None,
    save=False,
    overwrite=False,
    output_folder=None,
    force=True,
    config=None,
    strip_sequences=False,
    remove_private=False,
    disable_skip=False,
    *,
    allow=(),
    tables=None,
):
    """De-identify ``dicom_files`` with the recipe ``deid``.

    ``deid`` is a DeidRecipe, anything DeidRecipe accepts (path, tag, dict,
    list), a compiled :class:`deidlang.Program`, or None for the bundled
    default recipe. ``ids`` is deid's ``{absolute path: {name: value}}``
    lookup: values are the recipe's ``var:`` variables, callables its
    ``func:`` functions. Returns the datasets (``save=False``) or the output
    paths (``save=True``), in input order.

    deidlang additions, keyword only: ``allow`` lets recipe findings that would
    stop the run through (see :class:`DeidRecipe`); it is ignored when
    ``deid`` is already a DeidRecipe or a Program. ``tables``: the
    :class:`deidlang.tables.Tables` that ``deid_func:lookup`` reads, with their
    missing-row policy (``FAIL`` and, here, ``QUARANTINE`` raise ApplyError R006;
    ``HASH`` falls back to the keyed pseudonym).
    """
    program = _program(deid, allow)
    ids = ids or {}
    saver = Saver(output_folder, overwrite) if save else None
    out: list[Any] = []
    for index, item in enumerate(_as_list(dicom_files)):
        ds, path = load_dataset(item, force=force)
        variables = lookup_for(ids, path, item)
        funcs = {k: v for k, v in variables.items() if isinstance(k, str) and callable(v)}
        program.apply(
            ds,
            ids=variables,
            funcs=funcs,
            path=path,
            strip_sequences=strip_sequences,
            remove_private=remove_private,
            disable_skip=disable_skip,
            config=config,
            tables=tables,  # lookup tables (deidlang/tables)
        )
        out.append(saver.save(ds, path, index) if saver is not None else ds)
    return out


def remove_private_identifiers(dicom_files, save=True, overwrite=False, output_folder=None, force=True):
    """Delete every private element (at every depth); save (default) or return the datasets."""
    saver = Saver(output_folder, overwrite) if save else None
    out: list[Any] = []
    for index, item in enumerate(_as_list(dicom_files)):
        ds, path = load_dataset(item, force=force)
        ds.remove_private_tags()
        out.append(saver.save(ds, path, index) if saver is not None else ds)
    return out


def _program(deid: Any, allow: Any = ()):
    """A compiled Program for ``deid`` (compiled here, once for the whole call)."""
    if hasattr(deid, "apply") and callable(deid.apply) and not hasattr(deid, "get_actions"):
        return deid  # already a deidlang Program
    return as_recipe(deid, allow=allow).program


def lookup_for(ids: Mapping, path: str | None, item: Any) -> dict:
    """The ids entry for one input: by absolute path, by the path as given, or None for in-memory data."""
    if not ids:
        return {}
    keys: list[Any] = []
    if path is not None:
        keys.append(path)
    if isinstance(item, (str, os.PathLike)):
        keys.append(os.fspath(item))
    elif isinstance(item, Dataset) and path is None:
        keys.append(None)
    for key in keys:
        found = ids.get(key)
        if isinstance(found, Mapping):
            return dict(found)
    return {}
