// modic_config: the node's typed configuration, its defaults (here, in one place), parsing from
// TOML and validation. Knows toml++ and the standard library, nothing else.
//
// The TOML keys (see config/modic-node.toml for the commented example of every option):
//   [node]        ae_title, port, storage_dir
//   [study]       quiet_seconds
//   [[peers]]     ae_title ("*" = any), host (optional: any host)
//   [[destinations]] name, ae_title, host, port
//   [storage]     fsync, min_free_mb
//   [network]     max_associations, max_associations_per_ae, acse_timeout_seconds,
//                 dimse_timeout_seconds, max_pdu_bytes, accepted_sop_classes
//   [workers]     pool_size
//   [delivery]    retry_initial_seconds, retry_max_seconds, give_up_after_hours,
//                 send_not_analyzable_sr
//   [routing]     default_action; [[routing.rules]] modality, body_part, study_description,
//                 series_description, calling_ae, action
//   [retention]   delete_images_after_delivery, image_retention_days, sr_retention_days
//   [logging]     level, file
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace modic::config {

// [node]: who the node is and where it keeps its data.
struct NodeSection {
    std::string ae_title = "MODICNODE";
    std::uint16_t port = 11112;
    // Absolute after loading: a relative value in a file is resolved against the file's folder;
    // the embedded default "var" is resolved against the working directory.
    std::filesystem::path storage_dir = "var";
};

// [study]: when a study counts as complete.
struct StudySection {
    int quiet_seconds = 10;  // no new instance for this long -> complete (re-armed by each one)
};

// [[peers]]: an allowed calling AE. ae_title "*" allows any calling AE title.
struct Peer {
    std::string ae_title;
    std::optional<std::string> host;  // IP address or host name; absent = from any host
    int line = 0;                     // where it was declared (0 = embedded default)
};

// [[destinations]]: where the SR goes (every destination listed gets it).
struct Destination {
    std::string name;  // unique, used in the index and in logs
    std::string ae_title;
    std::string host;
    std::uint16_t port = 0;
    int line = 0;
};

// [storage]
struct StorageSection {
    bool fsync = true;                  // fsync files and directories before answering Success
    std::uint64_t min_free_mb = 1024;   // below this much free disk, C-STORE answers A700
};

// MR Image Storage, Enhanced MR Image Storage, Secondary Capture Image Storage (UIDs).
std::vector<std::string> default_accepted_sop_classes();

// [network]: association policy.
struct NetworkSection {
    int max_associations = 16;        // concurrent associations in total
    int max_associations_per_ae = 4;  // concurrent associations from one calling AE title
    int acse_timeout_seconds = 30;
    int dimse_timeout_seconds = 60;
    std::uint32_t max_pdu_bytes = 131072;  // maximum PDU we receive (DICOM allows 4096..)
    // SOP Class UIDs accepted as storage presentation contexts. In TOML: UIDs or the names of
    // known_sop_classes() (e.g. "MRImageStorage"); here always resolved to UIDs.
    std::vector<std::string> accepted_sop_classes = default_accepted_sop_classes();
};

// [workers]
struct WorkersSection {
    int pool_size = 2;  // threads running analyses and deliveries
};

// [delivery]: C-STORE of the SR to every destination, retried with exponential backoff.
struct DeliverySection {
    int retry_initial_seconds = 30;
    int retry_max_seconds = 3600;
    int give_up_after_hours = 24;
    bool send_not_analyzable_sr = false;  // also send an SR for studies judged not analysable
};

enum class RoutingAction { analyze, ignore };

// [[routing.rules]]: the first rule whose every given criterion matches decides. Regexes are
// ECMAScript, case-insensitive, and match anywhere in the value (std::regex_search); modality and
// calling_ae compare exactly (case-insensitive). An absent criterion matches anything.
struct RoutingRule {
    std::optional<std::string> modality;
    std::optional<std::string> body_part;           // regex on BodyPartExamined
    std::optional<std::string> study_description;   // regex on StudyDescription
    std::optional<std::string> series_description; // regex on SeriesDescription (any series)
    std::optional<std::string> calling_ae;
    RoutingAction action = RoutingAction::analyze;
    int line = 0;
};

struct RoutingSection {
    std::vector<RoutingRule> rules;
    RoutingAction default_action = RoutingAction::analyze;  // when no rule matches
};

// [retention]: 0 days = keep forever.
struct RetentionSection {
    bool delete_images_after_delivery = false;
    int image_retention_days = 0;
    int sr_retention_days = 0;
};

// [logging]
struct LoggingSection {
    std::string level = "info";  // trace, debug, info, warn, error, critical, off
    std::optional<std::filesystem::path> file;  // absolute after loading; absent = stderr only
};

struct NodeConfig {
    NodeSection node;
    StudySection study;
    std::vector<Peer> peers;
    std::vector<Destination> destinations;
    StorageSection storage;
    NetworkSection network;
    WorkersSection workers;
    DeliverySection delivery;
    RoutingSection routing;
    RetentionSection retention;
    LoggingSection logging;
    // The file it came from; empty for the embedded default.
    std::filesystem::path source_file;
};

// One problem in a configuration file. line 0 = the file as a whole (e.g. it cannot be read).
struct ConfigProblem {
    std::filesystem::path file;
    int line = 0;
    std::string message;
};

// "FILE:LINE: message" (or "FILE: message" when line is 0).
std::string format_problem(const ConfigProblem& problem);

// Thrown by load_config / parse_config; what() lists every problem, one per line.
class ConfigError : public std::runtime_error {
public:
    explicit ConfigError(std::vector<ConfigProblem> problems);
    const std::vector<ConfigProblem>& problems() const noexcept { return problems_; }

private:
    std::vector<ConfigProblem> problems_;
};

// The embedded default (no --config): AE MODICNODE on port 11112, storage in <cwd>/var, one peer
// "*" from 127.0.0.1, no destination. storage_dir is made absolute against `working_dir`.
NodeConfig default_config(const std::filesystem::path& working_dir = std::filesystem::current_path());

// Parses TOML text. Keys not given keep their defaults. Relative paths (storage_dir, logging.file)
// are resolved against `base_dir`; `source_name` is used in problems. Throws ConfigError with
// every problem found (syntax, unknown key, wrong type, bad value, duplicates, bad regex). Does
// not touch the filesystem.
NodeConfig parse_config(std::string_view toml_text, const std::filesystem::path& base_dir,
                        const std::filesystem::path& source_name = "<config>");

// Reads and parses a file (relative paths resolved against its folder), then also checks that the
// storage dir can be created or written. Throws ConfigError listing every problem.
NodeConfig load_config(const std::filesystem::path& file);

// Every problem of a configuration file (empty = fine): syntax errors, unknown keys, wrong types,
// bad port, bad AE title (1-16 chars, no backslash or control characters), duplicate peer,
// duplicate destination name, bad regex, storage dir that cannot be created or written. Each with
// its line number. Never throws for a bad file; does not create anything.
std::vector<ConfigProblem> check_config(const std::filesystem::path& file);

// True if `ae_title` is a valid DICOM AE title: 1-16 characters, no backslash, no control
// characters, not only spaces.
bool is_valid_ae_title(std::string_view ae_title);

// SOP class names accepted in network.accepted_sop_classes and their UIDs.
struct NamedSopClass {
    std::string_view name;
    std::string_view uid;
};
const std::vector<NamedSopClass>& known_sop_classes();

// Attributes of a complete study that the routing rules look at.
struct RoutingInput {
    std::vector<std::string> modalities;  // one per series (duplicates fine)
    std::vector<std::string> body_parts;
    std::string study_description;
    std::vector<std::string> series_descriptions;
    std::vector<std::string> calling_aes;
};

// The action of the first rule that matches (a list criterion matches if any element matches),
// else routing.default_action. Regexes were validated at load.
RoutingAction route_study(const RoutingSection& routing, const RoutingInput& study);

std::string_view to_string(RoutingAction action);

}  // namespace modic::config
