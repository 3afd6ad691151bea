// A netlink socket read on the daemon's io_context: the kernel's uevents (drivers/power) and its
// routing changes (sync/client) arrive this way. The socket only wakes the loop when datagrams
// are waiting, and each wake reads a bounded number of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "fieldlog/error.hpp"
#include "fieldlog/files.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldlog {

class NetlinkSocket {
public:
    struct Handlers {
        // Whether one datagram matters to the owner; the bytes are valid only during the call.
        std::function<bool(std::span<const std::byte> datagram)> matters;
        // Once per wake of the loop in which a datagram mattered, or in which the kernel
        // reported dropped datagrams (a receive-buffer overrun): one of those may have mattered.
        std::function<void()> on_match;
        // Once, when the socket can no longer be read; nothing is called afterwards.
        std::function<void(const Error& error)> on_error;
    };

    // A netlink socket of protocol (NETLINK_ROUTE, NETLINK_KOBJECT_UEVENT, ...) bound to the
    // multicast groups (the sockaddr_nl.nl_groups mask), non-blocking and close-on-exec.
    [[nodiscard]] static Result<UniqueFd> open_socket(int protocol, std::uint32_t groups);

    // Reads datagrams of at most max_datagram_bytes from socket: one from open_socket or, in
    // tests, any datagram socket standing in for it (made non-blocking and close-on-exec here).
    // A stream socket is refused: its end of file would wake the loop for ever.
    [[nodiscard]] static Result<std::unique_ptr<NetlinkSocket>> watch(
        boost::asio::io_context& io, UniqueFd socket, std::size_t max_datagram_bytes,
        Handlers handlers);
    ~NetlinkSocket();
    NetlinkSocket(const NetlinkSocket&) = delete;
    NetlinkSocket& operator=(const NetlinkSocket&) = delete;

    // Stops reading and closes the socket; no handler is called afterwards.
    void stop();

private:
    struct Impl;
    explicit NetlinkSocket(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace fieldlog
