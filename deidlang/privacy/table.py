"""PS3.15 Annex E Table E.1-1 as text, one row per attribute: the data that
:mod:`.profile` reads (:func:`~.profile.rows`). Written out by this project from the
standard (edition in :data:`deidlang.privacy.profile.EDITION`)."""

__all__ = ["TABLE"]

#: Table E.1-1. Columns: tag (or pattern), Basic Profile code, keyword (the
#: element's name in quotes when pydicom's dictionary has no keyword for it),
#: then ``option=code`` for every option column that lists the attribute.
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
