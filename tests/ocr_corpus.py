"""A burned-in text corpus, generated (never hand-curated screenshots).

Real pixel data from pydicom's test files and deid-data's ultrasounds
(monochrome 8 and 16 bits, MONOCHROME1, RGB, YBR, palette colour,
multi-frame, from uncompressed, JPEG, JPEG 2000 and RLE sources), cut to
areas without text of their own; on them, lines of identifying text (names,
IDs, dates, accession numbers, institutions) drawn with Pillow in Debian's
DejaVu and Liberation fonts, at sizes from 8 to 40 pixels, at high, medium
and low contrast with the local background, at corners, edges and over the
image. The header of each generated file holds the values drawn, as a
scanner's would. Text-free images are the same cuts without text.

Every file comes with its truth (:class:`Drawn`): each line's box, text,
size, contrast, font and the mask of its ink in frame coordinates, so a test
can say which lines OCR found and whether the cleaned pixels still hold any
ink of them.

``build(folder, count, seed)`` writes ``count`` images with text (and the
text-free ones) and returns the :class:`Item` list. The tests use a small
count; benchmarks/ocr_eval.py a large one.
"""

from __future__ import annotations

import os
import random
import warnings
from pathlib import Path
from typing import Callable

import attrs
import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation")
FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansCondensed.ttf",
    "LiberationSans-Regular.ttf",
    "LiberationMono-Regular.ttf",
    "LiberationSerif-Regular.ttf",
    "LiberationSans-Bold.ttf",
    "LiberationSansNarrow-Regular.ttf",
)
SIZES = (8, 10, 12, 14, 16, 20, 24, 32, 40)
#: difference between the text's grey level and the mean of the background under it (of 255)
CONTRASTS = {"high": 200, "medium": 110, "low": 60}

LAST = (
    "OKAFOR",
    "LINDQVIST",
    "BRENNAN",
    "MORALES",
    "TANAKA",
    "KOWALSKI",
    "ABERNATHY",
    "DUBOIS",
    "HALVORSEN",
    "PETROVA",
    "WHITFIELD",
    "ODUYA",
    "MCALLISTER",
    "VARGAS",
    "NAKAMURA",
    "FITZGERALD",
)
FIRST = ("MIRIAM", "TOBIAS", "AGNES", "RAFAEL", "HELGA", "DESMOND", "PRIYA", "CONRAD", "LUCILLE", "ANTON", "BEATRIX", "OSWALD")
INSTITUTIONS = ("ST BARNABAS HOSPITAL", "NORTHGATE CLINIC", "RIVERBEND MEDICAL", "HOLLOWAY IMAGING")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def fonts() -> list[str]:
    """The font files present (the corpus fails loudly when none is: CI installs them)."""
    out = []
    for name in FONTS:
        for folder in FONT_DIRS:
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                out.append(path)
                break
    return out


# --------------------------------------------------------------------------- sources


def _deid_data(rel: str) -> str | None:
    try:
        import deid_data
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(deid_data.__file__), "data", rel)
    return path if os.path.isfile(path) else None


@attrs.frozen
class Source:
    """A real image: where it is, the part of it without text of its own, what to make of it."""

    name: str
    path: Callable[[], str | None]
    crop: tuple[int, int, int, int] | None  # x0, y0, x1, y1
    kind: str  # what it exercises
    frames: int = 1  # frames to keep (multi-frame sources)
    photometric: str | None = None  # write as this (MONOCHROME1, YBR_FULL)
    encode: str | None = None  # "rle": write RLE Lossless


SOURCES = (
    Source("us-grey", lambda: _deid_data("ultrasounds/GREYSCALE_IMAGE.dcm"), (120, 75, 570, 440), "US MONOCHROME2 8-bit"),
    Source("us-rgb", lambda: _deid_data("ultrasounds/RGB_IMAGE.dcm"), (300, 70, 880, 600), "US RGB 8-bit"),
    Source("us-cine", lambda: _deid_data("ultrasounds/ultrasound-multiframe.dcm"), (70, 60, 660, 580), "US RGB multi-frame", frames=12),
    Source("us-palette", lambda: get_testdata_file("examples_palette.dcm"), (110, 112, 760, 350), "US PALETTE COLOR"),
    Source("us-j2k", lambda: get_testdata_file("examples_jpeg2k.dcm"), (60, 110, 560, 340), "US from JPEG 2000 (YBR_RCT), written RLE", encode="rle"),
    Source(
        "us-ybr",
        lambda: get_testdata_file("examples_ybr_color.dcm"),
        (20, 60, 300, 200),
        "US from JPEG (YBR_FULL_422) multi-frame, written YBR_FULL",
        frames=3,
        photometric="YBR_FULL",
    ),
    Source("mr-16", lambda: get_testdata_file("examples_overlay.dcm"), None, "MR MONOCHROME2 16-bit"),
    Source("mr-mono1", lambda: get_testdata_file("examples_overlay.dcm"), None, "MR written MONOCHROME1 16-bit", photometric="MONOCHROME1"),
    Source("nm-j2k", lambda: get_testdata_file("JPEG2000.dcm"), (0, 100, 256, 900), "NM 16-bit from JPEG 2000"),
    Source("sc-deflated", lambda: get_testdata_file("image_dfl.dcm"), None, "SC MONOCHROME2 8-bit from deflated"),
    Source(
        "dx-cat", lambda: _deid_data("animals/cat.dcm"), (1000, 700, 2000, 1500), "DX 16-bit, written MONOCHROME1 RLE", photometric="MONOCHROME1", encode="rle"
    ),
)


def available_sources() -> list[Source]:
    return [s for s in SOURCES if s.path() is not None]


# --------------------------------------------------------------------------- the truth


@attrs.frozen
class Drawn:
    """One line of text drawn: what, where, how."""

    text: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 of its ink
    size: int
    contrast: str
    font: str
    kind: str  # the header element it repeats ("PatientName"...)
    mask: np.ndarray = attrs.field(eq=False, repr=False)  # bool (rows, columns): its ink


@attrs.frozen
class Item:
    path: str
    source: str
    kind: str
    lines: tuple[Drawn, ...]
    frames: int

    @property
    def text_free(self) -> bool:
        return not self.lines


# --------------------------------------------------------------------------- building


def _base(source: Source) -> tuple[Dataset, np.ndarray]:
    """The source's dataset and its pixels as stored, cut (frames first when several)."""
    from deidlang import pixels

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(source.path())
        arr = pixels.masked_array(ds, ())  # every frame, colour as RGB
    samples = int(ds.get("SamplesPerPixel", 1))
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames == 1 and not (arr.ndim == 4 or (arr.ndim == 3 and samples == 1)):
        arr = arr[None]
    if source.frames < arr.shape[0]:
        step = arr.shape[0] / source.frames
        arr = arr[[int(i * step) for i in range(source.frames)]]
    else:
        arr = arr[:1]
    if source.crop is not None:
        x0, y0, x1, y1 = source.crop
        arr = arr[:, y0:y1, x0:x1]
    return ds, np.ascontiguousarray(arr)


def _display_levels(ds: Dataset, arr: np.ndarray):
    """(to display 0-255, from display 0-255 to a stored value) for a monochrome image,
    with the window deidlang's renderer uses."""
    from deidlang.ocr import render

    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    window = render._window(ds)
    if window is None:
        values = arr.astype(np.float64) * slope + intercept
        window = (float(values.min()), float(values.max()))
    lo, hi = window
    invert = str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1"
    vmin, vmax = _stored_range(ds, arr)

    def shown(stored: np.ndarray) -> np.ndarray:
        v = np.clip((stored.astype(np.float64) * slope + intercept - lo) * 255.0 / max(hi - lo, 1e-9), 0, 255)
        return 255 - v if invert else v

    def stored(level: float) -> int:
        level = 255 - level if invert else level
        value = (level / 255.0 * (hi - lo) + lo - intercept) / slope
        return int(np.clip(round(value), vmin, vmax))

    return shown, stored


def _stored_range(ds: Dataset, arr: np.ndarray) -> tuple[int, int]:
    bits = int(ds.get("BitsStored", arr.dtype.itemsize * 8) or 8)
    if int(ds.get("PixelRepresentation", 0) or 0):
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _new_dataset(ds: Dataset, source: Source, arr: np.ndarray) -> Dataset:
    """A file of the source's kind holding ``arr`` (frames, rows, columns[, 3])."""
    out = Dataset()
    for keyword in (
        "SOPClassUID",
        "Modality",
        "BitsAllocated",
        "BitsStored",
        "HighBit",
        "PixelRepresentation",
        "RescaleIntercept",
        "RescaleSlope",
        "WindowCenter",
        "WindowWidth",
        "ImageType",
        "RedPaletteColorLookupTableDescriptor",
        "GreenPaletteColorLookupTableDescriptor",
        "BluePaletteColorLookupTableDescriptor",
        "RedPaletteColorLookupTableData",
        "GreenPaletteColorLookupTableData",
        "BluePaletteColorLookupTableData",
        "SequenceOfUltrasoundRegions",
    ):
        if keyword in ds:
            setattr(out, keyword, ds.data_element(keyword).value)
    out.pop("SequenceOfUltrasoundRegions", None)  # its boxes are those of the uncut image
    frames, rows, columns = arr.shape[:3]
    colour = arr.ndim == 4
    out.SamplesPerPixel = 3 if colour else 1
    out.PhotometricInterpretation = "RGB" if colour else str(ds.PhotometricInterpretation)
    if colour:
        out.PlanarConfiguration = 0
    out.Rows, out.Columns = rows, columns
    if frames > 1 or "NumberOfFrames" in ds:
        out.NumberOfFrames = frames
        if "SOPClassUID" in ds and str(ds.SOPClassUID) == "1.2.840.10008.5.1.4.1.1.6.1":
            out.SOPClassUID = "1.2.840.10008.5.1.4.1.1.3.1"  # ultrasound multi-frame
    if arr.dtype.itemsize == 1:
        out.BitsAllocated, out.BitsStored, out.HighBit = 8, 8, 7
    out.SOPInstanceUID = generate_uid()
    out.StudyInstanceUID = generate_uid()
    out.SeriesInstanceUID = generate_uid()
    out.Modality = str(ds.get("Modality", "OT") or "OT")
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = out.SOPClassUID
    meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    out.file_meta = meta
    return out


def _store(out: Dataset, arr: np.ndarray, source: Source) -> None:
    from pydicom.pixels import convert_color_space

    if source.photometric == "YBR_FULL":
        arr = convert_color_space(arr, "RGB", "YBR_FULL")
        out.PhotometricInterpretation = "YBR_FULL"
    data = arr[0] if arr.shape[0] == 1 and "NumberOfFrames" not in out else arr
    out.PixelData = np.ascontiguousarray(data).tobytes()
    out["PixelData"].VR = "OB" if arr.dtype.itemsize == 1 else "OW"
    if source.encode == "rle":
        out.compress(RLELossless, np.ascontiguousarray(data), generate_instance_uid=False)


def _texts(rng: random.Random) -> dict[str, tuple[str, str, object]]:
    """Header values and the lines that show them: keyword -> (line text, header value)."""
    last, first = rng.choice(LAST), rng.choice(FIRST)
    pid = str(rng.randrange(10**6, 10**9))
    acc = f"A{rng.randrange(10**6, 10**8)}"
    year, month, day = rng.randrange(1935, 2005), rng.randrange(1, 13), rng.randrange(1, 29)
    birth = f"{year}{month:02d}{day:02d}"
    syear, smonth, sday = rng.randrange(2010, 2025), rng.randrange(1, 13), rng.randrange(1, 29)
    study = f"{syear}{smonth:02d}{sday:02d}"
    institution = rng.choice(INSTITUTIONS)
    name_shown = rng.choice((f"{last}^{first}", f"{last}, {first}", f"{first} {last}", f"Name: {last} {first}"))
    birth_shown = rng.choice(
        (f"DOB {year}-{month:02d}-{day:02d}", f"DOB: {day:02d}/{month:02d}/{year}", f"{month:02d}/{day:02d}/{year}", f"Born {day} {MONTHS[month - 1]} {year}")
    )
    study_shown = rng.choice(
        (f"{syear}-{smonth:02d}-{sday:02d} 10:{rng.randrange(10, 60)}", f"{sday:02d}.{smonth:02d}.{syear}", f"{MONTHS[smonth - 1]} {sday}, {syear}", study)
    )
    return {
        "PatientName": (name_shown, f"{last}^{first}"),
        "PatientID": (rng.choice((f"ID {pid}", f"MRN: {pid}", pid)), pid),
        "PatientBirthDate": (birth_shown, birth),
        "StudyDate": (study_shown, study),
        "AccessionNumber": (rng.choice((f"Acc# {acc}", f"ACC {acc}")), acc),
        "InstitutionName": (institution, institution),
    }


def _draw_line(arr: np.ndarray, ds: Dataset, text: str, font_path: str, size: int, contrast: int, at: tuple[int, int], taken=()):
    """Draw ``text`` on every frame of ``arr`` (in place); its ink mask and box, or None
    when it does not fit or would touch a line already drawn (boxes in ``taken``)."""
    from PIL import Image, ImageDraw, ImageFont

    frames, rows, columns = arr.shape[:3]
    font = ImageFont.truetype(font_path, size)
    left, top, right, bottom = font.getbbox(text)
    width, height = right - left, bottom - top
    x, y = at
    if width + 4 > columns or height + 4 > rows:
        return None
    x = min(max(2, x), columns - width - 2)
    y = min(max(2, y), rows - height - 2)
    if any(_overlap((x, y, x + width, y + height), b) for b in taken):
        return None
    layer = Image.new("L", (columns, rows), 0)
    ImageDraw.Draw(layer).text((x - left, y - top), text, font=font, fill=255)
    alpha = np.asarray(layer).astype(np.float64) / 255.0
    ink = alpha > 0.5
    if not ink.any():
        return None
    ys, xs = np.nonzero(alpha > 0)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    region = (slice(box[1], box[3]), slice(box[0], box[2]))
    photometric = str(ds.get("PhotometricInterpretation", ""))
    if arr.ndim == 4:  # RGB
        for f in range(frames):
            shown = arr[f][region].astype(np.float64).mean()
            level = shown + contrast if shown + contrast <= 255 else shown - contrast
            ink_colour = np.array([level] * 3)
            frame = arr[f].astype(np.float64)
            frame = frame * (1 - alpha[..., None]) + ink_colour * alpha[..., None]
            arr[f] = np.clip(np.round(frame), 0, 255).astype(arr.dtype)
    elif photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        lut = apply_color_lut(np.arange(int(ds.RedPaletteColorLookupTableDescriptor[0]) or 65536, dtype=np.uint16), ds)
        grey = lut.astype(np.float64).mean(axis=1) / (255.0 if lut.dtype == np.uint8 else 65535.0) * 255.0
        first = int(ds.RedPaletteColorLookupTableDescriptor[1])
        for f in range(frames):
            shown = grey[np.clip(arr[f][region].astype(np.int64) - first, 0, len(grey) - 1)].mean()
            level = shown + contrast if shown + contrast <= 255 else shown - contrast
            index = int(np.argmin(np.abs(grey - level))) + first
            arr[f][ink] = index
    else:
        shown_of, stored_of = _display_levels(ds, arr)
        for f in range(frames):
            shown = shown_of(arr[f][region]).mean()
            level = shown + contrast if shown + contrast <= 255 else shown - contrast
            value = stored_of(level)
            frame = arr[f].astype(np.float64)
            frame = frame * (1 - alpha) + value * alpha
            vmin, vmax = _stored_range(ds, arr)
            arr[f] = np.clip(np.round(frame), vmin, vmax).astype(arr.dtype)
    return ink, box


def _positions(rng: random.Random, rows: int, columns: int, n: int) -> list[tuple[int, int]]:
    """Corners and edges first (where scanners write), then anywhere."""
    spots = [(4, 4), (columns // 2, 4), (columns, 4), (4, rows), (columns, rows), (4, rows // 2)]
    rng.shuffle(spots)
    out = spots[: max(0, n - 2)]
    while len(out) < n:
        out.append((rng.randrange(0, max(1, columns - 40)), rng.randrange(0, max(1, rows - 20))))
    return out


def _set_header(out: Dataset, values: dict[str, tuple[str, str]]) -> None:
    for keyword, (_shown, value) in values.items():
        setattr(out, keyword, value)


def build(folder: str | os.PathLike, count: int, *, seed: int = 13, text_free: bool = True, sizes=SIZES, contrasts=tuple(CONTRASTS)) -> list[Item]:
    """Write ``count`` images with identifying text (and, with ``text_free``, each cut
    without text) under ``folder``; return what was drawn where."""
    rng = random.Random(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    font_files = fonts()
    if not font_files:
        raise RuntimeError("no DejaVu or Liberation font found: install fonts-dejavu-core and fonts-liberation")
    sources = available_sources()
    bases = {s.name: _base(s) for s in sources}
    items: list[Item] = []
    if text_free:
        for s in sources:
            ds, arr = bases[s.name]
            out = _new_dataset(ds, s, arr.copy())
            _prepare_photometric(out, s, arr)
            _set_header(out, _texts(rng))
            _store(out, _photometric_pixels(s, arr.copy(), ds), s)
            path = folder / f"free-{s.name}.dcm"
            out.save_as(path, enforce_file_format=True)
            items.append(Item(str(path), s.name, s.kind, (), arr.shape[0]))
    for n in range(count):
        s = sources[n % len(sources)]
        ds, base = bases[s.name]
        arr = _photometric_pixels(s, base.copy(), ds)
        out = _new_dataset(ds, s, arr)
        _prepare_photometric(out, s, arr)
        values = _texts(rng)
        _set_header(out, values)
        keys = list(values)
        rng.shuffle(keys)
        keys = keys[: rng.randrange(3, len(keys) + 1)]
        rows, columns = arr.shape[1:3]
        lines = []
        for keyword, at in zip(keys, _positions(rng, rows, columns, len(keys))):
            size = rng.choice(sizes)
            contrast = rng.choice(contrasts)
            font = rng.choice(font_files)
            text = values[keyword][0]
            drawn = _draw_line(arr, out, text, font, size, CONTRASTS[contrast], at, [d.box for d in lines])
            if drawn is None:
                continue
            ink, box = drawn
            lines.append(Drawn(text, box, size, contrast, os.path.basename(font), keyword, ink))
        _store(out, arr if s.photometric != "YBR_FULL" else arr, s)
        path = folder / f"text-{n:03d}-{s.name}.dcm"
        out.save_as(path, enforce_file_format=True)
        items.append(Item(str(path), s.name, s.kind, tuple(lines), arr.shape[0]))
    return items


def _overlap(a, b) -> bool:
    return a[0] < b[2] + 6 and b[0] < a[2] + 6 and a[1] < b[3] + 6 and b[1] < a[3] + 6


def _prepare_photometric(out: Dataset, source: Source, arr: np.ndarray) -> None:
    if source.photometric == "MONOCHROME1":
        out.PhotometricInterpretation = "MONOCHROME1"
        for keyword in ("WindowCenter", "WindowWidth"):  # the window of the uninverted values
            out.pop(keyword, None)


def _photometric_pixels(source: Source, arr: np.ndarray, ds: Dataset) -> np.ndarray:
    """MONOCHROME1 sources are the MONOCHROME2 pixels inverted (the same picture)."""
    if source.photometric == "MONOCHROME1" and str(ds.PhotometricInterpretation) == "MONOCHROME2":
        info = np.iinfo(arr.dtype)
        top = int(arr.max())
        low = int(arr.min())
        arr = (top + low - arr.astype(np.int64)).clip(info.min, info.max).astype(arr.dtype)
    return arr


# --------------------------------------------------------------------------- measuring


@attrs.frozen
class LineResult:
    line: Drawn
    found: bool  # some OCR line, or a line of the text detector, overlaps it
    identified: bool  # an OCR line over it matched an identifying value or shape
    removed: float  # the share of its ink the cleaned image no longer holds
    read: bool = False  # some OCR line overlaps it


@attrs.frozen
class ItemResult:
    item: Item
    lines: tuple[LineResult, ...]
    changed: int  # pixels changed by cleaning (of the first frame)
    false_lines: int  # OCR lines over no drawn line
    remaining: int  # identifying lines the proof still found
    proof_passed: bool
    seconds: float
    frames_read: int
    reread: int = -1  # identifying spans an independent re-read found in the released output (-1: not re-read)


def _covers(box, drawn: tuple[int, int, int, int]) -> bool:
    x0 = max(box[0], drawn[0])
    y0 = max(box[1], drawn[1])
    x1 = min(box[2], drawn[2])
    y1 = min(box[3], drawn[3])
    return x1 > x0 and y1 > y0


def reread(ds, harvest, settings) -> int:
    """Identifying spans in the cleaned ``ds`` read in two views other than the proof's:
    Tesseract given each whole sampled frame at three times its size (the proof reads it
    at twice), and the places found by the strokes alone (no text detector)."""
    import attrs as _attrs

    from deidlang import pixels
    from deidlang.ocr import clean as ocr_clean
    from deidlang.ocr.detect import read, read_whole
    from deidlang.ocr.match import TextMatcher

    matcher = TextMatcher(harvest)
    engine = ocr_clean.engine_for(settings)
    arr = pixels.masked_array(ds, ())
    views = read_whole(ds, arr, engine, matcher, settings, scale=3) + read(ds, arr, engine, matcher, _attrs.evolve(settings, detector="none"))
    return sum(len(line.findings) for frame in views for line in frame.lines)


def evaluate(item: Item, settings, identifiers=None, *, again: bool = False) -> ItemResult:
    """Clean ``item`` with OCR (no recipe regions) and measure it against its truth
    (``again``: and re-read what would be released, :func:`reread`)."""
    import time

    from deidlang import pixels
    from deidlang.ocr import clean as ocr_clean
    from deidlang.privacy import identifiers as verify

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(item.path)
        before = pixels.masked_array(ds, ())
        harvest = verify.harvest(ds) if identifiers is None else identifiers
        start = time.perf_counter()
        report = ocr_clean.clean(ds, (), harvest, settings)
        seconds = time.perf_counter() - start
        after = pixels.masked_array(ds, ())
    first_before = before[0] if before.ndim == 4 or (before.ndim == 3 and item.frames > 1) else before
    first_after = after[0] if after.ndim == 4 or (after.ndim == 3 and item.frames > 1) else after
    diff = first_before != first_after
    if diff.ndim == 3:
        diff = diff.any(axis=-1)
    rows, columns = diff.shape
    blanked = pixels.blank_mask(rows, columns, report.blanked)
    if blanked is None:
        import numpy as _np

        blanked = _np.zeros((rows, columns), dtype=bool)
    ocr_lines = report.lines()
    detected = [box for frame in report.found for box in frame.detected]
    results = []
    for d in item.lines:
        over = [ln for ln in ocr_lines if _covers(ln.box, d.box)]
        removed = float(blanked[d.mask].mean()) if d.mask.any() else 1.0
        found = bool(over) or any(_covers(box, d.box) for box in detected)
        results.append(LineResult(d, found, any(ln.identifying for ln in over), removed, bool(over)))
    false_lines = sum(1 for ln in ocr_lines if not any(_covers(ln.box, d.box) for d in item.lines))
    return ItemResult(
        item,
        tuple(results),
        int(diff.sum()),
        false_lines,
        len(report.remaining),
        report.passed,
        seconds,
        len({ln.frame for ln in ocr_lines}) if ocr_lines else 0,
        reread(ds, harvest, settings) if again and report.passed and item.lines else -1,
    )
