// Which series of a study the core analyses: the sagittal T1 and the sagittal T2 (or STIR),
// chosen from header fields alone. Pure functions, testable without files.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dicom/instance_header.hpp"

namespace modic::core {

// What selection needs to know of one series, gathered from its instances' headers.
struct SeriesHeader {
    std::string series_instance_uid;
    int series_number = 0;
    std::string modality;
    std::string sop_class_uid;
    std::string description;
    std::vector<std::string> patient_ids;  // distinct values among its instances
    std::vector<std::string> image_type;
    std::vector<std::string> scanning_sequence;
    std::vector<std::string> scan_options;
    std::optional<double> repetition_time_ms;
    std::optional<double> echo_time_ms;
    std::optional<double> inversion_time_ms;
    std::optional<double> field_strength_t;
    std::string contrast_agent;
    std::optional<std::array<double, 6>> orientation;  // that of most of its instances
    int orientation_count = 0;  // distinct orientations among its instances
    // Largest angle between the slice normals of its instances: ~90 for a three-plane localiser,
    // a few tens of degrees for axial blocks angled to each disc.
    double orientation_spread_deg = 0.0;
    int instance_count = 0;
    int slice_count = 0;  // instances in the main orientation
    std::optional<std::array<double, 2>> pixel_spacing_mm;
    // Slice centres' extent along the patient's left-right axis (x): does it cover the midline?
    std::optional<std::array<double, 2>> left_right_range_mm;
};

enum class Plane { Sagittal, Coronal, Axial, Oblique, Unknown };
// T2FatSat: a fat-suppressed T2, which shows marrow oedema as STIR does.
// Other: numbers that say something else (FLAIR, gradient-echo T2*, ...).
enum class Weighting { T1, T2, T2FatSat, Stir, ProtonDensity, Other, Unknown };

std::string_view to_string(Plane plane);
std::string_view to_string(Weighting weighting);

// From ImageOrientationPatient: sagittal when the slice normal is within 20 degrees of the
// patient's left-right axis (likewise axial: feet-head, coronal: anterior-posterior).
Plane plane_of(const SeriesHeader& series);

// From RepetitionTime, EchoTime, InversionTime, ScanningSequence and ScanOptions; the series
// description is only a hint, used when the numbers are missing or ambiguous.
Weighting weighting_of(const SeriesHeader& series);

struct SeriesSelection {
    std::optional<SeriesHeader> t1;
    std::optional<SeriesHeader> fluid;  // the T2, or else a STIR or fat-saturated T2
    std::string fluid_role;  // "t2" or "stir"
    // A STIR or fat-saturated T2 beside the chosen T2: oedema shows brightest there, with the
    // marrow's fat suppressed. Read for oedema only; the T2 types fat and sclerosis.
    std::optional<SeriesHeader> stir_beside_t2;
    std::string reason;  // why the study cannot be analysed; empty when t1 and fluid are set
    std::vector<std::string> notes;  // per series: what it was taken for and whether it is used

    bool analysable() const { return reason.empty(); }
};

// Picks the best sagittal T1 and T2 (T2 preferred over STIR, the best STIR kept beside it; then
// the series covering the midline, with more slices, at finer resolution). Ignores non-MR, Enhanced MR, localisers,
// post-contrast, non-sagittal and other series. Series of different patients: not analysable.
SeriesSelection select_series(const std::vector<SeriesHeader>& series);

// Groups instance headers by SeriesInstanceUID, ordered by SeriesNumber.
std::vector<SeriesHeader> summarise_series(const std::vector<InstanceHeader>& instances);

}  // namespace modic::core
