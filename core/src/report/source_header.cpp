#include "report/source_header.hpp"

#include <array>
#include <stdexcept>

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"

namespace modic::core::report {
namespace {

// Patient Module, Patient Study Module and General Study Module attributes (PS3.3 C.7.1.1,
// C.7.2.2, C.7.2.1) that a receiving system matches the SR to its study by.
const std::array<DcmTagKey, 38> kPatientAndStudyTags = {
    // Patient
    DCM_PatientName, DCM_PatientID, DCM_IssuerOfPatientID, DCM_IssuerOfPatientIDQualifiersSequence,
    DCM_TypeOfPatientID, DCM_PatientBirthDate, DCM_PatientBirthTime, DCM_PatientSex,
    DCM_OtherPatientIDsSequence, DCM_OtherPatientNames, DCM_EthnicGroup, DCM_PatientComments,
    DCM_PatientSpeciesDescription, DCM_PatientBreedDescription, DCM_ResponsiblePerson,
    DCM_ResponsibleOrganization, DCM_PatientIdentityRemoved, DCM_DeidentificationMethod,
    DCM_DeidentificationMethodCodeSequence,
    // Patient Study
    DCM_AdmittingDiagnosesDescription, DCM_PatientAge, DCM_PatientSize, DCM_PatientWeight,
    DCM_Occupation, DCM_AdditionalPatientHistory,
    // General Study
    DCM_StudyInstanceUID, DCM_StudyDate, DCM_StudyTime, DCM_ReferringPhysicianName,
    DCM_ReferringPhysicianIdentificationSequence, DCM_StudyID, DCM_AccessionNumber,
    DCM_IssuerOfAccessionNumberSequence, DCM_StudyDescription, DCM_PhysiciansOfRecord,
    DCM_NameOfPhysiciansReadingStudy, DCM_ProcedureCodeSequence, DCM_ReferencedStudySequence,
};

}  // namespace

std::unique_ptr<DcmDataset> read_header(const std::filesystem::path& file) {
    DcmFileFormat format;
    // Values longer than 4 KiB (the pixel data) stay on disk: only the header is needed.
    const OFCondition status = format.loadFile(file.c_str(), EXS_Unknown, EGL_noChange, 4096);
    if (status.bad())
        throw std::runtime_error("cannot read DICOM header of " + file.string() + ": " + status.text());
    return std::unique_ptr<DcmDataset>(format.getAndRemoveDataset());
}

void copy_patient_and_study(DcmItem& source, DcmItem& target) {
    for (const auto& tag : kPatientAndStudyTags) {
        if (!source.tagExists(tag)) continue;
        const OFCondition status = source.findAndInsertCopyOfElement(tag, &target, OFTrue);
        if (status.bad())
            throw std::runtime_error("cannot copy " + std::string(DcmTag(tag).getTagName()) +
                                     " into the SR: " + status.text());
    }
    if (source.tagExists(DCM_SpecificCharacterSet))
        source.findAndInsertCopyOfElement(DCM_SpecificCharacterSet, &target, OFTrue);
    else
        target.findAndDeleteElement(DCM_SpecificCharacterSet);
}

}  // namespace modic::core::report
