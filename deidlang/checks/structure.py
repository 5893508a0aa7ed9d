"""Checks of a recipe's structure: FORMAT lines, sections, and the verbs of header
actions (E1xx and the structural warnings)."""

from __future__ import annotations

import bisect
from typing import Iterator

from ..lang import nodes
from ..lang.diagnostics import Diagnostic
from ..lang.source import Span
from .context import VALUE_ACTIONS, Context, span_after, sub_span

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
                sub_span(f.span, 0, len(f.keyword)),
                "W412",
                f"deid exits on '{f.keyword}': it removes only the upper-case word 'FORMAT' before reading the value; deidlang accepts it",
                "write `FORMAT dicom`",
            )
        if "#" in ctx.tail(f.span):
            yield ctx.diag(
                f.span,
                "W412",
                "deid exits on a FORMAT line with a comment (it does not strip comments here); deidlang ignores the comment",
                "move the comment to its own line",
            )
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
                    yield ctx.diag(
                        lab.span,
                        "W104",
                        f"empty LABEL '{lab.name}': it has no criteria and no coordinates, so it never flags anything",
                        "add criteria and coordinates, or delete it",
                    )
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
                yield ctx.diag(
                    span_after(a.field.span), "E102", f"'{action}' needs a value after the field", f"write `{action} <field> <value>`, e.g. `{example}`"
                )
        elif action == "KEEP" and isinstance(a.value, nodes.DeidFunc):
            pass  # deidlang: KEEP with a built-in sets the kept elements first (check_values)
        elif action in ("BLANK", "KEEP"):
            yield ctx.diag(a.value.span, "W301", f"'{action}' takes no value: '{_value_text(a.value)}' is ignored", "delete the value")


def _value_text(v: nodes.Value) -> str:
    return v.raw if isinstance(v, nodes.Literal) and v.raw else v.text
