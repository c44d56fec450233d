// A process killed with SIGKILL while it stores: after reopening, every instance it had
// acknowledged is indexed with intact bytes, and no temporary or unindexed file is left.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "storage_test_support.hpp"

namespace modic::storage {
namespace {

using namespace modic::storage::testing;

std::string sop_for(int writer, int index) {
    return "1.2.826.0.1.3680043.10.5." + std::to_string(writer) + "." + std::to_string(index + 1);
}

// The child: 3 writers store instances forever and report each acknowledged one on `report_fd`.
[[noreturn]] void store_until_killed(const std::filesystem::path& root, int report_fd) {
    Storage storage(options_for(root, /*fsync=*/true));
    std::vector<std::thread> writers;
    for (int w = 0; w < 3; ++w)
        writers.emplace_back([&, w] {
            for (int i = 0;; ++i) {
                const std::string sop = sop_for(w, i);
                storage.store_instance(instance("1.2.5", "1.2.5." + std::to_string(w + 1), sop), bytes_for(sop, 30000));
                const std::string line = sop + "\n";
                if (::write(report_fd, line.data(), line.size()) < 0) _exit(1);
            }
        });
    for (auto& writer : writers) writer.join();
    _exit(0);
}

TEST(KillDuringIngest, AcknowledgedInstancesSurviveSigkill) {
    TempFolder folder;
    const auto root = folder.path() / "store";
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(pipe_fds[0]);
        store_until_killed(root, pipe_fds[1]);
    }
    ::close(pipe_fds[1]);
    // Let it acknowledge a good number of instances, then kill it mid-flight.
    std::string reported;
    char buffer[4096];
    while (std::count(reported.begin(), reported.end(), '\n') < 60) {
        const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
        ASSERT_GT(n, 0) << "the storing child died early";
        reported.append(buffer, static_cast<std::size_t>(n));
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    // Whatever it reported before dying was acknowledged.
    for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) reported.append(buffer, static_cast<std::size_t>(n));
    ::close(pipe_fds[0]);
    std::set<std::string> acknowledged;
    for (std::size_t start = 0, end; (end = reported.find('\n', start)) != std::string::npos; start = end + 1)
        acknowledged.insert(reported.substr(start, end - start));

    Storage storage(options_for(root, true));
    std::set<std::string> indexed;
    for (const auto& file : storage.study_instances("1.2.5")) {
        indexed.insert(file.sop_instance_uid);
        EXPECT_EQ(read_bytes(file.path), bytes_for(file.sop_instance_uid, 30000)) << file.sop_instance_uid;
    }
    for (const auto& sop : acknowledged) EXPECT_TRUE(indexed.count(sop)) << "acknowledged " << sop << " was lost";
    EXPECT_TRUE(files_under(storage.temp_dir()).empty());
    // At most the instances in flight (one per writer) may have left an unindexed file: an
    // orphan that a re-send replaces; nothing acknowledged is among them.
    const auto files = files_under(root / "images");
    EXPECT_GE(files.size(), indexed.size());
    EXPECT_LE(files.size(), indexed.size() + 3);
    // And the store goes on: a re-send of every instance is a duplicate or stored, never an error.
    for (int w = 0; w < 3; ++w)
        for (int i = 0; i < 5; ++i) {
            const std::string sop = sop_for(w, i);
            const auto outcome =
                storage.store_instance(instance("1.2.5", "1.2.5." + std::to_string(w + 1), sop), bytes_for(sop, 30000)).outcome;
            EXPECT_NE(outcome, StoreOutcome::conflict);
        }
}

}  // namespace
}  // namespace modic::storage
