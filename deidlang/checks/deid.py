"""Lines deid 0.4.13 runs differently from what they say: comments deid reads as part
of a line, REMOVE lines cancelled by deid's exclusion rule (a REPLACE/JITTER names the
element), KEEP of keywords that occur only nested, KEEP lines that shadow later lines."""

from __future__ import annotations

from typing import Iterator, Mapping

from ..lang import nodes
from ..lang.diagnostics import Diagnostic
from ..lang.source import Span
from ..runtime.content import CODE_ITEM_KEYWORDS
from .context import CHANGING, PROTECTED, Attr, Context, folded_attr, selects, tag_attr, target_attr

# --------------------------------------------------------------------------- comments


def check_comments(ctx: Context) -> Iterator[Diagnostic]:
    """W401: trailing comments that deid reads as part of an action line.

    (Comments on criterion and coordinates lines are checked with those lines.)
    """
    for a in ctx.actions:
        if a.comment is not None:
            yield from _action_comment(ctx, a)


def _action_comment(ctx: Context, a: nodes.ActionLine) -> Iterator[Diagnostic]:
    line = ctx.line_text(a.span.end_line)
    start = a.span.end_column - 1
    hash_at = line.find("#", start)
    if hash_at < 0:
        return
    comment_span = Span(a.span.end_line, hash_at + 1, a.span.end_line, len(line.rstrip()) + 1)
    spaced = hash_at > start
    v = a.value
    action = a.action
    if v is None and not spaced:
        word = line[a.field.span.column - 1 : len(line.rstrip())].split()[0]
        yield ctx.diag(
            comment_span,
            "W401",
            f"deid reads the field as '{word}' (the comment is glued to it), which matches nothing; deidlang ignores the comment",
            "put a space before '#'",
        )
    elif not spaced:
        return  # 'ADD X v#c': deid cuts the value at '#' too
    elif v is None and action == "REMOVE":
        yield ctx.diag(
            comment_span,
            "W401",
            f"deid reads the comment as an empty value, and REMOVE with an empty value removes nothing; deidlang removes '{a.field.text}'",
            "move the comment to its own line",
        )
    elif isinstance(v, (nodes.VarRef, nodes.FuncRef)) and action != "BLANK" and action != "KEEP":
        yield ctx.diag(
            comment_span,
            "W401",
            f"deid looks up '{v.name} ' (with the space before the comment), finds nothing and skips the action; deidlang ignores the comment",
            "move the comment to its own line",
        )
    elif isinstance(v, nodes.Literal) and action in ("ADD", "REPLACE"):
        yield ctx.diag(
            comment_span,
            "W401",
            f"deid keeps the space before the comment: the value is '{v.raw or v.text} ' under deid; deidlang ignores the comment",
            "move the comment to its own line",
        )


# --------------------------------------------------------------------------- REMOVE vs REPLACE/JITTER


def check_remove_cancelled(ctx: Context) -> Iterator[Diagnostic]:
    """W406: REMOVE of a field that a REPLACE/JITTER with var:/func: also names."""
    protectors = [
        a
        for a in ctx.header
        if a.action in ("REPLACE", "JITTER") and isinstance(a.value, (nodes.VarRef, nodes.FuncRef)) and not isinstance(a.field, nodes.GroupRef)
    ]
    if not protectors:
        return
    for r in ctx.header:
        if r.action != "REMOVE" or isinstance(r.field, nodes.GroupRef):
            continue
        hits = [p for p in protectors if _overlap(r.field, p.field)]
        if not hits:
            continue
        p = hits[0]
        if len(hits) == 1:
            what = f"what {p.action} {p.field.text} (line {p.span.line}) also selects; when {p.value.text} gives no value"  # type: ignore[union-attr]  # a protector has a value
        else:
            what = f"what the REPLACE/JITTER lines {', '.join(str(h.span.line) for h in hits)} also select; when their var:/func: gives no value"
        yield ctx.diag(
            r.field.span,
            "W406",
            f"deid never removes {what}, the original value stays in the output",
            "deidlang reports a missing value for such a field as an error at run time; make sure the variable or function always gives a value, or drop the overlap",
        )


def _leaf(f: nodes.Field) -> Attr | None:
    if isinstance(f, nodes.Keyword):
        return folded_attr(f.name)
    if isinstance(f, nodes.Tag):
        return tag_attr(f.value)
    if isinstance(f, nodes.NestedName) and f.parts[-1]:
        return folded_attr(f.parts[-1])
    return None


def _overlap(a: nodes.Field, b: nodes.Field) -> bool:
    """Whether two field expressions statically select a common element."""
    la, lb = _leaf(a), _leaf(b)
    if la is not None and lb is not None:
        return la.tag is not None and la.tag == lb.tag
    if lb is not None:
        return selects(a, lb)
    if la is not None:
        return selects(b, la)
    if isinstance(a, nodes.AllFields) or isinstance(b, nodes.AllFields):
        return True
    return a == b


# --------------------------------------------------------------------------- KEEP of nested-only keywords


#: Keywords that DICOM defines only inside sequence items. deid's KEEP protects
#: an element only where it is top-level in the file, so KEEP of one
#: of these protects nothing in practice. Curated from PS3.3 macros: the Code
#: Sequence Macro (Table 8.8-1), the SOP Instance Reference Macro (Table 10-11),
#: the Image SOP Instance Reference Macro (Table 10-3) and the SR content item
#: (C.17.3). None of them occurs at top level in pydicom's or deid-data's test
#: files (189 files; they occur nested in 39). Kept short on purpose: a keyword
#: that some files carry at top level does not belong here.
NESTED_KEYWORDS: Mapping[str, str] = {
    **dict.fromkeys(
        CODE_ITEM_KEYWORDS,
        "code sequence items (e.g. ConceptNameCodeSequence)",
    ),
    **dict.fromkeys(
        ("ReferencedSOPClassUID", "ReferencedSOPInstanceUID", "ReferencedFrameNumber", "ReferencedSegmentNumber"),
        "reference items (e.g. ReferencedImageSequence)",
    ),
    **dict.fromkeys(("RelationshipType", "ReferencedContentItemIdentifier"), "SR content items (ContentSequence)"),
}


def check_keep_nested(ctx: Context) -> Iterator[Diagnostic]:
    """W408: KEEP of a keyword that DICOM puts only inside sequence items."""
    for a in ctx.actions:
        if a.action != "KEEP" or isinstance(a.value, nodes.DeidFunc):
            continue  # KEEP with a built-in is deidlang's own line: deid cannot run it anyway
        f = a.field
        if isinstance(f, nodes.Keyword):
            attr = folded_attr(f.name)
        elif isinstance(f, nodes.Tag) and (f.text.startswith("(") or f.text.isalnum()) and f.text[:2].lower() != "0x" and not any(c.isspace() for c in f.text):
            attr = tag_attr(f.value)
        else:
            continue
        where = NESTED_KEYWORDS.get(attr.keyword) if attr is not None else None
        if where is None:
            continue
        yield ctx.diag(
            f.span,
            "W408",
            f"deid's KEEP protects '{f.text}' only where it is a top-level element of the file; {attr.keyword} normally sits only inside {where}, where deid's KEEP protects nothing; deidlang protects it at every depth",  # type: ignore[union-attr]  # where: from attr
            "KEEP the sequences that hold it: both tools then protect everything inside them",
        )


# --------------------------------------------------------------------------- KEEP shadows


def check_keep_shadows(ctx: Context) -> Iterator[Diagnostic]:
    """W307: REMOVE/BLANK/REPLACE/JITTER of an element that a KEEP of the recipe protects.

    KEEP is applied before every other action, wherever it is written, and
    hides what it selects from all of them but ADD (docs/differences-from-deid.md,
    item 6): such a line does nothing, in either order of the two lines.
    Only lines that name one element (a keyword or a tag) are judged; the KEEP
    may name it, or select it with an expander, ALL or a fields: group.
    """
    keeps = [a for a in ctx.header if a.action == "KEEP"]
    if not keeps:
        return
    for a in ctx.header:
        if a.action not in CHANGING or not isinstance(a.field, (nodes.Keyword, nodes.Tag)):
            continue
        attr = target_attr(a.field)
        if attr is None or attr.tag is None or attr.keyword in PROTECTED:
            continue
        k = next((k for k in keeps if _protects(ctx, k.field, attr)), None)
        if k is None:
            continue
        yield ctx.diag(
            a.field.span,
            "W307",
            f"this {a.action} does nothing: KEEP {k.field.text} (line {k.span.line}) protects {attr.keyword} from every action but ADD",
            "KEEP applies before the other actions, wherever it is written: delete this line, or narrow the KEEP",
        )


def _protects(ctx: Context, f: nodes.Field, attr: Attr) -> bool:
    """Whether a KEEP of ``f`` protects the element ``attr`` wherever it is."""
    if isinstance(f, (nodes.Keyword, nodes.Tag)):
        target = target_attr(f)
        return target is not None and target.tag == attr.tag
    if isinstance(f, (nodes.Expander, nodes.AllFields)):
        return selects(f, attr)
    if isinstance(f, nodes.GroupRef) and f.kind == "fields":
        return any(not isinstance(g.field, nodes.GroupRef) and _protects(ctx, g.field, attr) for g in ctx.fields_groups.get(f.name, ()))
    return False
