"""The compiled header actions and the group rules.

Each step is a callable frozen attrs object: ``step(run)`` applies it to
the dataset held by a :class:`~deidlang.runtime.context.Run`. Steps hold a
selector *index* (into ``Program.selectors``) so that every selection of a
dataset comes out of one pass over its elements.
"""

from __future__ import annotations

from typing import Any

import attrs
from pydicom.datadict import private_dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from ..dicomio import rawtext
from ..lang.source import Span
from .builtins import BadArgument, BuiltinFailed, evaluate, jitter_days, jitter_value
from .context import MISSING, Run
from .dates import JitterOverflow
from .keys import MissingKey
from .universe import DicomField
from .values import Builtin, Constant, Filter, Func, Uncoercible, Var, coerce, deid_typed, items_of

__all__ = [
    "Add",
    "Replace",
    "Blank",
    "Remove",
    "Jitter",
    "Keep",
    "ValuesRule",
    "ValuesGroupDef",
    "FieldsGroupDef",
    "resolve",
    "assign",
    "filter_matches",
]

_NOSPAN = Span(0, 0, 0, 0)

#: Raw VRs whose element BLANK converts before emptying (pydicom decides the final VR).
_CONVERT_FIRST = frozenset({None, "UN", "SQ"})


def _span() -> Any:
    return attrs.field(default=_NOSPAN, eq=False)


def _step_repr(self) -> str:
    """``<Remove PatientName (0010,0010) line 8>``: the field as written, its tag when it names one."""
    return f"<{type(self).__name__} {self.label or self.text} line {self.span.line}>"


# --------------------------------------------------------------------------- helpers


def resolve(run: Run, step, source, field_arg: Any, element: Any, target: DicomField | None, label: str | int = "") -> Any:
    """The value of ``source`` for one target (``None`` means 'no value')."""
    if isinstance(source, Constant):
        return source.text
    if isinstance(source, Var):
        return run.lookup.get(source.name)
    if isinstance(source, Func):
        fn = run.lookup.get(source.name, MISSING)
        if fn is MISSING:
            raise run.error(step, "R002", f"function '{source.name}' is not among the supplied ids or funcs", target, label)
        if not callable(fn):
            raise run.error(step, "R001", f"'{source.name}' in the ids is not a function", target, label)
        try:
            return fn(item=run.lookup, value=source.text, field=field_arg, dicom=run.ds)
        except Exception as exc:
            raise run.error(step, "R001", f"function '{source.name}' raised {type(exc).__name__}", target, label) from exc
    if isinstance(source, Builtin):
        try:
            return evaluate(source, field=field_arg, element=element, run=run)
        except MissingKey as exc:
            raise run.error(step, "R005", f"deid_func:{source.name} needs a key: {exc}", target, label) from exc
        except BuiltinFailed as exc:
            raise run.error(step, exc.code, str(exc), target, label) from exc
        except JitterOverflow as exc:
            raise run.error(step, "R004", "the jittered date is out of range", target, label) from exc
        except LookupError as exc:
            raise run.error(step, "R004", f"deid_func:{source.name} needs an existing element", target, label) from exc
        except (ValueError, TypeError, BadArgument) as exc:
            raise run.error(step, "R004", f"deid_func:{source.name} failed with {type(exc).__name__}", target, label) from exc
    if isinstance(source, Filter):  # a value filter outside REMOVE is plain text, as in deid
        return source.text
    raise AssertionError(f"unknown value source {source!r}")  # pragma: no cover


def _usable_vr(vr: str | None) -> str:
    if not vr:
        return "UN"
    return vr.split(" or ")[0] if " or " in vr else vr


class _LazyElement:
    """A field's element as the value sources see it, converted only if its value is read
    (``deid_func:dummy`` needs the VR alone; a raw element whose VR is final has it)."""

    __slots__ = ("_field", "VR", "tag", "raw")

    def __init__(self, field: DicomField, raw: RawDataElement):
        self._field = field
        self.VR = raw.VR
        self.tag = raw.tag
        self.raw = raw  # built-ins read some values from the bytes (runtime/rawtext.py)

    @property
    def value(self) -> Any:
        return self._field.element.value

    def __getattr__(self, name: str) -> Any:
        return getattr(self._field.element, name)


def _element_for(field: DicomField) -> Any:
    raw = field.parent._dict.get(field.dkey)  # type: ignore[call-overload]  # keyed by BaseTag, an int
    if type(raw) is RawDataElement and raw.VR not in _CONVERT_FIRST and raw.length != 0xFFFFFFFF and raw.value is not None:
        return _LazyElement(field, raw)
    return field.element


def assign(run: Run, step, field: DicomField, value: Any) -> None:
    """Store ``value`` in ``field``'s element, typed through its VR (R003 when it cannot be).

    A raw element whose VR is final is replaced by a new element holding the value:
    the same element as converting the old one and setting it, without decoding the
    old value."""
    raw = field.parent._dict.get(field.dkey)  # type: ignore[call-overload]  # keyed by BaseTag, an int
    if type(raw) is RawDataElement and raw.VR not in _CONVERT_FIRST and raw.length != 0xFFFFFFFF:
        vr: str = raw.VR  # type: ignore[assignment]  # final (not in _CONVERT_FIRST)
        try:
            typed = coerce(value, vr)
        except Uncoercible as exc:
            raise run.error(step, "R003", str(exc), field) from exc
        data = rawtext.encode(typed, vr)
        if data is not None:
            field.parent._dict[field.dkey] = rawtext.element(raw, data)  # type: ignore[index]
            return
        try:
            field.parent._dict[field.dkey] = DataElement(raw.tag, vr, typed)  # type: ignore[index]
        except Exception as exc:
            raise run.error(step, "R003", f"value cannot be stored in VR {vr}", field) from exc
        return
    elem = field.element
    vr = _usable_vr(elem.VR)
    try:
        typed = coerce(value, vr)
    except Uncoercible as exc:
        raise run.error(step, "R003", str(exc), field) from exc
    try:
        elem.value = typed
    except Exception as exc:
        raise run.error(step, "R003", f"value cannot be stored in VR {vr}", field) from exc


def unchanged(run: Run, step, field: DicomField, code: str, message: str) -> None:
    """A REPLACE/JITTER left ``field`` as it was: an error if a REMOVE spared the field for it."""
    key = id(field)
    if key in run.spared:
        raise run.error(step, code, f"{message}; a REMOVE of this field was cancelled because this action was to change it", field)
    run.failed.setdefault(key, (step, code, message))


def _item_text(item: Any) -> str:
    if isinstance(item, (bytes, bytearray)):
        return bytes(item).decode("latin-1")
    return str(item)


def filter_matches(run: Run, flt: Filter, value: Any) -> bool:
    """deidlang's value filters (docs/differences-from-deid.md, item 3)."""
    if isinstance(value, Sequence):
        return False
    texts = [_item_text(i) for i in items_of(value)]
    kind = flt.kind
    if kind in ("equals", "notequals"):
        want = flt.argument.strip().lower()
        hit = any(t.strip().lower() == want for t in texts)
        return not hit if kind == "notequals" else hit
    if kind == "values":
        rx = run.values_regex(flt.argument)
        return rx is not None and any(rx.search(t) for t in texts)
    assert flt.regex is not None
    hit = any(flt.regex.search(t) for t in texts)
    return not hit if kind == "notcontains" else hit


# --------------------------------------------------------------------------- steps


@attrs.frozen(repr=False)
class Add:
    """``ADD field value``: set or create one top-level (or file-meta) element.

    ``tag`` is the resolved tag; for the private-creator form ``creator`` is
    set and ``tag`` holds ``(group << 16) | low byte`` until the block is
    found (or created) in the dataset. ``vr`` is the dictionary VR (None
    when unknown). ``name`` is the universe name of a created field.
    """

    tag: int
    value: Any
    field_text: str
    name: str
    vr: str | None = None
    creator: str | None = None
    text: str = ""
    span: Span = _span()
    label: str = attrs.field(default="", eq=False)

    __repr__ = _step_repr

    def _resolve_tag(self, run: Run, create: bool) -> int | None:
        if self.creator is None:
            return self.tag
        group, low = self.tag >> 16, self.tag & 0xFF
        target = run.ds
        try:
            block = target.private_block(group, self.creator, create=create)
        except KeyError:
            return None
        return block.get_tag(low)

    def _new_vr(self, target, tag: int) -> str:
        vr = self.vr
        if vr and " or " not in vr:
            return vr
        current = target._dict.get(tag) if target is not None else None
        if vr:  # ambiguous in the dictionary: the element's own VR, else the first choice
            if current is not None:
                cur_vr = target[tag].VR
                if cur_vr and " or " not in cur_vr:
                    return cur_vr
            return vr.split(" or ")[0]
        if (tag >> 16) & 1 and target is not None:
            ctag = (tag & 0xFFFF0000) | ((tag & 0xFFFF) >> 8)
            if ctag != tag and ctag in target._dict:
                try:
                    return _usable_vr(private_dictionary_VR(Tag(tag), target[ctag].value))
                except (KeyError, TypeError, ValueError):
                    pass
        return "ST"

    def __call__(self, run: Run) -> None:
        ds = run.ds
        is_meta = (self.tag >> 16) == 2
        tag = self._resolve_tag(run, create=False)
        target = ds.__dict__.get("file_meta") if is_meta else ds
        label = tag if tag is not None else self.field_text
        existing = run.top_field(tag, target, is_meta) if tag is not None else None
        current = None
        if tag is not None and target is not None and tag in target._dict:
            current = target[tag]
        value = resolve(run, self, self.value, self.field_text, current, None, label)
        if value is None:
            return  # missing var / func returned None: nothing to add (as in deid)
        if existing is not None and existing.alive:
            assign(run, self, existing, value)
            return
        if tag is None:
            tag = self._resolve_tag(run, create=True)
            assert tag is not None  # create=True makes the private block's slot
            creator_tag = (tag & 0xFFFF0000) | ((tag & 0xFFFF) >> 8)
            if creator_tag not in run.top:
                cfield = DicomField(creator_tag, ds, name="")
                cfield.dkey = ds[creator_tag].tag
                run.add_field(cfield)
        if is_meta and target is None:
            target = FileMetaDataset()
            ds.file_meta = target
        assert target is not None  # the dataset, or its file meta (made above)
        vr = self._new_vr(target, tag)
        try:
            typed = coerce(value, vr)
        except Uncoercible as exc:
            raise run.error(self, "R003", str(exc), element=run.element_label(tag)) from exc
        data = rawtext.encode(typed, vr) if not (tag >> 16) & 1 else None
        creator = None
        if data is not None:  # plain ASCII text: stored as bytes (runtime/rawtext.py)
            key = Tag(tag)
            target._dict[key] = rawtext.new_element(key, vr, data)
        else:
            try:
                elem = DataElement(tag, vr, typed)
                target[tag] = elem
            except Exception as exc:
                raise run.error(self, "R003", f"value cannot be stored in VR {vr}", element=run.element_label(tag)) from exc
            key = elem.tag
            if (tag >> 16) & 1:
                creator = elem.private_creator
        field = DicomField(tag, target, None, 0, creator, is_meta, name=self.name)
        field.dkey = key
        run.add_field(field)


@attrs.frozen(repr=False)
class Replace:
    """``REPLACE expr value``: change every selected element; never creates one."""

    selector: int
    value: Any
    text: str = ""
    span: Span = _span()
    label: str = attrs.field(default="", eq=False)

    __repr__ = _step_repr

    def __call__(self, run: Run) -> None:
        for field in run.select(self.selector):
            if not field.alive:
                continue
            run.current = field
            elem = _element_for(field)
            value = resolve(run, self, self.value, field, elem, field)
            if value is None:
                what = f"variable '{self.value.name}' has no value for this dataset" if isinstance(self.value, Var) else "the value is missing"
                if isinstance(self.value, Func):
                    what = f"function '{self.value.name}' returned None"
                unchanged(run, self, field, "R002", what)
                continue
            assign(run, self, field, value)


@attrs.frozen(repr=False)
class Blank:
    """``BLANK expr``: empty every selected element (a sequence loses its items)."""

    selector: int
    text: str = ""
    span: Span = _span()
    label: str = attrs.field(default="", eq=False)

    __repr__ = _step_repr

    def __call__(self, run: Run) -> None:
        for field in run.select(self.selector):
            if not field.alive:
                continue
            run.current = field
            elements = field.parent._dict
            raw = elements.get(field.dkey)  # type: ignore[call-overload]  # keyed by BaseTag, an int
            if raw is None:
                continue
            if type(raw) is RawDataElement and raw.VR not in _CONVERT_FIRST and raw.length != 0xFFFFFFFF:
                # the same element as converting and emptying it, without decoding the old value
                # (None needs no conversion for any VR but SQ, excluded above: already_converted
                # builds the same element as DataElement(tag, VR, None), at a quarter of the cost)
                elements[field.dkey] = DataElement(raw.tag, raw.VR, None, already_converted=True)  # type: ignore[index, arg-type]  # a final VR
            else:
                field.element.value = None
            if field.children:
                field.kill_children()


@attrs.frozen(repr=False)
class Remove:
    """``REMOVE expr [value]``: delete every selected element.

    Spares fields that a REPLACE or JITTER of the recipe names (deid's
    exclusion rule). ``value``: ``None``; a literal (deid's typed
    truthiness: ``REMOVE Rows 0`` keeps); ``var:``/``func:``/``deid_func:``
    (truthiness); or a :class:`Filter` (deidlang's value filters).
    """

    selector: int
    value: Any = None
    text: str = ""
    span: Span = _span()
    label: str = attrs.field(default="", eq=False)

    __repr__ = _step_repr

    def _wanted(self, run: Run, field: DicomField) -> bool:
        source = self.value
        if source is None:
            return True
        elem = field.element
        if isinstance(source, Filter):
            return filter_matches(run, source, elem.value)
        if isinstance(source, Constant):
            return bool(deid_typed(source.text, elem.VR))
        return bool(resolve(run, self, source, field, elem, field))

    def __call__(self, run: Run) -> None:
        for field in run.select(self.selector):
            if not field.alive:
                continue
            run.current = field
            if not self._wanted(run, field):
                continue
            if field.excluded:
                key = id(field)
                if key in run.failed:
                    step, code, message = run.failed[key]
                    raise run.error(step, code, f"{message}; a REMOVE of this field was cancelled because this action was to change it", field)
                run.spared[key] = self
                continue
            run.delete(field)


@attrs.frozen(repr=False)
class Jitter:
    """``JITTER expr days``: shift DA/DT values by whole days (``days`` is set for a literal)."""

    selector: int
    value: Any
    days: int | None = None
    text: str = ""
    span: Span = _span()
    label: str = attrs.field(default="", eq=False)

    __repr__ = _step_repr

    def _days(self, run: Run, field: DicomField, elem) -> int | None:
        if self.days is not None:
            return self.days
        source = self.value
        if isinstance(source, Builtin) and source.name == "jitter":
            return jitter_days(source)
        raw = resolve(run, self, source, field, elem, field)
        if raw is None:
            return None
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        if isinstance(raw, str):
            try:
                return int(raw.strip())
            except ValueError:
                pass
        raise run.error(self, "R004", "JITTER needs a whole number of days", field)

    def __call__(self, run: Run) -> None:
        for field in run.select(self.selector):
            if not field.alive:
                continue
            run.current = field
            elem = field.element
            current = elem.value
            if not current:
                continue  # deid skips empty values
            days = self._days(run, field, elem)
            if days is None:
                what = f"variable '{self.value.name}' has no value for this dataset" if isinstance(self.value, Var) else "the number of days is missing"
                if isinstance(self.value, Func):
                    what = f"function '{self.value.name}' returned None"
                unchanged(run, self, field, "R002", what)
                continue
            if isinstance(current, Sequence):
                unchanged(run, self, field, "R004", "a sequence cannot be jittered")
                continue
            try:
                new, complete = jitter_value(current, elem.VR, days)
            except JitterOverflow as exc:
                raise run.error(self, "R004", "the jittered date is out of range", field) from exc
            if not complete:
                unchanged(run, self, field, "R004", f"the value is not a date this action can jitter (VR {elem.VR})")
            if new != (list(current) if isinstance(current, (list, tuple, MultiValue)) else current):
                assign(run, self, field, new)


@attrs.frozen(repr=False)
class Keep:
    """``KEEP expr``: does nothing when reached; its selection was hidden up front."""

    selector: int
    text: str = ""
    span: Span = _span()
    label: str = attrs.field(default="", eq=False)

    __repr__ = _step_repr

    def __call__(self, run: Run) -> None:
        return None


# --------------------------------------------------------------------------- groups


@attrs.frozen
class ValuesRule:
    """``FIELD expr`` (``split=None``) or ``SPLIT expr by=X;minlength=N`` in ``%values``."""

    selector: int
    split: str | None = None
    minlength: int = 1
    span: Span = _span()


@attrs.frozen
class ValuesGroupDef:
    name: str
    rules: tuple[ValuesRule, ...]

    def compute(self, run: Run) -> list:
        values: dict = {}
        for rule in self.rules:
            for field in run.select(rule.selector):
                value = field.element.value
                if rule.split is None:
                    if isinstance(value, Sequence) or value is None or (isinstance(value, str) and value == ""):
                        continue
                    for item in value if isinstance(value, MultiValue) else (value,):
                        try:
                            values.setdefault(item, None)
                        except TypeError:
                            continue
                else:
                    for piece in str(value).split(rule.split):
                        if len(piece) >= rule.minlength:
                            values.setdefault(piece, None)
        return list(values)


@attrs.frozen
class FieldsGroupDef:
    name: str
    selectors: tuple[int, ...]

    def compute(self, run: Run) -> list[DicomField]:
        seen: dict[int, DicomField] = {}
        for index in self.selectors:
            for field in run.select(index):
                seen.setdefault(id(field), field)
        return list(seen.values())
