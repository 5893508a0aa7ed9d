"""deidlang's places (1-based lines and columns, in code points) <-> the protocol's
(0-based lines, characters counted in the negotiated encoding: UTF-16 code
units unless the client offers UTF-8 or UTF-32).

Lines are split as the protocol and the parser both split them: at ``\\n``,
``\\r\\n`` and a lone ``\\r``.
"""

from __future__ import annotations

from typing import Sequence

from lsprotocol import types

from ..lang.source import Span

__all__ = ["Positions"]


def _units_utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _units_utf8(text: str) -> int:
    return len(text.encode("utf-8"))


_UNITS = {"utf-8": _units_utf8, "utf-16": _units_utf16, "utf-32": len}


class Positions:
    def __init__(self, lines: Sequence[str], encoding: str | None = "utf-16"):
        self.lines = lines
        self.units = _UNITS.get(str(encoding or "utf-16").lower(), _units_utf16)

    def _line(self, number: int) -> str:
        return self.lines[number - 1] if 1 <= number <= len(self.lines) else ""

    def character(self, line: int, column: int) -> int:
        """The protocol's character of a 1-based (line, column)."""
        text = self._line(line)
        if text.isascii():
            return max(0, min(column - 1, len(text)))
        return self.units(text[: max(0, column - 1)])

    def position(self, line: int, column: int) -> types.Position:
        return types.Position(line=max(0, line - 1), character=self.character(line, column))

    def range(self, span: Span) -> types.Range:
        return types.Range(start=self.position(span.line, span.column), end=self.position(span.end_line, span.end_column))

    def column(self, position: types.Position) -> tuple[int, int]:
        """The 1-based (line, column) of a protocol position (clamped to the text)."""
        line = position.line + 1
        text = self._line(line)
        want = max(0, position.character)
        if text.isascii():
            return line, min(want, len(text)) + 1
        count = 0
        for i, ch in enumerate(text):
            if count >= want:
                return line, i + 1
            count += self.units(ch)
        return line, len(text) + 1

    def whole(self) -> types.Range:
        """A range covering the whole text."""
        last = len(self.lines)
        return types.Range(start=types.Position(line=0, character=0), end=self.position(last, len(self._line(last)) + 1))
