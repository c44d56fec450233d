// Storage: queries about studies, the administrator's status, and retention.
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <set>

#include "file_io.hpp"
#include "storage_impl.hpp"

namespace modic::storage {
namespace {

constexpr const char* kStudySelect =
    "SELECT s.study_uid, s.study_description, s.generation, "
    "(SELECT COUNT(*) FROM instances i WHERE i.study_uid = s.study_uid), s.first_received_at, s.last_received_at, "
    "s.mixed_patients FROM studies s ";

Study read_study(const sqlite::Statement& row) {
    Study study;
    study.study_uid = row.text(0);
    study.study_description = row.text(1);
    study.generation = row.integer(2);
    study.instance_count = row.integer(3);
    study.first_received_at = from_millis(row.integer(4));
    study.last_received_at = from_millis(row.integer(5));
    study.mixed_patients = row.integer(6) != 0;
    return study;
}

std::optional<Study> find_study_locked(sqlite::Database& db, const std::string& study_uid) {
    auto& select = db.statement(std::string(kStudySelect) + "WHERE s.study_uid = ?");
    select.bind_all(study_uid);
    std::optional<Study> study;
    if (select.step()) study = read_study(select);
    select.reset();
    return study;
}

// Removes now-empty series and study folders left by deleted files (best effort).
void remove_empty_parents(const std::filesystem::path& file, const std::filesystem::path& stop_at) {
    std::error_code error;
    for (std::filesystem::path dir = file.parent_path(); dir != stop_at && dir.has_parent_path();
         dir = dir.parent_path()) {
        if (!std::filesystem::is_empty(dir, error) || error) break;
        std::filesystem::remove(dir, error);
    }
}

}  // namespace

std::optional<Study> Storage::find_study(const std::string& study_uid) {
    std::lock_guard lock(impl_->db_mutex);
    return find_study_locked(impl_->db, study_uid);
}

std::optional<StudyOverview> Storage::study_overview(const std::string& study_uid) {
    std::lock_guard lock(impl_->db_mutex);
    auto& db = impl_->db;
    std::optional<Study> study = find_study_locked(db, study_uid);
    if (!study) return std::nullopt;
    StudyOverview overview{*study, {}, {}};
    auto& series = db.statement(
        "SELECT r.series_uid, r.modality, r.body_part, r.series_description, "
        "(SELECT GROUP_CONCAT(DISTINCT i.sop_class_uid) FROM instances i WHERE i.study_uid = r.study_uid AND "
        "i.series_uid = r.series_uid), (SELECT COUNT(*) FROM instances i WHERE i.study_uid = r.study_uid AND "
        "i.series_uid = r.series_uid) FROM series r WHERE r.study_uid = ? ORDER BY r.series_uid");
    series.bind_all(study_uid);
    while (series.step()) {
        SeriesInfo info{series.text(0), series.text(1), series.text(2), series.text(3), {}, series.integer(5)};
        const std::string classes = series.text(4);
        for (std::size_t start = 0; start < classes.size();) {
            const std::size_t comma = std::min(classes.find(',', start), classes.size());
            info.sop_class_uids.push_back(classes.substr(start, comma - start));
            start = comma + 1;
        }
        if (info.instance_count > 0) overview.series.push_back(std::move(info));
    }
    series.reset();
    auto& callers = db.statement("SELECT DISTINCT calling_ae FROM instances WHERE study_uid = ? ORDER BY 1");
    callers.bind_all(study_uid);
    while (callers.step()) overview.calling_aes.push_back(callers.text(0));
    callers.reset();
    return overview;
}

std::vector<InstanceFile> Storage::study_instances(const std::string& study_uid) {
    std::lock_guard lock(impl_->db_mutex);
    std::vector<InstanceFile> files;
    auto& select = impl_->db.statement(
        "SELECT sop_instance_uid, series_uid, sop_class_uid, transfer_syntax_uid, path, size, checksum "
        "FROM instances WHERE study_uid = ? ORDER BY series_uid, sop_instance_uid");
    select.bind_all(study_uid);
    while (select.step())
        files.push_back(InstanceFile{select.text(0), select.text(1), select.text(2), select.text(3), select.text(4),
                                     static_cast<std::uint64_t>(select.integer(5)),
                                     static_cast<std::uint64_t>(select.integer(6))});
    select.reset();
    return files;
}

std::vector<Study> Storage::list_studies(std::size_t limit) {
    std::lock_guard lock(impl_->db_mutex);
    std::vector<Study> studies;
    auto& select = impl_->db.statement(std::string(kStudySelect) + "ORDER BY s.last_received_at DESC LIMIT ?");
    select.bind_all(static_cast<std::int64_t>(limit));
    while (select.step()) studies.push_back(read_study(select));
    select.reset();
    return studies;
}

std::vector<Conflict> Storage::list_conflicts(std::size_t limit) {
    std::lock_guard lock(impl_->db_mutex);
    std::vector<Conflict> conflicts;
    auto& select = impl_->db.statement(
        "SELECT id, sop_instance_uid, study_uid, series_uid, sop_class_uid, existing_study_uid, existing_series_uid, "
        "calling_ae, path, received_at FROM conflicts ORDER BY id DESC LIMIT ?");
    select.bind_all(static_cast<std::int64_t>(limit));
    while (select.step())
        conflicts.push_back(Conflict{select.integer(0), select.text(1), select.text(2), select.text(3),
                                     select.text(4), select.text(5), select.text(6), select.text(7), select.text(8),
                                     from_millis(select.integer(9))});
    select.reset();
    return conflicts;
}

StatusSummary Storage::status() {
    StatusSummary summary;
    for (JobState state : all_job_states()) summary.jobs_by_state[state] = 0;
    for (DeliveryState state :
         {DeliveryState::pending, DeliveryState::sending, DeliveryState::sent, DeliveryState::gave_up})
        summary.deliveries_by_state[state] = 0;
    {
        std::lock_guard lock(impl_->db_mutex);
        auto& db = impl_->db;
        auto& jobs = db.statement("SELECT state, COUNT(*) FROM jobs GROUP BY state");
        jobs.reset();
        while (jobs.step()) summary.jobs_by_state[job_state_from_db(jobs.text(0))] = jobs.integer(1);
        jobs.reset();
        auto& deliveries = db.statement("SELECT state, COUNT(*) FROM deliveries GROUP BY state");
        deliveries.reset();
        while (deliveries.step())
            if (auto state = parse_delivery_state(deliveries.text(0)))
                summary.deliveries_by_state[*state] = deliveries.integer(1);
        deliveries.reset();
        auto& totals = db.statement(
            "SELECT (SELECT COUNT(*) FROM studies), (SELECT COUNT(*) FROM instances), "
            "(SELECT COALESCE(SUM(size), 0) FROM instances), (SELECT COUNT(*) FROM conflicts), "
            "(SELECT MAX(last_received_at) FROM studies)");
        totals.reset();
        totals.step();
        summary.studies = totals.integer(0);
        summary.instances = totals.integer(1);
        summary.stored_bytes = static_cast<std::uint64_t>(totals.integer(2));
        summary.conflicts = totals.integer(3);
        if (!totals.is_null(4)) summary.last_received_at = from_millis(totals.integer(4));
        totals.reset();
    }
    const file_io::DiskSpace space = file_io::disk_space(impl_->options.root);
    summary.disk_free_bytes = space.free_bytes;
    summary.disk_total_bytes = space.total_bytes;
    return summary;
}

RetentionResult Storage::apply_retention(const RetentionPolicy& policy, TimePoint now) {
    RetentionResult result;
    struct Doomed {
        std::string sop;
        std::string path;
        std::uint64_t size;
    };
    std::vector<Doomed> images;
    std::vector<std::pair<std::int64_t, std::string>> srs;
    {
        std::lock_guard lock(impl_->db_mutex);
        auto& db = impl_->db;
        auto collect = [&](sqlite::Statement& select) {
            while (select.step())
                images.push_back({select.text(0), select.text(1), static_cast<std::uint64_t>(select.integer(2))});
            select.reset();
        };
        if (policy.delete_images_after_delivery) {
            // The study's latest job ended and covers its current content.
            auto& select = db.statement(
                "SELECT i.sop_instance_uid, i.path, i.size FROM instances i JOIN studies s ON s.study_uid = i.study_uid "
                "JOIN jobs j ON j.id = (SELECT MAX(id) FROM jobs WHERE study_uid = s.study_uid) "
                "WHERE j.study_generation = s.generation AND j.state IN ('delivered', 'done', 'ignored', "
                "'not_analyzable')");
            select.reset();
            collect(select);
        }
        if (policy.image_retention_days > 0) {
            auto& select = db.statement(
                "SELECT i.sop_instance_uid, i.path, i.size FROM instances i WHERE i.received_at < ? AND NOT EXISTS "
                "(SELECT 1 FROM jobs j WHERE j.study_uid = i.study_uid AND j.state IN ('queued', 'analysing'))");
            select.bind_all(to_millis(now - std::chrono::hours(24) * policy.image_retention_days));
            collect(select);
        }
        if (policy.sr_retention_days > 0) {
            auto& select = db.statement(
                "SELECT id, sr_path FROM jobs WHERE sr_path IS NOT NULL AND sr_deleted_at IS NULL AND "
                "sr_written_at < ? AND state != 'reporting'");
            select.bind_all(to_millis(now - std::chrono::hours(24) * policy.sr_retention_days));
            while (select.step()) srs.emplace_back(select.integer(0), select.text(1));
            select.reset();
        }
    }
    std::set<std::string> done;
    for (const Doomed& image : images) {
        if (!done.insert(image.sop).second) continue;
        {
            std::lock_guard lock(impl_->db_mutex);
            impl_->db.statement("DELETE FROM instances WHERE sop_instance_uid = ?").bind_all(image.sop).run();
        }
        file_io::remove_quietly(image.path);
        remove_empty_parents(image.path, impl_->images_dir);
        ++result.images_deleted;
        result.image_bytes_freed += image.size;
    }
    for (const auto& [job_id, path] : srs) {
        file_io::remove_quietly(path);
        remove_empty_parents(path, impl_->sr_dir);
        std::lock_guard lock(impl_->db_mutex);
        impl_->db.statement("UPDATE jobs SET sr_deleted_at = ? WHERE id = ?").bind_all(to_millis(now), job_id).run();
        ++result.srs_deleted;
    }
    if (result.images_deleted || result.srs_deleted)
        spdlog::info("retention: {} image(s) deleted ({} MiB), {} SR file(s) deleted", result.images_deleted,
                     result.image_bytes_freed >> 20, result.srs_deleted);
    return result;
}

}  // namespace modic::storage
