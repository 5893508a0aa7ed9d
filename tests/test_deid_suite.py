"""deid's own test suite, pointed at deidlang.compat (tests/deid_suite.py runs it).

``test_deid_suite`` runs deid's test files, found where :func:`deid_suite.find_suite`
looks (``$DEIDLANG_DEID_SUITE``: a deid 0.4.13 checkout; or ``tests`` in the
installed deid, which PyPI's wheel and sdist do not ship), and asserts the
outcome: every test passes except the documented differences below, each of
which must fail (strict), and no test is left unable to run because
deidlang.compat lacks what deid's tests import. The other tests here check
the harness itself (the import rewriting and the classification) on a small
suite written here, and always run.
"""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deid_suite  # noqa: E402

#: deid's tests that fail against deidlang.compat on purpose, and why (docs/compat.md)
DOCUMENTED: dict[str, str] = {
    "test_utils.py::TestUtils::test_recursive_find": (
        "counts deid's three bundled recipes (deid.dicom*) under deid's package folder; "
        "get_installdir() is the copied suite's folder here, and deidlang ships its own recipes"
    ),
}


# --------------------------------------------------------------------------- rewriting


def test_rewrite_points_deid_imports_at_deidlang_compat():
    source = textwrap.dedent(
        """\
        import os
        from deid.config import DeidRecipe
        from deid.dicom import replace_identifiers, utils
        from deid.dicom.parser import DicomParser
        from deid.utils import get_installdir, get_temporary_name
        from deid.tests.common import (
            create_recipe,
            get_file,
        )
        import deid.dicom.utils as dutils
        from deid_data import something  # not deid


        def test_x():
            from deid.dicom.tags import get_tag
            from deid.dicom.actions import jitter_timestamp as jt
            return os, get_tag, jt
        """
    )
    assert deid_suite.rewrite(source) == textwrap.dedent(
        """\
        import os
        from deidlang.compat import DeidRecipe
        from deidlang.compat import replace_identifiers, dicom_utils as utils
        from deidlang.compat.parser import DicomParser
        from deid_suite_support import get_installdir
        from deidlang.compat.utils import get_temporary_name
        from common import create_recipe, get_file
        import deidlang.compat.dicom_utils as dutils
        from deid_data import something  # not deid


        def test_x():
            from deidlang.compat.tags import get_tag
            from deidlang_compat_has_no.deid_dicom_actions import jitter_timestamp as jt
            return os, get_tag, jt
        """
    )


def test_rewrite_refuses_what_it_cannot_place():
    with pytest.raises(deid_suite.RewriteError):
        deid_suite.rewrite("import deid.dicom\n")
    with pytest.raises(deid_suite.RewriteError):
        deid_suite.rewrite("x = 1; from deid.dicom import get_files\n")


@pytest.mark.parametrize("module", sorted({m for m in deid_suite.MODULES.values() if m != "common"}))
def test_every_stand_in_module_exists(module):
    importlib.import_module(module)


@pytest.mark.parametrize(("source", "target"), sorted(deid_suite.NAMES.items()))
def test_every_stand_in_name_exists(source, target):
    module, name = target
    if module == "deid_suite_support":
        namespace: dict = {}
        exec(compile(deid_suite.SUPPORT, "deid_suite_support", "exec"), namespace)  # the harness's own text
        assert callable(namespace[name])
        return
    assert hasattr(importlib.import_module(module), name)


# --------------------------------------------------------------------------- the harness on a suite of its own


MINI_COMMON = """\
from deid.config import DeidRecipe


def create_recipe(actions):
    recipe = DeidRecipe()
    del recipe.deid["header"][:]
    recipe.deid["header"] = actions
    return recipe
"""

MINI_TESTS = """\
import importlib
import os

from deid.dicom.parser import DicomParser
from deid.tests.common import create_recipe
from deid.utils import get_installdir


def test_parser_runs_on_deidlang(tmp_path):
    from pydicom.data import get_testdata_file

    recipe = create_recipe([{"action": "REPLACE", "field": "PatientName", "value": "ANON"}])
    parser = DicomParser(get_testdata_file("CT_small.dcm"), recipe=recipe)
    parser.parse()
    assert str(parser.dicom.PatientName) == "ANON"
    assert type(parser).__module__ == "deidlang.compat.parser"


def test_resources_are_beside_the_tests():
    assert os.path.isdir(os.path.join(get_installdir(), "tests", "resources"))


def test_fails_on_purpose():
    assert 1 == 2


def test_needs_what_compat_lacks():
    from deid.dicom.actions import jitter_timestamp

    assert jitter_timestamp


def test_needs_a_name_compat_lacks():
    from deid.dicom.fields import expand_field_expression

    assert expand_field_expression


def test_cannot_reach_deid():
    importlib.import_module("deid.dicom")
"""


def _mini_suite(folder: Path) -> Path:
    tests = folder / "deid" / "tests"
    (tests / "resources").mkdir(parents=True)
    (tests / "resources" / "remove_all.dicom").write_text("FORMAT dicom\n", encoding="utf-8")
    (tests / "__init__.py").write_text("", encoding="utf-8")
    (tests / "common.py").write_text(MINI_COMMON, encoding="utf-8")
    (tests / "test_mini.py").write_text(MINI_TESTS, encoding="utf-8")
    (tests / "test_broken.py").write_text("from deid.dicom.groups import extract_values_list\n\n\ndef test_never_collected():\n    pass\n", encoding="utf-8")
    return tests


def test_harness_classifies_each_test(tmp_path):
    tests = _mini_suite(tmp_path / "source")
    outcomes = {o.test: o for o in deid_suite.run(tests, tmp_path / "run", timeout=300)}
    status = {t: o.status for t, o in outcomes.items()}
    assert status == {
        "test_mini.py::test_parser_runs_on_deidlang": "passed",
        "test_mini.py::test_resources_are_beside_the_tests": "passed",
        "test_mini.py::test_fails_on_purpose": "failed",
        "test_mini.py::test_needs_what_compat_lacks": "cannot-run",
        "test_mini.py::test_needs_a_name_compat_lacks": "cannot-run",
        "test_mini.py::test_cannot_reach_deid": "failed",
        "test_broken.py::test_broken": "cannot-run",  # a file that cannot be imported: one outcome, named by the file
    }, outcomes
    assert "deid itself is not used" in outcomes["test_mini.py::test_cannot_reach_deid"].detail
    # the source is never changed
    assert "from deid.dicom.parser import DicomParser" in (tests / "test_mini.py").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- deid's suite


@pytest.mark.differential
def test_deid_suite(tmp_path):
    tests, where = deid_suite.find_suite()
    if tests is None:
        pytest.skip(where)
    version = deid_suite.suite_version(tests)
    assert version in (None, "0.4.13"), f"deid's tests from {where} are those of deid {version}, not 0.4.13"
    outcomes = deid_suite.run(tests, tmp_path)
    assert outcomes, f"no test of deid's suite ran ({where})"
    by_test = {o.test: o for o in outcomes}
    cannot = [o for o in outcomes if o.status == "cannot-run"]
    unexpected = [o for o in outcomes if o.status == "failed" and o.test not in DOCUMENTED]
    now_passing = [t for t in DOCUMENTED if t in by_test and by_test[t].status == "passed"]
    lines = [f"deid's suite from {where}: {deid_suite.summary(outcomes)}"]
    lines += [f"cannot run: {o.test}: {o.detail}" for o in cannot]
    lines += [f"fails, not documented: {o.test}: {o.detail}" for o in unexpected]
    lines += [f"documented as failing but passes (drop it from DOCUMENTED): {t}" for t in now_passing]
    assert not (cannot or unexpected or now_passing), "\n".join(lines)
    if version == "0.4.13":  # the whole suite of a checkout: every documented test is in it
        missing = [t for t in DOCUMENTED if t not in by_test]
        assert not missing, f"DOCUMENTED names tests deid 0.4.13 does not have: {missing}"


def test_find_suite_explains_itself(monkeypatch, tmp_path):
    monkeypatch.setenv("DEIDLANG_DEID_SUITE", str(tmp_path))
    found, why = deid_suite.find_suite()
    assert found is None and "holds no deid test files" in why
    _mini_suite(tmp_path)
    found, why = deid_suite.find_suite()
    assert found == (tmp_path / "deid" / "tests").resolve() and "DEIDLANG_DEID_SUITE" in why
    monkeypatch.delenv("DEIDLANG_DEID_SUITE")
    found, why = deid_suite.find_suite()
    if found is None:
        assert "DEIDLANG_DEID_SUITE" in why and "do not ship" in why
    assert os.environ.get("DEIDLANG_DEID_SUITE") is None
