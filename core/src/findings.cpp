#include "modic/core/findings.hpp"

#include <utility>

namespace modic::core {
namespace {

constexpr std::pair<ModicType, std::string_view> kModicNames[] = {
    {ModicType::None, "0"},    {ModicType::Type1, "1"},      {ModicType::Type2, "2"},
    {ModicType::Type3, "3"},   {ModicType::Type1_2, "1/2"},  {ModicType::Type2_3, "2/3"},
};

}  // namespace

std::string_view to_string(ModicType type) {
    for (const auto& [value, name] : kModicNames)
        if (value == type) return name;
    return "0";
}

std::optional<ModicType> modic_type_from_string(std::string_view text) {
    for (const auto& [value, name] : kModicNames)
        if (name == text) return value;
    return std::nullopt;
}

std::string_view to_string(EndplateSide side) {
    return side == EndplateSide::Superior ? "superior" : "inferior";
}

std::optional<EndplateSide> endplate_side_from_string(std::string_view text) {
    if (text == "superior") return EndplateSide::Superior;
    if (text == "inferior") return EndplateSide::Inferior;
    return std::nullopt;
}

std::string_view to_string(AnalysisStatus status) {
    return status == AnalysisStatus::Analyzed ? "analyzed" : "not_analyzable";
}

}  // namespace modic::core
