"""Hover: for a keyword or tag, the attribute (name, tag, VR, VM) and its PS3.15
Table E.1-1 action; for a header line, what it selects, the lines that
shadow it and, with a sample file, what it does to that file's elements;
for references, groups and built-ins, what they are.

Element values never appear: a sample file's elements are named by path,
with what happened to them.
"""

from __future__ import annotations

import os
from typing import Any

from ..checks.context import DEID_FUNCS
from ..lang import nodes
from ..tools import dictionary
from .analysis import Analysis, Token
from .settings import Settings

__all__ = ["hover", "line_summary", "SampleCache"]

_PREDICATE_HELP = {
    "contains": "the field's value matches the regular expression (case-insensitive, anywhere in the value)",
    "notcontains": "the field's value does not match the regular expression",
    "equals": "the field's value is exactly this (case-insensitive)",
    "notequals": "the field's value is not exactly this",
    "missing": "the field is absent",
    "present": "the field is present",
    "empty": "the field is absent or empty",
}
_SECTION_HELP = {
    "header": "header actions, applied in order to every file",
    "labels": "actions deid applies when it labels files (deidlang applies them like %header)",
    "filter": "LABEL blocks that flag images with burned-in text, and the regions to blank",
    "values": "a group of values collected from each file (FIELD, SPLIT); used as `values:NAME`",
    "fields": "a group of fields (FIELD); used as `fields:NAME`",
}


def hover(analysis: Analysis, settings: Settings, samples: "SampleCache", line: int, column: int) -> tuple[str, Any] | None:
    """The hover text (Markdown) and the span it is about, or None."""
    tok = analysis.token_at(line, column)
    if tok is None:
        return None
    node = analysis.by_line.get(line)
    parts = [p for p in _about_token(analysis, settings, tok, node) if p]
    if isinstance(node, nodes.ActionLine) and tok.kind in ("keyword", "field"):
        parts.append(line_summary(analysis, settings, samples, node))
    if not parts:
        return None
    return "\n\n---\n\n".join(parts), tok.span


def _about_token(analysis: Analysis, settings: Settings, tok: Token, node: Any):
    target = tok.node
    if tok.kind == "field":
        yield from _about_field(analysis, target, node)
    elif tok.kind == "keyword" and isinstance(target, nodes.Criterion):
        yield f"`{target.predicate}`: {_PREDICATE_HELP.get(target.predicate, '')}"
    elif tok.kind == "section":
        yield f"`%{target.kind}`: {_SECTION_HELP.get(target.kind, 'unknown section')}"
    elif tok.kind == "group":
        yield _about_group(analysis, target.kind, target.name)
    elif tok.kind == "variable":
        yield _about_variable(settings, target.name)
    elif tok.kind == "function":
        yield _about_function(settings, target)
    elif tok.kind == "pattern" and isinstance(target, nodes.ValueFilter):
        if target.kind == "values":
            yield _about_group(analysis, "values", target.argument)
        else:
            yield f"value filter `{target.kind}:`: REMOVE deletes only the selected elements whose value matches"


def _about_field(analysis: Analysis, field: Any, node: Any):
    if isinstance(field, nodes.GroupRef):
        yield _about_group(analysis, field.kind, field.name)
        return
    attr = dictionary.of_field(field)
    if attr is not None:
        text = dictionary.describe(attr)
        if isinstance(field, nodes.Keyword) and field.name != attr.keyword:
            text += f"\n\n(written '{field.name}'; the keyword is '{attr.keyword}')"
        yield text
        return
    if isinstance(field, (nodes.Expander, nodes.AllFields)):
        found = dictionary.selected(field)
        if found is not None:
            yield f"`{field.text}` selects {len(found)} attribute{'s' if len(found) != 1 else ''} of the DICOM dictionary: {dictionary.names(found)}"
        return
    if isinstance(field, nodes.PrivateTag):
        yield f'private element ({field.group:04X},xx{field.element & 0xFF:02X}) of creator "{field.creator}"'
    elif isinstance(field, nodes.Tag):
        yield f"({field.group:04X},{field.element:04X}): not in the DICOM dictionary"
    elif isinstance(field, nodes.Keyword):
        yield f"'{field.name}' is not a DICOM keyword"


def _about_group(analysis: Analysis, kind: str, name: str) -> str:
    members = analysis.group_members(kind, name)
    defs = [d for d in analysis.group_defs if d.kind == kind and d.name == name]
    if not defs:
        return f"`{kind}:{name}`: no `%{kind} {name}` section in this recipe"
    uses = [u for u in analysis.group_uses if u.kind == kind and u.name == name]
    lines = [f"`%{kind} {name}`, line {', '.join(str(d.span.line) for d in defs)}; used {len(uses)} time{'s' if len(uses) != 1 else ''}"]
    for g in members[:20]:
        opts = ";".join(f"{o.name}={o.value}" for o in g.options)
        lines.append(f"- line {g.span.line}: `{g.action} {g.field.text}{' ' + opts if opts else ''}`")
    if len(members) > 20:
        lines.append(f"- and {len(members) - 20} more")
    return "\n".join(lines)


def _about_variable(settings: Settings, name: str) -> str:
    ids = settings.options.ids
    if ids is None:
        return f"`var:{name}`: a per-file variable from the ids (set `deidlang.idsFile` to check and complete them)"
    having = sum(1 for entry in ids.values() if isinstance(entry, dict) and name in entry)
    return f"`var:{name}`: supplied for {having} of the {len(ids)} files in {os.path.basename(settings.ids_file or '')}"


def _about_function(settings: Settings, value: Any) -> str:
    if isinstance(value, nodes.DeidFunc):
        args = DEID_FUNCS.get(value.name)
        if args is None:
            return f"`deid_func:{value.name}`: not a built-in"
        shown = " ".join(f"{a}=" for a in args)
        return f"`deid_func:{value.name}{' ' + shown if shown else ''}`: {dictionary.BUILTINS.get(value.name, '')}"
    if settings.functions is None:
        return f"`func:{value.name}`: a function you supply (set `deidlang.functionsFile` to check the names)"
    known = value.name in settings.functions
    return f"`func:{value.name}`: {'defined in' if known else 'not defined in'} {os.path.basename(settings.functions_file or '')}"


# --------------------------------------------------------------------------- a header line


def _tags(field: Any, recipe: Any = None) -> frozenset[int] | None:
    found = dictionary.selected(field, recipe=recipe)
    return None if found is None else frozenset(a.tag for a in found)  # type: ignore[misc]  # what a field selects has tags


def _shadows(analysis: Analysis, line: nodes.ActionLine) -> list[str]:
    """Lines that take (some of) this line's attributes from it, judged on the dictionary."""
    mine = _tags(line.field, analysis.recipe)
    if not mine:
        return []
    out = []
    after = False
    for other in analysis.header_lines:
        if other is line:
            after = True
            continue
        theirs = _tags(other.field, analysis.recipe)
        common = mine & theirs if theirs else frozenset()
        if not common:
            continue
        what = dictionary.names([dictionary.by_tag(t) for t in sorted(common) if dictionary.by_tag(t)], limit=6)  # type: ignore[misc]  # filtered
        where = f"line {other.span.line} `{analysis.source.line(other.span.line).strip()}`"
        if other.action == "KEEP" and line.action not in ("KEEP", "ADD"):
            out.append(f"{where} keeps {what}: this line does not touch them")
        elif line.action == "REMOVE" and line.value is None and other.action in ("REPLACE", "JITTER") and not isinstance(other.field, nodes.GroupRef):
            out.append(f"{where} names {what}: this REMOVE is cancelled for them (deid's rule, kept by deidlang)")
        elif after and other.action in ("REMOVE", "REPLACE", "BLANK", "JITTER") and line.action not in ("KEEP",):
            out.append(f"{where} changes {what} again after this line")
    return out


def line_summary(analysis: Analysis, settings: Settings, samples: "SampleCache", line: nodes.ActionLine) -> str:
    found = dictionary.selected(line.field, recipe=analysis.recipe)
    head = f"**{line.action}** `{line.field.text}`"
    if found is None:
        parts = [f"{head}: what it selects depends on the data"]
    else:
        parts = [
            f"{head} selects {len(found)} attribute{'s' if len(found) != 1 else ''} of the DICOM dictionary" + (f": {dictionary.names(found)}" if found else "")
        ]
    shadows = _shadows(analysis, line)
    if shadows:
        parts.append("Shadowed (judged on the dictionary):\n" + "\n".join(f"- {s}" for s in shadows))
    parts.append(samples.about(analysis, settings, line))
    return "\n\n".join(p for p in parts if p)


class SampleCache:
    """``deidc explain`` of the sample file, once per document version and settings."""

    def __init__(self):
        self._key: tuple | None = None
        self._value: Any = None

    def explanation(self, analysis: Analysis, settings: Settings):
        key = (id(analysis), analysis.version, settings.sample_dicom, id(settings.sample))
        if key != self._key:
            self._key, self._value = key, _explain(analysis, settings)
        return self._value

    def about(self, analysis: Analysis, settings: Settings, line: nodes.ActionLine) -> str:
        if settings.sample is None:
            return ""
        explained = self.explanation(analysis, settings)
        name = os.path.basename(settings.sample_dicom or "")
        if isinstance(explained, str):
            return f"Sample {name}: {explained}"
        decided = [e for e in explained.elements if e.decided_by is not None and e.decided_by.line == line.span.line]
        shadowed = [(e, s) for e in explained.elements for s in e.shadowed if s.rule.line == line.span.line]
        if not decided and not shadowed:
            return f"Sample {name}: this line changes none of its elements"
        out = [f"Sample {name}:"]
        for e in decided[:15]:
            out.append(f"- {e.path}: {e.outcome}")
        if len(decided) > 15:
            out.append(f"- and {len(decided) - 15} more")
        for e, s in shadowed[:10]:
            by = f" (line {e.decided_by.line})" if e.decided_by is not None else ""
            out.append(f"- {e.path}: shadowed{by}: {s.reason}")
        return "\n".join(out)


def _explain(analysis: Analysis, settings: Settings):
    """The explanation of the sample file, or a sentence saying why there is none."""
    from .. import api
    from ..lang.diagnostics import DeidlangError
    from ..runtime import explain, keyed, keys

    if any(d.is_error for d in analysis.diagnostics):
        return "the recipe has errors; fix them to see what it does to the sample"
    try:
        # a preview of what the lines do: findings that would refuse a run are the diagnostics' business
        program = api.compile(analysis.text, path=analysis.source.name, allow=True)
        if keyed.needs_key([program]):
            try:
                key, _ = keys.default_key(create=False)
            except keys.MissingKey:  # outcomes do not depend on the key, and no value is shown
                key = keys.key_from_text(os.urandom(24).hex(), "editor preview")
            program = keyed.bind(program, key)
        ids = None
        if settings.options.ids and settings.sample_dicom:
            ids = settings.options.ids.get(settings.sample_dicom) or settings.options.ids.get(os.path.abspath(settings.sample_dicom))
        return explain.explain([program], settings.sample, ids=ids, funcs=settings.functions, path=settings.sample_dicom, remove_private=True)
    except DeidlangError as err:
        code = getattr(err, "code", "")
        return f"cannot apply the recipe to it ({code or type(err).__name__})"
    except Exception as err:  # noqa: BLE001 - a hover never fails; the type names the problem
        return f"cannot apply the recipe to it ({type(err).__name__})"
