#include "fieldlog/sync/client/network_watch.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>

#include "fieldlog/files.hpp"

namespace fieldlog::sync::client {

namespace asio = boost::asio;

bool is_network_change(std::span<const std::byte> datagram) {
    std::size_t offset = 0;
    while (datagram.size() - offset >= sizeof(nlmsghdr)) {
        nlmsghdr header;
        std::memcpy(&header, datagram.data() + offset, sizeof header);
        if (header.nlmsg_len < sizeof(nlmsghdr) || header.nlmsg_len > datagram.size() - offset) {
            return false;  // truncated or lying length: nothing after it can be trusted
        }
        const std::byte* body = datagram.data() + offset + NLMSG_HDRLEN;
        std::size_t body_len =
            header.nlmsg_len - std::min<std::size_t>(header.nlmsg_len, NLMSG_HDRLEN);
        switch (header.nlmsg_type) {
            case RTM_NEWADDR:
                if (body_len >= sizeof(ifaddrmsg)) {
                    ifaddrmsg addr;
                    std::memcpy(&addr, body, sizeof addr);
                    // Loopback addresses (scope host) say nothing about reaching the office.
                    if (addr.ifa_scope != RT_SCOPE_HOST) return true;
                }
                break;
            case RTM_NEWROUTE:
                if (body_len >= sizeof(rtmsg)) {
                    rtmsg route;
                    std::memcpy(&route, body, sizeof route);
                    if (route.rtm_table == RT_TABLE_MAIN && route.rtm_type == RTN_UNICAST) {
                        return true;
                    }
                }
                break;
            case RTM_NEWLINK:
                if (body_len >= sizeof(ifinfomsg)) {
                    ifinfomsg link;
                    std::memcpy(&link, body, sizeof link);
                    unsigned flags = link.ifi_flags;
                    if ((flags & IFF_LOOPBACK) == 0 && (flags & IFF_UP) != 0 &&
                        (flags & IFF_RUNNING) != 0) {
                        return true;
                    }
                }
                break;
            case NLMSG_DONE:
                return false;
            default:
                break;
        }
        std::size_t aligned = NLMSG_ALIGN(header.nlmsg_len);
        if (aligned >= datagram.size() - offset) break;
        offset += aligned;
    }
    return false;
}

struct NetworkWatch::Impl : std::enable_shared_from_this<NetworkWatch::Impl> {
    Impl(asio::io_context& io, Listener listener, std::chrono::milliseconds settle_time)
        : descriptor(io), settle_timer(io), on_change(std::move(listener)), settle(settle_time) {}

    asio::posix::stream_descriptor descriptor;
    asio::steady_timer settle_timer;
    Listener on_change;
    std::chrono::milliseconds settle;
    bool settling = false;
    bool stopped = false;

    void wait() {
        descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                              [self = shared_from_this()](const boost::system::error_code& ec) {
                                  if (ec || self->stopped) return;
                                  self->drain();
                                  self->wait();
                              });
    }

    void drain() {
        // Every datagram waiting is read (the socket is non-blocking), and bounded per wake.
        alignas(nlmsghdr) std::array<std::byte, 16384> buffer;
        bool changed = false;
        for (int i = 0; i < 64; ++i) {
            ssize_t n = ::recv(descriptor.native_handle(), buffer.data(), buffer.size(), 0);
            if (n < 0) {
                // EAGAIN: drained. ENOBUFS: the kernel dropped messages; something changed.
                if (errno == ENOBUFS) changed = true;
                break;
            }
            if (n == 0) break;
            if (is_network_change(std::span(buffer.data(), static_cast<std::size_t>(n)))) {
                changed = true;
            }
        }
        if (changed && !settling) {
            settling = true;
            settle_timer.expires_after(settle);
            settle_timer.async_wait(
                [self = shared_from_this()](const boost::system::error_code& ec) {
                    self->settling = false;
                    if (ec || self->stopped) return;
                    if (self->on_change) self->on_change();
                });
        }
    }
};

NetworkWatch::NetworkWatch(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

NetworkWatch::~NetworkWatch() { stop(); }

Result<std::unique_ptr<NetworkWatch>> NetworkWatch::open(asio::io_context& io, Listener on_change,
                                                         std::chrono::milliseconds settle) {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE));
    if (!fd) return errno_error(errno, "cannot open a netlink route socket", "NETLINK_ROUTE");
    sockaddr_nl address{};
    address.nl_family = AF_NETLINK;
    address.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE |
                        RTMGRP_IPV6_ROUTE;
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        return errno_error(errno, "cannot join the netlink route groups", "NETLINK_ROUTE");
    }
    auto impl = std::make_shared<Impl>(io, std::move(on_change), settle);
    boost::system::error_code ec;
    impl->descriptor.assign(fd.get(), ec);
    if (ec) {
        return Error(Errc::io, "cannot watch the netlink socket: " + ec.message());
    }
    fd.release();  // the descriptor owns (and closes) our own socket now
    impl->wait();
    return std::unique_ptr<NetworkWatch>(new NetworkWatch(std::move(impl)));
}

void NetworkWatch::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    boost::system::error_code ec;
    impl_->settle_timer.cancel();
    impl_->descriptor.close(ec);
}

}  // namespace fieldlog::sync::client
