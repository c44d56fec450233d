// Errors, UID validation, state names and the checksum: the small pieces of the public API.
#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "modic/storage/storage.hpp"

namespace modic::storage {

// ---- errors ------------------------------------------------------------------------------

InvalidUidError::InvalidUidError(std::string what_uid, std::string value, std::string reason)
    : StorageError(fmt::format("invalid {} \"{}\": {}", what_uid, value, reason)), which_(std::move(what_uid)) {}

DiskBelowWatermarkError::DiskBelowWatermarkError(std::uint64_t free_bytes, std::uint64_t watermark_bytes)
    : StorageError(fmt::format("free disk space {} MiB is below the watermark of {} MiB", free_bytes >> 20,
                               watermark_bytes >> 20)),
      free_bytes_(free_bytes),
      watermark_bytes_(watermark_bytes) {}

// ---- UIDs --------------------------------------------------------------------------------

std::optional<std::string> uid_problem(std::string_view uid) {
    if (uid.empty()) return "it is empty";
    if (uid.size() > 64) return fmt::format("it is {} characters long (at most 64)", uid.size());
    const auto bad = std::find_if(uid.begin(), uid.end(), [](char c) { return !((c >= '0' && c <= '9') || c == '.'); });
    if (bad != uid.end()) {
        const auto byte = static_cast<unsigned char>(*bad);
        if (byte >= 0x20 && byte < 0x7f) return fmt::format("it holds '{}' (only digits and dots)", *bad);
        return fmt::format("it holds the byte 0x{:02x} (only digits and dots)", byte);
    }
    if (uid.front() == '.' || uid.back() == '.') return "it starts or ends with a dot";
    if (uid.find("..") != std::string_view::npos) return "it holds \"..\"";
    return std::nullopt;
}

void validate_uid(std::string_view uid, std::string_view which) {
    if (auto problem = uid_problem(uid)) {
        // Never echo a huge or binary value into logs: show a printable prefix.
        std::string shown;
        for (char c : uid.substr(0, 80)) shown += (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) ? c : '?';
        throw InvalidUidError(std::string(which), shown, *problem);
    }
}

// ---- state names -------------------------------------------------------------------------

namespace {
constexpr std::array<std::pair<JobState, std::string_view>, 8> kJobStates{{
    {JobState::queued, "queued"},
    {JobState::analysing, "analysing"},
    {JobState::reporting, "reporting"},
    {JobState::delivered, "delivered"},
    {JobState::done, "done"},
    {JobState::failed, "failed"},
    {JobState::ignored, "ignored"},
    {JobState::not_analyzable, "not_analyzable"},
}};
constexpr std::array<std::pair<DeliveryState, std::string_view>, 4> kDeliveryStates{{
    {DeliveryState::pending, "pending"},
    {DeliveryState::sending, "sending"},
    {DeliveryState::sent, "sent"},
    {DeliveryState::gave_up, "gave_up"},
}};
}  // namespace

std::string_view to_string(JobState state) {
    for (const auto& [value, name] : kJobStates)
        if (value == state) return name;
    return "unknown";
}

std::optional<JobState> parse_job_state(std::string_view text) {
    if (text == "not_analysable" || text == "not-analyzable" || text == "not-analysable") return JobState::not_analyzable;
    if (text == "analyzing") return JobState::analysing;
    for (const auto& [value, name] : kJobStates)
        if (name == text) return value;
    return std::nullopt;
}

const std::vector<JobState>& all_job_states() {
    static const std::vector<JobState> states = [] {
        std::vector<JobState> all;
        for (const auto& entry : kJobStates) all.push_back(entry.first);
        return all;
    }();
    return states;
}

std::string_view to_string(DeliveryState state) {
    for (const auto& [value, name] : kDeliveryStates)
        if (value == state) return name;
    return "unknown";
}

std::optional<DeliveryState> parse_delivery_state(std::string_view text) {
    if (text == "gave-up") return DeliveryState::gave_up;
    for (const auto& [value, name] : kDeliveryStates)
        if (name == text) return value;
    return std::nullopt;
}

// ---- checksum ----------------------------------------------------------------------------
// A 4-lane multiply-rotate hash over 64-bit words (the xxHash64 construction, written here):
// several GB/s, so hashing each received file costs little next to writing it.

namespace {
constexpr std::uint64_t kPrime1 = 0x9E3779B185EBCA87ull;
constexpr std::uint64_t kPrime2 = 0xC2B2AE3D27D4EB4Full;
constexpr std::uint64_t kPrime3 = 0x165667B19E3779F9ull;
constexpr std::uint64_t kPrime4 = 0x85EBCA77C2B2AE63ull;
constexpr std::uint64_t kPrime5 = 0x27D4EB2F165667C5ull;

std::uint64_t rotl(std::uint64_t value, int bits) { return (value << bits) | (value >> (64 - bits)); }
std::uint64_t load64(const std::byte* p) {
    std::uint64_t value;
    std::memcpy(&value, p, 8);
    return value;
}
std::uint32_t load32(const std::byte* p) {
    std::uint32_t value;
    std::memcpy(&value, p, 4);
    return value;
}
std::uint64_t round(std::uint64_t acc, std::uint64_t input) { return rotl(acc + input * kPrime2, 31) * kPrime1; }
std::uint64_t merge(std::uint64_t acc, std::uint64_t lane) { return (acc ^ round(0, lane)) * kPrime1 + kPrime4; }
}  // namespace

std::uint64_t checksum64(std::span<const std::byte> bytes) {
    const std::byte* p = bytes.data();
    const std::byte* const end = p + bytes.size();
    std::uint64_t hash;
    if (bytes.size() >= 32) {
        std::uint64_t lanes[4] = {kPrime1 + kPrime2, kPrime2, 0, 0 - kPrime1};
        for (; p + 32 <= end; p += 32)
            for (int lane = 0; lane < 4; ++lane) lanes[lane] = round(lanes[lane], load64(p + 8 * lane));
        hash = rotl(lanes[0], 1) + rotl(lanes[1], 7) + rotl(lanes[2], 12) + rotl(lanes[3], 18);
        for (std::uint64_t lane : lanes) hash = merge(hash, lane);
    } else {
        hash = kPrime5;
    }
    hash += bytes.size();
    for (; p + 8 <= end; p += 8) hash = rotl(hash ^ round(0, load64(p)), 27) * kPrime1 + kPrime4;
    if (p + 4 <= end) {
        hash = rotl(hash ^ (std::uint64_t{load32(p)} * kPrime1), 23) * kPrime2 + kPrime3;
        p += 4;
    }
    for (; p < end; ++p) hash = rotl(hash ^ (std::to_integer<std::uint64_t>(*p) * kPrime5), 11) * kPrime1;
    hash ^= hash >> 33;
    hash *= kPrime2;
    hash ^= hash >> 29;
    hash *= kPrime3;
    hash ^= hash >> 32;
    return hash;
}

}  // namespace modic::storage
