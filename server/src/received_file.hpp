// Checks a file just received by C-STORE before it is handed to the store: parseable, with valid
// UIDs that match the request. Private to server/; tests reach it on purpose.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "modic/storage/types.hpp"

namespace modic::server {

// DIMSE C-STORE status codes the node answers with (PS3.4 B.2.3, PS3.7 C).
namespace dimse_status {
inline constexpr std::uint16_t kSuccess = 0x0000;
inline constexpr std::uint16_t kSopClassNotSupported = 0x0122;
inline constexpr std::uint16_t kOutOfResources = 0xA700;
inline constexpr std::uint16_t kDataSetDoesNotMatchSopClass = 0xA900;
inline constexpr std::uint16_t kCannotUnderstand = 0xC000;
}  // namespace dimse_status

// A DICOM UID that is also safe as a path component (storage's rule: digits and dots only...).
bool is_valid_uid(const std::string& uid);

struct FileCheck {
    std::uint16_t status = dimse_status::kSuccess;  // Success: `instance` is filled
    std::string reason;  // why not Success, naming the attribute at fault (no patient data)
    storage::IncomingInstance instance;  // calling_ae left to the caller
};

// Parses `file` completely (a truncated dataset fails here) and checks SOP Class/Instance UIDs
// against the C-STORE request's Affected SOP Class/Instance UIDs, and that Study, Series and SOP
// Instance UIDs are valid UIDs. Fills the attributes the index and the routing rules need.
FileCheck check_received_file(const std::filesystem::path& file,
                              const std::string& affected_sop_class_uid,
                              const std::string& affected_sop_instance_uid);

}  // namespace modic::server
