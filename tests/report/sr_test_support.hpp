// Helpers of the SR tests: source studies written with DCMTK into a temporary folder, findings
// built on them, and the external validators run as processes.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "modic/core/findings.hpp"
#include "modic/core/study.hpp"

namespace modic::test {

// A folder under the system temp folder, removed with everything in it when destroyed.
class TempDir {
public:
    explicit TempDir(const std::string& prefix);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// The spider-dev study folder (read-only) holding t1.dcm and t2.dcm.
std::filesystem::path spider_case(const std::string& name);

// How the copied source study's text is encoded: its Specific Character Set value and the raw
// bytes of Patient's Name and Referring Physician's Name in that character set.
struct SourceText {
    std::string specific_character_set;  // empty: the attribute is removed
    std::string patient_name;
    std::string referring_physician;
};

// Copies t1.dcm and t2.dcm of a spider-dev case into `folder`, rewrites the text attributes and
// (when series_number_t2 > 0) t2's SeriesNumber, and returns the instances as a scan would.
std::vector<core::SourceInstance> make_source_study(const std::filesystem::path& spider_folder,
                                                    const std::filesystem::path& folder, const SourceText& text,
                                                    int series_number_t2 = 0);

// The instance of the series whose SeriesDescription or file name says t1 / t2.
const core::SourceInstance& instance_named(const std::vector<core::SourceInstance>& study,
                                           const std::string& file_stem);

// Findings with changes: L4/L5 type 1 at both endplates, L5/S1 type 2/3 at S1's superior endplate,
// L1/L2..L3/L4 unchanged; outlines on the t2 instance.
core::Findings findings_with_changes(const std::vector<core::SourceInstance>& study);
core::Findings normal_findings(const std::vector<core::SourceInstance>& study);
core::Findings not_analysable_findings(const std::vector<core::SourceInstance>& study);

struct ProcessResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};
ProcessResult run_process(const std::string& command_line);

// dciodvfy's lines that start with "Error".
std::vector<std::string> dciodvfy_errors(const std::filesystem::path& file);

// Reads a file's raw bytes of one string attribute (no character set conversion).
std::string raw_string(const std::filesystem::path& file, unsigned group, unsigned element);

}  // namespace modic::test
