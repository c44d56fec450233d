#include "dicom/instance_header.hpp"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <fmt/core.h>

#include <cmath>

namespace modic::core {
namespace {

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.pop_back();
    while (!text.empty() && text.front() == ' ') text.erase(text.begin());
    return text;
}

std::string string_of(DcmItem& item, const DcmTagKey& tag) {
    OFString value;
    if (item.findAndGetOFStringArray(tag, value).bad()) return {};
    // Pad spaces and NULs are not part of the value.
    return trimmed(value.c_str());
}

// The values of a multi-valued string attribute, blanks dropped.
std::vector<std::string> values_of(DcmItem& item, const DcmTagKey& tag) {
    std::vector<std::string> values;
    const std::string text = string_of(item, tag);
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\\', start);
        if (end == std::string::npos) end = text.size();
        auto value = trimmed(text.substr(start, end - start));
        if (!value.empty()) values.push_back(std::move(value));
        start = end + 1;
    }
    return values;
}

std::optional<double> number_of(DcmItem& item, const DcmTagKey& tag, unsigned long position = 0) {
    Float64 value = 0;
    if (item.findAndGetFloat64(tag, value, position).bad() || !std::isfinite(value)) {
        return std::nullopt;
    }
    return value;
}

int integer_of(DcmItem& item, const DcmTagKey& tag, int fallback) {
    // IS and US both answer to findAndGetSint32/Uint16; try the string form for IS.
    Uint16 unsigned_value = 0;
    if (item.findAndGetUint16(tag, unsigned_value).good()) return unsigned_value;
    Sint32 signed_value = 0;
    if (item.findAndGetSint32(tag, signed_value).good()) return signed_value;
    const auto text = string_of(item, tag);
    if (text.empty()) return fallback;
    try {
        return std::stoi(text);
    } catch (const std::exception&) {
        return fallback;
    }
}

template <std::size_t N>
std::optional<std::array<double, N>> numbers_of(DcmItem& item, const DcmTagKey& tag) {
    std::array<double, N> values{};
    for (std::size_t i = 0; i < N; ++i) {
        const auto value = number_of(item, tag, static_cast<unsigned long>(i));
        if (!value) return std::nullopt;
        values[i] = *value;
    }
    return values;
}

}  // namespace

InstanceHeader header_from_dataset(DcmItem& dataset, const std::filesystem::path& file) {
    InstanceHeader header;
    header.file = file;
    header.sop_class_uid = string_of(dataset, DCM_SOPClassUID);
    header.sop_instance_uid = string_of(dataset, DCM_SOPInstanceUID);
    header.study_instance_uid = string_of(dataset, DCM_StudyInstanceUID);
    header.series_instance_uid = string_of(dataset, DCM_SeriesInstanceUID);
    header.frame_of_reference_uid = string_of(dataset, DCM_FrameOfReferenceUID);
    header.patient_id = string_of(dataset, DCM_PatientID);
    header.modality = string_of(dataset, DCM_Modality);
    header.series_description = string_of(dataset, DCM_SeriesDescription);
    header.series_number = integer_of(dataset, DCM_SeriesNumber, 0);
    header.instance_number = integer_of(dataset, DCM_InstanceNumber, 0);
    header.image_type = values_of(dataset, DCM_ImageType);
    header.scanning_sequence = values_of(dataset, DCM_ScanningSequence);
    header.scan_options = values_of(dataset, DCM_ScanOptions);
    header.repetition_time_ms = number_of(dataset, DCM_RepetitionTime);
    header.echo_time_ms = number_of(dataset, DCM_EchoTime);
    header.inversion_time_ms = number_of(dataset, DCM_InversionTime);
    header.field_strength_t = number_of(dataset, DCM_MagneticFieldStrength);
    header.contrast_agent = string_of(dataset, DCM_ContrastBolusAgent);
    header.orientation = numbers_of<6>(dataset, DCM_ImageOrientationPatient);
    header.position_mm = numbers_of<3>(dataset, DCM_ImagePositionPatient);
    header.pixel_spacing_mm = numbers_of<2>(dataset, DCM_PixelSpacing);
    header.slice_thickness_mm = number_of(dataset, DCM_SliceThickness);
    header.rows = integer_of(dataset, DCM_Rows, 0);
    header.columns = integer_of(dataset, DCM_Columns, 0);
    header.number_of_frames = integer_of(dataset, DCM_NumberOfFrames, 1);
    return header;
}

std::optional<InstanceHeader> read_instance_header(const std::filesystem::path& file,
                                                   std::string& why) {
    DcmFileFormat file_format;
    const OFCondition status = file_format.loadFileUntilTag(
        file.c_str(), EXS_Unknown, EGL_noChange, 256, ERM_autoDetect, DCM_PixelData);
    if (status.bad()) {
        why = fmt::format("not a readable DICOM file ({})", status.text());
        return std::nullopt;
    }
    DcmDataset& dataset = *file_format.getDataset();
    auto header = header_from_dataset(dataset, file);
    // Without its UIDs a file cannot be placed in a study: DICOMDIRs, presentation states
    // without a study, or bytes that merely parsed as a dataset.
    if (header.sop_instance_uid.empty() || header.study_instance_uid.empty() ||
        header.series_instance_uid.empty()) {
        why = "not a DICOM instance (no SOP, study or series instance UID)";
        return std::nullopt;
    }
    return header;
}

}  // namespace modic::core
