"""deidlang beside deid, dicognito and Kitware's dicom-anonymizer, on the same public files.

    python -m benchmarks.compare_tools               # about 5 minutes on 2 cores
    python -m benchmarks.compare_tools --markdown    # the tables as Markdown (docs/comparison.md)
    python -m benchmarks.compare_tools --rounds 1 --no-dciodvfy   # leaks only, about 1 minute

Every tool runs through its own Python API, as its command line or its documentation
runs it, with its own default rules, on the same files:

* the files: every readable sample file that pydicom bundles and deid-data's
  (the set ``tests/test_validity.py`` holds outputs to; deflated files are left out
  because dciodvfy cannot read them);
* ``deidlang``: the ``deidc run`` worker with the bundled default recipe (the PS3.15
  Basic Profile), private elements removed, no option (``deidc run``'s defaults);
* ``deid, as its CLI``: deid 0.4.13 as ``deid identifiers --action all`` runs it:
  ``get_identifiers`` then ``replace_identifiers`` with deid's default recipe and the
  identifiers it got (private elements kept, as that command keeps them);
* ``deid, private removed``: the same with ``remove_private=True`` and the variables
  deid's default recipe asks for (``entity_id``, ``item_id``, ``entity_timestamp``,
  ``item_timestamp``) filled in for every file, as deid's documentation does;
* ``dicognito``: ``Anonymizer().anonymize(ds)`` for every file (one anonymizer for the
  whole set, as its command line), read and saved as its command line does;
* ``dicom-anonymizer``: ``anonymize_dicom_file(in, out)``, its defaults (its copy of
  PS3.15 Table E.1-1, private elements removed).

What is counted, for every output a tool wrote:

* leaks: the identifying values of the original that turn up in the output, found by
  ``deidc verify``'s search (:func:`deidlang.engine.verify.verify_files`, with no recipe
  given, so that it knows nothing of what any tool meant to do): one leak is one
  identifying value of the original (a name or a part of it, an ID, a date in any
  common spelling, a UID, an address, a word of a free-text element of PS3.15 Table
  E.1-1) found in one element of the output, or in its bytes; values the original
  holds in elements that do not identify (Manufacturer, Modality...) are not searched
  for; private elements of the original are not harvested but are searched. This is
  deidlang's own yardstick, and deidlang is built to pass it: the counts say how far
  each tool's default output is from PS3.15's Basic Profile as deidlang reads it, not
  how much harm a leak does. The leaks are also given by kind (names, IDs and text,
  dates, UIDs) so that a reader can weigh them;
* dciodvfy errors added: error lines David Clunie's validator prints for an output that
  it does not print for the original (normalised as in ``tests/test_validity.py``);
* time: seconds to read, de-identify and write every file, in this process, one file
  at a time; the fastest of ``--rounds`` interleaved rounds.

A file a tool refused or failed on is counted as not written (it is no leak); the leaks
are also counted over the files every tool wrote.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import pydicom

from benchmarks import harness as h

TESTS = Path(__file__).resolve().parent.parent / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import test_validity as validity  # noqa: E402 - the sample files and the dciodvfy helpers of the validity tests

from deidlang import engine  # noqa: E402
from deidlang.engine.verify import verify_files  # noqa: E402

#: name -> (label, what runs)
Outputs = dict[str, str]  # source -> output
Failures = dict[str, str]  # source -> reason


def _quiet() -> contextlib.ExitStack:
    """Silence the tools' own chatter (progress bars, logs, prints) while they run."""
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
    return stack


def run_deidlang(sources: Sequence[str], folder: Path) -> tuple[Outputs, Failures]:
    """``deidc run``'s worker: the bundled default recipe, private elements removed."""
    program = h.load(h.DEIDLANG_DEFAULT)
    tasks = [engine.Task(source=s, target=str(folder / f"{i:04d}.dcm"), display=os.path.basename(s)) for i, s in enumerate(sources)]
    options = engine.Options(output=str(folder))
    outputs, failures = {}, {}
    for task, result in zip(tasks, engine.execute(tasks, [program], None, None, options, jobs=1)):
        if result.status == "written":
            outputs[task.source] = result.output
        else:
            failures[task.source] = result.reason or result.status
    return outputs, failures


def _deid(sources: Sequence[str], folder: Path, *, filled: bool) -> tuple[Outputs, Failures]:
    from deid.config import DeidRecipe
    from deid.dicom import get_identifiers, replace_identifiers

    recipe = DeidRecipe()  # deid's default recipe, as its command line loads it
    outputs, failures = {}, {}
    for i, source in enumerate(sources):
        out = folder / f"{i:04d}"
        out.mkdir()
        try:
            with _quiet():
                ids = get_identifiers([source])
                if filled:
                    for item in ids.values():
                        item.update(entity_id=f"SUBJ-{i:04d}", item_id=f"ITEM-{i:04d}", entity_timestamp="20000101", item_timestamp="20000101")
                written = replace_identifiers([source], ids=ids, deid=recipe, save=True, output_folder=str(out), overwrite=True, remove_private=filled)
        except (Exception, SystemExit) as err:  # noqa: BLE001 - deid exits on some files: the file is not written
            failures[source] = type(err).__name__
            continue
        if written and os.path.isfile(written[0]):
            outputs[source] = written[0]
        else:
            failures[source] = "nothing written"
    return outputs, failures


def run_deid_cli(sources: Sequence[str], folder: Path) -> tuple[Outputs, Failures]:
    return _deid(sources, folder, filled=False)


def run_deid_private_removed(sources: Sequence[str], folder: Path) -> tuple[Outputs, Failures]:
    return _deid(sources, folder, filled=True)


def run_dicognito(sources: Sequence[str], folder: Path) -> tuple[Outputs, Failures]:
    from dicognito.anonymizer import Anonymizer

    anonymizer = Anonymizer()
    outputs, failures = {}, {}
    for i, source in enumerate(sources):
        target = str(folder / f"{i:04d}.dcm")
        try:
            with _quiet():
                with pydicom.dcmread(source, force=False) as ds:  # as its command line reads
                    anonymizer.anonymize(ds)
                    ds.save_as(target, enforce_file_format=True)  # as its command line saves
        except Exception as err:  # noqa: BLE001 - the file is not written
            failures[source] = type(err).__name__
            continue
        outputs[source] = target
    return outputs, failures


def run_dicom_anonymizer(sources: Sequence[str], folder: Path) -> tuple[Outputs, Failures]:
    from dicomanonymizer.simpledicomanonymizer import anonymize_dicom_file

    outputs, failures = {}, {}
    for i, source in enumerate(sources):
        target = str(folder / f"{i:04d}.dcm")
        try:
            with _quiet():
                anonymize_dicom_file(source, target)
        except Exception as err:  # noqa: BLE001 - the file is not written
            failures[source] = type(err).__name__
            continue
        outputs[source] = target
    return outputs, failures


TOOLS: dict[str, tuple[str, Callable[[Sequence[str], Path], tuple[Outputs, Failures]]]] = {
    "deidlang": ("deidlang 0.1, bundled recipe (PS3.15 Basic Profile)", run_deidlang),
    "deid-cli": ("deid 0.4.13, `deid identifiers --action all`", run_deid_cli),
    "deid": ("deid 0.4.13, default recipe, private removed", run_deid_private_removed),
    "dicognito": ("dicognito 0.19.0, defaults", run_dicognito),
    "dicom-anonymizer": ("dicom-anonymizer 2.1.0, defaults", run_dicom_anonymizer),
}


# --------------------------------------------------------------------------- what is counted

KINDS = ("names", "IDs and text", "dates", "UIDs")


def kind_of(leak) -> str:
    """Which of :data:`KINDS` a leak is, by the original element its value came from
    (its VR: PN names, UI UIDs; a date in any spelling; the rest are IDs and text)."""
    first = leak.kinds[0]
    if "(date)" in first:
        return "dates"
    try:
        vr = pydicom.datadict.dictionary_VR(first.split(" ")[0])
    except KeyError:
        vr = ""
    return {"PN": "names", "UI": "UIDs"}.get(vr, "IDs and text")


def leaks_of(outputs: Outputs) -> dict[str, list]:
    """Every leak of every output, by source: deidc verify's search, no recipe given."""
    found = {}
    for source, output in outputs.items():
        check = verify_files(source, output)
        found[source] = list(check.leaks)
    return found


def added_errors(outputs: Outputs, before: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """dciodvfy's error lines of each output that its original does not have."""
    after = validity.errors_of(outputs.values())
    return {s: validity.new_errors(s, o, before[s], after[o]) for s, o in outputs.items()}


# --------------------------------------------------------------------------- the report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per tool, interleaved; the fastest counts (default 3)")
    ap.add_argument("--tools", default=",".join(TOOLS), help=f"comma-separated, of: {', '.join(TOOLS)}")
    ap.add_argument("--no-dciodvfy", action="store_true", help="leave out the validity count")
    ap.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.tools.split(",") if n.strip()]
    unknown = [n for n in names if n not in TOOLS]
    if unknown:
        ap.error(f"unknown tool(s): {', '.join(unknown)}")
    dciodvfy = not args.no_dciodvfy and validity.DCIODVFY is not None
    os.environ.setdefault("MESSAGELEVEL", "QUIET")
    logging.disable(logging.WARNING)
    import warnings

    warnings.simplefilter("ignore")
    sources = list(validity.sample_files())
    print(h.machine(), flush=True)
    print(f"{len(sources)} files: {_origin(sources)}\n", flush=True)
    before = validity.original_errors() if dciodvfy else {}
    with tempfile.TemporaryDirectory(prefix="deidlang-tools-") as tmp_name:
        tmp = Path(tmp_name)
        times: dict[str, list[float]] = collections.defaultdict(list)
        results: dict[str, tuple[Outputs, Failures]] = {}
        for n in range(args.rounds):
            for name in names:
                folder = tmp / f"{name}-{n}"
                folder.mkdir()
                start = time.perf_counter()
                results[name] = TOOLS[name][1](sources, folder)
                times[name].append(time.perf_counter() - start)
                if n + 1 < args.rounds:
                    shutil.rmtree(folder)
        leaks = {name: leaks_of(results[name][0]) for name in names}
        errors = {name: added_errors(results[name][0], before) for name in names} if dciodvfy else {}
    print(report(names, sources, results, leaks, errors, times, args.markdown))
    return 0


def _origin(sources: Sequence[str]) -> str:
    count = collections.Counter("deid-data" if "deid_data" in s else "pydicom's test files" for s in sources)
    return ", ".join(f"{n} from {what}" for what, n in sorted(count.items(), key=lambda kv: -kv[1]))


def report(names, sources, results, leaks, errors, times, markdown: bool) -> str:
    everywhere = set(sources)
    for name in names:
        everywhere &= set(results[name][0])
    header = ["tool", "files written", "leaks", "files with a leak", f"leaks on the {len(everywhere)} files all wrote"]
    if errors:
        header += ["dciodvfy errors added", "files with an error added"]
    header += ["files/s"]
    rows = []
    for name in names:
        outputs, _failures = results[name]
        found = leaks[name]
        row = [
            TOOLS[name][0],
            f"{len(outputs)} of {len(sources)}",
            str(sum(map(len, found.values()))),
            str(sum(1 for v in found.values() if v)),
            str(sum(len(found[s]) for s in everywhere)),
        ]
        if errors:
            added = errors[name]
            row += [str(sum(map(len, added.values()))), str(sum(1 for v in added.values() if v))]
        row.append(f"{len(sources) / min(times[name]):.0f}")
        rows.append(row)
    kinds_rows = []
    for name in names:
        count = collections.Counter(kind_of(leak) for found in leaks[name].values() for leak in found)
        private = sum(1 for found in leaks[name].values() for leak in found if _in_private(leak.element))
        kinds_rows.append([TOOLS[name][0], *(str(count[k]) for k in KINDS), str(private)])
    failed_rows = []
    for name in names:
        reasons = collections.Counter(_short(r) for r in results[name][1].values())
        failed_rows.append([TOOLS[name][0], "; ".join(f"{r} ({n})" for r, n in reasons.most_common()) or "-"])
    return "\n\n".join(
        [
            h.table(header, rows, markdown),
            "Leaks by kind of value, and how many of them are in private elements:\n" + h.table(["tool", *KINDS, "in private elements"], kinds_rows, markdown),
            "Files not written, by reason:\n" + h.table(["tool", "reasons"], failed_rows, markdown),
        ]
    )


_PRIVATE = re.compile(r"\(([0-9A-Fa-f]{4}),")


def _in_private(element: str) -> bool:
    """Whether a leak's element (a deid uid path) lies in a private element at any depth."""
    return any(int(group, 16) & 1 for group in _PRIVATE.findall(element))


def _short(reason: str) -> str:
    """A failure's reason without its details (its first clause)."""
    return re.split(r"[:;(]", reason)[0].strip()


if __name__ == "__main__":
    raise SystemExit(main())
