// modic_config: defaults, the shipped example, every kind of problem with its line, paths.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <random>

#include "modic/config/config.hpp"

namespace modic::config {
namespace {

class TempFolder {
public:
    TempFolder() {
        std::random_device random;
        path_ = std::filesystem::temp_directory_path() / ("modic-config-test-" + std::to_string(::getpid()) + "-" +
                                                          std::to_string(random()));
        std::filesystem::create_directories(path_);
    }
    ~TempFolder() { std::filesystem::remove_all(path_); }
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path write(const std::string& name, const std::string& text) const {
        const auto file = path_ / name;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file) << text;
        return file;
    }

private:
    std::filesystem::path path_;
};

// The problem on `line` whose message contains `fragment`, or nullptr.
const ConfigProblem* find_problem(const std::vector<ConfigProblem>& problems, int line, const std::string& fragment) {
    const auto found = std::find_if(problems.begin(), problems.end(), [&](const ConfigProblem& problem) {
        return problem.line == line && problem.message.find(fragment) != std::string::npos;
    });
    return found == problems.end() ? nullptr : &*found;
}

std::string describe(const std::vector<ConfigProblem>& problems) {
    std::string text;
    for (const auto& problem : problems) text += format_problem(problem) + "\n";
    return text;
}

TEST(ConfigDefaults, EmbeddedDefaultIsTheDocumentedNode) {
    const NodeConfig config = default_config("/srv/node");
    EXPECT_EQ(config.node.ae_title, "MODICNODE");
    EXPECT_EQ(config.node.port, 11112);
    EXPECT_EQ(config.node.storage_dir, std::filesystem::path("/srv/node/var"));
    ASSERT_EQ(config.peers.size(), 1u);
    EXPECT_EQ(config.peers[0].ae_title, "*");
    EXPECT_EQ(config.peers[0].host, std::optional<std::string>("127.0.0.1"));
    EXPECT_TRUE(config.destinations.empty());
    EXPECT_EQ(config.study.quiet_seconds, 10);
    EXPECT_TRUE(config.storage.fsync);
    EXPECT_EQ(config.storage.min_free_mb, 1024u);
    EXPECT_EQ(config.workers.pool_size, 2);
    EXPECT_EQ(config.delivery.retry_initial_seconds, 30);
    EXPECT_EQ(config.delivery.retry_max_seconds, 3600);
    EXPECT_EQ(config.delivery.give_up_after_hours, 24);
    EXPECT_FALSE(config.delivery.send_not_analyzable_sr);
    EXPECT_EQ(config.routing.default_action, RoutingAction::analyze);
    EXPECT_TRUE(config.routing.rules.empty());
    EXPECT_EQ(config.logging.level, "info");
    EXPECT_FALSE(config.logging.file.has_value());
    const std::vector<std::string> mr_and_sc = {"1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.4.1",
                                                "1.2.840.10008.5.1.4.1.1.7"};
    EXPECT_EQ(config.network.accepted_sop_classes, mr_and_sc);
}

TEST(ConfigDefaults, EmptyFileKeepsEveryDefault) {
    const NodeConfig parsed = parse_config("", "/etc/modic");
    const NodeConfig defaults = default_config("/etc/modic");
    EXPECT_EQ(parsed.node.storage_dir, defaults.node.storage_dir);
    EXPECT_EQ(parsed.node.ae_title, defaults.node.ae_title);
    EXPECT_EQ(parsed.peers.size(), 1u);
    EXPECT_EQ(parsed.network.max_pdu_bytes, defaults.network.max_pdu_bytes);
}

TEST(ConfigExample, ShippedExampleChecksCleanAndParses) {
    const std::filesystem::path example = std::filesystem::path(MODIC_SOURCE_DIR) / "config" / "modic-node.toml";
    const auto problems = check_config(example);
    EXPECT_TRUE(problems.empty()) << describe(problems);
    const NodeConfig config = load_config(example);
    EXPECT_EQ(config.node.storage_dir, (example.parent_path() / "var").lexically_normal());
    ASSERT_EQ(config.destinations.size(), 1u);
    EXPECT_EQ(config.destinations[0].name, "pacs");
    EXPECT_EQ(config.destinations[0].port, 4242);
    ASSERT_EQ(config.peers.size(), 2u);
    EXPECT_FALSE(config.peers[1].host.has_value());
    EXPECT_EQ(config.routing.rules.size(), 2u);
    EXPECT_EQ(config.source_file, example);
}

TEST(ConfigParse, FullFileSetsEveryOption) {
    const NodeConfig config = parse_config(R"(
[node]
ae_title = "NODE2"
port = 104
storage_dir = "/data/modic"
[study]
quiet_seconds = 3
[[peers]]
ae_title = "*"
[[destinations]]
name = "a"
ae_title = "PACSA"
host = "10.0.0.1"
port = 11113
[[destinations]]
name = "b"
ae_title = "PACSA"
host = "10.0.0.2"
port = 104
[storage]
fsync = false
min_free_mb = 5
[network]
max_associations = 8
max_associations_per_ae = 2
acse_timeout_seconds = 5
dimse_timeout_seconds = 7
max_pdu_bytes = 16384
accepted_sop_classes = ["MRImageStorage", "1.2.3.4"]
[workers]
pool_size = 3
[delivery]
retry_initial_seconds = 1
retry_max_seconds = 8
give_up_after_hours = 2
send_not_analyzable_sr = true
[routing]
default_action = "ignore"
[[routing.rules]]
modality = "MR"
calling_ae = "ORTHANC"
action = "analyze"
[retention]
delete_images_after_delivery = true
image_retention_days = 7
sr_retention_days = 30
[logging]
level = "debug"
file = "log/node.log"
)", "/etc/modic");
    EXPECT_EQ(config.node.ae_title, "NODE2");
    EXPECT_EQ(config.node.port, 104);
    EXPECT_EQ(config.node.storage_dir, std::filesystem::path("/data/modic"));
    EXPECT_EQ(config.study.quiet_seconds, 3);
    ASSERT_EQ(config.peers.size(), 1u);
    EXPECT_FALSE(config.peers[0].host.has_value());
    ASSERT_EQ(config.destinations.size(), 2u);
    EXPECT_EQ(config.destinations[1].host, "10.0.0.2");
    EXPECT_FALSE(config.storage.fsync);
    EXPECT_EQ(config.storage.min_free_mb, 5u);
    EXPECT_EQ(config.network.max_associations, 8);
    EXPECT_EQ(config.network.max_associations_per_ae, 2);
    EXPECT_EQ(config.network.acse_timeout_seconds, 5);
    EXPECT_EQ(config.network.dimse_timeout_seconds, 7);
    EXPECT_EQ(config.network.max_pdu_bytes, 16384u);
    EXPECT_EQ(config.network.accepted_sop_classes, (std::vector<std::string>{"1.2.840.10008.5.1.4.1.1.4", "1.2.3.4"}));
    EXPECT_EQ(config.workers.pool_size, 3);
    EXPECT_EQ(config.delivery.retry_initial_seconds, 1);
    EXPECT_EQ(config.delivery.retry_max_seconds, 8);
    EXPECT_EQ(config.delivery.give_up_after_hours, 2);
    EXPECT_TRUE(config.delivery.send_not_analyzable_sr);
    EXPECT_EQ(config.routing.default_action, RoutingAction::ignore);
    ASSERT_EQ(config.routing.rules.size(), 1u);
    EXPECT_EQ(config.routing.rules[0].modality, std::optional<std::string>("MR"));
    EXPECT_EQ(config.routing.rules[0].calling_ae, std::optional<std::string>("ORTHANC"));
    EXPECT_TRUE(config.retention.delete_images_after_delivery);
    EXPECT_EQ(config.retention.image_retention_days, 7);
    EXPECT_EQ(config.retention.sr_retention_days, 30);
    EXPECT_EQ(config.logging.level, "debug");
    EXPECT_EQ(config.logging.file, std::filesystem::path("/etc/modic/log/node.log"));
}

TEST(ConfigPaths, RelativeStorageDirIsRelativeToTheFilesFolder) {
    TempFolder folder;
    const auto file = folder.write("etc/node.toml", "[node]\nstorage_dir = \"../data/./store\"\n");
    const NodeConfig config = load_config(file);
    EXPECT_EQ(config.node.storage_dir, (folder.path() / "data" / "store").lexically_normal());
    const auto absolute = folder.write("abs.toml", "[node]\nstorage_dir = \"" + (folder.path() / "x").string() + "\"\n");
    EXPECT_EQ(load_config(absolute).node.storage_dir, folder.path() / "x");
}

TEST(ConfigPaths, RelativeConfigPathStillResolvesAgainstItsFolder) {
    TempFolder folder;
    folder.write("sub/node.toml", "[node]\nstorage_dir = \"var\"\n");
    const auto previous = std::filesystem::current_path();
    std::filesystem::current_path(folder.path());
    const NodeConfig config = load_config("sub/node.toml");
    std::filesystem::current_path(previous);
    EXPECT_EQ(config.node.storage_dir, folder.path() / "sub" / "var");
}

class ConfigProblems : public ::testing::Test {
protected:
    std::vector<ConfigProblem> check(const std::string& text) { return check_config(folder_.write("node.toml", text)); }
    TempFolder folder_;
};

TEST_F(ConfigProblems, UnknownKeysAreReportedWithTheirLines) {
    const auto problems = check("[node]\nae_title = \"A\"\nprot = 1\n\n[nodes]\nx = 1\n");
    EXPECT_TRUE(find_problem(problems, 3, "unknown key 'node.prot'")) << describe(problems);
    EXPECT_TRUE(find_problem(problems, 5, "unknown key 'nodes'")) << describe(problems);
}

TEST_F(ConfigProblems, WrongTypes) {
    const auto problems = check("[node]\nport = \"11112\"\n[storage]\nfsync = 1\n[[peers]]\nae_title = 7\n");
    EXPECT_TRUE(find_problem(problems, 2, "'node.port' must be an integer")) << describe(problems);
    EXPECT_TRUE(find_problem(problems, 4, "'storage.fsync' must be true or false")) << describe(problems);
    EXPECT_TRUE(find_problem(problems, 6, "'peers.ae_title' must be a string")) << describe(problems);
}

TEST_F(ConfigProblems, BadPorts) {
    const auto problems =
        check("[node]\nport = 0\n[[destinations]]\nname = \"p\"\nae_title = \"P\"\nhost = \"h\"\nport = 70000\n");
    EXPECT_TRUE(find_problem(problems, 2, "'node.port' = 0 is out of range")) << describe(problems);
    EXPECT_TRUE(find_problem(problems, 7, "'destinations.port' = 70000 is out of range")) << describe(problems);
}

TEST_F(ConfigProblems, BadAeTitles) {
    const auto problems = check("[node]\nae_title = \"MUCH_TOO_LONG_AE_TITLE\"\n[[peers]]\nae_title = 'A\\B'\n"
                                "[[destinations]]\nname = \"d\"\nae_title = \"\"\nhost = \"h\"\nport = 1\n");
    EXPECT_TRUE(find_problem(problems, 2, "not a valid AE title")) << describe(problems);
    EXPECT_TRUE(find_problem(problems, 4, "not a valid AE title")) << describe(problems);
    EXPECT_TRUE(find_problem(problems, 7, "not a valid AE title")) << describe(problems);
}

TEST_F(ConfigProblems, DuplicatePeersAndDestinations) {
    const auto problems = check(
        "[[peers]]\nae_title = \"A\"\nhost = \"h\"\n"
        "[[peers]]\nae_title = \"A\"\nhost = \"h\"\n"
        "[[peers]]\nae_title = \"A\"\n"  // same AE from any host: a different peer
        "[[destinations]]\nname = \"x\"\nae_title = \"A\"\nhost = \"h\"\nport = 1\n"
        "[[destinations]]\nname = \"x\"\nae_title = \"B\"\nhost = \"h\"\nport = 2\n");
    EXPECT_TRUE(find_problem(problems, 4, "duplicate peer A from h (first at line 1)")) << describe(problems);
    EXPECT_TRUE(find_problem(problems, 14, "duplicate destination name 'x' (first at line 9)")) << describe(problems);
    EXPECT_EQ(problems.size(), 2u) << describe(problems);
}

TEST_F(ConfigProblems, MissingRequiredDestinationKeys) {
    const auto problems = check("[[destinations]]\nname = \"x\"\n");
    EXPECT_TRUE(find_problem(problems, 1, "'ae_title' is required")) << describe(problems);
    EXPECT_TRUE(find_problem(problems, 1, "'port' is required")) << describe(problems);
}

TEST_F(ConfigProblems, BadRegexAndAction) {
    const auto problems = check("[routing]\ndefault_action = \"maybe\"\n[[routing.rules]]\n"
                                "body_part = \"L(SPINE\"\naction = \"analyze\"\n");
    EXPECT_TRUE(find_problem(problems, 2, "must be \"analyze\" or \"ignore\"")) << describe(problems);
    EXPECT_TRUE(find_problem(problems, 4, "not a valid regular expression")) << describe(problems);
}

TEST_F(ConfigProblems, UnknownSopClassNameAndLoggingLevel) {
    const auto problems = check("[network]\naccepted_sop_classes = [\"MRImageStorage\", \"NoSuchStorage\"]\n"
                                "[logging]\nlevel = \"loud\"\n");
    EXPECT_TRUE(find_problem(problems, 2, "'NoSuchStorage' is neither")) << describe(problems);
    EXPECT_TRUE(find_problem(problems, 4, "'logging.level'")) << describe(problems);
}

TEST_F(ConfigProblems, StorageDirThatCannotBeCreated) {
    folder_.write("plain-file", "not a folder");
    const auto problems = check("# comment\n[node]\n\nstorage_dir = \"plain-file/var\"\n");
    EXPECT_TRUE(find_problem(problems, 4, "cannot be created")) << describe(problems);
    const auto file_as_dir = check("[node]\nstorage_dir = \"plain-file\"\n");
    EXPECT_TRUE(find_problem(file_as_dir, 2, "is not a directory")) << describe(file_as_dir);
}

TEST_F(ConfigProblems, StorageDirThatCannotBeWritten) {
    if (::geteuid() == 0) GTEST_SKIP() << "root may write anywhere";
    const auto locked = folder_.path() / "locked";
    std::filesystem::create_directories(locked);
    std::filesystem::permissions(locked, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    const auto problems = check("[node]\nstorage_dir = \"locked/var\"\n");
    std::filesystem::permissions(locked, std::filesystem::perms::owner_all);
    EXPECT_TRUE(find_problem(problems, 2, "not writable")) << describe(problems);
}

TEST_F(ConfigProblems, SyntaxErrorHasItsLine) {
    const auto problems = check("[node]\nport = 1\nae_title = \"unterminated\n");
    ASSERT_EQ(problems.size(), 1u) << describe(problems);
    EXPECT_EQ(problems[0].line, 3);
    EXPECT_NE(problems[0].message.find("syntax"), std::string::npos);
}

TEST_F(ConfigProblems, EveryProblemIsReportedAtOnce) {
    const auto problems = check("[node]\nport = -1\nae_title = \"\"\n[workers]\npool_size = 0\nbogus = true\n");
    EXPECT_EQ(problems.size(), 4u) << describe(problems);
}

TEST_F(ConfigProblems, UnreadableFileIsOneProblem) {
    const auto problems = check_config(folder_.path() / "missing.toml");
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].line, 0);
}

TEST_F(ConfigProblems, LoadConfigThrowsWithEveryProblem) {
    const auto file = folder_.write("bad.toml", "[node]\nport = 0\n[study]\nquiet_seconds = \"x\"\n");
    try {
        load_config(file);
        FAIL() << "load_config accepted a bad file";
    } catch (const ConfigError& error) {
        EXPECT_EQ(error.problems().size(), 2u);
        EXPECT_NE(std::string(error.what()).find("bad.toml:4:"), std::string::npos) << error.what();
    }
}

TEST(ConfigAeTitle, Rules) {
    EXPECT_TRUE(is_valid_ae_title("MODICNODE"));
    EXPECT_TRUE(is_valid_ae_title("A B"));
    EXPECT_TRUE(is_valid_ae_title("SIXTEEN_CHARS_16"));
    EXPECT_FALSE(is_valid_ae_title("SEVENTEEN_CHARS17"));
    EXPECT_FALSE(is_valid_ae_title(""));
    EXPECT_FALSE(is_valid_ae_title("    "));
    EXPECT_FALSE(is_valid_ae_title("A\\B"));
    EXPECT_FALSE(is_valid_ae_title("A\nB"));
}

TEST(ConfigRouting, FirstMatchingRuleDecides) {
    const NodeConfig config = parse_config(R"(
[routing]
default_action = "ignore"
[[routing.rules]]
calling_ae = "TESTSCU"
action = "ignore"
[[routing.rules]]
modality = "mr"
body_part = "^l.?spine"
action = "analyze"
[[routing.rules]]
series_description = "sag.*t2"
action = "analyze"
)", "/");
    RoutingInput lumbar{{"MR"}, {"LSPINE"}, "MRI LWS", {"t1_tse_sag"}, {"ORTHANC"}};
    EXPECT_EQ(route_study(config.routing, lumbar), RoutingAction::analyze);
    RoutingInput from_test = lumbar;
    from_test.calling_aes = {"testscu"};
    EXPECT_EQ(route_study(config.routing, from_test), RoutingAction::ignore);
    RoutingInput ct{{"CT"}, {"CHEST"}, "CT Thorax", {"axial"}, {"ORTHANC"}};
    EXPECT_EQ(route_study(config.routing, ct), RoutingAction::ignore);
    RoutingInput by_series{{"MR"}, {""}, "", {"localizer", "SAG T2 TSE"}, {"X"}};
    EXPECT_EQ(route_study(config.routing, by_series), RoutingAction::analyze);
}

}  // namespace
}  // namespace modic::config
