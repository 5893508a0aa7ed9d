"""``deidc inspect``: run the recipes' ``%filter`` sections on DICOM files and list, for
every flagged file, its verdict, the labels that matched and the regions they would
blank. Only headers are read (and, with ``--ocr``, the pixels: the text found per frame);
nothing is written."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from typing import Any, Mapping, Sequence

from .. import engine
from ..dicomio import damage
from ..engine import preflight, worker
from ..lang.diagnostics import ApplyError
from .common import DEFAULT_RECIPE, add_ocr_arguments, count, input_roots, load_programs, ocr_settings, print_err


def register(sub: Any) -> None:
    """``deidc inspect``: its arguments, beside its code."""
    p = sub.add_parser(
        "inspect",
        help="list the files the recipe's %%filter groups flag as having burned-in text, and why",
        description=(
            "Run the %filter sections of recipes on DICOM files and list, for every flagged file, its verdict "
            "(the first group that flags it), each matching label with the criteria that held and the regions "
            "it would blank, then a count per group. Only headers are read; nothing is written. Without "
            "--input, runs on the demo data; without --recipe, uses deidlang's default recipe. Unreadable "
            "files are listed, the others still inspected, and the exit status is then 1 (a file that could "
            "not be looked at is not clean)."
        ),
    )
    p.add_argument("--recipe", action="append", metavar="RECIPE", help="recipe whose %%filter sections to run (repeatable)")
    p.add_argument("--input", action="append", metavar="PATH", help="DICOM file or directory (repeatable; default: the demo data)")
    p.add_argument("--format", choices=INSPECT_FORMATS, default="table", help="output format (default: table)")
    p.add_argument("--force", action="store_true", help="read files that lack the DICOM preamble")
    add_ocr_arguments(p, cleaning=False)  # OCR (deidlang/ocr)
    p.add_argument("--show-values", action="store_true", help="with --ocr: also print the text read (identifying data)")
    p.set_defaults(handler=run)


INSPECT_FORMATS = ("table", "json")


def _region_text(region) -> str:
    where = "all" if region.box is None else ",".join(str(v) for v in region.box)
    return f"{'keep' if region.keep else 'blank'} {where}"


def _inspect_entry(display: str, inspection) -> dict[str, Any]:
    return {
        "file": display,
        "verdict": inspection.group,
        "matches": [
            {
                "group": m.group,
                "label": m.label,
                "criteria": [str(c) for c in m.criteria],
                "regions": [{"action": "keep" if r.keep else "blank", "box": None if r.box is None else list(r.box)} for r in m.regions],
                "recipe": f"{m.recipe}:{m.span.line}" if m.span is not None else m.recipe,
            }
            for m in inspection.matches
        ],
    }


def run(args: argparse.Namespace) -> int:
    from pydicom.errors import InvalidDicomError

    recipe_paths = args.recipe or [str(DEFAULT_RECIPE)]
    loaded = load_programs(recipe_paths, ids=None, funcs=None, strict=False, what="no file was read", applying=False)
    if loaded is None:
        return 1
    _texts, programs, _allowed = loaded
    groups: list[str] = []
    for program in programs:
        for label in getattr(program, "filters", ()):
            if label.group not in groups:
                groups.append(label.group)
    if not groups:
        print_err("note: the recipe has no %filter section: no file can be flagged")
    ocr = ocr_settings(args)
    texts: dict[str, list] = {}  # with --ocr: what was read, per file

    flagged: list[dict[str, Any]] = []
    clean: list[str] = []
    unreadable: list[dict[str, str]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warnings can quote element values
        for root in input_roots(args.input):
            for source in engine.walk(root, ""):
                display = engine.display(root, source)
                try:
                    ds = engine.read_input(source, force=args.force, stop_before_pixels=ocr is None)[0]
                except damage.InputError as err:  # not a regular file, empty, cut short, too deep...
                    unreadable.append({"file": display, "reason": str(err)})
                    continue
                except InvalidDicomError:
                    unreadable.append({"file": display, "reason": "not a DICOM file" + ("" if args.force else " (no DICOM preamble; --force reads it anyway)")})
                    continue
                except OSError as err:
                    unreadable.append({"file": display, "reason": f"cannot read: {err.strerror or type(err).__name__}"})
                    continue
                except Exception as err:  # noqa: BLE001 - a damaged file; its own message could quote data
                    unreadable.append({"file": display, "reason": f"cannot read: damaged or unsupported DICOM ({type(err).__name__})"})
                    continue
                try:
                    inspection = worker.inspect_programs(programs, ds, display)
                except ApplyError as err:
                    unreadable.append({"file": display, "reason": err.message})
                    continue
                except Exception as err:  # noqa: BLE001
                    unreadable.append(
                        {"file": display, "reason": f"internal error while running the %filter sections ({type(err).__name__}); this is a bug in deidlang"}
                    )
                    continue
                if ocr is not None:
                    try:
                        texts[display] = _ocr_read(ds, programs, ocr)
                    except Exception as err:  # noqa: BLE001 - pixels that cannot be decoded: said, never quoted
                        unreadable.append({"file": display, "reason": _ocr_failure(err)})
                        continue
                if inspection.flagged or texts.get(display):
                    flagged.append(_inspect_entry(display, inspection))
                else:
                    clean.append(display)

    preflight.check_found(len(flagged) + len(clean) + len(unreadable), args.input or ())
    summary = {
        "files": len(flagged) + len(clean) + len(unreadable),
        "flagged": len(flagged),
        "clean": len(clean),
        "unreadable": len(unreadable),
        "groups": {
            g: {
                "verdict": sum(1 for f in flagged if f["verdict"] == g),
                "matched": sum(1 for f in flagged if any(m["group"] == g for m in f["matches"])),
            }
            for g in groups
        },
    }
    if ocr is not None:
        _add_ocr_findings(flagged, summary, texts, args)
    if args.format == "json":
        flagged = [{k: v for k, v in f.items() if k != "ocr_table"} for f in flagged]
        report = {
            "recipes": recipe_paths if args.recipe else ["<deidlang default recipe>"],
            "flagged": flagged,
            "clean": clean,
            "unreadable": unreadable,
            "summary": summary,
        }
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(_inspect_table(flagged, unreadable, summary))
    return 1 if unreadable else 0  # as deidc run: a file that could not be looked at is not clean


def _ocr_failure(err: Exception) -> str:
    from ..lang.diagnostics import DeidlangError

    return f"OCR: {err}" if isinstance(err, DeidlangError) else f"OCR failed ({type(err).__name__})"  # typed errors name no value


def _ocr_read(ds: Any, programs: Sequence, ocr: Any) -> list:
    from ..ocr.report import inspect_dataset
    from ..privacy.identifiers import harvest

    return inspect_dataset(ds, harvest(ds, recipes=programs), ocr)


def _add_ocr_findings(flagged: list[dict[str, Any]], summary: dict[str, Any], texts: Mapping[str, list], args: argparse.Namespace) -> None:
    """Each flagged entry gets the text OCR found in it (``ocr``); the summary counts."""
    from ..ocr.report import entries, table_lines

    for entry in flagged:
        frames = texts.get(entry["file"], [])
        entry["ocr"] = entries(frames, args.show_values)
        entry["ocr_table"] = table_lines(frames, args.show_values)
    summary["ocr"] = {
        "with_text": sum(1 for f in flagged if f["ocr"]),
        "with_identifying_text": sum(1 for f in flagged if any(line["identifying"] for fr in f["ocr"] for line in fr["lines"])),
    }


def _inspect_table(flagged: list[dict[str, Any]], unreadable: list[dict[str, str]], summary: Mapping[str, Any]) -> str:
    """Flagged files, one row per matching label; then unreadable files; then the counts."""
    header = ("FILE", "VERDICT", "GROUP", "LABEL", "CRITERIA", "REGIONS")
    rows: list[tuple[str, ...]] = []
    for entry in flagged:
        for n, m in enumerate(entry["matches"]):
            regions = ", ".join(f"{r['action']} {'all' if r['box'] is None else ','.join(str(v) for v in r['box'])}" for r in m["regions"])
            rows.append(
                (
                    entry["file"] if n == 0 else "",
                    entry["verdict"] if n == 0 else "",
                    m["group"],
                    m["label"],
                    "; ".join(m["criteria"]) or "(coordinates only)",
                    regions or "-",
                )
            )
    lines: list[str] = []
    if rows:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
        for row in [header, *rows]:
            cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
            lines.append("  ".join([*cells, row[-1]]).rstrip())
        lines.append("")
    for entry in flagged:  # with --ocr
        if entry.get("ocr_table"):
            lines.append(f"text read by OCR in {entry['file']}:")
            lines.extend(entry["ocr_table"])
    if any(entry.get("ocr_table") for entry in flagged):
        lines.append("")
    for item in unreadable:
        lines.append(f"unreadable: {item['file']}: {item['reason']}")
    if unreadable:
        lines.append("")
    lines.append(f"{count(summary['files'], 'file')}: {summary['flagged']} flagged, {summary['clean']} clean, {summary['unreadable']} unreadable")
    for group, n in summary["groups"].items():
        lines.append(f"  {group}: verdict for {count(n['verdict'], 'file')}, matches {count(n['matched'], 'file')}")
    if "ocr" in summary:
        lines.append(f"  OCR: text in {count(summary['ocr']['with_text'], 'file')}, identifying text in {summary['ocr']['with_identifying_text']}")
    return "\n".join(lines) + "\n"
