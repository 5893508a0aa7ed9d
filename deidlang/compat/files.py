"""Finding, reading and saving DICOM files the way deid's API does."""

from __future__ import annotations

import fnmatch
import logging
import os
import tempfile
import warnings
from typing import Any, Iterator

import pydicom
from pydicom.dataset import Dataset

from ..dicomio.atomic import atomic_target
from ..dicomio.damage import ZIP_ARCHIVE, is_zip_archive
from ..dicomio.encode import conform_file_meta, to_bytes
from ..dicomio.fastread import read_path
from ..lang.diagnostics import DeidlangError

__all__ = ["get_files", "load_dataset", "dataset_path", "Saver"]

log = logging.getLogger("deidlang.compat")


def _as_list(items: Any) -> list:
    return list(items) if isinstance(items, (list, tuple)) else [items]


# --------------------------------------------------------------------------- get_files


def get_files(contenders, check=True, pattern=None, force=False, tempdir=None) -> Iterator[str]:
    """deid's ``get_files``: a generator of DICOM file paths.

    Directories are walked recursively (in sorted order); ``pattern`` is an
    fnmatch pattern on the base name of files found in directories. With
    ``check``, files that pydicom cannot read (with ``force``) are skipped.
    A ``.zip`` (deid extracts it and uses its first file) raises
    :class:`~deidlang.DeidlangError` with the reason ``deidc run`` gives for an
    archive: deidlang does not open archives (docs/compat.md). ``tempdir`` is
    accepted for deid's signature and unused.
    """
    for contender in _as_list(contenders):
        contender = os.fspath(contender)
        candidates = _walk(contender, pattern) if os.path.isdir(contender) else [contender]
        for path in candidates:
            if os.path.splitext(path)[1].lower() == ".zip" or _is_zip(path):
                raise DeidlangError(f"cannot read '{path}': {ZIP_ARCHIVE}")
            if check and not _readable(path, force):
                log.info("skipping '%s': not readable as DICOM", path)
                continue
            yield path


def _walk(base: str, pattern: str | None) -> Iterator[str]:
    pattern = pattern or "*"
    for root, dirs, names in os.walk(base):
        dirs.sort()
        for name in sorted(fnmatch.filter(names, pattern)):
            yield os.path.join(root, name)


def _is_zip(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return is_zip_archive(handle.read(132))
    except OSError:
        return False


def _readable(path: str, force: bool) -> bool:
    try:
        with open(path, "rb") as handle:
            pydicom.dcmread(handle, force=force, stop_before_pixels=True)
    except Exception:  # noqa: BLE001 - any failure means: not a file we can de-identify
        return False
    return True


# --------------------------------------------------------------------------- reading


def load_dataset(item: Any, force: bool = True) -> tuple[Dataset, str | None]:
    """A dataset and its absolute path (None for in-memory datasets without a file name)."""
    if isinstance(item, Dataset):
        return item, dataset_path(item)
    if isinstance(item, (str, os.PathLike)):
        path = os.fspath(item)
        try:
            ds = read_path(path)  # the objects dcmread builds, read faster (deidlang/dicomio/fastread.py)
            if ds is None:
                ds = pydicom.dcmread(path, force=force)
        except FileNotFoundError as err:
            raise DeidlangError(f"cannot read '{path}': no such file") from err
        except Exception as err:
            raise DeidlangError(f"cannot read '{path}' as DICOM: {type(err).__name__}") from err
        return ds, os.path.abspath(path)
    raise DeidlangError(f"cannot de-identify a '{type(item).__name__}': give a path or a pydicom Dataset")


def dataset_path(ds: Dataset) -> str | None:
    name = getattr(ds, "filename", None)
    if isinstance(name, (str, os.PathLike)) and os.fspath(name):
        return os.path.abspath(os.fspath(name))
    return None


# --------------------------------------------------------------------------- saving


class Saver:
    """Where and how one call writes its outputs (deid's save rules, made safe).

    * ``output_folder`` given: files go there; the folder is created if missing.
    * no folder, ``overwrite=True``: each file is written over its input (deid's rule).
    * no folder, ``overwrite=False``: one new temporary folder per call.
    * an existing target is replaced only with ``overwrite=True``; otherwise a
      warning is issued, nothing is written, and the path is still returned.
    * two inputs of one call with the same base name get distinct targets
      (``name.dcm``, ``name-1.dcm``...).
    * writes are atomic: a temporary file in the target folder, then ``os.replace``.
    """

    def __init__(self, output_folder: str | os.PathLike | None, overwrite: bool):
        self.folder = os.fspath(output_folder) if output_folder is not None else None
        self.overwrite = overwrite
        self._used: set[str] = set()
        self._tempdir: str | None = None

    def _folder_for(self, path: str | None) -> str:
        if self.folder is not None:
            os.makedirs(self.folder, exist_ok=True)
            return self.folder
        if self.overwrite and path is not None:
            return os.path.dirname(path)
        if self._tempdir is None:
            self._tempdir = tempfile.mkdtemp(prefix="deidlang-")
        return self._tempdir

    def target(self, path: str | None, index: int) -> str:
        name = os.path.basename(path) if path else f"dataset-{index}.dcm"
        folder = self._folder_for(path)
        target = os.path.join(folder, name)
        stem, ext = os.path.splitext(name)
        n = 1
        while os.path.abspath(target) in self._used:
            target = os.path.join(folder, f"{stem}-{n}{ext}")
            n += 1
        self._used.add(os.path.abspath(target))
        return target

    def save(self, ds: Dataset, path: str | None, index: int) -> str:
        target = self.target(path, index)
        if os.path.exists(target) and not self.overwrite:
            warnings.warn(
                f"'{target}' already exists and overwrite is False: not written",
                UserWarning,
                stacklevel=3,
            )
            return target
        write_atomic(ds, target)
        return target


def write_atomic(ds: Dataset, target: str) -> None:
    """Write ``ds`` to ``target`` through a temporary file in the same folder."""
    try:
        conform_file_meta(ds)  # meta and data set agree (deid leaves an original's mismatch)
        data = to_bytes(ds)  # the bytes ds.save_as(handle) writes (deidlang/dicomio/encode.py), faster
        with atomic_target(target, durable=False) as tmp, open(tmp, "xb") as handle:  # as deidc run without --fsync
            handle.write(data)
    except Exception as err:
        if isinstance(err, DeidlangError):
            raise
        # the cause may quote element values: it is chained, not copied into the message
        raise DeidlangError(f"cannot write '{target}': {type(err).__name__} (see the chained exception)") from err
