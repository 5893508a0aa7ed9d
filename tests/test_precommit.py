"""The pre-commit hooks (.pre-commit-hooks.yaml) through ``pre-commit try-repo``, on a
temporary git repository holding good and bad recipes and a binary DICOM file.

pre-commit installs deidlang from a copy of this working tree into its own
virtualenv (from the package index), once for the whole test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pre_commit")

ROOT = Path(__file__).resolve().parent.parent
GIT = ["git", "-c", "user.name=deidlang tests", "-c", "user.email=tests@deidlang.invalid", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]


def git(*args: str, cwd: Path) -> None:
    subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, timeout=120)


def source_copy(dest: Path) -> Path:
    """This working tree (tracked and new files) as a one-commit repository: try-repo installs
    what is here now, at one revision, so its environment is built once."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True, capture_output=True, timeout=60).stdout
    for name in filter(None, listed.decode().split("\0")):
        src = ROOT / name
        if src.is_file() and not name.startswith(("tests/", "benchmarks/")):
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    git("init", "-q", cwd=dest)
    git("add", "-A", cwd=dest)
    git("commit", "-q", "-m", "deidlang under test", cwd=dest)
    return dest


GOOD = "FORMAT dicom\n\n%header\nREMOVE PatientName\n"
WARNS = "FORMAT dicom\n\n%header\nREMOVE PatientsName\nREMOVE PatientName\n"  # a dead line beside the line that works: W201
ERRORS = "FORMAT dicom\n\n%header\nBLNK PatientName\n"
MESSY = "FORMAT dicom\n%header\n   REMOVE    PatientName\n\n\n\nADD PatientIdentityRemoved   YES\n"


def binary_dicom() -> bytes:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.filebase import DicomBytesIO
    from pydicom.uid import ExplicitVRLittleEndian

    ds = Dataset()
    ds.PatientName = "Fiction^Alice"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.99"
    out = DicomBytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_try_repo(tmp_path: Path):
    src = source_copy(tmp_path / "deidlang")
    work = tmp_path / "project"
    (work / "recipes").mkdir(parents=True)
    (work / "recipes" / "good.dicom").write_text(GOOD)
    (work / "recipes" / "deid.export").write_text(GOOD)
    (work / "recipes" / "warns.dicom").write_text(WARNS)
    (work / "recipes" / "errors.deid").write_text(ERRORS)
    (work / "recipes" / "messy.dicom").write_text(MESSY)
    (work / "scan.dicom").write_bytes(binary_dicom())  # an image, not a recipe
    (work / "notes.txt").write_text("REMOVE PatientsName\n")  # not a recipe
    git("init", "-q", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "recipes", cwd=work)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "PRE_COMMIT_COLOR": "never", "NO_COLOR": "1"}

    def try_repo(hook: str, *files: str) -> subprocess.CompletedProcess:
        selection = ["--files", *files] if files else ["--all-files"]
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(src), hook, *selection],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    r = try_repo("deidc-check")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "recipes/warns.dicom:4:8" in r.stdout and "W201" in r.stdout  # warnings fail: --strict
    assert "recipes/errors.deid:4:1" in r.stdout and "E101" in r.stdout
    assert "scan.dicom" not in r.stdout and "notes.txt" not in r.stdout
    assert "good.dicom" not in r.stdout

    r = try_repo("deidc-check", "recipes/good.dicom", "recipes/deid.export", "recipes/messy.dicom")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Passed" in r.stdout

    r = try_repo("deidc-fmt")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "files were modified by this hook" in r.stdout
    from deidlang.tools.fmt import format_text

    assert (work / "recipes" / "messy.dicom").read_text() == format_text(MESSY)
    assert (work / "recipes" / "good.dicom").read_text() == GOOD
    assert (work / "scan.dicom").read_bytes() == binary_dicom()
    git("add", "-A", cwd=work)
    r = try_repo("deidc-fmt")
    assert r.returncode == 0, r.stdout + r.stderr
