"""Checks of ``%values`` and ``%fields`` groups: their definitions, SPLIT options, and
``%fields`` members that name nothing."""

from __future__ import annotations

import functools
from typing import Iterator

from ..lang import nodes
from ..lang.diagnostics import INFO, Diagnostic
from ..lang.suggest import did_you_mean
from .context import SPLIT_OPTIONS, Context, expander_source, folded_attr, pattern_probe, tag_known, tag_text

# --------------------------------------------------------------------------- %fields members


def check_fields_members(ctx: Context) -> Iterator[Diagnostic]:
    """W407: %fields members that deid widens to every element with their tag.

    At use, deid looks every member of a ``fields:`` group up again by its
    bare tag, which reaches that tag at every depth (and under any
    private creator). That changes nothing for a keyword or a tag, which match
    at every depth anyway, but widens a uid path, a nested name or a
    private-creator form, and a ``contains:``/``startswith:``/``except:``
    pattern that can match a sequence's keyword: the nested name of every
    element inside such a sequence starts with it, so the pattern collects
    them whatever their own keyword, and deid then reaches their tags at every
    depth (``FIELD contains:Instance`` collects the ReferencedSOPClassUID of a
    ReferencedInstanceSequence item, and deid removes every
    ReferencedSOPClassUID of the file). deidlang keeps exactly what the group
    collected.
    """
    uses: dict[str, nodes.ActionLine] = {}
    for a in ctx.actions:
        f = a.field
        if isinstance(f, nodes.GroupRef) and f.kind == "fields" and f.name in ctx.fields_groups:
            uses.setdefault(f.name, a)
    if not uses:
        return
    for section, g in ctx.group_lines:
        use = uses.get(section.name or "") if section.kind == "fields" else None
        if use is None or g.action != "FIELD":
            continue
        f = g.field
        ref = f"{use.action} fields:{section.name or ''} (line {use.span.line})"
        if isinstance(f, nodes.UidPath):
            if not tag_known(f.steps[-1]):
                continue
            yield ctx.diag(
                f.span,
                "W407",
                f"deid looks this member up again by its tag when it runs {ref}, so it reaches every element with tag {tag_text(f.steps[-1])} at any depth; deidlang keeps exactly '{f.text}'",
                f"to act on this one element under both, write the path on the action line: {use.action} {f.text} ...",
            )
        elif isinstance(f, nodes.NestedName) and len(f.parts) > 1 and f.parts[-1]:
            attr = folded_attr(f.parts[-1])
            if attr is None or attr.tag is None:
                continue
            yield ctx.diag(
                f.span,
                "W407",
                f"deid looks this member up again by its tag when it runs {ref}, so it reaches every {attr.keyword} at any depth, not only in {f.parts[0]}; deidlang keeps exactly '{f.text}'",
                f"write the nested name on the action line to get the same elements from both: {use.action} {f.text} ...",
            )
        elif isinstance(f, nodes.PrivateTag) and f.group % 2 == 1:
            yield ctx.diag(
                f.span,
                "W407",
                f"deid looks this member up again by its tag when it runs {ref}, so it reaches every element with the same tag at any depth, whatever its private creator; deidlang keeps exactly the elements of creator '{f.creator}'",
                f"write the private-creator form on the action line to get the same elements from both: {use.action} {f.text} ...",
            )
        elif isinstance(f, nodes.Expander) and f.kind in _PARENT_MATCHING:
            sequence = _sequence_matched(f.kind, f.argument)
            if sequence is None:
                continue
            yield ctx.diag(
                f.span,
                "W407",
                f"'{f.text}' matches sequence keywords (such as {sequence}), so it collects every element nested in such a sequence whatever its own keyword, and deid looks each one up again by its tag when it runs {ref}, reaching every element with that tag at any depth; deidlang keeps exactly what the pattern collected",
                f"to act on the same elements under both, write the pattern on the action line: {use.action} {f.text} ...",
            )


#: expanders whose pattern can match a nested name through its parent's keyword
_PARENT_MATCHING = frozenset({"contains", "startswith", "except"})


@functools.lru_cache(maxsize=256)
def _sequence_matched(kind: str, argument: str) -> str | None:
    """A sequence keyword (the shortest) that the pattern matches as the start of a
    nested name (``keyword__``, lower-cased as deid matches names), or None."""
    search = pattern_probe(expander_source(kind, argument))
    if search is None:
        return None
    for keyword in _sequence_keywords():
        if search(keyword.lower() + "__"):
            return keyword
    return None


@functools.lru_cache(maxsize=1)
def _sequence_keywords() -> tuple[str, ...]:
    from pydicom.datadict import DicomDictionary

    return tuple(sorted((kw for vr, _vm, _name, _retired, kw in DicomDictionary.values() if vr == "SQ" and kw), key=lambda k: (len(k), k)))


# --------------------------------------------------------------------------- groups


def check_groups(ctx: Context) -> Iterator[Diagnostic]:
    """FIELD/SPLIT verbs and options; groups defined twice or never used."""
    for _section, g in ctx.group_lines:
        if g.verb != g.action:
            yield ctx.diag(
                g.verb_span,
                "W102",
                f"deid ignores '{g.verb}' lines at run time (only upper-case '{g.action}' works); deidlang applies it as {g.action}",
                f"write '{g.action}'",
            )
        if g.action == "FIELD":
            if g.options:
                yield ctx.diag(g.options[0].span, "W301", "'FIELD' takes no options; they are ignored", "SPLIT takes by= and minlength=")
        else:
            yield from _split_options(ctx, g)
    yield from _group_definitions(ctx)


def _split_options(ctx: Context, g: nodes.GroupLine) -> Iterator[Diagnostic]:
    for opt in g.options:
        name, value = opt.name, opt.value
        if name == "splitval":
            yield ctx.diag(
                opt.span, "W414", "deid ignores 'splitval' (its option is 'by') and splits at spaces; deidlang reads it as 'by'", f"write by={value}"
            )
        elif name not in SPLIT_OPTIONS:
            hint = did_you_mean(name, SPLIT_OPTIONS) or "SPLIT options are by= and minlength="
            yield ctx.diag(opt.span, "E302", f"unknown SPLIT option '{name}'", hint)
            continue
        if name == "minlength":
            bare = value.strip("'\"")
            if value != bare and bare.isdigit():
                yield ctx.diag(opt.span, "W412", f"deid crashes on the quoted number in minlength={value}; deidlang reads {bare}", f"write minlength={bare}")
            elif not value.isdigit():
                yield ctx.diag(opt.span, "E302", f"minlength must be a whole number, not '{value}'", "write e.g. minlength=3")
        elif name in ("by", "splitval"):
            sep = value
            if len(sep) >= 2 and sep[0] == sep[-1] and sep[0] in "'\"":
                sep = sep[1:-1]
            if not sep:
                yield ctx.diag(opt.span, "E302", f"{name}= needs a separator", "write e.g. by=^")
            elif "=" in value:
                yield ctx.diag(
                    opt.span, "W412", f"deid crashes on '=' in a SPLIT option value ({name}={value}); deidlang splits at '{sep}'", "use another separator"
                )
    # text deid sees after the options: a trailing ';' or a comment is an empty option for deid
    end = g.options[-1].span if g.options else g.field.span
    tail = ctx.tail(end)
    stripped = tail.split("#", 1)[0].strip()
    if stripped.startswith(";"):
        yield ctx.diag(g.span, "W412", "deid crashes on the empty SPLIT option after ';'; deidlang ignores it", "delete the trailing ';'")
    elif not g.options and "#" in tail:
        yield ctx.diag(
            g.span, "W401", "deid reads the comment as an empty SPLIT option and crashes; deidlang ignores the comment", "move the comment to its own line"
        )


def _group_definitions(ctx: Context) -> Iterator[Diagnostic]:
    seen: dict[tuple[str, str], nodes.Section] = {}
    for s in ctx.recipe.sections:
        if s.kind not in ("values", "fields") or not s.name:
            continue
        key = (s.kind, s.name)
        if key in seen:
            yield ctx.diag(
                s.span,
                "W206",
                f"%{s.kind} group '{s.name}' is also defined at line {seen[key].span.line}; the two are merged",
                "keep one section per group",
                severity=INFO,
            )
            continue
        seen[key] = s
        other = ("fields" if s.kind == "values" else "values", s.name)
        if other in seen:
            yield ctx.diag(
                s.span,
                "W420",
                f"'{s.name}' names both a %values and a %fields group: deid keeps one lookup entry per name, so one group hides the other; deidlang keeps both",
                "give the groups different names",
            )
    if not seen:
        return
    used: set[tuple[str, str]] = set()
    variables: set[str] = set()
    for a in ctx.actions:
        f = a.field
        if isinstance(f, nodes.GroupRef):
            used.add((f.kind, f.name))
        v = a.value
        if isinstance(v, nodes.ValueFilter) and v.kind == "values":
            used.add(("values", v.argument))
        elif isinstance(v, nodes.VarRef):
            variables.add(v.name)  # deid also stores group results under their names
    for (kind, name), s in seen.items():
        if (kind, name) not in used and name not in variables:
            yield ctx.diag(s.span, "W207", f"%{kind} group '{name}' is never used", f"refer to it as {kind}:{name}, or delete it", severity=INFO)
