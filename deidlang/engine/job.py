"""A run's data: the :class:`Job` (programs, inputs, output, ids, functions,
:class:`Options`), one :class:`Task` per file (small and picklable: it crosses to worker
processes), one :class:`FileResult` per file (counts, hashes and reasons, never element
values) and the :class:`Summary` of a run; the engine's errors (:class:`BatchError`) and
the reasons a planned file is refused."""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Mapping

import attrs

from ..lang.diagnostics import DeidlangError, Diagnostic

#: Sub-directory of the output that holds quarantined files, and its report.
QUARANTINE_DIR = "quarantine"
QUARANTINE_REPORT = "quarantine.json"


STATUSES = ("written", "quarantined", "skipped", "failed")


class BatchError(DeidlangError):
    """The job cannot start: a missing input, an output that is a file or the input, an
    unreadable functions file. Messages name paths, never element values."""


class NoInput(BatchError):
    """An input named on the command line does not exist."""


UNLISTABLE = "cannot read: the folder cannot be listed"
OUTSIDE = "its output path would leave the output folder ('..' or an absolute name): not processed"
#: A file the recipes' var: lines need an ids entry for, and which has none.
NO_IDS_ENTRY = "no entry in the ids file (matched by path or SOPInstanceUID), and the recipe's var: lines need one: not written"


@attrs.frozen
class Options:
    """What to do with each file (everything but the recipes, ids and functions)."""

    overwrite: bool = False
    remove_private: bool = True
    force: bool = False
    clean_pixels: bool = False
    quarantine: frozenset[str] = frozenset()
    preserve_compression: bool = False
    pixels_only: bool = False  # leave the header alone (deidc clean --pixels-only)
    png: str | None = None  # absolute directory for before/after previews
    output: str = ""  # absolute output directory (to name previews)
    verify: bool = False  # search each output for identifying values of its original before it is kept
    show_values: bool = False  # keep the leaked values on failed results (for the terminal; never the manifest)
    durable: bool = False  # fsync outputs, manifest records and folders (deidc run --fsync)
    layout: str = "mirror"  # how outputs are named: mirror | pseudonym | dicom (deidlang.engine.naming)
    key: Any = attrs.field(default=None, eq=False, repr=False)  # the Key of output-name pseudonyms and input keys
    tables: Any = attrs.field(default=None, eq=False, repr=False)  # deidlang.tables.Tables: lookups and the missing-row policy
    linkage: bool = False  # collect each file's linkage rows (deidc run --linkage; deidlang/tables)
    ocr: Any = None  # deidlang.ocr.Settings with --ocr: OCR finds text to blank, then proves it gone

    @property
    def inspects(self) -> bool:
        return self.clean_pixels or bool(self.quarantine)

    @property
    def holds(self) -> bool:
        """Whether files can be held back in the quarantine folder (--quarantine, or --ocr's proof)."""
        return bool(self.quarantine) or self.ocr is not None

    def fingerprint(self) -> dict[str, Any]:
        """The options that change output bytes (in the manifest, and in the run key)."""
        return {
            "remove_private": self.remove_private,
            "force": self.force,
            "clean_pixels": self.clean_pixels,
            "quarantine": sorted(self.quarantine),
            "preserve_compression": self.preserve_compression,
            "pixels_only": self.pixels_only,
            "verify": self.verify,
            "layout": self.layout,
            **({"tables": self.tables.fingerprint()} if self.tables is not None else {}),  # deidlang/tables
            **({"linkage": True} if self.linkage else {}),
            **({"ocr": self.ocr.fingerprint()} if self.ocr is not None else {}),
        }


@attrs.frozen
class RecipeRef:
    """A recipe as the manifest names it: its path and the SHA-256 of its text."""

    path: str
    sha256: str


def recipe_ref(path: str, text: str) -> RecipeRef:
    return RecipeRef(path, hashlib.sha256(text.encode("utf-8")).hexdigest())


@attrs.frozen
class Job:
    """One batch run. ``inputs``: files, directories or fsspec URLs (empty: the
    demo data shipped with deidlang). ``programs``: compiled recipes, applied in
    order. ``ids``: deid's ``{path: {name: value}}`` (matched by absolute path,
    path as given, path relative to its input, or the file's SOPInstanceUID: see
    :func:`ids_by_uid`). ``require_ids``: the recipes' ``var:`` lines need an
    entry; a file without one fails and is not written. ``funcs``: callables for
    ``func:``; ``functions_path``: the file they came from (executed again in
    workers that cannot inherit them). ``jobs``: local worker processes.
    ``scheduler``: a Dask scheduler address or ``local:N`` (needs the ``dask`` extra).
    ``manifest``: write the run manifest and resume from it. ``allow``: the
    codes the user let through (``deidc run --allow``) and ``allowed``: the
    recipe findings they let through, recorded in the manifest.
    """

    programs: tuple
    output: str
    inputs: tuple[str, ...] = ()
    recipes: tuple[RecipeRef, ...] = ()
    ids: Mapping[str, Mapping[str, Any]] | None = attrs.field(default=None, eq=False)
    ids_path: str | None = None
    funcs: Mapping[str, Callable] | None = attrs.field(default=None, eq=False)
    functions_path: str | None = None
    options: Options = Options()
    jobs: int = 1
    scheduler: str | None = None
    manifest: bool = True
    start_method: str | None = None  # multiprocessing start method (None: the platform's default)
    require_ids: bool = False  # the recipes need ids (var:): a file without an entry fails, unwritten
    allow: tuple[str, ...] = ()
    allowed: tuple = ()  # Diagnostics
    linkage: str | None = None  # the linkage file (deidc run --linkage; deidlang/tables/linkage.py)


@attrs.frozen
class Task:
    """One file to process: small and picklable (it crosses to a worker process).

    ``replace_target`` / ``replace_quarantine``: an existing file at that path
    may be replaced without ``--overwrite`` (the manifest shows that an earlier,
    different run of this tool wrote it).
    """

    source: str  # absolute input path, or URL
    target: str  # absolute output path
    display: str  # how the file is named in messages
    ids: Mapping[str, Any] | None = None  # this file's variables (None: no ids given)
    quarantine: str | None = None  # absolute path under <output>/quarantine (with --quarantine)
    ids_key: str | None = None  # the file's key in the worker's ids index (instead of ``ids``)
    root: int = 0  # index of its input root
    relative: str = ""  # path relative to its input root
    replace_target: bool = False
    replace_quarantine: bool = False
    base: str = ""  # the output folder (absolute): outputs are confined to it
    refused: str = ""  # why the file is not processed at all (its output path would leave the output folder)
    scan: bool = False  # only say which of ``names`` hold identifying values (the mirror layout's first pass)
    names: tuple[str, ...] = ()  # with ``scan``: the output path's names (folders, then the file)


@attrs.frozen
class FileResult:
    """What happened to one file. Holds counts, hashes and reasons, never element values."""

    display: str
    status: str  # "written" | "quarantined" | "skipped" | "failed"
    reason: str = ""
    removed: int = 0
    added: int = 0
    changed: int = 0
    warnings: int = 0
    diagnostic: Diagnostic | None = None  # for a failure at apply time: where in the recipe
    # with --clean-pixels / --quarantine:
    pixels: str = ""  # "cleaned" | "unchanged" ("" when pixels were not asked about)
    verdict: str | None = None  # the first %filter group that flagged the file
    matches: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (group, label, criteria that held)
    note: str = ""  # about the pixels: why they are uncompressed, why nothing was blanked
    ocr: str = ""  # with --ocr: "proven" (read again: no identifying text) | "blank" (the recipe blanks every pixel) | "failed" (still found: quarantined) | ""
    ocr_boxes: int = 0  # with --ocr: text boxes OCR blanked
    output: str = ""  # where the file was (or is to be) written
    previews: int = 0  # PNG files written
    # for the manifest and resuming:
    resumed: bool = False  # skipped because an earlier run of the same job completed it
    tmp: str = ""  # the temporary file to rename to ``output`` (set by workers, cleared once renamed)
    input_sha256: str = ""
    input_size: int = -1
    input_mtime_ns: int | None = None
    output_sha256: str = ""
    output_size: int = -1
    output_mtime_ns: int | None = None
    root: int = 0
    relative: str = ""
    leaks: tuple = attrs.field(default=(), eq=False, repr=False)  # verify: what was found (holds values; never recorded)
    detail: str = attrs.field(default="", eq=False, repr=False)  # with --show-values: the message a user's function raised (never recorded)
    # output names (deidlang.engine.naming):
    flags: tuple[int, ...] = ()  # a name scan: which names of the output path hold identifying values
    renamed: tuple[int, ...] = ()  # the dicom layout: which names of the output path were replaced by pseudonyms
    input_key: str = ""  # the keyed digest that stands for the input in the manifest and reports
    # lookup tables (deidlang/tables):
    fallbacks: tuple[str, ...] = ()  # "table:key element" of each keyed fallback of a missing row (--on-missing hash)
    linkage: tuple = attrs.field(default=(), eq=False, repr=False)  # (kind, original, replacement): for the linkage file only


@attrs.define
class Summary:
    """Counts over a run (what ``deidc`` prints at the end). Quarantined results are kept
    for the quarantine report; nothing else per file."""

    files: int = 0
    written: int = 0
    quarantined: int = 0
    skipped: int = 0
    failed: int = 0
    resumed: int = 0
    removed: int = 0
    added: int = 0
    changed: int = 0
    warnings: int = 0
    cleaned: int = 0
    unchanged: int = 0
    uncompressed: int = 0
    previews: int = 0
    flagged_unclean: int = 0  # written, flagged by a group not held back, pixels not asked about
    ocr_read: int = 0  # with --ocr: files whose pixels OCR read
    ocr_blanked: int = 0  # ... in which it blanked text
    ocr_failed: int = 0  # ... that still showed identifying text after cleaning
    layout: str = "mirror"
    renamed_folders: int = 0  # distinct output folders whose input name held an identifying value (replaced)
    renamed_files: int = 0  # file names that held an identifying value (replaced)
    held: list = attrs.field(factory=list)
    clean_pixels: bool = False
    fallbacks: int = 0  # files that used a keyed fallback for a missing table row (deidlang/tables)

    def add(self, result: FileResult) -> None:
        self.files += 1
        self.fallbacks += bool(result.fallbacks)
        setattr(self, result.status, getattr(self, result.status) + 1)
        self.resumed += result.resumed
        self.removed += result.removed
        self.added += result.added
        self.changed += result.changed
        self.warnings += result.warnings
        if result.pixels:
            setattr(self, result.pixels, getattr(self, result.pixels) + 1)
            self.previews += result.previews
        if result.status != "failed" and result.note.startswith("written uncompressed"):
            self.uncompressed += 1
        if result.ocr in ("proven", "failed"):
            self.ocr_read += 1
            self.ocr_blanked += result.ocr_boxes > 0
            self.ocr_failed += result.ocr == "failed"
        if result.status == "quarantined":
            self.held.append(result)
        elif result.status == "written" and result.verdict is not None and not self.clean_pixels:
            self.flagged_unclean += 1

    def names_text(self) -> str:
        """What happened to the output names, in one sentence (for the run's summary)."""
        if self.layout == "pseudonym":
            return "output names: every folder and file name is a keyed pseudonym (--layout pseudonym)"
        folders, files = self.renamed_folders, self.renamed_files
        changed = f"{folders} folder name{'' if folders == 1 else 's'} and {files} file name{'' if files == 1 else 's'}"
        if self.layout == "dicom":
            text = "output names: patient/study/series/instance from the de-identified headers (--layout dicom)"
            return text + (f"; {changed} held identifying values: replaced by keyed pseudonyms" if folders or files else "")
        if folders or files:
            return f"output names: {changed} held identifying values of their files: replaced by keyed pseudonyms"
        return "output names: as in the input (no folder or file name holds an identifying value of its files)"

    def counts(self) -> dict[str, int]:
        return {
            "files": self.files,
            "written": self.written,
            "quarantined": self.quarantined,
            "skipped": self.skipped,
            "failed": self.failed,
            "resumed": self.resumed,
        }
