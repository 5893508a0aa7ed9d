"""Deprecated alias, kept for one release: the batch engine is :mod:`deidlang.engine`
since 0.2 (``deidlang.batch`` was one 2,900-line module). The names ``deidlang.batch``
exported are re-exported here from their new homes -- :mod:`deidlang.engine` (its face)
and, for the damaged-file checks, :mod:`deidlang.dicomio.damage` -- with
:class:`~deidlang.engine.manifest.Manifest` and
:func:`~deidlang.engine.manifest.manifest_header` for ``deidc serve``. Import them from
there; this module goes in the next release. Nothing in deidlang imports it.
"""

from __future__ import annotations

from .dicomio.damage import InputError, cut_short, is_dicomdir, too_deep
from .engine import (
    MANIFEST,
    MANIFEST_RECORDS,
    QUARANTINE_DIR,
    QUARANTINE_REPORT,
    TMP_SUFFIX,
    Batch,
    BatchError,
    FileResult,
    Job,
    Manifest,
    Options,
    OutputError,
    Summary,
    Task,
    Worker,
    changes,
    confined,
    execute,
    load_functions,
    make_folders,
    manifest_header,
    prepare,
    printable,
    read_input,
    recipe_ref,
    remove_temporaries,
    run,
    snapshot,
    write_atomic,
)

__all__ = [
    "BatchError",
    "InputError",
    "OutputError",
    "read_input",
    "cut_short",
    "too_deep",
    "is_dicomdir",
    "confined",
    "make_folders",
    "printable",
    "Job",
    "Options",
    "Task",
    "FileResult",
    "Summary",
    "Batch",
    "Worker",
    "prepare",
    "run",
    "execute",
    "recipe_ref",
    "load_functions",
    "write_atomic",
    "remove_temporaries",
    "snapshot",
    "changes",
    "MANIFEST",
    "MANIFEST_RECORDS",
    "TMP_SUFFIX",
    "QUARANTINE_DIR",
    "QUARANTINE_REPORT",
    "Manifest",
    "manifest_header",
]
