"""The helpers of ``deid.utils`` that code written for deid imports.

File helpers (``read_file``, ``read_json``, ``write_file``, ``write_json``,
``recursive_find``, ``get_temporary_name``), number helpers (``to_int``,
``is_number``) and ``get_installdir``. Writes go through a temporary file in
the target folder and ``os.replace`` (an interrupted write never leaves half a
file), unless the mode appends.
"""

from __future__ import annotations

import fnmatch
import json
import os
import secrets
import tempfile
from collections import OrderedDict
from typing import Any, Iterator

from ..dicomio.atomic import atomic_target

__all__ = [
    "get_installdir",
    "get_temporary_name",
    "is_number",
    "read_file",
    "read_json",
    "recursive_find",
    "to_int",
    "write_file",
    "write_json",
]


def get_installdir() -> str:
    """The folder deidlang is installed in (deid: the ``deid`` package folder)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def get_temporary_name(prefix: str | None = None, ext: str | None = None) -> str:
    """A new path in the system's temporary folder, not created: ``deid-[PREFIX-]RANDOM[.EXT]``.

    The name keeps deid's pattern, so code that looks for ``deid-PREFIX`` in
    it still finds it; ``ext`` is appended after a dot, as in deid.
    """
    stem = "deid-" if not prefix else f"deid-{prefix}-"
    name = os.path.join(tempfile.gettempdir(), stem + secrets.token_hex(8))
    return f"{name}.{ext}" if ext else name


def write_file(filename: str, content: Any, mode: str = "w") -> str:
    """Write ``content`` (a string or lines) to ``filename``; returns ``filename``."""
    if "a" in mode:
        with open(filename, mode) as handle:
            handle.writelines(content)
        return filename
    with atomic_target(filename) as tmp, open(tmp, mode) as handle:
        handle.writelines(content)
    return filename


def write_json(json_obj: Any, filename: str, mode: str = "w", print_pretty: bool = True) -> str:
    """Write ``json_obj`` as JSON (indented by 4 with ``print_pretty``); returns ``filename``.

    An object that JSON cannot hold raises ``TypeError`` before the file is touched.
    """
    text = json.dumps(json_obj, indent=4, separators=(",", ": ")) if print_pretty else json.dumps(json_obj)
    return write_file(filename, text, mode)


def read_file(filename: str, mode: str = "r") -> list:
    """The lines of ``filename`` (``readlines()``)."""
    with open(filename, mode) as handle:
        return handle.readlines()


def read_json(filename: str, mode: str = "r", ordered_dict: bool = False) -> Any:
    """The JSON in ``filename`` (objects as ``OrderedDict`` with ``ordered_dict``)."""
    with open(filename, mode) as handle:
        return json.loads(handle.read(), object_pairs_hook=OrderedDict if ordered_dict else None)


def recursive_find(base: str, pattern: str | None = None) -> Iterator[str]:
    """The files under ``base`` (at every depth) whose base name matches the fnmatch ``pattern``."""
    for root, _dirs, names in os.walk(base):
        for name in fnmatch.filter(names, pattern or "*"):
            yield os.path.join(root, name)


def to_int(value: Any) -> int:
    """``value`` as an int (``"3.7"`` -> 3, as ``int(float(value))``)."""
    return value if isinstance(value, int) else int(float(value))


def is_number(value: Any) -> bool:
    """Whether ``value`` is an int or a float (text is not a number here, as in deid)."""
    return isinstance(value, (int, float))
