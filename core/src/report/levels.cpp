#include "report/levels.hpp"

#include <algorithm>

namespace modic::core::report {

namespace {
// The disc above T12 is not a level the core summarises, but T12's superior endplate faces it.
constexpr std::string_view kDiscAboveT12 = "T11/T12";
}  // namespace

std::size_t disc_level_rank(std::string_view disc_level) {
    if (disc_level == kDiscAboveT12) return 0;
    const auto found = std::find(kDiscLevels.begin(), kDiscLevels.end(), disc_level);
    return 1 + static_cast<std::size_t>(found - kDiscLevels.begin());
}

std::string disc_level_of(const EndplateFinding& endplate) {
    const auto found = std::find(kVertebraLabels.begin(), kVertebraLabels.end(), endplate.vertebra);
    if (found == kVertebraLabels.end()) return {};
    if (endplate.side == EndplateSide::Inferior) {
        if (found + 1 == kVertebraLabels.end()) return {};
        return endplate.vertebra + "/" + std::string(*(found + 1));
    }
    if (found == kVertebraLabels.begin()) return std::string(kDiscAboveT12);
    return std::string(*(found - 1)) + "/" + endplate.vertebra;
}

bool has_change(const EndplateFinding& endplate) { return endplate.modic_type != ModicType::None; }

namespace {

LevelReport& report_for(std::vector<LevelReport>& reports, const std::string& disc_level) {
    for (auto& report : reports)
        if (report.disc_level == disc_level) return report;
    reports.push_back(LevelReport{disc_level, ModicType::None, 0.0, {}});
    return reports.back();
}

}  // namespace

std::vector<LevelReport> level_reports(const Findings& findings) {
    std::vector<LevelReport> reports;
    for (const auto& level : findings.levels) {
        auto& report = report_for(reports, level.disc_level);
        report.level_type = level.modic_type;
        report.level_confidence = level.confidence;
    }
    for (const auto& endplate : findings.endplates) {
        if (!has_change(endplate)) continue;
        const auto disc_level = disc_level_of(endplate);
        if (disc_level.empty()) continue;
        report_for(reports, disc_level).changed_endplates.push_back(&endplate);
    }
    for (auto& report : reports)
        std::stable_sort(report.changed_endplates.begin(), report.changed_endplates.end(),
                         [](const EndplateFinding* a, const EndplateFinding* b) {
                             return a->side == EndplateSide::Inferior && b->side == EndplateSide::Superior;
                         });
    std::stable_sort(reports.begin(), reports.end(), [](const LevelReport& a, const LevelReport& b) {
        return disc_level_rank(a.disc_level) < disc_level_rank(b.disc_level);
    });
    return reports;
}

}  // namespace modic::core::report
