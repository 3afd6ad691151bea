// Network changes from the kernel (rtnetlink): a link coming up, an address or a route added.
// Each is a hint that the office server may have become reachable, so the uploader tries at
// once instead of waiting out its backoff.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>

#include "fieldlog/error.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldlog::sync::client {

// Whether one datagram from a NETLINK_ROUTE socket reports a change worth a sync attempt:
// RTM_NEWADDR, RTM_NEWROUTE, or RTM_NEWLINK for a link that is up and running, on any
// interface but loopback. Deletions, errors and truncated or malformed messages are not.
bool is_network_change(std::span<const std::byte> datagram);

class NetworkWatch {
public:
    using Listener = std::function<void()>;
    using ErrorListener = std::function<void(const Error&)>;

    // Joins the link, IPv4/IPv6 address and route groups. A burst of messages (a link coming
    // up brings a link, an address and a route message) calls on_change once, settle after the
    // first; on_change runs on the io_context. If the socket can no longer be read, on_error is
    // called once and no more changes are seen (the uploader's probes still run).
    [[nodiscard]] static Result<std::unique_ptr<NetworkWatch>> open(
        boost::asio::io_context& io, Listener on_change,
        std::chrono::milliseconds settle = std::chrono::milliseconds(500),
        ErrorListener on_error = {});
    ~NetworkWatch();
    NetworkWatch(const NetworkWatch&) = delete;
    NetworkWatch& operator=(const NetworkWatch&) = delete;

    // Stops watching and closes the socket; on_change is not called afterwards.
    void stop();

private:
    struct Impl;
    explicit NetworkWatch(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace fieldlog::sync::client
