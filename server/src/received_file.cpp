#include "received_file.hpp"

#include "modic/storage/uid.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <fmt/core.h>


namespace modic::server {
namespace {

std::string string_of(DcmItem& item, const DcmTagKey& tag) {
    OFString value;
    if (item.findAndGetOFStringArray(tag, value).bad()) return {};
    return value.c_str();
}

FileCheck refusal(std::uint16_t status, std::string reason) {
    FileCheck check;
    check.status = status;
    check.reason = std::move(reason);
    return check;
}

}  // namespace

bool is_valid_uid(const std::string& uid) { return !storage::uid_problem(uid).has_value(); }

FileCheck check_received_file(const std::filesystem::path& file,
                              const std::string& affected_sop_class_uid,
                              const std::string& affected_sop_instance_uid) {
    DcmFileFormat format;
    // Values longer than this stay on disk: the parser still walks every element and refuses one
    // longer than the bytes left (a truncated dataset), without copying the pixel data.
    constexpr Uint32 kLargestValueLoaded = 4096;
    OFCondition loaded = format.loadFile(file.c_str(), EXS_Unknown, EGL_noChange, kLargestValueLoaded);
    if (loaded.bad())
        return refusal(dimse_status::kCannotUnderstand,
                       fmt::format("dataset cannot be parsed: {}", loaded.text()));
    DcmDataset& dataset = *format.getDataset();

    storage::IncomingInstance instance;
    instance.sop_class_uid = string_of(dataset, DCM_SOPClassUID);
    instance.sop_instance_uid = string_of(dataset, DCM_SOPInstanceUID);
    instance.study_uid = string_of(dataset, DCM_StudyInstanceUID);
    instance.series_uid = string_of(dataset, DCM_SeriesInstanceUID);
    instance.patient_id = string_of(dataset, DCM_PatientID);
    instance.transfer_syntax_uid = DcmXfer(dataset.getOriginalXfer()).getXferID();
    instance.modality = string_of(dataset, DCM_Modality);
    instance.body_part = string_of(dataset, DCM_BodyPartExamined);
    instance.study_description = string_of(dataset, DCM_StudyDescription);
    instance.series_description = string_of(dataset, DCM_SeriesDescription);

    const std::pair<const char*, const std::string*> uids[] = {
        {"SOPClassUID", &instance.sop_class_uid},
        {"SOPInstanceUID", &instance.sop_instance_uid},
        {"StudyInstanceUID", &instance.study_uid},
        {"SeriesInstanceUID", &instance.series_uid},
    };
    for (const auto& [name, value] : uids) {
        if (value->empty())
            return refusal(dimse_status::kCannotUnderstand, fmt::format("{} missing", name));
        if (!is_valid_uid(*value))
            return refusal(dimse_status::kCannotUnderstand,
                           fmt::format("{} is not a valid UID", name));
    }
    if (instance.sop_class_uid != affected_sop_class_uid)
        return refusal(dimse_status::kDataSetDoesNotMatchSopClass,
                       fmt::format("dataset SOP Class {} differs from the request's {}",
                                   instance.sop_class_uid, affected_sop_class_uid));
    if (instance.sop_instance_uid != affected_sop_instance_uid)
        return refusal(dimse_status::kCannotUnderstand,
                       fmt::format("dataset SOP Instance {} differs from the request's {}",
                                   instance.sop_instance_uid, affected_sop_instance_uid));
    FileCheck check;
    check.instance = std::move(instance);
    return check;
}

}  // namespace modic::server
