// End-to-end test harness: real processes (modic-node, DCMTK tools, Orthanc) on free loopback
// ports, started and stopped by the tests, each with TCP_NODELAY=1 in its environment.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <vector>

namespace modic::e2e {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A loopback TCP port nobody listens on right now.
std::uint16_t free_port();

// A fresh folder under the system temp folder, removed (with its content) at destruction.
class TempDir {
public:
    explicit TempDir(const std::string& prefix);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// A child process; its stdout and stderr go to `log_file`. Killed (SIGKILL) at destruction if
// still running.
class Process {
public:
    Process(std::vector<std::string> argv, const fs::path& log_file);
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }
    bool running();
    void signal(int signal_number);
    // Waits for the exit; the exit code, or 128 + signal; nullopt on timeout.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    const fs::path& log_file() const { return log_file_; }

private:
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
    fs::path log_file_;
};

struct CommandResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};

// Runs a command to its end (TCP_NODELAY=1 in its environment).
CommandResult run_command(const std::vector<std::string>& argv);

// Polls `condition` every 50 ms until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// Copies spider-dev study `name` (e.g. "spider_001"), its t1.dcm and t2.dcm, into `folder`.
void copy_spider_study(const std::string& name, const fs::path& folder);
fs::path spider_dir();

// The DICOM files (by extension .dcm or any file) under a folder, recursively.
std::vector<fs::path> files_under(const fs::path& folder);

// A DICOM attribute of a file ("" when absent), e.g. "0008,0016"; group 0002 from the meta header.
std::string dicom_value(const fs::path& file, const std::string& tag);

struct Destination {
    std::string name, ae_title;
    std::uint16_t port = 0;
};

// modic-node settings for one test node.
struct NodeSettings {
    std::string ae_title = "MODICNODE";
    std::uint16_t port = 0;  // 0: a free port is picked
    int quiet_seconds = 1;
    std::vector<std::pair<std::string, std::string>> peers{{"*", "127.0.0.1"}};  // AE, host
    std::vector<Destination> destinations;
    bool fsync = true;
    std::uint64_t min_free_mb = 1;
    int retry_initial_seconds = 1;
    int retry_max_seconds = 2;
    int max_associations = 8;
    int max_associations_per_ae = 4;
    std::string log_file;  // logging.file, relative to the node's folder; empty: stderr only
    std::string extra_toml;  // appended as is
};

// A modic-node serve process with its own storage folder. When the test has failed by the time it
// is destroyed, the node's log is printed (the folder holding it is removed with the test's).
class NodeUnderTest {
public:
    NodeUnderTest(const fs::path& work_dir, NodeSettings settings);
    ~NodeUnderTest();

    // Starts the node and waits until it answers C-ECHO.
    void start();
    // SIGTERM and wait; returns the exit code.
    int stop();
    void kill9();
    bool running();
    pid_t pid() const;

    std::uint16_t port() const { return settings_.port; }
    const std::string& ae_title() const { return settings_.ae_title; }
    fs::path storage_dir() const { return work_dir_ / "var"; }
    fs::path config_file() const { return work_dir_ / "node.toml"; }
    std::string log() const;
    // `modic-node <args...> --config <this node's config>`.
    CommandResult admin(std::vector<std::string> args) const;
    // Job states from `modic-node jobs`, e.g. {"delivered", "done"}.
    std::vector<std::string> job_states() const;

private:
    void write_config() const;
    fs::path work_dir_;
    NodeSettings settings_;
    std::unique_ptr<Process> process_;
    int starts_ = 0;
};

// storescu / echoscu against a node.
CommandResult echo(std::uint16_t port, const std::string& calling_ae, const std::string& called_ae);
CommandResult store_files(std::uint16_t port, const std::string& calling_ae,
                          const std::string& called_ae, const std::vector<fs::path>& files);

// A storescp writing what it receives into a folder (file names from SOP Instance UIDs, so a
// re-sent instance overwrites its earlier copy).
class StoreScp {
public:
    StoreScp(const fs::path& folder, std::string ae_title, std::uint16_t port = 0);
    ~StoreScp();
    std::uint16_t port() const { return port_; }
    const std::string& ae_title() const { return ae_title_; }
    const fs::path& folder() const { return folder_; }
    std::vector<fs::path> received() const;

private:
    fs::path folder_;
    std::string ae_title_;
    std::uint16_t port_;
    std::unique_ptr<Process> process_;
};

// Orthanc as the PACS, on free ports, with the node declared as modality "node".
class Orthanc {
public:
    Orthanc(const fs::path& work_dir, const std::string& node_ae, std::uint16_t node_port);
    ~Orthanc();
    std::uint16_t dicom_port() const { return dicom_port_; }
    std::string ae_title() const { return "ORTHANC"; }
    // REST call on loopback; returns the body. Throws on an HTTP error.
    std::string get(const std::string& path) const;
    std::string post(const std::string& path, const std::string& body) const;
    std::string upload(const fs::path& dicom_file) const;  // returns the instance id JSON

private:
    std::uint16_t http_port_, dicom_port_;
    std::unique_ptr<Process> process_;
};

// The outcome of sending bytes as a C-STORE data set with the low-level DCMTK API, so tests can
// send what no well-behaved SCU would: non-DICOM bytes, truncated data sets, any SOP class.
struct RawStoreOutcome {
    bool association_accepted = false;
    bool context_accepted = false;
    bool response_received = false;
    std::uint16_t status = 0xFFFF;
    std::string error;
};

// An association held open until destroyed (then released), proposing the given presentation
// contexts (abstract syntax, one transfer syntax each): for tests of association limits and of
// what is accepted at negotiation.
class HeldAssociation {
public:
    HeldAssociation(std::uint16_t port, const std::string& calling_ae, const std::string& called_ae,
                    const std::vector<std::pair<std::string, std::string>>& contexts);
    ~HeldAssociation();
    HeldAssociation(const HeldAssociation&) = delete;
    HeldAssociation& operator=(const HeldAssociation&) = delete;

    bool accepted() const;
    bool context_accepted(const std::string& abstract_syntax) const;
    const std::string& error() const;

private:
    struct State;  // DCMTK's network and association
    std::unique_ptr<State> state_;
};

// `dataset_file` holds the data set bytes as sent on the wire (no preamble, no meta header),
// in Explicit VR Little Endian.
RawStoreOutcome raw_store(std::uint16_t port, const std::string& calling_ae,
                          const std::string& called_ae, const std::string& sop_class_uid,
                          const std::string& sop_instance_uid, const fs::path& dataset_file);

// Writes the data set of a DICOM file, without meta header, in Explicit VR Little Endian (after
// optionally changing attributes, tag "gggg,eeee" -> value).
void write_dataset_only(const fs::path& dicom_file, const fs::path& output,
                        const std::vector<std::pair<std::string, std::string>>& changes = {});

}  // namespace modic::e2e
