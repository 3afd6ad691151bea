// Runs an io_context until a condition holds or a deadline passes, so a lost callback or a fix
// that never comes fails the test instead of hanging it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>

namespace fieldlog::gnss::testing {

inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // A short tick keeps the loop waking while nothing else is pending, for conditions that
    // change with time alone (a fix going stale).
    boost::asio::steady_timer tick(io);
    bool armed = false;
    io.restart();
    bool ok = done();
    while (!ok && std::chrono::steady_clock::now() < deadline) {
        if (!armed) {
            armed = true;
            tick.expires_after(std::chrono::milliseconds(10));
            tick.async_wait([&armed](const boost::system::error_code&) { armed = false; });
        }
        io.run_one();
        ok = done();
    }
    tick.cancel();
    for (int i = 0; armed && i < 100; ++i) io.run_one();  // the tick's handler refers to armed
    return ok;
}

}  // namespace fieldlog::gnss::testing
