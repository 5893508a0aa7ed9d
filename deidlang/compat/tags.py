"""``get_tag``: a keyword's entry in pydicom's data dictionary, in deid's shape."""

from __future__ import annotations

from typing import Any

from pydicom.datadict import DicomDictionary, tag_for_keyword
from pydicom.tag import Tag

__all__ = ["get_tag"]


def get_tag(field: str) -> dict[str, Any] | None:
    """``{"tag", "VR", "VM", "keyword", "name"}`` for a DICOM keyword, or None.

    As deid's ``deid.dicom.tags.get_tag``: only exact keywords of the main
    dictionary are found (``"Modality"``, not ``"modality"`` or a tag);
    ``"tag"`` is a pydicom ``BaseTag``. An empty string gives None (deid
    gives the first dictionary entry without a keyword).
    """
    number = tag_for_keyword(field) if isinstance(field, str) and field else None
    entry = DicomDictionary.get(number) if number is not None else None
    if number is None or entry is None or entry[4] != field:
        return None
    vr, vm, name, _retired, keyword = entry
    return {"tag": Tag(number), "VR": vr, "VM": vm, "keyword": keyword, "name": name}
