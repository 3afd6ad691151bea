// Tells systemd about readiness, reloads and shutdown, and pets its watchdog from a timer on
// the event loop, so a stuck loop stops the pings and gets the daemon restarted.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <string_view>

namespace fieldlog::daemon {

class SystemdNotifier {
public:
    explicit SystemdNotifier(boost::asio::io_context& io);

    void ready(std::string_view status);
    void reloading();
    void stopping();
    void status(std::string_view text);
    // Starts the watchdog timer when systemd asked for one (WATCHDOG_USEC); a no-op otherwise.
    void start_watchdog();
    void stop_watchdog();

private:
    void schedule_ping();

    boost::asio::steady_timer timer_;
    std::chrono::microseconds interval_{0};
};

}  // namespace fieldlog::daemon
