// The detection core's entry point: one study's files in, findings out.
#pragma once

#include <string>
#include <vector>

#include "modic/core/findings.hpp"
#include "modic/core/study.hpp"

namespace modic::core {

// Analyses one study: picks the sagittal T1 and T2 (or STIR) series, loads them, finds and labels
// L1..S1, types every endplate and summarises each disc level. A study that cannot be analysed
// (no usable series, mixed patients, unreadable pixels, no spine found) returns status
// NotAnalyzable with the reason; this function throws only for programming errors.
Findings analyse_study(const std::vector<SourceInstance>& study);

// What an analysis tells its operator besides the findings, one line each.
struct AnalysisLog {
    std::vector<std::string> warnings;  // data set aside or doubtful (unreadable files, slices)
    std::vector<std::string> notes;  // what each series was taken for and whether it was used
};

// As above, and reports warnings and series notes in `log`.
Findings analyse_study(const std::vector<SourceInstance>& study, AnalysisLog& log);

}  // namespace modic::core
