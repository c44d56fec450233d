// Group commit: many writers, one sync. A writer finishes its writes (file, rename, index
// commit), then calls wait_durable(); the first waiter becomes the leader and runs one syncfs()
// on the store's filesystem, which covers every write issued before it started; writers that
// arrive meanwhile wait for the next round, which one of them leads. N parallel associations
// thus pay about one sync per round instead of N.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>

namespace modic::storage {

class GroupSync {
public:
    // Opens `dir` (a directory on the store's filesystem). enabled = false makes every call a
    // no-op (storage.fsync = false).
    GroupSync(const std::filesystem::path& dir, bool enabled);
    ~GroupSync();
    GroupSync(const GroupSync&) = delete;
    GroupSync& operator=(const GroupSync&) = delete;

    // Returns once a sync that started after this call has completed. Throws StorageError if
    // that sync failed.
    void wait_durable();

    std::uint64_t rounds() const;  // syncs run so far (for tests and benchmarks)

private:
    int dir_fd_ = -1;
    bool enabled_;
    mutable std::mutex mutex_;
    std::condition_variable round_done_;
    std::uint64_t requested_ = 0;   // tickets handed out
    std::uint64_t completed_ = 0;   // every ticket <= this is durable (or failed)
    std::uint64_t failed_up_to_ = 0;
    std::string last_failure_;
    bool syncing_ = false;
    std::uint64_t rounds_ = 0;
};

}  // namespace modic::storage
