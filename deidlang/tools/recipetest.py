"""Recipe regression tests behind ``deidc test``.

A test case is a file named ``NAME.test.json`` or ``NAME.test.yaml``
(``.yml``) that says which recipes to apply to which input::

    recipes: [../research-export.dicom]     # applied in this order (paths relative to the case)
    input: scan.dcm                         # a DICOM file, or:
    dataset:                                # a small dataset described in place
      PatientName: Doe^John
      StudyDate: "20230101"
      ImageType: [ORIGINAL, PRIMARY]        # a list: a multi-valued element
      ReferencedImageSequence:              # a list of objects: a sequence
        - ReferencedSOPInstanceUID: 1.2.3.4
      "(0009,0010)": {vr: LO, value: ACME 1.1}   # a tag, with its VR
    ids: {subject: SUB-001}                 # the variables for this file (optional)
    functions: funcs.py                     # a func: file (optional; it is executed)
    options: [retain-uids]                  # bundled profile options, applied first (optional)
    key: "a secret for the tests only"      # for hashuid, hashid, dateshift (when the recipes use them)
    remove_private: true                    # as deidc run (the default)
    allow: [W307]                           # findings to let through, as `deidc run --allow` (optional)
    expected: NAME.expected.json            # the default

The expected result is the JSON that ``deidc explain --format json
--show-values`` prints: every element, what happened to it (removed,
blanked, changed, added, kept, unchanged), the recipe line that decided it,
the lines it shadowed, and its value before and after. It is compared
exactly; ``deidc test --update`` writes it after a reviewed change.
Expected files hold element values: keep real patient data out of test cases.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping

import attrs

from ..lang.diagnostics import DeidlangError, RecipeError, UnknownCode, parse_allow

__all__ = ["Case", "Outcome", "CaseError", "discover", "load_case", "run_case", "compare", "dataset_from", "SUFFIXES"]

SUFFIXES = (".test.json", ".test.yaml", ".test.yml")
_KEYS = frozenset({"recipes", "input", "dataset", "ids", "functions", "options", "key", "remove_private", "expected", "description", "allow"})


class CaseError(DeidlangError):
    """A test case that cannot be run (its file, recipes or input are unusable)."""


@attrs.frozen
class Case:
    path: Path
    name: str
    recipes: tuple[str, ...]  # as written in the case (relative to its folder)
    input: str | None
    dataset: Mapping[str, Any] | None = attrs.field(eq=False)
    ids: Mapping[str, Any] | None = attrs.field(eq=False)
    functions: str | None
    options: tuple[str, ...]
    key: str | None = attrs.field(repr=False)
    remove_private: bool
    expected: Path
    allow: frozenset[str] = frozenset()  # codes let through, as `deidc run --allow` ("all": every one)

    @property
    def folder(self) -> Path:
        return self.path.parent

    def at(self, relative: str) -> Path:
        return (self.folder / relative).resolve()


@attrs.frozen
class Outcome:
    case: Case
    status: str  # "pass" | "fail" | "error" | "updated"
    actual: dict | None = attrs.field(default=None, eq=False, repr=False)
    diff: tuple[str, ...] = ()  # per-element differences, without values unless asked
    reason: str = ""


def discover(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """The case files under each path (a case file itself, or a folder searched recursively)."""
    out: list[Path] = []
    for given in paths:
        p = Path(given)
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.name.endswith(SUFFIXES)))
    return list(dict.fromkeys(out))


def _read_mapping(path: Path) -> Mapping[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CaseError(f"cannot read '{path}': {getattr(err, 'strerror', None) or type(err).__name__}") from None
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise CaseError(f"'{path}' is YAML: install PyYAML (pip install pyyaml) or write the case as JSON") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise CaseError(f"'{path}' is not valid YAML{where}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise CaseError(f"'{path}' is not valid JSON (line {err.lineno} column {err.colno}: {err.msg})") from None
    if not isinstance(data, Mapping):
        raise CaseError(f"'{path}': a test case is an object with 'recipes' and 'input' or 'dataset'")
    return data


def _strings(value: Any, what: str, path: Path) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise CaseError(f"'{path}': '{what}' must be a path or a list of paths")


def load_case(path: Path) -> Case:
    data = _read_mapping(path)
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise CaseError(f"'{path}': unknown key{'s' if len(unknown) > 1 else ''} {', '.join(repr(k) for k in unknown)} (known: {', '.join(sorted(_KEYS))})")
    recipes = _strings(data.get("recipes"), "recipes", path)
    if not recipes:
        raise CaseError(f"'{path}': 'recipes' is missing")
    given = [k for k in ("input", "dataset") if data.get(k) is not None]
    if len(given) != 1:
        raise CaseError(f"'{path}': give exactly one of 'input' (a DICOM file) and 'dataset' (a description)")
    if data.get("input") is not None and not isinstance(data["input"], str):
        raise CaseError(f"'{path}': 'input' must be a path")
    if data.get("dataset") is not None and not isinstance(data["dataset"], Mapping):
        raise CaseError(f"'{path}': 'dataset' must be an object of elements")
    if data.get("ids") is not None and not isinstance(data["ids"], Mapping):
        raise CaseError(f"'{path}': 'ids' must be an object of variables")
    name = path.name
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    expected = data.get("expected") or f"{name}.expected.json"
    if not isinstance(expected, str):
        raise CaseError(f"'{path}': 'expected' must be a path")
    key = data.get("key")
    try:
        allow = parse_allow(_strings(data.get("allow"), "allow", path))
    except UnknownCode as err:
        raise CaseError(f"'{path}': 'allow': {err}") from None
    return Case(
        path=path,
        name=name,
        recipes=recipes,
        input=data.get("input"),
        dataset=data.get("dataset"),
        ids=data.get("ids"),
        functions=data.get("functions") if isinstance(data.get("functions"), str) else None,
        options=_strings(data.get("options"), "options", path),
        key=str(key) if key is not None else None,
        remove_private=bool(data.get("remove_private", True)),
        expected=(path.parent / expected),
        allow=allow,
    )


# --------------------------------------------------------------------------- datasets


def dataset_from(description: Mapping[str, Any], where: str = "dataset"):
    """A pydicom Dataset from a description: keywords (or "(gggg,eeee)" tags with a VR)
    mapped to values; lists are multi-valued elements, lists of objects sequences;
    ``file_meta`` holds the file meta elements."""
    from pydicom.datadict import dictionary_VR, tag_for_keyword
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.tag import Tag

    def build(desc: Mapping[str, Any], into, place: str):
        for key, spec in desc.items():
            if key == "file_meta" and place == where:
                continue
            vr = None
            value = spec
            if isinstance(spec, Mapping) and "value" in spec:
                vr, value = spec.get("vr"), spec.get("value")
            tag_number = tag_for_keyword(key)
            if tag_number is None:
                try:
                    tag_number = int(Tag(key.strip("()").replace(",", "")) if key.startswith("(") else Tag(key))
                except (ValueError, TypeError, OverflowError):
                    raise CaseError(f"{place}: '{key}' is neither a DICOM keyword nor a tag") from None
            if vr is None:
                try:
                    vr = dictionary_VR(tag_number).split(" or ")[0]
                except KeyError:
                    raise CaseError(f"{place}: give the VR of {key} ({{vr: XX, value: ...}})") from None
            if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
                items = []
                for i, item in enumerate(value):
                    ds_item = Dataset()
                    build(item, ds_item, f"{place}.{key}[{i}]")
                    items.append(ds_item)
                into.add_new(tag_number, "SQ", Sequence(items))
                continue
            if vr == "SQ":
                into.add_new(tag_number, "SQ", Sequence([]))
                continue
            if isinstance(value, (int, float)) and vr in ("DS", "IS", "CS", "LO", "SH", "UI", "DA", "TM", "DT", "PN"):
                value = str(value)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error")  # pydicom only warns about a value its VR cannot hold
                    into.add_new(tag_number, vr, value)
            except (ValueError, TypeError, OverflowError, UserWarning) as err:
                raise CaseError(f"{place}: cannot store the value of {key} as VR {vr} ({type(err).__name__})") from None

    ds = Dataset()
    build(description, ds, where)
    meta = FileMetaDataset()
    meta_desc = description.get("file_meta") or {}
    if not isinstance(meta_desc, Mapping):
        raise CaseError(f"{where}: 'file_meta' must be an object")
    build(meta_desc, meta, f"{where}.file_meta")
    if "TransferSyntaxUID" not in meta:
        meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"  # type: ignore[assignment]  # pydicom makes it a UID
    ds.file_meta = meta
    return ds


# --------------------------------------------------------------------------- running


def _programs(case: Case):
    from .. import api
    from ..privacy import profile
    from ..runtime import extras, keyed, keys

    paths: list[tuple[str, Path]] = []
    for name in case.options:
        try:
            paths.append((f"option:{name}", profile.option_recipe(name)))
        except KeyError:
            raise CaseError(f"'{case.path}': unknown or unbundled option '{name}'") from None
    paths += [(r, case.at(r)) for r in case.recipes]
    programs = []
    for shown, p in paths:
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise CaseError(f"cannot read recipe '{shown}': {getattr(err, 'strerror', None) or type(err).__name__}") from None
        try:
            programs.append(api.compile(text, path=shown, allow=case.allow))
        except RecipeError as err:  # refused as `deidc run` refuses it (errors, and findings that mean a line does nothing)
            first = err.refused[0]
            raise CaseError(f"recipe '{shown}' is refused: {len(err.refused)} finding(s), first at line {first.line}: {first.code} {first.message}") from None
    programs = extras.chain(programs)
    if keyed.needs_key(programs):
        if not case.key:
            raise CaseError(
                f"'{case.path}': the recipes use keyed functions (hashuid, hashid, dateshift, cleancontent, cleangraphics): give the case a 'key' (a secret for the tests only)"
            )
        try:
            key = keys.key_from_text(case.key, "the test case")
        except DeidlangError as err:
            raise CaseError(f"'{case.path}': {err}") from None
        programs = [keyed.bind(p, key) for p in programs]
    return programs


def _input(case: Case):
    if case.dataset is not None:
        return dataset_from(case.dataset, f"{case.path.name}: dataset"), "<dataset>"
    import pydicom

    p = case.at(case.input or "")
    try:
        ds = pydicom.dcmread(str(p))
        ds.walk(lambda _ds, _elem: None)  # read every element now: a damaged file fails here, by name
        return ds, case.input
    except Exception as err:  # noqa: BLE001 - any unreadable input is the case's problem, reported by name
        raise CaseError(f"cannot read input '{case.input}' as DICOM ({type(err).__name__})") from None


def actual_result(case: Case) -> dict:
    """What the recipes do to the case's input: ``deidc explain --format json --show-values``."""
    from ..lang.diagnostics import ApplyError
    from ..runtime import explain

    programs = _programs(case)
    ds, shown = _input(case)
    funcs = None
    if case.functions:
        from ..engine.inputs import load_functions
        from ..engine.job import BatchError

        try:
            funcs = load_functions(str(case.at(case.functions)))
        except BatchError as err:
            raise CaseError(str(err)) from None
    try:
        explanation = explain.explain(programs, ds, ids=dict(case.ids) if case.ids else None, funcs=funcs, path=shown, remove_private=case.remove_private)
    except ApplyError as err:
        raise CaseError(f"applying the recipes failed: {err.code} at {err.recipe}:{err.span.line if err.span else '?'}") from None
    except Exception as err:  # noqa: BLE001 - a damaged input: name the case, never quote its data
        raise CaseError(f"applying the recipes failed ({type(err).__name__})") from None
    return explain.to_dict(explanation, show_values=True)


def run_case(path: Path, *, update: bool = False, show_values: bool = False) -> Outcome:
    try:
        case = load_case(path)
    except CaseError as err:
        return Outcome(_broken(path), "error", reason=str(err))
    try:
        actual = actual_result(case)
    except CaseError as err:
        return Outcome(case, "error", reason=str(err))
    expected = None
    if case.expected.exists():
        try:
            expected = json.loads(case.expected.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            if not update:
                return Outcome(case, "error", actual, reason=f"cannot read the expected result '{case.expected.name}' ({type(err).__name__})")
    if expected == actual:
        return Outcome(case, "pass", actual)
    if update:
        return Outcome(case, "updated", actual)
    if expected is None:
        return Outcome(case, "fail", actual, reason=f"no expected result ({case.expected.name}): review the recipe's effect, then run with --update")
    return Outcome(case, "fail", actual, tuple(compare(expected, actual, show_values=show_values)))


def _broken(path: Path) -> Case:
    return Case(path, path.name, (), None, None, None, None, (), None, True, path)


def render_expected(actual: dict) -> str:
    return json.dumps(actual, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


# --------------------------------------------------------------------------- differences

_VALUE_KEYS = ("before", "after", "creator")


def _rule(r: Mapping | None) -> str:
    if not r:
        return "no line"
    return f"{r.get('recipe')}:{r.get('line')} `{r.get('text')}`"


def _show(key: str, value: Any) -> str:
    if key == "decided_by":
        return _rule(value)
    if key == "shadowed":
        return "[" + "; ".join(f"{_rule(s)}: {s.get('reason')}" for s in value or ()) + "]"
    return json.dumps(value, ensure_ascii=False)


def compare(expected: Mapping, actual: Mapping, *, show_values: bool = False) -> list[str]:
    """Readable differences, one line per element (values only with ``show_values``)."""
    out: list[str] = []
    exp = {e["element"]: e for e in expected.get("elements", ()) if isinstance(e, Mapping) and "element" in e}
    act = {e["element"]: e for e in actual.get("elements", ()) if isinstance(e, Mapping) and "element" in e}
    order = list(exp) + [k for k in act if k not in exp]
    for uid in order:
        e, a = exp.get(uid), act.get(uid)
        label = f"{uid} {(a or e or {}).get('path', '')}".rstrip()
        if a is None:
            out.append(f"{label}: expected {e.get('outcome')}, but the element is not in the result")  # type: ignore[union-attr]  # expected, as it is not found
            continue
        if e is None:
            out.append(f"{label}: not expected, but the result has it ({a.get('outcome')})")
            continue
        parts = []
        for key in dict.fromkeys([*e, *a]):
            if e.get(key) == a.get(key):
                continue
            if key in _VALUE_KEYS and not show_values:
                parts.append(f"{key} differs (--show-values prints the values)")
            else:
                parts.append(f"{key}: expected {_show(key, e.get(key))}, got {_show(key, a.get(key))}")
        if parts:
            out.append(f"{label}: " + "; ".join(parts))
    for key in dict.fromkeys([*expected, *actual]):
        if key in ("elements", "counts", "actions") or expected.get(key) == actual.get(key):
            continue
        out.append(f"{key}: expected {_show(key, expected.get(key))}, got {_show(key, actual.get(key))}")
    if not out and expected != actual:
        out.append("the results differ (compare the expected file with --update's output)")
    return out
