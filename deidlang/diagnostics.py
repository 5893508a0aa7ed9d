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
    code: str
    severity: str
    summary: str


def _codes(*rows: tuple[str, str, str]) -> dict[str, Code]:
    return {code: Code(code, sev, summary) for code, sev, summary in rows}


#: Every diagnostic code deidlang emits. Codes are stable: never reuse one.
#: E1xx/W1xx: syntax and structure (parser); E2xx/W2xx: names (checker);
#: E3xx/W3xx: values and meaning (checker); W4xx: lines deid would run
#: differently from what they say (checker); R0xx: apply time (runtime).
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
    ("W101", WARNING, "missing FORMAT line"),
    ("W102", WARNING, "keyword not in upper case"),
    ("W103", WARNING, "FORMAT given more than once"),
    ("W104", WARNING, "empty section or LABEL block"),
    # --- names
    ("E201", ERROR, "unknown DICOM keyword or tag"),
    ("W201", WARNING, "field matches no DICOM attribute"),
    ("W202", WARNING, "DICOM keyword not in canonical case"),
    ("E203", ERROR, "undefined fields:/values: group"),
    ("W204", WARNING, "variable not supplied by the ids"),
    ("E205", ERROR, "unknown function"),
    ("E206", ERROR, "unknown deid_func"),
    ("E207", ERROR, "bad deid_func argument"),
    ("E208", ERROR, "unknown expander"),
    ("E209", ERROR, "invalid regular expression"),
    ("E210", ERROR, "unknown value representation"),
    ("E211", ERROR, "bad group number"),
    ("E212", ERROR, "bad tag"),
    ("E213", ERROR, "regular expression whose matching cost cannot be bounded"),
    ("W205", WARNING, "retired DICOM keyword"),
    ("W206", WARNING, "group defined twice"),
    ("W207", WARNING, "group defined but never used"),
    # --- values and meaning
    ("E301", ERROR, "JITTER needs a whole number of days"),
    ("E302", ERROR, "bad SPLIT option"),
    ("E303", ERROR, "filter criterion needs a value"),
    ("E304", ERROR, "ADD needs a single creatable element"),
    ("E305", ERROR, "value not valid for the element"),
    ("E306", ERROR, "REPLACE or JITTER of a sequence"),
    ("W301", WARNING, "value ignored by this action"),
    ("W302", WARNING, "coordinates select nothing"),
    ("W303", WARNING, "action has no effect"),
    ("W304", WARNING, "value looks like a reference but is literal text"),
    ("W305", WARNING, "unkeyed hash of an identifier"),
    ("W306", WARNING, "built-in function does not suit this action or element"),
    # --- deid would run this line differently from what it says
    ("W401", WARNING, "trailing comment changes the line under deid"),
    ("W402", WARNING, "quotes are kept in the value under deid"),
    ("W403", WARNING, "deid collapses or drops characters in this value"),
    ("W404", WARNING, "value filter is a plain value under deid"),
    ("W405", WARNING, "deid drops this line in silence"),
    ("W406", WARNING, "REMOVE is cancelled by a REPLACE or JITTER of the same field"),
    ("W407", WARNING, "field expression matches more than it says under deid"),
    ("W408", WARNING, "KEEP protects nothing under deid"),
    ("W409", WARNING, "filter line operator is ignored by deid"),
    ("W410", WARNING, "criterion values are misaligned under deid"),
    ("W411", WARNING, "deid compares this field differently"),
    ("W412", WARNING, "deid would crash on this line"),
    ("W413", WARNING, "values: list is a regular expression under deid"),
    ("W414", WARNING, "deid option spelling"),
    ("W415", WARNING, "truthy REMOVE value"),
    ("W416", WARNING, "JITTER of an element that is not a date (DA/DT)"),
    ("W417", WARNING, "ADD by tag number gives a new element VR ST under deid"),
    ("W418", WARNING, "deid ignores the value of KEEP"),
    ("W419", WARNING, "deid matches nothing with a repeating-group keyword"),
    # --- apply time
    ("R001", ERROR, "a func: callable raised"),
    ("R002", ERROR, "a var: has no value for this dataset"),
    ("R003", ERROR, "value cannot be stored in the element's VR"),
    ("R004", ERROR, "action failed on this dataset"),
    ("R005", ERROR, "a keyed function has no usable key"),
)


class DeidlangError(Exception):
    """Base class for every error deidlang raises on purpose."""


class RecipeError(DeidlangError):
    """A recipe has errors; ``diagnostics`` holds every one of them (and the warnings)."""

    def __init__(self, diagnostics: Iterable[Diagnostic], message: str | None = None):
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        errors = [d for d in self.diagnostics if d.is_error]
        if message is None:
            shown = errors[:5]
            lines = [f"{d.file}:{d.line}:{d.column}: {d.code} {d.message}" for d in shown]
            more = f"\n... and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
            message = f"recipe has {len(errors)} error(s):\n" + "\n".join(lines) + more
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
        hint = " ".join(
            p for p in (f"while applying to {self.path}" if self.path else "", f"element {self.element}" if self.element else "") if p
        )
        return Diagnostic.at(span, self.code, self.message, hint, file=self.recipe)
