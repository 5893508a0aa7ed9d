"""The helpers of ``deid.dicom.utils``: reading and saving one dataset, finding files.

``from deid.dicom import utils`` becomes
``from deidlang.compat import dicom_utils as utils``.
"""

from __future__ import annotations

import os

import pydicom

from .files import Saver, get_files, load_dataset

__all__ = ["dcmread", "get_files", "load_dicom", "save_dicom"]


def dcmread(filename, **kwargs):
    """pydicom's ``dcmread`` (deid's is the same call)."""
    return pydicom.dcmread(filename, **kwargs)


def load_dicom(dcm_file, force=True):
    """A path read as a dataset, or the dataset itself."""
    return load_dataset(dcm_file, force=force)[0]


def save_dicom(dicom, dicom_file, output_folder=None, overwrite=False) -> str:
    """Write ``dicom`` as ``output_folder/basename(dicom_file)``; returns the path.

    No folder: a new temporary folder, or with ``overwrite`` the folder of
    ``dicom_file``, as in deid. A missing folder is created (deid crashes).
    An existing file is replaced only with ``overwrite=True``; otherwise a
    ``UserWarning`` and nothing is written (deid logs an error). The write is
    atomic.
    """
    return Saver(output_folder, overwrite).save(dicom, os.fspath(dicom_file), 0)
