// Shared by the storage tests: a temporary store, synthetic instances and their bytes.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "modic/storage/storage.hpp"

namespace modic::storage::testing {

class TempFolder {
public:
    TempFolder() {
        static std::atomic<int> counter{0};
        std::random_device random;
        path_ = std::filesystem::temp_directory_path() /
                ("modic-storage-test-" + std::to_string(::getpid()) + "-" + std::to_string(random()) + "-" +
                 std::to_string(counter++));
        std::filesystem::create_directories(path_);
    }
    ~TempFolder() {
        std::error_code error;
        std::filesystem::remove_all(path_, error);
    }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

inline StorageOptions options_for(const std::filesystem::path& root, bool fsync = false) {
    StorageOptions options;
    options.root = root;
    options.fsync = fsync;
    options.min_free_bytes = 1024 * 1024;  // 1 MiB: any test machine has that
    return options;
}

inline IncomingInstance instance(const std::string& study, const std::string& series, const std::string& sop,
                                 const std::string& patient_id = "PAT1") {
    IncomingInstance in;
    in.study_uid = study;
    in.series_uid = series;
    in.sop_instance_uid = sop;
    in.sop_class_uid = "1.2.840.10008.5.1.4.1.1.4";
    in.transfer_syntax_uid = "1.2.840.10008.1.2.1";
    in.calling_ae = "ORTHANC";
    in.patient_id = patient_id;
    in.modality = "MR";
    in.body_part = "LSPINE";
    in.study_description = "MRI lumbar spine";
    in.series_description = "T2 sag";
    return in;
}

// Deterministic pseudo-random bytes standing in for a DICOM file (the store never parses them).
inline std::vector<std::byte> bytes_for(const std::string& seed, std::size_t size = 4096) {
    std::vector<std::byte> bytes(size);
    std::mt19937_64 generator(std::hash<std::string>{}(seed));
    for (auto& byte : bytes) byte = static_cast<std::byte>(generator() & 0xff);
    return bytes;
}

inline std::vector<std::byte> read_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> bytes(chars.size());
    for (std::size_t i = 0; i < chars.size(); ++i) bytes[i] = static_cast<std::byte>(chars[i]);
    return bytes;
}

// Every regular file under `dir` (recursively).
inline std::vector<std::filesystem::path> files_under(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> files;
    std::error_code error;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, error))
        if (entry.is_regular_file()) files.push_back(entry.path());
    return files;
}

}  // namespace modic::storage::testing
