"""Which text read by OCR identifies: the header's own identifying values, and
generic shapes (a date, a long digit string, a ``Last^First`` name).

The header values are those :func:`deidlang.privacy.identifiers.harvest` collects from the
original (names and their parts, IDs, dates in common spellings, accession
numbers, institution, ...). OCR text is noisy, so the comparison is by
tokens (runs of letters and digits), not characters:

* case does not matter, and neither do the characters between tokens (a
  ``^`` read as ``*``, a ``-`` read as ``~``);
* the characters OCR confuses are compared as one (``O``/``0``, ``I``/``l``/
  ``1``, ``S``/``5``, ``B``/``8``, ``Z``/``2``, ``G``/``6``);
* a token of 5 characters or more may differ from the value's in one
  character (9 or more: two);
* a value of several tokens matches the same tokens in a row, or their
  concatenation (``DOE^JANE`` read as ``DOEJANE``); of three tokens or more,
  one may be misread (a date whose month was read wrong);
* a token of 5 characters or more that is the start or the end of a value's
  token of at most twice its length matches (``LOWAY`` of ``HOLLOWAY``).
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

import attrs

from ..runtime import patterns

__all__ = ["Finding", "TextMatcher"]

_TOKEN = re.compile(r"[^\W_]+")
_CONFUSED = str.maketrans({"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "|": "1", "S": "5", "B": "8", "Z": "2", "G": "6"})


@attrs.frozen
class Finding:
    """Identifying text found in a line: its span, the kind of value, the header element
    it came from (deid uid path; "" for a generic shape)."""

    start: int
    end: int
    kind: str
    source: str = ""

    @property
    def generic(self) -> bool:
        return not self.source


def _canon(token: str) -> str:
    return token.upper().translate(_CONFUSED)


def _close(a: str, b: str) -> bool:
    """Whether two canonical tokens are the same, allowing OCR's slips on long ones."""
    if a == b:
        return True
    n = max(len(a), len(b))
    allowed = 2 if n >= 9 else 1 if n >= 5 else 0
    if not allowed or abs(len(a) - len(b)) > allowed:
        return False
    return _distance(a, b, allowed) <= allowed


def _distance(a: str, b: str, limit: int) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


@attrs.frozen
class _Value:
    tokens: tuple[str, ...]  # canonical
    joined: str
    kind: str
    source: str


class TextMatcher:
    """Finds identifying text in lines read by OCR. ``identifiers``: what
    :func:`deidlang.privacy.identifiers.harvest` returned for the original (any iterable of objects
    with ``kind``, ``text``, ``source``); ``generic``: also the generic shapes."""

    def __init__(self, identifiers: Iterable = (), *, generic: bool = True):
        values: dict[tuple[str, ...], _Value] = {}
        for it in identifiers:
            tokens = tuple(_canon(t) for t in _TOKEN.findall(str(it.text)))
            if not tokens or tokens in values:
                continue
            if len("".join(tokens)) < 3:
                continue
            values[tokens] = _Value(tokens, "".join(tokens), it.kind, it.source)
        self.values: tuple[_Value, ...] = tuple(values.values())
        self.generic = generic

    def __bool__(self) -> bool:
        return bool(self.values) or self.generic

    def find(self, text: str) -> list[Finding]:
        """Every identifying span of ``text`` (overlapping ones included)."""
        found: list[Finding] = []
        spans = [(m.start(), m.end(), _canon(m.group(0))) for m in _TOKEN.finditer(text)]
        for value in self.values:
            found.extend(self._find_value(value, spans))
        if self.generic:
            found.extend(Finding(s, e, kind) for s, e, kind in patterns.find(text))
        return found

    @staticmethod
    def _find_value(value: _Value, spans: Sequence[tuple[int, int, str]]) -> list[Finding]:
        out = []
        n = len(value.tokens)
        for i in range(len(spans)):
            if i + n <= len(spans) and all(_close(spans[i + k][2], value.tokens[k]) for k in range(n)):
                out.append(Finding(spans[i][0], spans[i + n - 1][1], value.kind, value.source))
                continue
            if (
                n >= 3
                and i + n <= len(spans)
                and len(value.joined) >= 6
                and sum(not _close(spans[i + k][2], value.tokens[k]) for k in range(n)) == 1
                and _close(spans[i][2], value.tokens[0]) | _close(spans[i + n - 1][2], value.tokens[-1])
            ):
                # all but one of three or more tokens (a date with its month misread)
                out.append(Finding(spans[i][0], spans[i + n - 1][1], value.kind, value.source))
                continue
            if n > 1 and _close(spans[i][2], value.joined):
                out.append(Finding(spans[i][0], spans[i][1], value.kind, value.source))
                continue
            token = spans[i][2]
            if (
                n == 1
                and len(token) >= 5
                and token != value.joined
                and len(value.joined) <= 2 * len(token)
                and (value.joined.startswith(token) or value.joined.endswith(token))
            ):  # the part of a word that OCR read
                out.append(Finding(spans[i][0], spans[i][1], value.kind, value.source))
                continue
            # a token that holds the value whole, glued to a label ("ID12345678")
            if len(value.joined) >= 6 and value.joined in spans[i][2] and spans[i][2] != value.joined:
                at = spans[i][2].index(value.joined)
                out.append(Finding(spans[i][0] + at, spans[i][0] + at + len(value.joined), value.kind, value.source))
        return out
