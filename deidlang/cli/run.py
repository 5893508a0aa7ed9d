"""``deidc run``: check and compile the recipes, refuse inputs and options that cannot be
right (:mod:`deidlang.engine.preflight`), hand the files to :mod:`deidlang.engine` and
report what it says; ``--dry-run`` explains every file instead of writing it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable, Iterator, Mapping

import attrs

from .. import engine
from ..dicomio.atomic import WriteError
from ..engine import pool, preflight, worker
from ..lang.diagnostics import ApplyError, parse_allow
from ..lang.render import render_text
from ..version import __version__
from . import tables as cli_tables  # --table, --on-missing, --linkage (deidlang/tables)
from .common import (
    DEFAULT_OUTPUT,
    DEFAULT_RECIPE,
    INTERRUPTED,
    PROG,
    QUARANTINE_DIR,
    QUARANTINE_REPORT,
    CliError,
    add_key_options,
    add_layout_option,
    add_ocr_arguments,
    add_safety_options,
    apply_error_text,
    bind_key,
    count,
    has_filters,
    load_functions,
    load_programs,
    ocr_settings,
    option_recipes,
    positive_int,
    print_err,
    read_dicom_or_fail,
    read_ids,
    require_pixels,
    resolve_key,
    want_color,
    with_detail,
    write_text_atomic,
)
from .progress import Progress, duration


def register(sub: Any) -> None:
    """``deidc run``: its arguments, beside its code."""
    p = sub.add_parser(
        "run",
        help="de-identify DICOM files with recipes",
        description=(
            "De-identify DICOM files. Without --input, runs on the demo data shipped with deidlang; "
            "without --recipe, applies deidlang's default recipe (the DICOM PS3.15 Basic Application Level "
            "Confidentiality Profile; --option adds its options). Several --recipe "
            "options are applied one after the other, in the order given. Output mirrors the input "
            "tree under --output, except that a folder or file name holding an identifying value of a file "
            "in it is replaced by a keyed pseudonym (--layout chooses another naming); inputs are never modified."
        ),
    )
    p.add_argument("--recipe", action="append", metavar="RECIPE", help="recipe to apply (repeatable; applied in order)")
    p.add_argument("--input", action="append", metavar="PATH", help="DICOM file or directory (repeatable; default: the demo data)")
    p.add_argument("--output", default=DEFAULT_OUTPUT, metavar="DIR", help=f"output directory (default: ./{DEFAULT_OUTPUT})")
    p.add_argument("--ids", metavar="IDS.json", help="per-file variables in deid's shape (from `deidc identifiers`)")
    p.add_argument("--functions", metavar="FILE.py", help="Python file providing the func: functions (it is executed)")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that already exist (default: keep them)")
    p.add_argument(
        "--fsync",
        action="store_true",
        help="sync each output and manifest record to the disk before it counts as done (survives power loss and OS crashes, not only a killed deidc; slower)",
    )
    p.add_argument("--jobs", type=positive_int, metavar="N", help="worker processes (default: all cores)")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a Dask cluster: a scheduler address (tcp://HOST:8786) or local:N for a local cluster "
        "of N worker processes (needs the dask extra); outputs and manifest are the same as a local run",
    )
    private = p.add_mutually_exclusive_group()
    private.add_argument("--remove-private", dest="remove_private", action="store_true", default=True, help="remove private elements (default)")
    private.add_argument("--keep-private", dest="remove_private", action="store_false", help="keep private elements")
    p.add_argument("--strict", action="store_true", help="do not run when the recipe has warnings")
    add_safety_options(p)
    p.add_argument("--force", action="store_true", help="read files that lack the DICOM preamble")
    pixels = p.add_argument_group("pixels (the recipe's %filter sections)")
    pixels.add_argument(
        "--clean-pixels",
        action="store_true",
        help="also blank the regions the %%filter labels give, in the same pass (one output file); "
        "a file whose pixels cannot be cleaned fails and is not written",
    )
    pixels.add_argument(
        "--quarantine",
        action="append",
        metavar="GROUP",
        help=f"write files whose verdict (first matching %%filter group) is GROUP to <output>/{QUARANTINE_DIR}/ "
        f"instead, listed with the reason in {QUARANTINE_DIR}/{QUARANTINE_REPORT} (repeatable)",
    )
    pixels.add_argument(
        "--preserve-compression",
        action="store_true",
        help="re-encode cleaned pixels with their lossless codec (RLE, JPEG 2000 lossless, JPEG-LS lossless); "
        "other sources are written uncompressed (default: always uncompressed)",
    )
    add_ocr_arguments(pixels, cleaning=True)  # OCR (deidlang/ocr)
    p.set_defaults(handler=run)
    add_layout_option(p)
    add_key_options(p)
    add_run_proof_options(p)
    cli_tables.add_run_options(p)


_START_METHOD: str | None = None  # the platform's default multiprocessing start method (a seam for tests)


def execute(
    tasks: list[engine.Task],
    programs: list,
    funcs: Mapping[str, Callable] | None,
    functions_path: str | None,
    options: engine.Options,
    jobs: int,
) -> Iterator[engine.FileResult]:
    """Results in task order, from this process (one job) or a process pool (no manifest)."""
    return engine.execute(tasks, programs, funcs, functions_path, options, jobs, start_method=_START_METHOD)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "report", None) and not getattr(args, "dry_run", False):
        raise CliError("--report goes with --dry-run (a run records what it did in its manifest)")
    return process_files(args, pixels_only=False, png=None)


def process_files(args: argparse.Namespace, *, pixels_only: bool, png: str | None) -> int:
    """``deidc run`` and ``deidc clean``: check and compile the recipes, refuse inputs and
    options that cannot be right (:mod:`deidlang.engine.preflight`), hand the files to
    :mod:`deidlang.engine` and report what it says."""
    from ..runtime import extras

    ids = read_ids(args.ids) if args.ids else None
    funcs = load_functions(args.functions) if args.functions else None
    recipe_paths = option_recipes(args) + (args.recipe or [str(DEFAULT_RECIPE)])
    quarantine = frozenset(args.quarantine or ())
    clean_pixels = bool(args.clean_pixels)
    remove_private = args.remove_private and not pixels_only
    scheduler = getattr(args, "scheduler", None)
    if scheduler:
        _require_dask(scheduler)
    preflight.check_options(getattr(args, "option", None), remove_private=remove_private)
    if clean_pixels:
        require_pixels()
    ocr = ocr_settings(args, cleaning=True)
    loaded = load_programs(recipe_paths, ids=ids, funcs=funcs, strict=args.strict, args=args, applying=not pixels_only)
    if loaded is None:
        return 1
    texts, programs, allowed = loaded  # in the order given, applied one after the other
    preflight.check_quarantine(quarantine, programs)
    if clean_pixels and not has_filters(programs):
        print_err("note: the recipe has no %filter section: no file is flagged, no pixels are cleaned")
    variables = [] if pixels_only else preflight.needed_variables(texts, funcs)
    key_notes: list[str] = []  # printed once the run starts, after its inputs are checked
    key = resolve_key(args, notes=key_notes)  # keyed built-ins, output names and the manifest's input keys
    programs = extras.chain(programs)  # earlier KEEPs protect; the key is bound once the run starts

    options = engine.Options(
        overwrite=args.overwrite,
        remove_private=remove_private,
        force=args.force,
        clean_pixels=clean_pixels,
        quarantine=quarantine,
        preserve_compression=bool(getattr(args, "preserve_compression", False)),
        pixels_only=pixels_only,
        png=os.path.abspath(png) if png else None,
        output=os.path.abspath(args.output),
        verify=bool(getattr(args, "verify", False)),
        show_values=bool(getattr(args, "show_values", False)),
        durable=bool(getattr(args, "fsync", False)),
        ocr=ocr,
        layout=args.layout,
        key=key,
        **cli_tables.run_options(args),
    )
    job = engine.Job(
        programs=tuple(programs),
        output=args.output,
        inputs=tuple(args.input or ()),
        recipes=tuple(engine.recipe_ref(path, texts[path]) for path in recipe_paths),
        ids=ids,
        ids_path=args.ids,
        funcs=funcs,
        functions_path=args.functions,
        options=options,
        jobs=args.jobs or pool.default_jobs(),
        scheduler=scheduler,
        start_method=_START_METHOD,
        require_ids=bool(variables),
        allow=tuple(sorted(parse_allow(args.allow))),
        allowed=allowed,
        **cli_tables.job_options(args),
    )
    try:
        run = engine.prepare(job)
    except engine.NoInput as err:
        raise preflight.Refusal(str(err)) from None
    except engine.BatchError as err:
        raise CliError(str(err)) from None
    preflight.check_found(run.total, args.input or ())
    note = preflight.check_ids(variables, ids_path=args.ids, total=run.total, missing=run.missing_ids, strict=args.strict)
    if note:
        print_err(f"note: {note}")
    # the run starts: bind the key (saying which), into the job the workers get
    for note in key_notes:
        print_err(note)
    programs = bind_key(programs, args, key)
    run.job = attrs.evolve(run.job, programs=tuple(programs))
    if getattr(args, "dry_run", False):
        return dry_run(args, list(run.tasks()), programs, funcs)

    progress = Progress(run.total, sys.stderr)
    notes_shown: set[str] = set()
    shown: set[tuple] = set()  # recipe places already shown with their source line
    try:
        for result in run.results():
            if result.status == "failed":
                if result.leaks and options.show_values:  # values on the terminal only when asked, never in the manifest
                    result = attrs.evolve(result, reason=worker.verify_reason(result.leaks, show_values=True))
                progress.message(_failure_report(result, texts, shown))
            elif result.note:
                # Encoding notes repeat for every file of a kind: show each once, count them all.
                # Other notes (flagged, but nothing blanked) matter per file.
                encoding = result.note.startswith("written uncompressed")
                if not encoding or result.note not in notes_shown:
                    notes_shown.add(result.note)
                    more = " (further files like it are only counted)" if encoding else ""
                    progress.message(f"{PROG}: note: {result.display}: {result.note}{more}")
            progress.advance()
    except WriteError as err:  # disk full, read-only: the run stopped
        progress.clear()
        print_err(f"error: {err}")
        print_err(
            "note: the run stopped; the outputs in the folder are complete and recorded in its manifest: "
            "make room (or make the folder writable) and run the same command again to finish"
        )
        return 2
    except engine.BatchError as err:
        progress.clear()
        raise CliError(str(err)) from None
    except KeyboardInterrupt:
        progress.clear()
        print_err(
            f"interrupted after {run.summary.files} of {count(run.total, 'file')}: the outputs in '{args.output}' "
            "are complete and recorded in its manifest; run the same command again to resume (finished files are skipped)"
        )
        return INTERRUPTED
    progress.clear()

    summary = run.summary
    report = _write_quarantine_report(options.output, summary.held) if quarantine or ocr is not None or summary.held else None
    _print_run_summary(args, recipe_paths, summary, options=options, elapsed=progress.elapsed())
    cli_tables.print_run_summary(args, run)
    if clean_pixels:
        _print_pixel_summary(summary, options)
    if report is not None and (summary.held or os.path.exists(report)):
        print(f"quarantine: {count(len(summary.held), 'file')} held back in {os.path.dirname(report)}; reasons in {report}")
    if summary.flagged_unclean:
        print(f"{count(summary.flagged_unclean, 'written file')} flagged by other %filter groups kept their pixels; --clean-pixels blanks their regions")
    return 1 if summary.failed else 0


def _require_dask(scheduler: str) -> None:
    """The form of ``--scheduler`` first (a typo is told as one), then the extra it needs."""
    from ..engine import distributed

    try:
        distributed.parse_address(scheduler)
        distributed.require()
    except engine.BatchError as err:
        raise CliError(str(err)) from None


def _write_quarantine_report(output: str, held: list[engine.FileResult]) -> str:
    """Add this run's quarantined files to ``<output>/quarantine/quarantine.json``
    (see :func:`deidlang.engine.manifest.write_quarantine_report`)."""
    try:
        return engine.write_quarantine_report(output, held)
    except OSError as err:
        path = os.path.join(output, QUARANTINE_DIR, QUARANTINE_REPORT)
        print_err(f"cannot write the quarantine report '{path}': {err.strerror or type(err).__name__}")
        return path


def _print_pixel_summary(summary: engine.Summary, options: engine.Options) -> None:
    line = f"pixels: {count(summary.cleaned, 'file')} cleaned, {summary.unchanged} unchanged"
    if summary.uncompressed and options.preserve_compression:
        line += f"; {summary.uncompressed} written uncompressed (their encoding cannot be redone here)"
    print(line)
    if options.ocr is not None:
        print(
            f"OCR: {count(summary.ocr_read, 'file')} read, text blanked in {summary.ocr_blanked}, "
            f"{summary.ocr_failed} still showing identifying text after cleaning (quarantined)"
        )
    if options.png:
        print(f"previews: {count(summary.previews, 'PNG file')} in {options.png}; the 'before' images show the original pixels")


def _failure_report(result: engine.FileResult, texts: Mapping[str, str], shown: set[tuple]) -> str:
    """One line per failed file; the first failure at each recipe place also shows
    the recipe line, as `deidc check` does (style.md 4.2)."""
    line = f"{PROG}: failed: {result.display}: {with_detail(result.reason, result.detail)}"
    diag = result.diagnostic
    if diag is None:
        return line
    key = (diag.file, diag.line, diag.column, diag.code, diag.message)
    if key in shown:
        return line
    shown.add(key)
    block = render_text([diag], texts, color=want_color(sys.stderr), summary=False)
    return f"{line}\n{block}"


def _print_run_summary(args, recipe_paths, summary: engine.Summary, *, options: engine.Options | None = None, elapsed: float | None = None) -> None:
    out = sys.stdout
    total = summary.files
    recipes = "deidlang default recipe" if not args.recipe else ", ".join(recipe_paths)
    if getattr(args, "option", None):  # bundled profile options, applied first
        recipes = (
            ", ".join(f"option {o}" for o in dict.fromkeys(args.option))
            + ", "
            + (recipes if args.recipe else "the default recipe (DICOM PS3.15 Basic Profile)")
        )
    source = "demo data shipped with deidlang" if not args.input else ", ".join(args.input)
    print(f"recipe: {recipes}", file=out)
    print(f"input: {source}", file=out)
    print(f"output: {os.path.abspath(args.output)}", file=out)
    held = f"{summary.quarantined} quarantined, " if options is not None and (options.quarantine or summary.quarantined) else ""
    print(
        f"{count(total, 'file')} processed: {summary.written} written, {held}{summary.skipped} skipped, {summary.failed} failed",
        file=out,
    )
    if elapsed is not None:
        rate = f" ({total / elapsed:.1f} files/s)" if total and elapsed > 0 else ""
        print(f"time: {duration(elapsed)}{rate}", file=out)
    if options is not None and options.pixels_only:
        print("header left as it was (--pixels-only)", file=out)
    elif summary.written or summary.quarantined:
        print(
            f"top-level elements in written files: {summary.removed} removed, {summary.changed} changed, {summary.added} added"
            + ("; private elements removed" if args.remove_private else "; private elements kept"),
            file=out,
        )
    if summary.written or summary.quarantined:
        print(summary.names_text(), file=out)
    if summary.resumed:
        print(f"{count(summary.resumed, 'file')} already complete from an earlier run of the same job (resumed)", file=out)
    kept = summary.skipped - summary.resumed
    if kept:
        print(f"{count(kept, 'existing output')} kept; use --overwrite to replace them", file=out)
    if summary.warnings:
        print(f"pydicom gave {count(summary.warnings, 'warning')} while reading or writing (not shown: they can quote element values)", file=out)
    print(f"manifest: {os.path.join(os.path.abspath(args.output), engine.MANIFEST)}", file=out)


def add_run_proof_options(run: Any) -> None:
    """``deidc run --dry-run [--report PATH]`` and ``--verify``."""
    proof = run.add_argument_group("seeing and proving what the recipe does")
    proof.add_argument("--dry-run", action="store_true", help="read and de-identify in memory only: say what would change per file; write nothing")
    proof.add_argument("--report", metavar="PATH", help="with --dry-run: write every file's per-element explanation to PATH (JSON)")
    proof.add_argument(
        "--verify",
        action="store_true",
        help="search each output for identifying values of its original before writing it; a file with a leak fails and is not written",
    )
    proof.add_argument("--show-values", action="store_true", help="include element values in the --dry-run report and --verify failures (identifying data)")


def dry_run(args: argparse.Namespace, tasks: list, programs: list, funcs: Mapping[str, Callable] | None) -> int:
    """``deidc run --dry-run``: explain every file; write nothing but the optional --report."""
    from ..runtime import explain as explaining

    output = os.path.abspath(args.output)
    report_path = os.path.abspath(args.report) if args.report else None
    if report_path and (report_path + os.sep).startswith(output + os.sep):
        raise CliError(f"--report '{args.report}' is inside the output directory, which a dry run leaves alone: choose another path")
    show = bool(getattr(args, "show_values", False))
    totals = dict.fromkeys(explaining.OUTCOMES, 0)
    actions: dict[str, int] = {}
    entries: list[dict[str, Any]] = []
    failed = 0
    for task in tasks:
        reason = ""
        explanation = None
        try:
            if task.refused:  # no ids entry for a recipe that needs one; a path that would leave the output
                raise CliError(task.refused)
            ds = read_dicom_or_fail(task.source, args.force)
            explanation = explaining.explain(
                programs, ds, ids=task.ids, funcs=funcs, path=task.display, remove_private=args.remove_private, **cli_tables.apply_options(args, ds, programs)
            )
        except CliError as err:
            reason = str(err)
        except ApplyError as err:
            reason = apply_error_text(err, show)
        except Exception as err:  # noqa: BLE001 - keep going; the message must not quote data
            reason = f"internal error while explaining ({type(err).__name__}); this is a bug in deidlang"
        rel = os.path.relpath(task.target, output) if task.target else ""  # the planned output name: no input path
        shown_file = task.display if show else rel
        if explanation is None:
            failed += 1
            print_err(f"failed: {task.display}: {reason}")
            entries.append({"file": shown_file, "output": rel, "error": reason})
            continue
        counts = explanation.counts()
        for k, n in counts.items():
            totals[k] = totals.get(k, 0) + n
        for k, n in explanation.actions().items():
            actions[k] = actions.get(k, 0) + n
        summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n and k != "kept") or "no change"
        print(f"{rel}: would {_would(counts)}" if summary != "no change" else f"{rel}: no change")
        entry = explaining.to_dict(explanation, show_values=show)
        entry["file"], entry["output"] = shown_file, rel
        entries.append(entry)
    if report_path:
        data = {
            "dry_run": True,
            "tool": f"{PROG} {__version__}",
            "recipes": option_recipes(args) + [str(p) for p in (args.recipe or [str(DEFAULT_RECIPE)])],
            "remove_private": bool(args.remove_private),
            "values_shown": show,
            "totals": totals,
            "actions": actions,
            "files": entries,
        }
        write_text_atomic(report_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n", private=show)
    done = len(tasks) - failed
    print(f"dry run: {count(done, 'file')} explained" + (f", {failed} failed" if failed else "") + f"; nothing was written to {args.output}")
    cli_tables.dry_run_report(args, tasks, programs)  # the inputs without a row in a table
    if done:
        print(f"would {_would(totals)} in all" if any(n for k, n in totals.items() if k != "kept") else "no element would change")
        if actions:
            print("decided by: " + ", ".join(f"{k} {n}" for k, n in actions.items()))
    if report_path:
        print(f"report: {args.report}" + (" (holds element values: keep it with the data)" if show else ""))
    return 1 if failed else 0


def _would(counts: Mapping[str, int]) -> str:
    verbs = {"removed": "remove", "blanked": "blank", "changed": "change", "added": "add"}
    parts = [f"{verbs[k]} {n}" for k, n in counts.items() if n and k in verbs]
    text = ", ".join(parts) if parts else "change nothing"
    if counts.get("unchanged"):
        text += f" ({counts['unchanged']} selected but left unchanged)"
    return text + " elements" if parts else text
