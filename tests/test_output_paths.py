"""Output paths cannot escape the output folder (issue 6, hostile input).

An output's path is its input's path relative to its input root, under the
output folder. What could make it land elsewhere, and what happens:

* ``..`` or absolute object names behind a URL: the file is refused (failed,
  not read); local folders never list such names;
* symbolic links in the input tree: a link to a file is read (its target may
  be anywhere) and written under the link's own name, as a regular file; a
  link to a folder is not followed;
* symbolic links inside the output folder: a folder on the way to an output
  that is a link fails that file (nothing is written through it); a link at
  the output's own name is kept without --overwrite and replaced by the
  file with it (never written through); the manifest is never appended
  through a link; the quarantine folder is treated like any other folder;
* an output given as a URL (``s3://``, ``simplecache::s3://``) is refused;
  local names that merely look like URLs (``s3:``, ``file:x``) are ordinary names.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
from pathlib import Path

import pydicom
import pytest

from deidlang import cli, engine
from deidlang.engine import naming

sys.path.insert(0, str(Path(__file__).resolve().parent))
import damaged  # noqa: E402

from deidlang.engine import job
from deidlang.runtime import keys

RECIPE = "FORMAT dicom\n\n%header\n\nADD PatientIdentityRemoved YES\nREPLACE PatientName ANONYMOUS\n"
HOLD_RECIPE = "FORMAT dicom\n\n%filter hold\n\nLABEL every CT\n  contains Modality CT\n\n%header\n\nREPLACE PatientName ANONYMOUS\n"


def dicom(n: int = 1) -> bytes:
    return damaged.dicom_bytes(damaged.base_dataset(n))


def run(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def records(output: Path) -> dict[str, dict]:
    """The manifest's records by input key (the manifest holds no input path: :func:`k` names one)."""
    lines = (output / engine.MANIFEST_RECORDS).read_text(encoding="utf-8").splitlines()
    return {rec["input_key"]: rec for rec in map(json.loads, filter(None, lines))}


def k(relative: str) -> str:
    """The manifest's input key of the input at this path (relative to its root)."""
    return naming.input_key(keys.default_key()[0], relative)


def tree(root: Path) -> dict[str, str]:
    """Every file under root (links not followed) -> SHA-256, or 'link -> target'."""
    out = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory) / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = "link -> " + os.readlink(path)
            elif path.is_file():
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "recipe.dicom"
    path.write_text(RECIPE, encoding="utf-8")
    return path


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder outside input and output that nothing may write to."""
    path = tmp_path / "elsewhere"
    path.mkdir()
    (path / "victim.dcm").write_bytes(b"must stay as it is")
    return path


# =========================================================================== the rule itself


@pytest.mark.parametrize(
    "relative, ok",
    [
        ("a.dcm", True),
        (os.path.join("a", "b", "c.dcm"), True),
        ("..", False),
        (os.path.join("..", "x.dcm"), False),
        (os.path.join("a", "..", "..", "x.dcm"), False),
        (os.path.join("a", "..", "x.dcm"), False),  # even when it would stay inside: names are not rewritten
        (os.path.join("a", ".", "x.dcm"), False),
        (os.sep + os.path.join("etc", "x.dcm"), False),
        ("a" + os.sep + os.sep + "x.dcm", False),
        ("", False),
        (".", False),
        ("a\0b.dcm", False),
        ("..x.dcm", True),
        ("x..dcm", True),
        ("s3:" + os.sep + "file:x.dcm", True),
    ],
)
def test_confined(relative, ok):
    assert engine.confined(relative) is ok


def test_make_folders_refuses_a_folder_outside(tmp_path):
    with pytest.raises(engine.OutputError, match="would leave the output folder"):
        engine.make_folders(str(tmp_path / "out"), str(tmp_path / "other"))


# =========================================================================== URL inputs (object names)


@pytest.fixture
def bucket():
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    base = "/deidlang-test-bucket"
    fs.pipe(f"{base}/ok.dcm", dicom(1))
    fs.pipe(f"{base}/a/../../escaped.dcm", dicom(2))
    fs.pipe(f"{base}/a/../../../../tmp/deidlang-escaped.dcm", dicom(3))
    fs.pipe(f"{base}/b/./dot.dcm", dicom(4))
    fs.pipe(f"{base}//rooted.dcm", dicom(5))
    fs.pipe(f"{base}/c//d.dcm", dicom(6))
    fs.pipe(f"{base}/.hidden/h.dcm", dicom(8))
    yield f"memory://{base}"
    fs.rm(base, recursive=True)


def test_object_names_with_dot_dot_are_refused(bucket, recipe, tmp_path):
    out = tmp_path / "work" / "out"
    code, stdout, err = run("run", "--recipe", recipe, "--input", bucket, "--output", out, "--jobs", "1")
    assert code == 1
    recs = records(out)
    assert recs[k("ok.dcm")]["status"] == "written"
    for name in ("a/../../escaped.dcm", "a/../../../../tmp/deidlang-escaped.dcm", "b/./dot.dcm"):
        assert recs[k(name)]["status"] == "failed" and recs[k(name)]["reason"] == job.OUTSIDE
        assert f"deidc: failed: {bucket}/{name}: {job.OUTSIDE}" in err
    assert recs[k("rooted.dcm")]["output"] == "rooted.dcm"  # empty parts of a name collapse
    assert recs[k("c/d.dcm")]["output"] == "c/d.dcm"
    assert not (tmp_path / "work" / "escaped.dcm").exists() and not (tmp_path / "escaped.dcm").exists()
    assert not Path("/tmp/deidlang-escaped.dcm").exists()
    inside = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.dcm"))
    assert inside == ["c/d.dcm", "ok.dcm", "rooted.dcm"]  # hidden names are skipped, as in folders
    assert "6 files processed: 3 written, 0 skipped, 3 failed" in stdout


def test_a_url_input_named_dot_dot_gets_a_plain_folder(recipe, tmp_path):
    """Several inputs each get a folder named after their last part; '..' is not a name."""
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    fs.pipe("/deidlang-dots/x/../f.dcm", dicom(1))
    fs.pipe("/deidlang-plain/g.dcm", dicom(2))
    try:
        out = tmp_path / "out"
        code, _, err = run(
            "run", "--recipe", recipe, "--input", "memory:///deidlang-dots/x/..", "--input", "memory:///deidlang-plain", "--output", out, "--jobs", "1"
        )
        assert code == 0, err
        assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.dcm")) == ["deidlang-plain/g.dcm", "input/f.dcm"]
    finally:
        fs.rm("/deidlang-dots", recursive=True)
        fs.rm("/deidlang-plain", recursive=True)


# =========================================================================== links in the input tree


def test_a_link_to_a_file_outside_is_written_under_its_own_name(recipe, tmp_path, elsewhere):
    src = tmp_path / "in"
    src.mkdir()
    secret = elsewhere / "outside.dcm"
    secret.write_bytes(dicom(7))
    before = tree(elsewhere)
    (src / "link.dcm").symlink_to(secret)
    (src / "linked-folder").symlink_to(elsewhere, target_is_directory=True)
    out = tmp_path / "out"
    code, stdout, err = run("run", "--recipe", recipe, "--input", src, "--output", out, "--jobs", "1")
    assert code == 0, err
    written = out / "link.dcm"
    assert written.is_file() and not written.is_symlink()
    assert str(pydicom.dcmread(written).PatientName) == "ANONYMOUS"
    assert tree(elsewhere) == before  # the target is read, never written
    assert set(records(out)) == {k("link.dcm")}  # the linked folder is not followed
    assert not (out / "linked-folder").exists()


# =========================================================================== links in the output folder


def test_a_linked_folder_in_the_output_is_not_followed(recipe, tmp_path, elsewhere):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "x.dcm").write_bytes(dicom(1))
    (src / "y.dcm").write_bytes(dicom(2))
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to(elsewhere, target_is_directory=True)
    before = tree(elsewhere)
    code, stdout, err = run("run", "--recipe", recipe, "--input", src, "--output", out, "--jobs", "1")
    assert code == 1
    reason = "the output folder holds a symbolic link at 'sub': not followed, file not written"
    assert f"failed: {src / 'sub' / 'x.dcm'}: {reason}" in err
    assert records(out)[k("sub/x.dcm")]["status"] == "failed"
    assert records(out)[k("y.dcm")]["status"] == "written"
    assert tree(elsewhere) == before
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(engine.TMP_SUFFIX)]


def test_a_deeper_linked_folder_is_not_followed_either(recipe, tmp_path, elsewhere):
    src = tmp_path / "in"
    (src / "a" / "b").mkdir(parents=True)
    (src / "a" / "b" / "x.dcm").write_bytes(dicom(1))
    out = tmp_path / "out"
    (out / "a").mkdir(parents=True)
    (out / "a" / "b").symlink_to(elsewhere, target_is_directory=True)
    before = tree(elsewhere)
    code, _, err = run("run", "--recipe", recipe, "--input", src, "--output", out, "--jobs", "2", "--overwrite")
    assert code == 1 and "symbolic link at 'a/b'" in err.replace(os.sep, "/")
    assert tree(elsewhere) == before


def test_a_file_in_the_way_of_a_folder_fails_that_file(recipe, tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "x.dcm").write_bytes(dicom(1))
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_bytes(b"a file, not a folder")
    code, _, err = run("run", "--recipe", recipe, "--input", src, "--output", out, "--jobs", "1")
    assert code == 1 and "holds a file at 'sub' where a folder is needed" in err
    assert (out / "sub").read_bytes() == b"a file, not a folder"


def test_a_link_at_the_output_name_is_kept_then_replaced_never_followed(recipe, tmp_path, elsewhere):
    src = tmp_path / "in"
    src.mkdir()
    (src / "x.dcm").write_bytes(dicom(1))
    out = tmp_path / "out"
    out.mkdir()
    (out / "x.dcm").symlink_to(elsewhere / "victim.dcm")
    before = tree(elsewhere)
    code, stdout, _ = run("run", "--recipe", recipe, "--input", src, "--output", out, "--jobs", "1")
    assert code == 0 and "1 skipped" in stdout and "use --overwrite" in stdout
    assert (out / "x.dcm").is_symlink() and tree(elsewhere) == before
    code, stdout, err = run("run", "--recipe", recipe, "--input", src, "--output", out, "--jobs", "1", "--overwrite")
    assert code == 0, err
    assert not (out / "x.dcm").is_symlink() and (out / "x.dcm").is_file()  # the link itself was replaced
    assert str(pydicom.dcmread(out / "x.dcm").PatientName) == "ANONYMOUS"
    assert tree(elsewhere) == before


def test_a_link_at_the_output_name_to_the_input_is_replaced_not_written_through(recipe, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    original = dicom(1)
    (src / "x.dcm").write_bytes(original)
    out = tmp_path / "out"
    out.mkdir()
    (out / "x.dcm").symlink_to(src / "x.dcm")
    code, _, err = run("run", "--recipe", recipe, "--input", src, "--output", out, "--jobs", "1", "--overwrite")
    assert code == 0, err
    assert (src / "x.dcm").read_bytes() == original
    assert not (out / "x.dcm").is_symlink()


def test_a_manifest_that_is_a_link_is_refused(recipe, tmp_path, elsewhere):
    src = tmp_path / "in"
    src.mkdir()
    (src / "x.dcm").write_bytes(dicom(1))
    out = tmp_path / "out"
    out.mkdir()
    (out / engine.MANIFEST_RECORDS).symlink_to(elsewhere / "victim.dcm")
    before = tree(elsewhere)
    code, _, err = run("run", "--recipe", recipe, "--input", src, "--output", out, "--jobs", "1")
    assert code == 2 and "is a symbolic link: not followed" in err
    assert tree(elsewhere) == before and not (out / "x.dcm").exists()


def test_a_linked_quarantine_folder_is_not_followed(tmp_path, elsewhere):
    recipe = tmp_path / "hold.dicom"
    recipe.write_text(HOLD_RECIPE, encoding="utf-8")
    src = tmp_path / "in"
    src.mkdir()
    (src / "x.dcm").write_bytes(dicom(1))
    out = tmp_path / "out"
    out.mkdir()
    (out / engine.QUARANTINE_DIR).symlink_to(elsewhere, target_is_directory=True)
    before = tree(elsewhere)
    code, _, err = run("run", "--recipe", recipe, "--input", src, "--output", out, "--jobs", "1", "--quarantine", "hold")
    assert code == 1 and "symbolic link at 'quarantine'" in err
    assert tree(elsewhere) == before


def test_the_output_folder_itself_may_be_a_link(recipe, tmp_path):
    """The user names the output folder: a link there is theirs to choose, and followed."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "x.dcm").write_bytes(dicom(1))
    real = tmp_path / "real-out"
    real.mkdir()
    (tmp_path / "out").symlink_to(real, target_is_directory=True)
    code, _, err = run("run", "--recipe", recipe, "--input", src, "--output", tmp_path / "out", "--jobs", "1")
    assert code == 0, err
    assert (real / "x.dcm").is_file()


def test_a_dangling_output_link_is_refused(recipe, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "x.dcm").write_bytes(dicom(1))
    (tmp_path / "out").symlink_to(tmp_path / "nowhere", target_is_directory=True)
    code, _, err = run("run", "--recipe", recipe, "--input", src, "--output", tmp_path / "out")
    assert code == 2 and "symbolic link to a folder that does not exist" in err
    assert not (tmp_path / "nowhere").exists()


# =========================================================================== names that look like URLs


@pytest.mark.parametrize("output", ["s3://bucket/out", "simplecache::s3://bucket/out", "memory://out"])
def test_an_output_url_is_refused(recipe, tmp_path, output, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "in"
    src.mkdir()
    (src / "x.dcm").write_bytes(dicom(1))
    code, _, err = run("run", "--recipe", recipe, "--input", src, "--output", output)
    assert code == 2 and "is a URL: outputs go to a local folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "recipe.dicom"]  # no 's3:' folder made


def test_local_names_that_look_like_urls_stay_local(recipe, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = Path("s3:")
    (src / "bucket").mkdir(parents=True)
    (src / "bucket" / "file:x.dcm").write_bytes(dicom(1))
    (src / "bucket" / "memory::y.dcm").write_bytes(dicom(2))
    code, _, err = run("run", "--recipe", recipe, "--input", "s3:", "--output", "out", "--jobs", "1")
    assert code == 0, err
    assert sorted(p.relative_to("out").as_posix() for p in Path("out").rglob("*.dcm")) == ["bucket/file:x.dcm", "bucket/memory::y.dcm"]
