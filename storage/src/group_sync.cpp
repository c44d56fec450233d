#include "group_sync.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include <fmt/core.h>

#include "modic/storage/errors.hpp"

namespace modic::storage {

GroupSync::GroupSync(bool enabled, bool grouped) : enabled_(enabled), grouped_(grouped) {}

void GroupSync::sync_always(const std::filesystem::path& file) {
    std::lock_guard lock(mutex_);
    always_.push_back(file);
}

std::string GroupSync::run_round(const std::set<std::filesystem::path>& paths) {
    for (const auto& path : paths) {
        const bool always_synced = std::find(always_.begin(), always_.end(), path) != always_.end();
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT) continue;  // e.g. no WAL yet
            return fmt::format("cannot open {} to fsync it: {}", path.string(), std::strerror(errno));
        }
        // Directories: fsync (their entries are what matters). The WAL: fdatasync, its times need
        // not be journalled (a size change still is).
        const int result = always_synced ? ::fdatasync(fd) : ::fsync(fd);
        const int error = errno;
        ::close(fd);
        if (result != 0) return fmt::format("fsync of {} failed: {}", path.string(), std::strerror(error));
    }
    return {};
}

void GroupSync::wait_durable(const std::vector<std::filesystem::path>& dirs) {
    if (!enabled_) return;
    if (!grouped_) {
        {
            std::lock_guard lock(mutex_);
            ++rounds_;
        }
        std::string failure = run_round({dirs.begin(), dirs.end()});
        if (failure.empty()) failure = run_round({always_.begin(), always_.end()});
        if (!failure.empty()) throw StorageError(failure);
        return;
    }
    std::unique_lock lock(mutex_);
    pending_.insert(dirs.begin(), dirs.end());
    const std::uint64_t ticket = ++requested_;
    while (completed_ < ticket) {
        if (syncing_) {
            round_done_.wait(lock);
            continue;
        }
        // Lead a round covering every ticket handed out so far: their writes are complete.
        syncing_ = true;
        const std::uint64_t first = completed_ + 1;
        const std::uint64_t covered = requested_;
        std::set<std::filesystem::path> paths;
        paths.swap(pending_);
        lock.unlock();
        std::string failure = run_round(paths);
        if (failure.empty()) failure = run_round({always_.begin(), always_.end()});
        lock.lock();
        syncing_ = false;
        ++rounds_;
        completed_ = covered;
        if (!failure.empty()) {
            // After a failed fsync the kernel may have dropped the dirty pages (fsyncgate): a
            // later successful round proves nothing about them, so the failure is final.
            failed_from_ = first;
            failed_to_ = covered;
            last_failure_ = failure;
        }
        round_done_.notify_all();
    }
    if (ticket >= failed_from_ && ticket <= failed_to_ && failed_to_ != 0) throw StorageError(last_failure_);
}

std::uint64_t GroupSync::rounds() const {
    std::lock_guard lock(mutex_);
    return rounds_;
}

}  // namespace modic::storage
