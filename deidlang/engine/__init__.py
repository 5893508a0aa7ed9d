"""The batch engine behind ``deidc run``, ``deidc clean`` and ``deidc verify``: many files, one recipe.

Public API::

    job = Job(programs=(program,), output="out", inputs=("scans/",), recipes=(recipe_ref(path, text),))
    batch = prepare(job)            # checks inputs and output, counts the files, reads the manifest
    for result in batch.results():  # FileResult per file, in input order, streamed
        ...
    batch.summary                   # Summary: counts, never element values

    run(job) -> Iterator[FileResult]  # prepare(job).results()

What it does for every file (:class:`Worker`): read it (hashing the bytes
as they are read; large values such as pixel data are *deferred*, not
read), run the ``%filter`` sections when pixels or quarantine are asked
about, apply the recipes, clean the pixels if asked, and write the result
to a temporary name next to its target (hashing the bytes as they are
written; deferred pixel data is copied from the input in chunks, never
held in memory). The main process then appends the file's record to the
run manifest and renames the temporary file into place, in that order, so
that an interruption at any point leaves either a complete output with its
record, or no output.

A file that is not a complete DICOM file (empty, not DICOM, cut short, not
a regular file, nested too deeply, a DICOMDIR) fails with a reason in plain
words and the batch goes on; outputs never leave the output folder (no
``..``, no symbolic link on the way is followed). docs/robustness.md lists
every case.

Parallel runs (``Job.jobs > 1``) use a process pool whose workers receive
the compiled Programs, functions and ids once, through the pool
initializer, and then only batches of small :class:`Task` records; at most
a few batches per worker are in flight, so memory does not grow with the
number of files. ``Job.scheduler`` sends the same batches to a Dask
cluster instead (:mod:`.distributed`).

The run manifest (``<output>/deidlang-manifest.json`` plus one JSON line
per file in ``deidlang-manifest.jsonl``) records the tool, pydicom and
dictionary versions, the recipes' SHA-256, the options, and per file its
input and output paths (relative), SHA-256, sizes, status, reason and
counts. It never holds element values. Re-running the same command skips
the outputs the manifest says are complete (same recipes, options, tool
version and input); outputs of an earlier, different run are redone.

Library code: raises :class:`BatchError` for problems with the job itself,
never prints, never exits.

Where each part lives: :mod:`.job` (the job, tasks, results), :mod:`.inputs` (roots,
walking them, reading an input, ids, the functions file), :mod:`.plan` and
:mod:`.naming` (output paths and names), :mod:`.paths` and :mod:`.digests` (path
helpers), :mod:`.worker` (one file), :mod:`.outputs` (writing one output),
:mod:`.pool` (local workers), :mod:`.distributed` (Dask), :mod:`.manifest`,
:mod:`.batch` (the run), :mod:`.preflight` (what ``deidc run`` refuses before it
writes anything) and :mod:`.verify` (pairing originals with outputs for ``deidc
verify``).

This module is the engine's face: the names below are its public API.
May import: everything below it (:mod:`deidlang.api`, :mod:`deidlang.checks`,
:mod:`deidlang.privacy`, :mod:`deidlang.pixels`, :mod:`deidlang.compiler`,
:mod:`deidlang.runtime`, :mod:`deidlang.tables`, :mod:`deidlang.dicomio`, :mod:`deidlang.lang`);
never the CLI.
"""

from __future__ import annotations

from ..dicomio.damage import InputError
from .batch import Batch, execute, prepare, run
from .inputs import Root, display, load_functions, read_input, roots, walk
from .job import QUARANTINE_DIR, QUARANTINE_REPORT, BatchError, FileResult, Job, NoInput, Options, RecipeRef, Summary, Task, recipe_ref
from .manifest import MANIFEST, MANIFEST_RECORDS, Manifest, manifest_header, write_quarantine_report
from .outputs import TMP_SUFFIX, OutputError, make_folders, remove_temporaries, write_atomic
from .paths import confined, is_url, printable
from .worker import Worker, changes, snapshot

__all__ = [
    "Batch",
    "BatchError",
    "FileResult",
    "InputError",
    "Job",
    "MANIFEST",
    "MANIFEST_RECORDS",
    "Manifest",
    "NoInput",
    "Options",
    "OutputError",
    "QUARANTINE_DIR",
    "QUARANTINE_REPORT",
    "RecipeRef",
    "Root",
    "Summary",
    "TMP_SUFFIX",
    "Task",
    "Worker",
    "changes",
    "confined",
    "display",
    "execute",
    "is_url",
    "load_functions",
    "make_folders",
    "manifest_header",
    "prepare",
    "printable",
    "read_input",
    "recipe_ref",
    "remove_temporaries",
    "roots",
    "run",
    "snapshot",
    "walk",
    "write_atomic",
    "write_quarantine_report",
]
