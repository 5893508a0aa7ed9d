"""Regenerate docs/diagnostics.md from deidlang.lang.diagnostics.CODES.

python docs/gen_diagnostics_doc.py          # rewrite the file
python docs/gen_diagnostics_doc.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from deidlang.lang.diagnostics import CODES, ERROR, INFO

FAMILIES = [
    ("1", "Syntax and structure", "reported by the parser, one per bad line; the rest of the recipe is still checked"),
    ("2", "Names", "DICOM keywords and tags (pydicom's data dictionary), groups, variables, functions, expanders"),
    ("3", "Values and meaning", "what each action, option and coordinate needs"),
    (
        "4",
        "deid would run this line differently",
        "the line is valid, but deid 0.4.13 silently does something other than what it says; the message says what deid does and what deidlang does. These are notes for people leaving deid: reported only with `--deid-compat`",
    ),
    ("0", "While applying a recipe", "raised as `deidlang.ApplyError` by `Program.apply` and reported per file by `deidc run`"),
]

POLICY = """\
## Severity, and what stops a run

Severity follows risk:

* **error**: the finding can leak identifying data or lose data the recipe
  means to keep. That includes a line deidlang cannot run at all (deid skips
  it, or crashes on it): a line that is not carried out leaves what it was
  about as it was. An unknown keyword is an error (`E214`) when the attribute
  it surely means (the confident did-you-mean) is handled by no other line:
  `REMOVE PatientsName` alone leaves the name in every file. A `var:` without
  a value once the ids are known (`E215`) leaves the element as it was.
* **warning**: the line is dead, odd or in the wrong form, but leaks nothing by
  itself: the same typo beside a line that handles `PatientName` (deid's own
  default recipe, lines 839-840) only makes its own line dead (`W201`).
* **info**: worth knowing, never a problem (`I201`: `func:` names cannot be
  checked because no functions were given).

`deidc check` exits 1 on errors (and on warnings with `--strict`).

`deidc run`, `deidc clean`, `deidc explain`, `deidlang.compile`/`load` and
`deidlang.compat` stop a recipe with any finding in the **refusing** set, before
any file is read or written (`deidlang.refusing` is the one function that
decides):

* every error;
* the warnings that mean a line selects nothing or will not do what it says
  (the codes marked *stops* below);
* with `--deid-compat` (`deid_compat=True`), every note about deid (the codes
  marked *deid*): the user asked for deid's behaviour, which deidlang will not
  give on those lines;
* with `--strict`, every other warning too.

At run time the ids and functions are known: a run without `--ids` gives no
`var:` a value (`E215`) and one without `--functions` supplies no `func:`
(`E205`). The escape is named: `--allow CODE` (repeatable; `--allow all` for
every finding) runs anyway, and the run manifest records the codes and each
finding let through (`"allowed"`). In Python: `allow=["W201"]` or `allow=True`.
What the compiler cannot build still stops the run.

The notes about deid (W4xx, `W101`, `W102`) are for people leaving deid: they
appear only with `deidc check --deid-compat` (and on `run`/`explain`), with
`deidlang.check(..., deid_compat=True)`, and in `deidlang.compat`, which emits
every finding as a `deidlang.DeidlangWarning` but stops only on the refusing set
without them. A deid divergence that is also a problem under deidlang has a
code of its own outside the deid notes (`W208`, `W307`-`W309`, `E216`).

Some judgements behind the table:

* Errors that are about a line deidlang cannot run (`E1xx`, `E206`-`E213`,
  `E301`-`E306`) stay errors: deid skips such a line or crashes on it, and a
  line that is not carried out leaves its elements as they were.
* A REMOVE cancelled by a REPLACE or JITTER of the same field (`W406`) leaks
  under deid when the `var:`/`func:` gives no value; deidlang stops that file
  with `R002` instead, and with the ids known a missing `var:` is `E215`
  before anything runs. So `W406` is a deid note.
* An empty coordinates box (`E307`) leaves the region uncleaned: burned-in
  text stays. An expander with an empty pattern (`E216`) selects every
  element: a REMOVE loses everything, a KEEP protects everything.
* `W305` (`deid_func:pydicom_uuid`) stays a warning that does not stop a run:
  the output holds no original UID, but one who holds the originals can link
  them; the keyed `deid_func:hashuid` cannot be computed without the key.
* `W208` (`endswith:ID` also matches every `...UID`) does what it says, more
  broadly than meant: a warning that `--strict` stops on.
* `W307` (`KEEP X` with `REMOVE X`) is a warning that stops a run: the
  REMOVE is dead, and the element is kept because another line of the same
  recipe says KEEP it; the run stops so that the author decides which line
  is meant.
* The lookup-table findings (`E217`-`E219`, `E308`; docs/language.md, "Lookup
  tables") are errors: a table that is not given or a column that is not
  there fails every file at run time; keys repeated with different values
  (`E219`) could give a patient another patient's pseudonym; a cell the
  element cannot hold (`E308`) fails the files of that row. They name tables,
  columns and row numbers, never a cell. A table no line looks up (`W209`)
  is a warning: it leaks nothing, but it is likely a misspelled table name.
  At run time a missing row is `R006` (by default the file fails, unwritten;
  `--on-missing` chooses otherwise) and a table not given `R007`.
"""


def _flags(c) -> str:
    if c.retired:
        return f"retired: {c.retired}"
    if c.deid:
        return "deid"
    if c.severity == ERROR or c.refuses:
        return "stops"
    return "" if c.severity == INFO else "strict"


def render() -> str:
    out = [
        "# Diagnostic codes",
        "",
        "Generated from `deidlang/lang/diagnostics.py` by `docs/gen_diagnostics_doc.py`; do not edit by hand.",
        "Codes are stable: a code is never reused for another meaning (a retired code keeps its row).",
        "The letter is the default severity (E error, W warning, I info). The *run* column says what",
        "a finding does to `deidc run`: *stops* it (unless `--allow CODE`), stops it only under",
        "`--strict`, or, for a *deid* note, only under `--deid-compat`.",
        "",
        POLICY,
    ]
    for digit, title, blurb in FAMILIES:
        rows = [c for c in CODES.values() if c.code[1] == digit]
        if not rows:
            continue
        out += [f"## {title}", "", blurb[0].upper() + blurb[1:] + ".", "", "| code | severity | run | meaning |", "|---|---|---|---|"]
        out += [f"| `{c.code}` | {c.severity} | {_flags(c)} | {c.summary} |" for c in sorted(rows, key=lambda c: c.code)]
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
