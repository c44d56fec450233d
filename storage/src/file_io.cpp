#include "file_io.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/core.h>

#include "modic/storage/storage.hpp"

namespace modic::storage::file_io {
namespace {

[[noreturn]] void fail(std::string_view what, const std::filesystem::path& path, int error) {
    throw StorageError(fmt::format("cannot {} {}: {}", what, path.string(), std::strerror(error)));
}

class FileDescriptor {
public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }
    int release_and_close() {
        const int result = ::close(fd_);
        fd_ = -1;
        return result;
    }
    int release() {  // the caller closes it
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }

private:
    int fd_;
};

}  // namespace

void write_new_file(const std::filesystem::path& file, std::span<const std::byte> bytes, bool fsync_file) {
    FileDescriptor fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd.get() < 0) fail("create", file, errno);
    try {
        std::size_t written = 0;
        while (written < bytes.size()) {
            const ssize_t result = ::write(fd.get(), bytes.data() + written, bytes.size() - written);
            if (result < 0) {
                if (errno == EINTR) continue;
                fail("write", file, errno);
            }
            written += static_cast<std::size_t>(result);
        }
        if (fsync_file && ::fdatasync(fd.get()) != 0) fail("fsync", file, errno);
        if (fd.release_and_close() != 0) fail("close", file, errno);
    } catch (...) {
        remove_quietly(file);
        throw;
    }
}

bool rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
    if (errno == EEXIST) return false;
    if (errno == EINVAL || errno == ENOSYS) {
        // A filesystem without RENAME_NOREPLACE: link() also refuses to replace.
        if (::link(from.c_str(), to.c_str()) == 0) {
            ::unlink(from.c_str());
            return true;
        }
        if (errno == EEXIST) return false;
    }
    fail(fmt::format("rename {} to", from.string()), to, errno);
}

void rename_replace(const std::filesystem::path& from, const std::filesystem::path& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) fail(fmt::format("rename {} to", from.string()), to, errno);
}

void fsync_path(const std::filesystem::path& path) {
    FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) fail("open", path, errno);
    if (::fsync(fd.get()) != 0) fail("fsync", path, errno);
}

bool make_directories(const std::filesystem::path& dir) {
    std::error_code error;
    const bool created = std::filesystem::create_directories(dir, error);
    if (error) throw StorageError(fmt::format("cannot create {}: {}", dir.string(), error.message()));
    return created;
}

std::uint64_t checksum_of_file(const std::filesystem::path& file, std::uint64_t& size) {
    FileDescriptor fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) fail("open", file, errno);
    std::vector<std::byte> content;
    std::byte buffer[1 << 16];
    for (;;) {
        const ssize_t result = ::read(fd.get(), buffer, sizeof buffer);
        if (result < 0) {
            if (errno == EINTR) continue;
            fail("read", file, errno);
        }
        if (result == 0) break;
        content.insert(content.end(), buffer, buffer + result);
    }
    size = content.size();
    return checksum64(content);
}

DiskSpace disk_space(const std::filesystem::path& path) {
    struct statvfs info {};
    if (::statvfs(path.c_str(), &info) != 0) fail("statvfs", path, errno);
    return DiskSpace{static_cast<std::uint64_t>(info.f_bavail) * info.f_frsize,
                     static_cast<std::uint64_t>(info.f_blocks) * info.f_frsize};
}

void remove_quietly(const std::filesystem::path& file) noexcept { ::unlink(file.c_str()); }

ExclusiveHold::ExclusiveHold(const std::filesystem::path& lock_file) {
    FileDescriptor fd(::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (fd.get() < 0) fail("open", lock_file, errno);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        const int error = errno;
        if (error != EWOULDBLOCK) fail("lock", lock_file, error);
        char holder[32] = {};
        const ssize_t got = ::pread(fd.get(), holder, sizeof holder - 1, 0);
        throw HeldByAnotherProcess(fmt::format("{} is held by another process (pid {})", lock_file.string(),
                                               got > 0 ? std::string(holder, std::strcspn(holder, "\n")) : "unknown"));
    }
    const std::string pid = fmt::format("{}\n", ::getpid());
    if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), pid.data(), pid.size(), 0) < 0)
        fail("write", lock_file, errno);
    fd_ = fd.release();
}

ExclusiveHold::~ExclusiveHold() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock; the file stays, with a stale pid
}

}  // namespace modic::storage::file_io
