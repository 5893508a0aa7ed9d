"""OCR: burned-in text found, blanked and proven gone (deidlang/ocr, docs/pixels.md).

Tesseract (tesserocr and the English language data) is required in CI (.ci/run
installs tesseract-ocr-eng and the fonts): there a missing engine fails these
tests instead of skipping them. The corpus is generated (tests/ocr_corpus.py);
its size here keeps the OCR tests to about a minute on 2 cores; the larger
evaluation is benchmarks/ocr_eval.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import ocr_corpus
import pydicom
import pytest
from pydicom.dataset import Dataset

from deidlang.ocr import Line, Settings, Word, register, render
from deidlang.ocr import clean as ocr_clean
from deidlang.ocr.match import TextMatcher
from deidlang.privacy import identifiers as verify
from deidlang.runtime import patterns

DEIDC = [sys.executable, "-m", "deidlang"]


def need_ocr():
    try:
        from deidlang.ocr.options import require

        require(Settings())
    except Exception as err:  # noqa: BLE001
        if os.environ.get("CI"):
            pytest.fail(f"OCR is not usable ({err}): CI must install tesserocr, scipy and tesseract-ocr-eng")
        pytest.skip(f"OCR is not usable here: {err}")


def run(*args, **kw):
    return subprocess.run([*DEIDC, *args], capture_output=True, text=True, **kw)


# --------------------------------------------------------------------------- rendering


def _mono(values, photometric="MONOCHROME2", **elements) -> Dataset:
    ds = Dataset()
    ds.PhotometricInterpretation = photometric
    ds.SamplesPerPixel = 1
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    for k, v in elements.items():
        setattr(ds, k, v)
    return ds


def test_monochrome1_shows_low_values_white():
    frame = np.array([[0, 4095]], dtype=np.uint16)
    shown = render.to_display(frame, _mono(frame, "MONOCHROME1"))
    assert shown.tolist() == [[255, 0]]


def test_the_window_and_rescale_decide_what_is_shown():
    frame = np.array([[0, 1000, 1100, 4000]], dtype=np.uint16)
    ds = _mono(frame, RescaleSlope=1, RescaleIntercept=-1024, WindowCenter=26, WindowWidth=200)
    shown = render.to_display(frame, ds)
    assert shown[0, 0] == 0 and shown[0, 3] == 255  # outside the window: black, white
    assert 0 < shown[0, 2] < 255  # 1100 - 1024 = 76: inside the window


def test_multi_frame_sampling_takes_first_and_last():
    assert render.sample(5, 8) == [0, 1, 2, 3, 4]
    picked = render.sample(100, 8)
    assert len(picked) == 8 and picked[0] == 0 and picked[-1] == 99


# --------------------------------------------------------------------------- matching


def _header(**elements) -> Dataset:
    ds = Dataset()
    for k, v in elements.items():
        setattr(ds, k, v)
    return ds


def test_ocr_slips_still_match_the_header_values():
    ds = _header(
        PatientName="OKAFOR^LUCILLE", PatientID="468036060", PatientBirthDate="19650626", AccessionNumber="A19386279", InstitutionName="HOLLOWAY IMAGING"
    )
    matcher = TextMatcher(verify.harvest(ds), generic=False)
    for text, kind in (
        ("OKAFOR*LUCILLE", "PatientName"),  # the caret read as a star
        ("Name: OKAF0R LUCILLE", "PatientName"),  # O read as 0
        ("MRN:468036O60", "PatientID"),  # glued to its label, O for 0
        ("DOB 1965-69-26", "PatientBirthDate (date)"),  # the month misread
        ("26/06/1965", "PatientBirthDate (date)"),
        ("LOWAY IMAGING", "InstitutionName"),  # the start of a word lost
        ("Acc# A19386279", "AccessionNumber"),
    ):
        kinds = {f.kind for f in matcher.find(text)}
        assert any(k.startswith(kind) for k in kinds), (text, kinds)
    assert not matcher.find("LYMPH NODE 3.2 cm")


def test_generic_shapes_without_a_header():
    matcher = TextMatcher((), generic=True)
    assert {f.kind for f in matcher.find("SMITH^JOHN")} == {"a Last^First name"}
    assert "a date" in {f.kind for f in matcher.find("scan 12 Mar 2019")}
    assert "a long digit string" in {f.kind for f in matcher.find("ID 0047431395")}
    assert not matcher.find("TIS 0.4 MI 0.8 5 cm")


def test_safe_harbor_shapes():
    text = "call 555-123-4567 or mail jo@example.org, zip 02139, host 10.1.2.3, ssn 123-45-6789"
    kinds = {kind for _, _, kind in patterns.find(text, patterns.SAFE_HARBOR)}
    assert {"a telephone number", "an e-mail address", "a ZIP code", "an IP address", "a social security number"} <= kinds
    assert patterns.scrub(text) == "call or mail , zip , host , ssn"


def test_the_keep_list_keeps_markers_and_scales_only():
    s = Settings()
    assert s.keeps("L") and s.keeps("5") and s.keeps("2.5cm") and s.keeps("10mm")
    assert not s.keeps("SMITH") and not s.keeps("1234567")


# --------------------------------------------------------------------------- the corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    need_ocr()
    folder = tmp_path_factory.mktemp("ocr-corpus")
    items = ocr_corpus.build(folder, 11, seed=13)
    settings = Settings()
    results = [ocr_corpus.evaluate(item, settings) for item in items]
    return folder, items, results


def test_the_corpus_covers_what_the_issue_names(corpus):
    _folder, items, _results = corpus
    kinds = " ".join(i.kind for i in items)
    for word in ("MONOCHROME1", "MONOCHROME2", "RGB", "PALETTE", "YBR", "multi-frame", "16-bit", "8-bit", "RLE", "JPEG"):
        assert word in kinds
    sizes = {d.size for i in items for d in i.lines}
    assert min(sizes) <= 10 and max(sizes) >= 32
    assert {d.contrast for i in items for d in i.lines} == set(ocr_corpus.CONTRASTS)
    assert {d.font.split("-")[0][:4] for i in items for d in i.lines} >= {"Deja", "Libe"}
    assert sum(i.text_free for i in items) == len(ocr_corpus.available_sources())


def test_text_free_images_are_left_alone(corpus):
    _folder, items, results = corpus
    changed = [r.item.path for r in results if r.item.text_free and r.changed]
    assert not changed  # target: at most 2% of text-free images changed


def test_recall_of_identifying_lines(corpus):
    """Measured, and held as a floor: found (OCR read a line over it, or the text detector
    found one) and removed whole (98% of its ink blanked) for lines of 12 pixels and
    taller. The issue's target is 95%; benchmarks/ocr_eval.py measured 99.4% found and
    95.5% removed whole on 110 images (docs/pixels.md); here 11 images, a margin below."""
    _folder, _items, results = corpus
    tall = [line for r in results for line in r.lines if line.line.size >= 12]
    found = sum(line.found for line in tall) / len(tall)
    removed = sum(line.removed >= 0.98 for line in tall) / len(tall)
    assert found >= 0.93, found
    assert removed >= 0.90, removed


def test_no_identifying_text_is_read_again_in_what_is_released(corpus):
    """The proof: every cleaned output read again by OCR shows no identifying text
    (those that would have are held back: OcrReport.passed is false)."""
    _folder, items, results = corpus
    from deidlang.ocr.report import inspect_dataset

    released = 0
    for item, result in zip(items, results):
        if item.text_free or not result.proof_passed or released >= 5:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(item.path)
        harvest = verify.harvest(ds)
        report = ocr_clean.clean(ds, (), harvest, Settings())
        assert report.passed
        again = inspect_dataset(ds, harvest, Settings())
        assert not [line for frame in again for line in frame.lines if line.identifying], item.path
        released += 1
    assert released


# --------------------------------------------------------------------------- the proof fails: quarantine


class _AlwaysText:
    """An engine that reads the patient's name everywhere (the proof cannot pass)."""

    name = "always-text"

    def read(self, image):  # on the page of text places: the first place starts 16 pixels down
        return [Line((Word("OKAFOR^LUCILLE", (20, 20, 60, 30), 99.0),))]


register("always-text", lambda: _AlwaysText())


def test_a_file_whose_proof_fails_is_held_back_and_not_marked_clean(tmp_path):
    from deidlang import compile as compile_recipe
    from deidlang import engine as batch

    need_ocr()
    source = tmp_path / "in"
    item = ocr_corpus.build(source, 7, seed=3, text_free=False)[6]  # MR with text: places to read
    for other in source.iterdir():
        if str(other) != item.path:
            other.unlink()
    ds = pydicom.dcmread(item.path)
    ds.PatientName = "OKAFOR^LUCILLE"
    ds.save_as(item.path)
    program = compile_recipe("FORMAT dicom\n%header\nREPLACE PatientName deid_func:dummy\n", path="r.dicom")
    options = batch.Options(clean_pixels=True, output=str(tmp_path / "out"), ocr=Settings(engine="always-text"))
    job = batch.Job(programs=(program,), output=str(tmp_path / "out"), inputs=(str(source),), options=options, jobs=1)
    results = list(batch.run(job))
    assert [r.status for r in results] == ["quarantined"] and results[0].ocr == "failed"
    held = pydicom.dcmread(tmp_path / "out" / "quarantine" / os.path.basename(item.path))
    assert held.BurnedInAnnotation == "YES"
    assert "113101" not in [i.CodeValue for i in held.get("DeidentificationMethodCodeSequence", [])]


# --------------------------------------------------------------------------- the text detector


class _Blind:
    """An engine that reads nothing: only the text detector finds text."""

    name = "blind"

    def read(self, image):
        return []


register("blind", lambda: _Blind())


def test_text_the_engine_cannot_read_is_blanked_with_scope_all_only(tmp_path):
    """A line of characters the detector finds is blanked by --ocr-scope all even when the
    engine reads nothing in it; --ocr-scope matched blanks only what identifies."""
    need_ocr()
    item = ocr_corpus.build(tmp_path, 10, seed=13, text_free=False)[9]  # the deflated secondary capture
    tall = [d for d in item.lines if d.size >= 16]
    assert tall
    blind_all = ocr_corpus.evaluate(item, Settings(engine="blind"))
    assert all(line.removed >= 0.98 for line in blind_all.lines if line.line.size >= 16), [(ln.line.size, ln.removed) for ln in blind_all.lines]
    blind_matched = ocr_corpus.evaluate(item, Settings(engine="blind", scope="matched"))
    assert blind_matched.changed == 0


def test_what_the_detector_still_sees_where_identifying_text_was_fails_the_proof():
    from deidlang.ocr.detect import FrameText, TextLine
    from deidlang.ocr.match import Finding

    name = TextLine(0, (10, 10, 200, 30), ((10, 10, 200, 30),), 90.0, "OKAFOR^LUCILLE", (Finding(0, 14, "PatientName"),), ((0, 14),))
    first = (FrameText(0, (name,)),)
    where = [line.box for frame in first for line in frame.lines if line.identifying]
    cleaned = FrameText(0, (), detected=((150, 12, 230, 28),), textlike=((150, 12, 230, 28),))
    elsewhere = FrameText(0, (), detected=((300, 12, 380, 28),), textlike=((300, 12, 380, 28),))
    assert [line.kinds() for line in ocr_clean._left_over((cleaned,), where)] == [[ocr_clean.LEFT_OVER]]
    assert ocr_clean._left_over((elsewhere,), where) == []


def test_a_detector_line_is_kept_only_when_kept_words_explain_it():
    from deidlang.ocr.detect import FrameText, TextLine

    scale = TextLine(0, (10, 10, 60, 24), ((10, 10, 22, 24), (28, 10, 58, 24)), 90.0, "5 cm", (), ((0, 1), (2, 4)), (True, True))
    misread = TextLine(0, (100, 10, 200, 24), ((100, 10, 140, 24),), 90.0, "202", (), ((0, 3),), (True,))
    frame = FrameText(0, (scale, misread), detected=((10, 10, 60, 24), (100, 10, 200, 24)), textlike=((10, 10, 60, 24), (100, 10, 200, 24)))
    blanked = [r.box for r in ocr_clean.regions_for([frame], Settings())]
    assert not any(ocr_clean._meets(box, (10, 10, 60, 24)) for box in blanked)  # the scale mark stays
    assert any(box[0] <= 100 and box[2] >= 200 for box in blanked)  # the date read as "202" goes whole
    assert ocr_clean.regions_for([frame], Settings(scope="matched")) == []


@pytest.mark.parametrize("name", ["CT_small.dcm", "examples_overlay.dcm", "693_J2KI.dcm"])
def test_real_frames_without_text_are_left_alone(name):
    from pydicom.data import get_testdata_file

    from deidlang import pixels

    need_ocr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(get_testdata_file(name))
        before = pixels.masked_array(ds, ()).copy()
        report = ocr_clean.clean(ds, (), verify.harvest(ds), Settings())
        after = pixels.masked_array(ds, ())
    assert report.passed and not report.blanked
    assert np.array_equal(before, after)


# --------------------------------------------------------------------------- the commands


@pytest.fixture(scope="module")
def few(tmp_path_factory):
    need_ocr()
    folder = tmp_path_factory.mktemp("ocr-few")
    return folder, ocr_corpus.build(folder, 4, seed=5, text_free=False)


def test_inspect_ocr_lists_text_and_quotes_it_only_when_asked(few, tmp_path):
    folder, items = few
    no_filters = tmp_path / "none.dicom"
    no_filters.write_text("FORMAT dicom\n%header\nREMOVE PatientName\n")
    plain = run("inspect", "--recipe", str(no_filters), "--ocr", "--input", str(folder), "--format", "json")
    assert plain.returncode == 0, plain.stderr
    report = json.loads(plain.stdout)
    lines = [line for f in report["flagged"] for frame in f["ocr"] for line in frame["lines"]]
    assert lines and any(line["identifying"] for line in lines)
    assert all("text" not in line for line in lines)
    values = [str(pydicom.dcmread(i.path).PatientID) for i in items]
    assert not any(v in plain.stdout for v in values)
    shown = json.loads(run("inspect", "--recipe", str(no_filters), "--ocr", "--show-values", "--input", str(folder), "--format", "json").stdout)
    assert all("text" in line for f in shown["flagged"] for frame in f["ocr"] for line in frame["lines"])


def test_run_with_ocr_marks_proven_files_and_verify_pixels_agrees(few, tmp_path):
    folder, items = few
    recipe = tmp_path / "header-only.dicom"  # no %filter: only OCR finds the text
    recipe.write_text("FORMAT dicom\n%header\nREMOVE PatientName\n")
    out = tmp_path / "out"
    done = run("run", "--recipe", str(recipe), "--input", str(folder), "--output", str(out), "--clean-pixels", "--ocr", "--jobs", "1")
    assert done.returncode == 0, done.stderr
    assert "OCR: 4 files read" in done.stdout
    written = [p for p in out.rglob("*.dcm") if "quarantine" not in p.parts]
    for path in written:
        ds = pydicom.dcmread(path)
        assert "113101" in [i.CodeValue for i in ds.DeidentificationMethodCodeSequence]
        assert ds.BurnedInAnnotation == "NO"
    clean = run("verify", "--pixels", "--original", str(folder), "--deidentified", str(out))
    assert "<pixel data>" not in clean.stdout, clean.stdout
    plain_out = tmp_path / "plain"
    run("run", "--recipe", str(recipe), "--input", str(folder), "--output", str(plain_out), "--jobs", "1")
    leaky = run("verify", "--pixels", "--original", str(folder), "--deidentified", str(plain_out))
    assert leaky.returncode == 1 and "<pixel data>" in leaky.stdout


def test_ocr_needs_clean_pixels():
    done = run("run", "--ocr", "--output", "/nonexistent-ocr-out")
    assert done.returncode == 2 and "--ocr goes with --clean-pixels" in done.stderr


def test_outputs_are_as_valid_as_their_inputs(few, tmp_path):
    from test_validity import dciodvfy_errors, need_dciodvfy, new_errors

    need_dciodvfy()
    folder, items = few
    out = tmp_path / "out"
    done = run("run", "--input", str(folder), "--output", str(out), "--clean-pixels", "--ocr", "--jobs", "1")
    assert done.returncode == 0, done.stderr
    for item in items:
        name = os.path.basename(item.path)
        target = next(p for p in out.rglob(name))
        added = new_errors(item.path, str(target), dciodvfy_errors(item.path), dciodvfy_errors(target))
        assert not added, (name, added)
