// TOML -> NodeConfig with every problem collected (never stops at the first bad value).
#include <fmt/core.h>
#include <toml++/toml.h>

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <map>
#include <regex>
#include <set>

#include "config_internal.hpp"

namespace modic::config::detail {
namespace {

using Keys = std::initializer_list<std::string_view>;

int line_of(const toml::source_region& region) { return static_cast<int>(region.begin.line); }

bool is_uid(std::string_view text) {
    if (text.empty() || text.size() > 64 || text.front() == '.' || text.back() == '.') return false;
    if (text.find("..") != std::string_view::npos) return false;
    return std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

class Parser {
public:
    Parser(const std::filesystem::path& base_dir, const std::filesystem::path& source,
           std::vector<ConfigProblem>& problems)
        : base_dir_(base_dir), source_(source), problems_(problems) {}

    void parse(const toml::table& root, ParsedConfig& out) {
        NodeConfig& config = out.config;
        reject_unknown(root, "", {"node", "study", "peers", "destinations", "storage", "network",
                                  "workers", "delivery", "routing", "retention", "logging"});
        if (const toml::table* node = section(root, "node")) parse_node(*node, out);
        if (const toml::table* study = section(root, "study")) {
            reject_unknown(*study, "study", {"quiet_seconds"});
            read_int(*study, "study", "quiet_seconds", 0, 86400, config.study.quiet_seconds);
        }
        if (root.contains("peers")) parse_peers(root, config);
        if (root.contains("destinations")) parse_destinations(root, config);
        if (const toml::table* storage = section(root, "storage")) {
            reject_unknown(*storage, "storage", {"fsync", "min_free_mb"});
            read_bool(*storage, "storage", "fsync", config.storage.fsync);
            read_int(*storage, "storage", "min_free_mb", 0, std::int64_t{1} << 40, config.storage.min_free_mb);
        }
        if (const toml::table* network = section(root, "network")) parse_network(*network, config.network);
        if (const toml::table* workers = section(root, "workers")) {
            reject_unknown(*workers, "workers", {"pool_size"});
            read_int(*workers, "workers", "pool_size", 1, 64, config.workers.pool_size);
        }
        if (const toml::table* delivery = section(root, "delivery")) parse_delivery(*delivery, config.delivery);
        if (const toml::table* routing = section(root, "routing")) parse_routing(*routing, config.routing);
        if (const toml::table* retention = section(root, "retention")) {
            reject_unknown(*retention, "retention",
                           {"delete_images_after_delivery", "image_retention_days", "sr_retention_days"});
            read_bool(*retention, "retention", "delete_images_after_delivery",
                      config.retention.delete_images_after_delivery);
            read_int(*retention, "retention", "image_retention_days", 0, 36500, config.retention.image_retention_days);
            read_int(*retention, "retention", "sr_retention_days", 0, 36500, config.retention.sr_retention_days);
        }
        if (const toml::table* logging = section(root, "logging")) parse_logging(*logging, config.logging);
    }

private:
    void problem(int line, std::string message) {
        problems_.push_back(ConfigProblem{source_, line, std::move(message)});
    }
    void problem(const toml::node& node, std::string message) { problem(line_of(node.source()), std::move(message)); }

    static std::string qualified(std::string_view section, std::string_view key) {
        return section.empty() ? std::string(key) : fmt::format("{}.{}", section, key);
    }

    void reject_unknown(const toml::table& table, std::string_view section, Keys known) {
        for (auto&& [key, value] : table) {
            if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
            const int line = key.source().begin.line ? line_of(key.source()) : line_of(value.source());
            problem(line, fmt::format("unknown key '{}'", qualified(section, key.str())));
        }
    }

    const toml::table* section(const toml::table& root, std::string_view name) {
        const toml::node* node = root.get(name);
        if (!node) return nullptr;
        if (const toml::table* table = node->as_table()) return table;
        problem(*node, fmt::format("'{}' must be a table ([{}])", name, name));
        return nullptr;
    }

    template <typename Int>
    bool read_int(const toml::table& table, std::string_view section, std::string_view key,
                  std::int64_t min, std::int64_t max, Int& out) {
        const toml::node* node = table.get(key);
        if (!node) return false;
        const auto* value = node->as_integer();
        if (!value) {
            problem(*node, fmt::format("'{}' must be an integer", qualified(section, key)));
            return false;
        }
        const std::int64_t number = value->get();
        if (number < min || number > max) {
            problem(*node, fmt::format("'{}' = {} is out of range [{}, {}]", qualified(section, key), number, min, max));
            return false;
        }
        out = static_cast<Int>(number);
        return true;
    }

    bool read_bool(const toml::table& table, std::string_view section, std::string_view key, bool& out) {
        const toml::node* node = table.get(key);
        if (!node) return false;
        if (const auto* value = node->as_boolean()) {
            out = value->get();
            return true;
        }
        problem(*node, fmt::format("'{}' must be true or false", qualified(section, key)));
        return false;
    }

    bool read_string(const toml::table& table, std::string_view section, std::string_view key, std::string& out) {
        const toml::node* node = table.get(key);
        if (!node) return false;
        if (const auto* value = node->as_string()) {
            out = value->get();
            return true;
        }
        problem(*node, fmt::format("'{}' must be a string", qualified(section, key)));
        return false;
    }

    bool read_optional_string(const toml::table& table, std::string_view section, std::string_view key,
                              std::optional<std::string>& out) {
        std::string text;
        if (!read_string(table, section, key, text)) return false;
        out = std::move(text);
        return true;
    }

    int key_line(const toml::table& table, std::string_view key) {
        const toml::node* node = table.get(key);
        return node ? line_of(node->source()) : line_of(table.source());
    }

    void check_ae_title(const toml::table& table, std::string_view section, std::string_view key,
                        const std::string& ae_title, bool allow_any) {
        if (allow_any && ae_title == "*") return;
        if (!is_valid_ae_title(ae_title))
            problem(key_line(table, key),
                    fmt::format("'{}' = \"{}\" is not a valid AE title (1-16 characters, no backslash or "
                                "control characters)", qualified(section, key), ae_title));
    }

    void require(const toml::table& table, std::string_view section, std::string_view key) {
        if (!table.contains(key))
            problem(table, fmt::format("'{}' is required in {}", key, section));
    }

    std::filesystem::path resolve(const std::string& path) const {
        std::filesystem::path value(path);
        if (value.is_relative()) value = base_dir_ / value;
        return value.lexically_normal();
    }

    void parse_node(const toml::table& table, ParsedConfig& out) {
        NodeSection& node = out.config.node;
        reject_unknown(table, "node", {"ae_title", "port", "storage_dir"});
        if (read_string(table, "node", "ae_title", node.ae_title))
            check_ae_title(table, "node", "ae_title", node.ae_title, false);
        read_int(table, "node", "port", 1, 65535, node.port);
        std::string storage_dir;
        if (read_string(table, "node", "storage_dir", storage_dir)) {
            out.storage_dir_line = key_line(table, "storage_dir");
            if (storage_dir.empty())
                problem(out.storage_dir_line, "'node.storage_dir' must not be empty");
            else
                node.storage_dir = resolve(storage_dir);
        }
    }

    // Calls `each` for every table of the array `key`; reports elements that are not tables.
    template <typename Each>
    void for_each_table(const toml::table& root, std::string_view key, Each each) {
        const toml::node* node = root.get(key);
        const toml::array* array = node ? node->as_array() : nullptr;
        if (!array) {
            if (node) problem(*node, fmt::format("'{}' must be an array of tables ([[{}]])", key, key));
            return;
        }
        for (const toml::node& element : *array) {
            if (const toml::table* table = element.as_table())
                each(*table);
            else
                problem(element, fmt::format("each entry of '{}' must be a table ([[{}]])", key, key));
        }
    }

    void parse_peers(const toml::table& root, NodeConfig& config) {
        config.peers.clear();
        std::map<std::pair<std::string, std::string>, int> seen;
        for_each_table(root, "peers", [&](const toml::table& table) {
            reject_unknown(table, "peers", {"ae_title", "host"});
            require(table, "[[peers]]", "ae_title");
            Peer peer;
            peer.line = line_of(table.source());
            if (read_string(table, "peers", "ae_title", peer.ae_title))
                check_ae_title(table, "peers", "ae_title", peer.ae_title, true);
            if (read_optional_string(table, "peers", "host", peer.host) && peer.host->empty())
                problem(key_line(table, "host"), "'peers.host' must not be empty (leave it out for any host)");
            const auto identity = std::make_pair(peer.ae_title, peer.host.value_or("*"));
            if (const auto found = seen.find(identity); found != seen.end())
                problem(peer.line, fmt::format("duplicate peer {} from {} (first at line {})", peer.ae_title,
                                               peer.host.value_or("any host"), found->second));
            else
                seen.emplace(identity, peer.line);
            config.peers.push_back(std::move(peer));
        });
    }

    void parse_destinations(const toml::table& root, NodeConfig& config) {
        config.destinations.clear();
        std::map<std::string, int> seen;
        for_each_table(root, "destinations", [&](const toml::table& table) {
            reject_unknown(table, "destinations", {"name", "ae_title", "host", "port"});
            for (std::string_view key : {"name", "ae_title", "host", "port"}) require(table, "[[destinations]]", key);
            Destination destination;
            destination.line = line_of(table.source());
            if (read_string(table, "destinations", "name", destination.name) && destination.name.empty())
                problem(key_line(table, "name"), "'destinations.name' must not be empty");
            if (read_string(table, "destinations", "ae_title", destination.ae_title))
                check_ae_title(table, "destinations", "ae_title", destination.ae_title, false);
            if (read_string(table, "destinations", "host", destination.host) && destination.host.empty())
                problem(key_line(table, "host"), "'destinations.host' must not be empty");
            read_int(table, "destinations", "port", 1, 65535, destination.port);
            if (!destination.name.empty()) {
                if (const auto found = seen.find(destination.name); found != seen.end())
                    problem(destination.line, fmt::format("duplicate destination name '{}' (first at line {})",
                                                          destination.name, found->second));
                else
                    seen.emplace(destination.name, destination.line);
            }
            config.destinations.push_back(std::move(destination));
        });
    }

    void parse_network(const toml::table& table, NetworkSection& network) {
        reject_unknown(table, "network", {"max_associations", "max_associations_per_ae", "acse_timeout_seconds",
                                          "dimse_timeout_seconds", "max_pdu_bytes", "accepted_sop_classes"});
        read_int(table, "network", "max_associations", 1, 1000, network.max_associations);
        read_int(table, "network", "max_associations_per_ae", 1, 1000, network.max_associations_per_ae);
        read_int(table, "network", "acse_timeout_seconds", 1, 3600, network.acse_timeout_seconds);
        read_int(table, "network", "dimse_timeout_seconds", 1, 3600, network.dimse_timeout_seconds);
        read_int(table, "network", "max_pdu_bytes", 4096, 131072, network.max_pdu_bytes);
        if (network.max_associations_per_ae > network.max_associations)
            problem(key_line(table, "max_associations_per_ae"),
                    "'network.max_associations_per_ae' is larger than 'network.max_associations'");
        if (const toml::node* node = table.get("accepted_sop_classes")) parse_sop_classes(*node, network);
    }

    void parse_sop_classes(const toml::node& node, NetworkSection& network) {
        const toml::array* array = node.as_array();
        if (!array || array->empty()) {
            problem(node, "'network.accepted_sop_classes' must be a non-empty array of SOP class names or UIDs");
            return;
        }
        network.accepted_sop_classes.clear();
        for (const toml::node& element : *array) {
            const auto* text = element.as_string();
            if (!text) {
                problem(element, "'network.accepted_sop_classes' entries must be strings");
                continue;
            }
            const std::string& value = text->get();
            const auto& known = known_sop_classes();
            const auto named = std::find_if(known.begin(), known.end(), [&](const NamedSopClass& sop_class) {
                return sop_class.name == value;
            });
            if (named != known.end())
                network.accepted_sop_classes.emplace_back(named->uid);
            else if (is_uid(value))
                network.accepted_sop_classes.push_back(value);
            else
                problem(element, fmt::format("'{}' is neither a known SOP class name nor a UID", value));
        }
    }

    void parse_delivery(const toml::table& table, DeliverySection& delivery) {
        reject_unknown(table, "delivery", {"retry_initial_seconds", "retry_max_seconds", "give_up_after_hours",
                                           "send_not_analyzable_sr"});
        read_int(table, "delivery", "retry_initial_seconds", 1, 86400, delivery.retry_initial_seconds);
        read_int(table, "delivery", "retry_max_seconds", 1, 7 * 86400, delivery.retry_max_seconds);
        read_int(table, "delivery", "give_up_after_hours", 1, 24 * 365, delivery.give_up_after_hours);
        read_bool(table, "delivery", "send_not_analyzable_sr", delivery.send_not_analyzable_sr);
        if (delivery.retry_max_seconds < delivery.retry_initial_seconds)
            problem(key_line(table, "retry_max_seconds"),
                    "'delivery.retry_max_seconds' is smaller than 'delivery.retry_initial_seconds'");
    }

    bool read_action(const toml::table& table, std::string_view section, std::string_view key, RoutingAction& out) {
        std::string text;
        if (!read_string(table, section, key, text)) return false;
        if (text == "analyze" || text == "analyse") {
            out = RoutingAction::analyze;
            return true;
        }
        if (text == "ignore") {
            out = RoutingAction::ignore;
            return true;
        }
        problem(key_line(table, key), fmt::format("'{}' = \"{}\" must be \"analyze\" or \"ignore\"",
                                                  qualified(section, key), text));
        return false;
    }

    void read_regex(const toml::table& table, std::string_view key, std::optional<std::string>& out) {
        if (!read_optional_string(table, "routing.rules", key, out)) return;
        try {
            std::regex(*out, std::regex::ECMAScript | std::regex::icase);
        } catch (const std::regex_error& error) {
            problem(key_line(table, key), fmt::format("'routing.rules.{}' = \"{}\" is not a valid regular "
                                                      "expression: {}", key, *out, error.what()));
            out.reset();
        }
    }

    void parse_routing(const toml::table& table, RoutingSection& routing) {
        reject_unknown(table, "routing", {"default_action", "rules"});
        read_action(table, "routing", "default_action", routing.default_action);
        if (!table.contains("rules")) return;
        for_each_table(table, "rules", [&](const toml::table& rule_table) {
            reject_unknown(rule_table, "routing.rules", {"modality", "body_part", "study_description",
                                                         "series_description", "calling_ae", "action"});
            require(rule_table, "[[routing.rules]]", "action");
            RoutingRule rule;
            rule.line = line_of(rule_table.source());
            read_optional_string(rule_table, "routing.rules", "modality", rule.modality);
            read_optional_string(rule_table, "routing.rules", "calling_ae", rule.calling_ae);
            read_regex(rule_table, "body_part", rule.body_part);
            read_regex(rule_table, "study_description", rule.study_description);
            read_regex(rule_table, "series_description", rule.series_description);
            read_action(rule_table, "routing.rules", "action", rule.action);
            routing.rules.push_back(std::move(rule));
        });
    }

    void parse_logging(const toml::table& table, LoggingSection& logging) {
        reject_unknown(table, "logging", {"level", "file"});
        static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
        if (read_string(table, "logging", "level", logging.level) && !levels.count(logging.level))
            problem(key_line(table, "level"),
                    fmt::format("'logging.level' = \"{}\" must be one of trace, debug, info, warn, error, "
                                "critical, off", logging.level));
        std::string file;
        if (read_string(table, "logging", "file", file)) {
            if (file.empty())
                problem(key_line(table, "file"), "'logging.file' must not be empty (leave it out for stderr)");
            else
                logging.file = resolve(file);
        }
    }

    std::filesystem::path base_dir_;
    std::filesystem::path source_;
    std::vector<ConfigProblem>& problems_;
};

}  // namespace

ParsedConfig parse_collecting(std::string_view toml_text, const std::filesystem::path& base_dir,
                              const std::filesystem::path& source_name, std::vector<ConfigProblem>& problems) {
    ParsedConfig parsed;
    parsed.config = default_config(base_dir);
    toml::table root;
    try {
        root = toml::parse(toml_text, source_name.string());
    } catch (const toml::parse_error& error) {
        parsed.syntax_error = true;
        problems.push_back(ConfigProblem{source_name, line_of(error.source()),
                                         fmt::format("TOML syntax error: {}", error.description())});
        return parsed;
    }
    Parser(base_dir, source_name, problems).parse(root, parsed);
    return parsed;
}

}  // namespace modic::config::detail
