#include "modic/server/logging.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/oflog/appender.h>
#include <dcmtk/oflog/logger.h>
#include <dcmtk/oflog/oflog.h>
#include <dcmtk/oflog/spi/logevent.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

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

}  // namespace

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
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%t] %v");
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
        file_sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %-5l [%t] %v");
        spdlog::default_logger()->sinks().push_back(file_sink);
    }
    spdlog::set_level(level);
    oflog::Logger::getRoot().setLogLevel(dcmtk_threshold_for(level));
}

}  // namespace modic::server
