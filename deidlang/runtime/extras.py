"""deidlang's additions to deid's runtime: private-element selectors, KEEP with a
value, the private-removal step, and the composition of several recipes.

* ``select:private`` selects every private element (creators included);
  ``select:creator:NAME`` the private data elements whose block belongs to
  creator NAME (compared without case; quote a name with spaces).
* ``REMOVE select:private`` deletes the selected private data elements and
  then every private creator whose block has nothing left, so a block that a
  KEEP protects keeps its creator (deid's REMOVE would orphan it).
* ``KEEP FIELD deid_func:NAME ...`` sets the kept elements to the built-in's
  value, then protects them like any KEEP: the way to say "keep the dates,
  shifted" (:class:`KeepValue`).
* :func:`chain`: when recipes are applied one after the other (``deidc run
  --recipe A --recipe B``), the elements a recipe KEEPs stay protected in
  every later recipe. That is what lets an option recipe applied before the
  base profile retain what the profile would remove.
"""

from __future__ import annotations

from typing import Any, ClassVar, Iterable

import attrs

from ..lang.source import Span
from .actions import assign, resolve
from .context import Run
from .universe import FieldInfo

__all__ = ["Private", "Creator", "KeepValue", "RemovePrivate", "chain", "select_extra"]

_NOSPAN = Span(0, 0, 0, 0)


# --------------------------------------------------------------------------- selectors


@attrs.frozen
class Private:
    """``select:private``: every element with an odd group."""

    static: ClassVar[bool] = True
    text: str = "select:private"

    def matches(self, info: FieldInfo) -> bool:
        return info.is_private


@attrs.frozen
class Creator:
    """``select:creator:NAME``: the private data elements of NAME's blocks (lower-cased)."""

    static: ClassVar[bool] = True
    name: str
    text: str = ""

    def matches(self, info: FieldInfo) -> bool:
        creator = info.creator
        return info.is_private and isinstance(creator, str) and creator.strip().lower() == self.name


def select_extra(argument: str, text: str):
    """The selector for a deidlang-only ``select:`` argument, or None."""
    attribute, _, value = argument.partition(":")
    low = attribute.lower()
    if low == "private" and not value:
        return Private(text)
    if low == "creator" and value:
        name = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
        return Creator(name.strip().lower(), text)
    return None


# --------------------------------------------------------------------------- steps


def _step_repr(self) -> str:
    return f"<{type(self).__name__} {self.label or self.text} line {self.span.line}>"


@attrs.frozen(repr=False)
class KeepValue:
    """``KEEP expr deid_func:...``: the kept elements take the value, then nothing else
    (in this recipe or a later one) changes them. The KEEP pre-pass has already hidden
    them from the other actions; this step finds them among all the fields."""

    selector: int
    value: Any
    text: str = ""
    span: Span = attrs.field(default=_NOSPAN, eq=False)
    label: str = attrs.field(default="", eq=False)

    __repr__ = _step_repr

    def __call__(self, run: Run) -> None:
        skip = run.program.skip.tags
        index = self.selector
        for field in list(run.fields):
            if not field.alive or index not in field.ids or field.tag_int in skip:
                continue
            if field.dkey not in field.parent._dict:
                continue
            run.current = field
            value = resolve(run, self, self.value, field, field.element, field)
            if value is None:
                continue
            assign(run, self, field, value)


@attrs.frozen(repr=False)
class RemovePrivate:
    """``REMOVE select:private``: the private data elements, then the creators left alone."""

    selector: int
    text: str = ""
    span: Span = attrs.field(default=_NOSPAN, eq=False)
    label: str = attrs.field(default="", eq=False)

    __repr__ = _step_repr

    def __call__(self, run: Run) -> None:
        creators = []
        for field in run.select(self.selector):
            if not field.alive:
                continue
            run.current = field
            low = field.tag_int & 0xFFFF
            if 0x0010 <= low <= 0x00FF:
                creators.append(field)
            elif field.excluded:
                continue  # a REPLACE/JITTER of the recipe names it (deid's exclusion rule)
            else:
                run.delete(field)
        for field in creators:
            if not field.alive or field.excluded:
                continue
            tag = field.tag_int
            first = (tag & 0xFFFF0000) | ((tag & 0xFF) << 8)
            parent = field.parent._dict
            if any(first <= int(t) <= first + 0xFF for t in parent):
                continue  # its block still holds (kept) elements
            run.current = field
            run.delete(field)


# --------------------------------------------------------------------------- composition


def chain(programs: Iterable[Any]) -> list[Any]:
    """The Programs to apply one after the other, each also honouring the KEEP lines
    of the recipes before it (their protection, not their values). Anything that is
    not a deidlang Program is passed through unchanged."""
    from .program import Cache, Program

    out: list[Any] = []
    earlier: list[Any] = []  # KEEP selectors of the programs so far
    for program in programs:
        if not isinstance(program, Program):
            out.append(program)
            continue
        if earlier:
            selectors = list(program.selectors)
            keep = list(program.keep)
            for sel in earlier:
                try:
                    index = selectors.index(sel)
                except ValueError:
                    index = len(selectors)
                    selectors.append(sel)
                if index not in keep:
                    keep.append(index)
            program = attrs.evolve(program, selectors=tuple(selectors), keep=tuple(keep), cache=Cache())
        out.append(program)
        for index in program.keep:
            sel = program.selectors[index]
            if sel not in earlier:
                earlier.append(sel)
    return out
