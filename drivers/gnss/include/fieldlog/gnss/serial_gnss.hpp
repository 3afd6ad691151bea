// The real backend: an NMEA 0183 receiver on a serial port (a USB receiver's /dev/ttyACM0, a
// board UART's /dev/ttyAMA0, or a stable /dev/serial/by-id/... link), read on the daemon's
// io_context. No threads, no polling: it sleeps in async_read_some until bytes arrive.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "fieldlog/error.hpp"
#include "fieldlog/gnss/gnss.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldlog::gnss {

struct SerialGnssOptions {
    std::string device;
    unsigned baud_rate = 9600;  // 4800, 9600, 38400 or 115200
    GnssOptions gnss;
    // After a failed open or a read error (a receiver unplugged), the port is reopened after
    // reopen_initial, doubling up to reopen_max, so an absent receiver costs a few wake-ups a
    // minute (design invariant 8). Data arriving resets the delay.
    std::chrono::milliseconds reopen_initial{1000};
    std::chrono::milliseconds reopen_max{30000};
};

class SerialGnss final : public Gnss {
public:
    // Checks the options (an unsupported baud rate, an empty device path or bad GnssOptions give
    // Errc::invalid_argument) and starts reading. A device that cannot be opened yet is not an
    // error: it is retried with backoff and status() names the failure.
    [[nodiscard]] static Result<std::unique_ptr<SerialGnss>> open(boost::asio::io_context& io,
                                                                  SerialGnssOptions options);
    // Stops reading. Call on the io_context's thread, or while it is not running.
    ~SerialGnss() override;
    SerialGnss(const SerialGnss&) = delete;
    SerialGnss& operator=(const SerialGnss&) = delete;

    std::optional<GnssFix> current_fix() const override;
    GnssStatus status() const override;

    // Closes the port and cancels any reopen; current_fix() then goes stale. Same thread rule
    // as the destructor.
    void stop();

private:
    struct Impl;
    explicit SerialGnss(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace fieldlog::gnss
