"""Completion: what may come next at the cursor, from the line's shape and the
section it is in: statements by section, DICOM keywords (with tag, VR and
name), expanders, ``values:``/``fields:`` groups defined in the file,
``var:`` names from the ids, ``func:`` names from the functions file,
``deid_func:`` built-ins and their arguments, filter predicates,
coordinates and SPLIT options.
"""

from __future__ import annotations

import re

from lsprotocol import types

from ..checks.context import DEID_FUNCS, PREDICATES, SPLIT_OPTIONS
from ..lang import parser
from ..tools import dictionary
from .analysis import Analysis
from .positions import Positions
from .settings import Settings, variables

__all__ = ["complete", "MAX_KEYWORDS"]

#: At most this many DICOM keywords per answer (the list is marked incomplete).
MAX_KEYWORDS = 150

ACTIONS = parser.ACTIONS
SECTIONS = ("%header", "%labels", "%filter", "%values", "%fields")
COORDINATES = ("coordinates", "keepcoordinates", "ctpcoordinates", "ctpkeepcoordinates")
EXPANDERS = {
    "startswith:": "fields whose keyword or tag starts with a regular expression",
    "endswith:": "fields whose keyword or tag ends with a regular expression",
    "contains:": "fields whose keyword or tag contains a regular expression",
    "except:": "every field except those matching a regular expression",
    "select:VR:": "fields of a value representation (select:VR:PN)",
    "select:group:": "fields of a group (select:group:0010)",
    "select:private": "every private element",
    "select:creator:": "private elements of one creator",
}
VALUE_FILTERS = ("contains:", "notcontains:", "equals:", "notequals:", "startswith:", "endswith:")
ACTION_HELP = {
    "ADD": "ADD Field value: add (or set) one element",
    "BLANK": "BLANK Field: empty the selected elements",
    "JITTER": "JITTER Field days: shift the selected dates",
    "KEEP": "KEEP Field: protect the selected elements from every other action but ADD",
    "REMOVE": "REMOVE Field [filter]: delete the selected elements",
    "REPLACE": "REPLACE Field value: set the selected elements to a value",
}
_WORD = re.compile(r"[^\s]*$")
_VRS = (
    "AE",
    "AS",
    "AT",
    "CS",
    "DA",
    "DS",
    "DT",
    "FD",
    "FL",
    "IS",
    "LO",
    "LT",
    "OB",
    "OD",
    "OF",
    "OL",
    "OV",
    "OW",
    "PN",
    "SH",
    "SL",
    "SQ",
    "SS",
    "ST",
    "SV",
    "TM",
    "UC",
    "UI",
    "UL",
    "UN",
    "UR",
    "US",
    "UT",
    "UV",
)


def _item(label: str, kind: types.CompletionItemKind, rng: types.Range, detail: str = "", doc: str = "", sort: str | None = None) -> types.CompletionItem:
    return types.CompletionItem(
        label=label,
        kind=kind,
        detail=detail or None,
        documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=doc) if doc else None,
        text_edit=types.TextEdit(range=rng, new_text=label),
        sort_text=sort,
        filter_text=label,
    )


def complete(analysis: Analysis, settings: Settings, positions: Positions, position: types.Position) -> types.CompletionList:
    line_no, column = positions.column(position)
    line = analysis.source.line(line_no)
    before = line[: column - 1]
    if "#" in before:
        return types.CompletionList(is_incomplete=False, items=[])
    word = _WORD.search(before).group()  # type: ignore[union-attr]  # [^\s]*$ always matches
    start = column - len(word)
    rng = types.Range(start=positions.position(line_no, start), end=positions.position(line_no, column))
    words = before.split()
    done = words[:-1] if word else words  # the words before the one being typed
    section, in_label = analysis.section_at(line_no)
    items: list[types.CompletionItem] = []
    incomplete = False

    def add(label, kind, detail="", doc="", sort=None):
        items.append(_item(label, kind, rng, detail, doc, sort))

    head = done[0] if done else None
    up = head.upper() if head else ""
    K = types.CompletionItemKind
    if head is None:
        _statements(add, section, in_label, word)
    elif head in ("+", "||") or head.lower() in PREDICATES:
        rest = done  # a criterion line: the part after the last operator
        for i, w in enumerate(done):
            if w in ("+", "||"):
                rest = done[i + 1 :]
        if not rest:
            for p in PREDICATES:
                add(p, K.Keyword, "filter criterion")
        elif len(rest) == 1 and rest[0].lower() in PREDICATES:
            incomplete = _fields(add, analysis, word)
    elif up in ACTIONS:
        if len(done) == 1:
            incomplete = _fields(add, analysis, word)
        elif len(done) == 2:
            _values(add, up, settings, word)
        elif done[2].startswith("deid_func:"):
            name = done[2][len("deid_func:") :]
            for arg in DEID_FUNCS.get(name, ()):
                add(f"{arg}=", K.Property, f"deid_func:{name} argument")
    elif up in ("FIELD", "SPLIT"):
        if len(done) == 1:
            incomplete = _fields(add, analysis, word)
        elif up == "SPLIT":
            for opt in SPLIT_OPTIONS:
                add(f"{opt}=", K.Property, "SPLIT option", "by=SEPARATOR;minlength=N")
    elif head.lower() in COORDINATES and len(done) == 1:
        add("all", K.Keyword, "the whole image")
        add("from:SequenceOfUltrasoundRegions", K.Field, "the regions of an ultrasound sequence")
        add("0,0,0,0", K.Value, "x0,y0,x1,y1 (ctp: x,y,width,height)")
    elif up == "FORMAT" and len(done) == 1:
        add("dicom", K.Keyword, "the only format")
    return types.CompletionList(is_incomplete=incomplete, items=items)


def _statements(add, section: str | None, in_label: bool, word: str) -> None:
    K = types.CompletionItemKind
    if word.startswith("%"):
        for s in SECTIONS:
            add(s, K.Module, "section")
        return
    if section in ("header", "labels"):
        for a in ACTIONS:
            add(a, K.Keyword, "action", ACTION_HELP[a])
    elif section == "values":
        add("FIELD", K.Keyword, "collect a field's value")
        add("SPLIT", K.Keyword, "collect the parts of a field's value (by=;minlength=)")
    elif section == "fields":
        add("FIELD", K.Keyword, "a field of the group")
    elif section == "filter":
        add("LABEL", K.Keyword, "a block of criteria and coordinates")
        if in_label:
            for p in PREDICATES:
                add(p, K.Keyword, "filter criterion")
            for op in ("+", "||"):
                add(op, K.Operator, "and" if op == "+" else "or")
            for c in COORDINATES:
                add(c, K.Keyword, "region to blank" if "keep" not in c else "region to keep")
    if section is None:
        add("FORMAT", K.Keyword, "FORMAT dicom")
    for s in SECTIONS:
        add(s, K.Module, "section")


def _fields(add, analysis: Analysis, word: str) -> bool:
    """Field expressions; True when the keyword list was cut short."""
    K = types.CompletionItemKind
    for kind in ("fields", "values"):
        if word.startswith(kind + ":") or not word or kind.startswith(word.lower()):
            for name in sorted({d.name for d in analysis.group_defs if d.kind == kind}):
                add(f"{kind}:{name}", K.Reference, f"%{kind} group")
    if word.lower().startswith("select:vr:"):
        for vr in _VRS:
            add(f"select:VR:{vr}", K.EnumMember, "value representation")
        return False
    if ":" in word:
        return False
    for exp, doc in EXPANDERS.items():
        add(exp, K.Function, "expander", doc, sort="2" + exp)
    add("ALL", K.Constant, "every field", sort="3ALL")
    low = word.lower()
    first, second = [], []
    for attr in dictionary.attributes():
        kw = attr.keyword.lower()
        if kw.startswith(low):
            first.append(attr)
        elif low and low in kw:
            second.append(attr)
    found = first + second
    found.sort(key=lambda a: (a not in first, a.retired, a.keyword))
    for i, attr in enumerate(found[:MAX_KEYWORDS]):
        add(
            attr.keyword,
            K.Field,
            f"{attr.pattern} {attr.vr}  {attr.name}" + (" (retired)" if attr.retired else ""),
            sort=f"1{i:05d}",
        )
    return len(found) > MAX_KEYWORDS


def _values(add, action: str, settings: Settings, word: str) -> None:
    K = types.CompletionItemKind
    if word.startswith("var:") or not word:
        for name in variables(settings):
            add(f"var:{name}", K.Variable, "supplied by the ids")
    if word.startswith("func:") or not word:
        for name in sorted(settings.functions or ()):
            add(f"func:{name}", K.Function, "from the functions file")
    if action in ("ADD", "REPLACE", "KEEP", "JITTER"):
        for name, args in DEID_FUNCS.items():
            add(f"deid_func:{name}", K.Function, " ".join(f"{a}=" for a in args) or "built-in", dictionary.BUILTINS.get(name, ""))
    if action == "REMOVE":
        for f in VALUE_FILTERS:
            add(f, K.Operator, "value filter: remove only the elements whose value matches")
        add("values:", K.Reference, "value filter: remove the elements holding a collected value")
    if not word and not settings.options.ids:
        add("var:", K.Variable, "a per-file variable from the ids")
    if not word and settings.functions is None:
        add("func:", K.Function, "a function you supply")
