// Writes one MR Image Storage instance with DCMTK, in any of the transfer syntaxes the phantom
// exercises. Knows DICOM attributes, nothing of anatomy.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modic::phantom {

enum class TransferSyntax { ExplicitLittle, ImplicitLittle, JpegLossless, JpegLs, Rle, Deflate };
std::string_view transfer_syntax_uid(TransferSyntax ts);
std::string_view transfer_syntax_name(TransferSyntax ts);

struct PatientStudyInfo {
    std::string patient_name, patient_id, birth_date, sex, age;
    std::string study_uid, study_date, study_time, accession, study_id, study_description;
    std::string manufacturer, model, institution, station;
    double field_strength = 1.5;
    double imaging_frequency = 63.8;
};

struct SeriesInfo {
    std::string series_uid, frame_uid, description, body_part, series_time;
    int series_number = 1;
    std::string image_type = "ORIGINAL\\PRIMARY\\M\\NORM";
    std::string scanning_sequence, sequence_variant, scan_options, sequence_name;
    std::string acquisition_type = "2D";
    double repetition_time = 500, echo_time = 10, flip_angle = 90;
    std::optional<double> inversion_time;
    int echo_train_length = 1;
    double averages = 1;
    std::optional<std::string> contrast_agent;
    double slice_thickness = 3;
    std::optional<double> spacing_between_slices;
    double window_center = 0, window_width = 0;
    std::optional<std::array<double, 2>> rescale;  // slope, intercept
};

struct ImageInfo {
    std::string sop_uid, content_time;
    int instance_number = 1;
    std::array<double, 3> position{};         // ImagePositionPatient
    std::array<double, 6> orientation{};      // ImageOrientationPatient
    double slice_location = 0;
    int rows = 0, cols = 0;
    std::array<double, 2> pixel_spacing{1, 1};  // row spacing \ column spacing
    const std::vector<std::uint16_t>* pixels = nullptr;  // 12 bits stored
};

// Registers DCMTK's JPEG, JPEG-LS and RLE encoders; call once before writing.
void register_codecs();

// Throws std::runtime_error naming the file and the SOP Instance UID on failure.
void write_mr_image(const std::filesystem::path& path, const PatientStudyInfo& study,
                    const SeriesInfo& series, const ImageInfo& image, TransferSyntax syntax);

// DS value text: at most 16 characters, no exponent.
std::string decimal_string(double value, int decimals = 4);

}  // namespace modic::phantom
