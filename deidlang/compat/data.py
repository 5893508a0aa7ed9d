"""``get_dataset``: deid-data's example datasets, when that package is installed."""

from __future__ import annotations

import importlib.util
import os

from ..lang.diagnostics import DeidlangError

__all__ = ["get_dataset"]


def _base() -> str:
    spec = importlib.util.find_spec("deid_data")
    if spec is None or not spec.submodule_search_locations:
        raise DeidlangError("the example datasets come from the 'deid-data' package, which is not installed")
    return os.path.join(list(spec.submodule_search_locations)[0], "data")


def get_dataset(dataset=None) -> str:
    """The folder of one of deid-data's datasets (``dicom-cookies``, ``humans``...).

    deid prints the valid names and returns None for an unknown name; this
    raises :class:`DeidlangError` naming them.
    """
    base = _base()
    valid = sorted(n for n in os.listdir(base) if os.path.isdir(os.path.join(base, n)) and not n.startswith("_"))
    if dataset is not None:
        key = os.path.splitext(str(dataset))[0].lower()
        if key in valid:
            return os.path.join(base, key)
    names = ", ".join(f"'{n}'" for n in valid)
    given = "no dataset name given" if dataset is None else f"unknown dataset '{dataset}'"
    raise DeidlangError(f"{given}: valid datasets are {names}")
