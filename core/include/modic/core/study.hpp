// The DICOM files of a study as the core sees them: found on disk, read header-only.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace modic::core {

// One DICOM instance found on disk, with the header fields every stage needs to pick it out.
struct SourceInstance {
    std::filesystem::path file;
    std::string study_instance_uid;
    std::string series_instance_uid;
    std::string sop_instance_uid;
    std::string sop_class_uid;
    std::string patient_id;
    int series_number = 0;
};

struct FolderScan {
    std::vector<SourceInstance> instances;  // every DICOM instance found, all studies
    std::vector<std::string> warnings;  // one line per file skipped, with its path and why
};

// Reads every file under `folder` (any names, nested folders). Files that are not DICOM are
// skipped with a warning. Throws std::runtime_error when the folder cannot be read.
FolderScan scan_folder(const std::filesystem::path& folder);

// The distinct StudyInstanceUIDs of a scan, in first-seen order.
std::vector<std::string> study_uids(const FolderScan& scan);

// The instances of one study.
std::vector<SourceInstance> instances_of_study(const FolderScan& scan, const std::string& study_uid);

}  // namespace modic::core
