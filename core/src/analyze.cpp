// analyse_study: selection -> loading -> detection -> summary, for one study's files.
#include "modic/core/analyze.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <exception>

#include "analysis/detect.hpp"
#include "dicom/dicom_codecs.hpp"
#include "dicom/instance_header.hpp"
#include "dicom/series_selection.hpp"
#include "image/load_series.hpp"
#include "report/narrative.hpp"

namespace modic::core {
namespace {

using Clock = std::chrono::steady_clock;

double milliseconds_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void mark_not_analyzable(Findings& findings, std::string reason) {
    findings.status = AnalysisStatus::NotAnalyzable;
    findings.reason = std::move(reason);
}

// The headers of the study's instances. An instance whose file cannot be read any more (removed
// or changed since the scan) is left out of `study` with a warning.
std::vector<InstanceHeader> read_headers(std::vector<SourceInstance>& study, AnalysisLog& log) {
    std::vector<InstanceHeader> headers;
    std::vector<SourceInstance> readable;
    for (const auto& instance : study) {
        std::string why;
        if (auto header = read_instance_header(instance.file, why)) {
            headers.push_back(std::move(*header));
            readable.push_back(instance);
        } else {
            log.warnings.push_back(fmt::format("{} (instance {}): skipped, {}",
                                               instance.file.string(),
                                               instance.sop_instance_uid, why));
        }
    }
    study = std::move(readable);
    return headers;
}

std::vector<SourceInstance> instances_of_series(const std::vector<SourceInstance>& study,
                                                const std::string& series_uid) {
    std::vector<SourceInstance> instances;
    std::copy_if(study.begin(), study.end(), std::back_inserter(instances),
                 [&](const auto& instance) { return instance.series_instance_uid == series_uid; });
    return instances;
}

// Loads a chosen series, its warnings (slices set aside, uneven spacing) added to the log.
LoadedSeries load_logged(const std::vector<SourceInstance>& study, const std::string& series_uid,
                         const std::string& role, AnalysisLog& log) {
    auto loaded = load_series(instances_of_series(study, series_uid), role);
    log.warnings.insert(log.warnings.end(), loaded.warnings.begin(), loaded.warnings.end());
    return loaded;
}

// Loads a chosen series; on failure marks the findings not analysable and returns nullopt.
std::optional<SeriesVolume> load_or_explain(const std::vector<SourceInstance>& study,
                                            const std::string& series_uid,
                                            const std::string& role, Findings& findings,
                                            AnalysisLog& log) {
    auto loaded = load_logged(study, series_uid, role, log);
    if (!loaded.volume) mark_not_analyzable(findings, std::move(loaded.error));
    return std::move(loaded.volume);
}

// Loads the STIR read beside the T2 for oedema. It only adds to the T2: one that cannot be loaded
// is left out with a warning, and the study is read on T1 and T2.
std::optional<SeriesVolume> load_stir_beside_t2(const std::vector<SourceInstance>& study,
                                                const SeriesSelection& selection, AnalysisLog& log) {
    if (!selection.stir_beside_t2) return std::nullopt;
    const auto& uid = selection.stir_beside_t2->series_instance_uid;
    auto loaded = load_logged(study, uid, "stir", log);
    if (!loaded.volume)
        log.warnings.push_back(fmt::format("STIR series {} not read beside the T2: {}", uid, loaded.error));
    return std::move(loaded.volume);
}

void run_pipeline(std::vector<SourceInstance> study, Findings& findings, AnalysisLog& log) {
    if (study.empty()) return mark_not_analyzable(findings, "the study holds no images");
    const bool one_study = std::all_of(study.begin(), study.end(), [&](const auto& instance) {
        return instance.study_instance_uid == study.front().study_instance_uid;
    });
    if (!one_study) {
        return mark_not_analyzable(findings, "the instances given belong to more than one study");
    }
    const auto selection = select_series(summarise_series(read_headers(study, log)));
    log.notes = selection.notes;
    if (!selection.analysable()) return mark_not_analyzable(findings, selection.reason);

    findings.series.t1 = selection.t1->series_instance_uid;
    (selection.fluid_role == "t2" ? findings.series.t2 : findings.series.stir) =
        selection.fluid->series_instance_uid;

    const auto load_started = Clock::now();
    const auto t1 = load_or_explain(study, findings.series.t1, "t1", findings, log);
    const auto fluid = t1 ? load_or_explain(study, selection.fluid->series_instance_uid,
                                            selection.fluid_role, findings, log)
                          : std::nullopt;
    const auto stir = t1 && fluid ? load_stir_beside_t2(study, selection, log) : std::nullopt;
    if (stir) findings.series.stir = stir->series_instance_uid;
    findings.timing_ms.load = milliseconds_since(load_started);
    if (!t1 || !fluid) return;

    // Detection reports failure by setting NotAnalyzable itself.
    findings.status = AnalysisStatus::Analyzed;
    findings.reason.clear();
    detect_modic_changes(*t1, *fluid, stir ? &*stir : nullptr, findings);
}

}  // namespace

Findings analyse_study(const std::vector<SourceInstance>& study) {
    AnalysisLog ignored;
    return analyse_study(study, ignored);
}

Findings analyse_study(const std::vector<SourceInstance>& study, AnalysisLog& log) {
    const auto started = Clock::now();
    register_dicom_decoders();
    Findings findings;
    if (!study.empty()) findings.study_instance_uid = study.front().study_instance_uid;
    try {
        run_pipeline(study, findings, log);
    } catch (const std::exception& error) {
        // Bad data must never take the node down: it becomes a reason the operator can read.
        mark_not_analyzable(findings, fmt::format("analysis of study {} failed: {}",
                                                  findings.study_instance_uid, error.what()));
    } catch (...) {
        mark_not_analyzable(findings, fmt::format("analysis of study {} failed: unknown error",
                                                  findings.study_instance_uid));
    }
    if (findings.status == AnalysisStatus::NotAnalyzable) {
        // No partial anatomy next to a "not analysable": readers would take it for a result.
        findings.vertebrae.clear();
        findings.endplates.clear();
        findings.levels.clear();
    }
    findings.summary = report::narrative_summary(findings);
    findings.timing_ms.total = milliseconds_since(started);
    return findings;
}

}  // namespace modic::core
