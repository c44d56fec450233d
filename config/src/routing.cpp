// Routing: which complete studies get analysed.
#include <algorithm>
#include <cctype>
#include <regex>

#include "modic/config/config.hpp"

namespace modic::config {
namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
               return std::tolower(x) == std::tolower(y);
           });
}

// DICOM pads values with spaces; compare without them.
std::string_view trimmed(std::string_view text) {
    while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.remove_suffix(1);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    return text;
}

bool any_equal(const std::vector<std::string>& values, const std::string& wanted) {
    return std::any_of(values.begin(), values.end(), [&](const std::string& value) {
        return equals_ignoring_case(trimmed(value), trimmed(wanted));
    });
}

bool any_search(const std::vector<std::string>& values, const std::string& pattern) {
    const std::regex regex(pattern, std::regex::ECMAScript | std::regex::icase);
    return std::any_of(values.begin(), values.end(), [&](const std::string& value) {
        return std::regex_search(value, regex);
    });
}

bool rule_matches(const RoutingRule& rule, const RoutingInput& study) {
    if (rule.modality && !any_equal(study.modalities, *rule.modality)) return false;
    if (rule.calling_ae && !any_equal(study.calling_aes, *rule.calling_ae)) return false;
    if (rule.body_part && !any_search(study.body_parts, *rule.body_part)) return false;
    if (rule.study_description && !any_search({study.study_description}, *rule.study_description))
        return false;
    if (rule.series_description && !any_search(study.series_descriptions, *rule.series_description))
        return false;
    return true;
}

}  // namespace

RoutingAction route_study(const RoutingSection& routing, const RoutingInput& study) {
    for (const RoutingRule& rule : routing.rules) {
        if (rule_matches(rule, study)) return rule.action;
    }
    return routing.default_action;
}

std::string_view to_string(RoutingAction action) {
    return action == RoutingAction::analyze ? "analyze" : "ignore";
}

}  // namespace modic::config
