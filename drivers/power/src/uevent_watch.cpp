#include "fieldlog/power/uevent_watch.hpp"

#include <linux/netlink.h>

#include "fieldlog/netlink_socket.hpp"

namespace fieldlog::power {

namespace asio = boost::asio;

namespace {

// The kernel's own uevents; group 2 carries udev's processed copies, which need udev running.
constexpr unsigned kernel_uevent_group = 1;
// A uevent is at most 2 KiB of environment plus its header (UEVENT_BUFFER_SIZE).
constexpr std::size_t max_uevent_bytes = 8192;

}  // namespace

bool is_uevent_of(std::span<const std::byte> datagram, std::string_view subsystem) {
    std::string_view text(reinterpret_cast<const char*>(datagram.data()), datagram.size());
    auto header_end = text.find('\0');
    if (header_end == std::string_view::npos) return false;
    if (text.substr(0, header_end).find('@') == std::string_view::npos) return false;
    for (std::size_t at = header_end + 1; at < text.size();) {
        auto end = text.find('\0', at);
        if (end == std::string_view::npos) return false;  // cut short: trust none of it
        std::string_view field = text.substr(at, end - at);
        if (field.starts_with("SUBSYSTEM=")) return field.substr(10) == subsystem;
        at = end + 1;
    }
    return false;
}

struct UeventWatch::Impl {
    std::unique_ptr<NetlinkSocket> socket;
};

UeventWatch::UeventWatch(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

UeventWatch::~UeventWatch() { stop(); }

Result<UniqueFd> open_kernel_uevent_socket() {
    return NetlinkSocket::open_socket(NETLINK_KOBJECT_UEVENT, kernel_uevent_group);
}

Result<std::unique_ptr<UeventWatch>> UeventWatch::open(asio::io_context& io, UniqueFd socket,
                                                       std::string subsystem, Listener on_event,
                                                       ErrorListener on_error) {
    NetlinkSocket::Handlers handlers;
    handlers.matters = [subsystem = std::move(subsystem)](std::span<const std::byte> datagram) {
        return is_uevent_of(datagram, subsystem);
    };
    handlers.on_match = std::move(on_event);
    handlers.on_error = std::move(on_error);
    auto watched =
        NetlinkSocket::watch(io, std::move(socket), max_uevent_bytes, std::move(handlers));
    if (!watched) return Error(watched.error()).context("uevent socket");
    auto impl = std::make_shared<Impl>();
    impl->socket = std::move(*watched);
    return std::unique_ptr<UeventWatch>(new UeventWatch(std::move(impl)));
}

void UeventWatch::stop() { impl_->socket->stop(); }

}  // namespace fieldlog::power
