#include "dicom/series_selection.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <numbers>
#include <tuple>

namespace modic::core {
namespace {

using Vec3 = std::array<double, 3>;

// Slices whose normal is within this angle of an axis are in that axis' plane.
const double kPlaneTolerance = std::cos(20.0 * std::numbers::pi / 180.0);
// A series "covers the midline" when its slices reach this close to x = 0.
constexpr double kMidlineMarginMm = 10.0;
// At most this many slices per orientation in a series of planes this far apart: a localiser.
constexpr int kLocaliserMaxSlices = 5;
constexpr double kLocaliserMinSpreadDeg = 45.0;

Vec3 cross(const Vec3& a, const Vec3& b) {
    return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

std::optional<Vec3> slice_normal(const std::array<double, 6>& orientation) {
    const Vec3 n = cross({orientation[0], orientation[1], orientation[2]},
                         {orientation[3], orientation[4], orientation[5]});
    const double length = std::sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
    if (!(length > 1e-6)) return std::nullopt;
    return Vec3{n[0] / length, n[1] / length, n[2] / length};
}

std::string upper(std::string_view text) {
    std::string result(text);
    for (auto& c : result) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return result;
}

// "t1_tse_sag_320" -> {"T1", "TSE", "SAG", "320"}
std::vector<std::string> words_of(std::string_view description) {
    std::vector<std::string> words;
    std::string word;
    for (char c : upper(description)) {
        if (std::isalnum(static_cast<unsigned char>(c))) {
            word.push_back(c);
        } else if (!word.empty()) {
            words.push_back(std::move(word));
            word.clear();
        }
    }
    if (!word.empty()) words.push_back(std::move(word));
    return words;
}

bool has_word(const std::vector<std::string>& words, std::initializer_list<std::string_view> any) {
    return std::any_of(words.begin(), words.end(), [&](const std::string& word) {
        return std::find(any.begin(), any.end(), word) != any.end();
    });
}

bool has_word_starting(const std::vector<std::string>& words, std::string_view prefix) {
    return std::any_of(words.begin(), words.end(),
                       [&](const std::string& word) { return word.starts_with(prefix); });
}

bool contains(const std::vector<std::string>& values, std::string_view wanted) {
    return std::any_of(values.begin(), values.end(),
                       [&](const std::string& value) { return upper(value) == wanted; });
}

bool is_fat_saturated(const SeriesHeader& series) {
    const bool option_says_so =
        std::any_of(series.scan_options.begin(), series.scan_options.end(), [](const auto& v) {
            const auto option = upper(v);
            return option == "FS" || option == "SFS" || option.find("FAT") != std::string::npos ||
                   option.find("SPIR") != std::string::npos ||
                   option.find("SPAIR") != std::string::npos;
        });
    const auto words = words_of(series.description);
    const auto text = upper(series.description);
    return option_says_so || has_word(words, {"FS", "FATSAT", "FSAT", "SPIR", "SPAIR"}) ||
           text.find("FAT SAT") != std::string::npos || text.find("FATSAT") != std::string::npos;
}

// What TR, TE and TI say; std::nullopt when they are missing or ambiguous.
std::optional<Weighting> weighting_from_numbers(const SeriesHeader& series) {
    const bool inversion_recovery = contains(series.scanning_sequence, "IR");
    const auto& ti = series.inversion_time_ms;
    const auto& tr = series.repetition_time_ms;
    const auto& te = series.echo_time_ms;
    // Some exports drop IR from ScanningSequence: a STIR-range TI then counts only when the
    // description agrees, so that neither the TI nor the name alone makes a STIR.
    const bool named_stir = has_word(words_of(series.description), {"STIR", "TIRM"});
    if (ti && (inversion_recovery || series.scanning_sequence.empty() || named_stir)) {
        // Fat's null point: ~150 ms at 1.5 T, ~220 ms at 3 T.
        const bool field_fits = !series.field_strength_t ||
                                (*series.field_strength_t >= 1.0 && *series.field_strength_t <= 3.5);
        if (*ti >= 100 && *ti <= 250 && field_fits) return Weighting::Stir;
        // T1-FLAIR nulls fluid at ~800 ms and reads like a T1; longer TIs are T2-FLAIR.
        if (*ti >= 500 && *ti <= 1300 && te && *te < 30) return Weighting::T1;
        if (*ti > 1300) return Weighting::Other;
    }
    if (!tr || !te) return std::nullopt;
    if (*tr < 1000 && *te < 30) return Weighting::T1;
    // Long TE with a long TR; 3D turbo spin echo (SPACE, CUBE, VISTA) reaches T2 weighting with
    // TRs from ~800 ms thanks to its long echo train.
    if (*te > 60 && *tr >= 800) return Weighting::T2;
    if (*tr > 1500 && *te < 30) return Weighting::ProtonDensity;
    return std::nullopt;
}

// What the description says; trusted only when the numbers are silent.
Weighting weighting_from_description(const std::string& description) {
    const auto words = words_of(description);
    if (has_word(words, {"STIR", "TIRM"})) return Weighting::Stir;
    if (has_word_starting(words, "T1")) return Weighting::T1;
    if (has_word(words, {"FLAIR"})) return Weighting::Other;
    if (has_word_starting(words, "T2")) return Weighting::T2;
    if (has_word(words, {"PD", "PDW"})) return Weighting::ProtonDensity;
    return Weighting::Unknown;
}

bool is_localiser(const SeriesHeader& series) {
    if (contains(series.image_type, "LOCALIZER") || contains(series.image_type, "SCOUT")) {
        return true;
    }
    if (series.orientation_spread_deg >= kLocaliserMinSpreadDeg &&
        series.slice_count <= kLocaliserMaxSlices) {
        return true;
    }
    const auto words = words_of(series.description);
    return series.slice_count <= kLocaliserMaxSlices &&
           has_word(words, {"LOC", "LOCALIZER", "LOCALISER", "SCOUT", "SURVEY", "3PLANE",
                            "TRIPLANE"});
}

bool is_post_contrast(const SeriesHeader& series) {
    if (!series.contrast_agent.empty()) return true;
    const auto text = upper(series.description);
    return text.find("+C") != std::string::npos || text.find("+GD") != std::string::npos ||
           has_word(words_of(series.description),
                    {"GD", "GADO", "GADOLINIUM", "CONTRAST", "POSTCONTRAST", "KM"});
}

std::string label_of(const SeriesHeader& series) {
    const auto images = fmt::format("{} image{}", series.instance_count,
                                    series.instance_count == 1 ? "" : "s");
    if (series.description.empty()) {
        return fmt::format("series {} ({})", series.series_number, images);
    }
    return fmt::format("series {} \"{}\" ({})", series.series_number, series.description, images);
}

// How a series could serve, or why it cannot.
struct Assessment {
    std::optional<Weighting> role;  // T1, T2, Stir (STIR or fat-saturated T2)
    std::string what;  // "sagittal T2", "axial T1", "localizer", "CT", ...
};

Assessment assess(const SeriesHeader& series) {
    if (upper(series.modality) != "MR") {
        return {std::nullopt, series.modality.empty() ? "no modality" : series.modality};
    }
    if (series.sop_class_uid == kEnhancedMrImageStorage) {
        return {std::nullopt, "Enhanced MR not yet supported"};
    }
    if (!series.sop_class_uid.empty() && series.sop_class_uid != kMrImageStorage) {
        return {std::nullopt, fmt::format("MR of SOP class {}, not an MR image", series.sop_class_uid)};
    }
    if (is_localiser(series)) return {std::nullopt, "localizer"};
    const auto weighting = weighting_of(series);
    const auto plane = plane_of(series);
    std::string what = fmt::format("{} {}", to_string(plane), to_string(weighting));
    if (const auto numbers = weighting_from_numbers(series); !numbers) {
        what += weighting == Weighting::Unknown ? " (TR/TE missing or ambiguous)"
                                                : " (by its description; TR/TE missing or ambiguous)";
    } else if (const auto named = weighting_from_description(series.description);
               named != Weighting::Unknown && named != *numbers) {
        what += fmt::format(" (described as {}, but TR/TE say {})", to_string(named),
                            to_string(*numbers));
    }
    if (is_post_contrast(series)) return {std::nullopt, what + " after contrast"};
    if (plane != Plane::Sagittal) return {std::nullopt, what};
    switch (weighting) {
        case Weighting::T1: return {Weighting::T1, what};
        case Weighting::T2: return {Weighting::T2, what};
        case Weighting::T2FatSat:
        case Weighting::Stir: return {Weighting::Stir, what};
        default: return {std::nullopt, what};
    }
}

// Better series first: covering the midline, more slices, finer pixels, acquired later.
bool better(const SeriesHeader& a, const SeriesHeader& b) {
    const auto covers_midline = [](const SeriesHeader& s) {
        if (!s.left_right_range_mm) return true;
        return (*s.left_right_range_mm)[0] <= kMidlineMarginMm &&
               (*s.left_right_range_mm)[1] >= -kMidlineMarginMm;
    };
    const auto pixel_area = [](const SeriesHeader& s) {
        return s.pixel_spacing_mm ? (*s.pixel_spacing_mm)[0] * (*s.pixel_spacing_mm)[1] : 1e9;
    };
    return std::make_tuple(covers_midline(a), a.slice_count, -pixel_area(a), a.series_number) >
           std::make_tuple(covers_midline(b), b.slice_count, -pixel_area(b), b.series_number);
}

std::optional<std::string> mixed_patients_reason(const std::vector<SeriesHeader>& series) {
    std::map<std::string, const SeriesHeader*> first_series_of_patient;
    for (const auto& s : series) {
        for (const auto& id : s.patient_ids) first_series_of_patient.emplace(id, &s);
        if (s.patient_ids.size() > 1) {
            return fmt::format("{} holds images of {} different PatientIDs; not analysed, so "
                               "that no report goes to the wrong patient",
                               label_of(s), s.patient_ids.size());
        }
    }
    if (first_series_of_patient.size() <= 1) return std::nullopt;
    // Name series, never the identifiers themselves: reasons end up in logs.
    std::vector<std::string> labels;
    for (const auto& [id, s] : first_series_of_patient) labels.push_back(label_of(*s));
    return fmt::format("the study's series belong to {} different PatientIDs ({}); not analysed, "
                       "so that no report goes to the wrong patient",
                       first_series_of_patient.size(), fmt::join(labels, ", "));
}

template <typename Groups>
double orientation_spread_deg(const Groups& by_orientation) {
    std::vector<Vec3> normals;
    for (const auto& [key, members] : by_orientation) {
        if (auto normal = slice_normal(*members.front()->orientation)) normals.push_back(*normal);
    }
    double smallest_cosine = 1.0;
    for (std::size_t i = 0; i < normals.size(); ++i) {
        for (std::size_t j = i + 1; j < normals.size(); ++j) {
            const auto& a = normals[i];
            const auto& b = normals[j];
            // Opposite normals are the same plane.
            smallest_cosine =
                std::min(smallest_cosine, std::abs(a[0] * b[0] + a[1] * b[1] + a[2] * b[2]));
        }
    }
    return std::acos(std::clamp(smallest_cosine, 0.0, 1.0)) * 180.0 / std::numbers::pi;
}

}  // namespace

std::string_view to_string(Plane plane) {
    switch (plane) {
        case Plane::Sagittal: return "sagittal";
        case Plane::Coronal: return "coronal";
        case Plane::Axial: return "axial";
        case Plane::Oblique: return "oblique";
        case Plane::Unknown: break;
    }
    return "unknown-plane";
}

std::string_view to_string(Weighting weighting) {
    switch (weighting) {
        case Weighting::T1: return "T1";
        case Weighting::T2: return "T2";
        case Weighting::T2FatSat: return "fat-saturated T2";
        case Weighting::Stir: return "STIR";
        case Weighting::ProtonDensity: return "proton density";
        case Weighting::Other: return "other contrast (FLAIR or similar)";
        case Weighting::Unknown: break;
    }
    return "unknown weighting";
}

Plane plane_of(const SeriesHeader& series) {
    if (!series.orientation) return Plane::Unknown;
    const auto normal = slice_normal(*series.orientation);
    if (!normal) return Plane::Unknown;
    if (std::abs((*normal)[0]) >= kPlaneTolerance) return Plane::Sagittal;
    if (std::abs((*normal)[1]) >= kPlaneTolerance) return Plane::Coronal;
    if (std::abs((*normal)[2]) >= kPlaneTolerance) return Plane::Axial;
    return Plane::Oblique;
}

Weighting weighting_of(const SeriesHeader& series) {
    auto weighting = weighting_from_numbers(series).value_or(
        weighting_from_description(series.description));
    if (weighting == Weighting::T2 && is_fat_saturated(series)) weighting = Weighting::T2FatSat;
    return weighting;
}

SeriesSelection select_series(const std::vector<SeriesHeader>& series) {
    SeriesSelection selection;
    if (series.empty()) {
        selection.reason = "the study holds no images";
        return selection;
    }
    if (auto reason = mixed_patients_reason(series)) {
        selection.reason = *reason;
        return selection;
    }
    std::vector<std::pair<const SeriesHeader*, Assessment>> assessed;
    for (const auto& s : series) assessed.emplace_back(&s, assess(s));

    const auto best_of = [&](Weighting role) -> const SeriesHeader* {
        const SeriesHeader* best = nullptr;
        for (const auto& [s, assessment] : assessed) {
            if (assessment.role == role && (!best || better(*s, *best))) best = s;
        }
        return best;
    };
    const auto* t1 = best_of(Weighting::T1);
    const auto* t2 = best_of(Weighting::T2);
    const auto* stir = best_of(Weighting::Stir);
    const auto* fluid = t2 ? t2 : stir;

    for (const auto& [s, assessment] : assessed) {
        std::string use = "not used";
        if (s == t1) use = "used as T1";
        if (s == fluid) use = t2 ? "used as T2" : "used as STIR";
        if (t2 && s == stir) use = "used as STIR, for oedema";
        selection.notes.push_back(fmt::format("{}: {}, {}", label_of(*s), assessment.what, use));
    }
    if (t1) selection.t1 = *t1;
    if (fluid) {
        selection.fluid = *fluid;
        selection.fluid_role = t2 ? "t2" : "stir";
        if (t2 && stir) selection.stir_beside_t2 = *stir;
    }
    if (t1 && fluid) return selection;

    std::string missing = !t1 && !fluid ? "no sagittal T1-weighted and no sagittal T2-weighted or "
                                          "STIR series"
                          : !t1         ? "no sagittal T1-weighted series"
                                        : "no sagittal T2-weighted or STIR series";
    std::vector<std::string> found;
    for (const auto& [s, assessment] : assessed) {
        found.push_back(fmt::format("{}: {}", label_of(*s), assessment.what));
    }
    selection.reason = fmt::format("{}; study has {} series: {}", missing, series.size(),
                                   fmt::join(found, "; "));
    return selection;
}

std::vector<SeriesHeader> summarise_series(const std::vector<InstanceHeader>& instances) {
    // Instances grouped by series, in order of first appearance.
    std::vector<std::vector<const InstanceHeader*>> groups;
    std::map<std::string, std::size_t> group_of_series;
    for (const auto& instance : instances) {
        const auto [it, is_new] =
            group_of_series.emplace(instance.series_instance_uid, groups.size());
        if (is_new) groups.emplace_back();
        groups[it->second].push_back(&instance);
    }
    std::vector<SeriesHeader> result;
    for (const auto& group : groups) {
        const InstanceHeader& first = *group.front();
        SeriesHeader series;
        series.series_instance_uid = first.series_instance_uid;
        series.series_number = first.series_number;
        series.modality = first.modality;
        series.sop_class_uid = first.sop_class_uid;
        series.description = first.series_description;
        series.image_type = first.image_type;
        series.scanning_sequence = first.scanning_sequence;
        series.scan_options = first.scan_options;
        series.repetition_time_ms = first.repetition_time_ms;
        series.echo_time_ms = first.echo_time_ms;
        series.inversion_time_ms = first.inversion_time_ms;
        series.field_strength_t = first.field_strength_t;
        series.instance_count = static_cast<int>(group.size());

        // Orientations rounded, so that rounding noise in the header does not split them.
        std::map<std::array<long, 6>, std::vector<const InstanceHeader*>> by_orientation;
        for (const auto* instance : group) {
            if (std::find(series.patient_ids.begin(), series.patient_ids.end(),
                          instance->patient_id) == series.patient_ids.end()) {
                series.patient_ids.push_back(instance->patient_id);
            }
            if (series.contrast_agent.empty()) series.contrast_agent = instance->contrast_agent;
            if (!instance->orientation) continue;
            std::array<long, 6> key{};
            for (int i = 0; i < 6; ++i) key[i] = std::lround((*instance->orientation)[i] * 100);
            by_orientation[key].push_back(instance);
        }
        series.orientation_count = static_cast<int>(by_orientation.size());
        series.orientation_spread_deg = orientation_spread_deg(by_orientation);
        const std::vector<const InstanceHeader*>* main = nullptr;
        for (const auto& [key, members] : by_orientation) {
            if (!main || members.size() > main->size()) main = &members;
        }
        if (!main) {
            series.slice_count = series.instance_count;
            series.pixel_spacing_mm = first.pixel_spacing_mm;
            result.push_back(std::move(series));
            continue;
        }
        const InstanceHeader& typical = *main->front();
        series.orientation = typical.orientation;
        series.slice_count = static_cast<int>(main->size());
        series.pixel_spacing_mm = typical.pixel_spacing_mm;
        for (const auto* instance : *main) {
            if (!instance->position_mm) continue;
            // x of the slice centre: corner + half the row and column extents.
            const auto& o = *instance->orientation;
            const auto spacing = instance->pixel_spacing_mm.value_or(std::array<double, 2>{1, 1});
            const double x = (*instance->position_mm)[0] +
                             o[0] * spacing[1] * instance->columns / 2.0 +
                             o[3] * spacing[0] * instance->rows / 2.0;
            auto& range = series.left_right_range_mm;
            if (!range) range = std::array<double, 2>{x, x};
            (*range)[0] = std::min((*range)[0], x);
            (*range)[1] = std::max((*range)[1], x);
        }
        result.push_back(std::move(series));
    }
    // Operators read series in the order the scanner numbered them.
    std::stable_sort(result.begin(), result.end(), [](const auto& a, const auto& b) {
        return a.series_number < b.series_number;
    });
    return result;
}

}  // namespace modic::core
