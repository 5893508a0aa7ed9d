"""``deidc lsp`` through the real protocol: a subprocess, JSON-RPC over its stdio
(tests/lsp_client.py), every wait bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("pygls")

import deidlang  # noqa: E402
from deidlang.lang.diagnostics import ERROR, INFO, WARNING  # noqa: E402
from deidlang.lang.source import Span  # noqa: E402
from deidlang.tools.fmt import format_text  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsp_client import Client, LspError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BROKEN = (ROOT / "examples" / "broken" / "broken.dicom").read_text()
RESEARCH = (ROOT / "examples" / "research-export.dicom").read_text()
DEMO = sorted((ROOT / "deidlang" / "data" / "demo").rglob("*.dcm"))


def deid_default() -> str:
    import deid

    return (Path(deid.__file__).parent / "data" / "deid.dicom").read_text()


def pos(line: int, character: int) -> dict:
    return {"line": line, "character": character}


def doc(uri: str) -> dict:
    return {"textDocument": {"uri": uri}}


def at(uri: str, line: int, character: int) -> dict:
    return {**doc(uri), "position": pos(line, character)}


def utf16_range(text: str, d: Span) -> dict:
    lines = text.split("\n")

    def ch(line, col):
        s = lines[line - 1] if line - 1 < len(lines) else ""
        return len(s[: col - 1].encode("utf-16-le")) // 2

    return {"start": pos(d.line - 1, ch(d.line, d.column)), "end": pos(d.end_line - 1, ch(d.end_line, d.end_column))}


SEVERITY = {ERROR: 1, WARNING: 2, INFO: 3}


def _check_has_compat_flag() -> bool:
    r = subprocess.run([sys.executable, "-m", "deidlang", "check", "--help"], capture_output=True, text=True, timeout=60)
    return "--deid-compat" in r.stdout


CHECK_HAS_COMPAT = _check_has_compat_flag()


def expected(text: str, *, deid_compat: bool, ids: dict | None = None, functions: str | None = None) -> list[dict]:
    """What `deidc check --format json [--deid-compat]` reports, in the protocol's terms.
    (A deidc check without --deid-compat shows every finding: the W4xx ones are then
    taken out for the default mode, as --deid-compat's absence will.)"""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recipe.dicom"
        path.write_bytes(text.encode("utf-8"))
        args = [sys.executable, "-m", "deidlang", "check", "--format", "json", "--exit-zero", str(path)]
        if ids is not None:
            (Path(tmp) / "ids.json").write_text(json.dumps(ids))
            args += ["--ids", str(Path(tmp) / "ids.json")]
        if functions is not None:
            args += ["--functions", functions]
        if deid_compat and CHECK_HAS_COMPAT:
            args.append("--deid-compat")
        r = subprocess.run(args, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        found = json.loads(r.stdout)
    out = []
    for d in found:
        if not deid_compat and not CHECK_HAS_COMPAT and d["code"].startswith("W4"):
            continue
        out.append(
            {
                "code": d["code"],
                "severity": SEVERITY[d["severity"]],
                "range": utf16_range(text, Span(d["line"], d["column"], d["end_line"], d["end_column"])),
                "message": d["message"] + (f"\nhelp: {d['hint']}" if d["hint"] else ""),
            }
        )
    return out


def shown(diags: list[dict]) -> list[dict]:
    return [{k: d[k] for k in ("code", "severity", "range", "message")} for d in diags]


@pytest.fixture
def client():
    with Client() as c:
        yield c


# --------------------------------------------------------------------------- diagnostics


@pytest.mark.parametrize("deid_compat", [False, True])
def test_diagnostics_are_deidc_checks(deid_compat):
    uri = "file:///tmp/recipe.dicom"
    with Client() as c:
        caps = c.initialize({"deidCompat": deid_compat})["capabilities"]
        assert caps["textDocumentSync"]["change"] == 1
        for text in (BROKEN, deid_default()):
            c.open(uri, text)
            got = c.diagnostics(uri, version=1)
            assert shown(got) == expected(text, deid_compat=deid_compat)
            assert all(d["source"] == "deidlang" and "diagnostics.md#" in d["codeDescription"]["href"] for d in got)
            c.notify("textDocument/didClose", doc(uri))
            assert c.diagnostics(uri) == []
    assert any(d["code"].startswith("W4") for d in expected(deid_default(), deid_compat=True))


def test_settings_initialization_change_and_pull(tmp_path):
    ids = tmp_path / "ids.json"
    ids.write_text(json.dumps({"/data/a.dcm": {"subject": "S1"}, "/data/b.dcm": {"subject": "S2", "days": 3}}))
    funcs = tmp_path / "funcs.py"
    funcs.write_text("def make_uid(item=None, value=None, field=None, dicom=None):\n    return '1.2.3'\n")
    (tmp_path / "sites.csv").write_text("site,name\nA,North\n")  # a lookup table (no line here looks it up)
    text = "FORMAT dicom\n\n%header\nREPLACE PatientID var:subject\nJITTER StudyDate var:days\nREPLACE SOPInstanceUID func:make_uid\nREPLACE StudyInstanceUID func:nope\n"
    uri = (tmp_path / "r.dicom").as_uri()
    with Client() as c:
        c.initialize({"deidlang": {"idsFile": "ids.json", "functionsFile": str(funcs), "tables": {"sites": "sites.csv"}}}, root=str(tmp_path))
        c.open(uri, text)
        got = c.diagnostics(uri, version=1)
        assert shown(got) == expected(text, deid_compat=False, ids=json.loads(ids.read_text()), functions=str(funcs))
        assert {d["code"] for d in got} >= {"E215", "E205"}
        # push: the settings in the notification
        c.notify("workspace/didChangeConfiguration", {"settings": {"deidlang": {"deidCompat": False}}})
        got = c.diagnostics(uri)
        assert shown(got) == expected(text, deid_compat=False)
        # pull: no settings in the notification, the server asks
        c.config_answer = {"functionsFile": str(funcs), "profile": "nonsense"}
        c.notify("workspace/didChangeConfiguration", {"settings": None})
        got = c.diagnostics(uri)
        assert shown(got) == expected(text, deid_compat=False, functions=str(funcs))
        assert any(r["method"] == "workspace/configuration" for r in c.server_requests)
        message = c.wait_for(lambda m: m.get("method") == "window/showMessage")
        assert "unknown profile 'nonsense'" in message["params"]["message"]
        # a bad ids file is a message, not a crash
        c.notify("workspace/didChangeConfiguration", {"settings": {"deidlang": {"idsFile": str(tmp_path / "missing.json")}}})
        message = c.wait_for(lambda m: m.get("method") == "window/showMessage")
        assert "idsFile" in message["params"]["message"]
        assert c.diagnostics(uri) is not None


def test_lookups_are_checked_against_the_tables_of_the_settings(tmp_path):
    from deidlang.lsp.analysis import Analysis
    from deidlang.lsp.settings import load

    (tmp_path / "subjects.csv").write_text("PatientID,subject_id\nP1,SUB-1\n")
    text = "FORMAT dicom\n\n%header\nREPLACE PatientID deid_func:lookup table=subjects key=PatientID column=subject_idd\n"
    settings = load({"deidlang": {"tables": {"subjects": "subjects.csv"}}}, root=str(tmp_path))
    assert settings.problems == ()
    assert [d.code for d in Analysis(text, "r.dicom", settings.options).diagnostics] == ["E218"]
    assert [d.code for d in Analysis(text, "r.dicom", load({}).options).diagnostics] == ["I202"]
    assert "deidlang.tables" in load({"tables": {"x": "missing.csv"}}, root=str(tmp_path)).problems[0]


def test_edits_and_rapid_edits(client):
    uri = "file:///tmp/edit.dicom"
    client.initialize()
    client.open(uri, "FORMAT dicom\n\n%header\nREMOVE PatientName\n")
    assert client.diagnostics(uri, version=1) == []
    client.change(uri, "FORMAT dicom\n\n%header\nREMOVE PatientNam\n", 2)
    assert [d["code"] for d in client.diagnostics(uri, version=2)] == ["E214"]
    text = deid_default()
    for v in range(3, 60):  # typing fast: every keystroke a full-text change
        client.change(uri, text[: len(text) * v // 60] + "\nBLNK X\n", v)
    client.change(uri, text + "\nBLNK X\n", 60)
    final = client.diagnostics(uri, version=60)
    assert shown(final) == expected(text + "\nBLNK X\n", deid_compat=False)
    published = [m["params"]["version"] for m in client.notifications if m.get("method") == "textDocument/publishDiagnostics"]
    assert len(published) < 57  # changes in quick succession were analysed once
    assert client.request("textDocument/documentSymbol", doc(uri))  # and it still answers


# --------------------------------------------------------------------------- completion, hover


def labels(result) -> list[str]:
    items = result["items"] if isinstance(result, dict) else result
    return [i["label"] for i in items]


def test_completion(tmp_path):
    ids = tmp_path / "ids.json"
    ids.write_text(json.dumps({"/a.dcm": {"subject": "S1", "days": 2}}))
    funcs = tmp_path / "f.py"
    funcs.write_text("def new_uid(item=None, value=None, field=None, dicom=None):\n    return None\n")
    text = (
        RESEARCH
        + "\n%header\nREMOVE Patie\nREPLACE PatientName \nREPLACE PatientID deid_func:hashid \nBLANK fields:\n\n%filter f\nLABEL x\n  contains Modality CT\n  + \n  \n"
    )
    lines = text.split("\n")
    n = {line: i for i, line in enumerate(lines)}
    uri = "file:///tmp/c.dicom"
    with Client() as c:
        c.initialize({"idsFile": str(ids), "functionsFile": str(funcs)})
        c.open(uri, text)
        c.diagnostics(uri)
        first = labels(c.request("textDocument/completion", at(uri, n["REMOVE Patie"], 0)))
        assert {"ADD", "BLANK", "JITTER", "KEEP", "REMOVE", "REPLACE", "%header", "%filter"} <= set(first)
        result = c.request("textDocument/completion", at(uri, n["REMOVE Patie"], len("REMOVE Patie")))
        items = {i["label"]: i for i in result["items"]}
        assert items["PatientName"]["detail"].startswith("(0010,0010) PN")
        assert "Patient's Name" in items["PatientName"]["detail"]
        assert items["PatientName"]["textEdit"]["range"] == {"start": pos(n["REMOVE Patie"], 7), "end": pos(n["REMOVE Patie"], 12)}
        assert "startswith:" in items and "ALL" in items
        values = labels(c.request("textDocument/completion", at(uri, n["REPLACE PatientName "], len("REPLACE PatientName "))))
        assert {"var:subject", "var:days", "func:new_uid", "deid_func:hashuid", "deid_func:jitter"} <= set(values)
        args = labels(c.request("textDocument/completion", at(uri, n["REPLACE PatientID deid_func:hashid "], len("REPLACE PatientID deid_func:hashid "))))
        assert args == ["length=", "prefix="]
        groups = labels(c.request("textDocument/completion", at(uri, n["BLANK fields:"], len("BLANK fields:"))))
        assert groups == ["fields:instance_uids"]
        after_op = labels(c.request("textDocument/completion", at(uri, n["  + "], 4)))
        assert after_op[:2] == ["contains", "notcontains"] and "missing" in after_op
        in_label = labels(c.request("textDocument/completion", at(uri, len(lines) - 2, 2)))
        assert {"contains", "missing", "coordinates", "LABEL", "+", "||"} <= set(in_label)
        assert labels(c.request("textDocument/completion", at(uri, 0, 7))) == ["dicom"]
        # a comment completes nothing
        assert labels(c.request("textDocument/completion", at(uri, 2, 5))) == []


def test_hover(tmp_path):
    text = "FORMAT dicom\n\n%header\nKEEP PatientName\nREMOVE startswith:Patient\nBLANK PatientName\nREPLACE StudyDate deid_func:dateshift\n"
    uri = "file:///tmp/h.dicom"
    with Client() as c:
        c.initialize({"profile": "basic", "sampleDicom": str(DEMO[0])})
        c.open(uri, text)
        c.diagnostics(uri)
        h = c.request("textDocument/hover", at(uri, 3, 8))["contents"]["value"]
        assert "**PatientName** (0010,0010)" in h and "VR `PN`" in h and "VM `1`" in h
        assert "Basic Profile: **Z**" in h
        h = c.request("textDocument/hover", at(uri, 4, 2))["contents"]["value"]
        assert "selects" in h and "PatientName" in h
        assert "line 4 `KEEP PatientName` keeps PatientName" in h
        assert "Sample ct-" in h and "PatientID: removed" in h
        assert "Doe" not in h and "Smith" not in h  # no element values
        h = c.request("textDocument/hover", at(uri, 6, 30))["contents"]["value"]
        assert "deid_func:dateshift" in h and "keyed" in h
        assert c.request("textDocument/hover", at(uri, 1, 0)) is None


# --------------------------------------------------------------------------- navigation, symbols, actions, formatting, tokens


def test_definition_references_symbols():
    uri = "file:///tmp/r.dicom"
    lines = RESEARCH.split("\n")
    use = next(i for i, line in enumerate(lines) if line.startswith("REMOVE values:names"))
    section = next(i for i, line in enumerate(lines) if line.startswith("%values names"))
    with Client() as c:
        c.initialize()
        c.open(uri, RESEARCH)
        c.diagnostics(uri)
        found = c.request("textDocument/definition", at(uri, use, 16))
        assert found == [{"uri": uri, "range": {"start": pos(section, 8), "end": pos(section, 13)}}]
        refs = c.request("textDocument/references", {**at(uri, section, 9), "context": {"includeDeclaration": True}})
        assert [r["range"]["start"]["line"] for r in refs] == [section, use]
        refs = c.request("textDocument/references", {**at(uri, section, 9), "context": {"includeDeclaration": False}})
        assert [r["range"] for r in refs] == [{"start": pos(use, 14), "end": pos(use, 19)}]
        assert c.request("textDocument/definition", at(uri, use, 2)) is None
        syms = c.request("textDocument/documentSymbol", doc(uri))
        names = [s["name"] for s in syms]
        assert names[:4] == ["FORMAT dicom", "%values names", "%fields instance_uids", "%header"]
        assert syms[1]["children"][0]["name"] == "SPLIT PatientName"
        filters = [s for s in syms if s["name"].startswith("%filter")]
        assert filters and all(k["detail"] == "LABEL" for s in filters for k in s["children"])


def test_code_actions_fix_what_they_say():
    uri = "file:///tmp/a.dicom"
    text = "%header\nBLNK PatientName\nREMOVE PatientsName\nREPLACE PatientID foo # keep\n"
    with Client() as c:
        c.initialize({"deidCompat": True})
        c.open(uri, text)
        c.diagnostics(uri)
        acts = c.request("textDocument/codeAction", {**doc(uri), "range": {"start": pos(0, 0), "end": pos(4, 0)}, "context": {"diagnostics": []}})
        titles = [a["title"] for a in acts]
        assert "Replace 'BLNK' with 'BLANK'" in titles
        assert "Replace 'PatientsName' with 'PatientName'" in titles
        assert "Add 'FORMAT dicom'" in titles
        assert "Move the comment to its own line" in titles
        for a in acts:
            (edit,) = a["edit"]["changes"][uri]
            fixed = apply_edit(text, edit)
            codes_before = {d.code for d in deidlang.check(text)}
            codes_after = [d.code for d in deidlang.check(fixed)]
            assert a["diagnostics"][0]["code"] not in codes_after or codes_after.count(a["diagnostics"][0]["code"]) < sum(
                1 for d in deidlang.check(text) if d.code == a["diagnostics"][0]["code"]
            ), (a["title"], fixed)
            assert sum(d.is_error for d in deidlang.check(fixed)) <= sum(d.is_error for d in deidlang.check(text)), codes_before
        assert next(a for a in acts if a["title"].startswith("Replace 'BLNK'"))["isPreferred"] is True


def apply_edit(text: str, edit: dict) -> str:
    lines = text.split("\n")

    def offset(p):
        return sum(len(line) + 1 for line in lines[: p["line"]]) + p["character"]

    start, end = offset(edit["range"]["start"]), offset(edit["range"]["end"])
    return text[:start] + edit["newText"] + text[end:]


def test_formatting_is_deidc_fmt():
    uri = "file:///tmp/f.dicom"
    text = "format dicom\n%header\n  remove    PatientName\n\n\n\nadd PatientIdentityRemoved YES\n"
    with Client() as c:
        c.initialize()
        c.open(uri, text)
        c.diagnostics(uri)
        (edit,) = c.request("textDocument/formatting", {**doc(uri), "options": {"tabSize": 2, "insertSpaces": True}})
        assert apply_edit(text, edit) == format_text(text)
        c.change(uri, format_text(text), 2)
        c.diagnostics(uri, version=2)
        assert c.request("textDocument/formatting", {**doc(uri), "options": {"tabSize": 2, "insertSpaces": True}}) in ([], None)


def decode_tokens(text: str, data: list[int], legend: list[str]) -> list[tuple[int, str, str]]:
    lines = text.split("\n")
    out, line, char = [], 0, 0
    for i in range(0, len(data), 5):
        dl, dc, length, kind, _mods = data[i : i + 5]
        line += dl
        char = dc if dl else char + dc
        out.append((line, lines[line][char : char + length], legend[kind]))
    return out


def test_semantic_tokens():
    uri = "file:///tmp/t.dicom"
    text = "FORMAT dicom\n%values names\nSPLIT PatientName by=^\n%header\nREPLACE PatientID var:id # note\nREMOVE startswith:Patient\nBLANK values:names\n%filter f\nLABEL Dose\n  contains Modality CT || missing (0008,0008)\n  coordinates 0,0,10,10\n"
    with Client() as c:
        legend = c.initialize()["capabilities"]["semanticTokensProvider"]["legend"]["tokenTypes"]
        c.open(uri, text)
        c.diagnostics(uri)
        data = c.request("textDocument/semanticTokens/full", doc(uri))["data"]
    toks = decode_tokens(text, data, legend)
    for expected_token in [
        (0, "FORMAT", "keyword"),
        (1, "%values", "namespace"),
        (1, "names", "type"),
        (2, "PatientName", "property"),
        (2, "by=^", "parameter"),
        (4, "var:id", "variable"),
        (4, "# note", "comment"),
        (5, "startswith:", "macro"),
        (5, "Patient", "regexp"),
        (6, "values:names", "type"),
        (8, "Dose", "class"),
        (9, "||", "operator"),
        (9, "CT", "regexp"),
        (9, "(0008,0008)", "number"),
        (10, "0,0,10,10", "number"),
    ]:
        assert expected_token in toks, expected_token


def test_positions_count_utf16_units():
    """A character outside the BMP is two UTF-16 units (the protocol's default), one code point."""
    uri = "file:///tmp/u.dicom"
    text = "FORMAT dicom\n%filter f\nLABEL x\n  contains SeriesDescription \U0001f600 || contains Modalty CT\n"
    with Client() as c:
        c.initialize()
        c.open(uri, text)
        got = c.diagnostics(uri)
        assert shown(got) == expected(text, deid_compat=False)
        (w,) = [d for d in got if "Modalty" in d["message"]]
        line = text.split("\n")[3]
        assert w["range"]["start"]["character"] == line.index("Modalty") + 1
        h = c.request("textDocument/hover", at(uri, 3, line.index("SeriesDescription") + 3))
        assert "(0008,103E)" in h["contents"]["value"]
    with Client() as c:
        assert c.initialize(encodings=["utf-32"])["capabilities"]["positionEncoding"] == "utf-32"
        c.open(uri, text)
        (w,) = [d for d in c.diagnostics(uri) if "Modalty" in d["message"]]
        assert w["range"]["start"]["character"] == line.index("Modalty")


# --------------------------------------------------------------------------- robustness


def test_malformed_input_huge_documents_and_junk_never_stop_it(tmp_path):
    uri = "file:///tmp/junk.dicom"
    with Client() as c:
        c.initialize()
        c.send_raw(b"Content-Length: 12\r\n\r\n{not json!!}")
        c.send({"jsonrpc": "2.0", "id": 999, "method": "textDocument/hover", "params": {"bogus": 1}})
        c.notify("textDocument/didChange", {"textDocument": {"uri": "file:///never-opened", "version": 3}, "contentChanges": [{"text": "x"}]})
        with pytest.raises(LspError):
            c.request("no/suchMethod", {}, timeout=10)
        junk = "".join(chr(i) for i in range(1, 0x3000, 7)) + "\x00\ufeff\r\r\n%header\r\n\u2028REMOVE \udcff\n"
        c.open(uri, junk)
        c.diagnostics(uri)
        for method in ("textDocument/hover", "textDocument/completion", "textDocument/definition"):
            for line, ch in ((0, 0), (1, 10_000), (10_000, 5), (2, 3)):
                c.request(method, at(uri, line, ch))
        c.request("textDocument/codeAction", {**doc(uri), "range": {"start": pos(0, 0), "end": pos(99, 0)}, "context": {"diagnostics": []}})
        c.request("textDocument/semanticTokens/full", doc(uri))
        c.request("textDocument/formatting", {**doc(uri), "options": {"tabSize": 2, "insertSpaces": True}})
        c.request("textDocument/documentSymbol", doc(uri))
        huge = deid_default() * 25  # ~22,000 lines
        c.change(uri, huge, 2)
        got = c.diagnostics(uri, version=2, timeout=120)
        assert len(got) > 100
        c.change(uri, "FORMAT dicom\n%header\nREMOVE PatientName\n", 3)
        assert c.diagnostics(uri, version=3, timeout=60) == []
        assert c.request("textDocument/hover", at(uri, 2, 9))["contents"]["value"].startswith("**PatientName**")
        assert c.close() == 0


def test_missing_extra_message(tmp_path):
    """Without pygls, `deidc lsp` says which extra to install (exit 2), never a traceback."""
    import subprocess

    shadow = tmp_path / "shadow"
    (shadow / "pygls").mkdir(parents=True)
    (shadow / "pygls" / "__init__.py").write_text("raise ImportError('no pygls here', name='pygls')\n")
    r = subprocess.run(
        [sys.executable, "-m", "deidlang", "lsp"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(shadow)},
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 2 and "pip install '.[lsp]' in a deidlang checkout" in r.stderr


def test_hover_with_a_sample_never_shows_its_values(tmp_path):
    from canary import build_corpus, find_markers, recipe_keywords

    text = (ROOT / "deidlang" / "data" / "default.dicom").read_text()
    corpus = build_corpus(tmp_path / "in", keywords=recipe_keywords(text), files=1)
    uri = (tmp_path / "default.dicom").as_uri()
    lines = text.split("\n")
    targets = [i for i, line in enumerate(lines) if line.startswith(("REMOVE ", "REPLACE ", "BLANK ", "KEEP ", "ADD "))][::8]
    with Client() as c:
        c.initialize({"sampleDicom": str(tmp_path / "in" / corpus.files[0]), "profile": "basic"})
        c.open(uri, text)
        c.diagnostics(uri)
        seen = []
        for i in targets:
            h = c.request("textDocument/hover", at(uri, i, 1))
            if h is not None:
                seen.append(h["contents"]["value"])
    joined = "\n".join(seen)
    assert "Sample canary-01.dcm" in joined and ": removed" in joined
    assert find_markers(joined, corpus.strong_texts) == []


def test_a_functions_file_that_prints_cannot_break_the_protocol(tmp_path):
    funcs = tmp_path / "noisy.py"
    funcs.write_text(
        "print('Content-Length: 5\\r\\n\\r\\nhello')\n\ndef make_uid(item=None, value=None, field=None, dicom=None):\n    print('called')\n    return '1.2.3'\n"
    )
    uri = "file:///tmp/noisy.dicom"
    with Client() as c:
        c.initialize({"functionsFile": str(funcs), "sampleDicom": str(DEMO[0])})
        c.open(uri, "FORMAT dicom\n\n%header\nREPLACE SOPInstanceUID func:make_uid\n")
        assert c.diagnostics(uri) == []
        h = c.request("textDocument/hover", at(uri, 3, 2))["contents"]["value"]
        assert "SOPInstanceUID: changed" in h
        assert c.close() == 0
    assert b"Content-Length: 5" in b"".join(c.stderr_lines)
