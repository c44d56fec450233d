// `modic-node analyze STUDY_DIR --json OUT.json [--sr OUT.dcm] [--study UID]`: analyses the study
// in a folder of DICOM files without the node, and writes the findings JSON (and the SR).
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

namespace modic::server {

struct AnalyzeOptions {
    std::filesystem::path study_dir;
    std::filesystem::path json_output;
    std::optional<std::filesystem::path> sr_output;
    std::string study_uid;  // empty: the folder must hold exactly one study
};

// Exit codes: the study was analysed or judged not analysable (the JSON says which) / a file or
// folder could not be read or written / the folder's content does not allow an analysis (no
// DICOM file, several studies, an unknown --study UID).
inline constexpr int kExitAnalysed = 0;
inline constexpr int kExitIoError = 1;
inline constexpr int kExitUnusableInput = 2;

// Runs the analysis; progress on `out`, warnings and errors (saying what to do) on `err`.
int run_analyze(const AnalyzeOptions& options, std::ostream& out, std::ostream& err);

// Adds the `analyze` subcommand to `app`; when it runs, its exit code is stored in `exit_code`.
void add_analyze_command(CLI::App& app, int& exit_code);

}  // namespace modic::server
