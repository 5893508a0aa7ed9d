"""Value expressions and typing through the element's VR.

Value sources are frozen attrs objects; the step that uses one resolves it
for one field at a time. Typing (:func:`coerce`) turns literals and the
results of ``var:``/``func:``/``deid_func:`` into the Python type pydicom
expects for the VR, and raises :class:`Uncoercible` when the value cannot
be stored (the step turns that into ``ApplyError`` R003). :func:`deid_typed`
is deid's own, lenient literal typing, kept for REMOVE's truthiness rule.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import attrs
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.valuerep import DSfloat

if TYPE_CHECKING:
    from ..lang import regexes

__all__ = [
    "Constant",
    "Var",
    "Func",
    "Builtin",
    "Filter",
    "BadArgument",
    "BuiltinFailed",
    "Uncoercible",
    "coerce",
    "deid_typed",
    "items_of",
]

INT_VRS = frozenset(("SL", "SS", "SV", "UL", "US", "UV"))
FLOAT_VRS = frozenset(("FL", "FD"))
BYTES_VRS = frozenset(("OB", "OD", "OF", "OL", "OV", "OW", "UN"))


@attrs.frozen
class Constant:
    """A literal (quotes already removed by the parser)."""

    text: str


@attrs.frozen
class Var:
    """``var:NAME``."""

    name: str

    @property
    def text(self) -> str:
        return f"var:{self.name}"


@attrs.frozen
class Func:
    """``func:NAME``: a callable from the ids/funcs, called with deid's keyword arguments."""

    name: str

    @property
    def text(self) -> str:
        return f"func:{self.name}"


@attrs.frozen
class Builtin:
    """``deid_func:NAME k=v ...``; ``options`` hold the parsed, validated arguments."""

    name: str
    options: tuple[tuple[str, Any], ...] = ()
    text: str = ""
    #: the secret for keyed built-ins (``runtime.keyed.bind``); never compared or shown
    key: Any = attrs.field(default=None, eq=False, repr=False)

    def option(self, key: str, default: Any = None) -> Any:
        for k, v in self.options:
            if k == key:
                return v
        return default

    def has(self, key: str) -> bool:
        return any(k == key for k, _ in self.options)


@attrs.frozen
class Filter:
    """A value filter in REMOVE's value slot (``contains:R``, ``equals:X``, ``values:NAME`` ...)."""

    kind: str
    argument: str
    regex: regexes.Matcher | None = attrs.field(default=None, eq=False)  # deidlang/lang/regexes.py

    @property
    def text(self) -> str:
        return f"{self.kind}:{self.argument}"


Value = Constant | Var | Func | Builtin | Filter


class BadArgument(ValueError):
    """An unknown built-in, or an argument it cannot use (``runtime.builtins``)."""


class BuiltinFailed(ValueError):
    """A built-in cannot produce a value for this element (the message names no value).
    ``code``: the ApplyError code it becomes."""

    code = "R004"


# --------------------------------------------------------------------------- typing


class Uncoercible(ValueError):
    """The value cannot be stored in the element's VR (message names the VR, never the value)."""


def _split(text: str) -> list[str]:
    return text.split("\\")


def _one_or_many(items: list) -> Any:
    return items[0] if len(items) == 1 else items


#: The range of each binary integer VR (PS3.5 6.2).
INT_RANGES = {
    "US": (0, 2**16 - 1),
    "SS": (-(2**15), 2**15 - 1),
    "UL": (0, 2**32 - 1),
    "SL": (-(2**31), 2**31 - 1),
    "UV": (0, 2**64 - 1),
    "SV": (-(2**63), 2**63 - 1),
}


def _to_int(v: Any, vr: str) -> int:
    number = _int_of(v, vr)
    low, high = INT_RANGES.get(vr, (number, number))
    if not low <= number <= high:
        raise Uncoercible(f"a number outside {low}..{high} cannot be stored in VR {vr}")
    return number


def _int_of(v: Any, vr: str) -> int:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if v.is_integer():
            return int(v)
        raise Uncoercible(f"a non-integer number cannot be stored in VR {vr}")
    if isinstance(v, (str, bytes)):
        try:
            return int(v.strip())
        except ValueError:
            raise Uncoercible(f"text that is not an integer cannot be stored in VR {vr}") from None
    raise Uncoercible(f"a {type(v).__name__} cannot be stored in VR {vr}")


def _to_float(v: Any, vr: str) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, (str, bytes)):
        try:
            return float(v.strip())
        except ValueError:
            raise Uncoercible(f"text that is not a number cannot be stored in VR {vr}") from None
    raise Uncoercible(f"a {type(v).__name__} cannot be stored in VR {vr}")


def _numeric(value: Any, vr: str, one) -> Any:
    if isinstance(value, str):
        return _one_or_many([one(p, vr) for p in _split(value)])
    if isinstance(value, (list, tuple, MultiValue)):
        return [one(p, vr) for p in value]
    return one(value, vr)


#: A DS value's characters (PS3.5 Table 6.2-1): a fixed or floating point number in
#: digits, sign, point and exponent -- no "inf", "nan" or digit separators.
_DS_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: The range of an IS value (PS3.5 Table 6.2-1).
IS_RANGE = (-(2**31), 2**31 - 1)


def ds_text_ok(text: str) -> bool:
    """Whether ``text`` (surrounding spaces aside) is a decimal string DICOM can hold:
    the DS characters, and a finite number (``1e400`` is not)."""
    text = text.strip(" ")
    return bool(_DS_TEXT.fullmatch(text)) and math.isfinite(float(text))


def is_text_ok(text: str) -> bool:
    """Whether ``text`` (surrounding spaces aside) is a whole number an IS can hold (its
    range is that of a signed 32-bit integer); ``3.0`` and ``1e3`` are accepted as pydicom does."""
    text = text.strip(" ")
    if not ds_text_ok(text):
        return False
    number = float(text)
    return number.is_integer() and IS_RANGE[0] <= int(number) <= IS_RANGE[1]


def _ds(v: Any) -> Any:
    if isinstance(v, str):
        v = v.strip()
        if v == "":
            return v
        if not ds_text_ok(v):
            raise Uncoercible("text that is not a finite decimal number cannot be stored in VR DS")
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if not math.isfinite(v):
            raise Uncoercible("an infinite or undefined number (inf, nan) cannot be stored in VR DS")
        return DSfloat(v, auto_format=True)
    raise Uncoercible(f"a {type(v).__name__} cannot be stored in VR DS")


def _is(v: Any) -> Any:
    if isinstance(v, str):
        v = v.strip()
        if v == "":
            return v
        if not is_text_ok(v):
            raise Uncoercible(f"text that is not a whole number from {IS_RANGE[0]} to {IS_RANGE[1]} cannot be stored in VR IS")
        return v
    if isinstance(v, float) and not v.is_integer():
        raise Uncoercible("a non-integer number cannot be stored in VR IS")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if not IS_RANGE[0] <= v <= IS_RANGE[1]:
            raise Uncoercible(f"a number outside {IS_RANGE[0]} to {IS_RANGE[1]} cannot be stored in VR IS")
        return int(v)
    raise Uncoercible(f"a {type(v).__name__} cannot be stored in VR IS")


#: VRs whose characters are ASCII whatever the character set (PS3.5 6.2: the default
#: repertoire): pydicom cannot write other text in them.
ASCII_ONLY_VRS = frozenset(("AE", "AS", "CS", "DA", "DT", "TM", "UI"))


def _text(v: Any, vr: str) -> Any:
    if isinstance(v, str):  # str, UID
        if vr in ASCII_ONLY_VRS and not v.isascii():
            raise Uncoercible(f"text with characters outside ASCII cannot be stored in VR {vr}")
        return v
    if isinstance(v, bytes):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(v)
    from pydicom.valuerep import PersonName

    if isinstance(v, PersonName):
        return v if vr == "PN" else _text(str(v), vr)  # a name given to a text element: its text
    import datetime as _dt

    if isinstance(v, (_dt.date, _dt.time)) and vr in ("DA", "DT", "TM"):
        return v
    raise Uncoercible(f"a {type(v).__name__} cannot be stored in VR {vr}")


def coerce(value: Any, vr: str) -> Any:
    """``value`` converted to what pydicom stores for ``vr``; raises :class:`Uncoercible`.

    Text is split on backslashes for numeric VRs (a multi-valued element),
    as pydicom does itself for text VRs.
    """
    if vr in INT_VRS:
        return _numeric(value, vr, _to_int)
    if vr in FLOAT_VRS:
        return _numeric(value, vr, _to_float)
    if vr in BYTES_VRS:
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        if isinstance(value, str):
            return value.encode("utf-8")
        raise Uncoercible(f"a {type(value).__name__} cannot be stored in VR {vr}")
    if vr == "SQ":
        if isinstance(value, Sequence):
            return value
        raise Uncoercible("a sequence (VR SQ) cannot be given a plain value")
    if vr == "DS":
        if isinstance(value, str):
            return _one_or_many([_ds(p) for p in _split(value)]) if "\\" in value else _ds(value)
        if isinstance(value, (list, tuple, MultiValue)):
            return [_ds(p) for p in value]
        return _ds(value)
    if vr == "IS":
        if isinstance(value, str):
            return _one_or_many([_is(p) for p in _split(value)]) if "\\" in value else _is(value)
        if isinstance(value, (list, tuple, MultiValue)):
            return [_is(p) for p in value]
        return _is(value)
    if isinstance(value, (list, tuple, MultiValue)):
        return [_text(p, vr) for p in value]
    return _text(value, vr)


def deid_typed(text: str, vr: str) -> Any:
    """deid's literal typing: ``None`` when the conversion fails."""
    try:
        if vr in FLOAT_VRS:
            return float(text)
        if vr in BYTES_VRS:
            return bytes(text, "utf-8")
        if vr in INT_VRS:
            return int(text)
    except (ValueError, TypeError):
        return None
    return text


def items_of(value: Any) -> list:
    """The items of a value: one for a single value, each for a multi-valued one, none when empty."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, MultiValue)):
        return list(value)
    return [value]
