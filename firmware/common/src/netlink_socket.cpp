#include "fieldlog/netlink_socket.hpp"

#include <fcntl.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <string>
#include <vector>

namespace fieldlog {

namespace asio = boost::asio;

namespace {

// Datagrams read per wake, so a storm of them cannot hold the loop.
constexpr int max_datagrams_per_wake = 64;

std::string protocol_name(int protocol) {
    switch (protocol) {
        case NETLINK_ROUTE:
            return "NETLINK_ROUTE";
        case NETLINK_KOBJECT_UEVENT:
            return "NETLINK_KOBJECT_UEVENT";
        default:
            return "netlink protocol " + std::to_string(protocol);
    }
}

Status make_nonblocking_cloexec(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
        return errno_error(errno, "cannot make the socket non-blocking", "netlink watch");
    }
    int fd_flags = ::fcntl(fd, F_GETFD);
    if (fd_flags < 0 || ::fcntl(fd, F_SETFD, fd_flags | FD_CLOEXEC) != 0) {
        return errno_error(errno, "cannot make the socket close-on-exec", "netlink watch");
    }
    return {};
}

Status check_datagram_socket(int fd) {
    int type = 0;
    socklen_t length = sizeof type;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0) {
        return errno_error(errno, "cannot read the socket type", "netlink watch");
    }
    if (type != SOCK_DGRAM && type != SOCK_RAW) {
        return Error(Errc::invalid_argument,
                     "netlink watch: the socket must be a datagram or raw socket, not type " +
                         std::to_string(type));
    }
    return {};
}

}  // namespace

struct NetlinkSocket::Impl : std::enable_shared_from_this<NetlinkSocket::Impl> {
    Impl(asio::io_context& io, std::size_t max_datagram_bytes, Handlers callbacks)
        : descriptor(io), buffer(max_datagram_bytes), handlers(std::move(callbacks)) {}

    asio::posix::stream_descriptor descriptor;
    std::vector<std::byte> buffer;  // read into in place, so no wake allocates
    Handlers handlers;
    bool stopped = false;

    // Waits for readiness and reads with recv() rather than async_read_some: a stream read
    // would take an empty datagram for end of file.
    void wait() {
        descriptor.async_wait(
            asio::posix::stream_descriptor::wait_read,
            [self = shared_from_this()](const boost::system::error_code& ec) { self->ready(ec); });
    }

    void ready(const boost::system::error_code& ec) {
        if (stopped || ec == asio::error::operation_aborted) return;
        if (ec) {
            fail(Error(Errc::io, "netlink watch: cannot wait for the socket: " + ec.message()));
            return;
        }
        drain();
    }

    void drain() {
        bool matched = false;
        for (int i = 0; i < max_datagrams_per_wake; ++i) {
            ssize_t n = ::recv(descriptor.native_handle(), buffer.data(), buffer.size(), 0);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                if (errno == EINTR) continue;
                // The kernel dropped datagrams for want of buffer space; what is still queued
                // can be read.
                if (errno == ENOBUFS) {
                    matched = true;
                    continue;
                }
                fail(errno_error(errno, "cannot read", "netlink socket"));
                return;
            }
            auto datagram = std::span<const std::byte>(buffer.data(), static_cast<std::size_t>(n));
            if (handlers.matters && handlers.matters(datagram)) matched = true;
        }
        if (matched && handlers.on_match) handlers.on_match();
        if (!stopped) wait();
    }

    // A socket that fails once would fail again at every wake: stop rather than spin.
    void fail(const Error& error) {
        close();
        if (handlers.on_error) handlers.on_error(error);
    }

    void close() {
        stopped = true;
        boost::system::error_code ignored;
        descriptor.close(ignored);
    }
};

NetlinkSocket::NetlinkSocket(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

NetlinkSocket::~NetlinkSocket() { stop(); }

Result<UniqueFd> NetlinkSocket::open_socket(int protocol, std::uint32_t groups) {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol));
    if (!fd) return errno_error(errno, "cannot open a netlink socket", protocol_name(protocol));
    sockaddr_nl address{};
    address.nl_family = AF_NETLINK;
    address.nl_groups = groups;
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        return errno_error(errno, "cannot join the netlink groups of", protocol_name(protocol));
    }
    return fd;
}

Result<std::unique_ptr<NetlinkSocket>> NetlinkSocket::watch(asio::io_context& io, UniqueFd socket,
                                                            std::size_t max_datagram_bytes,
                                                            Handlers handlers) {
    if (!socket) return Error(Errc::invalid_argument, "netlink watch: no socket");
    if (max_datagram_bytes == 0) {
        return Error(Errc::invalid_argument, "netlink watch: the datagram buffer is empty");
    }
    if (auto checked = check_datagram_socket(socket.get()); !checked) return checked.error();
    if (auto made = make_nonblocking_cloexec(socket.get()); !made) return made.error();
    auto impl = std::make_shared<Impl>(io, max_datagram_bytes, std::move(handlers));
    boost::system::error_code ec;
    impl->descriptor.assign(socket.get(), ec);
    if (ec) return Error(Errc::io, "netlink watch: cannot watch the socket: " + ec.message());
    socket.release();  // the descriptor owns (and closes) it now
    impl->wait();
    return std::unique_ptr<NetlinkSocket>(new NetlinkSocket(std::move(impl)));
}

void NetlinkSocket::stop() {
    if (impl_->stopped) return;
    impl_->close();
}

}  // namespace fieldlog
