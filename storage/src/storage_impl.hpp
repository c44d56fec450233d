// Storage's private state and the helpers its three source files share.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "file_io.hpp"
#include "group_sync.hpp"
#include "modic/storage/storage.hpp"
#include "sqlite.hpp"

namespace modic::storage {

inline std::int64_t to_millis(TimePoint time) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}
inline TimePoint from_millis(std::int64_t millis) { return TimePoint(std::chrono::milliseconds(millis)); }

struct Storage::Impl {
    explicit Impl(StorageOptions options);

    StorageOptions options;
    std::filesystem::path images_dir;
    std::filesystem::path conflicts_dir;
    std::filesystem::path sr_dir;
    std::filesystem::path tmp_dir;
    std::filesystem::path db_path;
    // The serving process's hold on the root (with recover): a second node on the same folder
    // would recover under the first one's feet (queue its analyses again, send its deliveries
    // again, empty its tmp/, remove files it has renamed and is about to index). Null for admin
    // opens, which read beside a running node.
    std::unique_ptr<file_io::ExclusiveHold> serving_hold;

    // One connection, used by one thread at a time: SQLite serialises writers anyway, and each
    // statement here is short (no file I/O happens under this lock).
    std::mutex db_mutex;
    sqlite::Database db;
    GroupSync group_sync;
    // Serialises stores of the same SOP Instance UID (lookup .. insert) without serialising all.
    std::array<std::mutex, 64> sop_locks;
    mutable std::atomic<std::uint64_t> temp_counter{0};

    std::mutex& sop_lock(const std::string& sop_instance_uid) {
        return sop_locks[std::hash<std::string>{}(sop_instance_uid) % sop_locks.size()];
    }
    std::filesystem::path new_temp_path() const;
    // Makes index commits (the WAL) and the named directories' entries durable: one shared round.
    void sync(const std::vector<std::filesystem::path>& dirs = {}) { group_sync.wait_durable(dirs); }
    // The directories to fsync after adding a file to `dir`, which make_directories may just
    // have created (then its parent, and that one's parent, got new entries too).
    static std::vector<std::filesystem::path> dirs_to_sync(const std::filesystem::path& dir, bool created);

    // Under db_mutex:
    std::optional<Job> find_job_locked(std::int64_t job_id);
    Job require_job_locked(std::int64_t job_id);  // IllegalTransitionError if unknown
    void set_job_state_locked(std::int64_t job_id, JobState from, JobState to);
    // from -> failed, with the error an operator reads in `jobs`.
    void fail_job_locked(std::int64_t job_id, JobState from, const std::string& error);
    void settle_job_locked(std::int64_t job_id, TimePoint now);
    void recover(TimePoint now);
    int fail_jobs_interrupted_too_often_locked();
    int remove_orphans_locked(TimePoint now);  // under db_mutex, in recover()
};

// SELECT list of a Job (alias j) and its predecessor (alias p); read with read_job().
inline constexpr const char* kJobSelect =
    "SELECT j.id, j.study_uid, j.study_generation, j.state, j.attempts, j.last_error, j.reason, "
    "j.created_at, j.updated_at, j.sr_path, j.sr_sop_instance_uid, j.sr_series_uid, j.sr_sop_class_uid, "
    "j.findings_json, p.study_uid, p.sr_series_uid, p.sr_sop_instance_uid, p.sr_sop_class_uid "
    "FROM jobs j LEFT JOIN jobs p ON p.id = j.predecessor_job_id ";
Job read_job(const sqlite::Statement& row);

inline constexpr const char* kDeliverySelect =
    "SELECT id, job_id, destination, state, attempts, created_at, next_attempt_at, last_error FROM deliveries ";
Delivery read_delivery(const sqlite::Statement& row);

JobState job_state_from_db(const std::string& text);

}  // namespace modic::storage
