"""Go to definition and find references for ``%values``/``%fields`` groups, and
the document's outline (sections, groups and their lines, LABEL blocks)."""

from __future__ import annotations

from lsprotocol import types

from ..lang import nodes
from ..lang.source import Span
from .analysis import Analysis
from .positions import Positions

__all__ = ["definition", "references", "symbols"]


def definition(analysis: Analysis, positions: Positions, uri: str, line: int, column: int) -> list[types.Location]:
    group = analysis.group_at(line, column)
    if group is None:
        return []
    kind, name = group
    return [types.Location(uri=uri, range=positions.range(d.span)) for d in analysis.group_defs if d.kind == kind and d.name == name]


def references(analysis: Analysis, positions: Positions, uri: str, line: int, column: int, include_declaration: bool) -> list[types.Location]:
    group = analysis.group_at(line, column)
    if group is None:
        return []
    kind, name = group
    spans: list[Span] = []
    if include_declaration:
        spans += [d.span for d in analysis.group_defs if d.kind == kind and d.name == name]
    spans += [u.span for u in analysis.group_uses if u.kind == kind and u.name == name]
    spans.sort()
    return [types.Location(uri=uri, range=positions.range(s)) for s in spans]


def _last_line(analysis: Analysis, first: int, stop: int) -> int:
    """The last non-blank line in [first, stop)."""
    last = first
    for n in range(first, min(stop, len(analysis.lines) + 1)):
        if analysis.source.line(n).strip():
            last = n
    return last


def symbols(analysis: Analysis, positions: Positions) -> list[types.DocumentSymbol]:
    items = analysis.parsed.items
    starts = [n.span.line for n in items if isinstance(n, nodes.SectionLine)] + [len(analysis.lines) + 1]
    out: list[types.DocumentSymbol] = []
    K = types.SymbolKind
    section_index = 0
    current: types.DocumentSymbol | None = None
    labels: list[nodes.LabelLine] = []

    def close_labels(stop: int):
        if current is None:
            return
        kids = current.children
        for i, lab in enumerate(labels):
            end = labels[i + 1].span.line if i + 1 < len(labels) else stop
            last = _last_line(analysis, lab.span.line, end)
            rng = types.Range(start=positions.position(lab.span.line, 1), end=positions.position(last, len(analysis.source.line(last)) + 1))
            kids.append(types.DocumentSymbol(name=lab.name or "LABEL", detail="LABEL", kind=K.Event, range=rng, selection_range=positions.range(lab.span)))  # type: ignore[union-attr]  # made with children=[]
        labels.clear()

    for node in items:
        if isinstance(node, nodes.FormatLine):
            out.append(
                types.DocumentSymbol(
                    name=f"FORMAT {node.value}".strip(), kind=K.File, range=positions.range(node.span), selection_range=positions.range(node.span)
                )
            )
        elif isinstance(node, nodes.SectionLine):
            close_labels(node.span.line)
            section_index += 1
            stop = starts[section_index] if section_index < len(starts) else len(analysis.lines) + 1
            last = _last_line(analysis, node.span.line, stop)
            rng = types.Range(start=positions.position(node.span.line, 1), end=positions.position(last, len(analysis.source.line(last)) + 1))
            kind = {"values": K.Array, "fields": K.Struct, "filter": K.Namespace}.get(node.kind, K.Module)
            current = types.DocumentSymbol(
                name=f"%{node.keyword}" + (f" {node.name}" if node.name else ""),
                detail={"values": "values group", "fields": "fields group", "filter": "filter group"}.get(node.kind, "section"),
                kind=kind,
                range=rng,
                selection_range=positions.range(node.span),
                children=[],
            )
            out.append(current)
        elif isinstance(node, nodes.LabelLine) and current is not None:
            labels.append(node)
        elif isinstance(node, nodes.GroupLine) and current is not None:
            current.children.append(  # type: ignore[union-attr]  # made with children=[]
                types.DocumentSymbol(
                    name=f"{node.action} {node.field.text}", kind=K.Field, range=positions.range(node.span), selection_range=positions.range(node.field.span)
                )
            )
    close_labels(len(analysis.lines) + 1)
    return out
