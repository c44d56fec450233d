#include "report/narrative.hpp"

#include <cmath>
#include <fmt/format.h>

#include "report/levels.hpp"

namespace modic::core::report {
namespace {

constexpr std::string_view kLevelCaveat =
    "Levels counted up from the sacrum; a transitional vertebra can shift them.";

long percent(double fraction) { return std::lround(fraction * 100.0); }

std::string endplate_phrase(const EndplateFinding& endplate, bool first) {
    return fmt::format("{}type {} change of the {} endplate of {} (depth {}%, extent {}%)",
                       first ? "Modic " : "", to_string(endplate.modic_type),
                       to_string(endplate.side), endplate.vertebra,
                       percent(endplate.depth_fraction), percent(endplate.extent_fraction));
}

std::string changed_level_sentence(const LevelReport& level) {
    if (level.changed_endplates.empty())
        return fmt::format("{}: Modic type {} change.", level.disc_level, to_string(level.level_type));
    std::string sentence = level.disc_level + ": ";
    for (std::size_t i = 0; i < level.changed_endplates.size(); ++i) {
        if (i > 0) sentence += " and ";
        sentence += endplate_phrase(*level.changed_endplates[i], i == 0);
    }
    return sentence + ".";
}

std::string unchanged_run_sentence(const std::string& first, const std::string& last) {
    if (first == last) return first + ": no Modic change.";
    return fmt::format("{} to {}: no Modic change.", first, last);
}

std::string not_analysed_sentence(const std::string& reason) {
    if (reason.empty()) return "Not analysed: no reason given.";
    const bool ends_sentence = reason.back() == '.';
    return "Not analysed: " + reason + (ends_sentence ? "" : ".");
}

}  // namespace

std::string narrative_summary(const Findings& findings) {
    if (findings.status == AnalysisStatus::NotAnalyzable) return not_analysed_sentence(findings.reason);

    std::vector<std::string> sentences;
    std::string run_first, run_last;  // the current run of consecutive unchanged levels
    const auto close_run = [&] {
        if (run_first.empty()) return;
        sentences.push_back(unchanged_run_sentence(run_first, run_last));
        run_first.clear();
    };
    for (const auto& level : level_reports(findings)) {
        if (level.unchanged()) {
            const bool follows_run = !run_first.empty() &&
                                     disc_level_rank(level.disc_level) == disc_level_rank(run_last) + 1;
            if (!follows_run) close_run();
            if (run_first.empty()) run_first = level.disc_level;
            run_last = level.disc_level;
            continue;
        }
        close_run();
        sentences.push_back(changed_level_sentence(level));
    }
    close_run();
    if (sentences.empty()) sentences.emplace_back("No disc level could be assessed.");
    sentences.emplace_back(kLevelCaveat);

    std::string text;
    for (const auto& sentence : sentences) text += (text.empty() ? "" : " ") + sentence;
    return text;
}

}  // namespace modic::core::report
