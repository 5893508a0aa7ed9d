"""Where recipe text came from, and where things are in it.

Lines and columns are 1-based; ``end_column`` is exclusive (as in lark tokens
and SARIF regions), so a span covering ``PatientName`` at the start of a line
is ``Span(1, 1, 1, 12)``.
"""

from __future__ import annotations

from typing import NamedTuple

import attrs


class Span(NamedTuple):
    """A region of recipe text. A NamedTuple rather than an attrs class: the
    parser makes several per line, and tuple construction is the cheapest
    immutable value Python has (it matters for checking 10,000-line recipes)."""

    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, line: int, column: int) -> Span:
        """A zero-width span (where something is missing)."""
        return cls(line, column, line, column)


@attrs.frozen
class Source:
    """Recipe text and the name it is reported under (a path or ``<string>``)."""

    text: str
    name: str = "<string>"
    _lines: tuple[str, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_lines", tuple(split_lines(self.text)))

    @property
    def lines(self) -> tuple[str, ...]:
        return self._lines

    def line(self, number: int) -> str:
        """The text of line ``number`` (1-based) without its line ending."""
        if 1 <= number <= len(self._lines):
            return self._lines[number - 1]
        return ""


def split_lines(text: str) -> list[str]:
    """Split on ``\\n``, ``\\r\\n`` and lone ``\\r`` (as the grammar's _NL does)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")
