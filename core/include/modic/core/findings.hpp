// The result of analysing one study: what the JSON, the SR and the summary are written from.
// Plain data, no behaviour beyond naming; every other module reads findings through this header.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modic::core {

// Modic classification of one endplate or disc level. Mixed types are their own values because a
// radiologist reports them as such ("type 1/2"), not as two findings.
enum class ModicType { None, Type1, Type2, Type3, Type1_2, Type2_3 };

// "0", "1", "2", "3", "1/2", "2/3": the spelling of the findings JSON and truth.json.
std::string_view to_string(ModicType type);
// Inverse of to_string; std::nullopt for anything else.
std::optional<ModicType> modic_type_from_string(std::string_view text);

enum class EndplateSide { Superior, Inferior };
std::string_view to_string(EndplateSide side);  // "superior", "inferior"
std::optional<EndplateSide> endplate_side_from_string(std::string_view text);

// Vertebrae the core labels, cranial to caudal. S1 is the sacrum's first segment: only its
// superior endplate is reported.
inline constexpr std::array<std::string_view, 7> kVertebraLabels = {"T12", "L1", "L2", "L3",
                                                                    "L4",  "L5", "S1"};
// Disc levels reported in `levels`, cranial to caudal; T12/L1 only when T12 was seen.
inline constexpr std::array<std::string_view, 6> kDiscLevels = {"T12/L1", "L1/L2", "L2/L3",
                                                                "L3/L4",  "L4/L5", "L5/S1"};

using PointMm = std::array<double, 3>;  // DICOM patient coordinates (LPS), millimetres
using PixelPoint = std::array<double, 2>;  // (column, row) in an instance's pixel grid

struct Vertebra {
    std::string label;  // "L1" ... "S1"
    PointMm center_mm{};  // centre of the vertebral body
};

// Where a finding can be seen: one source image and an outline on it.
struct Evidence {
    std::string series_role;  // "t1", "t2" or "stir"
    std::string sop_instance_uid;
    std::vector<PixelPoint> outline_px;  // closed polyline, (column, row)
};

struct EndplateFinding {
    std::string vertebra;  // "L4"
    EndplateSide side = EndplateSide::Superior;
    ModicType modic_type = ModicType::None;
    double confidence = 0.0;  // [0, 1], for the type given
    double depth_fraction = 0.0;  // of the vertebral body height
    double extent_fraction = 0.0;  // of the endplate's length
    double volume_ml = 0.0;
    std::optional<Evidence> evidence;  // present for changed endplates
};

struct LevelFinding {
    std::string disc_level;  // "L4/L5"
    ModicType modic_type = ModicType::None;
    double confidence = 0.0;
};

struct SeriesChoice {
    std::string t1;  // SeriesInstanceUID, empty when none was chosen
    std::string t2;
    std::string stir;
};

struct TimingMs {
    double load = 0, localise = 0, classify = 0, total = 0;
};

enum class AnalysisStatus { Analyzed, NotAnalyzable };
std::string_view to_string(AnalysisStatus status);  // "analyzed", "not_analyzable"

struct Findings {
    std::string study_instance_uid;
    AnalysisStatus status = AnalysisStatus::NotAnalyzable;
    std::string reason;  // why not analysable; empty when analysed
    SeriesChoice series;
    std::vector<Vertebra> vertebrae;
    std::vector<EndplateFinding> endplates;
    std::vector<LevelFinding> levels;
    std::string summary;  // the narrative, as in the SR
    TimingMs timing_ms;
};

}  // namespace modic::core
