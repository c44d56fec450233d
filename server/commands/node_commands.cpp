#include "commands/node_commands.hpp"

#include <fmt/chrono.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "modic/config/config.hpp"
#include "modic/server/logging.hpp"
#include "modic/server/node.hpp"
#include "modic/storage/storage.hpp"

namespace modic::server {
namespace {

// Exit codes shared by the node's commands.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitBadConfig = 2;

// The configuration named by --config, or the embedded default; problems go to stderr.
std::optional<config::NodeConfig> load(const std::string& config_file) {
    try {
        if (config_file.empty()) return config::default_config();
        return config::load_config(config_file);
    } catch (const config::ConfigError& error) {
        for (const auto& problem : error.problems())
            std::cerr << config::format_problem(problem) << '\n';
        return std::nullopt;
    }
}

// The node's index opened for administration: no recovery, so a running node is undisturbed.
std::unique_ptr<storage::Storage> open_index(const config::NodeConfig& node_config) {
    storage::StorageOptions options;
    options.root = node_config.node.storage_dir;
    options.fsync = node_config.storage.fsync;
    options.min_free_bytes = node_config.storage.min_free_mb * 1024ull * 1024ull;
    options.recover = false;
    return std::make_unique<storage::Storage>(options);
}

std::string format_time(storage::TimePoint when) {
    return fmt::format("{:%Y-%m-%d %H:%M:%S}",
                       std::chrono::time_point_cast<std::chrono::seconds>(when));
}

CLI::Option* add_config_option(CLI::App& command, std::string& config_file) {
    return command.add_option("--config", config_file,
                              "the node's TOML configuration (default: the embedded one)")
        ->check(CLI::ExistingFile);
}

// Runs `body` with the loaded configuration, turning exceptions into an error line and exit 1.
template <typename Body>
int with_config(const std::string& config_file, Body body) {
    auto node_config = load(config_file);
    if (!node_config) return kExitBadConfig;
    try {
        return body(*node_config);
    } catch (const std::exception& error) {
        std::cerr << "modic-node: " << error.what() << '\n';
        return kExitFailure;
    }
}

int serve(const config::NodeConfig& node_config) {
    spdlog::level::level_enum level = spdlog::level::info;
    try {
        level = parse_log_level(node_config.logging.level);
    } catch (const std::invalid_argument& error) {
        std::cerr << error.what() << '\n';
        return kExitBadConfig;
    }
    init_logging(level, node_config.logging.file.value_or(std::filesystem::path{}));
    if (node_config.source_file.empty())
        spdlog::info("no --config given: running on the embedded default configuration");
    else
        spdlog::info("configuration {}", node_config.source_file.string());
    Node node(node_config);
    return node.run();
}

int print_status(const config::NodeConfig& node_config) {
    init_logging(spdlog::level::warn);  // stdout is for the report
    auto index = open_index(node_config);
    storage::StatusSummary summary = index->status();
    std::cout << fmt::format("node {} port {}, storage {}\n", node_config.node.ae_title,
                             node_config.node.port, node_config.node.storage_dir.string());
    std::cout << fmt::format("studies {}, instances {} ({:.1f} MB), conflicts {}\n", summary.studies,
                             summary.instances, summary.stored_bytes / 1048576.0, summary.conflicts);
    std::cout << fmt::format("disk free {:.1f} GB of {:.1f} GB\n", summary.disk_free_bytes / 1e9,
                             summary.disk_total_bytes / 1e9);
    if (summary.last_received_at)
        std::cout << "last instance received " << format_time(*summary.last_received_at) << " UTC\n";
    std::cout << "jobs:";
    for (const auto& [state, count] : summary.jobs_by_state)
        std::cout << fmt::format(" {} {}", storage::to_string(state), count);
    std::cout << "\ndeliveries:";
    for (const auto& [state, count] : summary.deliveries_by_state)
        std::cout << fmt::format(" {} {}", storage::to_string(state), count);
    std::cout << '\n';
    return kExitOk;
}

// One JSON object per job, its findings and deliveries included (for scripts and tests).
nlohmann::json job_to_json(storage::Storage& index, const storage::Job& job) {
    nlohmann::json deliveries = nlohmann::json::array();
    for (const auto& delivery : index.job_deliveries(job.id))
        deliveries.push_back({{"destination", delivery.destination},
                              {"state", storage::to_string(delivery.state)},
                              {"attempts", delivery.attempts},
                              {"last_error", delivery.last_error}});
    nlohmann::json findings = nullptr;
    if (!job.findings_json.empty()) findings = nlohmann::json::parse(job.findings_json, nullptr, false);
    return {{"id", job.id},
            {"study_instance_uid", job.study_uid},
            {"state", storage::to_string(job.state)},
            {"attempts", job.attempts},
            {"last_error", job.last_error},
            {"reason", job.reason},
            {"updated_at", format_time(job.updated_at)},
            {"sr_sop_instance_uid", job.sr_sop_instance_uid},
            {"sr_series_instance_uid", job.sr_series_uid},
            {"findings", findings},
            {"deliveries", deliveries}};
}

int print_jobs(const config::NodeConfig& node_config, const std::string& state_text, bool as_json) {
    std::optional<storage::JobState> state;
    if (!state_text.empty()) {
        state = storage::parse_job_state(state_text);
        if (!state) {
            std::cerr << "unknown job state '" << state_text << "' (one of:";
            for (auto known : storage::all_job_states()) std::cerr << ' ' << storage::to_string(known);
            std::cerr << ")\n";
            return kExitBadConfig;
        }
    }
    init_logging(spdlog::level::warn);  // stdout is for the listing
    auto index = open_index(node_config);
    if (as_json) {
        nlohmann::json jobs = nlohmann::json::array();
        for (const auto& job : index->list_jobs(state)) jobs.push_back(job_to_json(*index, job));
        std::cout << jobs.dump(2) << '\n';
        return kExitOk;
    }
    std::cout << fmt::format("{:>6}  {:<14} {:>8}  {:<19}  {:<64}  {}\n", "job", "state", "attempts",
                             "updated (UTC)", "study", "detail");
    for (const auto& job : index->list_jobs(state)) {
        std::string detail = !job.last_error.empty() ? job.last_error : job.reason;
        if (detail.empty() && !job.sr_sop_instance_uid.empty()) detail = "SR " + job.sr_sop_instance_uid;
        std::cout << fmt::format("{:>6}  {:<14} {:>8}  {:<19}  {:<64}  {}\n", job.id,
                                 storage::to_string(job.state), job.attempts,
                                 format_time(job.updated_at), job.study_uid, detail);
        for (const auto& delivery : index->job_deliveries(job.id))
            std::cout << fmt::format("{:>6}  delivery to {}: {} after {} attempt(s){}\n", "",
                                     delivery.destination, storage::to_string(delivery.state),
                                     delivery.attempts,
                                     delivery.last_error.empty() ? "" : ", " + delivery.last_error);
    }
    return kExitOk;
}

int retry(const config::NodeConfig& node_config, std::int64_t job_id) {
    init_logging(spdlog::level::warn);
    auto index = open_index(node_config);
    try {
        storage::RetryResult result = index->retry_job(job_id, storage::Clock::now());
        std::cout << fmt::format("job {} is {} again ({} deliver{} re-armed); a running node picks "
                                 "it up within seconds, a stopped one when it starts\n",
                                 job_id, storage::to_string(result.new_state),
                                 result.deliveries_rearmed,
                                 result.deliveries_rearmed == 1 ? "y" : "ies");
        return kExitOk;
    } catch (const storage::IllegalTransitionError& error) {
        std::cerr << "cannot retry job " << job_id << ": " << error.what() << '\n';
        return kExitFailure;
    }
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
    auto* command = app.add_subcommand("serve", "Run the DICOM node (receive, analyse, send the SR back)");
    auto config_file = std::make_shared<std::string>();
    add_config_option(*command, *config_file);
    command->callback([&exit_code, config_file] {
        exit_code = with_config(*config_file, [](const config::NodeConfig& c) { return serve(c); });
    });
}

void add_status_command(CLI::App& app, int& exit_code) {
    auto* command = app.add_subcommand("status", "Summarise the node's index: studies, jobs, deliveries, disk");
    auto config_file = std::make_shared<std::string>();
    add_config_option(*command, *config_file);
    command->callback([&exit_code, config_file] {
        exit_code = with_config(*config_file, [](const config::NodeConfig& c) { return print_status(c); });
    });
}

void add_jobs_command(CLI::App& app, int& exit_code) {
    auto* command = app.add_subcommand("jobs", "List the node's jobs, newest first");
    auto config_file = std::make_shared<std::string>();
    auto state = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    add_config_option(*command, *config_file);
    command->add_flag("--json", *as_json, "print JSON, with each job's findings and deliveries");
    command->add_option("--state", *state,
                        "only jobs in this state (queued, analysing, reporting, delivered, done, "
                        "failed, ignored, not_analyzable)");
    command->callback([&exit_code, config_file, state, as_json] {
        exit_code = with_config(*config_file, [&](const config::NodeConfig& c) {
            return print_jobs(c, *state, *as_json);
        });
    });
}

void add_retry_command(CLI::App& app, int& exit_code) {
    auto* command = app.add_subcommand("retry", "Put a failed job back in the queue or re-arm its deliveries");
    auto config_file = std::make_shared<std::string>();
    auto job_id = std::make_shared<std::int64_t>(0);
    add_config_option(*command, *config_file);
    command->add_option("JOB", *job_id, "the job id (see `modic-node jobs`)")->required();
    command->callback([&exit_code, config_file, job_id] {
        exit_code = with_config(*config_file,
                                [&](const config::NodeConfig& c) { return retry(c, *job_id); });
    });
}

void add_check_config_command(CLI::App& app, int& exit_code) {
    auto* command = app.add_subcommand("check-config", "Report every problem of a configuration file, with line numbers");
    auto config_file = std::make_shared<std::string>();
    command->add_option("FILE", *config_file, "the TOML configuration to check")->required();
    command->callback([&exit_code, config_file] {
        auto problems = config::check_config(*config_file);
        for (const auto& problem : problems) std::cerr << config::format_problem(problem) << '\n';
        if (problems.empty()) std::cout << *config_file << ": OK\n";
        exit_code = problems.empty() ? kExitOk : kExitBadConfig;
    });
}

}  // namespace modic::server
