"""HIPAA Safe Harbor (45 CFR 164.514(b)(2)): ``deid_func:safeharbor``.

What Safe Harbor lets a de-identified file keep, reduced to what it allows, by VR:

* AS (ages): an age over 89 years becomes ``090Y``, the category "90 or older"; other
  ages stay (written with three digits: ``75Y`` becomes ``075Y``); a value that is no
  age becomes empty;
* DA (dates): the year only. A DA value cannot hold a year alone (it is always
  YYYYMMDD), so the date becomes the first of January of its year, ``YYYY0101``. A date
  of birth becomes empty when the patient is 90 or older (PatientAge over 89, or 90
  years or more between the date of birth and today): "all elements of dates (including
  year) indicative of such age" go;
* DT (date-times): ``YYYY``, which DT allows (a DT may stop after any component);
* TM (times): more specific than a year: the dummy ``000000``;
* text (LO, SH, ST, LT, UT, UC): telephone and fax numbers, ZIP codes, e-mail and web
  addresses, IP addresses, social security numbers, dates, long numbers and
  ``Last^First`` names (:mod:`.patterns`), and this file's identifying values
  (``deid_func:scrub``), are removed; a text left with nothing becomes the dummy;
* PN (names): the dummy;
* SQ: each of these, inside the sequence, at every depth; others: unchanged.

A value that cannot be read as its VR says becomes empty: never kept as it was.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from .cleaning import SCRUB_VRS, clean_text, deep, dummy_value, need, one, scrub_regex, text_items
from .dates import parse_da, parse_dt
from .values import Builtin

__all__ = ["safe_harbor", "OLDEST", "aggregate_age", "year_of"]

#: Ages above this many years are one category ("90 or older", written 090Y).
OLDEST = 89
_AGE = re.compile(r"([0-9]{1,3}) ?([DWMY])")  # AS is NNNX; "75Y" is common, and read
#: a DT value, stopping after any component (YYYY, YYYYMM, ...), with an offset or not
_DT = re.compile(r"([0-9]{4})(?:(0[1-9]|1[0-2])(?:([0-2][0-9]|3[01])(?:[0-9]{2}(?:[0-9]{2}(?:[0-9]{2}(?:\.[0-9]{1,6})?)?)?)?)?)?(?:[+-][0-9]{4})?")
_BIRTH_DATE = 0x00100030
_PATIENT_AGE = 0x00101010


def aggregate_age(value: str) -> str:
    """An AS value with ages over 89 years as ``090Y``; empty when it is no age."""
    m = _AGE.fullmatch(value.strip())
    if m is None:
        return ""
    if m.group(2) == "Y" and int(m.group(1)) > OLDEST:
        return f"{OLDEST + 1:03d}Y"
    return f"{int(m.group(1)):03d}{m.group(2)}"


def year_of(value: str, vr: str) -> str:
    """A DA value as ``YYYY0101``, a DT value as ``YYYY``; empty when it is no date."""
    text = value.strip()
    if vr == "DA":
        d = parse_da(text)
        return "" if d is None else f"{d.year:04d}0101"
    m = _DT.fullmatch(text)
    if m is None or (m.group(3) and parse_dt(text) is None):  # a day that does not exist
        return ""
    return m.group(1)


def _ninety(run: Any, birth: _dt.date) -> bool:
    """Whether a patient born on ``birth`` is 90 or older: by the file's PatientAge, or today."""
    ds = getattr(run, "ds", None)
    age = ds.get(_PATIENT_AGE) if ds is not None else None
    if age is not None and age.value:
        m = _AGE.fullmatch(str(age.value).strip())
        if m is not None and m.group(2) == "Y" and int(m.group(1)) > OLDEST:
            return True
    today = _dt.date.today()
    years = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    return years > OLDEST


def _value(text: str, vr: str, tag: int, run: Any, rx: Any) -> str:
    if vr == "AS":
        return aggregate_age(text)
    if vr == "DA" and tag == _BIRTH_DATE:
        d = parse_da(text.strip())
        return "" if d is None or _ninety(run, d) else f"{d.year:04d}0101"
    if vr in ("DA", "DT"):
        return year_of(text, vr)
    if vr in ("TM", "PN"):
        return dummy_value(vr) if text.strip() else text
    return clean_text(text, rx, vr) if text.strip() else text


_CHANGED = frozenset(("AS", "DA", "DT", "TM", "PN")) | SCRUB_VRS


def _changed(element: Any, run: Any, rx: Any) -> Any:
    values = [_value(v, element.VR, int(element.tag), run, rx) for v in text_items(element.value)]
    return one(values) if values else element.value


def safe_harbor(b: Builtin, field: Any, element: Any, run: Any) -> Any:
    """``deid_func:safeharbor`` (see the module docstring)."""
    need(element, b)
    vr = element.VR
    rx = scrub_regex(run) if vr in SCRUB_VRS or vr == "SQ" else None
    if vr == "SQ":

        def change(ds, tag, elem):
            if elem.VR in _CHANGED and elem.value not in (None, ""):
                elem.value = _changed(elem, run, rx)

        deep(run, element.value, change)
        return element.value
    if vr not in _CHANGED or element.value in (None, ""):
        return element.value
    return _changed(element, run, rx)
