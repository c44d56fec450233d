// Helpers for the phantom tests: run the generator, read its DICOM files and debug label maps.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace modic::phantom::testing {

// Runs the built modic-phantom with `arguments`; returns its exit status.
int run_phantom(const std::string& arguments);

// A generated set reused by several tests (and test processes): made once per generator build,
// published by an atomic rename so that parallel test processes never see half a set.
std::filesystem::path shared_study_set(const std::string& name, const std::string& arguments);

std::filesystem::path fresh_temp_dir(const std::string& name);

struct DicomImage {
    std::filesystem::path path;
    std::string sop_uid, series_uid, frame_uid, transfer_syntax, contrast_agent;
    bool has_contrast_agent = false;
    int rows = 0, cols = 0;
    std::array<double, 3> position{};
    std::array<double, 6> orientation{};
    std::array<double, 2> spacing{};  // row spacing, column spacing
    double thickness = 0, slope = 1, intercept = 0;
    std::vector<double> pixels;  // after the modality rescale

    // (column, row, distance from the plane) of a patient-space point, in this image's grid.
    std::array<double, 3> locate(const std::array<double, 3>& point) const;
};

// Reads header and pixels (decompressing any transfer syntax DCMTK can decode); throws on failure.
DicomImage read_dicom(const std::filesystem::path& path);
std::vector<DicomImage> read_study(const std::filesystem::path& folder);

// Debug label map written with --debug-labels: structure << 8 | tissue, row-major.
std::vector<std::uint16_t> read_label_map(const std::filesystem::path& path, int rows, int cols);

nlohmann::json read_json(const std::filesystem::path& path);

}  // namespace modic::phantom::testing
