#include "commands/analyze_command.hpp"

#include <dcmtk/oflog/oflog.h>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <system_error>
#include <vector>

#include "modic/core/analyze.hpp"
#include "modic/core/findings_json.hpp"
#include "modic/core/structured_report.hpp"
#include "modic/core/study.hpp"

namespace modic::server {
namespace {

namespace fs = std::filesystem;

// Writes next to the target and renames, so that a reader never sees half a file.
void write_file_atomically(const fs::path& target, const std::string& content) {
    fs::path temporary = target;
    temporary += ".partial";
    {
        std::ofstream stream(temporary, std::ios::binary | std::ios::trunc);
        if (!stream) throw std::runtime_error(fmt::format("cannot create {}", temporary.string()));
        stream << content;
        stream.close();
        if (!stream) throw std::runtime_error(fmt::format("cannot write {}", temporary.string()));
    }
    std::error_code error;
    fs::rename(temporary, target, error);
    if (error) {
        std::error_code ignored;
        fs::remove(temporary, ignored);
        throw std::runtime_error(fmt::format("cannot write {}: {}", target.string(),
                                             error.message()));
    }
}

std::string studies_listing(const core::FolderScan& scan) {
    std::string listing;
    for (const auto& uid : core::study_uids(scan)) {
        listing += fmt::format("\n  {} ({} instances)", uid,
                               core::instances_of_study(scan, uid).size());
    }
    return listing;
}

// The study to analyse, or std::nullopt after explaining on `err` why there is none.
std::optional<std::string> chosen_study(const core::FolderScan& scan,
                                        const AnalyzeOptions& options, std::ostream& err) {
    const auto uids = core::study_uids(scan);
    if (!options.study_uid.empty()) {
        if (std::find(uids.begin(), uids.end(), options.study_uid) != uids.end()) {
            return options.study_uid;
        }
        err << fmt::format("error: no study {} in {}; it holds:{}\n", options.study_uid,
                           options.study_dir.string(), studies_listing(scan));
        return std::nullopt;
    }
    if (uids.size() > 1) {
        err << fmt::format(
            "error: {} holds {} studies; choose one with --study UID, or give a folder that "
            "holds one study:{}\n",
            options.study_dir.string(), uids.size(), studies_listing(scan));
        return std::nullopt;
    }
    return uids.front();
}

std::string outcome_line(const core::Findings& findings) {
    if (findings.status == core::AnalysisStatus::NotAnalyzable) {
        return fmt::format("study {}: not analysable: {}", findings.study_instance_uid,
                           findings.reason);
    }
    const auto changed = std::count_if(findings.levels.begin(), findings.levels.end(),
                                       [](const auto& level) {
                                           return level.modic_type != core::ModicType::None;
                                       });
    return fmt::format("study {}: analysed, {} of {} disc levels with a Modic change",
                       findings.study_instance_uid, changed, findings.levels.size());
}

// The folder an output goes to must exist before minutes are spent on the analysis.
std::optional<std::string> unwritable_output(const AnalyzeOptions& options) {
    std::vector<fs::path> outputs{options.json_output};
    if (options.sr_output) outputs.push_back(*options.sr_output);
    for (const auto& output : outputs) {
        const auto folder = output.parent_path().empty() ? fs::path(".") : output.parent_path();
        std::error_code error;
        if (!fs::is_directory(folder, error)) {
            return fmt::format("cannot write {}: folder {} does not exist", output.string(),
                               folder.string());
        }
    }
    return std::nullopt;
}

}  // namespace

int run_analyze(const AnalyzeOptions& options, std::ostream& out, std::ostream& err) {
    // DCMTK's own log would repeat, without context, what the warnings below say with it.
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);

    if (const auto problem = unwritable_output(options)) {
        err << "error: " << *problem << "; create it or choose another path\n";
        return kExitIoError;
    }
    core::FolderScan scan;
    try {
        scan = core::scan_folder(options.study_dir);
    } catch (const std::exception& error) {
        err << "error: " << error.what() << "; give a readable folder of DICOM files\n";
        return kExitIoError;
    }
    for (const auto& warning : scan.warnings) err << "warning: " << warning << '\n';
    if (scan.instances.empty()) {
        err << fmt::format("error: no DICOM file found under {} ({} other files skipped); give "
                           "the folder that holds the study's DICOM files\n",
                           options.study_dir.string(), scan.warnings.size());
        return kExitUnusableInput;
    }
    const auto study_uid = chosen_study(scan, options, err);
    if (!study_uid) return kExitUnusableInput;

    const auto instances = core::instances_of_study(scan, *study_uid);
    core::AnalysisLog log;
    const auto findings = core::analyse_study(instances, log);
    for (const auto& warning : log.warnings) err << "warning: " << warning << '\n';
    for (const auto& note : log.notes) err << "note: " << note << '\n';

    try {
        write_file_atomically(options.json_output, core::findings_to_json(findings).dump(2) + "\n");
    } catch (const std::exception& error) {
        err << "error: findings JSON not written: " << error.what()
            << "; check that the folder exists and is writable\n";
        return kExitIoError;
    }
    if (options.sr_output) {
        try {
            core::write_structured_report(findings, instances, core::SrOptions{},
                                          *options.sr_output);
        } catch (const std::exception& error) {
            err << "error: SR not written: " << error.what() << '\n';
            return kExitIoError;
        }
    }
    out << outcome_line(findings) << '\n';
    return kExitAnalysed;
}

void add_analyze_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<AnalyzeOptions>();
    auto* command = app.add_subcommand(
        "analyze", "Analyse the DICOM study in a folder and write the findings JSON (and SR)");
    command->add_option("STUDY_DIR", options->study_dir,
                        "folder holding the study's DICOM files (any names, nested folders)")
        ->required();
    command->add_option("--json", options->json_output, "where to write the findings JSON")
        ->required();
    command->add_option("--sr", options->sr_output, "where to write the DICOM SR");
    command->add_option("--study", options->study_uid,
                        "StudyInstanceUID to analyse when the folder holds several studies");
    command->callback([options, &exit_code] {
        exit_code = run_analyze(*options, std::cout, std::cerr);
    });
}

}  // namespace modic::server
