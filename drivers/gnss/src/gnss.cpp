#include "fieldlog/gnss/gnss.hpp"

#include <cmath>
#include <string>

namespace fieldlog::gnss {

Status check_gnss_options(const GnssOptions& options) {
    using std::chrono::hours;
    using std::chrono::milliseconds;
    if (options.max_fix_age <= milliseconds::zero() || options.max_fix_age > hours(1)) {
        return Error(Errc::invalid_argument, "GNSS max_fix_age of " +
                                                 std::to_string(options.max_fix_age.count()) +
                                                 " ms is outside (0, 1 h]");
    }
    if (!std::isfinite(options.max_hdop) || options.max_hdop <= 0.0 || options.max_hdop > 100.0) {
        return Error(
            Errc::invalid_argument,
            "GNSS max_hdop of " + std::to_string(options.max_hdop) + " is outside (0, 100]");
    }
    if (options.min_satellites < 0 || options.min_satellites > 99) {
        return Error(Errc::invalid_argument, "GNSS min_satellites of " +
                                                 std::to_string(options.min_satellites) +
                                                 " is outside [0, 99]");
    }
    return {};
}

std::string_view fix_state_name(FixState state) {
    switch (state) {
        case FixState::no_data:
            return "no_data";
        case FixState::no_fix:
            return "no_fix";
        case FixState::no_date:
            return "no_date";
        case FixState::poor:
            return "poor";
        case FixState::stale:
            return "stale";
        case FixState::fix:
            return "fix";
    }
    return "no_data";
}

}  // namespace fieldlog::gnss
