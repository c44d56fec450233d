// scan_folder and friends (modic/core/study.hpp): every DICOM file under a folder, header only.
#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <system_error>

#include "dicom/dicom_codecs.hpp"
#include "dicom/instance_header.hpp"
#include "modic/core/study.hpp"

namespace modic::core {
namespace {

// Every regular file under `folder`, sorted so that scans are reproducible.
std::vector<std::filesystem::path> files_under(const std::filesystem::path& folder,
                                               std::vector<std::string>& warnings) {
    namespace fs = std::filesystem;
    std::error_code error;
    if (!fs::is_directory(folder, error)) {
        throw std::runtime_error(fmt::format("{} is not a readable folder{}", folder.string(),
                                             error ? ": " + error.message() : std::string{}));
    }
    fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied,
                                        error);
    if (error) {
        throw std::runtime_error(
            fmt::format("cannot read folder {}: {}", folder.string(), error.message()));
    }
    std::vector<fs::path> files;
    for (; it != fs::recursive_directory_iterator(); it.increment(error)) {
        if (error) {
            warnings.push_back(fmt::format("{}: cannot be read, skipped: {}",
                                           it->path().string(), error.message()));
            error.clear();
            continue;
        }
        if (it->is_regular_file(error)) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

SourceInstance source_instance_of(const InstanceHeader& header) {
    return {header.file,
            header.study_instance_uid,
            header.series_instance_uid,
            header.sop_instance_uid,
            header.sop_class_uid,
            header.patient_id,
            header.series_number};
}

}  // namespace

FolderScan scan_folder(const std::filesystem::path& folder) {
    register_dicom_decoders();
    FolderScan scan;
    std::map<std::string, std::filesystem::path> file_of_instance;
    for (const auto& file : files_under(folder, scan.warnings)) {
        std::string why;
        const auto header = read_instance_header(file, why);
        if (!header) {
            scan.warnings.push_back(fmt::format("{}: skipped, {}", file.string(), why));
            continue;
        }
        // A study copied twice into a folder must not count its images twice.
        const auto [seen, is_new] = file_of_instance.emplace(header->sop_instance_uid, file);
        if (!is_new) {
            scan.warnings.push_back(fmt::format("{}: skipped, same SOPInstanceUID as {}",
                                                file.string(), seen->second.string()));
            continue;
        }
        scan.instances.push_back(source_instance_of(*header));
    }
    return scan;
}

std::vector<std::string> study_uids(const FolderScan& scan) {
    std::vector<std::string> uids;
    for (const auto& instance : scan.instances) {
        if (std::find(uids.begin(), uids.end(), instance.study_instance_uid) == uids.end()) {
            uids.push_back(instance.study_instance_uid);
        }
    }
    return uids;
}

std::vector<SourceInstance> instances_of_study(const FolderScan& scan,
                                               const std::string& study_uid) {
    std::vector<SourceInstance> instances;
    std::copy_if(scan.instances.begin(), scan.instances.end(), std::back_inserter(instances),
                 [&](const SourceInstance& instance) {
                     return instance.study_instance_uid == study_uid;
                 });
    return instances;
}

}  // namespace modic::core
