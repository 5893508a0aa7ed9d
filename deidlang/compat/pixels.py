"""deid's pixel API (``deid.dicom.pixels``): ``has_burned_pixels``, ``DicomCleaner``.

Detection runs on :meth:`deidlang.Program.inspect`; the results are given
deid 0.4.13's shapes with deid's strings (group key, reason,
coordinates as written in the recipe), plus a ``"label"`` key naming the
LABEL. Pixel work is done by :mod:`deidlang.pixels` (numpy, pydicom's
decoders and pylibjpeg: ``pip install '.[pixels]'`` in a deidlang checkout), imported only
when pixels are touched, so detection needs none of it.

Differences from deid are listed in ``docs/compat.md`` ("Pixels").
"""

from __future__ import annotations

import copy
import functools
import os
import re
import secrets
import tempfile
import warnings
from typing import Any

import attrs
import pydicom
from pydicom.dataset import Dataset

from ..lang import nodes
from ..lang.diagnostics import DeidlangError
from ..lang.parser import parse
from ..runtime.inspection import Inspection, LabelMatch, Region
from ..version import install_hint
from .files import load_dataset, write_atomic
from .recipe import _coordinate, _label_name, _section_name, as_recipe

__all__ = ["has_burned_pixels", "clean_pixel_data", "DicomCleaner"]


# --------------------------------------------------------------------------- deid's strings


@attrs.frozen
class _LabelInfo:
    """What deid shows for one LABEL: its group key, its name, its coordinates as written
    (``from:`` entries keep the span of their line, to be filled per file), and the
    operator deid would put in the reason of a label without criteria."""

    group: str
    name: str
    coordinates: tuple[tuple[int, str, Any], ...]  # (flag, text, span of a from: line or None)
    has_criteria: bool
    stale_operator: str


@functools.lru_cache(maxsize=32)
def _layout(name: str, text: str) -> dict[int, _LabelInfo]:
    """deid's view of the labels of recipe ``text``, by the line of their LABEL."""
    result = parse(text, path=name)
    lines = result.source.lines
    groups: dict[str, list[nodes.Label]] = {}
    for section in result.recipe.sections_of("filter"):
        groups.setdefault(_section_name(section, lines), []).extend(section.body)
    out: dict[int, _LabelInfo] = {}
    operator = ""  # deid reuses the operator of the last criterion line it evaluated
    for key, labels in groups.items():
        for label in labels:
            coords = []
            for c in label.coordinates:
                flag, coord_text = _coordinate(c, lines)
                coords.append((flag, coord_text, c.span if isinstance(c.spec, nodes.FromField) else None))
            out[label.span.line] = _LabelInfo(key, _label_name(label, lines), tuple(coords), bool(label.criteria), operator)
            if label.criteria:
                operator = label.criteria[-1].operator or ""
    return out


def _box_text(region: Region) -> str:
    return "all" if region.box is None else ",".join(str(v) for v in region.box)


def _result(match: LabelMatch, layout: dict[int, _LabelInfo] | None) -> dict:
    info = layout.get(match.span.line) if layout is not None and match.span is not None else None
    if info is None:  # a compiled Program: no recipe text to take deid's strings from
        coords: list = [[int(r.keep), _box_text(r)] for r in match.regions]
        return {"reason": match.reason, "group": match.group, "coordinates": coords, "label": match.label}
    coords = []
    for flag, text, span in info.coordinates:
        if span is None:
            coords.append([flag, text])
        else:
            coords.append([flag, [_box_text(r) for r in match.regions if r.span == span]])
    reason = match.reason if info.has_criteria else f"{info.stale_operator} {info.name}"
    return {"reason": reason, "group": info.group, "coordinates": coords, "label": match.label}


@attrs.frozen
class _Detector:
    """A compiled recipe and deid's strings for it: what one call detects with."""

    program: Any
    layout: dict[int, _LabelInfo] | None

    @classmethod
    def of(cls, deid: Any) -> _Detector:
        if _is_program(deid):
            return cls(deid, None)  # a compiled deidlang Program
        recipe = as_recipe("dicom" if deid is None else deid)
        program = recipe.program
        return cls(program, _layout(recipe.name, recipe.text))

    def inspect(self, ds: Dataset, path: str | None) -> Inspection:
        return self.program.inspect(ds, path=path)

    def single(self, ds: Dataset, path: str | None) -> dict:
        if not self.program.filters:
            return {"flagged": False, "results": []}
        inspection = self.inspect(ds, path)
        return {"flagged": inspection.flagged, "results": [_result(m, self.layout) for m in inspection.matches]}


def _warn_no_filters(detector: _Detector) -> None:
    if not detector.program.filters:
        warnings.warn("the recipe has no %filter section: nothing is flagged", UserWarning, stacklevel=3)


def _key(item: Any, ds: Dataset, path: str | None, index: int) -> Any:
    """The key of an input in the multi-file result: the item as given when it can be a key."""
    try:
        hash(item)
    except TypeError:
        return path if path is not None else f"<dataset {index}>"
    return item


def has_burned_pixels(dicom_files, force=True, deid=None):
    """Which files the recipe's ``%filter`` groups flag (deid's result shapes).

    One file (a path or a Dataset)::

        {"flagged": bool, "results": [{"reason", "group", "coordinates", "label"}, ...]}

    A list::

        {"clean": [inputs not flagged], "flagged": {input: <one-file result>}}

    ``deid``: a recipe path, tag, dict, :class:`DeidRecipe` or compiled
    Program; None means the bundled default recipe (deid: ``"dicom"``).
    """
    detector = _Detector.of(deid)
    _warn_no_filters(detector)
    if isinstance(dicom_files, (list, tuple)):
        decision: dict[str, Any] = {"clean": [], "flagged": {}}
        for index, item in enumerate(dicom_files):
            ds, path = load_dataset(item, force=force)
            result = detector.single(ds, path)
            if result["flagged"]:
                decision["flagged"][_key(item, ds, path, index)] = result
            else:
                decision["clean"].append(item)
        return decision
    ds, path = load_dataset(dicom_files, force=force)
    return detector.single(ds, path)


# --------------------------------------------------------------------------- results -> regions


def regions_from_results(results: Any) -> list[Region]:
    """The regions of a ``has_burned_pixels`` single-file result, in order (deid's
    ``clean_pixel_data`` reads them the same way, so edited results are honoured)."""
    out: list[Region] = []
    for item in (results or {}).get("results", []) or []:
        for entry in item.get("coordinates", []) or []:
            try:
                flag, coords = entry
            except (TypeError, ValueError):
                raise DeidlangError(f"a coordinates entry must be [0 or 1, coordinates], not {entry!r}") from None
            for coord in coords if isinstance(coords, list) else [coords]:
                out.append(Region(bool(flag), _parse_box(coord)))
    return out


def _parse_box(coord: Any) -> tuple[int, int, int, int] | None:
    text = str(coord)
    if text.strip().lower() == "all":
        return None
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise DeidlangError(f"cannot read coordinates '{text}': expected x0,y0,x1,y1 or all") from None
    if len(values) != 4:
        raise DeidlangError(f"cannot read coordinates '{text}': expected 4 numbers, x0,y0,x1,y1")
    return values[0], values[1], values[2], values[3]


def _pixels():
    try:
        from .. import pixels
    except ImportError as exc:  # numpy (or the pixel module itself) is missing
        raise DeidlangError(f"pixel cleaning needs deidlang's pixel extra: {install_hint('pixels')}") from exc
    return pixels


def clean_pixel_data(dicom_file, results, fix_interpretation=True, pixel_data_attribute="PixelData"):
    """deid's ``clean_pixel_data``: the cleaned pixel array (every frame and sample) for
    the regions of a ``has_burned_pixels`` result. ``pixel_data_attribute`` is
    accepted for compatibility; the dataset's own pixel data element is decoded."""
    ds, _ = load_dataset(dicom_file)
    return _pixels().masked_array(ds, regions_from_results(results), fix_interpretation=fix_interpretation)


# --------------------------------------------------------------------------- DicomCleaner


_SUFFIX = re.compile(r"\.(dcm|dicom)$", re.IGNORECASE)


class DicomCleaner:
    """deid's ``DicomCleaner``: ``detect(file)``, then ``clean()``, then ``save_dicom()``
    or ``save_png()``. ``add_padding`` and ``margin`` are unused (as in deid)."""

    def __init__(self, output_folder=None, add_padding=False, margin=3, deid=None, font=None, force=True):
        if output_folder is None:
            output_folder = os.path.join(tempfile.gettempdir(), f"deidlang-clean-{secrets.token_hex(6)}")
        self.output_folder = os.fspath(output_folder)
        self.font = font if font is not None else self.default_font()
        self.cmap = "gray"
        self.recipe = as_recipe("dicom" if deid is None else deid) if not _is_program(deid) else deid
        self.results: dict | None = None
        self.force = force
        self.dicom_file: Any = None
        self.cleaned = None
        self._loaded: tuple[Any, Dataset, str | None] | None = None
        self._original = None

    def __repr__(self) -> str:
        return "<DicomCleaner>"

    def default_font(self) -> dict:
        return {"family": "serif", "color": "darkred", "weight": "normal", "size": 16}

    # -- detection and cleaning

    def detect(self, dicom_file):
        """Run the recipe's filters on one file (a path or a Dataset); store and return the result."""
        detector = _Detector.of(self.recipe)
        _warn_no_filters(detector)
        ds, path = load_dataset(dicom_file, force=self.force)
        self._loaded = (dicom_file, ds, path)
        self._original = None
        self.cleaned = None
        self.dicom_file = dicom_file
        self.results = detector.single(ds, path)
        return self.results

    def _dataset(self) -> tuple[Dataset, str | None]:
        loaded = self._loaded
        if loaded is None or loaded[0] is not self.dicom_file:
            ds, path = load_dataset(self.dicom_file, force=self.force)
            self._loaded = loaded = (self.dicom_file, ds, path)
        return loaded[1], loaded[2]

    def clean(self, fix_interpretation=True, pixel_data_attribute="PixelData"):
        """The cleaned pixel array (stored as ``.cleaned``): the regions of ``.results``
        blacked out on every frame and sample. Before ``detect()``: a warning and None."""
        if not self.results:
            warnings.warn("use detect() with a dicom file to find coordinates first", UserWarning, stacklevel=2)
            return None
        ds, _ = self._dataset()
        self.cleaned = _pixels().masked_array(ds, regions_from_results(self.results), fix_interpretation=fix_interpretation)
        return self.cleaned

    @property
    def original(self):
        """The decoded pixels of the detected file, unchanged (None before ``detect()``)."""
        if self._original is None and self.dicom_file is not None:
            ds, _ = self._dataset()
            self._original = _pixels().masked_array(ds, (), fix_interpretation=True)
        return self._original

    # -- saving

    def _folder(self, output_folder, mode: int) -> str:
        folder = os.fspath(output_folder) if output_folder is not None else self.output_folder
        os.makedirs(folder, mode=mode, exist_ok=True)
        return folder

    def _name(self, prefix: str, extension: str) -> str:
        _, path = self._dataset()
        base = os.path.basename(path) if path else "dataset"
        return f"{prefix}-{_SUFFIX.sub('', base)}.{extension}"

    def _ready(self, image_type: str) -> bool:
        if image_type not in ("cleaned", "original"):
            raise DeidlangError(f"image_type must be 'cleaned' or 'original', not '{image_type}'")
        if self.results is None or (image_type == "cleaned" and self.cleaned is None):
            warnings.warn("use detect() --> clean() before saving is possible", UserWarning, stacklevel=3)
            return False
        return True

    def save_dicom(self, output_folder=None, image_type="cleaned", preserve_compression=False, compression=None, mode=0o700):
        """Write ``<folder>/cleaned-<name>.dcm`` (``original-<name>.dcm`` for the original)
        and return its path. The pixels are cleaned by :func:`deidlang.pixels.clean_dataset`
        with the regions of ``.results``; the header is not de-identified (as in deid)."""
        if not self._ready(image_type):
            return None
        ds, path = self._dataset()
        if path is not None and isinstance(self.dicom_file, (str, os.PathLike)):
            out: Dataset = pydicom.dcmread(path, force=self.force)
        else:
            out = copy.deepcopy(ds)
        if image_type == "cleaned":
            _pixels().clean_dataset(out, regions_from_results(self.results), preserve_compression=preserve_compression, compression=compression)
        target = os.path.join(self._folder(output_folder, mode), self._name(image_type, "dcm"))
        write_atomic(out, target)
        return target

    def save_png(self, output_folder=None, image_type="cleaned", title=None, mode=0o700):
        """Write ``<folder>/cleaned-<name>.png`` (``original-<name>.png``) and return its
        path: the middle frame of a multi-frame image, colour kept."""
        if not self._ready(image_type):
            return None
        image = self.cleaned if image_type == "cleaned" else self.original
        ds, _ = self._dataset()
        target = os.path.join(self._folder(output_folder, mode), self._name(image_type, "png"))
        _pixels().write_png(target, _viewable(_one_frame(image, ds), ds), title=title, invert=_monochrome1(ds))
        return target


def _is_program(deid: Any) -> bool:
    return hasattr(deid, "inspect") and hasattr(deid, "filters") and not hasattr(deid, "get_filters")


def _monochrome1(ds: Dataset) -> bool:
    return str(ds.get("PhotometricInterpretation", "")).strip().upper() == "MONOCHROME1"


def _viewable(frame, ds: Dataset):
    """Palette indices as the colours a viewer shows (the indices when the palette is unusable)."""
    if str(ds.get("PhotometricInterpretation", "")).strip().upper() != "PALETTE COLOR":
        return frame
    try:
        from pydicom.pixels import apply_color_lut

        return apply_color_lut(frame, ds)
    except Exception:  # noqa: BLE001 - a preview only: show the indices
        return frame


def _one_frame(image, ds: Dataset):
    """The middle frame of a multi-frame array (frames first), else the array."""
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if image.ndim == 4 or (image.ndim == 3 and samples == 1):
        return image[image.shape[0] // 2]
    return image
