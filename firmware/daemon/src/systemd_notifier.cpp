#include "systemd_notifier.hpp"

#include <systemd/sd-daemon.h>

#include <string>

namespace fieldlog::daemon {

SystemdNotifier::SystemdNotifier(boost::asio::io_context& io) : timer_(io) {}

void SystemdNotifier::ready(std::string_view text) {
    std::string message = "READY=1\nSTATUS=" + std::string(text);
    sd_notify(0, message.c_str());
}

void SystemdNotifier::reloading() {
    // MONOTONIC_USEC lets systemd 253+ match the reload; older versions ignore it.
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    std::string message =
        "RELOADING=1\nMONOTONIC_USEC=" +
        std::to_string(static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000);
    sd_notify(0, message.c_str());
}

void SystemdNotifier::stopping() { sd_notify(0, "STOPPING=1"); }

void SystemdNotifier::status(std::string_view text) {
    std::string message = "READY=1\nSTATUS=" + std::string(text);
    sd_notify(0, message.c_str());
}

void SystemdNotifier::start_watchdog() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) {
        return;
    }
    // Half the interval, as sd_watchdog_enabled(3) advises, leaves room for one late ping.
    interval_ = std::chrono::microseconds(usec / 2);
    sd_notify(0, "WATCHDOG=1");
    schedule_ping();
}

void SystemdNotifier::stop_watchdog() {
    interval_ = std::chrono::microseconds(0);
    timer_.cancel();
}

void SystemdNotifier::schedule_ping() {
    timer_.expires_after(interval_);
    timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || interval_.count() == 0) {
            return;
        }
        sd_notify(0, "WATCHDOG=1");
        schedule_ping();
    });
}

}  // namespace fieldlog::daemon
