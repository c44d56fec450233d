// Storage: jobs (creation at completeness, the state machine, SRs) and deliveries.
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "file_io.hpp"
#include "storage_impl.hpp"

namespace modic::storage {
namespace {

bool transition_allowed(JobState from, JobState to) {
    using S = JobState;
    switch (from) {
        case S::queued: return to == S::analysing || to == S::ignored || to == S::not_analyzable || to == S::failed;
        case S::analysing:
            return to == S::reporting || to == S::done || to == S::failed || to == S::ignored ||
                   to == S::not_analyzable || to == S::queued;
        case S::not_analyzable: return to == S::reporting || to == S::done;
        case S::reporting: return to == S::delivered || to == S::failed;
        case S::failed: return to == S::queued || to == S::reporting;
        default: return false;
    }
}

std::string state_text(JobState state) { return std::string(to_string(state)); }

}  // namespace

JobState job_state_from_db(const std::string& text) {
    if (auto state = parse_job_state(text)) return *state;
    throw StorageError(fmt::format("index holds an unknown job state \"{}\"", text));
}

Job read_job(const sqlite::Statement& row) {
    Job job;
    job.id = row.integer(0);
    job.study_uid = row.text(1);
    job.study_generation = row.integer(2);
    job.state = job_state_from_db(row.text(3));
    job.attempts = static_cast<int>(row.integer(4));
    job.last_error = row.text(5);
    job.reason = row.text(6);
    job.created_at = from_millis(row.integer(7));
    job.updated_at = from_millis(row.integer(8));
    if (!row.is_null(9)) job.sr_path = row.text(9);
    job.sr_sop_instance_uid = row.text(10);
    job.sr_series_uid = row.text(11);
    job.sr_sop_class_uid = row.text(12);
    job.findings_json = row.text(13);
    if (!row.is_null(14)) job.predecessor = SrReference{row.text(14), row.text(15), row.text(16), row.text(17)};
    return job;
}

Delivery read_delivery(const sqlite::Statement& row) {
    Delivery delivery;
    delivery.id = row.integer(0);
    delivery.job_id = row.integer(1);
    delivery.destination = row.text(2);
    const auto state = parse_delivery_state(row.text(3));
    if (!state) throw StorageError(fmt::format("index holds an unknown delivery state \"{}\"", row.text(3)));
    delivery.state = *state;
    delivery.attempts = static_cast<int>(row.integer(4));
    delivery.created_at = from_millis(row.integer(5));
    delivery.next_attempt_at = from_millis(row.integer(6));
    delivery.last_error = row.text(7);
    return delivery;
}

std::optional<Job> Storage::Impl::find_job_locked(std::int64_t job_id) {
    auto& select = db.statement(std::string(kJobSelect) + "WHERE j.id = ?");
    select.bind_all(job_id);
    std::optional<Job> job;
    if (select.step()) job = read_job(select);
    select.reset();
    return job;
}

Job Storage::Impl::require_job_locked(std::int64_t job_id) {
    std::optional<Job> job = find_job_locked(job_id);
    if (!job) throw IllegalTransitionError(fmt::format("job {} does not exist", job_id));
    return *job;
}

// Checks the transition and applies it; throws IllegalTransitionError (nothing changed) if the
// job is not in `from` or the move is not allowed.
void Storage::Impl::set_job_state_locked(std::int64_t job_id, JobState from, JobState to) {
    if (!transition_allowed(from, to))
        throw IllegalTransitionError(
            fmt::format("job {}: transition {} -> {} is not allowed", job_id, to_string(from), to_string(to)));
    db.statement("UPDATE jobs SET state = ?, updated_at = ? WHERE id = ? AND state = ?")
        .bind_all(state_text(to), to_millis(Clock::now()), job_id, state_text(from))
        .run();
    if (db.changes() != 1)
        throw IllegalTransitionError(fmt::format("job {} is not in state {}", job_id, to_string(from)));
    spdlog::info("job {}: {} -> {}", job_id, to_string(from), to_string(to));
}

void Storage::Impl::fail_job_locked(std::int64_t job_id, JobState from, const std::string& error) {
    set_job_state_locked(job_id, from, JobState::failed);
    db.statement("UPDATE jobs SET last_error = ? WHERE id = ?").bind_all(error, job_id).run();
}

// ---- creation at completeness ------------------------------------------------------------

namespace {
// Studies that need a job: content newer than their last job, none queued or analysing.
constexpr const char* kStudiesNeedingJob =
    "FROM studies s WHERE s.generation > COALESCE((SELECT MAX(j.study_generation) FROM jobs j "
    "WHERE j.study_uid = s.study_uid), 0) AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.study_uid = s.study_uid "
    "AND j.state IN ('queued', 'analysing')) ";
}  // namespace

std::vector<Job> Storage::create_jobs_for_quiet_studies(std::chrono::seconds quiet, TimePoint now) {
    std::vector<Job> created;
    {
        std::lock_guard lock(impl_->db_mutex);
        auto& db = impl_->db;
        sqlite::Transaction transaction(db);
        struct Ready {
            std::string study_uid;
            std::int64_t generation;
            bool mixed;
        };
        std::vector<Ready> ready;
        auto& select = db.statement(std::string("SELECT s.study_uid, s.generation, s.mixed_patients ") +
                                    kStudiesNeedingJob + "AND s.last_received_at <= ? ORDER BY s.last_received_at");
        select.bind_all(to_millis(now - quiet));
        while (select.step()) ready.push_back({select.text(0), select.integer(1), select.integer(2) != 0});
        select.reset();
        const std::int64_t now_ms = to_millis(now);
        for (const Ready& study : ready) {
            std::optional<std::int64_t> predecessor;
            std::string sr_series_uid;
            auto& previous = db.statement("SELECT id, sr_series_uid FROM jobs WHERE study_uid = ? "
                                          "AND sr_sop_instance_uid != '' ORDER BY id DESC LIMIT 1");
            previous.bind_all(study.study_uid);
            if (previous.step()) {
                predecessor = previous.integer(0);
                sr_series_uid = previous.text(1);
            }
            previous.reset();
            const JobState state = study.mixed ? JobState::not_analyzable : JobState::queued;
            const std::string reason = study.mixed ? "instances with different PatientIDs" : "";
            db.statement("INSERT INTO jobs (study_uid, study_generation, state, reason, created_at, updated_at, "
                         "sr_series_uid, predecessor_job_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
                .bind_all(study.study_uid, study.generation, state_text(state), reason, now_ms, now_ms,
                          sr_series_uid, predecessor)
                .run();
            created.push_back(*impl_->find_job_locked(db.last_insert_id()));
        }
        transaction.commit();
    }
    impl_->sync();
    for (const Job& job : created)
        spdlog::info("job {}: created for study {} (content {}) -> {}{}{}", job.id, job.study_uid,
                     job.study_generation, to_string(job.state), job.reason.empty() ? "" : ": ", job.reason);
    return created;
}

std::optional<TimePoint> Storage::next_quiet_deadline(std::chrono::seconds quiet) {
    std::lock_guard lock(impl_->db_mutex);
    auto& select = impl_->db.statement(std::string("SELECT MIN(s.last_received_at) ") + kStudiesNeedingJob);
    select.reset();
    std::optional<TimePoint> deadline;
    if (select.step() && !select.is_null(0)) deadline = from_millis(select.integer(0)) + quiet;
    select.reset();
    return deadline;
}

// ---- the state machine -------------------------------------------------------------------

std::optional<Job> Storage::claim_next_job() {
    std::lock_guard lock(impl_->db_mutex);
    auto& db = impl_->db;
    sqlite::Transaction transaction(db);
    auto& select = db.statement("SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1");
    select.reset();
    if (!select.step()) {
        select.reset();
        return std::nullopt;
    }
    const std::int64_t job_id = select.integer(0);
    select.reset();
    impl_->set_job_state_locked(job_id, JobState::queued, JobState::analysing);
    db.statement("UPDATE jobs SET attempts = attempts + 1 WHERE id = ?").bind_all(job_id).run();
    transaction.commit();
    // Not synced on purpose: losing "analysing" in a crash only means analysing again.
    return impl_->find_job_locked(job_id);
}

void Storage::set_job_outcome(std::int64_t job_id, JobState outcome, const std::string& detail) {
    if (outcome != JobState::ignored && outcome != JobState::not_analyzable && outcome != JobState::failed)
        throw IllegalTransitionError(
            fmt::format("job {}: {} is not an outcome without an SR", job_id, to_string(outcome)));
    {
        std::lock_guard lock(impl_->db_mutex);
        auto& db = impl_->db;
        sqlite::Transaction transaction(db);
        const Job job = impl_->require_job_locked(job_id);
        if (job.state != JobState::queued && job.state != JobState::analysing)
            throw IllegalTransitionError(fmt::format("job {}: transition {} -> {} is not allowed", job_id,
                                                     to_string(job.state), to_string(outcome)));
        impl_->set_job_state_locked(job_id, job.state, outcome);
        const char* column = outcome == JobState::failed ? "last_error" : "reason";
        db.statement(fmt::format("UPDATE jobs SET {} = ? WHERE id = ?", column)).bind_all(detail, job_id).run();
        transaction.commit();
    }
    if (!detail.empty()) spdlog::info("job {}: {}: {}", job_id, to_string(outcome), detail);
    impl_->sync();
}

Job Storage::record_report(std::int64_t job_id, const std::filesystem::path& sr_path, const SrReference& sr,
                           const std::string& findings_json, const std::vector<std::string>& destinations) {
    validate_uid(sr.sop_instance_uid, "SR SOP Instance UID");
    validate_uid(sr.series_uid, "SR Series Instance UID");
    Job result;
    {
        std::lock_guard lock(impl_->db_mutex);
        auto& db = impl_->db;
        sqlite::Transaction transaction(db);
        const Job job = impl_->require_job_locked(job_id);
        const JobState next = destinations.empty() ? JobState::done : JobState::reporting;
        if (job.state != JobState::analysing && job.state != JobState::not_analyzable)
            throw IllegalTransitionError(fmt::format("job {}: cannot record an SR in state {}", job_id,
                                                     to_string(job.state)));
        impl_->set_job_state_locked(job_id, job.state, next);
        const std::int64_t now_ms = to_millis(Clock::now());
        db.statement("UPDATE jobs SET sr_path = ?, sr_sop_instance_uid = ?, sr_series_uid = ?, sr_sop_class_uid = ?, "
                     "sr_written_at = ?, findings_json = ? WHERE id = ?")
            .bind_all(sr_path.string(), sr.sop_instance_uid, sr.series_uid, sr.sop_class_uid, now_ms, findings_json,
                      job_id)
            .run();
        for (const std::string& destination : destinations)
            db.statement("INSERT INTO deliveries (job_id, destination, state, created_at, next_attempt_at) "
                         "VALUES (?, ?, 'pending', ?, ?)")
                .bind_all(job_id, destination, now_ms, now_ms)
                .run();
        transaction.commit();
        result = *impl_->find_job_locked(job_id);
    }
    impl_->sync();
    spdlog::info("job {}: SR {} recorded ({}), {} destination(s){}", job_id, sr.sop_instance_uid, sr_path.string(),
                 destinations.size(), destinations.empty() ? ": kept locally" : "");
    return result;
}

std::filesystem::path Storage::write_sr_file(const std::string& study_uid, const std::string& sr_sop_instance_uid,
                                             std::span<const std::byte> bytes) {
    validate_uid(study_uid, "Study Instance UID");
    validate_uid(sr_sop_instance_uid, "SR SOP Instance UID");
    const std::filesystem::path dir = impl_->sr_dir / study_uid;
    const std::filesystem::path path = dir / (sr_sop_instance_uid + ".dcm");
    const bool created = file_io::make_directories(dir);
    const std::filesystem::path temp = impl_->new_temp_path();
    file_io::write_new_file(temp, bytes, impl_->options.fsync);
    bool renamed = false;
    try {
        renamed = file_io::rename_no_replace(temp, path);
    } catch (...) {
        file_io::remove_quietly(temp);
        throw;
    }
    if (!renamed) {
        file_io::remove_quietly(temp);
        throw StorageError(fmt::format("SR file {} exists already; not overwritten", path.string()));
    }
    impl_->sync({dir, created ? impl_->sr_dir : dir});
    return path;
}

std::optional<Job> Storage::find_job(std::int64_t job_id) {
    std::lock_guard lock(impl_->db_mutex);
    return impl_->find_job_locked(job_id);
}

std::vector<Job> Storage::list_jobs(std::optional<JobState> state, std::size_t limit) {
    std::lock_guard lock(impl_->db_mutex);
    std::vector<Job> jobs;
    auto& select = impl_->db.statement(std::string(kJobSelect) + "WHERE (? IS NULL OR j.state = ?) ORDER BY j.id DESC LIMIT ?");
    std::optional<std::string> wanted;
    if (state) wanted = state_text(*state);
    select.bind_all(wanted, wanted, static_cast<std::int64_t>(limit));
    while (select.step()) jobs.push_back(read_job(select));
    select.reset();
    return jobs;
}

RetryResult Storage::retry_job(std::int64_t job_id, TimePoint now) {
    RetryResult result;
    {
        std::lock_guard lock(impl_->db_mutex);
        auto& db = impl_->db;
        sqlite::Transaction transaction(db);
        const Job job = impl_->require_job_locked(job_id);
        if (job.state != JobState::failed)
            throw IllegalTransitionError(fmt::format(
                "job {} is {}: only failed jobs (analysis failed or a delivery gave up) can be retried", job_id,
                to_string(job.state)));
        const std::int64_t now_ms = to_millis(now);
        if (!job.sr_sop_instance_uid.empty()) {
            // The SR exists: send those same bytes again, with a fresh give-up window.
            db.statement("UPDATE deliveries SET state = 'pending', next_attempt_at = ?, created_at = ?, "
                         "attempts = 0 WHERE job_id = ? AND state = 'gave_up'")
                .bind_all(now_ms, now_ms, job_id)
                .run();
            result.deliveries_rearmed = db.changes();
        }
        result.new_state = result.deliveries_rearmed > 0 ? JobState::reporting : JobState::queued;
        impl_->set_job_state_locked(job_id, JobState::failed, result.new_state);
        // Analysed again with fresh attempts: the count of interruptions starts over.
        if (result.new_state == JobState::queued)
            db.statement("UPDATE jobs SET attempts = 0 WHERE id = ?").bind_all(job_id).run();
        transaction.commit();
    }
    impl_->sync();
    spdlog::info("job {}: retried by the administrator -> {} ({} delivery(ies) re-armed)", job_id,
                 to_string(result.new_state), result.deliveries_rearmed);
    return result;
}

// ---- deliveries --------------------------------------------------------------------------

std::vector<Delivery> Storage::claim_due_deliveries(TimePoint now, std::size_t limit) {
    std::lock_guard lock(impl_->db_mutex);
    auto& db = impl_->db;
    sqlite::Transaction transaction(db);
    std::vector<std::int64_t> ids;
    auto& select = db.statement(
        "SELECT d.id FROM deliveries d JOIN jobs j ON j.id = d.job_id WHERE d.state = 'pending' "
        "AND d.next_attempt_at <= ? AND j.state = 'reporting' ORDER BY d.next_attempt_at, d.id LIMIT ?");
    select.bind_all(to_millis(now), static_cast<std::int64_t>(limit));
    while (select.step()) ids.push_back(select.integer(0));
    select.reset();
    std::vector<Delivery> claimed;
    for (const std::int64_t id : ids) {
        db.statement("UPDATE deliveries SET state = 'sending', attempts = attempts + 1 WHERE id = ?").bind_all(id).run();
        auto& row = db.statement(std::string(kDeliverySelect) + "WHERE id = ?");
        row.bind_all(id);
        if (row.step()) claimed.push_back(read_delivery(row));
        row.reset();
    }
    transaction.commit();
    return claimed;
}

std::optional<TimePoint> Storage::next_delivery_due() {
    std::lock_guard lock(impl_->db_mutex);
    auto& select = impl_->db.statement(
        "SELECT MIN(d.next_attempt_at) FROM deliveries d JOIN jobs j ON j.id = d.job_id "
        "WHERE d.state = 'pending' AND j.state = 'reporting'");
    select.reset();
    std::optional<TimePoint> due;
    if (select.step() && !select.is_null(0)) due = from_millis(select.integer(0));
    select.reset();
    return due;
}

namespace {

Delivery require_sending(sqlite::Database& db, std::int64_t delivery_id) {
    auto& row = db.statement(std::string(kDeliverySelect) + "WHERE id = ?");
    row.bind_all(delivery_id);
    std::optional<Delivery> delivery;
    if (row.step()) delivery = read_delivery(row);
    row.reset();
    if (!delivery) throw IllegalTransitionError(fmt::format("delivery {} does not exist", delivery_id));
    if (delivery->state != DeliveryState::sending)
        throw IllegalTransitionError(fmt::format("delivery {} (job {}) is {}, not sending", delivery_id,
                                                 delivery->job_id, to_string(delivery->state)));
    return *delivery;
}

}  // namespace

// A reporting job whose deliveries all ended becomes delivered, or failed if one gave up.
void Storage::Impl::settle_job_locked(std::int64_t job_id, TimePoint) {
    auto& counts = db.statement(
        "SELECT SUM(state IN ('pending', 'sending')), SUM(state = 'gave_up'), "
        "GROUP_CONCAT(CASE WHEN state = 'gave_up' THEN destination END, ', ') FROM deliveries WHERE job_id = ?");
    counts.bind_all(job_id);
    counts.step();
    const std::int64_t open = counts.integer(0);
    const std::int64_t gave_up = counts.integer(1);
    const std::string given_up_destinations = counts.text(2);
    counts.reset();
    if (open > 0) return;
    const std::optional<Job> job = find_job_locked(job_id);
    if (!job || job->state != JobState::reporting) return;
    if (gave_up == 0) {
        set_job_state_locked(job_id, JobState::reporting, JobState::delivered);
        return;
    }
    fail_job_locked(job_id, JobState::reporting, fmt::format("delivery gave up: {}", given_up_destinations));
}

void Storage::record_delivery_sent(std::int64_t delivery_id) {
    Delivery delivery;
    {
        std::lock_guard lock(impl_->db_mutex);
        auto& db = impl_->db;
        sqlite::Transaction transaction(db);
        delivery = require_sending(db, delivery_id);
        db.statement("UPDATE deliveries SET state = 'sent', last_error = '' WHERE id = ?").bind_all(delivery_id).run();
        impl_->settle_job_locked(delivery.job_id, Clock::now());
        transaction.commit();
    }
    impl_->sync();
    spdlog::info("job {}: SR sent to {} (attempt {})", delivery.job_id, delivery.destination, delivery.attempts);
}

Delivery Storage::record_delivery_failed(std::int64_t delivery_id, const std::string& error, TimePoint now,
                                         const RetryPolicy& policy) {
    Delivery delivery;
    {
        std::lock_guard lock(impl_->db_mutex);
        auto& db = impl_->db;
        sqlite::Transaction transaction(db);
        delivery = require_sending(db, delivery_id);
        const bool give_up = now >= delivery.created_at + policy.give_up_after;
        // initial * 2^(attempts-1), capped; the shift is bounded so it cannot overflow.
        const int doublings = std::clamp(delivery.attempts - 1, 0, 30);
        const auto delay = std::min<std::chrono::seconds>(policy.initial * (std::int64_t{1} << doublings), policy.max);
        delivery.state = give_up ? DeliveryState::gave_up : DeliveryState::pending;
        delivery.next_attempt_at = from_millis(to_millis(give_up ? now : now + delay));  // as stored
        delivery.last_error = error;
        db.statement("UPDATE deliveries SET state = ?, next_attempt_at = ?, last_error = ? WHERE id = ?")
            .bind_all(std::string(to_string(delivery.state)), to_millis(delivery.next_attempt_at), error, delivery_id)
            .run();
        impl_->settle_job_locked(delivery.job_id, now);
        transaction.commit();
    }
    impl_->sync();
    if (delivery.state == DeliveryState::gave_up)
        spdlog::error("job {}: delivery to {} gave up after {} attempt(s): {}", delivery.job_id, delivery.destination,
                      delivery.attempts, error);
    else
        spdlog::warn("job {}: delivery to {} failed (attempt {}): {}; next attempt in {} s", delivery.job_id,
                     delivery.destination, delivery.attempts, error,
                     std::chrono::duration_cast<std::chrono::seconds>(delivery.next_attempt_at - now).count());
    return delivery;
}

std::vector<Delivery> Storage::job_deliveries(std::int64_t job_id) {
    std::lock_guard lock(impl_->db_mutex);
    std::vector<Delivery> deliveries;
    auto& select = impl_->db.statement(std::string(kDeliverySelect) + "WHERE job_id = ? ORDER BY id");
    select.bind_all(job_id);
    while (select.step()) deliveries.push_back(read_delivery(select));
    select.reset();
    return deliveries;
}

}  // namespace modic::storage
