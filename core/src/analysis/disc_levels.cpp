#include "analysis/disc_levels.hpp"

#include <algorithm>

#include "analysis/spine_localiser.hpp"

namespace modic::core {
namespace {

const EndplateFinding* find_endplate(const std::vector<EndplateFinding>& endplates,
                                     const std::string& vertebra, EndplateSide side) {
    for (const auto& endplate : endplates)
        if (endplate.vertebra == vertebra && endplate.side == side) return &endplate;
    return nullptr;
}

// The endplate that decides a level where both changed.
const EndplateFinding& dominant(const EndplateFinding& a, const EndplateFinding& b) {
    if (a.volume_ml != b.volume_ml) return a.volume_ml > b.volume_ml ? a : b;
    return a.extent_fraction >= b.extent_fraction ? a : b;
}

}  // namespace

std::vector<LevelFinding> summarise_levels(const std::vector<EndplateFinding>& endplates) {
    std::vector<LevelFinding> levels;
    for (const auto disc_level : kDiscLevels) {
        const auto [upper_label, lower_label] = vertebrae_of_disc(std::string(disc_level));
        const auto* upper = find_endplate(endplates, upper_label, EndplateSide::Inferior);
        const auto* lower = find_endplate(endplates, lower_label, EndplateSide::Superior);
        if (!upper || !lower) continue;
        const bool upper_changed = upper->modic_type != ModicType::None;
        const bool lower_changed = lower->modic_type != ModicType::None;
        LevelFinding level{std::string(disc_level), ModicType::None, 0.0};
        if (!upper_changed && !lower_changed) {
            level.confidence = std::min(upper->confidence, lower->confidence);
        } else {
            const auto& decisive = upper_changed && lower_changed ? dominant(*upper, *lower)
                                   : upper_changed                ? *upper
                                                                  : *lower;
            level.modic_type = decisive.modic_type;
            level.confidence = decisive.confidence;
        }
        levels.push_back(level);
    }
    return levels;
}

}  // namespace modic::core
