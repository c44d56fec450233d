// The errors of modic_storage. Each names what failed (file, UID, job id) so a log line says it.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace modic::storage {

// Base of every storage error. An SCP that gets one answers A700 (out of resources) unless a more
// specific type below says otherwise.
class StorageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A UID that cannot be used to build a path (not only digits and dots, longer than 64, leading or
// trailing dot, "..", empty). The SCP answers C000-class "cannot understand" (e.g. 0xC000).
class InvalidUidError : public StorageError {
public:
    InvalidUidError(std::string what_uid, std::string value, std::string reason);
    const std::string& which() const noexcept { return which_; }  // e.g. "SOP Instance UID"

private:
    std::string which_;
};

// Free disk space is below the configured watermark: nothing was written. SCP answers A700.
class DiskBelowWatermarkError : public StorageError {
public:
    DiskBelowWatermarkError(std::uint64_t free_bytes, std::uint64_t watermark_bytes);
    std::uint64_t free_bytes() const noexcept { return free_bytes_; }
    std::uint64_t watermark_bytes() const noexcept { return watermark_bytes_; }

private:
    std::uint64_t free_bytes_;
    std::uint64_t watermark_bytes_;
};

// A job or delivery transition that the state machine does not allow (e.g. delivered -> queued),
// or one on an unknown id. Nothing was changed.
class IllegalTransitionError : public StorageError {
public:
    using StorageError::StorageError;
};

}  // namespace modic::storage
