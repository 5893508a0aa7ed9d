"""Every recipe of the corpus parses and checks exactly as it did: node for node, span
for span, diagnostic for diagnostic.

Two independent references:

* lark alone: each line parsed by the grammar (no fast path), assembled the same way;
  the trees, spans and syntax diagnostics must equal ``parse``'s;
* a stored record (``tests/snapshots/parse_corpus.json``), written by the code before
  the parser and the checker were made faster: per recipe, the SHA-256 of the JSON
  serialization of its parse (the tree with every span, the line nodes, the syntax
  diagnostics) and, in full, ``check``'s diagnostics with the deid notes. A change to
  what a recipe parses or checks to fails here; when such a change is meant, rewrite
  the file with ``python -m tests.test_parse_corpus --update`` and review its diff.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import sys
from pathlib import Path

import attrs
import pytest

import deidlang
from deidlang.lang import parser
from deidlang.lang.diagnostics import Diagnostic
from deidlang.lang.source import Source, Span

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SNAPSHOT = HERE / "snapshots" / "parse_corpus.json"


def corpus() -> dict[str, Path]:
    """name -> path of every recipe: the tests', the examples', the bundled ones, deid's own."""
    found: dict[str, Path] = {}
    for base, pattern in ((HERE / "recipes", "**/*.dicom"), (ROOT / "examples", "**/*.dicom"), (ROOT / "deidlang" / "data", "**/*.dicom")):
        for p in sorted(glob.glob(str(base / pattern), recursive=True)):
            found[os.path.relpath(p, ROOT)] = Path(p)
    try:
        import deid
    except ImportError:  # pragma: no cover - deid is a test dependency
        return found
    for p in sorted(glob.glob(os.path.join(os.path.dirname(deid.__file__), "data", "deid.*"))):
        found[f"deid:{os.path.basename(p)}"] = Path(p)
    return found


def serialize(obj):
    """A node tree as JSON values: the class name, every field, spans as lists."""
    if isinstance(obj, Span):
        return list(obj)
    if isinstance(obj, Diagnostic):
        return attrs.asdict(obj)
    if attrs.has(type(obj)):
        out = {"_": type(obj).__name__}
        for f in attrs.fields(type(obj)):
            out[f.name] = serialize(getattr(obj, f.name))
        return out
    if isinstance(obj, (tuple, list)):
        return [serialize(x) for x in obj]
    assert obj is None or isinstance(obj, (str, int, bool)), type(obj)
    return obj


def describe(name: str, text: str) -> dict:
    """What the snapshot records of one recipe."""
    result = parser.parse(text, path=name)
    tree = {"recipe": serialize(result.recipe), "items": serialize(result.items), "syntax": serialize(result.diagnostics)}
    canonical = json.dumps(tree, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    check = deidlang.check(text, path=name, deid_compat=True)
    assert all(d.file == name for d in check)
    return {
        "parse_sha256": hashlib.sha256(canonical.encode("ascii")).hexdigest(),
        "check": [[d.line, d.column, d.end_line, d.end_column, d.severity, d.code, d.message, d.hint] for d in check],
    }


def lark_only(text: str, name: str) -> parser.ParseResult:
    """``parser.parse`` without its fast path: every line through the grammar."""
    source = Source(text, name)
    lines = source.lines
    diags: list[Diagnostic] = []
    items = []
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped[0] == "#":
            continue
        node = parser._parse_line(line, number, lines, name, diags)
        if node is not None:
            items.append(node)
    recipe = parser._assemble(items, name, diags, len(lines))
    diags.sort(key=Diagnostic.sort_key)
    return parser.ParseResult(recipe, tuple(diags), source, tuple(items))


CORPUS = corpus()


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_parse_equals_lark_alone(name):
    text = CORPUS[name].read_text(encoding="utf-8")
    fast = parser.parse(text, path=name)
    slow = lark_only(text, name)
    assert serialize(fast.recipe) == serialize(slow.recipe)
    assert serialize(fast.items) == serialize(slow.items)
    assert fast.diagnostics == slow.diagnostics
    assert fast == slow


def test_plans_of_earlier_parses_build_the_same_trees():
    """A line's plan is kept across parses (parser._PLANS): every recipe parses to the
    same tree, spans and diagnostics whether its lines were seen before or not."""
    texts = {name: path.read_text(encoding="utf-8") for name, path in CORPUS.items()}
    fresh = {}
    for name, text in texts.items():
        parser.forget_lines()
        fresh[name] = parser.parse(text, path=name)
    for name, text in texts.items():  # every line's plan now made by some earlier parse
        again = parser.parse(text, path=name)
        assert serialize(again.recipe) == serialize(fresh[name].recipe), name
        assert serialize(again.items) == serialize(fresh[name].items), name
        assert again.diagnostics == fresh[name].diagnostics, name


def test_plans_are_bounded(monkeypatch):
    monkeypatch.setattr(parser, "PLAN_LIMIT", 10)
    parser.forget_lines()
    parser.parse("%header\n" + "".join(f"REMOVE Keyword{i}\n" for i in range(50)))
    assert len(parser._PLANS) == 52  # and the empty line after the last line break
    parser.parse("%header\nREMOVE PatientName\n")  # over the limit: emptied first
    assert len(parser._PLANS) == 3


@pytest.fixture(scope="module")
def snapshot() -> dict:
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def test_snapshot_covers_the_corpus(snapshot):
    assert sorted(snapshot) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_parse_and_check_unchanged(name, snapshot):
    text = CORPUS[name].read_text(encoding="utf-8")
    now = describe(name, text)
    then = snapshot[name]
    assert now["check"] == then["check"], f"{name}: check's diagnostics changed"
    assert now["parse_sha256"] == then["parse_sha256"], f"{name}: the parse changed (test_parse_equals_lark_alone shows where, if lark disagrees)"


def _update() -> None:
    """One recipe per block, one diagnostic per line, so that a change reads as a diff."""
    out = ["{"]
    names = sorted(CORPUS)
    for i, name in enumerate(names):
        entry = describe(name, CORPUS[name].read_text(encoding="utf-8"))
        rows = ",\n".join("   " + json.dumps(r, ensure_ascii=False) for r in entry["check"])
        out.append(f" {json.dumps(name)}: {{")
        out.append(f'  "parse_sha256": {json.dumps(entry["parse_sha256"])},')
        out.append('  "check": [' + ("\n" + rows + "\n  " if rows else "") + "]")
        out.append(" }" + ("," if i < len(names) - 1 else ""))
    out.append("}")
    SNAPSHOT.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"wrote {SNAPSHOT} ({len(names)} recipes)")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python -m tests.test_parse_corpus --update")
    _update()
