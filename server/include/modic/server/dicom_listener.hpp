// The node's DICOM SCP: Verification and Storage, one DCMTK DcmThreadSCP per association, each on
// a thread of its own (a maximum from the configuration).
#pragma once

#include <cstdint>
#include <functional>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "modic/server/association_policy.hpp"
#include "modic/storage/storage.hpp"

namespace modic::server {

// The SOP classes accepted by default: MR Image, Enhanced MR Image, Secondary Capture.
std::vector<std::string> default_storage_sop_classes();
// The transfer syntaxes DCMTK can decode, in the node's order of preference.
std::vector<std::string> default_transfer_syntaxes();

struct ListenerSettings {
    std::uint16_t port = 11112;
    AssociationRules association;  // called AE title, allowed peers, association limits
    std::vector<std::string> storage_sop_classes = default_storage_sop_classes();
    std::vector<std::string> transfer_syntaxes = default_transfer_syntaxes();
    unsigned acse_timeout_seconds = 30;
    unsigned dimse_timeout_seconds = 60;
    std::uint32_t max_pdu_bytes = 65536;
};

class DicomListener {
public:
    // Called on the association's thread after an instance is durably stored (not for a
    // duplicate), with its Study Instance UID. Must be quick: it delays the C-STORE response.
    using StoredCallback = std::function<void(const std::string& study_uid)>;

    // `store` makes each received instance durable before its C-STORE is answered.
    DicomListener(ListenerSettings settings, storage::Storage& store, StoredCallback on_stored = {});
    ~DicomListener();
    DicomListener(const DicomListener&) = delete;
    DicomListener& operator=(const DicomListener&) = delete;

    // Opens the port and serves associations on a thread of its own. Throws std::runtime_error
    // when the port cannot be opened.
    void start();
    // Stops accepting new associations; a C-STORE under way is finished (answered after its
    // instance is stored), then its association is aborted before the next request, which the
    // sender will send again. Idle associations end at the DIMSE timeout. Returns at once;
    // join() waits.
    void request_stop();
    void join();

private:
    struct Pool;
    std::unique_ptr<Pool> pool_;
    std::thread thread_;
};

}  // namespace modic::server
