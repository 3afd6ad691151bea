#include "fieldlog/power/uevent_watch.hpp"

#include <fcntl.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>

namespace fieldlog::power {

namespace asio = boost::asio;

namespace {

// The kernel's own uevents; group 2 carries udev's processed copies, which need udev running.
constexpr unsigned kernel_uevent_group = 1;
// A uevent is at most 2 KiB of environment plus its header (UEVENT_BUFFER_SIZE).
constexpr std::size_t max_uevent_bytes = 8192;
// Datagrams read per wake, so a storm of uevents cannot hold the loop.
constexpr int max_datagrams_per_wake = 64;

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

struct UeventWatch::Impl : std::enable_shared_from_this<UeventWatch::Impl> {
    Impl(asio::io_context& io, std::string subsystem_name, Listener listener)
        : descriptor(io), subsystem(std::move(subsystem_name)), on_event(std::move(listener)) {}

    asio::posix::stream_descriptor descriptor;
    std::string subsystem;
    Listener on_event;
    bool stopped = false;

    void wait() {
        descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                              [self = shared_from_this()](const boost::system::error_code& ec) {
                                  if (ec || self->stopped) return;
                                  bool matched = self->drain();
                                  if (matched && self->on_event) self->on_event();
                                  if (!self->stopped) self->wait();
                              });
    }

    bool drain() {
        std::array<std::byte, max_uevent_bytes> buffer;
        bool matched = false;
        for (int i = 0; i < max_datagrams_per_wake; ++i) {
            ssize_t n = ::recv(descriptor.native_handle(), buffer.data(), buffer.size(), 0);
            if (n < 0) {
                // EAGAIN: drained. ENOBUFS: the kernel dropped uevents, maybe ours.
                if (errno == ENOBUFS) matched = true;
                break;
            }
            if (n == 0) break;
            if (is_uevent_of(std::span(buffer.data(), static_cast<std::size_t>(n)), subsystem)) {
                matched = true;
            }
        }
        return matched;
    }
};

UeventWatch::UeventWatch(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

UeventWatch::~UeventWatch() { stop(); }

Result<UniqueFd> open_kernel_uevent_socket() {
    UniqueFd fd(
        ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT));
    if (!fd) {
        return errno_error(errno, "cannot open a kernel uevent socket", "NETLINK_KOBJECT_UEVENT");
    }
    sockaddr_nl address{};
    address.nl_family = AF_NETLINK;
    address.nl_groups = kernel_uevent_group;
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        return errno_error(errno, "cannot join the kernel uevent group", "NETLINK_KOBJECT_UEVENT");
    }
    return fd;
}

Result<std::unique_ptr<UeventWatch>> UeventWatch::open(asio::io_context& io, UniqueFd socket,
                                                       std::string subsystem, Listener on_event) {
    int flags = ::fcntl(socket.get(), F_GETFL);
    if (flags < 0 || ::fcntl(socket.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
        return errno_error(errno, "cannot make the uevent socket non-blocking", "uevent socket");
    }
    auto impl = std::make_shared<Impl>(io, std::move(subsystem), std::move(on_event));
    boost::system::error_code ec;
    impl->descriptor.assign(socket.get(), ec);
    if (ec) return Error(Errc::io, "cannot watch the uevent socket: " + ec.message());
    socket.release();  // the descriptor owns (and closes) it now
    impl->wait();
    return std::unique_ptr<UeventWatch>(new UeventWatch(std::move(impl)));
}

void UeventWatch::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    boost::system::error_code ec;
    impl_->descriptor.close(ec);
}

}  // namespace fieldlog::power
