"""Clean Graphics (``--option clean-graphics``, ``deid_func:cleangraphics``).

The basic profile removes every overlay and writes a dummy over every text of a
presentation state's annotations. With the option, graphics stay where they hold no
identifying text: an overlay plane with text-like marks goes with its whole group, the
others stay; annotation, overlay and curve text loses the file's identifying values and
what looks like an identifier. Tested on a generated corpus of overlay bitmaps (text drawn
by Pillow in Debian's DejaVu and Liberation fonts, 8 to 40 px, and text-free graphics), on
pydicom's overlay sample, on a presentation state made by highdicom and on curves, with
dciodvfy on every output.
"""

from __future__ import annotations

import glob
import os
import random
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid
from test_validity import KEY, dciodvfy_errors, deidentify, need_dciodvfy, new_errors

from deidlang import cli
from deidlang.privacy import profile
from deidlang.runtime import graphics, keys

OPTION = "clean-graphics"
FONTS = sorted(glob.glob("/usr/share/fonts/truetype/dejavu/DejaVuSans*.ttf") + glob.glob("/usr/share/fonts/truetype/liberation/Liberation*.ttf"))
SIZES = (8, 10, 12, 16, 20, 28, 40)
#: identifying text as it is written on images: names, IDs, dates, accession numbers
IDENTIFYING = ("Doe^John", "SMITH, ANNA", "ID 4711", "12345678", "03/14/2021", "2021-03-14", "14 Mar 2021", "Acc A-99812", "Jane Roe")


def need_fonts() -> list[str]:
    if not FONTS:
        if os.environ.get("CI"):
            pytest.fail("the fonts are missing: CI must install fonts-dejavu-core and fonts-liberation (.ci/run does)")
        pytest.skip("fonts-dejavu-core / fonts-liberation are not installed")
    return FONTS


def drawn(text: str, font: str, size: int, at: tuple[int, int], shape=(256, 256)) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("1", (shape[1], shape[0]), 0)
    ImageDraw.Draw(img).text(at, text, fill=1, font=ImageFont.truetype(font, size))
    return np.array(img, dtype=bool)


def shapes(kind: int, rng: random.Random, shape=(256, 256)) -> np.ndarray:
    """Text-free graphics as overlays carry them: outlines, lines, arrows, dashes, crosshairs."""
    from PIL import Image, ImageDraw

    img = Image.new("1", (shape[1], shape[0]), 0)
    d = ImageDraw.Draw(img)
    x, y, r = rng.randint(10, 150), rng.randint(10, 150), rng.randint(3, 90)
    if kind == 0:
        d.ellipse((x, y, x + r, y + r), outline=1)
    elif kind == 1:
        d.rectangle((x, y, x + r, y + rng.randint(3, 60)), outline=1)
    elif kind == 2:
        d.line((x, y, x + rng.randint(-60, 60), y + rng.randint(-60, 60)), fill=1, width=rng.randint(1, 3))
    elif kind == 3:
        for i in range(0, 240, 8):
            d.line((i, y, i + 4, y), fill=1, width=rng.randint(1, 2))
    elif kind == 4:
        for i in range(0, 240, 8):
            d.line((x, i, x, i + 4), fill=1)
    elif kind == 5:
        d.polygon([(rng.randint(0, 250), rng.randint(0, 250)) for _ in range(6)], outline=1)
    elif kind == 6:
        d.line((x, y, x + 20, y), fill=1)
        d.line((x + 10, y - 10, x + 10, y + 10), fill=1)
    elif kind == 7:
        d.ellipse((x, y, x + r, y + r), fill=1)
    else:
        d.line((x, y, x + 40, y + 40), fill=1, width=2)
        d.polygon([(x, y), (x + 10, y), (x, y + 10)], fill=1)
    return np.array(img, dtype=bool)


def with_overlay(ds: pydicom.Dataset, bitmap: np.ndarray, group: int = 0x6000, **text) -> pydicom.Dataset:
    rows, columns = bitmap.shape
    data = np.packbits(bitmap.ravel(), bitorder="little").tobytes()
    if len(data) % 2:
        data += b"\x00"
    ds.add_new((group, 0x0010), "US", rows)
    ds.add_new((group, 0x0011), "US", columns)
    ds.add_new((group, 0x0040), "CS", "G")
    ds.add_new((group, 0x0050), "SS", [1, 1])
    ds.add_new((group, 0x0100), "US", 1)
    ds.add_new((group, 0x0102), "US", 0)
    for keyword, value in text.items():
        ds.add_new((group, {"description": 0x0022, "label": 0x1500, "comments": 0x4000}[keyword]), "LT" if keyword == "comments" else "LO", value)
    ds.add_new((group, 0x3000), "OW", data)
    return ds


def ct(**values) -> pydicom.Dataset:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.PatientName = "Doe^John"
    ds.PatientID = "4711"
    for k, v in values.items():
        setattr(ds, k, v)
    return ds


def _save(ds: pydicom.Dataset, folder: Path, name: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    ds.save_as(path, enforce_file_format=True)
    return str(path)


def _run(name: str, source: str, tmp_path: Path) -> str:
    outputs = deidentify(name, [source], tmp_path / name)
    assert source in outputs
    return outputs[source]


def _no_new_errors(source: str, output: str) -> None:
    need_dciodvfy()
    assert new_errors(source, output, dciodvfy_errors(source), dciodvfy_errors(output)) == []


# --------------------------------------------------------------------------- what is text-like


def test_identifying_text_drawn_in_overlays_is_found_in_every_font_and_size():
    fonts = need_fonts()
    rng = random.Random(13)
    missed = []
    cases = 0
    for size in SIZES:
        for font in fonts:
            for text in IDENTIFYING:
                bitmap = drawn(text, font, size, (rng.randint(0, 60), rng.randint(0, 200)))
                cases += 1
                if not graphics.text_like(bitmap):
                    missed.append((Path(font).name, size, text))
    assert cases >= 300
    # measured with the 29 fonts of this machine (docs/profile.md): none of 10 px and taller
    # missed; at 8 px, 2 of 261 (a name in Liberation Sans Narrow)
    assert [m for m in missed if m[1] >= 10] == []
    assert len(missed) <= 3, missed


def test_text_turned_a_quarter_is_found_too():
    font = need_fonts()[0]
    assert graphics.text_like(np.rot90(drawn("Doe^John", font, 14, (20, 20))))


def test_text_free_graphics_are_left_alone():
    rng = random.Random(7)
    flagged = [kind for kind in range(9) for _ in range(30) if graphics.text_like(shapes(kind, rng))]
    assert flagged == []
    # a single orientation marker is no text: one letter identifies nobody
    font = need_fonts()[0]
    assert not graphics.text_like(drawn("R", font, 20, (10, 10)))


# --------------------------------------------------------------------------- overlays in files


def test_an_overlay_with_text_goes_whole_and_one_without_stays(tmp_path):
    font = need_fonts()[0]
    outline = shapes(0, random.Random(1), (128, 128))
    ds = with_overlay(ct(), drawn("Doe^John 03/14/2021", font, 12, (4, 4), (128, 128)), 0x6000)
    ds = with_overlay(ds, outline, 0x6002, description="ROI of Doe^John", label="tumour", comments="call 555-123-4567 or john@example.org")
    source = _save(ds, tmp_path / "in", "overlays.dcm")
    output = _run(OPTION, source, tmp_path)
    out = pydicom.dcmread(output)
    assert not out.overlay_array(0x6000).any() and out[0x60000010].value == 128  # blanked, the plane whole
    assert out.overlay_array(0x6002).astype(bool).tolist() == outline.tolist()
    assert out[0x60020022].value == "ROI of" and out[0x60021500].value == "tumour"
    assert "555" not in out[0x60024000].value and "@" not in out[0x60024000].value
    assert [c.CodeValue for c in out.DeidentificationMethodCodeSequence] == ["113100", "113103"]
    _no_new_errors(source, output)
    plain = pydicom.dcmread(_run("default", source, tmp_path))
    assert [e for e in plain if 0x6000 <= e.tag.group <= 0x60FF] == []  # the profile alone removes both


def test_pydicom_overlay_sample_has_its_text_plane_blanked(tmp_path):
    source = str(get_testdata_file("examples_overlay.dcm"))
    assert graphics.plane_verdict(pydicom.dcmread(source), 0x6000) == "text"  # "Tra" beside the outline
    output = _run(OPTION, source, tmp_path)
    out = pydicom.dcmread(output)
    assert not out.overlay_array(0x6000).any() and len(out[0x60003000].value) == len(pydicom.dcmread(source)[0x60003000].value)
    _no_new_errors(source, output)


def test_an_overlay_in_the_pixel_datas_high_bits_cannot_be_examined_and_goes(tmp_path):
    ds = ct()
    ds.add_new(0x60000010, "US", ds.Rows)
    ds.add_new(0x60000011, "US", ds.Columns)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 16)
    ds.add_new(0x60000102, "US", 15)
    assert graphics.plane_verdict(ds, 0x6000) == "unexamined"
    out = pydicom.dcmread(_run(OPTION, _save(ds, tmp_path / "in", "embedded.dcm"), tmp_path))
    assert [e for e in out if e.tag.group == 0x6000] == []


def test_curves_stay_with_their_text_cleaned(tmp_path):
    ds = ct()
    ds.add_new(0x50000005, "US", 2)
    ds.add_new(0x50000010, "US", 3)
    ds.add_new(0x50000020, "CS", "ECG")
    ds.add_new(0x50000022, "LO", "ECG of Doe^John on 2021-03-14")
    ds.add_new(0x50000103, "US", 0)
    ds.add_new(0x50003000, "OW", np.array([0, 1, 2, 3, 4, 5], dtype="<u2").tobytes())
    out = pydicom.dcmread(_run(OPTION, _save(ds, tmp_path / "in", "curve.dcm"), tmp_path))
    assert out[0x50003000].value == ds[0x50003000].value
    assert out[0x50000022].value == "ECG of on"
    assert out[0x50000020].value == "ECG"


# --------------------------------------------------------------------------- presentation states


def presentation_state(folder: Path) -> tuple[str, pydicom.Dataset]:
    hd = pytest.importorskip("highdicom")
    img = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    layer = hd.pr.GraphicLayer(layer_name="ANNOTATIONS", order=1, description="measurements")
    texts = [
        hd.pr.TextObject(text_value="Lesion 12.5 mm", units="PIXEL", bounding_box=(10, 10, 60, 20)),
        hd.pr.TextObject(text_value=f"{img.PatientName} seen 03/14/2021 MRN 12345678", units="PIXEL", bounding_box=(10, 30, 120, 40)),
        hd.pr.TextObject(text_value="tel 555-123-4567", units="PIXEL", anchor_point=(50, 50)),
    ]
    objects = [hd.pr.GraphicObject(graphic_type="POLYLINE", graphic_data=np.array([[10.0, 10.0], [40.0, 40.0]]), units="PIXEL")]
    annotation = hd.pr.GraphicAnnotation(referenced_images=[img], graphic_layer=layer, text_objects=texts, graphic_objects=objects)
    pr = hd.pr.GrayscaleSoftcopyPresentationState(
        referenced_images=[img],
        series_instance_uid=generate_uid(),
        series_number=2,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="deidlang tests",
        manufacturer_model_name="tests",
        software_versions="1",
        device_serial_number="1",
        content_label="ANNOTATIONS",
        graphic_annotations=[annotation],
        graphic_layers=[layer],
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "gsps.dcm"
    pr.save_as(path)
    return str(path), img


def test_presentation_state_text_is_cleaned_and_its_graphics_kept(tmp_path):
    source, img = presentation_state(tmp_path / "in")
    original = pydicom.dcmread(source)
    output = _run(OPTION, source, tmp_path)
    out = pydicom.dcmread(output)
    texts = [t.UnformattedTextValue for t in out.GraphicAnnotationSequence[0].TextObjectSequence]
    assert texts[0] == "Lesion 12.5 mm"
    assert str(img.PatientName).split("^")[0] not in texts[1] and "2021" not in texts[1] and "12345678" not in texts[1] and "seen" in texts[1]
    assert texts[2] == "tel"
    was = original.GraphicAnnotationSequence[0]
    now = out.GraphicAnnotationSequence[0]
    assert list(now.GraphicObjectSequence[0].GraphicData) == list(was.GraphicObjectSequence[0].GraphicData)
    assert now.GraphicLayer == was.GraphicLayer
    assert now.ReferencedImageSequence[0].ReferencedSOPInstanceUID == keys.hash_uid(KEY, img.SOPInstanceUID)
    assert out.ReferencedSeriesSequence[0].ReferencedImageSequence[0].ReferencedSOPInstanceUID == keys.hash_uid(KEY, img.SOPInstanceUID)
    _no_new_errors(source, output)
    plain_output = _run("default", source, tmp_path)
    plain = pydicom.dcmread(plain_output)
    assert {t.UnformattedTextValue for t in plain.GraphicAnnotationSequence[0].TextObjectSequence} == {"ANONYMOUS"}
    # the profile alone once removed PresentationCreationDate and Time (X), Type 1 here: now dummies
    assert plain.PresentationCreationDate == "19000101" and plain.PresentationCreationTime == "000000"
    _no_new_errors(source, plain_output)


def test_the_option_recipe_is_generated_and_checks_clean(capsys):
    text = profile.option_recipe(OPTION).read_text(encoding="utf-8")
    assert "KEEP GraphicAnnotationSequence deid_func:cleangraphics" in text and "113103" in text
    assert cli.main(["check", "--strict", str(profile.option_recipe(OPTION))]) == 0
    capsys.readouterr()


def test_run_and_verify(tmp_path, capsys):
    font = need_fonts()[0]
    src = tmp_path / "in"
    presentation_state(src)
    _save(with_overlay(ct(), shapes(1, random.Random(2), (128, 128)), description="Doe^John outline"), src, "kept.dcm")
    _save(with_overlay(ct(), drawn("Doe^John", font, 12, (4, 4), (128, 128))), src, "text.dcm")
    (src / "overlay.dcm").write_bytes(Path(get_testdata_file("examples_overlay.dcm")).read_bytes())
    key = tmp_path / "key"
    key.write_text("k" * 40, encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(src), "--output", str(out), "--option", OPTION, "--key-file", str(key), "--verify", "--jobs", "1"]) == 0
    capsys.readouterr()
    assert cli.main(["verify", "--original", str(src), "--deidentified", str(out), "--key-file", str(key)]) == 0
