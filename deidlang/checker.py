"""Recipe AST -> diagnostics: names, values, meaning, and deid divergences.

The parser reports what a line looks like (E1xx). This module reports what a
line *means*: DICOM names checked against pydicom's data dictionary (E2xx/W2xx),
values and their use (E3xx/W3xx), and the lines that deid 0.4.13 would run
differently from what they say (W4xx). Every W4xx message names both sides:
what deid does with the line and what deidlang does; those notes (the codes
marked ``deid`` in diagnostics.CODES) are returned only with ``deid_compat``.
Severity follows risk (docs/diagnostics.md): an error can leak or lose data.

Checks are small functions ``(ctx) -> Iterator[Diagnostic]`` listed in
:data:`CHECKS` and run in order (sqlglot's ``RULES``). A check that raises
is a bug in deidlang; it is reported as a diagnostic so that the other
checks still run (set :data:`RAISE_ON_BUG` to re-raise, as the tests do).

Speed matters: the DICOM dictionary lookups are built once per process,
name resolutions and regex compilations are cached, and "did you mean"
suggestions are computed only for names that fail to resolve.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import re
from typing import Any, Callable, Iterable, Iterator, Mapping

import attrs

from . import nodes, regexes
from .diagnostics import INFO, Diagnostic, visible
from .parser import ParseResult
from .source import Source, Span
from .suggest import did_you_mean, pretty
from .runtime.builtins import ARGUMENTS as _BUILTIN_ARGUMENTS
from .runtime.builtins import DEID_NAMES as _DEID_BUILTINS
from .runtime.builtins import BadArgument as _BadArgument
from .runtime.builtins import make_builtin as _make_builtin
from .runtime.values import ASCII_ONLY_VRS, INT_RANGES, IS_RANGE, ds_text_ok, is_text_ok
from .tables import check as _tables_check

__all__ = ["CHECKS", "Context", "RAISE_ON_BUG", "check_recipe"]

#: Re-raise exceptions from checks instead of reporting them (tests set this).
RAISE_ON_BUG = False

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
SEQUENCE_FUNCS = frozenset(("dummy", "scrub", "code"))
#: the value representation each built-in needs (None: any)
_FUNC_VRS: dict[str, frozenset[str]] = {
    "hashuid": frozenset(("UI",)),
    "dateshift": frozenset(("DA", "DT", "TM")),
    "code": frozenset(("SQ",)),
}

#: Codes named here because several checks share them.
_JITTER_NOT_DATE = "W416"
_ADD_BY_NUMBER = "W417"
_REFERENCE_LIKE = "W304"

_INT_VRS = frozenset(("US", "SS", "UL", "SL", "UV", "SV"))
_FLOAT_VRS = frozenset(("FL", "FD"))
_INT_RE = re.compile(r"[ \t]*[+-]?[0-9]+[ \t]*")
_HEX_GROUP_RE = re.compile(r"(?:0[xX])?[0-9A-Fa-f]{1,4}")
_UID_ROOT_RE = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
_UID_PREFIX_RE = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*\.")
_REFERENCE_LIKE_RE = re.compile(r"(var|func|deid_func)[ \t]*:", re.IGNORECASE)
_UPPER_ESCAPE_RE = re.compile(r"(?<!\\)(?:\\\\)*\\([DSWBAZ])")
# deid's action-line tokenizer, as described in the spec (2.6): runs of
# characters that are neither whitespace nor quotes, glued to whole quoted strings.
_DEID_TOKEN_RE = re.compile(r"""(?:[^\s"']+|"(?:\\.|[^"])*"|'(?:\\.|[^'])*')+""")


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
def _tables() -> tuple[dict[str, int], dict[str, str], dict[str, str]]:
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
def _exact(keyword: str) -> Attr | None:
    """The dictionary entry of an exact (case-sensitive) keyword."""
    from pydicom.datadict import DicomDictionary, RepeatersDictionary

    tags, repeaters, _ = _tables()
    tag = tags.get(keyword) if keyword else None
    if tag is not None:
        vr, vm, name, retired, kw = DicomDictionary[tag]
        return Attr(kw, tag, vr, vm, bool(retired), name)
    mask = repeaters.get(keyword)
    if mask is not None:
        vr, vm, name, retired, kw = RepeatersDictionary[mask]
        return Attr(kw, None, vr, vm, bool(retired), name)
    return None


def _repeater_pattern(keyword: str) -> str:
    """An expander that selects a repeating-group element under deid too (by its tag text)."""
    mask = _tables()[1][keyword].upper()  # e.g. 60XX3000: x marks a varying hex digit
    if mask[:2] in ("50", "60") and mask[2:4] == "XX":  # even groups only (PS3.5 7.6)
        group = mask[:2] + "[0-9A-F][02468ACE]"
        rest = mask[4:]
    else:
        group, rest = "", mask
    return "contains:^" + group + rest.replace("X", "[0-9A-F]") + "$"


@functools.lru_cache(maxsize=8192)
def _folded(word: str) -> Attr | None:
    """The entry deid's case-insensitive matching finds for ``word`` (keyword or element name)."""
    kw = _tables()[2].get(word.lower())
    return _exact(kw) if kw is not None else None


@functools.lru_cache(maxsize=1)
def _candidates() -> tuple[tuple[str, ...], tuple[int, ...]]:
    kws = tuple(sorted({kw.lower() for kw in _tables()[0] if kw} | {kw.lower() for kw in _tables()[1]}))
    return kws, tuple(len(k) for k in kws)


@functools.lru_cache(maxsize=4096)
def _close_keywords(word: str) -> tuple[tuple[float, str], ...]:
    """(difflib ratio, keyword) of pydicom's keywords close to ``word`` (ratio >= 0.75), best first.

    Same result as ``difflib.get_close_matches`` on the lower-cased keywords,
    with a length window and a character-count bound to skip hopeless
    candidates cheaply; cached per process.
    """
    keywords, lengths = _candidates()
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
    folded = _tables()[2]
    return tuple((r, folded[c]) for r, c in found)


def _suggest_keyword(word: str) -> str:
    """``did you mean 'X'?`` over pydicom's keywords (difflib ratio >= 0.75, best 3)."""
    names = [kw for _, kw in _close_keywords(word)[:3]]
    return f"did you mean {pretty(names)}?" if names else ""


#: A did-you-mean is confident when its ratio reaches this and leads the next one by _CONFIDENT_GAP.
_CONFIDENT = 0.85
_CONFIDENT_GAP = 0.05


def _intended(word: str) -> Attr | None:
    """The attribute a misspelled keyword surely means (the confident did-you-mean), or None."""
    close = _close_keywords(word)
    if not close or close[0][0] < _CONFIDENT:
        return None
    if len(close) > 1 and close[0][0] - close[1][0] < _CONFIDENT_GAP:
        return None
    attr = _exact(close[0][1])
    return attr if attr is not None and attr.tag is not None else None


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


@functools.lru_cache(maxsize=4096)
def _tag_attr(tag: int) -> Attr | None:
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


def _tag_known(tag: int) -> bool:
    """A tag deid could meet in a file: in the dictionary, a group length, private, or an
    attribute of the confidentiality profile table (newer than pydicom's dictionary)."""
    if (tag >> 16) % 2 == 1 or (tag & 0xFFFF) == 0 or _tag_attr(tag) is not None:
        return True
    from .profile import profile_tags

    return tag in profile_tags()


@functools.lru_cache(maxsize=1024)
def _regex_error(pattern: str) -> re.error | None:
    try:
        regexes.validate(pattern)
    except re.error as err:
        return err
    return None


#: Seconds one heuristic search may take in the checker (a pattern on the
#: backtracking engine, run against dictionary keywords) before it gives up.
_CHECK_LIMIT = 0.05


@functools.lru_cache(maxsize=1024)
def _regex_cost(pattern: str) -> regexes.Analysis | None:
    """How a valid pattern runs (:func:`deidlang.regexes.analyze`); None when invalid."""
    if _regex_error(pattern) is not None:
        return None
    return regexes.analyze(pattern)


@functools.lru_cache(maxsize=256)
def _probe(pattern: str) -> Callable[[str], bool] | None:
    """A search function for the checker's own guesses about what a pattern selects;
    None when the pattern is invalid or could run away (its E213 error says so).
    A search that runs out of its small time budget counts as no match."""
    cost = _regex_cost(pattern)
    if cost is None or cost.risk:
        return None
    matcher = regexes.compile(pattern)

    def search(text: str) -> bool:
        try:
            return matcher.search(text, limit=_CHECK_LIMIT)
        except regexes.PatternTimeout:
            return False

    return search


def _unbounded_regex(ctx: Context, span: Span, shown: str, compiled: str) -> Iterator[Diagnostic]:
    """E213: a pattern RE2 cannot run (look-around, backreferences, \\b...) that nests
    quantifiers, so the time-limited engine would give up on ordinary values."""
    cost = _regex_cost(compiled)
    if cost is not None and cost.risk:
        yield ctx.diag(
            span,
            "E213",
            f"regular expression '{shown}' can take exponential time: it needs the backtracking engine ({cost.reason}) and has {cost.risk}",
            "write (a+)+ as a+, or drop the look-around, backreference or \\b so the linear-time engine can run it",
        )


def _pattern(ctx: Context, span: Span, kind: str, argument: str) -> Iterator[Diagnostic]:
    """E209/E213 for the pattern of an expander or a value filter, as it is compiled:
    ``startswith:R`` compiles ``^(R)`` and ``endswith:R`` compiles ``(R)$``, so an
    inline flag such as ``(?i)`` that is valid at the start of R is not there (deid
    crashes on it too)."""
    hint = r"escape regex characters with a backslash, e.g. '\(' for '('"
    err = _regex_error(argument)
    if err is not None:
        pos = err.pos if err.pos is not None else 0
        yield ctx.diag(_sub(span, pos, 1), "E209", f"invalid regular expression '{argument}': {err.msg} at position {pos}", hint)
        return
    source = _expander_source(kind, argument)
    err = _regex_error(source)
    if err is not None:
        wrapped = "^(R)" if kind == "startswith" else "(R)$"
        yield ctx.diag(
            span,
            "E209",
            f"invalid regular expression '{argument}' once '{kind}:' makes it '{wrapped}': {err.msg}",
            "write an inline flag as a group, e.g. (?i:...) instead of (?i)...",
        )
        return
    yield from _unbounded_regex(ctx, span, argument, source)


@functools.lru_cache(maxsize=1024)
def _ends_like_uid(argument: str) -> bool:
    """``endswith:ID``-style arguments that also match every ``...UID`` keyword."""
    low = argument.lower()
    if "uid" in low:
        return False
    search = _probe(f"({low})$")
    return search is not None and search("studyinstanceuid") and search("patientid")


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


def _sub(span: Span, offset: int, length: int) -> Span:
    """A span inside ``span``'s first line, ``offset`` characters in."""
    col = span.column + offset
    return Span(span.line, col, span.line, col + max(length, 1))


def _after(span: Span) -> Span:
    """A one-column span just after ``span`` (where something missing goes)."""
    return Span(span.end_line, span.end_column, span.end_line, span.end_column + 1)


# --------------------------------------------------------------------------- FORMAT and structure


def check_format(ctx: Context) -> Iterator[Diagnostic]:
    """FORMAT: missing (W101), not dicom (E103), repeated (W103), lines deid exits on (W412)."""
    formats = ctx.recipe.formats
    if not formats:
        yield ctx.diag(Span(1, 1, 1, 2), "W101", "missing FORMAT line", "start the recipe with `FORMAT dicom` (deid's command line requires it)")
        return
    first = formats[0]
    for f in formats:
        value = f.value
        if not value:
            yield ctx.diag(f.span, "E103", "'FORMAT' needs a value", "write `FORMAT dicom`")
        elif value.lower() != "dicom":
            yield ctx.diag(f.span, "E103", f"unsupported FORMAT '{value}'", "the only format is 'dicom': write `FORMAT dicom`")
        if f.keyword != "FORMAT":
            yield ctx.diag(
                _sub(f.span, 0, len(f.keyword)),
                "W412",
                f"deid exits on '{f.keyword}': it removes only the upper-case word 'FORMAT' before reading the value; deidlang accepts it",
                "write `FORMAT dicom`",
            )
        if "#" in ctx.tail(f.span):
            yield ctx.diag(f.span, "W412", "deid exits on a FORMAT line with a comment (it does not strip comments here); deidlang ignores the comment", "move the comment to its own line")
        if f is not first:
            yield ctx.diag(f.span, "W103", f"'FORMAT' given more than once (first at line {first.span.line})", "keep one `FORMAT dicom` line")


def check_structure(ctx: Context) -> Iterator[Diagnostic]:
    """Empty sections and LABEL blocks (W104); a first LABEL without criteria (W412)."""
    sections = ctx.recipe.sections
    starts = sorted({s.span.line for s in sections} | {lab.span.line for s in sections if s.kind == "filter" for lab in s.body})
    bad_lines = sorted({d.line for d in ctx.parse_diagnostics})

    def lines_failed(first: int) -> bool:
        """Whether a line of the block starting at ``first`` did not parse (reported already)."""
        nxt = bisect.bisect_right(starts, first)
        end = starts[nxt] if nxt < len(starts) else len(ctx.lines) + 1
        i = bisect.bisect_left(bad_lines, first)
        return i < len(bad_lines) and bad_lines[i] < end

    for s in sections:
        if not s.body:
            if lines_failed(s.span.line):
                continue
            what = f"%{s.kind}" + (f" '{s.name}'" if s.name else "")
            yield ctx.diag(s.span, "W104", f"empty {what} section", "add lines to it or delete it")
        elif s.kind == "filter":
            for lab in s.body:
                if not lab.criteria and not lab.coordinates and not lines_failed(lab.span.line):
                    yield ctx.diag(lab.span, "W104", f"empty LABEL '{lab.name}': it has no criteria and no coordinates, so it never flags anything", "add criteria and coordinates, or delete it")
    if ctx.labels and not ctx.labels[0].criteria:
        lab = ctx.labels[0]
        yield ctx.diag(
            lab.span,
            "W412",
            f"deid crashes when detecting with this recipe: the first LABEL ('{lab.name}') has no criterion line; deidlang flags every image with it",
            "put a LABEL with at least one criterion first",
        )


# --------------------------------------------------------------------------- header actions


def check_action_verbs(ctx: Context) -> Iterator[Diagnostic]:
    """Verb case (W405), missing values (E102), values that are ignored (W301)."""
    for a in ctx.actions:
        action = a.action
        if a.verb != action:
            yield ctx.diag(
                a.verb_span,
                "W405",
                f"deid drops '{a.verb}' lines in silence (only upper-case '{action}' is an action); deidlang applies it as {action}",
                f"write '{action}'",
            )
        if a.value is None:
            if action in VALUE_ACTIONS:
                example = {"ADD": "ADD PatientIdentityRemoved YES", "REPLACE": "REPLACE PatientID var:new_id", "JITTER": "JITTER StudyDate 5"}[action]
                yield ctx.diag(_after(a.field.span), "E102", f"'{action}' needs a value after the field", f"write `{action} <field> <value>`, e.g. `{example}`")
        elif action == "KEEP" and isinstance(a.value, nodes.DeidFunc):
            pass  # deidlang: KEEP with a built-in sets the kept elements first (check_values)
        elif action in ("BLANK", "KEEP"):
            yield ctx.diag(a.value.span, "W301", f"'{action}' takes no value: '{_value_text(a.value)}' is ignored", "delete the value")


def _value_text(v: nodes.Value) -> str:
    return v.raw if isinstance(v, nodes.Literal) and v.raw else v.text


def check_action_fields(ctx: Context) -> Iterator[Diagnostic]:
    """Field expressions of header actions: names, tags, expanders, group references."""
    for a in ctx.actions:
        if a.action == "ADD":
            yield from _add_field(ctx, a)
        else:
            whole = isinstance(a.value, nodes.DeidFunc) and a.value.name in SEQUENCE_FUNCS
            yield from _field(ctx, a.field, a.action, sequence_ok=whole, line=a)


def check_group_fields(ctx: Context) -> Iterator[Diagnostic]:
    """Field expressions of FIELD/SPLIT lines."""
    for section, g in ctx.group_lines:
        if isinstance(g.field, nodes.GroupRef):
            yield ctx.diag(
                g.field.span,
                "E208",
                f"'{g.field.text}' cannot be used inside a %{section.kind} group",
                "deid matches nothing with it; list the fields of the other group here instead",
            )
            continue
        yield from _field(ctx, g.field, "FIELD", line=g)


def _field(ctx: Context, f: nodes.Field, action: str, sequence_ok: bool = False, line: Any = None) -> Iterator[Diagnostic]:
    """A field expression that selects existing elements (every action but ADD).
    ``sequence_ok``: the value is a built-in that works on a whole sequence;
    ``line``: the action or group line the field belongs to."""
    if sequence_ok and action == "REPLACE":
        action = "REPLACE*"
    if isinstance(f, nodes.Keyword):
        attr = _exact(f.name)
        if attr is None:
            attr = _folded(f.name)
            if attr is None:
                yield _unknown_keyword(ctx, f.span, f.name, action, line, hint="no DICOM keyword is close to it: check the spelling")
                return
            yield ctx.diag(
                f.span,
                "W202",
                f"'{f.name}' is not the DICOM keyword's spelling '{attr.keyword}'",
                f"write '{attr.keyword}' (matching here is case-insensitive, but filters and ADD need the exact keyword)",
            )
        if attr.tag is None:  # a repeating group: (60xx,3000) OverlayData, (50xx,3000) CurveData...
            yield ctx.diag(
                f.span,
                "W419",
                f"deid matches nothing with the repeating-group keyword '{attr.keyword}'; deidlang selects it in every group",
                "deid sees no keyword for these elements; to select them under deid too, write "
                f"'{_repeater_pattern(attr.keyword)}'",
            )
        yield from _sequence_target(ctx, f.span, f.name, attr, action)
    elif isinstance(f, nodes.NestedName):
        yield from _nested(ctx, f, action, line)
    elif isinstance(f, nodes.Tag):
        yield from _tag_form(ctx, f)
        if not _tag_known(f.value):
            yield ctx.diag(f.span, "W201", f"no DICOM attribute has tag {_tag_text(f.value)}: this line matches nothing", "check the tag; private tags have an odd group")
        else:
            attr = _tag_attr(f.value)
            if attr is not None:
                yield from _sequence_target(ctx, f.span, f.text, attr, action)
    elif isinstance(f, nodes.PrivateTag):
        yield from _private(ctx, f)
    elif isinstance(f, nodes.UidPath):
        yield from _uid_path(ctx, f, action)
    elif isinstance(f, nodes.AllFields):
        if action in ("REPLACE", "JITTER"):
            yield ctx.diag(
                f.span,
                "W412",
                f"deid crashes on {action} ALL as soon as a file has a sequence{' or a person name' if action == 'JITTER' else ''}",
                f"{action} the elements you mean, by keyword or expander",
            )
    elif isinstance(f, nodes.Expander):
        yield from _expander(ctx, f)
    elif isinstance(f, nodes.GroupRef):
        yield from _group_ref(ctx, f)


#: Actions that change or remove what they select (what a misspelled KEEP fails to stop).
_CHANGING = frozenset(("REMOVE", "BLANK", "REPLACE", "JITTER"))


def _unknown_keyword(
    ctx: Context,
    span: Span,
    word: str,
    action: str,
    line: Any,
    *,
    hint: str,
    within: str = "",
    meant: Attr | None = None,
) -> Diagnostic:
    """An unknown keyword: E214 when it can leak or lose data, else W201 (a dead line).

    The attribute it means is the confident did-you-mean (or ``meant``). A
    line that should change, remove or add it leaks when no other line of the
    recipe handles that attribute; a KEEP loses data when another line changes
    or removes the attribute and no other KEEP protects it.
    """
    where = f" in '{within}'" if within else ""
    message = f"unknown DICOM keyword '{word}'{where}: this line matches nothing"
    hint = _suggest_keyword(word) or hint
    meant = meant or _intended(word)
    if meant is None:
        return ctx.diag(span, "W201", message, hint)
    handlers = list(_handlers(ctx, meant, line))
    if action == "KEEP":
        changers = [h for h in handlers if h.action in _CHANGING]
        if changers and not any(h.action == "KEEP" for h in handlers):
            h = changers[0]
            return ctx.diag(
                span,
                "E214",
                f"unknown DICOM keyword '{word}'{where}: this KEEP protects nothing, so line {h.span.line} "
                f"({h.action} {h.field.text}) still acts on {meant.keyword}",
                hint,
            )
    elif not handlers:
        return ctx.diag(
            span,
            "E214",
            f"{message}, and no other line of the recipe handles {meant.keyword}: its value stays in the output",
            hint,
        )
    if handlers:
        message += f" ({meant.keyword} is handled by line {handlers[0].span.line})"
    return ctx.diag(span, "W201", message, hint)


def _handlers(ctx: Context, attr: Attr, exclude: Any) -> Iterator[nodes.ActionLine]:
    """The action lines (other than ``exclude``) whose field can select ``attr``."""
    for a in ctx.actions:
        if a is not exclude and _can_select(ctx, a.field, attr, exclude):
            yield a


def _can_select(ctx: Context, f: nodes.Field, attr: Attr, exclude: Any = None) -> bool:
    """Whether field expression ``f`` can select the element ``attr`` (at some depth)."""
    target = _target_attr(f)
    if target is not None:
        return target.tag is not None and target.tag == attr.tag
    if isinstance(f, nodes.GroupRef):
        if f.kind != "fields":
            return False
        members = ctx.fields_groups.get(f.name, ())
        # a group reference inside a group selects nothing (E208), so members are not followed further
        return any(g is not exclude and not isinstance(g.field, nodes.GroupRef) and _can_select(ctx, g.field, attr) for g in members)
    return _selects(f, attr)


#: Elements deid's default config protects from every action but ADD (spec 3.1, 5.5).
PROTECTED = frozenset(
    (
        "PixelData",
        "RedPaletteColorLookupTableData",
        "GreenPaletteColorLookupTableData",
        "BluePaletteColorLookupTableData",
        "VOILUTSequence",
        "FileMetaInformationGroupLength",
        "FileMetaInformationVersion",
        "TransferSyntaxUID",
        "ImplementationClassUID",
    )
)


def _sequence_target(ctx: Context, span: Span, text: str, attr: Attr, action: str) -> Iterator[Diagnostic]:
    """What an action cannot do to this element: sequences, person names, protected elements."""
    if attr.keyword in PROTECTED and action in ("BLANK", "JITTER", "REMOVE", "REPLACE"):
        yield ctx.diag(
            span,
            "W303",
            f"'{action}' of '{text}' has no effect unless disable_skip is used: deid and deidlang protect {attr.keyword} from every action but ADD",
            "delete the line, unless the recipe is meant to run with disable_skip (ADD can still overwrite the element)",
        )
        return
    if attr.keyword in PROTECTED and action == "REPLACE*":
        yield ctx.diag(span, "W303", f"'REPLACE' of '{text}' has no effect unless disable_skip is used", "delete the line")
        return
    if attr.vr == "SQ" and action in ("REPLACE", "JITTER"):
        yield ctx.diag(span, "E306", f"cannot {action} sequence '{text}'", "deid crashes; use REMOVE or BLANK on a sequence, or address the elements inside it")
    elif attr.vr == "PN" and action == "JITTER":
        yield ctx.diag(span, "W412", f"deid crashes on JITTER of person name '{text}'", "JITTER works on dates (DA) and date-times (DT)")


def _nested(ctx: Context, f: nodes.NestedName, action: str, line: Any = None) -> Iterator[Diagnostic]:
    offset = 0
    last = len(f.parts) - 1
    leaf = (_exact(f.parts[-1]) or _folded(f.parts[-1])) if f.parts[-1] else None
    for i, part in enumerate(f.parts):
        span = _sub(f.span, offset, len(part))
        offset += len(part) + 2
        if not part:
            continue  # 'Seq__' addresses private (keyword-less) elements inside Seq
        attr = _exact(part) or _folded(part)
        if attr is None:
            # a misspelled sequence leaves the element the line acts on (the last part) untouched
            meant = leaf if i < last and leaf is not None and leaf.tag is not None else None
            yield _unknown_keyword(ctx, span, part, action, line, within=f.text, meant=meant, hint="every part of a nested name is a keyword")
            continue
        if attr.keyword != part:
            yield ctx.diag(span, "W202", f"'{part}' is not the DICOM keyword's spelling '{attr.keyword}'", f"write '{attr.keyword}'")
        if i < last and attr.vr != "SQ":
            yield ctx.diag(span, "W201", f"'{attr.keyword}' is not a sequence, so '{f.text}' matches nothing", "the parts before the last one must be sequences")
        if i == last:
            yield from _sequence_target(ctx, f.span, f.text, attr, action)
    if action == "KEEP":
        yield ctx.diag(f.span, "W408", f"deid's KEEP protects nothing with the nested name '{f.text}' (it compares top-level names and tags only); deidlang protects those elements", "KEEP the parent sequence, or the keyword alone")


def _uid_path(ctx: Context, f: nodes.UidPath, action: str) -> Iterator[Diagnostic]:
    tags = f.steps[0::2]
    for i, tag in enumerate(tags):
        if not _tag_known(tag):
            yield ctx.diag(f.span, "W201", f"no DICOM attribute has tag {_tag_text(tag)} (in '{f.text}'): this line matches nothing", "check the tags; private tags have an odd group")
            return
        attr = _tag_attr(tag)
        if attr is not None and i < len(tags) - 1 and attr.vr != "SQ":
            yield ctx.diag(f.span, "W201", f"{_tag_text(tag)} ({attr.keyword}) is not a sequence, so '{f.text}' matches nothing", "every tag but the last must be a sequence")
            return
    last = _tag_attr(tags[-1])
    if last is not None:
        yield from _sequence_target(ctx, f.span, f.text, last, action)
    if action == "KEEP":
        yield ctx.diag(f.span, "W408", f"deid's KEEP protects nothing with the path '{f.text}' (it compares top-level names and tags only); deidlang protects that element", "KEEP the parent sequence instead")


def _tag_form(ctx: Context, f: nodes.Tag) -> Iterator[Diagnostic]:
    """Tag spellings deid does not understand in a field position."""
    text = f.text
    if any(c.isspace() for c in text):
        yield ctx.diag(f.span, "W411", f"deid splits '{text}' at the space and matches nothing; deidlang reads {_tag_text(f.value)}", f"write '{_tag_text(f.value)}' without spaces")
    elif text[:2].lower() == "0x":
        yield ctx.diag(f.span, "W411", f"deid matches nothing with '{text}'; deidlang reads it as {_tag_text(f.value)}", f"write '{_tag_text(f.value)}' or '{f.value:08X}'")
    elif not text.startswith("(") and "," in text:
        yield ctx.diag(f.span, "W411", f"deid matches nothing with '{text}' (no parentheses); deidlang reads it as {_tag_text(f.value)}", f"write '{_tag_text(f.value)}'")


_PRIVATE_SPACES_RE = re.compile(r'\s,|,\s')


def _private(ctx: Context, f: nodes.PrivateTag) -> Iterator[Diagnostic]:
    if f.group % 2 == 0:
        yield ctx.diag(f.span, "E212", f"bad tag '{f.text}': the private-creator form needs an odd (private) group, not {f.group:04X}", "private groups are odd, e.g. 0033; address public elements by keyword")
    elem_text = f.text.rstrip(")").rsplit(",", 1)[-1].strip()
    if f.element > 0xFF:
        yield ctx.diag(f.span, "E212", f"bad tag '{f.text}': the element is the 2-digit offset inside the private block, not '{elem_text}'", f"write '{f.element & 0xFF:02X}' (deid matches only the low byte)")
    elif len(elem_text) != 2:
        yield ctx.diag(f.span, "W411", f"deid matches the private-creator form only with a 2-digit element; '{elem_text}' matches nothing under deid, deidlang reads {f.element:02X}", f"write '{f.element:02X}'")
    outside = f.text.replace(f'"{f.creator}"', '""')
    if _PRIVATE_SPACES_RE.search(outside):
        yield ctx.diag(f.span, "W411", f"deid splits '{f.text}' at the spaces and matches nothing; deidlang reads the private tag", "write it without spaces around the commas")


def _expander(ctx: Context, f: nodes.Expander) -> Iterator[Diagnostic]:
    kind = f.kind
    written = f.text.partition(":")[0]
    arg = f.argument
    arg_span = _sub(f.span, len(written) + 1, len(arg))
    if kind not in EXPANDERS:
        if kind in ("values", "fields"):
            yield ctx.diag(f.span, "E208", f"group references are lower-case: '{f.text}'", f"write '{kind}:{arg}' (deid matches nothing with '{written}:')")
        else:
            hint = did_you_mean(kind, EXPANDERS, case_insensitive=True) or "expanders are startswith:, endswith:, contains:, except: and select:"
            yield ctx.diag(_sub(f.span, 0, len(written)), "E208", f"unknown expander '{written}:'", hint)
        return
    if kind == "select":
        yield from _select(ctx, f, arg, arg_span)
        return
    found = list(_pattern(ctx, arg_span, kind, arg))
    yield from found
    if any(d.code == "E209" for d in found):
        return
    if not arg:
        if kind == "except":
            yield ctx.diag(f.span, "W303", "'except:' with an empty pattern matches no field", "write the pattern of the fields to spare, e.g. except:PatientSex")
        else:
            yield ctx.diag(f.span, "E216", f"'{f.text}' with an empty pattern selects every element", "write the pattern, or ALL if every element is meant")
        return
    m = _UPPER_ESCAPE_RE.search(arg)
    if m:
        yield ctx.diag(
            _sub(arg_span, m.start(), m.end() - m.start()),
            "W407",
            f"deid lower-cases the pattern, so '\\{m.group(1)}' becomes '\\{m.group(1).lower()}' under deid; deidlang keeps the pattern as written",
            "avoid upper-case escapes: use a character class such as [^0-9] for \\D",
        )
    if kind == "endswith" and _ends_like_uid(arg):
        yield ctx.diag(
            f.span,
            "W208",
            f"'{f.text}' also matches every ...UID element (StudyInstanceUID, SOPInstanceUID...), because 'UID' ends with '{arg}' (in deid too)",
            "if UIDs should survive, KEEP them or list the ID keywords one by one",
        )


@functools.lru_cache(maxsize=1)
def _vrs() -> tuple[str, ...]:
    """pydicom's two-letter value representations."""
    from pydicom.valuerep import VR

    return tuple(v.value for v in VR if len(v.value) == 2)


def _select(ctx: Context, f: nodes.Expander, arg: str, arg_span: Span) -> Iterator[Diagnostic]:
    attr, sep, value = arg.partition(":")
    if not sep and attr.lower() != "private":
        yield ctx.diag(f.span, "E208", f"'{f.text}' needs an attribute and a value", "write select:VR:XX, select:group:GGGG, select:private or select:creator:NAME (deid crashes on this line)")
        return
    value_span = _sub(arg_span, len(attr) + 1, len(value))
    low = attr.lower()
    if low == "vr":
        vr = value[:2].upper()
        if len(value) < 2 or vr not in _vrs():
            hint = did_you_mean(value.upper(), _vrs()) or "VRs are two letters, e.g. DA, PN, UI, SQ"
            yield ctx.diag(value_span, "E210", f"unknown VR '{value}'", hint)
        elif len(value) > 2:
            yield ctx.diag(value_span, "W208", f"only the first two characters of '{value}' count, i.e. VR '{vr}' (in deid too)", f"write select:VR:{vr}")
    elif low == "group":
        if not _HEX_GROUP_RE.fullmatch(value):
            yield ctx.diag(value_span, "E211", f"bad group number '{value}'", "write 1 to 4 hex digits, e.g. select:group:0010 (deid crashes on other text)")
    elif low == "private":
        if value:
            yield ctx.diag(value_span, "E208", f"'select:private' takes no value, not '{value}'", "write select:private, or select:creator:NAME for one creator's elements")
    elif low == "creator":
        name = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
        if not name.strip():
            yield ctx.diag(f.span, "E208", "'select:creator:' needs a private creator name", 'write e.g. select:creator:GEMS_ACQU_01 or select:creator:"SIEMENS CSA HEADER"')
    else:
        yield ctx.diag(_sub(arg_span, 0, len(attr)), "E208", f"unknown select attribute '{attr}'", "write select:VR:XX, select:group:GGGG, select:private or select:creator:NAME")


def _group_ref(ctx: Context, f: nodes.GroupRef) -> Iterator[Diagnostic]:
    yield from _group_name(ctx, f.kind, f.name, f.span, f.text)
    if f.kind == "values" and f.name in ctx.values_groups:
        yield from _values_regex(ctx, f.name, f.span)


def _group_name(ctx: Context, kind: str, name: str, span: Span, text: str) -> Iterator[Diagnostic]:
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
        hint = did_you_mean(name, groups, prefix=f"{kind}:") or (f"define it with `%{kind} {name}`" if not groups else f"defined %{kind} groups: {', '.join(sorted(groups))}")
        yield ctx.diag(span, "E203", f"undefined %{kind} group '{name}'", hint)


def _values_regex(ctx: Context, name: str, span: Span) -> Iterator[Diagnostic]:
    """W413: deid matches a values: list as one regex over ``str(value)`` of every field.

    With FIELD lines the list holds whole values, which carry '.', '^' and '('.
    With SPLIT lines it holds words; either way the regex also runs over the
    text of sequences, so one matching nested value selects the whole
    sequence under deid, where deidlang matches elements one by one.
    """
    lines = ctx.values_groups[name]
    if not lines:
        return
    if any(g.verb == "FIELD" for g in lines):  # deid ignores lower-case 'field' lines (W102)
        yield ctx.diag(
            span,
            "W413",
            f"deid joins the values of '{name}' into one unescaped regular expression ('.' matches any character, '^' in person names blocks matches, '(' crashes) and also selects a whole sequence when the text of its items matches; deidlang matches the values as plain text, element by element",
            "to match names, SPLIT them into words (SPLIT PatientName by=^;minlength=3)",
        )
    else:
        yield ctx.diag(
            span,
            "W413",
            f"deid joins the words of '{name}' into one regular expression and runs it over the text of every element, so it also selects a whole sequence when the text of its items matches (and runs '.' and '(' in the words as regex); deidlang matches the words as plain text, element by element",
            "no recipe line runs alike under both here; if sequences that hold the name must go, REMOVE them by keyword",
        )


def _add_field(ctx: Context, a: nodes.ActionLine) -> Iterator[Diagnostic]:
    """ADD creates one top-level element from a keyword or an 8-digit tag."""
    f = a.field
    if isinstance(f, nodes.Keyword):
        attr = _exact(f.name)
        if attr is None:
            attr = _folded(f.name)
            if attr is None:
                yield _unknown_keyword(ctx, f.span, f.name, "ADD", a, hint="ADD takes a DICOM keyword or an 8-digit tag such as 00100010")
                return
            yield ctx.diag(f.span, "W412", f"deid crashes on ADD of '{f.name}': ADD needs the exact keyword; deidlang adds {attr.keyword}", f"write '{attr.keyword}'")
        yield from _addable(ctx, f.span, f.name, attr, a.value)
    elif isinstance(f, nodes.Tag):
        if f.text[:2].lower() == "0x" or not f.text.isalnum():
            yield ctx.diag(f.span, "W412", f"deid crashes on ADD of '{f.text}': ADD takes a keyword or an 8-digit tag; deidlang adds {_tag_text(f.value)}", f"write '{f.value:08X}'")
        if not _tag_known(f.value):
            yield ctx.diag(
                f.span,
                "W201",
                f"no DICOM attribute has tag {_tag_text(f.value)}: this line adds an element that no DICOM dictionary knows (VR ST)",
                "check the tag; private tags have an odd group",
            )
            return
        attr = _tag_attr(f.value)
        if attr is not None:
            yield from _addable(ctx, f.span, f.text, attr, a.value)
        if f.text.isalnum() and f.text[:2].lower() != "0x":
            yield from _add_by_number(ctx, a, f, attr)
    else:
        what = {
            nodes.AllFields: "ALL selects every element",
            nodes.Expander: f"'{f.text}' selects any number of elements",
            nodes.GroupRef: f"'{f.text}' selects a group of elements",
            nodes.NestedName: f"'{f.text}' is inside a sequence",
            nodes.UidPath: f"'{f.text}' is inside a sequence",
            nodes.PrivateTag: f"'{f.text}' needs its private block reserved",
        }[type(f)]
        yield ctx.diag(f.span, "E304", f"'ADD' creates one top-level element: {what}", "ADD a keyword or an 8-digit tag (deid crashes on anything else); use REPLACE to change existing elements")


def _add_by_number(ctx: Context, a: nodes.ActionLine, f: nodes.Tag, attr: Attr | None) -> Iterator[Diagnostic]:
    """ADD gggggggg: deid gives a new element VR ST; deidlang the dictionary's VR.

    Only a keyword makes deid look the tag up, so an element ADDed by its
    8-digit number is created as ST when the file lacks it (an existing
    top-level element keeps its VR under both). deidlang uses the DICOM
    dictionary's VR (the first choice of an ambiguous one) and, for a private
    element, pydicom's private dictionary when the block's creator is known.
    """
    tag = f.value
    where = f"when the file has no top-level {_tag_text(tag)}, deid creates it with VR ST (only a keyword makes deid look the tag up)"
    if attr is not None and attr.vr != "SQ" and (tag >> 16) % 2 == 0:
        ours = attr.vr.split(" or ")[0]
        if ours == "ST":
            return
        exact = _exact(attr.keyword) if attr.keyword else None
        if exact is not None and exact.tag == tag and " or " not in attr.vr:
            hint = f"write the keyword '{attr.keyword}' to get VR {ours} from both"
        else:
            hint = "the two agree only when the file already has the element (both keep its VR)"
        yield ctx.diag(f.span, _ADD_BY_NUMBER, f"{where}; deidlang uses the dictionary VR {ours} ({attr.keyword or 'repeating group'})", hint)
        return
    if (tag >> 16) % 2 == 1 and (tag & 0xFFFF) > 0xFF:
        creator = _added_creator(ctx, a, tag)
        known = _private_vrs(tag, creator)
        if not known:
            return
        shown = ", ".join(f"'{c}' gives {vr}" for c, vr in known[:2]) + (f" and {len(known) - 2} more" if len(known) > 2 else "")
        yield ctx.diag(
            f.span,
            _ADD_BY_NUMBER,
            f"{where}; deidlang takes the VR from pydicom's private dictionary when the block's creator is known to it ({shown})",
            "the two agree when the file already has the element (both keep its VR), or when the block's creator is one pydicom does not know",
        )


def _added_creator(ctx: Context, a: nodes.ActionLine, tag: int) -> str | None:
    """The literal creator an earlier ``ADD ggggxx00``-style line of the recipe writes for ``tag``'s block."""
    slot = (tag & 0xFFFF0000) | ((tag & 0xFFFF) >> 8)
    found = None
    for other in ctx.actions:
        if other is a:
            break
        f, v = other.field, other.value
        if other.action == "ADD" and isinstance(f, nodes.Tag) and f.value == slot and isinstance(v, nodes.Literal) and not v.quoted:
            found = v.text
    return found


@functools.lru_cache(maxsize=256)
def _private_vrs(tag: int, creator: str | None) -> tuple[tuple[str, str], ...]:
    """(creator, VR) for the private-dictionary entries of ``tag`` whose VR is not ST."""
    from pydicom._private_dict import private_dictionaries
    from pydicom.datadict import private_dictionary_VR

    creators = (creator,) if creator is not None else tuple(private_dictionaries)
    out = []
    for c in creators:
        try:
            vr = private_dictionary_VR(tag, c)
        except KeyError:
            continue
        vr = vr.split(" or ")[0] if vr else "UN"
        if vr != "ST":
            out.append((c, vr))
    return tuple(out)


def _addable(ctx: Context, span: Span, text: str, attr: Attr, value: nodes.Value | None = None) -> Iterator[Diagnostic]:
    if attr.vr == "SQ" and isinstance(value, nodes.DeidFunc) and value.name == "code":
        return  # deid_func:code builds the sequence item
    if attr.vr == "SQ":
        yield ctx.diag(span, "E304", f"cannot ADD sequence '{text}'", "ADD creates elements with a text value; a sequence holds items")
    elif attr.tag is None:
        yield ctx.diag(span, "E304", f"cannot ADD '{text}' by keyword: it belongs to a repeating group", "ADD it by its 8-digit tag, e.g. 60003000")
    elif attr.retired:
        yield ctx.diag(span, "W205", f"'{attr.keyword}' is a retired DICOM keyword", "new files should not carry retired elements", severity=INFO)


# --------------------------------------------------------------------------- values


def check_values(ctx: Context) -> Iterator[Diagnostic]:
    """Values: var/func/deid_func references, JITTER days, literals, value filters."""
    unchecked: set[str] = set()  # func: names noted (I201) once each
    for a in ctx.actions:
        v = a.value
        if v is None:
            continue
        if isinstance(v, nodes.VarRef):
            if not v.name:
                yield ctx.diag(v.span, "E102", "'var:' needs a variable name", "write var:NAME, where NAME is a key of the ids")
        elif isinstance(v, nodes.FuncRef):
            yield from _func_ref(ctx, v, unchecked)
        elif isinstance(v, nodes.DeidFunc):
            yield from _deid_func(ctx, a, v)
        elif isinstance(v, nodes.ValueFilter):
            yield from _value_filter(ctx, a, v)
        elif isinstance(v, nodes.Literal):
            yield from _literal(ctx, a, v)


#: Where functions for func: come from, said in the hints.
_FUNCTIONS_HINT = "name the Python file that defines it with --functions FILE.py (in Python: functions= to check, funcs= to apply)"


def _func_ref(ctx: Context, v: nodes.FuncRef, unchecked: set[str]) -> Iterator[Diagnostic]:
    if not v.name:
        yield ctx.diag(v.span, "E102", "'func:' needs a function name", "write func:NAME, where NAME is a function you pass in")
    elif ctx.functions is None:
        if v.name not in unchecked:
            unchecked.add(v.name)
            yield ctx.diag(
                v.span,
                "I201",
                f"func:{v.name} is not checked: no functions were given, and a run without them fails every file",
                _FUNCTIONS_HINT,
            )
    elif v.name not in ctx.functions:
        if ctx.functions:
            hint = did_you_mean(v.name, ctx.functions) or f"known functions: {', '.join(sorted(ctx.functions))}"
            yield ctx.diag(v.span, "E205", f"unknown function '{v.name}'", hint)
        else:
            yield ctx.diag(v.span, "E205", f"unknown function '{v.name}': no functions were given", _FUNCTIONS_HINT)


def _deid_func(ctx: Context, a: nodes.ActionLine, v: nodes.DeidFunc) -> Iterator[Diagnostic]:
    name = v.name
    name_span = _sub(v.span, len("deid_func:"), len(name))
    if name in DEID_FUNCS and name not in _DEID_BUILTINS:
        yield from _deidlang_func(ctx, a, v, name_span)
        return
    if name not in DEID_FUNCS:
        if name == "simple_uuid":
            hint = "did you mean 'suffix_uuid' or 'basic_uuid'? ('simple_uuid' appears in deid's docs but does not exist)"
        else:
            hint = did_you_mean(name, DEID_FUNCS) or f"built-in functions: {', '.join(DEID_FUNCS)}"
        yield ctx.diag(name_span, "E206", f"unknown deid_func '{name}'", hint)
        return
    allowed = DEID_FUNCS[name]
    opts = {}
    for arg in v.args:
        if arg.name not in allowed:
            hint = (did_you_mean(arg.name, allowed) or f"deid_func:{name} takes {', '.join(x + '=' for x in allowed)}") if allowed else f"deid_func:{name} takes no arguments"
            yield ctx.diag(arg.span, "E207", f"deid_func:{name} has no argument '{arg.name}'", hint)
            continue
        opts[arg.name] = arg.value
        problem = _deid_arg_problem(arg.name, arg.value)
        if problem:
            yield ctx.diag(arg.span, "E207", f"bad value for {arg.name}= in deid_func:{name}: '{arg.value}'", problem)
    action = a.action
    if name == "pydicom_uuid" and opts.get("stable_remapping", "true") == "true" and action in ("REPLACE", "ADD", "KEEP"):
        yield ctx.diag(
            v.span,
            "W305",
            "deid_func:pydicom_uuid derives the new UID from an unkeyed hash of the old one: anyone who holds an original UID can compute its replacement and link the file back",
            "use deid_func:hashuid (HMAC-SHA256 under your key: the same consistent mapping, not computable without the key)",
        )
    if action == "KEEP":
        yield ctx.diag(v.span, "W418", f"deid ignores a value after KEEP; deidlang sets the kept elements to deid_func:{name}, then keeps them", "to keep the elements as they are, delete the value")
    if action == "JITTER":
        yield ctx.diag(v.span, "E301", f"'JITTER' needs a whole number of days, not deid_func:{name}", f"deid crashes on this; write `REPLACE {a.field.text} deid_func:jitter days=N`, or `JITTER {a.field.text} N`")
    elif action == "ADD" and (name == "jitter" or (name == "pydicom_uuid" and opts.get("stable_remapping", "true") != "false")):
        yield ctx.diag(v.span, "W412", f"deid crashes on ADD with deid_func:{name}: it reads the existing element, and ADD gives it none", f"use REPLACE {a.field.text} ..." + (" (or stable_remapping=false)" if name == "pydicom_uuid" else ""))


def _deidlang_func(ctx: Context, a: nodes.ActionLine, v: nodes.DeidFunc, name_span: Span) -> Iterator[Diagnostic]:
    """deidlang's own built-ins (hashuid, hashid, dateshift, dummy, scrub, code, append)."""
    name = v.name
    allowed = DEID_FUNCS[name]
    bad = False
    for arg in v.args:
        if arg.name not in allowed:
            bad = True
            hint = (did_you_mean(arg.name, allowed) or f"deid_func:{name} takes {', '.join(x + '=' for x in allowed)}") if allowed else f"deid_func:{name} takes no arguments"
            yield ctx.diag(arg.span, "E207", f"deid_func:{name} has no argument '{arg.name}'", hint)
    if not bad:
        try:
            _make_builtin(name, [(x.name, x.value) for x in v.args], v.text)
        except _BadArgument as exc:
            yield ctx.diag(v.span, "E207", str(exc))
    action = a.action
    if action == "JITTER" and name != "lookup":  # a lookup can give JITTER its days (deidlang/tables)
        yield ctx.diag(v.span, "E301", f"'JITTER' needs a whole number of days, not deid_func:{name}", f"write `REPLACE {a.field.text} deid_func:{name}`")
        return
    fits = {"code": ("ADD", "REPLACE"), "append": ("ADD", "REPLACE"), "lookup": ("ADD", "REPLACE", "KEEP", "JITTER")}.get(name, ("REPLACE", "KEEP"))
    if action in ("ADD", "REPLACE", "KEEP") and action not in fits:
        what = "ADD (it makes the value from the existing element, and ADD may have none)" if action == "ADD" else action
        yield ctx.diag(v.span, "W306", f"deid_func:{name} does not work with {what}", f"use it with {' or '.join(fits)}")
        return
    vrs = _FUNC_VRS.get(name)
    attr = _target_attr(a.field) if vrs else None
    if attr is not None and attr.vr not in vrs and not any(x in vrs for x in attr.vr.split(" or ")):
        yield ctx.diag(v.span, "W306", f"deid_func:{name} works on elements of VR {', '.join(sorted(vrs))}; {attr.keyword} has VR {attr.vr}", "apply it to the elements it is made for")


def _deid_arg_problem(name: str, value: str) -> str:
    if name in ("days", "years"):
        return "" if _INT_RE.fullmatch(value) else f"{name}= takes a whole number, e.g. {name}=-5"
    if name == "org_root":
        return "" if _UID_ROOT_RE.fullmatch(value) else "org_root= takes a UID root of digits and dots, without a trailing dot, e.g. org_root=1.2.826.0.1.3680043.10.1234"
    if name == "prefix":
        if value in ("none", "null"):
            return ""
        if not _UID_PREFIX_RE.fullmatch(value):
            return "prefix= takes digits and dots ending with a dot, e.g. prefix=1.2.826.0.1.3680043.10.1234. (deid crashes otherwise)"
        if len(value) > 54:
            return "prefix= may be at most 54 characters long"
        return ""
    if name == "stable_remapping":
        return "" if value in ("true", "false") else "stable_remapping= takes true or false"
    return ""


def _value_filter(ctx: Context, a: nodes.ActionLine, v: nodes.ValueFilter) -> Iterator[Diagnostic]:
    action = a.action
    if v.kind == "values":
        yield from _group_name(ctx, "values", v.argument, v.span, v.text)
    elif v.kind in ("contains", "notcontains", "startswith", "endswith"):
        yield from _pattern(ctx, _sub(v.span, len(v.kind) + 1, len(v.argument)), v.kind, v.argument)
    if action == "REMOVE":
        yield ctx.diag(
            v.span,
            "W404",
            f"deid treats '{v.text}' as a plain value, which is true, so it removes every selected field; deidlang removes only the fields whose value matches",
            "deid never filters by value here; to be safe under both, select the fields by name",
        )
    elif action in ("ADD", "REPLACE"):
        yield ctx.diag(v.span, "E305", f"value filter '{v.text}' only makes sense with REMOVE", f"deid would store the text '{v.text}' as the value; write the new value instead")
    elif action == "JITTER":
        yield ctx.diag(v.span, "E301", f"'JITTER' needs a whole number of days, not '{v.text}'", "write e.g. `JITTER StudyDate -30`")


def _literal(ctx: Context, a: nodes.ActionLine, v: nodes.Literal) -> Iterator[Diagnostic]:
    action = a.action
    text = v.text
    if action == "REMOVE":
        yield ctx.diag(
            v.span,
            "W309",
            f"'REMOVE' with the plain value '{v.raw or text}': deid and deidlang use it as a yes/no switch (non-empty text removes, a number equal to 0 keeps), not as a filter",
            "delete the value to remove the field, or use func:NAME for a condition",
        )
        return
    if action in ("BLANK", "KEEP"):
        return  # W301 already
    if action == "JITTER":
        if v.quoted and _INT_RE.fullmatch(text):
            yield ctx.diag(v.span, "W402", f"deid keeps the quotes in {v.raw} and crashes reading it as a number; deidlang reads {text.strip()}", f"write {text.strip()} without quotes")
        elif not _INT_RE.fullmatch(text):
            yield ctx.diag(v.span, "E301", f"'JITTER' needs a whole number of days, not '{v.raw or text}'", "write e.g. `JITTER StudyDate -30` (deid crashes on other text), or use var:/func:")
        return
    # ADD / REPLACE
    m = None if v.quoted else _REFERENCE_LIKE_RE.match(text)
    if m and m.group(0) not in ("var:", "func:", "deid_func:"):
        kind = m.group(1).lower()
        yield ctx.diag(
            _sub(v.span, 0, m.end()),
            _REFERENCE_LIKE,
            f"'{m.group(0)}' is not a reference (only lower-case '{kind}:' with no space is): deid and deidlang store '{text}' as literal text",
            f"write '{kind}:{text[m.end():].lstrip()}'",
        )
    if v.quoted:
        yield ctx.diag(v.span, "W402", f"deid keeps the quotes: the value is {v.raw} under deid and '{text}' under deidlang", "delete the quotes")
    elif "'" in text or '"' in text or "  " in text or "\t" in text:
        deid_value = " ".join(_DEID_TOKEN_RE.findall(text))
        if deid_value != text:
            yield ctx.diag(
                v.span,
                "W403",
                f"deid reads this value as '{deid_value}' (it drops unpaired quotes and apostrophes and collapses runs of spaces); deidlang keeps '{text}'",
                "avoid apostrophes and repeated spaces in values",
            )
    yield from _typed_literal(ctx, a, v)


def _typed_literal(ctx: Context, a: nodes.ActionLine, v: nodes.Literal) -> Iterator[Diagnostic]:
    """E305: a literal that the target element's VR cannot hold."""
    f = a.field
    attr: Attr | None = None
    if isinstance(f, nodes.Keyword):
        attr = _folded(f.name)
    elif isinstance(f, nodes.Tag):
        attr = _tag_attr(f.value)
    if attr is None:
        return
    vr = attr.vr
    if vr in _INT_VRS:
        low, high = INT_RANGES[vr]
        ok = all(_INT_RE.fullmatch(p) and low <= int(p) <= high for p in v.text.split("\\"))
        what = f"whole numbers from {low} to {high}"
    elif vr in _FLOAT_VRS:
        ok, what = all(_is_float(p) for p in v.text.split("\\")), "decimal numbers"
    elif vr == "DS":
        ok, what = all(ds_text_ok(p) for p in v.text.split("\\")), "finite decimal numbers (digits, sign, point, exponent)"
    elif vr == "IS":
        ok, what = all(is_text_ok(p) for p in v.text.split("\\")), f"whole numbers from {IS_RANGE[0]} to {IS_RANGE[1]}"
    elif vr in ASCII_ONLY_VRS:
        ok, what = v.text.isascii(), "ASCII text only (its character set does not apply)"
    else:
        return
    if not ok:
        yield ctx.diag(v.span, "E305", f"'{v.text}' is not a valid {vr} value for '{attr.keyword}'", f"{attr.keyword} (VR {vr}) holds {what}; separate several values with a backslash")


def _is_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return bool(s.strip()) and "_" not in s


# --------------------------------------------------------------------------- comments


def check_comments(ctx: Context) -> Iterator[Diagnostic]:
    """W401: trailing comments that deid reads as part of an action line.

    (Comments on criterion and coordinates lines are checked with those lines.)
    """
    for a in ctx.actions:
        if a.comment is not None:
            yield from _action_comment(ctx, a)


def _action_comment(ctx: Context, a: nodes.ActionLine) -> Iterator[Diagnostic]:
    line = ctx.line_text(a.span.end_line)
    start = a.span.end_column - 1
    hash_at = line.find("#", start)
    if hash_at < 0:
        return
    comment_span = Span(a.span.end_line, hash_at + 1, a.span.end_line, len(line.rstrip()) + 1)
    spaced = hash_at > start
    v = a.value
    action = a.action
    if v is None and not spaced:
        word = line[a.field.span.column - 1 : len(line.rstrip())].split()[0]
        yield ctx.diag(
            comment_span,
            "W401",
            f"deid reads the field as '{word}' (the comment is glued to it), which matches nothing; deidlang ignores the comment",
            "put a space before '#'",
        )
    elif not spaced:
        return  # 'ADD X v#c': deid cuts the value at '#' too
    elif v is None and action == "REMOVE":
        yield ctx.diag(
            comment_span,
            "W401",
            f"deid reads the comment as an empty value, and REMOVE with an empty value removes nothing; deidlang removes '{a.field.text}'",
            "move the comment to its own line",
        )
    elif isinstance(v, (nodes.VarRef, nodes.FuncRef)) and action != "BLANK" and action != "KEEP":
        yield ctx.diag(
            comment_span,
            "W401",
            f"deid looks up '{v.name} ' (with the space before the comment), finds nothing and skips the action; deidlang ignores the comment",
            "move the comment to its own line",
        )
    elif isinstance(v, nodes.Literal) and action in ("ADD", "REPLACE"):
        yield ctx.diag(
            comment_span,
            "W401",
            f"deid keeps the space before the comment: the value is '{v.raw or v.text} ' under deid; deidlang ignores the comment",
            "move the comment to its own line",
        )


# --------------------------------------------------------------------------- REMOVE vs REPLACE/JITTER


def check_remove_cancelled(ctx: Context) -> Iterator[Diagnostic]:
    """W406: REMOVE of a field that a REPLACE/JITTER with var:/func: also names."""
    protectors = [
        a
        for a in ctx.header
        if a.action in ("REPLACE", "JITTER") and isinstance(a.value, (nodes.VarRef, nodes.FuncRef)) and not isinstance(a.field, nodes.GroupRef)
    ]
    if not protectors:
        return
    for r in ctx.header:
        if r.action != "REMOVE" or isinstance(r.field, nodes.GroupRef):
            continue
        hits = [p for p in protectors if _overlap(r.field, p.field)]
        if not hits:
            continue
        p = hits[0]
        if len(hits) == 1:
            what = f"what {p.action} {p.field.text} (line {p.span.line}) also selects; when {p.value.text} gives no value"
        else:
            what = f"what the REPLACE/JITTER lines {', '.join(str(h.span.line) for h in hits)} also select; when their var:/func: gives no value"
        yield ctx.diag(
            r.field.span,
            "W406",
            f"deid never removes {what}, the original value stays in the output",
            "deidlang reports a missing value for such a field as an error at run time; make sure the variable or function always gives a value, or drop the overlap",
        )


def _leaf(f: nodes.Field) -> Attr | None:
    if isinstance(f, nodes.Keyword):
        return _folded(f.name)
    if isinstance(f, nodes.Tag):
        return _tag_attr(f.value)
    if isinstance(f, nodes.NestedName) and f.parts[-1]:
        return _folded(f.parts[-1])
    return None


def _overlap(a: nodes.Field, b: nodes.Field) -> bool:
    """Whether two field expressions statically select a common element."""
    la, lb = _leaf(a), _leaf(b)
    if la is not None and lb is not None:
        return la.tag is not None and la.tag == lb.tag
    if lb is not None:
        return _selects(a, lb)
    if la is not None:
        return _selects(b, la)
    if isinstance(a, nodes.AllFields) or isinstance(b, nodes.AllFields):
        return True
    return a == b


def _selects(f: nodes.Field, attr: Attr) -> bool:
    """Whether expander/ALL expression ``f`` selects the top-level element ``attr``."""
    if isinstance(f, nodes.AllFields):
        return True
    if not isinstance(f, nodes.Expander) or attr.tag is None:
        return False
    if f.kind == "select":
        key, _, value = f.argument.partition(":")
        if key.lower() == "vr":
            return attr.vr == value[:2].upper()
        if key.lower() == "group" and _HEX_GROUP_RE.fullmatch(value):
            return attr.tag >> 16 == int(value, 16)
        return False
    if f.kind not in REGEX_EXPANDERS:
        return False
    search = _probe(_expander_source(f.kind, f.argument.lower()))
    if search is None:
        return False
    g, e = attr.tag >> 16, attr.tag & 0xFFFF
    reps = (attr.keyword.lower(), f"({g:04x},{e:04x})", f"{g:04X}{e:04X}", attr.name, attr.keyword)
    found = any(search(r) for r in reps)
    return not found if f.kind == "except" else found


def _expander_source(kind: str, argument: str) -> str:
    """The pattern an expander compiles to (runtime/selectors.py ``pattern_for``)."""
    if kind == "endswith":
        return f"({argument})$"
    if kind == "startswith":
        return f"^({argument})"
    return argument


# --------------------------------------------------------------------------- JITTER targets

DATE_VRS = frozenset(("DA", "DT"))


def check_jitter_targets(ctx: Context) -> Iterator[Diagnostic]:
    """JITTER of elements that are not dates.

    deidlang changes only values written as a date, so a JITTER of an element
    that is not a date (DA/DT) by name leaves it as it is (W308; a person name
    too, where deid crashes, W412). deid runs dateutil over the value of any VR
    but DA/DT (spec 7.5): some times and numbers become dates, other text is
    kept; an expander that also selects such elements is a deid note (W416).
    Explicit fields are checked against the dictionary VR; ``select:VR:`` by
    its VR; regex expanders and ``fields:`` groups by the dictionary entries
    they can select (the top-level view: an expander that reaches nested names
    is not seen).
    """
    for a in ctx.actions:
        if a.action != "JITTER":
            continue
        f = a.field
        if isinstance(f, nodes.GroupRef):
            if f.kind == "fields":
                members = [g.field for g in ctx.fields_groups.get(f.name, ())]
                named = [x for m in members if _target_attr(m) is not None for x in _non_dates(m, explicit_too=True)]
                found = [x for m in members if _target_attr(m) is None for x in _non_dates(m)]
                if named:
                    yield _unchanged_diag(ctx, f.span, f"the group '{f.name}' names elements that are not dates ({_attr_list(named)})")
                elif found:
                    yield _jitter_diag(ctx, f.span, f"the group '{f.name}' holds elements that are not dates ({_attr_list(found)})")
            continue
        attr = _target_attr(f)
        if attr is not None:
            if attr.vr not in DATE_VRS and attr.vr != "SQ" and attr.keyword not in PROTECTED:
                yield _unchanged_diag(ctx, f.span, f"'{f.text}' is {attr.vr}, not a date (DA) or date-time (DT)")
            continue
        if isinstance(f, nodes.Expander):
            key, _, value = f.argument.partition(":")
            if f.kind == "select" and key.lower() == "vr":
                vr = value[:2].upper()
                if vr in _vrs() and vr not in DATE_VRS:
                    yield _unchanged_diag(ctx, f.span, f"'{f.text}' selects {vr} elements, which are not dates")
                continue
            found = _non_dates(f)
            if found:
                yield _jitter_diag(ctx, f.span, f"'{f.text}' also selects elements that are not dates ({_attr_list(found)})")


def _unchanged_diag(ctx: Context, span: Span, what: str) -> Diagnostic:
    return ctx.diag(
        span,
        "W308",
        f"{what}: deidlang changes only values written as a date (YYYYMMDD), so this JITTER leaves them as they are "
        "(deid guesses a date in such values, or crashes on a person name)",
        "JITTER dates (DA) and date-times (DT) only; BLANK or REPLACE the other elements",
    )


def _jitter_diag(ctx: Context, span: Span, what: str) -> Diagnostic:
    return ctx.diag(
        span,
        _JITTER_NOT_DATE,
        f"{what}: deid guesses a date in such values (some times and numbers become dates, other text is kept, a person name crashes); deidlang changes only values written as a date (YYYYMMDD) and leaves the others unchanged",
        "JITTER dates (DA) and date-times (DT) only; BLANK or REPLACE the other elements",
    )


def _target_attr(f: nodes.Field) -> Attr | None:
    """The dictionary entry of the one kind of element an explicit field names."""
    if isinstance(f, nodes.Keyword):
        return _folded(f.name)
    if isinstance(f, nodes.Tag):
        return _tag_attr(f.value)
    if isinstance(f, nodes.NestedName):
        return _folded(f.parts[-1]) if f.parts[-1] else None
    if isinstance(f, nodes.UidPath):
        return _tag_attr(f.steps[-1])
    return None


def _non_dates(f: nodes.Field, explicit_too: bool = False) -> list[Attr]:
    """Dictionary entries that are not dates among those ``f`` can select."""
    attr = _target_attr(f)
    if attr is not None:
        return [attr] if explicit_too and attr.vr not in DATE_VRS and attr.keyword not in PROTECTED else []
    if isinstance(f, nodes.Expander) and (f.kind in REGEX_EXPANDERS or f.kind == "select"):
        return list(_expander_non_dates(f.kind, f.argument))
    return []


@functools.lru_cache(maxsize=256)
def _expander_non_dates(kind: str, argument: str) -> tuple[Attr, ...]:
    """Non-retired entries first: the ones a file is likely to hold."""
    if kind != "select" and _regex_error(argument.lower()) is not None:
        return ()
    probe = nodes.Expander(kind, argument, f"{kind}:{argument}")
    found = []
    for kw in _tables()[0]:
        attr = _exact(kw) if kw else None
        if attr is not None and attr.vr not in DATE_VRS and attr.keyword not in PROTECTED and _selects(probe, attr):
            found.append(attr)
    found.sort(key=lambda x: (x.retired, x.tag))
    return tuple(found)


def _attr_list(attrs_: list[Attr]) -> str:
    shown = ", ".join(f"{x.keyword} {x.vr}" for x in attrs_[:3])
    return shown + (f" and {len(attrs_) - 3} more" if len(attrs_) > 3 else "")


# --------------------------------------------------------------------------- %fields members


def check_fields_members(ctx: Context) -> Iterator[Diagnostic]:
    """W407: %fields members that deid widens to every element with their tag.

    At use, deid looks every member of a ``fields:`` group up again by its
    bare tag (spec 3.4), which reaches that tag at every depth (and under any
    private creator). That changes nothing for a keyword or a tag, which match
    at every depth anyway, but widens a uid path, a nested name or a
    private-creator form. deidlang keeps exactly what the group collected.
    """
    uses: dict[str, nodes.ActionLine] = {}
    for a in ctx.actions:
        f = a.field
        if isinstance(f, nodes.GroupRef) and f.kind == "fields" and f.name in ctx.fields_groups:
            uses.setdefault(f.name, a)
    if not uses:
        return
    for section, g in ctx.group_lines:
        use = uses.get(section.name or "") if section.kind == "fields" else None
        if use is None or g.action != "FIELD":
            continue
        f = g.field
        ref = f"{use.action} fields:{section.name or ''} (line {use.span.line})"
        if isinstance(f, nodes.UidPath):
            if not _tag_known(f.steps[-1]):
                continue
            yield ctx.diag(
                f.span,
                "W407",
                f"deid looks this member up again by its tag when it runs {ref}, so it reaches every element with tag {_tag_text(f.steps[-1])} at any depth; deidlang keeps exactly '{f.text}'",
                f"to act on this one element under both, write the path on the action line: {use.action} {f.text} ...",
            )
        elif isinstance(f, nodes.NestedName) and len(f.parts) > 1 and f.parts[-1]:
            attr = _folded(f.parts[-1])
            if attr is None or attr.tag is None:
                continue
            yield ctx.diag(
                f.span,
                "W407",
                f"deid looks this member up again by its tag when it runs {ref}, so it reaches every {attr.keyword} at any depth, not only in {f.parts[0]}; deidlang keeps exactly '{f.text}'",
                f"write the nested name on the action line to get the same elements from both: {use.action} {f.text} ...",
            )
        elif isinstance(f, nodes.PrivateTag) and f.group % 2 == 1:
            yield ctx.diag(
                f.span,
                "W407",
                f"deid looks this member up again by its tag when it runs {ref}, so it reaches every element with the same tag at any depth, whatever its private creator; deidlang keeps exactly the elements of creator '{f.creator}'",
                f"write the private-creator form on the action line to get the same elements from both: {use.action} {f.text} ...",
            )


# --------------------------------------------------------------------------- KEEP of nested-only keywords

#: Keywords that DICOM defines only inside sequence items. deid's KEEP protects
#: an element only where it is top-level in the file (spec 5.2), so KEEP of one
#: of these protects nothing in practice. Curated from PS3.3 macros: the Code
#: Sequence Macro (Table 8.8-1), the SOP Instance Reference Macro (Table 10-11),
#: the Image SOP Instance Reference Macro (Table 10-3) and the SR content item
#: (C.17.3). None of them occurs at top level in pydicom's or deid-data's test
#: files (189 files; they occur nested in 39). Kept short on purpose: a keyword
#: that some files carry at top level does not belong here.
NESTED_KEYWORDS: Mapping[str, str] = {
    **dict.fromkeys(
        (
            "CodeValue", "CodingSchemeDesignator", "CodingSchemeVersion", "CodeMeaning", "LongCodeValue",
            "URNCodeValue", "ContextIdentifier", "ContextUID", "MappingResource", "MappingResourceUID",
            "MappingResourceName", "ContextGroupVersion", "ContextGroupLocalVersion",
            "ContextGroupExtensionFlag", "ContextGroupExtensionCreatorUID",
        ),
        "code sequence items (e.g. ConceptNameCodeSequence)",
    ),
    **dict.fromkeys(
        ("ReferencedSOPClassUID", "ReferencedSOPInstanceUID", "ReferencedFrameNumber", "ReferencedSegmentNumber"),
        "reference items (e.g. ReferencedImageSequence)",
    ),
    **dict.fromkeys(("RelationshipType", "ReferencedContentItemIdentifier"), "SR content items (ContentSequence)"),
}


def check_keep_nested(ctx: Context) -> Iterator[Diagnostic]:
    """W408: KEEP of a keyword that DICOM puts only inside sequence items."""
    for a in ctx.actions:
        if a.action != "KEEP" or isinstance(a.value, nodes.DeidFunc):
            continue  # KEEP with a built-in is deidlang's own line: deid cannot run it anyway
        f = a.field
        if isinstance(f, nodes.Keyword):
            attr = _folded(f.name)
        elif isinstance(f, nodes.Tag) and (f.text.startswith("(") or f.text.isalnum()) and f.text[:2].lower() != "0x" and not any(c.isspace() for c in f.text):
            attr = _tag_attr(f.value)
        else:
            continue
        where = NESTED_KEYWORDS.get(attr.keyword) if attr is not None else None
        if where is None:
            continue
        yield ctx.diag(
            f.span,
            "W408",
            f"deid's KEEP protects '{f.text}' only where it is a top-level element of the file; {attr.keyword} normally sits only inside {where}, where deid's KEEP protects nothing; deidlang protects it at every depth",
            "KEEP the sequences that hold it: both tools then protect everything inside them",
        )


# --------------------------------------------------------------------------- KEEP shadows


def check_keep_shadows(ctx: Context) -> Iterator[Diagnostic]:
    """W307: REMOVE/BLANK/REPLACE/JITTER of an element that a KEEP of the recipe protects.

    KEEP is applied before every other action, wherever it is written, and
    hides what it selects from all of them but ADD (docs/differences-from-deid.md,
    item 6): such a line does nothing, in either order of the two lines.
    Only lines that name one element (a keyword or a tag) are judged; the KEEP
    may name it, or select it with an expander, ALL or a fields: group.
    """
    keeps = [a for a in ctx.header if a.action == "KEEP"]
    if not keeps:
        return
    for a in ctx.header:
        if a.action not in _CHANGING or not isinstance(a.field, (nodes.Keyword, nodes.Tag)):
            continue
        attr = _target_attr(a.field)
        if attr is None or attr.tag is None or attr.keyword in PROTECTED:
            continue
        k = next((k for k in keeps if _protects(ctx, k.field, attr)), None)
        if k is None:
            continue
        yield ctx.diag(
            a.field.span,
            "W307",
            f"this {a.action} does nothing: KEEP {k.field.text} (line {k.span.line}) protects {attr.keyword} from every action but ADD",
            "KEEP applies before the other actions, wherever it is written: delete this line, or narrow the KEEP",
        )


def _protects(ctx: Context, f: nodes.Field, attr: Attr) -> bool:
    """Whether a KEEP of ``f`` protects the element ``attr`` wherever it is."""
    if isinstance(f, (nodes.Keyword, nodes.Tag)):
        target = _target_attr(f)
        return target is not None and target.tag == attr.tag
    if isinstance(f, (nodes.Expander, nodes.AllFields)):
        return _selects(f, attr)
    if isinstance(f, nodes.GroupRef) and f.kind == "fields":
        return any(not isinstance(g.field, nodes.GroupRef) and _protects(ctx, g.field, attr) for g in ctx.fields_groups.get(f.name, ()))
    return False


# --------------------------------------------------------------------------- ids


def check_variables(ctx: Context) -> Iterator[Diagnostic]:
    """E215: when the ids are known, every var:NAME must be supplied for every file.

    A var: with no value leaves the element as it is (as in deid), so the
    original value stays in the output. Empty ids (none given to a run) supply
    nothing. A var: that names a %values/%fields group is supplied by the recipe.
    """
    if ctx.ids is None:
        return
    files = list(ctx.ids.values())
    total = len(files)
    known: set[str] | None = None
    for a in ctx.actions:
        v = a.value
        if not isinstance(v, nodes.VarRef) or not v.name or v.name in ctx.values_groups or v.name in ctx.fields_groups:
            continue
        if not total:
            yield ctx.diag(
                v.span,
                "E215",
                f"variable '{v.name}' has no value: no ids were given, so {a.action} {a.field.text} leaves the element as it is",
                "give each file's values with --ids IDS.json (`deidc identifiers` writes one to fill in; in Python: ids=)",
            )
            continue
        missing = sum(1 for item in files if not isinstance(item, Mapping) or v.name not in item)
        if not missing:
            continue
        if known is None:
            known = {k for item in files if isinstance(item, Mapping) for k in item}
        hint = (did_you_mean(v.name, known) if v.name not in known else "") or "add it to every file's object in the ids"
        yield ctx.diag(
            v.span,
            "E215",
            f"variable '{v.name}' is missing in {missing} of {total} file{'s' if total != 1 else ''} of the ids: "
            f"there {a.action} {a.field.text} leaves the element as it is",
            hint,
        )


# --------------------------------------------------------------------------- groups


def check_groups(ctx: Context) -> Iterator[Diagnostic]:
    """FIELD/SPLIT verbs and options; groups defined twice or never used."""
    for _section, g in ctx.group_lines:
        if g.verb != g.action:
            yield ctx.diag(g.verb_span, "W102", f"deid ignores '{g.verb}' lines at run time (only upper-case '{g.action}' works); deidlang applies it as {g.action}", f"write '{g.action}'")
        if g.action == "FIELD":
            if g.options:
                yield ctx.diag(g.options[0].span, "W301", "'FIELD' takes no options; they are ignored", "SPLIT takes by= and minlength=")
        else:
            yield from _split_options(ctx, g)
    yield from _group_definitions(ctx)


def _split_options(ctx: Context, g: nodes.GroupLine) -> Iterator[Diagnostic]:
    for opt in g.options:
        name, value = opt.name, opt.value
        if name == "splitval":
            yield ctx.diag(opt.span, "W414", "deid ignores 'splitval' (its option is 'by') and splits at spaces; deidlang reads it as 'by'", f"write by={value}")
        elif name not in SPLIT_OPTIONS:
            hint = did_you_mean(name, SPLIT_OPTIONS) or "SPLIT options are by= and minlength="
            yield ctx.diag(opt.span, "E302", f"unknown SPLIT option '{name}'", hint)
            continue
        if name == "minlength":
            bare = value.strip("'\"")
            if value != bare and bare.isdigit():
                yield ctx.diag(opt.span, "W412", f"deid crashes on the quoted number in minlength={value}; deidlang reads {bare}", f"write minlength={bare}")
            elif not value.isdigit():
                yield ctx.diag(opt.span, "E302", f"minlength must be a whole number, not '{value}'", "write e.g. minlength=3")
        elif name in ("by", "splitval"):
            sep = value
            if len(sep) >= 2 and sep[0] == sep[-1] and sep[0] in "'\"":
                sep = sep[1:-1]
            if not sep:
                yield ctx.diag(opt.span, "E302", f"{name}= needs a separator", "write e.g. by=^")
            elif "=" in value:
                yield ctx.diag(opt.span, "W412", f"deid crashes on '=' in a SPLIT option value ({name}={value}); deidlang splits at '{sep}'", "use another separator")
    # text deid sees after the options: a trailing ';' or a comment is an empty option for deid
    end = g.options[-1].span if g.options else g.field.span
    tail = ctx.tail(end)
    stripped = tail.split("#", 1)[0].strip()
    if stripped.startswith(";"):
        yield ctx.diag(g.span, "W412", "deid crashes on the empty SPLIT option after ';'; deidlang ignores it", "delete the trailing ';'")
    elif not g.options and "#" in tail:
        yield ctx.diag(g.span, "W401", "deid reads the comment as an empty SPLIT option and crashes; deidlang ignores the comment", "move the comment to its own line")


def _group_definitions(ctx: Context) -> Iterator[Diagnostic]:
    seen: dict[tuple[str, str], nodes.Section] = {}
    for s in ctx.recipe.sections:
        if s.kind not in ("values", "fields") or not s.name:
            continue
        key = (s.kind, s.name)
        if key in seen:
            yield ctx.diag(s.span, "W206", f"%{s.kind} group '{s.name}' is also defined at line {seen[key].span.line}; the two are merged", "keep one section per group", severity=INFO)
            continue
        seen[key] = s
        other = ("fields" if s.kind == "values" else "values", s.name)
        if other in seen:
            yield ctx.diag(
                s.span,
                "W420",
                f"'{s.name}' names both a %values and a %fields group: deid keeps one lookup entry per name, so one group hides the other; deidlang keeps both",
                "give the groups different names",
            )
    if not seen:
        return
    used: set[tuple[str, str]] = set()
    variables: set[str] = set()
    for a in ctx.actions:
        f = a.field
        if isinstance(f, nodes.GroupRef):
            used.add((f.kind, f.name))
        v = a.value
        if isinstance(v, nodes.ValueFilter) and v.kind == "values":
            used.add(("values", v.argument))
        elif isinstance(v, nodes.VarRef):
            variables.add(v.name)  # deid also stores group results under their names
    for (kind, name), s in seen.items():
        if (kind, name) not in used and name not in variables:
            yield ctx.diag(s.span, "W207", f"%{kind} group '{name}' is never used", f"refer to it as {kind}:{name}, or delete it", severity=INFO)


# --------------------------------------------------------------------------- filters


def check_criteria(ctx: Context) -> Iterator[Diagnostic]:
    """Criterion lines: values, fields, operators, comments and deid's line splitting."""
    lines = ctx.lines
    for lab in ctx.labels:
        for index, cl in enumerate(lab.criteria):
            span = cl.span
            line = lines[span.line - 1]
            if cl.operator == "or" and index > 0:
                yield ctx.diag(
                    _sub(span, 0, 2),
                    "W409",
                    "deid ANDs every criterion line of a LABEL, so this '||' line must hold too; deidlang ORs it with the lines above",
                    "put alternatives on one line (`contains A x || contains B y`) to get the same result from both",
                )
            crits = cl.criteria
            for c in crits:
                f = c.field
                value = c.value
                if value is None and c.predicate in VALUED_PREDICATES:
                    yield ctx.diag(_after(f.span), "E303", f"'{c.predicate}' needs a value after the field", f"write `{c.predicate} {f.text} <value>` (deid exits on this line)")
                if type(f) is nodes.Keyword:
                    attr = _exact(f.name)
                    if attr is None:
                        yield from _filter_keyword(ctx, f)
                    elif attr.vm != "1" and c.predicate in ("equals", "notequals"):
                        yield ctx.diag(
                            f.span,
                            "W411",
                            f"'{f.name}' can hold several values: deid's {c.predicate} then compares the Python text of the whole list (\"['A', 'B']\"); deidlang compares value by value",
                            f"use `contains {f.name} ...` to get the same result from both",
                        )
                else:
                    yield from _filter_field(ctx, c)
                if value and c.predicate in ("contains", "notcontains"):
                    yield from _criterion_regex(ctx, c)
            if len(crits) > 1:
                yield from _chain(ctx, cl)
            body = line[span.column - 1 : span.end_column - 1]
            if cl.operator is not None:
                body = body[1 if body[0] == "+" else 2 :].strip()
            if "+" in body or "||" in body or "  " in body or "\t" in body:
                yield from _deid_split(ctx, cl, body)
            if "#" in line[span.end_column - 1 :]:
                yield _criterion_comment(ctx, cl, line)


def _criterion_comment(ctx: Context, cl: nodes.CriterionLine, line: str) -> Diagnostic:
    tail = line[cl.span.end_column - 1 :]
    last = cl.criteria[-1]
    comment = tail[tail.index("#") :].rstrip()
    if last.value is not None:
        what = f"part of the value ('{last.value} {comment}'), so the criterion never matches"
    else:
        what = f"part of the field ('{last.field.text} {comment}'), which never exists"
    return ctx.diag(cl.span, "W401", f"deid makes the comment {what}; deidlang ignores the comment", "move the comment to its own line")


def _filter_keyword(ctx: Context, f: nodes.Keyword) -> Iterator[Diagnostic]:
    attr = _folded(f.name)
    if attr is None:
        yield ctx.diag(f.span, "W201", f"unknown DICOM keyword '{f.name}': this criterion never sees a value", _suggest_keyword(f.name) or "filters read top-level elements by keyword")
    else:
        yield ctx.diag(f.span, "W411", f"deid looks up filter fields case-sensitively, so '{f.name}' is always missing under deid; deidlang reads {attr.keyword}", f"write '{attr.keyword}'")


def _filter_field(ctx: Context, c: nodes.Criterion) -> Iterator[Diagnostic]:
    f = c.field
    if isinstance(f, nodes.Tag):
        text = f.text
        if text[:2].lower() == "0x":
            if c.predicate in VALUED_PREDICATES:
                yield ctx.diag(
                    f.span,
                    "W411",
                    f"deid compares '{text}' as the whole element text (tag, name, VR and value); deidlang compares the value",
                    _keyword_hint(f.value),
                )
            return
        if c.predicate == "empty" and text.isalnum():
            what = "empty is true whenever the element is present"
        else:
            what = "it is always missing"
        yield ctx.diag(f.span, "W411", f"deid does not understand '{text}' in a filter ({what}); deidlang reads {_tag_text(f.value)}", _keyword_hint(f.value))
    else:
        what = {
            nodes.NestedName: "filters see only top-level elements",
            nodes.UidPath: "filters see only top-level elements",
        }.get(type(f), "filters read one top-level element by keyword")
        yield ctx.diag(f.span, "W411", f"deid treats '{f.text}' as a keyword that never exists ({what}); deidlang reads it as a field expression", "use a top-level keyword")


def _keyword_hint(tag: int) -> str:
    attr = _tag_attr(tag)
    if attr is not None and attr.tag is not None:
        return f"write the keyword '{attr.keyword}'"
    return "write the keyword, or 0xGGGGEEEE with missing/present/empty"


def _criterion_regex(ctx: Context, c: nodes.Criterion) -> Iterator[Diagnostic]:
    value = c.value or ""
    span = c.value_span or c.span
    err = _regex_error(value)
    if err is not None:
        pos = err.pos or 0
        yield ctx.diag(_sub(span, pos, 1), "E209", f"invalid regular expression '{value}': {err.msg} at position {pos}", r"escape regex characters with a backslash, e.g. '\(' for '('")
        return
    yield from _unbounded_regex(ctx, span, value, value.strip())
    if "\\" in value:
        m = _UPPER_ESCAPE_RE.search(value)
        if m:
            yield ctx.diag(
                _sub(span, m.start(), m.end() - m.start()),
                "W407",
                f"deid lower-cases the pattern, so '\\{m.group(1)}' becomes '\\{m.group(1).lower()}' under deid; deidlang keeps the pattern as written",
                "avoid upper-case escapes: use a character class such as [^0-9] for \\D",
            )


def _chain(ctx: Context, cl: nodes.CriterionLine) -> Iterator[Diagnostic]:
    """Inline chains: misaligned values (W410), upper-case words after an operator (W412)."""
    seen_bare = None
    for c in cl.criteria:
        if c.predicate in BARE_PREDICATES:
            seen_bare = seen_bare or c
        elif seen_bare is not None:
            yield ctx.diag(
                c.span,
                "W410",
                f"deid pairs values with criteria by position and '{seen_bare.predicate}' has none, so this '{c.predicate}' gets no value under deid (it never matches); deidlang uses '{c.value}'",
                "put missing/present/empty criteria after the ones with values, or on their own line",
            )
            break


def _deid_split(ctx: Context, cl: nodes.CriterionLine, body: str) -> Iterator[Diagnostic]:
    """W412: lines deid cuts into criteria differently from what they say.

    deid cuts at the first '+' or '||' anywhere (values included) whenever the
    rest of the line mentions a lower-case criterion word, lower-cases only the
    first word of each piece, and splits fields and values at single spaces.
    """
    ours = [(c.predicate, ctx.text(c.field.span), c.value) for c in cl.criteria]
    theirs = _deid_pieces(body)
    if theirs == ours:
        return
    upper = list(_upper_predicates(ctx, cl))
    if upper:
        yield from upper
        return
    if theirs is None:
        yield ctx.diag(
            cl.span,
            "W412",
            "deid crashes on this line: it cuts criteria at every '+' or '||' that is followed anywhere by a criterion word, even inside a value; deidlang reads the line as written",
            r"keep '+' and '||' out of values (in a contains pattern, '.' matches a '+') or move that criterion to its own line",
        )
    else:
        shown = " | ".join(f"{p} field '{fld}'" + (f" value '{val}'" if val is not None else "") for p, fld, val in theirs)
        yield ctx.diag(
            cl.span,
            "W412",
            f"deid reads this line differently: {shown}; deidlang reads it as written",
            "use single spaces, lower-case criterion words, and keep '+' and '||' out of values",
        )


def _upper_predicates(ctx: Context, cl: nodes.CriterionLine) -> Iterator[Diagnostic]:
    for c in cl.criteria[1:]:
        word = ctx.text(c.span)[: len(c.predicate)]
        if word != c.predicate:
            yield ctx.diag(
                _sub(c.span, 0, len(word)),
                "W412",
                f"deid does not see '{word}' after an operator (only lower-case words count), so the rest of the line becomes part of the previous value; deidlang reads it as a criterion",
                f"write '{c.predicate}'",
            )


def _deid_pieces(body: str) -> list[tuple[str, str, str | None]] | None:
    """deid's reading of one criterion line (leading operator removed); None if deid crashes or exits."""
    pieces: list[tuple[str, str, str | None]] = []
    members = [body]
    while members:
        member = members.pop(0).strip()
        i_or, i_and = member.find("||"), member.find("+")
        op = None
        if i_or >= 0:
            op = "||"
        if i_and >= 0 and (i_or < 0 or i_or >= i_and):
            op = "+"
        if op is not None:
            head, rest = member.split(op, 1)
            if any(w in rest for w in PREDICATES):
                members.append(rest.strip())
                member = head
        if " " not in member:
            return None
        word, rest = member.split(" ", 1)
        word = word.lower().strip()
        if word in VALUED_PREDICATES:
            if " " not in rest:
                return None
            fld, val = rest.split(" ", 1)
            pieces.append((word, fld.strip(), val.strip()))
        elif word in BARE_PREDICATES:
            pieces.append((word, rest.strip(), None))
        else:
            return None
    return pieces


# --------------------------------------------------------------------------- coordinates


def check_coordinates(ctx: Context) -> Iterator[Diagnostic]:
    """Coordinates: keyword case and ctp from: (W412), empty boxes (W302), from: fields."""
    for lab in ctx.labels:
        for co in lab.coordinates:
            if "#" in ctx.tail(co.span):
                yield ctx.diag(co.span, "W401", "deid keeps the comment in the coordinates and crashes when it cleans the pixels; deidlang ignores the comment", "move the comment to its own line")
            word = ctx.text(co.span)[: len(co.keyword)]
            if word != co.keyword:
                when = "when it reads the recipe" if co.ctp else "when it cleans the pixels"
                yield ctx.diag(_sub(co.span, 0, len(word)), "W412", f"deid crashes on '{word}' {when} (only the lower-case keyword works); deidlang reads {co.keyword}", f"write '{co.keyword}'")
            spec = co.spec
            if isinstance(spec, nodes.Box):
                if min(spec.x0, spec.y0, spec.x1, spec.y1) >= 0 and (spec.x1 <= spec.x0 or spec.y1 <= spec.y0):
                    if co.ctp:
                        msg = f"box x,y,w,h = {spec.x0},{spec.y0},{spec.x1 - spec.x0},{spec.y1 - spec.y0} covers no pixels (width and height must be positive)"
                    else:
                        msg = f"box {spec.x0},{spec.y0},{spec.x1},{spec.y1} covers no pixels (x1 must be greater than x0 and y1 greater than y0)"
                    yield ctx.diag(spec.span, "E307", msg + ", so this region is never cleaned", "coordinates are x0,y0,x1,y1 (ctpcoordinates: x,y,width,height)")
            elif isinstance(spec, nodes.FromField):
                if co.ctp:
                    yield ctx.diag(co.span, "W412", f"deid crashes on '{co.keyword} from:' when it reads the recipe; deidlang reads the regions", f"write '{co.keyword[3:]} {ctx.text(spec.span)}'")
                yield from _from_field(ctx, spec)


def _from_field(ctx: Context, spec: nodes.FromField) -> Iterator[Diagnostic]:
    f = spec.field
    if not isinstance(f, nodes.Keyword):
        yield ctx.diag(f.span, "W411", f"deid reads from: fields as one top-level keyword; '{f.text}' never exists under deid", "write from:SequenceOfUltrasoundRegions")
        return
    attr = _exact(f.name)
    if attr is None:
        attr = _folded(f.name)
        if attr is None:
            yield ctx.diag(f.span, "W201", f"unknown DICOM keyword '{f.name}': these coordinates never apply", _suggest_keyword(f.name) or "write from:SequenceOfUltrasoundRegions")
            return
        yield ctx.diag(f.span, "W411", f"deid looks up '{f.name}' case-sensitively and never finds it; deidlang reads {attr.keyword}", f"write '{attr.keyword}'")
    if attr.vr != "SQ":
        yield ctx.diag(f.span, "E307", f"'{attr.keyword}' is not a sequence: from: reads RegionLocation boxes from the items of a sequence, so these coordinates never clean anything", "write from:SequenceOfUltrasoundRegions")


# --------------------------------------------------------------------------- driver

Check = Callable[[Context], Iterable[Diagnostic]]

#: Every check, in the order they run.
CHECKS: tuple[Check, ...] = (
    check_format,
    check_structure,
    check_action_verbs,
    check_action_fields,
    check_values,
    check_comments,
    check_remove_cancelled,
    check_jitter_targets,
    check_fields_members,
    check_keep_nested,
    check_keep_shadows,
    check_variables,
    check_group_fields,
    check_groups,
    check_criteria,
    check_coordinates,
    _tables_check.check_tables,  # lookup tables (deidlang/tables/check.py)
)


def check_recipe(
    result: ParseResult,
    *,
    ids: Mapping[str, Mapping[str, Any]] | None = None,
    functions: Iterable[str] | None = None,
    deid_compat: bool = False,
) -> list[Diagnostic]:
    """The parser's diagnostics plus every checker diagnostic, sorted.

    Notes about what deid would do differently (W4xx, W101, W102) are
    included only with ``deid_compat``. Never raises for problems in the recipe. An exception inside a check is a
    deidlang bug: it becomes an E100 diagnostic naming the check (or is
    re-raised when :data:`RAISE_ON_BUG` is set), and the other checks still run.
    """
    diags = list(result.diagnostics)
    try:
        ctx = Context.build(result, ids, functions)
    except Exception as exc:  # pragma: no cover - defensive
        if RAISE_ON_BUG:
            raise
        diags.append(_bug(result.source.name, "Context.build", exc))
        return sorted(diags, key=Diagnostic.sort_key)
    for check in CHECKS:
        try:
            diags.extend(check(ctx))
        except Exception as exc:
            if RAISE_ON_BUG:
                raise
            diags.append(_bug(ctx.name, check.__name__, exc))
    diags = visible(diags, deid_compat=deid_compat)
    diags.sort(key=Diagnostic.sort_key)
    return diags


def _bug(name: str, where: str, exc: Exception) -> Diagnostic:
    return Diagnostic.at(
        Span(1, 1, 1, 2),
        "E100",
        f"internal error in check '{where}': {type(exc).__name__}",
        "this is a bug in deidlang; the other checks still ran. Please report it with the recipe",
        file=name,
    )
