"""Strict DICOM date parsing and jitter (deid's, with deidlang's strict parsing).

deid guesses dates with dateutil (``2023`` becomes today's month and day;
``IS 5`` becomes the 5th of this month). deidlang accepts only DICOM forms:

* DA: ``YYYYMMDD``, and the ACR-NEMA ``YYYY.MM.DD`` that old files still carry;
* DT: ``YYYYMMDD[HH[MM[SS[.F{1,6}]]]][+/-ZZZZ]``.

Output formats are deid's: DA -> ``YYYYMMDD``; DT ->
``YYYYMMDDHHMMSS.ffffff`` plus the original offset; any other VR ->
``YYYYMMDD`` when the text is a DA or a DT without a fraction of a second,
and the DT form when the text is a DT with one (deid's dateutil cannot read
that text, so deid falls back to its DT formats). A value that does not
parse is returned as ``None`` (the caller keeps the original).
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["parse_da", "parse_dt", "jitter_item", "JitterOverflow"]

_DA = re.compile(r"(\d{4})(\d{2})(\d{2})|(\d{4})\.(\d{2})\.(\d{2})")
_DT = re.compile(r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?)?)?([+-]\d{4})?")


class JitterOverflow(ValueError):
    """The jittered date falls outside years 1-9999."""


def parse_da(text: str) -> dt.date | None:
    m = _DA.fullmatch(text.strip())
    if not m:
        return None
    y, mo, d = m.group(1, 2, 3) if m.group(1) else m.group(4, 5, 6)
    try:
        return dt.date(int(y), int(mo), int(d))
    except ValueError:
        return None


def parse_dt(text: str) -> tuple[dt.datetime, str] | None:
    """A naive datetime and the offset text (``""`` when none was given)."""
    m = _DT.fullmatch(text.strip())
    if not m:
        return None
    y, mo, d, h, mi, s, frac, off = m.groups()
    try:
        value = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), int((frac or "0").ljust(6, "0")))
    except ValueError:
        return None
    if off and (int(off[1:3]) > 23 or int(off[3:5]) > 59):
        return None
    return value, off or ""


def _ymd(d: dt.date) -> str:
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


def _shift(value, days: int):
    try:
        return value + dt.timedelta(days=days)
    except OverflowError as exc:
        raise JitterOverflow("the jittered date is out of range") from exc


def jitter_item(text: str, vr: str, days: int) -> str | None:
    """One jittered item, or ``None`` when ``text`` is not a date this VR accepts."""
    if vr == "DA":
        d = parse_da(text)
        return None if d is None else _ymd(_shift(d, days))
    if vr == "DT":
        parsed = parse_dt(text)
        if parsed is None:
            return None
        return _dt_text(parsed, days)
    d = parse_da(text)
    if d is None:
        parsed = parse_dt(text)
        if parsed is None:
            return None
        if "." in text:  # a fraction of a second: deid keeps the DT form
            return _dt_text(parsed, days)
        d = parsed[0]
    return _ymd(_shift(d, days))


def _dt_text(parsed: tuple[dt.datetime, str], days: int) -> str:
    value, off = parsed
    v = _shift(value, days)
    return f"{_ymd(v)}{v.hour:02d}{v.minute:02d}{v.second:02d}.{v.microsecond:06d}{off}"
