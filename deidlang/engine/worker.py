"""One file at a time: a :class:`Worker` reads it (:func:`~.inputs.read_input`), runs the
``%filter`` sections when pixels or quarantine are asked about, applies the recipes,
cleans the pixels if asked, optionally verifies that nothing of the original is left
(:mod:`deidlang.privacy`), and writes the result to a temporary name
(:func:`~.outputs.write_output`). It runs in the main process, a pool worker or a Dask
worker, and holds no per-file state between files. :func:`snapshot` and :func:`changes`
count what a recipe changed without converting what it did not touch."""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable, Iterable, Mapping, Sequence

import attrs

from ..dicomio.atomic import FATAL_ERRNOS, WriteError, describe, errno_of, remove_quietly
from ..dicomio.damage import DAMAGED, DICOMDIR, SMALL_FILE, TOO_DEEP, InputError, is_dicomdir
from ..lang.diagnostics import ApplyError
from ..tables import runs as tables_runs
from .inputs import read_input
from .job import QUARANTINE_DIR, FileResult, Options, Task
from .outputs import OutputError, write_output
from .paths import is_url


def _comparable(value: Any) -> Any:
    """A value that compares by content; every kind of empty (None, '', []) is the same."""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return tuple(value) if len(value) else ""
    return "" if value is None else value


_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"})


def _normal_text(text: str) -> str:
    return "\\".join(part.strip(" \x00") for part in text.split("\\"))


def _same_bytes(old: bytes, new: bytes) -> bool:
    """Whether two encoded text values are equal but for spaces/NULs around each value."""
    if old == new:
        return True
    if b"\\" not in old and b"\\" not in new:
        return old.strip(b" \x00") == new.strip(b" \x00")
    return _normal_text(old.decode("latin-1")) == _normal_text(new.decode("latin-1"))


def _same_text(old, new) -> bool | None:
    """Whether a raw ASCII text element still has its value, without converting it
    (conversion costs more than the rest of the bookkeeping); None when unsure.
    Differences in surrounding spaces only are not counted as changes."""
    if new.VR not in _TEXT_VRS or old.VR not in (new.VR, None):
        return None
    raw = old.value or b""
    value = new.value
    if value is None:
        text = ""
    elif isinstance(value, (str, int, float)):
        text = str(value)
    elif isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        text = "\\".join(str(v) for v in value)
    else:
        return None
    if not (raw.isascii() and text.isascii()):
        return None
    return _normal_text(raw.decode("ascii")) == _normal_text(text)


def _elements(ds) -> dict[int, Any]:
    """Top-level and file-meta elements by tag, without converting raw ones.

    Read from ``Dataset._dict`` (as the runtime's universe does):
    ``Dataset.elements()`` costs about as much as reading the file.
    """
    out: dict[int, Any] = {}
    for dataset in (ds, getattr(ds, "file_meta", None)):
        if dataset is None:
            continue
        elements = getattr(dataset, "_dict", None)
        out.update(elements if isinstance(elements, dict) else {e.tag: e for e in dataset.elements()})
    return out


def snapshot(ds) -> dict[int, tuple[Any, Any]]:
    """tag -> (element object, its value if it is already converted), before a recipe runs.

    Nothing is converted here, so elements the recipe does not touch stay raw
    and are written back exactly as fast as they were read.
    """
    from pydicom.dataelem import DataElement

    return {tag: (elem, _comparable(elem.value) if type(elem) is DataElement and elem.VR != "SQ" else None) for tag, elem in _elements(ds).items()}


def changes(before: dict[int, tuple[Any, Any]], ds, encoding: Any) -> tuple[int, int, int]:
    """(removed, added, changed) top-level elements; changes inside sequences are not counted.

    Only elements the recipe touched (a new element object, or a converted
    one) are compared, so the cost grows with what the recipe does, not
    with the size of the dataset.
    """
    from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element

    after = _elements(ds)
    removed = len(before.keys() - after.keys())
    added = len(after.keys() - before.keys())
    changed = 0
    for tag, (old, old_value) in before.items():
        new = after.get(tag)
        if type(new) is RawDataElement and new is not old and isinstance(new.value, bytes):
            # a value the runtime wrote as bytes (runtime/rawtext.py: ASCII text)
            if type(old) is RawDataElement and isinstance(old.value, bytes):
                changed += not _same_bytes(old.value, new.value)
                continue
            new = convert_raw_data_element(new, encoding=encoding)
        if new is None or (new is old and old_value is None) or type(new) is not DataElement or new.VR == "SQ":
            continue  # removed, untouched (still raw), or a sequence
        if new is not old or old_value is None:
            if type(old) is DataElement:
                if old.VR == "SQ":
                    continue
                old_value = _comparable(old.value)
            else:
                same = _same_text(old, new)
                if same is not None:
                    changed += not same
                    continue
                if old.value is None and old.length:  # a deferred (large) value that was replaced
                    changed += 1
                    continue
                try:
                    old_value = _comparable(convert_raw_data_element(old, encoding=encoding).value)
                except Exception:  # noqa: BLE001 - an unreadable old value counts as changed
                    changed += 1
                    continue
        changed += old_value != _comparable(new.value)
    return removed, added, changed


def inspect_programs(programs: Sequence, ds, path: str):
    """What every recipe's %filter sections say about ``ds``, as one Inspection
    (matches in recipe order: the first is the verdict)."""
    from ..runtime.inspection import Inspection

    matches: list = []
    for program in programs:
        if getattr(program, "filters", ()):
            matches.extend(program.inspect(ds, path=path).matches)
    return Inspection(tuple(matches))


def _match_summary(inspection) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    if inspection is None:
        return ()
    return tuple((m.group, m.label, tuple(str(c) for c in m.criteria)) for m in inspection.matches)


def _unblanked_note(inspection) -> str:
    first = inspection.matches[0]
    return f"flagged by '{first.group}' (label '{first.label}') but no region blanks anything: pixels written unchanged"


def raised_message(err: ApplyError) -> str:
    """The message of the exception a user's ``func:`` raised (R001), which can quote
    element values: shown only with ``--show-values``, never recorded ("" otherwise)."""
    cause = err.__cause__
    if err.code != "R001" or cause is None:
        return ""
    try:
        return str(cause)
    except Exception:  # noqa: BLE001 - the user's exception cannot say what it is
        return ""


def verify_reason(leaks: Sequence, show_values: bool = False) -> str:
    """Why a file failed ``--verify``: the kinds of value and the elements, never the
    values unless ``show_values`` (which is never used for the manifest)."""
    shown = []
    for leak in leaks[:5]:
        where = leak.element if leak.element == "<file bytes>" else f"{leak.element} {leak.path}" if leak.path != leak.element else leak.element
        text = f"{leak.kind} in {where}"
        if show_values:
            text += f" ('{leak.value}')"
        shown.append(text)
    more = f"; and {len(leaks) - 5} more" if len(leaks) > 5 else ""
    n = len(leaks)
    return f"verify: {n} identifying value{'' if n == 1 else 's'} of the original found, file not written: " + "; ".join(shown) + more


def _write_previews(report, target: str, options: Options) -> tuple[str, str]:
    from .. import pixels

    rel = os.path.relpath(target, options.output) if options.output else os.path.basename(target)
    stem = os.path.splitext(rel)[0] if rel.lower().endswith((".dcm", ".dicom")) else rel
    base = os.path.join(options.png or "", stem)
    return pixels.write_previews(report, f"{base}-before.png", f"{base}-after.png")


class Worker:
    """Applies the compiled recipes to one file at a time (in this process, a pool
    worker or a Dask worker). Holds no per-file state between files."""

    def __init__(
        self,
        programs: Sequence,
        funcs: Mapping[str, Callable] | None,
        options: Options,
        ids_index: Mapping[str, Any] | None = None,
    ):
        self.programs = list(programs)
        self.funcs = dict(funcs) if funcs else None
        self.options = options
        self.ids_index = ids_index

    def batch(self, tasks: Iterable[Task]) -> list[FileResult]:
        return [self.scan(task) if task.scan else self(task) for task in tasks]

    def scan(self, task: Task) -> FileResult:
        """The mirror layout's first pass: which of ``task.names`` hold an identifying value
        of the file (status ``"scanned"``), or ``"failed"`` when it cannot be read."""
        from .naming import scan_flags

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warnings can quote values; the run reports the file
            found = scan_flags(task.source, task.names, force=self.options.force)
        status = "failed" if found is None else "scanned"
        return FileResult(task.display, status, flags=found or (), root=task.root, relative=task.relative)

    def __call__(self, task: Task) -> FileResult:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = self._process(task)
            except RecursionError:  # reading, the recipe or writing followed sequences too deep
                result = FileResult(task.display, "failed", TOO_DEEP)
        result = attrs.evolve(result, root=task.root, relative=task.relative)
        return attrs.evolve(result, warnings=len(caught)) if caught else result

    def name(self, task: Task) -> str:
        """Where ``task``'s output would go (the dicom layout names it from the de-identified
        header: the file is read and de-identified in memory); '' when the file fails."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                result = self._process(task, write=False)
            except RecursionError:
                return ""
        return result.output if result.status != "failed" else ""

    def _ids(self, task: Task) -> Mapping[str, Any] | None:
        if task.ids is not None or task.ids_key is None:
            return task.ids
        found = self.ids_index.get(task.ids_key) if (self.ids_index is not None and task.ids_key) else None
        return found if found is not None else {}

    def _process(self, task: Task, write: bool = True) -> FileResult:
        options = self.options

        def failed(reason: str, **more) -> FileResult:
            return FileResult(task.display, "failed", reason, **more)

        if task.refused:
            return failed(task.refused)

        named_here = options.layout == "dicom"  # the target comes from the de-identified header
        if not options.holds and not named_here:  # the target is known before reading: skip existing outputs cheaply
            early = self._existing(task, task.target, task.replace_target)
            if early is not None:
                return early
        try:
            ds, source = read_input(task.source, force=options.force)
        except InputError as err:
            return failed(str(err))
        except Exception as err:  # noqa: BLE001 - a damaged file; its own message could quote data
            return failed(f"cannot read: {DAMAGED} ({type(err).__name__})")
        hashes = {"input_sha256": source.sha256, "input_size": source.size, "input_mtime_ns": source.mtime_ns}
        if is_dicomdir(ds):
            return failed(DICOMDIR, **hashes)
        identifiers = None
        if options.verify or options.ocr is not None:  # what identifies the original, harvested before anything changes
            from ..privacy.identifiers import harvest

            try:
                identifiers = harvest(ds, recipes=self.programs)
            except Exception as err:  # noqa: BLE001
                return failed(f"verify: cannot read the original's values ({type(err).__name__})", **hashes)

        inspection = None
        if options.inspects:  # the filters see the original header values
            try:
                inspection = inspect_programs(self.programs, ds, task.display)
            except ApplyError as err:
                return failed(str(err), diagnostic=err.with_path(task.display).as_diagnostic(), **hashes)
            except Exception as err:  # noqa: BLE001
                return failed(f"internal error while running the %filter sections ({type(err).__name__}); this is a bug in deidlang", **hashes)
        target, status, replace = task.target, "written", task.replace_target
        if inspection is not None and task.quarantine and inspection.group in options.quarantine:
            target, status, replace = task.quarantine, "quarantined", task.replace_quarantine
        if options.holds and not named_here:
            early = self._existing(task, target, replace)
            if early is not None:
                return attrs.evolve(early, **hashes)
        naming_state = None
        if named_here:  # what the names are checked against, and fall back on, before the recipe changes it
            from . import naming

            naming_state = naming.snapshot(ds)

        removed = added = changed = 0
        record = None
        if not options.pixels_only:
            encoding = getattr(ds, "original_character_set", None)
            before = snapshot(ds)
            ids = self._ids(task)
            record = tables_runs.record_for(options, ds, self.programs)  # lookup tables, linkage rows
            more = {"tables": options.tables, "record": record} if record is not None else {}
            try:
                for program in self.programs:
                    result = program.apply(ds, ids=ids, funcs=self.funcs, path=task.display, remove_private=options.remove_private, **more)
                    ds = result if result is not None else ds
            except ApplyError as err:
                detail = raised_message(err) if options.show_values else ""
                return failed(str(err), diagnostic=err.with_path(task.display).as_diagnostic(), detail=detail, **hashes)
            except Exception as err:  # noqa: BLE001 - keep the batch going; the message must not quote data
                return failed(f"internal error while applying the recipe ({type(err).__name__}); this is a bug in deidlang", **hashes)
            removed, added, changed = changes(before, ds, encoding)
            del before
            if tables_runs.held(record) and task.quarantine:  # --on-missing quarantine: a table had no row
                target, status, replace = task.quarantine, "quarantined", task.replace_quarantine
                early = None if named_here else self._existing(task, target, replace)
                if early is not None:
                    return attrs.evolve(early, **hashes)
        renamed: tuple[int, ...] = ()
        if naming_state is not None:
            try:
                parts, renamed = naming.dicom_parts(ds, naming_state, options.key, f"{task.root}/{task.relative}")
            except Exception as err:  # noqa: BLE001 - a value that names nothing readable
                return failed(f"cannot read the values that name the output ({type(err).__name__})", **hashes)
            if status == "quarantined":
                target = os.path.join(target, *parts)
            else:
                if parts[0].lower() == QUARANTINE_DIR:
                    parts[0] += "-input"
                target = os.path.join(task.base, *parts)
        if not write:
            return FileResult(task.display, status, output=target, renamed=renamed)

        # The 128-byte preamble is free-form bytes that can carry identifying text
        # (deid passes it through). An output of ours holds zeros there, the
        # standard's content for an unused preamble (dual TIFF/DICOM files lose
        # their TIFF side: docs/differences-from-deid.md).
        if getattr(ds, "preamble", None) and any(ds.preamble):
            ds.preamble = b"\x00" * 128

        pixel_state, note, report, ocr_state, ocr_boxes = "", "", None, "", 0
        if options.clean_pixels and inspection is not None:
            from .. import pixels

            try:
                if options.ocr is not None:  # --ocr: the recipe's regions and the text OCR finds, then the proof (deidlang/ocr)
                    from ..ocr.run import clean_file

                    report, ocr_state, ocr_boxes, held = clean_file(ds, inspection.regions, identifiers, options)
                    if held and task.quarantine and status != "quarantined":
                        target, status, replace = task.quarantine, "quarantined", task.replace_quarantine
                        early = None if named_here else self._existing(task, target, replace)
                        if early is not None:
                            return attrs.evolve(early, **hashes)
                else:
                    report = pixels.clean_pixels(ds, inspection.regions, preserve_compression=options.preserve_compression, previews=options.png is not None)
            except pixels.PixelError as err:
                return failed(f"pixels not cleaned, file not written: {err}", **hashes)
            except Exception as err:  # noqa: BLE001 - never write a file whose pixels were meant to be cleaned
                return failed(f"pixels not cleaned, file not written: internal error ({type(err).__name__}); this is a bug in deidlang", **hashes)
            pixel_state, note = ("cleaned" if report.cleaned else "unchanged"), report.note
            if inspection.flagged and not report.cleaned and "PixelData" in ds and options.ocr is None:
                note = _unblanked_note(inspection)
            if ocr_state == "failed":
                note = "OCR still found identifying text after cleaning: held in quarantine" + (f"; {note}" if note else "")
        identifiers = identifiers if options.verify else None  # from here on: what --verify searches for
        large = source.size > SMALL_FILE and identifiers is None
        try:
            written = write_output(
                ds,
                target,
                source=task.source,
                large=large,
                keep_data=identifiers is not None,
                base=task.base or None,
                durable=self.options.durable,
                staging=task.base if named_here else None,
            )
        except OutputError as err:
            return failed(str(err), **hashes)
        except OSError as err:
            if errno_of(err) in FATAL_ERRNOS:  # disk full, read-only: every later file would fail too
                raise WriteError.of(err, target) from None
            return failed(f"cannot write '{target}': {describe(err)}", **hashes)
        except Exception as err:  # noqa: BLE001 - pydicom could not encode a value
            return failed(f"cannot write: a value cannot be encoded ({type(err).__name__})", **hashes)
        try:
            if identifiers is not None:
                from ..privacy.search import check_dataset

                leaks = check_dataset(identifiers, ds, file=task.display, data=written.data)
                if leaks:
                    remove_quietly(written.tmp)
                    return failed(verify_reason(leaks), leaks=tuple(leaks) if options.show_values else (), **hashes)
            del ds
            previews = 0
            if report is not None and report.cleaned and options.png:
                try:
                    previews = len(_write_previews(report, target, options))
                except Exception as err:  # noqa: BLE001 - a preview is a convenience; the file is written
                    note = (note + "; " if note else "") + f"previews not written ({type(err).__name__})"
        except BaseException:  # never leave the temporary file of a result that is not returned
            remove_quietly(written.tmp)
            raise
        done = FileResult(
            task.display,
            status,
            removed=removed,
            added=added,
            changed=changed,
            pixels=pixel_state,
            note=note,
            output=target,
            previews=previews,
            renamed=renamed,
            ocr=ocr_state,
            ocr_boxes=ocr_boxes,
            verdict=inspection.group if inspection is not None else None,
            matches=_match_summary(inspection),
            tmp=written.tmp,
            output_sha256=written.sha256,
            output_size=written.size,
            output_mtime_ns=written.mtime_ns,
            **hashes,
        )
        return tables_runs.finish(record, done)

    def _existing(self, task: Task, target: str, replace: bool) -> FileResult | None:
        """The result for a file whose output already exists (or would overwrite the input)."""
        if os.path.lexists(target):
            if (
                not is_url(task.source)
                and not os.path.islink(target)  # a link there is replaced, never written through
                and os.path.exists(task.source)
                and os.path.samefile(task.source, target)
            ):
                return FileResult(task.display, "failed", "the output would overwrite the input")
            if not (self.options.overwrite or replace):
                return FileResult(task.display, "skipped", "the output exists", output=target)
        return None
