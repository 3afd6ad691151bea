// Kernel uevents (NETLINK_KOBJECT_UEVENT) of one subsystem. A power supply driver announces each
// change it reports this way (a charger plugged in, a new charge state, on most gauges a new
// level), so the battery can be read when it changes instead of on a frequent timer.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "fieldlog/error.hpp"
#include "fieldlog/files.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldlog::power {

// Whether one datagram is a kernel uevent ("ACTION@DEVPATH", then NUL-separated KEY=VALUE
// fields) whose SUBSYSTEM is subsystem. udev's re-broadcasts ("libudev" header), truncated or
// malformed datagrams are not.
bool is_uevent_of(std::span<const std::byte> datagram, std::string_view subsystem);

// A socket in the kernel's uevent group (no privilege is needed to listen), non-blocking.
[[nodiscard]] Result<UniqueFd> open_kernel_uevent_socket();

class UeventWatch {
public:
    using Listener = std::function<void()>;
    using ErrorListener = std::function<void(const Error&)>;

    // Watches a datagram socket: the kernel's (open_kernel_uevent_socket) or, in tests, one end
    // of a socketpair. Every uevent of the subsystem waiting when the loop wakes calls on_event
    // once, on the io_context; so does a receive-buffer overrun, after which events may have
    // been lost. If the socket can no longer be read, on_error is called once and the watch
    // stops.
    [[nodiscard]] static Result<std::unique_ptr<UeventWatch>> open(boost::asio::io_context& io,
                                                                   UniqueFd socket,
                                                                   std::string subsystem,
                                                                   Listener on_event,
                                                                   ErrorListener on_error = {});
    ~UeventWatch();
    UeventWatch(const UeventWatch&) = delete;
    UeventWatch& operator=(const UeventWatch&) = delete;

    // Stops watching and closes the socket; on_event is not called afterwards.
    void stop();

private:
    struct Impl;
    explicit UeventWatch(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace fieldlog::power
