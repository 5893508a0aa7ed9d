"""deidlang against the real deid 0.4.13: same recipe, same file, same output.

Every recipe in ``tests/recipes/diff`` is applied by deid
(``replace_identifiers(..., save=False)``) and by deidlang
(``compile(...).apply(...)``) to fresh reads of every dataset of
``tests/corpus.py``. Both results are written to bytes and read back, then
compared element by element at every depth, file meta included.

Only recipes that ``deidlang.check`` passes without errors or warnings
promise identical results, so each recipe is also asserted lint-clean, unless
it declares the warnings it gets (``expect-warnings``): such a recipe shows a
difference that the checker flags, and it must get exactly those warnings.
Every recipe with a known difference (``differs``) must declare them, except
the few differences no checker can see (:data:`UNFLAGGABLE`).

Recipes carry directives in full-line comments (both parsers ignore them)::

    # diff: ids = {"newid": "ANON-1"}          variables, JSON
    # diff: funcs = const_name, generate_uid   functions from FUNCS below
    # diff: random = PatientID [0-9a-f-]{36}   value shape for random outputs
    # diff: datasets = S, numeric              only these datasets
    # diff: exclude = deep                     not these datasets
    # diff: flags = strip_sequences            replace_identifiers / apply flags
    # diff: config = {"get": ..., "put": ...}  deid's config.json (a file for both tools)
    # diff: deid-crashes = deep: reason        deid 0.4.13 raises on these (a finding)
    # diff: differs = BigEndian: reason         a known difference (strict xfail, with its judgement)
    # diff: expect-warnings = W408, W303        not lint-clean: exactly these warning codes

deid's own three recipes (their header parts, lines deidlang rejects
commented out) and the two example recipes of deid's docs are compared too.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pydicom
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402

import deidlang  # noqa: E402

pytestmark = [
    pytest.mark.differential,
    # pydicom's complaints about values already in the test files, or put there by deid
    pytest.mark.filterwarnings("ignore:Invalid value for VR:UserWarning"),
    pytest.mark.filterwarnings("ignore:The value length:UserWarning"),
]

os.environ.setdefault("MESSAGELEVEL", "-10")
deid_dicom = pytest.importorskip("deid.dicom")
deid_config = pytest.importorskip("deid.config")
import deid.logger  # noqa: E402

deid.logger.bot.level = -10  # importing deid.dicom.pixels raised it again

HERE = Path(__file__).resolve().parent
RECIPES = HERE / "recipes" / "diff"
DEID_DATA_DIR = Path(deid_config.__file__).resolve().parent.parent / "data"


# --------------------------------------------------------------------------- functions recipes may call


def _const_name(**kwargs: Any) -> str:
    return "Func^Name"


def _generate_uid(**kwargs: Any) -> str:
    """Deterministic: derived from the current value (REPLACE) or the field name (ADD)."""
    target = kwargs["field"]
    source = str(target.element.value) if hasattr(target, "element") else str(target)
    return pydicom.uid.generate_uid(prefix="1.2.826.0.1.3680043.10.543.", entropy_srcs=[source])


def _field_uid(**kwargs: Any) -> str:
    """The uid path of the field, so that outputs show which fields were visited."""
    return kwargs["field"].uid


def _field_name(**kwargs: Any) -> str:
    return kwargs["field"].name


def _ten_days(**kwargs: Any) -> int:
    return 10


def _add_comment(**kwargs: Any) -> str:
    return f"added to {kwargs['field']}"


def _is_nested(**kwargs: Any) -> bool:
    return "__" in kwargs["field"].uid


def _is_private(**kwargs: Any) -> bool:
    return bool(kwargs["field"].element.tag.is_private)


def _never(**kwargs: Any) -> bool:
    return False


def _value_upper(**kwargs: Any) -> str:
    return str(kwargs["field"].element.value).upper()


def _nothing(**kwargs: Any) -> None:
    return None


def _seventy_seven(**kwargs: Any) -> str:
    return "77"


FUNCS: dict[str, Callable[..., Any]] = {
    "const_name": _const_name,
    "generate_uid": _generate_uid,
    "field_uid": _field_uid,
    "field_name": _field_name,
    "ten_days": _ten_days,
    "add_comment": _add_comment,
    "is_nested": _is_nested,
    "is_private": _is_private,
    "never": _never,
    "value_upper": _value_upper,
    "nothing": _nothing,
    "seventy_seven": _seventy_seven,
}


# --------------------------------------------------------------------------- recipe specs


@dataclass
class Spec:
    name: str
    path: Path
    ids: dict = field(default_factory=dict)
    funcs: tuple[str, ...] = ()
    random: dict[str, str] = field(default_factory=dict)
    only: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    flags: dict[str, bool] = field(default_factory=dict)
    config: dict | None = None
    deid_crashes: dict[str, str] = field(default_factory=dict)
    differs: dict[str, str] = field(default_factory=dict)
    expect_warnings: tuple[str, ...] = ()
    lint: bool = True  # deid's shipped recipes are compared without the lint promise

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def datasets(self) -> list[str]:
        names = self.only if self.only is not None else corpus.DATASETS
        return [n for n in names if n not in self.exclude]


_DIRECTIVE = re.compile(r"^#\s*diff:\s*([a-z-]+)\s*=\s*(.*?)\s*$")


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def read_spec(path: Path, name: str | None = None, lint: bool = True) -> Spec:
    spec = Spec(name or path.stem, path, lint=lint)
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _DIRECTIVE.match(line.strip())
        if not m:
            continue
        key, value = m.groups()
        if key == "ids":
            spec.ids = json.loads(value)
        elif key == "funcs":
            spec.funcs = _names(value)
        elif key == "random":
            selector, _, rx = value.partition(" ")
            spec.random[selector] = rx.strip()
        elif key == "datasets":
            spec.only = _names(value)
        elif key == "exclude":
            spec.exclude = _names(value)
        elif key == "flags":
            spec.flags = {n: True for n in _names(value)}
        elif key == "config":
            spec.config = json.loads(value)
        elif key == "expect-warnings":
            spec.expect_warnings = _names(value)
        elif key in ("deid-crashes", "differs"):
            where, _, reason = value.partition(":")
            target = spec.deid_crashes if key == "deid-crashes" else spec.differs
            for n in _names(where):
                target[n] = reason.strip()
        else:  # pragma: no cover - a typo in a test recipe
            raise ValueError(f"{path.name}: unknown directive '{key}'")
    return spec


def _shipped_header(tag: str, folder: Path) -> Path:
    """deid's shipped recipe with the lines deidlang rejects commented out (written at test time)."""
    source = DEID_DATA_DIR / f"deid.{tag}"
    text = source.read_text(encoding="utf-8")
    bad = {d.line for d in deidlang.check(text, path=str(source)) if d.is_error}
    lines = [("# rejected by deidlang: " + line) if i in bad else line for i, line in enumerate(text.splitlines(), 1)]
    out = folder / f"deid.{tag}"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


SPECS: dict[str, Spec] = {p.stem: read_spec(p) for p in sorted(RECIPES.glob("*.dicom"))}

#: deid's shipped recipes: (tag, datasets); compared, but they are not lint-clean
SHIPPED: dict[str, tuple[str, ...]] = {
    "dicom": ("S", "deep", "text", "CT_small", "MR_small", "cookie1", "ctbrain1"),
    "dicom.ultrasound": ("S", "CT_small"),
    "dicom.xray.chest": ("S", "CT_small"),
}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def corpus_paths(tmp_path_factory) -> dict[str, str]:
    return corpus.materialize(tmp_path_factory.mktemp("corpus"), (*corpus.DATASETS, *corpus.OPT_IN_FILES))


@pytest.fixture(scope="session")
def shipped_specs(tmp_path_factory) -> dict[str, Spec]:
    folder = tmp_path_factory.mktemp("shipped")
    return {f"deid.{tag}": Spec(f"deid.{tag}", _shipped_header(tag, folder), only=datasets, lint=False) for tag, datasets in SHIPPED.items()}


_deid_recipes: dict[Path, Any] = {}
_programs: dict[Path, Any] = {}


def _deid_recipe(spec: Spec):
    if spec.path not in _deid_recipes:
        _deid_recipes[spec.path] = deid_config.DeidRecipe(str(spec.path))
    return _deid_recipes[spec.path]


def _program(spec: Spec):
    if spec.path not in _programs:
        # a recipe that shows a difference on purpose has the findings it declares: let exactly those through
        allow = True if not spec.lint else spec.expect_warnings
        _programs[spec.path] = deidlang.compile(spec.text, path=str(spec.path), allow=allow)
    return _programs[spec.path]


# --------------------------------------------------------------------------- running both


_config_files: dict[Path, str] = {}


def _config(spec: Spec) -> str | None:
    """The recipe's config as a JSON file (deid only reads files), written once."""
    if spec.config is None:
        return None
    if spec.path not in _config_files:
        import atexit
        import tempfile

        handle, name = tempfile.mkstemp(prefix=f"{spec.name}-", suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(spec.config, out)
        atexit.register(os.remove, name)
        _config_files[spec.path] = name
    return _config_files[spec.path]


def run_deid(spec: Spec, path: str):
    lookup = {**spec.ids, **{n: FUNCS[n] for n in spec.funcs}}
    ids = {os.path.abspath(path): lookup} if lookup else None
    return deid_dicom.replace_identifiers([path], deid=_deid_recipe(spec), ids=ids, save=False, config=_config(spec), **spec.flags)[0]


def run_deidlang(spec: Spec, path: str):
    ds = pydicom.dcmread(path, force=True)
    funcs = {n: FUNCS[n] for n in spec.funcs}
    return _program(spec).apply(ds, ids=dict(spec.ids), funcs=funcs, path=os.path.abspath(path), config=_config(spec), **spec.flags)


def _attempt(run: Callable, spec: Spec, path: str):
    try:
        return run(spec, path), None
    except (Exception, SystemExit) as err:  # noqa: BLE001 - a failure is a result here
        return None, err


def compare(spec: Spec, dataset: str, corpus_paths: dict[str, str]) -> None:
    """Run both; their outputs must be equal, or both must refuse the input.

    deid crashing where deidlang raises ApplyError counts as agreement (the
    dataset cannot be de-identified with this recipe); deid failing alone is
    a deid finding, listed in the recipe's ``deid-crashes`` directive.
    """
    if dataset not in corpus_paths:
        pytest.skip(f"dataset '{dataset}' is not installed")
    path = corpus_paths[dataset]
    ours, our_error = _attempt(run_deidlang, spec, path)
    theirs, their_error = _attempt(run_deid, spec, path)
    if our_error is not None:
        if their_error is not None and isinstance(our_error, deidlang.ApplyError):
            return  # both refuse this input: deid crashes, deidlang explains
        raise our_error
    if their_error is not None:
        if dataset in spec.deid_crashes:
            pytest.skip(f"deid 0.4.13 fails here ({type(their_error).__name__}): {spec.deid_crashes[dataset]}")
        raise AssertionError(f"deid 0.4.13 failed on {spec.name}[{dataset}]: {type(their_error).__name__}: {their_error}") from their_error
    assert dataset not in spec.deid_crashes, f"deid no longer fails on {spec.name}[{dataset}]: drop the directive"
    problems = corpus.compare_outputs(theirs, ours, spec.random)
    assert not problems, f"{spec.name}[{dataset}] differs:\n" + "\n".join(problems)


# --------------------------------------------------------------------------- tests


def _pairs() -> list:
    """Every (recipe, dataset); known differences are strict xfails that name their cause."""
    out = []
    for name, spec in SPECS.items():
        for ds in spec.datasets():
            marks = [pytest.mark.xfail(reason=spec.differs[ds], strict=True)] if ds in spec.differs else []
            out.append(pytest.param(name, ds, id=f"{name}[{ds}]", marks=marks))
    return out


#: Recipes whose known differences the checker cannot flag, and why.
UNFLAGGABLE: dict[str, str] = {
    "replace_func_numeric": "the type of a func: result is known only at run time",
}


@pytest.mark.parametrize("recipe", list(SPECS))
def test_recipe_is_lint_clean(recipe: str) -> None:
    """Only lint-clean recipes promise deid's results: no errors, no warnings.

    A recipe that declares ``expect-warnings`` must get exactly those warning
    codes (each at least once) and no error.
    """
    spec = SPECS[recipe]
    ids = {"<every file>": spec.ids} if spec.ids else None
    found = deidlang.check(spec.text, path=str(spec.path), ids=ids, functions=FUNCS if spec.funcs else None, deid_compat=True)
    loud = [d for d in found if d.severity in ("error", "warning")]
    shown = "\n".join(f"{d.line}:{d.column} {d.severity} {d.code} {d.message}" for d in loud)
    assert not [d for d in loud if d.is_error], shown
    assert {d.code for d in loud} == set(spec.expect_warnings), shown


@pytest.mark.parametrize("recipe", [n for n, s in SPECS.items() if s.differs])
def test_known_differences_are_flagged(recipe: str) -> None:
    """The promise: a recipe on which deid and deidlang differ is not lint-clean."""
    spec = SPECS[recipe]
    if recipe in UNFLAGGABLE:
        assert not spec.expect_warnings, f"{recipe} is flagged now: drop it from UNFLAGGABLE"
        return
    assert spec.expect_warnings, f"{recipe} differs from deid but declares no expect-warnings"


@pytest.mark.parametrize(("recipe", "dataset"), _pairs())
def test_same_output_as_deid(recipe: str, dataset: str, corpus_paths) -> None:
    compare(SPECS[recipe], dataset, corpus_paths)


@pytest.mark.parametrize(
    ("tag", "dataset"),
    [pytest.param(f"deid.{t}", d, id=f"deid.{t}[{d}]") for t, ds in SHIPPED.items() for d in ds],
)
def test_deid_shipped_recipes(tag: str, dataset: str, corpus_paths, shipped_specs) -> None:
    compare(shipped_specs[tag], dataset, corpus_paths)


def test_the_comparison_sees_differences(corpus_paths) -> None:
    """The harness must be able to fail: deid and deidlang on different recipes differ."""
    path = corpus_paths["S"]
    theirs = run_deid(SPECS["replace_basic"], path)
    ours = run_deidlang(SPECS["jitter_da"], path)
    problems = corpus.compare_outputs(theirs, ours)
    assert any("PatientName" in p for p in problems) and any("StudyDate" in p for p in problems)
    nested = run_deidlang(SPECS["replace_nested_keyword"], corpus_paths["deep"])
    plain = pydicom.dcmread(corpus_paths["deep"])
    assert any("PersonName" in p for p in corpus.compare_outputs(plain, nested))
    random = corpus.compare_outputs(plain, plain, {"PatientName": "[0-9]+"})
    assert any("does not match" in p for p in random)
