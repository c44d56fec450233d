// Not a test: measures the store's ingest rate with parallel writers, fsync on and off, against a
// storescp-like baseline (write to the final name, no fsync) and a per-file fsync strategy.
//   storage_ingest_bench [DIR] [IMAGES] [BYTES] [WRITERS]
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "storage_test_support.hpp"

using namespace modic::storage;
using namespace modic::storage::testing;

namespace {

double run_parallel(int writers, int images, const std::function<void(int writer, int index)>& store_one) {
    ::sync();  // start each phase with no dirty pages of the previous one being written back
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            for (int i = w; i < images; i += writers) store_one(w, i);
        });
    for (auto& thread : threads) thread.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return images / seconds;
}

void write_plain(const std::filesystem::path& file, const std::vector<std::byte>& bytes, bool durable) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) std::abort();
    if (durable && ::fdatasync(fd) != 0) std::abort();
    ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
    spdlog::set_level(spdlog::level::warn);
    const std::filesystem::path base = argc > 1 ? argv[1] : std::filesystem::temp_directory_path() / "modic-ingest-bench";
    const int images = argc > 2 ? std::stoi(argv[2]) : 2000;
    const std::size_t size = argc > 3 ? std::stoul(argv[3]) : 256 * 1024;
    const int writers = argc > 4 ? std::stoi(argv[4]) : 4;
    std::filesystem::remove_all(base);
    const auto payload = bytes_for("payload", size);
    const std::string study = "1.2.826.0.1.3680043.10.99";
    auto sop = [](int i) { return "1.2.826.0.1.3680043.10.99.1." + std::to_string(i + 1); };

    std::printf("%d images of %zu KiB, %d writers, in %s\n", images, size / 1024, writers, base.c_str());

    const auto plain_dir = base / "plain";
    std::filesystem::create_directories(plain_dir);
    const double plain = run_parallel(writers, images, [&](int, int i) { write_plain(plain_dir / sop(i), payload, false); });
    std::printf("storescp-like (final name, no fsync):    %8.0f images/s\n", plain);

    const auto per_file_dir = base / "per-file";
    std::filesystem::create_directories(per_file_dir / "tmp");
    const double per_file = run_parallel(writers, images, [&](int, int i) {
        const auto temp = per_file_dir / "tmp" / sop(i);
        write_plain(temp, payload, true);
        std::filesystem::rename(temp, per_file_dir / sop(i));
        const int dir = ::open(per_file_dir.c_str(), O_RDONLY | O_DIRECTORY);
        ::fsync(dir);
        ::close(dir);
    });
    std::printf("per-file fdatasync + rename + dir fsync: %8.0f images/s\n", per_file);

    for (const auto& [fsync, grouped] : {std::pair{false, true}, std::pair{true, true}, std::pair{true, false}}) {
        auto options = options_for(base / (fsync ? (grouped ? "node-fsync" : "node-fsync-solo") : "node-nofsync"), fsync);
        options.group_commit = grouped;
        Storage storage(options);
        const double rate = run_parallel(writers, images, [&](int w, int i) {
            IncomingInstance in = instance(study, study + "." + std::to_string(w + 1), sop(i));
            storage.store_instance(in, payload);
        });
        std::printf("modic store, fsync %-3s (%-12s):  %8.0f images/s  = %.2fx storescp-like", fsync ? "on" : "off",
                    !fsync ? "-" : grouped ? "group commit" : "per writer", rate, rate / plain);
        if (fsync)
            std::printf(", %llu sync rounds for %d images", static_cast<unsigned long long>(storage.sync_rounds()),
                        images);
        std::printf("\n");
    }
    std::filesystem::remove_all(base);
    return 0;
}
