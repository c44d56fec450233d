// C-STORE SCU: sends one stored SR file to one destination (DCMTK DcmSCU).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace modic::server {

struct SendTarget {
    std::string name;  // for logs
    std::string ae_title;
    std::string host;
    std::uint16_t port = 0;
};

struct SendSettings {
    std::string calling_ae_title;  // the node's AE title
    unsigned acse_timeout_seconds = 30;
    unsigned dimse_timeout_seconds = 60;
    std::uint32_t max_pdu_bytes = 131072;
};

struct SendResult {
    bool delivered = false;  // the destination answered Success or a Warning
    std::uint16_t status = 0;  // the C-STORE response status, when one came
    std::string error;  // why not delivered
};

// Opens an association, sends the file's dataset as it is (the same bytes on every retry),
// releases. Never throws: failures come back in the result.
SendResult send_file(const SendTarget& target, const SendSettings& settings,
                     const std::filesystem::path& file, const std::string& sop_class_uid);

}  // namespace modic::server
