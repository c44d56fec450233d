// Disc-level summary of endplate findings, as a radiologist reports Modic changes per level.
#pragma once

#include <vector>

#include "modic/core/findings.hpp"

namespace modic::core {

// One entry per disc level whose two endplates were both read (T12/L1 .. L5/S1). A level is "0"
// when both endplates are "0"; else the type of the changed endplate, or, when both changed, of
// the one with the larger volume (then the larger extent).
std::vector<LevelFinding> summarise_levels(const std::vector<EndplateFinding>& endplates);

}  // namespace modic::core
