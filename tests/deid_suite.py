"""Run deid's own test suite against ``deidlang.compat`` (the drop-in promise).

deid's test files are used at test time only, from where they are found
(:func:`find_suite`); nothing of deid is copied into this project. They are
copied into a temporary folder laid out like deid's checkout
(``deid/tests/...``, ``examples/...``), their ``from deid... import`` and
``import deid...`` statements are rewritten by :data:`MODULES` and
:data:`NAMES` (the documented mapping, docs/compat.md "deid's test suite"),
and they run with pytest in a subprocess in which importing ``deid`` fails,
so that no test can reach the real deid by a path the mapping missed.

Each test ends as one of: ``passed``, ``failed`` (an assertion or an error
of the code under test), ``cannot-run`` (an import the mapping sends to a
module deidlang.compat does not have, or a name it lacks), ``skipped``.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

#: deid's module -> the module that stands in for it
MODULES: dict[str, str] = {
    "deid.config": "deidlang.compat",
    "deid.data": "deidlang.compat",
    "deid.dicom": "deidlang.compat",
    "deid.dicom.fields": "deidlang.compat.lookup",
    "deid.dicom.header": "deidlang.compat.header",
    "deid.dicom.parser": "deidlang.compat.parser",
    "deid.dicom.pixels": "deidlang.compat.pixels",
    "deid.dicom.tags": "deidlang.compat.tags",
    "deid.dicom.utils": "deidlang.compat.dicom_utils",
    "deid.utils": "deidlang.compat.utils",
    "deid.tests.common": "common",  # deid's own test helpers, copied beside the tests
}

#: (deid's module, name) -> (module, name) where the module-level rule does not fit
NAMES: dict[tuple[str, str], tuple[str, str]] = {
    ("deid.dicom", "utils"): ("deidlang.compat", "dicom_utils"),
    ("deid.dicom.fields", "DicomField"): ("deidlang.compat", "DicomField"),
    # deid's tests find their resources (tests/resources, ../examples) beside deid's
    # package: here, beside the copied tests
    ("deid.utils", "get_installdir"): ("deid_suite_support", "get_installdir"),
}

#: the package a module deidlang.compat has no equivalent of is sent to (it does not exist)
UNMAPPED = "deidlang_compat_has_no"

SUPPORT = '''"""Written by deidlang's tests/deid_suite.py: what the rewritten imports need besides deidlang.compat."""
import os


def get_installdir():
    """The copied suite's 'deid' folder (it holds tests/ and resources, as deid's package does)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
'''

CONFTEST = '''"""Written by deidlang's tests/deid_suite.py: importing deid fails in this run."""
import importlib.abc
import sys


class _NoDeid(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "deid" or name.startswith("deid."):
            raise ImportError(f"{name}: deid itself is not used when its tests run against deidlang.compat")
        return None


sys.meta_path.insert(0, _NoDeid())
for _name in [n for n in sys.modules if n == "deid" or n.startswith("deid.")]:
    del sys.modules[_name]
'''


class RewriteError(ValueError):
    """A deid import statement the rewriter cannot place (shares its line with other code)."""


# --------------------------------------------------------------------------- rewriting


def _target(module: str) -> str:
    return MODULES.get(module) or f"{UNMAPPED}.{module.replace('.', '_')}"


def _from_lines(node: ast.ImportFrom) -> list[str]:
    """The statements that replace ``from deid.X import a, b as c``, one per target module."""
    module = node.module or ""
    groups: dict[str, list[str]] = {}
    for alias in node.names:
        if alias.name == "*":
            groups.setdefault(_target(module), []).append("*")
            continue
        target_module, target_name = NAMES.get((module, alias.name), (_target(module), alias.name))
        bound = alias.asname or alias.name
        groups.setdefault(target_module, []).append(target_name if target_name == bound else f"{target_name} as {bound}")
    return [f"from {m} import {', '.join(names)}" for m, names in groups.items()]


def _import_lines(node: ast.Import) -> list[str]:
    out = []
    for alias in node.names:
        if alias.name == "deid" or alias.name.startswith("deid."):
            if alias.asname is None:
                # 'import deid.dicom' binds 'deid': keep the name bound, to the stand-in module
                raise RewriteError(f"'import {alias.name}' without 'as' cannot be pointed at deidlang.compat")
            out.append(f"import {_target(alias.name)} as {alias.asname}")
        else:
            out.append(f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else ""))
    return out


def _is_deid(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level == 0 and bool(node.module) and (node.module == "deid" or node.module.startswith("deid."))
    if isinstance(node, ast.Import):
        return any(a.name == "deid" or a.name.startswith("deid.") for a in node.names)
    return False


def rewrite(source: str) -> str:
    """``source`` with every deid import statement pointed at deidlang.compat (or at
    :data:`UNMAPPED` where there is no equivalent). Other lines are kept byte for byte."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    edits = []
    for node in ast.walk(tree):
        if not _is_deid(node):
            continue
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        indent = lines[first][: node.col_offset]
        if lines[first][: node.col_offset].strip() or lines[last][node.end_col_offset :].strip().lstrip(";").strip():
            raise RewriteError(f"line {node.lineno}: the import shares its line with other code")
        new = _from_lines(node) if isinstance(node, ast.ImportFrom) else _import_lines(node)
        ending = "\n" if lines[last].endswith("\n") else ""
        edits.append((first, last, "".join(f"{indent}{s}\n" for s in new).rstrip("\n") + ending))
    for first, last, text in sorted(edits, reverse=True):
        lines[first : last + 1] = [text]
    return "".join(lines)


# --------------------------------------------------------------------------- locating and laying out


def find_suite() -> tuple[Path | None, str]:
    """(deid's tests folder, where it was found), or (None, why not).

    Looked for, in order: ``$DEIDLANG_DEID_SUITE`` (a deid source checkout, or
    its ``deid/tests`` folder), then ``tests`` inside the installed deid
    package. deid's wheel and sdist on PyPI do not ship the tests (the sdist's
    MANIFEST.in prunes ``deid/tests``), so a plain ``pip install deid`` has none.
    """
    given = os.environ.get("DEIDLANG_DEID_SUITE")
    if given:
        base = Path(given)
        for candidate in (base / "deid" / "tests", base):
            if (candidate / "common.py").is_file() or any(candidate.glob("test_*.py")):
                return candidate.resolve(), f"$DEIDLANG_DEID_SUITE ({given})"
        return None, f"$DEIDLANG_DEID_SUITE={given} holds no deid test files (deid/tests/test_*.py)"
    try:
        import importlib.util

        spec = importlib.util.find_spec("deid")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        installed = Path(list(spec.submodule_search_locations)[0]) / "tests"
        if any(installed.glob("test_*.py")):
            return installed.resolve(), "the installed deid package"
    return None, (
        "deid's test files are not available: the installed deid (wheel) and its sdist do not ship deid/tests; "
        "set DEIDLANG_DEID_SUITE to a checkout of deid 0.4.13 (git tag 0.4.13)"
    )


def suite_version(tests: Path) -> str | None:
    """The version of the deid checkout ``tests`` belongs to (deid/version.py), when it is there."""
    version = tests.parent / "version.py"
    if not version.is_file():
        return None
    m = re.search(r"""__version__\s*=\s*["']([^"']+)["']""", version.read_text(encoding="utf-8"))
    return m.group(1) if m else None


def lay_out(tests: Path, folder: Path) -> Path:
    """Copy deid's tests (and the checkout's ``examples``) into ``folder``, rewritten.

    Returns the copied tests folder (``folder/deid/tests``).
    """
    out = folder / "deid" / "tests"
    shutil.copytree(tests, out, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "__init__.py"))
    examples = tests.parent.parent / "examples"
    if examples.is_dir():
        shutil.copytree(examples, folder / "examples", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for path in out.rglob("*.py"):
        path.write_text(rewrite(path.read_text(encoding="utf-8")), encoding="utf-8")
    (out / "deid_suite_support.py").write_text(SUPPORT, encoding="utf-8")
    (out / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    return out


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Outcome:
    test: str  # file::Class::test, relative to the tests folder
    status: str  # passed | failed | cannot-run | skipped
    detail: str = ""  # the first line of the failure


_CANNOT_RUN = re.compile(
    rf"(No module named '({UNMAPPED}|deidlang\.compat)|cannot import name '[^']+' from '(deidlang\.compat|deid_suite_support|common)"
    r"|deidlang\.compat[\w.]*' has no attribute|'(DicomParser|FieldsWithLookups)' object has no attribute)"
)


def _status(case: ET.Element) -> tuple[str, str]:
    for kind in ("failure", "error"):
        found = case.find(kind)
        if found is not None:
            text = (found.get("message") or "") + "\n" + (found.text or "")
            detail = (found.get("message") or "").splitlines()[0] if found.get("message") else ""
            return ("cannot-run" if _CANNOT_RUN.search(text) else "failed"), detail
    if case.find("skipped") is not None:
        return "skipped", (case.find("skipped").get("message") or "")  # type: ignore[union-attr]
    return "passed", ""


def run(tests: Path, folder: Path, *, timeout: float = 1800) -> list[Outcome]:
    """Lay the suite out in ``folder``, run it, and return one Outcome per test (and per
    file that could not be collected, named by the file)."""
    copied = lay_out(tests, folder)
    report = folder / "junit.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["MESSAGELEVEL"] = "-10"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "--continue-on-collection-errors",
            f"--rootdir={copied}",
            "-o",
            "junit_family=xunit1",
            f"--junitxml={report}",
            str(copied),
        ],
        cwd=copied,
        env=env,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if not report.is_file():
        raise RuntimeError("pytest wrote no report for deid's suite")
    outcomes = []
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name") or ""
        classname = case.get("classname") or ""
        test = _node(classname, name, case.get("file"))
        status, detail = _status(case)
        outcomes.append(Outcome(test, status, detail))
    return outcomes


def _node(classname: str, name: str, file: str | None) -> str:
    """``test_x.py::TestX::test_y`` from junit's dotted class name."""
    parts = classname.split(".") if classname else []
    module = [p for p in parts if p.startswith("test_") or p == "common"]
    if module:
        i = parts.index(module[0])
        return "::".join([f"{'/'.join(parts[: i + 1])}.py", *parts[i + 1 :], name])
    return f"{file or classname}::{name}"


def summary(outcomes: list[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    return counts
