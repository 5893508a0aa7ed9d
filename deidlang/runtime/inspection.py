"""What a recipe's ``%filter`` groups say about one dataset.

``Program.inspect(dataset)`` returns an :class:`Inspection`; the pixel cleaner
(:mod:`deidlang.pixels`) consumes its :attr:`Inspection.regions`. These are
plain values: they hold tags, label names and recipe places, never element
values, so they can be logged and written to reports.
"""

from __future__ import annotations

import attrs

from ..lang.source import Span


@attrs.frozen
class Region:
    """One box to blank (``keep=False``) or to restore (``keep=True``).

    ``box`` is ``(x0, y0, x1, y1)`` in pixels, end exclusive (CTP's x,y,w,h
    already converted); ``None`` means the whole frame. Regions apply in
    order and the last one covering a pixel wins (deid's mask semantics).
    """

    keep: bool
    box: tuple[int, int, int, int] | None
    recipe: str = ""
    span: Span | None = attrs.field(default=None, eq=False)

    @property
    def is_whole_image(self) -> bool:
        return self.box is None


@attrs.frozen
class Criterion:
    """A criterion that held, for reports: ``Modality contains CT``."""

    field: str
    predicate: str
    value: str | None = None

    def __str__(self) -> str:
        return " ".join(p for p in (self.field, self.predicate, self.value) if p)


@attrs.frozen
class LabelMatch:
    """A LABEL block that flagged the dataset."""

    group: str
    label: str
    reason: str  # deid-style reason text, e.g. "and Manufacturer contains GE Modality contains CT"
    criteria: tuple[Criterion, ...] = ()
    regions: tuple[Region, ...] = ()
    recipe: str = ""
    span: Span | None = attrs.field(default=None, eq=False)


@attrs.frozen
class Inspection:
    """The verdict for one dataset.

    ``group`` is the verdict: the first ``%filter`` group, in recipe order,
    with a matching label (deid's documented priority: whitelist, graylist,
    blacklist...). ``matches`` lists every matching label of every group, in
    recipe order.
    """

    matches: tuple[LabelMatch, ...] = ()

    @property
    def flagged(self) -> bool:
        return bool(self.matches)

    @property
    def group(self) -> str | None:
        return self.matches[0].group if self.matches else None

    @property
    def regions(self) -> tuple[Region, ...]:
        """Every region of every match, in order: what the pixel cleaner applies."""
        return tuple(r for m in self.matches for r in m.regions)

    def groups(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for m in self.matches:
            seen.setdefault(m.group, None)
        return tuple(seen)
