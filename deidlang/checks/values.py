"""Checks of values: literals typed through the element's VR, ``func:`` and
``deid_func:`` references and their arguments (checked by the runtime's own code), value
filters, JITTER targets that are not dates, and ``var:`` names against the ids
(E3xx/W3xx)."""

from __future__ import annotations

import functools
import re
from typing import Iterator, Mapping

from ..lang import nodes
from ..lang.diagnostics import Diagnostic
from ..lang.source import Span
from ..lang.suggest import did_you_mean
from ..runtime.builtins import DEID_NAMES as _DEID_BUILTINS
from ..runtime.builtins import BadArgument as _BadArgument
from ..runtime.builtins import make_builtin as _make_builtin
from ..runtime.values import ASCII_ONLY_VRS, INT_RANGES, IS_RANGE, ds_text_ok, is_text_ok
from .context import (
    DEID_FUNCS,
    PROTECTED,
    REGEX_EXPANDERS,
    Attr,
    Context,
    all_vrs,
    exact_attr,
    expander_selects,
    folded_attr,
    group_name,
    keyword_tables,
    pattern_diagnostics,
    regex_error,
    sub_span,
    tag_attr,
    target_attr,
)

#: the value representation each built-in needs (None: any)
_FUNC_VRS: dict[str, frozenset[str]] = {
    "hashuid": frozenset(("UI",)),
    "dateshift": frozenset(("DA", "DT", "TM")),
    "code": frozenset(("SQ",)),
    "cleancontent": frozenset(("SQ",)),
}


#: Codes named here because several checks share them.
_JITTER_NOT_DATE = "W416"
_REFERENCE_LIKE = "W304"


_INT_VRS = frozenset(("US", "SS", "UL", "SL", "UV", "SV"))
_FLOAT_VRS = frozenset(("FL", "FD"))
_INT_RE = re.compile(r"[ \t]*[+-]?[0-9]+[ \t]*")
_UID_ROOT_RE = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
_UID_PREFIX_RE = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*\.")
_REFERENCE_LIKE_RE = re.compile(r"(var|func|deid_func)[ \t]*:", re.IGNORECASE)
# deid's action-line tokenizer: runs of
# characters that are neither whitespace nor quotes, glued to whole quoted strings.
_DEID_TOKEN_RE = re.compile(r"""(?:[^\s"']+|"(?:\\.|[^"])*"|'(?:\\.|[^'])*')+""")


# --------------------------------------------------------------------------- values


def check_values(ctx: Context) -> Iterator[Diagnostic]:
    """Values: var/func/deid_func references, JITTER days, literals, value filters."""
    unchecked: set[str] = set()  # func: names noted (I201) once each
    for a in ctx.actions:
        v = a.value
        if v is None:
            continue
        if isinstance(v, nodes.VarRef):
            if not v.name:
                yield ctx.diag(v.span, "E102", "'var:' needs a variable name", "write var:NAME, where NAME is a key of the ids")
        elif isinstance(v, nodes.FuncRef):
            yield from _func_ref(ctx, v, unchecked)
        elif isinstance(v, nodes.DeidFunc):
            yield from _deid_func(ctx, a, v)
        elif isinstance(v, nodes.ValueFilter):
            yield from _value_filter(ctx, a, v)
        elif isinstance(v, nodes.Literal):
            yield from _literal(ctx, a, v)


#: Where functions for func: come from, said in the hints.
_FUNCTIONS_HINT = "name the Python file that defines it with --functions FILE.py (in Python: functions= to check, funcs= to apply)"


def _func_ref(ctx: Context, v: nodes.FuncRef, unchecked: set[str]) -> Iterator[Diagnostic]:
    if not v.name:
        yield ctx.diag(v.span, "E102", "'func:' needs a function name", "write func:NAME, where NAME is a function you pass in")
    elif ctx.functions is None:
        if v.name not in unchecked:
            unchecked.add(v.name)
            yield ctx.diag(
                v.span,
                "I201",
                f"func:{v.name} is not checked: no functions were given, and a run without them fails every file",
                _FUNCTIONS_HINT,
            )
    elif v.name not in ctx.functions:
        if ctx.functions:
            hint = did_you_mean(v.name, ctx.functions) or f"known functions: {', '.join(sorted(ctx.functions))}"
            yield ctx.diag(v.span, "E205", f"unknown function '{v.name}'", hint)
        else:
            yield ctx.diag(v.span, "E205", f"unknown function '{v.name}': no functions were given", _FUNCTIONS_HINT)


def _deid_func(ctx: Context, a: nodes.ActionLine, v: nodes.DeidFunc) -> Iterator[Diagnostic]:
    name = v.name
    name_span = sub_span(v.span, len("deid_func:"), len(name))
    if name in DEID_FUNCS and name not in _DEID_BUILTINS:
        yield from _deidlang_func(ctx, a, v, name_span)
        return
    if name not in DEID_FUNCS:
        if name == "simple_uuid":
            hint = "did you mean 'suffix_uuid' or 'basic_uuid'? ('simple_uuid' appears in deid's docs but does not exist)"
        else:
            hint = did_you_mean(name, DEID_FUNCS) or f"built-in functions: {', '.join(DEID_FUNCS)}"
        yield ctx.diag(name_span, "E206", f"unknown deid_func '{name}'", hint)
        return
    allowed = DEID_FUNCS[name]
    opts = {}
    for arg in v.args:
        if arg.name not in allowed:
            hint = (
                (did_you_mean(arg.name, allowed) or f"deid_func:{name} takes {', '.join(x + '=' for x in allowed)}")
                if allowed
                else f"deid_func:{name} takes no arguments"
            )
            yield ctx.diag(arg.span, "E207", f"deid_func:{name} has no argument '{arg.name}'", hint)
            continue
        opts[arg.name] = arg.value
        problem = _deid_arg_problem(arg.name, arg.value)
        if problem:
            yield ctx.diag(arg.span, "E207", f"bad value for {arg.name}= in deid_func:{name}: '{arg.value}'", problem)
    action = a.action
    if name == "pydicom_uuid" and opts.get("stable_remapping", "true") == "true" and action in ("REPLACE", "ADD", "KEEP"):
        yield ctx.diag(
            v.span,
            "W305",
            "deid_func:pydicom_uuid derives the new UID from an unkeyed hash of the old one: anyone who holds an original UID can compute its replacement and link the file back",
            "use deid_func:hashuid (HMAC-SHA256 under your key: the same consistent mapping, not computable without the key)",
        )
    if action == "KEEP":
        yield ctx.diag(
            v.span,
            "W418",
            f"deid ignores a value after KEEP; deidlang sets the kept elements to deid_func:{name}, then keeps them",
            "to keep the elements as they are, delete the value",
        )
    if action == "JITTER":
        yield ctx.diag(
            v.span,
            "E301",
            f"'JITTER' needs a whole number of days, not deid_func:{name}",
            f"deid crashes on this; write `REPLACE {a.field.text} deid_func:jitter days=N`, or `JITTER {a.field.text} N`",
        )
    elif action == "ADD" and (name == "jitter" or (name == "pydicom_uuid" and opts.get("stable_remapping", "true") != "false")):
        yield ctx.diag(
            v.span,
            "W412",
            f"deid crashes on ADD with deid_func:{name}: it reads the existing element, and ADD gives it none",
            f"use REPLACE {a.field.text} ..." + (" (or stable_remapping=false)" if name == "pydicom_uuid" else ""),
        )


def _deidlang_func(ctx: Context, a: nodes.ActionLine, v: nodes.DeidFunc, name_span: Span) -> Iterator[Diagnostic]:
    """deidlang's own built-ins (hashuid, hashid, dateshift, dummy, scrub, code, append,
    cleancontent, cleangraphics, safeharbor)."""
    name = v.name
    allowed = DEID_FUNCS[name]
    bad = False
    for arg in v.args:
        if arg.name not in allowed:
            bad = True
            hint = (
                (did_you_mean(arg.name, allowed) or f"deid_func:{name} takes {', '.join(x + '=' for x in allowed)}")
                if allowed
                else f"deid_func:{name} takes no arguments"
            )
            yield ctx.diag(arg.span, "E207", f"deid_func:{name} has no argument '{arg.name}'", hint)
    if not bad:
        try:
            _make_builtin(name, [(x.name, x.value) for x in v.args], v.text)
        except _BadArgument as exc:
            yield ctx.diag(v.span, "E207", str(exc))
    action = a.action
    if action == "JITTER" and name != "lookup":  # a lookup can give JITTER its days (checks/tables.py)
        yield ctx.diag(v.span, "E301", f"'JITTER' needs a whole number of days, not deid_func:{name}", f"write `REPLACE {a.field.text} deid_func:{name}`")
        return
    fits = {"code": ("ADD", "REPLACE"), "append": ("ADD", "REPLACE"), "lookup": ("ADD", "REPLACE", "KEEP", "JITTER")}.get(name, ("REPLACE", "KEEP"))
    if action in ("ADD", "REPLACE", "KEEP") and action not in fits:
        what = "ADD (it makes the value from the existing element, and ADD may have none)" if action == "ADD" else action
        yield ctx.diag(v.span, "W306", f"deid_func:{name} does not work with {what}", f"use it with {' or '.join(fits)}")
        return
    vrs = _FUNC_VRS.get(name)
    attr = target_attr(a.field) if vrs else None
    if attr is not None and vrs is not None and attr.vr not in vrs and not any(x in vrs for x in attr.vr.split(" or ")):
        yield ctx.diag(
            v.span,
            "W306",
            f"deid_func:{name} works on elements of VR {', '.join(sorted(vrs))}; {attr.keyword} has VR {attr.vr}",
            "apply it to the elements it is made for",
        )


def _deid_arg_problem(name: str, value: str) -> str:
    if name in ("days", "years"):
        return "" if _INT_RE.fullmatch(value) else f"{name}= takes a whole number, e.g. {name}=-5"
    if name == "org_root":
        return (
            ""
            if _UID_ROOT_RE.fullmatch(value)
            else "org_root= takes a UID root of digits and dots, without a trailing dot, e.g. org_root=1.2.826.0.1.3680043.10.1234"
        )
    if name == "prefix":
        if value in ("none", "null"):
            return ""
        if not _UID_PREFIX_RE.fullmatch(value):
            return "prefix= takes digits and dots ending with a dot, e.g. prefix=1.2.826.0.1.3680043.10.1234. (deid crashes otherwise)"
        if len(value) > 54:
            return "prefix= may be at most 54 characters long"
        return ""
    if name == "stable_remapping":
        return "" if value in ("true", "false") else "stable_remapping= takes true or false"
    return ""


def _value_filter(ctx: Context, a: nodes.ActionLine, v: nodes.ValueFilter) -> Iterator[Diagnostic]:
    action = a.action
    if v.kind == "values":
        yield from group_name(ctx, "values", v.argument, v.span, v.text)
    elif v.kind in ("contains", "notcontains", "startswith", "endswith"):
        yield from pattern_diagnostics(ctx, sub_span(v.span, len(v.kind) + 1, len(v.argument)), v.kind, v.argument)
    if action == "REMOVE":
        yield ctx.diag(
            v.span,
            "W404",
            f"deid treats '{v.text}' as a plain value, which is true, so it removes every selected field; deidlang removes only the fields whose value matches",
            "deid never filters by value here; to be safe under both, select the fields by name",
        )
    elif action in ("ADD", "REPLACE"):
        yield ctx.diag(
            v.span,
            "E305",
            f"value filter '{v.text}' only makes sense with REMOVE",
            f"deid would store the text '{v.text}' as the value; write the new value instead",
        )
    elif action == "JITTER":
        yield ctx.diag(v.span, "E301", f"'JITTER' needs a whole number of days, not '{v.text}'", "write e.g. `JITTER StudyDate -30`")


def _literal(ctx: Context, a: nodes.ActionLine, v: nodes.Literal) -> Iterator[Diagnostic]:
    action = a.action
    text = v.text
    if action == "REMOVE":
        yield ctx.diag(
            v.span,
            "W309",
            f"'REMOVE' with the plain value '{v.raw or text}': deid and deidlang use it as a yes/no switch (non-empty text removes, a number equal to 0 keeps), not as a filter",
            "delete the value to remove the field, or use func:NAME for a condition",
        )
        return
    if action in ("BLANK", "KEEP"):
        return  # W301 already
    if action == "JITTER":
        if v.quoted and _INT_RE.fullmatch(text):
            yield ctx.diag(
                v.span,
                "W402",
                f"deid keeps the quotes in {v.raw} and crashes reading it as a number; deidlang reads {text.strip()}",
                f"write {text.strip()} without quotes",
            )
        elif not _INT_RE.fullmatch(text):
            yield ctx.diag(
                v.span,
                "E301",
                f"'JITTER' needs a whole number of days, not '{v.raw or text}'",
                "write e.g. `JITTER StudyDate -30` (deid crashes on other text), or use var:/func:",
            )
        return
    # ADD / REPLACE
    m = None if v.quoted else _REFERENCE_LIKE_RE.match(text)
    if m and m.group(0) not in ("var:", "func:", "deid_func:"):
        kind = m.group(1).lower()
        yield ctx.diag(
            sub_span(v.span, 0, m.end()),
            _REFERENCE_LIKE,
            f"'{m.group(0)}' is not a reference (only lower-case '{kind}:' with no space is): deid and deidlang store '{text}' as literal text",
            f"write '{kind}:{text[m.end() :].lstrip()}'",
        )
    if v.quoted:
        yield ctx.diag(v.span, "W402", f"deid keeps the quotes: the value is {v.raw} under deid and '{text}' under deidlang", "delete the quotes")
    elif "'" in text or '"' in text or "  " in text or "\t" in text:
        deid_value = " ".join(_DEID_TOKEN_RE.findall(text))
        if deid_value != text:
            yield ctx.diag(
                v.span,
                "W403",
                f"deid reads this value as '{deid_value}' (it drops unpaired quotes and apostrophes and collapses runs of spaces); deidlang keeps '{text}'",
                "avoid apostrophes and repeated spaces in values",
            )
    yield from _typed_literal(ctx, a, v)


def _typed_literal(ctx: Context, a: nodes.ActionLine, v: nodes.Literal) -> Iterator[Diagnostic]:
    """E305: a literal that the target element's VR cannot hold."""
    f = a.field
    attr: Attr | None = None
    if isinstance(f, nodes.Keyword):
        attr = folded_attr(f.name)
    elif isinstance(f, nodes.Tag):
        attr = tag_attr(f.value)
    if attr is None:
        return
    vr = attr.vr
    if vr in _INT_VRS:
        low, high = INT_RANGES[vr]
        ok = all(_INT_RE.fullmatch(p) and low <= int(p) <= high for p in v.text.split("\\"))
        what = f"whole numbers from {low} to {high}"
    elif vr in _FLOAT_VRS:
        ok, what = all(_is_float(p) for p in v.text.split("\\")), "decimal numbers"
    elif vr == "DS":
        ok, what = all(ds_text_ok(p) for p in v.text.split("\\")), "finite decimal numbers (digits, sign, point, exponent)"
    elif vr == "IS":
        ok, what = all(is_text_ok(p) for p in v.text.split("\\")), f"whole numbers from {IS_RANGE[0]} to {IS_RANGE[1]}"
    elif vr in ASCII_ONLY_VRS:
        ok, what = v.text.isascii(), "ASCII text only (its character set does not apply)"
    else:
        return
    if not ok:
        yield ctx.diag(
            v.span,
            "E305",
            f"'{v.text}' is not a valid {vr} value for '{attr.keyword}'",
            f"{attr.keyword} (VR {vr}) holds {what}; separate several values with a backslash",
        )


def _is_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return bool(s.strip()) and "_" not in s


# --------------------------------------------------------------------------- JITTER targets


DATE_VRS = frozenset(("DA", "DT"))


def check_jitter_targets(ctx: Context) -> Iterator[Diagnostic]:
    """JITTER of elements that are not dates.

    deidlang changes only values written as a date, so a JITTER of an element
    that is not a date (DA/DT) by name leaves it as it is (W308; a person name
    too, where deid crashes, W412). deid runs dateutil over the value of any VR
    but DA/DT: some times and numbers become dates, other text is
    kept; an expander that also selects such elements is a deid note (W416).
    Explicit fields are checked against the dictionary VR; ``select:VR:`` by
    its VR; regex expanders and ``fields:`` groups by the dictionary entries
    they can select (the top-level view: an expander that reaches nested names
    is not seen).
    """
    for a in ctx.actions:
        if a.action != "JITTER":
            continue
        f = a.field
        if isinstance(f, nodes.GroupRef):
            if f.kind == "fields":
                members = [g.field for g in ctx.fields_groups.get(f.name, ())]
                named = [x for m in members if target_attr(m) is not None for x in _non_dates(m, explicit_too=True)]
                found = [x for m in members if target_attr(m) is None for x in _non_dates(m)]
                if named:
                    yield _unchanged_diag(ctx, f.span, f"the group '{f.name}' names elements that are not dates ({_attr_list(named)})")
                elif found:
                    yield _jitter_diag(ctx, f.span, f"the group '{f.name}' holds elements that are not dates ({_attr_list(found)})")
            continue
        attr = target_attr(f)
        if attr is not None:
            if attr.vr not in DATE_VRS and attr.vr != "SQ" and attr.keyword not in PROTECTED:
                yield _unchanged_diag(ctx, f.span, f"'{f.text}' is {attr.vr}, not a date (DA) or date-time (DT)")
            continue
        if isinstance(f, nodes.Expander):
            key, _, value = f.argument.partition(":")
            if f.kind == "select" and key.lower() == "vr":
                vr = value[:2].upper()
                if vr in all_vrs() and vr not in DATE_VRS:
                    yield _unchanged_diag(ctx, f.span, f"'{f.text}' selects {vr} elements, which are not dates")
                continue
            found = _non_dates(f)
            if found:
                yield _jitter_diag(ctx, f.span, f"'{f.text}' also selects elements that are not dates ({_attr_list(found)})")


def _unchanged_diag(ctx: Context, span: Span, what: str) -> Diagnostic:
    return ctx.diag(
        span,
        "W308",
        f"{what}: deidlang changes only values written as a date (YYYYMMDD), so this JITTER leaves them as they are "
        "(deid guesses a date in such values, or crashes on a person name)",
        "JITTER dates (DA) and date-times (DT) only; BLANK or REPLACE the other elements",
    )


def _jitter_diag(ctx: Context, span: Span, what: str) -> Diagnostic:
    return ctx.diag(
        span,
        _JITTER_NOT_DATE,
        f"{what}: deid guesses a date in such values (some times and numbers become dates, other text is kept, a person name crashes); deidlang changes only values written as a date (YYYYMMDD) and leaves the others unchanged",
        "JITTER dates (DA) and date-times (DT) only; BLANK or REPLACE the other elements",
    )


def _non_dates(f: nodes.Field, explicit_too: bool = False) -> list[Attr]:
    """Dictionary entries that are not dates among those ``f`` can select."""
    attr = target_attr(f)
    if attr is not None:
        return [attr] if explicit_too and attr.vr not in DATE_VRS and attr.keyword not in PROTECTED else []
    if isinstance(f, nodes.Expander) and (f.kind in REGEX_EXPANDERS or f.kind == "select"):
        return list(_expander_non_dates(f.kind, f.argument))
    return []


@functools.lru_cache(maxsize=256)
def _expander_non_dates(kind: str, argument: str) -> tuple[Attr, ...]:
    """Non-retired entries first: the ones a file is likely to hold."""
    if kind != "select" and regex_error(argument.lower()) is not None:
        return ()
    found = []
    for kw in keyword_tables()[0]:
        attr = exact_attr(kw) if kw else None
        if attr is not None and attr.tag is not None and attr.vr not in DATE_VRS and attr.keyword not in PROTECTED and expander_selects(kind, argument, attr):
            found.append(attr)
    found.sort(key=lambda x: (x.retired, x.tag))
    return tuple(found)


def _attr_list(attrs_: list[Attr]) -> str:
    shown = ", ".join(f"{x.keyword} {x.vr}" for x in attrs_[:3])
    return shown + (f" and {len(attrs_) - 3} more" if len(attrs_) > 3 else "")


# --------------------------------------------------------------------------- ids


def check_variables(ctx: Context) -> Iterator[Diagnostic]:
    """E215: when the ids are known, every var:NAME must be supplied for every file.

    A var: with no value leaves the element as it is (as in deid), so the
    original value stays in the output. Empty ids (none given to a run) supply
    nothing. A var: that names a %values/%fields group is supplied by the recipe.
    """
    if ctx.ids is None:
        return
    files = list(ctx.ids.values())
    total = len(files)
    known: set[str] | None = None
    for a in ctx.actions:
        v = a.value
        if not isinstance(v, nodes.VarRef) or not v.name or v.name in ctx.values_groups or v.name in ctx.fields_groups:
            continue
        if not total:
            yield ctx.diag(
                v.span,
                "E215",
                f"variable '{v.name}' has no value: no ids were given, so {a.action} {a.field.text} leaves the element as it is",
                "give each file's values with --ids IDS.json (`deidc identifiers` writes one to fill in; in Python: ids=)",
            )
            continue
        missing = sum(1 for item in files if not isinstance(item, Mapping) or v.name not in item)
        if not missing:
            continue
        if known is None:
            known = {k for item in files if isinstance(item, Mapping) for k in item}
        hint = (did_you_mean(v.name, known) if v.name not in known else "") or "add it to every file's object in the ids"
        yield ctx.diag(
            v.span,
            "E215",
            f"variable '{v.name}' is missing in {missing} of {total} file{'s' if total != 1 else ''} of the ids: "
            f"there {a.action} {a.field.text} leaves the element as it is",
            hint,
        )
