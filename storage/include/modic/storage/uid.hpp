// UID validation: UIDs become path components, so only well-formed ones are accepted.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace modic::storage {

// Why `uid` cannot be used (empty, longer than 64 chars, a character other than a digit or a dot,
// leading or trailing dot, ".."), or nullopt if it is fine.
std::optional<std::string> uid_problem(std::string_view uid);

// Throws InvalidUidError naming `which` (e.g. "Study Instance UID") and the reason.
void validate_uid(std::string_view uid, std::string_view which);

}  // namespace modic::storage
