// The DICOM Comprehensive SR (TID 1500 Imaging Measurement Report) written from findings.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "modic/core/findings.hpp"
#include "modic/core/study.hpp"

namespace modic::core {

// An earlier SR of the same study that a new analysis replaces (Predecessor Documents Sequence).
struct PredecessorSr {
    std::string study_instance_uid;
    std::string series_instance_uid;
    std::string sop_class_uid;
    std::string sop_instance_uid;
};

struct SrOptions {
    // Reuse the SR series of an earlier report of this study, so every report is in one series.
    std::string series_instance_uid;  // empty: a new series
    std::optional<PredecessorSr> predecessor;
    std::string institution_name;  // of the node, for Contributing Equipment; may be empty
    std::string station_ae_title;  // of the node
};

struct WrittenSr {
    std::string series_instance_uid;
    std::string sop_instance_uid;
};

// Writes the SR for `findings` of the study whose instances are `study` (its Patient and Study
// modules are copied from them; the instances of the series used are listed as evidence).
// Throws std::runtime_error with the path or UID at fault.
WrittenSr write_structured_report(const Findings& findings, const std::vector<SourceInstance>& study,
                                  const SrOptions& options, const std::filesystem::path& output);

}  // namespace modic::core
