"""Checked recipe AST -> :class:`deidlang.runtime.Program`.

The checker has already reported every problem, so this module trusts the
tree: keywords are resolved to tags, expanders become compiled matchers,
``deid_func:`` arguments are parsed, JITTER days become ints, and every
action becomes a callable step object holding a selector index. Nothing
here is re-done per dataset.

Should the compiler still meet something it cannot build (a checker that
let it through), it raises :class:`RecipeError` with one diagnostic rather
than building a Program that would misbehave.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any, NoReturn

from .lang import nodes, regexes
from .lang.diagnostics import Diagnostic, RecipeError
from .lang.source import Span
from .runtime import Program, actions, build, extras, filters, selectors, values
from .runtime.builtins import NAMES as BUILTIN_NAMES
from .runtime.builtins import BadArgument, make_builtin

if TYPE_CHECKING:  # the class below has a method named filters
    from .runtime.filters import Coordinates, FilterLabel, Predicate, Reader

__all__ = ["compile_recipe", "selector_for"]


class _Compiler:
    def __init__(self, name: str, diagnostics: tuple):
        self.name = name
        self.diagnostics = diagnostics
        self.table = build.SelectorTable()

    def fail(self, span: Span, code: str, message: str, hint: str = "") -> NoReturn:
        diag = Diagnostic.at(span, code, message, hint, file=self.name)
        raise RecipeError((*self.diagnostics, diag))

    # -- fields
    def selector(self, field: nodes.Field, *, groups: bool = True) -> int:
        """The index of ``field``'s selector. ``groups=False``: inside %values/%fields,
        where deid's expansion of ``values:``/``fields:`` finds nothing."""
        if not groups and isinstance(field, nodes.GroupRef):
            return self.table.add(selectors.Nothing(field.text))
        try:
            sel = selector_for(field)
        except re.error as exc:
            self.fail(field.span, "E209", f"invalid regular expression in '{field.text}'", str(exc))
        return self.table.add(sel)

    def add_target(self, field: nodes.Field) -> build.AddTarget:
        try:
            if isinstance(field, nodes.Keyword):
                return build.add_target(keyword=field.name, text=field.name)
            if isinstance(field, nodes.Tag):
                return build.add_target(tag=field.value, text=field.text)
            if isinstance(field, nodes.PrivateTag):
                return build.add_target(private=(field.group, field.creator, field.element), text=field.text)
        except build.BadTarget as exc:
            self.fail(field.span, "E304", str(exc), "ADD takes a keyword, a tag or a private-creator form naming one element")
        self.fail(field.span, "E304", f"ADD needs a single element, not '{field.text}'", 'write a keyword, (gggg,eeee), ggggeeee or (gggg,"CREATOR",ee)')

    # -- values
    def value(self, line: nodes.ActionLine, verb: str) -> Any:
        v = line.value
        if v is None:
            return None
        if isinstance(v, nodes.Literal):
            return values.Constant(v.text)
        if isinstance(v, nodes.VarRef):
            return values.Var(v.name)
        if isinstance(v, nodes.FuncRef):
            return values.Func(v.name)
        if isinstance(v, nodes.DeidFunc):
            try:
                return make_builtin(v.name, [(a.name, a.value) for a in v.args], v.text)
            except BadArgument as exc:
                code = "E206" if v.name not in BUILTIN_NAMES else "E207"
                self.fail(v.span, code, str(exc))
        if isinstance(v, nodes.ValueFilter):
            if verb != "REMOVE":
                return values.Constant(v.text)  # a plain value everywhere else, as in deid
            return self.value_filter(v)
        raise AssertionError(f"unknown value node {v!r}")  # pragma: no cover

    def value_filter(self, v: nodes.ValueFilter) -> values.Filter:
        kind = v.kind
        regex = None
        if kind in ("contains", "notcontains", "startswith", "endswith"):
            source = v.argument
            if kind == "startswith":
                source = f"^({source})"
            elif kind == "endswith":
                source = f"({source})$"
            try:
                regex = regexes.compile(source)
            except re.error as exc:
                self.fail(v.span, "E209", f"invalid regular expression in '{v.text}'", str(exc))
        return values.Filter(kind, v.argument, regex)

    # -- lines
    def action(self, line: nodes.ActionLine) -> Any:
        """The step for one action line; None for a line that does nothing (an ADD of an unknown keyword)."""
        verb = line.action
        field = line.field
        value = self.value(line, verb)
        text = " ".join(p for p in (verb, field.text, _value_text(line.value)) if p)
        if verb in ("ADD", "REPLACE", "JITTER") and value is None:
            self.fail(line.span, "E102", f"'{verb}' needs a value after the field")
        if verb == "ADD":
            if isinstance(field, nodes.Keyword) and build.keyword_tag(field.name) is None:
                return None  # an unknown keyword adds nothing (W201/E214, let through by allow=)
            target = self.add_target(field)
            return build.make_step("ADD", target=target, field_text=field.text, value=value, text=text, span=line.span)
        label = build.field_label(field.text) if isinstance(field, nodes.Keyword) else field.text
        index = self.selector(field)
        if verb == "KEEP" and isinstance(value, values.Builtin):
            return extras.KeepValue(index, value, text=text, span=line.span, label=label)
        if verb == "REMOVE" and value is None and isinstance(self.table.items[index], extras.Private):
            return extras.RemovePrivate(index, text=text, span=line.span, label=label)
        days = None
        if verb == "JITTER" and isinstance(value, values.Constant):
            try:
                days = int(value.text)
            except ValueError:
                self.fail(line.value.span, "E301", f"JITTER needs a whole number of days, not '{value.text}'")  # type: ignore[union-attr]  # its value
        return build.make_step(verb, selector=index, value=value, days=days, text=text, span=line.span, label=label)

    def values_group(self, name: str, lines: tuple[nodes.GroupLine, ...]) -> actions.ValuesGroupDef:
        rules = []
        for line in lines:
            index = self.selector(line.field, groups=False)
            if line.action == "FIELD":
                rules.append(actions.ValuesRule(index, None, 1, line.span))
                continue
            by, minlength = " ", 1
            for opt in line.options:
                key = opt.name.strip()
                if key == "minlength":
                    try:
                        minlength = int(opt.value.strip())
                    except ValueError:
                        self.fail(opt.span, "E302", f"minlength must be a whole number, not '{opt.value}'")
                elif key == "by":
                    by = opt.value.strip().strip("'").strip('"')
            if by == "":
                self.fail(line.span, "E302", "SPLIT needs a non-empty separator")
            rules.append(actions.ValuesRule(index, by, minlength, line.span))
        return actions.ValuesGroupDef(name, tuple(rules))

    def fields_group(self, name: str, lines: tuple[nodes.GroupLine, ...]) -> actions.FieldsGroupDef:
        return actions.FieldsGroupDef(name, tuple(self.selector(line.field, groups=False) for line in lines if line.action == "FIELD"))

    # -- filters
    def filters(self, recipe: nodes.Recipe) -> tuple[FilterLabel, ...]:
        """Every LABEL of every ``%filter`` group, in evaluation order (groups in order of
        first appearance, same-named sections merged, labels in file order)."""
        return tuple(self.label(group, label) for group, labels in recipe.filters().items() for label in labels)

    def label(self, group: str, label: nodes.Label) -> FilterLabel:
        lines = tuple(
            filters.Line(line.operator, tuple(self.predicate(c) for c in line.criteria), tuple(line.operators), line.span)
            for line in label.criteria
            if line.criteria
        )
        coords = tuple(self.coordinates(c) for c in label.coordinates)
        return filters.FilterLabel(group, label.name, lines, coords, label.span)

    def reader(self, field: nodes.Field) -> Reader:
        """A keyword or tag reads the top-level element (deid's lookup); any other field
        expression reads what it selects in the header."""
        if isinstance(field, nodes.Keyword):
            return filters.TopElement(build.keyword_tag(field.name))
        if isinstance(field, nodes.Tag):
            return filters.TopElement(field.value)
        return filters.Selection(self.selector(field))

    def predicate(self, c: nodes.Criterion) -> Predicate:
        regex = None
        value = c.value.strip() if c.value is not None else None
        if c.predicate in ("contains", "notcontains", "equals", "notequals") and value is None:
            self.fail(c.span, "E303", f"'{c.predicate}' needs a value after the field")
        if c.predicate in ("contains", "notcontains"):
            try:
                regex = regexes.compile(value or "")
            except re.error as exc:
                self.fail(c.value_span or c.span, "E209", f"invalid regular expression '{value}'", str(exc))
        return filters.Predicate(c.predicate, self.reader(c.field), c.field.text, value, regex, c.span)

    def coordinates(self, line: nodes.CoordLine) -> Coordinates:
        spec = line.spec
        if isinstance(spec, nodes.FromField):
            return filters.Coordinates(line.keep, None, self.reader(spec.field), line.span)
        if isinstance(spec, nodes.Box):
            return filters.Coordinates(line.keep, (spec.x0, spec.y0, spec.x1, spec.y1), None, line.span)
        return filters.Coordinates(line.keep, None, None, line.span)


def _value_text(value: nodes.Value | None) -> str:
    if value is None:
        return ""
    if isinstance(value, nodes.Literal):
        return value.raw or value.text
    return value.text


def selector_for(field: nodes.Field):
    """The runtime selector for a field expression (deid's matching rules)."""
    if isinstance(field, nodes.AllFields):
        return selectors.All(field.text)
    if isinstance(field, nodes.GroupRef):
        return selectors.FieldsGroup(field.name) if field.kind == "fields" else selectors.ValuesGroup(field.name)
    if isinstance(field, nodes.Expander):
        if field.kind == "select":
            extra = extras.select_extra(field.argument, field.text)
            if extra is not None:
                return extra
        return selectors.expander(field.kind, field.argument, field.text)
    if isinstance(field, nodes.UidPath):
        return selectors.UidPath(field.text.lower(), field.steps[-1])
    if isinstance(field, nodes.Tag):
        # every tag form (0x00100010, 0010,0010, "(0010, 0010)") means the tag: compare in the
        # canonical form deid also understands. deid matches nothing for the forms it does not
        # know; the checker warns about those lines (W411).
        return selectors.Exact(f"({field.group:04x},{field.element:04x})")
    if isinstance(field, nodes.PrivateTag):
        return selectors.Exact(f'({field.group:04x},"{field.creator.lower()}",{field.element & 0xFF:02x})')
    # keyword and nested-name forms: exact, case-insensitive comparison with the
    # field's representations (deid's lookup)
    return selectors.Exact(field.text.lower())


def compile_recipe(recipe: nodes.Recipe, *, name: str, text: str, diagnostics: tuple = ()) -> Program:
    """Build the Program for a checked recipe (no errors among ``diagnostics``)."""
    c = _Compiler(name, tuple(diagnostics))
    value_groups = tuple(c.values_group(n, lines) for n, lines in recipe.groups("values").items())
    field_groups = tuple(c.fields_group(n, lines) for n, lines in recipe.groups("fields").items())
    steps = []
    keep: list[int] = []
    exclusion: set[int] = set()
    for line in recipe.header:
        step = c.action(line)
        if step is None:
            continue
        steps.append(step)
        plain = not isinstance(line.field, nodes.GroupRef)
        if isinstance(step, (actions.Keep, extras.KeepValue)) and plain:
            keep.append(step.selector)
        if isinstance(step, (actions.Replace, actions.Jitter)) and plain:
            exclusion.add(step.selector)
    labels = c.filters(recipe)
    return Program(
        name=name,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        steps=tuple(steps),
        selectors=tuple(c.table.items),
        keep=tuple(dict.fromkeys(keep)),
        exclusion=frozenset(exclusion),
        value_groups=value_groups,
        field_groups=field_groups,
        diagnostics=tuple(diagnostics),
        filters=labels,
    )
