"""``DeidRecipe``: deid's recipe object, built from deidlang's AST.

The ``.deid`` attribute holds the recipe as an ``OrderedDict`` in exactly the
shape deid 0.4.13 gives, so code that reads ``recipe.deid`` or
calls ``get_actions()`` keeps working. For a recipe that ``deidlang.check``
passes without warnings the strings are the ones deid would give; for other
recipes they say what deidlang reads (no trailing comments, quotes removed).

Recipes are checked when the object is built, with the notes about lines
deid would run differently turned on: every finding is emitted as a Python
warning (:class:`deidlang.DeidlangWarning`), and a recipe with a finding that
stops ``deidc run`` (an error, or a line that selects nothing or will not do
what it says) raises :class:`deidlang.RecipeError` unless ``allow=`` lets it
through. It is compiled once, on first use, into a :class:`deidlang.Program`.
Editing ``.deid`` afterwards is honoured, as in deid: the edited dict is
turned back into recipe text, checked and compiled again.
"""

from __future__ import annotations

import copy
import os
import sys
import warnings
from collections import OrderedDict
from importlib import resources
from pathlib import Path
from types import FrameType
from typing import Any, Iterable

import attrs

from ..api import compile as compile_recipe_text
from ..checks import check_recipe
from ..lang import nodes
from ..lang.diagnostics import DeidlangError, DeidlangWarning, Diagnostic, RecipeError, parse_allow, refusing
from ..lang.parser import ParseResult, parse

__all__ = ["DeidRecipe", "RecipeNotFoundError", "bundled_recipe", "render_deid", "deid_dict"]

#: deid's recipe tags that deidlang serves, and the file it ships for each (in ``deidlang/data``).
BUNDLED: dict[str, tuple[str, ...]] = {
    "dicom": ("default.dicom",),
}
#: deid's other recipe tags: deid ships a recipe under each, deidlang does not.
DEID_ONLY_TAGS = ("dicom.ultrasound", "dicom.xray.chest")

#: diagnostics that may be resolved by another recipe of the same merge
_CROSS_FILE = frozenset({"E203"})


class RecipeNotFoundError(DeidlangError, FileNotFoundError):
    """A recipe path, directory or tag that does not lead to a recipe file.

    deid logs a warning and then de-identifies nothing; deidlang refuses.
    """

    def __init__(self, message: str, filename: str | None = None):
        DeidlangError.__init__(self, message)
        self.filename = filename

    def __str__(self) -> str:
        return str(self.args[0])


# --------------------------------------------------------------------------- locating


def bundled_recipe(tag: str) -> Path | None:
    """The file deidlang ships for deid's recipe tag ``tag`` (``dicom``...), or None."""
    names = BUNDLED.get(tag)
    if not names:
        return None
    try:
        base = resources.files("deidlang") / "data"
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - broken install
        return None
    for name in names:
        candidate = base / name
        try:
            if candidate.is_file():
                return Path(str(candidate))
        except OSError:  # pragma: no cover
            continue
    return None


def _resolve(entry: str | os.PathLike) -> tuple[str, str]:
    """(name, text) for a path, a directory holding a ``deid*`` file, or a tag."""
    text_entry = os.fspath(entry)
    if text_entry and os.path.isdir(text_entry):
        found = sorted(n for n in os.listdir(text_entry) if n.startswith("deid") and os.path.isfile(os.path.join(text_entry, n)))
        if not found:
            raise RecipeNotFoundError(f"no recipe file (a name starting with 'deid') in directory '{text_entry}'", text_entry)
        text_entry = os.path.join(text_entry, found[0])
    if text_entry and os.path.isfile(text_entry):
        return text_entry, Path(text_entry).read_text(encoding="utf-8")
    bundled = bundled_recipe(text_entry)
    if bundled is not None:
        return str(bundled), bundled.read_text(encoding="utf-8")
    tags = ", ".join(f"'{t}'" for t in BUNDLED if bundled_recipe(t) is not None) or "none"
    if text_entry in BUNDLED or text_entry in DEID_ONLY_TAGS:
        raise RecipeNotFoundError(
            f"deid's recipe '{text_entry}' is not shipped with deidlang (the tags it serves: {tags}); pass deid's recipe file by its path",
            text_entry,
        )
    raise RecipeNotFoundError(f"cannot find recipe '{text_entry}': not a file, a directory or one of the tags {tags}", text_entry)


# --------------------------------------------------------------------------- parts


@attrs.frozen
class _Part:
    """One recipe that takes part in a DeidRecipe: its name, text and parse."""

    name: str
    text: str
    result: ParseResult
    diagnostics: tuple[Diagnostic, ...]

    @property
    def deid(self) -> OrderedDict:
        return deid_dict(self.result)


def _part_from_text(name: str, text: str) -> _Part:
    result = parse(text, path=name)
    diagnostics = tuple(check_recipe(result, deid_compat=True))  # deid users get the deid notes too
    return _Part(name, text, result, diagnostics)


def _parts_for(entry: Any) -> list[_Part]:
    if isinstance(entry, DeidRecipe):
        if entry.deid == entry._snapshot:
            return list(entry._parts)
        return [_part_from_text("<DeidRecipe.deid>", render_deid(entry.deid))]
    if isinstance(entry, dict):
        return [_part_from_text("<dict>", render_deid(entry))]
    if isinstance(entry, (str, os.PathLike)):
        name, text = _resolve(entry)
        return [_part_from_text(name, text)]
    inner = getattr(entry, "deid", None)
    if isinstance(inner, dict):  # e.g. a DeidRecipe from the deid package itself
        return [_part_from_text(f"<{type(entry).__name__}.deid>", render_deid(inner))]
    raise DeidlangError(f"cannot use a '{type(entry).__name__}' as a recipe: give a path, a directory, a tag, a dict or a DeidRecipe")


def _vet(parts: Iterable[_Part], new: Iterable[_Part], allow: Any) -> None:
    """Warn once per finding of the ``new`` parts, then raise one RecipeError with
    every finding of every part that stops a run (cross-file names aside), unless
    ``allow`` lets it through: the policy of ``deidc run``
    (:func:`deidlang.lang.diagnostics.refusing`; deid notes warn but never stop)."""
    parts = list(parts)
    # func: names come with the ids of each call here, so "not checked" (I201) says nothing new
    _warn(d for p in new for d in p.diagnostics if d.code != "I201")
    everything = [d for p in parts for d in p.diagnostics]
    judged = [d for d in everything if len(parts) == 1 or d.code not in _CROSS_FILE]
    refused, _allowed = refusing(judged, allow=allow)
    if refused:
        raise RecipeError(everything, refused=refused)


def _warn(diagnostics: Iterable[Diagnostic]) -> None:
    """One :class:`DeidlangWarning` per finding, attributed to the caller's line."""
    level = _caller_level()
    for d in diagnostics:
        message = f"{d.file}:{d.line}:{d.column}: {d.code} {d.severity}: {d.message}" + (f" ({d.hint})" if d.hint else "")
        warnings.warn(DeidlangWarning(message, d), stacklevel=level)


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _caller_level() -> int:
    """The ``stacklevel`` for a warning raised by _warn's caller: the first frame outside deidlang."""
    frame: FrameType | None = sys._getframe(2)  # the caller of _warn
    level = 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE + os.sep):
        frame = frame.f_back
        level += 1
    return level


# --------------------------------------------------------------------------- the recipe


def _signature(deid: Any) -> str:
    """A cheap, exact fingerprint of ``.deid`` (strings, lists and dicts only):
    equal structures give equal text and any edit changes it."""
    return repr(deid)


class DeidRecipe:
    """deid's ``DeidRecipe(deid=None, base=False, default_base="dicom")``.

    ``deid`` is a recipe path, a directory holding a file whose name starts
    with ``deid``, the tag ``dicom`` (deidlang's bundled default recipe; deid's
    ``dicom.ultrasound`` and ``dicom.xray.chest`` are not shipped), a dict in
    ``.deid``'s shape, another DeidRecipe, or a list of these, merged left to
    right. ``None`` means the bundled default recipe.

    deidlang addition, keyword only: ``allow`` lets findings that would stop
    the recipe through, by code (``allow=["W201"]``) or all of them
    (``allow=True``); see docs/compat.md.
    """

    def __init__(self, deid: Any = None, base: bool = False, default_base: str = "dicom", *, allow: Any = ()):
        if deid is None:
            entries: list[Any] = []
            base = True
        elif isinstance(deid, (list, tuple)):
            entries = list(deid)  # deid appends to the caller's list; we copy it
        else:
            entries = [deid]
        if base:
            entries.append(default_base)
        if not entries:
            raise DeidlangError("no recipe given: pass a recipe path, a tag, or deid=None for the default recipe")
        self._files = entries
        self._allow = parse_allow(allow)
        self._parts: tuple[_Part, ...] = ()
        self.deid: OrderedDict = OrderedDict()
        self._compiled: tuple[str, Any] | None = None  # (the .deid's signature, the Program)
        parts = [p for e in entries for p in _parts_for(e)]
        self._set_parts(parts, parts)

    def _set_parts(self, parts: list[_Part], new: list[_Part]) -> None:
        _vet(parts, new, self._allow)
        self._parts = tuple(parts)
        self.deid = merge_deid([p.deid for p in parts])
        self._snapshot = _signature(self.deid)
        self._compiled = None

    def _edited(self) -> bool:
        """Has the caller changed ``.deid`` since it was built (deid users do)?"""
        return _signature(self.deid) != self._snapshot

    def __str__(self) -> str:
        return "[deid]"

    def __repr__(self) -> str:
        return "[deid]"

    # -- deidlang additions

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """Every diagnostic of every recipe that took part (warnings included)."""
        return tuple(d for p in self._parts for d in p.diagnostics)

    @property
    def text(self) -> str:
        """The recipe text deidlang compiles (several recipes: their texts, in order)."""
        if not self._edited():
            if len(self._parts) == 1:
                return self._parts[0].text
            return "".join(p.text if p.text.endswith("\n") else p.text + "\n" for p in self._parts)
        return render_deid(self.deid)

    @property
    def name(self) -> str:
        if self._edited():
            return "<DeidRecipe.deid>"
        if len(self._parts) == 1:
            return self._parts[0].name
        return "<merged: " + ", ".join(p.name for p in self._parts) + ">"

    @property
    def program(self):
        """The compiled Program (compiled once; again only if ``.deid`` was edited)."""
        current = _signature(self.deid)
        if self._compiled is not None and self._compiled[0] == current:
            return self._compiled[1]
        if self._edited():  # the caller changed .deid: check what will run now
            edited = _part_from_text(self.name, self.text)
            _vet([edited], [edited], self._allow)
        program = compile_recipe_text(self.text, path=self.name, allow=True)  # vetted above or when built
        self._compiled = (current, program)
        return program

    def load(self, deid: Any) -> None:
        """Merge another recipe (path, tag, dict or DeidRecipe) after the current ones.

        deid's ``load`` crashes; this one works.
        """
        parts = list(self._parts) if not self._edited() else [_part_from_text("<DeidRecipe.deid>", render_deid(self.deid))]
        self._files.append(deid)
        new = _parts_for(deid)
        self._set_parts(parts + new, new)

    # -- deid's accessors

    def _get_section(self, name: str):
        return self.deid.get(name) if self.deid is not None else None

    def get_format(self):
        """The recipe's format (``'dicom'``), or None when no FORMAT line was given."""
        return self._get_section("format")

    def _get_named_section(self, section_name: str, name: str | None = None):
        section = self._get_section(section_name)
        if name is not None and section is not None:
            section = section.get(name, [])
        return section

    def get_filters(self, name: str | None = None):
        return self._get_named_section("filter", name)

    def get_values_lists(self, name: str | None = None):
        return self._get_named_section("values", name)

    def get_fields_lists(self, name: str | None = None):
        return self._get_named_section("fields", name)

    def _get_actions(self, action: str | None = None, field: str | None = None, section: str = "header"):
        header = self._get_section(section) or []
        if action is not None:
            header = [x for x in header if x["action"].upper() == action.upper()]
        if field is not None:
            header = [x for x in header if x["field"].upper() == field.upper()]
        return header

    def get_actions(self, action: str | None = None, field: str | None = None):
        """The header actions, optionally those of one action and/or one field (any case)."""
        return self._get_actions(action, field)

    def _has_list_content(self, name: str) -> bool:
        return len(self.deid.get(name, [])) > 0

    def has_fields_lists(self) -> bool:
        return self._has_list_content("fields")

    def has_values_lists(self) -> bool:
        return self._has_list_content("values")

    def has_actions(self) -> bool:
        return self._has_list_content("header")

    def listof(self, section: str) -> list[str]:
        listing = self._get_section(section) or {}
        return list(listing.keys())

    def ls_filters(self) -> list[str]:
        return self.listof("filter")

    def ls_valuelists(self) -> list[str]:
        return self.listof("values")

    def ls_fieldlists(self) -> list[str]:
        return self.listof("fields")


def as_recipe(deid: Any, *, allow: Any = ()) -> DeidRecipe:
    """What ``replace_identifiers(deid=...)`` accepts, as a DeidRecipe."""
    if isinstance(deid, DeidRecipe):
        return deid
    return DeidRecipe(deid, allow=allow)


# --------------------------------------------------------------------------- AST -> deid's dict


def deid_dict(result: ParseResult) -> OrderedDict:
    """deid's parsed form of one recipe, built from the AST.

    Keys appear in the order deid creates them: ``format`` where the first
    FORMAT line is, each section kind where it first appears.
    """
    recipe = result.recipe
    lines = result.source.lines
    events: list[tuple[int, int, Any]] = [(f.span.line, 0, f) for f in recipe.formats]
    events += [(s.span.line, 1, s) for s in recipe.sections]
    events.sort(key=lambda e: (e[0], e[1]))
    out: OrderedDict = OrderedDict()
    for _, _, item in events:
        if isinstance(item, nodes.FormatLine):
            out["format"] = "".join(item.value.split()).lower()
            continue
        section: nodes.Section = item
        kind = section.kind
        if kind in ("header", "labels"):
            out.setdefault(kind, []).extend(_action_dict(a) for a in section.body)
            continue
        name = _section_name(section, lines)
        group = out.setdefault(kind, OrderedDict()).setdefault(name, [])
        if kind == "filter":
            group.extend(_label_dict(label, lines) for label in section.body)
        else:
            group.extend(_group_dict(g, kind, lines) for g in section.body)
    return out


def _section_name(section: nodes.Section, lines) -> str:
    """The name as deid keeps it: everything after the first single space, verbatim."""
    line = _line(lines, section.span.line).split("#", 1)[0].strip()
    parts = line.split(" ")
    if len(parts) > 1 and line.startswith("%"):
        return " ".join(parts[1:])
    return section.name or ""


def _line(lines, number: int) -> str:
    return lines[number - 1] if 1 <= number <= len(lines) else ""


def value_text(value: nodes.Value | None) -> str | None:
    """A value as deid stores it (what deidlang reads, for lines deid reads differently)."""
    if value is None:
        return None
    if isinstance(value, nodes.Literal):
        return value.text
    return value.text


def _action_dict(action: nodes.ActionLine) -> dict:
    entry: dict[str, Any] = {"action": action.verb, "field": action.field.text}
    verb = action.action
    if verb in ("BLANK", "KEEP"):
        return entry
    text = value_text(action.value)
    if text is not None:
        entry["value"] = text
    elif verb in ("ADD", "REPLACE", "JITTER"):  # pragma: no cover - an error the checker reports
        entry["value"] = ""
    return entry


def _group_dict(group: nodes.GroupLine, kind: str, lines) -> dict:
    entry: dict[str, Any] = {"action": group.verb, "field": group.field.text}
    if kind == "values":
        span = group.field.span
        rest = _line(lines, span.end_line)[span.end_column - 1 :] if span.end_line else ""
        if not rest and group.options:
            rest = ";".join(f"{o.name}={o.value}" for o in group.options)
        rest = " ".join(rest.split("#", 1)[0].split())
        if rest:
            entry["value"] = rest
    return entry


def _label_dict(label: nodes.Label, lines) -> dict:
    return {
        "filters": [_criteria_dict(c) for c in label.criteria],
        "coordinates": [_coordinate(c, lines) for c in label.coordinates],
        "name": _label_name(label, lines),
    }


def _label_name(label: nodes.Label, lines) -> str:
    """deid's name: the line minus the first lower-case 'label', cut at '#'."""
    line = _line(lines, label.span.line).strip()
    if line.upper().startswith("LABEL"):
        return line.replace("label", "", 1).split("#")[0].strip()
    return label.name


def _criteria_dict(line: nodes.CriterionLine) -> dict:
    return {
        "action": [c.predicate for c in line.criteria],
        "field": [c.field.text for c in line.criteria],
        "operator": line.operator,
        "InnerOperators": list(line.operators),
        "value": [c.value for c in line.criteria if c.value is not None],
    }


def _coordinate(coord: nodes.CoordLine, lines) -> list:
    flag = 1 if coord.keep else 0
    spec = coord.spec
    if isinstance(spec, nodes.FromField):
        return [flag, f"from:{spec.field.text}"]
    if coord.ctp:
        if isinstance(spec, nodes.WholeImage):
            return [flag, "all"]
        return [flag, f"{spec.x0},{spec.y0},{spec.x1},{spec.y1}"]
    raw = _line(lines, coord.span.line).strip()
    raw = raw[len(coord.keyword) :].strip() if raw.lower().startswith(coord.keyword) else ""
    if not raw:
        raw = "all" if isinstance(spec, nodes.WholeImage) else f"{spec.x0},{spec.y0},{spec.x1},{spec.y1}"
    return [flag, raw]


# --------------------------------------------------------------------------- merging


def merge_deid(dicts: list[OrderedDict]) -> OrderedDict:
    """Merge parsed recipes left to right.

    Header and labels are concatenated; ``%filter``, ``%values`` and
    ``%fields`` groups are united by name, a repeated name appending its
    members; the format is the first one given. (deid replaces same-named
    filter groups and keeps values, fields and labels of the first recipe only.)
    """
    if not dicts:
        return OrderedDict()
    out = copy.deepcopy(dicts[0])
    for d in dicts[1:]:
        if out.get("format") is None and d.get("format") is not None:
            out["format"] = d["format"]
        for kind in ("header", "labels"):
            if kind in d:
                out.setdefault(kind, []).extend(copy.deepcopy(d[kind]))
        for kind in ("filter", "values", "fields"):
            if kind in d:
                target = out.setdefault(kind, OrderedDict())
                for name, members in d[kind].items():
                    target.setdefault(name, []).extend(copy.deepcopy(members))
    return out


# --------------------------------------------------------------------------- deid's dict -> text


def render_deid(deid: dict) -> str:
    """Recipe text for a dict in ``.deid``'s shape (what deidlang compiles after edits).

    Sections are written in the dict's key order, so that parsing the text
    gives back an equal OrderedDict.
    """
    out: list[str] = []
    for kind, content in deid.items():
        if kind == "format":
            if content:
                out.append(f"FORMAT {content}")
        elif kind in ("header", "labels"):
            out.append(f"%{kind}")
            out.extend(_render_action(a) for a in content or [])
        elif kind in ("values", "fields"):
            for name, members in (content or {}).items():
                out.append(f"%{kind} {name}")
                for m in members:
                    line = f"{m['action']} {m['field']}"
                    if kind == "values" and m.get("value") not in (None, ""):
                        line += f" {m['value']}"
                    out.append(line)
        elif kind == "filter":
            for name, labels in (content or {}).items():
                out.append(f"%filter {name}")
                for label in labels:
                    out.extend(_render_label(label))
    return "\n".join(out) + "\n"


def _render_action(entry: dict) -> str:
    line = f"{entry['action']} {entry['field']}"
    value = entry.get("value")
    if value is not None and value != "":
        line += f" {value}"
    return line


def _render_label(label: dict) -> list[str]:
    name = str(label.get("name", ""))
    out = [name if name.startswith("LABEL") else f"label {name}"]
    for entry in label.get("filters", []):
        values = list(entry.get("value", []))
        pieces: list[str] = []
        for i, (act, field) in enumerate(zip(entry.get("action", []), entry.get("field", []))):
            if i:
                op = entry.get("InnerOperators", [])[i - 1] if i - 1 < len(entry.get("InnerOperators", [])) else "and"
                pieces.append("+" if op == "and" else "||")
            piece = f"{act} {field}"
            if act in ("contains", "notcontains", "equals", "notequals") and values:
                piece += f" {values.pop(0)}"
            pieces.append(piece)
        lead = {"and": "+ ", "or": "|| "}.get(entry.get("operator") or "", "")
        out.append(lead + " ".join(pieces))
    for flag, coord in label.get("coordinates", []):
        coord_text = ",".join(coord) if isinstance(coord, list) else str(coord)
        out.append(f"{'keepcoordinates' if flag else 'coordinates'} {coord_text}")
    return out
