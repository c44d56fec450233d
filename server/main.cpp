// modic-node: the command line. Each subcommand is wired here and implemented in its module.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "commands/analyze_command.hpp"
#include "modic/core/version.hpp"

int main(int argc, char** argv) {
    CLI::App app{"modic-node: a DICOM node that finds Modic changes in lumbar spine MR"};
    app.set_version_flag("--version", std::string(modic::core::kVersion));
    app.require_subcommand(1);
    int exit_code = 0;
    modic::server::add_analyze_command(app, exit_code);
    CLI11_PARSE(app, argc, argv);
    return exit_code;
}
