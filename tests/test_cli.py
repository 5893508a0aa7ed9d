"""The deidc command line: exit codes, streams, and the file handling of `deidc run`.

Most `run` tests use a tiny fake Program (the contract of deidlang.compile's
result: ``apply(ds, ids=, funcs=, *, path=, remove_private=)``) so that they
pin the CLI's own behaviour: mirroring, atomic writes, skipping, failures,
ids matching, process pool. ``TestRealRuntime`` runs the real compiler and
runtime on the bundled demo data and default recipe.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import attrs
import pydicom
import pytest
from pydicom.dataset import FileMetaDataset

import deidlang
from deidlang import api, cli, engine
from deidlang.cli import common, identifiers
from deidlang.cli import run as cli_run
from deidlang.lang.diagnostics import ApplyError, Diagnostic
from deidlang.lang.source import Span

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BROKEN = EXAMPLES / "broken" / "broken.dicom"
DEMO_FILES = 10

CLEAN_RECIPE = "FORMAT dicom\n\n%header\nREMOVE PatientAddress\nADD PatientIdentityRemoved YES\n"


# --------------------------------------------------------------------------- helpers


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


#: The run manifest deidc writes next to the outputs (deidlang.engine; tests/test_batch.py checks it).
MANIFEST_FILES = {"deidlang-manifest.json", "deidlang-manifest.jsonl"}


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` (the run manifest aside) -> its SHA-256."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file() and p.name not in MANIFEST_FILES
    }


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "clean.dicom"
    path.write_text(CLEAN_RECIPE, encoding="utf-8")
    return path


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A temporary copy of the bundled demo data (10 files in 6 directories)."""
    target = tmp_path / "scans"
    shutil.copytree(cli.DEMO_DIR, target)
    return target


@attrs.frozen
class FakeProgram:
    """Stands in for a compiled Program: deterministic, picklable, records its calls."""

    name: str
    fail_on: str = ""

    def apply(self, ds, ids=None, funcs=None, *, path=None, remove_private=False, strip_sequences=False, disable_skip=False):
        CALLS.append({"program": self.name, "path": path, "ids": ids, "funcs": funcs, "remove_private": remove_private})
        if self.fail_on and path and path.endswith(self.fail_on):
            raise ApplyError("function 'boom' raised ValueError", code="R001", recipe=self.name, span=Span(4, 8, 4, 22), path=path)
        if "PatientAddress" in ds:
            del ds.PatientAddress
        ds.PatientName = ""
        ds.PatientIdentityRemoved = "YES"
        if remove_private:
            ds.remove_private_tags()
        return ds


CALLS: list[dict] = []


@attrs.frozen
class _FuncProgram:
    """Calls the user's function 'tag_it' (importable by reference, so it also pickles under spawn)."""

    def apply(self, ds, ids=None, funcs=None, *, path=None, remove_private=False, **kwargs):
        ds.PatientComments = funcs["tag_it"]()
        return ds


@pytest.fixture
def fake(monkeypatch):
    """Make `deidc run` compile every recipe to a FakeProgram."""
    CALLS.clear()
    made: list[FakeProgram] = []

    def compile_(text, path):
        program = FakeProgram(path, fail_on=os.environ.get("FAKE_FAIL_ON", ""))
        made.append(program)
        return program

    monkeypatch.setattr(common, "compile_vetted", compile_)
    return made


# =========================================================================== check


class TestCheck:
    def test_clean_recipe_exits_0(self, capsys, recipe):
        code, out, err = run(capsys, "check", recipe)
        assert (code, out, err) == (0, "No problems found in 1 recipe.\n", "")

    def test_errors_exit_1_and_go_to_stdout(self, capsys):
        code, out, err = run(capsys, "check", BROKEN)
        assert code == 1
        assert err == ""
        assert f"error[E101]: unknown action or statement 'BLNK'\n --> {BROKEN}:5:1\n" in out
        assert "\x1b[" not in out  # capsys is not a terminal: no colour
        assert out.rstrip().splitlines()[-1].startswith("Found ")

    def test_broken_example_has_at_least_four_errors(self, capsys):
        code, out, _ = run(capsys, "check", "--format", "json", BROKEN)
        errors = [d for d in json.loads(out) if d["severity"] == "error"]
        assert code == 1
        assert {d["line"] for d in errors} >= {5, 6, 9, 10}
        assert any(d["line"] == 8 for d in json.loads(out))  # REMOVE PatientsName is reported too
        assert len(errors) >= 4, [d["code"] for d in errors]

    def test_examples_glob_is_clean(self, capsys):
        """The README's main command: `deidc check examples/*.dicom` (broken.dicom is not matched)."""
        recipes = sorted(EXAMPLES.glob("*.dicom"))
        assert len(recipes) >= 3 and BROKEN not in recipes
        code, out, _ = run(capsys, "check", *recipes)
        assert code == 0, out

    def test_exit_zero(self, capsys):
        code, out, _ = run(capsys, "check", "--exit-zero", BROKEN)
        assert code == 0 and "error[E101]" in out

    def test_strict_makes_warnings_fail(self, capsys, recipe, monkeypatch):
        warning = Diagnostic.at(Span(4, 8, 4, 22), "W202", "keyword 'x' not in canonical case", file=str(recipe))
        monkeypatch.setattr(api, "check", lambda *a, **k: [warning])
        code, out, _ = run(capsys, "check", recipe)
        assert code == 0 and "warning[W202]" in out and "Found 1 warning in 1 recipe." in out
        assert run(capsys, "check", "--strict", recipe)[0] == 1
        assert run(capsys, "check", "--strict", "--exit-zero", recipe)[0] == 0

    def test_missing_recipe_exits_2(self, capsys, tmp_path):
        code, out, err = run(capsys, "check", tmp_path / "nope.dicom")
        assert code == 2 and out == ""
        assert f"deidc: error: cannot read recipe '{tmp_path / 'nope.dicom'}': No such file or directory" in err

    def test_recipe_not_utf8_exits_2(self, capsys, tmp_path):
        path = tmp_path / "latin1.dicom"
        path.write_bytes(b"%header\nADD PatientComments caf\xe9\n")
        code, _, err = run(capsys, "check", path)
        assert code == 2 and "not UTF-8" in err

    @pytest.mark.parametrize(
        "content, message",
        [
            ("{not json", "invalid JSON at line 1 column 2"),
            ('["a", "b"]', "expected a JSON object mapping file paths to objects"),
            ('{"/a.dcm": 3}', "expected a JSON object mapping file paths to objects"),
        ],
    )
    def test_bad_ids_file_exits_2(self, capsys, recipe, tmp_path, content, message):
        ids = tmp_path / "ids.json"
        ids.write_text(content, encoding="utf-8")
        code, out, err = run(capsys, "check", "--ids", ids, recipe)
        assert code == 2 and out == "" and message in err

    def test_missing_ids_file_exits_2(self, capsys, recipe, tmp_path):
        code, _, err = run(capsys, "check", "--ids", tmp_path / "none.json", recipe)
        assert code == 2 and "cannot read ids file" in err

    def test_ids_and_functions_reach_the_checker(self, capsys, recipe, tmp_path, monkeypatch):
        seen = {}

        def check(text, *, path=None, ids=None, functions=None, deid_compat=False):
            seen.update(path=path, ids=ids, functions=functions)
            return []

        monkeypatch.setattr(api, "check", check)
        ids = tmp_path / "ids.json"
        ids.write_text('{"/data/1.dcm": {"id": "SUB-1"}}', encoding="utf-8")
        funcs = tmp_path / "funcs.py"
        funcs.write_text(
            "import os\nfrom pydicom.uid import generate_uid\n"
            "def new_id(item=None, value=None, field=None, dicom=None):\n    return 'x'\n"
            "def _helper():\n    pass\nclass NotAFunction:\n    pass\nLIMIT = 3\n",
            encoding="utf-8",
        )
        assert run(capsys, "check", "--ids", ids, "--functions", funcs, recipe)[0] == 0
        assert seen == {"path": str(recipe), "ids": {"/data/1.dcm": {"id": "SUB-1"}}, "functions": ["generate_uid", "new_id"]}

    def test_functions_file_respects_all(self, tmp_path):
        funcs = tmp_path / "funcs.py"
        funcs.write_text("__all__ = ['a']\ndef a(**k): pass\ndef b(**k): pass\n", encoding="utf-8")
        assert list(common.load_functions(str(funcs))) == ["a"]

    def test_functions_file_that_raises_exits_2(self, capsys, recipe, tmp_path):
        funcs = tmp_path / "funcs.py"
        funcs.write_text("raise RuntimeError('no database')\n", encoding="utf-8")
        code, _, err = run(capsys, "check", "--functions", funcs, recipe)
        assert code == 2 and "cannot load functions file" in err and "RuntimeError: no database" in err

    def test_json_is_one_array_for_several_recipes(self, capsys, recipe):
        code, out, _ = run(capsys, "check", "--format", "json", recipe, BROKEN, BROKEN)
        data = json.loads(out)
        assert code == 1 and isinstance(data, list) and data
        assert {d["file"] for d in data} == {str(BROKEN)}
        assert all(list(d) == [f.name for f in attrs.fields(Diagnostic)] for d in data)

    def test_json_clean_is_empty_array(self, capsys, recipe):
        assert run(capsys, "check", "--format", "json", recipe)[:2] == (0, "[]\n")

    def test_sarif_is_one_run(self, capsys, recipe):
        code, out, _ = run(capsys, "check", "--format", "sarif", recipe, BROKEN)
        log = json.loads(out)
        assert code == 1 and log["version"] == "2.1.0" and len(log["runs"]) == 1
        assert log["runs"][0]["tool"]["driver"]["version"] == deidlang.__version__
        assert any(r["ruleId"] == "E101" for r in log["runs"][0]["results"])

    def test_concise(self, capsys):
        code, out, _ = run(capsys, "check", "--format", "concise", BROKEN)
        assert code == 1
        assert f"{BROKEN}:5:1: E101 unknown action or statement 'BLNK'; did you mean 'BLANK'?\n" in out

    def test_internal_error_is_a_bug_with_exit_2(self, capsys, recipe, monkeypatch):
        def explode(*a, **k):
            raise RuntimeError("boom")

        monkeypatch.setattr(api, "check", explode)
        monkeypatch.delenv("DEIDLANG_TRACEBACK", raising=False)
        code, out, err = run(capsys, "check", recipe)
        assert code == 2 and out == ""
        assert "Traceback" in err and "builtins.RuntimeError: (message withheld" in err and "this is a bug in deidc" in err
        assert "RuntimeError: boom" not in err and "in explode" in err  # where it happened, not what it said (it may quote data)
        monkeypatch.setenv("DEIDLANG_TRACEBACK", "full")
        code, out, err = run(capsys, "check", recipe)
        assert code == 2 and "RuntimeError: boom" in err

    def test_internal_error_chain_is_shown_without_messages(self, capsys, recipe, monkeypatch):
        name, pid = "^".join(["DOE", "JANE"]), "-".join(["PATIENT", "7"])  # not in the source lines shown

        def explode(*a, **k):
            try:
                raise KeyError(pid)
            except KeyError as inner:
                raise ValueError(name) from inner

        monkeypatch.setattr(api, "check", explode)
        monkeypatch.delenv("DEIDLANG_TRACEBACK", raising=False)
        code, _, err = run(capsys, "check", recipe)
        assert code == 2 and "PATIENT-7" not in err and "DOE^JANE" not in err
        assert err.index("builtins.KeyError") < err.index("direct cause") < err.index("builtins.ValueError")


class TestUsage:
    @pytest.mark.parametrize(
        "argv",
        [
            [],
            ["check"],
            ["check", "--format", "xml", "r.dicom"],
            ["run", "--jobs", "0"],
            ["run", "--jobs", "x"],
            ["frobnicate"],
            ["run", "--keep-private", "--remove-private"],
            ["identifiers"],
        ],
    )
    def test_usage_errors_exit_2(self, capsys, argv):
        assert cli.main(argv) == 2

    def test_version(self, capsys):
        assert run(capsys, "--version") == (0, f"deidc {deidlang.__version__}\n", "")
        assert run(capsys, "version") == (0, f"deidc {deidlang.__version__}\n", "")

    def test_help_exits_0(self, capsys):
        code, out, _ = run(capsys, "run", "--help")
        assert code == 0 and "--keep-private" in out

    def test_python_m_deidlang(self):
        proc = subprocess.run([sys.executable, "-m", "deidlang", "--version"], capture_output=True, text=True, check=False)
        assert (proc.returncode, proc.stdout) == (0, f"deidc {deidlang.__version__}\n")

    def test_colour_only_on_a_terminal_without_no_color(self, monkeypatch):
        class Tty(io.StringIO):
            def isatty(self):
                return True

        monkeypatch.delenv("NO_COLOR", raising=False)
        monkeypatch.delenv("TERM", raising=False)
        assert common.want_color(Tty()) is True
        assert common.want_color(io.StringIO()) is False
        monkeypatch.setenv("NO_COLOR", "1")
        assert common.want_color(Tty()) is False


# =========================================================================== run (fake program)


class TestRun:
    def test_mirrors_the_tree_and_leaves_inputs_alone(self, capsys, fake, demo, recipe, tmp_path):
        before = tree_digest(demo)
        out_dir = tmp_path / "out"
        code, out, err = run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", out_dir, "--jobs", "1")
        assert code == 0, err
        assert tree_digest(demo) == before  # inputs byte-identical
        written = sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file() and p.name not in MANIFEST_FILES)
        assert written == sorted(before)  # same relative paths, nothing else (no temporaries)
        assert {p.name for p in out_dir.iterdir() if p.is_file()} == MANIFEST_FILES
        assert f"output: {out_dir}" in out
        assert f"{DEMO_FILES} files processed: {DEMO_FILES} written, 0 skipped, 0 failed" in out
        # per file: PatientAddress and 4 private elements removed, PatientName changed, one element added
        assert "top-level elements in written files: 50 removed, 10 changed, 10 added" in out
        ds = pydicom.dcmread(out_dir / "patient-001" / "ct-chest" / "ct-001.dcm")
        assert ds.PatientIdentityRemoved == "YES" and "PatientAddress" not in ds
        assert not any(e.tag.is_private for e in ds)  # private elements removed by default

    def test_summary_never_quotes_values(self, capsys, fake, demo, recipe, tmp_path):
        code, out, err = run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", tmp_path / "o", "--jobs", "1")
        assert code == 0
        assert "ORCHARD" not in out + err and "Quarry" not in out + err
        assert "elements removed" in out

    def test_default_recipe_and_demo_data(self, capsys, fake, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        code, out, _ = run(capsys, "run", "--jobs", "1")
        assert code == 0
        assert [p.name for p in fake] == [str(cli.DEFAULT_RECIPE)]
        assert len(list((tmp_path / "deidlang-output").rglob("*.dcm"))) == DEMO_FILES
        assert "recipe: deidlang default recipe" in out and "input: demo data shipped with deidlang" in out
        assert CALLS[0]["path"] == os.path.join("patient-001", "ct-chest", "ct-001.dcm")

    def test_existing_outputs_are_kept_unless_overwrite(self, capsys, fake, demo, recipe, tmp_path):
        out_dir = tmp_path / "out"
        target = out_dir / "patient-003" / "cr-knee" / "cr-001.dcm"
        target.parent.mkdir(parents=True)
        target.write_bytes(b"keep me")
        code, out, _ = run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", out_dir, "--jobs", "1")
        assert code == 0
        assert target.read_bytes() == b"keep me"
        assert f"{DEMO_FILES} files processed: {DEMO_FILES - 1} written, 1 skipped, 0 failed" in out
        assert "use --overwrite" in out
        code, out, _ = run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", out_dir, "--overwrite", "--jobs", "1")
        assert code == 0 and target.read_bytes()[128:132] == b"DICM"
        assert f"{DEMO_FILES} written, 0 skipped" in out

    def test_non_dicom_file_is_reported_and_the_batch_goes_on(self, capsys, fake, demo, recipe, tmp_path):
        (demo / "patient-002" / "notes.txt").write_text("not an image\n", encoding="utf-8")
        out_dir = tmp_path / "out"
        code, out, err = run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", out_dir, "--jobs", "1")
        assert code == 1
        bad = os.path.join(str(demo), "patient-002", "notes.txt")
        assert f"deidc: failed: {bad}: not a DICOM file" in err
        assert f"{DEMO_FILES + 1} files processed: {DEMO_FILES} written, 0 skipped, 1 failed" in out
        assert len(list(out_dir.rglob("*.dcm"))) == DEMO_FILES
        assert not (out_dir / "patient-002" / "notes.txt").exists()

    def test_force_reads_files_without_preamble(self, capsys, fake, tmp_path, recipe):
        src = tmp_path / "in"
        src.mkdir()
        ds = pydicom.dcmread(cli.DEMO_DIR / "patient-003" / "cr-knee" / "cr-001.dcm")
        ds.file_meta = FileMetaDataset()  # a bare dataset: no preamble, no 'DICM', no file meta
        ds.preamble = None
        ds.save_as(src / "raw.dcm", implicit_vr=True, little_endian=True)
        code, _, err = run(capsys, "run", "--recipe", recipe, "--input", src, "--output", tmp_path / "o1", "--jobs", "1")
        assert code == 1 and "not a DICOM file (no DICOM preamble; --force reads it anyway)" in err
        assert run(capsys, "run", "--recipe", recipe, "--input", src, "--output", tmp_path / "o2", "--jobs", "1", "--force")[0] == 0

    def test_apply_error_fails_that_file_only(self, capsys, fake, demo, recipe, tmp_path, monkeypatch):
        monkeypatch.setenv("FAKE_FAIL_ON", "us-002.dcm")
        code, out, err = run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", tmp_path / "o", "--jobs", "1")
        assert code == 1
        assert "us-002.dcm: " in err and "R001 function 'boom' raised ValueError" in err
        assert f"{DEMO_FILES - 1} written, 0 skipped, 1 failed" in out
        assert not list((tmp_path / "o").rglob("us-002.dcm"))

    def test_apply_error_shows_the_recipe_line_once(self, capsys, fake, demo, recipe, tmp_path, monkeypatch):
        monkeypatch.setenv("FAKE_FAIL_ON", "001.dcm")  # six files
        code, out, err = run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", tmp_path / "o", "--jobs", "1")
        assert code == 1 and "4 written, 0 skipped, 6 failed" in out
        assert err.count("deidc: failed: ") == 6
        assert err.count(f"error[R001]: function 'boom' raised ValueError\n --> {recipe}:4:8\n") == 1
        assert "4 | REMOVE PatientAddress\n  |        ^^^^^^^^^^^^^^\n" in err
        first = os.path.join(str(demo), "patient-001", "ct-chest", "ct-001.dcm")
        assert f"= help: while applying to {first}" in err

    def test_unexpected_exception_in_apply_fails_the_file(self, capsys, fake, demo, recipe, tmp_path, monkeypatch):
        def apply(self, ds, **kwargs):
            raise KeyError("(0010,0010) ORCHARD")

        monkeypatch.setattr(FakeProgram, "apply", apply)
        code, out, err = run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", tmp_path / "o", "--jobs", "1")
        assert code == 1 and "internal error while applying the recipe (KeyError)" in err
        assert "ORCHARD" not in err

    def test_recipe_with_errors_touches_nothing(self, capsys, fake, demo, tmp_path):
        out_dir = tmp_path / "out"
        code, out, err = run(capsys, "run", "--recipe", BROKEN, "--input", demo, "--output", out_dir)
        assert code == 1
        assert "error[E101]" in err and "no file was read or written" in err
        assert not out_dir.exists() and fake == [] and CALLS == []

    def test_strict_refuses_warnings(self, capsys, fake, demo, recipe, tmp_path, monkeypatch):
        warning = Diagnostic.at(Span(4, 8, 4, 22), "W202", "w", file=str(recipe))
        monkeypatch.setattr(api, "check", lambda *a, **k: [warning])
        out_dir = tmp_path / "out"
        code, _, err = run(capsys, "run", "--strict", "--recipe", recipe, "--input", demo, "--output", out_dir)
        assert code == 1 and "warning[W202]" in err and not out_dir.exists()
        code, _, err = run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", out_dir, "--jobs", "1")
        assert code == 0 and "warning[W202]" in err

    def test_jobs_2_gives_the_same_bytes_as_jobs_1(self, capsys, fake, demo, recipe, tmp_path):
        for jobs in ("1", "2"):
            code, out, err = run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", tmp_path / f"j{jobs}", "--jobs", jobs)
            assert code == 0, err
            assert f"{DEMO_FILES} written" in out
        assert tree_digest(tmp_path / "j1") == tree_digest(tmp_path / "j2")
        assert len(tree_digest(tmp_path / "j2")) == DEMO_FILES

    @pytest.mark.parametrize("start_method", ["fork", "spawn"])
    def test_pool_workers_get_programs_and_functions(self, capsys, demo, tmp_path, monkeypatch, start_method):
        """Under spawn nothing is inherited: programs travel through the initializer and
        the functions file is executed in each worker."""
        import multiprocessing

        if start_method not in multiprocessing.get_all_start_methods():
            pytest.skip(f"no {start_method} start method on this platform")
        monkeypatch.setattr(cli_run, "_START_METHOD", start_method)
        funcs = tmp_path / "funcs.py"
        funcs.write_text("def tag_it(item=None, value=None, field=None, dicom=None):\n    return 'TAGGED'\n", encoding="utf-8")
        tasks = [engine.Task(str(p), str(tmp_path / "o" / p.name), p.name) for p in sorted(demo.rglob("ct-*.dcm"))]
        program = _FuncProgram()
        results = list(cli_run.execute(tasks, [program], common.load_functions(str(funcs)), str(funcs), engine.Options(), 2))
        assert [r.status for r in results] == ["written"] * 3, [r.reason for r in results]
        assert {pydicom.dcmread(tmp_path / "o" / p.name).PatientComments for p in demo.rglob("ct-*.dcm")} == {"TAGGED"}

    def test_jobs_2_reports_failures(self, capsys, fake, demo, recipe, tmp_path):
        (demo / "junk.dcm").write_bytes(b"\x00" * 10)
        code, out, err = run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", tmp_path / "o", "--jobs", "2")
        assert code == 1 and "junk.dcm: not a DICOM file" in err
        assert f"{DEMO_FILES} written, 0 skipped, 1 failed" in out

    def test_several_recipes_apply_in_order(self, capsys, fake, demo, recipe, tmp_path):
        second = tmp_path / "second.dicom"
        second.write_text(CLEAN_RECIPE, encoding="utf-8")
        single = demo / "patient-003" / "cr-knee" / "cr-001.dcm"
        code, *_ = run(capsys, "run", "--recipe", recipe, "--recipe", second, "--input", single, "--output", tmp_path / "o")
        assert code == 0
        assert [c["program"] for c in CALLS] == [str(recipe), str(second)]

    def test_keep_private(self, capsys, fake, demo, recipe, tmp_path):
        single = demo / "patient-003" / "cr-knee" / "cr-001.dcm"
        out_dir = tmp_path / "o"
        assert run(capsys, "run", "--keep-private", "--recipe", recipe, "--input", single, "--output", out_dir)[0] == 0
        assert CALLS[-1]["remove_private"] is False
        assert any(e.tag.is_private for e in pydicom.dcmread(out_dir / "cr-001.dcm"))

    def test_ids_match_by_absolute_given_or_relative_path(self, capsys, fake, demo, recipe, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        ids = {
            str(demo / "patient-001" / "ct-chest" / "ct-001.dcm"): {"id": "by-absolute"},
            os.path.join("scans", "patient-001", "mr-brain", "mr-001.dcm"): {"id": "by-given"},
            os.path.join(".", "patient-003", "mr-knee", "mr-001.dcm"): {"id": "by-relative"},
        }
        (tmp_path / "ids.json").write_text(json.dumps(ids), encoding="utf-8")
        code, _, err = run(capsys, "run", "--recipe", recipe, "--input", "scans", "--output", "out", "--ids", "ids.json", "--jobs", "1")
        assert code == 0
        got = {c["path"]: c["ids"] for c in CALLS}
        assert got[os.path.join("scans", "patient-001", "ct-chest", "ct-001.dcm")] == {"id": "by-absolute"}
        assert got[os.path.join("scans", "patient-001", "mr-brain", "mr-001.dcm")] == {"id": "by-given"}
        assert got[os.path.join("scans", "patient-003", "mr-knee", "mr-001.dcm")] == {"id": "by-relative"}
        assert got[os.path.join("scans", "patient-002", "sc-report", "ot-001.dcm")] == {}
        assert f"note: {DEMO_FILES - 3} of {DEMO_FILES} files have no entry in the ids file" in err

    def test_functions_are_passed_to_apply(self, capsys, fake, demo, recipe, tmp_path):
        funcs = tmp_path / "funcs.py"
        funcs.write_text("def new_uid(item=None, value=None, field=None, dicom=None):\n    return '1.2.3'\n", encoding="utf-8")
        single = demo / "patient-003" / "cr-knee" / "cr-001.dcm"
        assert run(capsys, "run", "--recipe", recipe, "--functions", funcs, "--input", single, "--output", tmp_path / "o")[0] == 0
        assert list(CALLS[-1]["funcs"]) == ["new_uid"] and CALLS[-1]["funcs"]["new_uid"]() == "1.2.3"

    def test_names_never_collide(self, capsys, fake, demo, recipe, tmp_path):
        a = tmp_path / "a" / "scans"
        b = tmp_path / "b" / "scans"
        shutil.copytree(demo / "patient-003", a)
        shutil.copytree(demo / "patient-003", b)
        out_dir = tmp_path / "out"
        code, *_ = run(
            capsys,
            "run",
            "--recipe",
            recipe,
            "--input",
            a,
            "--input",
            b,
            "--input",
            a / "cr-knee" / "cr-001.dcm",
            "--input",
            b / "mr-knee" / "mr-001.dcm",
            "--output",
            out_dir,
        )
        assert code == 0
        written = sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*.dcm"))
        assert written == sorted(
            os.path.join(*parts)
            for parts in [
                ("scans", "cr-knee", "cr-001.dcm"),
                ("scans", "mr-knee", "mr-001.dcm"),
                ("scans-2", "cr-knee", "cr-001.dcm"),
                ("scans-2", "mr-knee", "mr-001.dcm"),
            ]
        )  # the two single files were already covered by their directories

    def test_same_basename_files_get_distinct_names(self, capsys, fake, demo, recipe, tmp_path):
        one = demo / "patient-001" / "mr-brain" / "mr-001.dcm"
        two = demo / "patient-003" / "mr-knee" / "mr-001.dcm"
        out_dir = tmp_path / "out"
        assert run(capsys, "run", "--recipe", recipe, "--input", one, "--input", two, "--output", out_dir)[0] == 0
        assert sorted(p.name for p in out_dir.iterdir() if p.name not in MANIFEST_FILES) == ["mr-001-2.dcm", "mr-001.dcm"]

    def test_output_inside_input_is_not_read_back(self, capsys, fake, demo, recipe):
        out_dir = demo / "deidentified"
        for _ in range(2):
            code, out, _ = run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", out_dir, "--overwrite", "--jobs", "1")
            assert code == 0 and f"{DEMO_FILES} files processed" in out

    def test_output_equal_to_input_is_refused(self, capsys, fake, demo, recipe):
        before = tree_digest(demo)
        code, _, err = run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", demo)
        assert code == 2 and "is the input" in err
        assert tree_digest(demo) == before

    def test_output_that_is_a_file_is_refused(self, capsys, fake, demo, recipe, tmp_path):
        (tmp_path / "out").write_text("x", encoding="utf-8")
        code, _, err = run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", tmp_path / "out")
        assert code == 2 and "is not a directory" in err

    def test_missing_input_exits_1_and_writes_nothing(self, capsys, fake, recipe, tmp_path):
        code, _, err = run(capsys, "run", "--recipe", recipe, "--input", tmp_path / "nothing", "--output", tmp_path / "o")
        assert code == 1 and "does not exist" in err and "nothing was written" in err
        assert not (tmp_path / "o").exists()

    def test_missing_recipe_exits_2(self, capsys, fake, tmp_path):
        code, _, err = run(capsys, "run", "--recipe", tmp_path / "nope.dicom", "--output", tmp_path / "o")
        assert code == 2 and "cannot read recipe" in err


class TestChangeCounts:
    def test_reading_is_not_changing(self):
        ds = pydicom.dcmread(cli.DEMO_DIR / "patient-001" / "ct-chest" / "ct-002.dcm")
        before = engine.snapshot(ds)
        _ = ds.PatientID, ds.OperatorsName, ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID  # converts them
        assert engine.changes(before, ds, ds.original_character_set) == (0, 0, 0)

    def test_counts(self):
        ds = pydicom.dcmread(cli.DEMO_DIR / "patient-001" / "ct-chest" / "ct-002.dcm")
        ds.SpecificCharacterSet  # noqa: B018 - read: converted before the recipe runs
        before = engine.snapshot(ds)
        ds.SpecificCharacterSet = "ISO_IR 192"  # changed in place
        ds.OperatorsName = ["FENWICK^TOBIAS", "LINDQVIST^SAGA"]  # same value written again
        ds.PatientID = "SUB-1"
        ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3"
        del ds.PatientAddress
        del ds.RequestAttributesSequence
        ds.PatientIdentityRemoved = "YES"
        ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID = "1.2.3"  # nested: not counted
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]  # same value
        ds.Rows = 16  # same value, binary VR
        ds.Columns = 8
        assert engine.changes(before, ds, ds.original_character_set) == (2, 1, 4)

    def test_blanking_an_empty_element_is_not_a_change(self):
        ds = pydicom.dcmread(cli.DEMO_DIR / "patient-001" / "ct-chest" / "ct-002.dcm")
        ds.AccessionNumber = ""
        ds.save_as(buffer := io.BytesIO(), enforce_file_format=False)
        ds = pydicom.dcmread(io.BytesIO(buffer.getvalue()))
        before = engine.snapshot(ds)
        ds.AccessionNumber = None
        ds.ReferringPhysicianName = None
        assert engine.changes(before, ds, ds.original_character_set) == (0, 0, 1)

    def test_values_written_as_bytes_are_counted(self):
        """The runtime writes ASCII text as raw bytes (runtime/rawtext.py); those count too."""
        ds = pydicom.dcmread(cli.DEMO_DIR / "patient-001" / "ct-chest" / "ct-002.dcm")
        before = engine.snapshot(ds)
        program = deidlang.compile("FORMAT dicom\n%header\nREPLACE PatientID SUB-1\nREPLACE StudyID " + str(ds.StudyID) + "\nREPLACE PatientName ANONYMOUS\n")
        program.apply(ds)
        assert type(ds._dict[0x00100020]).__name__ == "RawDataElement"
        assert engine.changes(before, ds, ds.original_character_set) == (0, 0, 2)


class TestAtomicWrite:
    def test_failed_write_leaves_nothing(self, tmp_path):
        ds = pydicom.dcmread(cli.DEMO_DIR / "patient-003" / "cr-knee" / "cr-001.dcm")

        class Interrupted(BaseException):
            pass

        def save_as(fh, **kwargs):
            fh.write(b"half a file")
            raise Interrupted

        ds.save_as = save_as
        target = tmp_path / "sub" / "x.dcm"
        with pytest.raises(Interrupted):
            engine.write_atomic(ds, str(target))
        assert list((tmp_path / "sub").iterdir()) == []

    def test_write_replaces_in_one_step(self, tmp_path):
        ds = pydicom.dcmread(cli.DEMO_DIR / "patient-003" / "cr-knee" / "cr-001.dcm")
        target = tmp_path / "x.dcm"
        target.write_bytes(b"old")
        engine.write_atomic(ds, str(target))
        assert pydicom.dcmread(target).SOPInstanceUID == ds.SOPInstanceUID
        assert [p.name for p in tmp_path.iterdir()] == ["x.dcm"]

    def test_temporaries_are_swept(self, tmp_path):
        (tmp_path / "d").mkdir()
        leftover = tmp_path / "d" / f".x.dcm.abcd1234{cli.TMP_SUFFIX}"
        leftover.write_bytes(b"")
        keep = tmp_path / "d" / "x.dcm"
        keep.write_bytes(b"")
        engine.remove_temporaries(str(tmp_path))
        assert not leftover.exists() and keep.exists()


class TestProgress:
    class Tty(io.StringIO):
        def isatty(self):
            return True

    def test_plain_lines_every_few_seconds_when_not_a_terminal(self):
        now = [0.0]
        stream = io.StringIO()
        bar = cli.Progress(100, stream, every=5.0, clock=lambda: now[0])
        now[0] = 1.0
        bar.advance()  # before the first interval: quiet
        assert stream.getvalue() == ""
        now[0] = 5.0
        bar.advance()
        assert stream.getvalue() == "deidc: 2 of 100 files (2%), 0.4 files/s, 5.0 s elapsed, about 04:05 left\n"
        now[0] = 6.0
        bar.advance()  # within the next interval: quiet
        assert stream.getvalue().count("\n") == 1
        now[0] = 10.0
        for _ in range(97):
            bar.advance()  # one line, not one per file; none for the last file
        assert stream.getvalue().count("\n") == 2 and "deidc: 4 of 100 files (4%)" in stream.getvalue()
        bar.clear()
        assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()

    def test_quiet_for_short_runs(self):
        stream = self.Tty()
        bar = cli.Progress(3, stream, delay=30)
        for _ in range(3):
            bar.advance()
        bar.clear()
        assert stream.getvalue() == ""
        quiet = io.StringIO()
        plain = cli.Progress(3, quiet, every=10.0, clock=lambda: 0.0)
        for _ in range(3):
            plain.advance()
        assert quiet.getvalue() == ""

    def test_a_bar_with_rate_elapsed_and_time_left_on_a_terminal(self):
        stream = self.Tty()
        bar = cli.Progress(4, stream, delay=0, refresh=0)
        bar.advance()
        bar.advance()
        drawn = stream.getvalue()
        assert "2/4 files" in drawn and "50%" in drawn and "elapsed" in drawn and "left" in drawn and "files/s" in drawn
        bar.message("deidc: failed: x: y")
        assert "deidc: failed: x: y\n" in stream.getvalue()
        bar.advance()
        bar.advance()
        assert "4/4 files" in stream.getvalue()
        bar.clear()
        assert stream.getvalue().endswith("\r")  # the bar's line is cleared

    def test_the_summary_gives_the_elapsed_time(self, capsys, demo, tmp_path):
        code, out, _ = run(capsys, "run", "--input", demo, "--output", tmp_path / "o", "--jobs", "1")
        assert code == 0
        assert re.search(r"^time: \d+\.\d s \(\d+\.\d files/s\)$", out, re.M), out

    def test_tqdm_draws_the_bar(self):
        """The bar is a well-kept library's (a dependency), not a hand-made one."""
        import tqdm

        bar = cli.Progress(4, self.Tty(), delay=0)
        assert isinstance(bar.bar, tqdm.tqdm)
        bar.clear()


# =========================================================================== identifiers


class TestIdentifiers:
    def test_round_trip(self, capsys, fake, demo, tmp_path, recipe):
        ids_path = tmp_path / "ids.json"
        code, out, err = run(capsys, "identifiers", "--input", demo, "--output", ids_path)
        assert code == 0, err
        assert "ORCHARD" not in out + err
        ids = json.loads(ids_path.read_text(encoding="utf-8"))
        ct2 = str(demo / "patient-001" / "ct-chest" / "ct-002.dcm")
        assert len(ids) == DEMO_FILES and all(os.path.isabs(k) for k in ids)
        entry = ids[ct2]
        assert entry["(0010,0010)"] == {"vr": "PN", "Value": [{"Alphabetic": "ORCHARD^MAREN^TILDE"}]}
        assert entry["(0018,1200)"] == {"vr": "DA", "Value": ["20240105", "20240612"]}
        assert entry["(0008,1140)__0__(0008,1155)"]["vr"] == "UI"
        assert entry["(0040,0275)__0__(0032,1064)__0__(0008,0100)"] == {"vr": "SH", "Value": ["FMHCT01"]}
        assert entry["(0002,0003)"]["vr"] == "UI"  # file meta is listed
        assert "(7FE0,0010)" not in entry and "(0002,0010)" not in entry  # protected elements are not
        assert "(0008,1140)" not in entry  # sequences are listed through their contents
        keys = list(entry)
        assert keys.index("(0002,0003)") > keys.index("(7FE0,0010)" if "(7FE0,0010)" in keys else "(0028,1053)")
        assert keys.index("(0008,1140)__0__(0008,1150)") > keys.index("(0002,0003)")  # nested after file meta

        # the user adds a variable; the file goes back in with --ids
        entry["subject"] = "SUB-0001"
        ids_path.write_text(json.dumps(ids), encoding="utf-8")
        assert run(capsys, "check", "--ids", ids_path, recipe)[0] == 0
        single = demo / "patient-001" / "ct-chest" / "ct-002.dcm"
        assert run(capsys, "run", "--recipe", recipe, "--ids", ids_path, "--input", single, "--output", tmp_path / "o")[0] == 0
        assert CALLS[-1]["ids"]["subject"] == "SUB-0001"
        assert CALLS[-1]["ids"]["(0010,0020)"] == {"vr": "LO", "Value": ["FMH-204418"]}

    def test_universe_order_matches_a_plain_walk(self):
        for path in sorted(cli.DEMO_DIR.rglob("*.dcm")):
            ds = pydicom.dcmread(path)
            assert list(cli.identifiers_of(ds).items()) == list(identifiers._identifiers_walk(ds).items())

    def test_lists_recipe_variables_and_refuses_to_overwrite(self, capsys, demo, tmp_path):
        ids_path = tmp_path / "ids.json"
        single = demo / "patient-002" / "sc-report" / "ot-001.dcm"
        code, out, _ = run(capsys, "identifiers", "--input", single, "--output", ids_path, "--recipe", EXAMPLES / "deid.dicom")
        assert code == 0 and "add them to each file's object: id, source_id" in out
        ids_path.write_text('{"edited": {}}', encoding="utf-8")
        code, _, err = run(capsys, "identifiers", "--input", single, "--output", ids_path)
        assert code == 2 and "--overwrite" in err
        assert ids_path.read_text(encoding="utf-8") == '{"edited": {}}'
        assert run(capsys, "identifiers", "--input", single, "--output", ids_path, "--overwrite")[0] == 0
        assert list(json.loads(ids_path.read_text(encoding="utf-8"))) == [str(single)]

    def test_broken_recipe_stops_it(self, capsys, demo, tmp_path):
        code, _, err = run(capsys, "identifiers", "--input", demo, "--output", tmp_path / "ids.json", "--recipe", BROKEN)
        assert code == 1 and "error[E101]" in err and not (tmp_path / "ids.json").exists()

    def test_non_dicom_is_reported(self, capsys, demo, tmp_path):
        (demo / "readme.txt").write_text("hello", encoding="utf-8")
        code, out, err = run(capsys, "identifiers", "--input", demo, "--output", tmp_path / "ids.json")
        assert code == 1 and "readme.txt: not a DICOM file" in err
        assert len(json.loads((tmp_path / "ids.json").read_text(encoding="utf-8"))) == DEMO_FILES


# =========================================================================== bundled data


class TestBundledData:
    def test_demo_data_is_small_and_deterministic(self, tmp_path):
        files = sorted(cli.DEMO_DIR.rglob("*.dcm"))
        assert len(files) == DEMO_FILES
        assert sum(p.stat().st_size for p in files) < 200_000
        proc = subprocess.run(
            [sys.executable, str(EXAMPLES / "make_demo_data.py"), "--output", str(tmp_path / "demo")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert tree_digest(tmp_path / "demo") == tree_digest(cli.DEMO_DIR)

    def test_demo_data_has_what_a_recipe_must_handle(self):
        modalities, private, nested = set(), False, False
        for path in cli.DEMO_DIR.rglob("*.dcm"):
            ds = pydicom.dcmread(path)
            modalities.add(ds.Modality)
            private |= any(e.tag.is_private for e in ds)
            nested |= any(e.VR == "SQ" for item in ds.get("RequestAttributesSequence", []) for e in item)
            assert len(ds.PixelData) <= 16 * 16 * 3
        assert {"CT", "MR", "US", "OT", "CR"} <= modalities and private and nested
        ct = pydicom.dcmread(cli.DEMO_DIR / "patient-001" / "ct-chest" / "ct-001.dcm")
        assert ct.DateOfLastCalibration == ["20240105", "20240612"]

    def test_default_recipe_checks_clean(self):
        text = cli.DEFAULT_RECIPE.read_text(encoding="utf-8")
        assert deidlang.check(text, path=str(cli.DEFAULT_RECIPE)) == []
        assert "ADD PatientIdentityRemoved YES" in text and "%labels" in text


# =========================================================================== the real runtime


PHI = [
    b"ORCHARD",
    b"MAREN",
    b"BR\xd8NDUM",
    b"QUILLFEATHER",
    b"FMH-204418",
    b"19620314",
    b"Quarry Hill",
    b"555-0142",
    b"HALLOWAY",
    b"FENWICK",
    b"Fairhaven Memorial",
    b"Elmsworth",
    b"FMH-CT01",
    b"SN-CT-",
    b"ACC240611",
]


class TestRealRuntime:
    def test_default_recipe_on_demo_data(self, capsys, demo, tmp_path):
        before = tree_digest(demo)
        out_dir = tmp_path / "out"
        code, out, err = run(capsys, "run", "--input", demo, "--output", out_dir, "--jobs", "1")
        assert code == 0, err
        assert f"{DEMO_FILES} files processed: {DEMO_FILES} written, 0 skipped, 0 failed" in out
        assert tree_digest(demo) == before
        outputs = sorted(p for p in out_dir.rglob("*") if p.name not in MANIFEST_FILES)
        assert sorted(str(p.relative_to(out_dir)) for p in outputs if p.is_file()) == sorted(before)
        for path in (p for p in outputs if p.is_file()):
            data = path.read_bytes()
            assert [s for s in PHI if s in data] == [], path
            ds = pydicom.dcmread(path)
            assert ds.PatientIdentityRemoved == "YES"
            assert not any(e.tag.is_private for e in ds)
        # UIDs stay valid and consistent across files
        ct1 = pydicom.dcmread(out_dir / "patient-001" / "ct-chest" / "ct-001.dcm")
        ct2 = pydicom.dcmread(out_dir / "patient-001" / "ct-chest" / "ct-002.dcm")
        original = pydicom.dcmread(demo / "patient-001" / "ct-chest" / "ct-001.dcm")
        assert ct1.SOPInstanceUID != original.SOPInstanceUID and ct1.SOPInstanceUID.is_valid
        assert ct2.ReferencedImageSequence[0].ReferencedSOPInstanceUID == ct1.SOPInstanceUID
        assert ct1.StudyInstanceUID == ct2.StudyInstanceUID
        assert ct1.file_meta.MediaStorageSOPInstanceUID == ct1.SOPInstanceUID

    def test_jobs_2_gives_the_same_bytes_as_jobs_1(self, capsys, demo, tmp_path):
        for jobs in ("1", "2"):
            code, _, err = run(capsys, "run", "--input", demo, "--output", tmp_path / f"j{jobs}", "--jobs", jobs)
            assert code == 0, err
        assert tree_digest(tmp_path / "j1") == tree_digest(tmp_path / "j2")
        assert not [p for p in (tmp_path / "j2").rglob("*") if p.name.endswith(cli.TMP_SUFFIX)]

    def test_example_recipe_with_ids(self, capsys, demo, tmp_path):
        ids_path = tmp_path / "ids.json"
        assert run(capsys, "identifiers", "--input", demo, "--output", ids_path)[0] == 0
        ids = json.loads(ids_path.read_text(encoding="utf-8"))
        for n, entry in enumerate(ids.values()):
            entry["id"] = f"SUB-{n:03d}"
            entry["source_id"] = f"1.2.3.{n}"
        ids_path.write_text(json.dumps(ids), encoding="utf-8")
        out_dir = tmp_path / "out"
        code, _, err = run(capsys, "run", "--recipe", EXAMPLES / "deid.dicom", "--ids", ids_path, "--input", demo, "--output", out_dir, "--jobs", "1")
        assert code == 0, err
        got = {pydicom.dcmread(p).PatientID for p in out_dir.rglob("*.dcm")}
        assert got == {f"SUB-{n:03d}" for n in range(DEMO_FILES)}


# =========================================================================== inputs that cannot be right (issue 11)


def _with_ids(ids_path: Path, edit) -> dict:
    """The ids file, each file's entry changed by ``edit(n, entry)``, written back."""
    ids = json.loads(ids_path.read_text(encoding="utf-8"))
    for n, entry in enumerate(ids.values()):
        edit(n, entry)
    ids_path.write_text(json.dumps(ids), encoding="utf-8")
    return ids


def _pseudonyms(n: int, entry: dict) -> None:
    entry["id"] = f"SUB-{n:03d}"
    entry["source_id"] = f"1.2.3.{n}"


class TestInputsThatCannotBeRight:
    """Each stops `deidc run` before any file is written, with exit 1 and a plain reason."""

    DEID = EXAMPLES / "deid.dicom"  # REPLACE PatientID var:id, REPLACE SOPInstanceUID var:source_id

    def test_ids_matching_no_input_stop_a_var_recipe(self, capsys, demo, tmp_path):
        ids = tmp_path / "ids.json"
        ids.write_text(json.dumps({"/elsewhere/a.dcm": {"id": "SUB-1", "source_id": "1.2.3"}}), encoding="utf-8")
        for strict in ([], ["--strict"]):
            out_dir = tmp_path / f"out{len(strict)}"
            code, out, err = run(capsys, "run", "--recipe", self.DEID, "--ids", ids, "--input", demo, "--output", out_dir, *strict)
            assert code == 1 and out == ""
            assert f"none of the {DEMO_FILES} input files has an entry in the ids file" in err
            assert "var:id, var:source_id" in err and "nothing was written" in err
            assert not out_dir.exists()

    def test_a_var_recipe_without_ids_stops(self, capsys, demo, tmp_path):
        code, out, err = run(capsys, "run", "--recipe", self.DEID, "--input", demo, "--output", tmp_path / "o")
        # the checker stops it first (E215, the ids are known to be none); the preflight
        # check says the same for a recipe allowed through with --allow E215
        assert code == 1 and "E215" in err and "--ids" in err and "deidc identifiers" in err
        assert not (tmp_path / "o").exists()
        code, out, err = run(capsys, "run", "--recipe", self.DEID, "--allow", "E215", "--input", demo, "--output", tmp_path / "o")
        assert code == 1 and "no --ids was given" in err and "deidc identifiers" in err
        assert not (tmp_path / "o").exists()

    def test_ids_still_match_after_the_data_moved(self, capsys, demo, tmp_path):
        """`deidc identifiers` records each file's SOPInstanceUID; entries match by it
        when no path does (the data moved, or was copied elsewhere)."""
        ids = tmp_path / "ids.json"
        assert run(capsys, "identifiers", "--input", demo, "--output", ids)[0] == 0
        recorded = json.loads(ids.read_text(encoding="utf-8"))
        assert all(entry["(0008,0018)"]["Value"] for entry in recorded.values())
        _with_ids(ids, _pseudonyms)
        moved = tmp_path / "moved"
        demo.rename(moved)
        out_dir = tmp_path / "out"
        code, _, err = run(capsys, "run", "--recipe", self.DEID, "--ids", ids, "--input", moved, "--output", out_dir, "--jobs", "1")
        assert code == 0, err
        assert "no entry" not in err
        assert {pydicom.dcmread(p).PatientID for p in out_dir.rglob("*.dcm")} == {f"SUB-{n:03d}" for n in range(DEMO_FILES)}

    def test_a_uid_two_entries_record_matches_neither(self, tmp_path):
        from deidlang.engine import inputs

        index = {
            "/a.dcm": {"(0008,0018)": {"vr": "UI", "Value": ["1.2.3"]}},
            "/b.dcm": {"SOPInstanceUID": "1.2.3"},
            "/c.dcm": {"(0008,0018)": {"vr": "UI", "Value": ["1.2.4"]}},
            "/d.dcm": {"id": "x"},
        }
        assert inputs.ids_by_uid(index) == {"1.2.4": "/c.dcm"}

    def test_files_without_an_entry_fail_and_are_not_written(self, capsys, demo, tmp_path):
        """A partial match: the files with an entry are written; those without one fail,
        unwritten (their var: elements would stay as they are); exit 1. --strict stops first."""
        ids = tmp_path / "ids.json"
        assert run(capsys, "identifiers", "--input", demo, "--output", ids)[0] == 0
        entries = _with_ids(ids, _pseudonyms)
        dropped = sorted(entries)[:3]
        for path in dropped:
            del entries[path]
        ids.write_text(json.dumps(entries), encoding="utf-8")
        code, out, err = run(capsys, "run", "--recipe", self.DEID, "--ids", ids, "--input", demo, "--output", tmp_path / "s", "--strict")
        assert code == 1 and "3 of 10 input files have no entry" in err and "(--strict)" in err
        assert not (tmp_path / "s").exists()
        out_dir = tmp_path / "out"
        code, out, err = run(capsys, "run", "--recipe", self.DEID, "--ids", ids, "--input", demo, "--output", out_dir, "--jobs", "1")
        assert code == 1
        assert "note: 3 of 10 files have no entry in the ids file" in err and "they fail and are not written" in err
        assert "7 written, 0 skipped, 3 failed" in out
        for path in dropped:
            rel = os.path.relpath(path, demo)
            assert f"failed: {demo / rel}: no entry in the ids file" in err
            assert not (out_dir / rel).exists()
        assert {pydicom.dcmread(p).PatientID for p in out_dir.rglob("*.dcm")} <= {f"SUB-{n:03d}" for n in range(DEMO_FILES)}
        records = [json.loads(line) for line in (out_dir / "deidlang-manifest.jsonl").read_text(encoding="utf-8").splitlines()]
        assert sum(r.get("status") == "failed" and "no entry in the ids file" in r["reason"] for r in records) == 3

    def test_a_dry_run_reports_the_files_without_an_entry(self, capsys, demo, tmp_path):
        ids = tmp_path / "ids.json"
        assert run(capsys, "identifiers", "--input", demo, "--output", ids)[0] == 0
        entries = _with_ids(ids, _pseudonyms)
        del entries[sorted(entries)[0]]
        ids.write_text(json.dumps(entries), encoding="utf-8")
        code, out, err = run(capsys, "run", "--recipe", self.DEID, "--ids", ids, "--input", demo, "--output", tmp_path / "o", "--dry-run")
        assert code == 1 and "no entry in the ids file" in err and "9 files explained, 1 failed" in out

    def test_a_recipe_without_var_runs_with_a_note(self, capsys, fake, demo, recipe, tmp_path):
        ids = tmp_path / "ids.json"
        ids.write_text(json.dumps({"/elsewhere/a.dcm": {"id": "x"}}), encoding="utf-8")
        code, _, err = run(capsys, "run", "--recipe", recipe, "--ids", ids, "--input", demo, "--output", tmp_path / "o")
        assert code == 0 and f"note: {DEMO_FILES} of {DEMO_FILES} files have no entry in the ids file" in err

    def test_an_empty_input_folder_stops(self, capsys, tmp_path):
        (tmp_path / "empty" / ".hidden").mkdir(parents=True)
        (tmp_path / "empty" / ".hidden" / "x.dcm").write_bytes(b"")
        for command in (["run"], ["run", "--dry-run"], ["clean"]):
            code, out, err = run(capsys, *command, "--input", tmp_path / "empty", "--output", tmp_path / "o")
            assert code == 1 and out == "", command
            assert f"no input files found in '{tmp_path / 'empty'}'" in err and "nothing was written" in err
            assert not (tmp_path / "o").exists()
        code, _, err = run(capsys, "identifiers", "--input", tmp_path / "empty", "--output", tmp_path / "ids.json")
        assert code == 1 and "no input files found" in err and not (tmp_path / "ids.json").exists()

    def test_a_mistyped_quarantine_group_stops(self, capsys, tmp_path):
        code, out, err = run(capsys, "run", "--clean-pixels", "--quarantine", "blacklst", "--output", tmp_path / "o")
        assert code == 1 and out == "" and not (tmp_path / "o").exists()
        assert "--quarantine 'blacklst': no recipe has a %filter group of that name" in err
        assert "did you mean 'blacklist'?" in err

    def test_quarantine_without_any_filter_stops(self, capsys, fake, recipe, tmp_path):
        code, _, err = run(capsys, "run", "--recipe", recipe, "--quarantine", "blacklist", "--output", tmp_path / "o")
        assert code == 1 and "the recipes have no %filter section" in err and not (tmp_path / "o").exists()

    def test_retain_safe_private_needs_keep_private(self, capsys, tmp_path):
        code, out, err = run(capsys, "run", "--option", "retain-safe-private", "--output", tmp_path / "o")
        assert code == 1 and out == "" and not (tmp_path / "o").exists()
        assert "--option retain-safe-private" in err and "add --keep-private" in err
        code, _, err = run(capsys, "run", "--option", "retain-safe-private", "--keep-private", "--output", tmp_path / "k", "--jobs", "1")
        assert code == 0, err


# =========================================================================== errors that help (issue 11)


BOOM = "def boom(item=None, value=None, field=None, dicom=None):\n    raise ValueError('cannot use ' + str(dicom.PatientID))\n"


class TestErrorsThatHelp:
    def test_a_raising_function_is_quoted_only_with_show_values(self, capsys, demo, tmp_path):
        recipe = tmp_path / "f.dicom"
        recipe.write_text("FORMAT dicom\n%header\nREPLACE PatientName func:boom\n", encoding="utf-8")
        funcs = tmp_path / "f.py"
        funcs.write_text(BOOM, encoding="utf-8")
        one = demo / "patient-001" / "ct-chest" / "ct-001.dcm"
        patient_id = str(pydicom.dcmread(one).PatientID)
        for jobs in ("1", "2"):
            base = ["run", "--recipe", recipe, "--functions", funcs, "--input", demo, "--jobs", jobs]
            code, _, err = run(capsys, *base, "--output", tmp_path / f"hidden{jobs}")
            assert code == 1 and "R001 function 'boom' raised ValueError" in err
            assert patient_id not in err and "the function's message" not in err
            code, _, err = run(capsys, *base, "--output", tmp_path / f"shown{jobs}", "--show-values")
            assert code == 1 and f"the function's message: cannot use {patient_id}" in err
            manifest = (tmp_path / f"shown{jobs}" / "deidlang-manifest.jsonl").read_text(encoding="utf-8")
            assert "R001" in manifest and patient_id not in manifest  # never recorded

    def test_scheduler_errors_give_the_accepted_forms(self, capsys, tmp_path):
        for address in ("foo", "local:x", "local:0", "http://host:8786", "tcp://host:port", "tcp://host"):
            code, out, err = run(capsys, "run", "--scheduler", address, "--output", tmp_path / "o")
            assert code == 2 and out == "", address
            assert f"--scheduler '{address}'" in err and "local:N" in err and "tcp://HOST:PORT" in err, err
            assert "ValueError" not in err and "keyed pseudonyms" not in err
        assert not (tmp_path / "o").exists()

    def test_scheduler_forms(self):
        from deidlang.engine import distributed

        assert distributed.parse_address("local:4") == ("local", 4)
        assert distributed.parse_address("tcp://10.0.0.5:8786") == ("remote", "tcp://10.0.0.5:8786")
        assert distributed.parse_address("scheduler.lan:8786") == ("remote", "tcp://scheduler.lan:8786")
        assert distributed.parse_address("tls://[::1]:8786") == ("remote", "tls://[::1]:8786")

    def test_the_key_note_waits_for_the_run_to_start(self, capsys, tmp_path):
        code, _, err = run(capsys, "run", "--input", tmp_path / "nothing", "--output", tmp_path / "o")
        assert code == 1 and "does not exist" in err
        assert "keyed pseudonyms" not in err and "created a new secret key" not in err
        code, _, err = run(capsys, "run", "--output", tmp_path / "o", "--jobs", "1")
        assert code == 0 and ("keyed pseudonyms use the key" in err or "created a new secret key" in err)

    def test_ctrl_c_says_how_to_resume(self, capsys, demo, tmp_path, monkeypatch):

        results = engine.Batch.results

        def interrupted(self):
            for n, result in enumerate(results(self)):
                if n == 4:
                    raise KeyboardInterrupt
                yield result

        argv = ["run", "--input", demo, "--output", tmp_path / "o", "--jobs", "1"]
        with monkeypatch.context() as mp:
            mp.setattr(engine.Batch, "results", interrupted)
            code, out, err = run(capsys, *argv)
        assert code == cli.INTERRUPTED == 130
        assert "interrupted after 5 of 10 files" in err  # the fifth was done when the interruption came and "run the same command again to resume" in err
        code, out, err = run(capsys, *argv)
        resumed = re.search(r"(\d+) files already complete from an earlier run of the same job \(resumed\)", out)
        assert code == 0 and resumed and int(resumed.group(1)) >= 5  # and those of the batch in hand


class TestIdentifiersFile:
    def test_written_for_its_owner_only(self, capsys, demo, tmp_path):
        out = tmp_path / "ids.json"
        old = os.umask(0o022)
        try:
            assert run(capsys, "identifiers", "--input", demo, "--output", out)[0] == 0
            assert (out.stat().st_mode & 0o777) == 0o600
            assert run(capsys, "identifiers", "--input", demo, "--output", out, "--overwrite")[0] == 0
            assert (out.stat().st_mode & 0o777) == 0o600
        finally:
            os.umask(old)

    def test_streamed_as_files_are_read(self, capsys, demo, tmp_path, monkeypatch):
        """Each file's entry is written before the next file is read (memory does not grow
        with the number of files); the file appears under its name only once complete."""
        out = tmp_path / "ids.json"
        seen: list[int] = []
        read = engine.read_input

        def spy(source, **kw):
            tmp = [p for p in tmp_path.iterdir() if p.name.endswith(cli.TMP_SUFFIX)]
            seen.append(sum(p.stat().st_size for p in tmp))
            assert not out.exists()
            return read(source, **kw)

        monkeypatch.setattr(engine, "read_input", spy)
        assert run(capsys, "identifiers", "--input", demo, "--output", out)[0] == 0
        assert len(seen) == DEMO_FILES and seen[0] <= 1
        assert seen == sorted(seen) and seen[-1] > 0  # the file grew as it went (in buffered writes)
        data = json.loads(out.read_text(encoding="utf-8"))
        assert len(data) == DEMO_FILES
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(cli.TMP_SUFFIX)]

    def test_a_file_given_twice_is_listed_once(self, capsys, demo, tmp_path):
        one = demo / "patient-001" / "ct-chest" / "ct-001.dcm"
        out = tmp_path / "ids.json"
        code, stdout, _ = run(capsys, "identifiers", "--input", one, "--input", demo, "--output", out)
        assert code == 0 and f"identifiers of {DEMO_FILES} files" in stdout
        assert len(json.loads(out.read_text(encoding="utf-8"))) == DEMO_FILES


# --------------------------------------------------------------------------- a recipe that says one thing and does another


TYPO_RECIPE = "FORMAT dicom\n%header\nREMOVE PatientsName\n"
DEAD_LINE_RECIPE = "FORMAT dicom\n%header\nREMOVE PatientName\nREMOVE PatientsName\n"
BUNDLED = [cli.DEFAULT_RECIPE, *sorted((cli.DATA_DIR / "options").glob("*.dicom")), *sorted(EXAMPLES.glob("*.dicom"))]


def _written(out_dir: Path) -> list[Path]:
    return [p for p in out_dir.rglob("*") if p.is_file()] if out_dir.exists() else []


def _manifest_header(out_dir: Path) -> dict:
    return json.loads((out_dir / "deidlang-manifest.json").read_text(encoding="utf-8"))


class TestRecipeSafety:
    """deidc run never applies a recipe that says one thing and does another (issue 11)."""

    @pytest.fixture
    def typo(self, tmp_path: Path) -> Path:
        path = tmp_path / "typo.dicom"
        path.write_text(TYPO_RECIPE, encoding="utf-8")
        return path

    def test_run_stops_a_typo_that_leaks_and_writes_nothing(self, capsys, typo, demo, tmp_path):
        out_dir = tmp_path / "out"
        code, out, err = run(capsys, "run", "--recipe", typo, "--input", demo, "--output", out_dir)
        assert code == 1 and out == ""
        assert _written(out_dir) == [] and not out_dir.exists()
        checked = run(capsys, "check", typo)[1]
        assert "error[E214]" in checked and checked in err  # the findings, exactly as `deidc check` prints them
        assert "no file was read or written" in err and "--allow E214" in err
        assert "ORCHARD" not in err

    def test_a_dead_line_is_a_warning_for_check_and_stops_a_run(self, capsys, demo, tmp_path):
        recipe = tmp_path / "dead.dicom"
        recipe.write_text(DEAD_LINE_RECIPE, encoding="utf-8")
        code, out, err = run(capsys, "check", recipe)
        assert code == 0 and "warning[W201]" in out and "PatientName is handled by line 3" in out
        assert "`deidc run` stops on 1 of these warnings (W201)" in err and "--allow W201" in err
        out_dir = tmp_path / "out"
        code, _, err = run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", out_dir)
        assert code == 1 and _written(out_dir) == [] and "W201" in err

    def test_allow_runs_anyway_and_the_manifest_records_it(self, capsys, typo, demo, tmp_path):
        out_dir = tmp_path / "out"
        code, _, err = run(capsys, "run", "--recipe", typo, "--input", demo, "--output", out_dir, "--allow", "E214", "--jobs", "1")
        assert code == 0, err
        assert "let through by --allow" in err
        assert len([p for p in _written(out_dir) if p.suffix == ".dcm"]) == DEMO_FILES
        assert _manifest_header(out_dir)["allowed"] == {
            "codes": ["E214"],
            "findings": [{"file": str(typo), "line": 3, "column": 8, "code": "E214"}],
        }
        # what was let through does what the recipe says: nothing, so the name stays
        assert any(b"ORCHARD" in p.read_bytes() for p in out_dir.rglob("*.dcm"))

    def test_allow_all_runs_anyway_and_the_manifest_records_it(self, capsys, typo, demo, tmp_path):
        out_dir = tmp_path / "out"
        code, _, err = run(capsys, "run", "--recipe", typo, "--input", demo, "--output", out_dir, "--allow", "all", "--jobs", "1")
        assert code == 0, err
        allowed = _manifest_header(out_dir)["allowed"]
        assert allowed["codes"] == ["all"] and [f["code"] for f in allowed["findings"]] == ["E214"]

    def test_a_run_that_allows_nothing_records_nothing(self, capsys, recipe, demo, tmp_path):
        out_dir = tmp_path / "out"
        assert run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", out_dir, "--jobs", "1")[0] == 0
        assert _manifest_header(out_dir)["allowed"] is None

    def test_allow_takes_known_codes_only(self, capsys, typo, demo, tmp_path):
        code, _, err = run(capsys, "run", "--recipe", typo, "--input", demo, "--output", tmp_path / "out", "--allow", "E2l4")
        assert code == 2 and "unknown diagnostic code 'E2l4'" in err
        assert not (tmp_path / "out").exists()

    def test_force_reads_files_it_does_not_let_a_recipe_through(self, capsys, typo, demo, tmp_path):
        code, _, err = run(capsys, "run", "--recipe", typo, "--input", demo, "--output", tmp_path / "out", "--force")
        assert code == 1 and "E214" in err and not (tmp_path / "out").exists()

    def test_strict_counts_warnings_and_allow_names_them(self, capsys, demo, tmp_path):
        recipe = tmp_path / "case.dicom"
        recipe.write_text("FORMAT dicom\n%header\nREMOVE patientname\n", encoding="utf-8")  # W202: works, but not canonical
        args = ("run", "--recipe", recipe, "--input", demo, "--jobs", "1")
        assert run(capsys, *args, "--output", tmp_path / "a")[0] == 0
        code, _, err = run(capsys, *args, "--output", tmp_path / "b", "--strict")
        assert code == 1 and "--strict: warnings count" in err and not (tmp_path / "b").exists()
        assert run(capsys, *args, "--output", tmp_path / "c", "--strict", "--allow", "W202")[0] == 0

    def test_func_names_need_a_functions_file(self, capsys, demo, tmp_path):
        recipe = EXAMPLES / "header-manipulation.dicom"
        code, out, _ = run(capsys, "check", recipe)
        assert code == 0 and "info[I201]" in out and "--functions" in out and "(1 note above)" in out
        out_dir = tmp_path / "out"
        code, _, err = run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", out_dir)
        assert code == 1 and "error[E205]" in err and "--functions FILE.py" in err
        assert not out_dir.exists()
        code, _, err = run(capsys, "run", "--recipe", recipe, "--functions", EXAMPLES / "functions.py", "--input", demo, "--output", out_dir, "--jobs", "1")
        assert code == 0, err

    def test_var_names_need_ids(self, capsys, demo, tmp_path):
        out_dir = tmp_path / "out"
        code, _, err = run(capsys, "run", "--recipe", EXAMPLES / "deid.dicom", "--input", demo, "--output", out_dir)
        assert code == 1 and "error[E215]" in err and "--ids IDS.json" in err
        assert not out_dir.exists()

    def test_deid_notes_only_when_asked(self, capsys, demo, tmp_path):
        recipe = tmp_path / "lower.dicom"
        recipe.write_text("FORMAT dicom\n%header\nremove PatientName\n", encoding="utf-8")  # deid drops the line (W405)
        code, out, _ = run(capsys, "check", "--strict", recipe)
        assert code == 0 and "W405" not in out
        code, out, _ = run(capsys, "check", "--deid-compat", recipe)
        assert code == 0 and "warning[W405]" in out
        assert run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", tmp_path / "a", "--jobs", "1")[0] == 0
        code, _, err = run(capsys, "run", "--recipe", recipe, "--input", demo, "--output", tmp_path / "b", "--deid-compat")
        assert code == 1 and "W405" in err and not (tmp_path / "b").exists()

    def test_explain_stops_like_run(self, capsys, typo, demo):
        file = next(demo.rglob("*.dcm"))
        code, out, err = run(capsys, "explain", typo, file)
        assert code == 1 and out == "" and "E214" in err and "nothing was explained" in err
        code, out, _ = run(capsys, "explain", typo, file, "--allow", "E214")
        assert code == 0 and "PatientName" in out

    @pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
    def test_every_bundled_recipe_option_and_example_is_clean_under_strict(self, capsys, path):
        functions = ["--functions", EXAMPLES / "functions.py"] if path.name == "header-manipulation.dicom" else []
        for extra in ([], functions):
            code, out, err = run(capsys, "check", "--strict", path, *extra)
            assert code == 0 and "error[" not in out and "warning[" not in out, out
            assert "stops on" not in err

    def test_bundled_options_run_under_strict(self, capsys, demo, tmp_path):
        """Was: `deidc run --option retain-uids --strict` stopped on W408 in the bundled option recipe."""
        options = [a for o in ("retain-uids", "retain-full-dates") for a in ("--option", o)]
        code, _, err = run(capsys, "run", *options, "--strict", "--input", demo, "--output", tmp_path / "out", "--jobs", "1")
        assert code == 0, err
