#pragma once
#include <string_view>

namespace modic::core {
// The product's version, as written into the SR (software versions, algorithm version).
inline constexpr std::string_view kVersion = "0.1.0";
inline constexpr std::string_view kProductName = "modic-node";
}  // namespace modic::core
