"""The DICOM Basic Application Level Confidentiality Profile, as data, and the
coverage analysis behind ``deidc check --profile basic``.

:data:`TABLE` is PS3.15 Annex E Table E.1-1, written out by this project: one
row per attribute with its action code in the Basic Profile column and, for
the options, the codes of their columns. The codes are facts of the standard
(edition in :data:`EDITION`); the tests cross-check the rows against an
independent machine-readable copy (the ``dicom-anonymizer`` package).

Codes: D dummy value valid for the VR, Z zero-length value, X remove, K keep,
C clean, U replace with a UID consistent across the set; combined codes
(``X/Z``, ``X/D``, ``Z/D``, ``X/Z/D``, ``X/Z/U*``) let a de-identifier pick
the strongest action that keeps the object valid.

:func:`coverage` says, for every row, which recipe line handles it (with
several recipes applied one after the other, as ``deidc run`` does, and the
KEEP lines of a recipe protecting elements in the later ones), which rows no
line handles, and which lines contradict the profile.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Sequence

import attrs

from .lang import nodes

__all__ = [
    "EDITION",
    "PROFILE",
    "Option",
    "OPTIONS",
    "Row",
    "TABLE",
    "rows",
    "option",
    "option_recipe",
    "default_recipe",
    "resolution",
    "profile_tags",
    "Handling",
    "Report",
    "coverage",
    "render_text",
    "render_json",
]

#: The edition of PS3.15 the Basic Profile column is taken from; the option
#: columns are those of the 2024 editions (rows added since have none).
EDITION = "2026c"
#: CID 7050 code of the profile.
PROFILE = ("113100", "Basic Application Confidentiality Profile")


@attrs.frozen
class Option:
    """A profile option: its name here, its CID 7050 code and meaning, its bundled recipe."""

    name: str
    code: str
    meaning: str
    recipe: str | None  # file name under deidlang/data/options, or None (not bundled)
    keeps_private: bool = False  # its recipe KEEPs private elements: it acts only when private elements are kept


OPTIONS: tuple[Option, ...] = (
    Option("retain-safe-private", "113111", "Retain Safe Private Option", "retain-safe-private.dicom", keeps_private=True),
    Option("retain-uids", "113110", "Retain UIDs Option", "retain-uids.dicom"),
    Option("retain-device-identity", "113109", "Retain Device Identity Option", "retain-device-identity.dicom"),
    Option("retain-institution-identity", "113112", "Retain Institution Identity Option", "retain-institution-identity.dicom"),
    Option("retain-patient-characteristics", "113108", "Retain Patient Characteristics Option", "retain-patient-characteristics.dicom"),
    Option("retain-full-dates", "113106", "Retain Longitudinal Temporal Information Full Dates Option", "retain-full-dates.dicom"),
    Option("retain-modified-dates", "113107", "Retain Longitudinal Temporal Information Modified Dates Option", "retain-modified-dates.dicom"),
    Option("clean-descriptors", "113105", "Clean Descriptors Option", "clean-descriptors.dicom"),
    Option("clean-structured-content", "113104", "Clean Structured Content Option", None),
    Option("clean-graphics", "113103", "Clean Graphics Option", None),
)


def option(name: str) -> Option:
    for o in OPTIONS:
        if o.name == name:
            return o
    raise KeyError(name)


def _data_dir() -> Path:
    return Path(str(resources.files("deidlang") / "data"))


def default_recipe() -> Path:
    """The bundled Basic Profile recipe (deidlang's default recipe)."""
    return _data_dir() / "default.dicom"


def option_recipe(name: str) -> Path:
    """The bundled recipe of option ``name`` (apply it *before* the profile recipe)."""
    o = option(name)
    if o.recipe is None:
        raise KeyError(f"option '{name}' has no bundled recipe")
    return _data_dir() / "options" / o.recipe


# --------------------------------------------------------------------------- the table

#: Table E.1-1. Columns: tag (or pattern), Basic Profile code, keyword (the
#: element's name in quotes when pydicom's dictionary has no keyword for it),
#: then ``option=code`` for every option column that lists the attribute.
TABLE = """
0000,1000  X      AffectedSOPInstanceUID                             retain-uids=K
0000,1001  U      RequestedSOPInstanceUID                            retain-uids=K
0002,0003  U      MediaStorageSOPInstanceUID                         retain-uids=K
0004,1511  U      ReferencedSOPInstanceUIDInFile                     retain-uids=K
0008,0012  X/D    InstanceCreationDate                               retain-full-dates=K retain-modified-dates=C
0008,0013  X/Z/D  InstanceCreationTime                               retain-full-dates=K retain-modified-dates=C
0008,0014  U      InstanceCreatorUID                                 retain-uids=K
0008,0015  X      InstanceCoercionDateTime                           retain-full-dates=K retain-modified-dates=C
0008,0017  U      AcquisitionUID                                     retain-uids=K
0008,0018  U      SOPInstanceUID                                     retain-uids=K
0008,0019  U      PyramidUID                                         retain-uids=K
0008,0020  Z      StudyDate                                          retain-full-dates=K retain-modified-dates=C
0008,0021  X/D    SeriesDate                                         retain-full-dates=K retain-modified-dates=C
0008,0022  X/Z    AcquisitionDate                                    retain-full-dates=K retain-modified-dates=C
0008,0023  Z/D    ContentDate                                        retain-full-dates=K retain-modified-dates=C
0008,0024  X      OverlayDate                                        retain-full-dates=K retain-modified-dates=C
0008,0025  X      CurveDate                                          retain-full-dates=K retain-modified-dates=C
0008,002A  X/Z/D  AcquisitionDateTime                                retain-full-dates=K retain-modified-dates=C
0008,0030  Z      StudyTime                                          retain-full-dates=K retain-modified-dates=C
0008,0031  X/D    SeriesTime                                         retain-full-dates=K retain-modified-dates=C
0008,0032  X/Z    AcquisitionTime                                    retain-full-dates=K retain-modified-dates=C
0008,0033  Z/D    ContentTime                                        retain-full-dates=K retain-modified-dates=C
0008,0034  X      OverlayTime                                        retain-full-dates=K retain-modified-dates=C
0008,0035  X      CurveTime                                          retain-full-dates=K retain-modified-dates=C
0008,0050  Z      AccessionNumber
0008,0054  X      RetrieveAETitle                                    retain-device-identity=C
0008,0055  X      StationAETitle                                     retain-device-identity=C
0008,0058  U      FailedSOPInstanceUIDList                           retain-uids=K
0008,0080  X/Z/D  InstitutionName                                    retain-institution-identity=K
0008,0081  X      InstitutionAddress                                 retain-institution-identity=K
0008,0082  X/Z/D  InstitutionCodeSequence                            retain-institution-identity=K
0008,0090  Z      ReferringPhysicianName
0008,0092  X      ReferringPhysicianAddress
0008,0094  X      ReferringPhysicianTelephoneNumbers
0008,0096  X      ReferringPhysicianIdentificationSequence
0008,009C  Z      ConsultingPhysicianName
0008,009D  X      ConsultingPhysicianIdentificationSequence
0008,0106  D      ContextGroupVersion                                retain-full-dates=K retain-modified-dates=C
0008,0107  D      ContextGroupLocalVersion                           retain-full-dates=K retain-modified-dates=C
0008,0201  X      TimezoneOffsetFromUTC                              retain-full-dates=K retain-modified-dates=C
0008,1000  X      NetworkID                                          retain-device-identity=C
0008,1010  X/Z/D  StationName                                        retain-device-identity=K
0008,1030  X      StudyDescription                                   clean-descriptors=C
0008,103E  X      SeriesDescription                                  clean-descriptors=C
0008,1040  X      InstitutionalDepartmentName                        retain-institution-identity=K
0008,1041  X      InstitutionalDepartmentTypeCodeSequence            retain-institution-identity=K
0008,1048  X      PhysiciansOfRecord
0008,1049  X      PhysiciansOfRecordIdentificationSequence
0008,1050  X      PerformingPhysicianName
0008,1052  X      PerformingPhysicianIdentificationSequence
0008,1060  X      NameOfPhysiciansReadingStudy
0008,1062  X      PhysiciansReadingStudyIdentificationSequence
0008,1070  X/Z/D  OperatorsName
0008,1072  X/D    OperatorIdentificationSequence
0008,1080  X      AdmittingDiagnosesDescription                      clean-descriptors=C
0008,1084  X      AdmittingDiagnosesCodeSequence                     clean-descriptors=C
0008,1088  X      PyramidDescription                                 clean-descriptors=C
0008,1110  X/Z    ReferencedStudySequence                            retain-uids=K
0008,1111  X/Z/D  ReferencedPerformedProcedureStepSequence           retain-uids=K
0008,1120  X      ReferencedPatientSequence                          retain-uids=K
0008,1140  X/Z/U* ReferencedImageSequence                            retain-uids=K
0008,1155  U      ReferencedSOPInstanceUID                           retain-uids=K
0008,1195  U      TransactionUID                                     retain-uids=K
0008,1301  X      "Principal Diagnosis Code Sequence"
0008,1302  X      "Primary Diagnosis Code Sequence"
0008,1303  X      "Secondary Diagnoses Code Sequence"
0008,1304  X      "Histological Diagnoses Code Sequence"
0008,2111  X      DerivationDescription                              clean-descriptors=C
0008,2112  X/Z/U* SourceImageSequence                                retain-uids=K
0008,3010  U      IrradiationEventUID                                retain-uids=K
0008,4000  X      IdentifyingComments                                clean-descriptors=C
0010,0010  Z      PatientName
0010,0011  X      "Person Names to Use Sequence"
0010,0012  X      "Name to Use"
0010,0013  X      "Name to Use Comment"
0010,0014  X      "Third Person Pronouns Sequence"
0010,0015  X      "Pronoun Code Sequence"
0010,0016  X      "Pronoun Comment"
0010,0020  Z/D    PatientID
0010,0021  X      IssuerOfPatientID
0010,0030  Z      PatientBirthDate
0010,0032  X      PatientBirthTime
0010,0040  Z      PatientSex                                         retain-patient-characteristics=K
0010,0041  X      "Gender Identity Sequence"
0010,0042  X      "Sex Parameters for Clinical Use Category Comment"
0010,0043  X      "Sex Parameters for Clinical Use Category Sequence"
0010,0044  X      "Gender Identity Code Sequence"
0010,0045  X      "Gender Identity Comment"
0010,0046  X      "Sex Parameters for Clinical Use Category Code Sequence"
0010,0047  X      "Sex Parameters for Clinical Use Category Reference"
0010,0050  X      PatientInsurancePlanCodeSequence
0010,0101  X      PatientPrimaryLanguageCodeSequence
0010,0102  X      PatientPrimaryLanguageModifierCodeSequence
0010,1000  X      OtherPatientIDs
0010,1001  X      OtherPatientNames
0010,1002  X      OtherPatientIDsSequence
0010,1005  X      PatientBirthName
0010,1010  X      PatientAge                                         retain-patient-characteristics=K
0010,1020  X      PatientSize                                        retain-patient-characteristics=K
0010,1030  X      PatientWeight                                      retain-patient-characteristics=K
0010,1040  X      PatientAddress
0010,1050  X      InsurancePlanIdentification
0010,1060  X      PatientMotherBirthName
0010,1080  X      MilitaryRank
0010,1081  X      BranchOfService
0010,1090  X      MedicalRecordLocator
0010,1100  X      ReferencedPatientPhotoSequence
0010,2000  X      MedicalAlerts                                      clean-descriptors=C
0010,2110  X      Allergies                                          clean-descriptors=C retain-patient-characteristics=C
0010,2150  X      CountryOfResidence
0010,2152  X      RegionOfResidence
0010,2154  X      PatientTelephoneNumbers
0010,2155  X      PatientTelecomInformation
0010,2160  X      EthnicGroup                                        retain-patient-characteristics=K
0010,2161  X      EthnicGroupCodeSequence                            retain-patient-characteristics=K
0010,2162  X      "Ethnic Groups"
0010,2180  X      Occupation                                         clean-descriptors=C
0010,21A0  X      SmokingStatus                                      retain-patient-characteristics=K
0010,21B0  X      AdditionalPatientHistory                           clean-descriptors=C
0010,21C0  X      PregnancyStatus                                    retain-patient-characteristics=K
0010,21D0  X      LastMenstrualDate                                  retain-full-dates=K retain-modified-dates=C
0010,21F0  X      PatientReligiousPreference
0010,2203  X/Z    PatientSexNeutered                                 retain-patient-characteristics=K
0010,2297  X      ResponsiblePerson
0010,2299  X      ResponsibleOrganization
0010,4000  X      PatientComments                                    clean-descriptors=C
0012,0010  D      ClinicalTrialSponsorName
0012,0020  D      ClinicalTrialProtocolID
0012,0021  Z      ClinicalTrialProtocolName
0012,0022  X      IssuerOfClinicalTrialProtocolID
0012,0023  X      OtherClinicalTrialProtocolIDsSequence
0012,0030  Z      ClinicalTrialSiteID                                retain-institution-identity=K
0012,0031  Z      ClinicalTrialSiteName                              retain-institution-identity=K
0012,0032  X      IssuerOfClinicalTrialSiteID
0012,0040  D      ClinicalTrialSubjectID
0012,0041  X      IssuerOfClinicalTrialSubjectID
0012,0042  D      ClinicalTrialSubjectReadingID
0012,0043  X      IssuerOfClinicalTrialSubjectReadingID
0012,0050  Z      ClinicalTrialTimePointID
0012,0051  X      ClinicalTrialTimePointDescription                  clean-descriptors=C
0012,0055  X      IssuerOfClinicalTrialTimePointID
0012,0060  Z      ClinicalTrialCoordinatingCenterName                retain-institution-identity=K
0012,0071  X      ClinicalTrialSeriesID
0012,0072  X      ClinicalTrialSeriesDescription                     clean-descriptors=C
0012,0073  X      IssuerOfClinicalTrialSeriesID
0012,0081  D      ClinicalTrialProtocolEthicsCommitteeName           retain-institution-identity=K
0012,0082  X      ClinicalTrialProtocolEthicsCommitteeApprovalNumber
0012,0086  X      EthicsCommitteeApprovalEffectivenessStartDate      retain-full-dates=K retain-modified-dates=C
0012,0087  X      EthicsCommitteeApprovalEffectivenessEndDate        retain-full-dates=K retain-modified-dates=C
0014,407C  X      CalibrationTime                                    retain-device-identity=K retain-full-dates=K retain-modified-dates=C
0014,407E  X      CalibrationDate                                    retain-device-identity=K retain-full-dates=K retain-modified-dates=C
0016,002B  X      MakerNote                                          clean-descriptors=C
0016,004B  X      DeviceSettingDescription                           clean-descriptors=C
0016,004D  X      CameraOwnerName
0016,004E  X      LensSpecification                                  retain-device-identity=K
0016,004F  X      LensMake                                           retain-device-identity=K
0016,0050  X      LensModel                                          retain-device-identity=K
0016,0051  X      LensSerialNumber                                   retain-device-identity=K
0016,0070  X      GPSVersionID
0016,0071  X      GPSLatitudeRef
0016,0072  X      GPSLatitude
0016,0073  X      GPSLongitudeRef
0016,0074  X      GPSLongitude
0016,0075  X      GPSAltitudeRef
0016,0076  X      GPSAltitude
0016,0077  X      GPSTimeStamp
0016,0078  X      GPSSatellites
0016,0079  X      GPSStatus
0016,007A  X      GPSMeasureMode
0016,007B  X      GPSDOP
0016,007C  X      GPSSpeedRef
0016,007D  X      GPSSpeed
0016,007E  X      GPSTrackRef
0016,007F  X      GPSTrack
0016,0080  X      GPSImgDirectionRef
0016,0081  X      GPSImgDirection
0016,0082  X      GPSMapDatum
0016,0083  X      GPSDestLatitudeRef
0016,0084  X      GPSDestLatitude
0016,0085  X      GPSDestLongitudeRef
0016,0086  X      GPSDestLongitude
0016,0087  X      GPSDestBearingRef
0016,0088  X      GPSDestBearing
0016,0089  X      GPSDestDistanceRef
0016,008A  X      GPSDestDistance
0016,008B  X      GPSProcessingMethod
0016,008C  X      GPSAreaInformation
0016,008D  X      GPSDateStamp                                       retain-full-dates=K retain-modified-dates=C
0016,008E  X      GPSDifferential
0018,0010  Z/D    ContrastBolusAgent                                 clean-descriptors=C
0018,0027  X      InterventionDrugStopTime                           retain-full-dates=K retain-modified-dates=C
0018,0035  X      InterventionDrugStartTime                          retain-full-dates=K retain-modified-dates=C
0018,1000  X/Z/D  DeviceSerialNumber                                 retain-device-identity=K
0018,1002  U      DeviceUID                                          retain-device-identity=K retain-uids=K
0018,1004  X      PlateID                                            retain-device-identity=K
0018,1005  X      GeneratorID                                        retain-device-identity=K
0018,1007  X      CassetteID                                         retain-device-identity=K
0018,1008  X      GantryID                                           retain-device-identity=K
0018,1009  X      UniqueDeviceIdentifier                             retain-device-identity=K
0018,100A  X      UDISequence                                        retain-device-identity=K
0018,100B  U      ManufacturerDeviceClassUID                         retain-device-identity=K retain-uids=K
0018,1010  X      SecondaryCaptureDeviceID
0018,1011  X      HardcopyCreationDeviceID
0018,1012  X      DateOfSecondaryCapture                             retain-full-dates=K retain-modified-dates=C
0018,1014  X      TimeOfSecondaryCapture                             retain-full-dates=K retain-modified-dates=C
0018,1030  X/D    ProtocolName                                       clean-descriptors=C
0018,1042  X      ContrastBolusStartTime                             retain-full-dates=K retain-modified-dates=C
0018,1043  X      ContrastBolusStopTime                              retain-full-dates=K retain-modified-dates=C
0018,1072  X      RadiopharmaceuticalStartTime                       retain-full-dates=K retain-modified-dates=C
0018,1073  X      RadiopharmaceuticalStopTime                        retain-full-dates=K retain-modified-dates=C
0018,1078  X      RadiopharmaceuticalStartDateTime                   retain-full-dates=K retain-modified-dates=C
0018,1079  X      RadiopharmaceuticalStopDateTime                    retain-full-dates=K retain-modified-dates=C
0018,11BB  D      AcquisitionFieldOfViewLabel                        clean-descriptors=C
0018,1200  X      DateOfLastCalibration                              retain-device-identity=K retain-full-dates=K retain-modified-dates=C
0018,1201  X      TimeOfLastCalibration                              retain-device-identity=K retain-full-dates=K retain-modified-dates=C
0018,1202  X      DateTimeOfLastCalibration                          retain-device-identity=K retain-full-dates=K retain-modified-dates=C
0018,1203  Z      CalibrationDateTime                                retain-device-identity=K retain-full-dates=K retain-modified-dates=C
0018,1204  X      DateOfManufacture                                  retain-device-identity=K retain-full-dates=K retain-modified-dates=C
0018,1205  X      DateOfInstallation                                 retain-device-identity=K retain-full-dates=K retain-modified-dates=C
0018,1400  X/D    AcquisitionDeviceProcessingDescription             clean-descriptors=C
0018,2042  U      TargetUID                                          retain-uids=K
0018,4000  X      AcquisitionComments                                clean-descriptors=C
0018,5011  X      TransducerIdentificationSequence                   retain-device-identity=K
0018,700A  X/D    DetectorID                                         retain-device-identity=K
0018,700C  X/D    DateOfLastDetectorCalibration                      retain-device-identity=K retain-full-dates=K retain-modified-dates=C
0018,700E  X/D    TimeOfLastDetectorCalibration                      retain-device-identity=K retain-full-dates=K retain-modified-dates=C
0018,9074  D      FrameAcquisitionDateTime                           retain-full-dates=K retain-modified-dates=C
0018,9151  D      FrameReferenceDateTime                             retain-full-dates=K retain-modified-dates=C
0018,9185  X      RespiratoryMotionCompensationTechniqueDescription  clean-descriptors=C
0018,9367  D      XRaySourceID                                       retain-device-identity=K
0018,9369  D      SourceStartDateTime                                retain-full-dates=K retain-modified-dates=C
0018,936A  D      SourceEndDateTime                                  retain-full-dates=K retain-modified-dates=C
0018,9371  D      XRayDetectorID                                     retain-device-identity=K
0018,9373  X      XRayDetectorLabel                                  retain-device-identity=K
0018,937B  X      MultienergyAcquisitionDescription                  clean-descriptors=C
0018,937F  X      DecompositionDescription                           clean-descriptors=C
0018,9424  X      AcquisitionProtocolDescription                     clean-descriptors=C
0018,9516  X/D    StartAcquisitionDateTime                           retain-full-dates=K retain-modified-dates=C
0018,9517  X/D    EndAcquisitionDateTime                             retain-full-dates=K retain-modified-dates=C
0018,9623  D      FunctionalSyncPulse                                retain-full-dates=K retain-modified-dates=C
0018,9701  D      DecayCorrectionDateTime                            retain-full-dates=K retain-modified-dates=C
0018,9804  D      ExclusionStartDateTime                             retain-full-dates=K retain-modified-dates=C
0018,9919  Z/D    InstructionPerformedDateTime                       retain-full-dates=K retain-modified-dates=C
0018,9937  X      RequestedSeriesDescription                         clean-descriptors=C
0018,A002  X      ContributionDateTime                               retain-full-dates=K retain-modified-dates=C
0018,A003  X      ContributionDescription                            clean-descriptors=C
0020,000D  U      StudyInstanceUID                                   retain-uids=K
0020,000E  U      SeriesInstanceUID                                  retain-uids=K
0020,0010  Z      StudyID
0020,0027  X      PyramidLabel                                       clean-descriptors=C
0020,0052  U      FrameOfReferenceUID                                retain-uids=K
0020,0200  U      SynchronizationFrameOfReferenceUID                 retain-uids=K
0020,3401  X      ModifyingDeviceID                                  retain-device-identity=K
0020,3403  X      ModifiedImageDate                                  retain-full-dates=K retain-modified-dates=C
0020,3405  X      ModifiedImageTime                                  retain-full-dates=K retain-modified-dates=C
0020,3406  X      ModifiedImageDescription
0020,4000  X      ImageComments                                      clean-descriptors=C
0020,9158  X      FrameComments                                      clean-descriptors=C
0020,9161  U      ConcatenationUID                                   retain-uids=K
0020,9164  U      DimensionOrganizationUID                           retain-uids=K
0028,1199  U      PaletteColorLookupTableUID                         retain-uids=K
0028,1214  U      LargePaletteColorLookupTableUID                    retain-uids=K
0028,4000  X      ImagePresentationComments
0032,0012  X      StudyIDIssuer
0032,0032  X      StudyVerifiedDate                                  retain-full-dates=K retain-modified-dates=C
0032,0033  X      StudyVerifiedTime                                  retain-full-dates=K retain-modified-dates=C
0032,0034  X      StudyReadDate                                      retain-full-dates=K retain-modified-dates=C
0032,0035  X      StudyReadTime                                      retain-full-dates=K retain-modified-dates=C
0032,1000  X      ScheduledStudyStartDate                            retain-full-dates=K retain-modified-dates=C
0032,1001  X      ScheduledStudyStartTime                            retain-full-dates=K retain-modified-dates=C
0032,1010  X      ScheduledStudyStopDate                             retain-full-dates=K retain-modified-dates=C
0032,1011  X      ScheduledStudyStopTime                             retain-full-dates=K retain-modified-dates=C
0032,1020  X      ScheduledStudyLocation                             retain-device-identity=K
0032,1021  X      ScheduledStudyLocationAETitle                      retain-device-identity=C
0032,1030  X      ReasonForStudy                                     clean-descriptors=C
0032,1032  X      RequestingPhysician
0032,1033  X      RequestingService
0032,1040  X      StudyArrivalDate                                   retain-full-dates=K retain-modified-dates=C
0032,1041  X      StudyArrivalTime                                   retain-full-dates=K retain-modified-dates=C
0032,1050  X      StudyCompletionDate                                retain-full-dates=K retain-modified-dates=C
0032,1051  X      StudyCompletionTime                                retain-full-dates=K retain-modified-dates=C
0032,1060  X/Z    RequestedProcedureDescription                      clean-descriptors=C
0032,1066  X      ReasonForVisit                                     clean-descriptors=C
0032,1067  X      ReasonForVisitCodeSequence                         clean-descriptors=C
0032,1070  X      RequestedContrastAgent                             clean-descriptors=C
0032,4000  X      StudyComments                                      clean-descriptors=C
0034,0001  D      FlowIdentifierSequence
0034,0002  D      FlowIdentifier
0034,0005  D      SourceIdentifier
0034,0007  D      FrameOriginTimestamp                               retain-full-dates=K retain-modified-dates=C
0038,0004  X      ReferencedPatientAliasSequence
0038,0010  X      AdmissionID
0038,0011  X      IssuerOfAdmissionID
0038,0014  X      IssuerOfAdmissionIDSequence
0038,001A  X      ScheduledAdmissionDate                             retain-full-dates=K retain-modified-dates=C
0038,001B  X      ScheduledAdmissionTime                             retain-full-dates=K retain-modified-dates=C
0038,001C  X      ScheduledDischargeDate                             retain-full-dates=K retain-modified-dates=C
0038,001D  X      ScheduledDischargeTime                             retain-full-dates=K retain-modified-dates=C
0038,001E  X      ScheduledPatientInstitutionResidence
0038,0020  X      AdmittingDate                                      retain-full-dates=K retain-modified-dates=C
0038,0021  X      AdmittingTime                                      retain-full-dates=K retain-modified-dates=C
0038,0030  X      DischargeDate                                      retain-full-dates=K retain-modified-dates=C
0038,0032  X      DischargeTime                                      retain-full-dates=K retain-modified-dates=C
0038,0040  X      DischargeDiagnosisDescription                      clean-descriptors=C
0038,0050  X      SpecialNeeds                                       retain-patient-characteristics=C
0038,0060  X      ServiceEpisodeID
0038,0061  X      IssuerOfServiceEpisodeID
0038,0062  X      ServiceEpisodeDescription                          clean-descriptors=C
0038,0064  X      IssuerOfServiceEpisodeIDSequence
0038,0300  X      CurrentPatientLocation
0038,0400  X      PatientInstitutionResidence
0038,0500  X      PatientState                                       clean-descriptors=C retain-patient-characteristics=C
0038,4000  X      VisitComments                                      clean-descriptors=C
003A,0020  X      MultiplexGroupLabel
003A,0203  X      ChannelLabel
003A,020C  X      ChannelDerivationDescription
003A,0310  U      MultiplexGroupUID                                  retain-uids=K
003A,0314  D      ImpedanceMeasurementDateTime                       retain-full-dates=K retain-modified-dates=C
003A,0329  X      WaveformFilterDescription                          clean-descriptors=C
003A,032B  X      FilterLookupTableDescription                       clean-descriptors=C
0040,0001  X      ScheduledStationAETitle                            retain-device-identity=C
0040,0002  X      ScheduledProcedureStepStartDate                    retain-full-dates=K retain-modified-dates=C
0040,0003  X      ScheduledProcedureStepStartTime                    retain-full-dates=K retain-modified-dates=C
0040,0004  X      ScheduledProcedureStepEndDate                      retain-full-dates=K retain-modified-dates=C
0040,0005  X      ScheduledProcedureStepEndTime                      retain-full-dates=K retain-modified-dates=C
0040,0006  X      ScheduledPerformingPhysicianName
0040,0007  X      ScheduledProcedureStepDescription                  clean-descriptors=C
0040,0009  X      ScheduledProcedureStepID
0040,000B  X      ScheduledPerformingPhysicianIdentificationSequence
0040,0010  X      ScheduledStationName                               retain-device-identity=K
0040,0011  X      ScheduledProcedureStepLocation                     retain-device-identity=K
0040,0012  X      PreMedication                                      retain-patient-characteristics=C
0040,0241  X      PerformedStationAETitle                            retain-device-identity=C
0040,0242  X      PerformedStationName                               retain-device-identity=K
0040,0243  X      PerformedLocation
0040,0244  X      PerformedProcedureStepStartDate                    retain-full-dates=K retain-modified-dates=C
0040,0245  X      PerformedProcedureStepStartTime                    retain-full-dates=K retain-modified-dates=C
0040,0250  X      PerformedProcedureStepEndDate                      retain-full-dates=K retain-modified-dates=C
0040,0251  X      PerformedProcedureStepEndTime                      retain-full-dates=K retain-modified-dates=C
0040,0253  X      PerformedProcedureStepID
0040,0254  X      PerformedProcedureStepDescription                  clean-descriptors=C
0040,0275  X      RequestAttributesSequence                          clean-descriptors=C
0040,0280  X      CommentsOnThePerformedProcedureStep                clean-descriptors=C
0040,0310  X      CommentsOnRadiationDose                            clean-descriptors=C
0040,050A  X      SpecimenAccessionNumber
0040,0512  D      ContainerIdentifier
0040,0513  Z      IssuerOfTheContainerIdentifierSequence
0040,051A  X      ContainerDescription                               clean-descriptors=C
0040,0551  D      SpecimenIdentifier
0040,0554  U      SpecimenUID                                        retain-uids=K
0040,0555  X/Z    AcquisitionContextSequence                         clean-structured-content=C
0040,0556  X      AcquisitionContextDescription
0040,0562  Z      IssuerOfTheSpecimenIdentifierSequence
0040,0600  X      SpecimenShortDescription                           clean-descriptors=C
0040,0602  X      SpecimenDetailedDescription                        clean-descriptors=C
0040,0610  Z      SpecimenPreparationSequence                        clean-structured-content=C
0040,06FA  X      SlideIdentifier
0040,1001  X      RequestedProcedureID
0040,1002  X      ReasonForTheRequestedProcedure                     clean-descriptors=C
0040,1004  X      PatientTransportArrangements
0040,1005  X      RequestedProcedureLocation
0040,100A  X      ReasonForRequestedProcedureCodeSequence            clean-descriptors=C
0040,1010  X      NamesOfIntendedRecipientsOfResults
0040,1011  X      IntendedRecipientsOfResultsIdentificationSequence
0040,1101  D      PersonIdentificationCodeSequence
0040,1102  X      PersonAddress
0040,1103  X      PersonTelephoneNumbers
0040,1104  X      PersonTelecomInformation
0040,1400  X      RequestedProcedureComments                         clean-descriptors=C
0040,2001  X      ReasonForTheImagingServiceRequest                  clean-descriptors=C
0040,2004  X      IssueDateOfImagingServiceRequest                   retain-full-dates=K retain-modified-dates=C
0040,2005  X      IssueTimeOfImagingServiceRequest                   retain-full-dates=K retain-modified-dates=C
0040,2008  X      OrderEnteredBy
0040,2009  X      OrderEntererLocation
0040,2010  X      OrderCallbackPhoneNumber
0040,2011  X      OrderCallbackTelecomInformation
0040,2016  Z      PlacerOrderNumberImagingServiceRequest
0040,2017  Z      FillerOrderNumberImagingServiceRequest
0040,2400  X      ImagingServiceRequestComments                      clean-descriptors=C
0040,3001  X      ConfidentialityConstraintOnPatientDataDescription
0040,4005  X      ScheduledProcedureStepStartDateTime                retain-full-dates=K retain-modified-dates=C
0040,4008  X      ScheduledProcedureStepExpirationDateTime           retain-full-dates=K retain-modified-dates=C
0040,4010  X      ScheduledProcedureStepModificationDateTime         retain-full-dates=K retain-modified-dates=C
0040,4011  X      ExpectedCompletionDateTime                         retain-full-dates=K retain-modified-dates=C
0040,4023  U      ReferencedGeneralPurposeScheduledProcedureStepTransactionUID retain-uids=K
0040,4025  X      ScheduledStationNameCodeSequence                   retain-device-identity=K
0040,4027  X      ScheduledStationGeographicLocationCodeSequence     retain-device-identity=K
0040,4028  X      PerformedStationNameCodeSequence                   retain-device-identity=K
0040,4030  X      PerformedStationGeographicLocationCodeSequence     retain-device-identity=K
0040,4034  X      ScheduledHumanPerformersSequence
0040,4035  X      ActualHumanPerformersSequence
0040,4036  X      HumanPerformerOrganization
0040,4037  X      HumanPerformerName
0040,4050  X      PerformedProcedureStepStartDateTime                retain-full-dates=K retain-modified-dates=C
0040,4051  X      PerformedProcedureStepEndDateTime                  retain-full-dates=K retain-modified-dates=C
0040,4052  X      ProcedureStepCancellationDateTime                  retain-full-dates=K retain-modified-dates=C
0040,A023  X      FindingsGroupRecordingDateTrial                    retain-full-dates=K retain-modified-dates=C
0040,A024  X      FindingsGroupRecordingTimeTrial                    retain-full-dates=K retain-modified-dates=C
0040,A027  D      VerifyingOrganization
0040,A030  D      VerificationDateTime                               retain-full-dates=K retain-modified-dates=C
0040,A032  X/D    ObservationDateTime                                retain-full-dates=K retain-modified-dates=C
0040,A033  X      ObservationStartDateTime                           retain-full-dates=K retain-modified-dates=C
0040,A034  X      "Effective Start DateTime"
0040,A035  X      "Effective Stop DateTime"
0040,A073  D      VerifyingObserverSequence
0040,A075  D      VerifyingObserverName
0040,A078  X      AuthorObserverSequence
0040,A07A  X      ParticipantSequence
0040,A07C  X      CustodialOrganizationSequence
0040,A082  Z      ParticipationDateTime                              retain-full-dates=K retain-modified-dates=C
0040,A088  Z      VerifyingObserverIdentificationCodeSequence
0040,A110  X      DateOfDocumentOrVerbalTransactionTrial             retain-full-dates=K retain-modified-dates=C
0040,A112  X      TimeOfDocumentCreationOrVerbalTransactionTrial     retain-full-dates=K retain-modified-dates=C
0040,A120  D      DateTime                                           retain-full-dates=K retain-modified-dates=C
0040,A121  D      Date                                               retain-full-dates=K retain-modified-dates=C
0040,A122  D      Time                                               retain-full-dates=K retain-modified-dates=C
0040,A123  D      PersonName
0040,A124  U      UID
0040,A13A  D      ReferencedDateTime                                 retain-full-dates=K retain-modified-dates=C
0040,A171  U      ObservationUID                                     retain-uids=K
0040,A172  U      ReferencedObservationUIDTrial                      retain-uids=K
0040,A192  X      ObservationDateTrial                               retain-full-dates=K retain-modified-dates=C
0040,A193  X      ObservationTimeTrial                               retain-full-dates=K retain-modified-dates=C
0040,A307  X      CurrentObserverTrial
0040,A352  X      VerbalSourceTrial
0040,A353  X      AddressTrial
0040,A354  X      TelephoneNumberTrial
0040,A358  X      VerbalSourceIdentifierCodeSequenceTrial
0040,A402  U      ObservationSubjectUIDTrial                         retain-uids=K
0040,A730  D      ContentSequence                                    clean-structured-content=C
0040,B020  X/D    WaveformAnnotationSequence
0040,B034  X      "Annotation DateTime"
0040,B036  X      "Segment Definition DateTime"
0040,B03B  X      "Montage Name"
0040,B03F  X      "Montage Channel Label"
0040,DB06  X      TemplateVersion                                    retain-full-dates=K retain-modified-dates=C
0040,DB07  X      TemplateLocalVersion                               retain-full-dates=K retain-modified-dates=C
0040,DB0C  U      TemplateExtensionOrganizationUID                   retain-uids=K
0040,DB0D  U      TemplateExtensionCreatorUID                        retain-uids=K
0040,E004  X      HL7DocumentEffectiveTime                           retain-full-dates=K retain-modified-dates=C
0040,E012  X      "Display URI"
0042,0011  D      EncapsulatedDocument
0044,0004  X      ApprovalStatusDateTime                             retain-full-dates=K retain-modified-dates=C
0044,000B  X      ProductExpirationDateTime                          retain-full-dates=K retain-modified-dates=C
0044,0010  X      SubstanceAdministrationDateTime                    retain-full-dates=K retain-modified-dates=C
0044,0104  D      AssertionDateTime                                  retain-full-dates=K retain-modified-dates=C
0044,0105  X      AssertionExpirationDateTime                        retain-full-dates=K retain-modified-dates=C
0050,001B  X      ContainerComponentID
0050,0020  X      DeviceDescription                                  retain-device-identity=K
0050,0021  X      LongDeviceDescription                              clean-descriptors=C
0062,0021  U      TrackingUID                                        retain-uids=K
0064,0003  U      SourceFrameOfReferenceUID                          retain-uids=K
0068,6226  D      EffectiveDateTime                                  retain-full-dates=K retain-modified-dates=C
0068,6270  D      InformationIssueDateTime                           retain-full-dates=K retain-modified-dates=C
006A,0003  D      AnnotationGroupUID                                 retain-uids=K
006A,0005  D      AnnotationGroupLabel                               clean-descriptors=C
006A,0006  X      AnnotationGroupDescription                         clean-descriptors=C
0070,0001  D      GraphicAnnotationSequence                          clean-graphics=C
0070,0006  D      UnformattedTextValue
0070,0082  X      PresentationCreationDate                           retain-full-dates=K retain-modified-dates=C
0070,0083  X      PresentationCreationTime                           retain-full-dates=K retain-modified-dates=C
0070,0084  Z/D    ContentCreatorName
0070,0086  X      ContentCreatorIdentificationCodeSequence
0070,031A  U      FiducialUID                                        retain-uids=K
0070,1101  U      PresentationDisplayCollectionUID                   retain-uids=K
0070,1102  U      PresentationSequenceCollectionUID                  retain-uids=K
0072,000A  D      HangingProtocolCreationDateTime                    retain-full-dates=K retain-modified-dates=C
0072,005E  D      SelectorAEValue                                    retain-device-identity=C
0072,005F  D      SelectorASValue                                    retain-patient-characteristics=K
0072,0061  D      SelectorDAValue                                    retain-full-dates=K retain-modified-dates=C
0072,0063  D      SelectorDTValue                                    retain-full-dates=K retain-modified-dates=C
0072,0065  D      SelectorOBValue
0072,0066  D      SelectorLOValue                                    clean-descriptors=C
0072,0068  D      SelectorLTValue                                    clean-descriptors=C
0072,006A  D      SelectorPNValue
0072,006B  D      SelectorTMValue                                    retain-full-dates=K retain-modified-dates=C
0072,006C  D      SelectorSHValue                                    clean-descriptors=C
0072,006D  D      SelectorUNValue
0072,006E  D      SelectorSTValue                                    clean-descriptors=C
0072,0070  D      SelectorUTValue                                    clean-descriptors=C
0072,0071  D      SelectorURValue
0074,1234  X      ReceivingAE                                        retain-device-identity=C
0074,1236  X      RequestingAE                                       retain-device-identity=C
0088,0140  U      StorageMediaFileSetUID                             retain-uids=K
0088,0200  X      IconImageSequence
0088,0904  X      TopicTitle
0088,0906  X      TopicSubject
0088,0910  X      TopicAuthor
0088,0912  X      TopicKeywords
0100,0420  X      SOPAuthorizationDateTime                           retain-full-dates=K retain-modified-dates=C
0400,0100  U      DigitalSignatureUID
0400,0105  D      DigitalSignatureDateTime                           retain-full-dates=K retain-modified-dates=C
0400,0115  D      CertificateOfSigner
0400,0310  X      CertifiedTimestamp                                 retain-full-dates=K retain-modified-dates=C
0400,0402  X      ReferencedDigitalSignatureSequence
0400,0403  X      ReferencedSOPInstanceMACSequence
0400,0404  X      MAC
0400,0550  X      ModifiedAttributesSequence
0400,0551  X      NonconformingModifiedAttributesSequence
0400,0552  X      NonconformingDataElementValue
0400,0561  X      OriginalAttributesSequence
0400,0562  D      AttributeModificationDateTime                      retain-full-dates=K retain-modified-dates=C
0400,0563  D      ModifyingSystem                                    retain-device-identity=K
0400,0564  Z      SourceOfPreviousValues                             retain-institution-identity=K
0400,0565  D      ReasonForTheAttributeModification                  clean-descriptors=C
0400,0600  X      InstanceOriginStatus
2030,0020  X      TextString
2100,0040  X      CreationDate                                       retain-full-dates=K retain-modified-dates=C
2100,0050  X      CreationTime                                       retain-full-dates=K retain-modified-dates=C
2100,0070  X      Originator                                         retain-device-identity=C
2100,0140  D      DestinationAE                                      retain-device-identity=C
2200,0002  X/Z    LabelText                                          clean-descriptors=C
2200,0005  X/Z    BarcodeValue
3002,0121  X      PositionAcquisitionTemplateName                    clean-descriptors=C
3002,0123  X      PositionAcquisitionTemplateDescription             clean-descriptors=C
3006,0002  D      StructureSetLabel                                  clean-descriptors=C
3006,0004  X      StructureSetName                                   clean-descriptors=C
3006,0006  X      StructureSetDescription                            clean-descriptors=C
3006,0008  Z      StructureSetDate                                   retain-full-dates=K retain-modified-dates=C
3006,0009  Z      StructureSetTime                                   retain-full-dates=K retain-modified-dates=C
3006,0024  U      ReferencedFrameOfReferenceUID                      retain-uids=K
3006,0026  Z      ROIName                                            clean-descriptors=C
3006,0028  X      ROIDescription                                     clean-descriptors=C
3006,002D  X      ROIDateTime                                        retain-full-dates=K retain-modified-dates=C
3006,002E  X      ROIObservationDateTime                             retain-full-dates=K retain-modified-dates=C
3006,0038  X      ROIGenerationDescription                           clean-descriptors=C
3006,004D  X      ROICreatorSequence
3006,004E  X      ROIInterpreterSequence
3006,0085  X      ROIObservationLabel                                clean-descriptors=C
3006,0088  X      ROIObservationDescription                          clean-descriptors=C
3006,00A6  Z      ROIInterpreter
3006,00C2  U      RelatedFrameOfReferenceUID                         retain-uids=K
3008,0024  D      TreatmentControlPointDate                          retain-full-dates=K retain-modified-dates=C
3008,0025  D      TreatmentControlPointTime                          retain-full-dates=K retain-modified-dates=C
3008,0054  X/D    FirstTreatmentDate                                 retain-full-dates=K retain-modified-dates=C
3008,0056  X/D    MostRecentTreatmentDate                            retain-full-dates=K retain-modified-dates=C
3008,0105  X/Z    SourceSerialNumber                                 retain-device-identity=K
3008,0162  D      SafePositionExitDate                               retain-full-dates=K retain-modified-dates=C
3008,0164  D      SafePositionExitTime                               retain-full-dates=K retain-modified-dates=C
3008,0166  D      SafePositionReturnDate                             retain-full-dates=K retain-modified-dates=C
3008,0168  D      SafePositionReturnTime                             retain-full-dates=K retain-modified-dates=C
3008,0250  X/D    TreatmentDate                                      retain-full-dates=K retain-modified-dates=C
3008,0251  X/D    TreatmentTime                                      retain-full-dates=K retain-modified-dates=C
300A,0002  D      RTPlanLabel                                        clean-descriptors=C
300A,0003  X      RTPlanName                                         clean-descriptors=C
300A,0004  X      RTPlanDescription                                  clean-descriptors=C
300A,0006  X/D    RTPlanDate                                         retain-full-dates=K retain-modified-dates=C
300A,0007  X/D    RTPlanTime                                         retain-full-dates=K retain-modified-dates=C
300A,000B  X      TreatmentSites                                     clean-descriptors=C
300A,000E  X      PrescriptionDescription                            clean-descriptors=C
300A,0013  U      DoseReferenceUID                                   retain-uids=K
300A,0016  X      DoseReferenceDescription                           clean-descriptors=C
300A,0054  U      TableTopPositionAlignmentUID                       retain-uids=K
300A,0072  X      FractionGroupDescription                           clean-descriptors=C
300A,0083  U      ReferencedDoseReferenceUID                         retain-uids=K
300A,00B2  X/Z    TreatmentMachineName                               retain-device-identity=K
300A,00C3  X      BeamDescription                                    clean-descriptors=C
300A,00DD  X      BolusDescription                                   clean-descriptors=C
300A,0196  X      FixationDeviceDescription                          clean-descriptors=C
300A,01A6  X      ShieldingDeviceDescription                         clean-descriptors=C
300A,01B2  X      SetupTechniqueDescription                          clean-descriptors=C
300A,0216  X      SourceManufacturer                                 retain-device-identity=K
300A,022C  D      SourceStrengthReferenceDate                        retain-full-dates=K retain-modified-dates=C
300A,022E  D      SourceStrengthReferenceTime                        retain-full-dates=K retain-modified-dates=C
300A,02EB  X      CompensatorDescription                             clean-descriptors=C
300A,0608  D      TreatmentPositionGroupLabel                        clean-descriptors=C
300A,0609  U      TreatmentPositionGroupUID                          retain-uids=K
300A,0611  Z      RTAccessoryHolderSlotID
300A,0615  Z      RTAccessoryDeviceSlotID
300A,0619  D      RadiationDoseIdentificationLabel                   clean-descriptors=C
300A,0623  D      RadiationDoseInVivoMeasurementLabel                clean-descriptors=C
300A,062A  D      RTToleranceSetLabel                                clean-descriptors=C
300A,0650  U      PatientSetupUID                                    retain-uids=K
300A,0676  X      EquipmentFrameOfReferenceDescription               clean-descriptors=C
300A,067C  D      RadiationGenerationModeLabel                       clean-descriptors=C
300A,067D  Z      RadiationGenerationModeDescription                 clean-descriptors=C
300A,0700  U      TreatmentSessionUID                                retain-uids=K
300A,0734  D      TreatmentToleranceViolationDescription             clean-descriptors=C
300A,0736  D      TreatmentToleranceViolationDateTime                retain-full-dates=K retain-modified-dates=C
300A,073A  D      RecordedRTControlPointDateTime                     retain-full-dates=K retain-modified-dates=C
300A,0741  D      InterlockDateTime                                  retain-full-dates=K retain-modified-dates=C
300A,0742  D      InterlockDescription                               clean-descriptors=C
300A,0760  D      OverrideDateTime                                   retain-full-dates=K retain-modified-dates=C
300A,0783  D      InterlockOriginDescription                         clean-descriptors=C
300A,0785  U      ReferencedTreatmentPositionGroupUID                retain-uids=K
300A,078E  X      PatientTreatmentPreparationProcedureParameterDescription clean-descriptors=C
300A,0792  X      PatientTreatmentPreparationMethodDescription       clean-descriptors=C
300A,0794  X      PatientSetupPhotoDescription                       clean-descriptors=C
300A,079A  X      DisplacementReferenceLabel                         clean-descriptors=C
300C,0113  X      ReasonForOmissionDescription                       clean-descriptors=C
300C,0127  D      BeamHoldTransitionDateTime                         retain-device-identity=K retain-full-dates=K retain-modified-dates=C
300E,0004  Z      ReviewDate                                         retain-full-dates=K retain-modified-dates=C
300E,0005  Z      ReviewTime                                         retain-full-dates=K retain-modified-dates=C
300E,0008  X/Z    ReviewerName
3010,0006  U      ConceptualVolumeUID                                retain-uids=K
3010,000B  U      ReferencedConceptualVolumeUID                      retain-uids=K
3010,000F  Z      ConceptualVolumeCombinationDescription             clean-descriptors=C
3010,0013  U      ConstituentConceptualVolumeUID                     retain-uids=K
3010,0015  U      SourceConceptualVolumeUID                          retain-uids=K
3010,0017  Z      ConceptualVolumeDescription                        clean-descriptors=C
3010,001B  Z      DeviceAlternateIdentifier
3010,002D  D      DeviceLabel                                        retain-device-identity=K
3010,0031  U      ReferencedFiducialsUID                             retain-uids=K
3010,0033  D      UserContentLabel                                   clean-descriptors=C
3010,0034  D      UserContentLongLabel                               clean-descriptors=C
3010,0035  D      EntityLabel                                        clean-descriptors=C
3010,0036  X      EntityName                                         clean-descriptors=C
3010,0037  X      EntityDescription                                  clean-descriptors=C
3010,0038  D      EntityLongLabel                                    clean-descriptors=C
3010,003B  U      RTTreatmentPhaseUID                                retain-uids=K
3010,0043  Z      ManufacturerDeviceIdentifier                       retain-device-identity=K
3010,004C  X/D    IntendedPhaseStartDate                             retain-full-dates=K retain-modified-dates=C
3010,004D  X/D    IntendedPhaseEndDate                               retain-full-dates=K retain-modified-dates=C
3010,0054  D      RTPrescriptionLabel                                clean-descriptors=C
3010,0056  X/D    RTTreatmentApproachLabel                           clean-descriptors=C
3010,005A  Z      RTPhysicianIntentNarrative                         clean-descriptors=C
3010,005C  Z      ReasonForSuperseding                               clean-descriptors=C
3010,0061  X      PriorTreatmentDoseDescription                      clean-descriptors=C
3010,006E  U      DosimetricObjectiveUID                             retain-uids=K
3010,006F  U      ReferencedDosimetricObjectiveUID                   retain-uids=K
3010,0077  X/D    TreatmentSite                                      clean-descriptors=C
3010,007A  Z      TreatmentTechniqueNotes                            clean-descriptors=C
3010,007B  Z      PrescriptionNotes                                  clean-descriptors=C
3010,007F  Z      FractionationNotes                                 clean-descriptors=C
3010,0081  Z      PrescriptionNotesSequence                          clean-descriptors=C
3010,0085  X      IntendedFractionStartTime                          retain-full-dates=K retain-modified-dates=C
4000,0010  X      Arbitrary
4000,4000  X      TextComments
4008,0040  X      ResultsID
4008,0042  X      ResultsIDIssuer
4008,0100  X      InterpretationRecordedDate                         retain-full-dates=K retain-modified-dates=C
4008,0101  X      InterpretationRecordedTime                         retain-full-dates=K retain-modified-dates=C
4008,0102  X      InterpretationRecorder
4008,0108  X      InterpretationTranscriptionDate                    retain-full-dates=K retain-modified-dates=C
4008,0109  X      InterpretationTranscriptionTime                    retain-full-dates=K retain-modified-dates=C
4008,010A  X      InterpretationTranscriber
4008,010B  X      InterpretationText                                 clean-descriptors=C
4008,010C  X      InterpretationAuthor
4008,0111  X      InterpretationApproverSequence
4008,0112  X      InterpretationApprovalDate                         retain-full-dates=K retain-modified-dates=C
4008,0113  X      InterpretationApprovalTime                         retain-full-dates=K retain-modified-dates=C
4008,0114  X      PhysicianApprovingInterpretation
4008,0115  X      InterpretationDiagnosisDescription                 clean-descriptors=C
4008,0118  X      ResultsDistributionListSequence
4008,0119  X      DistributionName
4008,011A  X      DistributionAddress
4008,0200  X      InterpretationID
4008,0202  X      InterpretationIDIssuer
4008,0300  X      Impressions                                        clean-descriptors=C
4008,4000  X      ResultsComments                                    clean-descriptors=C
FFFA,FFFA  X      DigitalSignaturesSequence
FFFC,FFFC  X      DataSetTrailingPadding
50xx,xxxx  X      "Curve Data"                                       clean-graphics=C
60xx,3000  X      OverlayData                                        clean-graphics=C
60xx,4000  X      OverlayComments                                    clean-graphics=C
private    X      "Private Attributes"                               retain-safe-private=C
"""


@attrs.frozen
class Row:
    """One row of Table E.1-1."""

    tag: int | None  # None for the patterns (repeating groups, private attributes)
    pattern: str  # "gggg,eeee" as in the table, "50xx,xxxx", or "private"
    code: str
    keyword: str  # "" when pydicom's dictionary does not know the attribute
    name: str
    options: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        where = f"({self.pattern.upper()})" if self.pattern != "private" else "private"
        return f"{where} {self.keyword or self.name}"

    @property
    def vr(self) -> str:
        if self.tag is None:
            return "UN" if self.pattern == "private" else ""
        from pydicom.datadict import dictionary_has_tag, dictionary_VR

        return dictionary_VR(self.tag).split(" or ")[0] if dictionary_has_tag(self.tag) else ""

    def option_code(self, name: str) -> str | None:
        for k, v in self.options:
            if k == name:
                return v
        return None

    def required(self, options: Iterable[str] = ()) -> str:
        """The code that applies with these options (an option's K or C overrides the profile)."""
        codes = [c for c in (self.option_code(o) for o in options) if c]
        if "K" in codes:
            return "K"
        if codes:
            return codes[0]
        return self.code


_ROW_RE = re.compile(r'(\S+)\s+(\S+)\s+("([^"]*)"|\S+)\s*(.*)')


@functools.lru_cache(maxsize=1)
def rows() -> tuple[Row, ...]:
    """The table, parsed once."""
    from pydicom.datadict import dictionary_description, dictionary_has_tag

    out = []
    for line in TABLE.strip().splitlines():
        m = _ROW_RE.fullmatch(line.strip())
        assert m, line
        pattern, code, word, quoted, rest = m.groups()
        opts = tuple(tuple(p.split("=", 1)) for p in rest.split())
        tag = None
        if re.fullmatch(r"[0-9A-F]{4},[0-9A-F]{4}", pattern):
            tag = int(pattern.replace(",", ""), 16)
        keyword = "" if quoted is not None else word
        name = quoted if quoted is not None else (dictionary_description(tag) if tag is not None and dictionary_has_tag(tag) else word)
        out.append(Row(tag, pattern, code, keyword, name, opts))  # type: ignore[arg-type]
    return tuple(out)


@functools.lru_cache(maxsize=1)
def profile_tags() -> frozenset[int]:
    """The tags of the table (some are newer than pydicom's data dictionary)."""
    return frozenset(r.tag for r in rows() if r.tag is not None)


# --------------------------------------------------------------------------- the bundled recipe's choices

#: Combined codes: the action the bundled recipe takes. The rule: toward a
#: dummy value where the attribute is Type 1 in common IODs, toward a
#: zero-length value where it is Type 2, removal where it is Type 3 everywhere.
_RESOLVED = {"X/Z": "Z", "X/D": "D", "Z/D": "D", "X/Z/D": "D", "X/Z/U*": "-"}
_OVERRIDES = {
    # Z/D: Type 2 where it appears
    "ContentCreatorName": "Z",
    "ContrastBolusAgent": "Z",
    # Z/D: a keyed pseudonym keeps one patient's files together
    "PatientID": "P",
    # X/D and X/Z/D: Type 3 in the common IODs
    "AcquisitionDeviceProcessingDescription": "X",
    "DateOfLastDetectorCalibration": "X",
    "TimeOfLastDetectorCalibration": "X",
    "DetectorID": "X",
    "InstanceCreationDate": "X",
    "InstanceCreationTime": "X",
    "InstitutionCodeSequence": "X",
    "OperatorIdentificationSequence": "X",
    "WaveformAnnotationSequence": "X",
    # X/Z/D: Type 2 in some IODs
    "OperatorsName": "Z",
    # X/Z: a Type 3 sequence of 1-n items (General Study): empty, it makes the object invalid
    "ReferencedStudySequence": "X",
    # X: Type 2C in the Patient module (required, possibly empty, for an animal): emptied
    "ResponsiblePerson": "Z",
    "ResponsibleOrganization": "Z",
}
#: X rows whose attribute is Type 2C: an empty element (Z) is what keeps an object
#: that needs it valid, and holds no more information than a removed one.
EMPTY_FOR_X = frozenset(("ResponsiblePerson", "ResponsibleOrganization"))


def resolution(row: Row) -> str:
    """What the bundled recipe does with a row: X, Z, D, U, P (keyed pseudonym, a D),
    or "-" (no line: a sequence kept, its contents handled by their own rows)."""
    if row.keyword in _OVERRIDES:
        return _OVERRIDES[row.keyword]
    return _RESOLVED.get(row.code, row.code)


# --------------------------------------------------------------------------- coverage

#: What each code allows: the effects of a recipe that satisfy it.
ALLOWED: dict[str, frozenset[str]] = {
    "D": frozenset("D"),
    "Z": frozenset("ZD"),
    "X": frozenset("X"),
    "K": frozenset("K"),
    "C": frozenset("C"),
    "U": frozenset("U"),
    "X/Z": frozenset("XZ"),
    "X/D": frozenset("XD"),
    "Z/D": frozenset("ZD"),
    "X/Z/D": frozenset("XZD"),
    "X/Z/U*": frozenset("XZUK"),
}
STATUSES = ("contradicts", "gap", "differs", "stricter", "ok")
_EFFECT_WORDS = {
    "X": "removes it",
    "Z": "empties it",
    "D": "replaces it with a value that is not the original",
    "U": "replaces the UID with a consistent keyed one",
    "C": "keeps it modified (shifted or cleaned)",
    "K": "keeps it",
}


@attrs.frozen
class Handling:
    """How the recipes treat one row."""

    row: Row
    required: str
    status: str  # one of STATUSES
    effect: str  # X Z D U C K, or "" when no line handles the row
    line: tuple[str, int, int, str] | None  # file, line, column, text of the deciding line
    note: str = ""

    def to_dict(self) -> dict:
        r = self.row
        return {
            "tag": f"({r.pattern.upper()})" if r.pattern != "private" else "private",
            "keyword": r.keyword,
            "name": r.name,
            "code": r.code,
            "required": self.required,
            "status": self.status,
            "effect": self.effect,
            "line": None if self.line is None else {"file": self.line[0], "line": self.line[1], "column": self.line[2], "text": self.line[3]},
            "note": self.note,
        }


@attrs.frozen
class Report:
    recipes: tuple[str, ...]
    options: tuple[str, ...]
    handlings: tuple[Handling, ...]

    def count(self, status: str) -> int:
        return sum(1 for h in self.handlings if h.status == status)

    @property
    def failed(self) -> bool:
        """Gaps or contradictions (``--strict`` exits 1 on these)."""
        return any(h.status in ("gap", "contradicts") for h in self.handlings)


@attrs.frozen
class _Line:
    file: str
    line: nodes.ActionLine
    selector: Any  # a static runtime selector, or None when it depends on the data
    creator_keep: bool  # KEEP of private elements by creator (safe private)

    @property
    def where(self) -> tuple[str, int, int, str]:
        return (self.file, self.line.span.line, self.line.span.column, _line_text(self.line))


def _line_text(line: nodes.ActionLine) -> str:
    parts = [line.action, line.field.text]
    v = line.value
    if v is not None:
        parts.append(v.raw if isinstance(v, nodes.Literal) and v.raw else v.text)
    return " ".join(parts)


def _selector(line: nodes.ActionLine, recipe: nodes.Recipe):
    from .compiler import selector_for
    from .runtime import selectors

    field = line.field
    if isinstance(field, (nodes.UidPath, nodes.NestedName)):
        return None  # one place, or inside one sequence only: not the whole row
    if isinstance(field, nodes.GroupRef):
        if field.kind == "values":
            return None
        members = []
        for g in recipe.groups("fields").get(field.name, ()):
            if isinstance(g.field, (nodes.UidPath, nodes.NestedName, nodes.GroupRef)):
                continue
            try:
                members.append(selector_for(g.field))
            except re.error:
                continue
        return _AnyOf(tuple(members)) if members else None
    try:
        sel = selector_for(field)
    except re.error:
        return None
    if isinstance(sel, selectors.UidPath) or not getattr(sel, "static", False):
        return None
    return sel


@attrs.frozen
class _AnyOf:
    members: tuple

    def matches(self, info) -> bool:
        return any(m.matches(info) for m in self.members)


def _lines(name: str, recipe: nodes.Recipe) -> list[_Line]:
    out = []
    for line in recipe.header:
        sel = _selector(line, recipe)
        creator_keep = line.action == "KEEP" and (
            isinstance(line.field, nodes.PrivateTag)
            or (isinstance(line.field, nodes.Expander) and line.field.kind == "select" and line.field.argument.lower().startswith("creator:"))
        )
        out.append(_Line(name, line, sel, creator_keep))
    return out


def _info(row: Row):
    from .runtime.universe import FieldInfo

    if row.pattern == "private":
        return FieldInfo(0x00091010, "", "deidlang profile probe", "LO")
    if row.tag is None:
        tag = {"50xx,xxxx": 0x50003000, "60xx,3000": 0x60003000, "60xx,4000": 0x60004000}[row.pattern]
        return FieldInfo(tag, "", None, None)
    return FieldInfo(row.tag, row.keyword, None, row.vr or None)


def _value_effect(v: nodes.Value | None, vr: str) -> tuple[str, str]:
    """(effect, note) of a value that replaces or sets an element."""
    if isinstance(v, nodes.DeidFunc):
        n = v.name
        if n == "hashuid":
            return "U", ""
        if n == "pydicom_uuid":
            stable = all(not (a.name == "stable_remapping" and a.value == "false") for a in v.args)
            if stable:
                return "U", "unkeyed hash: deid_func:pydicom_uuid can be recomputed from the original UID (use deid_func:hashuid)"
            return ("R", "a new random UID on every file: references between files break") if vr == "UI" else ("D", "")
        if n in ("dicom_uuid", "basic_uuid", "suffix_uuid"):
            return ("R", "a new random value on every file: references between files break") if vr == "UI" else ("D", "")
        if n in ("dateshift", "jitter", "scrub"):
            return "C", ""
        return "D", ""  # dummy, hashid, code, append
    if isinstance(v, nodes.Literal):
        return ("L", "one fixed UID for every file: distinct objects collide") if vr == "UI" else ("D", "")
    return "D", ""  # var: / func: (a value you supply)


def _effect(line: nodes.ActionLine, vr: str) -> tuple[str, str]:
    action = line.action
    if action == "REMOVE":
        return ("X", "") if line.value is None else ("?", "")
    if action == "BLANK":
        return "Z", ""
    if action == "JITTER":
        return "C", ""
    if action == "KEEP":
        return ("K", "") if not isinstance(line.value, nodes.DeidFunc) else _value_effect(line.value, vr)
    return _value_effect(line.value, vr)


def _status(required: str, effect: str, row: Row) -> tuple[str, str]:
    allowed = ALLOWED.get(required, frozenset())
    if effect in allowed:
        return "ok", ""
    if required == "X" and effect == "Z" and row.keyword in EMPTY_FOR_X:
        return "ok", "emptied: Type 2C (present, possibly empty, for an animal); nothing of the original stays"
    if required == "U" or (required.endswith("U*") and effect in ("L", "R")):
        if effect in ("K", "C"):
            return "contradicts", "keeps the original UID"
        return "contradicts", "UIDs must be replaced by consistent new UIDs, not " + {"X": "removed", "Z": "emptied", "D": "dummy values", "L": "a fixed value", "R": "random values"}.get(effect, effect)
    if effect in ("L", "R"):
        effect = "D"
        if effect in allowed:
            return "ok", ""
    if effect in ("K", "C") and required not in ("K", "C"):
        return "contradicts", "keeps information the profile does not allow here" + (" (no option selected allows it)" if row.options else "")
    if effect == "K" and required == "C":
        return "contradicts", "keeps it as it is; the option asks for a cleaned or modified value"
    if required in ("K", "C"):
        return "stricter", "the selected option allows keeping it"
    if effect == "X" and "X" not in allowed:
        return "differs", "removes it; the profile keeps the element (empty or dummy) so that the object stays valid"
    return "differs", "no original information stays, but not the action the profile lists"


def _handle(row: Row, chain: Sequence[list[_Line]], opts: tuple[str, ...]) -> Handling:
    required = row.required(opts)
    info = _info(row)
    vr = row.vr
    decided: tuple[str, _Line] | None = None
    notes: list[str] = []
    gone = False
    private_kept: _Line | None = None
    for lines in chain:
        if decided is not None and decided[0] in ("K",) and decided[1] is not None and decided[1].line.action == "KEEP":
            break  # an earlier recipe KEEPs it: later recipes do not touch it
        selecting = [x for x in lines if x.selector is not None and x.selector.matches(info)]
        if row.pattern == "private":
            private_kept = private_kept or next((x for x in lines if x.creator_keep), None)
        keeps = [x for x in selecting if x.line.action == "KEEP"]
        if keeps:
            eff, note = _effect(keeps[0].line, vr)
            decided = (eff, keeps[0])
            if note:
                notes.append(note)
            if decided[0] != "K":
                decided = (eff, keeps[0])
            for x in selecting:
                if x.line.action == "ADD":
                    decided = (_value_effect(x.line.value, vr)[0], x)
            break
        spared = any(x.line.action in ("REPLACE", "JITTER") and not isinstance(x.line.field, nodes.GroupRef) for x in selecting)
        for x in selecting:
            eff, note = _effect(x.line, vr)
            if eff == "?":
                notes.append(f"{x.file}:{x.line.span.line}: removes it only when its value matches")
                continue
            if x.line.action == "REMOVE" and spared:
                continue
            if gone and x.line.action != "ADD":
                continue
            if note:
                notes.append(note)
            decided = (eff, x)
            gone = eff == "X"
    if row.pattern == "private" and private_kept is not None and (decided is None or decided[0] == "X"):
        decided = ("C", private_kept)
        notes.append("private elements of the listed creators are kept")
    if decided is None:
        if required == "K":
            return Handling(row, required, "ok", "K", None, "kept: no line needed")
        if required == "X/Z/U*":
            return Handling(row, required, "ok", "K", None, "kept; the UIDs inside follow their own rows")
        note = "no line handles it: the element stays as it is"
        if row.pattern == "private":
            note += " (deidc run removes private elements unless --keep-private)"
        return Handling(row, required, "gap", "", None, note)
    effect, line = decided
    status, why = _status(required, effect, row)
    shown = {"L": "D", "R": "D"}.get(effect, effect)
    return Handling(row, required, status, shown, line.where, "; ".join(n for n in [why, *notes] if n))


def coverage(recipes: Sequence[tuple[str, nodes.Recipe]], options: Iterable[str] = ()) -> Report:
    """How the recipes (applied in this order) handle every row, with these options."""
    opts = tuple(options)
    for name in opts:
        option(name)  # KeyError for an unknown option
    chain = [_lines(name, recipe) for name, recipe in recipes]
    handlings = tuple(_handle(row, chain, opts) for row in rows())
    return Report(tuple(name for name, _ in recipes), opts, handlings)


# --------------------------------------------------------------------------- output


def render_json(report: Report) -> str:
    import json

    data = {
        "profile": {"code": PROFILE[0], "meaning": PROFILE[1], "edition": EDITION},
        "options": [{"name": o, "code": option(o).code, "meaning": option(o).meaning} for o in report.options],
        "recipes": list(report.recipes),
        "summary": {s: report.count(s) for s in STATUSES} | {"rows": len(report.handlings)},
        "rows": [h.to_dict() for h in report.handlings],
    }
    return json.dumps(data, indent=2) + "\n"


def render_text(report: Report, *, all_rows: bool = False) -> str:
    head = [
        f"profile: {PROFILE[1]} (DICOM PS3.15 {EDITION} Table E.1-1, {len(report.handlings)} rows)",
        "options: " + (", ".join(f"{o} ({option(o).code})" for o in report.options) or "none"),
        "recipes: " + ", ".join(report.recipes) + (" (applied in this order)" if len(report.recipes) > 1 else ""),
        "",
    ]
    out = list(head)
    shown = STATUSES if all_rows else ("contradicts", "gap")
    width = min(max((len(h.row.label) for h in report.handlings), default=20), 44)
    for status in shown:
        group = [h for h in report.handlings if h.status == status]
        if not group:
            continue
        out.append(f"{status} ({len(group)}):")
        for h in group:
            if h.line is None:
                out.append(f"  {h.row.label:<{width}}  {h.required:<6} {h.note}")
                continue
            out.append(f"  {h.row.label:<{width}}  {h.required:<6} {h.line[0]}:{h.line[1]}: {h.line[3]}")
            if h.note:
                out.append(f"  {'':<{width}}  {'':<6} ({h.note})")
        out.append("")
    summary = ", ".join(f"{report.count(s)} {s}" for s in STATUSES)
    out.append(f"{len(report.handlings)} rows: {summary}")
    if not all_rows and any(report.count(s) for s in ("differs", "stricter", "ok")):
        out.append("(--all lists every row with the line that handles it)")
    return "\n".join(out) + "\n"
