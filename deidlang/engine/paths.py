"""Paths as the engine handles them: what is an fsspec URL (:func:`is_url`), what stays
inside the output folder (:func:`confined`), how a path is shown on one line of a log
(:func:`printable`), names within the file system's limit (:func:`shorten`) and unique
among those taken (:func:`unique_name`)."""

from __future__ import annotations

import os

from .digests import DigestSet, path_digest


def is_url(text: str) -> bool:
    """An fsspec URL (``s3://bucket/key``, ``file:///data``), not a Windows drive path."""
    scheme, sep, _ = text.partition("://")
    return bool(sep) and len(scheme) > 1 and scheme.replace("+", "").replace("-", "").isalnum()


def unique_name(relative: str, taken: DigestSet | set[int]) -> str:
    """``relative``, or ``name-2.ext``, ``name-3.ext``... if it is taken (case-insensitively)."""
    candidate = relative
    stem, ext = os.path.splitext(relative)
    n = 1
    while path_digest(candidate.lower()) in taken:
        n += 1
        suffix = f"-{n}{ext}"
        head, base = os.path.split(stem)
        room = NAME_MAX - len(os.fsencode(suffix))
        candidate = os.path.join(head, shorten(base, room) + suffix) if len(os.fsencode(base)) > room else f"{stem}{suffix}"
    taken.add(path_digest(candidate.lower()))
    return candidate


def confined(relative: str) -> bool:
    """Whether a relative output path stays inside the output folder: not absolute, and
    no empty, '.' or '..' part (names read from a folder never have them; object names
    behind a URL may)."""
    if not relative or "\0" in relative or os.path.isabs(relative):
        return False
    parts = relative.split(os.sep)
    if os.altsep:
        parts = [p for part in parts for p in part.split(os.altsep)]
    return all(part not in ("", ".", "..") for part in parts)


#: Longest file name most file systems take (bytes).
NAME_MAX = 255


def shorten(name: str, limit: int) -> str:
    """``name`` cut to at most ``limit`` bytes (as the file system counts them)."""
    while len(os.fsencode(name)) > limit:
        name = name[:-1]
    return name


def printable(text: str) -> str:
    """A path as it can be shown on one line of a log: control characters (a newline in
    a file name would start a line of its own) and bytes that are not UTF-8 are escaped."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)
