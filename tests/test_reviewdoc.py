"""``deidc doc``: the review document, pinned by snapshots (tests/snapshots/doc/).

Regenerate after a deliberate change with::

    UPDATE_SNAPSHOTS=1 python -m pytest tests/test_reviewdoc.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from deidlang.tools import reviewdoc

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).parent / "snapshots" / "doc"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"
RECIPE = "tests/snapshots/doc/review.dicom"


def deidc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deidlang", *args], capture_output=True, text=True, cwd=ROOT, timeout=180)


def snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing snapshot {path}; run with UPDATE_SNAPSHOTS=1 to create it"
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; if on purpose, run with UPDATE_SNAPSHOTS=1"


@pytest.mark.parametrize(
    "name, args",
    [
        ("review.md", [RECIPE]),
        ("review.html", [RECIPE, "--format", "html"]),
        ("review-retain-uids.md", ["deidlang/data/options/retain-uids.dicom", RECIPE, "--option", "retain-uids"]),
    ],
)
def test_snapshots(name, args):
    r = deidc("doc", *args)
    assert r.returncode == 0, r.stderr
    snapshot(name, r.stdout)
    assert deidc("doc", *args).stdout == r.stdout  # stable: the same bytes every time


def test_content_says_what_each_attribute_gets_and_by_which_line():
    text = (SNAPSHOTS / "review.md").read_text()
    row = next(line for line in text.splitlines() if "| PatientSex |" in line)
    assert "kept" in row and "review.dicom:14 KEEP PatientSex" in row and "CONTRADICTS" in row
    row = next(line for line in text.splitlines() if "| StudyInstanceUID |" in line)
    assert "replaced by a consistent new UID" in row and "as the profile asks" in row
    row = next(line for line in text.splitlines() if "| SOPInstanceUID |" in line)
    assert "CONTRADICTS" in row
    assert "### Retain Patient Characteristics Option (retain-patient-characteristics)" in text
    assert "| `tests/snapshots/doc/review.dicom` | 20 | `REMOVE startswith:Institution` |" in text
    assert "contains Modality US; and equals BurnedInAnnotation YES or missing ImageType | blank 0,0,640,40" in text
    options = (SNAPSHOTS / "review-retain-uids.md").read_text()
    assert "- Retain UIDs Option (retain-uids, CID 7050 code 113110)" in options
    row = next(line for line in options.splitlines() if "| StudyInstanceUID |" in line)
    assert "| K |" in row and "retain-uids.dicom" in row


def test_html_is_well_formed():
    class Check(HTMLParser):
        def __init__(self):
            super().__init__()
            self.stack: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag not in ("meta", "br"):
                self.stack.append(tag)

        def handle_endtag(self, tag):
            assert self.stack and self.stack[-1] == tag, (tag, self.stack[-3:])
            self.stack.pop()

    parser = Check()
    parser.feed((SNAPSHOTS / "review.html").read_text())
    assert parser.stack == []


def test_recipes_with_errors_get_no_document(tmp_path):
    bad = tmp_path / "bad.dicom"
    bad.write_text("FORMAT dicom\n%header\nBLNK PatientName\n")
    r = deidc("doc", str(bad))
    assert r.returncode == 1 and r.stdout == ""
    assert "E101" in r.stderr and "no review document" in r.stderr
    with pytest.raises(reviewdoc.ReviewError):
        reviewdoc.build([("bad.dicom", bad.read_text())])


def test_output_file(tmp_path):
    out = tmp_path / "review.html"
    r = deidc("doc", RECIPE, "--format", "html", "--output", str(out))
    assert r.returncode == 0 and r.stdout == ""
    assert out.read_text() == (SNAPSHOTS / "review.html").read_text()
