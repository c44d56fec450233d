// The running node: the SCP, the store, one Boost.Asio io_context for timers (study
// completeness, delivery retries, retention) and signals, and a worker pool for analyses and
// sends. `modic-node serve` builds one and runs it.
#pragma once

#include <memory>

#include "modic/config/config.hpp"

namespace modic::server {

class Node {
public:
    // Opens the store (with crash recovery) and prepares the listener. Throws on a store that
    // cannot be opened.
    explicit Node(config::NodeConfig config);
    ~Node();
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    // Serves until SIGTERM or SIGINT: then stops accepting, lets the C-STOREs under way finish
    // (each answered after its instance is stored), lets running analyses and sends end, and
    // returns 0. Returns non-zero when the port cannot be opened.
    int run();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace modic::server
