"""Why each element of a dataset ends up as it does: ``deidc explain`` and ``deidc run --dry-run``.

:func:`explain` applies compiled recipes to a *copy* of a dataset with a
:class:`Tracer` attached, then compares the copy with the original element
by element (nested ones and file meta included). Each element gets an
:class:`ElementExplanation`: what happened to it (``removed``, ``changed``,
``blanked``, ``added``, ``kept`` or ``unchanged``), the recipe line that
decided it (``file:line`` and the line's text) and the lines it *shadowed*:
lines that selected the element but whose effect did not survive (a REMOVE
cancelled by deid's exclusion rule because a REPLACE/JITTER names the
element, a line hidden by KEEP, a change overwritten by a later line, a
line that found the element already removed, a REMOVE whose condition did
not hold).

Why a tracer and not a diff alone: a diff says *what* changed, only the
runtime knows *which line* did it. The tracer sees each step's selection
(the same ``Run.select`` the step uses), records the state of the selected
elements before and after the step, and reads the runtime's own
bookkeeping (``Run.spared``, ``Run.failed``, KEEP's hidden fields) to say
why a line had no effect. ``Program.apply`` pays one ``None`` check per
step when no tracer is given.

Element values are kept in the :class:`Explanation` (``before``/``after``,
short display strings, and the private creator of private elements) but the
renderers print them only when asked (``show_values``): explanations end up
in logs and reports.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Iterable, Mapping

import attrs
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from .explanation import OUTCOMES, PRIVATE_NOTE, ElementExplanation, Explanation, Rule, Shadowed, render_json, render_text, to_dict
from .universe import keyword_of, tag_string

__all__ = [
    "Rule",
    "Shadowed",
    "ElementExplanation",
    "Explanation",
    "Tracer",
    "explain",
    "render_text",
    "render_json",
    "to_dict",
    "OUTCOMES",
]


_EFFECTS = frozenset({"set", "blanked", "removed", "cascade", "added"})
_MAX_SHOWN = 80


# =========================================================================== results


# =========================================================================== the tracer


@attrs.define
class _Event:
    order: tuple[int, int]  # (program index, step index): the order steps ran in
    rule: Rule | None
    effect: str  # set | blanked | removed | cascade | added | spared | noop | kept | protected
    reason: str = ""


@attrs.frozen
class _Tables:
    """Per-Program facts the tracer needs, computed once per Program."""

    rules: tuple[Rule, ...]
    by_selector: Mapping[int, tuple[int, ...]]  # selector index -> step indexes
    keep_steps: tuple[int, ...]
    exclusion_steps: tuple[int, ...]
    index: Mapping[int, int]  # id(step) -> step index (steps compare by value: two equal lines are two steps)


def _verb(step: Any) -> str:
    """The recipe verb of a step (``REMOVE`` for ``REMOVE select:private`` too)."""
    text = getattr(step, "text", "")
    word = text.split(None, 1)[0].upper() if isinstance(text, str) and text.strip() else ""
    return word if word.isalpha() else type(step).__name__.upper()


class Tracer:
    """Records, step by step, which recipe line did what to which element.

    Handed to ``Program.apply(..., trace=tracer)``: the Program calls
    :meth:`start` once its universe is built and :meth:`step` instead of
    running each step itself. One tracer may follow several Programs
    applied one after the other (set :attr:`program_index` between them).
    """

    def __init__(self) -> None:
        self.program_index = 0
        self.events: dict[str, list[_Event]] = {}
        self.candidates: dict[str, list[tuple[tuple[int, int], Rule, bool]]] = {}  # uid -> (order, rule, is_keep)
        self.creators: dict[str, str] = {}
        self._tables: dict[int, _Tables] = {}

    # -- bookkeeping
    def _tables_for(self, program) -> _Tables:
        tables = self._tables.get(id(program))
        if tables is None:
            rules = tuple(Rule(program.name, step.span.line, _verb(step), step.text) for step in program.steps)
            by_sel: dict[int, list[int]] = {}
            for i, step in enumerate(program.steps):
                sel = getattr(step, "selector", None)
                if isinstance(sel, int):
                    by_sel.setdefault(sel, []).append(i)
            keep = set(program.keep)
            exclusion = set(program.exclusion)
            keep_steps = tuple(i for s in keep for i in by_sel.get(s, ()) if _verb(program.steps[i]) == "KEEP")
            exclusion_steps = tuple(sorted(i for s in exclusion for i in by_sel.get(s, ()) if _verb(program.steps[i]) in ("REPLACE", "JITTER")))
            index = {id(step): i for i, step in enumerate(program.steps)}
            tables = _Tables(rules, {k: tuple(v) for k, v in by_sel.items()}, tuple(sorted(keep_steps)), exclusion_steps, index)
            self._tables[id(program)] = tables
        return tables

    def _record(self, uid: str, order: tuple[int, int], rule: Rule | None, effect: str, reason: str = "") -> None:
        self.events.setdefault(uid, []).append(_Event(order, rule, effect, reason))

    # -- hooks called by Program.apply
    def start(self, run) -> None:
        """After the universe is built: which lines select which element, and what KEEP hides."""
        program = run.program
        tables = self._tables_for(program)
        pi = self.program_index
        skip_tags = program.skip.tags
        keep_sel = set(program.keep)
        keep_by_tag: dict[int, int] = {}
        for f in run.fields:
            if f.owner is None and f.ids and not keep_sel.isdisjoint(f.ids):
                keep_by_tag.setdefault(f.tag_int, self._first_keep(tables, f.ids))
        hidden_reason: dict[int, tuple[str, Rule | None]] = {}
        for f in run.fields:
            uid = f.uid
            steps = sorted({i for s in f.ids for i in tables.by_selector.get(s, ())})
            if steps:
                bucket = self.candidates.setdefault(uid, [])
                bucket.extend(((pi, i), tables.rules[i], _verb(program.steps[i]) == "KEEP") for i in steps)
            if f.visible:
                continue
            if f.tag_int in skip_tags:
                why: tuple[str, Rule | None] = ("protected", None)
            elif f.ids and not keep_sel.isdisjoint(f.ids):
                why = ("kept", tables.rules[self._first_keep(tables, f.ids)])
            elif f.owner is not None and id(f.owner) in hidden_reason:
                effect, rule = hidden_reason[id(f.owner)]
                why = (effect, rule)
            elif f.tag_int in keep_by_tag:
                why = ("kept", tables.rules[keep_by_tag[f.tag_int]])
            else:
                why = ("kept", None)
            inherited = f.owner is not None and id(f.owner) in hidden_reason
            hidden_reason[id(f)] = why
            reason = ""
            if inherited and f.tag_int not in skip_tags:
                reason = "inside a protected element" if why[0] == "protected" else "inside a kept sequence"
            self._record(uid, (pi, -1), why[1], why[0], reason)
        self._protected_top(run, tables, skip_tags)

    def _protected_top(self, run, tables: _Tables, skip_tags: frozenset) -> None:
        """Top-level elements of the skip list, which the universe leaves out when no KEEP asks
        for them: which lines would have selected them."""
        program = run.program
        built = {f.tag_int for f in run.fields if f.owner is None}
        meta = run.ds.__dict__.get("file_meta")
        for tag in skip_tags:
            if tag in built:
                continue
            d = meta if (tag >> 16) == 2 else run.ds
            if not isinstance(d, Dataset) or tag not in d._dict:
                continue
            try:
                ids, _ = program._answer(tag, None, None, d)
            except Exception:  # noqa: BLE001 - the explanation must not fail on a matcher detail
                ids = ()
            uid = tag_string(tag)
            steps = sorted({i for s in ids for i in tables.by_selector.get(s, ())})
            bucket = self.candidates.setdefault(uid, [])
            bucket.extend(((self.program_index, i), tables.rules[i], _verb(program.steps[i]) == "KEEP") for i in steps)
            self._record(uid, (self.program_index, -1), None, "protected")

    @staticmethod
    def _first_keep(tables: _Tables, ids: Iterable[int]) -> int:
        ids = set(ids)
        for i in tables.keep_steps:
            for s, steps in tables.by_selector.items():
                if i in steps and s in ids:
                    return i
        return tables.keep_steps[0] if tables.keep_steps else 0

    def step(self, run, step) -> None:
        """Run one step and record its effect on every element it selected."""
        program = run.program
        tables = self._tables_for(program)
        index = tables.index[id(step)]
        order = (self.program_index, index)
        rule = tables.rules[index]
        verb = rule.action
        selector = getattr(step, "selector", None)
        if verb == "KEEP":
            if getattr(step, "value", None) is not None:  # KEEP ... deid_func: sets what it protects
                self._opaque(run, step, order, rule)
            else:
                step(run)
            return
        if verb == "ADD":
            self._add(run, step, order, rule)
            return
        if not isinstance(selector, int):
            self._opaque(run, step, order, rule)
            return
        fields = run.select(selector)
        before = []
        for f in fields:
            before.append((f, _field_state(f), _alive_descendants(f)))
        spared = set(run.spared)
        failed = set(run.failed)
        step(run)
        for f, state, descendants in before:
            uid = f.uid
            if not f.alive:
                if f.dkey not in f.parent._dict:
                    self._record(uid, order, rule, "removed")
                else:
                    self._record(uid, order, rule, "cascade", "with its sequence")
            else:
                after = _field_state(f)
                if after != state:
                    self._record(uid, order, rule, "blanked" if _is_empty(after) else "set")
                elif run.spared.get(id(f)) is step and id(f) not in spared:
                    self._record(uid, order, rule, "spared", self._spared_reason(tables, f))
                elif id(f) in run.failed and id(f) not in failed:
                    self._record(uid, order, rule, "noop", f"no effect: {run.failed[id(f)][2]}")
                else:
                    self._record(uid, order, rule, "noop", _noop_reason(verb, step, state))
            for d in descendants:
                if not d.alive:
                    owner = f.tag
                    self._record(d.uid, order, rule, "cascade", f"with its sequence {owner}")

    def _spared_reason(self, tables: _Tables, f) -> str:
        ids = set(f.ids)
        names = [tables.rules[i].location for i in tables.exclusion_steps if any(i in tables.by_selector.get(s, ()) for s in ids)]
        who = ", ".join(names) if names else "a REPLACE or JITTER line"
        return f"cancelled: {who} names this element (a REMOVE never deletes an element a REPLACE or JITTER names)"

    def _add(self, run, step, order: tuple[int, int], rule: Rule) -> None:
        ds = run.ds
        meta = ds.__dict__.get("file_meta")
        keys_before = set(ds._dict) | (set(meta._dict) if isinstance(meta, Dataset) else set())
        tag = _add_tag(run, step)
        state = _element_state(ds, meta, tag)
        step(run)
        meta = ds.__dict__.get("file_meta")
        tag_after = _add_tag(run, step)
        after = _element_state(ds, meta, tag_after)
        if tag_after is None or after is _ABSENT:
            self._record(tag_string(tag) if tag is not None else rule.text, order, rule, "noop", "no effect: no value to add")
        else:
            uid = tag_string(tag_after)
            if state is _ABSENT:
                self._record(uid, order, rule, "added")
            elif after != state:
                self._record(uid, order, rule, "blanked" if _is_empty(after) else "set")
            else:
                self._record(uid, order, rule, "noop", "no effect: the element already has this value")
        keys_after = set(ds._dict) | (set(meta._dict) if isinstance(meta, Dataset) else set())
        for new in sorted(int(k) for k in keys_after - keys_before):
            if new != tag_after:
                self._record(tag_string(new), order, rule, "added", "private creator of the block this line writes to")

    def _opaque(self, run, step, order: tuple[int, int], rule: Rule) -> None:
        """A step of a kind the tracer does not know: compare the whole dataset around it."""
        before = {e.uid: e.state for e in _walk(run.ds)}
        step(run)
        after = {e.uid: e.state for e in _walk(run.ds)}
        for uid in before.keys() | after.keys():
            old, new = before.get(uid, _ABSENT), after.get(uid, _ABSENT)
            if old == new:
                continue
            if new is _ABSENT:
                self._record(uid, order, rule, "removed")
            elif old is _ABSENT:
                self._record(uid, order, rule, "added")
            else:
                self._record(uid, order, rule, "blanked" if _is_empty(new) else "set")

    # -- the result
    def explanation(self, original: Dataset, result: Dataset, *, file: str | None, recipes: Iterable[str], remove_private: bool) -> Explanation:
        before = {e.uid: e for e in _walk(original)}
        after = {e.uid: e for e in _walk(result)}
        uids = sorted(before.keys() | after.keys(), key=_uid_key)
        elements: dict[str, ElementExplanation] = {}
        for uid in uids:  # parents come before their items' elements
            old, new = before.get(uid), after.get(uid)
            explained = self._explain_one(uid, old, new, remove_private)
            parent = elements.get(_parent_uid(uid)) if "__" in uid else None
            if parent is not None and explained.decided_by is None and not self.events.get(uid):
                explained = _inherit(explained, parent)
            elements[uid] = explained
        return Explanation(file, tuple(recipes), tuple(elements.values()), remove_private)

    def _explain_one(self, uid: str, old: _State | None, new: _State | None, remove_private: bool) -> ElementExplanation:
        events = sorted(self.events.get(uid, ()), key=lambda e: e.order)
        effective = [e for e in events if e.effect in _EFFECTS]
        hidden = [e for e in events if e.effect in ("kept", "protected")]
        some = new if new is not None else old
        assert some is not None
        if new is None:
            outcome = "removed"
        elif old is None:
            outcome = "added"
        elif new.state != old.state:
            outcome = "blanked" if _is_empty(new.state) else "changed"
        elif any(e.effect not in ("kept", "protected") for e in events) and not hidden:
            outcome = "unchanged"
        else:
            outcome = "kept"
        decided: _Event | None = None
        note = ""
        if effective:
            decided = effective[-1]
            if outcome in ("kept", "unchanged"):
                note = "ends with its original value"
            elif decided.effect == "cascade":
                note = f"removed {decided.reason}"
            elif decided.reason:
                note = decided.reason
        elif outcome == "kept":
            if hidden:
                decided = hidden[0]
                if decided.effect == "protected":
                    note = "protected by deid's skip list" + (f" ({decided.reason})" if decided.reason else "")
                elif decided.reason:
                    note = decided.reason
            else:
                note = "no line selects it"
        elif outcome == "removed" and remove_private and (some.tag >> 16) & 1:
            note = PRIVATE_NOTE
        elif outcome == "unchanged":
            note = "selected, but no line changed it"
        else:
            note = "not changed by a recipe line (a func: that edits the dataset?)"
        shadowed = self._shadowed(uid, events, decided, new is None)
        return ElementExplanation(
            element=uid,
            path=some.path,
            tag=some.tag,
            vr=some.vr,
            creator=some.creator,
            outcome=outcome,
            decided_by=decided.rule if decided is not None else None,
            note=note,
            shadowed=shadowed,
            before=old.shown if old is not None else None,
            after=new.shown if new is not None else None,
        )

    def _shadowed(self, uid: str, events: list[_Event], decided: _Event | None, gone: bool) -> tuple[Shadowed, ...]:
        out: list[Shadowed] = []
        seen: set[tuple[tuple[int, int], str]] = set()
        removal = next((e for e in events if e.effect in ("removed", "cascade")), None)
        hidden = next((e for e in events if e.effect in ("kept", "protected")), None)
        for e in events:
            if e is decided or e.rule is None:
                continue
            if e.effect in _EFFECTS:
                if decided is not None and decided.rule is not None and decided.order > e.order:
                    what = "then removed by" if decided.effect in ("removed", "cascade") else "overwritten by"
                    if e.effect in ("removed", "cascade"):
                        what = "re-created by"
                    reason = f"{what} {decided.rule.location}"
                else:
                    reason = "no lasting effect"
            elif e.effect == "kept":
                reason = (
                    "KEEP does not stop ADD"
                    if decided is not None and decided.rule is not None and decided.rule.action == "ADD"
                    else "KEEP protects this element"
                )
            else:
                reason = e.reason or "no effect"
            seen.add((e.order, e.rule.text))
            out.append(Shadowed(e.rule, reason))
        for order, rule, is_keep in sorted(self.candidates.get(uid, ()), key=lambda c: c[0]):
            if any(e.order == order and e.rule == rule for e in events):
                continue
            if (order, rule.text) in seen:
                continue
            seen.add((order, rule.text))
            if is_keep:
                if hidden is not None:
                    continue
                reason = "KEEP does not protect this element"
            elif hidden is not None:
                reason = (
                    "not applied: protected by deid's skip list"
                    if hidden.effect == "protected"
                    else f"not applied: KEEP at {hidden.rule.location} protects this element"
                    if hidden.rule
                    else "not applied: KEEP protects this element"
                )
            elif removal is not None and removal.order < order and removal.rule is not None:
                reason = f"not applied: already removed by {removal.rule.location}"
            else:
                reason = "not applied"
            out.append(Shadowed(rule, reason))
        return tuple(out)


def _parent_uid(uid: str) -> str:
    return uid.rsplit("__", 2)[0]


def _inherit(e: ElementExplanation, parent: ElementExplanation) -> ElementExplanation:
    """An element no line selected, inside a sequence that was removed, emptied or kept:
    the sequence's line decided it too."""
    if e.outcome == "removed" and parent.outcome in ("removed", "blanked"):
        how = "emptied" if parent.outcome == "blanked" else "removed"
        note = f"{how} with its sequence {tag_string(parent.tag)}"
        if parent.decided_by is None and parent.note:
            note = f"{note}: {parent.note}"
        return attrs.evolve(e, decided_by=parent.decided_by, note=note)
    if e.outcome == "kept" and parent.outcome == "kept" and parent.decided_by is not None:
        return attrs.evolve(e, decided_by=parent.decided_by, note="inside a kept sequence")
    if e.outcome == "kept" and parent.outcome == "kept" and parent.note.startswith("protected"):
        return attrs.evolve(e, note="protected by deid's skip list (inside a protected element)")
    return e


def _noop_reason(verb: str, step: Any, state: Any) -> str:
    if verb == "REMOVE" and getattr(step, "value", None) is not None:
        return "no effect: its condition did not hold"
    if verb == "JITTER" and _is_empty(state):
        return "no effect: empty values are not jittered"
    if verb == "BLANK" and _is_empty(state):
        return "no effect: already empty"
    if verb in ("REPLACE", "JITTER"):
        return "no effect: the element already has this value"
    return "no effect"


def _add_tag(run, step) -> int | None:
    resolve = getattr(step, "_resolve_tag", None)
    if resolve is None:
        return getattr(step, "tag", None)
    try:
        return resolve(run, create=False)
    except Exception:  # noqa: BLE001 - a block that cannot be read: no tag
        return None


_ABSENT = object()


def _element_state(ds: Dataset, meta: Any, tag: int | None) -> Any:
    if tag is None:
        return _ABSENT
    target = meta if (tag >> 16) == 2 else ds
    if not isinstance(target, Dataset) or tag not in target._dict:
        return _ABSENT
    return _state(target[tag])


def _field_state(f) -> Any:
    try:
        return _state(f.element)
    except KeyError:
        return _ABSENT


def _alive_descendants(f) -> list:
    if not f.children:
        return []
    out: list = []
    stack = list(f.children)
    while stack:
        d = stack.pop()
        if d.alive:
            out.append(d)
            if d.children:
                stack.extend(d.children)
    return out


# =========================================================================== element states


def _state(elem) -> Any:
    """A value that compares by content; every kind of empty is ``""``."""
    value = elem.value
    if isinstance(value, Sequence):
        return ("SQ", len(value))
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value) if value else ""
    if isinstance(value, (list, tuple, MultiValue)):
        return tuple(str(v) for v in value) if len(value) else ""
    return str(value)


def _is_empty(state: Any) -> bool:
    return state == "" or state == ("SQ", 0)


def _shown(elem) -> str:
    """A short display form of a value (only printed with ``--show-values``)."""
    value = elem.value
    if isinstance(value, Sequence):
        n = len(value)
        return f"<{n} item{'s' if n != 1 else ''}>"
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, (list, tuple, MultiValue)):
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


@attrs.frozen
class _State:
    uid: str
    path: str
    tag: int
    vr: str
    creator: str | None
    state: Any
    shown: str


def _creator_of(d: Dataset, tag: int) -> str | None:
    if not (tag >> 16) & 1 or (tag & 0xFFFF) < 0x1000:
        return None
    ctag = (tag & 0xFFFF0000) | ((tag & 0xFF00) >> 8)
    if ctag not in d._dict:
        return None
    value = d[ctag].value
    return None if value is None else str(value)


def _walk(ds: Dataset) -> list[_State]:
    """Every element of ``ds`` (file meta first, then the body, items depth-first)."""
    out: list[_State] = []
    meta = ds.__dict__.get("file_meta")
    if isinstance(meta, Dataset):
        _walk_into(meta, "", "", out)
    _walk_into(ds, "", "", out)
    return out


def _walk_into(d: Dataset, uid_prefix: str, path_prefix: str, out: list[_State]) -> None:
    for key in sorted(d._dict, key=int):
        tag = int(key)
        elem = d[key]
        own = tag_string(tag)
        kw = keyword_of(tag)
        uid = f"{uid_prefix}{own}"
        path = f"{path_prefix}{kw or own}"
        vr = elem.VR or "UN"
        out.append(_State(uid, path, tag, vr, _creator_of(d, tag), _state(elem), _shown(elem)))
        value = elem.value
        if isinstance(value, Sequence):
            for i, item in enumerate(value):
                if isinstance(item, Dataset):
                    _walk_into(item, f"{uid}__{i}__", f"{path}[{i}].", out)


def _uid_key(uid: str) -> tuple:
    parts = uid.split("__")
    key: list[int] = []
    for i, part in enumerate(parts):
        if i % 2:
            key.append(int(part))
        else:
            tag = int(part[1:5] + part[6:10], 16)
            key.append(tag)
    return tuple(key)


# =========================================================================== entry point


def explain(
    programs: Iterable[Any],
    dataset: Dataset,
    *,
    ids: Mapping[str, Any] | None = None,
    funcs: Mapping[str, Callable] | None = None,
    path: str | None = None,
    remove_private: bool = False,
    **options: Any,
) -> Explanation:
    """Apply ``programs`` (in order) to a copy of ``dataset`` and explain every element.

    The dataset is never changed: the recipes run on a deep copy, and the
    values before are read from another copy. ``options`` are passed to
    ``Program.apply`` (``strip_sequences``, ``disable_skip``, ``config``).
    Raises what ``Program.apply`` raises (:class:`~deidlang.ApplyError`).
    """
    original = copy.deepcopy(dataset)
    work = copy.deepcopy(dataset)
    tracer = Tracer()
    names = []
    filename = getattr(dataset, "filename", None)
    for i, program in enumerate(programs):
        tracer.program_index = i
        names.append(program.name)
        result = program.apply(work, ids=ids, funcs=funcs, path=path, remove_private=remove_private, trace=tracer, **options)
        work = result if result is not None else work
    shown = path if path is not None else (filename if isinstance(filename, str) and filename else None)
    return tracer.explanation(original, work, file=shown, recipes=names, remove_private=remove_private)


# =========================================================================== rendering
