"""Compiled ``%filter`` groups: predicates over a dataset and the regions they name.

The compiler turns every LABEL block into a :class:`FilterLabel` (criterion
lines of :class:`Predicate` objects, and :class:`Coordinates`); a Program holds
them in evaluation order (groups in order of first appearance, same-named
groups merged, labels in file order). :func:`inspect` evaluates them on one
dataset and returns an :class:`~deidlang.runtime.inspection.Inspection`.

Meaning (docs/differences-from-deid.md, "Filters", lists where deid differs):

* a criterion line is folded strictly left to right, as deid does:
  ``A || B + C`` is ``(A or B) and C``;
* lines fold the same way: a line that starts with ``+`` ANDs with the lines
  above it, one that starts with ``||`` ORs, one without an operator ANDs;
* each criterion uses its own value; a multi-valued element matches when
  one of its values does; a keyword or any tag form reads that top-level
  element; other field expressions read what they select in the header;
* ``missing``: absent or without a value (pydicom's None, as deid);
  ``present``: not missing; ``empty``: there, with an empty value;
* coordinates without criteria: always flagged; neither: never.

Everything here is a frozen attrs object (picklable, regexes compiled
once). Evaluation never changes the dataset: raw elements are converted
into local copies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
from pydicom.dataelem import RawDataElement, convert_raw_data_element
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from ..lang import regexes
from ..lang.diagnostics import ApplyError
from ..lang.source import Span
from .inspection import Criterion, Inspection, LabelMatch, Region

if TYPE_CHECKING:
    from .context import Run

__all__ = [
    "TopElement",
    "Selection",
    "Predicate",
    "Line",
    "Coordinates",
    "FilterLabel",
    "inspect",
    "REGION_TAGS",
]

#: RegionLocationMinX0, MinY0, MaxX1, MaxY1 (in the items of SequenceOfUltrasoundRegions)
REGION_TAGS = (0x00186018, 0x0018601A, 0x0018601C, 0x0018601E)

_ABSENT = object()


# --------------------------------------------------------------------------- reading elements


def element_value(ds: Dataset, tag: int) -> Any:
    """The value of ``ds``'s own element ``tag`` (``_ABSENT`` when there is none).

    A raw element is converted into a local copy, so reading never changes
    the dataset (``ds[tag]`` would replace the raw element in place).
    """
    elem = ds._dict.get(tag)  # type: ignore[call-overload]  # keyed by BaseTag, an int
    if elem is None:
        return _ABSENT
    if isinstance(elem, RawDataElement):
        if elem.value is None and elem.length not in (0, 0xFFFFFFFF) and getattr(ds, "filename", None):
            return ds[tag].value  # a deferred read (dcmread(defer_size=...)): let pydicom load it
        try:
            encoding = ds._character_set
        except Exception:  # noqa: BLE001  # pragma: no cover - a broken SpecificCharacterSet
            encoding = None
        elem = convert_raw_data_element(elem, encoding=encoding, ds=ds)
    return elem.value


@attrs.frozen
class TopElement:
    """A keyword or tag in a criterion: the dataset's own (top-level) element, as in deid."""

    tag: int | None  # None: an unknown keyword, which is never there

    def read(self, view: _View) -> list:
        if self.tag is None:
            return []
        value = element_value(view.ds, self.tag)
        return [] if value is _ABSENT else [value]


@attrs.frozen
class Selection:
    """Any other field expression (nested name, item path, expander, private form,
    ``fields:``/``values:``): the elements it selects in the header, at every depth."""

    selector: int

    def read(self, view: _View) -> list:
        return view.selected_values(self.selector)


Reader = TopElement | Selection


# --------------------------------------------------------------------------- criteria


def _texts(value: Any) -> list[str]:
    """The strings a value is compared as: one per value of a multi-valued element.

    A sequence is compared as its text dump (pydicom's ``str``), as deid does,
    so ``contains ReferencedImageSequence 1.2.3`` finds a nested UID.
    """
    if value is None:
        return []
    if isinstance(value, Sequence):
        return [str(value).strip()]
    if isinstance(value, (MultiValue, list, tuple)):
        return [str(v).strip() for v in value if v is not None]
    return [str(value).strip()]


def _is_empty(value: Any) -> bool:
    """No value at all: None, an empty string or bytes, no items. (0 is a value.)"""
    if value is None:
        return True
    if isinstance(value, (int, float)):  # IS, DS, US... (deid: 0 counts as empty)
        return False
    try:
        return not value
    except Exception:  # noqa: BLE001  # pragma: no cover - a value without a truth value
        return False


@attrs.frozen
class Predicate:
    """One criterion: ``contains Modality CT``."""

    predicate: str
    reader: Reader
    field: str  # as written, for reasons and reports
    value: str | None = None
    regex: regexes.Matcher | None = attrs.field(default=None, eq=False, repr=False)
    span: Span | None = attrs.field(default=None, eq=False, repr=False)

    def __call__(self, view: _View) -> bool:
        values = view.values(self.reader)
        p = self.predicate
        if p == "missing":
            return all(v is None for v in values)
        if p == "present":
            return any(v is not None for v in values)
        if p == "empty":
            return any(_is_empty(v) for v in values)
        texts = view.texts(self.reader)
        if p in ("contains", "notcontains"):
            search = self.regex.search  # type: ignore[union-attr]
            found = any(search(t) for t in texts)
            return found if p == "contains" else not found
        term = (self.value or "").strip().lower()
        found = any(t.lower() == term for t in texts)
        return found if p == "equals" else not found

    def description(self) -> str:
        """deid's rendering in a reason: ``field action value`` (value empty when none)."""
        return f"{self.field} {self.predicate} {self.value or ''}"

    def held(self) -> Criterion:
        return Criterion(self.field, self.predicate, self.value)


@attrs.frozen
class Line:
    """A criterion line: its leading operator and its tests joined by ``operators``."""

    operator: str | None
    predicates: tuple[Predicate, ...]
    operators: tuple[str, ...] = ()
    span: Span | None = attrs.field(default=None, eq=False, repr=False)


def _fold(first: bool, rest: list[tuple[str | None, bool]]) -> bool:
    """Left to right, no precedence: ``a || b + c`` is ``(a or b) and c``."""
    acc = first
    for op, value in rest:
        acc = (acc or value) if op == "or" else (acc and value)
    return acc


# --------------------------------------------------------------------------- coordinates


@attrs.frozen
class Coordinates:
    """A coordinates line: a box (x0,y0,x1,y1), the whole frame (``box=None``), or
    boxes read per dataset from a sequence's RegionLocation elements (``source``)."""

    keep: bool
    box: tuple[int, int, int, int] | None = None
    source: Reader | None = None
    span: Span | None = attrs.field(default=None, eq=False, repr=False)

    def regions(self, view: _View) -> list[Region]:
        if self.source is None:
            return [Region(self.keep, self.box, view.program.name, self.span)]
        out = []
        for value in view.values(self.source):
            items = list(value) if isinstance(value, Sequence) else [value]
            for item in items:
                box = _region_box(item)
                if box is not None:
                    out.append(Region(self.keep, box, view.program.name, self.span))
        return out


def _region_box(item: Any) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` of an ultrasound region item, or None when it has no full box."""
    if not isinstance(item, Dataset):
        return None
    box = []
    for tag in REGION_TAGS:
        value = element_value(item, tag)
        if value is _ABSENT or value is None or isinstance(value, (MultiValue, list, tuple, Sequence)):
            return None
        try:
            box.append(int(value))
        except (TypeError, ValueError):
            return None
    return box[0], box[1], box[2], box[3]


# --------------------------------------------------------------------------- labels


@attrs.frozen
class FilterLabel:
    """A compiled LABEL block of ``%filter group``."""

    group: str
    name: str
    lines: tuple[Line, ...] = ()
    coordinates: tuple[Coordinates, ...] = ()
    span: Span | None = attrs.field(default=None, eq=False, repr=False)

    def evaluate(self, view: _View) -> LabelMatch | None:
        """The match when the label flags the dataset, else None."""
        held: list[Criterion] = []
        if not self.lines:
            if not self.coordinates:
                return None
            reason = f" {self.name}"
        else:
            results: list[bool] = []
            for line in self.lines:
                outcomes = []
                for test in line.predicates:
                    ok = test(view)
                    outcomes.append(ok)
                    if ok:
                        held.append(test.held())
                results.append(_fold(outcomes[0], list(zip(line.operators, outcomes[1:]))))
            ops = [line.operator for line in self.lines[1:]]
            if not _fold(results[0], list(zip(ops, results[1:]))):
                return None
            reason = self.reason()
        regions = tuple(r for c in self.coordinates for r in c.regions(view))
        return LabelMatch(self.group, self.name, reason, tuple(held), regions, view.program.name, self.span)

    def reason(self) -> str:
        """deid's reason text: the last line's operator, then every criterion
        (``field action value``, followed by the inline operator that comes next)."""
        parts = []
        for line in self.lines:
            for i, test in enumerate(line.predicates):
                text = test.description()
                if i < len(line.operators):
                    text = f"{text} {line.operators[i]}"
                parts.append(text)
        operator = self.lines[-1].operator or ""
        return f"{operator} {' '.join(parts)}".replace("\n", " ")


# --------------------------------------------------------------------------- evaluation


class _Lists:
    """Selector index -> selected fields, computed on first use (a Run's ``lists``)."""

    def __init__(self, program, fields: list):
        self.program = program
        self.fields = fields
        self.done: dict[int, list | None] = {}

    def __getitem__(self, index: int):
        if index in self.done:
            return self.done[index]
        from .selectors import SelectVR, UidPath
        from .universe import FieldInfo, element_vr

        sel = self.program.selectors[index]
        if isinstance(sel, UidPath):
            found: list | None = [f for f in self.fields if sel.matches_field(f)]
        elif sel.static:
            need_vr = isinstance(sel, SelectVR)
            found = [f for f in self.fields if sel.matches(FieldInfo.of(f, element_vr(f.parent, f.tag_int) if need_vr else None))]
        else:
            found = None  # a group reference: the Run resolves it
        self.done[index] = found
        return found


class _View:
    """One dataset as the filters see it (per :func:`inspect` call; caches reads)."""

    def __init__(self, program, ds: Dataset, path: str | None):
        self.program = program
        self.ds = ds
        self.path = path
        self._values: dict = {}
        self._texts: dict = {}
        self._run: Run | None = None

    def values(self, reader: Reader) -> list:
        found = self._values.get(reader, _ABSENT)
        if found is _ABSENT:
            found = self._values[reader] = reader.read(self)
        return found

    def texts(self, reader: Reader) -> list[str]:
        """The strings the reader's values are compared as (one per value of each element)."""
        found = self._texts.get(reader)
        if found is None:
            found = self._texts[reader] = [t for v in self.values(reader) for t in _texts(v)]
        return found

    def selected_values(self, index: int) -> list:
        """The values of the fields selector ``index`` picks (read without converting in place)."""
        out = []
        for f in self._universe().select(index):
            value = element_value(f.parent, f.dkey)
            if value is not _ABSENT:
                out.append(value)
        return out

    def _universe(self):
        """A Run over every field (the protected list left out, nothing hidden by KEEP),
        with the recipe's ``%values``/``%fields`` groups computed on it."""
        run = self._run
        if run is None:
            from .context import Run
            from .universe import fields

            program = self.program
            shadow = _shadow(self.ds)
            run = Run(program, shadow, {}, self.path)
            run.fields = fields(shadow, skip=program.skip)
            run.lists = _Lists(program, run.fields)  # type: ignore[assignment]
            for group in program.value_groups:
                run.value_groups[group.name] = found = group.compute(run)
                run.lookup[group.name] = found
            for group in program.field_groups:
                run.field_groups[group.name] = group.compute(run)
            self._run = run
        return run


def _shadow(ds: Dataset) -> Dataset:
    """A dataset sharing ``ds``'s elements in new dicts: the walk may convert raw
    sequences and private creators in place, and does so in the shadow only."""
    from pydicom.dataset import FileMetaDataset

    shadow = Dataset()
    shadow._dict = dict(ds._dict)
    meta = ds.__dict__.get("file_meta")
    if isinstance(meta, Dataset):
        shadow_meta = FileMetaDataset()
        shadow_meta._dict = dict(meta._dict)
        shadow.file_meta = shadow_meta
    return shadow


def inspect(program, dataset: Dataset, path: str | None = None) -> Inspection:
    """Evaluate every label of ``program`` on ``dataset`` (see the module docstring)."""
    if not isinstance(dataset, Dataset):
        raise TypeError(f"inspect() needs a pydicom Dataset, not {type(dataset).__name__}")
    if path is None:
        filename = getattr(dataset, "filename", None)
        path = filename if isinstance(filename, str) and filename else None
    view = _View(program, dataset, path)
    matches = []
    for label in program.filters:
        try:
            match = label.evaluate(view)
        except ApplyError:
            raise
        except Exception as exc:
            raise ApplyError(
                f"filter label '{label.name}' failed with {type(exc).__name__}",
                code="R004",
                recipe=program.name,
                span=label.span,
                action=f"%filter {label.group}",
                path=path,
            ) from exc
        if match is not None:
            matches.append(match)
    return Inspection(tuple(matches))
