// Group commit: many writers, one sync round. Each writer makes its own file's bytes durable
// (fdatasync, in parallel: the filesystem journal merges them), renames it and commits its index
// row, then calls wait_durable() naming the directories it changed. The first waiter leads a
// round that fsyncs every directory named since the last round plus the always-synced files
// (the SQLite WAL); writers arriving meanwhile are covered by the next round, which one of them
// leads. N parallel associations thus share the directory and WAL syncs instead of paying N each.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace modic::storage {

class GroupSync {
public:
    // enabled = false makes every call a no-op (storage.fsync = false). grouped = false: each
    // caller runs its own fsyncs at once (the filesystem journal still merges concurrent ones).
    explicit GroupSync(bool enabled, bool grouped = true);
    GroupSync(const GroupSync&) = delete;
    GroupSync& operator=(const GroupSync&) = delete;

    // A file fdatasync'ed in every round (the index's WAL); call before any wait_durable.
    // Missing files are skipped.
    void sync_always(const std::filesystem::path& file);

    // Returns once a round that started after this call has fsynced `dirs` and the always-synced
    // files. Throws StorageError naming the path if that round failed.
    void wait_durable(const std::vector<std::filesystem::path>& dirs = {});

    bool enabled() const noexcept { return enabled_; }
    std::uint64_t rounds() const;  // rounds run so far (for tests and benchmarks)

private:
    std::string run_round(const std::set<std::filesystem::path>& paths);  // "" or the failure

    bool enabled_;
    bool grouped_;
    mutable std::mutex mutex_;
    std::condition_variable round_done_;
    std::vector<std::filesystem::path> always_;
    std::set<std::filesystem::path> pending_;  // named since the last round started
    std::uint64_t requested_ = 0;              // tickets handed out
    std::uint64_t completed_ = 0;              // every ticket <= this has had its round
    std::uint64_t failed_from_ = 0;            // tickets in [failed_from_, failed_to_] failed
    std::uint64_t failed_to_ = 0;
    std::string last_failure_;
    bool syncing_ = false;
    std::uint64_t rounds_ = 0;
};

}  // namespace modic::storage
