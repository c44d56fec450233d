// The node's subcommands: `serve` runs it; `status`, `jobs`, `retry` read and act on its index
// (running or not); `check-config` reports every problem of a configuration file.
#pragma once

#include <CLI/CLI.hpp>

namespace modic::server {

// Each adds its subcommand to `app`; when it runs, its exit code is stored in `exit_code`.
void add_serve_command(CLI::App& app, int& exit_code);
void add_status_command(CLI::App& app, int& exit_code);
void add_jobs_command(CLI::App& app, int& exit_code);
void add_retry_command(CLI::App& app, int& exit_code);
void add_check_config_command(CLI::App& app, int& exit_code);

}  // namespace modic::server
