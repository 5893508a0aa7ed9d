"""Deprecated alias, kept for one release: atomic writes are
:mod:`deidlang.dicomio.atomic` since 0.2. Import from there; this module goes in the next
release. Nothing in deidlang imports it.
"""

from __future__ import annotations

from .dicomio.atomic import (
    FATAL_ERRNOS,
    WriteError,
    atomic_target,
    atomic_write,
    describe,
    errno_of,
    fsync_directory,
    fsync_file,
    is_temporary,
    remove_quietly,
    temporary_name,
    write_all,
    write_bytes,
    write_text,
)

__all__ = [
    "WriteError",
    "FATAL_ERRNOS",
    "describe",
    "errno_of",
    "temporary_name",
    "is_temporary",
    "atomic_target",
    "atomic_write",
    "write_bytes",
    "write_text",
    "write_all",
    "fsync_file",
    "fsync_directory",
    "remove_quietly",
]
