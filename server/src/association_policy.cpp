#include "modic/server/association_policy.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include "modic/config/config.hpp"

namespace modic::server {
namespace {

std::vector<std::string> resolve_addresses(const std::string& host) {
    std::vector<std::string> addresses{host};
    if (host.empty()) return addresses;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return addresses;
    for (addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
        char text[NI_MAXHOST];
        if (getnameinfo(entry->ai_addr, entry->ai_addrlen, text, sizeof text, nullptr, 0,
                        NI_NUMERICHOST) == 0)
            addresses.emplace_back(text);
    }
    freeaddrinfo(found);
    return addresses;
}

// "::ffff:127.0.0.1" (an IPv4 caller on a dual-stack socket) is the same caller as "127.0.0.1".
std::string without_v4_mapping(const std::string& address) {
    const std::string prefix = "::ffff:";
    if (address.rfind(prefix, 0) == 0 && address.find('.') != std::string::npos)
        return address.substr(prefix.size());
    return address;
}

}  // namespace

const char* to_string(Refusal refusal) {
    switch (refusal) {
        case Refusal::CalledAeNotRecognised: return "called AE title not recognised";
        case Refusal::CallingAeNotRecognised: return "calling AE title or host not allowed";
        case Refusal::TooManyAssociations: return "too many associations";
    }
    return "refused";
}

std::string trim_ae_title(const std::string& ae_title) {
    auto first = ae_title.find_first_not_of(' ');
    if (first == std::string::npos) return {};
    auto last = ae_title.find_last_not_of(' ');
    return ae_title.substr(first, last - first + 1);
}

AssociationPolicy::AssociationPolicy(AssociationRules rules) : rules_(std::move(rules)) {
    for (const auto& peer : rules_.peers) peer_addresses_.push_back(resolve_addresses(peer.host));
}

bool AssociationPolicy::caller_allowed(const std::string& calling_ae,
                                       const std::string& peer_address) const {
    const std::string address = without_v4_mapping(peer_address);
    for (std::size_t i = 0; i < rules_.peers.size(); ++i) {
        const auto& peer = rules_.peers[i];
        if (peer.ae_title != "*" && trim_ae_title(peer.ae_title) != calling_ae) continue;
        if (peer.host.empty()) return true;
        const auto& addresses = peer_addresses_[i];
        if (std::find(addresses.begin(), addresses.end(), address) != addresses.end()) return true;
    }
    return false;
}

std::optional<Refusal> AssociationPolicy::admit(const std::string& called_ae,
                                                const std::string& calling_ae,
                                                const std::string& peer_address) {
    if (trim_ae_title(called_ae) != trim_ae_title(rules_.called_ae_title))
        return Refusal::CalledAeNotRecognised;
    const std::string caller = trim_ae_title(calling_ae);
    // A title with a control character or a backslash is no DICOM AE title (PS3.5): whatever
    // the peers allow, "*" included, such a caller is none of them.
    if (!config::is_valid_ae_title(caller)) return Refusal::CallingAeNotRecognised;
    if (!caller_allowed(caller, peer_address)) return Refusal::CallingAeNotRecognised;
    std::lock_guard lock(mutex_);
    if (open_total_ >= rules_.max_associations) return Refusal::TooManyAssociations;
    auto& open_for_caller = open_per_ae_[caller];
    if (open_for_caller >= rules_.max_per_calling_ae) return Refusal::TooManyAssociations;
    ++open_total_;
    ++open_for_caller;
    return std::nullopt;
}

void AssociationPolicy::release(const std::string& calling_ae) {
    std::lock_guard lock(mutex_);
    auto it = open_per_ae_.find(trim_ae_title(calling_ae));
    if (it == open_per_ae_.end() || it->second == 0 || open_total_ == 0) return;
    --it->second;
    --open_total_;
    if (it->second == 0) open_per_ae_.erase(it);
}

std::size_t AssociationPolicy::open_associations() const {
    std::lock_guard lock(mutex_);
    return open_total_;
}

}  // namespace modic::server
