"""Planning a run: every input file with its output path (:func:`plan`), lazily, under
the chosen layout (:mod:`.naming`); the mirror layout's first pass marks the folder and
file names that hold identifying values (:class:`NameFlags`); an output that is a file,
a URL or an input is refused (:func:`check_output`)."""

from __future__ import annotations

import os
from typing import Any, Iterable, Iterator, Mapping, Sequence

from .digests import DigestSet, path_digest
from .inputs import Root, display, lookup_ids, relative_path, walk_real
from .job import OUTSIDE, QUARANTINE_DIR, UNLISTABLE, BatchError, Task
from .manifest import MANIFEST, MANIFEST_RECORDS
from .paths import confined, is_url, printable, unique_name


def check_output(output: str, root_list: Sequence[Root]) -> None:
    """Refuse an output that is a file, a URL (outputs are written to a local folder), a
    symbolic link to nothing, or one of the input directories."""
    if is_url(output) or "://" in output:  # chained fsspec URLs too (simplecache::s3://...)
        raise BatchError(f"the output '{output}' is a URL: outputs go to a local folder; choose a local --output")
    if os.path.exists(output) and not os.path.isdir(output):
        raise BatchError(f"the output '{output}' exists and is not a directory")
    if os.path.islink(output) and not os.path.exists(output):
        raise BatchError(f"the output '{output}' is a symbolic link to a folder that does not exist")
    out_real = os.path.realpath(output)
    for root in root_list:
        if root.is_dir and not root.url and os.path.realpath(root.path) == out_real:
            raise BatchError(f"the output directory '{output}' is the input '{root.given}': choose another --output")


def input_files(root_list: Sequence[Root], output: str) -> Iterator[tuple[int, Root, str, str]]:
    """``(root index, root, path or URL, path relative to its root)`` of every input file,
    each once (a file reached twice, through a link or two roots, is listed the first time)."""
    out_real = os.path.realpath(output)
    seen = DigestSet()
    for n, root in enumerate(root_list):
        for source, real in walk_real(root, out_real):
            key = path_digest(real)
            if key in seen:
                continue
            seen.add(key)
            yield n, root, source, relative_path(root, source)


def mirror_names(root: Root, relative: str) -> list[str]:
    """The names on a file's output path as the input tree gives them: its input's folder
    (when there are several inputs), the folders below it, the file name."""
    parts = relative.split(os.sep)
    return [root.prefix, *parts] if root.prefix else parts


class NameFlags:
    """What the mirror layout's first pass found (:meth:`Batch.scan_names`): which folders
    and files of the input tree have a name that holds an identifying value of a file they
    hold, as 64-bit digests of (input root, path), never the names. ``folders``/``files``:
    how many distinct ones were renamed in the plan (for the summary)."""

    def __init__(self) -> None:
        self._folders = DigestSet()
        self._files = DigestSet()
        self._counted = DigestSet()
        self.folders = 0
        self.files = 0

    @staticmethod
    def _key(root: int, names: Sequence[str]) -> int:
        return path_digest(f"{root}\0" + "\0".join(names))

    def add(self, root: int, names: Sequence[str], flagged: Iterable[int]) -> None:
        last = len(names) - 1
        for i in flagged:
            (self._files if i == last else self._folders).add(self._key(root, names[: i + 1]))

    def rename(self, key: Any, root: int, names: Sequence[str]) -> list[str]:
        """``names`` with the flagged ones replaced by their keyed pseudonyms."""
        from .naming import pseudonym, pseudonym_name

        out = list(names)
        for i in range(len(names)):
            flagged = self._key(root, names[: i + 1])
            last = i == len(names) - 1
            if flagged in (self._files if last else self._folders):
                out[i] = pseudonym_name(key, names[i]) if last else pseudonym(key, names[i])
                if last:
                    self.files += 1
                elif flagged not in self._counted:
                    self._counted.add(flagged)
                    self.folders += 1
        return out


def plan(
    root_list: Sequence[Root],
    output: str,
    index: Mapping[str, Any] | None,
    *,
    quarantine: bool = False,
    layout: str = "mirror",
    key: Any = None,
    flags: NameFlags | None = None,
) -> Iterator[Task]:
    """Every input file with its output path, lazily.

    ``layout`` (:mod:`deidlang.engine.naming`): ``mirror`` mirrors the input tree, with the
    names ``flags`` marks replaced by keyed pseudonyms (under ``key``); ``pseudonym``
    replaces every name; ``dicom`` leaves the target to the worker (named after the
    de-identified header: ``Task.target`` is empty, ``Task.quarantine`` the quarantine
    folder). ``index``: the ids, keyed by normalised path; each task gets its key
    (``ids_key``; ``""`` when the file has no entry). With ``quarantine``, each file
    also gets its place under ``<output>/quarantine`` (an input directory of that name
    is written as ``quarantine-input``). The manifest's names are reserved at the top
    of the output. What is kept per file is a 64-bit digest of its path (to spot
    duplicates and name clashes).
    """
    from .naming import pseudonym, pseudonym_name

    out_dir = os.path.abspath(output)
    taken = DigestSet((path_digest(MANIFEST.lower()), path_digest(MANIFEST_RECORDS.lower())))
    for n, root, source, rel in input_files(root_list, output):
        target_rel = os.path.join(root.prefix, rel) if root.prefix else rel
        shown = display(root, source)
        if not confined(target_rel):  # from a URL (object names may hold '..'), or an input folder that cannot be listed
            refused = UNLISTABLE if rel == os.curdir and not root.url else OUTSIDE
            yield Task(source, "", printable(shown), root=n, relative=rel, base=out_dir, refused=refused)
            continue
        ids_key = None
        if index is not None:
            ids_key = lookup_ids(index, (source if root.url else os.path.abspath(source), shown, rel)) or ""
        if layout == "dicom":
            hold = os.path.join(out_dir, QUARANTINE_DIR) if quarantine else None
            yield Task(source, "", printable(shown), None, hold, ids_key, n, rel, base=out_dir)
            continue
        names = mirror_names(root, rel)
        if layout == "pseudonym":
            names = [pseudonym(key, name) for name in names[:-1]] + [pseudonym_name(key, names[-1])]
        elif flags is not None:
            names = flags.rename(key, n, names)
        target_rel = os.path.join(*names)
        if quarantine:
            head, sep, tail = target_rel.partition(os.sep)
            if head.lower() == QUARANTINE_DIR and sep:
                target_rel = os.path.join(f"{head}-input", tail)
        target_rel = unique_name(target_rel, taken)
        hold = os.path.join(out_dir, QUARANTINE_DIR, target_rel) if quarantine else None
        yield Task(source, os.path.join(out_dir, target_rel), printable(shown), None, hold, ids_key, n, rel, base=out_dir)
