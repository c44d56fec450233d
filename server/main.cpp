// modic-node: the command line. Each subcommand is wired here and implemented in its module.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <csignal>
#include <cstdlib>

#include "commands/analyze_command.hpp"
#include "commands/node_commands.hpp"
#include "modic/core/version.hpp"

int main(int argc, char** argv) {
    // DCMTK reads TCP_NODELAY from the environment on every accept and connect, and has no
    // per-socket switch: without it loopback transfers crawl (Nagle + delayed ACK). Set before
    // any thread starts.
    setenv("TCP_NODELAY", "1", 1);
    // A peer that drops its connection must not kill the node on the next write.
    std::signal(SIGPIPE, SIG_IGN);

    CLI::App app{"modic-node: a DICOM node that finds Modic changes in lumbar spine MR"};
    app.set_version_flag("--version", std::string(modic::core::kVersion));
    app.require_subcommand(1);
    int exit_code = 0;
    modic::server::add_analyze_command(app, exit_code);
    modic::server::add_serve_command(app, exit_code);
    modic::server::add_status_command(app, exit_code);
    modic::server::add_jobs_command(app, exit_code);
    modic::server::add_retry_command(app, exit_code);
    modic::server::add_check_config_command(app, exit_code);
    CLI11_PARSE(app, argc, argv);
    return exit_code;
}
