#include "modic/server/logging.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/oflog/appender.h>
#include <dcmtk/oflog/logger.h>
#include <dcmtk/oflog/oflog.h>
#include <dcmtk/oflog/spi/logevent.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <fmt/core.h>

#include <mutex>
#include <stdexcept>
#include <string_view>

namespace modic::server {
namespace {

namespace oflog = dcmtk::log4cplus;

spdlog::level::level_enum spdlog_level_for(oflog::LogLevel dcmtk_level) {
    if (dcmtk_level >= oflog::FATAL_LOG_LEVEL) return spdlog::level::critical;
    if (dcmtk_level >= oflog::ERROR_LOG_LEVEL) return spdlog::level::err;
    if (dcmtk_level >= oflog::WARN_LOG_LEVEL) return spdlog::level::warn;
    // DCMTK logs every DIMSE message at INFO: for the node that is detail, not news.
    if (dcmtk_level >= oflog::INFO_LOG_LEVEL) return spdlog::level::debug;
    return spdlog::level::trace;
}

// The lowest DCMTK level worth producing at all for a given spdlog level (formatting DCMTK's
// association dumps costs time even when nobody reads them).
oflog::LogLevel dcmtk_threshold_for(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::trace: return oflog::TRACE_LOG_LEVEL;
        case spdlog::level::debug: return oflog::INFO_LOG_LEVEL;
        default: return oflog::WARN_LOG_LEVEL;
    }
}

// An oflog appender that hands every DCMTK event to spdlog, naming the DCMTK logger.
class SpdlogAppender : public oflog::Appender {
public:
    SpdlogAppender() { setName("spdlog"); }
    ~SpdlogAppender() override { destructorImpl(); }
    void close() override {}

protected:
    void append(const oflog::spi::InternalLoggingEvent& event) override {
        const std::string_view message = event.getMessage().c_str();
        auto level = spdlog_level_for(event.getLogLevel());
        // DCMTK warns whenever a read stops at the pixel data, which is exactly what the header
        // scan asks for: twice per instance per analysis, nothing for an operator.
        if (message.find(kStoppedAtPixelData) != std::string_view::npos) level = spdlog::level::debug;
        spdlog::log(level, "dcmtk {}: {}", event.getLoggerName().c_str(), message);
    }
    static constexpr std::string_view kStoppedAtPixelData =
        "Element PixelData (7fe0,0010) encountered, skipping rest of dataset";
};

// The message with its control characters written out ("\n", "\x1b"): what a peer sends (an
// AE title, a series description in a reason) can neither split an event over lines, nor forge a
// line, nor drive the operator's terminal.
class OneLineMessage : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& message, const std::tm&, spdlog::memory_buf_t& out) override {
        const std::string escaped = escape_control_characters(
            std::string_view(message.payload.data(), message.payload.size()));
        out.append(escaped.data(), escaped.data() + escaped.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<OneLineMessage>(); }
};

// `pattern` with %* for the message, as OneLineMessage writes it.
std::unique_ptr<spdlog::formatter> one_line_formatter(const std::string& pattern) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<OneLineMessage>('*').set_pattern(pattern);
    return formatter;
}

}  // namespace

std::string escape_control_characters(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (byte < 0x20 || byte == 0x7f) out += fmt::format("\\x{:02x}", byte);
        else out += c;
    }
    return out;
}

spdlog::level::level_enum parse_log_level(const std::string& name) {
    for (auto level : {spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
                       spdlog::level::warn, spdlog::level::err, spdlog::level::off}) {
        auto view = spdlog::level::to_string_view(level);
        if (name == std::string(view.data(), view.size())) return level;
    }
    if (name == "error") return spdlog::level::err;
    if (name == "warn") return spdlog::level::warn;  // spdlog itself spells it "warning"
    if (name == "critical") return spdlog::level::critical;
    throw std::invalid_argument("unknown log level '" + name +
                                "' (expected trace, debug, info, warn, error, critical or off)");
}

void init_logging(spdlog::level::level_enum level, const std::filesystem::path& file) {
    static std::once_flag sink_once;
    std::call_once(sink_once, [] {
        auto logger = spdlog::stderr_color_mt("modic-node");
        logger->set_formatter(one_line_formatter("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%t] %*"));
        spdlog::set_default_logger(logger);
        // Let DCMTK set itself up first (it adds a console appender), then replace its appenders.
        OFLog::configure(OFLogger::WARN_LOG_LEVEL);
        oflog::Logger root = oflog::Logger::getRoot();
        root.removeAllAppenders();
        root.addAppender(oflog::SharedAppenderPtr(new SpdlogAppender()));
    });
    if (!file.empty()) {
        // Called at start-up, before other threads log: adding a sink here is safe. The file is
        // rotated by size, so that a node left running for years cannot fill its disk with its
        // log (a full disk would stop it accepting images): the file and its last kKeptLogFiles
        // predecessors (modic-node.1.log, ...), kMaxLogFileBytes each.
        constexpr std::size_t kMaxLogFileBytes = 50u * 1024 * 1024, kKeptLogFiles = 4;
        auto file_sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(file.string(), kMaxLogFileBytes,
                                                                                 kKeptLogFiles);
        file_sink->set_formatter(one_line_formatter("%Y-%m-%dT%H:%M:%S.%e %-5l [%t] %*"));
        spdlog::default_logger()->sinks().push_back(file_sink);
    }
    spdlog::set_level(level);
    oflog::Logger::getRoot().setLogLevel(dcmtk_threshold_for(level));
}

}  // namespace modic::server
