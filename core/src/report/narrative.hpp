// The plain-text summary of findings that a reporting system can paste: the SR's TEXT item and the
// findings JSON's "summary".
#pragma once

#include <string>

#include "modic/core/findings.hpp"

namespace modic::core::report {

// One paragraph, cranial to caudal: every disc level with a change names its endplates, type,
// depth and extent; consecutive unchanged levels are grouped ("L1/L2 to L3/L4: no Modic change.");
// it ends with the level-counting caveat. A study that was not analysed gives
// "Not analysed: <reason>."
std::string narrative_summary(const Findings& findings);

}  // namespace modic::core::report
