// The findings JSON of `modic-node analyze --json`: a fixed format that other tools read
// (bench/accuracy, the node's job records). Field names are documented in core/README.md.
#pragma once

#include <nlohmann/json.hpp>

#include "modic/core/findings.hpp"

namespace modic::core {

nlohmann::json findings_to_json(const Findings& findings);
// Reads what findings_to_json wrote; throws std::runtime_error naming the offending field.
Findings findings_from_json(const nlohmann::json& json);

}  // namespace modic::core
