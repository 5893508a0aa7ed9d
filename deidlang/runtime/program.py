"""The immutable :class:`Program` (a compiled recipe) and how it applies to pydicom datasets.

``Program.apply`` follows deid 0.4.13's pipeline: strip
sequences / private tags if asked, build the field universe (after the
KEEP pre-pass), compute the ``%values``/``%fields`` groups, run the header
actions in recipe order, then the config's ``put.actions``.

Cost model: every element of a dataset (nested ones included) is walked
once; the static selectors of the Program are evaluated once per distinct
(tag, nested name, private creator, VR) and the answers are cached on the
Program across datasets (the cache is neither pickled nor compared); each
action then reads its ready-made selection. Raw elements that no rule reads
are never converted.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any, Callable, Mapping

import attrs
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from ..dicomio.sequences import convert as convert_sequence
from ..lang.diagnostics import ApplyError, DeidlangError
from . import build, selectors, values
from .context import Run
from .inspection import Inspection
from .selectors import UidPath
from .universe import DEFAULT_SKIP, DicomField, FieldInfo, SkipList, element_vr, keyword_of, walk

__all__ = ["Program", "Cache"]

_CACHE_LIMIT = 200_000


class Cache:
    """Per-Program memo (answers of static selectors per field key, derived
    tables, config plans). Never pickled, never compared: a fresh one is made
    on unpickling."""

    def __init__(self) -> None:
        self.matches: dict = {}
        self.configs: dict = {}
        self.lock = threading.Lock()
        self.derived: tuple | None = None
        self.matcher: Callable[..., tuple] | None = None
        self.lists: list | None = None  # template of Run.lists: () per list selector, None per group
        self.steps: tuple | None = None  # (step, index of a selection it only iterates, or -1)
        self.lookups: tuple | None = None  # the lookups of the steps (Program.lookups)

    def __reduce__(self):
        return (Cache, ())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cache)

    def __hash__(self) -> int:
        return 0


@attrs.frozen(repr=False)
class Program:
    """A compiled recipe. Immutable, reusable across datasets and threads, picklable.

    ``name``: the recipe path (or ``<string>``); ``sha256``: of the recipe
    text; ``steps``: the header actions, in order (config actions follow
    them in derived programs); ``selectors``: the distinct field expressions
    the steps and groups refer to by index.
    """

    name: str
    sha256: str
    steps: tuple
    selectors: tuple
    keep: tuple[int, ...] = ()
    exclusion: frozenset = frozenset()
    value_groups: tuple = ()
    field_groups: tuple = ()
    diagnostics: tuple = ()
    skip: SkipList = attrs.field(factory=lambda: SkipList(DEFAULT_SKIP))
    filters: tuple = ()  # compiled %filter labels (runtime.filters.FilterLabel), in evaluation order
    _cache: Cache = attrs.field(factory=Cache, eq=False, repr=False)

    def __repr__(self) -> str:
        return f"<Program {self.name} ({len(self.steps)} steps)>"

    # ------------------------------------------------------------------ matching

    def _derived(self) -> tuple:
        d = self._cache.derived
        if d is None:
            static = tuple(i for i, s in enumerate(self.selectors) if s.static)
            uid_paths: dict[int, list[tuple[int, str]]] = {}
            for i, s in enumerate(self.selectors):
                if isinstance(s, UidPath):
                    uid_paths.setdefault(s.tag, []).append((i, s.query))
            needs_vr = any(isinstance(s, selectors.SelectVR) for s in self.selectors)
            needs_all = any(isinstance(s, selectors.ValuesGroup) for s in self.selectors)
            d = (static, uid_paths, needs_vr, frozenset(self.keep), needs_all)
            self._cache.derived = d
        return d

    def _answer(self, tag: int, parent_name: str | None, creator: object, d: Dataset, name: str | None = None) -> tuple:
        """``(ids, excluded)``: the static selectors that pick a field, and whether a
        REPLACE/JITTER of the recipe names it. Cached per field key."""
        return self._matcher()(tag, parent_name, creator, d, name)

    def _matcher(self):
        """The per-element matching function (built once per Program, kept in the cache)."""
        fn = self._cache.matcher
        if fn is not None:
            return fn
        static, _, needs_vr, _, _ = self._derived()
        table = self._cache.matches
        sels = self.selectors
        exclusion = self.exclusion

        def match(tag: int, parent_name: str | None, creator: object, d: Dataset, name: str | None = None) -> tuple:
            vr = element_vr(d, tag) if needs_vr else None
            key = (tag, parent_name if name is None else ("=", name), creator, vr)
            answer = table.get(key)
            if answer is None:
                if name is None:
                    kw = keyword_of(tag)
                    name = kw if parent_name is None else f"{parent_name}__{kw}"
                info = FieldInfo(tag, name, creator, vr)
                ids = tuple(i for i in static if sels[i].matches(info))
                answer = (ids, not exclusion.isdisjoint(ids))
                if len(table) >= _CACHE_LIMIT:
                    table.clear()
                table[key] = answer
            return answer

        self._cache.matcher = match
        return match

    def _uid_paths(self, field: DicomField) -> None:
        """Add the ids of ``(gggg,eeee)__i__(gggg,eeee)`` selectors that pick ``field``."""
        uid_paths = self._derived()[1]
        candidates = uid_paths.get(field.tag_int)
        if candidates:
            uid = field.uid.lower()
            extra = tuple(i for i, q in candidates if q == uid)
            if extra:
                field.ids = field.ids + extra
                field.excluded = field.excluded or not self.exclusion.isdisjoint(extra)

    def _match_fields(self, fields: list[DicomField], run: Run | None = None) -> None:
        """Set ``ids`` and ``excluded`` on fields built outside the walk (ADD)."""
        for f in fields:
            f.ids, f.excluded = self._answer(f.tag_int, f.parent_name, f.creator, f.parent, f._name)
            self._uid_paths(f)

    def _universe(self, run: Run, skip: SkipList, full: bool = False) -> None:
        _, uid_paths, _, keep, needs_all = self._derived()
        ds = run.ds
        fields = walk(
            ds,
            skip_tags=skip.tags,
            hide_skipped=bool(keep),
            match=self._matcher(),
            force_tags=frozenset(uid_paths),
            sparse=not (needs_all or full),
        )
        if uid_paths:
            for f in fields:
                if f.tag_int in uid_paths:
                    self._uid_paths(f)
        if keep:
            hits = [f for f in fields if f.ids and not keep.isdisjoint(f.ids)]
            keep_tags = {f.tag_int for f in hits if f.owner is None}
            nested = {id(f) for f in hits if f.owner is not None}
            skip_tags = skip.tags
            for f in fields:
                owner = f.owner
                f.visible = (owner is None or owner.visible) and f.tag_int not in skip_tags and f.tag_int not in keep_tags and id(f) not in nested
            run.hidden_top = skip_tags | keep_tags
        else:
            run.hidden_top = skip.tags
        template = self._cache.lists
        if template is None:
            template = self._cache.lists = [() if s.static or isinstance(s, UidPath) else None for s in self.selectors]
        lists = template.copy()  # an empty selection is the shared (); a list is made for the few that select
        touched = run.touched
        top = run.top
        for f in fields:
            if f.visible:
                for i in f.ids:
                    lst = lists[i]
                    if lst:
                        lst.append(f)
                    else:
                        lists[i] = [f]
                        touched.append(i)
                if f.owner is None:
                    top.setdefault(f.tag_int, f)
        run.fields = fields
        run.lists = lists

    def _step_plan(self) -> tuple:
        """``(plan, always, by_selector)``: ``plan`` holds ``(step, i)`` per step, ``i``
        the selection a step does nothing without (REMOVE, BLANK, REPLACE, JITTER, KEEP
        of a field expression), else -1; ``always`` the positions of the other steps;
        ``by_selector`` the positions of the steps of each selection. apply runs only the
        steps whose selection holds a field (a few dozen of the bundled recipe's 650)."""
        plan = self._cache.steps
        if plan is None:
            from .actions import Blank, Jitter, Keep, Remove, Replace

            kinds = (Blank, Jitter, Keep, Remove, Replace)
            out = []
            always: list[int] = []
            by_selector: dict[int, list[int]] = {}
            for pos, step in enumerate(self.steps):
                i = getattr(step, "selector", None)
                listed = type(step) in kinds and isinstance(i, int) and 0 <= i < len(self.selectors)
                if listed:
                    sel = self.selectors[i]  # type: ignore[index]  # listed: an int
                    listed = bool(sel.static or isinstance(sel, UidPath))
                out.append((step, i if listed else -1))
                if listed:
                    by_selector.setdefault(i, []).append(pos)  # type: ignore[arg-type]  # listed: an int
                else:
                    always.append(pos)
            plan = self._cache.steps = (tuple(out), tuple(always), {i: tuple(p) for i, p in by_selector.items()})
        return plan

    def _run_steps(self, run: Run) -> None:
        """Run the steps in recipe order, skipping those whose selection is empty.

        Only ADD (an ``always`` step) makes a selection non-empty during the run
        (``Run.add_field``): after each such step the steps of newly filled
        selections that come later join the queue."""
        plan, always, by_selector = self._step_plan()
        touched = run.touched
        queue = list(always)
        for i in touched:
            queue.extend(by_selector.get(i, ()))
        queue.sort()
        seen = len(touched)
        k = 0
        while k < len(queue):
            pos = queue[k]
            k += 1
            step, i = plan[pos]
            run.current = None
            try:
                step(run)
            except ApplyError:
                raise
            except Exception as exc:
                raise run.error(step, "R004", f"action failed with {type(exc).__name__}", run.current) from exc
            if i < 0 and len(touched) > seen:
                later = [p for j in touched[seen:] for p in by_selector.get(j, ()) if p > pos]
                seen = len(touched)
                if later:
                    queue[k:] = sorted(queue[k:] + later)

    # ------------------------------------------------------------------ config

    def _with_config(self, config: Any, disable_skip: bool) -> Program:
        """This Program with a config's skip list and ``put.actions`` (cached per config)."""
        if config is None and not disable_skip:
            return self
        key = (_config_key(config), disable_skip)
        cached = self._cache.configs.get(key)
        if cached is not None:
            return cached
        data = _load_config(config) if config is not None else None
        if data is None:
            skip_entries: Any = DEFAULT_SKIP
            put: list = []
        else:
            skip_entries = (data.get("get") or {}).get("skip") or []
            put = (data.get("put") or {}).get("actions") or []
            if not isinstance(skip_entries, (list, tuple)) or not isinstance(put, (list, tuple)):
                raise DeidlangError("config: 'get.skip' and 'put.actions' must be lists")
        if disable_skip:
            skip_entries = ()
        table = build.SelectorTable(self.selectors)
        steps = list(self.steps)
        name = config if isinstance(config, str) else "<config>"
        for n, action in enumerate(put, 1):
            steps.append(_config_step(action, table, name, n))
        derived = attrs.evolve(self, steps=tuple(steps), selectors=tuple(table.items), skip=SkipList(skip_entries), cache=Cache())
        with self._cache.lock:
            if len(self._cache.configs) > 64:
                self._cache.configs.clear()
            self._cache.configs[key] = derived
        return derived

    # ------------------------------------------------------------------ apply

    def apply(
        self,
        dataset: Dataset,
        ids: Mapping[str, Any] | None = None,
        funcs: Mapping[str, Callable] | None = None,
        *,
        path: str | None = None,
        strip_sequences: bool = False,
        remove_private: bool = False,
        disable_skip: bool = False,
        config: Mapping[str, Any] | str | os.PathLike | None = None,
        trace: Any = None,
        tables: Any = None,
        record: Any = None,
    ) -> Dataset:
        """De-identify ``dataset`` in place and return it.

        ``ids``: this dataset's variables ``{name: value}`` (callables too);
        deid's ``{abspath: {...}}`` shape is accepted when it holds the
        dataset's file. ``funcs``: more callables for ``func:``. ``path``:
        the input file named in errors (default ``dataset.filename``).
        ``config``: deid's config (a dict or a JSON path) whose ``get.skip``
        replaces the protected list and whose ``put.actions`` run after the
        recipe. ``trace``: a :class:`deidlang.runtime.explain.Tracer` that records
        which line decided each element (``None``: no cost beyond one check
        per step). ``tables``: the :class:`deidlang.tables.Tables` that
        ``deid_func:lookup`` reads (with their missing-row policy); ``record``: a
        :class:`deidlang.tables.FileRecord` that collects the fallbacks used and,
        when asked, the linkage rows. Raises :class:`~deidlang.ApplyError` naming
        the recipe line, the element and the file.
        """
        if not isinstance(dataset, Dataset):
            raise TypeError(f"apply() needs a pydicom Dataset, not {type(dataset).__name__}")
        program = self._with_config(os.fspath(config) if isinstance(config, os.PathLike) else config, disable_skip)
        filename = getattr(dataset, "filename", None)
        filename = filename if isinstance(filename, str) and filename else None
        if path is None:
            path = filename
        lookup = _variables(ids, filename)
        if funcs:
            lookup.update(funcs)
        run = Run(program, dataset, lookup, path)
        step: Any = None
        try:
            # reading the dataset can fail in pydicom (a damaged or ambiguous element):
            # an ApplyError naming the file, like any failure below
            if tables is not None or record is not None:  # the original keys first (runtime/lookups.py)
                run.tables = _tables_begin(program, dataset, tables, record)
            if strip_sequences:
                _strip_sequences(dataset)
            if remove_private:
                _remove_private(dataset)
            program._universe(run, program.skip)
            if trace is not None:
                trace.start(run)
            for group in program.value_groups:
                step = group
                found = group.compute(run)
                run.value_groups[group.name] = found
                lookup[group.name] = found
            for group in program.field_groups:
                step = group
                found = group.compute(run)
                run.field_groups[group.name] = found
                lookup[group.name] = {f.uid: f for f in found}
            if trace is None:
                program._run_steps(run)
            else:
                for step in program.steps:
                    run.current = None
                    trace.step(run, step)
        except ApplyError:
            raise
        except Exception as exc:
            raise run.error(step, "R004", f"action failed with {type(exc).__name__}", run.current) from exc
        return dataset

    def inspect(self, dataset: Dataset, *, path: str | None = None) -> Inspection:
        """What the recipe's ``%filter`` groups say about ``dataset``: every LABEL that
        flags it, in recipe order, with the criteria that held and the regions to
        clean (``from:`` boxes read from this dataset). Never changes the dataset
        or the Program. ``path`` names the file in errors (default ``dataset.filename``).
        """
        from .filters import inspect

        return inspect(self, dataset, path)

    def explain(
        self,
        dataset: Dataset,
        ids: Mapping[str, Any] | None = None,
        funcs: Mapping[str, Callable] | None = None,
        **options: Any,
    ):
        """Which line decides each element of ``dataset``, and the lines it shadowed
        (a :class:`deidlang.runtime.explain.Explanation`). Runs on a copy: the dataset is
        never changed. ``options`` are :meth:`apply`'s keyword options."""
        from .explain import explain

        return explain([self], dataset, ids=ids, funcs=funcs, **options)

    def lookups(self) -> tuple:
        """The table lookups of the steps, ``(table, key path, key column, value column)``
        each, in step order (:func:`deidlang.tables.record.steps_lookups`), found once."""
        found = self._cache.lookups
        if found is None:
            from ..tables.record import steps_lookups

            found = self._cache.lookups = steps_lookups(self.steps)
        return found

    def universe(self, dataset: Dataset, *, expand_sequences: bool = True) -> list[DicomField]:
        """The fields this Program's actions would see in ``dataset`` (after KEEP), for inspection."""
        run = Run(self, dataset, {}, None)
        self._universe(run, self.skip, full=True)
        return [f for f in run.fields if f.visible]


# ---------------------------------------------------------------------- helpers


def _variables(ids: Mapping[str, Any] | None, filename: str | None) -> dict:
    """The lookup for one dataset: its own variables from ``ids``."""
    if not ids:
        return {}
    if filename is not None:
        entry = ids.get(os.path.abspath(filename))
        if isinstance(entry, Mapping):
            return dict(entry)
    if all(isinstance(k, str) and os.path.isabs(k) and isinstance(v, Mapping) for k, v in ids.items()):
        return {}  # deid's shape, for other files
    return dict(ids)


def _strip_sequences(ds: Dataset) -> None:
    """Delete every sequence (deid deletes the top-level ones, and so everything inside them)."""
    from pydicom.sequence import Sequence

    for tag in list(ds._dict):
        elem = ds._dict[tag]
        vr = elem.VR
        if vr == "SQ" or vr is None or vr == "UN":
            if isinstance(ds[tag].value, Sequence):
                del ds[tag]


def _remove_private(ds: Dataset) -> None:
    """Delete every private element at every depth (pydicom's ``remove_private_tags``)."""
    from pydicom.sequence import Sequence

    stack = [ds]
    while stack:
        d = stack.pop()
        for tag in list(d._dict):
            if (tag >> 16) & 1:
                del d[tag]
                continue
            elem = d._dict[tag]
            vr = elem.VR
            if vr == "SQ" or vr is None or vr == "UN":
                if vr == "SQ" and type(elem) is RawDataElement:
                    convert_sequence(d, tag, elem)  # the fast reader where it can (runtime/sequences.py)
                value = d[tag].value
                if isinstance(value, Sequence):
                    stack.extend(item for item in value if isinstance(item, Dataset))


def _config_key(config: Any) -> Any:
    if config is None:
        return None
    if isinstance(config, str):
        try:
            return ("path", os.path.abspath(config), os.stat(config).st_mtime_ns)
        except OSError:
            return ("path", os.path.abspath(config), None)
    try:
        return ("dict", json.dumps(config, sort_keys=True, default=repr))
    except (TypeError, ValueError):
        return ("id", id(config))


def _load_config(config: Any) -> Mapping[str, Any]:
    if isinstance(config, str):
        try:
            with open(config, encoding="utf-8") as fh:
                data = json.load(fh)
        except OSError as exc:
            raise DeidlangError(f"cannot read config '{config}'") from exc
        except ValueError as exc:
            raise DeidlangError(f"config '{config}' is not valid JSON") from exc
    else:
        data = config
    if not isinstance(data, Mapping):
        raise DeidlangError("config must be a JSON object with 'get' and 'put'")
    return data


_VERBS = ("ADD", "BLANK", "JITTER", "KEEP", "REMOVE", "REPLACE")


def _config_step(action: Any, table: build.SelectorTable, name: str, n: int):
    """One ``put.actions`` entry (``{"action", "field", "value"}``) as a step."""
    from ..lang.source import Span

    if not isinstance(action, Mapping):
        raise DeidlangError(f"config put.actions[{n - 1}] must be an object")
    verb = str(action.get("action", "")).upper()
    field = action.get("field")
    raw_value = action.get("value")
    if verb not in _VERBS or not isinstance(field, str) or not field:
        raise DeidlangError(f"config put.actions[{n - 1}]: needs an action ({', '.join(_VERBS)}) and a field")
    text = f"{verb} {field}" + (f" {raw_value}" if raw_value is not None else "")
    span = Span(n, 1, n, len(text) + 1)
    try:
        value = build.value_from_text(str(raw_value)) if raw_value is not None else None
    except ValueError as exc:
        raise DeidlangError(f"config put.actions[{n - 1}]: {exc}") from exc
    if verb == "ADD":
        if value is None:
            raise DeidlangError(f"config put.actions[{n - 1}]: ADD needs a value")
        try:
            target = build.add_target_from_text(field)
        except ValueError as exc:
            raise DeidlangError(f"config put.actions[{n - 1}]: {exc}") from exc
        return build.make_step("ADD", target=target, field_text=field, value=value, text=text, span=span)
    try:
        sel = selectors.from_text(field)
    except Exception as exc:  # re.error for a bad expander regex
        raise DeidlangError(f"config put.actions[{n - 1}]: bad field expression '{field}'") from exc
    index = table.add(sel)
    days = None
    if verb == "JITTER" and isinstance(value, values.Constant):
        try:
            days = int(value.text)
        except ValueError:
            raise DeidlangError(f"config put.actions[{n - 1}]: JITTER needs a whole number of days") from None
    return build.make_step(verb, selector=index, value=value, days=days, text=text, span=span, label=build.field_label(field))


def _tables_begin(program: Program, dataset: Dataset, tables: Any, record: Any) -> Any:
    """runtime/lookups.py's ``begin``: the original keys, read before any step."""
    from .lookups import begin

    return begin(program, dataset, tables, record)
