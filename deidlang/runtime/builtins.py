"""The ``deid_func:`` built-ins (spec 4.4): jitter, dicom_uuid, pydicom_uuid, suffix_uuid, basic_uuid.

Arguments are deid's ``k=v`` pairs (``true``/``false`` -> bool, ``none``/
``null`` -> None). They are parsed and checked when the recipe is compiled
(:func:`make_builtin` raises :class:`BadArgument`), so a bad prefix fails
once, not per file. Unlike deid, nothing is printed to stdout.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from pydicom.uid import generate_uid

from .dates import jitter_item
from .values import Builtin, items_of

__all__ = ["NAMES", "BadArgument", "make_builtin", "builtin_from_text", "evaluate", "jitter_days", "jitter_value"]

NAMES = ("jitter", "dicom_uuid", "pydicom_uuid", "suffix_uuid", "basic_uuid")
_UID_PREFIX = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*\.")


class BadArgument(ValueError):
    """An unknown built-in, or an argument it cannot use."""


def _convert(value: str) -> Any:
    if value == "true":
        return True
    if value == "false":
        return False
    if value in ("none", "null"):
        return None
    return value


def make_builtin(name: str, pairs: list[tuple[str, str]], text: str) -> Builtin:
    """A checked :class:`Builtin` from its name and its raw ``k=v`` pairs."""
    if name not in NAMES:
        raise BadArgument(f"unknown deid_func '{name}'")
    options = tuple((k.strip(), _convert(v.strip())) for k, v in pairs)
    b = Builtin(name, options, text)
    if name == "jitter":
        for key in ("days", "years"):
            if b.has(key):
                try:
                    int(b.option(key))
                except (TypeError, ValueError):
                    raise BadArgument(f"deid_func:jitter needs a whole number for '{key}'") from None
    elif name == "pydicom_uuid":
        prefix = b.option("prefix", "2.25.")
        if prefix is not None and (not isinstance(prefix, str) or not _UID_PREFIX.fullmatch(prefix) or len(prefix) > 54):
            raise BadArgument("deid_func:pydicom_uuid needs a prefix like '1.2.3.' (digits and dots, ending with a dot)")
    return b


def builtin_from_text(text: str) -> Builtin:
    """``deid_func:NAME k=v k2=v2`` as deid splits it (pieces without ``=`` are ignored)."""
    rest = text[len("deid_func:") :]
    name, _, extras = rest.partition(" ")
    pairs = [tuple(p.split("=", 1)) for p in extras.split(" ") if "=" in p]
    return make_builtin(name, pairs, text)  # type: ignore[arg-type]


def jitter_days(b: Builtin) -> int:
    """deid: ``days`` (default 1) plus 365 times ``years``."""
    days = int(b.option("days", 1))
    if b.has("years"):
        days += int(b.option("years")) * 365
    return days


def jitter_value(value: Any, vr: str, days: int) -> tuple[Any, bool]:
    """The jittered value (a str, or a list for a multi-valued element) and whether every item parsed."""
    items = items_of(value)
    out = []
    complete = True
    for item in items:
        new = jitter_item(str(item), vr, days)
        if new is None:
            complete = False
            out.append(item)
        else:
            out.append(new)
    if isinstance(value, (list, tuple)) or len(items) != 1:
        return out, complete
    return out[0], complete


def evaluate(b: Builtin, *, field: Any, element: Any) -> Any:
    """Run a built-in. ``field`` is a DicomField (or the recipe text for ADD); ``element``
    the element it works on (``None`` when there is none)."""
    name = b.name
    if name == "basic_uuid":
        return str(uuid.uuid4())
    if name == "suffix_uuid":
        label = field.name if hasattr(field, "name") else str(field)
        return f"{label.lower()}-{uuid.uuid4()}"
    if name == "dicom_uuid":
        root = b.option("org_root", "anonymous-organization")
        return f"{root}.{uuid.uuid4().int}"[:64]
    if element is None:
        raise LookupError(f"deid_func:{name} needs an existing element")
    if name == "pydicom_uuid":
        prefix = b.option("prefix", "2.25.")
        stable = b.option("stable_remapping", True) is True
        sources = [str(element.value)] if stable else None
        return generate_uid(prefix=prefix, entropy_srcs=sources)
    if name == "jitter":
        if not element.value:
            return None
        value, _ = jitter_value(element.value, element.VR, jitter_days(b))
        return value
    raise BadArgument(f"unknown deid_func '{name}'")  # pragma: no cover - make_builtin checked it
