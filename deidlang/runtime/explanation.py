"""What :func:`deidlang.runtime.explain.explain` finds, as data, and how it is printed:
an :class:`Explanation` holds one :class:`ElementExplanation` per element (its outcome,
the :class:`Rule` that decided it, the lines it :class:`Shadowed`); :func:`to_dict`,
:func:`render_json` and :func:`render_text` print it, with element values only when
asked (``show_values``): explanations end up in logs and reports.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from .universe import keyword_of, tag_string

__all__ = ["OUTCOMES", "Rule", "Shadowed", "ElementExplanation", "Explanation", "to_dict", "render_json", "render_text"]

PRIVATE_NOTE = "removed with every private element (--remove-private)"


#: What can happen to an element, in the order counts are listed.
OUTCOMES = ("removed", "blanked", "changed", "added", "unchanged", "kept")


@attrs.frozen
class Rule:
    """One recipe line: where it is and what it says (recipe text, never data)."""

    recipe: str
    line: int
    action: str  # ADD, REPLACE, BLANK, REMOVE, JITTER, KEEP, ... (the step's kind)
    text: str

    @property
    def location(self) -> str:
        return f"{self.recipe}:{self.line}"

    def as_dict(self) -> dict[str, Any]:
        return {"recipe": self.recipe, "line": self.line, "action": self.action, "text": self.text}


@attrs.frozen
class Shadowed:
    """A line that selected the element but whose effect did not survive, and why."""

    rule: Rule
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {**self.rule.as_dict(), "reason": self.reason}


@attrs.frozen
class ElementExplanation:
    """What happened to one element (at one place in the dataset) and which line decided it.

    ``element``: deid's uid path (``(0008,1140)__0__(0008,1155)``), the key
    ``deidc identifiers`` uses; ``path``: the same with keywords and item
    indexes (``ReferencedImageSequence[0].ReferencedSOPInstanceUID``).
    ``before``/``after``: short display forms of the value (None when the
    element is absent); renderers show them only on request.
    """

    element: str
    path: str
    tag: int
    vr: str
    creator: str | None
    outcome: str
    decided_by: Rule | None
    note: str
    shadowed: tuple[Shadowed, ...]
    before: str | None
    after: str | None

    @property
    def keyword(self) -> str:
        return keyword_of(self.tag)


@attrs.frozen
class Explanation:
    """Every element of one dataset, explained (see the module docstring)."""

    file: str | None
    recipes: tuple[str, ...]
    elements: tuple[ElementExplanation, ...]
    remove_private: bool = False

    def counts(self) -> dict[str, int]:
        """Number of elements per outcome (every outcome listed, zeros included)."""
        out = dict.fromkeys(OUTCOMES, 0)
        for e in self.elements:
            out[e.outcome] = out.get(e.outcome, 0) + 1
        return out

    def actions(self) -> dict[str, int]:
        """Number of elements each kind of line decided (``--remove-private`` included)."""
        out: dict[str, int] = {}
        for e in self.elements:
            if e.outcome in ("kept", "unchanged") and (e.decided_by is None or e.decided_by.action != "KEEP"):
                continue
            key = e.decided_by.action if e.decided_by is not None else ("--remove-private" if e.note == PRIVATE_NOTE else "other")
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items()))

    def changed(self) -> tuple[ElementExplanation, ...]:
        return tuple(e for e in self.elements if e.outcome not in ("kept", "unchanged"))

    def find(self, element: str) -> ElementExplanation | None:
        """The explanation of one element by deid uid path or keyword path."""
        for e in self.elements:
            if element in (e.element, e.path):
                return e
        return None


def to_dict(explanation: Explanation, *, show_values: bool = False, changed_only: bool = False) -> dict[str, Any]:
    """The JSON form (``deidc explain --format json``): values only with ``show_values``."""
    elements = []
    for e in explanation.elements:
        if changed_only and e.outcome in ("kept",):
            continue
        entry: dict[str, Any] = {
            "element": e.element,
            "path": e.path,
            "tag": tag_string(e.tag),
            "keyword": e.keyword,
            "vr": e.vr,
            "outcome": e.outcome,
            "decided_by": e.decided_by.as_dict() if e.decided_by is not None else None,
            "note": e.note,
            "shadowed": [s.as_dict() for s in e.shadowed],
        }
        if show_values:  # private creators are element values too
            entry["creator"] = e.creator
            entry["before"] = e.before
            entry["after"] = e.after
        elements.append(entry)
    return {
        "file": explanation.file,
        "recipes": list(explanation.recipes),
        "remove_private": explanation.remove_private,
        "values_shown": show_values,
        "counts": explanation.counts(),
        "actions": explanation.actions(),
        "elements": elements,
    }


def render_json(explanation: Explanation, *, show_values: bool = False) -> str:
    return json.dumps(to_dict(explanation, show_values=show_values), indent=2, ensure_ascii=False) + "\n"


def _element_label(e: ElementExplanation, show_values: bool) -> str:
    label = e.path
    if e.creator is not None and show_values:  # a creator is an element value too: only on request
        label += f" [{e.creator}]"
    return label


def _quoted(value: str | None) -> str:
    return "(absent)" if value is None else "'" + value.replace("'", "\\'") + "'"


def render_text(explanation: Explanation, *, show_values: bool = False) -> str:
    """One row per element (deid uid, keyword path, VR, outcome, the line that decided it),
    then the lines it shadowed, indented; values only with ``show_values``."""
    rows = []
    for e in explanation.elements:
        by = f"{e.decided_by.location} {e.decided_by.text}" if e.decided_by is not None else ""
        if e.note:
            by = f"{by} ({e.note})" if by else f"({e.note})"
        rows.append((e, e.element, _element_label(e, show_values), e.vr, e.outcome, by))
    w_uid = max((len(r[1]) for r in rows), default=0)
    w_path = max((len(r[2]) for r in rows), default=0)
    w_out = max((len(r[4]) for r in rows), default=0)
    lines = []
    file = explanation.file or "<dataset>"
    recipes = ", ".join(explanation.recipes)
    lines.append(f"{file}: explained with {recipes}" + ("" if show_values else " (values hidden; --show-values prints them)"))
    lines.append("")
    for e, uid, label, vr, outcome, by in rows:
        lines.append(f"{uid:<{w_uid}}  {label:<{w_path}}  {vr:<2}  {outcome:<{w_out}}  {by}".rstrip())
        indent = " " * 4
        if show_values and e.outcome != "kept":
            lines.append(f"{indent}before {_quoted(e.before)}  after {_quoted(e.after)}")
        for s in e.shadowed:
            lines.append(f"{indent}shadows {s.rule.location} {s.rule.text}: {s.reason}")
    counts = explanation.counts()
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    lines.append("")
    total = len(explanation.elements)
    lines.append(f"{total} element{'s' if total != 1 else ''}: {summary or 'none'}")
    return "\n".join(lines) + "\n"
