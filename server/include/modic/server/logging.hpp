// The node's one log: spdlog, with DCMTK's own log (oflog) routed into it.
#pragma once

#include <spdlog/spdlog.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace modic::server {

// Sets spdlog's default logger (stderr, one line per event with time and thread) to `level` and
// routes DCMTK's log into it. DCMTK's INFO lines (one per DIMSE message, dataset dumps in verbose
// modes) become spdlog debug, its DEBUG/TRACE become trace, so the default level never dumps
// datasets. With a `file`, lines also go there. Call once at start-up, before other threads.
void init_logging(spdlog::level::level_enum level, const std::filesystem::path& file = {});

// `text` with control characters written out: "\n", "\r", "\t", else "\x1b" and the like. Every
// log line's message passes through it.
std::string escape_control_characters(std::string_view text);

// Parses "trace|debug|info|warn|error|critical|off"; throws std::invalid_argument on anything else.
spdlog::level::level_enum parse_log_level(const std::string& name);

}  // namespace modic::server
