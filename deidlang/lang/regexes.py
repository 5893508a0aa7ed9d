"""Every regular expression a recipe holds, compiled once and matched at a bounded cost.

deid compiles the patterns of a recipe (expanders ``contains:R``, value
filters, ``%filter`` criteria) with Python's ``re``, a backtracking engine:
a pattern such as ``(a+)+$`` takes exponential time on a value like
``aaaa...!``, so one hostile recipe line (or one odd value) can stall a
whole batch. deidlang keeps Python's *syntax and meaning* but not its
engine:

* a pattern is parsed by Python's own parser (so exactly the patterns ``re``
  accepts are valid, with the same errors), then translated into RE2's
  syntax and run by RE2 (package ``google-re2``), whose matching time is
  linear in the text. The translation keeps Python's meaning where the two
  differ: ``\\d``, ``\\w``, ``\\s`` and their negations are written out as the
  code points Python's tables give them (RE2's own are ASCII, or its newer
  Unicode tables); ``$`` also matches before a final newline; ``.`` never
  matches a newline unless ``(?s)``; case-insensitive ``i``/``I``/``İ``/``ı``
  match each other as in Python;
* a pattern RE2 cannot express (look-around, backreferences, ``\\b``/``\\B``,
  conditionals, atomic groups and possessive quantifiers, ``(?a)``, a
  repetition count over 1000, or a pattern too big for RE2's memory bound)
  runs on the backtracking engine of the ``regex`` package with a time
  limit per search (:data:`TIME_LIMIT`); running out of time raises
  :class:`PatternTimeout`, never a silent non-match (a de-identification
  that silently skips a field leaks it). The ``regex`` package gets the
  pattern translated too (Python's classes, case folding and anchors), so
  both engines answer as ``re.search`` would. The checker rejects such a
  pattern when it nests a quantifier inside another, or repeats
  alternatives that can start alike (E213): there the limit would be
  reached on ordinary values;
* a text that UTF-8 cannot encode (a lone surrogate) is searched by the
  backtracking engine, with the same time limit.

Values harvested from data (``%values`` lists) are matched *literally*
(:func:`literal_any`), never compiled as patterns: deid joins them into
one unescaped regex, so a name with ``(`` crashes it and a ``.`` matches
anything (docs/differences-from-deid.md).

A :class:`Matcher` is immutable and picklable (Programs travel to worker
processes): it pickles as its pattern and is compiled again on arrival.
A :class:`LiteralSet` (built from data) never shows its values in ``repr``
or in error messages.
"""

from __future__ import annotations

import array
import functools
import re
import sys
from typing import TYPE_CHECKING, Any, Callable, Iterable

import attrs

from .diagnostics import DeidlangError

try:  # Python >= 3.11
    from re import _constants as _c
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _c  # type: ignore[no-redef, unused-ignore]
    import sre_parse as _sre_parse  # type: ignore[no-redef, unused-ignore]

__all__ = [
    "TIME_LIMIT",
    "Matcher",
    "LiteralSet",
    "Analysis",
    "PatternTimeout",
    "compile",
    "validate",
    "literal_any",
    "analyze",
]

#: Seconds one search may take on the backtracking engine before it gives up.
TIME_LIMIT = 1.0

#: RE2's memory bound for one compiled pattern (its default, 8 MiB, is too small
#: for a ``%values`` list of many thousand values or ``\\w{1000}``).
_MAX_MEM = 64 << 20

_FLAGS = re.IGNORECASE


class PatternTimeout(DeidlangError):
    """A search on the backtracking engine ran out of time (:data:`TIME_LIMIT`).

    The message names the pattern as the recipe wrote it (never the text
    searched, nor a pattern made of data values)."""

    def __init__(self, label: str, limit: float):
        self.label = label
        self.limit = limit
        super().__init__(f"{label} took longer than {limit:g} s on one value and was stopped")


class _NeedsBacktracking(Exception):
    """The pattern cannot run on RE2; ``args[0]`` says why, in a few words."""


# --------------------------------------------------------------------------- engines (loaded on first use)


@functools.cache
def _re2() -> Any:
    """``(RE2 class, Options, UNANCHORED)`` or None when google-re2 is not installed."""
    try:
        import re2
        from re2 import _re2 as core
    except ImportError:  # pragma: no cover - a dependency; without it everything backtracks
        return None
    return core.RE2, re2.Options, core.RE2.Anchor.UNANCHORED


def _compile_re2(translated: str, max_mem: int) -> Any:
    engine = _re2()
    if engine is None:  # pragma: no cover
        raise _NeedsBacktracking("google-re2 is not installed")
    cls, options_cls, _ = engine
    options = options_cls()
    options.log_errors = False  # RE2 would print to stderr
    options.never_capture = True  # a yes/no answer needs no groups
    options.max_mem = max_mem
    rx = cls(translated.encode("utf-8"), options)
    if not rx.ok():
        raise _NeedsBacktracking(f"RE2 cannot run it ({rx.error()})")
    return rx


def _compile_backtracking(pattern: str, flags: int) -> Any:
    """The ``regex`` package's engine (it has a time limit) on the pattern translated
    to Python's meaning; the pattern as written when it cannot be translated."""
    import regex

    try:
        return regex.compile(_translate(pattern, flags, _BACKTRACKING), regex.VERSION0)
    except (_NeedsBacktracking, RecursionError, regex.error):
        # (?a) and the like: the regex package's own reading of the pattern as written
        return regex.compile(pattern, (regex.IGNORECASE if flags & re.IGNORECASE else 0) | regex.VERSION0)


# --------------------------------------------------------------------------- Python's \d \w \s

_RE2, _BACKTRACKING = "re2", "regex"

_CATEGORIES = {
    # category: (Python escape of the class, whether it is the complement)
    _c.CATEGORY_DIGIT: ("d", False),
    _c.CATEGORY_NOT_DIGIT: ("d", True),
    _c.CATEGORY_WORD: ("w", False),
    _c.CATEGORY_NOT_WORD: ("w", True),
    _c.CATEGORY_SPACE: ("s", False),
    _c.CATEGORY_NOT_SPACE: ("s", True),
}


def _category(cat: Any, target: str) -> str:
    """A category escape (``\\d``, ``\\W``...) as class content: the code points
    Python's ``re`` gives it (its Unicode tables, whatever the engine's are)."""
    if cat not in _CATEGORIES:
        raise _NeedsBacktracking(f"the class {cat}")  # pragma: no cover - a future re
    letter, complement = _CATEGORIES[cat]
    return _category_classes(letter, target)[complement]


@functools.cache
def _category_classes(letter: str, target: str) -> tuple[str, str]:
    """``(class, complement)`` for ``\\d``, ``\\w`` or ``\\s``, found by letting Python's
    ``re`` scan all of Unicode once (a tenth of a second, once per process)."""
    inside: list[tuple[int, int]] = []
    outside: list[tuple[int, int]] = []
    for m in re.finditer("(\\" + letter + "+)|\\" + letter.upper() + "+", _every_code_point()):
        (inside if m.group(1) else outside).append((m.start(), m.end() - 1))
    return tuple(  # type: ignore[return-value]
        "".join(_range(a, b, target) for lo, hi in runs for a, b in _encodable(lo, hi, target)) for runs in (inside, outside)
    )


def _every_code_point() -> str:
    """All of Unicode in one string (built from machine words: ``chr`` one by one is slow)."""
    code = "I" if array.array("I").itemsize == 4 else "L"
    return array.array(code, range(0x110000)).tobytes().decode(f"utf-32-{sys.byteorder[0]}e", "surrogatepass")


def _encodable(lo: int, hi: int, target: str) -> list[tuple[int, int]]:
    """RE2 works on UTF-8, which has no surrogates (texts holding one take the other engine)."""
    if target is not _RE2:
        return [(lo, hi)]
    out = []
    if lo < 0xD800:
        out.append((lo, min(hi, 0xD7FF)))
    if hi > 0xDFFF:
        out.append((max(lo, 0xE000), hi))
    return out


def _char(cp: int, target: str) -> str:
    if cp < 128 and (chr(cp).isalnum() or cp == 0x5F):
        return chr(cp)
    if target is _RE2:
        if 0xD800 <= cp <= 0xDFFF:
            raise _NeedsBacktracking("a surrogate code point")
        return f"\\x{{{cp:X}}}"
    return f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"


def _range(lo: int, hi: int, target: str) -> str:
    return _char(lo, target) if lo == hi else f"{_char(lo, target)}-{_char(hi, target)}"


#: Python's case-insensitive matching puts these four in one class; RE2's
#: Unicode simple case folding pairs only I/i (the dotted and dotless i
#: stand alone). The only such difference over all of Unicode (tests/test_hostile.py).
_TURKISH_I = (0x49, 0x69, 0x130, 0x131)

#: Python 3.14 made ``\B`` match in an empty text.
_B_MATCHES_EMPTY = re.search(r"\B", "") is not None


# --------------------------------------------------------------------------- Python pattern -> engine pattern


def _translate(pattern: str, flags: int, target: str = _RE2) -> str:
    """The pattern, in ``target``'s syntax, that finds a match exactly where Python's
    ``re.search`` does. ``target``: RE2, or the ``regex`` package (which has look-around
    and backreferences, but its own Unicode tables and case folding).

    Raises :class:`_NeedsBacktracking` for what the target cannot express.
    """
    tree = _sre_parse.parse(pattern, flags)
    top = tree.state.flags
    if top & (_c.SRE_FLAG_ASCII | _c.SRE_FLAG_LOCALE):
        raise _NeedsBacktracking("the ASCII flag (?a)")
    body = _Emit(target).seq(list(tree), top, True)
    return ("(?i)" if top & _c.SRE_FLAG_IGNORECASE else "") + body


class _Emit:
    """Writes a parsed Python pattern for one engine (see :func:`_translate`)."""

    def __init__(self, target: str):
        self.target = target
        self.re2 = target is _RE2

    def char(self, cp: int) -> str:
        return _char(cp, self.target)

    def seq(self, items: list, flags: int, terminal: bool) -> str:
        """``terminal``: nothing of the pattern can follow the sequence (a ``$`` may:
        ``(a$)$``, as ``endswith:a$`` compiles, has a terminal ``a$``)."""
        out = []
        for i, (op, av) in enumerate(items):
            rest = items[i + 1 :]
            ends = all(o is _c.AT and a is _c.AT_END and not flags & _c.SRE_FLAG_MULTILINE for o, a in rest)
            out.append(self.node(op, av, flags, terminal and ends))
        return "".join(out)

    def node(self, op: Any, av: Any, flags: int, terminal: bool) -> str:
        icase = flags & _c.SRE_FLAG_IGNORECASE
        if op is _c.LITERAL:
            if icase and av in _TURKISH_I:
                return "[" + "".join(self.char(c) for c in _TURKISH_I) + "]"
            return self.char(av)
        if op is _c.NOT_LITERAL:
            if icase and av in _TURKISH_I:
                return "[^" + "".join(self.char(c) for c in _TURKISH_I) + "]"
            return f"[^{self.char(av)}]"
        if op is _c.ANY:
            return "(?s:.)" if flags & _c.SRE_FLAG_DOTALL else "[^\\n]"
        if op is _c.IN:
            return self.klass(av, flags)
        if op is _c.BRANCH:
            return "(?:" + "|".join(self.seq(list(alt), flags, terminal) for alt in av[1]) + ")"
        if op is _c.SUBPATTERN:
            group, add, remove, sub = av
            inner = (flags | add) & ~remove
            if inner & (_c.SRE_FLAG_ASCII | _c.SRE_FLAG_LOCALE):
                raise _NeedsBacktracking("the ASCII flag (?a)")
            body = self.seq(list(sub), inner, terminal)
            if (inner & _c.SRE_FLAG_IGNORECASE) != icase:
                body = ("(?i:" if inner & _c.SRE_FLAG_IGNORECASE else "(?-i:") + body + ")"
            # the backtracking engine keeps the groups (and their numbers) for backreferences
            return f"({body})" if group is not None and not self.re2 else f"(?:{body})"
        if op is _c.MAX_REPEAT or op is _c.MIN_REPEAT or str(op) == "POSSESSIVE_REPEAT":
            lo, hi, sub = av
            if str(op) == "POSSESSIVE_REPEAT" and self.re2:
                raise _NeedsBacktracking("an atomic group or a possessive quantifier")
            body = "(?:" + self.seq(list(sub), flags, terminal and hi <= 1) + ")"
            mode = "?" if op is _c.MIN_REPEAT else "+" if str(op) == "POSSESSIVE_REPEAT" else ""
            return body + _quantifier(lo, hi) + mode
        if op is _c.AT:
            return self.at(av, flags, terminal)
        if self.re2:
            names = {
                _c.GROUPREF: "a backreference",
                _c.GROUPREF_EXISTS: "a conditional group (?(...)...)",
                _c.ASSERT: "a look-ahead or look-behind",
                _c.ASSERT_NOT: "a negative look-ahead or look-behind",
            }
            if op in names:
                raise _NeedsBacktracking(names[op])
            if str(op) == "ATOMIC_GROUP":
                raise _NeedsBacktracking("an atomic group or a possessive quantifier")
            raise _NeedsBacktracking(f"the construct {op}")  # pragma: no cover - a future re
        if op is _c.GROUPREF:
            return f"(?:\\g<{av}>)"
        if op is _c.GROUPREF_EXISTS:
            group, yes, no = av
            branches = self.seq(list(yes), flags, False) + ("|" + self.seq(list(no), flags, False) if no is not None else "")
            return f"(?({group}){branches})"
        if op is _c.ASSERT or op is _c.ASSERT_NOT:
            direction, sub = av
            kind = ("=" if op is _c.ASSERT else "!") if direction == 1 else ("<=" if op is _c.ASSERT else "<!")
            return f"(?{kind}{self.seq(list(sub), flags, False)})"
        if str(op) == "ATOMIC_GROUP":
            return f"(?>{self.seq(list(av), flags, False)})"
        raise _NeedsBacktracking(f"the construct {op}")  # pragma: no cover - a future re

    def at(self, where: Any, flags: int, terminal: bool) -> str:
        multiline = flags & _c.SRE_FLAG_MULTILINE
        if where is _c.AT_BEGINNING_STRING or (where is _c.AT_BEGINNING and not multiline):
            return "\\A"
        if where is _c.AT_BEGINNING:
            return "(?m:^)" if self.re2 else "(?<![^\\n])"
        if where is _c.AT_END_STRING:
            return "\\z" if self.re2 else "\\Z"
        if where is _c.AT_END:
            if not self.re2:
                return "(?=\\n|\\Z)" if multiline else "(?=\\n?\\Z)"
            if multiline:
                return "(?m:$)"
            # Python's $ also matches before a final newline. With nothing after it in
            # the pattern, consuming that newline changes no yes/no answer.
            if terminal:
                return "(?:\\n?\\z)"
            raise _NeedsBacktracking("'$' followed by more pattern")
        if self.re2:
            raise _NeedsBacktracking("a word boundary \\b or \\B")
        # Python's word boundary, on Python's \w (the regex package has its own)
        w = f"(?-i:[{_category(_c.CATEGORY_WORD, self.target)}])"
        if where is _c.AT_BOUNDARY:
            return f"(?:(?<={w})(?!{w})|(?<!{w})(?={w}))"
        nonempty = "" if _B_MATCHES_EMPTY else "(?:(?<=(?s:.))|(?=(?s:.)))"
        return f"(?:(?<={w})(?={w})|(?<!{w})(?!{w}){nonempty})"

    def klass(self, items: list, flags: int) -> str:
        icase = flags & _c.SRE_FLAG_IGNORECASE
        negate = False
        plain: list[str] = []
        cats: list[str] = []
        turkish = False
        uncased = True  # no character of the class has another case
        for op, av in items:
            if op is _c.NEGATE:
                negate = True
            elif op is _c.LITERAL:
                plain.append(self.char(av))
                turkish = turkish or av in _TURKISH_I
                uncased = uncased and _uncased(av, av)
            elif op is _c.RANGE:
                lo, hi = av
                plain.extend(_range(a, b, self.target) for a, b in _encodable(lo, hi, self.target))
                turkish = turkish or any(lo <= c <= hi for c in _TURKISH_I)
                uncased = uncased and _uncased(lo, hi)
            elif op is _c.CATEGORY:
                cats.append(_category(av, self.target))
            else:  # pragma: no cover - a future re
                raise _NeedsBacktracking(f"the class item {op}")
        if icase and turkish:
            plain.extend(self.char(c) for c in _TURKISH_I)
        hat = "^" if negate else ""
        if not cats or not icase:
            return f"[{hat}{''.join(cats)}{''.join(plain)}]"
        # Python tests \d \w \s on the character itself, while (?i) would close the
        # written-out ranges under case folding: keep them case-sensitive.
        if not plain:
            return f"(?-i:[{hat}{''.join(cats)}])"
        if negate:
            if uncased:  # [^\\W\\d_]: nothing for (?i) to add to the characters
                return f"(?-i:[^{''.join(cats)}{''.join(plain)}])"
            if self.re2:
                raise _NeedsBacktracking("a negated class mixing \\d, \\w or \\s with letters")
            return f"(?!(?-i:[{''.join(cats)}])|[{''.join(plain)}])(?s:.)"
        return f"(?:(?-i:[{''.join(cats)}])|[{''.join(plain)}])"


def _uncased(lo: int, hi: int) -> bool:
    """Whether no character in ``lo..hi`` has another case (digits, ``_``, punctuation)."""
    if hi - lo > 64:
        return False
    return all(len({c, c.lower(), c.upper(), c.casefold()}) == 1 for c in map(chr, range(lo, hi + 1)))


def _quantifier(lo: int, hi: int) -> str:
    if hi == _c.MAXREPEAT:
        return {0: "*", 1: "+"}.get(lo, f"{{{lo},}}")
    if lo == 0 and hi == 1:
        return "?"
    return f"{{{lo}}}" if lo == hi else f"{{{lo},{hi}}}"


# --------------------------------------------------------------------------- cost analysis


@attrs.frozen
class Analysis:
    """How a valid pattern runs (for the checker).

    ``engine``: ``"linear"`` (RE2) or ``"backtracking"`` (with the time limit);
    ``reason``: why it backtracks; ``risk``: a nested quantifier on the
    backtracking engine, where the cost can grow exponentially with the text."""

    engine: str
    reason: str = ""
    risk: str = ""


def analyze(pattern: str, *, ignorecase: bool = True) -> Analysis:
    """How ``pattern`` would run; raises ``re.error`` when Python rejects it."""
    m = compile(pattern, ignorecase=ignorecase)
    if m.engine == "linear":
        return Analysis("linear")
    try:
        risk = _nested_quantifier(list(_sre_parse.parse(pattern, _FLAGS if ignorecase else 0)), False)
    except RecursionError:
        risk = "groups nested too deeply to analyse"
    return Analysis("backtracking", m.reason, risk)


def _repeats(op: Any) -> bool:
    return op is _c.MAX_REPEAT or op is _c.MIN_REPEAT or str(op) == "POSSESSIVE_REPEAT"


def _nested_quantifier(items: list, inside: Any) -> str:
    """A quantifier that repeats more than once inside another one (``(a+)+``,
    ``(\\w*\\s?)*``), where at least one of the two is unbounded; or alternatives
    that can start alike inside an unbounded one (``(a|aa)*``). ``inside``: False,
    True (in a bounded repetition) or ``"unbounded"``."""
    for op, av in items:
        if _repeats(op):
            lo, hi, sub = av
            many = hi > 1
            unbounded = hi == _c.MAXREPEAT
            if many and inside and (unbounded or inside == "unbounded"):
                return "a quantifier nested inside another quantifier"
            found = _nested_quantifier(list(sub), ("unbounded" if unbounded else True) if many else inside)
            if found:
                return found
        elif op is _c.BRANCH:
            if inside == "unbounded" and _overlapping(av[1]):
                return "alternatives that can match alike inside a quantifier"
            for alt in av[1]:
                found = _nested_quantifier(list(alt), inside)
                if found:
                    return found
        elif op is _c.SUBPATTERN or str(op) == "ATOMIC_GROUP":
            sub = av[-1] if op is _c.SUBPATTERN else av
            found = _nested_quantifier(list(sub), inside)
            if found:
                return found
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            found = _nested_quantifier(list(av[1]), inside)
            if found:
                return found
        elif op is _c.GROUPREF_EXISTS:
            for sub in av[1:]:
                if sub is not None:
                    found = _nested_quantifier(list(sub), inside)
                    if found:
                        return found
    return ""


def _overlapping(alternatives: list) -> bool:
    """Whether two alternatives may start with the same character (or match nothing):
    then a backtracking engine may try both at every repetition."""
    seen: set[str] = set()
    for alt in alternatives:
        first = _first_chars(list(alt))
        if first is None or not seen.isdisjoint(first):
            return True
        seen |= first
    return False


def _first_chars(items: list) -> set[str] | None:
    """The lower-cased characters a sequence can start with; None when it may match
    nothing or when the set is not small and plain (a category, a negation...)."""
    for op, av in items:
        if op is _c.AT or op is _c.ASSERT or op is _c.ASSERT_NOT:
            continue  # zero width
        if op is _c.LITERAL:
            return {chr(av).lower()}
        if op is _c.IN:
            chars: set[str] = set()
            for item, value in av:
                if item is _c.LITERAL:
                    chars.add(chr(value).lower())
                elif item is _c.RANGE and value[1] - value[0] < 256:
                    chars.update(chr(c).lower() for c in range(value[0], value[1] + 1))
                else:
                    return None
            return chars
        if op is _c.SUBPATTERN:
            return _first_chars(list(av[-1]))
        if _repeats(op) and av[0] >= 1:
            return _first_chars(list(av[2]))
        if op is _c.BRANCH:
            union: set[str] = set()
            for alt in av[1]:
                first = _first_chars(list(alt))
                if first is None:
                    return None
                union |= first
            return union
        return None
    return None


# --------------------------------------------------------------------------- the matchers


class _Searching:
    """What both matchers share: RE2 first, the time-limited backtracking engine
    for what RE2 cannot run (a pattern it cannot express, a text with a lone surrogate)."""

    __slots__ = ()
    # what the matchers that inherit this define (annotations only: no class attributes)
    _linear: Any
    _slow: list
    ignorecase: bool
    _python_pattern: Callable[[], str]

    if TYPE_CHECKING:

        @property
        def label(self) -> str: ...

    def search(self, text: str, *, limit: float | None = None) -> bool:
        """Whether the pattern is found anywhere in ``text`` (``re.search`` semantics).

        Raises :class:`PatternTimeout` when the backtracking engine runs out of
        ``limit`` seconds (default :data:`TIME_LIMIT`)."""
        rx = self._linear
        if rx is not None:
            try:
                data = text.encode("utf-8")
            except UnicodeEncodeError:
                pass  # a lone surrogate: RE2 reads UTF-8 only
            else:
                return rx.Match(_re2()[2], data, 0, len(data))[0][0] >= 0
        return self._backtrack(text, TIME_LIMIT if limit is None else limit)

    def any(self, texts: Iterable[str]) -> bool:
        """Whether the pattern is found in one of ``texts``."""
        search = self.search
        return any(search(t) for t in texts)

    def _backtrack(self, text: str, limit: float) -> bool:
        slow = self._slow
        if not slow:
            slow.append(_compile_backtracking(self._python_pattern(), _FLAGS if self.ignorecase else 0))
        try:
            return slow[0].search(text, timeout=limit) is not None
        except TimeoutError:
            raise PatternTimeout(self.label, limit) from None

    def _start(self, translate) -> None:
        """Compile the RE2 engine (the backtracking one waits for its first use)."""
        linear, engine, reason = None, "linear", ""
        try:
            linear = _compile_re2(translate(), _MAX_MEM)
        except _NeedsBacktracking as exc:
            engine, reason = "backtracking", str(exc.args[0])
        except RecursionError:  # a pattern nested thousands deep
            engine, reason = "backtracking", "nested too deep"
        object.__setattr__(self, "engine", engine)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "_linear", linear)
        object.__setattr__(self, "_slow", [])


@attrs.frozen(repr=False)
class Matcher(_Searching):
    """A compiled recipe pattern: ``search(text)`` says whether it is found in ``text``.

    ``pattern`` is Python syntax, as written. ``engine`` is ``"linear"`` (RE2)
    or ``"backtracking"`` (time-limited); ``reason`` says why a pattern
    backtracks.
    """

    pattern: str
    ignorecase: bool = True
    engine: str = attrs.field(init=False, eq=False)
    reason: str = attrs.field(init=False, eq=False)
    _linear: Any = attrs.field(init=False, eq=False)
    _slow: list = attrs.field(init=False, eq=False)  # [compiled backtracking pattern], filled on first use

    def __attrs_post_init__(self) -> None:
        flags = _FLAGS if self.ignorecase else 0
        validate(self.pattern, flags)
        self._start(lambda: _translate(self.pattern, flags))

    def __reduce__(self):  # pickled as its pattern: compiled again where it lands
        return (_rebuild, (self.pattern, self.ignorecase))

    def __repr__(self) -> str:
        return f"Matcher({self.pattern!r}, engine={self.engine!r})"

    @property
    def label(self) -> str:
        """How messages name the pattern."""
        return f"regular expression '{self.pattern}'"

    def _python_pattern(self) -> str:
        return self.pattern


@attrs.frozen(repr=False)
class LiteralSet(_Searching):
    """Finds any of ``texts`` literally, case-insensitively as ``re.IGNORECASE``
    does. Built from data values, so neither ``repr`` nor messages show them."""

    texts: tuple[str, ...]
    ignorecase: bool = True
    engine: str = attrs.field(init=False, eq=False)
    reason: str = attrs.field(init=False, eq=False)
    _linear: Any = attrs.field(init=False, eq=False)
    _slow: list = attrs.field(init=False, eq=False)

    def __attrs_post_init__(self) -> None:
        self._start(self._translate)

    def _translate(self) -> str:
        flags = _FLAGS if self.ignorecase else 0
        emit = _Emit(_RE2)
        alternatives = ("".join(emit.node(_c.LITERAL, ord(ch), flags, False) for ch in t) for t in self.texts)
        return ("(?i)" if self.ignorecase else "") + "(?:" + "|".join(alternatives) + ")"

    def __reduce__(self):
        return (LiteralSet, (self.texts, self.ignorecase))

    def __repr__(self) -> str:
        return f"LiteralSet(<{len(self.texts)} values>, engine={self.engine!r})"

    @property
    def label(self) -> str:
        return "the %values list"

    def _python_pattern(self) -> str:
        return "|".join(re.escape(t) for t in self.texts)


def validate(pattern: str, flags: int = _FLAGS) -> None:
    """Python's ``re`` decides what is valid: raises ``re.error`` (with ``msg`` and ``pos``)
    for what it rejects, and for a pattern nested too deeply for it to compile."""
    try:
        re.compile(pattern, flags)
    except RecursionError:
        raise re.error("the pattern is nested too deeply", pattern, 0) from None


def _rebuild(pattern: str, ignorecase: bool) -> Matcher:
    return compile(pattern, ignorecase=ignorecase)


@functools.lru_cache(maxsize=1024)
def compile(pattern: str, *, ignorecase: bool = True) -> Matcher:  # noqa: A001 - the module's verb
    """The matcher for a recipe pattern (case-insensitive unless told otherwise, as in deid).

    Raises ``re.error`` (with ``msg`` and ``pos``) when Python's ``re`` rejects it."""
    return Matcher(pattern, ignorecase)


def literal_any(texts: Iterable[Any], *, ignorecase: bool = True) -> LiteralSet | None:
    """A matcher that finds any of ``texts`` (each through ``str``) *literally*, or None
    when there are none. For values harvested from data: never a live pattern."""
    unique = tuple(sorted({str(t) for t in texts}, key=lambda s: (-len(s), s)))
    return _literal_set(unique, ignorecase) if unique else None


@functools.lru_cache(maxsize=32)
def _literal_set(texts: tuple[str, ...], ignorecase: bool) -> LiteralSet:
    """Datasets of one series often share their values: compile each set once."""
    return LiteralSet(texts, ignorecase)
