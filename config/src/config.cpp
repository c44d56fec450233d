// Defaults, problems, file loading and the checks that touch the filesystem.
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include "config_internal.hpp"
#include "modic/config/config.hpp"

namespace modic::config {
namespace {

std::string join_problems(const std::vector<ConfigProblem>& problems) {
    std::string text;
    for (const ConfigProblem& problem : problems) {
        if (!text.empty()) text += '\n';
        text += format_problem(problem);
    }
    return text;
}

bool is_writable_directory(const std::filesystem::path& dir) {
    return ::access(dir.c_str(), W_OK | X_OK) == 0;
}

// Why `storage_dir` can neither be used nor created, or empty if it can. Creates nothing: the
// nearest existing ancestor must be a directory we may write into.
std::string storage_dir_problem(const std::filesystem::path& storage_dir) {
    std::error_code error;
    if (std::filesystem::exists(storage_dir, error)) {
        if (!std::filesystem::is_directory(storage_dir, error))
            return fmt::format("storage_dir {} exists and is not a directory", storage_dir.string());
        if (!is_writable_directory(storage_dir))
            return fmt::format("storage_dir {} is not writable", storage_dir.string());
        return {};
    }
    std::filesystem::path ancestor = storage_dir.parent_path();
    while (!ancestor.empty() && !std::filesystem::exists(ancestor, error)) {
        if (ancestor == ancestor.parent_path()) break;
        ancestor = ancestor.parent_path();
    }
    if (ancestor.empty() || !std::filesystem::is_directory(ancestor, error))
        return fmt::format("storage_dir {} cannot be created: {} is not a directory",
                           storage_dir.string(), ancestor.string());
    if (!is_writable_directory(ancestor))
        return fmt::format("storage_dir {} cannot be created: {} is not writable",
                           storage_dir.string(), ancestor.string());
    return {};
}

std::optional<std::string> read_file(const std::filesystem::path& file, std::string& problem) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        problem = "cannot read the file";
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::filesystem::path absolute_folder_of(const std::filesystem::path& file) {
    std::error_code error;
    std::filesystem::path absolute = std::filesystem::absolute(file, error);
    if (error) absolute = file;
    return absolute.parent_path();
}

}  // namespace

std::string format_problem(const ConfigProblem& problem) {
    if (problem.line > 0) return fmt::format("{}:{}: {}", problem.file.string(), problem.line, problem.message);
    return fmt::format("{}: {}", problem.file.string(), problem.message);
}

ConfigError::ConfigError(std::vector<ConfigProblem> problems)
    : std::runtime_error(join_problems(problems)), problems_(std::move(problems)) {}

NodeConfig default_config(const std::filesystem::path& working_dir) {
    NodeConfig config;
    config.node.storage_dir = (working_dir / config.node.storage_dir).lexically_normal();
    config.peers.push_back(Peer{"*", std::string("127.0.0.1"), 0});
    return config;
}

bool is_valid_ae_title(std::string_view ae_title) {
    if (ae_title.empty() || ae_title.size() > 16) return false;
    bool only_spaces = true;
    for (const char c : ae_title) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '\\' || byte < 0x20 || byte == 0x7f) return false;
        if (c != ' ') only_spaces = false;
    }
    return !only_spaces;
}

NodeConfig parse_config(std::string_view toml_text, const std::filesystem::path& base_dir,
                        const std::filesystem::path& source_name) {
    std::vector<ConfigProblem> problems;
    detail::ParsedConfig parsed = detail::parse_collecting(toml_text, base_dir, source_name, problems);
    if (!problems.empty()) throw ConfigError(std::move(problems));
    return std::move(parsed.config);
}

std::vector<ConfigProblem> check_config(const std::filesystem::path& file) {
    std::string read_problem;
    const std::optional<std::string> text = read_file(file, read_problem);
    if (!text) return {ConfigProblem{file, 0, read_problem}};
    std::vector<ConfigProblem> problems;
    const detail::ParsedConfig parsed =
        detail::parse_collecting(*text, absolute_folder_of(file), file, problems);
    if (!parsed.syntax_error) {
        const std::string dir_problem = storage_dir_problem(parsed.config.node.storage_dir);
        if (!dir_problem.empty())
            problems.push_back(ConfigProblem{file, parsed.storage_dir_line, dir_problem});
    }
    // In file order, as an editor goes through them.
    std::stable_sort(problems.begin(), problems.end(),
                     [](const ConfigProblem& a, const ConfigProblem& b) { return a.line < b.line; });
    return problems;
}

NodeConfig load_config(const std::filesystem::path& file) {
    std::vector<ConfigProblem> problems = check_config(file);
    if (!problems.empty()) throw ConfigError(std::move(problems));
    std::string read_problem;
    const std::optional<std::string> text = read_file(file, read_problem);
    if (!text) throw ConfigError({ConfigProblem{file, 0, read_problem}});
    NodeConfig config = parse_config(*text, absolute_folder_of(file), file);
    config.source_file = file;
    return config;
}

}  // namespace modic::config
