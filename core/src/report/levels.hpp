// Disc levels and the endplates that face them: what the narrative and the SR both walk through.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "modic/core/findings.hpp"

namespace modic::core::report {

// Position of a disc level, cranial to caudal: T11/T12 (which T12's superior endplate faces), then
// kDiscLevels; levels not listed sort last.
std::size_t disc_level_rank(std::string_view disc_level);

// "L4" + Inferior -> "L4/L5"; "L5" + Superior -> "L4/L5"; empty when the label is not known.
std::string disc_level_of(const EndplateFinding& endplate);

bool has_change(const EndplateFinding& endplate);

// One disc level as reported: its summary and the changed endplates that face it, the upper
// vertebra's inferior endplate first.
struct LevelReport {
    std::string disc_level;
    ModicType level_type = ModicType::None;
    double level_confidence = 0.0;
    std::vector<const EndplateFinding*> changed_endplates;
    bool unchanged() const { return level_type == ModicType::None && changed_endplates.empty(); }
};

// Every disc level named in findings.levels or implied by a changed endplate, cranial to caudal.
std::vector<LevelReport> level_reports(const Findings& findings);

}  // namespace modic::core::report
