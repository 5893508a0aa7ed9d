"""Regenerate docs/diagnostics.md from deidlang.diagnostics.CODES.

    python docs/gen_diagnostics_doc.py          # rewrite the file
    python docs/gen_diagnostics_doc.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from deidlang.diagnostics import CODES

FAMILIES = [
    ("1", "Syntax and structure", "reported by the parser, one per bad line; the rest of the recipe is still checked"),
    ("2", "Names", "DICOM keywords and tags (pydicom's data dictionary), groups, variables, functions, expanders"),
    ("3", "Values and meaning", "what each action, option and coordinate needs"),
    ("4", "deid would run this line differently", "the line is valid, but deid 0.4.13 silently does something other than what it says; the message says what deid does and what deidlang does"),
    ("0", "While applying a recipe", "raised as `deidlang.ApplyError` by `Program.apply` and reported per file by `deidc run`"),
]


def render() -> str:
    out = [
        "# Diagnostic codes",
        "",
        "Generated from `deidlang/diagnostics.py` by `docs/gen_diagnostics_doc.py`; do not edit by hand.",
        "Codes are stable: a code is never reused for another meaning. The letter is the default",
        "severity (E error, W warning); `deidc check --strict` turns warnings into failures.",
        "",
    ]
    for digit, title, blurb in FAMILIES:
        rows = [c for c in CODES.values() if c.code[1] == digit]
        if not rows:
            continue
        out += [f"## {title}", "", blurb[0].upper() + blurb[1:] + ".", "", "| code | severity | meaning |", "|---|---|---|"]
        out += [f"| `{c.code}` | {c.severity} | {c.summary} |" for c in sorted(rows, key=lambda c: c.code)]
        out.append("")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    path = Path(__file__).resolve().parent / "diagnostics.md"
    text = render()
    if "--check" in argv:
        return 0 if path.exists() and path.read_text() == text else 1
    path.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
