"""``deidc inspect``, ``deidc clean`` and ``deidc run --clean-pixels / --quarantine``.

The demo data's flagged files are the secondary capture and the two
ultrasounds (the default recipe's blacklist); the other tests build small
images with known pixels (``fixtures.make_P``: 6 x 8, every pixel 9).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixtures  # noqa: E402

from deidlang import cli
from deidlang.engine import naming  # noqa: E402
from deidlang.runtime import keys

Image = pytest.importorskip("PIL.Image")

DEMO_FLAGGED = [
    "patient-002/sc-report/ot-001.dcm",
    "patient-002/us-obstetric/us-001.dcm",
    "patient-002/us-obstetric/us-002.dcm",
]
PHI = [b"ORCHARD", b"MAREN", b"QUILLFEATHER", b"FMH-204418", b"19620314", b"Quarry Hill", b"Fairhaven Memorial"]

BOX_RECIPE = """FORMAT dicom

%filter graylist
LABEL Box on CT
  contains Modality CT
  coordinates 1,1,5,4
  keepcoordinates 2,2,3,3

%filter blacklist
LABEL Screen capture
  contains ImageType SCREEN SAVE
  coordinates all
LABEL Flagged, no regions
  contains Modality MR

%header
BLANK PatientName
"""


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_p(path: Path, **elements) -> Path:
    """Fixture P (6 x 8 MONOCHROME2, every pixel 9, PatientName Doe^John) with changes."""
    ds = fixtures.make_P()
    for keyword, value in elements.items():
        setattr(ds, keyword, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    return fixtures.write_dataset(ds, path)


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "box.dicom"
    path.write_text(BOX_RECIPE, encoding="utf-8")
    return path


@pytest.fixture
def scans(tmp_path: Path) -> Path:
    """ct.dcm (box), screen.dcm (all), mr.dcm (flagged without regions), plain.dcm (CR, clean), notes.txt."""
    root = tmp_path / "scans"
    write_p(root / "ct.dcm")
    write_p(root / "screen.dcm", Modality="OT", ImageType=["DERIVED", "SECONDARY", "SCREEN SAVE"])
    write_p(root / "mr.dcm", Modality="MR")
    write_p(root / "sub" / "plain.dcm", Modality="CR")
    (root / "notes.txt").write_text("not dicom", encoding="utf-8")
    return root


BOX_BLANK = np.zeros((6, 8), dtype=bool)
BOX_BLANK[1:4, 1:5] = True
BOX_BLANK[2, 2] = False


# =========================================================================== inspect


class TestInspect:
    def test_table_on_the_demo_data_with_the_default_recipe(self, capsys):
        code, out, err = run(capsys, "inspect")
        assert code == 0, err
        for name in DEMO_FLAGGED:
            assert name in out
        assert "patient-001" not in out  # clean files are counted, not listed
        assert "10 files: 3 flagged, 7 clean, 0 unreadable" in out
        assert "blacklist: verdict for 3 files, matches 3 files" in out
        assert "graylist: verdict for 0 files" in out
        assert "Ultrasound without calibrated regions" in out and "Modality contains US" in out
        assert "blank all" in out
        assert not [s for s in PHI if s.decode("latin-1") in out + err]

    def test_json(self, capsys, scans, recipe):
        code, out, err = run(capsys, "inspect", "--recipe", recipe, "--input", scans, "--format", "json")
        assert code == 1, err  # notes.txt cannot be read
        report = json.loads(out)
        flagged = {f["file"].replace("\\", "/").split("scans/")[-1]: f for f in report["flagged"]}
        assert sorted(flagged) == ["ct.dcm", "mr.dcm", "screen.dcm"]
        ct = flagged["ct.dcm"]
        assert ct["verdict"] == "graylist"
        assert ct["matches"] == [
            {
                "group": "graylist",
                "label": "Box on CT",
                "criteria": ["Modality contains CT"],
                "regions": [{"action": "blank", "box": [1, 1, 5, 4]}, {"action": "keep", "box": [2, 2, 3, 3]}],
                "recipe": f"{recipe}:4",
            }
        ]
        assert flagged["screen.dcm"]["matches"][0]["regions"] == [{"action": "blank", "box": None}]
        assert flagged["mr.dcm"]["matches"][0]["regions"] == []
        assert [Path(c).name for c in report["clean"]] == ["plain.dcm"]
        assert [Path(u["file"]).name for u in report["unreadable"]] == ["notes.txt"]
        assert "not a DICOM file" in report["unreadable"][0]["reason"]
        assert report["summary"] == {
            "files": 5,
            "flagged": 3,
            "clean": 1,
            "unreadable": 1,
            "groups": {"graylist": {"verdict": 1, "matched": 1}, "blacklist": {"verdict": 2, "matched": 2}},
        }
        assert "Doe^John" not in out

    def test_table_shows_keep_regions_and_unreadable_files(self, capsys, scans, recipe):
        code, out, _ = run(capsys, "inspect", "--recipe", recipe, "--input", scans)
        assert code == 1  # an input could not be read
        assert "blank 1,1,5,4, keep 2,2,3,3" in out
        assert "unreadable: " in out and "notes.txt: not a DICOM file" in out
        header = out.splitlines()[0].split()
        assert header == ["FILE", "VERDICT", "GROUP", "LABEL", "CRITERIA", "REGIONS"]

    def test_recipe_without_filters(self, capsys, scans, tmp_path):
        plain = tmp_path / "plain.dicom"
        plain.write_text("FORMAT dicom\n%header\nBLANK PatientName\n", encoding="utf-8")
        code, out, err = run(capsys, "inspect", "--recipe", plain, "--input", scans)
        assert code == 1
        assert "no %filter section" in err and "0 flagged, 4 clean, 1 unreadable" in out
        (Path(scans) / "notes.txt").unlink()
        code, out, _ = run(capsys, "inspect", "--recipe", plain, "--input", scans)
        assert code == 0 and "0 flagged, 4 clean, 0 unreadable" in out

    def test_recipe_errors_exit_1_and_bad_usage_2(self, capsys, scans, tmp_path):
        bad = tmp_path / "bad.dicom"
        bad.write_text("FORMAT dicom\n%filter f\nLABEL x\n  contains Modality\n", encoding="utf-8")
        code, out, err = run(capsys, "inspect", "--recipe", bad, "--input", scans)
        assert code == 1 and "E303" in err and out == ""
        assert run(capsys, "inspect", "--format", "xml")[0] == 2
        assert run(capsys, "inspect", "--input", tmp_path / "missing")[0] == 1  # an input that cannot be right
        (tmp_path / "empty").mkdir()
        code, out, err = run(capsys, "inspect", "--input", tmp_path / "empty")
        assert code == 1 and "no input files found" in err


# =========================================================================== run --clean-pixels


class TestRunCleanPixels:
    def test_header_and_pixels_in_one_pass(self, capsys, scans, recipe, tmp_path):
        out_dir = tmp_path / "out"
        code, out, err = run(capsys, "run", "--recipe", recipe, "--input", scans, "--output", out_dir, "--clean-pixels", "--jobs", "1")
        assert code == 1  # notes.txt is not DICOM
        assert "5 files processed: 4 written, 0 skipped, 1 failed" in out
        assert "pixels: 2 files cleaned, 2 unchanged" in out
        ct = pydicom.dcmread(out_dir / "ct.dcm")
        assert ct.PatientName == "" and ct.BurnedInAnnotation == "NO"
        arr = ct.pixel_array
        assert (arr[BOX_BLANK] == 0).all() and (arr[~BOX_BLANK] == 9).all()
        assert not pydicom.dcmread(out_dir / "screen.dcm").pixel_array.any()
        mr = pydicom.dcmread(out_dir / "mr.dcm")
        assert (mr.pixel_array == 9).all() and "BurnedInAnnotation" not in mr
        assert "mr.dcm: flagged by 'blacklist' (label 'Flagged, no regions') but no region blanks anything" in err
        plain = pydicom.dcmread(out_dir / "sub" / "plain.dcm")
        assert (plain.pixel_array == 9).all() and "BurnedInAnnotation" not in plain

    def test_filters_see_the_original_header(self, capsys, tmp_path):
        """The header recipe removes Modality; the filter still flags the file."""
        recipe = tmp_path / "r.dicom"
        recipe.write_text(
            "FORMAT dicom\n%filter g\nLABEL ct\n  contains Modality CT\n  coordinates all\n%header\nREMOVE Modality\n",
            encoding="utf-8",
        )
        write_p(tmp_path / "in" / "ct.dcm")
        code, _, err = run(capsys, "run", "--recipe", recipe, "--input", tmp_path / "in", "--output", tmp_path / "out", "--clean-pixels")
        assert code == 0, err
        ds = pydicom.dcmread(tmp_path / "out" / "ct.dcm")
        assert "Modality" not in ds and not ds.pixel_array.any()

    def test_without_the_option_pixels_are_untouched(self, capsys, scans, recipe, tmp_path):
        code, out, _ = run(capsys, "run", "--recipe", recipe, "--input", scans / "ct.dcm", "--output", tmp_path / "out")
        assert code == 0 and "pixels:" not in out
        assert (pydicom.dcmread(tmp_path / "out" / "ct.dcm").pixel_array == 9).all()

    def test_undecodable_flagged_pixels_fail_and_are_not_written(self, capsys, recipe, tmp_path):
        source = get_testdata_file("JPEG-lossy.dcm", download=False)
        if source is None:
            pytest.skip("pydicom's JPEG-lossy.dcm is not installed")
        ds = pydicom.dcmread(source)
        (tmp_path / "in").mkdir()
        ds.Modality = "CT"
        ds.save_as(tmp_path / "in" / "flagged.dcm")
        ds.Modality = "XA"
        ds.save_as(tmp_path / "in" / "clean.dcm")
        out_dir = tmp_path / "out"
        code, out, err = run(capsys, "run", "--recipe", recipe, "--input", tmp_path / "in", "--output", out_dir, "--clean-pixels")
        assert code == 1
        assert "flagged.dcm: pixels not cleaned, file not written: cannot decode pixel data in 'JPEG Extended" in err
        assert not (out_dir / "flagged.dcm").exists()
        assert (out_dir / "clean.dcm").exists()  # nothing to blank: not decoded, written as it was
        assert "2 files processed: 1 written, 0 skipped, 1 failed" in out

    def test_preserve_compression(self, capsys, recipe, tmp_path):
        from pydicom.uid import RLELossless

        ds = fixtures.make_P()
        ds.Rows, ds.Columns = 40, 48
        ds.PixelData = bytes([9]) * (40 * 48)
        ds.compress(RLELossless, generate_instance_uid=False)
        (tmp_path / "in").mkdir()
        fixtures.write_dataset(ds, tmp_path / "in" / "ct.dcm")
        for flag, syntax in (("--preserve-compression", RLELossless), (None, pydicom.uid.ExplicitVRLittleEndian)):
            out_dir = tmp_path / f"out-{bool(flag)}"
            argv = ["run", "--recipe", recipe, "--input", tmp_path / "in", "--output", out_dir, "--clean-pixels"]
            code, _, err = run(capsys, *argv, *([flag] if flag else []))
            assert code == 0, err
            out = pydicom.dcmread(out_dir / "ct.dcm")
            assert out.file_meta.TransferSyntaxUID == syntax
            arr = out.pixel_array
            assert (arr[:6, :8][BOX_BLANK] == 0).all() and int((arr == 0).sum()) == int(BOX_BLANK.sum())

    def test_lossy_sources_are_written_uncompressed_with_one_note(self, capsys, recipe, tmp_path):
        source = get_testdata_file("SC_rgb_jpeg_dcmtk.dcm", download=False)
        if source is None:
            pytest.skip("pydicom's SC_rgb_jpeg_dcmtk.dcm is not installed")
        (tmp_path / "in").mkdir()
        for name in ("a.dcm", "b.dcm"):
            ds = pydicom.dcmread(source)
            ds.Modality = "CT"
            ds.save_as(tmp_path / "in" / name)
        code, out, err = run(
            capsys,
            "run",
            "--recipe",
            recipe,
            "--input",
            tmp_path / "in",
            "--output",
            tmp_path / "out",
            "--clean-pixels",
            "--preserve-compression",
            "--jobs",
            "1",
        )
        assert code == 0, err
        assert err.count("'JPEG Baseline (Process 1)' is lossy") == 1
        assert "pixels: 2 files cleaned, 0 unchanged; 2 written uncompressed" in out
        out_ds = pydicom.dcmread(tmp_path / "out" / "b.dcm")
        assert out_ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
        assert out_ds.PhotometricInterpretation == "RGB" and (out_ds.pixel_array[:6, :8][BOX_BLANK] == 0).all()

    def test_recipe_without_filters_says_so(self, capsys, scans, tmp_path):
        plain = tmp_path / "plain.dicom"
        plain.write_text("FORMAT dicom\n%header\nBLANK PatientName\n", encoding="utf-8")
        code, out, err = run(capsys, "run", "--recipe", plain, "--input", scans / "ct.dcm", "--output", tmp_path / "o", "--clean-pixels")
        assert code == 0 and "no %filter section" in err and "pixels: 0 files cleaned, 1 unchanged" in out


# =========================================================================== quarantine


class TestQuarantine:
    def test_demo_blacklist_is_held_back(self, capsys, tmp_path):
        out_dir = tmp_path / "out"
        code, out, err = run(capsys, "run", "--output", out_dir, "--quarantine", "blacklist", "--jobs", "2")
        assert code == 0, err
        assert "10 files processed: 7 written, 3 quarantined, 0 skipped, 0 failed" in out
        held = sorted(str(p.relative_to(out_dir / "quarantine")).replace("\\", "/") for p in (out_dir / "quarantine").rglob("*.dcm"))
        assert held == DEMO_FLAGGED
        for name in DEMO_FLAGGED:
            assert not (out_dir / name).exists()
            data = (out_dir / "quarantine" / name).read_bytes()
            assert not [s for s in PHI if s in data]  # quarantined files are de-identified too
        report_path = out_dir / "quarantine" / "quarantine.json"
        report = json.loads(report_path.read_text(encoding="utf-8"))
        entry = report["files"]["quarantine/patient-002/us-obstetric/us-001.dcm"]
        assert "input" not in entry  # input paths can name patients: a keyed digest, as in the manifest
        assert entry["input_key"] == naming.input_key(keys.default_key()[0], "patient-002/us-obstetric/us-001.dcm")
        assert entry["verdict"] == "blacklist"
        assert entry["matches"][0]["label"] == "Ultrasound without calibrated regions"
        text = report_path.read_bytes()
        assert not [s for s in PHI if s in text]
        # again, without --overwrite: every output exists, the report keeps its entries
        code, out, _ = run(capsys, "run", "--output", out_dir, "--quarantine", "blacklist")
        assert "0 written, 0 quarantined, 10 skipped" in out
        assert json.loads(report_path.read_text(encoding="utf-8")) == report

    def test_quarantine_with_pixels_and_unknown_group(self, capsys, scans, recipe, tmp_path):
        out_dir = tmp_path / "out"
        code, out, err = run(
            capsys,
            "run",
            "--recipe",
            recipe,
            "--input",
            scans,
            "--output",
            out_dir,
            "--clean-pixels",
            "--quarantine",
            "blacklist",
            "--quarantine",
            "graylst",
        )
        # a mistyped group would hold nothing back: the run stops before writing anything
        assert code == 1 and out == "" and not out_dir.exists()
        assert "--quarantine 'graylst': no recipe has a %filter group of that name" in err
        assert "did you mean 'graylist'?" in err and "nothing was written" in err
        code, out, err = run(
            capsys,
            "run",
            "--recipe",
            recipe,
            "--input",
            scans,
            "--output",
            out_dir,
            "--clean-pixels",
            "--quarantine",
            "blacklist",
        )
        assert code == 1 and "notes.txt: not a DICOM file" in err  # the one file that is not DICOM
        assert "2 quarantined" in out and (out_dir / "quarantine" / "screen.dcm").exists()
        assert "kept their pixels" not in out
        assert (out_dir / "ct.dcm").exists()  # graylist verdict: cleaned, not held back
        assert not pydicom.dcmread(out_dir / "quarantine" / "screen.dcm").pixel_array.any()

    def test_without_clean_pixels_other_flagged_files_keep_their_pixels(self, capsys, scans, recipe, tmp_path):
        code, out, _ = run(capsys, "run", "--recipe", recipe, "--input", scans, "--output", tmp_path / "o", "--quarantine", "blacklist")
        assert "1 written file flagged by other %filter groups kept their pixels" in out
        assert (pydicom.dcmread(tmp_path / "o" / "ct.dcm").pixel_array == 9).all()

    def test_an_input_folder_named_quarantine_does_not_collide(self, capsys, recipe, tmp_path):
        root = tmp_path / "in"
        write_p(root / "quarantine" / "ct.dcm", Modality="CR")
        write_p(root / "ct.dcm")
        code, _, err = run(capsys, "run", "--recipe", recipe, "--input", root, "--output", tmp_path / "out", "--quarantine", "graylist")
        assert code == 0, err
        assert (tmp_path / "out" / "quarantine-input" / "ct.dcm").exists()
        assert (tmp_path / "out" / "quarantine" / "ct.dcm").exists()


# =========================================================================== clean


class TestClean:
    def test_png_previews(self, capsys, scans, recipe, tmp_path):
        out_dir, png = tmp_path / "out", tmp_path / "png"
        code, out, err = run(capsys, "clean", "--recipe", recipe, "--input", scans, "--output", out_dir, "--png", png, "--jobs", "1")
        assert code == 1 and "notes.txt: not a DICOM file" in err
        assert "previews: 4 PNG files" in out
        assert sorted(p.name for p in png.rglob("*.png")) == ["ct-after.png", "ct-before.png", "screen-after.png", "screen-before.png"]
        with Image.open(png / "ct-before.png") as before, Image.open(png / "ct-after.png") as after:
            assert before.size == after.size and before.mode == after.mode == "L"
            b, a = np.asarray(before), np.asarray(after)
        assert (b != a).any() and a.min() == 0
        assert pydicom.dcmread(out_dir / "ct.dcm").PatientName == ""  # header actions applied by default

    def test_pixels_only_leaves_the_header(self, capsys, scans, recipe, tmp_path):
        out_dir = tmp_path / "out"
        code, out, err = run(capsys, "clean", "--recipe", recipe, "--input", scans / "ct.dcm", "--output", out_dir, "--pixels-only")
        assert code == 0, err
        assert "header left as it was (--pixels-only)" in out
        ds = pydicom.dcmread(out_dir / "ct.dcm")
        assert ds.PatientName == "Doe^John" and any(e.tag.is_private for e in ds)
        assert ds.BurnedInAnnotation == "NO" and (ds.pixel_array[BOX_BLANK] == 0).all()

    def test_demo_data_in_parallel_gives_the_same_bytes(self, capsys, tmp_path):
        for jobs in ("1", "2"):
            code, _, err = run(capsys, "clean", "--output", tmp_path / f"j{jobs}", "--png", tmp_path / f"p{jobs}", "--jobs", jobs)
            assert code == 0, err
        one = {str(p.relative_to(tmp_path / "j1")): digest(p) for p in (tmp_path / "j1").rglob("*.dcm")}
        two = {str(p.relative_to(tmp_path / "j2")): digest(p) for p in (tmp_path / "j2").rglob("*.dcm")}
        assert one == two and len(one) == 10
        for name in DEMO_FLAGGED:
            ds = pydicom.dcmread(tmp_path / "j1" / name)
            assert ds.BurnedInAnnotation == "NO" and not ds.pixel_array.any()
        assert len(list((tmp_path / "p2").rglob("*.png"))) == 6

    def test_help_explains_the_header_choice(self, capsys):
        code, out, _ = run(capsys, "clean", "--help")
        assert code == 0 and "--pixels-only" in out and "DicomCleaner" in out


def test_default_recipe_filters_check_clean():
    import deidlang

    text = cli.DEFAULT_RECIPE.read_text(encoding="utf-8")
    assert deidlang.check(text, path=str(cli.DEFAULT_RECIPE)) == []
    program = deidlang.compile(text, path=str(cli.DEFAULT_RECIPE))
    assert [g for g in dict.fromkeys(f.group for f in program.filters)] == ["graylist", "blacklist"]


def test_demo_copy_is_not_changed(tmp_path, capsys):
    demo = tmp_path / "demo"
    shutil.copytree(cli.DEMO_DIR, demo)
    before = {str(p): digest(p) for p in demo.rglob("*.dcm")}
    assert run(capsys, "clean", "--input", demo, "--output", tmp_path / "out")[0] == 0
    assert {str(p): digest(p) for p in demo.rglob("*.dcm")} == before
