#include "modic/server/study_work.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "modic/core/analyze.hpp"
#include "modic/core/findings_json.hpp"
#include "modic/core/structured_report.hpp"

namespace modic::server {
namespace {

bool is_classic_image_class(const std::string& sop_class) {
    return sop_class == UID_MRImageStorage || sop_class == UID_SecondaryCaptureImageStorage;
}

// Series number and Patient ID from the header (long values such as Pixel Data stay unread).
void read_header_fields(core::SourceInstance& instance) {
    DcmFileFormat format;
    if (format.loadFile(instance.file.c_str(), EXS_Unknown, EGL_noChange, 256).bad())
        return;  // the core reports unreadable files itself
    DcmDataset& dataset = *format.getDataset();
    Sint32 series_number = 0;
    if (dataset.findAndGetSint32(DCM_SeriesNumber, series_number).good())
        instance.series_number = series_number;
    OFString patient_id;
    if (dataset.findAndGetOFString(DCM_PatientID, patient_id).good())
        instance.patient_id = patient_id.c_str();
}

std::vector<std::byte> read_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + file.string());
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> bytes(chars.size());
    std::transform(chars.begin(), chars.end(), bytes.begin(), [](char c) { return std::byte(c); });
    return bytes;
}

core::SrOptions sr_options_for(const storage::Job& job, const config::NodeConfig& config) {
    core::SrOptions options;
    options.series_instance_uid = job.sr_series_uid;
    if (job.predecessor)
        options.predecessor = core::PredecessorSr{job.predecessor->study_uid,
                                                  job.predecessor->series_uid,
                                                  job.predecessor->sop_class_uid,
                                                  job.predecessor->sop_instance_uid};
    options.station_ae_title = config.node.ae_title;
    return options;
}

// Writes the SR durably into the store and records it with one delivery per destination.
void report(storage::Storage& store, const config::NodeConfig& config, const storage::Job& job,
            const core::Findings& findings, const std::vector<core::SourceInstance>& instances) {
    const std::filesystem::path draft = store.new_temp_path();
    core::WrittenSr written;
    try {
        written = core::write_structured_report(findings, instances, sr_options_for(job, config),
                                                draft);
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove(draft, ignored);
        throw;
    }
    std::vector<std::byte> bytes = read_bytes(draft);
    std::filesystem::remove(draft);
    std::filesystem::path sr_path = store.write_sr_file(job.study_uid, written.sop_instance_uid, bytes);

    storage::SrReference reference{job.study_uid, written.series_instance_uid,
                                   written.sop_instance_uid, UID_ComprehensiveSRStorage};
    std::vector<std::string> destinations;
    for (const auto& destination : config.destinations) destinations.push_back(destination.name);
    storage::Job recorded = store.record_report(job.id, sr_path, reference,
                                                core::findings_to_json(findings).dump(), destinations);
    spdlog::info("job {} study {}: {}, SR {} ({} destination(s))", job.id, job.study_uid,
                 storage::to_string(recorded.state), written.sop_instance_uid, destinations.size());
}

void end_job(storage::Storage& store, const storage::Job& job, storage::JobState state,
             const std::string& detail) {
    store.set_job_outcome(job.id, state, detail);
    spdlog::info("job {} study {}: {} ({})", job.id, job.study_uid, storage::to_string(state), detail);
}

void run_job_unguarded(storage::Storage& store, const config::NodeConfig& config,
                       const storage::Job& job) {
    std::optional<storage::StudyOverview> overview = store.study_overview(job.study_uid);
    if (!overview) throw std::runtime_error("study not in the index");
    if (config::route_study(config.routing, routing_input(*overview)) ==
        config::RoutingAction::ignore)
        return end_job(store, job, storage::JobState::ignored, "routing rules");
    std::string reason = reason_not_analysable(*overview);
    if (!reason.empty()) return end_job(store, job, storage::JobState::not_analyzable, reason);

    std::vector<core::SourceInstance> instances = source_instances(job.study_uid, store.study_instances(job.study_uid));
    core::AnalysisLog log;
    core::Findings findings = core::analyse_study(instances, log);
    for (const auto& warning : log.warnings) spdlog::warn("job {}: {}", job.id, warning);
    for (const auto& note : log.notes) spdlog::debug("job {}: {}", job.id, note);
    if (findings.status == core::AnalysisStatus::NotAnalyzable &&
        !config.delivery.send_not_analyzable_sr)
        return end_job(store, job, storage::JobState::not_analyzable, findings.reason);
    report(store, config, job, findings, instances);
}

}  // namespace

std::vector<core::SourceInstance> source_instances(const std::string& study_uid,
                                                   const std::vector<storage::InstanceFile>& files) {
    std::vector<core::SourceInstance> instances;
    for (const auto& file : files) {
        if (!is_classic_image_class(file.sop_class_uid)) continue;
        core::SourceInstance instance;
        instance.file = file.path;
        instance.study_instance_uid = study_uid;
        instance.series_instance_uid = file.series_uid;
        instance.sop_instance_uid = file.sop_instance_uid;
        instance.sop_class_uid = file.sop_class_uid;
        read_header_fields(instance);
        instances.push_back(std::move(instance));
    }
    return instances;
}

std::string reason_not_analysable(const storage::StudyOverview& study) {
    bool classic = false, enhanced = false;
    for (const auto& series : study.series)
        for (const auto& sop_class : series.sop_class_uids) {
            classic = classic || sop_class == UID_MRImageStorage;
            enhanced = enhanced || sop_class == UID_EnhancedMRImageStorage;
        }
    if (enhanced && !classic) return "Enhanced MR not yet supported";
    return {};
}

config::RoutingInput routing_input(const storage::StudyOverview& study) {
    config::RoutingInput input;
    input.study_description = study.study.study_description;
    for (const auto& series : study.series) {
        input.modalities.push_back(series.modality);
        input.body_parts.push_back(series.body_part);
        input.series_descriptions.push_back(series.series_description);
    }
    input.calling_aes = study.calling_aes;
    return input;
}

void run_job(storage::Storage& store, const config::NodeConfig& config, const storage::Job& job) {
    spdlog::info("job {} study {}: analysing (attempt {})", job.id, job.study_uid, job.attempts);
    try {
        run_job_unguarded(store, config, job);
    } catch (const std::exception& error) {
        spdlog::error("job {} study {}: failed: {}", job.id, job.study_uid, error.what());
        try {
            store.set_job_outcome(job.id, storage::JobState::failed, error.what());
        } catch (const std::exception& again) {
            spdlog::error("job {}: cannot record the failure: {}", job.id, again.what());
        }
    }
}

}  // namespace modic::server
