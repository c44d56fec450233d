// modic-node serve end to end, with real peers on loopback: DCMTK's echoscu/storescu/storescp,
// raw C-STOREs for what no well-behaved SCU sends, and Orthanc as the PACS.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>

#include "harness.hpp"

namespace modic::e2e {
namespace {

using nlohmann::json;

constexpr const char* kMrImageStorage = "1.2.840.10008.5.1.4.1.1.4";

json node_jobs(const NodeUnderTest& node) {
    CommandResult listing = node.admin({"jobs", "--json"});
    if (listing.exit_code != 0) return json::array();
    return json::parse(listing.output, nullptr, false);
}

// Waits until every job of the node is in a final state and at least `count` jobs exist.
bool wait_for_final_jobs(const NodeUnderTest& node, std::size_t count, std::chrono::milliseconds timeout) {
    return wait_until(
        [&] {
            auto states = node.job_states();
            if (states.size() < count) return false;
            for (const auto& state : states)
                if (state != "delivered" && state != "done" && state != "not_analyzable" &&
                    state != "ignored" && state != "failed")
                    return false;
            return true;
        },
        timeout);
}

std::set<std::string> sop_uids_of(const std::vector<fs::path>& files) {
    std::set<std::string> uids;
    for (const auto& file : files) uids.insert(dicom_value(file, "0008,0018"));
    return uids;
}

// The analysis findings without their timings (which differ run to run).
json comparable(json findings) {
    findings.erase("timing_ms");
    return findings;
}

json analyze_folder(const fs::path& folder, const fs::path& output) {
    CommandResult analysed = run_command({MODIC_NODE_BINARY, "analyze", folder.string(), "--json", output.string()});
    EXPECT_EQ(analysed.exit_code, 0) << analysed.output;
    std::ifstream in(output);
    return json::parse(in);
}

bool log_contains(const NodeUnderTest& node, const std::string& text) {
    return node.log().find(text) != std::string::npos;
}

// Copies of one spider-dev image with fresh SOP Instance UIDs (same study and series): many
// instances for the tests that need a transfer long enough to interrupt.
std::vector<fs::path> many_instances(const fs::path& source, const fs::path& folder, int count) {
    fs::create_directories(folder);
    std::vector<fs::path> files;
    for (int i = 0; i < count; ++i) {
        DcmFileFormat format;
        format.loadFile(source.c_str());
        char uid[100];
        dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT);
        format.getDataset()->putAndInsertString(DCM_SOPInstanceUID, uid);
        format.getMetaInfo()->putAndInsertString(DCM_MediaStorageSOPInstanceUID, uid);
        format.getDataset()->putAndInsertString(DCM_InstanceNumber, std::to_string(i + 2).c_str());
        fs::path file = folder / ("copy" + std::to_string(i) + ".dcm");
        format.saveFile(file.c_str(), EXS_LittleEndianExplicit);
        files.push_back(file);
    }
    return files;
}

TEST(NodeE2e, EchoAndAssociationPolicy) {
    TempDir work("modic-e2e-echo");
    NodeSettings settings;
    settings.peers = {{"STORESCU", "127.0.0.1"}, {"PROBE", ""}, {"FARAWAY", "192.0.2.1"}};
    NodeUnderTest node(work.path(), settings);
    node.start();

    EXPECT_EQ(echo(node.port(), "STORESCU", "MODICNODE").exit_code, 0);
    EXPECT_NE(echo(node.port(), "STORESCU", "NOTTHENODE").exit_code, 0) << "wrong called AE";
    EXPECT_NE(echo(node.port(), "STRANGER", "MODICNODE").exit_code, 0) << "unknown calling AE";
    EXPECT_NE(echo(node.port(), "FARAWAY", "MODICNODE").exit_code, 0) << "known AE, wrong host";
    EXPECT_TRUE(log_contains(node, "refused: called AE title not recognised"));
    EXPECT_TRUE(log_contains(node, "refused: calling AE title or host not allowed"));
    EXPECT_EQ(node.stop(), 0);
    EXPECT_TRUE(log_contains(node, "modic-node stopped"));
}

// The log goes to stderr and to logging.file, one line per event: a calling AE title with a
// line break in it (refused: no DICOM AE title) is written out as "\n", in both.
TEST(NodeE2e, TheLogIsWrittenToItsFileTooOneLinePerEvent) {
    TempDir work("modic-e2e-logfile");
    NodeSettings settings;
    settings.log_file = "log/modic-node.log";
    NodeUnderTest node(work.path(), settings);
    node.start();
    ASSERT_EQ(echo(node.port(), "SCU", "MODICNODE").exit_code, 0);
    EXPECT_NE(echo(node.port(), "EV\nIL error", "MODICNODE").exit_code, 0);
    EXPECT_EQ(node.stop(), 0);
    std::ifstream file(work.path() / "log" / "modic-node.log");
    ASSERT_TRUE(file) << "no log file";
    const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("association from SCU at 127.0.0.1 ended"), std::string::npos) << text;
    EXPECT_NE(text.find("modic-node stopped"), std::string::npos);
    const std::string escaped = "association from EV\\nIL error at 127.0.0.1 to MODICNODE refused";
    EXPECT_NE(text.find(escaped), std::string::npos) << text;
    EXPECT_NE(node.log().find(escaped), std::string::npos) << node.log();
    EXPECT_EQ(text.find("\nIL error"), std::string::npos) << "a line break from the peer reached the file";
}

TEST(NodeE2e, AssociationLimitsPerCallerAndInTotal) {
    TempDir work("modic-e2e-limits");
    NodeSettings settings;
    settings.max_associations = 3;
    settings.max_associations_per_ae = 2;
    NodeUnderTest node(work.path(), settings);
    node.start();
    const std::vector<std::pair<std::string, std::string>> echo_context = {
        {UID_VerificationSOPClass, UID_LittleEndianImplicitTransferSyntax}};

    auto first = std::make_unique<HeldAssociation>(node.port(), "ALPHA", "MODICNODE", echo_context);
    auto second = std::make_unique<HeldAssociation>(node.port(), "ALPHA", "MODICNODE", echo_context);
    ASSERT_TRUE(first->accepted()) << first->error();
    ASSERT_TRUE(second->accepted()) << second->error();
    EXPECT_NE(echo(node.port(), "ALPHA", "MODICNODE").exit_code, 0) << "a third from ALPHA exceeds its 2";

    auto other = std::make_unique<HeldAssociation>(node.port(), "BRAVO", "MODICNODE", echo_context);
    ASSERT_TRUE(other->accepted()) << other->error();
    EXPECT_NE(echo(node.port(), "CHARLIE", "MODICNODE").exit_code, 0) << "a fourth exceeds the total of 3";
    EXPECT_TRUE(log_contains(node, "too many associations"));

    first.reset();  // released: ALPHA has a slot again
    EXPECT_TRUE(wait_until([&] { return echo(node.port(), "ALPHA", "MODICNODE").exit_code == 0; }, 5s))
        << "the released slot is free again";
    // Idle associations would hold the node's stop until their DIMSE timeout: release them first.
    second.reset();
    other.reset();
    EXPECT_EQ(node.stop(), 0);
}

// The memory mappings of the node's process (a thread's stack is one, its guard page another).
std::size_t memory_mappings(pid_t pid) {
    std::ifstream maps(fmt::format("/proc/{}/maps", pid));
    return static_cast<std::size_t>(std::count(std::istreambuf_iterator<char>(maps),
                                               std::istreambuf_iterator<char>(), '\n'));
}

TEST(NodeE2e, AssociationsThatEndedLeaveNoThreadBehind) {
    TempDir work("modic-e2e-threads");
    NodeUnderTest node(work.path(), {});
    node.start();
    // The first associations bring the allocator's per-thread arenas; they stay, and are few.
    for (int i = 0; i < 10; ++i) ASSERT_EQ(echo(node.port(), "SCU", "MODICNODE").exit_code, 0);
    const std::size_t before = memory_mappings(node.pid());
    for (int i = 0; i < 100; ++i) ASSERT_EQ(echo(node.port(), "SCU", "MODICNODE").exit_code, 0);
    for (int i = 0; i < 20; ++i) EXPECT_NE(echo(node.port(), "SCU", "OTHERNODE").exit_code, 0);
    const std::size_t after = memory_mappings(node.pid());
    // A thread never joined keeps its stack mapped: 120 associations would add 240 mappings.
    EXPECT_LT(after, before + 20) << "mappings before " << before << ", after " << after;
    EXPECT_EQ(node.stop(), 0);
}

// A TCP connection to the node that never sends an association request (a port probe left open).
class SilentConnection {
public:
    explicit SilentConnection(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    }
    ~SilentConnection() { ::close(fd_); }
    bool connected() const { return connected_; }

private:
    int fd_;
    bool connected_ = false;
};

TEST(NodeE2e, AConnectionThatSendsNothingHoldsOtherCallersOnlyBriefly) {
    TempDir work("modic-e2e-silent");
    NodeUnderTest node(work.path(), {});  // ACSE timeout 10 s (harness)
    node.start();
    SilentConnection silent(node.port());
    ASSERT_TRUE(silent.connected());
    // Waiting for the silent caller's request for the full ACSE timeout would outlast this
    // caller's own 8 s: the node gives up on it after 5.
    const auto echo = run_command({"echoscu", "-ta", "8", "-aet", "SCU", "-aec", "MODICNODE",
                                   "127.0.0.1", std::to_string(node.port())});
    EXPECT_EQ(echo.exit_code, 0) << echo.output;
    EXPECT_TRUE(wait_until([&] { return log_contains(node, "association request not received"); }, 5s));
    { SilentConnection probe(node.port()); }  // a monitoring probe: connect, close
    EXPECT_TRUE(wait_until([&] { return log_contains(node, "closed before any association request"); }, 5s));
    EXPECT_FALSE(log_contains(node, "refused: called AE title")) << "a probe is no refused association";
    EXPECT_EQ(node.stop(), 0);
}

TEST(NodeE2e, TransferSyntaxesTheNodeCannotDecodeAreRefusedAtNegotiation) {
    TempDir work("modic-e2e-syntax");
    NodeUnderTest node(work.path(), {});
    node.start();
    const std::string jpeg2000 = UID_JPEG2000LosslessOnlyTransferSyntax;
    {
        HeldAssociation j2k(node.port(), "SCU", "MODICNODE",
                            {{UID_VerificationSOPClass, UID_LittleEndianImplicitTransferSyntax},
                             {kMrImageStorage, jpeg2000},
                             {UID_CTImageStorage, UID_LittleEndianExplicitTransferSyntax}});
        ASSERT_TRUE(j2k.accepted()) << j2k.error();
        EXPECT_TRUE(j2k.context_accepted(UID_VerificationSOPClass));
        EXPECT_FALSE(j2k.context_accepted(kMrImageStorage)) << "JPEG 2000 is not decoded here";
        EXPECT_FALSE(j2k.context_accepted(UID_CTImageStorage)) << "CT is not a configured SOP class";
    }
    {
        HeldAssociation lossless(node.port(), "SCU", "MODICNODE",
                                 {{kMrImageStorage, UID_JPEGProcess14SV1TransferSyntax}});
        ASSERT_TRUE(lossless.accepted()) << lossless.error();
        EXPECT_TRUE(lossless.context_accepted(kMrImageStorage));
    }
    HeldAssociation nothing_usable(node.port(), "SCU", "MODICNODE", {{kMrImageStorage, jpeg2000}});
    EXPECT_FALSE(nothing_usable.accepted()) << "no acceptable presentation context";
    EXPECT_EQ(node.stop(), 0);
    EXPECT_TRUE(log_contains(node, "no acceptable presentation context"));
}

TEST(NodeE2e, BadInputIsRefusedAndLeavesNoFile) {
    TempDir work("modic-e2e-bad");
    NodeUnderTest node(work.path(), {});
    node.start();
    const fs::path t1 = spider_dir() / "spider_001" / "t1.dcm";
    const std::string good_uid = dicom_value(t1, "0008,0018");

    fs::path garbage = work.path() / "garbage.bin";
    std::ofstream(garbage) << std::string(5000, 'x') << "not DICOM at all";
    RawStoreOutcome non_dicom = raw_store(node.port(), "SCU", "MODICNODE", kMrImageStorage, "1.2.3.4", garbage);
    EXPECT_TRUE(non_dicom.response_received) << non_dicom.error;
    EXPECT_EQ(non_dicom.status, 0xC000);

    fs::path whole = work.path() / "whole.ds";
    write_dataset_only(t1, whole);
    fs::path truncated = work.path() / "truncated.ds";
    fs::copy_file(whole, truncated);
    fs::resize_file(truncated, fs::file_size(whole) / 2);
    RawStoreOutcome cut = raw_store(node.port(), "SCU", "MODICNODE", kMrImageStorage, good_uid, truncated);
    EXPECT_TRUE(cut.response_received) << cut.error;
    EXPECT_EQ(cut.status, 0xC000);

    const std::string evil_uid = "1.2.3/../../../etc";
    fs::path path_uid = work.path() / "path_uid.ds";
    write_dataset_only(t1, path_uid, {{"0008,0018", evil_uid}});
    RawStoreOutcome evil = raw_store(node.port(), "SCU", "MODICNODE", kMrImageStorage, evil_uid, path_uid);
    EXPECT_TRUE(evil.response_received) << evil.error;
    EXPECT_EQ(evil.status, 0xC000);

    fs::path study_path = work.path() / "study_uid.ds";
    write_dataset_only(t1, study_path, {{"0020,000D", "1.2.840..5"}});
    RawStoreOutcome bad_study = raw_store(node.port(), "SCU", "MODICNODE", kMrImageStorage, good_uid, study_path);
    EXPECT_EQ(bad_study.status, 0xC000);

    RawStoreOutcome mismatch = raw_store(node.port(), "SCU", "MODICNODE",
                                         UID_SecondaryCaptureImageStorage, good_uid, whole);
    EXPECT_TRUE(mismatch.response_received) << mismatch.error;
    EXPECT_EQ(mismatch.status, 0xA900) << "data set SOP class differs from the request's";

    RawStoreOutcome ct = raw_store(node.port(), "SCU", "MODICNODE", UID_CTImageStorage, good_uid, whole);
    EXPECT_FALSE(ct.context_accepted) << "unknown SOP class refused at negotiation";
    EXPECT_FALSE(ct.response_received);
    EXPECT_TRUE(wait_until([&] { return log_contains(node, "refused: no acceptable presentation context"); }, 5s));

    RawStoreOutcome wrong_called = raw_store(node.port(), "SCU", "OTHERNODE", kMrImageStorage, good_uid, whole);
    EXPECT_FALSE(wrong_called.association_accepted);

    EXPECT_TRUE(files_under(node.storage_dir() / "images").empty());
    EXPECT_TRUE(files_under(node.storage_dir() / "tmp").empty());

    // The same valid instance is stored: the node was not disturbed by what came before.
    RawStoreOutcome good = raw_store(node.port(), "SCU", "MODICNODE", kMrImageStorage, good_uid, whole);
    EXPECT_EQ(good.status, 0x0000) << good.error;
    EXPECT_EQ(files_under(node.storage_dir() / "images").size(), 1u);
    EXPECT_TRUE(files_under(node.storage_dir() / "tmp").empty());
    EXPECT_EQ(node.stop(), 0);
}

// A second node started on a running node's storage folder (two services, a manual start beside
// systemd) would recover under the first one's feet: it refuses to start, naming the first's pid.
TEST(NodeE2e, ASecondNodeOnTheSameStorageRefusesToStart) {
    TempDir work("modic-e2e-twice");
    NodeUnderTest node(work.path(), {});
    node.start();
    std::ifstream first_config(node.config_file());
    std::string config((std::istreambuf_iterator<char>(first_config)), std::istreambuf_iterator<char>());
    const std::string port_line = "port = " + std::to_string(node.port());
    config.replace(config.find(port_line), port_line.size(), "port = " + std::to_string(free_port()));
    const fs::path second_config = work.path() / "second.toml";
    std::ofstream(second_config) << config;

    const auto second = run_command({MODIC_NODE_BINARY, "serve", "--config", second_config.string()});
    EXPECT_NE(second.exit_code, 0);
    EXPECT_NE(second.output.find("is in use by another modic-node"), std::string::npos) << second.output;
    EXPECT_NE(second.output.find("pid " + std::to_string(node.pid())), std::string::npos) << second.output;
    EXPECT_EQ(echo(node.port(), "SCU", "MODICNODE").exit_code, 0) << "the first node serves on";
    EXPECT_EQ(node.stop(), 0);
}

TEST(NodeE2e, DiskBelowWatermarkAnswersOutOfResources) {
    TempDir work("modic-e2e-full");
    NodeSettings settings;
    settings.min_free_mb = 1ull << 40;  // an exabyte: always below
    NodeUnderTest node(work.path(), settings);
    node.start();
    fs::path whole = work.path() / "whole.ds";
    const fs::path t1 = spider_dir() / "spider_001" / "t1.dcm";
    write_dataset_only(t1, whole);
    RawStoreOutcome full = raw_store(node.port(), "SCU", "MODICNODE", kMrImageStorage,
                                     dicom_value(t1, "0008,0018"), whole);
    EXPECT_TRUE(full.response_received) << full.error;
    EXPECT_EQ(full.status, 0xA700);
    EXPECT_TRUE(files_under(node.storage_dir() / "images").empty());
    EXPECT_TRUE(files_under(node.storage_dir() / "tmp").empty());
    EXPECT_EQ(node.stop(), 0);
}

// Uploads a study's files to Orthanc, has Orthanc send it to the node, waits for the node's SR in
// the same study at Orthanc and checks it is the job's SR with the findings of `modic-node
// analyze` on the same files. Returns the number of jobs the node has then.
void round_trip_through_orthanc(const Orthanc& orthanc, const NodeUnderTest& node,
                                const fs::path& study, const fs::path& scratch, std::size_t jobs_before) {
    std::string study_id;
    std::size_t image_count = 0;
    for (const auto& file : files_under(study)) {
        if (file.extension() != ".dcm") continue;
        study_id = json::parse(orthanc.upload(file))["ParentStudy"].get<std::string>();
        ++image_count;
    }
    ASSERT_FALSE(study_id.empty()) << "no DICOM file in " << study;
    orthanc.post("/modalities/node/store", json{{"Resources", {study_id}}, {"Synchronous", true}}.dump());

    auto instances = [&] { return json::parse(orthanc.get("/studies/" + study_id + "/instances")); };
    ASSERT_TRUE(wait_until([&] { return instances().size() == image_count + 1; }, 60s)) << node.log();
    std::string sr_uid;
    for (const auto& instance : instances()) {
        auto tags = json::parse(orthanc.get("/instances/" + instance["ID"].get<std::string>() + "/simplified-tags"));
        if (tags.value("Modality", "") == "SR") sr_uid = tags["SOPInstanceUID"];
    }
    ASSERT_FALSE(sr_uid.empty()) << "no SR in the study at Orthanc";

    ASSERT_TRUE(wait_for_final_jobs(node, jobs_before + 1, 10s));
    json job;
    for (const auto& candidate : node_jobs(node))
        if (candidate["sr_sop_instance_uid"] == sr_uid) job = candidate;
    ASSERT_TRUE(job.is_object()) << "the SR at Orthanc is no job's SR";
    EXPECT_EQ(job["state"], "delivered");
    json expected = analyze_folder(study, scratch / "analyze.json");
    EXPECT_EQ(comparable(job["findings"]), comparable(expected));
}

TEST(NodeE2e, StudiesFromOrthancGetTheirSrBackInTheSameStudy) {
    TempDir work("modic-e2e-orthanc");
    NodeSettings settings;
    settings.port = free_port();
    Orthanc orthanc(work.path(), settings.ae_title, settings.port);
    settings.destinations = {{"pacs", "ORTHANC", orthanc.dicom_port()}};
    NodeUnderTest node(work.path() / "node", settings);
    node.start();

    fs::path real = work.path() / "real";
    copy_spider_study("spider_001", real);
    round_trip_through_orthanc(orthanc, node, real, work.path(), 0);

    fs::path synthetic = work.path() / "synthetic";
    CommandResult made = run_command({MODIC_PHANTOM_BINARY, "--out", synthetic.string(), "--seed", "5", "--cases", "1"});
    ASSERT_EQ(made.exit_code, 0) << made.output;
    std::vector<fs::path> case_dirs;
    for (const auto& entry : fs::directory_iterator(synthetic))
        if (entry.is_directory()) case_dirs.push_back(entry.path());
    ASSERT_EQ(case_dirs.size(), 1u);
    round_trip_through_orthanc(orthanc, node, case_dirs.front(), work.path(), 1);
    EXPECT_EQ(node.stop(), 0);
}

TEST(NodeE2e, KillDuringReceiveLosesNothingAcknowledged) {
    TempDir work("modic-e2e-kill-receive");
    StoreScp destination(work.path() / "dest", "DEST");
    NodeSettings settings;
    settings.quiet_seconds = 2;
    settings.destinations = {{"dest", "DEST", destination.port()}};
    NodeUnderTest node(work.path() / "node", settings);
    node.start();

    fs::path study = work.path() / "study";
    copy_spider_study("spider_007", study);
    std::vector<fs::path> files = many_instances(study / "t1.dcm", work.path() / "copies", 150);
    files.push_back(study / "t1.dcm");
    files.push_back(study / "t2.dcm");

    std::vector<std::string> argv{"storescu", "-v", "-aet", "PACS", "-aec", "MODICNODE", "-to", "10",
                                  "127.0.0.1", std::to_string(node.port())};
    for (const auto& file : files) argv.push_back(file.string());
    fs::path sender_log = work.path() / "storescu.log";
    {
        Process sender(argv, sender_log);
        ASSERT_TRUE(wait_until([&] { return files_under(node.storage_dir() / "images").size() >= 20; }, 30s));
        node.kill9();
        sender.wait(20s);
    }
    // What the sender was told Success for is held after the restart.
    std::ifstream in(sender_log);
    std::string log_text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t acknowledged = 0;
    for (std::size_t at = 0; (at = log_text.find("Received Store Response (Success)", at)) != std::string::npos; ++at)
        ++acknowledged;
    EXPECT_GT(acknowledged, 0u);
    node.start();
    EXPECT_GE(files_under(node.storage_dir() / "images").size(), acknowledged);
    EXPECT_TRUE(files_under(node.storage_dir() / "tmp").empty());

    // The PACS sends again what failed (here: everything); the study is complete and analysed.
    CommandResult resend = store_files(node.port(), "PACS", "MODICNODE", files);
    EXPECT_EQ(resend.exit_code, 0) << resend.output;
    EXPECT_EQ(files_under(node.storage_dir() / "images").size(), files.size());
    ASSERT_TRUE(wait_for_final_jobs(node, 1, 60s)) << node.log();
    json jobs = node_jobs(node);
    std::set<std::string> job_srs;
    for (const auto& job : jobs)
        if (!job["sr_sop_instance_uid"].get<std::string>().empty()) job_srs.insert(job["sr_sop_instance_uid"]);
    ASSERT_TRUE(wait_until([&] { return destination.received().size() >= job_srs.size(); }, 10s));
    EXPECT_EQ(sop_uids_of(destination.received()), job_srs) << "one SR per analysis";
    EXPECT_EQ(node.stop(), 0);
}

TEST(NodeE2e, KillWhileAnalysingAndWhileSendingGivesOneSrPerAnalysis) {
    TempDir work("modic-e2e-kill-work");
    StoreScp destination(work.path() / "dest", "DEST");
    NodeSettings settings;
    settings.destinations = {{"dest", "DEST", destination.port()}};
    NodeUnderTest node(work.path() / "node", settings);
    node.start();

    // While analysing: killed as soon as the job says so; after the restart it is analysed again.
    fs::path first = work.path() / "first";
    copy_spider_study("spider_013", first);
    ASSERT_EQ(store_files(node.port(), "PACS", "MODICNODE", files_under(first)).exit_code, 0);
    ASSERT_TRUE(wait_until([&] { return log_contains(node, ": analysing (attempt 1)"); }, 20s));
    node.kill9();
    node.start();
    ASSERT_TRUE(wait_for_final_jobs(node, 1, 60s)) << node.log();

    // While sending: killed once the SR is recorded, before or during its C-STORE.
    fs::path second = work.path() / "second";
    copy_spider_study("spider_017", second);
    ASSERT_EQ(store_files(node.port(), "PACS", "MODICNODE", files_under(second)).exit_code, 0);
    ASSERT_TRUE(wait_until([&] {
        std::string text = node.log();
        std::size_t count = 0;
        for (std::size_t at = 0; (at = text.find(" destination(s))", at)) != std::string::npos; ++at) ++count;
        return count >= 2;  // the first job's SR, then this one's
    }, 30s));
    node.kill9();
    node.start();
    ASSERT_TRUE(wait_for_final_jobs(node, 2, 60s)) << node.log();

    json jobs = node_jobs(node);
    ASSERT_EQ(jobs.size(), 2u) << jobs.dump(2);
    std::set<std::string> job_srs;
    for (const auto& job : jobs) {
        EXPECT_EQ(job["state"], "delivered") << job.dump(2);
        job_srs.insert(job["sr_sop_instance_uid"].get<std::string>());
    }
    ASSERT_TRUE(wait_until([&] { return destination.received().size() >= 2; }, 10s));
    EXPECT_EQ(sop_uids_of(destination.received()), job_srs) << "exactly one SR per analysis";
    EXPECT_EQ(node.stop(), 0);
}

TEST(NodeE2e, DestinationDownThenUpAlsoAcrossARestart) {
    TempDir work("modic-e2e-down");
    const std::uint16_t destination_port = free_port();
    NodeSettings settings;
    settings.destinations = {{"dest", "DEST", destination_port}};
    NodeUnderTest node(work.path() / "node", settings);
    node.start();

    fs::path first = work.path() / "first";
    copy_spider_study("spider_001", first);
    ASSERT_EQ(store_files(node.port(), "PACS", "MODICNODE", files_under(first)).exit_code, 0);
    ASSERT_TRUE(wait_until([&] { return log_contains(node, "attempt 1 failed"); }, 30s)) << node.log();
    {
        StoreScp destination(work.path() / "dest1", "DEST", destination_port);
        ASSERT_TRUE(wait_until([&] { return destination.received().size() == 1; }, 20s)) << node.log();
        ASSERT_TRUE(wait_for_final_jobs(node, 1, 10s));
    }

    fs::path second = work.path() / "second";
    copy_spider_study("spider_007", second);
    ASSERT_EQ(store_files(node.port(), "PACS", "MODICNODE", files_under(second)).exit_code, 0);
    ASSERT_TRUE(wait_until([&] {
        auto text = node.log();
        return text.find("attempt 1 failed") != text.rfind("attempt 1 failed");  // a second one
    }, 30s)) << node.log();
    EXPECT_EQ(node.stop(), 0);
    StoreScp destination(work.path() / "dest2", "DEST", destination_port);
    node.start();
    ASSERT_TRUE(wait_until([&] { return destination.received().size() == 1; }, 20s)) << node.log();
    ASSERT_TRUE(wait_for_final_jobs(node, 2, 10s));
    for (const auto& state : node.job_states()) EXPECT_EQ(state, "delivered");
    EXPECT_EQ(node.stop(), 0);
}

TEST(NodeE2e, SigtermFinishesTheStoreUnderWayAndExitsZero) {
    TempDir work("modic-e2e-sigterm");
    NodeSettings settings;
    settings.quiet_seconds = 30;
    NodeUnderTest node(work.path() / "node", settings);
    node.start();
    std::vector<fs::path> files =
        many_instances(spider_dir() / "spider_001" / "t1.dcm", work.path() / "copies", 150);
    std::vector<std::string> argv{"storescu", "-v", "-aet", "PACS", "-aec", "MODICNODE", "-to", "10",
                                  "127.0.0.1", std::to_string(node.port())};
    for (const auto& file : files) argv.push_back(file.string());
    fs::path sender_log = work.path() / "storescu.log";
    Process sender(argv, sender_log);
    ASSERT_TRUE(wait_until([&] { return files_under(node.storage_dir() / "images").size() >= 10; }, 30s));
    auto asked = std::chrono::steady_clock::now();
    EXPECT_EQ(node.stop(), 0) << node.log();
    EXPECT_LT(std::chrono::steady_clock::now() - asked, 10s) << "does not wait for the whole transfer";
    sender.wait(20s);
    std::ifstream in(sender_log);
    std::string log_text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t acknowledged = 0;
    for (std::size_t at = 0; (at = log_text.find("Received Store Response (Success)", at)) != std::string::npos; ++at)
        ++acknowledged;
    std::size_t held = files_under(node.storage_dir() / "images").size();
    EXPECT_GE(held, acknowledged) << "every Success is held";
    EXPECT_LT(held, files.size()) << "the transfer was cut short";
    EXPECT_TRUE(files_under(node.storage_dir() / "tmp").empty());
    EXPECT_TRUE(log_contains(node, "aborted, the node is stopping"));
}

TEST(NodeE2e, LateInstanceStartsANewAnalysisWhoseSrNamesTheFirst) {
    TempDir work("modic-e2e-late");
    StoreScp destination(work.path() / "dest", "DEST");
    NodeSettings settings;
    settings.destinations = {{"dest", "DEST", destination.port()}};
    NodeUnderTest node(work.path() / "node", settings);
    node.start();
    fs::path study = work.path() / "study";
    copy_spider_study("spider_001", study);
    ASSERT_EQ(store_files(node.port(), "PACS", "MODICNODE", {study / "t1.dcm", study / "t2.dcm"}).exit_code, 0);
    ASSERT_TRUE(wait_until([&] { return destination.received().size() == 1; }, 30s)) << node.log();
    fs::path first_sr = destination.received().front();

    auto late = many_instances(study / "t2.dcm", work.path() / "late", 1);
    ASSERT_EQ(store_files(node.port(), "PACS", "MODICNODE", late).exit_code, 0);
    ASSERT_TRUE(wait_until([&] { return destination.received().size() == 2; }, 30s)) << node.log();
    ASSERT_TRUE(wait_for_final_jobs(node, 2, 10s));
    fs::path second_sr;
    for (const auto& file : destination.received())
        if (file != first_sr) second_sr = file;
    EXPECT_EQ(dicom_value(second_sr, "0020,000D"), dicom_value(first_sr, "0020,000D")) << "same study";
    EXPECT_EQ(dicom_value(second_sr, "0020,000E"), dicom_value(first_sr, "0020,000E")) << "same SR series";
    CommandResult dump = run_command({"dcmdump", "+P", "0040,a360", "+P", "0008,1155", second_sr.string()});
    EXPECT_NE(dump.output.find(dicom_value(first_sr, "0008,0018")), std::string::npos)
        << "Predecessor Documents Sequence names the first SR:\n" << dump.output;
    EXPECT_EQ(node.stop(), 0);
}

TEST(NodeE2e, RoutingRulesAndEnhancedMrDecideWhatIsAnalysed) {
    TempDir work("modic-e2e-routing");
    NodeSettings settings;
    settings.extra_toml = "[[routing.rules]]\ncalling_ae = \"TESTBENCH\"\naction = \"ignore\"\n";
    NodeUnderTest node(work.path() / "node", settings);
    node.start();

    fs::path ignored = work.path() / "ignored";
    copy_spider_study("spider_007", ignored);
    ASSERT_EQ(store_files(node.port(), "TESTBENCH", "MODICNODE", files_under(ignored)).exit_code, 0);

    // An Enhanced MR study: the images declared Enhanced MR Image Storage.
    fs::path enhanced = work.path() / "enhanced";
    copy_spider_study("spider_013", enhanced);
    for (const auto& file : files_under(enhanced)) {
        DcmFileFormat format;
        ASSERT_TRUE(format.loadFile(file.c_str()).good());
        format.getDataset()->putAndInsertString(DCM_SOPClassUID, UID_EnhancedMRImageStorage);
        format.getMetaInfo()->putAndInsertString(DCM_MediaStorageSOPClassUID, UID_EnhancedMRImageStorage);
        ASSERT_TRUE(format.saveFile(file.c_str(), EXS_LittleEndianExplicit).good());
    }
    ASSERT_EQ(store_files(node.port(), "PACS", "MODICNODE", files_under(enhanced)).exit_code, 0);

    ASSERT_TRUE(wait_for_final_jobs(node, 2, 30s)) << node.log();
    std::multiset<std::string> states;
    for (const auto& job : node_jobs(node)) {
        states.insert(job["state"].get<std::string>());
        if (job["state"] == "not_analyzable") {
            EXPECT_EQ(job["reason"], "Enhanced MR not yet supported");
        }
    }
    EXPECT_EQ(states, (std::multiset<std::string>{"ignored", "not_analyzable"}));
    EXPECT_EQ(files_under(node.storage_dir() / "images").size(), 4u) << "both studies are kept";
    EXPECT_EQ(node.stop(), 0);
}

// A copy of `source` in `folder` with attributes changed (tag -> value); SOP UIDs unchanged.
fs::path modified_copy(const fs::path& source, const fs::path& folder, const std::string& name,
                       const std::vector<std::pair<DcmTagKey, std::string>>& changes) {
    fs::create_directories(folder);
    DcmFileFormat format;
    format.loadFile(source.c_str());
    for (const auto& [tag, value] : changes) format.getDataset()->putAndInsertString(tag, value.c_str());
    fs::path file = folder / name;
    format.saveFile(file.c_str(), EXS_LittleEndianExplicit);
    return file;
}

TEST(NodeE2e, ResentInstancesAreStoredOnceAndClashesKeptApart) {
    TempDir work("modic-e2e-resend");
    NodeSettings settings;
    settings.quiet_seconds = 1;
    NodeUnderTest node(work.path() / "node", settings);
    node.start();
    fs::path study = work.path() / "study";
    copy_spider_study("spider_001", study);
    ASSERT_EQ(store_files(node.port(), "PACS", "MODICNODE", {study / "t1.dcm"}).exit_code, 0);
    // The same instance again, once as it was and once in Implicit VR: one file.
    fs::path implicit = work.path() / "implicit.dcm";
    ASSERT_EQ(run_command({"dcmconv", "+ti", (study / "t1.dcm").string(), implicit.string()}).exit_code, 0);
    ASSERT_EQ(store_files(node.port(), "PACS", "MODICNODE", {study / "t1.dcm", implicit}).exit_code, 0);
    EXPECT_EQ(files_under(node.storage_dir() / "images").size(), 1u);
    EXPECT_TRUE(log_contains(node, "0 stored, 2 already held"));

    // The same SOP Instance UID under another study: answered Success, kept apart, never
    // overwriting the held instance.
    fs::path clash = modified_copy(study / "t1.dcm", work.path() / "clash", "clash.dcm",
                                   {{DCM_StudyInstanceUID, "1.2.826.0.1.3680043.2.1125.99.1"}});
    ASSERT_EQ(store_files(node.port(), "PACS", "MODICNODE", {clash}).exit_code, 0);
    EXPECT_EQ(files_under(node.storage_dir() / "images").size(), 1u);
    EXPECT_EQ(files_under(node.storage_dir() / "conflicts").size(), 1u);
    auto held = files_under(node.storage_dir() / "images").front();
    EXPECT_EQ(dicom_value(held, "0020,000D"), dicom_value(study / "t1.dcm", "0020,000D"));
    EXPECT_EQ(node.stop(), 0);
}

TEST(NodeE2e, StudyWithTwoPatientIdsIsNotAnalysed) {
    TempDir work("modic-e2e-patients");
    NodeUnderTest node(work.path() / "node", {});
    node.start();
    fs::path study = work.path() / "study";
    copy_spider_study("spider_001", study);
    fs::path other = modified_copy(study / "t2.dcm", work.path() / "other", "t2.dcm",
                                   {{DCM_PatientID, "SOMEONE-ELSE"}});
    ASSERT_EQ(store_files(node.port(), "PACS", "MODICNODE", {study / "t1.dcm", other}).exit_code, 0);
    ASSERT_TRUE(wait_for_final_jobs(node, 1, 30s)) << node.log();
    json jobs = node_jobs(node);
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(jobs[0]["state"], "not_analyzable");
    EXPECT_NE(jobs[0]["reason"].get<std::string>().find("PatientID"), std::string::npos) << jobs.dump(2);
    EXPECT_EQ(node.log().find("SOMEONE-ELSE"), std::string::npos) << "patient IDs never logged";
    EXPECT_TRUE(files_under(node.storage_dir() / "sr").empty());
    EXPECT_EQ(node.stop(), 0);
}

TEST(NodeE2e, LosslessCompressedStudyIsStoredAsSentAndAnalysedAlike) {
    TempDir work("modic-e2e-compressed");
    NodeUnderTest node(work.path() / "node", {});
    node.start();
    fs::path plain = work.path() / "plain";
    copy_spider_study("spider_001", plain);
    fs::path packed = work.path() / "packed";
    fs::create_directories(packed);
    ASSERT_EQ(run_command({"dcmcjpls", (plain / "t1.dcm").string(), (packed / "t1.dcm").string()}).exit_code, 0);
    ASSERT_EQ(run_command({"dcmcrle", (plain / "t2.dcm").string(), (packed / "t2.dcm").string()}).exit_code, 0);
    // storescu proposes a compressed transfer syntax only when told to (-xt JPEG-LS, -xr RLE).
    for (const auto& [option, file] : {std::pair{"-xt", "t1.dcm"}, std::pair{"-xr", "t2.dcm"}}) {
        CommandResult sent = run_command({"storescu", option, "-aet", "PACS", "-aec", "MODICNODE", "127.0.0.1",
                                          std::to_string(node.port()), (packed / file).string()});
        ASSERT_EQ(sent.exit_code, 0) << sent.output;
    }
    ASSERT_TRUE(wait_for_final_jobs(node, 1, 30s)) << node.log();

    std::set<std::string> syntaxes;
    for (const auto& file : files_under(node.storage_dir() / "images")) syntaxes.insert(dicom_value(file, "0002,0010"));
    EXPECT_EQ(syntaxes, (std::set<std::string>{UID_JPEGLSLosslessTransferSyntax, UID_RLELosslessTransferSyntax}));
    json jobs = node_jobs(node);
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(comparable(jobs[0]["findings"]), comparable(analyze_folder(plain, work.path() / "plain.json")));
    EXPECT_EQ(node.stop(), 0);
}

TEST(NodeE2e, AdminCommandsReadTheIndexOfARunningNode) {
    TempDir work("modic-e2e-admin");
    NodeUnderTest node(work.path(), {});
    node.start();
    fs::path study = work.path() / "study";
    copy_spider_study("spider_029", study);
    ASSERT_EQ(store_files(node.port(), "PACS", "MODICNODE", files_under(study)).exit_code, 0);
    ASSERT_TRUE(wait_for_final_jobs(node, 1, 30s)) << node.log();
    EXPECT_EQ(node.job_states(), std::vector<std::string>{"done"}) << "no destination: done";
    EXPECT_TRUE(log_contains(node, "no destination configured"));
    CommandResult status = node.admin({"status"});
    EXPECT_EQ(status.exit_code, 0);
    EXPECT_NE(status.output.find("instances 2"), std::string::npos) << status.output;
    EXPECT_EQ(files_under(node.storage_dir() / "sr").size(), 1u);
    CommandResult retry = node.admin({"retry", "1"});
    EXPECT_NE(retry.exit_code, 0) << "a done job cannot be retried";
    CommandResult bad_state = node.admin({"jobs", "--state", "sleeping"});
    EXPECT_NE(bad_state.exit_code, 0);

    fs::path bad_config = work.path() / "bad.toml";
    std::ofstream(bad_config) << "[node]\nport = 99999\n\n[[peers]]\nae_title = \"A\"\n[[peers]]\nae_title = \"A\"\n";
    CommandResult checked = run_command({MODIC_NODE_BINARY, "check-config", bad_config.string()});
    EXPECT_EQ(checked.exit_code, 2);
    EXPECT_NE(checked.output.find("bad.toml:2:"), std::string::npos) << checked.output;
    EXPECT_EQ(run_command({MODIC_NODE_BINARY, "check-config", node.config_file().string()}).exit_code, 0);
    EXPECT_EQ(node.stop(), 0);
}

}  // namespace
}  // namespace modic::e2e
