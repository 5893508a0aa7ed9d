"""Shapes of identifying text that no header value names: dates, long digit runs,
``Last^First`` names, and the HIPAA Safe Harbor kinds (telephone numbers, ZIP
codes, e-mail and web addresses, IP addresses, social security numbers).

Used where text comes from outside the header: today the words read from pixels
by OCR (:mod:`deidlang.ocr.match`, :data:`GENERIC`). :data:`SAFE_HARBOR` and
:func:`scrub` are the Safe Harbor kinds for free text, tested but not yet used by a
command. Each pattern is a plain ``re`` pattern with a kind, the words a report
gives (never the value).
"""

from __future__ import annotations

import re
from typing import Iterator

__all__ = ["GENERIC", "SAFE_HARBOR", "find", "scrub"]

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DAY = r"(?:0?[1-9]|[12][0-9]|3[01])"
_MON = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:19|20)[0-9]{2}"

#: (kind, compiled pattern): the generic shapes OCR looks for.
GENERIC: tuple[tuple[str, re.Pattern], ...] = (
    (
        "a date",
        re.compile(
            rf"(?<![0-9])(?:{_YEAR}[-/.]{_MON}[-/.]{_DAY}|{_DAY}[-/.]{_MON}[-/.](?:{_YEAR}|[0-9]{{2}})|{_MON}[-/.]{_DAY}[-/.](?:{_YEAR}|[0-9]{{2}})"
            rf"|{_YEAR}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01]))(?![0-9])"
            rf"|(?<![0-9a-z]){_DAY}[ -]?{_MONTH}[ ,-]*(?:{_YEAR}|[0-9]{{2}})(?![0-9])"
            rf"|(?<![a-z]){_MONTH} {_DAY},? {_YEAR}(?![0-9])",
            re.IGNORECASE,
        ),
    ),
    ("a long digit string", re.compile(r"(?<![0-9])[0-9]{6,}(?![0-9])")),
    (
        "a Last^First name",
        re.compile(
            r"(?<![^\W\d_])[^\W\d_]{2,}[-'’]?[^\W\d_]*\s*[\^*]\s*[^\W\d_]{2,}"
            r"|(?<![^\W\d_])[A-Z][A-Z'’-]{1,}, ?[A-Z][A-Za-z'’-]+(?![^\W\d_])"
        ),
    ),
)

#: (kind, pattern): what HIPAA Safe Harbor names that free text can hold.
SAFE_HARBOR: tuple[tuple[str, re.Pattern], ...] = (
    ("an e-mail address", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("a web address", re.compile(r"(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE)),
    ("an IP address", re.compile(r"(?<![0-9.])(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})(?![0-9.])")),
    ("a social security number", re.compile(r"(?<![0-9])[0-9]{3}-[0-9]{2}-[0-9]{4}(?![0-9])")),
    ("a telephone number", re.compile(r"(?<![0-9])(?:\+?[0-9]{1,3}[ .-]?)?(?:\([0-9]{2,4}\)|[0-9]{2,4})[ .-][0-9]{3,4}[ .-]?[0-9]{3,4}(?![0-9])")),
    ("a ZIP code", re.compile(r"(?<![0-9-])[0-9]{5}(?:-[0-9]{4})?(?![0-9-])")),
)


def find(text: str, patterns=GENERIC) -> Iterator[tuple[int, int, str]]:
    """``(start, end, kind)`` of every match of ``patterns`` in ``text``."""
    for kind, rx in patterns:
        for m in rx.finditer(text):
            if m.end() > m.start():
                yield m.start(), m.end(), kind


def scrub(text: str, patterns=SAFE_HARBOR) -> str:
    """``text`` with every match of ``patterns`` removed (runs of spaces closed up)."""
    spans = sorted((s, e) for s, e, _ in find(text, patterns))
    if not spans:
        return text
    out, at = [], 0
    for s, e in spans:
        if s >= at:
            out.append(text[at:s])
            at = e
        elif e > at:
            at = e
    out.append(text[at:])
    return re.sub(r"[ \t]{2,}", " ", "".join(out)).strip()
