// What both backends share: the parser, the time each report arrived, and the rules that turn
// the receiver's reports into a fix to attach. Backends feed it on the io_context's thread;
// current_fix() and status() may come from any thread, hence the lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "fieldlog/gnss/gnss.hpp"
#include "fieldlog/gnss/nmea_parser.hpp"

namespace fieldlog::gnss::detail {

class NmeaReceiver {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    explicit NmeaReceiver(GnssOptions options) : options_(options) {}

    void feed(std::string_view bytes, TimePoint now);
    // A new connection: whatever came before (a partial line, an old receiver's reports) is
    // forgotten, so nothing from before an unplug can pass for fresh.
    void connected();
    void disconnected();
    void io_error(std::string message);

    std::optional<GnssFix> current_fix(TimePoint now) const;
    GnssStatus status(TimePoint now) const;

private:
    // The fix the latest GGA makes and why there is none; the caller holds the lock.
    FixState evaluate(TimePoint now, std::optional<GnssFix>* fix) const;

    mutable std::mutex mutex_;
    const GnssOptions options_;
    NmeaParser parser_;
    std::uint64_t gga_sequence_ = 0;
    std::optional<TimePoint> gga_received_;
    std::optional<TimePoint> last_sentence_;
    std::uint64_t bytes_received_ = 0;
    bool connected_ = false;
    std::uint64_t io_errors_ = 0;
    std::string last_error_;
};

}  // namespace fieldlog::gnss::detail
