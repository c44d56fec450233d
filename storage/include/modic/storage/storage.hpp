// modic_storage: the node's file store and its SQLite index and job queue. Knows the filesystem
// and SQLite; nothing of DICOM parsing, ITK or networking.
//
// Layout under the storage root:
//   index.sqlite (+ -wal, -shm)            the index (WAL mode, schema version in user_version)
//   images/<study>/<series>/<sop>.dcm      received instances (path from validated UIDs)
//   conflicts/<sop>/<unix-ms>-<n>.dcm      instances whose SOP Instance UID clashed
//   sr/<study>/<sr-sop>.dcm                SRs the node wrote
//   tmp/                                   temporary files (same filesystem; emptied at open)
//
// Durability: with fsync on, store_instance returns only after the file's bytes, its directory
// entry and its index row are on disk: the bytes are fdatasync'ed before the rename; then
// concurrent callers share one round of directory and WAL fsyncs (group commit), which is what
// makes parallel associations fast.
//
// Thread safety: every member function may be called from any thread at the same time.
// Several processes may open the same root (e.g. `modic-node status` beside a running node):
// open them with recover = false.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "modic/storage/errors.hpp"
#include "modic/storage/types.hpp"
#include "modic/storage/uid.hpp"

namespace modic::storage {

struct StorageOptions {
    std::filesystem::path root;            // created if missing
    bool fsync = true;                     // storage.fsync
    std::uint64_t min_free_bytes = 1024ull * 1024 * 1024;  // storage.min_free_mb * 2^20
    // With fsync on: concurrent stores share one round of directory and WAL fsyncs (true), or
    // each runs its own at once and lets the filesystem journal merge them (false). Both are
    // equally durable; which is faster depends on the filesystem (see storage_ingest_bench).
    bool group_commit = true;
    // Crash recovery at open (only the process that runs the node): jobs in analysing go back to
    // queued; reporting jobs whose SR file exists keep going to delivery with the same SR;
    // deliveries in sending go back to pending (due now); pending ones keep their schedule;
    // tmp/ is emptied. Admin commands open with false and change nothing at open.
    bool recover = true;
};

// The current schema version (PRAGMA user_version); older databases are migrated at open.
inline constexpr int kSchemaVersion = 2;

// 64-bit checksum of bytes (a fast non-cryptographic hash), stored per instance.
std::uint64_t checksum64(std::span<const std::byte> bytes);

class Storage {
public:
    // Opens (creating if needed) the root and the index, migrates the schema, recovers if asked.
    // Throws StorageError naming the root or the database.
    explicit Storage(StorageOptions options);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    const StorageOptions& options() const noexcept;
    std::filesystem::path database_path() const;
    std::filesystem::path temp_dir() const;  // root/tmp: same filesystem as the store

    // ---- receiving -------------------------------------------------------------------------

    // Stores one received instance (the complete DICOM file bytes: preamble, meta, dataset).
    // Validates the UIDs (InvalidUidError), checks the watermark (DiskBelowWatermarkError), then:
    //  - same SOP Instance UID already held with the same Study, Series and SOP class: duplicate,
    //    nothing written (if the held file is missing or its checksum is wrong - a crash before
    //    its Success - it is replaced and the outcome is stored);
    //  - same SOP Instance UID under another Study/Series/class: conflict, written under
    //    conflicts/ and recorded, the held instance untouched;
    //  - else: written to tmp/, renamed to images/<study>/<series>/<sop>.dcm, indexed; the study's
    //    generation and last-received time advance; a differing PatientID flags the study.
    // Returns after everything is durable (if fsync is on). On any error no file is left behind.
    StoreResult store_instance(const IncomingInstance& instance, std::span<const std::byte> bytes);

    // Same, for a complete file the caller already wrote under temp_dir() (e.g. DCMTK wrote the
    // received dataset there). The file is moved (renamed) into place, or deleted if it is a
    // duplicate or on error: after the call it no longer exists at `temp_file`.
    StoreResult store_instance_file(const IncomingInstance& instance,
                                    const std::filesystem::path& temp_file);

    // A unique new path under temp_dir() (nothing is created), for store_instance_file.
    std::filesystem::path new_temp_path() const;

    // Throws DiskBelowWatermarkError if free space on the store is below the watermark. Lets the
    // SCP refuse early; store_instance checks again itself.
    void check_free_space() const;

    // ---- studies ---------------------------------------------------------------------------

    // Studies whose last instance arrived at or before now - quiet, whose current content
    // (generation) has no job yet, and that have no job queued or analysing (call again when a
    // job leaves analysing: a study that got instances meanwhile waits for it). For each, a job is
    // created atomically and returned: queued, or not_analyzable (reason "instances with
    // different PatientIDs") for a mixed-patient study. The new job's predecessor and
    // sr_series_uid come from the study's latest SR, if any. The completeness timer calls this.
    std::vector<Job> create_jobs_for_quiet_studies(std::chrono::seconds quiet, TimePoint now);

    // When the next study will become quiet (its last_received_at + quiet) among the studies that
    // would need a job; nullopt if none. Lets the timer sleep exactly.
    std::optional<TimePoint> next_quiet_deadline(std::chrono::seconds quiet);

    std::optional<Study> find_study(const std::string& study_uid);
    std::optional<StudyOverview> study_overview(const std::string& study_uid);
    // The instance files of a study (conflicts excluded), ordered by series then SOP UID.
    std::vector<InstanceFile> study_instances(const std::string& study_uid);
    std::vector<Study> list_studies(std::size_t limit = 1000);
    std::vector<Conflict> list_conflicts(std::size_t limit = 1000);

    // ---- jobs ------------------------------------------------------------------------------
    //
    // Allowed transitions (anything else throws IllegalTransitionError and changes nothing):
    //   queued    -> analysing (claim_next_job) | ignored | not_analyzable | failed (set_job_outcome)
    //   analysing -> reporting | done (record_report) | failed | ignored | not_analyzable
    //                                                                     (set_job_outcome)
    //             -> queued (recovery at open) | failed (recovery at open, after
    //                kMaxInterruptedAnalyses attempts: the analysis may be what stops the node)
    //   not_analyzable -> reporting | done (record_report: an SR saying so is sent)
    //   reporting -> delivered (every delivery sent) | failed (a delivery gave up and none pending)
    //   failed    -> queued | reporting (retry_job)

    // Analyses interrupted this many times (found "analysing" at open) fail instead of running again.
    static constexpr int kMaxInterruptedAnalyses = 3;

    // Takes the oldest queued job, moves it to analysing, attempts + 1. nullopt if none.
    std::optional<Job> claim_next_job();

    // Ends a queued / analysing job without an SR: ignored (routing), not_analyzable (e.g.
    // "Enhanced MR not yet supported"; `detail` becomes reason) or failed (`detail` becomes
    // last_error).
    void set_job_outcome(std::int64_t job_id, JobState outcome, const std::string& detail);

    // The SR of a job has been written (durably, e.g. with write_sr_file) at `sr_path`: records
    // its path, UIDs and the findings JSON, and creates one pending delivery per destination (due
    // now). With no destination the job becomes done, else reporting. From analysing or
    // not_analyzable. The SR path and UID are stored before any send, so every retry sends the
    // same bytes.
    Job record_report(std::int64_t job_id, const std::filesystem::path& sr_path,
                      const SrReference& sr, const std::string& findings_json,
                      const std::vector<std::string>& destinations);

    // Writes an SR file durably (tmp + fsync + rename + dir fsync) to sr/<study>/<sop>.dcm and
    // returns its path. Never overwrites an existing file (StorageError).
    std::filesystem::path write_sr_file(const std::string& study_uid,
                                        const std::string& sr_sop_instance_uid,
                                        std::span<const std::byte> bytes);

    std::optional<Job> find_job(std::int64_t job_id);
    // Newest first; all states if `state` is nullopt.
    std::vector<Job> list_jobs(std::optional<JobState> state = std::nullopt,
                               std::size_t limit = 1000);

    // `retry JOB`: a failed job goes back to queued when it has no SR yet (analysis failed), or
    // to reporting with its given-up deliveries pending again (due now) when it has one.
    // Throws IllegalTransitionError for any other state or an unknown id.
    RetryResult retry_job(std::int64_t job_id, TimePoint now);

    // ---- deliveries ------------------------------------------------------------------------

    // Pending deliveries due at `now` (of jobs in reporting) are moved to sending, attempts + 1,
    // and returned (at most `limit`). Each must end with record_delivery_sent or _failed.
    std::vector<Delivery> claim_due_deliveries(TimePoint now, std::size_t limit = 16);

    // The earliest next_attempt_at of a pending delivery; nullopt if none.
    std::optional<TimePoint> next_delivery_due();

    // sending -> sent. When every delivery of the job is sent, the job becomes delivered.
    void record_delivery_sent(std::int64_t delivery_id);

    // sending -> pending, next attempt at now + initial * 2^(attempts-1) capped at max; or
    // gave_up when now is past created_at + give_up_after. When no delivery of the job is pending
    // or sending and one gave up, the job becomes failed. Returns the updated delivery.
    Delivery record_delivery_failed(std::int64_t delivery_id, const std::string& error,
                                    TimePoint now, const RetryPolicy& policy);

    std::vector<Delivery> job_deliveries(std::int64_t job_id);

    // ---- administration and retention ------------------------------------------------------

    StatusSummary status();

    // Deletes received images of studies whose latest job ended (delivered, done, ignored,
    // not_analyzable) when delete_images_after_delivery, and images received more than
    // image_retention_days ago (of studies with no job queued/analysing); SR files written more
    // than sr_retention_days ago. Index rows of deleted images are removed (the study row stays).
    RetentionResult apply_retention(const RetentionPolicy& policy, TimePoint now);

    // Makes every write issued so far durable (one shared sync round); a no-op with fsync off.
    void sync();

    // Group-commit rounds run since open (0 with fsync off): images stored / rounds = how many
    // writers shared each round. For benchmarks and diagnostics.
    std::uint64_t sync_rounds() const;

private:
    struct Impl;
    class Receiver;
    std::unique_ptr<Impl> impl_;
};

}  // namespace modic::storage
