// Small POSIX file helpers for the store: exclusive creates, no-replace renames, fsyncs, statvfs.
// Each error names the file and the system's reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

#include "modic/storage/errors.hpp"

namespace modic::storage::file_io {

// Creates `file` (must not exist) with `bytes`; on any failure removes it and throws StorageError
// (DiskBelowWatermarkError-free: ENOSPC is reported as a StorageError naming the file).
// fsyncs the file first when `fsync_file`.
void write_new_file(const std::filesystem::path& file, std::span<const std::byte> bytes, bool fsync_file);

// rename(2) that refuses to replace: false if `to` exists (nothing changed). Throws on other errors.
bool rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to);

// rename(2), replacing `to` if it exists.
void rename_replace(const std::filesystem::path& from, const std::filesystem::path& to);

// fsync of a file or directory.
void fsync_path(const std::filesystem::path& path);

// create_directories; returns true if something was created.
bool make_directories(const std::filesystem::path& dir);

// Reads the whole file and returns its checksum64; `size` gets its size. Throws if unreadable.
std::uint64_t checksum_of_file(const std::filesystem::path& file, std::uint64_t& size);

struct DiskSpace {
    std::uint64_t free_bytes = 0;   // available to unprivileged users
    std::uint64_t total_bytes = 0;
};
DiskSpace disk_space(const std::filesystem::path& path);

// Removes a file, ignoring "does not exist"; never throws.
void remove_quietly(const std::filesystem::path& file) noexcept;

// Thrown by ExclusiveHold when another process holds the file; the message names its pid.
struct HeldByAnotherProcess : StorageError {
    using StorageError::StorageError;
};

// One process's exclusive hold on `lock_file` (flock), held until destruction or the process's
// end, however it ends; the file holds the holder's pid. Throws HeldByAnotherProcess when another
// process holds it, StorageError when the file cannot be opened or locked at all.
class ExclusiveHold {
public:
    explicit ExclusiveHold(const std::filesystem::path& lock_file);
    ~ExclusiveHold();
    ExclusiveHold(const ExclusiveHold&) = delete;
    ExclusiveHold& operator=(const ExclusiveHold&) = delete;

private:
    int fd_ = -1;
};

}  // namespace modic::storage::file_io
