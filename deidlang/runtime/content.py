"""Clean Structured Content (PS3.15 Annex E, CID 7050 code 113104): ``deid_func:cleancontent``.

A structured report's content tree (ContentSequence, and the content items of
AcquisitionContextSequence and SpecimenPreparationSequence) is kept with its
meaning and cleaned of what identifies:

* kept: the tree's structure (RelationshipType, ValueType, ContinuityOfContent,
  ContentTemplateSequence, references between items), every code (concept names,
  coded values, units: the code items' values, schemes and meanings), numeric
  measurements (MeasuredValueSequence, NumericValue, FloatingPointValue...), spatial and
  temporal coordinates, and the SOP classes of references;
* replaced: TEXT values and every other free text, PNAME values and other names,
  DATE, TIME and DATETIME values (and ObservationDateTime) by the dummy value of their
  VR; UIDREF values and the instance UIDs the basic profile replaces
  (:data:`REPLACED_UIDS`) by keyed hashes, the same as ``deid_func:hashuid`` gives for
  the same UID anywhere else in the file; a Subject Age (DCM 121033) loses its value
  (its MeasuredValueSequence, Type 2, is left empty);
* removed: private elements inside the tree.

Observer identities (Person Observer Name, Device Observer UID, Name, Manufacturer,
Serial Number...) are content items, PNAME, UIDREF and TEXT: they are replaced by
the rules above. Elements a KEEP protects on their own (``retain-uids``...) are
left as they are.
"""

from __future__ import annotations

from typing import Any, Callable

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from . import keys
from .cleaning import BuiltinFailed, builtin_key, dummy_value, enclosed, hidden, need, one, text_items
from .values import Builtin

__all__ = ["REPLACED_UIDS", "CODE_ITEM_KEYWORDS", "DATED_CODE_ITEM_KEYWORDS", "KEPT", "clean_content", "clean_tree", "PN_DUMMY"]


def _tag(keyword: str) -> int:
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    return tag


def _tags(*keywords: str) -> frozenset[int]:
    return frozenset(_tag(k) for k in keywords)


#: The UIDs the basic profile replaces: the U rows of PS3.15 Table E.1-1
#: (tests/test_content.py holds this equal to :mod:`deidlang.privacy.table`).
REPLACED_UIDS = _tags(
    *"""RequestedSOPInstanceUID MediaStorageSOPInstanceUID ReferencedSOPInstanceUIDInFile InstanceCreatorUID AcquisitionUID
    SOPInstanceUID PyramidUID FailedSOPInstanceUIDList ReferencedSOPInstanceUID TransactionUID IrradiationEventUID DeviceUID
    ManufacturerDeviceClassUID TargetUID StudyInstanceUID SeriesInstanceUID FrameOfReferenceUID SynchronizationFrameOfReferenceUID
    ConcatenationUID DimensionOrganizationUID PaletteColorLookupTableUID LargePaletteColorLookupTableUID MultiplexGroupUID
    SpecimenUID ReferencedGeneralPurposeScheduledProcedureStepTransactionUID UID ObservationUID ReferencedObservationUIDTrial
    ObservationSubjectUIDTrial TemplateExtensionOrganizationUID TemplateExtensionCreatorUID TrackingUID SourceFrameOfReferenceUID
    FiducialUID PresentationDisplayCollectionUID PresentationSequenceCollectionUID StorageMediaFileSetUID DigitalSignatureUID
    ReferencedFrameOfReferenceUID RelatedFrameOfReferenceUID DoseReferenceUID TableTopPositionAlignmentUID ReferencedDoseReferenceUID
    TreatmentPositionGroupUID PatientSetupUID TreatmentSessionUID ReferencedTreatmentPositionGroupUID ConceptualVolumeUID
    ReferencedConceptualVolumeUID ConstituentConceptualVolumeUID SourceConceptualVolumeUID ReferencedFiducialsUID RTTreatmentPhaseUID
    DosimetricObjectiveUID ReferencedDosimetricObjectiveUID""".split()
)

#: The attributes of a code item (PS3.3 Table 8.8-1, the Code Sequence Macro).
CODE_ITEM_KEYWORDS = (
    "CodeValue",
    "CodingSchemeDesignator",
    "CodingSchemeVersion",
    "CodeMeaning",
    "LongCodeValue",
    "URNCodeValue",
    "ContextIdentifier",
    "ContextUID",
    "MappingResource",
    "MappingResourceUID",
    "MappingResourceName",
    "ContextGroupVersion",
    "ContextGroupLocalVersion",
    "ContextGroupExtensionFlag",
    "ContextGroupExtensionCreatorUID",
)
#: The code items' elements that Table E.1-1 lists (as D: dates of a context group's
#: version): replaced inside a tree as the profile replaces them everywhere.
DATED_CODE_ITEM_KEYWORDS = ("ContextGroupVersion", "ContextGroupLocalVersion")
#: Text and UID elements of a content tree that are kept: the code items' and the
#: templates' identifiers (tests/test_content.py: none has a row of Table E.1-1).
KEPT = _tags(*(k for k in CODE_ITEM_KEYWORDS if k not in DATED_CODE_ITEM_KEYWORDS), "TemplateIdentifier", "TemplateExtensionFlag")

#: A name that a validator reads as a person's name (family name and an empty given name).
PN_DUMMY = "ANONYMOUS^"
_REPLACED_VRS = frozenset(("AE", "AS", "DA", "DT", "TM", "LO", "SH", "ST", "LT", "UT", "UC", "UR"))
_CONCEPT = _tag("ConceptNameCodeSequence")
_MEASURED = _tag("MeasuredValueSequence")
#: concepts whose numeric value identifies the subject: (scheme, code)
_IDENTIFYING_NUMBERS = frozenset({("DCM", "121033")})  # Subject Age


def _concept(item: Dataset) -> tuple[str, str] | None:
    seq = item.get(_CONCEPT)
    if seq is None or not seq.value:
        return None
    code = seq.value[0]
    return (str(code.get("CodingSchemeDesignator", "")).strip(), str(code.get("CodeValue", "")).strip())


class _Walk:
    """One content tree's cleaning: the key is read only once a UID needs it."""

    def __init__(self, b: Builtin, run: Any, protected: set):
        self.b = b
        self.run = run
        self.protected = protected
        self._key: keys.Key | None = None

    def uid(self, value: str) -> str:
        if self._key is None:
            self._key = builtin_key(self.b)
        return keys.hash_uid(self._key, value) if value.strip() else value

    def item(self, ds: Dataset, text: Callable[[Dataset, Any], Any]) -> None:
        if _MEASURED in ds and _concept(ds) in _IDENTIFYING_NUMBERS and (id(ds), _MEASURED) not in self.protected:
            ds[_MEASURED].value = Sequence([])
        for tag in list(ds.keys()):
            t = int(tag)
            if (id(ds), t) in self.protected:
                continue
            if (t >> 16) & 1:
                del ds[tag]  # private, inside the tree: the profile removes every private element
                continue
            elem = ds[tag]
            vr = elem.VR
            if vr == "SQ":
                for sub in elem.value or ():
                    if isinstance(sub, Dataset):
                        self.item(sub, text)
            elif t in KEPT or elem.value in (None, "", b""):
                continue
            elif vr == "UI":
                if t in REPLACED_UIDS:
                    elem.value = one([self.uid(v) for v in text_items(elem.value)])
            elif vr == "PN":
                elem.value = PN_DUMMY
            elif vr in _REPLACED_VRS:
                elem.value = text(ds, elem)


def clean_tree(b: Builtin, run: Any, sequence: Sequence, text: Callable[[Dataset, Any], Any]) -> None:
    """Clean every item of ``sequence`` (at every depth) by the rules of this module;
    ``text(dataset, element)`` gives the new value of a text, date or time element."""
    walk = _Walk(b, run, hidden(run))
    for item in sequence:
        if isinstance(item, Dataset):
            walk.item(item, text)


def _dummy_text(ds: Dataset, elem: Any) -> Any:
    return dummy_value(elem.VR)


def clean_content(b: Builtin, field: Any, element: Any, run: Any) -> Any:
    """``deid_func:cleancontent``: the content tree, cleaned (see the module docstring)."""
    need(element, b)
    if element.VR != "SQ":
        raise BuiltinFailed(f"deid_func:cleancontent works on sequences of content items (ContentSequence...), not VR {element.VR}")
    if not enclosed(run, b.name):
        clean_tree(b, run, element.value, _dummy_text)
    return element.value
