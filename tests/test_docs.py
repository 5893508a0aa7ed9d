"""Documentation that is generated or promised stays in step with the code."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_diagnostics_doc_is_current():
    tool = _load_tool("gen_diagnostics_doc")
    assert (ROOT / "docs" / "diagnostics.md").read_text() == tool.render(), "run: python docs/gen_diagnostics_doc.py"


def test_every_emitted_code_is_in_the_table():
    from deidlang.lang.diagnostics import CODES

    used = set()
    for path in (ROOT / "deidlang").rglob("*.py"):
        used |= set(re.findall(r'"([EWR][0-9]{3})"', path.read_text()))
    assert used <= set(CODES), sorted(used - set(CODES))
