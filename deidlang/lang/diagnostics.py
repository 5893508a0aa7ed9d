"""Diagnostics: what is wrong with a recipe, as data.

A :class:`Diagnostic` is a plain value. Checks produce them; nothing here
prints or exits. Exceptions exist only at API boundaries and carry the
diagnostics (:class:`RecipeError`) or the recipe location and the data
location of a runtime failure (:class:`ApplyError`).
"""

from __future__ import annotations

from typing import Iterable

import attrs

from .source import Span

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)


@attrs.frozen
class Diagnostic:
    """One finding about one place in a recipe.

    The fields (and their order) are the public interface: ``deidc check
    --format json`` prints exactly these keys.
    """

    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    severity: str
    code: str
    message: str
    hint: str = ""

    @classmethod
    def at(
        cls,
        span: Span,
        code: str,
        message: str,
        hint: str = "",
        *,
        file: str = "<string>",
        severity: str | None = None,
    ) -> Diagnostic:
        return cls(
            file=file,
            line=span.line,
            column=span.column,
            end_line=span.end_line,
            end_column=span.end_column,
            severity=severity or CODES[code].severity,
            code=code,
            message=message,
            hint=hint,
        )

    @property
    def span(self) -> Span:
        return Span(self.line, self.column, self.end_line, self.end_column)

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def to_dict(self) -> dict:
        return attrs.asdict(self)

    def sort_key(self) -> tuple:
        return (self.file, self.line, self.column, self.code)


@attrs.frozen
class Code:
    """One diagnostic code and the policy that goes with it (docs/diagnostics.md).

    ``deid``: a note for people leaving deid ("deid would run this line
    differently"), reported only when deid compatibility is asked for.
    ``refuses``: a warning that means a line selects nothing or will not do
    what it says; a run stops on it unless it is allowed (errors always stop
    a run). ``retired``: no longer reported; says what replaced it. A retired
    code stays here so that it is never reused.
    """

    code: str
    severity: str
    summary: str
    deid: bool = False
    refuses: bool = False
    retired: str = ""


#: Row flags: DEID marks a deid note, REFUSES a warning that stops a run.
DEID = "deid"
REFUSES = "refuses"


def _codes(*rows: tuple) -> dict[str, Code]:
    out = {}
    for code, sev, summary, *flags in rows:
        retired = next((f[len("retired:") :].strip() for f in flags if f.startswith("retired:")), "")
        out[code] = Code(code, sev, summary, deid=DEID in flags, refuses=REFUSES in flags, retired=retired)
    return out


#: Every diagnostic code deidlang emits. Codes are stable: never reuse one.
#: E1xx/W1xx: syntax and structure (parser); E2xx/W2xx: names (checker);
#: E3xx/W3xx: values and meaning (checker); W4xx: lines deid would run
#: differently from what they say (checker); R0xx: apply time (runtime).
#:
#: Severity follows risk: an error is a finding that can leak identifying
#: data or lose data the recipe means to keep (including a line deidlang
#: cannot run at all, which deid skips or crashes on); a warning is a line
#: that is dead, odd or in the wrong form but leaks nothing by itself. The
#: findings a run refuses are :func:`refusing`'s.
CODES: dict[str, Code] = _codes(
    # --- syntax and structure
    ("E100", ERROR, "line cannot be parsed"),
    ("E101", ERROR, "unknown statement or action"),
    ("E102", ERROR, "a required field or value is missing"),
    ("E103", ERROR, "unsupported FORMAT"),
    ("E104", ERROR, "unexpected text"),
    ("E105", ERROR, "unknown section"),
    ("E106", ERROR, "section name missing or not allowed"),
    ("E107", ERROR, "statement outside any section"),
    ("E108", ERROR, "statement not allowed in this section"),
    ("E109", ERROR, "filter criterion or coordinates outside a LABEL block"),
    ("E110", ERROR, "malformed coordinates"),
    ("E111", ERROR, "unterminated quote"),
    ("W101", WARNING, "missing FORMAT line (deid's command line needs one)", DEID),
    ("W102", WARNING, "keyword not in upper case (deid ignores the line)", DEID),
    ("W103", WARNING, "FORMAT given more than once"),
    ("W104", WARNING, "empty section or LABEL block"),
    # --- names
    ("E201", ERROR, "unknown DICOM keyword or tag", "retired: E214 (a misspelled keyword that leaks) and W201 (one that only makes a line dead)"),
    ("W201", WARNING, "field matches no DICOM attribute", REFUSES),
    ("W202", WARNING, "DICOM keyword not in canonical case"),
    ("E203", ERROR, "undefined fields:/values: group"),
    ("W204", WARNING, "variable not supplied by the ids", "retired: E215"),
    ("E205", ERROR, "unknown function"),
    ("E206", ERROR, "unknown deid_func"),
    ("E207", ERROR, "bad deid_func argument"),
    ("E208", ERROR, "unknown expander"),
    ("E209", ERROR, "invalid regular expression"),
    ("E210", ERROR, "unknown value representation"),
    ("E211", ERROR, "bad group number"),
    ("E212", ERROR, "bad tag"),
    ("E213", ERROR, "regular expression whose matching cost cannot be bounded"),
    ("E214", ERROR, "misspelled DICOM keyword, and no other line handles the attribute it means"),
    ("E215", ERROR, "variable not supplied by the ids (the element keeps its value)"),
    ("E216", ERROR, "expander with an empty pattern selects every element"),
    ("W205", INFO, "retired DICOM keyword"),
    ("W206", INFO, "group defined twice (the sections are merged)"),
    ("W207", INFO, "group defined but never used"),
    ("W208", WARNING, "expander selects more than it says, in deid and deidlang alike"),
    ("I201", INFO, "func: names are not checked: no functions were given"),
    # lookup tables (deidlang/tables)
    ("E217", ERROR, "lookup table not given"),
    ("E218", ERROR, "lookup table has no such column"),
    ("E219", ERROR, "key repeated in a lookup table with different values"),
    ("W209", WARNING, "table given but no line looks it up"),
    ("I202", INFO, "lookup tables are not checked: no tables were given"),
    # --- values and meaning
    ("E301", ERROR, "JITTER needs a whole number of days"),
    ("E302", ERROR, "bad SPLIT option"),
    ("E303", ERROR, "filter criterion needs a value"),
    ("E304", ERROR, "ADD needs a single creatable element"),
    ("E305", ERROR, "value not valid for the element"),
    ("E306", ERROR, "REPLACE or JITTER of a sequence"),
    ("E307", ERROR, "coordinates cover no pixels, so the region is never cleaned"),
    ("E308", ERROR, "lookup table value does not fit the element"),
    ("W301", WARNING, "value ignored by this action", REFUSES),
    ("W302", WARNING, "coordinates select nothing", "retired: E307"),
    ("W303", WARNING, "action has no effect", REFUSES),
    ("W304", WARNING, "value looks like a reference but is literal text", REFUSES),
    ("W305", WARNING, "unkeyed hash of an identifier"),
    ("W306", WARNING, "built-in function does not suit this action or element", REFUSES),
    ("W307", WARNING, "line has no effect: a KEEP protects the element it names", REFUSES),
    ("W308", WARNING, "JITTER of an element that is not a date leaves it unchanged", REFUSES),
    ("W309", WARNING, "REMOVE with a plain value is a yes/no switch, not a filter", REFUSES),
    # --- deid would run this line differently from what it says
    ("W401", WARNING, "trailing comment changes the line under deid", DEID),
    ("W402", WARNING, "quotes are kept in the value under deid", DEID),
    ("W403", WARNING, "deid collapses or drops characters in this value", DEID),
    ("W404", WARNING, "value filter is a plain value under deid", DEID),
    ("W405", WARNING, "deid drops this line in silence", DEID),
    ("W406", WARNING, "REMOVE is cancelled by a REPLACE or JITTER of the same field (deid leaves the value)", DEID),
    ("W407", WARNING, "field expression matches more than it says under deid", DEID),
    ("W408", WARNING, "KEEP protects nothing under deid", DEID),
    ("W409", WARNING, "filter line operator is ignored by deid", DEID),
    ("W410", WARNING, "criterion values are misaligned under deid", DEID),
    ("W411", WARNING, "deid compares this field differently", DEID),
    ("W412", WARNING, "deid would crash on this line", DEID),
    ("W413", WARNING, "values: list is a regular expression under deid", DEID),
    ("W414", WARNING, "deid option spelling", DEID),
    ("W415", WARNING, "truthy REMOVE value", DEID, "retired: W309"),
    ("W416", WARNING, "JITTER selects elements that are not dates (DA/DT): deid guesses dates in them", DEID),
    ("W417", WARNING, "ADD by tag number gives a new element VR ST under deid", DEID),
    ("W418", WARNING, "deid ignores the value of KEEP", DEID),
    ("W419", WARNING, "deid matches nothing with a repeating-group keyword", DEID),
    ("W420", WARNING, "a %values and a %fields group share a name: deid keeps one", DEID),
    # --- apply time
    ("R001", ERROR, "a func: callable raised"),
    ("R002", ERROR, "a var: has no value for this dataset"),
    ("R003", ERROR, "value cannot be stored in the element's VR"),
    ("R004", ERROR, "action failed on this dataset"),
    ("R005", ERROR, "a keyed function has no usable key"),
    ("R006", ERROR, "no row in a lookup table for this dataset's key"),
    ("R007", ERROR, "a lookup table the recipe names was not given"),
)

#: ``allow`` value that lets every finding through (``deidc run --allow all``).
ALLOW_ALL = "all"


def is_deid_note(diagnostic: Diagnostic) -> bool:
    """Whether a finding is a note for people leaving deid (shown only when asked)."""
    code = CODES.get(diagnostic.code)
    return code is not None and code.deid


def visible(diagnostics: Iterable[Diagnostic], *, deid_compat: bool = False) -> list[Diagnostic]:
    """The findings to show: deid notes only when ``deid_compat``."""
    return [d for d in diagnostics if deid_compat or not is_deid_note(d)]


def parse_allow(codes: Iterable[str] | bool | None) -> frozenset[str]:
    """``allow`` as a set of codes (``{"all"}`` for everything); :class:`UnknownCode` names an unknown code.

    ``True`` means every code; ``None``/``False``/``()`` none.
    """
    if codes is True:
        return frozenset((ALLOW_ALL,))
    if not codes:
        return frozenset()
    if isinstance(codes, str):
        codes = [codes]
    out = set()
    for raw in codes:
        code = str(raw).strip()
        if code.lower() == ALLOW_ALL:
            out.add(ALLOW_ALL)
            continue
        code = code.upper()
        if code not in CODES or code.startswith("R"):
            from .suggest import did_you_mean

            known = [c for c in CODES if not c.startswith("R")]
            hint = did_you_mean(code, known) or "codes are listed in docs/diagnostics.md"
            raise UnknownCode(f"unknown diagnostic code '{raw}' ({hint}); or 'all' for every finding")
        out.add(code)
    return frozenset(out)


def refusing(
    diagnostics: Iterable[Diagnostic],
    *,
    allow: Iterable[str] | bool | None = (),
    deid_compat: bool = False,
    strict: bool = False,
) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """The findings that stop a recipe from running, and those ``allow`` let through.

    The one policy that ``deidc run``/``explain``/``clean``, ``deidlang.compile``
    and ``deidlang.compat`` share. A finding stops a run when it is

    * an error (it can leak or lose data, or the line cannot run), or
    * a warning whose code ``refuses`` (the line selects nothing or will not
      do what it says: W201, W301, W303, W304, W306-W309), or
    * a deid note (W4xx, W101, W102) when ``deid_compat`` asks for deid's
      behaviour, or
    * any other warning when ``strict``.

    Returns ``(refused, allowed)``: the stopping findings that ``allow`` (codes,
    or ``"all"``/``True``) does not name, and those it does. Info notes never stop a run.
    """
    allowed_codes = parse_allow(allow)
    everything = ALLOW_ALL in allowed_codes
    refused: list[Diagnostic] = []
    allowed: list[Diagnostic] = []
    for d in diagnostics:
        if d.severity == INFO:
            continue
        code = CODES.get(d.code)
        deid_note = code is not None and code.deid
        if deid_note and not deid_compat:
            continue
        stops = d.is_error or strict or deid_note or (code is not None and code.refuses)
        if not stops:
            continue
        (allowed if everything or d.code in allowed_codes else refused).append(d)
    return refused, allowed


class DeidlangWarning(UserWarning):
    """A recipe finding, emitted by :mod:`deidlang.compat` as a Python warning
    (one per finding); ``diagnostic`` holds it."""

    def __init__(self, message: str, diagnostic: Diagnostic | None = None):
        super().__init__(message)
        self.diagnostic = diagnostic


class DeidlangError(Exception):
    """Base class for every error deidlang raises on purpose."""


class UnknownCode(DeidlangError, ValueError):
    """An ``allow`` code that is no diagnostic code deidlang reports."""


class RecipeError(DeidlangError):
    """A recipe cannot be run as it is: ``refused`` holds the findings that stop it
    (see :func:`refusing`; by default its errors), ``diagnostics`` every finding."""

    def __init__(self, diagnostics: Iterable[Diagnostic], message: str | None = None, *, refused: Iterable[Diagnostic] | None = None):
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        self.refused: tuple[Diagnostic, ...] = tuple(refused) if refused is not None else tuple(d for d in self.diagnostics if d.is_error)
        if message is None:
            shown = self.refused[:5]
            lines = [f"{d.file}:{d.line}:{d.column}: {d.code} {d.message}" for d in shown]
            more = f"\n... and {len(self.refused) - len(shown)} more" if len(self.refused) > len(shown) else ""
            errors = sum(d.is_error for d in self.refused)
            if errors == len(self.refused):
                head = f"recipe has {errors} error(s):"
            else:
                codes = list(dict.fromkeys(d.code for d in self.refused))
                head = (
                    f"recipe refused: {len(self.refused)} finding(s) mean a line selects nothing or will not do what it says "
                    f"(to run it anyway, allow them: allow={codes!r}):"
                )
            message = head + "\n" + "\n".join(lines) + more
        super().__init__(message)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)


class ApplyError(DeidlangError):
    """Applying a compiled recipe to one dataset failed.

    Names the recipe place (``recipe``, ``line``), the action, the element and
    the input file. The original exception, if any, is the ``__cause__``.
    Messages name tags and files, never element values.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "R004",
        recipe: str = "<string>",
        span: Span | None = None,
        action: str = "",
        element: str = "",
        path: str | None = None,
    ):
        self.code = code
        self.recipe = recipe
        self.span = span
        self.action = action
        self.element = element
        self.path = path
        where = f"{recipe}:{span.line}:{span.column}" if span else recipe
        parts = [f"{where}: {code} {message}"]
        if action:
            parts.append(f"action {action}")
        if element:
            parts.append(f"element {element}")
        if path:
            parts.append(f"file {path}")
        super().__init__(" | ".join(parts))
        self.message = message

    def with_path(self, path: str | None) -> ApplyError:
        """The same error, naming the input file."""
        err = ApplyError(
            self.message,
            code=self.code,
            recipe=self.recipe,
            span=self.span,
            action=self.action,
            element=self.element,
            path=path,
        )
        err.__cause__ = self.__cause__
        return err

    def as_diagnostic(self) -> Diagnostic:
        span = self.span or Span(1, 1, 1, 1)
        hint = " ".join(p for p in (f"while applying to {self.path}" if self.path else "", f"element {self.element}" if self.element else "") if p)
        return Diagnostic.at(span, self.code, self.message, hint, file=self.recipe)
