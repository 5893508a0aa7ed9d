"""The coverage analysis behind ``deidc check --profile basic``: for every row of Table
E.1-1 (:mod:`.profile`), which recipe line handles it (with several recipes applied one
after the other, as ``deidc run`` does, and the KEEP lines of a recipe protecting
elements in the later ones), which rows no line handles, and which lines contradict the
profile. :func:`coverage` makes the :class:`Report`; :func:`render_text` and
:func:`render_json` print it.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

import attrs

from ..lang import nodes
from .profile import DUMMY_FOR_X, EDITION, EMPTY_FOR_X, PROFILE, Row, option, rows

__all__ = ["ALLOWED", "STATUSES", "Handling", "Report", "coverage", "render_text", "render_json"]


#: What each code allows: the effects of a recipe that satisfy it.
ALLOWED: dict[str, frozenset[str]] = {
    "D": frozenset("D"),
    "Z": frozenset("ZD"),
    "X": frozenset("X"),
    "K": frozenset("K"),
    "C": frozenset("C"),
    "U": frozenset("U"),
    "X/Z": frozenset("XZ"),
    "X/D": frozenset("XD"),
    "Z/D": frozenset("ZD"),
    "X/Z/D": frozenset("XZD"),
    "X/Z/U*": frozenset("XZUK"),
}
STATUSES = ("contradicts", "gap", "differs", "stricter", "ok")
_EFFECT_WORDS = {
    "X": "removes it",
    "Z": "empties it",
    "D": "replaces it with a value that is not the original",
    "U": "replaces the UID with a consistent keyed one",
    "C": "keeps it modified (shifted or cleaned)",
    "K": "keeps it",
}


@attrs.frozen
class Handling:
    """How the recipes treat one row."""

    row: Row
    required: str
    status: str  # one of STATUSES
    effect: str  # X Z D U C K, or "" when no line handles the row
    line: tuple[str, int, int, str] | None  # file, line, column, text of the deciding line
    note: str = ""

    def to_dict(self) -> dict:
        r = self.row
        return {
            "tag": f"({r.pattern.upper()})" if r.pattern != "private" else "private",
            "keyword": r.keyword,
            "name": r.name,
            "code": r.code,
            "required": self.required,
            "status": self.status,
            "effect": self.effect,
            "line": None if self.line is None else {"file": self.line[0], "line": self.line[1], "column": self.line[2], "text": self.line[3]},
            "note": self.note,
        }


@attrs.frozen
class Report:
    recipes: tuple[str, ...]
    options: tuple[str, ...]
    handlings: tuple[Handling, ...]

    def count(self, status: str) -> int:
        return sum(1 for h in self.handlings if h.status == status)

    @property
    def failed(self) -> bool:
        """Gaps or contradictions (``--strict`` exits 1 on these)."""
        return any(h.status in ("gap", "contradicts") for h in self.handlings)


@attrs.frozen
class _Line:
    file: str
    line: nodes.ActionLine
    selector: Any  # a static runtime selector, or None when it depends on the data
    creator_keep: bool  # KEEP of private elements by creator (safe private)

    @property
    def where(self) -> tuple[str, int, int, str]:
        return (self.file, self.line.span.line, self.line.span.column, _line_text(self.line))


def _line_text(line: nodes.ActionLine) -> str:
    parts = [line.action, line.field.text]
    v = line.value
    if v is not None:
        parts.append(v.raw if isinstance(v, nodes.Literal) and v.raw else v.text)
    return " ".join(parts)


def _selector(line: nodes.ActionLine, recipe: nodes.Recipe):
    from ..compiler import selector_for
    from ..runtime import selectors

    field = line.field
    if isinstance(field, (nodes.UidPath, nodes.NestedName)):
        return None  # one place, or inside one sequence only: not the whole row
    if isinstance(field, nodes.GroupRef):
        if field.kind == "values":
            return None
        members = []
        for g in recipe.groups("fields").get(field.name, ()):
            if isinstance(g.field, (nodes.UidPath, nodes.NestedName, nodes.GroupRef)):
                continue
            try:
                members.append(selector_for(g.field))
            except re.error:
                continue
        return _AnyOf(tuple(members)) if members else None
    try:
        sel = selector_for(field)
    except re.error:
        return None
    if isinstance(sel, selectors.UidPath) or not getattr(sel, "static", False):
        return None
    return sel


@attrs.frozen
class _AnyOf:
    members: tuple

    def matches(self, info) -> bool:
        return any(m.matches(info) for m in self.members)


def _lines(name: str, recipe: nodes.Recipe) -> list[_Line]:
    out = []
    for line in recipe.header:
        sel = _selector(line, recipe)
        creator_keep = line.action == "KEEP" and (
            isinstance(line.field, nodes.PrivateTag)
            or (isinstance(line.field, nodes.Expander) and line.field.kind == "select" and line.field.argument.lower().startswith("creator:"))
        )
        out.append(_Line(name, line, sel, creator_keep))
    return out


def _info(row: Row):
    from ..runtime.universe import FieldInfo

    if row.pattern == "private":
        return FieldInfo(0x00091010, "", "deidlang profile probe", "LO")
    if row.tag is None:
        tag = {"50xx,xxxx": 0x50003000, "60xx,3000": 0x60003000, "60xx,4000": 0x60004000}[row.pattern]
        return FieldInfo(tag, "", None, None)
    return FieldInfo(row.tag, row.keyword, None, row.vr or None)


def _value_effect(v: nodes.Value | None, vr: str) -> tuple[str, str]:
    """(effect, note) of a value that replaces or sets an element."""
    if isinstance(v, nodes.DeidFunc):
        n = v.name
        if n == "hashuid":
            return "U", ""
        if n == "pydicom_uuid":
            stable = all(not (a.name == "stable_remapping" and a.value == "false") for a in v.args)
            if stable:
                return "U", "unkeyed hash: deid_func:pydicom_uuid can be recomputed from the original UID (use deid_func:hashuid)"
            return ("R", "a new random UID on every file: references between files break") if vr == "UI" else ("D", "")
        if n in ("dicom_uuid", "basic_uuid", "suffix_uuid"):
            return ("R", "a new random value on every file: references between files break") if vr == "UI" else ("D", "")
        if n in ("dateshift", "jitter", "scrub", "cleancontent", "cleangraphics", "safeharbor"):
            return "C", ""
        return "D", ""  # dummy, hashid, code, append
    if isinstance(v, nodes.Literal):
        return ("L", "one fixed UID for every file: distinct objects collide") if vr == "UI" else ("D", "")
    return "D", ""  # var: / func: (a value you supply)


def _effect(line: nodes.ActionLine, vr: str) -> tuple[str, str]:
    action = line.action
    if action == "REMOVE":
        return ("X", "") if line.value is None else ("?", "")
    if action == "BLANK":
        return "Z", ""
    if action == "JITTER":
        return "C", ""
    if action == "KEEP":
        return ("K", "") if not isinstance(line.value, nodes.DeidFunc) else _value_effect(line.value, vr)
    return _value_effect(line.value, vr)


def _status(required: str, effect: str, row: Row) -> tuple[str, str]:
    allowed = ALLOWED.get(required, frozenset())
    if effect in allowed:
        return "ok", ""
    if required == "X" and effect == "Z" and row.keyword in EMPTY_FOR_X:
        return "ok", "emptied: Type 2C (present, possibly empty, for an animal); nothing of the original stays"
    if required == "X" and effect == "D" and row.keyword in DUMMY_FOR_X:
        return "ok", "a dummy value: Type 1 in a presentation state; nothing of the original stays"
    if required == "U" or (required.endswith("U*") and effect in ("L", "R")):
        if effect in ("K", "C"):
            return "contradicts", "keeps the original UID"
        return "contradicts", "UIDs must be replaced by consistent new UIDs, not " + {
            "X": "removed",
            "Z": "emptied",
            "D": "dummy values",
            "L": "a fixed value",
            "R": "random values",
        }.get(effect, effect)
    if effect in ("L", "R"):
        effect = "D"
        if effect in allowed:
            return "ok", ""
    if effect in ("K", "C") and required not in ("K", "C"):
        return "contradicts", "keeps information the profile does not allow here" + (" (no option selected allows it)" if row.options else "")
    if effect == "K" and required == "C":
        return "contradicts", "keeps it as it is; the option asks for a cleaned or modified value"
    if required in ("K", "C"):
        return "stricter", "the selected option allows keeping it"
    if effect == "X" and "X" not in allowed:
        return "differs", "removes it; the profile keeps the element (empty or dummy) so that the object stays valid"
    return "differs", "no original information stays, but not the action the profile lists"


def _handle(row: Row, chain: Sequence[list[_Line]], opts: tuple[str, ...]) -> Handling:
    required = row.required(opts)
    info = _info(row)
    vr = row.vr
    decided: tuple[str, _Line] | None = None
    notes: list[str] = []
    gone = False
    private_kept: _Line | None = None
    for lines in chain:
        if decided is not None and decided[0] in ("K",) and decided[1] is not None and decided[1].line.action == "KEEP":
            break  # an earlier recipe KEEPs it: later recipes do not touch it
        selecting = [x for x in lines if x.selector is not None and x.selector.matches(info)]
        if row.pattern == "private":
            private_kept = private_kept or next((x for x in lines if x.creator_keep), None)
        keeps = [x for x in selecting if x.line.action == "KEEP"]
        if keeps:
            eff, note = _effect(keeps[0].line, vr)
            decided = (eff, keeps[0])
            if note:
                notes.append(note)
            if decided[0] != "K":
                decided = (eff, keeps[0])
            for x in selecting:
                if x.line.action == "ADD":
                    decided = (_value_effect(x.line.value, vr)[0], x)
            break
        spared = any(x.line.action in ("REPLACE", "JITTER") and not isinstance(x.line.field, nodes.GroupRef) for x in selecting)
        for x in selecting:
            eff, note = _effect(x.line, vr)
            if eff == "?":
                notes.append(f"{x.file}:{x.line.span.line}: removes it only when its value matches")
                continue
            if x.line.action == "REMOVE" and spared:
                continue
            if gone and x.line.action != "ADD":
                continue
            if note:
                notes.append(note)
            decided = (eff, x)
            gone = eff == "X"
    if row.pattern == "private" and private_kept is not None and (decided is None or decided[0] == "X"):
        decided = ("C", private_kept)
        notes.append("private elements of the listed creators are kept")
    if decided is None:
        if required == "K":
            return Handling(row, required, "ok", "K", None, "kept: no line needed")
        if required == "X/Z/U*":
            return Handling(row, required, "ok", "K", None, "kept; the UIDs inside follow their own rows")
        note = "no line handles it: the element stays as it is"
        if row.pattern == "private":
            note += " (deidc run removes private elements unless --keep-private)"
        return Handling(row, required, "gap", "", None, note)
    effect, line = decided
    status, why = _status(required, effect, row)
    shown = {"L": "D", "R": "D"}.get(effect, effect)
    return Handling(row, required, status, shown, line.where, "; ".join(n for n in [why, *notes] if n))


def coverage(recipes: Sequence[tuple[str, nodes.Recipe]], options: Iterable[str] = ()) -> Report:
    """How the recipes (applied in this order) handle every row, with these options."""
    opts = tuple(options)
    for name in opts:
        option(name)  # KeyError for an unknown option
    chain = [_lines(name, recipe) for name, recipe in recipes]
    handlings = tuple(_handle(row, chain, opts) for row in rows())
    return Report(tuple(name for name, _ in recipes), opts, handlings)


def render_json(report: Report) -> str:
    import json

    data = {
        "profile": {"code": PROFILE[0], "meaning": PROFILE[1], "edition": EDITION},
        "options": [{"name": o, "code": option(o).code, "meaning": option(o).meaning} for o in report.options],
        "recipes": list(report.recipes),
        "summary": {s: report.count(s) for s in STATUSES} | {"rows": len(report.handlings)},
        "rows": [h.to_dict() for h in report.handlings],
    }
    return json.dumps(data, indent=2) + "\n"


def render_text(report: Report, *, all_rows: bool = False) -> str:
    head = [
        f"profile: {PROFILE[1]} (DICOM PS3.15 {EDITION} Table E.1-1, {len(report.handlings)} rows)",
        "options: " + (", ".join(f"{o} ({option(o).code or 'HIPAA'})" for o in report.options) or "none"),
        "recipes: " + ", ".join(report.recipes) + (" (applied in this order)" if len(report.recipes) > 1 else ""),
        "",
    ]
    out = list(head)
    shown = STATUSES if all_rows else ("contradicts", "gap")
    width = min(max((len(h.row.label) for h in report.handlings), default=20), 44)
    for status in shown:
        group = [h for h in report.handlings if h.status == status]
        if not group:
            continue
        out.append(f"{status} ({len(group)}):")
        for h in group:
            if h.line is None:
                out.append(f"  {h.row.label:<{width}}  {h.required:<6} {h.note}")
                continue
            out.append(f"  {h.row.label:<{width}}  {h.required:<6} {h.line[0]}:{h.line[1]}: {h.line[3]}")
            if h.note:
                out.append(f"  {'':<{width}}  {'':<6} ({h.note})")
        out.append("")
    summary = ", ".join(f"{report.count(s)} {s}" for s in STATUSES)
    out.append(f"{len(report.handlings)} rows: {summary}")
    if not all_rows and any(report.count(s) for s in ("differs", "stricter", "ok")):
        out.append("(--all lists every row with the line that handles it)")
    return "\n".join(out) + "\n"
