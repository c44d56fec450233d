// modic-node: the command line. Each subcommand is wired here and implemented in its module.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "modic/core/version.hpp"

int main(int argc, char** argv) {
    CLI::App app{"modic-node: a DICOM node that finds Modic changes in lumbar spine MR"};
    app.set_version_flag("--version", std::string(modic::core::kVersion));
    app.require_subcommand(1);
    CLI11_PARSE(app, argc, argv);
    return 0;
}
