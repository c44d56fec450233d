// Who may open an association with the node, and how many at once. Pure logic, no sockets: the
// SCP asks it for each association request and releases the slot when the association ends.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace modic::server {

// One allowed caller. ae_title "*" allows any AE title; an empty host allows any address.
struct AllowedPeer {
    std::string ae_title;
    std::string host;
};

struct AssociationRules {
    std::string called_ae_title;  // the node's own AE title: the called AE must equal it
    std::vector<AllowedPeer> peers;
    std::size_t max_associations = 16;  // at once, all callers together
    std::size_t max_per_calling_ae = 4;  // at once, per calling AE title
};

enum class Refusal {
    CalledAeNotRecognised,
    CallingAeNotRecognised,  // unknown AE title, or a known one from a host not allowed for it
    TooManyAssociations,  // total or per calling AE
};

const char* to_string(Refusal refusal);

class AssociationPolicy {
public:
    // Resolves each peer's host name to its addresses once, here (a host that does not resolve
    // is kept as written and matches only that literal text).
    explicit AssociationPolicy(AssociationRules rules);

    // Decides on a request and, when it is admitted, takes a slot that release() gives back.
    // `peer_address` is the caller's IP address as text.
    std::optional<Refusal> admit(const std::string& called_ae, const std::string& calling_ae,
                                 const std::string& peer_address);
    void release(const std::string& calling_ae);

    std::size_t open_associations() const;
    const AssociationRules& rules() const { return rules_; }

private:
    bool caller_allowed(const std::string& calling_ae, const std::string& peer_address) const;

    AssociationRules rules_;
    std::vector<std::vector<std::string>> peer_addresses_;  // per peer: its host's addresses
    mutable std::mutex mutex_;
    std::size_t open_total_ = 0;
    std::map<std::string, std::size_t> open_per_ae_;
};

// AE titles are compared without their padding spaces, case-sensitively (PS3.8 9.3.2).
std::string trim_ae_title(const std::string& ae_title);

}  // namespace modic::server
