#include "group_sync.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "modic/storage/errors.hpp"

namespace modic::storage {

GroupSync::GroupSync(const std::filesystem::path& dir, bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
    dir_fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0)
        throw StorageError(fmt::format("cannot open {} for syncing: {}", dir.string(), std::strerror(errno)));
}

GroupSync::~GroupSync() {
    if (dir_fd_ >= 0) ::close(dir_fd_);
}

void GroupSync::wait_durable() {
    if (!enabled_) return;
    std::unique_lock lock(mutex_);
    const std::uint64_t ticket = ++requested_;
    while (completed_ < ticket) {
        if (syncing_) {
            round_done_.wait(lock);
            continue;
        }
        // Lead a round covering every ticket handed out so far: their writes are complete.
        syncing_ = true;
        const std::uint64_t covered = requested_;
        lock.unlock();
        const int result = ::syncfs(dir_fd_);
        const int error = errno;
        lock.lock();
        syncing_ = false;
        ++rounds_;
        completed_ = covered;
        if (result != 0) {
            failed_up_to_ = covered;
            last_failure_ = std::strerror(error);
        }
        round_done_.notify_all();
    }
    // After a failed syncfs the kernel may have dropped the dirty pages (fsyncgate): a later
    // successful round does not prove them written, so the failure is reported to its tickets.
    if (ticket <= failed_up_to_ && !last_failure_.empty())
        throw StorageError(fmt::format("syncfs failed: {}", last_failure_));
}

std::uint64_t GroupSync::rounds() const {
    std::lock_guard lock(mutex_);
    return rounds_;
}

}  // namespace modic::storage
