// Shared between the parser and the loader; not part of the public API.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "modic/config/config.hpp"

namespace modic::config::detail {

struct ParsedConfig {
    NodeConfig config;
    bool syntax_error = false;  // the TOML could not be parsed at all
    int storage_dir_line = 0;   // where node.storage_dir was given (0 = default)
};

// Parses and validates what needs no filesystem; appends every problem found to `problems`.
ParsedConfig parse_collecting(std::string_view toml_text, const std::filesystem::path& base_dir,
                              const std::filesystem::path& source_name,
                              std::vector<ConfigProblem>& problems);

}  // namespace modic::config::detail
