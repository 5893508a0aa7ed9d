"""Functions for `func:` references, loaded only when you name this file:

    deidc run --recipe examples/header-manipulation.dicom --functions examples/functions.py

deid calls a function with keyword arguments: ``item`` (the ids of the
current file), ``value`` (the value written after ``func:NAME``, if any),
``field`` (the element being changed) and ``dicom`` (the dataset).
"""

from pydicom.uid import generate_uid as _pydicom_generate_uid

__all__ = ["generate_uid"]


def generate_uid(item=None, value=None, field=None, dicom=None):
    """A new random UID under pydicom's root (a different one on every call)."""
    return _pydicom_generate_uid()
