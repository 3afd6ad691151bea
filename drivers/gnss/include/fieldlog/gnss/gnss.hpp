// A GNSS receiver as the daemon sees it: the position and time to attach to a record, if any,
// and a status for the inspector and the device log. Backends: SerialGnss (an NMEA receiver on
// a serial port) and ReplayGnss (recorded NMEA text, for tests and demos without a receiver).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fieldlog/error.hpp"
#include "fieldlog/gnss/nmea_parser.hpp"

namespace fieldlog::gnss {

// A position fit to attach to a record (design invariant 6: the GNSS time beside the device's).
struct GnssFix {
    double lat = 0;  // degrees, negative south
    double lon = 0;  // degrees, negative west
    std::optional<double> altitude_m;
    int quality = 0;     // GGA fix quality: 1 GPS, 2 DGPS, 3 PPS, 4 RTK fixed, 5 RTK float
    int satellites = 0;  // satellites used in the solution
    std::optional<double> hdop;
    std::int64_t gnss_time_ms = 0;  // UTC, from the receiver: GGA time on the RMC date
    std::chrono::steady_clock::time_point received;  // when the GGA sentence arrived
};

struct GnssOptions {
    // A fix older than this is not attached: the inspector may have walked on. Receivers report
    // once a second; the default tolerates a few lost reports.
    std::chrono::milliseconds max_fix_age{5000};
    // Horizontal dilution of precision above this is too poor for evidence ("fair" begins at 5).
    double max_hdop = 5.0;
    // Fewer satellites than this is no fix; four give a 3D solution.
    int min_satellites = 4;
};

// Checks the ranges: max_fix_age in (0, 1 h], max_hdop in (0, 100], min_satellites in [0, 99].
[[nodiscard]] Status check_gnss_options(const GnssOptions& options);

enum class FixState {
    no_data,  // nothing valid heard from the receiver yet
    no_fix,   // the receiver reports no usable position (or dead reckoning, manual, simulated)
    no_date,  // a position, but no RMC date yet to place its time on
    poor,     // a position, but HDOP above max_hdop or fewer than min_satellites
    stale,    // the latest position report is older than max_fix_age
    fix,      // current_fix() returns a fix
};

// Stable lower-case name of a state ("no_fix"), for status output.
std::string_view fix_state_name(FixState state);

struct GnssStatus {
    FixState fix_state = FixState::no_data;
    // SerialGnss: the port is open. ReplayGnss: text remains to be fed.
    bool connected = false;
    // From the latest sentences, whether or not they make a fix.
    int quality = 0;
    std::optional<int> fix_mode;  // GSA: 1 no fix, 2 2D, 3 3D
    int satellites_used = 0;
    int satellites_in_view = 0;
    std::optional<double> hdop, pdop, vdop;
    std::optional<std::int64_t> gnss_time_ms;
    // When the latest sentence was accepted.
    std::optional<std::chrono::steady_clock::time_point> last_sentence;
    std::uint64_t bytes_received = 0;
    NmeaStats nmea;  // sentences accepted, ignored and rejected by reason
    // Reads and opens that failed, and the latest such failure ("" if none).
    std::uint64_t io_errors = 0;
    std::string last_error;
};

// Every method may be called from any thread.
class Gnss {
public:
    virtual ~Gnss() = default;
    // The fix to attach to a record now, or nothing: no fix, no date yet, older than
    // max_fix_age, HDOP above max_hdop, or fewer than min_satellites satellites.
    virtual std::optional<GnssFix> current_fix() const = 0;
    virtual GnssStatus status() const = 0;
};

}  // namespace fieldlog::gnss
