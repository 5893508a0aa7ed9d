"""Checks of the fields that action and group lines name: keywords, tags, private tags,
nested names, uid paths, expanders and group references against pydicom's data dictionary
(E2xx/W2xx), and what ADD can add."""

from __future__ import annotations

import functools
import re
from typing import Any, Iterator

from ..lang import nodes
from ..lang.diagnostics import INFO, Diagnostic
from ..lang.source import Span
from ..lang.suggest import did_you_mean
from .context import (
    CHANGING,
    EXPANDERS,
    HEX_GROUP_RE,
    PROTECTED,
    SEQUENCE_FUNCS,
    UPPER_ESCAPE_RE,
    Attr,
    Context,
    all_vrs,
    close_keywords,
    exact_attr,
    folded_attr,
    group_name,
    keyword_tables,
    pattern_diagnostics,
    pattern_probe,
    selects,
    sub_span,
    suggest_keyword,
    tag_attr,
    tag_known,
    tag_text,
    target_attr,
)

_ADD_BY_NUMBER = "W417"


def _repeater_pattern(keyword: str) -> str:
    """An expander that selects a repeating-group element under deid too (by its tag text)."""
    mask = keyword_tables()[1][keyword].upper()  # e.g. 60XX3000: x marks a varying hex digit
    if mask[:2] in ("50", "60") and mask[2:4] == "XX":  # even groups only (PS3.5 7.6)
        group = mask[:2] + "[0-9A-F][02468ACE]"
        rest = mask[4:]
    else:
        group, rest = "", mask
    return "contains:^" + group + rest.replace("X", "[0-9A-F]") + "$"


#: A did-you-mean is confident when its ratio reaches this and leads the next one by _CONFIDENT_GAP.
_CONFIDENT = 0.85
_CONFIDENT_GAP = 0.05


def _intended(word: str) -> Attr | None:
    """The attribute a misspelled keyword surely means (the confident did-you-mean), or None."""
    close = close_keywords(word)
    if not close or close[0][0] < _CONFIDENT:
        return None
    if len(close) > 1 and close[0][0] - close[1][0] < _CONFIDENT_GAP:
        return None
    attr = exact_attr(close[0][1])
    return attr if attr is not None and attr.tag is not None else None


@functools.lru_cache(maxsize=1024)
def _ends_like_uid(argument: str) -> bool:
    """``endswith:ID``-style arguments that also match every ``...UID`` keyword."""
    low = argument.lower()
    if "uid" in low:
        return False
    search = pattern_probe(f"({low})$")
    return search is not None and search("studyinstanceuid") and search("patientid")


def check_action_fields(ctx: Context) -> Iterator[Diagnostic]:
    """Field expressions of header actions: names, tags, expanders, group references."""
    for a in ctx.actions:
        f = a.field
        if type(f) is nodes.Keyword:  # most lines: the exact keyword of an element any action may change
            attr = exact_attr(f.name)
            if attr is not None and attr.tag is not None and attr.vr not in ("SQ", "PN") and attr.keyword not in PROTECTED and a.action != "ADD":
                continue  # (what _field finds nothing in)
        if a.action == "ADD":
            yield from _add_field(ctx, a)
        else:
            whole = isinstance(a.value, nodes.DeidFunc) and a.value.name in SEQUENCE_FUNCS
            yield from _field(ctx, a.field, a.action, sequence_ok=whole, line=a)


def check_group_fields(ctx: Context) -> Iterator[Diagnostic]:
    """Field expressions of FIELD/SPLIT lines."""
    for section, g in ctx.group_lines:
        if isinstance(g.field, nodes.GroupRef):
            yield ctx.diag(
                g.field.span,
                "E208",
                f"'{g.field.text}' cannot be used inside a %{section.kind} group",
                "deid matches nothing with it; list the fields of the other group here instead",
            )
            continue
        yield from _field(ctx, g.field, "FIELD", line=g)


def _field(ctx: Context, f: nodes.Field, action: str, sequence_ok: bool = False, line: Any = None) -> Iterator[Diagnostic]:
    """A field expression that selects existing elements (every action but ADD).
    ``sequence_ok``: the value is a built-in that works on a whole sequence;
    ``line``: the action or group line the field belongs to."""
    if sequence_ok and action == "REPLACE":
        action = "REPLACE*"
    if isinstance(f, nodes.Keyword):
        attr = exact_attr(f.name)
        if attr is None:
            attr = folded_attr(f.name)
            if attr is None:
                yield _unknown_keyword(ctx, f.span, f.name, action, line, hint="no DICOM keyword is close to it: check the spelling")
                return
            yield ctx.diag(
                f.span,
                "W202",
                f"'{f.name}' is not the DICOM keyword's spelling '{attr.keyword}'",
                f"write '{attr.keyword}' (matching here is case-insensitive, but filters and ADD need the exact keyword)",
            )
        if attr.tag is None:  # a repeating group: (60xx,3000) OverlayData, (50xx,3000) CurveData...
            yield ctx.diag(
                f.span,
                "W419",
                f"deid matches nothing with the repeating-group keyword '{attr.keyword}'; deidlang selects it in every group",
                f"deid sees no keyword for these elements; to select them under deid too, write '{_repeater_pattern(attr.keyword)}'",
            )
        yield from _sequence_target(ctx, f.span, f.name, attr, action)
    elif isinstance(f, nodes.NestedName):
        yield from _nested(ctx, f, action, line)
    elif isinstance(f, nodes.Tag):
        yield from _tag_form(ctx, f)
        if not tag_known(f.value):
            yield ctx.diag(
                f.span, "W201", f"no DICOM attribute has tag {tag_text(f.value)}: this line matches nothing", "check the tag; private tags have an odd group"
            )
        else:
            attr = tag_attr(f.value)
            if attr is not None:
                yield from _sequence_target(ctx, f.span, f.text, attr, action)
    elif isinstance(f, nodes.PrivateTag):
        yield from _private(ctx, f)
    elif isinstance(f, nodes.UidPath):
        yield from _uid_path(ctx, f, action)
    elif isinstance(f, nodes.AllFields):
        if action in ("REPLACE", "JITTER"):
            yield ctx.diag(
                f.span,
                "W412",
                f"deid crashes on {action} ALL as soon as a file has a sequence{' or a person name' if action == 'JITTER' else ''}",
                f"{action} the elements you mean, by keyword or expander",
            )
    elif isinstance(f, nodes.Expander):
        yield from _expander(ctx, f)
    elif isinstance(f, nodes.GroupRef):
        yield from _group_ref(ctx, f)


def _unknown_keyword(
    ctx: Context,
    span: Span,
    word: str,
    action: str,
    line: Any,
    *,
    hint: str,
    within: str = "",
    meant: Attr | None = None,
) -> Diagnostic:
    """An unknown keyword: E214 when it can leak or lose data, else W201 (a dead line).

    The attribute it means is the confident did-you-mean (or ``meant``). A
    line that should change, remove or add it leaks when no other line of the
    recipe handles that attribute; a KEEP loses data when another line changes
    or removes the attribute and no other KEEP protects it.
    """
    where = f" in '{within}'" if within else ""
    message = f"unknown DICOM keyword '{word}'{where}: this line matches nothing"
    hint = suggest_keyword(word) or hint
    meant = meant or _intended(word)
    if meant is None:
        return ctx.diag(span, "W201", message, hint)
    handlers = list(_handlers(ctx, meant, line))
    if action == "KEEP":
        changers = [h for h in handlers if h.action in CHANGING]
        if changers and not any(h.action == "KEEP" for h in handlers):
            h = changers[0]
            return ctx.diag(
                span,
                "E214",
                f"unknown DICOM keyword '{word}'{where}: this KEEP protects nothing, so line {h.span.line} "
                f"({h.action} {h.field.text}) still acts on {meant.keyword}",
                hint,
            )
    elif not handlers:
        return ctx.diag(
            span,
            "E214",
            f"{message}, and no other line of the recipe handles {meant.keyword}: its value stays in the output",
            hint,
        )
    if handlers:
        message += f" ({meant.keyword} is handled by line {handlers[0].span.line})"
    return ctx.diag(span, "W201", message, hint)


def _handlers(ctx: Context, attr: Attr, exclude: Any) -> Iterator[nodes.ActionLine]:
    """The action lines (other than ``exclude``) whose field can select ``attr``."""
    for a in ctx.actions:
        if a is not exclude and _can_select(ctx, a.field, attr, exclude):
            yield a


def _can_select(ctx: Context, f: nodes.Field, attr: Attr, exclude: Any = None) -> bool:
    """Whether field expression ``f`` can select the element ``attr`` (at some depth)."""
    target = target_attr(f)
    if target is not None:
        return target.tag is not None and target.tag == attr.tag
    if isinstance(f, nodes.GroupRef):
        if f.kind != "fields":
            return False
        members = ctx.fields_groups.get(f.name, ())
        # a group reference inside a group selects nothing (E208), so members are not followed further
        return any(g is not exclude and not isinstance(g.field, nodes.GroupRef) and _can_select(ctx, g.field, attr) for g in members)
    return selects(f, attr)


def _sequence_target(ctx: Context, span: Span, text: str, attr: Attr, action: str) -> Iterator[Diagnostic]:
    """What an action cannot do to this element: sequences, person names, protected elements."""
    if attr.keyword in PROTECTED and action in ("BLANK", "JITTER", "REMOVE", "REPLACE"):
        yield ctx.diag(
            span,
            "W303",
            f"'{action}' of '{text}' has no effect unless disable_skip is used: deid and deidlang protect {attr.keyword} from every action but ADD",
            "delete the line, unless the recipe is meant to run with disable_skip (ADD can still overwrite the element)",
        )
        return
    if attr.keyword in PROTECTED and action == "REPLACE*":
        yield ctx.diag(span, "W303", f"'REPLACE' of '{text}' has no effect unless disable_skip is used", "delete the line")
        return
    if attr.vr == "SQ" and action in ("REPLACE", "JITTER"):
        yield ctx.diag(span, "E306", f"cannot {action} sequence '{text}'", "deid crashes; use REMOVE or BLANK on a sequence, or address the elements inside it")
    elif attr.vr == "PN" and action == "JITTER":
        yield ctx.diag(span, "W412", f"deid crashes on JITTER of person name '{text}'", "JITTER works on dates (DA) and date-times (DT)")


def _nested(ctx: Context, f: nodes.NestedName, action: str, line: Any = None) -> Iterator[Diagnostic]:
    offset = 0
    last = len(f.parts) - 1
    leaf = (exact_attr(f.parts[-1]) or folded_attr(f.parts[-1])) if f.parts[-1] else None
    for i, part in enumerate(f.parts):
        span = sub_span(f.span, offset, len(part))
        offset += len(part) + 2
        if not part:
            continue  # 'Seq__' addresses private (keyword-less) elements inside Seq
        attr = exact_attr(part) or folded_attr(part)
        if attr is None:
            # a misspelled sequence leaves the element the line acts on (the last part) untouched
            meant = leaf if i < last and leaf is not None and leaf.tag is not None else None
            yield _unknown_keyword(ctx, span, part, action, line, within=f.text, meant=meant, hint="every part of a nested name is a keyword")
            continue
        if attr.keyword != part:
            yield ctx.diag(span, "W202", f"'{part}' is not the DICOM keyword's spelling '{attr.keyword}'", f"write '{attr.keyword}'")
        if i < last and attr.vr != "SQ":
            yield ctx.diag(
                span, "W201", f"'{attr.keyword}' is not a sequence, so '{f.text}' matches nothing", "the parts before the last one must be sequences"
            )
        if i == last:
            yield from _sequence_target(ctx, f.span, f.text, attr, action)
    if action == "KEEP":
        yield ctx.diag(
            f.span,
            "W408",
            f"deid's KEEP protects nothing with the nested name '{f.text}' (it compares top-level names and tags only); deidlang protects those elements",
            "KEEP the parent sequence, or the keyword alone",
        )


def _uid_path(ctx: Context, f: nodes.UidPath, action: str) -> Iterator[Diagnostic]:
    tags = f.steps[0::2]
    for i, tag in enumerate(tags):
        if not tag_known(tag):
            yield ctx.diag(
                f.span,
                "W201",
                f"no DICOM attribute has tag {tag_text(tag)} (in '{f.text}'): this line matches nothing",
                "check the tags; private tags have an odd group",
            )
            return
        attr = tag_attr(tag)
        if attr is not None and i < len(tags) - 1 and attr.vr != "SQ":
            yield ctx.diag(
                f.span,
                "W201",
                f"{tag_text(tag)} ({attr.keyword}) is not a sequence, so '{f.text}' matches nothing",
                "every tag but the last must be a sequence",
            )
            return
    last = tag_attr(tags[-1])
    if last is not None:
        yield from _sequence_target(ctx, f.span, f.text, last, action)
    if action == "KEEP":
        yield ctx.diag(
            f.span,
            "W408",
            f"deid's KEEP protects nothing with the path '{f.text}' (it compares top-level names and tags only); deidlang protects that element",
            "KEEP the parent sequence instead",
        )


def _tag_form(ctx: Context, f: nodes.Tag) -> Iterator[Diagnostic]:
    """Tag spellings deid does not understand in a field position."""
    text = f.text
    if any(c.isspace() for c in text):
        yield ctx.diag(
            f.span,
            "W411",
            f"deid splits '{text}' at the space and matches nothing; deidlang reads {tag_text(f.value)}",
            f"write '{tag_text(f.value)}' without spaces",
        )
    elif text[:2].lower() == "0x":
        yield ctx.diag(
            f.span, "W411", f"deid matches nothing with '{text}'; deidlang reads it as {tag_text(f.value)}", f"write '{tag_text(f.value)}' or '{f.value:08X}'"
        )
    elif not text.startswith("(") and "," in text:
        yield ctx.diag(
            f.span, "W411", f"deid matches nothing with '{text}' (no parentheses); deidlang reads it as {tag_text(f.value)}", f"write '{tag_text(f.value)}'"
        )


_PRIVATE_SPACES_RE = re.compile(r"\s,|,\s")


def _private(ctx: Context, f: nodes.PrivateTag) -> Iterator[Diagnostic]:
    if f.group % 2 == 0:
        yield ctx.diag(
            f.span,
            "E212",
            f"bad tag '{f.text}': the private-creator form needs an odd (private) group, not {f.group:04X}",
            "private groups are odd, e.g. 0033; address public elements by keyword",
        )
    elem_text = f.text.rstrip(")").rsplit(",", 1)[-1].strip()
    if f.element > 0xFF:
        yield ctx.diag(
            f.span,
            "E212",
            f"bad tag '{f.text}': the element is the 2-digit offset inside the private block, not '{elem_text}'",
            f"write '{f.element & 0xFF:02X}' (deid matches only the low byte)",
        )
    elif len(elem_text) != 2:
        yield ctx.diag(
            f.span,
            "W411",
            f"deid matches the private-creator form only with a 2-digit element; '{elem_text}' matches nothing under deid, deidlang reads {f.element:02X}",
            f"write '{f.element:02X}'",
        )
    outside = f.text.replace(f'"{f.creator}"', '""')
    if _PRIVATE_SPACES_RE.search(outside):
        yield ctx.diag(
            f.span,
            "W411",
            f"deid splits '{f.text}' at the spaces and matches nothing; deidlang reads the private tag",
            "write it without spaces around the commas",
        )


def _expander(ctx: Context, f: nodes.Expander) -> Iterator[Diagnostic]:
    kind = f.kind
    written = f.text.partition(":")[0]
    arg = f.argument
    arg_span = sub_span(f.span, len(written) + 1, len(arg))
    if kind not in EXPANDERS:
        if kind in ("values", "fields"):
            yield ctx.diag(f.span, "E208", f"group references are lower-case: '{f.text}'", f"write '{kind}:{arg}' (deid matches nothing with '{written}:')")
        else:
            hint = did_you_mean(kind, EXPANDERS, case_insensitive=True) or "expanders are startswith:, endswith:, contains:, except: and select:"
            yield ctx.diag(sub_span(f.span, 0, len(written)), "E208", f"unknown expander '{written}:'", hint)
        return
    if kind == "select":
        yield from _select(ctx, f, arg, arg_span)
        return
    found = list(pattern_diagnostics(ctx, arg_span, kind, arg))
    yield from found
    if any(d.code == "E209" for d in found):
        return
    if not arg:
        if kind == "except":
            yield ctx.diag(
                f.span, "W303", "'except:' with an empty pattern matches no field", "write the pattern of the fields to spare, e.g. except:PatientSex"
            )
        else:
            yield ctx.diag(f.span, "E216", f"'{f.text}' with an empty pattern selects every element", "write the pattern, or ALL if every element is meant")
        return
    m = UPPER_ESCAPE_RE.search(arg)
    if m:
        yield ctx.diag(
            sub_span(arg_span, m.start(), m.end() - m.start()),
            "W407",
            f"deid lower-cases the pattern, so '\\{m.group(1)}' becomes '\\{m.group(1).lower()}' under deid; deidlang keeps the pattern as written",
            "avoid upper-case escapes: use a character class such as [^0-9] for \\D",
        )
    if kind == "endswith" and _ends_like_uid(arg):
        yield ctx.diag(
            f.span,
            "W208",
            f"'{f.text}' also matches every ...UID element (StudyInstanceUID, SOPInstanceUID...), because 'UID' ends with '{arg}' (in deid too)",
            "if UIDs should survive, KEEP them or list the ID keywords one by one",
        )


def _select(ctx: Context, f: nodes.Expander, arg: str, arg_span: Span) -> Iterator[Diagnostic]:
    attr, sep, value = arg.partition(":")
    if not sep and attr.lower() != "private":
        yield ctx.diag(
            f.span,
            "E208",
            f"'{f.text}' needs an attribute and a value",
            "write select:VR:XX, select:group:GGGG, select:private or select:creator:NAME (deid crashes on this line)",
        )
        return
    value_span = sub_span(arg_span, len(attr) + 1, len(value))
    low = attr.lower()
    if low == "vr":
        vr = value[:2].upper()
        if len(value) < 2 or vr not in all_vrs():
            hint = did_you_mean(value.upper(), all_vrs()) or "VRs are two letters, e.g. DA, PN, UI, SQ"
            yield ctx.diag(value_span, "E210", f"unknown VR '{value}'", hint)
        elif len(value) > 2:
            yield ctx.diag(value_span, "W208", f"only the first two characters of '{value}' count, i.e. VR '{vr}' (in deid too)", f"write select:VR:{vr}")
    elif low == "group":
        if not HEX_GROUP_RE.fullmatch(value):
            yield ctx.diag(value_span, "E211", f"bad group number '{value}'", "write 1 to 4 hex digits, e.g. select:group:0010 (deid crashes on other text)")
    elif low == "private":
        if value:
            yield ctx.diag(
                value_span, "E208", f"'select:private' takes no value, not '{value}'", "write select:private, or select:creator:NAME for one creator's elements"
            )
    elif low == "creator":
        name = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
        if not name.strip():
            yield ctx.diag(
                f.span,
                "E208",
                "'select:creator:' needs a private creator name",
                'write e.g. select:creator:GEMS_ACQU_01 or select:creator:"SIEMENS CSA HEADER"',
            )
    else:
        yield ctx.diag(
            sub_span(arg_span, 0, len(attr)),
            "E208",
            f"unknown select attribute '{attr}'",
            "write select:VR:XX, select:group:GGGG, select:private or select:creator:NAME",
        )


def _group_ref(ctx: Context, f: nodes.GroupRef) -> Iterator[Diagnostic]:
    yield from group_name(ctx, f.kind, f.name, f.span, f.text)
    if f.kind == "values" and f.name in ctx.values_groups:
        yield from _values_regex(ctx, f.name, f.span)


def _values_regex(ctx: Context, name: str, span: Span) -> Iterator[Diagnostic]:
    """W413: deid matches a values: list as one regex over ``str(value)`` of every field.

    With FIELD lines the list holds whole values, which carry '.', '^' and '('.
    With SPLIT lines it holds words; either way the regex also runs over the
    text of sequences, so one matching nested value selects the whole
    sequence under deid, where deidlang matches elements one by one.
    """
    lines = ctx.values_groups[name]
    if not lines:
        return
    if any(g.verb == "FIELD" for g in lines):  # deid ignores lower-case 'field' lines (W102)
        yield ctx.diag(
            span,
            "W413",
            f"deid joins the values of '{name}' into one unescaped regular expression ('.' matches any character, '^' in person names blocks matches, '(' crashes) and also selects a whole sequence when the text of its items matches; deidlang matches the values as plain text, element by element",
            "to match names, SPLIT them into words (SPLIT PatientName by=^;minlength=3)",
        )
    else:
        yield ctx.diag(
            span,
            "W413",
            f"deid joins the words of '{name}' into one regular expression and runs it over the text of every element, so it also selects a whole sequence when the text of its items matches (and runs '.' and '(' in the words as regex); deidlang matches the words as plain text, element by element",
            "no recipe line runs alike under both here; if sequences that hold the name must go, REMOVE them by keyword",
        )


def _add_field(ctx: Context, a: nodes.ActionLine) -> Iterator[Diagnostic]:
    """ADD creates one top-level element from a keyword or an 8-digit tag."""
    f = a.field
    if isinstance(f, nodes.Keyword):
        attr = exact_attr(f.name)
        if attr is None:
            attr = folded_attr(f.name)
            if attr is None:
                yield _unknown_keyword(ctx, f.span, f.name, "ADD", a, hint="ADD takes a DICOM keyword or an 8-digit tag such as 00100010")
                return
            yield ctx.diag(
                f.span, "W412", f"deid crashes on ADD of '{f.name}': ADD needs the exact keyword; deidlang adds {attr.keyword}", f"write '{attr.keyword}'"
            )
        yield from _addable(ctx, f.span, f.name, attr, a.value)
    elif isinstance(f, nodes.Tag):
        if f.text[:2].lower() == "0x" or not f.text.isalnum():
            yield ctx.diag(
                f.span,
                "W412",
                f"deid crashes on ADD of '{f.text}': ADD takes a keyword or an 8-digit tag; deidlang adds {tag_text(f.value)}",
                f"write '{f.value:08X}'",
            )
        if not tag_known(f.value):
            yield ctx.diag(
                f.span,
                "W201",
                f"no DICOM attribute has tag {tag_text(f.value)}: this line adds an element that no DICOM dictionary knows (VR ST)",
                "check the tag; private tags have an odd group",
            )
            return
        attr = tag_attr(f.value)
        if attr is not None:
            yield from _addable(ctx, f.span, f.text, attr, a.value)
        if f.text.isalnum() and f.text[:2].lower() != "0x":
            yield from _add_by_number(ctx, a, f, attr)
    else:
        what = {
            nodes.AllFields: "ALL selects every element",
            nodes.Expander: f"'{f.text}' selects any number of elements",
            nodes.GroupRef: f"'{f.text}' selects a group of elements",
            nodes.NestedName: f"'{f.text}' is inside a sequence",
            nodes.UidPath: f"'{f.text}' is inside a sequence",
            nodes.PrivateTag: f"'{f.text}' needs its private block reserved",
        }[type(f)]
        yield ctx.diag(
            f.span,
            "E304",
            f"'ADD' creates one top-level element: {what}",
            "ADD a keyword or an 8-digit tag (deid crashes on anything else); use REPLACE to change existing elements",
        )


def _add_by_number(ctx: Context, a: nodes.ActionLine, f: nodes.Tag, attr: Attr | None) -> Iterator[Diagnostic]:
    """ADD gggggggg: deid gives a new element VR ST; deidlang the dictionary's VR.

    Only a keyword makes deid look the tag up, so an element ADDed by its
    8-digit number is created as ST when the file lacks it (an existing
    top-level element keeps its VR under both). deidlang uses the DICOM
    dictionary's VR (the first choice of an ambiguous one) and, for a private
    element, pydicom's private dictionary when the block's creator is known.
    """
    tag = f.value
    where = f"when the file has no top-level {tag_text(tag)}, deid creates it with VR ST (only a keyword makes deid look the tag up)"
    if attr is not None and attr.vr != "SQ" and (tag >> 16) % 2 == 0:
        ours = attr.vr.split(" or ")[0]
        if ours == "ST":
            return
        exact = exact_attr(attr.keyword) if attr.keyword else None
        if exact is not None and exact.tag == tag and " or " not in attr.vr:
            hint = f"write the keyword '{attr.keyword}' to get VR {ours} from both"
        else:
            hint = "the two agree only when the file already has the element (both keep its VR)"
        yield ctx.diag(f.span, _ADD_BY_NUMBER, f"{where}; deidlang uses the dictionary VR {ours} ({attr.keyword or 'repeating group'})", hint)
        return
    if (tag >> 16) % 2 == 1 and (tag & 0xFFFF) > 0xFF:
        creator = _added_creator(ctx, a, tag)
        known = _private_vrs(tag, creator)
        if not known:
            return
        shown = ", ".join(f"'{c}' gives {vr}" for c, vr in known[:2]) + (f" and {len(known) - 2} more" if len(known) > 2 else "")
        yield ctx.diag(
            f.span,
            _ADD_BY_NUMBER,
            f"{where}; deidlang takes the VR from pydicom's private dictionary when the block's creator is known to it ({shown})",
            "the two agree when the file already has the element (both keep its VR), or when the block's creator is one pydicom does not know",
        )


def _added_creator(ctx: Context, a: nodes.ActionLine, tag: int) -> str | None:
    """The literal creator an earlier ``ADD ggggxx00``-style line of the recipe writes for ``tag``'s block."""
    slot = (tag & 0xFFFF0000) | ((tag & 0xFFFF) >> 8)
    found = None
    for other in ctx.actions:
        if other is a:
            break
        f, v = other.field, other.value
        if other.action == "ADD" and isinstance(f, nodes.Tag) and f.value == slot and isinstance(v, nodes.Literal) and not v.quoted:
            found = v.text
    return found


@functools.lru_cache(maxsize=256)
def _private_vrs(tag: int, creator: str | None) -> tuple[tuple[str, str], ...]:
    """(creator, VR) for the private-dictionary entries of ``tag`` whose VR is not ST."""
    from pydicom._private_dict import private_dictionaries
    from pydicom.datadict import private_dictionary_VR

    creators = (creator,) if creator is not None else tuple(private_dictionaries)
    out = []
    for c in creators:
        try:
            vr = private_dictionary_VR(tag, c)
        except KeyError:
            continue
        vr = vr.split(" or ")[0] if vr else "UN"
        if vr != "ST":
            out.append((c, vr))
    return tuple(out)


def _addable(ctx: Context, span: Span, text: str, attr: Attr, value: nodes.Value | None = None) -> Iterator[Diagnostic]:
    if attr.vr == "SQ" and isinstance(value, nodes.DeidFunc) and value.name == "code":
        return  # deid_func:code builds the sequence item
    if attr.vr == "SQ":
        yield ctx.diag(span, "E304", f"cannot ADD sequence '{text}'", "ADD creates elements with a text value; a sequence holds items")
    elif attr.tag is None:
        yield ctx.diag(span, "E304", f"cannot ADD '{text}' by keyword: it belongs to a repeating group", "ADD it by its 8-digit tag, e.g. 60003000")
    elif attr.retired:
        yield ctx.diag(span, "W205", f"'{attr.keyword}' is a retired DICOM keyword", "new files should not carry retired elements", severity=INFO)
