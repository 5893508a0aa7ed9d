"""Writing a file so that its target name only ever holds a complete file."""

from __future__ import annotations

import contextlib
import os
import secrets
from typing import Iterator


def temporary_name(target: str, suffix: str = ".tmp") -> str:
    """A fresh hidden name beside ``target`` (same folder, so the rename is atomic)."""
    return os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.{secrets.token_hex(4)}{suffix}")


@contextlib.contextmanager
def atomic_target(target: str | os.PathLike, *, suffix: str = ".tmp") -> Iterator[str]:
    """Yield a temporary path to write; on success rename it to ``target``,
    on any failure (interruptions included) remove it and re-raise.

    An interrupted run therefore leaves either the complete file or nothing
    under the target name (and at most a temporary file with ``suffix``).
    """
    target = os.path.abspath(os.fspath(target))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = temporary_name(target, suffix)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
