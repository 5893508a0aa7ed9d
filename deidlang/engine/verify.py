"""Residual-PHI verification of files and whole trees: ``deidc verify`` (an original and
its de-identified output, or two folders paired through the run's manifest or by
relative path) and the pairing behind it. Each pair is checked by
:mod:`deidlang.privacy` (:func:`~deidlang.privacy.identifiers.harvest` on the
original, :func:`~deidlang.privacy.search.search` in the output), and the names on
the output's path are checked against the original's identifying values
(:func:`path_leaks`).

Public API, stable (other modules and users build on it)::

    verify_files(original, output) -> FileCheck
    verify_tree(original, deidentified) -> VerifyReport
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Iterator, Mapping

import attrs
from pydicom.dataset import Dataset

from ..lang.diagnostics import DeidlangError
from ..privacy.identifiers import harvest, option_of
from ..privacy.search import Leak, search

__all__ = [
    "FileCheck",
    "VerifyReport",
    "verify_files",
    "verify_tree",
    "pairs",
    "manifest_recipes",
    "MANIFEST_NAMES",
]

#: Run manifests written by ``deidc run`` (per-file input and output paths).
MANIFEST_NAMES = ("deidlang-manifest.jsonl", "deidlang-manifest.json")

#: Files in an output folder that are reports, not DICOM outputs.
_REPORT_SUFFIXES = (".json", ".jsonl", ".png", ".txt", ".csv", ".log", ".md", ".html")


# =========================================================================== files and trees


@attrs.frozen
class FileCheck:
    """The verdict on one output file."""

    output: str  # as shown (relative to the de-identified root)
    original: str  # as shown
    leaks: tuple[Leak, ...] = ()
    error: str = ""  # why the file could not be verified ("" when it was)

    @property
    def ok(self) -> bool:
        return not self.leaks and not self.error


@attrs.frozen
class VerifyReport:
    files: tuple[FileCheck, ...]
    unpaired: tuple[str, ...] = ()  # outputs with no original
    skipped: tuple[str, ...] = ()  # files of the output folder that are not DICOM outputs

    @property
    def leaks(self) -> tuple[Leak, ...]:
        return tuple(leak for f in self.files for leak in f.leaks)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files) and not self.unpaired

    def as_dict(self, show_values: bool = False) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "values_shown": show_values,
            "files": len(self.files),
            "leaks": [leak.as_dict(show_values) for leak in self.leaks],
            "errors": [{"file": f.output, "original": f.original, "error": f.error} for f in self.files if f.error],
            "unpaired": list(self.unpaired),
            "skipped": list(self.skipped),
        }


def _read(path: str):
    from .inputs import read_input  # regular files only, complete elements (docs/robustness.md)

    return read_input(path, force=True)[0]


def verify_files(
    original: str,
    output: str,
    *,
    shown_output: str | None = None,
    shown_original: str | None = None,
    recipes: Iterable[Any] = (),
    options: Iterable[str] | None = None,
    output_names: tuple[str, ...] | list[str] = (),
    pixels: Any = None,
) -> FileCheck:
    """Verify one output file against its original (``recipes``, ``options``: as for
    :func:`harvest`). ``output_names``: the names of the output's path that a run gave
    it (folders below the de-identified root, then the file), checked too
    (:func:`path_leaks`). ``pixels``: OCR settings (:class:`deidlang.ocr.Settings`): also
    read the output's pixels for identifying text (``deidc verify --pixels``)."""
    out_name = shown_output or output
    orig_name = shown_original or original
    try:
        orig_ds = _read(original)
    except Exception as err:  # noqa: BLE001 - a reason, never the file's content
        return FileCheck(out_name, orig_name, error=f"cannot read the original ({type(err).__name__})")
    try:
        with open(output, "rb") as fh:
            data = fh.read()
        out_ds = _read(output)
    except Exception as err:  # noqa: BLE001
        return FileCheck(out_name, orig_name, error=f"cannot read the output ({type(err).__name__})")
    try:
        in_path = path_leaks(orig_ds, output_names, file=out_name, original=orig_name) if output_names else []
        identifiers = harvest(orig_ds, recipes=recipes, options=options)
    except Exception as err:  # noqa: BLE001
        return FileCheck(out_name, orig_name, error=f"cannot read the original's values ({type(err).__name__})")
    leaks = search(identifiers, out_ds, data, file=out_name, original=orig_name)
    if pixels is not None:  # --pixels: OCR (deidlang/ocr)
        from ..ocr.report import pixel_leaks

        try:
            leaks += pixel_leaks(identifiers, out_ds, pixels, file=out_name, original=orig_name)
        except DeidlangError as err:  # pixels that cannot be decoded: said, never quoted
            return FileCheck(out_name, orig_name, tuple(in_path) + tuple(leaks), error=f"pixels not read: {err}")
    return FileCheck(out_name, orig_name, tuple(in_path) + tuple(leaks))


#: Where a leak in an output's path is reported, and what a masked name reads.
PATH_ELEMENT = "<output path>"
MASK = "<identifying>"


def path_leaks(original_ds: Dataset, names: tuple[str, ...] | list[str], *, file: str = "", original: str = "") -> list[Leak]:
    """Identifying values of an original in the names of its output's path (``names``:
    the folders, then the file name), as a run checks them (:mod:`deidlang.engine.naming`: the
    original's names and their parts, IDs, dates and UIDs, found within a name). One
    leak per name, at :data:`PATH_ELEMENT`, its place as ``folder N`` or ``file name``."""
    from .naming import NameCheck, path_identifiers

    check = NameCheck(path_identifiers(original_ds))
    leaks = []
    for i, name in enumerate(names):
        hits = check.hits(name)
        if hits:
            both = tuple(dict.fromkeys((h.kind, h.source) for h in hits))
            where = "file name" if i == len(names) - 1 else f"folder {i + 1}"
            leaks.append(Leak(file, PATH_ELEMENT, where, tuple(k for k, _ in both), tuple(src for _, src in both), name, original))
    return leaks


class _Masks:
    """Which names of the paths ``deidc verify`` shows hold an identifying value: a name
    holding one of *any* original below it (a folder holds several files) is masked for
    every file, as a run renames it for every file (:mod:`deidlang.engine.naming`). A first
    pass over the originals' headers."""

    def __init__(self, found: list[tuple[str, str]], base_in: str, base_out: str):
        from .naming import flags, read_header

        self.flagged: set[tuple[str, ...]] = set()
        for src, dst in found:
            sides = (("in", _names_below(src, base_in)), ("out", _names_below(dst, base_out)))
            try:
                ds = read_header(src, force=True)
                hits = [flags(ds, names) for _, names in sides]
            except Exception:  # noqa: BLE001 - an original that cannot be read: its own names are masked
                hits = [(len(names) - 1,) for _, names in sides]
            for (side, names), which in zip(sides, hits):
                self.flagged.update((side, *names[: i + 1]) for i in which)

    def shown(self, shown: str, names: list[str], side: str) -> str:
        """``shown`` (a path ending with ``names``) with the flagged names replaced by :data:`MASK`."""
        masked = [MASK if (side, *names[: i + 1]) in self.flagged else name for i, name in enumerate(names)]
        if masked == names:
            return shown
        parts = shown.split(os.sep)
        return os.sep.join([*parts[: len(parts) - len(names)], *masked])


def pairs(original: str, deidentified: str, key: Any = None) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """``(pairs of (original, output) absolute paths, unpaired outputs, skipped files)``.

    The run manifest in the output folder, when present, pairs the files it
    lists (it names inputs by keyed digests: ``key`` is the run's key, by default
    the default key); any other output pairs with the original at the same relative
    path (outputs under ``quarantine/`` with the path below it). Two files
    pair with each other.
    """
    if os.path.isfile(deidentified):
        if os.path.isdir(original):
            candidate = os.path.join(original, os.path.basename(deidentified))
            return ([(candidate, deidentified)], [], []) if os.path.isfile(candidate) else ([], [deidentified], [])
        return [(original, deidentified)], [], []
    if not os.path.isdir(deidentified):
        raise DeidlangError(f"'{deidentified}' does not exist")
    found: list[tuple[str, str]] = list(_manifest_pairs(deidentified, original, key) or ())
    paired = {out for _, out in found}
    unpaired: list[str] = []
    skipped: list[str] = []
    for out in _files(deidentified):
        if os.path.abspath(out) in paired:
            continue
        rel = os.path.relpath(out, deidentified)
        if rel.lower().endswith(_REPORT_SUFFIXES):
            skipped.append(out)
            continue
        head, sep, tail = rel.partition(os.sep)
        if head == "quarantine" and sep:
            rel = tail
        if os.path.isdir(original):
            candidate = os.path.join(original, rel)
        else:
            candidate = original if os.path.basename(original) == os.path.basename(rel) else ""
        if candidate and os.path.isfile(candidate):
            found.append((candidate, out))
        else:
            unpaired.append(out)
    return found, unpaired, skipped


def _files(root: str) -> Iterator[str]:
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield os.path.join(directory, name)


def _manifest_pairs(root: str, original: str, key: Any = None) -> list[tuple[str, str]] | None:
    """Pairs from the run manifest (None when there is no usable one).

    ``deidlang-manifest.jsonl`` holds one record per output (the last one
    wins): ``input_key``, the keyed digest of the input's path relative to
    input root number ``root`` (:func:`_keyed_inputs` finds it under
    ``original``), and ``output`` relative to the output folder. Manifests of
    earlier versions name the input (``input``) and list the roots as they were
    given: an input is looked for under ``original`` first, then under its root
    as the run named it.
    """
    header: Mapping[str, Any] = {}
    try:
        with open(os.path.join(root, MANIFEST_NAMES[1]), encoding="utf-8") as fh:
            loaded = json.load(fh)
        if isinstance(loaded, Mapping):
            header = loaded
    except (OSError, ValueError):
        pass
    records: dict[str, Mapping[str, Any]] = {}
    try:
        with open(os.path.join(root, MANIFEST_NAMES[0]), encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if (
                    isinstance(rec, Mapping)
                    and isinstance(rec.get("output"), str)
                    and (isinstance(rec.get("input"), str) or isinstance(rec.get("input_key"), str))
                ):
                    records[rec["output"]] = rec
    except OSError:
        return None
    given = header.get("inputs")
    inputs = given if isinstance(given, list) else []
    keyed_inputs = None
    found: list[tuple[str, str]] = []
    for out_rel, rec in records.items():
        if rec.get("status") not in (None, "written", "quarantined"):
            continue
        dst = out_rel if os.path.isabs(out_rel) else os.path.join(root, *out_rel.split("/"))
        if not os.path.isfile(dst):
            continue
        if isinstance(rec.get("input_key"), str):
            if keyed_inputs is None:
                keyed_inputs = _keyed_inputs(original, key, header)
            src = keyed_inputs(rec)
        else:
            src = _manifest_input(rec, inputs, original)
        if src is not None:
            found.append((os.path.abspath(src), os.path.abspath(dst)))
    return found or None


def _run_key(key: Any, header: Mapping[str, Any]):
    """The key that made a run's input keys: ``key``, else the default key (never created
    here). Raises :class:`DeidlangError` when there is none or it is not the run's."""
    from ..runtime import keys

    if key is None:
        try:
            key = keys.default_key(create=False)[0]
        except keys.MissingKey:
            key = None
    listed = header.get("keys")
    used = listed if isinstance(listed, list) else []
    if key is None or (used and key.fingerprint not in used):
        have = "no key was found" if key is None else f"the key given has fingerprint {key.fingerprint}"
        raise DeidlangError(
            "the run manifest names inputs by keyed digests, so outputs pair with their originals only with the "
            f"run's key (fingerprint {', '.join(used) or 'unknown'}); {have}: pass it with --key-file"
        )
    return key


def _keyed_inputs(original: str, key: Any, header: Mapping[str, Any]):
    """A function from a manifest record (``root``, ``input_key``) to its original under
    ``original`` (None when it is not there). ``original`` is an input root of the run, a
    file, or the folder that holds several input roots (their names are matched by the
    header's ``inputs[].name_key``)."""
    from .naming import input_key

    key = _run_key(key, header)
    roots = [r.get("name_key") if isinstance(r, Mapping) else None for r in header.get("inputs") or ()]
    own = input_key(key, os.path.basename(os.path.abspath(original)))
    direct: dict[str, str] = {}
    below: dict[tuple[str, str], str] = {}
    if os.path.isdir(original):
        for path in _files(original):
            rel = os.path.relpath(path, original).replace(os.sep, "/")
            direct.setdefault(input_key(key, rel), path)
            first, sep, rest = rel.partition("/")
            if sep:
                below.setdefault((input_key(key, first), input_key(key, rest)), path)
    elif os.path.isfile(original):
        direct[input_key(key, os.path.basename(original))] = original

    def find(rec: Mapping[str, Any]) -> str | None:
        ikey, index = rec["input_key"], rec.get("root")
        name = roots[index] if isinstance(index, int) and 0 <= index < len(roots) else None
        if len(roots) > 1 and name and name != own:
            return below.get((name, ikey))
        return direct.get(ikey) or (below.get((name, ikey)) if name else None)

    return find


def _manifest_input(rec: Mapping[str, Any], inputs: list, original: str) -> str | None:
    rel = rec["input"]
    if os.path.isabs(rel):
        return rel if os.path.isfile(rel) else None
    parts = rel.split("/")
    candidates = []
    if os.path.isdir(original):
        candidates.append(os.path.join(original, *parts))
        index = rec.get("root")
        if isinstance(index, int) and 0 <= index < len(inputs) and isinstance(inputs[index], str) and len(inputs) > 1:
            candidates.append(os.path.join(original, os.path.basename(inputs[index].rstrip("/\\")), *parts))
    elif os.path.basename(original) == parts[-1]:
        candidates.append(original)
    index = rec.get("root")
    if isinstance(index, int) and 0 <= index < len(inputs) and isinstance(inputs[index], str):
        given = inputs[index]
        candidates.append(given if os.path.isfile(given) else os.path.join(given, *parts))
    for c in candidates:
        if os.path.isfile(c):
            return c
    return None


def verify_tree(original: str, deidentified: str, *, key: Any = None, show_values: bool = False, pixels: Any = None) -> VerifyReport:
    """Verify every output under ``deidentified`` against its original under ``original``:
    its elements and bytes (with the recipes and profile options its run manifest
    names, when there is one), and the names of its path under ``deidentified`` (a name
    that holds an identifying value of the original is a leak, and is masked where a
    path is shown unless ``show_values``; so are the original's). ``key``: the run's
    key, to pair through its manifest (:func:`pairs`). ``pixels``: see :func:`verify_files`."""
    found, unpaired, skipped = pairs(original, deidentified, key)
    recipes, options = manifest_recipes(deidentified) if os.path.isdir(deidentified) else ((), None)
    base_out = deidentified if os.path.isdir(deidentified) else os.path.dirname(deidentified)
    base_in = original if os.path.isdir(original) else os.path.dirname(original)
    masks = None if show_values else _Masks(found, base_in, base_out)
    checks = []
    not_dicom: list[str] = []
    for src, dst in found:
        out_names, in_names = _names_below(dst, base_out), _names_below(src, base_in)
        shown_out, shown_in = _shown(dst, base_out, deidentified), _shown(src, base_in, original)
        if masks is not None:
            shown_out, shown_in = masks.shown(shown_out, out_names, "out"), masks.shown(shown_in, in_names, "in")
        check = verify_files(src, dst, shown_output=shown_out, shown_original=shown_in, recipes=recipes, options=options, output_names=out_names, pixels=pixels)
        if check.error.startswith("cannot read the output") and not _looks_dicom(dst):
            not_dicom.append(shown_out)
            continue
        checks.append(check)
    return VerifyReport(
        tuple(checks),
        tuple(_shown(p, base_out, deidentified) for p in unpaired),
        tuple(_shown(p, base_out, deidentified) for p in skipped) + tuple(not_dicom),
    )


def manifest_recipes(root: str) -> tuple[list[Any], tuple[str, ...] | None]:
    """``(recipes, options)`` of the run that wrote ``root``, from its manifest header:
    the recipes it names that are still there unchanged (same SHA-256), compiled, and
    the profile options among all it names (recognised by SHA-256 even when the file
    is gone). ``([], None)`` without a manifest."""
    try:
        with open(os.path.join(root, MANIFEST_NAMES[1]), encoding="utf-8") as fh:
            header = json.load(fh)
    except (OSError, ValueError):
        return [], None
    named = header.get("recipes") if isinstance(header, Mapping) else None
    if not isinstance(named, list):
        return [], None
    from .. import api

    recipes: list[Any] = []
    options: list[str] = []
    for entry in named:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
            continue
        sha = str(entry.get("sha256", ""))
        options.extend(o for o in option_of(sha) if o not in options)
        try:
            program = api.load(entry["path"], allow=True)  # what the run let through
        except Exception:  # noqa: BLE001 - a recipe that moved, changed or no longer checks: its literals stay unknown
            continue
        if program.sha256 == sha:
            recipes.append(program)
    return recipes, tuple(options)


def _names_below(path: str, base: str) -> list[str]:
    """The names of ``path`` below ``base`` (its folders, then its own name)."""
    return os.path.relpath(path, base).split(os.sep)


def _shown(path: str, base: str, given: str) -> str:
    rel = os.path.relpath(path, base)
    return os.path.normpath(os.path.join(given, rel)) if os.path.isdir(given) else given


def _looks_dicom(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:] == b"DICM"
