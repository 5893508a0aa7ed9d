"""``DicomParser``: deid's object for applying a recipe to one dataset, step by step.

The recipe runs on deidlang's engine: :meth:`DicomParser.parse` applies the
compiled recipe (``DeidRecipe.program``) to ``.dicom`` in place, with the
parser's ``lookup`` as the variables and functions of ``var:``/``func:``, and
then puts the ``%values`` and ``%fields`` groups the engine computed into
``lookup``, as deid does. :meth:`DicomParser.perform_action` compiles the one
action (with the groups it names) and applies it the same way. The field
listings (``fields``, ``find_by_name``, ``find_by_values``) come from the
universe recipes run on (:mod:`deidlang.runtime.universe`).
"""

from __future__ import annotations

import json
import os
import re
from collections import OrderedDict
from typing import Any

from pydicom.dataset import Dataset
from pydicom.tag import Tag

from ..api import compile as compile_text
from ..lang import regexes
from ..lang.diagnostics import DeidlangError
from ..runtime.universe import DEFAULT_SKIP
from ..runtime.values import Uncoercible, coerce
from .dicom_utils import save_dicom
from .fields import DicomField
from .files import load_dataset
from .lookup import FieldsWithLookups, get_fields_with_lookup
from .recipe import DeidRecipe

__all__ = ["DicomParser"]

#: the actions a recipe line may have (deid's ``valid_actions``)
ACTIONS = ("ADD", "BLANK", "JITTER", "KEEP", "REMOVE", "REPLACE", "LABEL")

#: deid's default config (``deid/dicom/config.json``): the protected fields and
#: one put action (KEEP PixelData, which the skip list already protects)
DEFAULT_CONFIG: dict[str, Any] = {
    "get": {"skip": list(DEFAULT_SKIP), "ids": {"entity": "PatientID", "item": "AccessionNumber"}},
    "put": {"actions": [{"action": "KEEP", "field": "PixelData"}]},
}

_STEP = re.compile(r"\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)")


class _Groups:
    """A tracer for ``Program.apply`` (deidlang.explain's Tracer protocol, without
    the bookkeeping): it runs each step itself and, before the first one, takes
    the ``%values``/``%fields`` groups the engine has just computed."""

    def __init__(self) -> None:
        self.run: Any = None
        self.values: dict[str, list] = {}
        self.fields: dict[str, dict[str, DicomField]] = {}
        self.taken = False

    def start(self, run) -> None:
        self.run = run

    def step(self, run, step) -> None:
        self.take()
        step(run)

    def take(self) -> None:
        """The groups, once, while the fields they hold are still in the dataset."""
        if self.taken or self.run is None:
            return
        self.taken = True
        for name, found in self.run.value_groups.items():
            self.values[name] = list(found)
        for name, found in self.run.field_groups.items():
            self.fields[name] = {f.uid: DicomField(f.element, f.name, f.uid, bool(f.is_filemeta)) for f in found}


class DicomParser:
    """deid's ``DicomParser(dicom_file, recipe=None, config=None, force=True, disable_skip=False)``.

    ``dicom_file``: a path or a pydicom Dataset (changed in place).
    ``recipe``: a :class:`DeidRecipe` or anything it accepts (None: the
    bundled default recipe, as ``DeidRecipe()``). ``config``: deid's config,
    a JSON path or a dict (``get.skip``: the protected fields; ``put.actions``:
    actions run after the recipe); None is deid's default. ``disable_skip``
    lists and acts on the protected fields too.

    Attributes as in deid: ``dicom``, ``dicom_file`` (absolute path or
    None), ``dicom_name``, ``recipe``, ``config``, ``lookup`` (what
    :meth:`define` added, then the groups :meth:`parse` computed), ``fields``
    (``{}`` until :meth:`get_fields` or :meth:`parse`, then a
    :class:`~deidlang.compat.lookup.FieldsWithLookups`), ``disable_skip``.
    """

    def __init__(self, dicom_file, recipe=None, config=None, force=True, disable_skip=False):
        self.lookup: dict[str, Any] = {}
        self.fields: Any = {}
        self.disable_skip = disable_skip
        self.config = _read_config(config)
        self._config_arg = config
        self.recipe = recipe if isinstance(recipe, DeidRecipe) else DeidRecipe(recipe)
        self.load(dicom_file, force=force)

    def __str__(self) -> str:
        return f"[dicom-parser:{self.dicom_name}]"

    def __repr__(self) -> str:
        return self.__str__()

    # ------------------------------------------------------------------ loading

    def load(self, dicom_file, force=True) -> None:
        """Read ``dicom_file`` (or take the Dataset) as ``.dicom``; forget earlier fields."""
        if not isinstance(dicom_file, Dataset) and not os.path.exists(os.fspath(dicom_file)):
            raise DeidlangError(f"cannot read '{os.fspath(dicom_file)}': no such file")  # deid exits
        self.dicom, path = load_dataset(dicom_file, force=force)
        self.dicom_file = path
        self.dicom_name = os.path.basename(path) if path else None
        self.seen: list[str] = []
        self.fields = {}

    def define(self, name: str, value: Any) -> None:
        """Give the recipe a variable (``var:name``) or a function (``func:name``)."""
        self.lookup[name] = value

    def reset_preamble(self) -> None:
        """Zero the 128-byte file preamble."""
        self.dicom.preamble = b"\0" * 128

    # ------------------------------------------------------------------ running the recipe

    def parse(self, strip_sequences=False, remove_private=False) -> None:
        """Apply the recipe (then the config's ``put.actions``) to ``.dicom``, in place.

        Afterwards ``lookup`` also holds each ``%values`` group (a list of
        values) and each ``%fields`` group (``{uid: DicomField}``), computed
        before the actions ran, and ``fields`` lists the fields as they are now.
        """
        groups = self._apply(self.recipe.program, strip_sequences=strip_sequences, remove_private=remove_private)
        groups.take()  # a recipe without steps
        self.lookup.update(groups.values)
        self.lookup.update(groups.fields)
        self._refresh()

    def perform_action(self, field, value, action, filemeta=False) -> None:
        """Run one recipe line, ``ACTION field [value]``, on ``.dicom``.

        ``field`` is a field expression (``PatientID``, ``contains:Date``,
        ``fields:NAME``, ``values:NAME``...); ``value`` as in a recipe (text, ``var:``, ``func:``, ``deid_func:``).
        The groups it names are computed on the dataset as it is now. An
        action deid does not know raises ``DeidlangError`` (deid: BLANK).
        ``filemeta`` is accepted for deid's signature (file meta fields are
        reached through their keywords or tags).
        """
        if not isinstance(field, str):
            raise DeidlangError(
                "perform_action takes a field expression such as 'PatientID' or 'contains:Date'; "
                "for one DicomField use delete_field, blank_field or replace_field"
            )
        verb = str(action).upper()
        if verb not in ACTIONS:
            raise DeidlangError(f"unknown action '{action}': a recipe line is one of {', '.join(ACTIONS)}")
        if verb == "LABEL":
            return
        expression = field
        entry: dict[str, Any] = {"action": verb, "field": expression}
        if value is not None:
            entry["value"] = str(value)
        recipe: OrderedDict = OrderedDict(format="dicom", header=[entry])
        kind, _, name = expression.partition(":")
        if kind in ("fields", "values") and name:
            section = self.recipe.deid.get(kind) or {}
            if name in section:
                recipe[kind] = OrderedDict({name: section[name]})
        one = DeidRecipe(recipe, allow=self.recipe._allow)
        self._apply(one.program, put=False)
        self._refresh()

    def _apply(self, program, *, strip_sequences=False, remove_private=False, put=True) -> _Groups:
        groups = _Groups()
        config = self._config_arg if put else {"get": {"skip": self.skip}, "put": {"actions": []}}
        program.apply(
            self.dicom,
            ids=dict(self.lookup),
            path=self.dicom_file,
            strip_sequences=strip_sequences,
            remove_private=remove_private,
            disable_skip=self.disable_skip,
            config=config,
            trace=groups,
        )
        return groups

    def _refresh(self) -> None:
        """``fields`` as the dataset is now (deid keeps its list current action by action)."""
        self.fields = {}
        self.get_fields()

    # ------------------------------------------------------------------ fields

    @property
    def skip(self) -> list:
        """The protected fields: the config's ``get.skip`` (none with ``disable_skip``)."""
        if self.disable_skip:
            return []
        return list(self.config.get("get", {}).get("skip", []))

    @property
    def keep(self) -> list:
        """The uids of the fields the recipe's KEEP lines select in ``.dicom``."""
        uids: list[str] = []
        for entry in self.recipe.get_actions(action="KEEP"):
            if entry.get("field"):
                uids.extend(u for u in self._expand(entry["field"]) if u not in uids)
        return uids

    @property
    def excluded_from_deletion(self) -> list:
        """The field expressions of the recipe's JITTER and REPLACE lines (REMOVE spares what they name)."""
        return [e["field"] for e in self.recipe.get_actions(action="JITTER") + self.recipe.get_actions(action="REPLACE") if e.get("field")]

    def get_fields(self, expand_sequences=True):
        """The fields of ``.dicom`` that actions act on: ``{uid: DicomField}`` with lookup tables.

        Left out, as in deid: the protected fields (``skip``) and the elements
        with the tag of a top-level field that a KEEP line selects (``keep``),
        at every depth.
        """
        if not self.fields:
            skip = self.skip + self.keep
            self.fields = get_fields_with_lookup(self.dicom, skip=skip, expand_sequences=expand_sequences, seen=self.seen)
        return self.fields

    def _expand(self, expression: str) -> list[str]:
        """The uids of the fields of ``.dicom`` that a field expression selects (the engine's answer)."""
        program = compile_text(f"FORMAT dicom\n%header\nREMOVE {expression}\n", allow=True)
        return [f.uid for f in program.universe(self.dicom) if f.ids]

    def find_by_name(self, name: str) -> dict:
        """The fields whose nested name, tag (``(gggg,eeee)`` or ``GGGGEEEE``),
        element name or keyword contains the pattern ``name`` (any case)."""
        fields = self.get_fields()
        matcher = regexes.compile(name)
        return {uid: f for uid, f in fields.items() if f.name_contains(matcher)}

    def find_by_values(self, values) -> dict:
        """The fields with a value that contains one of ``values`` (as text, any case).

        The values are matched literally, as ``values:`` groups are
        (docs/differences-from-deid.md item 4; deid joins them into one
        regular expression). An empty list finds nothing.
        """
        matcher = regexes.literal_any([str(v) for v in values])
        if matcher is None:
            return {}
        return {uid: f for uid, f in self.get_fields().items() if f.value_contains(matcher)}

    # ------------------------------------------------------------------ one field

    def get_nested_field(self, field: DicomField, return_parent=False):
        """The tag of ``field``, or ``(parent dataset, tag)``; ``(None, tag)`` when its path is gone."""
        desired = field.element.tag
        parent: Any = self.dicom.file_meta if field.is_filemeta else self.dicom
        for step in field.uid.split("__"):
            m = _STEP.fullmatch(step)
            if m:
                tag = Tag(int(m.group(1), 16), int(m.group(2), 16))
                if tag == desired:
                    continue
                if tag not in parent:
                    return None, desired
                parent = parent[tag]
            else:
                index = int(step)
                if index < 0 or index >= len(parent.value):
                    return None, desired
                parent = parent.value[index]
        return (parent, desired) if return_parent else desired

    def get_child_fields(self, field: DicomField) -> list[str]:
        """The uids in ``fields`` nested under ``field`` (a sequence's items and what they hold)."""
        prefix = field.uid + "__"
        return [uid for uid in self.get_fields() if uid.startswith(prefix)]

    def delete_field(self, field: DicomField) -> None:
        """Delete ``field`` (and what it holds) from ``.dicom``."""
        parent, tag = self.get_nested_field(field, return_parent=True)
        if parent is not None and tag in parent:
            children = self.get_child_fields(field)
            del parent[tag]
            self._forget([field.uid, *children])

    def blank_field(self, field: DicomField) -> None:
        """Empty the value of ``field`` (a sequence loses its items)."""
        parent, tag = self.get_nested_field(field, return_parent=True)
        if parent is not None and tag in parent:
            children = self.get_child_fields(field)
            parent[tag].value = None
            self._forget(children)

    def replace_field(self, field, value) -> None:
        """Set the value of ``field``, as :meth:`add_field`."""
        self.add_field(field, value)

    def add_field(self, field, value) -> None:
        """Set ``field`` to ``value``, creating it when it is not there.

        ``field``: a DicomField (set in place, at its own depth) or a field
        expression, which runs the recipe line ``ADD field value`` on the
        engine. For a DicomField, ``value`` is typed through the element's VR
        as a recipe value is; ``var:``/``func:`` values need the recipe line
        form. A value of None changes nothing, as in deid.
        """
        if value is None:
            return
        if not isinstance(field, DicomField):
            self.perform_action(field, value, "ADD")
            return
        parent, tag = self.get_nested_field(field, return_parent=True)
        if parent is None or tag not in parent:
            raise DeidlangError(f"cannot set {field.uid}: the element is no longer in the dataset")
        element = parent[tag]
        try:
            element.value = coerce(value, element.VR)
        except Uncoercible as err:
            raise DeidlangError(f"cannot set {field.uid}: {err}") from err
        self.fields = {}

    def _forget(self, uids: list[str]) -> None:
        fields = self.get_fields()
        if isinstance(fields, FieldsWithLookups):
            for uid in uids:
                fields.remove(uid)

    def remove_private(self) -> None:
        """Delete every private element of ``.dicom`` (at every depth)."""
        self.dicom.remove_private_tags()
        self.fields = {}

    # ------------------------------------------------------------------ saving

    def save(self, filename, overwrite=False) -> str:
        """Write ``.dicom`` to ``filename`` (None: the file it was read from); returns the path.

        An existing file is replaced only with ``overwrite=True``; otherwise a
        ``UserWarning`` and nothing is written (deid logs an error). A missing
        folder is created. The write is atomic.
        """
        target = filename or self.dicom_file
        if not target:
            raise DeidlangError("the dataset has no file name: give save() a filename")
        target = os.path.abspath(os.fspath(target))
        return save_dicom(self.dicom, target, os.path.dirname(target), overwrite)


def _read_config(config) -> dict:
    """deid's config as a dict: the default, a dict, or a JSON file."""
    if config is None:
        return json.loads(json.dumps(DEFAULT_CONFIG))
    if isinstance(config, dict):
        return config
    try:
        with open(os.fspath(config), encoding="utf-8") as handle:
            data = json.load(handle, object_pairs_hook=OrderedDict)
    except FileNotFoundError as err:
        raise DeidlangError(f"cannot find config file '{os.fspath(config)}'") from err
    except (OSError, ValueError) as err:
        raise DeidlangError(f"cannot read config file '{os.fspath(config)}': {type(err).__name__}") from err
    if not isinstance(data, dict):
        raise DeidlangError("config must be a JSON object with 'get' and 'put'")
    return data
