#include "fieldlog/sync/client/network_watch.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstring>

#include "fieldlog/netlink_socket.hpp"

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
        : settle_timer(io), on_change(std::move(listener)), settle(settle_time) {}

    std::unique_ptr<NetlinkSocket> socket;
    asio::steady_timer settle_timer;
    Listener on_change;
    std::chrono::milliseconds settle;
    bool settling = false;
    bool stopped = false;

    // Called once per wake that brought a change: a burst is told once, after it settled.
    void changed() {
        if (settling || stopped) return;
        settling = true;
        settle_timer.expires_after(settle);
        settle_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            self->settling = false;
            if (ec || self->stopped) return;
            if (self->on_change) self->on_change();
        });
    }
};

NetworkWatch::NetworkWatch(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

NetworkWatch::~NetworkWatch() { stop(); }

Result<std::unique_ptr<NetworkWatch>> NetworkWatch::open(asio::io_context& io, Listener on_change,
                                                         std::chrono::milliseconds settle,
                                                         ErrorListener on_error) {
    auto fd = NetlinkSocket::open_socket(NETLINK_ROUTE, RTMGRP_LINK | RTMGRP_IPV4_IFADDR |
                                                            RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE |
                                                            RTMGRP_IPV6_ROUTE);
    if (!fd) return fd.error();
    auto impl = std::make_shared<Impl>(io, std::move(on_change), settle);
    NetlinkSocket::Handlers handlers;
    handlers.matters = is_network_change;
    // The socket lives inside impl, so its handlers hold impl weakly.
    handlers.on_match = [weak = std::weak_ptr<Impl>(impl)] {
        if (auto self = weak.lock()) self->changed();
    };
    handlers.on_error = std::move(on_error);
    // Route messages come several to a datagram, one per route in a dump.
    constexpr std::size_t max_datagram_bytes = 16384;
    auto watched =
        NetlinkSocket::watch(io, std::move(*fd), max_datagram_bytes, std::move(handlers));
    if (!watched) return watched.error();
    impl->socket = std::move(*watched);
    return std::unique_ptr<NetworkWatch>(new NetworkWatch(std::move(impl)));
}

void NetworkWatch::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->settle_timer.cancel();
    impl_->socket->stop();
}

}  // namespace fieldlog::sync::client
