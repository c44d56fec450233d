// Storage: opening, crash recovery and receiving instances.
#include <unistd.h>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "file_io.hpp"
#include "schema.hpp"
#include "storage_impl.hpp"

namespace modic::storage {
namespace {

std::filesystem::path prepared_root(const std::filesystem::path& root) {
    if (root.empty()) throw StorageError("storage root is empty");
    file_io::make_directories(root);
    for (const char* sub : {"images", "conflicts", "sr", "tmp"}) file_io::make_directories(root / sub);
    return root;
}

std::unique_ptr<file_io::ExclusiveHold> hold_for_serving(const std::filesystem::path& root) {
    try {
        return std::make_unique<file_io::ExclusiveHold>(root / "node.lock");
    } catch (const file_io::HeldByAnotherProcess& error) {
        throw StorageError(fmt::format("storage folder {} is in use by another modic-node ({}); stop that one, "
                                       "or give this one a storage_dir of its own",
                                       root.string(), error.what()));
    } catch (const StorageError& error) {
        // A filesystem without locks (some network mounts) must not keep the node from running.
        spdlog::warn("{}: a second node started on this storage folder would not be detected", error.what());
        return nullptr;
    }
}

void validate_instance_uids(const IncomingInstance& instance) {
    validate_uid(instance.study_uid, "Study Instance UID");
    validate_uid(instance.series_uid, "Series Instance UID");
    validate_uid(instance.sop_instance_uid, "SOP Instance UID");
    validate_uid(instance.sop_class_uid, "SOP Class UID");
}

struct HeldInstance {
    std::string study_uid;
    std::string series_uid;
    std::string sop_class_uid;
    std::filesystem::path path;
    std::uint64_t size = 0;
    std::uint64_t checksum = 0;
};

// The received bytes, from memory or from a file the caller wrote under tmp/.
struct Incoming {
    std::span<const std::byte> bytes;
    std::optional<std::filesystem::path> temp_file;
    std::uint64_t size = 0;
    std::uint64_t checksum = 0;
};

// True if the held file is what the index says it is (a crash before Success may have left the
// renamed file without its bytes).
bool held_file_intact(const HeldInstance& held) {
    try {
        std::uint64_t size = 0;
        return file_io::checksum_of_file(held.path, size) == held.checksum && size == held.size;
    } catch (const StorageError&) {
        return false;
    }
}

}  // namespace

Storage::Impl::Impl(StorageOptions opts)
    : options(std::move(opts)),
      images_dir(prepared_root(options.root) / "images"),
      conflicts_dir(options.root / "conflicts"),
      sr_dir(options.root / "sr"),
      tmp_dir(options.root / "tmp"),
      db_path(options.root / "index.sqlite"),
      serving_hold(options.recover ? hold_for_serving(options.root) : nullptr),
      db(db_path),
      group_sync(options.fsync, options.group_commit) {
    schema::open_and_migrate(db);
    group_sync.sync_always(db_path.string() + "-wal");
}

std::vector<std::filesystem::path> Storage::Impl::dirs_to_sync(const std::filesystem::path& dir, bool created) {
    if (!created) return {dir};
    return {dir, dir.parent_path(), dir.parent_path().parent_path()};
}

std::filesystem::path Storage::Impl::new_temp_path() const {
    return tmp_dir / fmt::format("{}-{}.part", ::getpid(), temp_counter.fetch_add(1));
}

Storage::Storage(StorageOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
    if (impl_->options.recover) impl_->recover(Clock::now());
    spdlog::info("storage open at {} (fsync {}, watermark {} MiB)", impl_->options.root.string(),
                 impl_->options.fsync ? "on" : "off", impl_->options.min_free_bytes >> 20);
}

Storage::~Storage() = default;

const StorageOptions& Storage::options() const noexcept { return impl_->options; }
std::filesystem::path Storage::database_path() const { return impl_->db_path; }
std::filesystem::path Storage::temp_dir() const { return impl_->tmp_dir; }
std::filesystem::path Storage::new_temp_path() const { return impl_->new_temp_path(); }
void Storage::sync() { impl_->sync(); }
std::uint64_t Storage::sync_rounds() const { return impl_->group_sync.rounds(); }

void Storage::check_free_space() const {
    const file_io::DiskSpace space = file_io::disk_space(impl_->options.root);
    if (space.free_bytes < impl_->options.min_free_bytes)
        throw DiskBelowWatermarkError(space.free_bytes, impl_->options.min_free_bytes);
}

// ---- recovery ----------------------------------------------------------------------------

void Storage::Impl::recover(TimePoint now) {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(tmp_dir, error))
        file_io::remove_quietly(entry.path());

    std::lock_guard lock(db_mutex);
    sqlite::Transaction transaction(db);
    const std::int64_t now_ms = to_millis(now);
    const int given_up = fail_jobs_interrupted_too_often_locked();
    db.statement("UPDATE jobs SET state = 'queued', updated_at = ? WHERE state = 'analysing'").bind_all(now_ms).run();
    const int requeued = db.changes();

    // Reporting jobs continue with the SR they wrote; one whose SR file vanished is analysed again.
    std::vector<std::pair<std::int64_t, std::string>> reporting;
    auto& select = db.statement("SELECT id, sr_path FROM jobs WHERE state = 'reporting'");
    select.reset();
    while (select.step()) reporting.emplace_back(select.integer(0), select.text(1));
    select.reset();
    for (const auto& [job_id, sr_path] : reporting) {
        if (!sr_path.empty() && std::filesystem::exists(sr_path, error)) continue;
        spdlog::error("job {}: SR file {} is missing at recovery; the study is analysed again", job_id, sr_path);
        db.statement("DELETE FROM deliveries WHERE job_id = ?").bind_all(job_id).run();
        db.statement("UPDATE jobs SET state = 'queued', sr_path = NULL, sr_sop_instance_uid = '', "
                     "sr_written_at = NULL, findings_json = '', updated_at = ? WHERE id = ?")
            .bind_all(now_ms, job_id)
            .run();
    }
    db.statement("UPDATE deliveries SET state = 'pending', next_attempt_at = ? WHERE state = 'sending'")
        .bind_all(now_ms)
        .run();
    const int resent = db.changes();

    // Instances indexed shortly before a crash may have been renamed before their bytes reached
    // the disk: drop the ones whose file is missing or of the wrong size (never acknowledged).
    std::vector<std::tuple<std::string, std::string, std::int64_t>> recent;
    auto& instances = db.statement("SELECT sop_instance_uid, path, size FROM instances WHERE received_at >= ?");
    instances.bind_all(now_ms - 3600 * 1000);
    while (instances.step()) recent.emplace_back(instances.text(0), instances.text(1), instances.integer(2));
    instances.reset();
    int dropped = 0;
    for (const auto& [sop, path, size] : recent) {
        const auto actual = std::filesystem::file_size(path, error);
        if (!error && static_cast<std::int64_t>(actual) == size) continue;
        spdlog::warn("instance {}: file {} is missing or incomplete after a crash; dropped from the index", sop, path);
        db.statement("DELETE FROM instances WHERE sop_instance_uid = ?").bind_all(sop).run();
        file_io::remove_quietly(path);
        ++dropped;
    }
    const int orphans = remove_orphans_locked(now);
    transaction.commit();
    if (requeued || given_up || !reporting.empty() || resent || dropped || orphans)
        spdlog::info("recovery: {} job(s) back to queued, {} failed after repeated interruptions, {} job(s) "
                     "continue reporting, {} delivery(ies) due again, {} incomplete instance(s) dropped, "
                     "{} unindexed file(s) removed",
                     requeued, given_up, reporting.size(), resent, dropped, orphans);
}

// The analysis runs in the node's process: a study whose analysis brings the process down (a
// decoder crashing on its pixels) is found "analysing" at every start. Analysed again each time,
// it would bring the node down at each restart and hold every study queued behind it. A job
// interrupted kMaxInterruptedAnalyses times (each claim counts an attempt) fails instead, for an
// operator to look at; `modic-node retry` gives it fresh attempts.
int Storage::Impl::fail_jobs_interrupted_too_often_locked() {
    std::vector<std::pair<std::int64_t, std::string>> poisoned;
    auto& select = db.statement("SELECT id, study_uid FROM jobs WHERE state = 'analysing' AND attempts >= ?");
    select.reset();
    select.bind_all(Storage::kMaxInterruptedAnalyses);
    while (select.step()) poisoned.emplace_back(select.integer(0), select.text(1));
    select.reset();
    const std::string error = fmt::format("the analysis was interrupted {} times (the node stopped during it each "
                                          "time, possibly because of this study); retry the job to analyse again",
                                          Storage::kMaxInterruptedAnalyses);
    for (const auto& [job_id, study_uid] : poisoned) {
        spdlog::error("job {} study {}: failed: {}", job_id, study_uid, error);
        fail_job_locked(job_id, JobState::analysing, error);
    }
    return static_cast<int>(poisoned.size());
}

// A crash between an instance's rename and its index commit leaves a file the index does not
// know. Its sender never got Success (that waits for the index), so it is no received data: it
// is removed, or a later re-send would replace it anyway. Only series folders changed in the
// last day are read, so a start after a crash does not walk the whole archive.
int Storage::Impl::remove_orphans_locked(TimePoint now) {
    constexpr auto kRecent = std::chrono::hours(24);
    std::error_code error;
    int removed = 0;
    // Files are named <SOP Instance UID>.dcm: the lookup goes through the primary key.
    auto& known = db.statement("SELECT 1 FROM instances WHERE sop_instance_uid = ? AND path = ?");
    for (const auto& study : std::filesystem::directory_iterator(images_dir, error)) {
        if (!study.is_directory(error)) continue;
        for (const auto& series : std::filesystem::directory_iterator(study.path(), error)) {
            if (!series.is_directory(error)) continue;
            const auto changed = std::filesystem::last_write_time(series.path(), error);
            if (error || std::chrono::file_clock::to_sys(changed) < now - kRecent) continue;
            for (const auto& file : std::filesystem::directory_iterator(series.path(), error)) {
                if (!file.is_regular_file(error)) continue;
                known.bind_all(file.path().stem().string(), file.path().string());
                const bool indexed = known.step();
                known.reset();
                if (indexed) continue;
                spdlog::warn("recovery: {} is in no index row (a crash before its Success); removed",
                             file.path().string());
                file_io::remove_quietly(file.path());
                ++removed;
            }
        }
    }
    return removed;
}

// ---- receiving ---------------------------------------------------------------------------

namespace {

std::optional<HeldInstance> find_held(sqlite::Database& db, const std::string& sop_instance_uid) {
    auto& select = db.statement(
        "SELECT study_uid, series_uid, sop_class_uid, path, size, checksum FROM instances WHERE sop_instance_uid = ?");
    select.bind_all(sop_instance_uid);
    std::optional<HeldInstance> held;
    if (select.step())
        held = HeldInstance{select.text(0), select.text(1), select.text(2), select.text(3),
                            static_cast<std::uint64_t>(select.integer(4)), static_cast<std::uint64_t>(select.integer(5))};
    select.reset();
    return held;
}

// Adds the instance's study and series (or advances them) and its row, in one transaction.
void index_instance(sqlite::Database& db, const IncomingInstance& in, const Incoming& data,
                    const std::filesystem::path& path, bool replace_row, TimePoint now) {
    const std::int64_t now_ms = to_millis(now);
    sqlite::Transaction transaction(db);
    auto& study = db.statement("SELECT patient_id, mixed_patients FROM studies WHERE study_uid = ?");
    study.bind_all(in.study_uid);
    const bool known = study.step();
    const std::string first_patient_id = known ? study.text(0) : std::string();
    const bool was_mixed = known && study.integer(1) != 0;
    study.reset();
    if (!known) {
        db.statement("INSERT INTO studies (study_uid, study_description, patient_id, generation, first_received_at, "
                     "last_received_at) VALUES (?, ?, ?, 1, ?, ?)")
            .bind_all(in.study_uid, in.study_description, in.patient_id, now_ms, now_ms)
            .run();
    } else {
        const bool mixed = was_mixed || first_patient_id != in.patient_id;
        if (mixed && !was_mixed)
            spdlog::warn("study {}: instance {} has another PatientID than the earlier instances; the study will "
                         "not be analysed", in.study_uid, in.sop_instance_uid);
        db.statement("UPDATE studies SET generation = generation + 1, last_received_at = MAX(last_received_at, ?), "
                     "mixed_patients = ?, study_description = CASE WHEN study_description = '' THEN ? "
                     "ELSE study_description END WHERE study_uid = ?")
            .bind_all(now_ms, mixed ? 1 : 0, in.study_description, in.study_uid)
            .run();
    }
    db.statement("INSERT OR IGNORE INTO series (study_uid, series_uid, modality, body_part, series_description) "
                 "VALUES (?, ?, ?, ?, ?)")
        .bind_all(in.study_uid, in.series_uid, in.modality, in.body_part, in.series_description)
        .run();
    if (replace_row) {
        db.statement("UPDATE instances SET transfer_syntax_uid = ?, path = ?, size = ?, checksum = ?, calling_ae = ?, "
                     "patient_id = ?, received_at = ? WHERE sop_instance_uid = ?")
            .bind_all(in.transfer_syntax_uid, path.string(), data.size, data.checksum, in.calling_ae, in.patient_id,
                      now_ms, in.sop_instance_uid)
            .run();
    } else {
        db.statement("INSERT INTO instances (sop_instance_uid, series_uid, study_uid, sop_class_uid, "
                     "transfer_syntax_uid, path, size, checksum, calling_ae, patient_id, received_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind_all(in.sop_instance_uid, in.series_uid, in.study_uid, in.sop_class_uid, in.transfer_syntax_uid,
                      path.string(), data.size, data.checksum, in.calling_ae, in.patient_id, now_ms)
            .run();
    }
    transaction.commit();
}

}  // namespace

class Storage::Receiver {
public:
    Receiver(Impl& impl, const IncomingInstance& in, Incoming& data) : impl_(impl), in_(in), data_(data) {}

    StoreResult run() {
        validate_instance_uids(in_);
        const file_io::DiskSpace space = file_io::disk_space(impl_.options.root);
        if (space.free_bytes < impl_.options.min_free_bytes)
            throw DiskBelowWatermarkError(space.free_bytes, impl_.options.min_free_bytes);
        measure();
        std::lock_guard sop_guard(impl_.sop_lock(in_.sop_instance_uid));
        std::optional<HeldInstance> held;
        {
            std::lock_guard lock(impl_.db_mutex);
            held = find_held(impl_.db, in_.sop_instance_uid);
        }
        if (!held) return store_new(false);
        if (held->study_uid != in_.study_uid || held->series_uid != in_.series_uid ||
            held->sop_class_uid != in_.sop_class_uid)
            return store_conflict(*held);
        if (held_file_intact(*held)) {
            spdlog::debug("instance {} from {}: duplicate, already held", in_.sop_instance_uid, in_.calling_ae);
            return StoreResult{StoreOutcome::duplicate, held->path, held->size, held->checksum};
        }
        spdlog::warn("instance {}: held file {} is damaged; replaced by the re-sent copy", in_.sop_instance_uid,
                     held->path.string());
        return store_new(true);
    }

private:
    void measure() {
        if (data_.temp_file) {
            data_.checksum = file_io::checksum_of_file(*data_.temp_file, data_.size);
            // The caller wrote it; its bytes must be on disk before it gets its final name.
            if (impl_.options.fsync) file_io::fsync_path(*data_.temp_file);
        } else {
            data_.size = data_.bytes.size();
            data_.checksum = checksum64(data_.bytes);
        }
    }

    // Puts the bytes at a temporary path (if they are not in a file already) and returns it.
    std::filesystem::path staged() {
        if (data_.temp_file) return *data_.temp_file;
        const std::filesystem::path temp = impl_.new_temp_path();
        file_io::write_new_file(temp, data_.bytes, impl_.options.fsync);
        data_.temp_file = temp;
        return temp;
    }

    StoreResult store_new(bool replace_row) {
        const std::filesystem::path dir = impl_.images_dir / in_.study_uid / in_.series_uid;
        const std::filesystem::path path = dir / (in_.sop_instance_uid + ".dcm");
        const bool created = file_io::make_directories(dir);
        // The index is the truth: a file at `path` that it does not know is an orphan of a crash
        // before Success (or the damaged copy being replaced), so replacing it is safe.
        file_io::rename_replace(staged(), path);
        data_.temp_file.reset();
        try {
            std::lock_guard lock(impl_.db_mutex);
            index_instance(impl_.db, in_, data_, path, replace_row, Clock::now());
        } catch (...) {
            file_io::remove_quietly(path);
            throw;
        }
        impl_.sync(Impl::dirs_to_sync(dir, created));
        spdlog::debug("instance {} from {}: stored in study {} series {} ({} bytes)", in_.sop_instance_uid,
                      in_.calling_ae, in_.study_uid, in_.series_uid, data_.size);
        return StoreResult{StoreOutcome::stored, path, data_.size, data_.checksum};
    }

    StoreResult store_conflict(const HeldInstance& held) {
        const std::filesystem::path dir = impl_.conflicts_dir / in_.sop_instance_uid;
        const bool created = file_io::make_directories(dir);
        const TimePoint now = Clock::now();
        const std::filesystem::path source = staged();
        std::filesystem::path path;
        for (int attempt = 0;; ++attempt) {
            path = dir / fmt::format("{}-{}.dcm", to_millis(now), attempt);
            if (file_io::rename_no_replace(source, path)) break;
        }
        data_.temp_file.reset();
        try {
            std::lock_guard lock(impl_.db_mutex);
            impl_.db
                .statement("INSERT INTO conflicts (sop_instance_uid, study_uid, series_uid, sop_class_uid, "
                           "existing_study_uid, existing_series_uid, calling_ae, path, received_at) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind_all(in_.sop_instance_uid, in_.study_uid, in_.series_uid, in_.sop_class_uid, held.study_uid,
                          held.series_uid, in_.calling_ae, path.string(), to_millis(now))
                .run();
        } catch (...) {
            file_io::remove_quietly(path);
            throw;
        }
        impl_.sync({dir, created ? impl_.conflicts_dir : dir});
        spdlog::warn("instance {} from {}: conflict, held under study {} series {} but sent under study {} series {} "
                     "(class {}); kept apart at {}", in_.sop_instance_uid, in_.calling_ae, held.study_uid,
                     held.series_uid, in_.study_uid, in_.series_uid, in_.sop_class_uid, path.string());
        return StoreResult{StoreOutcome::conflict, path, data_.size, data_.checksum};
    }

    Impl& impl_;
    const IncomingInstance& in_;
    Incoming& data_;
};

StoreResult Storage::store_instance(const IncomingInstance& instance, std::span<const std::byte> bytes) {
    Incoming data{bytes, std::nullopt};
    try {
        return Receiver(*impl_, instance, data).run();
    } catch (...) {
        if (data.temp_file) file_io::remove_quietly(*data.temp_file);
        throw;
    }
}

StoreResult Storage::store_instance_file(const IncomingInstance& instance, const std::filesystem::path& temp_file) {
    Incoming data{{}, temp_file};
    try {
        StoreResult result = Receiver(*impl_, instance, data).run();
        if (data.temp_file) file_io::remove_quietly(*data.temp_file);  // a duplicate's copy
        return result;
    } catch (...) {
        if (data.temp_file) file_io::remove_quietly(*data.temp_file);
        throw;
    }
}

}  // namespace modic::storage
