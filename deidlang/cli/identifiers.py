"""``deidc identifiers``: write each file's elements and values (DICOM JSON model),
keyed by deid's element identifiers, to an ids file to edit and pass back with
``--ids``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections import deque
from typing import Any, Mapping

from .. import engine
from ..dicomio import damage
from ..dicomio.atomic import WriteError
from ..engine import digests, preflight
from ..lang.render import render_text
from . import tables as cli_tables  # --keys --format csv (deidlang/tables/template.py)
from .common import TMP_SUFFIX, CliError, check_recipes, count, has_errors, input_roots, print_err, want_color


def register(sub: Any) -> None:
    """``deidc identifiers``: its arguments, beside its code."""
    p = sub.add_parser(
        "identifiers",
        help="write the identifiers of DICOM files to a JSON file, to edit and pass back with --ids",
        description=(
            "Write, for each file, its elements and values (DICOM JSON model) keyed by deid's element "
            "identifiers, under the file's absolute path. Add your variables to each file's object and "
            "pass the file to `deidc run --ids` (entries match by path, or by the SOPInstanceUID they "
            "record when the files have moved). The output holds identifying data: it is created "
            "readable by you only (mode 0600); keep it safe."
        ),
    )
    p.add_argument("--input", action="append", metavar="PATH", help="DICOM file or directory (repeatable; default: the demo data)")
    p.add_argument("--output", required=True, metavar="IDS.json", help="where to write the JSON")
    p.add_argument("--recipe", metavar="RECIPE", help="recipe the ids are for: it is checked, and its var: names are listed")
    p.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    p.add_argument("--force", action="store_true", help="read files that lack the DICOM preamble")
    cli_tables.add_identifiers_options(p)
    p.set_defaults(handler=run)


#: Elements deid never lists as identifiers (its ``get.skip`` list): bulk
#: pixel data and the file-meta elements that describe the encoding.
IDENTIFIER_SKIP = frozenset(
    {
        0x7FE00010,  # PixelData
        0x00281201,  # RedPaletteColorLookupTableData
        0x00281202,  # GreenPaletteColorLookupTableData
        0x00281203,  # BluePaletteColorLookupTableData
        0x00283010,  # VOILUTSequence
        0x00020000,  # FileMetaInformationGroupLength
        0x00020001,  # FileMetaInformationVersion
        0x00020010,  # TransferSyntaxUID
        0x00020012,  # ImplementationClassUID
    }
)
#: Binary values longer than this are not identifiers anyone edits; leave them out.
IDENTIFIER_MAX_BINARY = 1024


def _uid(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _json_value(elem) -> dict | None:
    """An element in the DICOM JSON model, or None when it has no value worth listing."""
    if elem.VR == "SQ" or elem.tag in IDENTIFIER_SKIP or elem.is_empty:
        return None
    value = elem.value
    if isinstance(value, (bytes, bytearray)) and len(value) > IDENTIFIER_MAX_BINARY:
        return None
    try:
        encoded = elem.to_json_dict(None, IDENTIFIER_MAX_BINARY)
    except Exception:  # noqa: BLE001 - a value pydicom cannot model: keep its text
        encoded = {"vr": elem.VR, "Value": [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]}
    if "Value" not in encoded and "InlineBinary" not in encoded:
        return None
    return encoded


def identifiers_of(ds) -> dict[str, dict]:
    """deid's element identifiers -> DICOM JSON values, in deid's universe order:
    top-level elements, then file meta, then sequence contents breadth-first.

    Sequences are listed through their contents; elements with no value,
    pixel data and encoding file-meta elements are left out.
    """
    try:
        from ..runtime.universe import fields
    except ImportError:  # the runtime is optional for this command
        return _identifiers_walk(ds)
    out: dict[str, dict] = {}
    for field in fields(ds):
        encoded = _json_value(field.element)
        if encoded is not None:
            out[field.uid] = encoded
    return out


def _identifiers_walk(ds) -> dict[str, dict]:
    """The same as :func:`identifiers_of`, walking the dataset here."""
    out: dict[str, dict] = {}
    queue: deque[tuple[str, Any]] = deque()

    def visit(dataset, prefix: str) -> None:
        for elem in dataset:
            if elem.tag in IDENTIFIER_SKIP:
                continue
            uid = prefix + _uid(elem.tag)
            if elem.VR == "SQ":
                for i, item in enumerate(elem.value or ()):
                    queue.append((f"{uid}__{i}__", item))
                continue
            encoded = _json_value(elem)
            if encoded is not None:
                out[uid] = encoded

    visit(ds, "")
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        visit(meta, "")
    while queue:
        prefix, item = queue.popleft()
        visit(item, prefix)
    return out


def _ids_entry(path: str, elements: Mapping[str, Any]) -> str:
    """One file's object in the ids file: one element per line, so that the file is
    easy to read and edit by hand."""

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    body = ",\n".join(f"    {dump(uid)}: {dump(value)}" for uid, value in elements.items())
    return f"  {dump(path)}: {{\n{body}\n  }}" if body else f"  {dump(path)}: {{}}"


def run(args: argparse.Namespace) -> int:
    """Each file's identifiers, written as it is read (memory does not grow with the
    number of files) to a file only its owner can read (it holds identifying data),
    which appears under its name once complete."""
    from pydicom.errors import InvalidDicomError

    from ..dicomio.atomic import atomic_write

    if args.keys or args.format == "csv":  # the table of --keys (deidlang/tables/template.py)
        return cli_tables.identifiers_table(args)
    output = args.output
    if os.path.exists(output) and not args.overwrite:
        raise CliError(f"'{output}' exists (it may hold your edits); use --overwrite to replace it")
    variables: list[str] = []
    if args.recipe:
        texts, diagnostics = check_recipes([args.recipe], ids=None, functions=None)
        if diagnostics:
            sys.stderr.write(render_text(diagnostics, texts, color=want_color(sys.stderr), recipes=1))
        if has_errors(diagnostics, strict=False):
            print_err("nothing was written: fix the recipe first")
            return 1
        variables = preflight.recipe_variables(texts[args.recipe], args.recipe)

    roots = input_roots(args.input)
    written = digests.DigestSet()  # the files already listed (a file given and its folder: once)
    found = failed = 0
    try:
        with warnings.catch_warnings(), atomic_write(output, "w", suffix=TMP_SUFFIX, durable=False, private=True) as fh:
            warnings.simplefilter("ignore")  # pydicom warnings can quote element values
            fh.write("{")
            for root in roots:
                for source in engine.walk(root, os.path.realpath(output)):
                    found += 1
                    display = engine.display(root, source)
                    reason = ""
                    try:
                        ds = engine.read_input(source, force=args.force)[0]
                    except damage.InputError as err:
                        reason = str(err)
                    except InvalidDicomError:
                        reason = "not a DICOM file"
                    except OSError as err:
                        reason = f"cannot read: {err.strerror or type(err).__name__}"
                    except Exception as err:  # noqa: BLE001
                        reason = f"cannot read: damaged or unsupported DICOM ({type(err).__name__})"
                    if reason:
                        failed += 1
                        print_err(f"failed: {display}: {reason}")
                        continue
                    path = os.path.abspath(source)
                    digest = digests.path_digest(path)
                    if digest in written:
                        continue
                    fh.write(("\n" if not len(written) else ",\n") + _ids_entry(path, identifiers_of(ds)))
                    written.add(digest)
                    del ds
            preflight.check_found(found, args.input or ())  # nothing found: the file is not written
            fh.write("\n}\n" if len(written) else "}\n")
    except WriteError as err:
        raise CliError(str(err)) from None
    print(f"wrote the identifiers of {count(len(written), 'file')} to {output}" + (f" ({failed} failed)" if failed else ""))
    if variables:
        print(f"the recipe uses these variables; add them to each file's object: {', '.join(variables)}")
    print("the file holds identifying data (readable by you only): keep it where the DICOM files are allowed to be")
    return 1 if failed else 0
