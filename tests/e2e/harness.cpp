#include "harness.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcostrmb.h>
#include <dcmtk/dcmdata/dcostrmf.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcwcache.h>
#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/dimse.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef MODIC_NODE_BINARY
#error "MODIC_NODE_BINARY must name the built modic-node"
#endif
#ifndef MODIC_SHARED_DIR
#error "MODIC_SHARED_DIR must name the shared/ folder"
#endif

namespace modic::e2e {
namespace {

std::mt19937_64& random_engine() {
    static std::mt19937_64 engine{std::random_device{}()};
    return engine;
}

std::string read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// fork + exec with TCP_NODELAY=1; output to `log_file` (appended).
pid_t spawn(const std::vector<std::string>& argv, const fs::path& log_file) {
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::setenv("TCP_NODELAY", "1", 1);
        int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            ::close(fd);
        }
        int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) ::dup2(devnull, 0);
        std::vector<char*> args;
        for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        std::_Exit(127);
    }
    return pid;
}

}  // namespace

std::uint16_t free_port() {
    // Ports from the kernel's ephemeral range are handed out again quickly; asking it for one and
    // releasing it is the usual way and races only with other tests doing the same.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

TempDir::TempDir(const std::string& prefix) {
    path_ = fs::temp_directory_path() /
            fmt::format("{}-{}-{:x}", prefix, ::getpid(), random_engine()() & 0xffffffff);
    fs::create_directories(path_);
}

TempDir::~TempDir() {
    std::error_code ignored;
    if (!std::getenv("MODIC_E2E_KEEP")) fs::remove_all(path_, ignored);
}

Process::Process(std::vector<std::string> argv, const fs::path& log_file) : log_file_(log_file) {
    pid_ = spawn(argv, log_file);
}

Process::~Process() {
    if (running()) {
        ::kill(pid_, SIGKILL);
        wait(5s);
    }
}

bool Process::running() {
    if (exit_code_) return false;
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == 0) return true;
    if (done == pid_)
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    else
        exit_code_ = -1;
    return false;
}

void Process::signal(int signal_number) {
    if (running()) ::kill(pid_, signal_number);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
    if (!wait_until([this] { return !running(); }, timeout)) return std::nullopt;
    return exit_code_;
}

CommandResult run_command(const std::vector<std::string>& argv) {
    TempDir scratch("modic-cmd");
    fs::path log = scratch.path() / "output.txt";
    Process process(argv, log);
    CommandResult result;
    auto code = process.wait(120s);
    result.exit_code = code.value_or(-1);
    result.output = read_file(log);
    return result;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (condition()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(50ms);
    }
}

fs::path spider_dir() { return fs::path(MODIC_SHARED_DIR) / "data" / "spider-dev"; }

void copy_spider_study(const std::string& name, const fs::path& folder) {
    fs::create_directories(folder);
    for (const char* file : {"t1.dcm", "t2.dcm"}) {
        fs::copy_file(spider_dir() / name / file, folder / file,
                      fs::copy_options::overwrite_existing);
        fs::permissions(folder / file, fs::perms::owner_read | fs::perms::owner_write);
    }
}

std::vector<fs::path> files_under(const fs::path& folder) {
    std::vector<fs::path> files;
    std::error_code error;
    if (!fs::exists(folder, error)) return files;
    for (const auto& entry : fs::recursive_directory_iterator(folder, error))
        if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

std::string dicom_value(const fs::path& file, const std::string& tag) {
    DcmFileFormat format;
    if (format.loadFile(file.c_str()).bad()) return {};
    unsigned group = 0, element = 0;
    std::sscanf(tag.c_str(), "%x,%x", &group, &element);
    OFString value;
    DcmItem* item = group == 0x0002 ? static_cast<DcmItem*>(format.getMetaInfo()) : format.getDataset();
    if (item->findAndGetOFStringArray(DcmTagKey(group, element), value).bad()) return {};
    return value.c_str();
}

// ---- the node ----

NodeUnderTest::NodeUnderTest(const fs::path& work_dir, NodeSettings settings)
    : work_dir_(work_dir), settings_(std::move(settings)) {
    if (settings_.port == 0) settings_.port = free_port();
    fs::create_directories(work_dir_);
    write_config();
}

NodeUnderTest::~NodeUnderTest() {
    if (process_ && process_->running()) {
        process_->signal(SIGTERM);
        if (!process_->wait(10s)) process_->signal(SIGKILL);
    }
    if (::testing::Test::HasFailure() && process_)
        std::cerr << "---- log of modic-node on port " << settings_.port << " ----\n"
                  << log() << "---- end of log ----\n";
}

void NodeUnderTest::write_config() const {
    std::ofstream out(config_file());
    out << fmt::format("[node]\nae_title = \"{}\"\nport = {}\nstorage_dir = \"var\"\n\n",
                       settings_.ae_title, settings_.port);
    out << fmt::format("[study]\nquiet_seconds = {}\n\n", settings_.quiet_seconds);
    out << fmt::format("[storage]\nfsync = {}\nmin_free_mb = {}\n\n", settings_.fsync ? "true" : "false",
                       settings_.min_free_mb);
    out << fmt::format("[network]\nmax_associations = {}\nmax_associations_per_ae = {}\n"
                       "acse_timeout_seconds = 10\ndimse_timeout_seconds = 10\n\n",
                       settings_.max_associations, settings_.max_associations_per_ae);
    out << fmt::format("[delivery]\nretry_initial_seconds = {}\nretry_max_seconds = {}\n\n",
                       settings_.retry_initial_seconds, settings_.retry_max_seconds);
    out << "[logging]\nlevel = \"debug\"\n";
    if (!settings_.log_file.empty()) out << fmt::format("file = \"{}\"\n", settings_.log_file);
    out << "\n";
    for (const auto& [ae, host] : settings_.peers) {
        out << fmt::format("[[peers]]\nae_title = \"{}\"\n", ae);
        if (!host.empty()) out << fmt::format("host = \"{}\"\n", host);
        out << "\n";
    }
    for (const auto& destination : settings_.destinations)
        out << fmt::format("[[destinations]]\nname = \"{}\"\nae_title = \"{}\"\nhost = \"127.0.0.1\"\n"
                           "port = {}\n\n",
                           destination.name, destination.ae_title, destination.port);
    out << settings_.extra_toml << "\n";
}

void NodeUnderTest::start() {
    if (process_ && process_->running()) throw std::runtime_error("node already running");
    ++starts_;
    process_ = std::make_unique<Process>(
        std::vector<std::string>{MODIC_NODE_BINARY, "serve", "--config", config_file().string()},
        work_dir_ / "node.log");
    bool answering = wait_until(
        [this] {
            if (!process_->running()) return true;
            return echo(settings_.port, "PROBE", settings_.ae_title).exit_code == 0;
        },
        20s);
    if (!answering || !process_->running())
        throw std::runtime_error("modic-node did not start; its log:\n" + log());
}

int NodeUnderTest::stop() {
    process_->signal(SIGTERM);
    auto code = process_->wait(30s);
    if (!code) {
        process_->signal(SIGKILL);
        return -1;
    }
    return *code;
}

void NodeUnderTest::kill9() {
    process_->signal(SIGKILL);
    process_->wait(10s);
}

bool NodeUnderTest::running() { return process_ && process_->running(); }

pid_t NodeUnderTest::pid() const { return process_ ? process_->pid() : -1; }

std::string NodeUnderTest::log() const { return read_file(work_dir_ / "node.log"); }

CommandResult NodeUnderTest::admin(std::vector<std::string> args) const {
    std::vector<std::string> argv{MODIC_NODE_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--config");
    argv.push_back(config_file().string());
    return run_command(argv);
}

std::vector<std::string> NodeUnderTest::job_states() const {
    CommandResult listing = admin({"jobs"});
    std::vector<std::string> states;
    std::istringstream lines(listing.output);
    std::string line;
    std::getline(lines, line);  // header
    while (std::getline(lines, line)) {
        std::istringstream words(line);
        std::string id, state;
        words >> id >> state;
        if (!id.empty() && std::isdigit(static_cast<unsigned char>(id[0]))) states.push_back(state);
    }
    return states;
}

// ---- DCMTK tools ----

CommandResult echo(std::uint16_t port, const std::string& calling_ae, const std::string& called_ae) {
    return run_command({"echoscu", "-aet", calling_ae, "-aec", called_ae, "-to", "5", "127.0.0.1",
                        std::to_string(port)});
}

CommandResult store_files(std::uint16_t port, const std::string& calling_ae,
                          const std::string& called_ae, const std::vector<fs::path>& files) {
    std::vector<std::string> argv{"storescu", "-v", "-aet", calling_ae, "-aec", called_ae,
                                  "-to", "10", "127.0.0.1", std::to_string(port)};
    for (const auto& file : files) argv.push_back(file.string());
    return run_command(argv);
}

StoreScp::StoreScp(const fs::path& folder, std::string ae_title, std::uint16_t port)
    : folder_(folder), ae_title_(std::move(ae_title)), port_(port ? port : free_port()) {
    fs::create_directories(folder_);
    process_ = std::make_unique<Process>(
        std::vector<std::string>{"storescp", "-aet", ae_title_, "-od", folder_.string(), "-uf",
                                 std::to_string(port_)},
        folder_.parent_path() / (folder_.filename().string() + ".storescp.log"));
    wait_until([this] { return echo(port_, "PROBE", ae_title_).exit_code == 0; }, 10s);
}

StoreScp::~StoreScp() {
    process_->signal(SIGTERM);
    process_->wait(5s);
}

std::vector<fs::path> StoreScp::received() const { return files_under(folder_); }

// ---- Orthanc ----

namespace {

CommandResult curl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"curl", "-sS", "--fail", "--max-time", "60"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv);
}

}  // namespace

Orthanc::Orthanc(const fs::path& work_dir, const std::string& node_ae, std::uint16_t node_port)
    : http_port_(free_port()), dicom_port_(free_port()) {
    fs::create_directories(work_dir / "orthanc-db");
    fs::path config = work_dir / "orthanc.json";
    std::ofstream(config) << fmt::format(R"({{
  "Name": "modic-e2e",
  "StorageDirectory": "{0}",
  "IndexDirectory": "{0}",
  "HttpPort": {1},
  "DicomPort": {2},
  "DicomAet": "ORTHANC",
  "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false,
  "HttpServerEnabled": true,
  "DicomServerEnabled": true,
  "DicomCheckCalledAet": false,
  "StorageCompression": false,
  "Plugins": [],
  "DicomModalities": {{ "node": [ "{3}", "127.0.0.1", {4} ] }},
  "DicomScpTimeout": 30
}})",
                                         (work_dir / "orthanc-db").string(), http_port_,
                                         dicom_port_, node_ae, node_port);
    process_ = std::make_unique<Process>(std::vector<std::string>{"Orthanc", config.string()},
                                         work_dir / "orthanc.log");
    bool up = wait_until([this] { return curl({fmt::format("http://127.0.0.1:{}/system", http_port_)}).exit_code == 0; },
                         30s);
    if (!up) throw std::runtime_error("Orthanc did not start; see " + (work_dir / "orthanc.log").string());
}

Orthanc::~Orthanc() {
    process_->signal(SIGTERM);
    if (!process_->wait(10s)) process_->signal(SIGKILL);
}

std::string Orthanc::get(const std::string& path) const {
    auto result = curl({fmt::format("http://127.0.0.1:{}{}", http_port_, path)});
    if (result.exit_code != 0) throw std::runtime_error("GET " + path + ": " + result.output);
    return result.output;
}

std::string Orthanc::post(const std::string& path, const std::string& body) const {
    auto result = curl({"-X", "POST", "--data-binary", body,
                        fmt::format("http://127.0.0.1:{}{}", http_port_, path)});
    if (result.exit_code != 0) throw std::runtime_error("POST " + path + ": " + result.output);
    return result.output;
}

std::string Orthanc::upload(const fs::path& dicom_file) const {
    auto result = curl({"-X", "POST", "--data-binary", "@" + dicom_file.string(),
                        fmt::format("http://127.0.0.1:{}/instances", http_port_)});
    if (result.exit_code != 0) throw std::runtime_error("upload: " + result.output);
    return result.output;
}

// ---- raw C-STORE ----

namespace {

// Sends one DIMSE fragment list (command or data set bytes) as PDVs of at most the peer's size.
OFCondition send_pdvs(T_ASC_Association* association, T_ASC_PresentationContextID context_id,
                      DUL_DATAPDV type, const std::vector<char>& bytes) {
    const std::size_t chunk = association->sendPDVLength;
    std::size_t offset = 0;
    do {
        std::size_t length = std::min(chunk, bytes.size() - offset);
        DUL_PDV pdv{};
        pdv.fragmentLength = length;
        pdv.presentationContextID = context_id;
        pdv.pdvType = type;
        pdv.lastPDV = offset + length >= bytes.size();
        pdv.data = const_cast<char*>(bytes.data() + offset);
        DUL_PDVLIST list{};
        list.count = 1;
        list.pdv = &pdv;
        OFCondition written = DUL_WritePDVs(&association->DULassociation, &list);
        if (written.bad()) return written;
        offset += length;
    } while (offset < bytes.size());
    return EC_Normal;
}

// A C-STORE-RQ command set, encoded as the standard requires (Implicit VR LE, group length).
std::vector<char> store_command(Uint16 message_id, const std::string& sop_class_uid,
                                const std::string& sop_instance_uid) {
    DcmDataset command;
    command.putAndInsertString(DCM_AffectedSOPClassUID, sop_class_uid.c_str());
    command.putAndInsertUint16(DCM_CommandField, DIMSE_C_STORE_RQ);
    command.putAndInsertUint16(DCM_MessageID, message_id);
    command.putAndInsertUint16(DCM_Priority, 0);
    command.putAndInsertUint16(DCM_CommandDataSetType, 0x0000);
    command.putAndInsertString(DCM_AffectedSOPInstanceUID, sop_instance_uid.c_str());
    command.computeGroupLengthAndPadding(EGL_recalcGL, EPD_noChange, EXS_LittleEndianImplicit);
    std::vector<char> buffer(command.calcElementLength(EXS_LittleEndianImplicit, EET_ExplicitLength) + 64);
    DcmOutputBufferStream stream(buffer.data(), buffer.size());
    command.transferInit();
    command.write(stream, EXS_LittleEndianImplicit, EET_ExplicitLength, nullptr);
    command.transferEnd();
    void* written = nullptr;
    offile_off_t length = 0;
    stream.flushBuffer(written, length);
    buffer.resize(static_cast<std::size_t>(length));
    return buffer;
}

// Opens `network` (left for the caller to drop, also on failure) and requests an association
// proposing each (abstract syntax, transfer syntax) pair; nullptr with `error` set if refused.
T_ASC_Association* request_association(std::uint16_t port, const std::string& calling_ae,
                                       const std::string& called_ae,
                                       const std::vector<std::pair<std::string, std::string>>& contexts,
                                       T_ASC_Network*& network, std::string& error) {
    if (ASC_initializeNetwork(NET_REQUESTOR, 0, 10, &network).bad()) {
        error = "cannot initialise the network";
        return nullptr;
    }
    T_ASC_Parameters* params = nullptr;
    ASC_createAssociationParameters(&params, ASC_DEFAULTMAXPDU);
    ASC_setAPTitles(params, calling_ae.c_str(), called_ae.c_str(), nullptr);
    ASC_setPresentationAddresses(params, "localhost", fmt::format("127.0.0.1:{}", port).c_str());
    T_ASC_PresentationContextID id = 1;
    for (const auto& [abstract_syntax, transfer_syntax] : contexts) {
        const char* syntaxes[] = {transfer_syntax.c_str()};
        ASC_addPresentationContext(params, id, abstract_syntax.c_str(), syntaxes, 1);
        id += 2;
    }
    T_ASC_Association* association = nullptr;
    const OFCondition condition = ASC_requestAssociation(network, params, &association);
    if (condition.good()) return association;
    error = condition.text();
    if (association) ASC_destroyAssociation(&association);
    else ASC_destroyAssociationParameters(&params);
    return nullptr;
}

}  // namespace

RawStoreOutcome raw_store(std::uint16_t port, const std::string& calling_ae,
                          const std::string& called_ae, const std::string& sop_class_uid,
                          const std::string& sop_instance_uid, const fs::path& dataset_file) {
    RawStoreOutcome outcome;
    T_ASC_Network* network = nullptr;
    T_ASC_Association* association =
        request_association(port, calling_ae, called_ae, {{sop_class_uid, UID_LittleEndianExplicitTransferSyntax}},
                            network, outcome.error);
    if (!association) {
        if (network) ASC_dropNetwork(&network);
        return outcome;
    }
    outcome.association_accepted = true;
    OFCondition condition;
    T_ASC_PresentationContextID context_id =
        ASC_findAcceptedPresentationContextID(association, sop_class_uid.c_str());
    if (context_id != 0) {
        outcome.context_accepted = true;
        // The bytes go out as they are: DCMTK's DIMSE senders would parse (and refuse) them.
        std::ifstream in(dataset_file, std::ios::binary);
        std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        condition = send_pdvs(association, context_id, DUL_COMMANDPDV,
                              store_command(association->nextMsgID++, sop_class_uid, sop_instance_uid));
        if (condition.good()) condition = send_pdvs(association, context_id, DUL_DATASETPDV, data);
        if (condition.good()) {
            T_DIMSE_Message response{};
            DcmDataset* detail = nullptr;
            T_ASC_PresentationContextID response_context = 0;
            condition = DIMSE_receiveCommand(association, DIMSE_BLOCKING, 0, &response_context,
                                             &response, &detail);
            delete detail;
            if (condition.good() && response.CommandField == DIMSE_C_STORE_RSP) {
                outcome.response_received = true;
                outcome.status = response.msg.CStoreRSP.DimseStatus;
            }
        }
        if (condition.bad()) outcome.error = condition.text();
    }
    if (outcome.response_received || context_id == 0)
        ASC_releaseAssociation(association);
    else
        ASC_abortAssociation(association);
    ASC_destroyAssociation(&association);
    ASC_dropNetwork(&network);
    return outcome;
}

struct HeldAssociation::State {
    T_ASC_Network* network = nullptr;
    T_ASC_Association* association = nullptr;
    std::string error;
};

HeldAssociation::HeldAssociation(std::uint16_t port, const std::string& calling_ae, const std::string& called_ae,
                                 const std::vector<std::pair<std::string, std::string>>& contexts)
    : state_(std::make_unique<State>()) {
    state_->association = request_association(port, calling_ae, called_ae, contexts, state_->network, state_->error);
}

HeldAssociation::~HeldAssociation() {
    if (state_->association) {
        ASC_releaseAssociation(state_->association);
        ASC_destroyAssociation(&state_->association);
    }
    if (state_->network) ASC_dropNetwork(&state_->network);
}

bool HeldAssociation::accepted() const { return state_->association != nullptr; }
const std::string& HeldAssociation::error() const { return state_->error; }

bool HeldAssociation::context_accepted(const std::string& abstract_syntax) const {
    return state_->association &&
           ASC_findAcceptedPresentationContextID(state_->association, abstract_syntax.c_str()) != 0;
}

void write_dataset_only(const fs::path& dicom_file, const fs::path& output,
                        const std::vector<std::pair<std::string, std::string>>& changes) {
    DcmFileFormat format;
    if (format.loadFile(dicom_file.c_str()).bad()) throw std::runtime_error("cannot read " + dicom_file.string());
    DcmDataset* dataset = format.getDataset();
    dataset->loadAllDataIntoMemory();
    for (const auto& [tag, value] : changes) {
        unsigned group = 0, element = 0;
        std::sscanf(tag.c_str(), "%x,%x", &group, &element);
        dataset->putAndInsertString(DcmTagKey(group, element), value.c_str());
    }
    dataset->chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
    DcmOutputFileStream stream(output.c_str());
    dataset->transferInit();
    DcmWriteCache cache;
    OFCondition written = dataset->write(stream, EXS_LittleEndianExplicit, EET_ExplicitLength, &cache);
    dataset->transferEnd();
    if (written.bad()) throw std::runtime_error("cannot write " + output.string());
}

}  // namespace modic::e2e
