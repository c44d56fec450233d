// The header fields of one DICOM instance that series selection and image loading need.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

class DcmItem;

namespace modic::core {

inline constexpr std::string_view kMrImageStorage = "1.2.840.10008.5.1.4.1.1.4";
inline constexpr std::string_view kEnhancedMrImageStorage = "1.2.840.10008.5.1.4.1.1.4.1";

struct InstanceHeader {
    std::filesystem::path file;
    std::string sop_class_uid;
    std::string sop_instance_uid;
    std::string study_instance_uid;
    std::string series_instance_uid;
    std::string frame_of_reference_uid;
    std::string patient_id;
    std::string modality;
    std::string series_description;
    int series_number = 0;
    int instance_number = 0;
    std::vector<std::string> image_type;         // e.g. ORIGINAL, PRIMARY, LOCALIZER
    std::vector<std::string> scanning_sequence;  // SE, IR, GR, EP, RM
    std::vector<std::string> scan_options;       // FS, SAT1, ...
    std::optional<double> repetition_time_ms;
    std::optional<double> echo_time_ms;
    std::optional<double> inversion_time_ms;
    std::optional<double> field_strength_t;
    std::string contrast_agent;  // ContrastBolusAgent: non-empty after contrast
    std::optional<std::array<double, 6>> orientation;  // ImageOrientationPatient
    std::optional<std::array<double, 3>> position_mm;  // ImagePositionPatient
    std::optional<std::array<double, 2>> pixel_spacing_mm;  // between rows, between columns
    std::optional<double> slice_thickness_mm;
    int rows = 0;
    int columns = 0;
    int number_of_frames = 1;
};

// Reads the header fields of `dataset` (the file is only recorded, not read).
InstanceHeader header_from_dataset(DcmItem& dataset, const std::filesystem::path& file);

// Reads a file's header, stopping before the pixel data so that scanning a study stays fast.
// Returns std::nullopt and sets `why` when the file is not a readable DICOM instance.
std::optional<InstanceHeader> read_instance_header(const std::filesystem::path& file,
                                                   std::string& why);

}  // namespace modic::core
