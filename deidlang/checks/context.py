"""What every check sees: the :class:`Context` of one recipe (its parse, groups, ids and
functions), the checker's vocabulary (predicates, expanders, built-ins and the arguments
they read), the DICOM data dictionary as :class:`Attr` entries with cached lookups and
"did you mean" candidates, and the cost checks of a recipe's regular expressions."""

from __future__ import annotations

import difflib
import functools
import re
from typing import Any, Callable, Iterator, Mapping

import attrs

from ..lang import nodes, regexes
from ..lang.diagnostics import Diagnostic
from ..lang.parser import ParseResult
from ..lang.source import Source, Span
from ..lang.suggest import did_you_mean, pretty
from ..runtime.builtins import ARGUMENTS as _BUILTIN_ARGUMENTS
from ..runtime.universe import DEFAULT_SKIP

VALUE_ACTIONS = frozenset(("ADD", "REPLACE", "JITTER"))
VALUED_PREDICATES = frozenset(("contains", "notcontains", "equals", "notequals"))
BARE_PREDICATES = frozenset(("missing", "present", "empty"))
PREDICATES = ("contains", "notcontains", "equals", "notequals", "missing", "present", "empty")
EXPANDERS = ("startswith", "endswith", "contains", "except", "select")
REGEX_EXPANDERS = frozenset(("startswith", "endswith", "contains", "except"))
SPLIT_OPTIONS = ("by", "minlength")


#: deid_func built-ins and the arguments each one reads (deid's and deidlang's).
DEID_FUNCS: dict[str, tuple[str, ...]] = dict(_BUILTIN_ARGUMENTS)
#: deidlang's built-ins that work on a whole sequence (REPLACE of a sequence is fine with them)
SEQUENCE_FUNCS = frozenset(("dummy", "scrub", "code", "cleancontent", "cleangraphics", "safeharbor"))


HEX_GROUP_RE = re.compile(r"(?:0[xX])?[0-9A-Fa-f]{1,4}")


UPPER_ESCAPE_RE = re.compile(r"(?<!\\)(?:\\\\)*\\([DSWBAZ])")


# --------------------------------------------------------------------------- the DICOM dictionary


@attrs.frozen(slots=True)
class Attr:
    """One data-dictionary entry. ``tag`` is None for repeating-group keywords (60xx...)."""

    keyword: str
    tag: int | None
    vr: str
    vm: str
    retired: bool
    name: str


@functools.lru_cache(maxsize=1)
def keyword_tables() -> tuple[dict[str, int], dict[str, str], dict[str, str]]:
    """keyword -> tag, repeating-group keyword -> mask, folded name -> keyword; built once."""
    from pydicom.datadict import DicomDictionary, RepeatersDictionary, keyword_dict

    repeaters = {kw: mask for mask, (_vr, _vm, _n, _r, kw) in RepeatersDictionary.items() if kw and kw not in keyword_dict}
    folded = {kw.lower(): kw for kw in keyword_dict if kw}
    folded.update((kw.lower(), kw) for kw in repeaters)
    # deid also matches element names; those without spaces can be written in a recipe
    for _vr, _vm, name, _r, kw in DicomDictionary.values():
        if kw and " " not in name:
            folded.setdefault(name.lower(), kw)
    return keyword_dict, repeaters, folded


@functools.lru_cache(maxsize=8192)
def exact_attr(keyword: str) -> Attr | None:
    """The dictionary entry of an exact (case-sensitive) keyword."""
    from pydicom.datadict import DicomDictionary, RepeatersDictionary

    tags, repeaters, _ = keyword_tables()
    tag = tags.get(keyword) if keyword else None
    if tag is not None:
        vr, vm, name, retired, kw = DicomDictionary[tag]
        return Attr(kw, tag, vr, vm, bool(retired), name)
    mask = repeaters.get(keyword)
    if mask is not None:
        vr, vm, name, retired, kw = RepeatersDictionary[mask]
        return Attr(kw, None, vr, vm, bool(retired), name)
    return None


@functools.lru_cache(maxsize=8192)
def folded_attr(word: str) -> Attr | None:
    """The entry deid's case-insensitive matching finds for ``word`` (keyword or element name)."""
    kw = keyword_tables()[2].get(word.lower())
    return exact_attr(kw) if kw is not None else None


@functools.lru_cache(maxsize=1)
def candidates() -> tuple[tuple[str, ...], tuple[int, ...]]:
    kws = tuple(sorted({kw.lower() for kw in keyword_tables()[0] if kw} | {kw.lower() for kw in keyword_tables()[1]}))
    return kws, tuple(len(k) for k in kws)


@functools.lru_cache(maxsize=4096)
def close_keywords(word: str) -> tuple[tuple[float, str], ...]:
    """(difflib ratio, keyword) of pydicom's keywords close to ``word`` (ratio >= 0.75), best first.

    Same result as ``difflib.get_close_matches`` on the lower-cased keywords,
    with a length window and a character-count bound to skip hopeless
    candidates cheaply; cached per process.
    """
    keywords, lengths = candidates()
    w = word.lower()
    n = len(w)
    if not n:
        return ()
    cutoff = 0.75
    lo, hi = n * cutoff / (2 - cutoff), n * (2 - cutoff) / cutoff
    counts: dict[str, int] = {}
    for ch in w:
        counts[ch] = counts.get(ch, 0) + 1
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(w)
    found: list[tuple[float, str]] = []
    for cand, length in zip(keywords, lengths):
        if length < lo or length > hi:
            continue
        avail = dict(counts)
        common = 0
        for ch in cand:
            if avail.get(ch, 0) > 0:
                avail[ch] -= 1
                common += 1
        if 2 * common < cutoff * (n + length):
            continue
        matcher.set_seq1(cand)
        r = matcher.ratio()
        if r >= cutoff:
            found.append((r, cand))
    found.sort(reverse=True)
    folded = keyword_tables()[2]
    return tuple((r, folded[c]) for r, c in found)


def suggest_keyword(word: str) -> str:
    """``did you mean 'X'?`` over pydicom's keywords (difflib ratio >= 0.75, best 3)."""
    names = [kw for _, kw in close_keywords(word)[:3]]
    return f"did you mean {pretty(names)}?" if names else ""


def tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


@functools.lru_cache(maxsize=4096)
def tag_attr(tag: int) -> Attr | None:
    from pydicom.datadict import DicomDictionary, RepeatersDictionary, mask_match

    entry = DicomDictionary.get(tag)
    if entry is not None:
        vr, vm, name, retired, kw = entry
        return Attr(kw, tag, vr, vm, bool(retired), name)

    mask = mask_match(tag)
    if mask:
        vr, vm, name, retired, kw = RepeatersDictionary[mask]
        return Attr(kw, tag, vr, vm, bool(retired), name)
    return None


def tag_known(tag: int) -> bool:
    """A tag deid could meet in a file: in the dictionary, a group length, private, or an
    attribute of the confidentiality profile table (newer than pydicom's dictionary)."""
    if (tag >> 16) % 2 == 1 or (tag & 0xFFFF) == 0 or tag_attr(tag) is not None:
        return True
    from ..privacy.profile import profile_tags

    return tag in profile_tags()


@functools.lru_cache(maxsize=1024)
def regex_error(pattern: str) -> re.error | None:
    try:
        regexes.validate(pattern)
    except re.error as err:
        return err
    return None


#: Seconds one heuristic search may take in the checker (a pattern on the
#: backtracking engine, run against dictionary keywords) before it gives up.
CHECK_LIMIT = 0.05


@functools.lru_cache(maxsize=1024)
def regex_cost(pattern: str) -> regexes.Analysis | None:
    """How a valid pattern runs (:func:`deidlang.lang.regexes.analyze`); None when invalid."""
    if regex_error(pattern) is not None:
        return None
    return regexes.analyze(pattern)


@functools.lru_cache(maxsize=256)
def pattern_probe(pattern: str) -> Callable[[str], bool] | None:
    """A search function for the checker's own guesses about what a pattern selects;
    None when the pattern is invalid or could run away (its E213 error says so).
    A search that runs out of its small time budget counts as no match."""
    cost = regex_cost(pattern)
    if cost is None or cost.risk:
        return None
    matcher = regexes.compile(pattern)

    def search(text: str) -> bool:
        try:
            return matcher.search(text, limit=CHECK_LIMIT)
        except regexes.PatternTimeout:
            return False

    return search


def unbounded_regex(ctx: Context, span: Span, shown: str, compiled: str) -> Iterator[Diagnostic]:
    """E213: a pattern RE2 cannot run (look-around, backreferences, \\b...) that nests
    quantifiers, so the time-limited engine would give up on ordinary values."""
    cost = regex_cost(compiled)
    if cost is not None and cost.risk:
        yield ctx.diag(
            span,
            "E213",
            f"regular expression '{shown}' can take exponential time: it needs the backtracking engine ({cost.reason}) and has {cost.risk}",
            "write (a+)+ as a+, or drop the look-around, backreference or \\b so the linear-time engine can run it",
        )


def pattern_diagnostics(ctx: Context, span: Span, kind: str, argument: str) -> Iterator[Diagnostic]:
    """E209/E213 for the pattern of an expander or a value filter, as it is compiled:
    ``startswith:R`` compiles ``^(R)`` and ``endswith:R`` compiles ``(R)$``, so an
    inline flag such as ``(?i)`` that is valid at the start of R is not there (deid
    crashes on it too)."""
    hint = r"escape regex characters with a backslash, e.g. '\(' for '('"
    err = regex_error(argument)
    if err is not None:
        pos = err.pos if err.pos is not None else 0
        yield ctx.diag(sub_span(span, pos, 1), "E209", f"invalid regular expression '{argument}': {err.msg} at position {pos}", hint)
        return
    source = expander_source(kind, argument)
    err = regex_error(source)
    if err is not None:
        wrapped = "^(R)" if kind == "startswith" else "(R)$"
        yield ctx.diag(
            span,
            "E209",
            f"invalid regular expression '{argument}' once '{kind}:' makes it '{wrapped}': {err.msg}",
            "write an inline flag as a group, e.g. (?i:...) instead of (?i)...",
        )
        return
    yield from unbounded_regex(ctx, span, argument, source)


# --------------------------------------------------------------------------- context


@attrs.frozen
class Context:
    """Everything a check needs, computed once per recipe."""

    recipe: nodes.Recipe
    source: Source
    name: str
    ids: Mapping[str, Mapping[str, Any]] | None
    functions: frozenset[str] | None
    lines: tuple[str, ...]
    header: tuple[nodes.ActionLine, ...]
    actions: tuple[nodes.ActionLine, ...]  # header + labels
    group_lines: tuple[tuple[nodes.Section, nodes.GroupLine], ...]
    values_groups: dict[str, tuple[nodes.GroupLine, ...]]
    fields_groups: dict[str, tuple[nodes.GroupLine, ...]]
    labels: tuple[nodes.Label, ...]  # in deid's evaluation order (filter groups merged)
    parse_diagnostics: tuple[Diagnostic, ...] = ()

    @classmethod
    def build(cls, result: ParseResult, ids=None, functions=None) -> Context:
        recipe = result.recipe
        header: list[nodes.ActionLine] = []
        actions: list[nodes.ActionLine] = []
        group_lines: list[tuple[nodes.Section, nodes.GroupLine]] = []
        for s in recipe.sections:
            if s.kind == "header":
                header.extend(s.body)
                actions.extend(s.body)
            elif s.kind == "labels":
                actions.extend(s.body)
            elif s.kind in ("values", "fields"):
                group_lines.extend((s, g) for g in s.body)
        labels = tuple(lab for group in recipe.filters().values() for lab in group)
        return cls(
            recipe=recipe,
            source=result.source,
            name=result.source.name,
            ids=ids,
            functions=frozenset(functions) if functions is not None else None,
            lines=result.source.lines,
            header=tuple(header),
            actions=tuple(actions),
            group_lines=tuple(group_lines),
            values_groups=recipe.groups("values"),
            fields_groups=recipe.groups("fields"),
            labels=labels,
            parse_diagnostics=result.diagnostics,
        )

    def diag(self, span: Span, code: str, message: str, hint: str = "", severity: str | None = None) -> Diagnostic:
        return Diagnostic.at(span, code, message, hint, file=self.name, severity=severity)

    def line_text(self, number: int) -> str:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def tail(self, span: Span) -> str:
        """The text of the span's last line after the span (where a comment would be)."""
        return self.line_text(span.end_line)[span.end_column - 1 :]

    def text(self, span: Span) -> str:
        line = self.line_text(span.line)
        end = span.end_column - 1 if span.end_line == span.line else len(line)
        return line[span.column - 1 : end]


def sub_span(span: Span, offset: int, length: int) -> Span:
    """A span inside ``span``'s first line, ``offset`` characters in."""
    col = span.column + offset
    return Span(span.line, col, span.line, col + max(length, 1))


def span_after(span: Span) -> Span:
    """A one-column span just after ``span`` (where something missing goes)."""
    return Span(span.end_line, span.end_column, span.end_line, span.end_column + 1)


#: Actions that change or remove what they select (what a misspelled KEEP fails to stop).
CHANGING = frozenset(("REMOVE", "BLANK", "REPLACE", "JITTER"))


#: Elements deid's default config protects from every action but ADD (the runtime's skip list).
PROTECTED = frozenset(DEFAULT_SKIP)


@functools.lru_cache(maxsize=1)
def all_vrs() -> tuple[str, ...]:
    """pydicom's two-letter value representations."""
    from pydicom.valuerep import VR

    return tuple(v.value for v in VR if len(v.value) == 2)


def group_name(ctx: Context, kind: str, name: str, span: Span, text: str) -> Iterator[Diagnostic]:
    groups = ctx.values_groups if kind == "values" else ctx.fields_groups
    if name in groups:
        return
    other_kind = "fields" if kind == "values" else "values"
    other = ctx.fields_groups if kind == "values" else ctx.values_groups
    if not name:
        yield ctx.diag(span, "E203", f"'{text}' needs a group name", f"write {kind}:NAME for a `%{kind} NAME` section")
    elif name in other:
        yield ctx.diag(span, "E203", f"'{name}' is a %{other_kind} group, not a %{kind} group", f"write '{other_kind}:{name}'")
    else:
        hint = did_you_mean(name, groups, prefix=f"{kind}:") or (
            f"define it with `%{kind} {name}`" if not groups else f"defined %{kind} groups: {', '.join(sorted(groups))}"
        )
        yield ctx.diag(span, "E203", f"undefined %{kind} group '{name}'", hint)


def selects(f: nodes.Field, attr: Attr) -> bool:
    """Whether expander/ALL expression ``f`` selects the top-level element ``attr``."""
    if isinstance(f, nodes.AllFields):
        return True
    if not isinstance(f, nodes.Expander) or attr.tag is None:
        return False
    return _cached_expander_selects(f.kind, f.argument, attr)


def expander_selects(kind: str, argument: str, attr: Attr) -> bool:
    """Whether the expander ``kind:argument`` selects the top-level element ``attr``
    (which has a tag). :func:`selects` caches it per process, like the dictionary
    lookups it stands on; a scan of the whole dictionary calls it uncached."""
    assert attr.tag is not None
    if kind == "select":
        key, _, value = argument.partition(":")
        if key.lower() == "vr":
            return attr.vr == value[:2].upper()
        if key.lower() == "group" and HEX_GROUP_RE.fullmatch(value):
            return attr.tag >> 16 == int(value, 16)
        return False
    if kind not in REGEX_EXPANDERS:
        return False
    search = pattern_probe(expander_source(kind, argument.lower()))
    if search is None:
        return False
    g, e = attr.tag >> 16, attr.tag & 0xFFFF
    reps = (attr.keyword.lower(), f"({g:04x},{e:04x})", f"{g:04X}{e:04X}", attr.name, attr.keyword)
    found = any(search(r) for r in reps)
    return not found if kind == "except" else found


_cached_expander_selects = functools.lru_cache(maxsize=2048)(expander_selects)


def expander_source(kind: str, argument: str) -> str:
    """The pattern an expander compiles to (runtime/selectors.py ``pattern_for``)."""
    if kind == "endswith":
        return f"({argument})$"
    if kind == "startswith":
        return f"^({argument})"
    return argument


def target_attr(f: nodes.Field) -> Attr | None:
    """The dictionary entry of the one kind of element an explicit field names."""
    if isinstance(f, nodes.Keyword):
        return folded_attr(f.name)
    if isinstance(f, nodes.Tag):
        return tag_attr(f.value)
    if isinstance(f, nodes.NestedName):
        return folded_attr(f.parts[-1]) if f.parts[-1] else None
    if isinstance(f, nodes.UidPath):
        return tag_attr(f.steps[-1])
    return None
