// The records modic_storage stores and returns. Times are system_clock time points, stored as
// Unix milliseconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modic::storage {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

// What the SCP knows about a received instance (taken from its dataset and the association).
struct IncomingInstance {
    std::string study_uid;
    std::string series_uid;
    std::string sop_instance_uid;
    std::string sop_class_uid;
    std::string transfer_syntax_uid;
    std::string calling_ae;
    // Kept in the index for the mixed-patient check; never logged.
    std::string patient_id;
    // For routing (may be empty).
    std::string modality;
    std::string body_part;
    std::string study_description;
    std::string series_description;
};

enum class StoreOutcome {
    stored,     // new instance: written, indexed (and durable if fsync is on)
    duplicate,  // same SOP Instance UID with the same Study, Series and SOP class: already held;
                // answer Success, nothing written
    conflict,   // same SOP Instance UID under another Study/Series/SOP class: written apart
                // under conflicts/, recorded, never overwriting; it is not part of any study
};

struct StoreResult {
    StoreOutcome outcome = StoreOutcome::stored;
    std::filesystem::path path;  // the file holding the instance (the existing one for duplicate)
    std::uint64_t size = 0;
    std::uint64_t checksum = 0;  // 64-bit hash of the file's bytes (see checksum64)
};

// Job states. queued -> analysing -> reporting -> delivered, or done (no destination) / failed /
// ignored / not_analyzable. See Storage for the allowed transitions.
enum class JobState { queued, analysing, reporting, delivered, done, failed, ignored, not_analyzable };

std::string_view to_string(JobState state);
// Parses "queued", "analysing", ... (also "not_analysable"); nullopt if unknown.
std::optional<JobState> parse_job_state(std::string_view text);
const std::vector<JobState>& all_job_states();

enum class DeliveryState { pending, sending, sent, gave_up };
std::string_view to_string(DeliveryState state);
std::optional<DeliveryState> parse_delivery_state(std::string_view text);

// An SR the node wrote, as the next SR of the same study names it (Predecessor Documents).
struct SrReference {
    std::string study_uid;
    std::string series_uid;
    std::string sop_instance_uid;
    std::string sop_class_uid;
};

struct Job {
    std::int64_t id = 0;
    std::string study_uid;
    std::int64_t study_generation = 0;  // the study content this job analyses (see Study)
    JobState state = JobState::queued;
    int attempts = 0;             // analysis attempts (incremented by claim_next_job)
    std::string last_error;       // empty if none
    std::string reason;           // why ignored / not_analyzable (empty otherwise)
    TimePoint created_at;
    TimePoint updated_at;
    // The SR, once written (record_report). sr_series_uid is pre-filled at creation with the
    // previous SR's series when the study had one: reuse it.
    std::optional<std::filesystem::path> sr_path;
    std::string sr_sop_instance_uid;
    std::string sr_series_uid;
    std::string sr_sop_class_uid;
    std::string findings_json;
    // The latest SR written for this study by an earlier job, if any: the new SR names it.
    std::optional<SrReference> predecessor;
};

struct Delivery {
    std::int64_t id = 0;
    std::int64_t job_id = 0;
    std::string destination;  // destination name from the configuration
    DeliveryState state = DeliveryState::pending;
    int attempts = 0;
    TimePoint created_at;
    TimePoint next_attempt_at;
    std::string last_error;
};

// A study as the index knows it.
struct Study {
    std::string study_uid;
    std::string study_description;
    std::int64_t generation = 0;     // +1 for each new (non-duplicate) instance
    std::int64_t instance_count = 0;
    TimePoint first_received_at;
    TimePoint last_received_at;
    bool mixed_patients = false;     // instances with different PatientIDs were received
};

struct SeriesInfo {
    std::string series_uid;
    std::string modality;
    std::string body_part;
    std::string series_description;
    std::vector<std::string> sop_class_uids;  // distinct
    std::int64_t instance_count = 0;
};

// What the routing and the analysis need about one study.
struct StudyOverview {
    Study study;
    std::vector<SeriesInfo> series;
    std::vector<std::string> calling_aes;  // distinct
};

struct InstanceFile {
    std::string sop_instance_uid;
    std::string series_uid;
    std::string sop_class_uid;
    std::string transfer_syntax_uid;
    std::filesystem::path path;
    std::uint64_t size = 0;
    std::uint64_t checksum = 0;
};

struct Conflict {
    std::int64_t id = 0;
    std::string sop_instance_uid;
    std::string study_uid;            // what the conflicting instance said
    std::string series_uid;
    std::string sop_class_uid;
    std::string existing_study_uid;   // what the index already held
    std::string existing_series_uid;
    std::string calling_ae;
    std::filesystem::path path;       // under conflicts/
    TimePoint received_at;
};

// For `modic-node status`.
struct StatusSummary {
    std::map<JobState, std::int64_t> jobs_by_state;            // every state, 0 included
    std::map<DeliveryState, std::int64_t> deliveries_by_state;  // every state, 0 included
    std::int64_t studies = 0;
    std::int64_t instances = 0;
    std::int64_t conflicts = 0;
    std::uint64_t stored_bytes = 0;  // sum of indexed instance sizes
    std::uint64_t disk_free_bytes = 0;
    std::uint64_t disk_total_bytes = 0;
    std::optional<TimePoint> last_received_at;
};

// Backoff of deliveries: initial, doubling, capped at max; give up when an attempt fails later
// than give_up_after since the delivery was created.
struct RetryPolicy {
    std::chrono::seconds initial{30};
    std::chrono::seconds max{3600};
    std::chrono::seconds give_up_after{24 * 3600};
};

// Retention: 0 days = keep forever.
struct RetentionPolicy {
    bool delete_images_after_delivery = false;
    int image_retention_days = 0;
    int sr_retention_days = 0;
};

struct RetentionResult {
    std::int64_t images_deleted = 0;
    std::uint64_t image_bytes_freed = 0;
    std::int64_t srs_deleted = 0;
};

// What `retry JOB` did.
struct RetryResult {
    JobState new_state = JobState::queued;
    int deliveries_rearmed = 0;
};

}  // namespace modic::storage
