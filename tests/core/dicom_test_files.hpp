// Test support: synthetic DICOM MR files written with DCMTK into a temporary folder.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace modic::test {

// A fresh folder under the system's temporary folder, removed with its content at scope exit.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

inline constexpr std::array<double, 6> kSagittal = {0, 1, 0, 0, 0, -1};
inline constexpr std::array<double, 6> kAxial = {1, 0, 0, 0, 1, 0};
inline constexpr std::array<double, 6> kCoronal = {1, 0, 0, 0, 0, -1};

struct SyntheticMr {
    std::string study_uid = "1.2.826.0.1.3680043.9.7777.1";
    std::string series_uid = "1.2.826.0.1.3680043.9.7777.1.1";
    std::string sop_uid;  // empty: derived from series_uid and instance_number
    std::string sop_class_uid = "1.2.840.10008.5.1.4.1.1.4";  // MR Image Storage
    std::string modality = "MR";
    std::string patient_id = "TEST-1";
    std::string description = "SAG T1 TSE";
    int series_number = 1;
    int instance_number = 1;
    std::optional<double> repetition_time_ms = 600;
    std::optional<double> echo_time_ms = 12;
    std::optional<double> inversion_time_ms;
    std::string scanning_sequence = "SE";
    std::string scan_options;
    std::string image_type = "ORIGINAL\\PRIMARY\\M";
    std::string contrast_agent;
    double field_strength_t = 1.5;
    std::array<double, 6> orientation = kSagittal;
    std::array<double, 3> position_mm = {0, -100, 100};
    bool write_position = true;
    std::array<double, 2> pixel_spacing_mm = {0.8, 0.7};  // between rows, between columns
    double slice_thickness_mm = 4;
    int rows = 6;
    int columns = 5;
    int bits_stored = 12;
    bool is_signed = false;  // PixelRepresentation 1: `pixels` hold two's complement values
    std::string photometric = "MONOCHROME2";
    std::optional<double> rescale_slope;
    std::optional<double> rescale_intercept;
    // Stored values, row by row; empty: value = 100 * row + column + 10 * instance_number.
    std::vector<std::uint16_t> pixels;

    std::uint16_t stored_value(int row, int column) const;
};

// Writes `mr` to `file` (parents created) in Little Endian Explicit.
void write_mr(const SyntheticMr& mr, const std::filesystem::path& file);

// Rewrites `source` into `target` with a lossless compressed transfer syntax.
enum class Compression { JpegLsLossless, Rle };
void write_compressed_copy(const std::filesystem::path& source, const std::filesystem::path& target,
                           Compression compression);

// Copies `source` to `target` cut to `bytes_to_keep` bytes.
void write_truncated_copy(const std::filesystem::path& source, const std::filesystem::path& target,
                          std::uintmax_t bytes_to_keep);

// Slices of `base`'s series, one file each under `folder`: slice i is at x = base x + i * gap_mm
// and has InstanceNumber i + 1; `order` says which slices, in which order, are written.
std::vector<std::filesystem::path> write_sagittal_series(const SyntheticMr& base,
                                                         const std::vector<int>& order,
                                                         double gap_mm,
                                                         const std::filesystem::path& folder);

// The de-identified studies of ../shared/data/spider-dev (path from CMake).
std::filesystem::path spider_dev_dir();

}  // namespace modic::test
